"""Semaphore bounds, the wait SVCs' registers and short timeouts: cases mutants of
kernel/svc/sync.py (scripts/mutation.py) showed unpinned. The layout of a test program is
tests/kernel/asm.py's; the helpers are tests/kernel/test_sync_svcs.py's."""

from __future__ import annotations

from tests.kernel.asm import (
    HEAP,
    INVALID_COMBINATION_KERNEL,
    OUT_OF_RANGE,
    SUCCESS,
    TIMEOUT,
    save,
    tick,
    wait1,
)
from tests.kernel.test_sync_svcs import (
    ARBITER,
    DEC_WAIT_LT_TIMEOUT,
    MS,
    STICKY,
    TICKS_PER_MS,
    WAIT_LT_TIMEOUT,
    WORD,
    arbitrate,
    event,
    poll,
    semaphore,
    set_word,
    signal,
    ticks_of,
    waitn,
)

THREE_EVENTS = "".join(event(0, f"r{8 + i}") + f"str r{8 + i}, [r11, #{0x100 + 4 * i}]\n" for i in range(3))


def test_a_semaphore_may_start_full_or_have_no_room(make_guest):
    # Citra semaphore.cpp refuses only initial > maximum (and hlemu negative counts).
    guest = make_guest("semifastmem")
    process = guest.run_one(semaphore(0, 0) + save(0, "r0") + semaphore(3, 3) + save(1, "r0") + "mov r10, r1\n"
                            + wait1("r10", 0) + save(2, "r0") + semaphore(4, 3) + save(3, "r0"))
    assert guest.words(process, 4) == [SUCCESS, SUCCESS, SUCCESS, INVALID_COMBINATION_KERNEL]


def test_clear_event_takes_its_handle_from_r0_alone(make_guest):
    guest = make_guest("semifastmem")
    process = guest.run_one(event(STICKY, "r10") + signal("r10")
                            + "mov r0, r10\nmov r1, #0\nsvc 0x19   @ ClearEvent(r0; r1 = 0)\n" + save(0, "r0")
                            + poll("r10", 1))
    assert guest.words(process, 2) == [SUCCESS, TIMEOUT]


def test_wait_n_any_gives_index_0_and_a_poll_that_finds_nothing_gives_minus_1(make_guest):
    guest = make_guest("semifastmem")
    process = guest.run_one(THREE_EVENTS + waitn(3, False, 0) + save(0, "r0", "r1")
                            + signal("r8") + waitn(3, False, 0) + save(2, "r0", "r1"))
    assert guest.words(process, 4) == [TIMEOUT, 0xFFFFFFFF, SUCCESS, 0]


def test_wait_n_takes_up_to_256_handles(make_guest):
    # 3dbrew: at most 256 handles; the same event 256 times is a valid list.
    guest = make_guest("semifastmem")
    fill = (f"ldr r1, ={HEAP:#x}\nmov r2, #256\nfill:\nstr r10, [r1], #4\nsubs r2, r2, #1\nbne fill\n")
    commit = f"mov r0, #3\nldr r1, ={HEAP:#x}\nmov r2, #0\nmov r3, #0x1000\nmov r4, #3\nsvc 0x01\n"
    process = guest.run_one(commit + event(STICKY, "r10") + signal("r10") + fill
                            + waitn(256, False, 0, handles=HEAP) + save(0, "r0", "r1")
                            + waitn(257, False, 0, handles=HEAP) + save(2, "r0"))
    assert guest.words(process, 3) == [SUCCESS, 0, OUT_OF_RANGE]


def test_wait_n_timeout_is_r0_low_and_r4_high(make_guest):
    # r1 (the handle list) and r5 are not part of it: r5 = 1 would add 2**32 ns.
    guest = make_guest("semifastmem")
    process = guest.run_one(THREE_EVENTS + tick(0) + "mov r5, #1\n" + waitn(3, False, 10 * MS) + save(2, "r0")
                            + tick(3))
    w = guest.words(process, 5)
    assert w[2] == TIMEOUT
    assert 10 * TICKS_PER_MS <= ticks_of(w, 3) - ticks_of(w, 0) < 10 * TICKS_PER_MS + 5000


def test_a_timeout_of_1_ns_times_out(make_guest):
    # Any positive timeout ends the wait, however short (1 ns is less than a tick).
    guest = make_guest("semifastmem")
    process = guest.run_one(event(0, "r10") + wait1("r10", 1) + save(0, "r0")
                            + ARBITER + set_word(0) + arbitrate(WAIT_LT_TIMEOUT, 1, 1) + save(1, "r0"))
    assert guest.words(process, 2) == [TIMEOUT, TIMEOUT]


def test_arbiter_timeouts_of_zero_return_at_once_and_the_high_word_is_r5(make_guest):
    guest = make_guest("semifastmem")
    load = f"ldr r1, ={WORD:#x}\nldr r0, [r1]\n"
    process = guest.run_one(
        ARBITER + set_word(0)
        + tick(0) + arbitrate(DEC_WAIT_LT_TIMEOUT, 1, 0) + save(2, "r0") + load + save(3, "r0")  # decremented
        + "mov r6, #1\n" + arbitrate(WAIT_LT_TIMEOUT, 1, 2 * MS) + save(4, "r0") + tick(5))  # r6 is not the timeout
    w = guest.words(process, 7)
    assert w[2:5] == [TIMEOUT, 0xFFFFFFFF, TIMEOUT]
    assert 2 * TICKS_PER_MS <= ticks_of(w, 5) - ticks_of(w, 0) < 2 * TICKS_PER_MS + 5000
