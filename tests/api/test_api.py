"""The scripting API (kernel/api.py) as a script uses it: bundled programs, and tiny assembled guests
whose every instruction is known, so hooks, steps and watchpoints can be checked exactly."""

from __future__ import annotations

import struct
from functools import cache

import pytest
from elftools.elf.elffile import ELFFile
from keystone import KS_ARCH_ARM, KS_MODE_ARM, Ks

from hlemu.guest import program_path
from hlemu.loaders import Image, Segment
from hlemu.memory import GuestFault, MemoryPermission, MemoryState, SpecialKind
from kernel.api import MapSnapshot, Region, ThreadView

CPU_BACKENDS = ["fastmem", "semifastmem", "slowmem"]
CODE, DATA = 0x00100000, 0x00200000
HEAP = 0x08000000
HELLO_OUTPUT = ["Hello from hlemu!", "heap: 65536 bytes in the heap region", "checksum: 0x1c984dc5",
                "direct: svcOutputDebugString", "exiting with 7"]
SVC_CONTROL_MEMORY, SVC_EXIT_PROCESS, SVC_OUTPUT_DEBUG_STRING = 0x01, 0x03, 0x3D


# -- helpers ------------------------------------------------------------------------------------------

def assemble(source: str, address: int = CODE) -> bytes:
    return bytes(Ks(KS_ARCH_ARM, KS_MODE_ARM).asm(source, address)[0])


def image(name: str, source: str, data_pages: int = 2) -> Image:
    """Code at 0x00100000 (R-X) and ``data_pages`` zeroed pages at 0x00200000 (RW-)."""
    return Image(name, CODE, [Segment(CODE, assemble(source), 0x1000, MemoryPermission.RX),
                              Segment(DATA, b"", 0x1000 * data_pages, MemoryPermission.RW)])


@cache
def symbols(program: str) -> dict[str, int]:
    with open(program_path(program), "rb") as f:
        return {s.name: s["st_value"] for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()}


def value(hit) -> int:
    return int.from_bytes(hit.data, "little")


def hit_list(hits) -> list[tuple[str, int, int, int]]:
    return [(h.kind, h.address, h.size, value(h)) for h in hits]


def run_to_end(emu, limit: int = 20) -> list:
    """``run()`` again after every pause (at most ``limit`` times); the results."""
    results = [emu.run()]
    while results[-1].reason != "all exited" and len(results) < limit:
        results.append(emu.run())
    return results


# Three stores to DATA, two to the word after it, one load of DATA, then the next page.
STORES = """
    ldr  r0, =0x00200000
    mov  r1, #1
    str  r1, [r0]          @ 0x00100008  word 0 = 1
    mov  r1, #2
    str  r1, [r0, #4]      @ 0x00100010  word 1 = 2 (same page, not watched)
    mov  r1, #3
    str  r1, [r0]          @ 0x00100018  word 0 = 3
    mov  r1, #4
    str  r1, [r0, #4]      @ 0x00100020  word 1 = 4
    mov  r1, #5
    str  r1, [r0]          @ 0x00100028  word 0 = 5
    ldr  r2, [r0]          @ 0x0010002c  read word 0
    add  r3, r0, #0x1000
    str  r1, [r3]          @ the next page
    ldr  r4, [r3, #4]
    mov  r0, r2            @ exit status: the value read back (5)
    svc  #3
"""
STORE_ADDRESSES = [0x00100008, 0x00100018, 0x00100028]
WRITES = [("write", DATA, 4, 1), ("write", DATA, 4, 3), ("write", DATA, 4, 5)]
READ = ("read", DATA, 4, 5)

# A counter at DATA (and a copy at DATA + 4), one SleepThread(0) per round: a slice boundary each time.
LOOP = """
    mov  r5, #0
    ldr  r6, =0x00200000
loop:
    add  r5, r5, #1        @ 0x00100008
    str  r5, [r6]          @ 0x0010000c
    str  r5, [r6, #4]
    mov  r0, #0
    mov  r1, #0
    svc  #0x0a             @ SleepThread(0)
    cmp  r5, #30
    bne  loop
    mov  r0, r5            @ exit status 30
    svc  #3
"""
LOOP_STORE = 0x0010000C

# main calls a function at 0x00100010 that starts a translated block of its own.
CALL = """
    mov  r1, #0
    bl   func              @ 0x00100004
    mov  r0, #9
    svc  #3
func:
    mov  r1, #1            @ 0x00100010
    mov  r1, #2
    mov  r1, #3
    bx   lr
"""
FUNC = 0x00100010


