"""The plain records the API hands out: regions, map snapshots, threads, handles."""

from __future__ import annotations

from dataclasses import dataclass, field

from hlemu.cpu import CPSR_T, RegisterFile
from hlemu.memory import MemoryInfo, MemoryPermission, MemoryState
from kernel.thread import Thread

_REGS = [f"r{i}" for i in range(13)] + ["sp", "lr", "pc", "cpsr"]
_VFP_REGS = [f"d{i}" for i in range(16)] + ["fpscr"]


@dataclass
class Region:
    """A QueryMemory region, with the physical range and who else maps it."""

    base: int
    size: int
    perm: MemoryPermission
    state: MemoryState
    phys: int | None
    shared_with: list[int]

    def __str__(self) -> str:
        return str(MemoryInfo(self.base, self.size, self.perm, self.state))


@dataclass
class MapSnapshot:
    """The regions of a process at one moment; ``diff`` says what changed since."""

    pid: int
    regions: list[MemoryInfo]

    def diff(self, later: MapSnapshot) -> list[str]:
        """Lines ``+ region`` (new), ``- region`` (gone) between this snapshot and ``later``."""
        before, after = set(map(str, self.regions)), set(map(str, later.regions))
        return [f"- {r}" for r in sorted(before - after)] + [f"+ {r}" for r in sorted(after - before)]


@dataclass
class ThreadView:
    tid: int
    name: str
    state: str
    priority: int
    waiting_on: str
    registers: dict[str, int] = field(default_factory=dict)  # r0-r12, sp, lr, pc, cpsr
    vfp: dict[str, int] = field(default_factory=dict)  # d0-d15 (raw 64-bit), fpscr; when asked for
    pid: int = -1  # the process it belongs to

    @property
    def pc(self) -> int:
        return self.registers.get("pc", 0)

    @property
    def thumb(self) -> bool:
        return bool(self.registers.get("cpsr", 0) & CPSR_T)


@dataclass
class HandleInfo:
    """One handle of a process: what it names and which processes hold the same object."""

    handle: int
    type: str
    description: str
    object_id: int
    holders: list[int]  # pids of every process with a handle to the object (this one included)


def thread_registers(t: Thread) -> RegisterFile | None:
    """A live thread's registers: the CPU's when it is the loaded thread of its process, else
    its saved ones (a copy either way); None once it has ended."""
    return t.process.kernel.scheduler.registers(t)


def read_thread(t: Thread, vfp: bool = False) -> ThreadView:
    """A thread's state and registers (its saved context when another thread is loaded);
    ``vfp`` adds d0-d15 and FPSCR."""
    regs: dict[str, int] = {}
    fp: dict[str, int] = {}
    source = thread_registers(t)
    if source is not None:
        regs = {name: source[name] for name in _REGS}
        if vfp:
            fp = {name: source[name] for name in _VFP_REGS}
    return ThreadView(t.tid, t.name, t.state.value, t.priority,
                      t.wait.describe() if t.wait else "", regs, fp, t.process.pid)
