"""The GPU's view of memory: physical addresses, reached through a process's memory path.

PICA registers hold physical addresses (most of them divided by 8): citro3d converts its
buffers with ``osConvertVirtToPhys``. The GPU here works for the process whose command list
it runs: each physical range is turned back into that process's virtual addresses and read
or written through ``space.mem`` (so framebuffer pages stay write-tracked special pages and
the display sees the GPU's writes). A range the process has not mapped, or MMIO, is a
:class:`GpuFault`, which the command processor reports and survives.

Finding the virtual address: the linear heap and VRAM sit at fixed offsets from physical
memory on the 3DS (3dbrew "Memory layout": FCRAM 0x20000000 at 0x14000000 (old kernels)
or 0x30000000, VRAM 0x18000000 at 0x1F000000); those are tried first, checked against the
page table, then the page table is searched for the frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlemu.memory import GuestFault, MemoryPermission, SpecialKind
from hlemu.memory.physical import FCRAM_BASE, VRAM_BASE

if TYPE_CHECKING:
    from hlemu.memory import AddressSpace

# (physical base, virtual base, size) of the fixed windows (3dbrew "Memory layout").
WINDOWS = ((FCRAM_BASE, 0x14000000, 0x08000000), (FCRAM_BASE, 0x30000000, 0x08000000),
           (VRAM_BASE, 0x1F000000, 0x00600000))


class GpuFault(Exception):
    """A GPU access to memory the process cannot give it; nothing was read or written."""


class GpuMemory:
    """Physical-address reads and writes for one process."""

    def __init__(self, space: AddressSpace) -> None:
        self.space = space
        self.table = space.table
        self.phys = space.phys

    def to_virtual(self, paddr: int, size: int, need: MemoryPermission, what: str) -> int:
        """The virtual address at which the process sees ``[paddr, paddr + size)`` contiguously
        with permission ``need``; :class:`GpuFault` when it does not."""
        if size <= 0 or paddr < 0 or paddr + size > 1 << 32:
            raise GpuFault(f"{what}: physical {paddr:#010x}+{size:#x} is not a range")
        for pbase, vbase, wsize in WINDOWS:
            if pbase <= paddr and paddr + size <= pbase + wsize:
                vaddr = vbase + paddr - pbase
                if self._maps(vaddr, paddr, size, need):
                    return vaddr
        try:
            frame = self.phys.phys_to_frame(paddr)
        except ValueError:
            raise GpuFault(f"{what}: physical {paddr:#010x}+{size:#x} is not memory") from None
        for vpn in np.flatnonzero(self.table.frame == frame):
            vaddr = (int(vpn) << 12) | (paddr & 0xFFF)
            if self._maps(vaddr, paddr, size, need):
                return vaddr
        kind = "writable" if need & MemoryPermission.W else "readable"
        raise GpuFault(f"{what}: physical {paddr:#010x}+{size:#x} is not {kind} memory of the process")

    def _maps(self, vaddr: int, paddr: int, size: int, need: MemoryPermission) -> bool:
        """Whether ``vaddr..`` maps ``paddr..`` page for page, as memory with ``need``."""
        lo, hi = vaddr >> 12, (vaddr + size + 0xFFF) >> 12
        if hi > 1 << 20:
            return False
        pages = slice(lo, hi)
        frames = self.table.frame[pages]
        try:
            first = self.phys.phys_to_frame(paddr)
        except ValueError:
            return False
        return bool((frames == first + np.arange(hi - lo)).all()
                    and (self.table.state[pages] != 0).all()
                    and ((self.table.perm[pages] & int(need)) == int(need)).all()
                    and (self.table.special[pages] != SpecialKind.MMIO).all())

    def read(self, paddr: int, size: int, what: str) -> np.ndarray:
        """``size`` bytes at physical ``paddr`` (a read-only uint8 array)."""
        vaddr = self.to_virtual(paddr, size, MemoryPermission.R, what)
        return self.read_virtual(vaddr, size, what)

    def read_virtual(self, vaddr: int, size: int, what: str) -> np.ndarray:
        try:
            return np.frombuffer(self.space.mem.read(vaddr, size), np.uint8)
        except GuestFault as fault:
            raise GpuFault(f"{what}: {fault}") from None

    def write(self, paddr: int, data: np.ndarray, what: str) -> None:
        vaddr = self.to_virtual(paddr, len(data), MemoryPermission.W, what)
        try:
            self.space.mem.write(vaddr, data)
        except GuestFault as fault:
            raise GpuFault(f"{what}: {fault}") from None