# -- processes ----------------------------------------------------------------------------------------

def test_spawn_run_exit_codes_and_crashes(emulator):
    emu = emulator()
    hello = emu.spawn("hello")
    faults = emu.spawn("faults", name="bad")
    assert (hello.pid, hello.name, hello.status) == (32, "hello", "running")
    assert [p.name for p in emu.processes] == ["hello", "bad"]
    assert emu.process("bad").pid == faults.pid and emu.process(hello.pid).name == "hello"
    with pytest.raises(KeyError):
        emu.process("nobody")

    result = emu.run()
    assert result.reason == "all exited" and result.instructions > 900_000
    assert (hello.exit_code, hello.status, hello.crash, hello.output) == (7, "exited (7)", None, HELLO_OUTPUT)
    assert (faults.exit_code, faults.status) == (-1, "crashed")
    assert "read of 4 byte(s) at 0x00000004 (unmapped)" in faults.crash
    assert faults.output[0] == "reading unmapped"


def test_spawn_takes_an_image(emulator):
    emu = emulator()
    proc = emu.spawn(image("stores", STORES), name="tiny")
    assert proc.name == "tiny"
    assert emu.run().instructions == 17
    assert proc.exit_code == 5


def test_frame_listeners_and_the_accessors_the_window_reads(emulator):
    emu = emulator()
    fb = emu.spawn("fb")
    frames: list[int] = []
    emu.on_frame(frames.append)
    emu.run(frames=3)
    assert frames == [1, 2, 3] and emu.display.frame == 3
    assert emu.instructions == fb.instructions_run > 0 and emu.ticks >= emu.instructions
    assert fb.svcs == fb.process.stats.svcs > 0 and fb.alive
    main = fb.thread(vfp=True)
    assert main is not None and main.pid == fb.pid and main.name == "main" and "d0" in main.vfp
    assert fb.thread(tid=12345).tid == main.tid  # no such thread: the first live one
    current = emu.current_thread
    assert current is not None and (current.pid, current.tid) == (fb.pid, main.tid)


