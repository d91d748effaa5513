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


# -- search ------------------------------------------------------------------------------------
# What a search must return is written out here from its contract (MemoryPath.search: the
# addresses of ``pattern`` in readable memory within [start, end), each a multiple of ``align``,
# at most ``limit`` of them, lowest first), not taken from any path.

@pytest.mark.parametrize("path", PATHS)
def test_a_search_finds_a_match_at_address_0_and_at_the_first_byte_of_a_region(spaces, memory_system, path):
    sp = spaces("zero")
    sp.map(0, memory_system.phys.allocate("APPLICATION", 1), P.RW, S.PRIVATE)
    sp.map(BASE, memory_system.phys.allocate("APPLICATION", 1), P.RW, S.PRIVATE)
    sp.slow.write(0, b"KEY!")
    sp.slow.write(BASE, b"KEY!")
    mem = sp.path(path)
    assert mem.search(b"KEY!") == [0, BASE]
    assert mem.search(b"KEY!", start=0, end=4) == [0]
    assert mem.search(b"KEY!", start=-8) == [0, BASE]
    assert mem.search(b"KEY!", start=1) == [BASE]


@pytest.mark.parametrize("path", PATHS)
def test_an_unaligned_match_does_not_hide_an_aligned_one_a_byte_later(space, path):
    space.slow.write(BASE + 0x103, b"AAA")  # "AA" at 0x103 (unaligned) and at 0x104
    assert space.path(path).search(b"AA", start=BASE, end=BASE + 0x200, align=4) == [BASE + 0x104]
    assert space.path(path).search(b"AA", start=BASE, end=BASE + 0x200, align=2) == [BASE + 0x104]
    assert space.path(path).search(b"AA", start=BASE, end=BASE + 0x200) == [BASE + 0x103, BASE + 0x104]


@pytest.mark.parametrize("path", PATHS)
def test_a_search_with_more_than_65536_matches_returns_each_once_up_to_the_limit(spaces, memory_system, path):
    """0x20000 zero bytes: 0x20000 matches of one zero byte (the compiled paths search in chunks of
    65536 results; the answer must not show where a chunk ended)."""
    sp = spaces("zeros")
    sp.map(BASE, memory_system.phys.allocate("APPLICATION", 32), P.RW, S.PRIVATE)
    mem = sp.path(path)
    assert mem.search(b"\0", limit=70000) == list(range(BASE, BASE + 70000))
    assert mem.search(b"\0", limit=1 << 20) == list(range(BASE, BASE + 0x20000))
    assert mem.search(b"\0\0", align=2, limit=1 << 20) == list(range(BASE, BASE + 0x20000, 2))


# -- widths, sizes and batches -------------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
def test_written_values_are_taken_modulo_their_width(space, path):
    mem = space.path(path)
    cases = [(1, -1, 0xFF), (2, -2, 0xFFFE), (2, 0x12345, 0x2345), (4, (1 << 32) | 7, 7), (4, 0x89ABCDEF, 0x89ABCDEF),
             (8, (1 << 64) + 5, 5), (8, -1, (1 << 64) - 1), (8, 0x0123456789ABCDEF, 0x0123456789ABCDEF)]
    for width, value, stored in cases:
        space.slow.write(BASE + 0x30, b"\xEE" * 16)
        mem.write_int(BASE + 0x34, width, value)
        assert space.slow.read(BASE + 0x30, 16) == b"\xEE" * 4 + stored.to_bytes(width, "little") \
            + b"\xEE" * (12 - width), (width, value)


@pytest.mark.parametrize("path", PATHS)
def test_zero_byte_reads_and_copies_are_empty(space, path):
    space.slow.write(BASE, b"abcd")
    mem = space.path(path)
    assert mem.read(BASE, 0) == b""
    mem.copy_from(space, BASE, BASE + 8, 0)
    assert space.slow.read(BASE, 12) == b"abcd" + bytes(8)


@pytest.mark.parametrize("path", PATHS)
def test_a_batch_whose_first_address_needs_slowmem_is_read_and_written_whole(space, path):
    """A watched page goes through slowmem (AddressSpace.watch): the batch's first entry here, then
    plain memory; every entry read, every entry written, the watchpoint told of its one word."""
    hits = []
    space.slow.write(BASE + 0x1000, bytes(range(1, 17)))
    space.slow.write32(BASE + 0x10, 0xA5A5A5A5)
    space.watch(BASE + 0x10, 4, hits.append, on="rw")
    mem = space.path(path)
    addrs = np.array([BASE + 0x10, BASE + 0x1000, BASE + 0x1004, BASE + 0x1008], dtype=np.uint32)
    assert mem.read_batch(addrs, width=4).tolist() == [0xA5A5A5A5, 0x04030201, 0x08070605, 0x0C0B0A09]
    mem.write_batch(addrs, [0x11111111, 0x22222222, 0x33333333, 0x44444444], width=4)
    assert [space.slow.read32(int(a)) for a in addrs] == [0x11111111, 0x22222222, 0x33333333, 0x44444444]
    assert [(hit.address, hit.kind) for hit in hits] == [(BASE + 0x10, "read"), (BASE + 0x10, "write"),
                                                         (BASE + 0x10, "read")]


