"""Ctrl-C during a run: the run loop stops at a clean point, never with a KeyboardInterrupt
raised inside kernel code (half an SVC done, a thread switched out but not in).

Two facts shape this. Python runs a signal handler only between bytecodes of the main
thread, and during a run the main thread sits in Unicorn's ``uc_emu_start`` (C, the GIL
released) for as long as the guest makes no SVC. So the handler alone would run late.
Python's C-level handler also writes the signal's number to the wakeup fd
(``signal.set_wakeup_fd``); a watcher thread blocked on that pipe sets the flag and calls
``stop`` at once (Unicorn's ``uc_emu_stop``, which may be called from another thread), so
``uc_emu_start`` returns and the run loop sees the flag.

>>> with stop_on_sigint(lambda: None) as ctrl_c:
...     ctrl_c.interrupted
False
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

RETRY_SECONDS = 0.01  # a stop that lands just before emu_start begins is lost: repeat it until the run ends


@dataclass
class SigintStop:
    """What :func:`stop_on_sigint` hands its block: whether Ctrl-C came."""

    stop: Callable[[], None]
    interrupted: bool = False
    active: bool = True

    def trip(self) -> None:
        self.interrupted = True
        self.stop()


class _Watcher:
    """One daemon thread for the process, reading the wakeup pipe; ``runs`` is the stack of
    runs under way (the innermost one is stopped).

    Each Ctrl-C is told twice: to this thread (a byte in the pipe) and to Python's handler on
    the main thread. Whichever comes second must not stop anything: this thread can be late
    (it waits for the interpreter lock), and by then the run the Ctrl-C stopped may have
    ended and the next one begun (seen: a REPL's next ``emu.run()`` stopped by the Ctrl-C that
    ended the one before). ``_ahead`` counts the Ctrl-Cs this thread has taken that Python's
    handler has not seen yet, ``_behind`` those the handler took first."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.write_fd, False)  # set_wakeup_fd requires it
        self.runs: list[SigintStop] = []
        self._lock = threading.Lock()
        self._ahead = self._behind = 0
        threading.Thread(target=self._loop, name="hlemu-sigint", daemon=True).start()

    def handler_saw(self) -> bool:
        """Python's handler has a Ctrl-C: whether it is a new one (this thread has not taken it)."""
        with self._lock:
            if self._ahead:
                self._ahead -= 1
                return False
            self._behind += 1
            return True

    def _take(self) -> bool:
        with self._lock:
            if self._behind:
                self._behind -= 1
                return False
            self._ahead += 1
            return True

    def _loop(self) -> None:
        while True:
            data = os.read(self.read_fd, 64)
            for _ in range(data.count(signal.SIGINT)):
                if not self._take() or not self.runs:
                    continue
                run = self.runs[-1]
                run.interrupted = True
                while run.active:
                    run.stop()
                    time.sleep(RETRY_SECONDS)


_watcher: _Watcher | None = None
_watcher_lock = threading.Lock()


def _forget_watcher() -> None:
    """In a forked child: the watcher thread did not come along; the next run starts one."""
    global _watcher, _watcher_lock
    _watcher, _watcher_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_watcher)


def _get_watcher() -> _Watcher:
    global _watcher
    with _watcher_lock:
        if _watcher is None:
            _watcher = _Watcher()
        return _watcher


def can_take_sigint() -> bool:
    """True on the main thread while SIGINT has Python's default handler (KeyboardInterrupt):
    elsewhere someone else owns Ctrl-C (a window, a shell that ignores it, another thread)."""
    return (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler)


@contextmanager
def stop_on_sigint(stop: Callable[[], None]) -> Iterator[SigintStop]:
    """For the block's duration, Ctrl-C sets ``.interrupted`` and calls ``stop()`` (which must be
    safe to call from another thread) instead of raising KeyboardInterrupt. Off the main
    thread, or when SIGINT is not Python's default, the block runs unchanged."""
    run = SigintStop(stop)
    if not can_take_sigint():
        yield run
        return
    watcher = _get_watcher()
    watcher.runs.append(run)
    previous_fd = signal.set_wakeup_fd(watcher.write_fd, warn_on_full_buffer=False)
    previous = signal.signal(signal.SIGINT, lambda signum, frame: run.trip() if watcher.handler_saw() else None)
    try:
        yield run
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.set_wakeup_fd(previous_fd)
        run.active = False
        watcher.runs.remove(run)
