"""Damaged, truncated, newer and foreign states are refused whole: StateError, exit 2."""

from __future__ import annotations

import io
import struct
import subprocess
import sys

import pytest

from kernel.api import Emulator
from kernel.state import StateError
from kernel.state.format import FORMAT_VERSION, section_bounds
from tests.state.conftest import make


@pytest.fixture(scope="module")
def state_bytes():
    emu = make(("hello", "threads"), "semifastmem")
    emu.run(instructions=150_000)
    buf = io.BytesIO()
    emu.save_state(buf)
    emu.close()
    return buf.getvalue()


def refused(data: bytes) -> str:
    with pytest.raises(StateError) as err:
        Emulator.load_state(data, backend="semifastmem", echo=False)
    return str(err.value)


def test_the_good_one_loads(state_bytes):
    Emulator.load_state(state_bytes, backend="semifastmem", echo=False).close()


def test_truncated_at_every_section_boundary(state_bytes):
    cuts = {0, 4, 12}
    for _, offset, size in section_bounds(state_bytes):
        cuts.update({offset, offset + size // 2, offset + size - 1})
    for cut in sorted(c for c in cuts if c < len(state_bytes)):
        assert "truncated" in refused(state_bytes[:cut]) or "short" in refused(state_bytes[:cut]), cut


def test_a_flipped_byte_in_every_section(state_bytes):
    for name, offset, size in section_bounds(state_bytes):
        for where in (offset + 16, offset + size // 2, offset + size - 1):
            if where >= offset + size or where < 0:
                continue
            damaged = bytearray(state_bytes)
            damaged[where] ^= 0x40
            message = refused(bytes(damaged))
            assert message, name


def test_bigger_version(state_bytes):
    newer = state_bytes[:8] + struct.pack("<I", FORMAT_VERSION + 1) + state_bytes[12:]
    assert "newer hlemu" in refused(newer)


def test_not_a_state():
    assert "not an hlemu save state" in refused(b"\x7fELF" + bytes(100))


def test_bytes_after_the_end(state_bytes):
    assert "after its last section" in refused(state_bytes + b"x")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hlemu", "run", *args], capture_output=True, text=True,
                          timeout=300)


def test_cli_exit_2_on_damage_and_on_another_program(tmp_path, state_bytes):
    path = tmp_path / "s.state"
    path.write_bytes(state_bytes[: len(state_bytes) // 2])
    done = run_cli("--load-state", str(path))
    assert done.returncode == 2 and "truncated" in done.stderr
    path.write_bytes(state_bytes)
    done = run_cli("compute", "--load-state", str(path))
    assert done.returncode == 2 and "other programs" in done.stderr


def test_cli_save_then_load_continues(tmp_path):
    path = tmp_path / "demo.state"
    done = run_cli("--frames", "3", "--save-state", str(path), "--backend", "fastmem")
    assert done.returncode == 0, done.stderr
    assert "state saved" in done.stdout
    straight = run_cli("--frames", "6", "--backend", "semifastmem")
    later = run_cli("--load-state", str(path), "--frames", "3", "--backend", "semifastmem")
    assert later.returncode == 0, later.stderr
    assert later.stdout.splitlines()[-1] == straight.stdout.splitlines()[-1]
    # what the continued run prints is what the straight run printed after frame 3
    assert straight.stdout.endswith("".join(line + "\n" for line in later.stdout.splitlines()))
