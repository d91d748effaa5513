"""Special pages under the CPU: MMIO and watched pages through Unicorn MMIO callbacks,
and the write-tracked pages the compiled TLB fill dirtied.

Part of :class:`hlemu.cpu.Cpu` (a mixin, split out so the CPU module holds running
and registers, this one the slow-path plumbing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlemu.cpu import hooks
from hlemu.memory.constants import PAGE_SHIFT, SpecialKind
from hlemu.memory.faults import GuestFault

if TYPE_CHECKING:
    from unicorn import Uc

    from hlemu.cpu.config import CpuFault
    from hlemu.memory.space import AddressSpace

MMIO_WINDOW = 0x40000000  # semifastmem: Unicorn physical address where MMIO pages are aliased
MMIO_WINDOW_PAGES = 1024
DIRTY_LOG_SIZE = 4096


class SpecialPages:
    if TYPE_CHECKING:  # provided by Cpu
        space: AddressSpace
        uc: Uc
        control: np.ndarray
        fault: CpuFault | None
        _dirty_log: np.ndarray
        _mmio_slots: np.ndarray
        _slot_vpn: list[int]

    def _special_read(self, vaddr: int, size: int) -> int:
        try:
            return self.space.slow.read_int(vaddr, size)
        except GuestFault as exc:
            self._special_fault(exc)
            return 0

    def _special_write(self, vaddr: int, size: int, value: int) -> None:
        try:
            self.space.slow.write_int(vaddr, size, value)
        except GuestFault as exc:
            self._special_fault(exc)

    def _special_fault(self, exc: GuestFault) -> None:
        from hlemu.cpu.config import CpuFault

        self.fault = CpuFault("data abort", exc.access, exc.address, exc.size, exc.kind)
        self.uc.emu_stop()

    def _region_read(self, uc: Uc, offset: int, size: int, base: int) -> int:
        return self._special_read(base + offset, size)

    def _region_write(self, uc: Uc, offset: int, size: int, value: int, base: int) -> None:
        self._special_write(base + offset, size, value)

    def _window_read(self, uc: Uc, offset: int, size: int, _user: object) -> int:
        return self._special_read((self._slot_vpn[offset >> PAGE_SHIFT] << PAGE_SHIFT) | (offset & 0xFFF), size)

    def _window_write(self, uc: Uc, offset: int, size: int, value: int, _user: object) -> None:
        self._special_write((self._slot_vpn[offset >> PAGE_SHIFT] << PAGE_SHIFT) | (offset & 0xFFF), size, value)

    def _assign_mmio_slots(self, lo: int, hi: int) -> None:
        """Give each new MMIO page of ``lo..hi-1`` a page of the MMIO window (semifastmem)."""
        special = self.space.table.special[lo:hi]
        if hi - lo <= 16:  # a few pages (an IPC buffer, twice a request): plain Python, no numpy calls
            vpns = [lo + i for i, kind in enumerate(special.tolist())
                    if kind == SpecialKind.MMIO or kind == SpecialKind.WATCH]
        else:
            slow = (special == SpecialKind.MMIO) | (special == SpecialKind.WATCH)  # np.isin sorts: 10x slower
            vpns = (np.flatnonzero(slow) + lo).tolist()
        for vpn in vpns:
            if self._mmio_slots[vpn] == 0:
                if len(self._slot_vpn) >= MMIO_WINDOW_PAGES:
                    raise RuntimeError(f"more than {MMIO_WINDOW_PAGES} MMIO pages in one process")
                self._slot_vpn.append(vpn)
                self._mmio_slots[vpn] = len(self._slot_vpn)

    def _drain_dirty_log(self) -> None:
        """Tell the trackers about pages the TLB fill hook dirtied during the run."""
        count = int(self.control[hooks.CB_DIRTY_COUNT])
        if not count:
            return
        self.control[hooks.CB_DIRTY_COUNT] = 0
        if count <= DIRTY_LOG_SIZE:
            vpns = self._dirty_log[:count].tolist()
        else:  # the log overflowed: every dirty tracked page the trackers do not know yet
            table = self.space.table
            vpns = np.flatnonzero((table.special == SpecialKind.TRACKED) & (table.wdirty != 0)).tolist()
        self.space.dirtied_by_cpu(vpns)
