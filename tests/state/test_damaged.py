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


# -- reference counts: exactly handles plus the kernel's holds -------------------------------
def _rewritten(emu: Emulator, change) -> bytes:
    """The emulator's state with its kernel's attributes changed by ``change`` (the
    checksums made again: a well-formed file that describes another machine)."""
    from kernel.state import format as state_format
    from kernel.state.machine import capture, to_sections

    captured = capture(emu.kernel)
    root = captured.graph["objects"][str(captured.graph["root"])]["a"]
    change(root)
    buf = io.BytesIO()
    state_format.write(buf, to_sections(captured), captured.meta)
    return buf.getvalue()


@pytest.fixture(scope="module")
def running():
    emu = make(("hello", "threads"), "semifastmem")
    emu.run(instructions=150_000)
    yield emu
    emu.close()


def _held_port(root) -> list:
    """The ``_refs`` entry of an object the kernel holds (srv's port) that no handle names."""
    held = {k["$t"][0] for k, _ in root["holds"]["$C"]}
    entries = root["_refs"]["$d"]
    return next(e for e in entries if e[0] in held)


@pytest.mark.parametrize("delta", [1, -1])
def test_a_count_off_by_one_is_refused_naming_the_object(running, delta):
    def off(root):
        _held_port(root)[1] += delta

    message = refused(_rewritten(running, off))
    assert "reference count of" in message and "#" in message, message


def test_a_hold_without_its_count_is_refused(running):
    def extra_hold(root):
        pair = next(p for p in root["holds"]["$C"] if p[0]["$t"][1] == "service event")
        pair[1] += 1

    assert "reference count of" in refused(_rewritten(running, extra_hold))


def test_a_hold_its_holder_does_not_hold_is_refused(running):
    """Counts that add up, but srv's port held by nobody the state shows (its hold and its
    count both one less)."""
    def moved(root):
        pair = next(p for p in root["holds"]["$C"] if p[0]["$t"][1] == "named port")
        pair[0]["$t"][1] = "service event"

    assert "is held by 'named port' 0 times" in refused(_rewritten(running, moved))


def test_the_rewritten_state_unchanged_loads(running):
    Emulator.load_state(_rewritten(running, lambda root: None), backend="semifastmem", echo=False).close()


def test_counts_add_up_after_every_program_ends():
    """Every bundled program run to its end (sessions, ports and events closed, processes
    reaped) saves a state whose counts add up: the load checks each one."""
    from tests.state.test_roundtrip import PROGRAMS

    for programs in PROGRAMS:
        emu = make(programs, "semifastmem")
        emu.run(instructions=3_000_000)
        buf = io.BytesIO()
        emu.save_state(buf)
        emu.close()
        Emulator.load_state(buf.getvalue(), backend="semifastmem", echo=False).close()
