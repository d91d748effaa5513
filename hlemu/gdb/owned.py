"""A :class:`~hlemu.gdb.target.Target` whose emulator belongs to another thread (the window's
emulation thread): every call is handed to that thread and waited for, so the GDB server's
threads never touch the kernel while the owner runs guest code.

``submit(fn, noisy)`` is the owner's: it runs ``fn()`` on the owning thread, soon (between
two slices of the window's run), and ``noisy`` says the call changed something a view shows
(a breakpoint, a resume), so the owner should publish a fresh snapshot. :meth:`interrupt`
alone is called directly, as ``Emulator.interrupt`` allows from any thread. Qt-free: the
window supplies ``submit``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from hlemu.gdb.target import Target

Submit = Callable[[Callable[[], None], bool], None]
WAIT = 600.0  # seconds a call may wait for the owner (a gdb 'continue' runs guests meanwhile)
NOISY = {"attach", "detach", "detach_all", "kill", "add_breakpoint", "remove_breakpoint", "add_watch",
         "remove_watch", "write_memory", "write_registers", "resume", "run_free", "run_program"}


class OwnerGone(RuntimeError):
    """The owning thread stopped answering (the window closed)."""


class OwnedTarget:
    """Forwards attribute reads and method calls of ``target`` to the owner's thread."""

    _target: Target
    _submit: Submit
    closed: bool

    def __init__(self, target: Target, submit: Submit) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_submit", submit)
        object.__setattr__(self, "closed", False)

    def interrupt(self) -> None:
        self._target.interrupt()  # thread-safe by contract: a flag and the CPU's halt

    def close(self) -> None:
        """Later calls fail at once instead of waiting for an owner that is going away."""
        object.__setattr__(self, "closed", True)

    def _call(self, fn: Callable[[], object], noisy: bool) -> object:
        if self.closed:
            raise OwnerGone("the emulator's thread has gone")
        done, box = threading.Event(), dict[str, Any]()

        def job() -> None:
            try:
                box["result"] = fn()
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
                box["error"] = exc
            finally:
                done.set()

        self._submit(job, noisy)
        while not done.wait(0.25):
            if self.closed:
                raise OwnerGone("the emulator's thread has gone")
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def __getattr__(self, name: str) -> object:
        value = getattr(type(self._target), name, None)
        if isinstance(value, property) or not callable(value):
            return self._call(lambda: getattr(self._target, name), False)

        def method(*args: object, **kwargs: object) -> object:
            return self._call(lambda: getattr(self._target, name)(*args, **kwargs), name in NOISY)

        return method

    def __setattr__(self, name: str, value: object) -> None:
        self._call(lambda: setattr(self._target, name, value), False)
