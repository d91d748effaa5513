"""Host slabs: guest vaddr v at slab + v, shared frames, host protection mirroring the table."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from hlemu.memory import GuestFault, MapError, WriteTracker
from hlemu.memory import MemoryPermission as P
from hlemu.memory import MemoryState as S
from hlemu.memory.constants import FAST_WRITE
from hlemu.memory.slab import PROT_READ, PROT_RW


class Register:
    def read(self, space, vaddr, size):
        return 0x11223344

    def write(self, space, vaddr, size, value):
        pass


def host_prot(space, vaddr):
    """The host protection of slab + vaddr, read from /proc/self/maps."""
    addr = space.slab.base + vaddr
    with open("/proc/self/maps") as maps:
        for line in maps:
            span, perms = line.split()[:2]
            lo, hi = (int(x, 16) for x in span.split("-"))
            if lo <= addr < hi:
                return perms[:2]
    raise AssertionError("slab address not mapped at all")


def test_two_processes_see_each_others_writes_at_different_addresses(spaces, memory_system):
    a, b = spaces("a"), spaces("b")
    frames = memory_system.phys.allocate("APPLICATION", 2)
    a.map(0x10000000, frames, P.RW, S.SHARED)
    b.map(0x10800000, frames, P.RW, S.SHARED)
    ctypes.memmove(a.slab.base + 0x10000ffe, b"\x01\x02\x03\x04", 4)  # through the host MMU, crossing pages
    assert b.slab.view[0x10800ffe : 0x10801002].tobytes() == b"\x01\x02\x03\x04"
    b.fast.write32(0x10801000, 0xDEADBEEF)
    assert a.fast.read32(0x10001000) == 0xDEADBEEF
    assert a.semifast.read32(0x10001000) == 0xDEADBEEF


def test_host_protection_mirrors_the_page_table(spaces, memory_system):
    sp = spaces()
    sp.map(0x08000000, memory_system.phys.allocate("APPLICATION", 3), P.RW, S.PRIVATE)
    sp.protect(0x08001000, 0x1000, P.R)
    sp.protect(0x08002000, 0x1000, P.NONE)
    # A page of a small mapping losing all access parks lazily: its host protection stays
    # until settle() (the table's access byte already refuses it on every path).
    assert sp.slab.open_parked == {0x08002: PROT_RW}
    with pytest.raises(GuestFault):
        sp.fast.read8(0x08002000)
    sp.slab.settle()
    assert sp.slab.open_parked == {}
    assert [host_prot(sp, 0x08000000 + i * 0x1000) for i in range(3)] == ["rw", "r-", "--"]
    sp.map_mmio(0x1EC00000, 0x1000, Register())
    assert host_prot(sp, 0x1EC00000) == "--"  # MMIO is never touched through the slab
    sp.unmap(0x08000000, 0x1000)
    sp.slab.settle()
    assert host_prot(sp, 0x08000000) == "--"


def test_write_tracked_pages_are_read_only_until_written(spaces, memory_system):
    sp = spaces()
    sp.map(0x1F000000, memory_system.phys.allocate("VRAM", 2), P.RW, S.IO)
    tracker = WriteTracker("fb")
    sp.track_writes(0x1F000000, 0x2000, tracker)
    assert host_prot(sp, 0x1F000000) == "r-"
    sp.fast.write8(0x1F000010, 1)  # faults into slowmem once, then the page is writable
    assert host_prot(sp, 0x1F000000) == "rw" and host_prot(sp, 0x1F001000) == "r-"
    tracker.rearm()
    # Clean again: the table refuses writes at once; the lazy slab keeps the host's write
    # access (Slab.protect) until it is settled.
    assert sp.slab.loose == {0x1F000: (PROT_RW, PROT_READ)}
    assert host_prot(sp, 0x1F000000) == "rw"
    sp.slab.settle()
    assert sp.slab.loose == {} and host_prot(sp, 0x1F000000) == "r-"


def test_a_tracked_page_opened_and_closed_every_frame_costs_the_lazy_slab_no_mprotect(
        spaces, memory_system, monkeypatch):
    """A framebuffer page: its first write each frame makes it dirty, the VBlank's re-arm makes
    it clean. After the first frame neither changes the host protection of a lazy slab, yet
    every first write still reaches slowmem (a write-tracking fault, the tracker told); once
    fastmem_trap (whose only check is the host MMU) uses the slab, a re-arm protects at once."""
    from hlemu.memory import FaultKind
    from hlemu.memory import slab as slab_module

    sp = spaces()
    sp.map(0x1F000000, memory_system.phys.allocate("VRAM", 2), P.RW, S.IO)
    tracker = WriteTracker("fb")
    sp.track_writes(0x1F000000, 0x2000, tracker)
    calls: list[tuple[int, int, int]] = []
    real = slab_module.Slab._mprotect

    def counted(self, vpn: int, count: int, prot: int) -> None:  # noqa: ANN001
        calls.append((vpn, count, prot))
        real(self, vpn, count, prot)

    monkeypatch.setattr(slab_module.Slab, "_mprotect", counted)
    frames = 5
    for frame in range(frames):
        sp.fast.write8(0x1F000010, frame)
        assert tracker.dirty == {sp.pid: {0x1F000}}
        tracker.rearm()
    assert calls == [(0x1F000, 1, PROT_RW)]  # the first frame's opening, nothing after it
    assert int(sp.faults.array[FaultKind.WRITE_TRACK][0x1F000]) == frames
    assert sp.fast.read8(0x1F000010) == frames - 1
    assert not sp.table.access[0x1F000] & FAST_WRITE  # clean: the table sends the next write to slowmem
    assert sp.path("fastmem_trap").read_int is not None  # built: it settles the slab
    assert calls[1:] == [(0x1F000, 1, PROT_READ)] and sp.slab.loose == {} and not sp.slab.lazy
    calls.clear()
    sp.path("fastmem_trap").write8(0x1F000010, 7)  # the host MMU traps it; slowmem marks it dirty
    tracker.rearm()
    assert (0x1F000, 1, PROT_READ) == calls[-1] and host_prot(sp, 0x1F000000) == "r-"


def test_unmapped_slab_pages_read_nothing_and_hold_no_memory(spaces, memory_system):
    sp = spaces()
    frames = memory_system.phys.allocate("APPLICATION", 1)
    memory_system.phys.data[int(frames[0]) * 4096] = 0x77
    sp.map(0x08000000, frames, P.RW, S.PRIVATE)
    assert sp.slab.view[0x08000000] == 0x77
    sp.unmap(0x08000000, 0x1000)
    assert sp.table.access[0x08000000 >> 12] == 0  # so compiled fastmem never touches it
    assert sp.slab.open_parked == {0x08000: PROT_RW}  # parked lazily (Slab.release) until settled
    sp.slab.settle()
    assert host_prot(sp, 0x08000000) == "--"


def test_closed_slab_refuses_work(memory_system):
    sp = memory_system.create_space(777, with_slab=True)
    memory_system.destroy_space(777)
    assert sp.slab is None and sp.fast is None
    with pytest.raises(Exception, match="no slab"):
        sp.path("fastmem")


def test_a_long_sync_keeps_each_page_on_its_frame_and_its_protection(spaces, memory_system):
    # One change over more pages than the plain-list path takes (space._SMALL_SYNC), on frames
    # out of order and with protections changing in runs (a save state's pages load so): each
    # page must show its own frame's bytes through the slab, with the host protection its
    # permission gives.
    from hlemu.memory.space import _SMALL_SYNC

    count = 2 * _SMALL_SYNC + 11  # the last run readable and writable (a run with no access is only released)
    sp = spaces()
    frames = memory_system.phys.allocate("APPLICATION", count + 1, contiguous=True)
    turn = _SMALL_SYNC + 1  # not at a change of protection (those come every 5 pages)
    # the first pages reversed, then in order, but one frame passed over inside a run (frames
    # two apart are not consecutive either)
    order = np.concatenate([frames[:turn][::-1], frames[turn:31], frames[32:]])
    for k, f in enumerate(order):
        memory_system.phys.data[int(f) << 12 : (int(f) << 12) + 4] = [k, 0xA5, k, 0x5A]
    perms = [P.R if (k // 5) % 3 == 0 else P.NONE if (k // 5) % 3 == 1 else P.RW for k in range(count)]
    base = 0x08000000
    vpns = np.arange(base >> 12, (base >> 12) + count)
    memory_system.phys.map_count[order] += 1  # load_pages leaves map counts to its caller
    memory_system.phys.free([int(frames[31])])
    sp.load_pages(vpns, frame=order.astype(np.int32), perm=np.array([int(p) for p in perms], np.uint8),
                  state=np.full(count, int(S.PRIVATE), np.uint8), special=np.zeros(count, np.uint8),
                  wdirty=np.zeros(count, np.uint8))
    want = {P.R: "r-", P.NONE: "--", P.RW: "rw"}
    assert [host_prot(sp, base + (k << 12)) for k in range(count)] == [want[p] for p in perms]
    assert host_prot(sp, base + (count << 12)) == "--"  # nothing past the range
    for k in range(count):
        if perms[k] != P.NONE:  # (a page with no access cannot be read from the host)
            assert sp.slab.view[base + (k << 12) : base + (k << 12) + 4].tolist() == [k, 0xA5, k, 0x5A], k
    sp.unmap(base, count << 12)


def _mapping_of(space, vaddr):
    """What /proc/self/maps says of slab + vaddr: its protection, and the offset of the physical
    memory's memfd mapped there (None: the bare reservation, no file behind it)."""
    addr = space.slab.base + vaddr
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if lo <= addr < hi:
                backed = len(fields) > 5 and "memfd" in fields[5]
                return fields[1][:2], int(fields[2], 16) + (addr - lo) if backed else None
    raise AssertionError("slab address not mapped at all")


