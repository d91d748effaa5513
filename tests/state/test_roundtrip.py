"""Run N, save, load, run M == run N+M straight: output, counters, registers, memory, screens."""

from __future__ import annotations

import io
import random
import subprocess
import sys

import pytest

from kernel.api import Emulator
from tests.state.conftest import DEMO, fingerprint, make

PAIRS = [("semifastmem", "semifastmem"), ("fastmem", "fastmem"), ("fastmem", "semifastmem"),
         ("semifastmem", "fastmem")]


def split_run(programs, save_backend, load_backend, n, m):
    straight = make(programs, save_backend)
    straight.run(instructions=n + m)
    want = fingerprint(straight)
    straight.close()
    first = make(programs, save_backend)
    first.run(instructions=n)
    buf = io.BytesIO()
    first.save_state(buf)
    first.close()
    second = Emulator.load_state(buf.getvalue(), backend=load_backend, echo=False)
    second.run(instructions=m)
    got = fingerprint(second)
    second.close()
    return want, got


@pytest.mark.parametrize("save_backend,load_backend", PAIRS)
def test_demo_split_equals_straight(save_backend, load_backend):
    want, got = split_run(DEMO, save_backend, load_backend, 1_700_000, 1_300_000)
    for key in want:
        assert got[key] == want[key], key


# Each bundled program (the IPC pair together), split at a point drawn from a fixed seed,
# then run to its end.
PROGRAMS = [("hello",), ("compute",), ("threads",), ("shmem",), ("ipc_server", "ipc_client"),
            ("console.3dsx",), ("cfg_values",), ("apt_lifecycle",), ("gx",), ("fbformats",), ("faults",),
            ("shmem2_owner", "shmem2_peer")]


@pytest.mark.parametrize("programs", PROGRAMS, ids=lambda p: "+".join(p))
def test_bundled_program_split(programs):
    rng = random.Random("+".join(programs))
    n = rng.randrange(1_000, 400_000)
    save_backend, load_backend = PAIRS[rng.randrange(len(PAIRS))]
    want, got = split_run(programs, save_backend, load_backend, n, 600_000)
    for key in want:
        assert got[key] == want[key], (key, n, save_backend, load_backend)


def test_snapshot_restore_many_times_equals_none():
    plain = make(DEMO, "semifastmem")
    plain.run(instructions=1_200_000)
    want = fingerprint(plain)
    plain.close()
    emu = make(DEMO, "semifastmem")
    for _ in range(100):
        emu.run(instructions=12_000)
        emu.restore(emu.snapshot())
    got = fingerprint(emu)
    emu.close()
    for key in want:
        assert got[key] == want[key], key


def test_restore_goes_back():
    emu = make(DEMO, "semifastmem")
    emu.run(instructions=500_000)
    snap = emu.snapshot()
    want = fingerprint(emu)
    emu.run(instructions=700_000)
    emu.restore(snap)
    assert fingerprint(emu) == want
    emu.close()


def test_load_in_a_fresh_process(tmp_path):
    path = tmp_path / "demo.state"
    emu = make(DEMO, "semifastmem")
    emu.run(instructions=900_000)
    emu.save_state(path)
    emu.run(instructions=400_000)
    want = (emu.instructions, emu.ticks, emu.frame, [list(p.process.output) for p in emu.processes])
    emu.close()
    code = ("import sys; from kernel.api import Emulator\n"
            f"e = Emulator.load_state({str(path)!r}, echo=False)\n"
            "e.run(instructions=400_000)\n"
            "print(repr((e.instructions, e.ticks, e.frame, [list(p.process.output) for p in e.processes])))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.strip().splitlines()[-1] == repr(want)
