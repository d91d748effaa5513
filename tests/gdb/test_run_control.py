"""The stub's run control against the emulator, without gdb: stops that must not change
what the guest computes or counts (catching every SVC), and crashes stopped at the fault."""

from __future__ import annotations

import pytest

from hlemu.gdb.target import Target
from kernel.api import Emulator


def _emulator(program: str, backend: str) -> tuple[Emulator, list[str]]:
    emu = Emulator(backend=backend, echo=False)
    out: list[str] = []
    emu.on_output(lambda proc, line: out.append(line))
    emu.spawn(program)
    return emu, out


@pytest.mark.parametrize(("program", "backend"), [("threads", "semifastmem"), ("hello", "fastmem"),
                                                  ("threads", "slowmem")])
def test_catching_every_svc_changes_no_count(program, backend):
    emu, out = _emulator(program, backend)
    emu.run()
    plain = (emu.instructions, emu.ticks, out, emu.processes[0].exit_code)
    emu.close()

    emu, out = _emulator(program, backend)
    target = Target(emu)
    pid = emu.processes[0].pid
    target.attach(pid)
    target.catch_svcs(set())
    stops = []
    while (event := target.resume()).kind == "signal":
        regs = target.registers(event.pid, event.tid)
        stops.append((event.reason, event.value, regs[0], regs[15]))
    caught = (emu.instructions, emu.ticks, out, emu.process(pid).exit_code)
    emu.close()
    assert caught == plain
    entries = [s for s in stops if s[0] == "syscall_entry"]
    returns = [s for s in stops if s[0] == "syscall_return"]
    never_return = (0x03, 0x09)  # ExitProcess, ExitThread
    assert len(returns) == len([s for s in entries if s[1] not in never_return]) > 0
    # svcOutputDebugString (0x3d): stopped at the svc (r0 the string), returned past it (r0 = 0)
    entry = next(s for s in stops if s[:2] == ("syscall_entry", 0x3D))
    back = next(s for s in stops if s[:2] == ("syscall_return", 0x3D))
    assert entry[2] >= 0x08000000 and back[2] == 0 and back[3] == entry[3] + 4


@pytest.mark.parametrize("backend", ["semifastmem", "fastmem", "slowmem"])
def test_a_held_crash_runs_again_or_ends_with_its_report(backend):
    from hlemu.gdb.target import SIGSEGV

    emu = Emulator(backend=backend, echo=False)
    proc = emu.spawn("faults")
    emu.run()
    plain = (emu.instructions, emu.ticks, proc.crash)
    emu.close()

    emu = Emulator(backend=backend, echo=False)
    proc = emu.spawn("faults")
    target = Target(emu)
    target.attach(proc.pid)
    first = target.resume()
    assert (first.kind, first.signal) == ("signal", SIGSEGV) and proc.alive
    pc = target.registers(proc.pid, first.tid)[15]
    again = target.resume()  # no signal passed on: the load runs again, and faults again
    assert (again.kind, again.signal, target.registers(proc.pid, again.tid)[15]) == ("signal", SIGSEGV, pc)
    end = target.resume(signal=SIGSEGV)
    assert (end.kind, end.signal) == ("terminated", SIGSEGV)
    assert "data abort: read of 4 byte(s) at 0x00000004 (unmapped)" in end.message
    assert (emu.instructions, emu.ticks, proc.crash) == plain  # the faulting load never counted
    emu.close()
