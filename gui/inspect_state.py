"""Qt-free samples for the inspection docks (heap, footprint, scanner), as :mod:`gui.state` is
for the others: built on the emulation thread (the docks ask through ``Session.call``)
from :mod:`kernel.api`, handed to the UI as plain copies.

>>> from kernel.api import Emulator
>>> emu = Emulator(backend="semifastmem", echo=False)
>>> p = emu.spawn("hello")
>>> rows = footprint_rows(emu)
>>> [r.name for r in rows], rows[0].pid == p.pid
(['hello', 'system'], True)
>>> heap_sample(emu, p.pid).error is None  # the SDK links newlib's malloc
True
>>> picture = footprint_sample(emu).picture
>>> picture.describe(int(p.page(0x00100000).frame))
'frame 0 (APPLICATION 20000000): process 32'
>>> emu.close()
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlemu.inspect import InspectError, UnreadableMemory
from hlemu.inspect.footprint import FREE, HELD, SHARED, Footprint
from hlemu.inspect.scan import Scan
from kernel.api import Emulator
from kernel.api.inspect import physical_owners, system_footprint
from kernel.layout import SYSTEM_TICK_HZ


@dataclass(frozen=True)
class HeapBlock:
    address: int
    size: int
    used: bool


@dataclass(frozen=True)
class HeapSample:
    """One walk of a process's heap at guest time ``seconds`` (``error``: why there is none)."""

    pid: int
    seconds: float
    allocator: str = ""
    start: int = 0
    top: int = 0
    high_water: int = 0
    used: int = 0
    free: int = 0
    largest_free: int = 0
    fragmentation: float = 0.0
    blocks: tuple[HeapBlock, ...] = ()
    problems: tuple[str, ...] = ()
    error: str | None = None

    def block_at(self, address: float) -> HeapBlock | None:
        for block in self.blocks:
            if block.address <= address < block.address + block.size:
                return block
        return None


def heap_sample(emu: Emulator, pid: int) -> HeapSample:
    try:
        proc = emu.process(pid)
        report = proc.heap()
    except (KeyError, InspectError, UnreadableMemory, ValueError) as exc:
        return HeapSample(pid, emu.ticks / SYSTEM_TICK_HZ, error=str(exc).strip("'\""))
    blocks = tuple(HeapBlock(c.address, c.size, c.used) for c in report.chunks)
    return HeapSample(pid, emu.ticks / SYSTEM_TICK_HZ, report.allocator, report.start, report.top, report.high_water,
                      report.used, report.free, report.largest_free, report.fragmentation, blocks,
                      tuple(report.problems))


@dataclass(frozen=True)
class FootprintRow:
    """RSS, PSS and USS (bytes) of one process, or of the whole system (``pid`` -1)."""

    pid: int
    name: str
    status: str
    rss: int
    pss: int
    uss: int
    by_state: tuple[tuple[str, int, int, int], ...]  # (state, rss, pss, uss)


def footprint_rows(emu: Emulator) -> list[FootprintRow]:
    """One row per process whose memory is still there, then the system's."""
    prints = system_footprint(emu)
    rows = []
    for p in emu.processes:
        fp = prints.get(p.pid)
        if fp is not None:
            rows.append(FootprintRow(p.pid, p.name, p.status, fp.rss, fp.pss, fp.uss, _states(fp)))
    if -1 in prints:
        fp = prints[-1]
        rows.append(FootprintRow(-1, "system", "", fp.rss, fp.pss, fp.uss, _states(fp)))
    return rows


def _states(fp: Footprint) -> tuple[tuple[str, int, int, int], ...]:
    return tuple((state, u.rss, u.pss, u.uss) for state, u in sorted(fp.by_state.items()))


@dataclass(frozen=True)
class PhysicalPicture:
    """Who holds each frame of physical memory (a pid, or SHARED / HELD / FREE), and the regions."""

    owners: np.ndarray  # int32 per frame
    regions: tuple[tuple[str, int, int, int], ...]  # (name, first frame, frames, 3DS physical base)

    def describe(self, frame: int) -> str:
        if not 0 <= frame < len(self.owners):
            return ""
        name, first, _, base = next(r for r in self.regions if r[1] <= frame < r[1] + r[2])
        owner = int(self.owners[frame])
        who = OWNER_NAMES.get(owner, f"process {owner}")
        return f"frame {frame} ({name} {base + ((frame - first) << 12):08x}): {who}"

    def counts(self) -> dict[int, int]:
        values, counts = np.unique(self.owners, return_counts=True)
        return dict(zip(values.tolist(), counts.tolist(), strict=True))


OWNER_NAMES = {FREE: "free", HELD: "held by the kernel (mapped by no process)", SHARED: "shared by processes"}


@dataclass(frozen=True)
class FootprintSample:
    rows: tuple[FootprintRow, ...]
    picture: PhysicalPicture


def footprint_sample(emu: Emulator) -> FootprintSample:
    phys = emu.kernel.memory.phys
    regions = tuple((r.name, r.first_frame, r.num_frames, r.phys_base) for r in phys.regions.values())
    return FootprintSample(tuple(footprint_rows(emu)), PhysicalPicture(physical_owners(emu), regions))


@dataclass(frozen=True)
class ScanRow:
    address: int
    value: int
    symbol: str


@dataclass(frozen=True)
class ScanResult:
    """What a scan or rescan left: the candidates (the first ``shown``), and the narrowing."""

    pid: int
    width: int
    count: int
    history: tuple[int, ...]
    rows: tuple[ScanRow, ...]
    scan: object = None  # the Scan itself: only the emulation thread may use it


SHOWN = 1000  # candidates a table shows (a first scan for 0 finds hundreds of thousands)


def start_scan(emu: Emulator, pid: int, value: int, width: int, start: int = 0, end: int = 1 << 32) -> ScanResult:
    proc = emu.process(pid)
    return _result(proc, proc.scan(value, width, start, end))


def rescan(emu: Emulator, pid: int, scan: Scan, condition: str, value: int | None) -> ScanResult:
    proc = emu.process(pid)
    if condition in ("equal", "not_equal"):
        scan.rescan(condition, value)
    else:
        scan.rescan(condition)
    return _result(proc, scan)


def _result(proc: object, scan: Scan) -> ScanResult:
    rows = tuple(ScanRow(a, v, proc.symbol(a)) for a, v in list(scan)[:SHOWN])  # type: ignore[attr-defined]
    return ScanResult(proc.pid, scan.width, len(scan), tuple(scan.history), rows, scan)  # type: ignore[attr-defined]