def test_an_ipc_buffer_mapped_again_to_the_same_frame_reuses_its_parked_mapping(spaces, memory_system):
    sp = spaces()
    frames = memory_system.phys.allocate("APPLICATION", 2)
    memory_system.phys.data[int(frames[0]) << 12] = 0x5A
    memory_system.phys.data[int(frames[1]) << 12] = 0xA5
    sp.map(0x04000000, frames[:1], P.RW, S.SHARED)
    mappings = sp.slab.mappings
    sp.unmap(0x04000000, 0x1000)
    # unmapped: parked lazily, the frame kept behind it with its host protection (no mprotect);
    # the page table refuses it on every path
    assert _mapping_of(sp, 0x04000000) == ("rw", int(frames[0]) << 12)
    assert sp.slab.parked == 1 and sp.slab.open_parked == {0x04000: PROT_RW}
    with pytest.raises(GuestFault):
        sp.fast.read8(0x04000000)
    sp.map(0x04000000, frames[:1], P.R, S.SHARED)  # the same frame, less access: one mprotect, no mmap
    assert sp.slab.mappings == mappings and sp.slab.unparks == 1 and sp.slab.open_parked == {}
    assert _mapping_of(sp, 0x04000000) == ("r-", int(frames[0]) << 12)
    assert sp.fast.read8(0x04000000) == 0x5A
    sp.unmap(0x04000000, 0x1000)
    sp.slab.settle()  # now no access from the host (nor, so, from fastmem or Unicorn)
    assert _mapping_of(sp, 0x04000000) == ("--", int(frames[0]) << 12)
    sp.map(0x04000000, frames[1:], P.RW, S.SHARED)  # another frame there: mapped afresh
    assert sp.slab.mappings == mappings + 1 and sp.slab.parked == 0
    assert _mapping_of(sp, 0x04000000) == ("rw", int(frames[1]) << 12)
    assert sp.fast.read8(0x04000000) == 0xA5


