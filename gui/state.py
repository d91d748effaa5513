"""Qt-free snapshots of the emulator, taken on the emulation thread and handed to widgets.

Widgets never touch the kernel: the worker builds these plain objects between
slices of guest time (through :mod:`kernel.api`, the one way into the kernel)
and sends them across threads in queued signals. Everything here is a copy, so
the UI can keep a snapshot as long as it likes while the guests run on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hlemu.cpu.decode import Instruction
from hlemu.memory import FaultKind, SpecialKind
from kernel.api import Emulator, HandleInfo, Proc, Region, ThreadView
from kernel.api.inspect import system_footprint
from kernel.ipc import Message

FAULT_KINDS = [kind.name.lower() for kind in FaultKind]


@dataclass(frozen=True)
class ProcessRow:
    pid: int
    name: str
    status: str
    instructions: int
    svcs: int
    threads: int
    faults: dict[str, int]
    crash: str | None
    title: str | None = None  # a 3DSX's SMDH short title (None: no SMDH, as for an ELF)
    publisher: str | None = None
    icon: bytes | None = None  # the SMDH's 48x48 icon, RGB888 row by row (bytes: rows compare cheaply)
    footprint: tuple[int, int, int] | None = None  # RSS, PSS, USS in bytes (None: not measured)


@dataclass(frozen=True)
class ThreadRow:
    pid: int
    tid: int
    name: str
    state: str
    priority: int
    pc: int
    waiting_on: str


@dataclass(frozen=True)
class IpcRow:
    """One recorded IPC message (a request or its reply)."""

    seq: int
    frame: int
    sender: int
    receiver: int  # -1: an HLE service
    service: str
    command: int
    normal: tuple[int, ...]
    descriptors: tuple[str, ...]
    reply: bool
    result: int | None
    name: str = ""  # the command's documented name
    status: str = ""  # the service's note on a reply: unimplemented, stubbed, refused: ...

    @staticmethod
    def of(seq: int, frame: int, message: Message) -> IpcRow:
        return IpcRow(seq, frame, message.sender, message.receiver, message.service, message.command,
                      tuple(message.normal), tuple(str(d) for d in message.descriptors), message.reply,
                      message.result, message.name, message.status)


@dataclass(frozen=True)
class Crash:
    pid: int
    name: str
    report: str
    address: int | None


@dataclass
class PageTableSnapshot:
    """A process's page table at one moment: one entry per 4 KiB page of the 4 GiB space.

    ``faults`` holds counters only for pages that ever faulted (``fault_pages``), so a
    snapshot costs about 7 MiB whatever the counters hold.
    """

    pid: int
    frame: np.ndarray  # int32, -1 where unmapped
    perm: np.ndarray  # uint8 MemoryPermission bits
    state: np.ndarray  # uint8 MemoryState
    special: np.ndarray  # uint8 SpecialKind
    fault_pages: np.ndarray  # sorted page numbers with any fault
    faults: np.ndarray  # (len(FAULT_KINDS), len(fault_pages)) uint32
    phys_of_frame: np.ndarray  # uint32: the 3DS physical address of each frame

    @staticmethod
    def of(proc: Proc) -> PageTableSnapshot:
        table = proc.page_table
        counters = proc.space.faults.array
        pages = np.flatnonzero(counters.any(axis=0))
        return PageTableSnapshot(proc.pid, table.frame.copy(), table.perm.copy(), table.state.copy(),
                                 table.special.copy(), pages, counters[:, pages].copy(),
                                 proc.space.phys.frame_addresses())

    def phys(self, vpn: int) -> int | None:
        frame = int(self.frame[vpn])
        return None if frame < 0 else int(self.phys_of_frame[frame])

    def faults_of(self, vpn: int) -> dict[str, int]:
        at = int(np.searchsorted(self.fault_pages, vpn))
        if at < len(self.fault_pages) and self.fault_pages[at] == vpn:
            return {kind: int(self.faults[i, at]) for i, kind in enumerate(FAULT_KINDS)}
        return dict.fromkeys(FAULT_KINDS, 0)

    def special_name(self, vpn: int) -> str:
        kind = int(self.special[vpn])
        return SpecialKind(kind).name.lower() if kind else ""


@dataclass
class ProcessDetail:
    """What the debugger docks show of the selected process (and thread)."""

    pid: int
    regions: list[Region]
    handles: list[HandleInfo]
    thread: ThreadView | None
    disasm: list[Instruction]
    memory_at: int
    memory: bytes | None  # the hex view's window, None where unmapped


@dataclass
class Snapshot:
    """Everything the window shows that changes while the guests run."""

    serial: int
    frame: int
    instructions: int
    ticks: int
    backend: str
    running: bool
    reason: str  # why the emulation last stopped ("" while running)
    processes: list[ProcessRow]
    threads: list[ThreadRow]
    detail: ProcessDetail | None = None
    pages: PageTableSnapshot | None = None
    ipc: list[IpcRow] = field(default_factory=list)  # recorded since the previous snapshot
    output: list[tuple[int, str, str]] = field(default_factory=list)  # (pid, name, line), new lines
    crashes: list[Crash] = field(default_factory=list)  # new crashes
    breakpoints: list[tuple[int, int]] = field(default_factory=list)
    generation: int = 0  # which emulator (a reset builds a new one)


def process_rows(emu: Emulator, faults: dict[int, dict[str, int]] | None = None,
                 footprints: dict[int, tuple[int, int, int]] | None = None
                 ) -> tuple[list[ProcessRow], list[ThreadRow]]:
    """Rows for every process and thread. Fault totals sum 5 x 1M counters (about 3 ms a
    process), so a caller refreshing often may pass totals it keeps (``faults``, by pid);
    footprints likewise (``footprints``: pid -> RSS, PSS, USS, from :func:`footprint_totals`)."""
    procs, threads = [], []
    for p in emu.processes:
        totals = faults[p.pid] if faults is not None and p.pid in faults else p.faults
        views = p.threads
        icon = p.icon
        procs.append(ProcessRow(p.pid, p.name, p.status, p.instructions_run, p.svcs, len(views), totals, p.crash,
                                p.title, p.publisher, None if icon is None else icon.tobytes(),
                                (footprints or {}).get(p.pid)))
        for t in views:
            threads.append(ThreadRow(p.pid, t.tid, t.name, t.state, t.priority, t.pc, t.waiting_on))
    return procs, threads


def footprint_totals(emu: Emulator) -> dict[int, tuple[int, int, int]]:
    """RSS, PSS and USS of every process whose memory is still there, by pid."""
    return {pid: (fp.rss, fp.pss, fp.uss) for pid, fp in system_footprint(emu).items() if pid >= 0}


def disassemble(proc: Proc, view: ThreadView | None, around: int | None, count: int = 24) -> list[Instruction]:
    """``count`` instructions around ``around`` (default: the thread's PC), ARM or Thumb by CPSR.T."""
    if around is None:
        if view is None or "pc" not in view.registers:
            return []
        around = view.pc
    thumb = view.thumb if view is not None else False
    width = 2 if thumb else 4
    start = max(0, around - (count // 3) * width) & ~(width - 1)
    return proc.instructions(start, count, thumb)


def process_detail(emu: Emulator, pid: int, tid: int | None, memory_at: int, code_at: int | None,
                   memory_size: int = 256, regions: list[Region] | None = None) -> ProcessDetail | None:
    """The selected process's regions, handles, a thread's registers, code and memory
    (``regions``: its memory map as taken a moment ago, instead of a new one)."""
    try:
        proc = emu.process(pid)
    except KeyError:
        return None
    view = proc.thread(tid, vfp=True)
    memory: bytes | None
    try:
        memory = proc.peek(memory_at, memory_size) if proc.alive else None
    except ValueError:
        memory = None
    return ProcessDetail(pid, proc.maps() if regions is None else regions, proc.handle_info(), view,
                         disassemble(proc, view, code_at) if proc.alive else [], memory_at, memory)
