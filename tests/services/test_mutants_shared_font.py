"""The shared font block APT's GetSharedFont hands out, made by kernel/services/shared_font.py's
``load`` on a kernel of its own: 0x332000 bytes (the USA/EUR/JPN font title's, 3dbrew "System
Font"), one physically contiguous run of SYSTEM frames taken lowest first, at the block's place in
the linear heap's view (0x14000000 + its physical offset in FCRAM, so SYSTEM + 0 is 0x18000000), its
pointers relocated to that address + 0x80. The GPU reads the glyph sheets by physical address
(gpu_font in tests/services/test_shared_font.py), so the run must be contiguous even when SYSTEM is
not free from its start. Written for mutants of kernel/services/shared_font.py
(scripts/mutation.py)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from hlemu.font import bcfnt
from kernel.kernel import Kernel
from kernel.services.shared_font import load

BLOCK_SIZE = 0x332000
SYSTEM_PHYS = 0x24000000  # FCRAM 0x20000000 + the APPLICATION region's 0x04000000 (3dbrew "Memory layout")
SYSTEM_LINEAR = 0x18000000  # the linear heap's view of it (0x14000000 + 0x04000000)


@pytest.fixture
def kernel():
    k = Kernel(backend="semifastmem", output=lambda _p, _line: None)
    yield k
    k.close()


def physical_run(kernel, font) -> bytes:
    """The block's bytes as a reader of physical memory sees them from its first frame on."""
    start = int(font.block.frames[0]) << 12
    return kernel.memory.phys.data[start : start + BLOCK_SIZE].tobytes()


def test_the_block_is_the_font_title_s_size_at_the_start_of_system(kernel):
    font = load(kernel)
    assert font.block.size == BLOCK_SIZE
    assert font.address == SYSTEM_LINEAR
    assert kernel.memory.phys.frame_to_phys(int(font.block.frames[0])) == SYSTEM_PHYS
    data = bcfnt.system_font().relocated(SYSTEM_LINEAR + 0x80)
    assert struct.unpack("<III", font.block.read(0, 12)) == (2, 1, len(data))
    assert font.block.read(0x80, len(data)) == data
    assert font.block.read(BLOCK_SIZE - 0x10, 0x10) == bytes(0x10)  # the rest of the block: zero


def test_with_a_hole_in_system_the_block_is_still_one_physical_run(kernel):
    phys = kernel.memory.phys
    taken = phys.allocate("SYSTEM", 3)  # the first three frames of SYSTEM ...
    assert phys.frame_to_phys(int(taken[0])) == SYSTEM_PHYS
    phys.free(taken[1:2])  # ... with the middle one free again: a one-frame hole
    font = load(kernel)
    assert (np.diff(font.block.frames) == 1).all()
    assert phys.frame_to_phys(int(font.block.frames[0])) == SYSTEM_PHYS + 0x3000  # past the hole
    assert font.address == SYSTEM_LINEAR + 0x3000
    data = bcfnt.system_font().relocated(SYSTEM_LINEAR + 0x3000 + 0x80)
    assert physical_run(kernel, font) == font.block.read(0, BLOCK_SIZE)
    assert physical_run(kernel, font)[0x80 : 0x80 + len(data)] == data
