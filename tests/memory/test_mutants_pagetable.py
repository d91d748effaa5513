"""PageTable's derived entries and region queries, page by page: the cases mutation testing
(scripts/mutation.py) found no test pinning down.

Expected values follow the module's documented rules (hlemu/memory/pagetable.py): a page gets a
fast read bit when it is mapped, backed, readable, not MMIO and not watched; a fast write bit when
it is also writable and not a clean write-tracked page; ``fast`` holds ``frame << 12`` for backed
memory; regions are maximal runs of equal state and permission (3dbrew QueryMemory).
"""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.memory import MemoryInfo, PageTable
from hlemu.memory import MemoryPermission as P
from hlemu.memory import MemoryState as S
from hlemu.memory.constants import FAST_EXEC, FAST_READ, FAST_WRITE, NUM_PAGES, SpecialKind

TOP = NUM_PAGES - 1  # the page at 0xFFFFF000


def page(table: PageTable, vpn: int, frame: int, perm: int, state: int = S.PRIVATE, special: int = 0,
         dirty: int = 0) -> None:
    table.frame[vpn], table.perm[vpn], table.state[vpn] = frame, perm, state
    table.special[vpn], table.wdirty[vpn] = special, dirty


def derived(table: PageTable, vpn: int) -> tuple[int, int]:
    table.derive(vpn, vpn + 1)
    return int(table.fast[vpn]), int(table.access[vpn])


@pytest.fixture(scope="module")
def table():
    return PageTable()


@pytest.mark.parametrize(("perm", "fast_bits"), [
    (P.R, FAST_READ),
    (P.RW, FAST_READ | FAST_WRITE),
    (P.RX, FAST_READ | FAST_EXEC),
    (P.R | P.W | P.X, FAST_READ | FAST_WRITE | FAST_EXEC),
    (P.W, 0),  # written but not readable: the slow path decides (ARM has no write-only pages)
    (P.X, FAST_EXEC),
    (P.NONE, 0),
])
def test_plain_memory_gets_the_bits_its_permission_allows(table, perm, fast_bits):
    page(table, 0x100, 0x1234, perm)
    assert derived(table, 0x100) == (0x1234 << 12 | fast_bits, fast_bits & (FAST_READ | FAST_WRITE))


def test_a_free_page_gets_nothing_even_with_a_frame_and_permission(table):
    page(table, 0x101, 0x55, P.RW, state=S.FREE)
    assert derived(table, 0x101) == (0, 0)


def test_an_unbacked_page_gets_nothing(table):
    page(table, 0x102, -1, P.R | P.W | P.X)
    assert derived(table, 0x102) == (0, 0)


def test_mmio_pages_always_take_the_slow_path(table):
    page(table, 0x103, 7, P.R | P.W | P.X, special=SpecialKind.MMIO)
    assert derived(table, 0x103) == (0, 0)


def test_watched_pages_read_and_execute_slowly_and_keep_their_frame(table):
    page(table, 0x104, 9, P.R | P.W | P.X, special=SpecialKind.WATCH)
    assert derived(table, 0x104) == (9 << 12, 0)


def test_a_clean_tracked_page_reads_fast_but_writes_slowly(table):
    page(table, 0x105, 3, P.RW, special=SpecialKind.TRACKED, dirty=0)
    assert derived(table, 0x105) == (3 << 12 | FAST_READ, FAST_READ)


def test_a_dirty_tracked_page_writes_fast(table):
    page(table, 0x106, 3, P.RW, special=SpecialKind.TRACKED, dirty=1)
    assert derived(table, 0x106) == (3 << 12 | FAST_READ | FAST_WRITE, FAST_READ | FAST_WRITE)


def test_derive_touches_only_its_range(table):
    for vpn in (0x200, 0x201, 0x202):
        page(table, vpn, vpn, P.RW)
        table.fast[vpn] = table.access[vpn] = 0
    table.derive(0x201, 0x202)
    assert [int(table.fast[v]) for v in (0x200, 0x201, 0x202)] == [0, 0x201 << 12 | FAST_READ | FAST_WRITE, 0]


