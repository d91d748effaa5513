"""The shared system font behind APT's GetSharedFont (command 0x0044).

On a 3DS, NS loads the region's BCFNT at boot into linear memory at the start of the SYSTEM
region, rewrites its offsets into addresses there and changes its magic to ``CFNU``; any
process may then ask APT for a handle to that memory and the address it must be mapped at
(3dbrew "System Font", "NS and APT Services"; Azahar ``apt.cpp`` GetSharedFont). hlemu makes
the font from DejaVu Sans (:mod:`hlemu.font.bcfnt`) the first time a program asks, so start-up
does not pay for it.

The block, 0x332000 bytes as with the USA/EUR/JPN font title v0:

====== ======= ==============================================================
0x00   4       status: 2, loaded
0x04   4       region: 1, the JPN/EUR/USA font (archive 0004009B00014002)
0x08   4       the size of the font data
0x0C   0x74    zero
0x80   ...     the BCFNT, every pointer an address (base: the block's address + 0x80)
====== ======= ==============================================================

The address is the block's place in the linear heap's virtual view (0x14000000 + its
physical offset in FCRAM): physically contiguous frames taken lowest first from SYSTEM, so
normally SYSTEM + 0 = 0x18000000, where NS puts it. libctru's fontEnsureMapped maps the
handle with address 0, meaning "where the kernel placed it", and reads the font at that
address + 0x80 without fixing pointers (its fontFixPointers is for fonts a program loads).
Not yet in hlemu: MapMemoryBlock with address 0 (``kernel/svc/memory.py`` refuses it with
0xE0E01BF5, invalid address), so that call fails; a program can map the block elsewhere and
move the pointers of a copy (``hlemu/guest/programs/system_font.c`` does).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hlemu.memory import MemoryPermission
from hlemu.memory.physical import FCRAM_BASE
from kernel import layout
from kernel.objects.memory_block import MemoryBlock

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.process import Process

BLOCK_SIZE = 0x332000
HEADER_SIZE = 0x80
STATUS_LOADED = 2
REGION_JPN_EUR_USA = 1
# No font to give: Azahar answers a missing font file with -1 (its TODO: the real code is unknown).
SHARED_FONT_MISSING = 0xFFFFFFFF


@dataclass
class SharedFont:
    """The loaded font: its memory block and the address it belongs at."""

    block: MemoryBlock
    address: int


def header(font_size: int) -> bytes:
    return struct.pack("<III", STATUS_LOADED, REGION_JPN_EUR_USA, font_size).ljust(HEADER_SIZE, b"\0")


def load(kernel: Kernel) -> SharedFont:
    """Allocate the block in SYSTEM, make the font and write it there, relocated."""
    from hlemu.font.bcfnt import system_font

    font = system_font()  # first: a missing DejaVu must not leave frames behind
    frames = kernel.memory.phys.allocate("SYSTEM", BLOCK_SIZE >> 12, contiguous=True)
    # RW for its owner, R for everyone else, as Azahar creates it ("APT:SharedFont")
    block = MemoryBlock(kernel, frames, MemoryPermission.RW, MemoryPermission.R, owned=True, creator_pid=0,
                        name="APT shared font")
    kernel.retain(block, "service memory")
    address = layout.LINEAR_BASE + kernel.memory.phys.frame_to_phys(int(frames[0])) - FCRAM_BASE
    data = font.relocated(address + HEADER_SIZE)
    block.write(0, header(len(data)) + data)
    return SharedFont(block, address)


def load_shared_font(kernel: Kernel, process: Process) -> SharedFont | None:
    """:func:`load`, or None with a line in ``process``'s output when the host has no DejaVu."""
    from hlemu.font.bcfnt import FontMissing

    try:
        return load(kernel)
    except FontMissing as error:
        kernel.output(process, f"[hlemu] APT: GetSharedFont: {error}")
        return None
