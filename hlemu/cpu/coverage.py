"""Where Unicorn's invalid-memory hook is installed, so that plain memory takes fast stores.

Unicorn marks every new TLB entry for a writable page "not dirty": the first store to it takes
the slow path (``notdirty_write``), which clears the mark only when no memory hook covers the
page (``uc_mem_hook_installed``: any UC_HOOK_MEM_* of the unmapped, protection, read or write
kinds whose range holds the address), nor is the TLB entry executable. A hook over the
whole address space therefore sent *every* guest store down the slow path for good: on the
``compute`` benchmark that was more than half of semifastmem's time and of fastmem's. (So
does Unicorn's own TLB with the guest MMU off, which makes every entry executable: all three
backends run Unicorn's virtual TLB, whose fills give data pages no execute permission.)

* semifastmem and slowmem: the compiled fill decides every permission, Unicorn's physical
  memory is mapped with all of them, and no access to it is ever invalid. The hook is kept
  only above it (:func:`physical_hook_range`), where nothing is mapped.
* fastmem maps guest pages into Unicorn with their own protections (its fill,
  ``hooks.tlb_fill_identity``, gives each address itself), and its hook must see
  every fault (to report it) and every first write to a write-tracked page (to open it). So
  :class:`Coverage` installs it over everything but the *plain* pages: readable and writable,
  not executable, not special, and outside the ranges the kernel names as short-lived (the
  IPC mapping area, whose buffers come and go with every request). On a plain page no access
  is invalid except executing it (UC_ERR_FETCH_PROT), which the CPU reports from the PC.
  The hook's ranges follow the page table as pages join or leave the plain set: leaving is
  applied at once (inside a run too), before any access could miss the hook.
"""

from __future__ import annotations

import bisect
import ctypes
from collections.abc import Sequence

import numpy as np
from unicorn import UC_HOOK_MEM_INVALID, UC_PROT_READ, UC_PROT_WRITE, UcError

from hlemu.cpu import libunicorn as lib
from hlemu.memory.constants import NUM_PAGES, PAGE_SHIFT
from hlemu.memory.constants import SPECIAL_NONE as _NONE
from hlemu.memory.lazy import lazy_zeros

_PLAIN = UC_PROT_READ | UC_PROT_WRITE  # + 1 in the CPU's ``mapped`` array (0 there: nothing)
_TOP = (1 << 64) - 1
_CHUNK = 4096  # pages (16 MiB): the unit a whole-space change looks at


def physical_hook_range(physical_size: int) -> tuple[int, int]:
    """The virtual-TLB engines' hook range: everything above physical memory."""
    return physical_size, _TOP


class Coverage:
    """fastmem's invalid-memory hook, installed over every page but the plain ones.

    ``handle`` is the engine's, ``callback`` the hook's C callback (a ``lib.MEM_EVENT_HOOK``,
    kept alive by its owner for the engine's life: the ranges move inside runs, from inside
    this very hook too, and Unicorn only marks a deleted hook, so the code it runs must stay).
    ``mapped`` is the CPU's per-page record of what Unicorn maps (protection + 1), ``special``
    the page table's special kinds; both keep their identity for the CPU's life. ``keep``:
    page ranges ``[lo, hi)`` always covered.
    """

    def __init__(self, handle: ctypes.c_void_p, callback: object, mapped: np.ndarray, special: np.ndarray,
                 keep: Sequence[tuple[int, int]] = ()) -> None:
        self._handle, self._callback = handle, callback
        self._mapped, self._special = mapped, special
        self._keep = [(int(lo), int(hi)) for lo, hi in keep]
        self._plain = lazy_zeros(NUM_PAGES, np.uint8)
        self.runs: list[tuple[int, int]] = []  # the plain page runs [lo, hi), sorted, apart
        self.hooks: list[ctypes.c_size_t] = []  # the hook's handles now (the CPU deletes them at close)
        self.rebuilds = 0  # times the hook's ranges were laid anew (for tests)
        self._install()

    def changed(self, lo: int, hi: int) -> None:
        """Pages ``lo..hi-1`` may have changed in Unicorn's map or in the page table."""
        if hi - lo > _CHUNK and lo % _CHUNK == 0 and hi % _CHUNK == 0:
            # a whole space (a new CPU): only chunks Unicorn maps something in, or that held
            # plain pages, can hold or have held a plain page
            busy = (self._mapped[lo:hi].reshape(-1, _CHUNK).any(axis=1)
                    | self._plain[lo:hi].reshape(-1, _CHUNK).any(axis=1))
            moved = [self._update(lo + c * _CHUNK, lo + (c + 1) * _CHUNK) for c in np.flatnonzero(busy).tolist()]
            if any(moved):
                self._install()
        elif self._update(lo, hi):
            self._install()

    def _update(self, lo: int, hi: int) -> bool:
        """Bring the plain pages and their runs in ``lo..hi-1`` up to date; whether any moved."""
        if hi - lo == 1:
            new = self._mapped.item(lo) == _PLAIN + 1 and self._special.item(lo) == _NONE and not self._kept(lo)
            if bool(self._plain.item(lo)) == new:
                return False
            self._plain[lo] = new
        else:
            plain = (self._mapped[lo:hi] == _PLAIN + 1) & (self._special[lo:hi] == _NONE)
            for a, b in self._keep:
                if a < hi and lo < b:
                    plain[max(a, lo) - lo : min(b, hi) - lo] = False
            if np.array_equal(plain, self._plain[lo:hi]):
                return False
            self._plain[lo:hi] = plain
        self._rerun(lo, hi)
        return True

    def covers(self, vpn: int) -> bool:
        """Whether the hook sees accesses to page ``vpn``."""
        return not self._plain.item(vpn)

    def _kept(self, vpn: int) -> bool:
        return any(a <= vpn < b for a, b in self._keep)

    def _rerun(self, lo: int, hi: int) -> None:
        """Redo the runs that touch ``[lo - 1, hi + 1)`` (a run next to the change may now join it)."""
        first = bisect.bisect_left(self.runs, (lo,)) - 1 if self.runs else 0
        first = max(first, 0)
        while first < len(self.runs) and self.runs[first][1] < lo:
            first += 1
        last = first
        while last < len(self.runs) and self.runs[last][0] <= hi:
            last += 1
        a = min([lo] + [r[0] for r in self.runs[first:last]])
        b = max([hi] + [r[1] for r in self.runs[first:last]])
        window = np.flatnonzero(np.diff(np.concatenate(([0], self._plain[a:b].astype(np.int8), [0]))))
        fresh = [(a + int(s), a + int(e)) for s, e in zip(window[0::2], window[1::2], strict=True)]
        self.runs[first:last] = fresh

    def _install(self) -> None:
        """Lay the hook anew over the complement of the runs."""
        for old in self.hooks:
            if lib.hook_del(self._handle, old):
                raise RuntimeError("the memory hook could not be moved")
        ranges, start = [], 0
        for lo, hi in self.runs:
            if lo << PAGE_SHIFT > start:
                ranges.append((start, (lo << PAGE_SHIFT) - 1))
            start = hi << PAGE_SHIFT
        ranges.append((start, _TOP))
        self.hooks = []
        for begin, end in ranges:
            handle = ctypes.c_size_t()
            status = lib.hook_add(self._handle, ctypes.byref(handle), UC_HOOK_MEM_INVALID, self._callback, None,
                                  ctypes.c_uint64(begin), ctypes.c_uint64(end))
            if status:
                raise UcError(status)
            self.hooks.append(handle)
        self.rebuilds += 1


__all__ = ["Coverage", "physical_hook_range"]
