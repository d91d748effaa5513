"""What a REPL echoes: records in hex, the emulator and its processes as one line each."""

from __future__ import annotations

from hlemu.memory import MemoryPermission, MemoryState
from hlemu.memory.pagetable import MemoryInfo
from hlemu.memory.space import WatchHit


def test_print_emu_and_proc_are_one_line_summaries(emulator):
    emu = emulator("semifastmem")
    assert repr(emu) == "<Emulator semifastmem, 0 processes, frame 0, 0 instructions, not run yet>"
    hello = emu.spawn("hello")
    fb = emu.spawn("fb")
    assert str(hello) == "<Proc 32 'hello' running, 0 instructions, 0 SVCs, 1 thread>"
    assert emu.run(frames=3).reason == "frames done"
    assert str(emu) == (f"<Emulator semifastmem, 2 processes (1 exited, 1 running), frame 3, "
                        f"{emu.instructions:,} instructions, last run: frames done>")
    assert str(hello) == "<Proc 32 'hello' exited (7), 989,735 instructions, 8 SVCs, 0 threads>"
    assert str(fb) == f"<Proc 33 'fb' running, {fb.instructions_run:,} instructions, {fb.svcs} SVCs, 1 thread>"


def test_regions_pages_and_maps_show_addresses_in_hex(emulator):
    emu = emulator("semifastmem")
    hello = emu.spawn("hello")
    code = hello.maps()[0]
    assert repr(code) == ("Region(base=0x00100000, size=0x4000, perm=RX, state=CODE, phys=0x20000000, "
                          "shared_with=[])")
    assert str(code) == "00100000-00103fff r-x code"  # str stays the maps line
    assert repr(hello.snapshot_maps().regions[0]) == (
        "MemoryInfo(base=0x00100000, size=0x4000, perm=RX, state=CODE, page_flags=0)")
    assert repr(hello.page(0x00100000)).startswith(
        "PageEntry(vaddr=0x00100000, frame=0, phys_addr=0x20000000, perm=RX, state=CODE, special=NONE, "
        "dirty=False, faults={'unmapped': 0, ")
    assert repr(MemoryInfo(0x1FF81000, 0x1000, MemoryPermission.R, MemoryState.SHARED)) == (
        "MemoryInfo(base=0x1ff81000, size=0x1000, perm=R, state=SHARED, page_flags=0)")


def test_threads_and_registers_show_in_hex(emulator):
    emu = emulator("semifastmem")
    hello = emu.spawn("hello")
    view = hello.threads[0]
    assert repr(view).startswith("ThreadView(tid=1, name='main', state='ready', priority=48, waiting_on='', "
                                 "registers={'r0': 0x00000000, 'r1': 0x00000000, ")
    assert "'pc': 0x00100000, 'cpsr': 0x00000010}, vfp={}, pid=32)" in repr(view)
    with_vfp = emu.thread_view(hello.process.threads[0], vfp=True)
    assert "'d15': 0x0000000000000000, 'fpscr': 0x03c00000}, pid=32)" in repr(with_vfp)
    regs = repr(hello.registers())
    assert regs.startswith("RegisterFile(r0=0x00000000 r1=0x00000000 ") and "pc=0x00100000 " in regs


def test_handles_breakpoints_watchpoints_and_address_lists_show_in_hex(emulator):
    emu = emulator("semifastmem")
    fb = emu.spawn("fb")
    emu.run(frames=2)
    first = fb.handles[0]
    assert repr(first) == "Handle(0x00010002, \"client session #30 'srv:'\")"
    assert first == (0x00010002, "client session #30 'srv:'")  # still the pair it was
    assert repr(fb.handle_info()[0]) == ("HandleInfo(handle=0x00010002, type='client session', "
                                         "description=\"client session #30 'srv:'\", object_id=30, holders=[33])"
                                         .replace("[33]", f"[{fb.pid}]"))
    emu.breakpoint(fb, 0x00100000)
    assert repr(emu.breakpoints) == f"[Breakpoint(pid={fb.pid}, address=0x00100000)]"
    assert emu.breakpoints == [(fb.pid, 0x00100000)]
    watch = fb.watch(0x08000000, 4, lambda hit: None)
    assert repr(watch).endswith("vaddr=0x08000000, size=4, on='w', hits=0)")
    assert repr(WatchHit(32, 0x08000010, 4, "write", b"\x01\x00\x00\x00")) == (
        "WatchHit(pid=32, address=0x08000010, size=4, kind='write', data=b'\\x01\\x00\\x00\\x00')")
    pages = fb.fault_pages("write_track")
    assert pages and repr(pages[:2]) == "[0x1f000000, 0x1f001000]" and pages[0] == 0x1F000000
