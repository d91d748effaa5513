"""Special pages: accesses somebody must see.

Two kinds reach Python:

* MMIO pages have no memory behind them. Every access calls the handler;
  the value it returns is the value read.
* Write-tracked pages are memory (GPU-synced framebuffers). Reads always
  run fast. The first write to a clean page faults into the slow path, which
  marks the page dirty and tells the subscribers; the page then accepts
  writes at full speed until :meth:`WriteTracker.rearm` (the display does
  that after presenting a frame) makes it clean again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from hlemu.memory.constants import PAGE_SHIFT, PAGE_SIZE

if TYPE_CHECKING:
    from hlemu.memory.space import AddressSpace


class MmioHandler(Protocol):
    """What an MMIO page calls. Sizes are 1, 2, 4 or 8; values little-endian."""

    def read(self, space: AddressSpace, vaddr: int, size: int) -> int: ...

    def write(self, space: AddressSpace, vaddr: int, size: int, value: int) -> None: ...


DirtyCallback = Callable[["WriteTracker", int], None]


class WriteTracker:
    """Dirty-page bookkeeping for a set of write-tracked pages.

    One tracker can span several ranges and several address spaces (a
    framebuffer mapped in two processes). ``dirty`` holds guest page numbers
    per address space, keyed by the space's pid.
    """

    def __init__(self, name: str = "tracked") -> None:
        self.name = name
        self.dirty: dict[int, set[int]] = {}
        self.subscribers: list[DirtyCallback] = []
        self._spaces: dict[int, AddressSpace] = {}
        self.faults = 0  # write-tracking faults taken, over all pages

    def subscribe(self, callback: DirtyCallback) -> None:
        """``callback(tracker, vaddr_of_page)`` runs when a clean page turns dirty."""
        self.subscribers.append(callback)

    def attach(self, space: AddressSpace) -> None:
        self._spaces[space.pid] = space
        self.dirty.setdefault(space.pid, set())

    def detach(self, space: AddressSpace) -> None:
        """``space`` is closed: its pages are no longer tracked (a rearm must not touch it)."""
        if self._spaces.get(space.pid) is space:
            del self._spaces[space.pid]
            self.dirty.pop(space.pid, None)

    def note_write(self, space: AddressSpace, vpn: int) -> None:
        """Called by slowmem on the first write to a clean page."""
        self.faults += 1
        self.dirty.setdefault(space.pid, set()).add(vpn)
        for callback in self.subscribers:
            callback(self, vpn << PAGE_SHIFT)

    def dirty_ranges(self, pid: int) -> list[tuple[int, int]]:
        """Dirty pages of one space merged into ``(vaddr, size)`` runs."""
        runs: list[tuple[int, int]] = []
        for vpn in sorted(self.dirty.get(pid, ())):
            vaddr = vpn << PAGE_SHIFT
            if runs and runs[-1][0] + runs[-1][1] == vaddr:
                runs[-1] = (runs[-1][0], runs[-1][1] + PAGE_SIZE)
            else:
                runs.append((vaddr, PAGE_SIZE))
        return runs

    def rearm(self) -> int:
        """Make every dirty page clean again; returns how many were dirty."""
        count = 0
        for pid, pages in self.dirty.items():
            space = self._spaces.get(pid)
            if space is not None and pages:
                space.rearm_tracked(sorted(pages))
            count += len(pages)
            pages.clear()
        return count
