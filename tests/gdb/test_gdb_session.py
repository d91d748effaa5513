"""gdb-multiarch drives the stub the way a user does (batch mode, real gdb, a debug build)."""

from __future__ import annotations

import re

import pytest

from tests.gdb.conftest import line_of, run_gdb


def test_break_bt_registers_print_examine_step(debug_elf, stub_factory):
    stub = stub_factory([str(debug_elf)])
    out = run_gdb(debug_elf, stub.port, [
        "break bump", "continue", "bt", "info registers", "p by", "p counter", "x/4wx &table", "p $d0",
        "p/x $fpscr", "stepi", "info registers pc", "next", "info threads", "kill"])
    assert "Breakpoint 1, bump (by=5) at ./tests/gdb/programs/gdbtest.c" in out, out
    assert re.search(r"#1 .* in main \(\) at \./tests/gdb/programs/gdbtest\.c", out), out
    for reg in ("r0", "r12", "sp", "lr", "pc", "cpsr"):
        assert re.search(rf"^{reg}\s+0x[0-9a-f]+", out, re.M), (reg, out)
    assert re.search(r"^r0\s+0x5\s+5$", out, re.M), out  # bump's argument
    assert "$1 = 5" in out and "$2 = 0" in out, out  # a local and a global
    assert re.search(r"<table>:\s+0x11111111\s+0x22222222\s+0x33333333\s+0x44444444", out), out
    assert "$3 = 0" in out and "$4 = 0x3c00000" in out, out  # d0, fpscr as the kernel sets it
    assert re.search(r"^pc\s+0x100064\s", out, re.M), out  # stepi: one ARM instruction on
    assert f"{line_of('counter = counter + by')+1}\t}}" in out, out  # next: the following line
    assert re.search(r'\* 1\s+Thread 33\.1 "main"', out), out
    assert "[Inferior 1 (process 33) killed]" in out, out
    assert stub.target.process(32).alive is False


def test_set_registers_reach_the_thread(debug_elf, stub_factory):
    stub = stub_factory([str(debug_elf)])
    out = run_gdb(debug_elf, stub.port, [
        "break *bump", "continue", "set $r0 = 9", "p $r0", "info registers r0", "set $d1 = 2.5", "p $d1",
        "p/x $fpexc", "set $fpscr = 0x03000000", "p/x $fpscr", "info registers", "finish",
        "p counter", "kill"])
    assert "$1 = 9" in out, out
    assert re.search(r"^r0\s+0x9\s+9$", out, re.M), out  # info registers r0, and the full list
    assert "$2 = 2.5" in out and "$3 = 0x40000000" in out and "$4 = 0x3000000" in out, out
    assert "$5 = 9" in out, out  # bump, stopped at its first instruction, ran with by = 9


def test_watch_prints_old_and_new_value_at_the_writing_line(debug_elf, stub_factory):
    stub = stub_factory([str(debug_elf)])
    out = run_gdb(debug_elf, stub.port, [
        "break main", "continue", "watch counter", "continue", "continue", "p counter", "delete",
        "rwatch counter", "continue", "bt 1", "kill"])
    first, second = out.index("Old value = 0"), out.index("Old value = 5")
    assert "New value = 5" in out[first:second] and "New value = 12" in out[second:], out
    # Reported after the store, on the line after the assignment (gdb steps over the store).
    assert f"bump (by=5) at ./tests/gdb/programs/gdbtest.c:{line_of('counter = counter + by') + 1}" in out, out
    assert "$1 = 12" in out, out  # both writes reached memory
    assert "Hardware read watchpoint 3: counter" in out and "Value = 12" in out, out
    assert "in peek_counter () at" in out, out
    assert stub.emu.watch_hits == []  # gdb's watchpoints are the stub's, not the script's


