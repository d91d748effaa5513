"""Each bundled guest program, run under the kernel on the three CPU backends, against its snapshot.

A snapshot (``snapshots/NAME.json``) holds the program's output lines, how it
ended and its instruction count. Every backend must match it exactly, run
after run (slowmem on its default compiled slow path; the Python one, ~1 MIPS,
runs all but ``compute``, whose 70 M instructions would take it a minute).
A missing snapshot fails; regenerate after an intended change with
``python3 scripts/update_snapshots.py`` (refused under CI) and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hlemu.guest import program_path
from kernel.kernel import Kernel

SNAPSHOTS = Path(__file__).parent / "snapshots"
PROGRAMS = ["hello", "threads", "shmem", "compute", "faults", "faults_ro", "faults_undef"]
BACKENDS = ["fastmem", "semifastmem", "slowmem"]
SLOW_ENOUGH = [n for n in PROGRAMS if n != "compute"]  # what slowmem's Python slow path (~1 MIPS) runs here


def run_program(name: str, backend: str, slow_path: str = "compiled") -> dict:
    kernel = Kernel(backend=backend, output=lambda _p, _line: None)
    kernel.cpu_config.slow_path = slow_path
    try:
        process = kernel.spawn(program_path(name))
        result = kernel.run(max_instructions=200_000_000)
        crash = process.crash.splitlines()[1] if process.crash else None
        return {"output": [line for line in process.output if not line.startswith("===")][:200],
                "status": process.status, "exit_code": process.exit_code, "crash": crash,
                "instructions": result.instructions, "reason": result.reason}
    finally:
        kernel.close()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", PROGRAMS)
def test_program_matches_its_snapshot(name, backend, snapshots):
    snapshots.json(SNAPSHOTS / f"{name}.json", run_program(name, backend))


@pytest.mark.parametrize("name", SLOW_ENOUGH)
def test_program_matches_its_snapshot_on_the_python_slow_path(name, snapshots):
    snapshots.json(SNAPSHOTS / f"{name}.json", run_program(name, "slowmem", slow_path="python"))


def test_hello_says_hello_and_exits_7():
    got = run_program("hello", "semifastmem")
    assert got["output"][0] == "Hello from hlemu!"
    assert got["exit_code"] == 7 and got["crash"] is None


def test_checks_inside_threads_and_shmem_all_pass():
    for name in ("threads", "shmem"):
        got = run_program(name, "fastmem")
        assert got["output"][-1] == f"{name}: 0 failures"
        assert not [line for line in got["output"] if "FAIL" in line]


@pytest.mark.parametrize("name", ["threads", "compute"])
def test_runs_are_deterministic(name):
    """Same program, same backend, twice: same output and instruction count."""
    assert run_program(name, "semifastmem") == run_program(name, "semifastmem")


@pytest.mark.parametrize(("name", "line"), [
    ("faults", "data abort: read of 4 byte(s) at 0x00000004 (unmapped)"),
    ("faults_ro", "data abort: write of 4 byte(s) at 0x00100050 (permission)"),
    ("faults_undef", "undefined instruction at 0x0010006c"),
])
@pytest.mark.parametrize("backend", BACKENDS)
def test_faults_end_the_process_with_the_same_report_on_every_backend(name, line, backend):
    got = run_program(name, backend)
    assert got["crash"] == line and got["status"] == "crashed"
