"""Special pages, fault accounting, batches and search on each path."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.memory import FaultKind, GuestFault, WriteTracker
from hlemu.memory import MemoryPermission as P
from hlemu.memory import MemoryState as S

PATHS = ["slowmem", "semifastmem", "fastmem"]


class Counter:
    """An MMIO register block: reads return a counter, writes are logged."""

    def __init__(self):
        self.reads = 0
        self.writes = []

    def read(self, space, vaddr, size):
        self.reads += 1
        return 0x1000 + self.reads

    def write(self, space, vaddr, size, value):
        self.writes.append((vaddr, size, value))


@pytest.fixture
def world(spaces, memory_system):
    sp = spaces("w")
    sp.map(0x08000000, memory_system.phys.allocate("APPLICATION", 4), P.RW, S.PRIVATE)
    sp.protect(0x08003000, 0x1000, P.R)
    regs = Counter()
    sp.map_mmio(0x1EC00000, 0x1000, regs)
    return sp, regs


@pytest.mark.parametrize("path", PATHS)
def test_mmio_reads_and_writes_reach_the_handler_and_are_counted(world, path):
    sp, regs = world
    mem = sp.path(path)
    assert mem.read32(0x1EC00010) == 0x1001
    mem.write16(0x1EC00020, 0xBEEF)
    assert regs.writes == [(0x1EC00020, 2, 0xBEEF)]
    assert sp.faults.page(0x1EC00000)["special"] == 2
    assert sp.faults.totals()["special"] == 2


@pytest.mark.parametrize("path", PATHS)
def test_faults_carry_process_address_size_access_and_are_counted(world, path):
    sp, _ = world
    mem = sp.path(path)
    with pytest.raises(GuestFault) as exc:
        mem.write32(0x08003ffe, 1)  # RW page? no: 0x08003000 is read-only
    assert exc.value.key() == (sp.pid, 0x08003FFE, 4, "write", "permission", 0x08003FFE)
    with pytest.raises(GuestFault) as exc:
        mem.read64(0x08003ffc)  # crosses from a readable page into the unmapped one
    assert (exc.value.kind, exc.value.fault_address) == ("unmapped", 0x08004000)
    assert "page 0x08004000 is unmapped" in str(exc.value)
    assert sp.faults.totals() == {"unmapped": 1, "permission": 1, "special": 0, "write_track": 0, "tlb_fill": 0}
    assert sp.faults.pages_with_faults(FaultKind.UNMAPPED).tolist() == [0x08004]


@pytest.mark.parametrize("path", PATHS)
def test_failed_page_crossing_write_changes_nothing(world, path):
    sp, _ = world
    mem = sp.path(path)
    mem.write32(0x08002ffc, 0x01020304)
    with pytest.raises(GuestFault):
        mem.write64(0x08002ffc, 0xFFFFFFFFFFFFFFFF)  # second half lands on the read-only page
    assert mem.read32(0x08002ffc) == 0x01020304


@pytest.mark.parametrize("path", PATHS)
def test_write_tracking_faults_once_per_page_until_rearmed(spaces, memory_system, path):
    sp = spaces()
    sp.map(0x1F000000, memory_system.phys.allocate("VRAM", 4), P.RW, S.IO)
    tracker = WriteTracker("fb")
    seen = []
    tracker.subscribe(lambda t, vaddr: seen.append(vaddr))
    sp.track_writes(0x1F000000, 0x4000, tracker)
    mem = sp.path(path)
    for i in range(100):
        mem.write32(0x1F001000 + 4 * i, i)
    mem.write(0x1F002ff0, bytes(32))  # dirties pages 2 and 3
    assert seen == [0x1F001000, 0x1F002000, 0x1F003000]
    assert tracker.dirty_ranges(sp.pid) == [(0x1F001000, 0x3000)]
    assert sp.faults.totals()["write_track"] == 3
    assert tracker.rearm() == 3
    mem.write8(0x1F001000, 1)
    assert sp.faults.totals()["write_track"] == 4
    assert mem.read32(0x1F001004) == 1  # the data written while dirty is there


@pytest.mark.parametrize("path", PATHS)
def test_a_write_over_many_tracked_pages_notes_them_together_with_the_same_books(spaces, memory_system, path):
    """A framebuffer-sized write: each clean page faults once, in order, the dirty one does not,
    the data lands, and the space's listeners hear one change for the run (not one a page)."""
    sp = spaces()
    sp.map(0x1F000000, memory_system.phys.allocate("VRAM", 8), P.RW, S.IO)
    tracker = WriteTracker("fb")
    seen, changes = [], []
    tracker.subscribe(lambda t, vaddr: seen.append(vaddr))
    sp.track_writes(0x1F000000, 0x6000, tracker)  # the last two pages plain
    mem = sp.path(path)
    mem.write8(0x1F002000, 7)  # page 2 dirty already
    del seen[:]
    sp.listeners.append(lambda lo, hi, plain: changes.append((lo, hi)))
    remapped = []
    if sp.slab is not None:  # the pages keep their frames: only their host protection changes
        real = sp.slab.map_frames
        sp.slab.map_frames = lambda *a, **k: remapped.append(a) or real(*a, **k)
    data = np.arange(0x7000, dtype=np.uint32).astype(np.uint8)
    mem.write(0x1F000800, data)  # pages 0-7: 0, 1, 3, 4, 5 clean tracked, 2 dirty, 6 and 7 plain
    assert not remapped
    assert sp.table.wdirty[0x1F000:0x1F008].tolist() == [1, 1, 1, 1, 1, 1, 0, 0]
    assert seen == [0x1F000000, 0x1F001000, 0x1F003000, 0x1F004000, 0x1F005000]
    assert changes == [(0x1F000, 0x1F002), (0x1F003, 0x1F006)]
    assert [sp.faults.page(0x1F000000 + (i << 12))["write_track"] for i in range(8)] == [1, 1, 1, 1, 1, 1, 0, 0]
    assert mem.read(0x1F000800, 0x7000) == data.tobytes()
    assert tracker.dirty_ranges(sp.pid) == [(0x1F000000, 0x6000)]


