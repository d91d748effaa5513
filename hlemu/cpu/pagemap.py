"""fastmem: keeping Unicorn's own memory map in step with a process's page table.

``mapped`` holds, per guest page, what Unicorn has there: 0 nothing, Unicorn
protection + 1 for memory mapped from the slab (1: mapped with no access), or
``KIND_MMIO``.

A write-tracked page (a framebuffer) that a *host* write dirtied (the GX engine's
DisplayTransfer, every frame) is left read-only in Unicorn: only the guest CPU's writes need it
writable, and opening it costs a mem_protect then, and another when the display re-arms it at
the next VBlank (about 30 us each, 140 a frame of a citro2d game). Guest code's first store to
it faults into the CPU's memory hook, which does the store through slowmem and opens the page
(``open_tracked``). So Unicorn may hold a dirty tracked page with less access than the table
gives: never more.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from unicorn import UC_PROT_EXEC, UC_PROT_READ, UC_PROT_WRITE, Uc

from hlemu.memory.constants import FAST_READ, FAST_WRITE, PAGE_SHIFT
from hlemu.memory.constants import PERM_X as _X
from hlemu.memory.constants import SPECIAL_MMIO as _MMIO
from hlemu.memory.constants import SPECIAL_TRACKED as _TRACKED
from hlemu.memory.constants import SPECIAL_WATCH as _WATCH
from hlemu.memory.space import AddressSpace

KIND_MMIO = 0xFF
# New memory joins the Unicorn region of equal protection next to it, within windows of this
# many pages (2 MiB): Unicorn rebuilds its whole memory map on every map, so one region per
# page (a heap committed page by page) made each map cost more than the last. Bounding the
# merge keeps the region a remap unmaps small.
MERGE_PAGES = 512
SPARSE_CHUNK = 4096  # pages (16 MiB): the unit a whole-space sync skips when nothing is mapped in it


def sync_unicorn_map(uc: Uc, space: AddressSpace, mapped: np.ndarray, lo: int, hi: int,
                 region_read: Callable[..., int], region_write: Callable[..., None],
                 open_tracked: bool = True) -> None:
    """Map exactly the accessible pages of ``lo..hi-1`` into Unicorn from the slab;
    MMIO pages become Unicorn MMIO regions whose callbacks call the page's handler.
    ``open_tracked`` False: a write-tracked page Unicorn has that would only gain write stays
    as it is (see the module's docstring)."""
    assert space.slab is not None
    table = space.table
    if hi - lo > SPARSE_CHUNK and lo % SPARSE_CHUNK == 0 and hi % SPARSE_CHUNK == 0:
        # A whole-space sync (a new CPU): only pages mapped in the table or in Unicorn can
        # change, so only the 16 MiB chunks holding some are looked at (the whole 4 GiB cost
        # tens of milliseconds per CPU, at every spawn and every state load).
        busy = (table.state[lo:hi].reshape(-1, SPARSE_CHUNK).any(axis=1)
                | mapped[lo:hi].reshape(-1, SPARSE_CHUNK).any(axis=1))
        for a, b in _runs(np.flatnonzero(busy)) if busy.any() else []:
            _sync_range(uc, space, mapped, lo + a * SPARSE_CHUNK, lo + b * SPARSE_CHUNK, region_read, region_write,
                        open_tracked)
        return
    _sync_range(uc, space, mapped, lo, hi, region_read, region_write, open_tracked)


def _wanted(space: AddressSpace, lo: int, hi: int) -> np.ndarray:
    """What Unicorn should have at each page of ``lo..hi-1`` (``mapped``'s values), before
    the keep-as-no-access rule: protection + 1 for memory, KIND_MMIO, or 0."""
    table = space.table
    access = table.access[lo:hi]
    read = (access & FAST_READ) != 0
    want = np.where(read, UC_PROT_READ + 1, 1).astype(np.uint8)
    want[(access & FAST_WRITE) != 0] += UC_PROT_WRITE
    want[read & ((table.perm[lo:hi] & _X) != 0)] += UC_PROT_EXEC
    want[access == 0] = 0
    # MMIO and watched pages reach slowmem through Unicorn MMIO regions.
    special = table.special[lo:hi]
    want[((special == _MMIO) | (special == _WATCH)) & (table.state[lo:hi] != 0)] = KIND_MMIO
    return want


def map_new(uc: Uc, space: AddressSpace, mapped: np.ndarray,
            region_read: Callable[..., int], region_write: Callable[..., None]) -> None:
    """A new CPU's whole map (``mapped`` all zero, Unicorn empty): each run of pages of equal
    protection one region, each write-tracked page one of its own, each MMIO run one MMIO
    region. What :func:`sync_unicorn_map` over the whole space makes, without its merge
    searches and unmaps (there is nothing to merge with or unmap yet): a state load builds
    every live process's CPU, and the framebuffers' tracked pages made that hundreds of
    merge searches."""
    assert space.slab is not None
    table = space.table
    regions: list[tuple[int, int, int]] = []
    busy = table.state.reshape(-1, SPARSE_CHUNK).any(axis=1)
    for a, b in _runs(np.flatnonzero(busy)) if busy.any() else []:
        lo, hi = a * SPARSE_CHUNK, b * SPARSE_CHUNK
        want = _wanted(space, lo, hi)
        tracked = table.special[lo:hi] == _TRACKED
        # a run starts where the value changes, and at and after every tracked page
        starts = np.flatnonzero(np.concatenate(([True], (want[1:] != want[:-1]) | tracked[1:] | tracked[:-1])))
        ends = np.append(starts[1:], hi - lo)
        keep = want[starts] != 0
        regions += zip((starts[keep] + lo).tolist(), (ends[keep] + lo).tolist(), want[starts[keep]].tolist(),
                       strict=True)
        mapped[lo:hi] = want
    for c, d, value in regions:
        base, size = c << PAGE_SHIFT, (d - c) << PAGE_SHIFT
        if value == KIND_MMIO:
            uc.mmio_map(base, size, region_read, base, region_write, base)
        else:
            uc.mem_map_ptr(base, size, value - 1, space.slab.base + base)


def _want_page(access: int, perm: int, special: int, state: int) -> int:
    """What Unicorn should have at one page (``_wanted``'s value, before the keep-as-no-access rule)."""
    if (special == _MMIO or special == _WATCH) and state != 0:
        return KIND_MMIO
    if not access:
        return 0
    read = access & FAST_READ
    return ((UC_PROT_READ if read else 0) | (UC_PROT_WRITE if access & FAST_WRITE else 0)
            | (UC_PROT_EXEC if read and perm & _X else 0)) + 1


def _want_small(space: AddressSpace, lo: int, hi: int) -> list[int]:
    """``_sync_range``'s wanted value per page (before the keep-as-no-access rule), for a
    few pages, in plain Python: each numpy call costs microseconds, and an IPC mapped
    buffer (one to a few pages) is synced twice per request."""
    table = space.table
    return [_want_page(*page) for page in zip(table.access[lo:hi].tolist(), table.perm[lo:hi].tolist(),
                                              table.special[lo:hi].tolist(), table.state[lo:hi].tolist(),
                                              strict=True)]


def _settled(want: int, have: int, tracked: bool, open_tracked: bool) -> int:
    """What a small sync gives a page Unicorn has as ``have`` and the table wants as ``want``:
    a page of memory keeps its region with no access, and (not ``open_tracked``) a tracked
    page the host dirtied stays read-only (the module's docstring)."""
    if want == 0 and have != 0 and have != KIND_MMIO:
        return 1
    if not open_tracked and tracked and have and have != KIND_MMIO and not (have - 1) & UC_PROT_WRITE \
            and want == have + UC_PROT_WRITE:
        return have
    return want


SMALL_RANGE = 16  # pages: below this, a sync that only re-protects memory is done in plain Python


def _reprotect_small(uc: Uc, space: AddressSpace, mapped: np.ndarray, lo: int, hi: int,
                     open_tracked: bool = True) -> bool:
    """The common small change (memory pages that stay memory and change protection, as IPC
    buffers do): done here, with the same mem_protect calls as the general path. False when
    the change needs the general path (a page gains or loses its region, or MMIO)."""
    table = space.table
    if hi - lo == 1:  # one page (a framebuffer page's first write of a frame): no lists at all
        special = table.special.item(lo)
        h = mapped.item(lo)
        w = _settled(_want_page(table.access.item(lo), table.perm.item(lo), special, table.state.item(lo)),
                     h, special == _TRACKED, open_tracked)
        if w == h:
            return True
        if h == 0 or w == 0 or h == KIND_MMIO or w == KIND_MMIO:
            return False
        uc.mem_protect(lo << PAGE_SHIFT, 1 << PAGE_SHIFT, w - 1)
        mapped[lo] = w
        return True
    want = _want_small(space, lo, hi)
    have = mapped[lo:hi].tolist()
    changed = []
    tracked = table.special[lo:hi].tolist()
    for i, (w, h) in enumerate(zip(want, have, strict=True)):
        want[i] = w = _settled(w, h, tracked[i] == _TRACKED, open_tracked)
        if w != h:
            if h == 0 or w == 0 or h == KIND_MMIO or w == KIND_MMIO:
                return False
            changed.append(i)
    if not changed:
        return True
    start = 0
    while start < len(changed):  # runs of consecutive changed pages of equal protection
        end = start + 1
        while (end < len(changed) and changed[end] == changed[end - 1] + 1
               and want[changed[end]] == want[changed[start]]):
            end += 1
        c, d = changed[start], changed[end - 1] + 1
        if any(t == _TRACKED for t in tracked[c:d]):  # a region of its own: see _sync_range
            for page in range(c, d):
                uc.mem_protect((lo + page) << PAGE_SHIFT, 1 << PAGE_SHIFT, want[c] - 1)
        else:
            uc.mem_protect((lo + c) << PAGE_SHIFT, (d - c) << PAGE_SHIFT, want[c] - 1)
        mapped[lo + c : lo + d] = want[c]
        start = end
    return True


def _sync_range(uc: Uc, space: AddressSpace, mapped: np.ndarray, lo: int, hi: int,
                region_read: Callable[..., int], region_write: Callable[..., None], open_tracked: bool = True) -> None:
    assert space.slab is not None
    if hi - lo <= SMALL_RANGE and _reprotect_small(uc, space, mapped, lo, hi, open_tracked):
        return
    table = space.table
    want = _wanted(space, lo, hi)
    have = mapped[lo:hi]
    # A page Unicorn has as memory stays a region when it loses all access (unmapped,
    # protected to nothing): "no access" (1) costs a mem_protect, where mem_unmap and a
    # later mem_map would make Unicorn throw away translated code (IPC buffers come and go
    # on every request). The slab behind it has no access either.
    want[(want == 0) & (have != 0) & (have != KIND_MMIO)] = 1
    tracked = table.special[lo:hi] == _TRACKED
    if not open_tracked:  # dirtied by the host: left read-only (the module's docstring)
        closed = (have != 0) & (have != KIND_MMIO) & (((have - 1) & UC_PROT_WRITE) == 0)
        stay = tracked & closed & (want == have + UC_PROT_WRITE)
        want[stay] = have[stay]
    changed = np.flatnonzero(want != have)
    if len(changed) == 0:
        return
    # A page that stays memory only changes protection (frames change only through an
    # unmap): mem_protect, which is also safe from inside a memory hook.
    memory_both = (have != 0) & (want != 0) & (have != KIND_MMIO) & (want != KIND_MMIO)
    reprotect = changed[memory_both[changed]]
    for a, b in _runs(reprotect) if len(reprotect) else []:
        for c, d in _runs_of_equal(want, a, b):
            if tracked[c:d].any():
                # A write-tracked page becomes writable again from inside Unicorn's memory hook,
                # on its first write (_on_invalid_memory), with a mem_protect. Had it a region
                # shared with other pages, that mem_protect would split the region under the
                # store Unicorn is doing, which then writes through the freed region (a host
                # crash in helper_le_stw_mmu). So each tracked page gets a region of its own
                # here, outside the hook, and the hook's mem_protect never splits one.
                for page in range(c, d):
                    uc.mem_protect((lo + page) << PAGE_SHIFT, 1 << PAGE_SHIFT, int(want[c]) - 1)
            else:
                uc.mem_protect((lo + c) << PAGE_SHIFT, (d - c) << PAGE_SHIFT, int(want[c]) - 1)
            mapped[lo + c : lo + d] = want[c]  # merges below must see what Unicorn has now
    remap = changed[~memory_both[changed]]
    for a, b in _runs(remap) if len(remap) else []:
        for c, d in _runs_of_equal(have, a, b):
            if have[c]:
                uc.mem_unmap((lo + c) << PAGE_SHIFT, (d - c) << PAGE_SHIFT)
        mapped[lo + a : lo + b] = 0
        for c, d in _runs_of_equal(want, a, b):
            if want[c] == KIND_MMIO:
                base, size = (lo + c) << PAGE_SHIFT, (d - c) << PAGE_SHIFT
                uc.mmio_map(base, size, region_read, base, region_write, base)
            elif want[c]:
                for e, f in _split_tracked(tracked, c, d):
                    _map_merged(uc, space, mapped, lo + e, lo + f, int(want[c]))
    mapped[lo:hi] = want


def _map_merged(uc: Uc, space: AddressSpace, mapped: np.ndarray, first: int, end: int, value: int) -> None:
    """Map pages ``first..end-1`` (``value`` = protection + 1) as one Unicorn region together
    with the neighbouring pages of the same protection in their MERGE_PAGES window."""
    assert space.slab is not None
    window_lo = first // MERGE_PAGES * MERGE_PAGES
    window_hi = (end + MERGE_PAGES - 1) // MERGE_PAGES * MERGE_PAGES
    special = space.table.special
    if special[first] == _TRACKED:  # a tracked page is a region of its own (see above)
        uc.mem_map_ptr(first << PAGE_SHIFT, (end - first) << PAGE_SHIFT, value - 1,
                       space.slab.base + (first << PAGE_SHIFT))
        return
    # Never merged with a write-tracked page: see the reprotect in sync_unicorn_map. The
    # neighbours are found with numpy over the window: a page at a time in Python made a
    # program growing its heap a page per call spend seconds here (a fuzz mutant: 6,561 maps).
    below = np.flatnonzero((mapped[window_lo:first] != value) | (special[window_lo:first] == _TRACKED))
    lo = window_lo + (int(below[-1]) + 1 if len(below) else 0)
    top = min(window_hi, len(mapped))
    above = np.flatnonzero((mapped[end:top] != value) | (special[end:top] == _TRACKED))
    hi = end + (int(above[0]) if len(above) else max(top - end, 0))
    if lo < first:
        uc.mem_unmap(lo << PAGE_SHIFT, (first - lo) << PAGE_SHIFT)
    if hi > end:
        uc.mem_unmap(end << PAGE_SHIFT, (hi - end) << PAGE_SHIFT)
    base = lo << PAGE_SHIFT
    uc.mem_map_ptr(base, (hi - lo) << PAGE_SHIFT, value - 1, space.slab.base + base)


def _split_tracked(tracked: np.ndarray, a: int, b: int) -> list[tuple[int, int]]:
    """``a..b`` cut so that each write-tracked page is a run of its own (pages mapped already
    tracked, as a loaded save state maps them: one mem_map each is far cheaper than
    splitting a region later with mem_protect, measured ~0.1 ms against ~4 ms)."""
    if not tracked[a:b].any():
        return [(a, b)]
    runs, start = [], a
    for page in (np.flatnonzero(tracked[a:b]) + a).tolist():
        if start < page:
            runs.append((start, page))
        runs.append((page, page + 1))
        start = page + 1
    if start < b:
        runs.append((start, b))
    return runs


def _runs(indices: np.ndarray) -> list[tuple[int, int]]:
    breaks = np.flatnonzero(np.diff(indices) != 1) + 1
    return [(int(r[0]), int(r[-1]) + 1) for r in np.split(indices, breaks)]


def _runs_of_equal(values: np.ndarray, a: int, b: int) -> list[tuple[int, int]]:
    """Maximal runs of equal values within ``values[a:b]``."""
    seg = values[a:b]
    cuts = np.flatnonzero(seg[1:] != seg[:-1]) + 1
    bounds = [0, *cuts.tolist(), b - a]
    return [(a + x, a + y) for x, y in zip(bounds[:-1], bounds[1:], strict=True)]
