"""A process's guest page table: 4 KiB pages over the 32-bit space, in numpy.

One entry per page, one array per field, so the compiled paths, the CPU's
TLB-fill hook and the debugger all read the same data:

===========  ======  ==========================================================
``frame``    int32   physical frame, or -1 where no memory backs the page
``perm``     uint8   3DS MemoryPermission bits (R=1, W=2, X=4)
``state``    uint8   3DS MemoryState; FREE (0) means unmapped
``special``  uint8   :class:`SpecialKind`
``wdirty``   uint8   1 when a write-tracked page was written since its rearm
``fast``     uint32  ``frame << 12 | FAST_READ | FAST_WRITE | FAST_EXEC``: semifastmem's entry
``access``   uint8   FAST_READ | FAST_WRITE: what the slab's host protection allows
===========  ======  ==========================================================

``fast`` and ``access`` are derived from the other fields by :meth:`derive`
and never written elsewhere; a page gets a fast bit only if that access can
run with no Python (mapped, permitted, not MMIO, and for writes not a clean
write-tracked page).

Regions, as QueryMemory reports them, are maximal runs of pages with equal
state and permission (3dbrew "SVC" QueryMemory / MemoryInfo).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlemu.memory.constants import (
    FAST_EXEC,
    FAST_READ,
    FAST_WRITE,
    NUM_PAGES,
    PAGE_SHIFT,
    MemoryPermission,
    MemoryState,
)
from hlemu.memory.constants import PERM_R as _R
from hlemu.memory.constants import PERM_W as _W
from hlemu.memory.constants import PERM_X as _X
from hlemu.memory.constants import SPECIAL_MMIO as _MMIO
from hlemu.memory.constants import SPECIAL_TRACKED as _TRACKED
from hlemu.memory.constants import SPECIAL_WATCH as _WATCH
from hlemu.memory.constants import STATE_FREE as _FREE
from hlemu.memory.lazy import lazy_filled, lazy_zeros
from hlemu.text import record_repr

_SCALAR_PAGES = 4  # derive() ranges up to this many pages go page by page in plain ints


@dataclass(frozen=True)
class MemoryInfo:
    """The 3DS ``MemoryInfo`` of a region (plus ``PageInfo.flags``, always 0)."""

    base: int
    size: int
    perm: MemoryPermission
    state: MemoryState
    page_flags: int = 0

    @property
    def end(self) -> int:
        return self.base + self.size

    def __str__(self) -> str:
        perm = "".join(c if self.perm & bit else "-" for c, bit in (("r", 1), ("w", 2), ("x", 4)))
        return f"{self.base:08x}-{self.end - 1:08x} {perm} {self.state.name.lower()}"

    def __repr__(self) -> str:
        return record_repr(self, addresses=("base",), sizes=("size",))


class _Items:
    """Memoryviews of a page table's arrays: their items are plain ints, read and written at
    a third of a numpy scalar's cost, for the paths that touch a page or few (an IPC buffer
    mapped and unmapped for every request)."""

    __slots__ = ("frame", "perm", "state", "special", "wdirty", "fast", "access")
    frame: memoryview
    perm: memoryview
    state: memoryview
    special: memoryview
    wdirty: memoryview
    fast: memoryview
    access: memoryview

    def __init__(self, table: PageTable, readonly: bool = False) -> None:
        for name in self.__slots__:
            view = memoryview(getattr(table, name))
            setattr(self, name, view.toreadonly() if readonly else view)


class PageTable:
    """Numpy arrays of page entries plus the region queries over them."""

    _closed: PageTable | None = None

    @classmethod
    def closed(cls) -> PageTable:
        """One shared, read-only, empty table for spaces that have been closed: a reaped
        process keeps no 13 MiB of arrays, and nothing can be mapped in it any more."""
        if cls._closed is None:
            table = cls()
            for array in vars(table).values():
                if isinstance(array, np.ndarray):
                    array.flags.writeable = False
            table.items = _Items(table, readonly=True)
            cls._closed = table
        return cls._closed

    def __init__(self) -> None:
        self.frame = lazy_filled(NUM_PAGES, np.int32, 0xFF)  # -1 everywhere, committed when written
        self.perm = lazy_zeros(NUM_PAGES, np.uint8)
        self.state = lazy_zeros(NUM_PAGES, np.uint8)
        self.special = lazy_zeros(NUM_PAGES, np.uint8)
        self.wdirty = lazy_zeros(NUM_PAGES, np.uint8)
        self.fast = lazy_zeros(NUM_PAGES, np.uint32)
        self.access = lazy_zeros(NUM_PAGES, np.uint8)
        self.items = _Items(self)

    def derive(self, lo: int, hi: int) -> None:
        """Recompute ``fast`` and ``access`` for pages ``lo .. hi-1``."""
        if hi - lo <= _SCALAR_PAGES:
            self._derive_pages(lo, hi)
            return
        frame = self.frame[lo:hi]
        perm = self.perm[lo:hi]
        special = self.special[lo:hi]
        # Plain ints, not the enums: enum attribute lookups dominated this on small ranges.
        memory = (self.state[lo:hi] != _FREE) & (frame >= 0) & (special != _MMIO)
        readable = memory & ((perm & _R) != 0) & (special != _WATCH)
        writable = readable & ((perm & _W) != 0) & ((special != _TRACKED) | (self.wdirty[lo:hi] != 0))
        executable = memory & ((perm & _X) != 0) & (special != _WATCH)
        bits = readable * FAST_READ + writable * FAST_WRITE
        self.access[lo:hi] = bits
        self.fast[lo:hi] = ((frame.astype(np.uint32) << PAGE_SHIFT) * memory) | bits | executable * FAST_EXEC

    def _derive_pages(self, lo: int, hi: int) -> None:
        """:meth:`derive` page by page, in plain ints: for a few pages (an IPC buffer mapped
        for a request and unmapped by its reply) a dozen numpy calls on one-element slices
        cost ten times what this does. The same rules, term for term."""
        v = self.items
        frame, perm, state, special, wdirty = v.frame, v.perm, v.state, v.special, v.wdirty
        access, fast = v.access, v.fast
        for vpn in range(lo, hi):
            f, p, sp = frame[vpn], perm[vpn], special[vpn]
            memory = state[vpn] != _FREE and f >= 0 and sp != _MMIO
            readable = memory and (p & _R) != 0 and sp != _WATCH
            writable = readable and (p & _W) != 0 and (sp != _TRACKED or wdirty[vpn] != 0)
            executable = memory and (p & _X) != 0 and sp != _WATCH
            bits = (FAST_READ if readable else 0) + (FAST_WRITE if writable else 0)
            access[vpn] = bits
            fast[vpn] = (((f << PAGE_SHIFT) & 0xFFFFFFFF) if memory else 0) | bits | (FAST_EXEC if executable else 0)

    def is_free(self, lo: int, hi: int) -> bool:
        if hi - lo <= _SCALAR_PAGES:  # (as in derive: plain ints for a few pages)
            state = self.items.state
            return not any(state[v] for v in range(lo, hi))
        return not self.state[lo:hi].any()

    def is_mapped(self, lo: int, hi: int) -> bool:
        if hi - lo <= _SCALAR_PAGES:
            state = self.items.state
            return all(state[v] != _FREE for v in range(lo, hi))
        return bool((self.state[lo:hi] != MemoryState.FREE).all())

    def mapped_pages(self) -> np.ndarray:
        return np.flatnonzero(self.state)

    # -- regions ----------------------------------------------------------
    def _keys(self) -> np.ndarray:
        return (self.state.astype(np.uint16) << 8) | self.perm

    def query(self, vaddr: int) -> MemoryInfo:
        """The region holding ``vaddr``: equal state and permission around it."""
        vpn = (vaddr & 0xFFFFFFFF) >> PAGE_SHIFT
        keys = self._keys()
        key = keys[vpn]
        before = np.flatnonzero(keys[:vpn] != key)
        after = np.flatnonzero(keys[vpn:] != key)
        lo = int(before[-1]) + 1 if len(before) else 0
        hi = vpn + int(after[0]) if len(after) else NUM_PAGES
        return self._info(lo, hi)

    def regions(self, include_free: bool = False) -> list[MemoryInfo]:
        """Every region of the address space, in address order."""
        keys = self._keys()
        cuts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
        bounds = [0, *cuts.tolist(), NUM_PAGES]
        infos = [self._info(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
        return infos if include_free else [i for i in infos if i.state != MemoryState.FREE]

    def _info(self, lo: int, hi: int) -> MemoryInfo:
        return MemoryInfo(lo << PAGE_SHIFT, (hi - lo) << PAGE_SHIFT,
                          MemoryPermission(int(self.perm[lo])), MemoryState(int(self.state[lo])))
