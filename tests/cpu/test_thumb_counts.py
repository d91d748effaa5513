"""Thumb code is counted by instruction, as ARM code is: a 16-bit and a 32-bit Thumb instruction
(``bl``) count one each, so a Thumb block costs at least one tick, ``run(instructions=N)`` stops
after N of them, and N steps leave the machine a run of N leaves (issue 12).

Before, a block counted its bytes / 4: a Thumb block of one or two 16-bit instructions counted 0."""

from __future__ import annotations

import pytest

from kernel.kernel import Kernel
from tests.kernel.test_run_control import machine
from tests.tiny_elf import CODE, assemble, elf

# 1 + 200 * (adds, bl (32-bit), movs, adds, bx, cmp, bne) + movs + svc = 1403 instructions
LOOP = """
    movs r4, #0
loop:
    adds r4, r4, #1
    bl f
    cmp r4, #200
    bne loop
    movs r0, #0
    svc #0x03
f:
    movs r1, r4
    adds r1, #3
    bx lr
"""
INSTRUCTIONS = 1 + 200 * 7 + 2


@pytest.fixture(scope="module")
def thumb_elf(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("thumb") / "loop.elf"
    path.write_bytes(elf(assemble(LOOP, CODE, thumb=True), CODE, CODE | 1))
    return str(path)


def _kernel(backend: str, program: str) -> Kernel:
    kernel = Kernel(backend=backend, quantum_blocks=5, output=lambda p, line: None)
    kernel.spawn(program)
    return kernel


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
def test_thumb_instructions_count_one_each(backend, thumb_elf):
    kernel = _kernel(backend, thumb_elf)
    result = kernel.run()
    assert result.reason == "all exited" and result.instructions == INSTRUCTIONS
    assert result.ticks == INSTRUCTIONS + 200  # and one SVC (ExitProcess) of SVC_TICKS
    kernel.close()


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 100, 701])
def test_n_thumb_steps_are_a_run_of_n(backend, thumb_elf, n):
    stepped, ran = _kernel(backend, thumb_elf), _kernel(backend, thumb_elf)
    try:
        for _ in range(n):
            assert stepped.scheduler.step() is not None
        result = ran.run(max_instructions=n)
        assert result.reason == "instruction limit" and result.instructions == n
        assert machine(stepped) == machine(ran)
        assert stepped.run().ticks == ran.run().ticks == INSTRUCTIONS + 200
        assert machine(stepped) == machine(ran)
    finally:
        stepped.close()
        ran.close()


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
def test_a_held_thumb_svc_stops_at_its_svc_and_runs_once(backend, thumb_elf):
    from kernel.api import Emulator

    emu = Emulator(backend=backend, echo=False)
    proc = emu.spawn(thumb_elf)
    held: list[int] = []
    emu.on_svc(lambda p, tid, number, args: held.append(number) or True, hold=True)
    emu.run()
    thread = proc.thread()
    assert held == [0x03] and proc.alive and thread.thumb
    assert emu.kernel.processes[proc.pid].space.peek(thread.pc, 2) == b"\x03\xdf"  # svc #3, not yet run
    assert emu.instructions == INSTRUCTIONS - 1
    assert emu.run().reason == "all exited" and held == [0x03]  # served once, not asked again
    assert (emu.instructions, emu.ticks) == (INSTRUCTIONS, INSTRUCTIONS + 200)
    emu.close()
