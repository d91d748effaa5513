"""Issue 13 item 6: code and read-only data shared in place by every instance of a program
(kernel/image_frames.py), writable data copied, and everything back when the last one goes."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.fuzz.checks import check_sharing
from hlemu.guest import program_path
from hlemu.loaders import ElfLoader, load_image
from hlemu.memory import MemoryPermission, MemoryState
from kernel.api import Emulator
from kernel.kernel import Kernel
from tests.tiny_elf import assemble, elf

INSTANCES = 8


def quiet_kernel(backend: str = "semifastmem") -> Kernel:
    return Kernel(backend=backend, output=lambda p, line: None)


def code_pages(name: str) -> int:
    return sum(seg.size >> 12 for seg in load_image(program_path(name)).segments
               if not seg.perm & MemoryPermission.W)


def test_eight_instances_use_the_code_frames_once():
    alone = quiet_kernel()
    solo = alone.spawn(program_path("hello"))
    alone.run()
    alone.close()

    k = quiet_kernel()
    phys = k.memory.phys
    baseline = phys.in_use()
    first = k.spawn(program_path("hello"))
    one = phys.in_use() - baseline
    rest = [k.spawn(program_path("hello")) for _ in range(INSTANCES - 1)]
    eight = phys.in_use() - baseline
    shared = code_pages("hello")
    assert shared > 0
    # Each instance after the first takes only its private pages (data, bss, stack, TLS...).
    assert eight == one + (INSTANCES - 1) * (one - shared)
    assert eight == INSTANCES * one - (INSTANCES - 1) * shared
    code = first.space.table.frame[0x100000 >> 12]
    assert phys.map_count[code] == INSTANCES
    assert all(p.space.table.frame[0x100000 >> 12] == code for p in rest)
    assert k.run().reason == "all exited"
    for p in [first, *rest]:
        assert p.output == solo.output and p.exit_code == solo.exit_code
    k.close()


def test_writable_segments_are_copied_read_only_ones_are_mapped_read_only():
    k = quiet_kernel()
    a, b = k.spawn(program_path("hello")), k.spawn(program_path("hello"))
    for seg in load_image(program_path("hello")).segments:
        vpn = seg.vaddr >> 12
        fa, fb = a.space.table.frame[vpn], b.space.table.frame[vpn]
        if seg.perm & MemoryPermission.W:
            assert fa != fb and a.space.table.state[vpn] == MemoryState.PRIVATE
        else:
            assert fa == fb and not a.space.table.perm[vpn] & MemoryPermission.W
            assert a.space.table.state[vpn] == MemoryState.CODE
    assert check_sharing(k) == []  # the fuzzer's audit counts shared image frames as explained
    k.close()


def test_a_guest_store_to_shared_code_faults_in_each_instance():
    # mov r1, #0x100000 ; mov r0, #0 ; str r0, [r1] ; b .
    image = elf(assemble("mov r1, #0x100000\n mov r0, #0\n str r0, [r1]\n b ."))
    k = quiet_kernel()
    procs = [k.spawn(ElfLoader.load(image, f"store{n}")) for n in range(2)]
    k.run()
    for p in procs:
        assert "data abort: write of 4 byte(s) at 0x00100000 (permission)" in p.crash
    assert procs[0].space.peek(0x100000, 4) == image[0x1000:0x1004]
    k.close()


@pytest.mark.parametrize("backend", ["semifastmem", "fastmem"])
def test_a_debugger_write_copies_the_page_for_that_instance_only(backend):
    emu = Emulator(backend=backend, echo=False)
    a, b = emu.spawn("hello"), emu.spawn("hello")
    main = a.address_of("main")
    before = b.peek(main, 4)
    shared_frame = int(a.space.table.frame[main >> 12])
    a.poke(main, b"\x00\x00\xa0\xe1")  # mov r0, r0: a's copy only
    assert a.peek(main, 4) == b"\x00\x00\xa0\xe1" and b.peek(main, 4) == before
    assert int(a.space.table.frame[main >> 12]) != shared_frame
    assert int(b.space.table.frame[main >> 12]) == shared_frame
    assert a.read(main, 4) == b"\x00\x00\xa0\xe1"  # through the guest's own path too
    emu.run()
    assert b.exit_code == 7 and b.output[0] == "Hello from hlemu!"  # b ran its own, unpatched code
    emu.close()


def test_protect_to_writable_copies_first():
    k = quiet_kernel()
    a, b = k.spawn(program_path("hello")), k.spawn(program_path("hello"))
    vpn = 0x100000 >> 12
    shared = int(a.space.table.frame[vpn])
    a.space.protect(0x100000, 0x1000, MemoryPermission.RW)
    assert int(a.space.table.frame[vpn]) != shared and int(b.space.table.frame[vpn]) == shared
    a.space.mem.write(0x100000, b"\xff\xff\xff\xff")
    assert b.space.peek(0x100000, 4) != b"\xff\xff\xff\xff"
    k.close()


def test_footprint_and_shared_with_show_the_sharing():
    emu = Emulator(backend="semifastmem", echo=False)
    a, b = emu.spawn("hello"), emu.spawn("hello")
    code = next(r for r in a.maps() if r.base == 0x100000)
    assert code.shared_with == [b.pid]
    fa = a.footprint()
    pages = code_pages("hello")
    assert fa.by_state["code"].rss == pages * 4096
    assert fa.by_state["code"].pss == pages * 2048  # two sharers: half each
    assert fa.by_state["code"].uss == 0
    assert fa.by_state["private"].uss == fa.by_state["private"].rss  # data is not shared
    emu.close()


def test_nothing_leaks_after_every_instance_exits():
    k = quiet_kernel()
    phys = k.memory.phys
    baseline, holds = phys.in_use(), int(phys.holds.sum())
    procs = [k.spawn(program_path("hello")) for _ in range(INSTANCES)]
    code = int(procs[0].space.table.frame[0x100000 >> 12])
    k.run()
    assert phys.in_use() > baseline  # ended processes are kept for inspection
    k.reap()
    assert phys.in_use() == baseline and int(phys.holds.sum()) == holds
    assert len(k.image_frames) == 0 and not phys.image.any()
    assert phys.is_free(np.array([code]))[0]
    # The next spawn fills fresh (zeroed, then written) frames and runs as before.
    again = k.spawn(program_path("hello"))
    k.run()
    assert again.exit_code == 7
    k.close()


def test_a_changed_image_is_not_shared_with_the_old_one():
    k = quiet_kernel()
    one = elf(assemble("mov r0, #1\n b ."))
    two = elf(assemble("mov r0, #2\n b ."))
    a = k.spawn(ElfLoader.load(one, "one"))
    b = k.spawn(ElfLoader.load(two, "two"))
    c = k.spawn(ElfLoader.load(one, "one again"))
    vpn = 0x100000 >> 12
    assert a.space.table.frame[vpn] != b.space.table.frame[vpn]
    assert a.space.table.frame[vpn] == c.space.table.frame[vpn]  # two programs, same bytes: shared
    k.close()