def test_step_into_thumb_and_catch_syscall(debug_elf, stub_factory):
    stub = stub_factory([str(debug_elf)])
    out = run_gdb(debug_elf, stub.port, [
        "break thumb_add", "continue", "p/x $cpsr & 0x20", "x/i $pc", "stepi", "p/x $pc", "delete",
        "catch syscall 0x3d", "continue", "p/x $r1", "continue", "delete", "kill"])
    assert "Breakpoint 1, " in out and "thumb_add" in out, out
    assert "$1 = 0x20" in out, out  # the T bit
    assert "<thumb_add+2>:\tadds\tr0, r2, r1" in out, out  # Thumb disassembly (past the "prologue")
    assert re.search(r"\$2 = 0x100134", out), out  # one 16-bit instruction on
    assert "Catchpoint 2 (call to syscall" in out, out
    assert "Catchpoint 2 (returned from syscall" in out, out
    assert stub.target.catch is None or stub.target.catch == {0x3D}


def test_monitor_commands_and_os_processes(debug_elf, stub_factory):
    stub = stub_factory([str(debug_elf), "hello"])
    out = run_gdb(debug_elf, stub.port, [
        "break sum_to", "continue", "monitor maps", "monitor pagetable 0x100000", "monitor handles",
        "monitor faults", "monitor threads", "monitor ipc", "monitor nonsense", "monitor pagetable zz",
        "info os processes", "kill"])
    assert "00100000-" in out and "r-x code" in out, out
    assert "page 0x00100000: phys" in out and "perm RX" in out, out
    assert "unmapped: 0" in out, out
    assert "pid 32 gdbtest thread 1 'main'" in out and "pid 33 hello thread" in out, out
    assert "unknown monitor command 'nonsense'" in out and "not an address: zz" in out, out
    assert re.search(r"^33\s+hlemu\s+gdbtest\s+32", out, re.M), out
    assert re.search(r"^34\s+hlemu\s+hello\s+33", out, re.M), out


def test_attach_second_process_and_threads_across_processes(debug_elf, stub_factory):
    stub = stub_factory([str(debug_elf), "ipc_server"])  # the server waits for clients: still there
    out = run_gdb(debug_elf, stub.port, [
        "break worker", "continue", "info threads", "add-inferior", "inferior 2", "attach 34",
        "info threads", "inferior 1", "delete", "kill inferiors 1 2"])
    assert "Breakpoint 1, worker (arg=0x3)" in out, out
    assert re.search(r'Thread 33\.1 "main"', out) and re.search(r'Thread 33\.3 "thread 3"', out), out
    # after the attach, gdb lists both processes' threads (inferior.thread)
    assert re.search(r'1\.1\s+Thread 33\.1 "main"', out) and re.search(r'2\.1\s+Thread 34\.2 "main"', out), out
    assert stub.target.attached in ([], [32, 33], [33, 32]) or not stub.target.process(33).alive


def test_target_remote_runs_to_exit(debug_elf, stub_factory):
    stub = stub_factory([str(debug_elf)])
    out = run_gdb(debug_elf, stub.port, ["continue"], extended=False)
    assert "[Inferior 1 (process 33) exited normally]" in out, out
    assert stub.target.process(32).exit_code == 0


def _plain_run(program: str) -> tuple[int, int, list[str]]:
    """Instructions, ticks and output of ``program`` run to its end with no debugger."""
    from kernel.api import Emulator

    emu = Emulator(backend="semifastmem", echo=False)
    out: list[str] = []
    emu.on_output(lambda proc, line: out.append(line))
    emu.spawn(program)
    emu.run()
    result = (emu.instructions, emu.ticks, out)
    emu.close()
    return result


