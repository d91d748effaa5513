"""``hlemu repl`` and ``hlemu run --script`` driven as a user drives them."""

from __future__ import annotations

import subprocess
import sys

import pytest


def hlemu(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hlemu", *args], input=stdin, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("plain", [False, True], ids=["ipython", "plain"])
def test_repl_has_emu_ready_with_the_programs_spawned(plain):
    session = "p = emu.process('hello')\nr = emu.run()\nprint('RESULT', r.reason, p.exit_code, p.output[0])\n"
    result = hlemu("repl", "hello", *(["--plain"] if plain else []), stdin=session)
    assert result.returncode == 0, result.stderr
    assert "`emu` is the emulator" in result.stdout + result.stderr  # the banner
    assert "p.disasm(p.threads[0].pc, 8)" in result.stdout + result.stderr
    assert "RESULT all exited 7 Hello from hlemu!" in result.stdout


def test_script_runs_with_emu_in_its_globals(tmp_path):
    script = tmp_path / "frames.py"
    script.write_text("emu.run(frames=30)\n"
                      "fb = emu.process('fb')\n"
                      "print('frame', emu.frame, 'write_track', fb.faults['write_track'])\n")
    result = hlemu("run", "--script", str(script), "fb")
    assert result.returncode == 0, result.stderr
    assert "frame 30 write_track 450" in result.stdout


def test_a_failing_script_shows_its_traceback_and_exits_1(tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("emu.process('nobody')\n")
    result = hlemu("run", "--script", str(script), "hello")
    assert result.returncode == 1
    assert "KeyError" in result.stderr and "nobody" in result.stderr
