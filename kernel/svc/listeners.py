"""SVC listeners: what the kernel tells scripts, the debugger and the GDB stub about SVCs.

A listener is ``callback(call)`` with an :class:`SvcCall`, registered before or after
SVCs (all, or one number). *Before* listeners run when the SVC arrives, before its
handler; *after* listeners when it has completed: at once for an SVC that answers
at once, and for one that blocks (WaitSynchronization, SleepThread, ReplyAndReceive,
a request to a service) when its thread wakes with its results and runs again. An
SVC that never completes (ExitThread, ExitProcess, a thread ended while it waited)
has no *after*. With no listeners the SVC path pays one truth test.

A *holding* listener (``add(..., hold=True)``) is asked first, before the SVC is charged
or served: returning true holds the call back. The CPU then ends the run with the thread
at its svc instruction and registers as the SVC found them (a debugger's stop at the
entry); the next run executes the instruction again, and this time the SVC is served
without asking (so a resumed SVC runs exactly once, with whatever registers a debugger
left). Instructions, blocks and ticks come out as if it had not been held.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel.process import Process
    from kernel.thread import Thread

SvcListener = Callable[["SvcCall"], object]


@dataclass
class SvcCall:
    """One SVC: who made it, with what, and (once completed) what it returned."""

    thread: Thread
    number: int
    name: str
    args: list[int]  # r0..r7 as the SVC found them
    results: dict[int, int] | None = None  # r<i> it wrote back; None until it has completed
    blocked: bool = False  # it waited before completing

    @property
    def process(self) -> Process:
        return self.thread.process

    def registers_after(self) -> list[int]:
        """r0..r7 after the SVC: the arguments with its results written over them."""
        regs = list(self.args)
        for i, value in (self.results or {}).items():
            regs[i] = value & 0xFFFFFFFF
        return regs


@dataclass
class _Entry:
    callback: SvcListener
    number: int | None
    after: bool
    hold: bool = False


@dataclass
class SvcListeners:
    """The kernel's SVC listeners (``kernel.svc_listeners``)."""

    entries: list[_Entry] = field(default_factory=list)  # (a list: the SVC path tests it directly)
    holds: bool = False  # some entry may hold SVCs back
    released: dict[int, int] = field(default_factory=dict)  # thread id -> pc of the SVC held last, served next

    def add(self, callback: SvcListener, number: int | None = None, after: bool = False,
            hold: bool = False) -> SvcListener:
        """Call ``callback(call)`` before (or, ``after``, on completion of) every SVC, or SVC ``number``;
        ``hold``: before anything else, and a true return holds the SVC back (see the module).
        Returns ``callback``, for :meth:`remove`."""
        if hold and after:
            raise ValueError("only a listener before an SVC can hold it")
        self.entries.append(_Entry(callback, number, after, hold))
        self.holds = self.holds or hold
        return callback

    def remove(self, callback: SvcListener) -> None:
        """Forget every registration of ``callback``."""
        self.entries = [e for e in self.entries if e.callback is not callback]
        self.holds = any(e.hold for e in self.entries)

    def hold(self, call: SvcCall, pc: int) -> bool:
        """Ask the holding listeners about ``call`` (its svc instruction ends at ``pc``): true
        when one holds it. The SVC a thread was held at last is served when it comes again."""
        tid = call.thread.tid
        if self.released.pop(tid, None) == pc:
            return False
        from kernel.kernel import host_callback  # the kernel module imports this one

        for entry in list(self.entries):
            if entry.hold and (entry.number is None or entry.number == call.number):
                with host_callback():
                    if entry.callback(call):
                        self.released[tid] = pc
                        return True
        return False

    def __bool__(self) -> bool:
        return bool(self.entries)

    def before(self, call: SvcCall) -> None:
        self._tell(call, after=False)

    def after(self, call: SvcCall) -> None:
        self._tell(call, after=True)

    def _tell(self, call: SvcCall, after: bool) -> None:
        from kernel.kernel import host_callback  # the kernel module imports this one

        for entry in list(self.entries):
            if entry.after is after and not entry.hold and (entry.number is None or entry.number == call.number):
                with host_callback():  # the listener's error is the script's: it reaches the script
                    entry.callback(call)