def test_parked_pages_are_bounded_so_a_long_session_does_not_grow(spaces, memory_system):
    from hlemu.memory.slab import PARK_LIMIT

    sp = spaces()
    frames = memory_system.phys.allocate("APPLICATION", 1)
    for page in range(3 * PARK_LIMIT):  # a buffer at a new address every time
        sp.map(0x04000000 + page * 0x1000, frames, P.RW, S.SHARED)
        sp.unmap(0x04000000 + page * 0x1000, 0x1000)
    assert sp.slab.parked == PARK_LIMIT and len(sp.slab.open_parked) == PARK_LIMIT
    sp.slab.settle()
    assert host_prot(sp, 0x04000000) == "--"  # the oldest went back to the bare reservation
    assert _mapping_of(sp, 0x04000000) == ("--", None)
    assert _mapping_of(sp, 0x04000000 + (3 * PARK_LIMIT - 1) * 0x1000) == ("--", int(frames[0]) << 12)


def test_a_lazy_park_costs_no_mprotect_and_a_trap_path_protects_parked_pages(spaces, memory_system, monkeypatch):
    """An IPC buffer unmapped by a reply and mapped again by the next request, with the same
    frame and protection, costs the slab no system call while it is lazy; once fastmem_trap
    (whose only check is the host MMU) uses the slab, parked pages lose their access, at once
    and from then on as they park."""
    from hlemu.memory import slab as slab_module

    sp = spaces()
    frames = memory_system.phys.allocate("APPLICATION", 2)
    sp.map(0x04000000, frames[:1], P.RW, S.SHARED)
    calls: list[tuple[int, int, int]] = []  # (page, count, protection) of each mprotect
    real = slab_module.Slab._mprotect

    def counted(self, vpn: int, count: int, prot: int) -> None:  # noqa: ANN001
        calls.append((vpn, count, prot))
        real(self, vpn, count, prot)

    monkeypatch.setattr(slab_module.Slab, "_mprotect", counted)
    for _ in range(3):
        sp.unmap(0x04000000, 0x1000)
        sp.map(0x04000000, frames[:1], P.RW, S.SHARED)
    assert calls == [] and sp.slab.unparks == 3
    sp.unmap(0x04000000, 0x1000)
    sp.map(0x08000000, frames[1:], P.RW, S.PRIVATE)
    sp.unmap(0x08000000, 0x1000)
    assert set(sp.slab.open_parked) == {0x04000, 0x08000}
    assert sp.path("fastmem_trap").read_int is not None  # built: it settles the slab
    assert sorted(calls) == [(0x04000, 1, 0), (0x08000, 1, 0)]
    assert sp.slab.open_parked == {} and not sp.slab.lazy
    assert _mapping_of(sp, 0x04000000) == ("--", int(frames[0]) << 12)
    with pytest.raises(GuestFault):
        sp.path("fastmem_trap").read8(0x04000000)  # the host MMU traps it; slowmem faults it
    calls.clear()
    sp.map(0x04000000, frames[:1], P.RW, S.SHARED)
    sp.unmap(0x04000000, 0x1000)  # parks protected now (the map was an mmap: the trap's restore remapped the page)
    assert calls == [(0x04000, 1, 0)] and sp.slab.open_parked == {}
    assert _mapping_of(sp, 0x04000000) == ("--", int(frames[0]) << 12)


