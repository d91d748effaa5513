"""Several processes at once, crash isolation, determinism, and hostile SVC arguments."""

from __future__ import annotations

import random

import pytest

from tests.kernel.asm import BACKENDS, DATA, INPUT, Guest, assemble, create_thread, log, save, tick, wait1


def busy_loop(label: str, count: int = 4096) -> str:
    return f"mov r7, #0\n{label}:\nadd r7, r7, #1\ncmp r7, #{count}\nblt {label}\n"


def debug_string(text: bytes) -> str:
    """OutputDebugString of ``text``, which the program carries at INPUT."""
    return f"ldr r0, ={INPUT:#x}\nmov r1, #{len(text)}\nsvc 0x3D   @ OutputDebugString\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_fault_ends_one_process_while_the_other_runs_to_completion(make_guest, backend):
    guest = make_guest(backend, quantum_blocks=100)
    worker = guest.spawn(tick(0) + busy_loop("work") + tick(2) + debug_string(b"worker done")
                         + "mov r0, #3\nsvc 0x03\n", data=b"worker done", name="worker")
    faulty = guest.spawn(tick(0) + busy_loop("spin", 1024) + tick(2)
                         + "mov r1, #0\n"
                         + "ldr r0, [r1]   @ reads address 0: a data abort\n"
                         + "mov r0, #1\nsvc 0x03\n", name="faulty")
    result = guest.run()
    assert result.reason == "all exited"
    assert worker.exit_code == 3 and worker.crash is None
    assert worker.output == ["worker done"]
    assert faulty.alive is False and faulty.status == "crashed"
    report = faulty.crash
    assert report is not None
    assert "data abort" in report and "0x00000000" in report and "read" in report
    marked = [line for line in report.splitlines() if line.startswith(">")]
    assert len(marked) == 1 and "ldr" in marked[0] and "r1" in marked[0]
    fault_pc = int(marked[0].split()[1].rstrip(":"), 16)
    assert faulty.space.peek(fault_pc, 4) == assemble("ldr r0, [r1]")
    assert report in guest.text(faulty.pid)  # the kernel printed it, under the faulty process
    assert "worker done" not in guest.text(faulty.pid)
    # Side by side: with a 100-block quantum both loops were running during the same guest time.
    w, f = guest.words(worker, 4), guest.words(faulty, 4)
    w_start, w_end, f_start, f_end = w[0], w[2], f[0], f[2]
    assert w_start < f_end and f_start < w_end


@pytest.mark.parametrize("backend", BACKENDS)
def test_processes_have_separate_memory_and_handles(guest):
    a = guest.spawn("mov r0, #0x11\nstr r0, [r11]\nmov r1, #0\nsvc 0x17\nstr r1, [r11, #4]\n", name="a")
    b = guest.spawn("mov r0, #0x22\nstr r0, [r11]\nmov r1, #0\nsvc 0x17\nstr r1, [r11, #4]\n", name="b")
    assert guest.run().reason == "all exited"
    assert guest.words(a, 1) == [0x11] and guest.words(b, 1) == [0x22]
    assert a.space.translate(DATA) != b.space.translate(DATA)
    assert a.pid != b.pid


def workload() -> str:
    """Threads of equal priority, a periodic timer, output from each: scheduling-sensitive."""
    child = ("child:\nmov r11, #0x200000\nmov r10, r0\n"  # r0 = 1 or 2
             + busy_loop("child_spin", 2048) + log(1) + debug_string(b"child") + "svc 0x09\n")
    return (
        create_thread("child", 0x30, arg=1, stack_top=DATA + 0x700) + "mov r8, r1\n"
        + create_thread("child", 0x30, arg=2, stack_top=DATA + 0x780) + "mov r9, r1\n"
        + "mov r1, #0\nsvc 0x1A\nmov r10, r1\n"  # CreateTimer(ONESHOT)
        + "mov r0, r10\nldr r1, =100000\nldr r2, =50000\nmov r3, #0\nmov r4, #0\nsvc 0x1B\n"  # 50 us, then 100 us
        + busy_loop("main_spin", 1024) + log(2)
        + wait1("r10") + wait1("r10") + tick(0) + log(3)
        + wait1("r8") + wait1("r9") + debug_string(b"child") + "mov r0, #0\nsvc 0x03\n"
        + child
    )


def run_workload(backend: str) -> tuple:
    guest = Guest(backend, quantum_blocks=64)
    try:
        process = guest.spawn(workload(), data=b"child")
        result = guest.run()
        assert result.reason == "all exited"
        return (result.instructions, result.ticks, process.output, guest.log(process), guest.words(process, 2),
                guest.kernel.context_switches, guest.lines)
    finally:
        guest.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_same_program_runs_the_same_twice(backend):
    first, second = run_workload(backend), run_workload(backend)
    assert first == second
    assert first[2] == ["child"] * 3 and sorted(first[3]) == [1, 1, 2, 3]