@pytest.mark.parametrize("path", PATHS)
def test_bulk_moves_follow_each_page_where_runs_of_consecutive_frames_break(spaces, memory_system, path):
    """read, write and copy_from over pages whose frames run consecutively, then jump (back,
    then forward): semifastmem moves a run of consecutive frames in one piece, and must start
    a new piece at each jump. Every byte lands where the page table says."""
    frames = memory_system.phys.allocate("APPLICATION", 12, contiguous=True)
    src_order, dst_order = [0, 1, 2, 7, 8, 3], [11, 10, 4, 5, 6, 9]  # runs 0-2, 7-8, 3; 10 after 11; 4-6
    src, dst = spaces("src"), spaces("dst")
    for sp, order in ((src, src_order), (dst, dst_order)):
        for i, index in enumerate(order):
            sp.map(BASE + i * 0x1000, frames[index : index + 1], P.RW, S.PRIVATE)
    data = np.random.default_rng(5).integers(0, 256, 6 * 0x1000, dtype=np.uint8).tobytes()
    src.path(path).write(BASE + 0x10, data[: 6 * 0x1000 - 0x20])
    for i, index in enumerate(src_order):  # each page's bytes are in its own frame
        lo = 0x10 if i == 0 else 0
        hi = 0x1000 - 0x10 if i == 5 else 0x1000
        got = bytes(memory_system.phys.data[int(frames[index]) * 0x1000 + lo : int(frames[index]) * 0x1000 + hi])
        assert got == data[i * 0x1000 + lo - 0x10 : i * 0x1000 + hi - 0x10]
    assert src.path(path).read(BASE + 0x10, len(data) - 0x20) == data[: len(data) - 0x20]
    dst.path(path).copy_from(src, BASE + 0x123, BASE + 0x45, 5 * 0x1000)
    assert dst.slow.read(BASE + 0x45, 5 * 0x1000) == src.slow.read(BASE + 0x123, 5 * 0x1000)
    assert dst.slow.read(BASE, 0x45) == bytes(0x45)  # nothing before it


class _Counter:
    """An MMIO handler that answers each read with its address and logs it."""

    def __init__(self) -> None:
        self.reads: list[tuple[int, int]] = []

    def read(self, space, vaddr, size):  # noqa: ANN001, ANN201 - the MmioHandler protocol
        self.reads.append((vaddr, size))
        return vaddr * 3

    def write(self, space, vaddr, size, value):  # noqa: ANN001, ANN201
        raise AssertionError("not written")


@pytest.mark.parametrize("backend", PATHS)
def test_read_word_reads_what_read32_reads_faults_and_handlers_alike(spaces, memory_system, backend):
    """AddressSpace.read_word (a one-handle ReplyAndReceive, WaitIfLessThan) is read32 of the
    space's path: plain words from physical memory, a page-crossing word, a read-only page,
    MMIO (the handler called once, as read32 calls it) and unmapped memory (the same fault)."""
    sp = spaces("words")
    sp.mem = sp.path(backend)
    frames = memory_system.phys.allocate("APPLICATION", 5, contiguous=True)
    sp.map(BASE, frames[[0, 2]], P.RW, S.PRIVATE)  # not consecutive: a crossing word must not run on
    sp.map(BASE + 0x2000, frames[4:], P.R, S.PRIVATE)
    handler = _Counter()
    sp.map_mmio(BASE + 0x3000, 0x1000, handler)
    sp.poke(BASE, bytes(range(256)) * 48)
    for addr in (BASE, BASE + 0x44, BASE + 0xFFC, BASE + 0xFFE, BASE + 0x1FFF, BASE + 0x2010, BASE + 0x2FFC):
        assert sp.read_word(addr) == sp.slow.read32(addr), hex(addr)
    assert sp.read_word(BASE + 0xFFE) == int.from_bytes(sp.slow.read(BASE + 0xFFE, 4), "little")
    assert sp.read_word(BASE + 0x3008) == ((BASE + 0x3008) * 3) & 0xFFFFFFFF
    assert handler.reads == [(BASE + 0x3008, 4)]
    with pytest.raises(GuestFault) as exc:
        sp.read_word(BASE + 0x5000)
    with pytest.raises(GuestFault) as expected:
        sp.slow.read32(BASE + 0x5000)
    assert str(exc.value) == str(expected.value)
    assert sp.read_word((1 << 32) + BASE + 0x44) == sp.slow.read32(BASE + 0x44)  # taken modulo 4 GiB
    memory_system.phys.free(frames[[1, 3]])  # never mapped: the spaces fixture frees only mapped frames