def test_frames_and_screenshot(emulator, tmp_path):
    emu = emulator()
    fb = emu.spawn("fb")
    assert emu.run(frames=5).reason == "frames done"
    assert emu.frame == 5 and fb.status == "running"
    assert fb.faults["write_track"] == 5 * 15  # fb draws 15 framebuffer pages a frame
    emu.screenshot(str(tmp_path / "fb.png"))
    assert (tmp_path / "fb.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- memory maps ---------------------------------------------------------------------------------------

def test_maps_give_regions_with_permissions_states_and_physical_addresses(emulator):
    emu = emulator()
    hello = emu.spawn("hello")
    regions = hello.maps()
    assert all(isinstance(r, Region) for r in regions)
    code = regions[0]
    assert (code.base, code.size, code.perm, code.state) == (CODE, 0x4000, MemoryPermission.RX, MemoryState.CODE)
    assert str(code) == "00100000-00103fff r-x code"
    assert code.phys == hello.page(CODE).phys_addr and code.shared_with == []
    assert [r.base for r in regions] == sorted(r.base for r in regions)
    assert not any(r.base == HEAP for r in regions)  # no heap before the program asks for one
    stack = next(r for r in regions if r.base + r.size == 0x10000000)
    assert (stack.perm, stack.state) == (MemoryPermission.RW, MemoryState.LOCKED)

    emu.run()
    heap = next(r for r in hello.maps() if r.base == HEAP)
    assert (heap.size, heap.perm, heap.state) == (0x11000, MemoryPermission.RW, MemoryState.PRIVATE)


def test_shared_with_names_the_other_process_mapping_the_same_block(emulator):
    emu = emulator()
    owner, peer = emu.spawn("shmem2_owner"), emu.spawn("shmem2_peer")
    emu.run(until=lambda: any(r.base == 0x10200000 for r in peer.maps()))
    mine = next(r for r in owner.maps() if r.base == 0x10000000)
    theirs = next(r for r in peer.maps() if r.base == 0x10200000)
    assert mine.size == theirs.size == 0x2000
    assert mine.state == theirs.state == MemoryState.SHARED
    assert mine.phys == theirs.phys is not None
    assert mine.shared_with == [peer.pid] and theirs.shared_with == [owner.pid]
    for offset in (0, 0x1000):
        assert owner.page(0x10000000 + offset).frame == peer.page(0x10200000 + offset).frame
    assert owner.read(0x10000000, 0x2000) == peer.read(0x10200000, 0x2000)
    # the owner's heap buffer under the block is the same memory, and says so
    buffer = next(r for r in owner.maps() if r.state == MemoryState.LOCKED and r.base >= HEAP and r.base < 0x0FF00000)
    assert buffer.phys == mine.phys and peer.pid in buffer.shared_with
    # a private region is shared with nobody
    assert next(r for r in owner.maps() if r.base == CODE).shared_with == []

    emu.run()
    assert (owner.exit_code, peer.exit_code) == (0, 0)


def test_snapshot_diff_shows_the_heap_appearing(emulator):
    emu = emulator()
    hello = emu.spawn("hello")
    before = hello.snapshot_maps()
    assert isinstance(before, MapSnapshot) and before.pid == hello.pid
    emu.run()
    after = hello.snapshot_maps()
    assert before.diff(after) == ["+ 08000000-08010fff rw- private"]
    assert after.diff(before) == ["- 08000000-08010fff rw- private"]
    assert after.diff(hello.snapshot_maps()) == []


def test_page_and_page_table(emulator):
    emu = emulator()
    hello = emu.spawn("hello")
    page = hello.page(CODE + 0x123)
    assert page.vaddr == CODE and page.perm == MemoryPermission.RX and page.state == MemoryState.CODE
    assert page.special == SpecialKind.NONE and page.frame >= 0
    table = hello.page_table
    assert table.frame[CODE >> 12] == page.frame
    assert table.perm[CODE >> 12] == MemoryPermission.RX and table.state[HEAP >> 12] == MemoryState.FREE
    assert str(table.query(CODE + 0x2000)) == "00100000-00103fff r-x code"


# -- reading and writing memory ------------------------------------------------------------------------

def test_integers_round_trip_little_endian(emulator):
    emu = emulator()
    hello = emu.spawn("hello")
    emu.run()
    at = HEAP + 0x8000
    assert hello.u32(at, 0xCAFEF00D) == 0xCAFEF00D
    assert hello.u32(at) == 0xCAFEF00D
    assert hello.read(at, 4) == bytes.fromhex("0df0feca")
    assert (hello.u8(at), hello.u16(at + 2)) == (0x0D, 0xCAFE)
    hello.u64(at + 8, 0x0123456789ABCDEF)
    assert hello.u32(at + 8) == 0x89ABCDEF and hello.u32(at + 12) == 0x01234567
    hello.u16(at + 1, 0xBEEF)
    assert hello.u32(at) == 0xCABEEF0D
    hello.write(at + 0xFFE, b"\x11\x22\x33\x44")  # across a page boundary
    assert hello.u32(at + 0xFFE) == 0x44332211


def test_permissions_apply_to_read_write_but_not_peek_poke(emulator):
    emu = emulator()
    proc = emu.spawn(image("stores", STORES))
    with pytest.raises(GuestFault):
        proc.write(CODE, b"\0\0\0\0")  # code is R-X
    with pytest.raises(GuestFault):
        proc.read(0x00000000, 4)  # unmapped
    # patch the last instructions: exit with 42 instead of the value read
    exit_at = next(int(line[:8], 16) for line in proc.disasm(CODE, 20) if line.endswith("mov r0, r2"))
    proc.poke(exit_at, assemble("mov r0, #42"))
    assert proc.peek(exit_at, 4) == assemble("mov r0, #42")
    emu.run()
    assert proc.exit_code == 42


def test_poke_drops_translated_code(emulator):
    """Patching code the CPU has already translated takes effect (poke drops cached translations)."""
    emu = emulator()
    proc = emu.spawn(image("loop", LOOP))
    emu.run(until=lambda: proc.u32(DATA) >= 5)
    cmp_at = next(int(line[:8], 16) for line in proc.disasm(CODE, 12) if "cmp" in line)
    proc.poke(cmp_at, assemble("cmp r5, #8"))
    emu.run()
    assert proc.exit_code == 8


def test_struct_string_and_search(emulator):
    emu = emulator()
    hello = emu.spawn("hello")
    emu.run()
    at = HEAP + 0x8000
    hello.write(at, struct.pack("<IHhb", 0xDEADBEEF, 0x1234, -2, -1))
    assert hello.struct(at, "IHhb") == (0xDEADBEEF, 0x1234, -2, -1)  # little-endian by default
    assert hello.struct(at, ">I") == (0xEFBEADDE,)
    assert hello.struct(at, "<2H") == (0xBEEF, 0xDEAD)

    hello.write(at, b"scripted\0garbage")
    assert hello.string(at) == "scripted"
    assert hello.string(at, max_len=4) == "scri"
    rodata = hello.search(b"Hello from hlemu!")
    assert len(rodata) == 1 and 0x00104000 <= rodata[0] < 0x00105000
    assert hello.string(rodata[0]).startswith("Hello from hlemu!")
    assert at in hello.search(b"scripted")
    hello.u32(at + 0x100, 0x5EED1E55)
    assert hello.search(0x5EED1E55) == [at + 0x100]


def test_disasm(emulator):
    emu = emulator()
    hello = emu.spawn("hello")
    lines = hello.disasm(CODE, 4)
    assert len(lines) == 4
    assert lines[0] == "00100000: 060000ea b #0x100020"  # over libctru's launcher parameter block
    assert [int(line[:8], 16) for line in lines] == [CODE, CODE + 4, CODE + 8, CODE + 12]
    assert hello.disasm(CODE + 0x20, 1) == ["00100020: 00b0a0e3 mov fp, #0"]
    wrapper = symbols("hello")["svcOutputDebugString"]
    assert [line.split(" ", 2)[2] for line in hello.disasm(wrapper, 2)] == ["svc #0x3d", "bx lr"]
    thumb = hello.disasm(CODE, 4, thumb=True)
    assert thumb[0].startswith("00100000: 0600") and int(thumb[1][:8], 16) == CODE + 2
    tiny = emu.spawn(image("stores", STORES))
    assert [line.split(" ", 2)[2] for line in tiny.disasm(STORE_ADDRESSES[0], 2)] == ["str r1, [r0]", "mov r1, #2"]


# -- faults, handles, threads ---------------------------------------------------------------------------

@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_faults_by_kind_and_page(emulator, backend):
    emu = emulator(backend)
    unmapped, readonly, hello = emu.spawn("faults"), emu.spawn("faults_ro"), emu.spawn("hello")
    emu.run()
    assert unmapped.faults["unmapped"] == 1 and unmapped.fault_pages("unmapped") == [0x00000000]
    assert readonly.faults["permission"] == 1 and readonly.fault_pages("permission") == [CODE]
    assert "write of 4 byte(s) at 0x00100050 (permission)" in readonly.crash
    assert hello.faults["unmapped"] == hello.faults["permission"] == 0
    assert set(hello.faults) == {"unmapped", "permission", "special", "write_track", "tlb_fill"}
    if backend == "fastmem":  # the host MMU translates: no fills
        assert hello.faults["tlb_fill"] == 0
    else:
        assert hello.faults["tlb_fill"] > 0 and CODE in hello.fault_pages("tlb_fill")


def test_handles_of_two_processes_sharing_a_block(emulator):
    emu = emulator()
    owner, peer = emu.spawn("shmem2_owner"), emu.spawn("shmem2_peer")
    emu.run(until=lambda: any(r.base == 0x10200000 for r in peer.maps()))
    mine, theirs = dict(owner.handles), dict(peer.handles)
    assert all(isinstance(h, int) and h > 0 for h in mine)
    blocks = [what for what in mine.values() if what.startswith("memory block")]
    assert len(blocks) == 1 and blocks[0] in theirs.values()  # the same object, copied over IPC
    events = {what.split(" ")[1] for what in mine.values() if what.startswith("event")}  # "#17"
    assert len(events) == 2 and events == {what.split(" ")[1] for what in theirs.values() if what.startswith("event")}
    assert any("'srv:'" in what for what in mine.values()) and any("'hlm:shm'" in what for what in theirs.values())
    emu.run()
    assert (owner.exit_code, peer.exit_code) == (0, 0)


def test_threads_show_the_registers_of_a_waiting_thread(emulator):
    emu = emulator()
    proc = emu.spawn("threads")
    emu.run(until=lambda: any(t.state == "waiting" for t in proc.threads))
    views = proc.threads
    assert all(isinstance(t, ThreadView) for t in views)
    assert views[0].name == "main" and views[0].priority == 0x30
    waiting = next(t for t in views if t.state == "waiting")
    assert set(waiting.registers) == {f"r{i}" for i in range(13)} | {"sp", "lr", "pc", "cpsr"}
    assert waiting.pc == waiting.registers["pc"]
    assert proc.disasm(waiting.pc - 4, 1)[0].split(" ", 2)[2] == "svc #0xa"  # SleepThread
    assert waiting.registers["r0"] == 1000 and waiting.waiting_on.startswith("sleep until tick")
    stack = next(r for r in proc.maps() if r.base <= waiting.registers["sp"] < r.base + r.size)
    assert stack.perm == MemoryPermission.RW
    code = proc.maps()[0]
    assert code.base <= waiting.registers["lr"] < code.base + code.size
    emu.run()
    assert proc.exit_code == 0
    assert len(proc.threads) >= len(views) and all(t.state == "dead" and t.registers == {} for t in proc.threads)


# -- step and breakpoints -------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_step_runs_one_instruction(emulator, backend):
    emu = emulator(backend)
    hello = emu.spawn("hello")
    assert hello.threads[0].pc == CODE
    before = emu.kernel.instructions
    view = emu.step()  # b over the launcher parameter block
    assert view.tid == hello.threads[0].tid and view.pc == CODE + 0x20 and hello.threads[0].pc == CODE + 0x20
    assert emu.kernel.instructions == before + 1
    assert emu.step().registers["r11"] == 0  # mov fp, #0
    for i in range(2, 6):
        assert emu.step().pc == CODE + 0x20 + 4 * i


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_step_after_run_runs_one_instruction(emulator, backend):
    """After run() stopped at a block boundary, step() must still run one instruction, not the rest of
    the block (the block was translated, and cached, without the one-instruction limit)."""
    emu = emulator(backend)
    hello = emu.spawn("hello")
    emu.run(instructions=5000)
    pc = hello.threads[0].pc
    mnemonic = hello.disasm(pc, 1)[0].split(" ")[2]
    assert not mnemonic.startswith(("b", "svc", "pop", "ldm")), "pick another stop: the next instruction branches"
    before = emu.kernel.instructions
    assert emu.step().pc == pc + 4
    assert emu.kernel.instructions == before + 1


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_step_after_a_breakpoint_at_a_function_entry(emulator, backend):
    emu = emulator(backend)
    proc = emu.spawn(image("call", CALL))
    emu.breakpoint(proc, FUNC)
    emu.run()
    assert proc.threads[0].pc == FUNC
    view = emu.step()
    assert (view.pc, view.registers["r1"]) == (FUNC + 4, 1)
    view = emu.step()
    assert (view.pc, view.registers["r1"]) == (FUNC + 8, 2)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_step_onto_a_breakpoint_still_moves(emulator, backend):
    """step() is one instruction even when that instruction has a breakpoint."""
    emu = emulator(backend)
    proc = emu.spawn(image("stores", STORES))
    emu.breakpoint(proc, CODE + 8)
    assert [emu.step().pc for _ in range(4)] == [CODE + 4, CODE + 8, CODE + 12, CODE + 16]


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_breakpoint_pauses_at_the_address_and_run_resumes_past_it(emulator, backend):
    emu = emulator(backend)
    hello = emu.spawn("hello")
    wrapper = symbols("hello")["svcOutputDebugString"]
    emu.breakpoint(hello, wrapper)
    printed = []
    results = run_to_end(emu)
    for result in results[:-1]:
        assert result.reason == "paused"
    assert results[-1].reason == "all exited" and len(results) == 6  # five calls, then the end
    assert hello.exit_code == 7 and hello.output == HELLO_OUTPUT

    emu2 = emulator(backend)
    hello = emu2.spawn("hello")
    emu2.breakpoint(hello, wrapper)
    while emu2.run().reason == "paused":
        main = hello.threads[0]
        assert main.pc == wrapper
        assert len(hello.output) == len(printed)  # paused before the SVC ran
        printed.append(hello.read(main.registers["r0"], main.registers["r1"]).decode())
    assert "".join(printed) == "".join(line + "\n" for line in HELLO_OUTPUT)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_breakpoint_set_after_the_code_ran_still_fires(emulator, backend):
    """A breakpoint on code the CPU has already translated (a loop that has run) must fire."""
    emu = emulator(backend)
    proc = emu.spawn(image("loop", LOOP))
    emu.run(until=lambda: proc.u32(DATA) >= 5)
    emu.breakpoint(proc, LOOP_STORE)
    result = emu.run()
    assert result.reason == "paused" and proc.exit_code is None
    main = proc.threads[0]
    assert main.pc == LOOP_STORE and main.registers["r5"] == 6 and proc.u32(DATA) == 5


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_breakpoint_callback_decides_whether_to_pause(emulator, backend):
    emu = emulator(backend)
    hello = emu.spawn("hello")
    wrapper = symbols("hello")["svcOutputDebugString"]
    seen = []

    def probe(proc, thread):
        seen.append((proc.pid, thread.tid, thread.pc, thread.registers["r1"]))
        return len(seen) == 3  # pause at the third call only

    emu.breakpoint(hello, wrapper, probe)
    assert emu.run().reason == "paused"
    assert len(seen) == 3 and len(hello.output) == 2 and hello.threads[0].pc == wrapper
    assert emu.run().reason == "all exited"
    assert [s[3] for s in seen] == [len(line) + 1 for line in HELLO_OUTPUT]
    assert {s[:3] for s in seen} == {(hello.pid, hello.threads[0].tid, wrapper)}


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_pausing_does_not_change_the_instruction_count(emulator, backend):
    """Guest instruction counts are deterministic: stopping at breakpoints must not change them."""
    plain = emulator(backend)
    plain.spawn("hello")
    expected = plain.run().instructions

    emu = emulator(backend)
    hello = emu.spawn("hello")
    emu.breakpoint(hello, symbols("hello")["svcOutputDebugString"])
    emu.breakpoint(hello, symbols("hello")["_sbrk"] + 4)  # inside a block, too
    results = run_to_end(emu)
    assert len(results) > 5 and results[-1].reason == "all exited"
    assert results[-1].instructions == expected


def test_run_instructions_runs_that_many(emulator):
    """``run(instructions=N)`` runs N more instructions (give or take the end of a translated block)."""
    emu = emulator()
    emu.spawn("hello")
    first = emu.run(instructions=1000)
    assert first.reason == "instruction limit"
    assert 1000 <= first.instructions < 1000 + 64
    second = emu.run(instructions=1000)
    assert 2000 <= second.instructions < first.instructions + 1000 + 64


# -- hooks ----------------------------------------------------------------------------------------------

def test_on_svc_before_and_after_with_a_number_filter(emulator):
    emu = emulator()
    hello = emu.spawn("hello")
    events = []
    every = []
    emu.on_svc(lambda proc, tid, number, args: every.append(number))
    emu.on_svc(lambda proc, tid, number, args: events.append(
        ("before", proc.pid, tid, number, proc.read(args[0], args[1]).decode())), number=SVC_OUTPUT_DEBUG_STRING)
    emu.on_svc(lambda proc, tid, number, args: events.append(("after", proc.pid, tid, number, args[0])),
               number=SVC_OUTPUT_DEBUG_STRING, after=True)
    emu.run()
    tid = hello.threads[0].tid
    expected = []
    for line in HELLO_OUTPUT:
        expected += [("before", hello.pid, tid, 0x3D, line + "\n"), ("after", hello.pid, tid, 0x3D, 0)]
    assert events == expected
    assert every.count(SVC_OUTPUT_DEBUG_STRING) == 5 and every[-1] == SVC_EXIT_PROCESS
    assert every.count(SVC_CONTROL_MEMORY) >= 2  # the heap


def test_after_hooks_see_outputs(emulator):
    emu = emulator()
    hello = emu.spawn("hello")
    grown = []
    emu.on_svc(lambda proc, tid, number, args: grown.append((args[0], args[1])), number=SVC_CONTROL_MEMORY,
               after=True)
    emu.run()
    assert grown[0] == (0, HEAP)  # result 0, r1 = where the heap pages went
    assert all(result == 0 and HEAP <= where < 0x10000000 for result, where in grown)
    assert hello.exit_code == 7


def test_pause_from_an_svc_hook_stops_after_that_svc(emulator):
    emu = emulator()
    hello = emu.spawn("hello")
    emu.on_svc(lambda proc, tid, number, args: emu.pause(), number=SVC_OUTPUT_DEBUG_STRING, after=True)
    for printed in range(1, 6):
        assert emu.run().reason == "paused"
        assert len(hello.output) == printed and hello.status == "running"
    assert emu.run().reason == "all exited" and hello.exit_code == 7


def test_on_ipc_sees_the_client_server_traffic(emulator):
    emu = emulator()
    server, client = emu.spawn("ipc_server"), emu.spawn("ipc_client")
    messages = []
    emu.on_ipc(messages.append)
    emu.run()
    assert (server.exit_code, client.exit_code) == (0, 0)

    between = [m for m in messages if {m.sender, m.receiver} == {server.pid, client.pid}]
    requests = [m for m in between if not m.reply]
    replies = [m for m in between if m.reply]
    assert all((m.sender, m.receiver) == (client.pid, server.pid) for m in requests)
    assert all((m.sender, m.receiver) == (server.pid, client.pid) for m in replies)
    assert [m.command for m in requests] == [1, 1, 2, 3, 4, 5, 6, 0x42, 1, 1, 0xFF]
    assert [m.reply for m in between] == [False, True] * len(requests)  # each request, then its reply

    add = requests[0]
    assert add.normal == [1234, 4321] and add.descriptors == []
    assert replies[0].normal == [0, 5555]
    echo, sum_buffer, fill, get_event, get_pid = requests[2:7]
    assert [d.kind for d in echo.descriptors] == ["static buffer"] and echo.descriptors[0].values[1:] == [37, 0]
    assert sum_buffer.descriptors[0].kind == "mapped buffer" and sum_buffer.descriptors[0].values[1:] == [5000, 2]
    assert fill.descriptors[0].kind == "mapped buffer" and fill.descriptors[0].values[1:] == [3000, 4]
    assert replies[3].normal == [0, 637404]  # the server summed the client's bytes
    assert get_event.normal == [] and [d.kind for d in replies[5].descriptors] == ["move handles"]
    assert get_pid.descriptors[0].kind == "pid" and get_pid.descriptors[0].values == [client.pid]
    assert replies[6].normal == [0, client.pid]
    assert replies[7].command == 0 and replies[7].normal == [0xD900182F]  # unknown command

    srv = [m for m in messages if -1 in (m.sender, m.receiver)]
    assert {m.service for m in srv} == {"srv:"}
    assert {m.sender for m in srv if not m.reply} == {server.pid, client.pid}


# -- watchpoints ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_watch_fires_once_per_store_to_the_word_and_never_for_its_neighbours(emulator, backend):
    emu = emulator(backend)
    proc = emu.spawn(image("stores", STORES))
    hits, neighbour_hits = [], []
    point = proc.watch(DATA, 4, hits.append)
    neighbour = proc.watch(DATA + 4, 4, neighbour_hits.append)
    assert emu.run().reason == "all exited" and proc.exit_code == 5
    assert hit_list(hits) == WRITES
    assert all(h.pid == proc.pid for h in hits)
    assert point.hits == 3
    assert hit_list(neighbour_hits) == [("write", DATA + 4, 4, 2), ("write", DATA + 4, 4, 4)]
    assert neighbour.hits == 2
    assert emu.watch_hits == []  # callbacks took the hits


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_watch_reads_and_both(emulator, backend):
    emu = emulator(backend)
    proc = emu.spawn(image("stores", STORES))
    reads, both = [], []
    proc.watch(DATA, 4, reads.append, on="r")
    proc.watch(DATA, 4, both.append, on="rw")
    emu.run()
    assert hit_list(reads) == [READ]
    assert hit_list(both) == [*WRITES, READ]


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_watch_sees_partial_and_multiple_word_accesses(emulator, backend):
    emu = emulator(backend)
    proc = emu.spawn(image("widths", """
        ldr   r0, =0x00200000
        mov   r1, #0x11
        strb  r1, [r0, #2]     @ one byte inside the word
        strh  r1, [r0, #6]     @ the next word: not seen
        mov   r3, #6
        mov   r4, #7
        stmia r0, {r3, r4}     @ two words: one inside
        ldrb  r5, [r0, #1]
        mov   r0, #0
        svc   #3
    """))
    hits = []
    proc.watch(DATA, 4, hits.append, on="rw")
    emu.run()
    assert hit_list(hits) == [("write", DATA + 2, 1, 0x11), ("write", DATA, 4, 6), ("read", DATA + 1, 1, 0)]


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_watch_added_while_running_and_removed(emulator, backend):
    """A watch on a page the CPU has already translated sees every later store; after remove() none."""
    emu = emulator(backend)
    proc = emu.spawn(image("loop", LOOP))
    emu.run(until=lambda: proc.u32(DATA) >= 10)
    assert proc.u32(DATA) == 10
    hits = []
    point = proc.watch(DATA, 4, hits.append)
    assert proc.page(DATA).special == SpecialKind.WATCH
    emu.run(until=lambda: proc.u32(DATA) >= 20)
    point.remove()
    assert proc.page(DATA).special == SpecialKind.NONE
    emu.run()
    assert proc.exit_code == 30
    assert [value(h) for h in hits] == list(range(11, 21)) and point.hits == 10
    assert {(h.kind, h.address, h.size) for h in hits} == {("write", DATA, 4)}


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_a_watch_costs_nothing_outside_its_page(emulator, backend):
    emu = emulator(backend)
    proc = emu.spawn(image("stores", STORES))
    point = proc.watch(DATA, 4, lambda hit: None)
    assert proc.page(DATA).special == SpecialKind.WATCH
    assert proc.page(DATA + 0x1000).special == SpecialKind.NONE
    assert proc.page(CODE).special == SpecialKind.NONE
    emu.run()
    # every access to the watched page took the slow path (the neighbour word's too) ...
    assert proc.page(DATA).faults["special"] == 6
    # ... and none to the next page, which the program also stored to and loaded from
    assert proc.page(DATA + 0x1000).faults["special"] == 0
    assert proc.faults["special"] == 6
    assert proc.u32(DATA + 0x1000) == 5
    assert point.hits == 3


def test_watch_refuses_code_and_unmapped_pages(emulator):
    emu = emulator()
    proc = emu.spawn(image("stores", STORES))
    with pytest.raises(ValueError, match="executable"):
        proc.watch(CODE, 4)
    with pytest.raises(ValueError, match="not mapped"):
        proc.watch(0x00300000, 4)
    with pytest.raises(ValueError):
        proc.watch(DATA, 4, on="x")


# The stores of STORES again, each ending its block (a branch after it), so that a pause after
# each store has a next block to stop before.
STORES_IN_BLOCKS = """
    ldr  r0, =0x00200000
    mov  r1, #1
    str  r1, [r0]          @ 0x00100008  word 0 = 1
    b    one               @ 0x0010000c
one:
    mov  r1, #3            @ 0x00100010
    str  r1, [r0]          @ 0x00100014  word 0 = 3
    b    two
two:
    mov  r1, #5            @ 0x0010001c
    str  r1, [r0]          @ 0x00100020  word 0 = 5
    b    three
three:
    mov  r0, #5            @ 0x00100028
    svc  #3
"""


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_a_watch_without_callback_pauses_once_per_store(emulator, backend):
    """The default watch records the hit in emu.watch_hits and pauses; run() then goes on past the store."""
    emu = emulator(backend)
    proc = emu.spawn(image("stores", STORES_IN_BLOCKS))
    proc.watch(DATA, 4)
    pcs = []
    results = [emu.run()]
    while results[-1].reason == "paused" and len(results) < 10:
        pcs.append(proc.threads[0].pc)
        results.append(emu.run())
    assert results[-1].reason == "all exited", f"no progress: {len(emu.watch_hits)} hits, paused at {pcs}"
    assert hit_list(emu.watch_hits) == WRITES  # each store seen once, never repeated on resume
    # A pause takes effect at the end of the block that made the access, before the next one.
    assert pcs == [0x00100010, 0x0010001C, 0x00100028]
    assert proc.exit_code == 5


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_a_pause_in_the_last_block_lets_the_block_end(emulator, backend):
    """STORES is one block ending in ExitProcess: the pause comes after the whole block, SVC included."""
    emu = emulator(backend)
    proc = emu.spawn(image("stores", STORES))
    proc.watch(DATA, 4)
    assert emu.run().reason == "all exited" and emu.paused
    assert hit_list(emu.watch_hits) == WRITES
    assert proc.exit_code == 5


def test_script_accesses_are_not_guest_accesses(emulator):
    """proc.u32()/read()/write() from a script must not fire watchpoints (a callback reading the watched
    word would otherwise call itself)."""
    emu = emulator()
    proc = emu.spawn(image("stores", STORES))
    hits = []
    proc.watch(DATA, 4, hits.append, on="rw")
    proc.u32(DATA)
    proc.u32(DATA, 7)
    proc.read(DATA, 8)
    proc.write(DATA, b"\1\0\0\0")
    assert hits == []
    emu.run()
    assert hit_list(hits) == [*WRITES, READ]


# -- errors in callbacks ------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("hook", ["on_svc", "on_ipc", "breakpoint", "watch"])
def test_an_exception_in_a_callback_comes_out_of_run(emulator, backend, hook):
    """The script's error must reach the script, once. The callback raises only on its first call, so a
    kernel that swallows the error and retries the instruction ends the run instead of spinning forever."""
    emu = emulator(backend)
    calls = []

    def callback(*args):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("the script's bug")

    if hook == "on_ipc":
        emu.spawn("ipc_server")
        emu.spawn("ipc_client")
        emu.on_ipc(callback)
    else:
        proc = emu.spawn(image("stores", STORES))
        if hook == "on_svc":
            emu.on_svc(callback, number=SVC_EXIT_PROCESS)
        elif hook == "breakpoint":
            emu.breakpoint(proc, STORE_ADDRESSES[1], callback)
        else:
            proc.watch(DATA, 4, callback)
    with pytest.raises(RuntimeError, match="the script's bug"):
        emu.run()
    assert len(calls) == 1
