"""Fixtures for the GDB stub's tests: a debug build of tests/gdb/programs/gdbtest.c, a stub
serving it from a thread of this process, and gdb-multiarch in batch mode against it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROGRAM = REPO / "tests" / "gdb" / "programs" / "gdbtest.c"
GDB = shutil.which("gdb-multiarch")
GDB_TIMEOUT = 120


def line_of(marker: str) -> int:
    """The line of gdbtest.c holding ``marker`` (so the tests survive edits of the program)."""
    for number, line in enumerate(PROGRAM.read_text().splitlines(), 1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} is not in {PROGRAM.name}")


@pytest.fixture(scope="session")
def debug_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc is needed to build the debug guest")
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from build_debug_guest import build
    finally:
        sys.path.remove(str(REPO / "scripts"))
    return build(PROGRAM, tmp_path_factory.mktemp("gdb") / "gdbtest.elf")


@dataclass
class Stub:
    server: object
    target: object
    emu: object
    thread: threading.Thread
    result: list

    @property
    def port(self) -> int:
        return self.server.port  # type: ignore[attr-defined]


def start_stub(programs: list[str], on_disconnect: str = "stop", start_running: bool = False,
               backend: str = "semifastmem") -> Stub:
    from hlemu.gdb.server import GdbServer
    from hlemu.gdb.target import Target
    from kernel.api import Emulator

    emu = Emulator(backend=backend, echo=False)
    for program in programs:
        emu.spawn(program)
    target = Target(emu)
    if not start_running and emu.processes:
        target.attach(emu.processes[0].pid)
    server = GdbServer(target, "127.0.0.1", 0, on_disconnect=on_disconnect, start_running=start_running)
    result: list = []
    thread = threading.Thread(target=lambda: result.append(server.serve()), daemon=True)
    thread.start()
    return Stub(server, target, emu, thread, result)


def stop_stub(stub: Stub) -> None:
    stub.server.close()  # type: ignore[attr-defined]
    stub.thread.join(30)
    assert not stub.thread.is_alive(), "the GDB server did not stop"
    stub.emu.close()  # type: ignore[attr-defined]


@pytest.fixture
def stub_factory() -> Iterator:
    stubs: list[Stub] = []

    def make(*args, **kwargs) -> Stub:
        stub = start_stub(*args, **kwargs)
        stubs.append(stub)
        return stub

    yield make
    for stub in stubs:
        stop_stub(stub)


def run_gdb(elf: Path | None, port: int, commands: list[str], extended: bool = True) -> str:
    """gdb-multiarch in batch mode from the repository root (the debug info names sources
    relative to it); its whole output. ``elf`` None: gdb is given no file (it asks the stub)."""
    if GDB is None:
        pytest.skip("gdb-multiarch is not installed (.ci/run installs it)")
    mode = "extended-remote" if extended else "remote"
    args = [GDB, "-nx", "-batch", "-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", f"target {mode} 127.0.0.1:{port}"]
    for command in commands:
        args += ["-ex", command]
    if elf is not None:
        args.append(str(elf))
    result = subprocess.run(args, cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=GDB_TIMEOUT)
    return result.stdout + result.stderr
