"""Physical memory: regions, the allocator, zeroing, and sharing through the memfd."""

from __future__ import annotations

import mmap

import pytest

from hlemu.memory import OutOfMemory, PhysicalMemory

MIB = 1 << 20
SMALL = (("APPLICATION", 0x20000000, 1 * MIB), ("VRAM", 0x18000000, 64 * 1024))


@pytest.fixture
def physical():
    """``physical(layout)``: a PhysicalMemory, closed at teardown whether the test passed or not."""
    made: list[PhysicalMemory] = []

    def make(*args) -> PhysicalMemory:
        made.append(PhysicalMemory(*args))
        return made[-1]

    yield make
    for phys in made:
        phys.close()


def test_default_layout_matches_the_3ds(physical):
    phys = physical()
    assert {n: (r.phys_base, r.size) for n, r in phys.regions.items()} == {
        "APPLICATION": (0x20000000, 64 * MIB),
        "SYSTEM": (0x24000000, 44 * MIB),
        "BASE": (0x26C00000, 20 * MIB),
        "VRAM": (0x18000000, 6 * MIB),
    }
    assert phys.size == 134 * MIB


def test_frame_and_physical_addresses_round_trip(physical):
    phys = physical(SMALL)
    assert phys.frame_to_phys(0) == 0x20000000
    assert phys.frame_to_phys(256) == 0x18000000  # first VRAM frame follows FCRAM's 256
    assert phys.phys_to_frame(0x18001234) == 257
    with pytest.raises(ValueError, match="not backed"):
        phys.phys_to_frame(0x10000000)


def test_allocations_come_zeroed_even_after_reuse(physical):
    phys = physical(SMALL)
    frames = phys.allocate("APPLICATION", 3)
    phys.data[int(frames[1]) * 4096 : int(frames[1]) * 4096 + 10] = 0xAB
    phys.free(frames)
    again = phys.allocate("APPLICATION", 3)
    assert sorted(again.tolist()) == sorted(frames.tolist())
    assert not phys.data[int(again[0]) * 4096 : (int(again[-1]) + 1) * 4096].any()


def test_contiguous_allocation_finds_a_run_and_reports_exhaustion(physical):
    phys = physical(SMALL)
    a = phys.allocate("APPLICATION", 10)
    phys.free(a[2:5])  # a three-frame hole
    run = phys.allocate("APPLICATION", 3, contiguous=True)
    assert run.tolist() == a[2:5].tolist()
    with pytest.raises(OutOfMemory, match="contiguous"):
        phys.allocate("APPLICATION", 250, contiguous=True)
    with pytest.raises(OutOfMemory):
        phys.allocate("VRAM", 17)
    with pytest.raises(ValueError, match="no physical region"):
        phys.allocate("NOPE", 1)


def test_free_refuses_double_free_and_mapped_frames(physical):
    phys = physical(SMALL)
    frames = phys.allocate("APPLICATION", 2)
    phys.map_count[frames[0]] = 1
    with pytest.raises(ValueError, match="still mapped"):
        phys.free(frames)
    phys.map_count[frames[0]] = 0
    phys.free(frames)
    with pytest.raises(ValueError, match="already free"):
        phys.free(frames)


def test_backing_is_a_shared_file(physical):
    """A second host mapping of the memfd sees writes at once: the basis of aliasing."""
    phys = physical(SMALL)
    other = mmap.mmap(phys.fd, phys.size, mmap.MAP_SHARED)
    try:
        phys.data[4096 + 7] = 0x5A
        assert other[4096 + 7] == 0x5A
        other[8] = 0x11
        assert phys.data[8] == 0x11
    finally:
        other.close()