@pytest.mark.parametrize("path", PATHS)
def test_a_write_over_pages_whose_frames_are_not_in_order_lands_on_each(spaces, memory_system, path):
    sp = spaces()
    frames = memory_system.phys.allocate("VRAM", 4)
    for i, frame in enumerate([frames[2], frames[3], frames[0], frames[1]]):  # runs of two
        sp.map(0x1F000000 + (i << 12), [frame], P.RW, S.IO)
    sp.track_writes(0x1F000000, 0x4000, WriteTracker("fb"))
    data = np.random.default_rng(5).integers(0, 256, 0x3800, dtype=np.uint8)
    sp.path(path).write(0x1F000400, data)
    assert sp.path(path).read(0x1F000400, 0x3800) == data.tobytes()
    phys = memory_system.phys.data
    assert phys[frames[2] * 0x1000 + 0x400 : frames[2] * 0x1000 + 0x1000].tobytes() == data[:0xC00].tobytes()
    assert phys[frames[0] * 0x1000 : frames[0] * 0x1000 + 0x1000].tobytes() == data[0x1C00:0x2C00].tobytes()


@pytest.mark.parametrize("path", PATHS)
def test_a_write_over_tracked_and_watched_pages_notes_each_in_its_turn(spaces, memory_system, path):
    sp = spaces()
    sp.map(0x1F000000, memory_system.phys.allocate("VRAM", 4), P.RW, S.IO)
    tracker = WriteTracker("fb")
    events = []
    tracker.subscribe(lambda t, vaddr: events.append(("dirty", vaddr)))
    sp.track_writes(0x1F000000, 0x2000, tracker)
    sp.watch(0x1F002000, 4, lambda *a: events.append(("watch", a[1] if len(a) > 1 else None)))
    sp.track_writes(0x1F003000, 0x1000, tracker)
    sp.path(path).write(0x1F000000, bytes(0x4000))
    assert [e[0] for e in events] == ["dirty", "dirty", "watch", "dirty"]


@pytest.mark.parametrize("path", PATHS)
def test_batches_match_scalar_reads_and_stop_at_a_fault(world, path):
    sp, _ = world
    mem = sp.path(path)
    addrs = np.array([0x08000000, 0x08000ffe, 0x08001001, 0x08003000], dtype=np.uint32)
    mem.write_batch(addrs[:3], np.array([0x11111111, 0x22222222, 0x33333333]), width=4)
    assert mem.read_batch(addrs, width=4).tolist() == [sp.slow.read32(int(a)) for a in addrs]
    assert mem.read_batch(addrs[:2], width=2).tolist() == [0x1111, 0x2222]
    with pytest.raises(GuestFault):
        mem.read_batch(np.array([0x08000000, 0x09000000], dtype=np.uint32))


@pytest.mark.parametrize("path", PATHS)
def test_search_finds_patterns_across_pages_and_skips_mmio(world, path):
    sp, regs = world
    mem = sp.path(path)
    sp.slow.write(0x08000ffd, b"needle")  # straddles two pages
    sp.slow.write(0x08002010, b"needle")
    sp.slow.write32(0x08001008, 0xCAFEBABE)
    assert mem.search(b"needle") == [0x08000FFD, 0x08002010]
    assert mem.search(b"needle", start=0x08001000) == [0x08002010]
    assert mem.search(b"needle", limit=1) == [0x08000FFD]
    assert mem.search_value(0xCAFEBABE) == [0x08001008]
    assert mem.search_value(0xCAFEBABE, align=8) == [0x08001008]
    assert mem.search(b"\x01", start=0x1EC00000, end=0x1EC01000) == []
    assert regs.reads == 0


@pytest.mark.parametrize("path", PATHS)
def test_strings_and_copies_between_processes(spaces, memory_system, path):
    a, b = spaces("a"), spaces("b")
    a.map(0x08000000, memory_system.phys.allocate("APPLICATION", 2), P.RW, S.PRIVATE)
    b.map(0x00100000, memory_system.phys.allocate("APPLICATION", 2), P.RW, S.PRIVATE)
    a.slow.write(0x08000ff8, b"hello, world\0")
    dst = b.path(path)
    dst.copy_from(a, 0x08000ff0, 0x00100100, 0x20)
    assert dst.read_string(0x00100108) == "hello, world"
    assert dst.read_string(0x00100108, max_len=5) == "hello"
    with pytest.raises(GuestFault):
        dst.copy_from(a, 0x08001ff0, 0x00100000, 0x20)  # source runs off the end


@pytest.mark.parametrize("path", PATHS)
def test_bad_widths_are_host_errors(world, path):
    mem = world[0].path(path)
    with pytest.raises(ValueError, match="width"):
        mem.read_int(0x08000000, 3)
    with pytest.raises(ValueError, match="width"):
        mem.read_batch(np.zeros(1, dtype=np.uint32), width=5)
