"""Threads and scheduling: CreateThread, ExitThread, SleepThread, priorities (docs/abi.md "Threads").

Main threads run at 0x30; an application may use 0x18..0x3F.
"""

from __future__ import annotations

import pytest

from tests.kernel.asm import (
    BACKENDS,
    DATA,
    INVALID_HANDLE,
    NOT_AUTHORIZED,
    OUT_OF_RANGE,
    SUCCESS,
    create_thread,
    log,
    save,
    tick,
    wait1,
)

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

CHILD = "mov r11, #0x200000\n"  # a thread's first instruction: r11 = DATA
TICKS_PER_MS = 268_111


def join(handle_reg: str) -> str:
    return wait1(handle_reg)


def test_new_thread_starts_with_arg_aligned_stack_and_its_own_tls(guest):
    process = guest.run_one(
        create_thread("child", 0x20, arg=0x1234ABCD, stack_top=DATA + 0x7FF) + save(0, "r0", "r1")
        + "mov r9, r1\n" + join("r9") + save(2, "r0")
        + "mrc p15, 0, r0, c13, c0, 3\n" + save(3, "r0")  # main's TLS
        + "mov r1, r9\nsvc 0x37   @ GetThreadId(the new handle)\n" + save(8, "r0", "r1")
        + "b done\n"
        + "child:\n"
        + "mov r8, r0\nmov r11, #0x200000\n" + save(4, "r8", "sp")  # r0 = arg; sp 8-byte aligned
        + "mrc p15, 0, r0, c13, c0, 3\n" + save(6, "r0")
        + "ldr r1, =0xFFFF8000\nsvc 0x37   @ GetThreadId(CUR_THREAD)\n" + save(7, "r1")
        + "svc 0x09   @ ExitThread\n"
        + "done:\n"
    )
    w = guest.words(process, 10)
    main, child = process.threads
    assert w[0] == SUCCESS
    assert w[8:10] == [SUCCESS, child.tid]  # the handle CreateThread returned names the child
    assert w[2] == SUCCESS  # joined: the thread handle is signaled at exit
    assert w[3] == 0x1FF82000
    assert w[4:6] == [0x1234ABCD, (DATA + 0x7FF) & ~7]
    assert w[6] == 0x1FF82200  # the next 0x200-byte TLS slot
    assert w[7] == child.tid != main.tid
    assert not child.alive


def test_higher_priority_thread_runs_before_its_creator_continues(guest):
    process = guest.run_one(
        log(1) + create_thread("child", 0x20) + "mov r9, r1\n" + log(3) + join("r9")
        + "b done\n"
        + "child:\n" + CHILD + log(2) + "svc 0x09\n"
        + "done:\n"
    )
    assert guest.log(process) == [1, 2, 3]


@pytest.mark.parametrize("priority", [0x30, 0x31])
def test_equal_or_lower_priority_thread_waits_for_the_creator(guest, priority):
    process = guest.run_one(
        create_thread("child", priority) + "mov r9, r1\n" + log(1) + join("r9") + log(3)
        + "b done\n"
        + "child:\n" + CHILD + log(2) + "svc 0x09\n"
        + "done:\n"
    )
    assert guest.log(process) == [1, 2, 3]


def test_sleep_zero_yields_to_an_equal_priority_thread(guest):
    process = guest.run_one(
        create_thread("child", 0x30) + "mov r9, r1\n"
        + "mov r0, #0\nmov r1, #0\nsvc 0x0A   @ SleepThread(0)\n" + log(2) + join("r9")
        + "b done\n"
        + "child:\n" + CHILD + log(1) + "svc 0x09\n"
        + "done:\n"
    )
    assert guest.log(process) == [1, 2]


def test_sleep_lets_guest_time_pass(guest):
    process = guest.run_one(tick(0) + "ldr r0, =5000000\nmov r1, #0\nsvc 0x0A   @ SleepThread(5 ms)\n" + tick(2))
    w = guest.words(process, 4)
    assert (w[2] | w[3] << 32) - (w[0] | w[1] << 32) >= 5 * TICKS_PER_MS


def test_equal_priorities_take_turns_at_quantum_end(make_guest, backend):
    guest = make_guest(backend, quantum_blocks=50)
    # Each thread counts to 4096 and, on every iteration, records a switch when the
    # previous iteration (by anyone) was the other thread's: word 0 = last runner,
    # word 1 = switches.
    def spin(label: str) -> str:
        return (f"mov r7, #0\n{label}:\n"
                "ldr r2, [r11]\n"  # the last runner
                "cmp r2, r8\n"
                "ldrne r3, [r11, #4]\n"  # not me: one more switch
                "addne r3, r3, #1\n"
                "strne r3, [r11, #4]\n"
                "str r8, [r11]\n"
                "add r7, r7, #1\n"
                "cmp r7, #4096\n"
                f"blt {label}\n")
    process = guest.run_one(
        create_thread("child", 0x30) + "mov r9, r1\n"
        + "mov r8, #1\n" + spin("spin_main") + join("r9")
        + "b done\n"
        + "child:\n" + CHILD + "mov r8, #2\n" + spin("spin_child") + "svc 0x09\n"
        + "done:\n"
    )
    switches = guest.words(process, 2)[1]
    assert switches >= 20  # ~4096 blocks each in 50-block slices: many turns, not one after the other


