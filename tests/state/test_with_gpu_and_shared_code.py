"""Save states hold what the GPU and the shared code images add to the machine: a state
taken between two draws continues to the same pictures, and a state of two instances of
one program keeps their code frames shared (held once, released when both have gone)."""

from __future__ import annotations

import io

import numpy as np

from kernel.api import Emulator
from tests.state.conftest import fingerprint, make


def first_draw(programs: tuple[str, ...]) -> int:
    """Instructions after which the GPU has drawn once and the program still runs."""
    emu = make(programs, "semifastmem")
    try:
        while emu.gpu.counts["draws"] == 0:
            assert emu.run(instructions=1_000).reason == "instruction limit"
        return emu.instructions
    finally:
        emu.close()


def test_a_state_between_two_draws_continues_to_the_same_pictures():
    programs = ("gpu_triangles",)
    n = first_draw(programs)
    straight = make(programs, "fastmem")
    straight.run()
    want = fingerprint(straight)
    draws = straight.gpu.counts["draws"]
    straight.close()
    assert draws > 1  # the split falls between draws
    first = make(programs, "fastmem")
    first.run(instructions=n)
    buf = io.BytesIO()
    first.save_state(buf)
    first.close()
    second = Emulator.load_state(buf.getvalue(), backend="semifastmem", echo=False)
    assert second.gpu.counts["draws"] >= 1  # the GPU's counts came with the state
    assert second.run().reason == "all exited"
    got = fingerprint(second)
    assert second.gpu.counts["draws"] == draws
    assert second.process(32).output[-1].endswith("0 failures")
    second.close()
    for key in want:
        assert got[key] == want[key], key


def test_a_state_keeps_two_instances_sharing_their_code():
    first = make(("hello", "hello"), "semifastmem")
    first.run(instructions=3_000)
    code_vpn = 0x100000 >> 12
    buf = io.BytesIO()
    first.save_state(buf)
    first.close()
    emu = Emulator.load_state(buf.getvalue(), backend="semifastmem", echo=False)
    kernel = emu.kernel
    phys = kernel.memory.phys
    a, b = (kernel.processes[pid] for pid in sorted(kernel.processes))
    code = int(a.space.table.frame[code_vpn])
    assert int(b.space.table.frame[code_vpn]) == code and phys.map_count[code] == 2
    assert len(kernel.image_frames) > 0 and phys.image[code]
    assert emu.run().reason == "all exited"
    assert [p.exit_code for p in (a, b)] == [7, 7]
    kernel.reap()
    assert len(kernel.image_frames) == 0 and not phys.image.any()
    assert phys.is_free(np.array([code]))[0]
    emu.close()
