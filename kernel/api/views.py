"""The plain records the API hands out: regions, map snapshots, threads, handles.

Their reprs (what a REPL echoes) show addresses, registers and handles in hex:

>>> from hlemu.memory import MemoryPermission as P, MemoryState as S
>>> Region(0x00100000, 0x4000, P.RX, S.CODE, 0x20000000, [33])
Region(base=0x00100000, size=0x4000, perm=RX, state=CODE, phys=0x20000000, shared_with=[33])
>>> HandleInfo(0x00010002, "Event", "event #17 (oneshot)", 17, [32, 33])
HandleInfo(handle=0x00010002, type='Event', description='event #17 (oneshot)', object_id=17, holders=[32, 33])
>>> Handle(0xFFFF8001, "process 32 'hello'")
Handle(0xffff8001, "process 32 'hello'")
>>> Breakpoint(32, 0x0010006C)
Breakpoint(pid=32, address=0x0010006c)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from hlemu.cpu import CPSR_T, RegisterFile
from hlemu.memory import MemoryInfo, MemoryPermission, MemoryState
from hlemu.text import hex_registers, hex_value, record_repr
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

    def __repr__(self) -> str:
        return record_repr(self, addresses=("base", "phys"), sizes=("size",))


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

    def __repr__(self) -> str:
        vfp = {name: hex_value(v, 16 if name.startswith("d") else 8) for name, v in self.vfp.items()}
        return record_repr(self, custom={"registers": hex_registers(self.registers),
                                         "vfp": "{" + ", ".join(f"{k!r}: {v}" for k, v in vfp.items()) + "}"})

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

    def __repr__(self) -> str:
        return record_repr(self, addresses=("handle",))


class Handle(NamedTuple):
    """One entry of ``proc.handles``: the handle value and what it names (a tuple)."""

    handle: int
    description: str

    def __repr__(self) -> str:
        return f"Handle({hex_value(self.handle)}, {self.description!r})"


class Breakpoint(NamedTuple):
    """One entry of ``emu.breakpoints`` (a tuple)."""

    pid: int
    address: int

    def __repr__(self) -> str:
        return f"Breakpoint(pid={self.pid}, address={hex_value(self.address)})"


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
