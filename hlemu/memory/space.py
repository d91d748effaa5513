"""A process's address space: page table, optional slab, counters, paths.

Every change to the mapping goes through :class:`AddressSpace`, which keeps
four things in step: the page-table arrays, the derived fast entries, the
slab's host mappings and the physical frames' map counts. Listeners (the
CPU's translation cache, the debugger) hear ``(first_vpn, end_vpn, plain)`` after
each change, so no stale translation survives a map, unmap or protect; ``plain``
says no page of it was or is executable or special (an IPC buffer mapped or
unmapped: code caches and MMIO slots have nothing to do).

Invariants after every public call:

* a page is mapped iff its state is not FREE; a mapped page is either MMIO
  (no frame, has a handler) or memory (a frame, counted in ``map_count``);
* ``fast``/``access`` equal :meth:`PageTable.derive` of the fields;
* with a slab, ``slab + v`` is host-accessible for exactly the accesses
  ``access`` allows, and maps the page's frame.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from hlemu.memory.constants import (
    FAST_READ,
    FAST_WRITE,
    NUM_PAGES,
    PAGE_MASK,
    PAGE_SHIFT,
    PAGE_SIZE,
    MemoryPermission,
    MemoryState,
    SpecialKind,
)
from hlemu.memory.constants import FAULT_WRITE_TRACK as _WRITE_TRACK
from hlemu.memory.faults import FaultCounters
from hlemu.memory.pagetable import MemoryInfo, PageTable
from hlemu.memory.paths import FastMem, MemoryPath, SemiFastMem, SlowMem
from hlemu.memory.paths_trap import FastTrapMem
from hlemu.memory.physical import PhysicalMemory
from hlemu.memory.slab import PROT_NONE, PROT_READ, PROT_RW, Slab
from hlemu.memory.special import MmioHandler, WriteTracker
from hlemu.text import record_repr

_SMALL_SYNC = 16  # slab syncs of up to this many pages work on plain lists

_FREE = int(MemoryState.FREE)
_WORD = struct.Struct("<I")
_X = int(MemoryPermission.X)

log = logging.getLogger(__name__)

ChangeListener = Callable[[int, int], None]  # (first_vpn, end_vpn)
MapListener = Callable[[int, int, bool], None]  # (first_vpn, end_vpn, plain)


class MapError(ValueError):
    """A map, unmap or protect request the address space cannot honour."""


@dataclass(frozen=True)
class WatchHit:
    """One access a watchpoint saw: who, where, how much, which way, and the bytes."""

    pid: int
    address: int
    size: int
    kind: str  # "read" or "write"
    data: bytes

    def __repr__(self) -> str:
        return record_repr(self, addresses=("address",))


WatchCallback = Callable[[WatchHit], None]


@dataclass(eq=False)
class Watchpoint:
    space: AddressSpace
    vaddr: int
    size: int
    callback: WatchCallback
    on: str
    hits: int = 0

    def remove(self) -> None:
        self.space.unwatch(self)

    def __repr__(self) -> str:
        return record_repr(self, addresses=("vaddr",), skip=("callback",))


@dataclass(frozen=True)
class PageEntry:
    """One page as the debugger shows it."""

    vaddr: int
    frame: int
    phys_addr: int | None
    perm: MemoryPermission
    state: MemoryState
    special: SpecialKind
    dirty: bool
    faults: dict[str, int]

    def __repr__(self) -> str:
        return record_repr(self, addresses=("vaddr", "phys_addr"))


class AddressSpace:
    """One guest process's memory: use ``mem`` (the chosen path) to access it."""

    def __init__(self, phys: PhysicalMemory, pid: int, name: str = "", slab: Slab | None = None,
                 backend: str = "semifastmem") -> None:
        self.phys = phys
        self.pid = pid
        self.name = name or f"process {pid}"
        self.table = PageTable()
        self.slab = slab
        self.faults = FaultCounters()
        self.mmio: dict[int, MmioHandler] = {}
        self.trackers: dict[int, WriteTracker] = {}
        self.watchpoints: dict[int, list[Watchpoint]] = {}
        self.watch_muted = False
        self.listeners: list[MapListener] = []
        self.code_listeners: list[ChangeListener] = []  # told when poke() rewrites memory (code caches)
        self.slow = SlowMem(self)
        self.semifast = SemiFastMem(self)
        self.fast: FastMem | None = FastMem(self) if slab is not None else None
        self.fast_trap: FastTrapMem | None = None  # built on first use: it builds the fault handler
        self.backend = backend
        self.mem: MemoryPath = self.path(backend)

    def path(self, name: str) -> MemoryPath:
        """The access path called ``name`` (slowmem, semifastmem, fastmem, fastmem_trap)."""
        if name == "slowmem":
            return self.slow
        if name == "semifastmem":
            return self.semifast
        if name == "fastmem":
            if self.fast is None:
                raise MapError(f"{self.name} has no slab, so no fastmem path")
            return self.fast
        if name == "fastmem_trap":
            if self.fast_trap is None:
                if self.slab is None:
                    raise MapError(f"{self.name} has no slab, so no fastmem_trap path")
                self.fast_trap = FastTrapMem(self)
            return self.fast_trap
        raise ValueError(f"unknown memory path {name!r}")

    # -- mapping --------------------------------------------------------------
    def map(self, vaddr: int, frames: Iterable[int] | np.ndarray, perm: MemoryPermission,
            state: MemoryState) -> None:
        """Map physical ``frames`` at ``vaddr``, one page each, in order."""
        if isinstance(frames, list) and 0 < len(frames) <= _SMALL_SYNC:
            self._map_small(vaddr, frames, int(perm), int(state))
            return
        frames = np.asarray(list(frames) if not isinstance(frames, np.ndarray) else frames, dtype=np.int64)
        if 0 < len(frames) <= _SMALL_SYNC:  # a few pages (an IPC buffer, twice per request): plain ints
            self._map_small(vaddr, frames.tolist(), int(perm), int(state))
            return
        lo, hi = self._range(vaddr, len(frames) << PAGE_SHIFT)
        self._check_new(lo, hi, state)
        t = self.table
        if len(frames) and (frames.min() < 0 or frames.max() >= self.phys.num_frames):
            raise MapError("frame number outside physical memory")
        t.frame[lo:hi] = frames
        t.perm[lo:hi] = int(perm)
        t.state[lo:hi] = int(state)
        t.special[lo:hi] = SpecialKind.NONE
        t.wdirty[lo:hi] = 0
        np.add.at(self.phys.map_count, frames, 1)
        self._changed(lo, hi)

    def _map_small(self, vaddr: int, frames: list[int], perm: int, state: int) -> None:
        """:meth:`map` of a few pages, in plain ints, element by element: one-element numpy
        slices cost several times a scalar store, and this runs twice per IPC mapped buffer."""
        lo, hi = self._range(vaddr, len(frames) << PAGE_SHIFT)
        if state == _FREE:
            raise MapError("cannot map pages in the FREE state")
        v = self.table.items
        tstate = v.state
        if any(tstate[vpn] for vpn in range(lo, hi)):
            raise MapError(f"{self.name}: {lo << PAGE_SHIFT:#010x}+{(hi - lo) << PAGE_SHIFT:#x} overlaps mapped pages")
        if min(frames) < 0 or max(frames) >= self.phys.num_frames:
            raise MapError("frame number outside physical memory")
        count = self.phys.map_count_items
        frame, tperm, special, wdirty = v.frame, v.perm, v.special, v.wdirty
        for vpn, f in enumerate(frames, lo):
            frame[vpn] = f
            tperm[vpn] = perm
            tstate[vpn] = state
            special[vpn] = 0
            wdirty[vpn] = 0
            count[f] += 1
        # FREE pages held no code; new pages without X hold none either: the listeners'
        # code caches have nothing to drop (special was cleared above).
        self._changed(lo, hi, plain=not perm & _X)

    def map_mmio(self, vaddr: int, size: int, handler: MmioHandler,
                 perm: MemoryPermission = MemoryPermission.RW, state: MemoryState = MemoryState.IO) -> None:
        """Map pages with no memory behind them: every access calls ``handler``."""
        lo, hi = self._range(vaddr, size)
        self._check_new(lo, hi, state)
        t = self.table
        t.frame[lo:hi] = -1
        t.perm[lo:hi] = int(perm)
        t.state[lo:hi] = int(state)
        t.special[lo:hi] = SpecialKind.MMIO
        for vpn in range(lo, hi):
            self.mmio[vpn] = handler
        self._changed(lo, hi)

    def unmap(self, vaddr: int, size: int) -> np.ndarray:
        """Unmap every page of the range (all must be mapped); returns their frames."""
        lo, hi = self._range(vaddr, size)
        t = self.table
        if hi - lo <= _SMALL_SYNC:  # (as in map: plain ints for a few pages, element by element)
            return self._unmap_small(vaddr, size, lo, hi)
        if not t.is_mapped(lo, hi):
            raise MapError(f"{self.name}: unmap of {vaddr:#010x}+{size:#x} covers unmapped pages")
        frames = t.frame[lo:hi].astype(np.int64)
        backed = frames[frames >= 0]
        np.subtract.at(self.phys.map_count, backed, 1)
        for vpn in range(lo, hi):
            self._forget_page(vpn)
        t.frame[lo:hi] = -1
        t.perm[lo:hi] = 0
        t.state[lo:hi] = MemoryState.FREE
        t.special[lo:hi] = SpecialKind.NONE
        t.wdirty[lo:hi] = 0
        self._changed(lo, hi)
        return backed

    def _unmap_small(self, vaddr: int, size: int, lo: int, hi: int) -> np.ndarray:
        v = self.table.items
        tstate = v.state
        if not all(tstate[vpn] != _FREE for vpn in range(lo, hi)):
            raise MapError(f"{self.name}: unmap of {vaddr:#010x}+{size:#x} covers unmapped pages")
        frame, perm, special, wdirty = v.frame, v.perm, v.special, v.wdirty
        count = self.phys.map_count_items
        listed = []
        plain = True  # no page held code or was special: the listeners' code caches are untouched
        for vpn in range(lo, hi):
            f = frame[vpn]
            if f >= 0:
                listed.append(f)
                count[f] -= 1
            if special[vpn] or perm[vpn] & _X:
                plain = False
        if self.mmio or self.watchpoints or self.trackers:
            for vpn in range(lo, hi):
                self._forget_page(vpn)
        for vpn in range(lo, hi):
            frame[vpn] = -1
            perm[vpn] = 0
            tstate[vpn] = _FREE
            special[vpn] = 0
            wdirty[vpn] = 0
        self._changed(lo, hi, plain=plain)
        return np.array(listed, dtype=np.int64)

    def _forget_page(self, vpn: int) -> None:
        """Drop what makes page ``vpn`` special (its MMIO handler, watchpoints, tracker)."""
        self.mmio.pop(vpn, None)
        self.watchpoints.pop(vpn, None)
        tracker = self.trackers.pop(vpn, None)
        if tracker is not None:
            tracker.dirty.get(self.pid, set()).discard(vpn)

    def protect(self, vaddr: int, size: int, perm: MemoryPermission, state: MemoryState | None = None) -> None:
        """Change permission (and optionally state) of mapped pages."""
        lo, hi = self._range(vaddr, size)
        if not self.table.is_mapped(lo, hi):
            raise MapError(f"{self.name}: protect of {vaddr:#010x}+{size:#x} covers unmapped pages")
        if state is not None and state == MemoryState.FREE:
            raise MapError("protect cannot set the FREE state; unmap instead")
        if perm & MemoryPermission.W:
            self.privatize(lo << PAGE_SHIFT, (hi - lo) << PAGE_SHIFT)
        self.table.perm[lo:hi] = int(perm)
        if state is not None:
            self.table.state[lo:hi] = int(state)
        self._changed(lo, hi)

    def track_writes(self, vaddr: int, size: int, tracker: WriteTracker) -> None:
        """Make mapped memory pages write-tracked (clean) by ``tracker``."""
        lo, hi = self._range(vaddr, size)
        t = self.table
        if not t.is_mapped(lo, hi) or (t.frame[lo:hi] < 0).any():
            raise MapError(f"{self.name}: write tracking needs mapped memory pages")
        tracker.attach(self)
        t.special[lo:hi] = SpecialKind.TRACKED
        t.wdirty[lo:hi] = 0
        for vpn in range(lo, hi):
            self.trackers[vpn] = tracker
        self._changed(lo, hi)

    def untrack(self, vaddr: int, size: int) -> None:
        lo, hi = self._range(vaddr, size)
        t = self.table
        tracked = np.flatnonzero(t.special[lo:hi] == SpecialKind.TRACKED) + lo
        t.special[tracked] = SpecialKind.NONE
        t.wdirty[tracked] = 0
        for vpn in tracked.tolist():
            self.trackers.pop(vpn, None)
        self._changed(lo, hi)

    # -- watchpoints ------------------------------------------------------------
    def watch(self, vaddr: int, size: int, callback: WatchCallback, on: str = "rw") -> Watchpoint:
        """Call ``callback(hit)`` on guest reads (``r``) and/or writes (``w``) of ``[vaddr, vaddr+size)``.

        The pages become WATCH special pages: their accesses go through slowmem,
        which calls the watchpoints they touch; other pages keep their speed.
        Executable pages cannot be watched (the CPU fetches code directly).
        """
        if size <= 0 or not set(on) <= {"r", "w"} or not on:
            raise MapError("a watchpoint needs a size and 'r', 'w' or 'rw'")
        lo, hi = vaddr >> PAGE_SHIFT, (vaddr + size + PAGE_MASK) >> PAGE_SHIFT
        t = self.table
        for vpn in range(lo, hi):
            if t.state[vpn] == 0 or t.frame[vpn] < 0:
                raise MapError(f"{self.name}: {vpn << PAGE_SHIFT:#010x} is not mapped memory")
            if t.special[vpn] not in (SpecialKind.NONE, SpecialKind.WATCH):
                raise MapError(f"{self.name}: {vpn << PAGE_SHIFT:#010x} is already special")
            if t.perm[vpn] & MemoryPermission.X:
                raise MapError(f"{self.name}: {vpn << PAGE_SHIFT:#010x} is executable; watch data pages")
        point = Watchpoint(self, vaddr, size, callback, on)
        for vpn in range(lo, hi):
            self.watchpoints.setdefault(vpn, []).append(point)
        t.special[lo:hi] = SpecialKind.WATCH
        self._changed(lo, hi)
        return point

    def unwatch(self, point: Watchpoint) -> None:
        lo, hi = point.vaddr >> PAGE_SHIFT, (point.vaddr + point.size + PAGE_MASK) >> PAGE_SHIFT
        for vpn in range(lo, hi):
            points = self.watchpoints.get(vpn, [])
            if point in points:
                points.remove(point)
            if not points:
                self.watchpoints.pop(vpn, None)
                if self.table.special[vpn] == SpecialKind.WATCH:
                    self.table.special[vpn] = SpecialKind.NONE
        self._changed(lo, hi)

    def watch_access(self, vaddr: int, data: bytes, kind: str) -> None:
        """Slowmem saw an access to a watched page: call the watchpoints it overlaps."""
        if self.watch_muted:  # the debugger's own reads and writes are not the guest's
            return
        end = vaddr + len(data)
        for point in list(self.watchpoints.get(vaddr >> PAGE_SHIFT, ())):
            if kind[0] in point.on and vaddr < point.vaddr + point.size and point.vaddr < end:
                point.hits += 1
                point.callback(WatchHit(self.pid, vaddr, len(data), kind, data))

    def note_tracked_write(self, vpn: int) -> None:
        """Slowmem saw the first write to a clean tracked page: let writes run fast."""
        self.faults.bump(_WRITE_TRACK, vpn << PAGE_SHIFT)  # type: ignore[arg-type]  # an int row
        self.table.wdirty[vpn] = 1
        self._changed(vpn, vpn + 1, remap=False)
        self.trackers[vpn].note_write(self, vpn)

    def note_tracked_writes(self, vpns: list[int]) -> None:
        """Slowmem's first write to several clean tracked pages at once (a host write over a
        framebuffer): as :meth:`note_tracked_write` on each, in order, with one derive, slab
        sync and listener call a run of pages rather than one a page."""
        for vpn in vpns:
            self.faults.bump(_WRITE_TRACK, vpn << PAGE_SHIFT)  # type: ignore[arg-type]  # an int row
        arr = np.asarray(vpns, dtype=np.int64)
        self.table.wdirty[arr] = 1
        for lo, hi in _runs(np.sort(arr)):
            self._changed(lo, hi, remap=False)
        for vpn in vpns:
            self.trackers[vpn].note_write(self, vpn)

    def dirtied_by_cpu(self, vpns: list[int]) -> None:
        """The CPU's compiled TLB fill already marked these tracked pages dirty (and
        counted the fault); tell their trackers, as slowmem would have."""
        for vpn in vpns:
            tracker = self.trackers.get(vpn)
            if tracker is not None and vpn not in tracker.dirty.get(self.pid, ()):
                tracker.note_write(self, vpn)

    def rearm_tracked(self, vpns: list[int]) -> None:
        """Make dirty tracked pages clean: their next write faults again."""
        if not vpns:
            return
        self.table.wdirty[np.asarray(vpns, dtype=np.int64)] = 0
        for lo, hi in _list_runs(vpns):  # (a VBlank's few dirty pages: no numpy splits)
            self._changed(lo, hi, remap=False)

    # -- privileged access ------------------------------------------------------
    def poke(self, vaddr: int, data: bytes | bytearray | memoryview) -> None:
        """Write memory as the kernel does: ignoring the page's permission.

        For loaders, the debugger's memory editor and breakpoints. Unmapped
        and MMIO pages are still refused (a host error, not a guest fault);
        write tracking is bypassed (the CPU caches are told by listeners).
        Pages of a shared program image are copied for this process first.
        """
        if len(data):
            self.privatize(vaddr & ~PAGE_MASK, (((vaddr + len(data) + PAGE_MASK) & ~PAGE_MASK)
                                                 - (vaddr & ~PAGE_MASK)))
        for addr, chunk_lo, chunk_hi in self._privileged_pieces(vaddr, len(data)):
            self.phys.data[chunk_lo:chunk_hi] = np.frombuffer(bytes(data[addr - vaddr : addr - vaddr + chunk_hi
                                                                          - chunk_lo]), np.uint8)
        lo, hi = vaddr >> PAGE_SHIFT, ((vaddr + max(len(data), 1) - 1) >> PAGE_SHIFT) + 1
        for listener in self.code_listeners:
            listener(lo, hi)

    def privatize(self, vaddr: int, size: int) -> int:
        """Give this space its own copy of each page in the range that maps a frame of a shared
        program image (``phys.image``), so a write there is seen by this process alone: copy on
        write, done by the kernel's writers (poke, protect to writable), since a guest store to
        such a page faults on its read-only permission. Returns how many pages were copied."""
        lo, hi = vaddr >> PAGE_SHIFT, (vaddr + size + PAGE_MASK) >> PAGE_SHIFT
        frames = self.table.frame[lo:hi].astype(np.int64)
        shared = np.flatnonzero((frames >= 0) & self.phys.image[np.maximum(frames, 0)])
        for i in shared.tolist():
            vpn, old = lo + i, int(frames[i])
            new = int(self.phys.allocate(self.phys.region_of(old).name, 1)[0])
            self.phys.data[new << PAGE_SHIFT : (new + 1) << PAGE_SHIFT] = \
                self.phys.data[old << PAGE_SHIFT : (old + 1) << PAGE_SHIFT]
            self.table.frame[vpn] = new
            self.phys.map_count[new] += 1
            self.phys.map_count[old] -= 1
            self.phys.collect(np.array([old]))  # the image's holder keeps it for the others
            self._changed(vpn, vpn + 1)
        return len(shared)

    def read_word(self, vaddr: int) -> int:
        """The 32-bit word at ``vaddr``, as ``mem.read32`` reads it (the same value, fault or
        handler call). A word inside one readable page of plain memory is read here from
        physical memory, without a compiled call: a one-handle ReplyAndReceive reads one
        every IPC round trip."""
        vaddr &= 0xFFFFFFFF
        entry = self.table.items.fast[vaddr >> PAGE_SHIFT]
        if entry & FAST_READ and (vaddr & PAGE_MASK) <= PAGE_SIZE - 4:
            return _WORD.unpack_from(self.phys.data.data, (entry & 0xFFFFF000) | (vaddr & PAGE_MASK))[0]
        return self.mem.read32(vaddr)

    def peek(self, vaddr: int, size: int) -> bytes:
        """Read memory ignoring the page's permission (never calls MMIO handlers)."""
        return b"".join(self.phys.data[lo:hi].tobytes() for _, lo, hi in self._privileged_pieces(vaddr, size))

    def _privileged_pieces(self, vaddr: int, size: int) -> list[tuple[int, int, int]]:
        if vaddr < 0 or size < 0 or vaddr + size > 1 << 32:
            raise MapError(f"range {vaddr:#x}+{size:#x} leaves the 32-bit address space")
        pieces = []
        addr, end = vaddr, vaddr + size
        while addr < end:
            vpn = addr >> PAGE_SHIFT
            frame = int(self.table.frame[vpn])
            if frame < 0:
                raise MapError(f"{self.name}: {addr:#010x} is not mapped memory")
            length = min(end, (vpn + 1) << PAGE_SHIFT) - addr
            off = (frame << PAGE_SHIFT) | (addr & PAGE_MASK)
            pieces.append((addr, off, off + length))
            addr += length
        return pieces

    # -- queries --------------------------------------------------------------
    def query(self, vaddr: int) -> MemoryInfo:
        """QueryMemory: the region holding ``vaddr``."""
        return self.table.query(vaddr)

    def regions(self, include_free: bool = False) -> list[MemoryInfo]:
        return self.table.regions(include_free)

    def translate(self, vaddr: int) -> int | None:
        """The 3DS physical address behind ``vaddr``, or None."""
        frame = int(self.table.frame[(vaddr & 0xFFFFFFFF) >> PAGE_SHIFT])
        return None if frame < 0 else self.phys.frame_to_phys(frame) + (vaddr & PAGE_MASK)

    def page(self, vaddr: int) -> PageEntry:
        vpn = (vaddr & 0xFFFFFFFF) >> PAGE_SHIFT
        t = self.table
        frame = int(t.frame[vpn])
        return PageEntry(
            vaddr=vpn << PAGE_SHIFT, frame=frame,
            phys_addr=None if frame < 0 else self.phys.frame_to_phys(frame),
            perm=MemoryPermission(int(t.perm[vpn])), state=MemoryState(int(t.state[vpn])),
            special=SpecialKind(int(t.special[vpn])), dirty=bool(t.wdirty[vpn]),
            faults=self.faults.page(vpn << PAGE_SHIFT),
        )

    # -- internals ------------------------------------------------------------
    def _range(self, vaddr: int, size: int) -> tuple[int, int]:
        if vaddr & PAGE_MASK or size & PAGE_MASK:
            raise MapError(f"address {vaddr:#x} and size {size:#x} must be page aligned")
        if size <= 0:
            raise MapError("size must be positive")
        if vaddr < 0 or vaddr + size > NUM_PAGES << PAGE_SHIFT:
            raise MapError(f"range {vaddr:#x}+{size:#x} leaves the 32-bit address space")
        return vaddr >> PAGE_SHIFT, (vaddr + size) >> PAGE_SHIFT

    def _check_new(self, lo: int, hi: int, state: MemoryState) -> None:
        if state == MemoryState.FREE:
            raise MapError("cannot map pages in the FREE state")
        if not self.table.is_free(lo, hi):
            raise MapError(f"{self.name}: {lo << PAGE_SHIFT:#010x}+{(hi - lo) << PAGE_SHIFT:#x} "
                           "overlaps mapped pages")

    def _changed(self, lo: int, hi: int, remap: bool = True, plain: bool = False) -> None:
        """Pages ``lo..hi-1`` changed: derive, sync the slab, tell the listeners (``plain``: no
        page was or is executable or special)."""
        self.table.derive(lo, hi)
        if self.slab is not None:
            self._sync_slab(lo, hi, remap)
        for listener in self.listeners:
            listener(lo, hi, plain)

    def _sync_slab(self, lo: int, hi: int, remap: bool) -> None:
        """Make the slab's host mappings of pages ``lo..hi-1`` match the table."""
        assert self.slab is not None
        frame: list[int] | np.ndarray
        prot: list[int] | np.ndarray
        if hi - lo == 1:  # one page (an IPC buffer's, twice a request): no list work at all
            items = self.table.items
            a = items.access[lo]
            p = PROT_RW if a & FAST_WRITE else PROT_READ if a & FAST_READ else PROT_NONE
            self._sync_run(lo, 1, items.frame[lo], p, remap)
            return
        if hi - lo <= _SMALL_SYNC:  # a few pages (an IPC buffer): plain lists, not numpy calls
            frame = self.table.frame[lo:hi].tolist()
            prot = [PROT_RW if a & FAST_WRITE else PROT_READ if a & FAST_READ else PROT_NONE
                    for a in self.table.access[lo:hi].tolist()]
            bounds = [0, *(i for i in range(1, hi - lo)
                           if prot[i] != prot[i - 1] or frame[i] != frame[i - 1] + 1), hi - lo]
        else:
            access = self.table.access[lo:hi]
            prot = np.where(access & FAST_WRITE, PROT_RW, np.where(access & FAST_READ, PROT_READ, PROT_NONE))
            frame = self.table.frame[lo:hi].astype(np.int64)
            # Cut wherever protection changes or the frames stop being consecutive.
            cut = (prot[1:] != prot[:-1]) | (frame[1:] != frame[:-1] + 1)
            bounds = [0, *(np.flatnonzero(cut) + 1).tolist(), hi - lo]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            self._sync_run(lo + a, b - a, int(frame[a]), int(prot[a]), remap)

    def _sync_run(self, vpn: int, count: int, first_frame: int, prot: int, remap: bool) -> None:
        """Give ``count`` pages from ``vpn`` host protection ``prot`` (and, remapping, frames
        from ``first_frame``)."""
        assert self.slab is not None
        if prot == PROT_NONE:
            if remap:
                self.slab.release(vpn, count)
            else:
                self.slab.protect(vpn, count, PROT_NONE)
        elif remap:
            self.slab.map_frames(vpn, first_frame, count, prot)
        else:
            self.slab.protect(vpn, count, prot)

    def resync_slab(self, vpns: Iterable[int]) -> None:
        """Map pages ``vpns`` in the slab as the table says again: fastmem_trap's fault
        handler put a scratch page over each."""
        for vpn in vpns:
            self._sync_slab(vpn, vpn + 1, remap=True)

    def close(self) -> None:
        """Unmap everything (frames go back to unmapped, not freed: their owners free them) and
        drop the slab and the page table's arrays; the space reads as empty from then on."""
        if self.table is PageTable.closed():
            return
        mapped = self.table.mapped_pages()
        if len(mapped):
            frames = self.table.frame[mapped].astype(np.int64)
            np.subtract.at(self.phys.map_count, frames[frames >= 0], 1)
            # A compiled path kept by someone still reads these arrays: nothing is accessible.
            self.table.fast[mapped] = 0
            self.table.access[mapped] = 0
        for listener in list(self.listeners):
            listener(0, NUM_PAGES, False)
        self.table = PageTable.closed()
        self.faults = self.faults.frozen()
        self.mmio.clear()
        for tracker in {id(t): t for t in self.trackers.values()}.values():
            tracker.detach(self)
        self.trackers.clear()
        self.watchpoints.clear()
        self.fast = None
        if self.fast_trap is not None:
            self.fast_trap.release()
            self.fast_trap = None
        self.semifast = SemiFastMem(self)
        self.mem = self.path("semifastmem" if self.backend in ("fastmem", "fastmem_trap") else self.backend)
        if self.slab is not None:
            self.slab.close()
            self.slab = None

    def load_pages(self, vpns: np.ndarray, frame: np.ndarray, perm: np.ndarray, state: np.ndarray,
                   special: np.ndarray, wdirty: np.ndarray) -> None:
        """Set the entries of pages ``vpns`` of an empty space at once (a save state's), then
        derive, map the slab and tell the listeners, run by run. Frames' map counts are the
        caller's (a state restores physical memory's counts whole); write trackers too."""
        if self.table.state.any():
            raise MapError(f"{self.name}: pages load into an empty address space only")
        t = self.table
        for name, values in (("frame", frame), ("perm", perm), ("state", state), ("special", special),
                             ("wdirty", wdirty)):
            getattr(t, name)[vpns] = values
        if len(vpns):
            for lo, hi in _runs(np.sort(vpns)):
                self._changed(lo, hi)

    def load_tracking(self, vpns: np.ndarray, wdirty: np.ndarray, tracker: WriteTracker) -> None:
        """Make mapped memory pages ``vpns`` write-tracked by ``tracker`` with their saved dirty
        bits (a save state's), after :meth:`load_pages`. A state applies it before the
        process's CPU exists: a fastmem CPU then maps each tracked page as a Unicorn region of
        its own (hlemu.cpu.pagemap), which a tracked page must be."""
        t = self.table
        if len(vpns) and ((t.state[vpns] == MemoryState.FREE).any() or (t.frame[vpns] < 0).any()):
            raise MapError(f"{self.name}: write tracking needs mapped memory pages")
        tracker.attach(self)
        t.special[vpns] = SpecialKind.TRACKED
        t.wdirty[vpns] = wdirty
        for vpn in vpns.tolist():
            self.trackers[vpn] = tracker
        if len(vpns):
            for lo, hi in _runs(np.sort(vpns)):
                self._changed(lo, hi)

    def __repr__(self) -> str:
        return f"<AddressSpace pid={self.pid} {self.name!r} backend={self.backend}>"


def _list_runs(sorted_vpns: list[int]) -> list[tuple[int, int]]:
    """:func:`_runs` of a sorted list."""
    runs: list[tuple[int, int]] = []
    for vpn in sorted_vpns:
        if runs and runs[-1][1] == vpn:
            runs[-1] = (runs[-1][0], vpn + 1)
        else:
            runs.append((vpn, vpn + 1))
    return runs


def _runs(sorted_vpns: np.ndarray) -> list[tuple[int, int]]:
    breaks = np.flatnonzero(np.diff(sorted_vpns) != 1) + 1
    return [(int(r[0]), int(r[-1]) + 1) for r in np.split(sorted_vpns, breaks)]
