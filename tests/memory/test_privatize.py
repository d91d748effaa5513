"""AddressSpace.privatize: a page of a shared program image (phys.image) is copied for one
space before a privileged write or a protect to writable; other frames are left alone."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.memory import GuestFault, MemoryPermission, MemoryState, MemorySystem


@pytest.fixture(params=["semifastmem", "fastmem"])
def system(request):
    s = MemorySystem(backend=request.param)
    yield s
    s.close()


def two_sharing(system):
    a, b = system.create_space(1), system.create_space(2)
    image = system.phys.allocate("APPLICATION", 2)
    system.phys.data[image[0] << 12 : (image[0] << 12) + 4] = [1, 2, 3, 4]
    system.phys.image[image] = True
    system.phys.hold(image)  # as kernel.image_frames does
    for space in (a, b):
        space.map(0x00100000, image, MemoryPermission.RX, MemoryState.CODE)
    return a, b, image


def test_poke_copies_only_the_page_it_writes(system):
    a, b, image = two_sharing(system)
    a.poke(0x00100002, b"\xaa")
    assert a.peek(0x00100000, 4) == b"\x01\x02\xaa\x04" and b.peek(0x00100000, 4) == b"\x01\x02\x03\x04"
    assert a.table.frame[0x100] != image[0] and a.table.frame[0x101] == image[1]
    assert system.phys.map_count[image[0]] == 1 and system.phys.map_count[a.table.frame[0x100]] == 1
    assert not system.phys.image[a.table.frame[0x100]]
    assert a.mem.read(0x00100000, 4) == b"\x01\x02\xaa\x04"  # the access path sees the copy


def test_protect_to_writable_copies_and_a_guest_store_before_it_faults(system):
    a, b, image = two_sharing(system)
    with pytest.raises(GuestFault):
        a.mem.write(0x00101000, b"\x00")
    a.protect(0x00100000, 0x2000, MemoryPermission.R)  # still read-only: nothing to copy
    assert (a.table.frame[0x100:0x102] == image).all()
    a.protect(0x00100000, 0x2000, MemoryPermission.RW)
    assert not np.isin(a.table.frame[0x100:0x102], image).any()
    a.mem.write(0x00100000, b"\x09")
    assert b.peek(0x00100000, 1) == b"\x01"


def test_ordinary_shared_frames_are_written_in_place(system):
    a, b = system.create_space(1), system.create_space(2)
    block = system.phys.allocate("APPLICATION", 1)  # a memory block: shared on purpose
    for space in (a, b):
        space.map(0x10000000, block, MemoryPermission.R, MemoryState.SHARED)
    assert a.privatize(0x10000000, 0x1000) == 0
    a.poke(0x10000000, b"\x05")
    assert b.peek(0x10000000, 1) == b"\x05"


def test_a_poke_across_a_page_boundary_copies_both_pages_and_takes_one_frame_each(system):
    a, b, image = two_sharing(system)
    before = system.phys.in_use()
    a.poke(0x00100FFE, b"\xaa\xbb\xcc\xdd")  # the last two bytes of page 0, the first two of page 1
    assert b.peek(0x00100FFE, 4) == bytes(system.phys.data[(image[0] << 12) + 0xFFE : (image[0] << 12) + 0x1000]) \
        + bytes(system.phys.data[image[1] << 12 : (image[1] << 12) + 2])  # b still reads the image
    assert a.peek(0x00100FFE, 4) == b"\xaa\xbb\xcc\xdd"
    assert not np.isin(a.table.frame[0x100:0x102], image).any() and (b.table.frame[0x100:0x102] == image).all()
    assert system.phys.in_use() == before + 2  # one new frame a copied page, no more


def test_protect_to_writable_copies_only_the_pages_it_covers(system):
    a, b, image = two_sharing(system)
    before = system.phys.in_use()
    a.protect(0x00100000, 0x1000, MemoryPermission.RW)  # page 0 only
    assert a.table.frame[0x100] != image[0] and a.table.frame[0x101] == image[1]
    assert system.phys.in_use() == before + 1