def test_fastmem_and_semifastmem_agree_on_counts_and_output():
    assert run_workload("fastmem") == run_workload("semifastmem")


@pytest.mark.parametrize("backend", BACKENDS)
def test_bundled_program_is_deterministic_across_backends_and_runs(backend):
    from hlemu.guest import program_path

    def once(b: str) -> tuple:
        guest = Guest(b)
        try:
            process = guest.kernel.spawn(program_path("threads"))
            result = guest.run(max_instructions=50_000_000)
            return result.reason, result.instructions, process.exit_code, process.output
        finally:
            guest.close()

    other = "semifastmem" if backend == "fastmem" else "fastmem"
    here = once(backend)
    assert here[0] == "all exited"
    assert here == once(backend) == once(other)


# -- hostile SVC arguments ---------------------------------------------------------------------------
INTERESTING = [
    0, 1, 2, 3, 4, 5, 6, 7, 0x10, 0x18, 0x3F, 0x40, 0xFF, 0xFFF, 0x1000, 0x2000, 0x7FFFFFFF, 0x80000000,
    0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFF000, 0xFFFF8000, 0xFFFF8001, 0xDEADBEEF, 0x10003, 0x10000000,
    DATA, DATA + 0xFFC, DATA + 0x801, 0x08000000, 0x0FFFF000, 0x0FFF0000, 0x14000000, 0x1F000000,
    0x1FF80000, 0x1FF82000, 0x1FF82080,
    0x00010002, 0x00018003, 0x00020004, 0x00028005,  # the first handles a process gets
]
ENDING = {0x03, 0x09, 0x3C}  # ExitProcess, ExitThread, Break: tried last
# WaitSynchronization1(handle, -1) on one of the first handles (an object nobody signals).
STUCK = {0x24: "deadlock"}
FUZZED = [n for n in range(0x01, 0x3E) if n not in ENDING] + [0x47, 0x4F, 0x7F, 0xFF]


def hostile_calls(number: int, count: int, rng: random.Random) -> str:
    body = ""
    for i in range(count):
        args = [rng.choice(INTERESTING) for _ in range(8)]
        body += "".join(f"ldr r{r}, ={v:#x}\n" for r, v in enumerate(args))
        body += f"svc {number:#x}\n" + save(i % 64, "r0")
    return body


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("number", FUZZED, ids=lambda n: f"svc{n:02x}")
def test_hostile_arguments_never_raise_out_of_the_kernel(make_guest, backend, number):
    guest = make_guest(backend)
    rng = random.Random(number)
    # One process for the objects the calls may hit, and one that gets the hostile calls.
    victim = guest.spawn(hostile_calls(number, 24, rng) + "mov r0, #0\nsvc 0x03\n", name=f"svc{number:02x}")
    result = guest.run(max_instructions=300_000)
    assert victim.crash is None
    if number in STUCK:  # waits for ever on a real handle nobody signals: the kernel sees the deadlock
        assert result.reason == STUCK[number] and victim.alive
    else:  # it ran to its end: every call returned a result
        assert result.reason == "all exited" and not victim.alive and victim.exit_code == 0
    # The kernel is still usable.
    after = guest.spawn("mov r0, #42\nsvc 0x03\n", name="after")
    guest.run(max_instructions=300_000)
    assert after.exit_code == 42


@pytest.mark.parametrize("backend", BACKENDS)
def test_hostile_calls_then_ending_svcs(make_guest, backend):
    guest = make_guest(backend)
    rng = random.Random(7)
    processes = [guest.spawn(hostile_calls(number, 4, rng) + f"ldr r0, =0xFFFFFFFF\nsvc {number:#x}\n")
                 for number in sorted(ENDING)]
    result = guest.run(max_instructions=300_000)
    assert result.reason == "all exited"
    assert all(not p.alive for p in processes)


@pytest.mark.parametrize("backend", BACKENDS)
def test_memory_of_an_exited_process_can_be_used_again(guest):
    """48 MiB of the 64 MiB APPLICATION region, committed by one process after another: each
    process's heap (and image, stack, TLS) must go back to the region when it exits."""
    commit = ("mov r0, #3\nldr r1, =0x08000000\nmov r2, #0\nldr r3, =0x03000000\nmov r4, #3\n"
              "svc 0x01   @ ControlMemory(COMMIT, heap, 48 MiB, RW)\n"
              "svc 0x03   @ ExitProcess(r0 = the result)\n")
    phys = guest.kernel.memory.phys
    free = phys.free_frames("APPLICATION")
    first = guest.run_one(commit)
    second = guest.run_one(commit)
    assert (first.exit_code, second.exit_code) == (0, 0)  # not OUT_OF_HEAP_MEMORY (0xC860180A)
    # Ended processes keep their memory for post-mortem inspection until it is needed
    # (above) or reaped explicitly.
    guest.kernel.reap()
    assert phys.free_frames("APPLICATION") == free
