"""PageTable.derive, is_free and is_mapped go page by page for a few pages: the same answers as the
array path."""

from __future__ import annotations

import numpy as np

from hlemu.memory.pagetable import PageTable


def test_page_by_page_derive_matches_the_array_path():
    rng = np.random.default_rng(15)
    count = 4096
    table = PageTable()
    table.frame[:count] = rng.integers(-1, 1 << 15, count)
    table.perm[:count] = rng.integers(0, 8, count)
    table.state[:count] = rng.choice([0, 1, 3, 5, 6, 9], count)
    table.special[:count] = rng.integers(0, 5, count)
    table.wdirty[:count] = rng.integers(0, 2, count)
    table.derive(0, count)  # the array path (more than a few pages)
    fast, access = table.fast[:count].copy(), table.access[:count].copy()
    table.fast[:count] = 0xDEAD
    table.access[:count] = 0xFF
    for vpn in range(0, count, 3):
        table.derive(vpn, min(vpn + 3, count))  # page by page
    assert np.array_equal(table.fast[:count], fast)
    assert np.array_equal(table.access[:count], access)


def test_page_by_page_free_and_mapped_queries_match_the_array_path():
    table = PageTable()
    table.state[10:13] = 1
    for lo in range(6, 16):
        for hi in range(lo, lo + 5):
            assert table.is_free(lo, hi) == (not table.state[lo:hi].any()), (lo, hi)
            assert table.is_mapped(lo, hi) == bool((table.state[lo:hi] != 0).all()), (lo, hi)
