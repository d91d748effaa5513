"""fastmem_trap: traps really happen (and only on protected pages), the redo leaves slowmem's
results, the handler chains every fault it does not own, and it survives faulthandler.

The equivalence over random page tables is tests/memory/test_differential.py's (fastmem_trap
is one of its worlds); here are the cases that need the handler's own counters or a process
that is allowed to die.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from hlemu.memory import PAGE_SIZE, GuestFault, MemorySystem, WriteTracker, choose_backend, trap
from hlemu.memory import MemoryPermission as P
from hlemu.memory import MemoryState as S
from hlemu.memory.paths_trap import FastTrapMem

BASE = 0x08000000
RO = BASE + 2 * PAGE_SIZE  # read-only page
MMIO = BASE + 3 * PAGE_SIZE
TRACKED = BASE + 4 * PAGE_SIZE
WATCHED = BASE + 5 * PAGE_SIZE
HOLE = BASE + 6 * PAGE_SIZE  # unmapped
ROOT = Path(__file__).resolve().parents[2]

if trap.compiler() is None:  # the only reason to skip: the variant needs cc
    pytest.skip(f"no C compiler ({os.environ.get('CC', 'cc')}) to build the fault handler", allow_module_level=True)


class Regs:
    def __init__(self) -> None:
        self.log: list[tuple] = []

    def read(self, space, vaddr: int, size: int) -> int:
        self.log.append(("read", vaddr, size))
        return 0x11223344

    def write(self, space, vaddr: int, size: int, value: int) -> None:
        self.log.append(("write", vaddr, size, value))


@pytest.fixture
def world():
    """A space with two RW pages, then read-only, MMIO, tracked, watched pages and a hole."""
    system = MemorySystem(backend="fastmem_trap")
    space = system.create_space(1, "trap")
    frames = system.phys.allocate("APPLICATION", 5)
    space.map(BASE, frames[:2], P.RW, S.PRIVATE)
    space.map(RO, frames[2:3], P.R, S.PRIVATE)
    regs = Regs()
    space.map_mmio(MMIO, PAGE_SIZE, regs)
    space.map(TRACKED, frames[3:4], P.RW, S.PRIVATE)
    tracker = WriteTracker("fb")
    space.track_writes(TRACKED, PAGE_SIZE, tracker)
    space.map(WATCHED, frames[4:5], P.RW, S.PRIVATE)
    hits: list = []
    space.watch(WATCHED + 16, 8, hits.append)
    yield space, regs, tracker, hits
    system.close()


def test_the_backend_gives_processes_the_trap_path(world):
    space, *_ = world
    assert choose_backend("fastmem_trap").name == "fastmem_trap"
    assert isinstance(space.mem, FastTrapMem) and space.mem is space.path("fastmem_trap")
    assert space.backend == "fastmem_trap" and space.slab is not None


def test_plain_accesses_never_trap(world):
    space, *_ = world
    mem = space.mem
    mem.write32(BASE + PAGE_SIZE - 2, 0xCAFEF00D)  # crosses into the second RW page
    mem.write(BASE + 100, b"hello")
    mem.write_batch(np.array([BASE, BASE + 8]), np.array([1, 2]), 8)
    mem.copy_from(space, BASE + 100, BASE + PAGE_SIZE + 100, 5)
    values = [mem.read32(BASE + PAGE_SIZE - 2), mem.read(BASE + PAGE_SIZE + 100, 5), mem.read32(RO),
              mem.read_batch(np.array([BASE, BASE + 8]), 8).tolist(), mem.read32(TRACKED),
              mem.read32(WATCHED)]  # the watched page's unwatched bytes still go through slowmem
    assert values[:5] == [0xCAFEF00D, b"hello", 0, [1, 2], 0]
    assert mem.traps == 1  # the watched page alone: all its accesses must reach the watchpoint code


@pytest.mark.parametrize(("what", "access", "fault"), [
    ("unmapped read", lambda m: m.read32(HOLE), "unmapped"),
    ("unmapped write", lambda m: m.write16(HOLE + 2, 1), "unmapped"),
    ("read-only write", lambda m: m.write8(RO, 1), "does not allow writes"),
    ("crossing into read-only", lambda m: m.write32(RO - 2, 0xAABBCCDD), "does not allow writes"),
    ("bulk read into a hole", lambda m: m.read(HOLE - 8, 1 << 20), "unmapped"),
    ("bulk write into read-only", lambda m: m.write(RO - 8, b"x" * 64), "does not allow writes"),
    ("batch read", lambda m: m.read_batch([BASE, HOLE, BASE + 4]), "unmapped"),
    ("batch write", lambda m: m.write_batch([BASE, RO, BASE + 4], [7, 8, 9]), "does not allow writes"),
])
def test_protected_pages_trap_once_and_fault_as_slowmem_does(world, what, access, fault):
    """Each access traps (the log counted it, the page is restored) and raises slowmem's fault;
    writes that slowmem would not have made are not visible afterwards."""
    space, *_ = world
    mem = space.mem
    with pytest.raises(GuestFault, match=fault):
        access(mem)
    assert mem.traps == 1, what
    assert space.slow.read(RO - 8, 16) == bytes(16)  # the page-crossing store's first half was undone
    assert space.slow.read32(BASE + 4) == 0  # the batch stopped at its fault, as slowmem's does
    assert space.slow.read32(BASE) == (7 if what == "batch write" else 0)
    assert trap.native().thread_block()[trap.COUNT] == 0


def test_special_pages_trap_and_reach_their_handlers(world):
    space, regs, tracker, hits = world
    mem = space.mem
    assert mem.read32(MMIO + 4) == 0x11223344
    mem.write16(MMIO + 8, 0x5566)
    mem.write32(TRACKED + 4, 9)  # the first write to a clean tracked page: a write-track fault
    mem.write32(TRACKED + 8, 10)  # dirty now: the page is writable, no trap
    mem.write32(WATCHED + 16, 3)
    assert regs.log == [("read", MMIO + 4, 4), ("write", MMIO + 8, 2, 0x5566)]
    assert tracker.dirty == {space.pid: {TRACKED >> 12}} and space.faults.page(TRACKED)["write_track"] == 1
    assert [(h.address, h.kind, h.data) for h in hits] == [(WATCHED + 16, "write", (3).to_bytes(4, "little"))]
    assert mem.read_batch([TRACKED + 4, TRACKED + 8]).tolist() == [9, 10]
    assert mem.traps == 4
    tracker.rearm()
    mem.write_batch([TRACKED, TRACKED + 4], [1, 2])  # clean again: the batch traps, then goes checked
    assert mem.traps == 5 and space.faults.page(TRACKED)["write_track"] == 2


def test_a_read_batch_keeps_out_beyond_the_fault_as_it_was(world):
    space, *_ = world
    out = np.full(200, 0xA5, dtype=np.uint32)
    addrs = np.full(200, BASE, dtype=np.uint32)
    addrs[150] = HOLE
    with pytest.raises(GuestFault):
        space.mem.read_batch(addrs, out=out)
    assert out[:150].tolist() == [0] * 150 and out[150:].tolist() == [0xA5] * 50


def test_an_overlapping_copy_takes_the_checked_path_and_is_memmove(world):
    """Redoing is not equivalent when the two ranges share frames (the compiled pass would have
    changed the source), so such a copy bounces to checked fastmem before touching anything."""
    space, *_ = world
    mem = space.mem
    mem.write(BASE, bytes(range(256)) * 16)
    mem.copy_from(space, BASE, BASE + 10, 4000)
    assert mem.read(BASE + 10, 4000) == (bytes(range(256)) * 16)[:4000]
    assert mem.traps == 0


def test_every_slab_page_is_restored_after_a_trap(world):
    """After traps on every kind of page the slab maps what the table says again: reading a
    trapped read-only page directly shows the frame's bytes, not the scratch page's zeros."""
    space, *_ = world
    space.poke(RO, b"real")
    with pytest.raises(GuestFault):
        space.mem.write32(RO, 1)
    assert bytes(space.slab.view[RO : RO + 4]) == b"real"
    assert space.mem.read32(RO) == int.from_bytes(b"real", "little") and space.mem.traps == 1


def test_threads_have_their_own_arm_flag_and_log():
    system = MemorySystem(backend="fastmem_trap")
    errors: list[BaseException] = []

    def worker(pid: int) -> None:
        try:
            space = system.create_space(pid) if pid not in system.spaces else system.spaces[pid]
            for i in range(200):
                with pytest.raises(GuestFault):
                    space.mem.read32(HOLE + 4 * i)
                assert space.mem.read32(BASE) == pid
            assert space.mem.traps == 200
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    for pid in (1, 2, 3):
        space = system.create_space(pid)
        space.map(BASE, system.phys.allocate("APPLICATION", 1), P.RW, S.PRIVATE)
        space.mem.write32(BASE, pid)
    threads = [threading.Thread(target=worker, args=(pid,)) for pid in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    system.close()
    assert errors == []


def _die(code: str) -> subprocess.CompletedProcess[str]:
    prelude = textwrap.dedent("""
        import ctypes, faulthandler, sys
        from hlemu.memory import MemorySystem, MemoryPermission as P, MemoryState as S, trap
        system = MemorySystem(backend="fastmem_trap")
        space = system.create_space(1)
        space.map(0x08000000, system.phys.allocate("APPLICATION", 1), P.RW, S.PRIVATE)
        mem = space.mem
        print("ready", flush=True)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-X", "faulthandler", "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120, env=env, check=False)


