"""The access paths' small cases, on every path: what mutants of hlemu/memory/paths.py
(scripts/mutation.py) showed no test pinning down. The three paths must agree (DESIGN.md), so
each case runs on each of them."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.memory import GuestFault
from hlemu.memory import MemoryPermission as P
from hlemu.memory import MemoryState as S

PATHS = ["slowmem", "semifastmem", "fastmem"]
BASE = 0x08000000
TOP_PAGE = 0xFFFFF000


@pytest.fixture
def space(spaces, memory_system):
    sp = spaces("paths")
    sp.map(BASE, memory_system.phys.allocate("APPLICATION", 2), P.RW, S.PRIVATE)
    return sp


@pytest.mark.parametrize("path", PATHS)
def test_byte_accesses_touch_one_byte(space, path):
    mem = space.path(path)
    space.slow.write(BASE + 0x10, b"\x11\x22\x33")
    assert mem.read8(BASE + 0x10) == 0x11
    mem.write8(BASE + 0x11, 0x1FF)  # the value is taken modulo 256
    assert space.slow.read(BASE + 0x10, 3) == b"\x11\xff\x33"


@pytest.mark.parametrize("path", PATHS)
def test_an_empty_string_is_empty(space, path):
    space.slow.write(BASE + 0x20, b"\0abc\0")
    assert space.path(path).read_string(BASE + 0x20) == ""


@pytest.mark.parametrize("path", PATHS)
def test_a_string_without_its_nul_stops_at_the_top_of_the_address_space(spaces, memory_system, path):
    sp = spaces("top")
    sp.map(TOP_PAGE, memory_system.phys.allocate("APPLICATION", 1), P.RW, S.PRIVATE)
    sp.slow.write(TOP_PAGE, b"x" * 0x1000)
    assert sp.path(path).read_string(TOP_PAGE + 0xF00) == "x" * 0x100  # no wrap to address 0


@pytest.mark.parametrize("path", PATHS)
def test_a_read_batch_refuses_an_out_array_of_the_wrong_kind(space, path):
    mem = space.path(path)
    addrs = np.array([BASE, BASE + 4], dtype=np.uint32)
    for out in (np.zeros(2, dtype=np.uint16), np.zeros(3, dtype=np.uint32), np.zeros(4, dtype=np.uint32)[::2]):
        with pytest.raises(ValueError, match="out must be"):
            mem.read_batch(addrs, width=4, out=out)


@pytest.mark.parametrize("path", PATHS)
def test_an_access_past_4_gib_faults_at_address_0(space, path):
    with pytest.raises(GuestFault) as exc:
        space.path(path).read(0xFFFFFFF0, 0x20)
    assert (exc.value.kind, exc.value.fault_address) == ("unmapped", 0)


@pytest.mark.parametrize("path", PATHS)
def test_a_read_of_a_watched_page_returns_the_memory_and_tells_the_watchpoint(space, path):
    hits = []
    space.slow.write32(BASE + 0x40, 0xFEEDFACE)
    space.watch(BASE + 0x40, 4, hits.append, on="r")
    assert space.path(path).read32(BASE + 0x40) == 0xFEEDFACE
    assert [(hit.address, hit.size, hit.kind) for hit in hits] == [(BASE + 0x40, 4, "read")]


@pytest.mark.parametrize("path", PATHS)
def test_batch_addresses_are_taken_modulo_2_32_even_past_64_bits(space, path):
    space.slow.write32(BASE + 8, 0x12345678)
    values = space.path(path).read_batch([BASE + 8 + (1 << 64), BASE + 8 + (5 << 32)], width=4)
    assert values.tolist() == [0x12345678, 0x12345678]
