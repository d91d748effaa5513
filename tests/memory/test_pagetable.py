"""Page-table mapping, protection and the QueryMemory view, against hand-worked examples."""

from __future__ import annotations

import pytest

from hlemu.memory import MapError, MemoryInfo
from hlemu.memory import MemoryPermission as P
from hlemu.memory import MemoryState as S

BASE = 0x08000000
PG = 0x1000


def info(base, size, perm, state):
    return MemoryInfo(base, size, perm, state)


@pytest.fixture
def allocate(memory_system):
    """``allocate(region, count)``: frames for the test, freed at teardown (pass or fail) unless
    something still maps them or they were freed already."""
    phys = memory_system.phys
    taken: list[int] = []

    def take(region: str, count: int) -> list[int]:
        frames = list(phys.allocate(region, count))
        taken.extend(frames)
        return frames

    yield take
    phys.free([f for f in taken if not phys._free[f] and not phys.map_count[f]])


@pytest.fixture
def space(allocate, spaces):
    sp = spaces("pt")
    sp.map(BASE, allocate("APPLICATION", 8), P.RW, S.PRIVATE)
    return sp


def test_query_of_a_fresh_mapping_and_of_free_space(space):
    assert space.query(BASE + 3 * PG + 12) == info(BASE, 8 * PG, P.RW, S.PRIVATE)
    # The free region below the mapping runs from 0 to BASE; above it, to the top.
    assert space.query(0x1000) == info(0, BASE, P.NONE, S.FREE)
    assert space.query(0xFFFFFFFF) == info(BASE + 8 * PG, (1 << 32) - BASE - 8 * PG, P.NONE, S.FREE)


def test_protect_in_the_middle_splits_into_three(space):
    space.protect(BASE + 2 * PG, 3 * PG, P.R)
    assert space.regions() == [
        info(BASE, 2 * PG, P.RW, S.PRIVATE),
        info(BASE + 2 * PG, 3 * PG, P.R, S.PRIVATE),
        info(BASE + 5 * PG, 3 * PG, P.RW, S.PRIVATE),
    ]
    assert space.query(BASE + 4 * PG).size == 3 * PG


def test_protect_back_merges_again(space):
    space.protect(BASE + 2 * PG, 3 * PG, P.R)
    space.protect(BASE + 2 * PG, 3 * PG, P.RW)
    assert space.regions() == [info(BASE, 8 * PG, P.RW, S.PRIVATE)]


def test_state_change_splits_even_with_equal_permission(space):
    space.protect(BASE + 7 * PG, PG, P.RW, state=S.ALIASED)
    assert space.regions()[-1] == info(BASE + 7 * PG, PG, P.RW, S.ALIASED)


def test_unmap_across_a_split_region(space):
    space.protect(BASE + 2 * PG, 3 * PG, P.R)
    frames = space.unmap(BASE + PG, 3 * PG)  # takes one RW page and two R pages
    assert len(frames) == 3
    assert space.regions() == [
        info(BASE, PG, P.RW, S.PRIVATE),
        info(BASE + 4 * PG, PG, P.R, S.PRIVATE),
        info(BASE + 5 * PG, 3 * PG, P.RW, S.PRIVATE),
    ]
    assert space.query(BASE + 2 * PG) == info(BASE + PG, 3 * PG, P.NONE, S.FREE)


def test_neighbours_with_equal_attributes_merge_whatever_their_frames(space, allocate):
    space.map(BASE + 8 * PG, allocate("SYSTEM", 2), P.RW, S.PRIVATE)
    assert space.regions() == [info(BASE, 10 * PG, P.RW, S.PRIVATE)]


def test_map_count_follows_mappings(space, memory_system):
    frame = int(space.table.frame[BASE >> 12])
    assert memory_system.phys.map_count[frame] == 1
    other = memory_system.create_space(4242, "other")
    try:
        other.map(0x10000000, [frame], P.R, S.SHARED)
        assert memory_system.phys.map_count[frame] == 2
        assert memory_system.shared_with(space, BASE) == [4242]
    finally:
        memory_system.destroy_space(4242)  # even when an assertion failed: the next test may want pid 4242
    assert memory_system.phys.map_count[frame] == 1


@pytest.mark.parametrize(("call", "message"), [
    (lambda sp: sp.map(BASE, [1], P.RW, S.PRIVATE), "overlaps"),
    (lambda sp: sp.map(BASE + 1, [1], P.RW, S.PRIVATE), "aligned"),
    (lambda sp: sp.map(0xFFFFF000, [1, 2], P.RW, S.PRIVATE), "leaves the 32-bit"),
    (lambda sp: sp.map(0x1000, [1], P.RW, S.FREE), "FREE"),
    (lambda sp: sp.unmap(BASE + 7 * PG, 2 * PG), "unmapped pages"),
    (lambda sp: sp.protect(BASE - PG, 2 * PG, P.R), "unmapped pages"),
    (lambda sp: sp.protect(BASE, PG, P.R, state=S.FREE), "FREE"),
    (lambda sp: sp.map(0x1000, [10**9], P.RW, S.PRIVATE), "outside physical memory"),
])
def test_bad_requests_are_refused_and_change_nothing(space, call, message):
    before = space.regions()
    with pytest.raises(MapError, match=message):
        call(space)
    assert space.regions() == before


def test_page_entry_and_translation(space, memory_system):
    entry = space.page(BASE + PG + 5)
    assert entry.vaddr == BASE + PG
    assert entry.state == S.PRIVATE and entry.perm == P.RW
    assert space.translate(BASE + PG + 5) == memory_system.phys.frame_to_phys(entry.frame) + 5
    assert space.translate(0x1000) is None


def test_listeners_hear_every_change(space):
    heard = []
    space.listeners.append(lambda lo, hi, _plain: heard.append((lo, hi)))
    space.protect(BASE, PG, P.R)
    space.unmap(BASE, PG)
    assert heard == [(BASE >> 12, (BASE >> 12) + 1)] * 2