@pytest.mark.parametrize("code", [
    pytest.param("block = trap.native().thread_block(); block[0] = 1\nctypes.string_at(8, 1)", id="armed-wild"),
    pytest.param("space.slab.view[0x09000000]", id="unarmed-slab-page"),
])
def test_faults_the_handler_does_not_own_still_kill_the_process(code):
    """A wild access outside every slab (even armed) and an unarmed access to a protected slab
    page go to the previous handler, here faulthandler, which prints and lets SIGSEGV kill."""
    done = _die(code)
    assert done.stdout.startswith("ready")
    assert done.returncode == -signal.SIGSEGV, done.stderr
    assert "Fatal Python error: Segmentation fault" in done.stderr


@pytest.mark.parametrize("change", ["faulthandler.disable()", "faulthandler.disable(); faulthandler.enable()"])
def test_faulthandler_changed_after_the_install_is_detected_and_the_handler_reinstalled(change):
    """faulthandler.disable puts back SIG_DFL over ours, enable then puts its own above: the next
    armed call re-installs ours (faulthandler, if enabled, becomes its previous handler)."""
    done = _die(f"""
        assert trap.native().is_current() and trap.native().reinstalls == 1
        {change}
        assert not trap.native().is_current() and trap.native().stale
        try:
            mem.read32(0x09000000)
        except Exception as exc:
            print(type(exc).__name__, mem.traps, trap.native().is_current(), trap.native().reinstalls)
        space.slab.view[0x09000000]  # unarmed: the previous handler (faulthandler or none) ends it
    """)
    assert done.stdout.splitlines()[1:] == ["GuestFault 1 True 2"], done.stderr
    assert done.returncode == -signal.SIGSEGV
    assert ("Fatal Python error: Segmentation fault" in done.stderr) == change.endswith("enable()")


def test_the_library_is_cached_by_source_hash_and_a_missing_compiler_is_named(tmp_path, monkeypatch):
    built = trap.build(out_dir=tmp_path)
    assert built.parent == tmp_path and built.name.startswith("trap-") and built.stat().st_size > 0
    assert trap.build(out_dir=tmp_path) == built  # cached: no second compile
    source = tmp_path / "trap.c"
    source.write_text(trap.SOURCE.read_text() + "\n/* changed */\n")
    monkeypatch.setenv("CC", "no-such-cc")
    with pytest.raises(trap.TrapUnavailable, match="needs a C compiler .*'no-such-cc' was not found"):
        trap.build(source, out_dir=tmp_path)
