"""SleepThread's argument and its yield, CreateThread on the last free handle slot: cases mutants
of kernel/svc/thread.py (scripts/mutation.py) showed unpinned. The layout of a test program is
tests/kernel/asm.py's."""

from __future__ import annotations

from kernel.layout import ns_to_ticks
from tests.kernel.asm import SUCCESS, create_thread, log, save, tick, wait1

OUT_OF_HANDLES = 0xD8600413


def sleep(lo: int, hi: int) -> str:
    """SleepThread(r0 | r1 << 32 ns), with r2 = 0: only r0 and r1 are the argument."""
    return f"ldr r0, ={lo:#x}\nldr r1, ={hi:#x}\nmov r2, #0\nsvc 0x0A   @ SleepThread\n"


def sleeps_blocked(guest, body: str) -> tuple[object, list[bool]]:
    """Run ``body``; for each SleepThread, whether it waited before completing (SvcCall.blocked)."""
    blocked: list[bool] = []
    guest.kernel.svc_listeners.add(lambda call: blocked.append(call.blocked), number=0x0A, after=True)
    return guest.run_one(body), blocked


def test_sleep_of_zero_or_less_yields_in_the_svc_and_any_positive_time_waits(make_guest):
    # 0 and negative times yield to equal-priority threads at once (the SVC answers without
    # waiting); 1 ns is a sleep, even though it is less than one tick (ns_to_ticks(1) == 0).
    guest = make_guest("semifastmem")
    _process, blocked = sleeps_blocked(guest, sleep(0, 0) + sleep(0xFFFFFFFF, 0xFFFFFFFF) + sleep(1, 0)
                                       + sleep(0, 0x80000000))
    assert blocked == [False, False, True, False]


def test_sleep_takes_its_high_word_from_r1(make_guest):
    # s64 nanoseconds in r0 (low) and r1 (high), as the EABI passes it: 2**32 ns is 4.29 s.
    guest = make_guest("semifastmem")
    process, blocked = sleeps_blocked(guest, tick(0) + sleep(0, 1) + tick(2))
    w = guest.words(process, 4)
    slept = (w[2] | w[3] << 32) - (w[0] | w[1] << 32)
    assert blocked == [True]
    assert ns_to_ticks(1 << 32) <= slept < ns_to_ticks(1 << 32) + ns_to_ticks(1_000_000)  # idle time skipped


def test_create_thread_takes_the_last_free_handle_slot(make_guest):
    # Fill the handle table with duplicates of the process handle, close the last one: one slot is
    # free, which CreateThread may take; the next CreateThread finds none.
    guest = make_guest("semifastmem")
    body = ("fill:\nldr r1, =0xFFFF8001\nsvc 0x27   @ DuplicateHandle(current process)\n"
            "cmp r0, #0\nmoveq r8, r1\nbeq fill\n"
            "mov r0, r8\nsvc 0x23   @ CloseHandle(the last duplicate)\n"
            + create_thread("child", 0x18) + save(0, "r0", "r1") + "mov r9, r1\n"
            + create_thread("child", 0x18) + save(2, "r0")
            + wait1("r9") + save(3, "r0")
            + "b done\nchild:\nmov r11, #0x200000\n" + log(7) + "svc 0x09\ndone:\n")
    process = guest.run_one(body)
    w = guest.words(process, 4)
    assert [w[0], w[2], w[3]] == [SUCCESS, OUT_OF_HANDLES, SUCCESS]
    assert guest.log(process) == [7]  # the one thread that got a handle ran
    assert len(process.threads) == 2