def test_strictly_higher_priority_spinner_is_not_interrupted(make_guest, backend):
    guest = make_guest(backend, quantum_blocks=50)
    process = guest.run_one(
        create_thread("child", 0x31) + "mov r9, r1\n"
        + "mov r7, #0\nspin:\nadd r7, r7, #1\ncmp r7, #4096\nblt spin\n"  # spins over many quanta
        + log(1) + join("r9")
        + "b done\n"
        + "child:\n" + CHILD + log(2) + "svc 0x09\n"
        + "done:\n"
    )
    assert guest.log(process) == [1, 2]


@pytest.mark.parametrize(("priority", "processor", "expected"), [
    (0x40, -2, OUT_OF_RANGE),
    (0xFFFFFFFF, -2, OUT_OF_RANGE),  # -1
    (0, -2, NOT_AUTHORIZED),  # in 0..0x3F (3dbrew), so not out of range: above the limit
    (0x10, -2, NOT_AUTHORIZED),  # above an application's limit (0x18)
    (0x17, -2, NOT_AUTHORIZED),
    (0x30, 4, OUT_OF_RANGE),  # no such processor
    (0x30, -3, OUT_OF_RANGE),
    (0x18, -2, SUCCESS),
    (0x3F, 0, SUCCESS),
], ids=lambda v: f"{v & 0xFFFFFFFF:#x}")
def test_create_thread_checks_priority_and_processor(guest, priority, processor, expected):
    process = guest.run_one(
        create_thread("child", priority, processor=processor) + save(0, "r0")
        + "cmp r0, #0\nbne done\nmov r9, r1\n" + join("r9") + "b done\n"
        + "child:\nsvc 0x09\n"
        + "done:\n"
    )
    assert guest.words(process, 1) == [expected]
    assert len(process.threads) == (2 if expected == SUCCESS else 1)


def test_set_thread_priority(guest):
    def set_priority(value: int) -> str:
        return f"ldr r0, =0xFFFF8000\nldr r1, ={value:#x}\nsvc 0x0C   @ SetThreadPriority(CUR_THREAD)\n"

    get = "ldr r1, =0xFFFF8000\nsvc 0x0B\n"
    process = guest.run_one(
        set_priority(0x40) + save(0, "r0")
        + set_priority(0x10) + save(1, "r0")
        + set_priority(0x2A) + save(2, "r0")
        + get + save(3, "r0", "r1")
        + set_priority(0) + save(5, "r0")  # in range (0..0x3F), above the limit
        + set_priority(0x3F) + save(6, "r0")  # the lowest is allowed
        + get + save(7, "r0", "r1")
    )
    assert guest.words(process, 9) == [OUT_OF_RANGE, NOT_AUTHORIZED, SUCCESS, SUCCESS, 0x2A,
                                       NOT_AUTHORIZED, SUCCESS, SUCCESS, 0x3F]


def test_set_thread_priority_checks_the_range_then_the_handle_then_the_limit(guest):
    # Azahar's order (src/core/hle/kernel/svc.cpp SetThreadPriority): a bad priority is reported
    # before a bad handle, a bad handle before a priority above the resource limit.
    def set_priority(handle: int, value: int) -> str:
        return f"ldr r0, ={handle:#x}\nldr r1, ={value:#x}\nsvc 0x0C   @ SetThreadPriority\n"

    process = guest.run_one(
        set_priority(0x1234, 0x40) + save(0, "r0")  # no such handle, nor such priority
        + set_priority(0x1234, 0x10) + save(1, "r0")
        + set_priority(0x1234, 0x30) + save(2, "r0")
        + "ldr r1, =0xFFFF8001\nsvc 0x27   @ DuplicateHandle(current process)\n" + "mov r8, r1\n"
        + "mov r0, r8\nmov r1, #0x10\nsvc 0x0C   @ SetThreadPriority(a process handle)\n" + save(3, "r0")
    )
    assert guest.words(process, 4) == [OUT_OF_RANGE, INVALID_HANDLE, INVALID_HANDLE, INVALID_HANDLE]


def test_lowering_the_running_thread_below_a_ready_one_switches(guest):
    process = guest.run_one(
        create_thread("child", 0x31) + "mov r9, r1\n"  # ready, not running
        + log(1)
        + "ldr r0, =0xFFFF8000\nmov r1, #0x32\nsvc 0x0C\n"  # now the child is better
        + log(3) + join("r9")
        + "b done\n"
        + "child:\n" + CHILD + log(2) + "svc 0x09\n"
        + "done:\n"
    )
    assert guest.log(process) == [1, 2, 3]


def test_process_lives_until_its_last_thread_exits(guest):
    process = guest.spawn(
        create_thread("child", 0x31) + "svc 0x09   @ main: ExitThread\n"
        + "child:\n" + CHILD + log(1) + "mov r0, #9\nsvc 0x03   @ ExitProcess(9)\n"
    )
    assert guest.run().reason == "all exited"
    assert process.exit_code == 9
    assert guest.log(process) == [1]


def test_process_ends_with_code_zero_when_every_thread_exited(guest):
    process = guest.spawn(create_thread("child", 0x20) + "svc 0x09\nchild:\nsvc 0x09\n")
    assert guest.run().reason == "all exited"
    assert process.exit_code == 0 and process.crash is None
    assert len(process.threads) == 2 and all(not t.alive for t in process.threads)  # main and child


def test_exit_process_ends_every_thread(guest):
    process = guest.spawn(
        create_thread("child", 0x31)  # never runs: main exits first
        + "mov r0, #4\nsvc 0x03\n"
        + "child:\n" + CHILD + log(1) + "b .\n"
    )
    assert guest.run().reason == "all exited"
    assert process.exit_code == 4
    assert guest.log(process) == []
    assert len(process.threads) == 2 and all(not t.alive for t in process.threads)  # main and child