def test_the_top_page_derives_like_any_other(table):
    page(table, TOP, 0x7FFF, P.RX)
    assert derived(table, TOP) == (0x7FFF << 12 | FAST_READ | FAST_EXEC, FAST_READ)
    page(table, TOP, -1, P.NONE, state=S.FREE)
    table.derive(TOP, TOP + 1)


def test_is_free_and_is_mapped_look_at_the_whole_range():
    t = PageTable()
    page(t, 10, 1, P.R)
    assert t.is_free(0, 10) and t.is_free(11, 20)
    assert not t.is_free(10, 11) and not t.is_free(9, 12)
    assert t.is_mapped(10, 11)
    assert not t.is_mapped(9, 11) and not t.is_mapped(10, 12)
    page(t, 11, 2, P.R)
    assert t.is_mapped(10, 12)
    assert t.mapped_pages().tolist() == [10, 11]


def regions_table() -> PageTable:
    """Pages 0x10-0x11 RW private, 0x12 R private, 0x13 R code; everything else free."""
    t = PageTable()
    for vpn, perm, state in ((0x10, P.RW, S.PRIVATE), (0x11, P.RW, S.PRIVATE), (0x12, P.R, S.PRIVATE),
                             (0x13, P.R, S.CODE)):
        page(t, vpn, vpn, perm, state)
    return t


def test_query_finds_the_run_of_equal_state_and_permission():
    t = regions_table()
    assert t.query(0x10000) == MemoryInfo(0x10000, 0x2000, P.RW, S.PRIVATE)
    assert t.query(0x11FFF) == MemoryInfo(0x10000, 0x2000, P.RW, S.PRIVATE)
    assert t.query(0x12000) == MemoryInfo(0x12000, 0x1000, P.R, S.PRIVATE)
    assert t.query(0x13800) == MemoryInfo(0x13000, 0x1000, P.R, S.CODE)


def test_query_of_free_space_runs_to_the_ends_of_the_address_space():
    t = regions_table()
    assert t.query(0) == MemoryInfo(0, 0x10000, P.NONE, S.FREE)
    assert t.query(0x0FFFF) == MemoryInfo(0, 0x10000, P.NONE, S.FREE)
    assert t.query(0x14000) == MemoryInfo(0x14000, (NUM_PAGES << 12) - 0x14000, P.NONE, S.FREE)
    assert t.query(0xFFFFFFFF) == t.query(0x14000)
    # an address beyond 32 bits wraps (the SVC passes a u32)
    assert t.query(0x1_0001_0000) == MemoryInfo(0x10000, 0x2000, P.RW, S.PRIVATE)


def test_query_of_the_last_and_first_pages_when_they_are_mapped():
    t = PageTable()
    page(t, 0, 0, P.R)
    page(t, TOP, 1, P.R)
    assert t.query(0) == MemoryInfo(0, 0x1000, P.R, S.PRIVATE)
    assert t.query(0xFFFFF123) == MemoryInfo(0xFFFFF000, 0x1000, P.R, S.PRIVATE)
    assert t.query(0x1000) == MemoryInfo(0x1000, 0xFFFFE000, P.NONE, S.FREE)


def test_regions_lists_each_run_in_order_and_the_free_ones_on_request():
    t = regions_table()
    assert t.regions() == [MemoryInfo(0x10000, 0x2000, P.RW, S.PRIVATE), MemoryInfo(0x12000, 0x1000, P.R, S.PRIVATE),
                           MemoryInfo(0x13000, 0x1000, P.R, S.CODE)]
    everything = t.regions(include_free=True)
    assert everything[0] == MemoryInfo(0, 0x10000, P.NONE, S.FREE)
    assert everything[1:4] == t.regions()
    assert everything[4] == MemoryInfo(0x14000, (NUM_PAGES << 12) - 0x14000, P.NONE, S.FREE)
    assert len(everything) == 5
    assert sum(r.size for r in everything) == 1 << 32


