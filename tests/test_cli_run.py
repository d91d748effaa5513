"""``hlemu run`` as a user runs it: a subprocess, its output and exit status."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from hlemu.guest import program_path
from tests.processes import interrupt, running
from tests.tiny_elf import SPIN, SVC_LOOP, write_elf


def hlemu(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hlemu", *args], capture_output=True, text=True, timeout=300)


def test_run_one_program_prints_prefixed_output_and_returns_its_exit_status():
    result = hlemu("run", "hello")
    assert result.returncode == 7
    assert "[hello:32] Hello from hlemu!" in result.stdout
    assert "hlemu: all exited; hello: exited (7)" in result.stdout


def test_run_without_programs_runs_the_demo_processes_side_by_side():
    result = hlemu("run", "--stats")
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("[ipc_server:32] ipc_server: 0 failures", "[ipc_client:33] ipc_client: 0 failures",
                 "[fb:34] fb: done", "[console:35] console: 600 frames without input, done"):
        assert line in result.stdout
    assert "context switches" in result.stdout and "MIPS" in result.stdout


def test_the_demo_shows_fb_on_the_top_screen_and_the_console_below(tmp_path):
    shot = tmp_path / "demo.png"
    result = hlemu("run", "--frames", "30", "--screenshot", str(shot))
    assert result.returncode == 0, result.stdout + result.stderr
    from PIL import Image

    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert (pixels[:240] == (0x10, 0x20, 0x40)).all(-1).mean() > 0.5  # fb's background behind its bars
    title = pixels[240:248, 40:360]  # the console's first row: black text on white
    assert {tuple(p) for p in title.reshape(-1, 3)} == {(0, 0, 0), (0xAD, 0xAA, 0xAD)}


def test_a_bundled_3dsx_runs_by_name():
    result = hlemu("run", "hello.3dsx")
    assert result.returncode == 7
    assert "[hello:32] Hello from hlemu!" in result.stdout


def test_a_crash_in_one_process_leaves_the_others_running():
    result = hlemu("run", "faults", "hello", "--backend", "semifastmem")
    assert result.returncode == 3
    assert "=== guest crash: process 32 'faults'" in result.stdout
    assert "> 00100078:" in result.stdout  # the disassembly marks the faulting instruction
    assert "[hello:33] exiting with 7" in result.stdout


def test_maps_trace_and_limits():
    result = hlemu("run", "hello", "--maps", "--trace-svc", "--max-instructions", "2000")
    assert result.returncode == 5
    assert "[svc] thread 1: ControlMemory(0x3, 0x8000000, 0x0, 0x1000, 0x3) -> 0x0, 0x8000000" in result.stdout
    assert "00100000-00103fff r-x code" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["run", "no-such-program"], "no such file, and not a bundled program"),
    (["run", "--backend", "fastmem", "--host-page-size", "16384", "hello"], "fastmem is impossible here"),
])
def test_bad_input_is_a_clear_error(args, message):
    result = hlemu(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_the_summary_says_why_the_run_stopped_in_plain_words():
    result = hlemu("run", "fb", "--frames", "5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "hlemu: frames done; fb: running"


def test_stats_count_one_context_switch_in_the_singular():
    result = hlemu("run", "hello", "--stats")
    total = next(line for line in result.stdout.splitlines() if line.startswith("total: "))
    assert ", 1 context switch, " in total, total


def test_an_undefined_instruction_is_said_once():
    result = hlemu("run", "faults_undef")
    assert result.returncode == 3
    assert "\nundefined instruction at 0x0010006c\n" in result.stdout, result.stdout


def test_a_file_that_is_not_an_elf_is_refused(tmp_path):
    bad = tmp_path / "bad.elf"
    bad.write_bytes(program_path("hello").read_bytes()[:100])
    result = hlemu("run", str(bad))
    assert result.returncode == 2
    assert "malformed ELF" in result.stderr or "truncated" in result.stderr


def test_headless_frames_with_input_and_a_screenshot(tmp_path):
    script = tmp_path / "pad.txt"
    script.write_text("0 none\n10 RIGHT\n40 DOWN+A  # drag the square\n70 none\n")
    shot = tmp_path / "fb.png"
    result = hlemu("run", "fb", "--frames", "90", "--input", str(script), "--screenshot", str(shot))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hlemu: frame 90 written to" in result.stdout
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = tmp_path / "bad.txt"
    bad.write_text("5 JUMP\n")
    result = hlemu("run", "fb", "--frames", "5", "--input", str(bad))
    assert result.returncode == 2 and "unknown key 'JUMP'" in result.stderr


@pytest.mark.parametrize("slow_path", ["compiled", "python"])
def test_slowmem_runs_guest_data_accesses_through_the_slow_path_and_says_how_many(slow_path):
    """``--backend slowmem`` is what runs (before, it ran semifastmem's TLB and still said
    "slowmem (requested)"): the instructions of the snapshot (tests/guest/snapshots/hello.json),
    and the slow-path calls counted, the same with either slow path."""
    import os

    slow = subprocess.run([sys.executable, "-m", "hlemu", "run", "hello", "--backend", "slowmem", "--stats"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "HLEMU_SLOW_PATH": slow_path})
    assert slow.returncode == 7, slow.stderr
    assert "[hello:32] Hello from hlemu!" in slow.stdout
    total = next(line for line in slow.stdout.splitlines() if line.startswith("total: "))
    assert total.startswith("total: 989,735 instructions, ")
    assert "backend slowmem (requested)" in total and re.search(r"\(\d+\.\d MIPS\)", total)
    counts = re.search(rf"^slowmem data accesses: ([\d,]+) reads, ([\d,]+) writes through the {slow_path} "
                       r"slow path \(\d+\.\d\d M/s\)$", slow.stdout, re.MULTILINE)
    assert counts is not None, slow.stdout
    assert (counts[1], counts[2]) == ("67,043", "66,867")


def test_only_slowmem_prints_slow_path_counts():
    assert "slowmem data accesses" not in hlemu("run", "hello", "--backend", "semifastmem", "--stats").stdout


def test_simulated_16k_host_runs_on_semifastmem():
    result = hlemu("run", "hello", "--host-page-size", "16384", "--stats")
    assert result.returncode == 7
    assert "backend semifastmem (host pages are 16 KiB" in result.stdout


@pytest.mark.parametrize("guest", [SPIN, SVC_LOOP], ids=["spin-without-svcs", "svc-loop"])
def test_ctrl_c_stops_a_run_within_half_a_second_with_the_summary(tmp_path, guest):
    path = write_elf(tmp_path / "spin.elf", guest)
    with running(["run", str(path), "--stats", "--maps"], "[spin:32] spinning") as (proc, lines):
        took = interrupt(proc, lines, "hlemu: interrupted (Ctrl-C); spin: running")
    out = "".join(lines)
    assert proc.returncode == 130, out
    assert took < 0.5, out
    assert "Traceback" not in out and "KeyboardInterrupt" not in out
    assert re.search(r"32  spin +running +[1-9][\d,]* ", out), out  # --stats: its instructions
    assert "total: " in out and "MIPS" in out
    assert "00100000-00100fff r-x code" in out  # --maps


def test_ctrl_c_still_writes_the_screenshot(tmp_path):
    path = write_elf(tmp_path / "spin.elf", SPIN)
    shot = tmp_path / "shot.png"
    with running(["run", str(path), "--screenshot", str(shot)], "[spin:32] spinning") as (proc, lines):
        interrupt(proc, lines, "hlemu: interrupted (Ctrl-C)")
    assert proc.returncode == 130
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ctrl_c_outside_a_run_is_one_line_and_exit_130(monkeypatch, capsys):
    import hlemu.cli

    def startup(args):  # Ctrl-C while the emulator is being built (numba compiling, say)
        raise KeyboardInterrupt

    monkeypatch.setattr(hlemu.cli, "cmd_info", startup)
    assert hlemu.cli.main(["info"]) == 130
    assert capsys.readouterr().err == "hlemu: interrupted (Ctrl-C)\n"