def test_catch_syscall_stops_before_the_svc_runs(debug_elf, stub_factory):
    stub = stub_factory([str(debug_elf)])
    out_lines: list[str] = []
    stub.emu.on_output(lambda proc, line: out_lines.append(line))
    out = run_gdb(debug_elf, stub.port, [
        "catch syscall 0x3d", "continue", "x/i $pc", "x/s $r0", "p $r1", "continue", "x/i $pc - 4", "p $r0",
        "delete", "continue"])
    entry, back = out.index("(call to syscall"), out.index("(returned from syscall")
    # At the entry the thread is at the svc instruction with its arguments (the string, its
    # length) and nothing printed yet; at the return r0 holds the result, past the svc.
    assert re.search(r"=> 0x[0-9a-f]+ <svcOutputDebugString(\+\d+)?>:\s+svc\s+0x0000003d", out[entry:back]), out
    assert '"gdbtest: start\\n"' in out[entry:back] and "$1 = 15" in out[entry:back], out
    assert re.search(r"<svcOutputDebugString(\+\d+)?>:\s+svc\s+0x0000003d", out[back:]), out
    assert "$2 = 0" in out[back:], out
    assert "[Inferior 1 (process 33) exited normally]" in out, out
    # Held and resumed, the SVC ran once: the same instructions, ticks and output as no gdb.
    assert (stub.emu.instructions, stub.emu.ticks, out_lines) == _plain_run(str(debug_elf))


@pytest.mark.parametrize(("program", "signal", "line", "insn"), [
    ("faults", "SIGSEGV, Segmentation fault", "u32 value = *(volatile const u32 *)address;", r"ldr\s+r2, \[r3\]"),
    ("faults_undef", "SIGILL, Illegal instruction", '__asm__ volatile(".inst 0xe7f000f0"', r"udf\s+#0"),
])
def test_a_crash_stops_at_the_faulting_instruction(stub_factory, program, signal, line, insn):
    from hlemu.guest import program_path

    elf = program_path(program)
    stub = stub_factory([str(elf)])
    out = run_gdb(elf, stub.port, ["continue", "bt", "x/i $pc", "info os processes", "continue"])
    stop, end = out.index(f"Program received signal {signal}."), out.index(f"Program terminated with signal {signal}.")
    assert stop < end, out
    assert re.search(rf"#0  main \(\) at hlemu/guest/programs/{program}\.c:\d+", out[stop:end]), out
    assert line in out[stop:end] and re.search(rf"=> 0x[0-9a-f]+ <main\+\d+>:\s+{insn}", out[stop:end]), out
    assert re.search(rf"^33\s+hlemu\s+{program}\s+32\s+running", out[stop:end], re.M), out  # alive at the stop
    assert "The program no longer exists." in out[end:], out
    # continuing delivered the signal: the process ended with the kernel's crash report
    assert f"=== guest crash: process 32 '{program}', thread 1 (main) ===" in out[end:], out
    assert stub.target.process(32).crash.startswith("=== guest crash")


def test_gdb_finds_each_programs_elf_and_run_starts_it_again(debug_elf, stub_factory):
    from hlemu.guest import program_path

    stub = stub_factory([str(debug_elf), "hello"])
    out = run_gdb(None, stub.port, [  # no file for gdb: qXfer:exec-file:read names each process's
        "info inferiors", "break bump", "continue", "add-inferior", "inferior 2", "attach 34", "info inferiors",
        "kill inferiors 1 2", "inferior 1", "run", "info inferiors", "p counter", "continue", "p by"])
    assert re.search(rf"\* 1\s+process 33\s.*{re.escape(str(debug_elf.resolve()))}", out), out
    assert "Breakpoint 1, bump (by=5) at ./tests/gdb/programs/gdbtest.c" in out, out
    assert re.search(rf"\* 2\s+process 34\s.*{re.escape(str(program_path('hello').resolve()))}", out), out
    # run (vRun): the program again as a new process, stopped before its first instruction, so
    # the breakpoint is set in it before it runs and its globals start over
    assert re.search(r"\* 1\s+process 35\s", out), out
    assert out.count("Breakpoint 1, bump (by=5)") == 2 and "$1 = 0" in out and "$2 = 7" in out, out
    assert [p.name for p in stub.target.processes()] == ["gdbtest", "hello", "gdbtest"]
    assert not stub.target.process(34).alive  # gdb made it, so quitting gdb killed it (qAttached 0)