def test_memory_info_end_and_text():
    info = MemoryInfo(0x08000000, 0x3000, P.RW, S.PRIVATE)
    assert info.end == 0x08003000
    assert str(info) == "08000000-08002fff rw- private"
    assert str(MemoryInfo(0x100000, 0x1000, P.RX, S.CODE)) == "00100000-00100fff r-x code"
    assert str(MemoryInfo(0, 0x1000, P.W | P.X, S.FREE)) == "00000000-00000fff -wx free"


def test_the_closed_table_is_shared_empty_and_read_only():
    closed = PageTable.closed()
    assert PageTable.closed() is closed
    assert closed.regions() == [] and closed.is_free(0, NUM_PAGES)
    for array in (closed.frame, closed.perm, closed.state, closed.special, closed.wdirty, closed.fast, closed.access):
        assert not array.flags.writeable
    with pytest.raises(ValueError):
        closed.state[5] = 1

def test_a_freshly_made_closed_tables_item_views_are_read_only(monkeypatch):
    """(closed() builds the table once and keeps it: made anew here, so what builds it is tested.)"""
    monkeypatch.setattr(PageTable, "_closed", None)
    closed = PageTable.closed()
    # its item views (the few-page paths' plain-int access) are read-only too
    for name in ("frame", "perm", "state", "special", "wdirty", "fast", "access"):
        view = getattr(closed.items, name)
        assert view.readonly, name
        with pytest.raises(TypeError):
            view[5] = 1


def test_the_item_views_are_the_arrays_read_and_written_as_plain_ints():
    table = PageTable()
    v = table.items
    assert (v.frame.format, v.fast.format, v.state.format) == ("i", "I", "B")
    v.frame[7], v.fast[7], v.perm[7] = 123, 0xFFFFF003, int(P.RW)
    assert (int(table.frame[7]), int(table.fast[7]), int(table.perm[7])) == (123, 0xFFFFF003, 3)
    table.state[8] = int(S.PRIVATE)
    assert v.state[8] == int(S.PRIVATE) and v.frame[8] == -1 and isinstance(v.frame[8], int)


@pytest.mark.parametrize("seed", range(6))
def test_derive_over_many_pages_is_the_page_by_page_rule(seed):
    """derive() over more pages than it walks in plain ints (numpy slices) gives every page
    exactly what the page-by-page rule gives it: fields drawn at random, every state, special
    kind, permission and dirty bit, frames up to the top of the 20 bits."""
    rng = np.random.default_rng(seed)
    table, lo, hi = PageTable(), 0x1000, 0x1000 + 64
    n = hi - lo
    table.state[lo:hi] = rng.choice([0, 1, 5, 6, 11], n)
    table.frame[lo:hi] = np.where(rng.integers(0, 5, n) == 0, -1, rng.integers(0, 1 << 20, n))
    table.perm[lo:hi] = rng.integers(0, 8, n)
    table.special[lo:hi] = rng.choice([int(k) for k in SpecialKind], n)
    table.wdirty[lo:hi] = rng.integers(0, 2, n)
    table.derive(lo, hi)
    fast, access = table.fast[lo:hi].copy(), table.access[lo:hi].copy()
    table.fast[lo:hi], table.access[lo:hi] = 0, 0
    for vpn in range(lo, hi):
        table.derive(vpn, vpn + 1)  # one page: the plain-int rule
    assert table.fast[lo:hi].tolist() == fast.tolist()
    assert table.access[lo:hi].tolist() == access.tolist()
    assert fast.any() and (fast & 0xFFFFF000).any()  # (the draw is not all unmapped)


@pytest.mark.parametrize("where", [0, 3, 4, 9])
def test_is_free_and_is_mapped_over_many_pages_see_one_page(where):
    table = PageTable()
    lo, hi = 0x2000, 0x2000 + 10
    assert table.is_free(lo, hi) and not table.is_mapped(lo, hi)
    table.state[lo + where] = int(S.PRIVATE)
    assert not table.is_free(lo, hi) and not table.is_mapped(lo, hi)
    table.state[lo:hi] = int(S.SHARED)
    assert table.is_mapped(lo, hi) and not table.is_free(lo, hi)
    table.state[lo + where] = int(S.FREE)
    assert not table.is_mapped(lo, hi) and not table.is_free(lo, hi)
