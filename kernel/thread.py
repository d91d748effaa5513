"""Guest threads: saved registers, a priority, and what the thread waits on."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from hlemu.cpu import RegisterFile
from hlemu.cpu.registers import DEFAULT_FPSCR
from kernel.objects.base import WaitObject

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.objects.arbiter import AddressArbiter
    from kernel.objects.mutex import Mutex
    from kernel.process import Process
    from kernel.svc.listeners import SvcCall


class ThreadState(Enum):
    READY = "ready"  # runnable (including the running thread)
    WAITING = "waiting"
    DEAD = "dead"


_DEAD = ThreadState.DEAD


@dataclass(slots=True)
class Wait:
    """What a waiting thread waits for; ``deadline`` in guest ticks (None: forever)."""

    kind: str  # "sync", "sleep", "arbiter"
    objects: list[WaitObject] = field(default_factory=list)
    wait_all: bool = False
    deadline: int | None = None
    arbiter: AddressArbiter | None = None
    address: int = 0
    since: int = 0  # sequence number: earlier waiters wake first among equals
    timeout_result: int = 0  # r0 when the deadline passes
    wake_result: int = 0  # r0 when an arbiter signal ends the wait
    note: str = ""  # what an IPC wait waits for, in words (the deadlock report shows it)

    def describe(self) -> str:
        if self.note:
            return self.note
        if self.kind == "sleep":
            return f"sleep until tick {self.deadline}"
        if self.kind == "arbiter":
            return f"arbiter #{self.arbiter.object_id if self.arbiter else '?'} at {self.address:#010x}"
        names = ", ".join(o.describe() for o in self.objects)
        mode = "all of" if self.wait_all and len(self.objects) > 1 else "any of" if len(self.objects) > 1 else ""
        until = f" until tick {self.deadline}" if self.deadline is not None else ""
        return f"{mode} {names}{until}".strip()


class Thread(WaitObject):
    """A guest thread. As a wait object it is signaled once the thread has exited."""

    type_name = "thread"

    def __init__(self, kernel: Kernel, process: Process, tid: int, priority: int, entry: int,
                 stack_top: int, arg: int, tls: int, name: str = "", fpscr: int = DEFAULT_FPSCR) -> None:
        super().__init__(kernel, name)
        self.process = process
        self.tid = tid
        self.base_priority = priority  # as created or set by SetThreadPriority
        self.priority = priority  # effective: raised while a better thread waits on our mutex
        self.entry = entry
        self.stack_top = stack_top
        self.arg = arg
        self.tls = tls
        self.state = ThreadState.READY
        self.wait: Wait | None = None
        self.ready_seq = 0
        # The thread's registers while another thread of its process is loaded in the CPU (stale
        # while it is the loaded one); None once its process is reaped.
        self.context: RegisterFile | None = RegisterFile.for_thread(entry, stack_top, arg, tls, fpscr)
        self.pending_results: dict[int, int] = {}  # r<i> values to write when next loaded
        self.pending_svc: SvcCall | None = None  # the blocked SVC its listeners wait to see complete
        self.held_mutexes: set[Mutex] = set()

    state_transient = ("pending_svc", "_tls_at")  # the SVC listeners' view of a blocked call; a cache

    def after_restore(self) -> None:
        self.pending_svc = None

    def should_wait(self, thread: Thread) -> bool:
        return self.state is not _DEAD

    @property
    def alive(self) -> bool:
        return self.state is not _DEAD  # (a module name: the switch path asks this often)

    def describe(self) -> str:
        return f"thread {self.tid} of {self.process.name} (pid {self.process.pid})"
