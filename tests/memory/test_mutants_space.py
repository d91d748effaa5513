"""AddressSpace's boundaries and bookkeeping, case by case: what mutants of
hlemu/memory/space.py (scripts/mutation.py) showed no test pinning down. Expected values follow
the module's documented invariants: a page is mapped iff its state is not FREE; mapped memory
pages are counted in map_count; listeners hear exactly (first_vpn, end_vpn, plain) of each change."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.memory import MapError
from hlemu.memory import MemoryPermission as P
from hlemu.memory import MemoryState as S
from hlemu.memory.constants import FAST_READ, FAST_WRITE, NUM_PAGES, SpecialKind
from hlemu.memory.space import _runs
from hlemu.memory.special import WriteTracker

BASE = 0x08000000
PG = 0x1000
TOP = (NUM_PAGES - 1) << 12  # 0xFFFFF000


@pytest.fixture
def frames(memory_system):
    taken: list[int] = []

    def take(count: int) -> list[int]:
        got = [int(f) for f in memory_system.phys.allocate("APPLICATION", count)]
        taken.extend(got)
        return got

    yield take
    phys = memory_system.phys
    phys.free([f for f in taken if not phys._free[f] and not phys.map_count[f]])


@pytest.fixture
def space(spaces):
    sp = spaces("mut")
    sp.heard = []
    sp.listeners.append(lambda lo, hi, _plain: sp.heard.append((lo, hi)))
    return sp


def test_path_names(space):
    assert space.path("slowmem") is space.slow
    assert space.path("semifastmem") is space.semifast
    assert space.path("fastmem") is space.fast
    with pytest.raises(ValueError, match="unknown memory path 'quick'"):
        space.path("quick")


def test_a_space_without_a_slab_has_no_fastmem(memory_system):
    from hlemu.memory.space import AddressSpace

    sp = AddressSpace(memory_system.phys, 4242, "noslab", slab=None, backend="slowmem")
    with pytest.raises(MapError, match="noslab has no slab"):
        sp.path("fastmem")
    assert sp.mem is sp.slow and sp.fast is None
    assert repr(sp) == "<AddressSpace pid=4242 'noslab' backend=slowmem>"
    assert AddressSpace(memory_system.phys, 4243).name == "process 4243"


def test_map_counts_frames_sets_entries_and_tells_listeners(space, frames, memory_system):
    f = frames(2)
    space.map(BASE + PG, f, P.RW, S.PRIVATE)
    assert space.heard == [((BASE >> 12) + 1, (BASE >> 12) + 3)]
    assert [int(memory_system.phys.map_count[x]) for x in f] == [1, 1]
    vpn = (BASE >> 12) + 1
    t = space.table
    assert [int(t.frame[vpn]), int(t.frame[vpn + 1])] == f
    assert (int(t.perm[vpn]), int(t.state[vpn]), int(t.special[vpn])) == (int(P.RW), int(S.PRIVATE), 0)
    assert int(t.access[vpn]) == FAST_READ | FAST_WRITE
    assert int(t.frame[vpn - 1]) == -1 and int(t.frame[vpn + 2]) == -1
    backed = space.unmap(BASE + PG, 2 * PG)
    assert sorted(backed.tolist()) == sorted(f)
    assert [int(memory_system.phys.map_count[x]) for x in f] == [0, 0]
    assert space.heard[1] == (vpn, vpn + 2)
    assert (int(t.frame[vpn]), int(t.state[vpn]), int(t.perm[vpn]), int(t.access[vpn])) == (-1, 0, 0, 0)


def test_map_checks_its_range(space, frames):
    f = frames(1)
    with pytest.raises(MapError, match="page aligned"):
        space.map(BASE + 1, f, P.RW, S.PRIVATE)
    with pytest.raises(MapError, match="size must be positive"):
        space.map(BASE, [], P.RW, S.PRIVATE)
    with pytest.raises(MapError, match="leaves the 32-bit"):
        space.map(-PG, f, P.RW, S.PRIVATE)
    with pytest.raises(MapError, match="leaves the 32-bit"):
        space.map(TOP, frames(2), P.RW, S.PRIVATE)
    with pytest.raises(MapError, match="FREE"):
        space.map(BASE, f, P.RW, S.FREE)
    with pytest.raises(MapError, match="outside physical memory"):
        space.map(BASE, [-1], P.RW, S.PRIVATE)
    with pytest.raises(MapError, match="outside physical memory"):
        space.map(BASE, [space.phys.num_frames], P.RW, S.PRIVATE)
    space.map(TOP, f, P.RW, S.PRIVATE)  # the last page is mappable
    assert space.peek(TOP + 0xFFC, 4) == bytes(4)
    space.unmap(TOP, PG)
    space.map(BASE, [space.phys.num_frames - 1], P.R, S.PRIVATE)  # so is the last frame
    space.unmap(BASE, PG)


def test_map_refuses_overlaps_by_one_page(space, frames):
    space.map(BASE + PG, frames(1), P.RW, S.PRIVATE)
    with pytest.raises(MapError, match="overlaps mapped pages"):
        space.map(BASE, frames(2), P.RW, S.PRIVATE)
    with pytest.raises(MapError, match="08001000"):
        space.map(BASE + PG, frames(1), P.RW, S.PRIVATE)
    space.map(BASE, frames(1), P.RW, S.PRIVATE)
    space.map(BASE + 2 * PG, frames(1), P.RW, S.PRIVATE)


def test_unmap_and_protect_refuse_partly_unmapped_ranges(space, frames):
    space.map(BASE, frames(1), P.RW, S.PRIVATE)
    with pytest.raises(MapError, match="unmap of 0x08000000\\+0x2000"):
        space.unmap(BASE, 2 * PG)
    with pytest.raises(MapError, match="protect of"):
        space.protect(BASE, 2 * PG, P.R)
    with pytest.raises(MapError, match="FREE"):
        space.protect(BASE, PG, P.R, state=S.FREE)
    space.protect(BASE, PG, P.R)
    assert (int(space.table.perm[BASE >> 12]), int(space.table.state[BASE >> 12])) == (int(P.R), int(S.PRIVATE))
    space.protect(BASE, PG, P.RW, state=S.ALIASED)
    assert int(space.table.state[BASE >> 12]) == int(S.ALIASED)
    assert space.heard[-1] == (BASE >> 12, (BASE >> 12) + 1)


def test_mmio_pages_have_no_frame_and_leave_with_unmap(space):
    calls = []

    class Handler:
        def read(self, space, addr, size):
            calls.append(("r", addr, size))
            return 0

        def write(self, space, addr, size, value):
            calls.append(("w", addr, size, value))

    h = Handler()
    space.map_mmio(0x1EC00000, 2 * PG, h)
    vpn = 0x1EC00
    t = space.table
    assert (int(t.frame[vpn]), int(t.special[vpn]), int(t.state[vpn]), int(t.perm[vpn])) == \
        (-1, int(SpecialKind.MMIO), int(S.IO), int(P.RW))
    assert space.mmio[vpn] is h and space.mmio[vpn + 1] is h and vpn + 2 not in space.mmio
    assert space.unmap(0x1EC00000, 2 * PG).tolist() == []
    assert space.mmio == {}


def test_write_tracking_needs_memory_and_untrack_clears_only_tracked_pages(space, frames, memory_system):
    from hlemu.memory.special import WriteTracker

    tracker = WriteTracker()
    space.map(BASE, frames(2), P.RW, S.PRIVATE)
    with pytest.raises(MapError, match="write tracking needs mapped memory"):
        space.track_writes(BASE, 3 * PG, tracker)
    space.track_writes(BASE + PG, PG, tracker)
    vpn = BASE >> 12
    assert [int(space.table.special[v]) for v in (vpn, vpn + 1)] == [0, int(SpecialKind.TRACKED)]
    assert int(space.table.access[vpn + 1]) == FAST_READ  # clean: writes fault
    assert set(space.trackers) == {vpn + 1}
    space.note_tracked_write(vpn + 1)
    assert int(space.table.wdirty[vpn + 1]) == 1
    assert int(space.table.access[vpn + 1]) == FAST_READ | FAST_WRITE
    space.rearm_tracked([vpn + 1])
    assert int(space.table.wdirty[vpn + 1]) == 0 and int(space.table.access[vpn + 1]) == FAST_READ
    space.rearm_tracked([])
    space.untrack(BASE, 2 * PG)
    assert [int(space.table.special[v]) for v in (vpn, vpn + 1)] == [0, 0]
    assert space.trackers == {}
    assert int(space.table.access[vpn + 1]) == FAST_READ | FAST_WRITE


def test_watch_checks_what_it_watches(space, frames):
    space.map(BASE, frames(1), P.RW, S.PRIVATE)
    space.map(BASE + PG, frames(1), P.RX, S.CODE)
    with pytest.raises(MapError, match="needs a size"):
        space.watch(BASE, 0, print)
    with pytest.raises(MapError, match="needs a size"):
        space.watch(BASE, 4, print, on="x")
    with pytest.raises(MapError, match="needs a size"):
        space.watch(BASE, 4, print, on="")
    with pytest.raises(MapError, match="executable"):
        space.watch(BASE + PG, 4, print)
    with pytest.raises(MapError, match="executable"):
        space.watch(BASE + PG - 2, 4, print)  # straddles into the code page
    with pytest.raises(MapError, match="07fff000 is not mapped"):
        space.watch(BASE - 4, 8, print)
    point = space.watch(BASE + 0xFFC, 4, print, on="w")
    assert int(space.table.special[BASE >> 12]) == int(SpecialKind.WATCH)
    assert space.watchpoints == {BASE >> 12: [point]}
    point.remove()
    assert int(space.table.special[BASE >> 12]) == 0 and space.watchpoints == {}


def test_watchpoints_see_only_overlapping_accesses_of_their_kind(space, frames):
    space.map(BASE, frames(1), P.RW, S.PRIVATE)
    hits = []
    point = space.watch(BASE + 0x10, 8, hits.append, on="w")
    reads = space.watch(BASE + 0x10, 8, hits.append, on="r")
    space.watch_access(BASE + 0x0C, b"1234", "write")  # ends where the watch begins
    space.watch_access(BASE + 0x18, b"1234", "write")  # begins where the watch ends
    assert hits == []
    space.watch_access(BASE + 0x0D, b"1234", "write")  # last byte inside
    space.watch_access(BASE + 0x17, b"1", "write")  # last watched byte
    assert [(h.address, h.size, h.kind, h.data) for h in hits] == [(BASE + 0x0D, 4, "write", b"1234"),
                                                                  (BASE + 0x17, 1, "write", b"1")]
    assert (point.hits, reads.hits) == (2, 0)
    space.watch_access(BASE + 0x10, b"x", "read")
    assert (point.hits, reads.hits) == (2, 1) and hits[-1].pid == space.pid
    space.watch_muted = True
    space.watch_access(BASE + 0x10, b"x", "read")
    assert reads.hits == 1
    space.watch_muted = False
    point.remove()
    assert int(space.table.special[BASE >> 12]) == int(SpecialKind.WATCH)  # the read watch stays
    reads.remove()
    assert int(space.table.special[BASE >> 12]) == 0


def test_peek_and_poke_cross_pages_and_refuse_unmapped(space, frames):
    f = frames(2)
    space.map(BASE, [f[1]], P.R, S.PRIVATE)  # frames out of order: the pieces must follow the table
    space.map(BASE + PG, [f[0]], P.NONE, S.PRIVATE)
    heard = []
    space.code_listeners.append(lambda lo, hi: heard.append((lo, hi)))
    space.poke(BASE + PG - 3, b"abcdef")
    assert space.peek(BASE + PG - 3, 6) == b"abcdef"
    assert space.phys.data[(f[1] << 12) + PG - 3 : (f[1] << 12) + PG].tobytes() == b"abc"
    assert space.phys.data[f[0] << 12 : (f[0] << 12) + 3].tobytes() == b"def"
    assert heard == [(BASE >> 12, (BASE >> 12) + 2)]
    space.poke(BASE, b"")
    assert heard[-1] == (BASE >> 12, (BASE >> 12) + 1)
    space.poke(BASE + PG - 1, b"z")
    assert heard[-1] == (BASE >> 12, (BASE >> 12) + 1)
    assert space.peek(BASE, 0) == b""
    with pytest.raises(MapError, match="08002000 is not mapped"):
        space.peek(BASE + 2 * PG - 1, 2)
    with pytest.raises(MapError, match="leaves the 32-bit"):
        space.peek(0xFFFFFFFF, 2)
    with pytest.raises(MapError, match="leaves the 32-bit"):
        space.peek(-1, 1)


def test_translate_and_page_entries(space, frames):
    f = frames(1)
    space.map(BASE, f, P.RW, S.PRIVATE)
    phys = space.phys.frame_to_phys(f[0])
    assert space.translate(BASE + 0x123) == phys + 0x123
    assert space.translate(0x1_0000_0000 + BASE + 4) == phys + 4
    assert space.translate(BASE + PG) is None
    entry = space.page(BASE + 0xFFF)
    assert (entry.vaddr, entry.frame, entry.phys_addr, entry.perm, entry.state, entry.special, entry.dirty) == \
        (BASE, f[0], phys, P.RW, S.PRIVATE, SpecialKind.NONE, False)
    empty = space.page(BASE + PG)
    assert (empty.vaddr, empty.frame, empty.phys_addr, empty.state) == (BASE + PG, -1, None, S.FREE)


def test_close_releases_map_counts_and_reads_empty(spaces, frames, memory_system):
    sp = spaces("closing")
    f = frames(2)
    sp.map(BASE, f, P.RW, S.PRIVATE)
    heard = []
    sp.listeners.append(lambda lo, hi, _plain: heard.append((lo, hi)))
    sp.close()
    assert heard == [(0, NUM_PAGES)]
    assert [int(memory_system.phys.map_count[x]) for x in f] == [0, 0]
    assert sp.regions() == [] and sp.fast is None and sp.slab is None
    assert sp.mem is sp.semifast
    sp.close()  # twice is fine
    assert heard == [(0, NUM_PAGES)]


def test_runs_splits_sorted_pages_into_consecutive_runs():
    import numpy as np

    assert _runs(np.array([3])) == [(3, 4)]
    assert _runs(np.array([1, 2, 3, 7, 8, 10])) == [(1, 4), (7, 9), (10, 11)]


# -- second pass (mut18b): the survivors of the full run ---------------------------------------------

def test_the_cpu_dirtying_a_tracked_page_tells_its_tracker_once(space, frames):
    from hlemu.memory.special import WriteTracker

    tracker = WriteTracker()
    seen = []
    tracker.subscribe(lambda t, vaddr: seen.append(vaddr))
    space.map(BASE, frames(2), P.RW, S.PRIVATE)
    space.track_writes(BASE, PG, tracker)
    vpn = BASE >> 12
    space.dirtied_by_cpu([vpn, vpn + 1])  # vpn + 1 is not tracked: nobody to tell
    assert tracker.dirty[space.pid] == {vpn} and seen == [BASE] and tracker.faults == 1
    space.dirtied_by_cpu([vpn])  # already dirty: slowmem would not have told it again
    assert seen == [BASE] and tracker.faults == 1


def _slab_calls(space, monkeypatch):
    calls = []
    for name in ("map_frames", "release", "protect"):
        real = getattr(space.slab, name)
        monkeypatch.setattr(space.slab, name,
                            (lambda n, f: lambda *a: (calls.append((n, *a)), f(*a))[1])(name, real))
    return calls


def test_a_tracked_write_and_a_rearm_change_protection_only(space, frames, monkeypatch):
    """Dirtying or re-arming a tracked page changes its host protection; the frame stays mapped
    where it was (no remap of the slab), as the docstrings of note_tracked_write and rearm say."""
    from hlemu.memory.slab import PROT_READ, PROT_RW
    from hlemu.memory.special import WriteTracker

    tracker = WriteTracker()
    space.map(BASE, frames(2), P.RW, S.PRIVATE)
    space.track_writes(BASE, 2 * PG, tracker)
    vpn = BASE >> 12
    calls = _slab_calls(space, monkeypatch)
    space.note_tracked_write(vpn + 1)
    assert calls == [("protect", vpn + 1, 1, PROT_RW)]
    assert space.faults.page(BASE + PG)["write_track"] == 1 and space.faults.page(BASE)["write_track"] == 0
    assert tracker.dirty[space.pid] == {vpn + 1}
    space.note_tracked_write(vpn)
    calls.clear()
    space.rearm_tracked([vpn, vpn + 1])
    assert calls == [("protect", vpn, 2, PROT_READ)]
    assert [int(space.table.wdirty[v]) for v in (vpn, vpn + 1)] == [0, 0]


def test_a_page_entry_carries_that_pages_fault_counts(space, frames):
    from hlemu.memory.constants import FaultKind

    space.map(BASE, frames(1), P.RW, S.PRIVATE)
    space.faults.bump(FaultKind.PERMISSION, BASE + 0x40, 3)
    space.faults.bump(FaultKind.UNMAPPED, BASE + PG)
    entry = space.page(BASE + 0x800)
    assert entry.faults == {"unmapped": 0, "permission": 3, "special": 0, "write_track": 0, "tlb_fill": 0}
    assert space.page(BASE + PG).faults["unmapped"] == 1
    assert space.page(0x1_0000_0000 + BASE).faults["permission"] == 3  # the address wraps at 32 bits


def test_write_tracking_refuses_mmio_pages(space):
    from hlemu.memory.special import WriteTracker

    class Handler:
        def read(self, space, addr, size):
            return 0

        def write(self, space, addr, size, value):
            pass

    space.map_mmio(0x1EC00000, PG, Handler())
    with pytest.raises(MapError, match="write tracking needs mapped memory"):
        space.track_writes(0x1EC00000, PG, WriteTracker())
    assert int(space.table.special[0x1EC00]) == int(SpecialKind.MMIO)


def test_a_one_byte_watch_at_the_end_of_a_page_covers_that_page_only(space, frames):
    space.map(BASE, frames(1), P.RW, S.PRIVATE)  # the next page is unmapped: a watch reaching it fails
    hits = []
    point = space.watch(BASE + PG - 1, 1, hits.append, on="r")
    assert space.watchpoints == {BASE >> 12: [point]}
    space.watch_access(BASE + PG - 2, b"ab", "read")
    space.watch_access(BASE + PG - 2, b"a", "read")
    assert [(h.address, h.size) for h in hits] == [(BASE + PG - 2, 2)]
    point.remove()
    assert space.watchpoints == {} and int(space.table.special[BASE >> 12]) == 0


def test_two_watches_on_one_page_one_removed(space, frames):
    space.map(BASE, frames(2), P.RW, S.PRIVATE)
    a = space.watch(BASE, 4, print)
    b = space.watch(BASE + PG - 4, 8, print)  # into the second page
    assert space.watchpoints == {BASE >> 12: [a, b], (BASE >> 12) + 1: [b]}
    b.remove()
    assert space.watchpoints == {BASE >> 12: [a]}
    assert [int(space.table.special[(BASE >> 12) + i]) for i in (0, 1)] == [int(SpecialKind.WATCH), 0]
    a.remove()


def test_address_zero_is_an_address(space, frames):
    """vaddr 0 is the first page of the 32-bit space, not an error (the null page is unmapped by
    convention, but the kernel may map it)."""
    f = frames(1)
    space.map(0, f, P.RW, S.PRIVATE)
    space.poke(0, b"\x01\x02")
    assert space.peek(0, 2) == b"\x01\x02" and space.translate(1) == space.phys.frame_to_phys(f[0]) + 1
    assert space.peek(0, 0) == b""
    space.unmap(0, PG)


def test_physical_frame_zero_is_a_frame(space, memory_system):
    """Frame 0 (the first page of FCRAM, 0x20000000) is memory like any other: mapped, counted,
    peeked, poked, watched, tracked and unmapped as such."""
    from hlemu.memory.special import WriteTracker

    phys = memory_system.phys
    before = int(phys.map_count[0])
    saved = phys.data[0:PG].tobytes()
    try:
        space.map(BASE, [0], P.RW, S.PRIVATE)
        assert int(phys.map_count[0]) == before + 1
        assert space.translate(BASE + 8) == 0x20000008
        entry = space.page(BASE)
        assert (entry.frame, entry.phys_addr) == (0, 0x20000000)
        space.poke(BASE + 4, b"zero")
        assert space.peek(BASE + 4, 4) == b"zero" and phys.data[4:8].tobytes() == b"zero"
        point = space.watch(BASE, 4, print)
        point.remove()
        space.track_writes(BASE, PG, WriteTracker())
        space.untrack(BASE, PG)
        assert space.unmap(BASE, PG).tolist() == [0]
        assert int(phys.map_count[0]) == before
    finally:
        if int(space.table.state[BASE >> 12]):
            space.unmap(BASE, PG)
        phys.data[0:PG] = np.frombuffer(saved, np.uint8)


def test_closing_a_space_releases_frame_zero_too(spaces, memory_system):
    phys = memory_system.phys
    before = int(phys.map_count[0])
    sp = spaces("frame0")
    sp.map(BASE, [0], P.R, S.PRIVATE)
    sp.close()
    assert int(phys.map_count[0]) == before


# -- third pass: survivors of the full run (16:38) ----------------------------------------------------

def test_unmap_and_untrack_leave_no_dirty_bit(space, frames):
    from hlemu.memory.special import WriteTracker

    space.map(BASE, frames(2), P.RW, S.PRIVATE)
    space.track_writes(BASE, 2 * PG, WriteTracker())
    vpn = BASE >> 12
    space.note_tracked_write(vpn)
    space.note_tracked_write(vpn + 1)
    space.untrack(BASE, PG)
    assert int(space.table.wdirty[vpn]) == 0
    space.unmap(BASE, 2 * PG)
    assert int(space.table.wdirty[vpn + 1]) == 0


def test_watch_refuses_mmio_as_not_memory_and_accepts_a_reserved_page(space, frames):
    class Handler:
        def read(self, space, addr, size):
            return 0

        def write(self, space, addr, size, value):
            pass

    space.map_mmio(0x1EC00000, PG, Handler())
    with pytest.raises(MapError, match="1ec00000 is not mapped memory"):
        space.watch(0x1EC00000, 4, print)
    space.map(BASE, frames(1), P.RW, S.RESERVED)  # state 1: mapped memory all the same
    space.watch(BASE, 4, print).remove()


def test_a_closed_spaces_old_arrays_allow_no_access(spaces, frames):
    sp = spaces("kept")
    sp.map(BASE, frames(1), P.RW, S.PRIVATE)
    old = sp.table
    sp.close()
    vpn = BASE >> 12
    assert (int(old.fast[vpn]), int(old.access[vpn])) == (0, 0)


def test_load_tracking_needs_mapped_memory_pages(spaces, frames):
    from hlemu.memory.special import WriteTracker

    sp = spaces("loaded")
    f = frames(2)
    vpn = BASE >> 12
    vpns = np.array([vpn, vpn + 1], np.int64)
    sp.load_pages(vpns, np.array(f), np.full(2, int(P.RW)), np.full(2, int(S.PRIVATE)), np.zeros(2), np.zeros(2))
    tracker = WriteTracker()
    with pytest.raises(MapError, match="write tracking needs mapped memory"):
        sp.load_tracking(np.array([vpn + 2]), np.zeros(1), tracker)  # a FREE page
    sp.load_tracking(vpns, np.array([1, 0]), tracker)
    assert [int(sp.table.special[v]) for v in vpns] == [int(SpecialKind.TRACKED)] * 2
    assert [int(sp.table.wdirty[v]) for v in vpns] == [1, 0] and set(sp.trackers) == {vpn, vpn + 1}
    sp.load_tracking(np.array([], np.int64), np.zeros(0), tracker)  # nothing to load is fine
    mm = spaces("loaded-mmio")
    mm.load_pages(np.array([vpn]), np.array([-1]), np.array([int(P.RW)]), np.array([int(S.IO)]),
                  np.array([int(SpecialKind.MMIO)]), np.zeros(1))
    with pytest.raises(MapError, match="write tracking needs mapped memory"):
        mm.load_tracking(np.array([vpn]), np.zeros(1), tracker)  # no frame behind it
    sp.unmap(BASE, 2 * PG)


def test_the_slab_is_cut_where_protection_changes(space, frames, monkeypatch):
    """One change over pages of protections rw, r, rw maps three pieces, each with its own."""
    from hlemu.memory.slab import PROT_NONE, PROT_READ, PROT_RW
    from hlemu.memory.special import WriteTracker

    f = frames(3)
    space.map(BASE, f, P.RW, S.PRIVATE)
    space.track_writes(BASE + PG, PG, WriteTracker())  # clean tracked: read-only on the host
    vpn = BASE >> 12
    calls = _slab_calls(space, monkeypatch)
    space.protect(BASE, 3 * PG, P.RW)
    mapped = [c for c in calls if c[0] == "map_frames"]
    assert mapped == [("map_frames", vpn, f[0], 1, PROT_RW), ("map_frames", vpn + 1, f[1], 1, PROT_READ),
                      ("map_frames", vpn + 2, f[2], 1, PROT_RW)]
    # Re-arming pages whose frames are not consecutive protects each piece at its own page.
    g = frames(2)
    space.map(BASE + 4 * PG, [g[1], g[0]], P.RW, S.PRIVATE)
    space.map(BASE + 6 * PG, frames(2)[::-1], P.NONE, S.PRIVATE)
    tracker = WriteTracker()
    space.track_writes(BASE + 4 * PG, 4 * PG, tracker)
    calls.clear()
    space.rearm_tracked([vpn + 4, vpn + 5, vpn + 6, vpn + 7])
    assert calls == [("protect", vpn + 4, 1, PROT_READ), ("protect", vpn + 5, 1, PROT_READ),
                     ("protect", vpn + 6, 1, PROT_NONE), ("protect", vpn + 7, 1, PROT_NONE)]


def test_map_takes_any_iterable_of_frames(space, frames):
    f = frames(2)
    space.map(BASE, iter(f), P.RW, S.PRIVATE)  # Iterable[int]: a one-shot iterator too
    space.map(BASE + 2 * PG, np.array(frames(1)), P.RW, S.PRIVATE)
    vpn = BASE >> 12
    assert [int(space.table.frame[vpn + i]) for i in range(2)] == f
    space.unmap(BASE, 3 * PG)


@pytest.mark.parametrize("pages", [1, 15, 16, 17, 40])
@pytest.mark.parametrize("as_list", [True, False])
def test_map_and_unmap_keep_the_same_books_on_the_few_page_path_and_the_array_path(space, frames, memory_system,
                                                                                  pages, as_list):
    """Up to 16 pages map and unmap element by element, more through numpy slices: either way
    each frame is counted once while mapped and not after, the entries are set and cleared
    whole (frame, perm, state, special, dirty bit), and the listeners hear the range once."""
    f = frames(pages)
    phys, t = memory_system.phys, space.table
    vpn = BASE >> 12
    t.wdirty[vpn : vpn + pages] = 1  # left over from an earlier mapping: map clears it
    space.map(BASE, f if as_list else np.array(f, np.int64), P.RW, S.PRIVATE)
    assert [int(phys.map_count[x]) for x in f] == [1] * pages
    assert t.frame[vpn : vpn + pages].tolist() == f
    assert set(t.perm[vpn : vpn + pages].tolist()) == {int(P.RW)} and set(t.state[vpn : vpn + pages].tolist()) == {
        int(S.PRIVATE)}
    assert not t.wdirty[vpn : vpn + pages].any() and not t.special[vpn : vpn + pages].any()
    t.wdirty[vpn : vpn + pages] = 1
    backed = space.unmap(BASE, pages * PG)
    assert sorted(backed.tolist()) == sorted(f) and [int(phys.map_count[x]) for x in f] == [0] * pages
    assert set(t.frame[vpn : vpn + pages].tolist()) == {-1} and not t.perm[vpn : vpn + pages].any()
    assert not t.state[vpn : vpn + pages].any() and not t.wdirty[vpn : vpn + pages].any()
    assert space.heard == [(vpn, vpn + pages), (vpn, vpn + pages)]
    with pytest.raises(MapError, match="frame number outside physical memory"):
        space.map(BASE, [*f[:-1], phys.num_frames], P.RW, S.PRIVATE)
    with pytest.raises(MapError, match="frame number outside physical memory"):
        space.map(BASE, [*f[:-1], -1], P.RW, S.PRIVATE)
    space.map(BASE, [*f[:-1], phys.num_frames - 1], P.R, S.PRIVATE)  # the last frame is a frame
    assert int(phys.map_count[phys.num_frames - 1]) == 1
    space.unmap(BASE, pages * PG)


def test_listeners_hear_whether_a_change_touched_code_or_special_pages(space, frames):
    """The listeners' third argument, plain: True for memory that neither was nor becomes
    executable or special (an IPC buffer), False otherwise."""
    seen = []
    space.listeners.append(lambda lo, hi, plain: seen.append(plain))
    f = frames(2)
    space.map(BASE, f[:1], P.RW, S.SHARED)
    space.unmap(BASE, PG)
    space.map(BASE, f[1:], P.RX, S.CODE)
    space.unmap(BASE, PG)
    space.map(BASE, f[:1], P.RW, S.PRIVATE)
    space.track_writes(BASE, PG, WriteTracker())
    space.unmap(BASE, PG)
    assert seen == [True, True, False, False, True, False, False]


def test_frame_zero_maps_and_unmaps_like_any_other_on_both_paths(space, memory_system):
    """Physical frame 0 is a frame: a range that starts with it maps (the array path's frame
    bounds) and gives it back counted on unmap, whether the range is short or long."""
    phys = memory_system.phys
    for pages in (3, 20):
        before = int(phys.map_count[0])
        space.map(BASE, list(range(pages)), P.R, S.PRIVATE)
        assert int(phys.map_count[0]) == before + 1
        backed = space.unmap(BASE, pages * PG)
        assert 0 in backed.tolist() and len(backed) == pages and int(phys.map_count[0]) == before