def test_lazy_protection_records_are_bounded_so_a_long_session_does_not_grow(spaces, memory_system):
    """Pages protected one at a time (opened, then closed) leave records of the host protection
    a lazy slab kept; past LOOSE_LIMIT of them the slab settles (mprotects what is loose) and
    starts afresh, so the records never grow with the session."""
    from hlemu.memory.slab import LOOSE_LIMIT

    sp = spaces()
    count = LOOSE_LIMIT + 50
    sp.map(0x08000000, memory_system.phys.allocate("APPLICATION", count), P.RW, S.PRIVATE)
    vpn0 = 0x08000
    most = 0
    for i in range(count):
        sp.slab.protect(vpn0 + i, 1, PROT_RW)
        sp.slab.protect(vpn0 + i, 1, PROT_READ)  # lazy: the host keeps rw
        most = max(most, len(sp.slab._lax))
    assert most <= LOOSE_LIMIT + 1
    # the page that passed the limit settled everything (itself included); the ones after it are loose
    assert len(sp.slab.loose) == count - LOOSE_LIMIT - 1
    assert host_prot(sp, 0x08000000) == "r-"  # settled when the records passed the limit
    assert host_prot(sp, 0x08000000 + (count - 1) * 0x1000) == "rw"  # loose since
    sp.slab.settle()
    assert sp.slab.loose == {} and host_prot(sp, 0x08000000 + (count - 1) * 0x1000) == "r-"


@pytest.mark.parametrize("path", ["semifastmem", "fastmem"])
def test_a_path_kept_past_its_space_faults_and_never_reads_the_closed_slab(spaces, memory_system, path):
    # The compiled paths keep their arrays (and their kernels' entries bound to them) for the
    # space's life; a caller that kept one past the space's close must get the guest fault
    # of an empty space, never a read of the unmapped slab or of freed frames.
    a, b = spaces("a"), spaces("b")
    for sp in (a, b):
        sp.map(0x08000000, memory_system.phys.allocate("APPLICATION", 1), P.RW, S.PRIVATE)
    a.slow.write(0x08000000, b"hello")
    kept = b.path(path)
    kept.copy_from(a, 0x08000000, 0x08000010, 5)
    assert kept.read(0x08000010, 5) == b"hello" and kept.read_int(0x08000010, 1) == ord("h")
    b.close()
    for call in (lambda: kept.copy_from(a, 0x08000000, 0x08000000, 5), lambda: kept.read_int(0x08000000, 4),
                 lambda: kept.write_int(0x08000000, 4, 9)):
        with pytest.raises(GuestFault, match="0x08000000 is unmapped"):
            call()
    # nor can anyone copy out of it: fastmem finds no path, semifastmem an empty space
    refusal = (MapError, "b has no slab") if path == "fastmem" else (GuestFault, "read of 5 bytes at 0x08000000")
    with pytest.raises(refusal[0], match=refusal[1]):
        a.path(path).copy_from(b, 0x08000000, 0x08000020, 5)
    assert a.slow.read(0x08000000, 0x30) == b"hello" + bytes(0x2B)
