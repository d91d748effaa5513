"""Issue 13 through the scripting API, on the bundled guests: symbols (against
arm-none-eabi-nm), typed reads (against what inspect.c prints), frames and locals, a
symbolized crash report, the heap walk (against the mallocs and frees inspect.c reports),
footprints and the memory scanner (narrowing to inspect.c's counter)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from hlemu.guest import BIN_DIR, program_path
from hlemu.inspect import InspectError, UnreadableMemory
from kernel.api import Emulator


@pytest.fixture
def emu():
    e = Emulator(backend="semifastmem", echo=False)
    yield e
    e.close()


def stopped(emu: Emulator, rounds: int = 1):
    """inspect, stopped in checkpoint() after printing "counter 3 * rounds"."""
    p = emu.spawn("inspect")
    p.break_at("checkpoint")
    for _ in range(rounds):
        emu.run()
    assert p.output[-1] == f"counter {3 * rounds}"
    return p


def printed(p, prefix: str) -> list[str]:
    return [line for line in p.output if line.startswith(prefix)]


# -- symbols -----------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("arm-none-eabi-nm") is None, reason="needs arm-none-eabi-nm")
@pytest.mark.parametrize("name", ["inspect", "hello", "threads"])
def test_symbols_agree_with_nm(emu, name):
    p = emu.spawn(name)
    nm = subprocess.run(["arm-none-eabi-nm", "-S", str(program_path(name))], capture_output=True, text=True,
                        check=True).stdout
    checked = 0
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) != 4 or parts[2] not in "TtDdBbRr" or parts[3].startswith("$"):
            continue
        addr, size, sym = int(parts[0], 16), int(parts[1], 16), parts[3]
        assert p.address_of(sym) == addr or p.symbol(addr) != f"{addr:#010x}", sym
        if size > 4 and parts[2] in "Tt":
            assert p.symbol(addr + 4).endswith("+0x4")
        checked += 1
    assert checked > 20
    assert p.symbol(p.address_of("main")) == "main"
    assert p.symbol(0x00000010) == "0x00000010"


def test_a_3dsx_takes_the_elf_beside_it(emu):
    p = emu.spawn("inspect.3dsx")
    assert p.symbol(p.address_of("main") + 8) == "main+0x8"
    program = p.load_symbols(BIN_DIR / "inspect.3dsx")
    assert program.source.endswith("inspect.elf")
    with pytest.raises(InspectError, match="not what process"):
        p.load_symbols(program_path("hello"))


def test_unknown_names_say_what_is_near(emu):
    p = emu.spawn("inspect")
    with pytest.raises(InspectError, match="did you mean.*walk"):
        p.address_of("wal")
    with pytest.raises(InspectError, match="no variable 'nope'"):
        p.var("nope")
    with pytest.raises(InspectError, match="no type 'struct nope'"):
        p.typed(0x00105000, "struct nope")


def test_breakpoint_by_name_listing_and_backtrace(emu):
    p = stopped(emu)
    assert p.thread().pc == p.address_of("checkpoint")
    assert [line.split(" in ")[1] for line in p.backtrace()][:3] == [
        "checkpoint (registers)", "walk.constprop.0+0x40 (cfi)", "main+0xd0 (cfi)"]
    call = p.listing(p.address_of("walk") + 0x3c, 1)[0]
    assert call.endswith("<checkpoint>") and "<walk.constprop.0+0x3c>" in call


def test_emu_breakpoint_takes_a_name(emu):
    p = emu.spawn("inspect")
    emu.breakpoint(p, "checkpoint")
    emu.run()
    assert p.thread().pc == p.address_of("checkpoint") and p.output[-1] == "counter 3"
    assert (p.pid, p.address_of("checkpoint")) in emu.breakpoints


def test_a_users_own_program_finds_its_symbols_where_it_was_loaded_from(emu, tmp_path):
    """Not bundled: the ELF it was loaded from, or the ELF beside its .3dsx, as a build leaves them."""
    for suffix in (".elf", ".3dsx"):
        shutil.copy(BIN_DIR / f"inspect{suffix}", tmp_path / f"mine{suffix}")
    elf = emu.spawn(str(tmp_path / "mine.elf"))
    threedsx = emu.spawn(str(tmp_path / "mine.3dsx"))
    assert elf.symbol(elf.address_of("main") + 4) == "main+0x4"
    assert threedsx.address_of("checkpoint") == elf.address_of("checkpoint")
    (tmp_path / "mine.elf").unlink()
    lonely = emu.spawn(str(tmp_path / "mine.3dsx"), name="lonely")
    with pytest.raises(InspectError, match="give its ELF"):
        lonely.address_of("checkpoint")


# -- typed reads -------------------------------------------------------------------------
def test_typed_globals_match_what_the_program_prints(emu):
    p = stopped(emu)
    hero = p.var("hero")
    line = printed(p, "hero ")[0]  # hero Ada hp 120 pos 10,-20 score 0x0000001cbe991a14
    name, hp, x, y, score = re.match(r"hero (\w+) hp (\d+) pos (-?\d+),(-?\d+) score 0x(\w+)", line).groups()
    assert (str(hero.name), int(hero.hp), int(hero.pos.x), int(hero.pos.y)) == (name, int(hp), int(x), int(y))
    assert int(hero.score) == int(score, 16)
    items = [re.match(r"item (\d) (\w+) (\d+) flags (\d+)", s).groups() for s in printed(p, "item ")[:3]]
    for i, item_name, count, flags in items:
        item = hero.inventory[int(i)]
        assert (str(item.name), int(item.count), int(item.flags)) == (item_name, int(count), int(flags))
    assert str(hero.rival.name) == "Moriarty" and int(hero.rival.hp) == 666  # through the pointer
    assert str(hero.motto) == "onwards" and float(hero.speed) == 1.5 and hero.mood.value == "CALM"
    assert hex(int(hero["tag"].word)) == "0x11223344" and int(hero.tag["bytes"][0]) == 0x44
    assert hero.address == p.address_of("hero") and str(hero.type) == "struct player"
    assert str(hero.inventory.type) == "struct item [3]" and str(hero.rival.type) == "struct player *"
    assert p.var("hero.inventory[1].name").value == "potion"
    grid = p.var("grid")
    assert sum(int(grid[r][c]) * (r + 1) for r in range(3) for c in range(4)) == int(printed(p, "grid ")[0][5:])
    assert p.var("main::sizes").value == [100, 200, 300, 40, 1000]
    villain = p.typed(p.address_of("villain"), "struct player")
    assert villain.value["pos"] == {"x": -7, "y": 99}


def test_a_typed_value_is_live(emu):
    p = stopped(emu)
    counter = p.var("counter")
    assert int(counter) == 3
    emu.run()
    assert int(counter) == 6 == int(p.output[-1].split()[1])


def test_unmapped_reads_are_clear_errors_and_the_guest_goes_on(emu):
    p = stopped(emu)
    with pytest.raises(UnreadableMemory, match="0x05000000"):
        int(p.typed(0x05000000, "int"))
    with pytest.raises(UnreadableMemory):
        _ = p.typed(0x0FFFF000 - 0x10000, "struct player").value
    emu.run()
    assert p.output[-1] == "counter 6"


def test_locals_of_the_callers_frame(emu):
    p = stopped(emu, rounds=2)
    inner, walk = p.frames()[:2]
    assert inner.function == "checkpoint" and int(inner.locals()["value"]) == 6
    assert walk.function == "walk"
    here = walk.locals()
    assert int(here["total"]) == 2 * 120  # two rounds of hero.hp
    assert int(here["who"]) == p.address_of("hero") and str(here["who"].name) == "Ada"
    assert p.locals(level=1).keys() == here.keys()


def test_watch_a_field(emu):
    p = stopped(emu)
    p.watch_var("counter")
    emu.run()
    hit = emu.watch_hits[-1]
    assert hit.address == p.address_of("counter") and hit.kind == "write"


def test_crash_report_has_a_symbolized_backtrace(emu):
    p = emu.spawn("faults")
    emu.run()
    report = p.crash_report()
    assert "backtrace (DWARF CFI):" in report
    assert re.search(r"#0 0x[0-9a-f]{8} in main\+0x[0-9a-f]+ \(registers\)", report)
    assert emu.spawn("hello").crash_report() is None


# -- heap --------------------------------------------------------------------------------
def test_heap_walk_matches_the_reported_mallocs_and_frees(emu):
    p = stopped(emu)
    heap = p.heap()
    assert heap.allocator == "newlib-nano" and not heap.problems
    mallocs = {int(m.group(2), 16): int(m.group(1)) for m in
               (re.match(r"malloc (\d+) at (0x\w+)", s) for s in printed(p, "malloc "))}
    frees = {int(s.split()[1], 16) for s in printed(p, "free ")}
    used = {c.user: c for c in heap.used_chunks()}
    freed = {c.user for c in heap.free_chunks()}
    assert frees == freed
    for addr, size in mallocs.items():
        assert addr in (used if addr not in frees else freed)
        if addr in used:
            assert size + 4 <= used[addr].size <= size + 16
    assert heap.free == sum(c.size for c in heap.free_chunks()) and heap.largest_free == 208
    assert 0 < heap.fragmentation < 1
    assert heap.top == int(p.var("heap_break")) and heap.high_water == heap.top - heap.start
    assert all(a.end == b.address for a, b in zip(heap.chunks, heap.chunks[1:], strict=False))


def test_no_allocator_recognised():
    from hlemu.inspect.heap import walk
    from hlemu.inspect.symbols import SymbolTable

    with pytest.raises(InspectError, match="no allocator recognised"):
        walk(SymbolTable([]), lambda addr: 0)


# -- footprints --------------------------------------------------------------------------
def test_footprints_add_up(emu):
    owner, peer = emu.spawn("shmem2_owner"), emu.spawn("shmem2_peer")
    emu.run(instructions=400_000)
    everyone = owner.footprint(system=True)
    for pid in (owner.pid, peer.pid):
        fp = everyone[pid]
        assert fp.rss >= fp.pss >= fp.uss > 0
        assert fp.rss == sum(u.rss for u in fp.by_state.values())
    assert abs(sum(fp.pss for pid, fp in everyone.items() if pid >= 0) - everyone[-1].pss) < 4096
    assert owner.footprint().pss == everyone[owner.pid].pss


def test_two_processes_sharing_a_block_carry_half_each():
    from hlemu.inspect.footprint import footprints
    from hlemu.memory import MemoryPermission, MemoryState, MemorySystem

    system = MemorySystem(backend="semifastmem")
    a, b = system.create_space(1), system.create_space(2)
    a.map(0x08000000, system.phys.allocate("APPLICATION", 4), MemoryPermission.RW, MemoryState.PRIVATE)
    block = system.phys.allocate("APPLICATION", 2)
    a.map(0x10000000, block, MemoryPermission.RW, MemoryState.SHARED)
    b.map(0x10000000, block, MemoryPermission.R, MemoryState.SHARED)
    b.map(0x10100000, block, MemoryPermission.R, MemoryState.SHARED)  # mapped twice by b: still one sharer
    fp = footprints(system.spaces)
    # a: 4 own pages (16 KiB) + half of 2 shared (4 KiB); b: half of the 2 shared
    assert (fp[1].rss, fp[1].pss, fp[1].uss) == (24576, 20480, 16384)
    assert (fp[2].rss, fp[2].pss, fp[2].uss) == (8192, 4096, 0)
    assert fp[1].by_state["shared"].pss == fp[2].by_state["shared"].pss == 4096
    assert (fp[-1].rss, fp[-1].pss, fp[-1].uss) == (24576, 24576, 16384)
    system.close()


# -- the scanner -------------------------------------------------------------------------
def narrow(emu, p, scan):
    for _ in range(3):
        emu.run()
        scan.rescan("increased")
        emu.run()
        scan.rescan(int(p.output[-1].split()[1]))
    return scan


def test_scanner_narrows_to_the_counter(emu):
    p = stopped(emu)
    everywhere = p.scan(3)
    assert len(everywhere) > 1
    narrow(emu, p, everywhere)
    # the counter, and the copies printf and checkpoint() keep of it on the stack, every round
    counter = p.address_of("counter")
    assert counter in everywhere.addresses.tolist()
    assert all(a >= 0x0F000000 for a in everywhere.addresses.tolist() if a != counter)
    in_image = narrow(emu, p, p.scan(int(p.var("counter")), start=0x00100000, end=0x08000000))
    assert in_image.addresses.tolist() == [counter]
    assert "-> 1 candidates" in repr(in_image)
    emu.run()
    assert in_image.rescan("unchanged") == []
