"""Mutexes, semaphores, events, timers, waits and address arbiters
(docs/abi.md "Synchronisation"; Citra svc.cpp, semaphore.cpp, mutex.cpp, address_arbiter.cpp).

Child threads are created at priority 0x20 (higher than main's 0x30) when
they must run as soon as they are created, and block where the test says.
"""

from __future__ import annotations

import pytest

from tests.kernel.asm import (
    BACKENDS,
    DATA,
    INVALID_COMBINATION_KERNEL,
    INVALID_ENUM_VALUE,
    INVALID_ENUM_VALUE_FND,
    INVALID_HANDLE,
    INVALID_POINTER,
    MISALIGNED_ADDRESS,
    OUT_OF_RANGE,
    OUT_OF_RANGE_KERNEL,
    SUCCESS,
    TIMEOUT,
    WRONG_LOCKING_THREAD,
    create_thread,
    log,
    save,
    tick,
    wait1,
)

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

ONESHOT, STICKY, PULSE = 0, 1, 2
MS = 1_000_000  # ns
TICKS_PER_MS = 268_111  # 268,111,856 Hz
CHILD = "mov r11, #0x200000\n"  # a thread's first instruction: r11 = DATA
HANDLES = DATA + 0x100  # handle arrays for WaitSynchronizationN
SHARED = 0x80  # byte offset of a word main passes to children (a handle)


def ticks_of(words: list[int], index: int) -> int:
    return words[index] | words[index + 1] << 32


def create(number: int, arg: int, into: str) -> str:
    """An object-creating SVC with r1 = arg; its handle (r1) goes to ``into``."""
    return f"mov r1, #{arg}\nsvc {number:#x}\nmov {into}, r1\n"


def event(reset: int, into: str) -> str:
    return create(0x17, reset, into)  # CreateEvent(reset type) -> r1


def signal(handle_reg: str) -> str:
    return f"mov r0, {handle_reg}\nsvc 0x18   @ SignalEvent\n"


def join(handle_reg: str) -> str:
    return wait1(handle_reg)  # a thread handle is signaled when the thread ends


# -- mutexes ---------------------------------------------------------------------------------------
def test_mutex_is_recursive_and_release_needs_ownership(guest):
    process = guest.run_one(
        create(0x13, 0, "r10")  # CreateMutex(unlocked)
        + wait1("r10", 0) + save(0, "r0")  # take it
        + wait1("r10", 0) + save(1, "r0")  # again: recursive
        + "mov r0, r10\nsvc 0x14\n" + save(2, "r0")  # ReleaseMutex x2
        + "mov r0, r10\nsvc 0x14\n" + save(3, "r0")
        + "mov r0, r10\nsvc 0x14\n" + save(4, "r0")  # nobody owns it now
    )
    assert guest.words(process, 5) == [SUCCESS, SUCCESS, SUCCESS, SUCCESS, WRONG_LOCKING_THREAD]


def test_release_mutex_by_a_thread_that_does_not_own_it(guest):
    process = guest.run_one(
        create(0x13, 1, "r10")  # CreateMutex(locked): main owns it
        + f"str r10, [r11, #{SHARED}]\n"
        + create_thread("child", 0x20) + "mov r9, r1\n"  # the child runs now
        + "mov r0, r10\nsvc 0x14\n" + save(2, "r0")  # main, the owner, releases: fine
        + join("r9") + "b done\n"
        + "child:\n" + CHILD
        + f"ldr r0, [r11, #{SHARED}]\nsvc 0x14   @ ReleaseMutex (not the owner)\n" + save(0, "r0")
        + f"ldr r10, [r11, #{SHARED}]\n" + wait1("r10", 0) + save(1, "r0")  # still main's
        + "svc 0x09\n"
        + "done:\n"
    )
    assert guest.words(process, 3) == [WRONG_LOCKING_THREAD, TIMEOUT, SUCCESS]


def test_mutex_release_hands_over_to_the_waiter(guest):
    process = guest.run_one(
        create(0x13, 1, "r10")
        + f"str r10, [r11, #{SHARED}]\n"
        + create_thread("child", 0x20) + "mov r9, r1\n"  # the child blocks on the mutex
        + log(1)
        + "mov r0, r10\nsvc 0x14\n"  # release: the child takes it and runs at once
        + log(3)
        + wait1("r10", 0) + save(1, "r0")  # the child exited holding it: it was released
        + join("r9") + "b done\n"
        + "child:\n" + CHILD
        + f"ldr r10, [r11, #{SHARED}]\n" + wait1("r10") + save(0, "r0")
        + log(2)
        + "svc 0x09   @ ExitThread without releasing\n"
        + "done:\n"
    )
    assert guest.log(process) == [1, 2, 3]
    assert guest.words(process, 2) == [SUCCESS, SUCCESS]


def test_mutex_owner_inherits_the_waiters_priority(guest):
    """Citra/CTR-OS: a mutex owner runs at the best priority of its waiters (Citra mutex.cpp UpdatePriority)."""
    process = guest.run_one(
        create(0x13, 1, "r10")
        + f"str r10, [r11, #{SHARED}]\n"
        + create_thread("child", 0x20) + "mov r9, r1\n"  # the child waits on main's mutex
        + "ldr r1, =0xFFFF8000\nsvc 0x0B   @ GetThreadPriority(CUR_THREAD)\n" + save(0, "r0", "r1")
        + "mov r0, r10\nsvc 0x14\n"
        + "ldr r1, =0xFFFF8000\nsvc 0x0B\n" + save(2, "r0", "r1")
        + join("r9") + "b done\n"
        + "child:\n" + CHILD
        + f"ldr r10, [r11, #{SHARED}]\n" + wait1("r10") + "mov r0, r10\nsvc 0x14\nsvc 0x09\n"
        + "done:\n"
    )
    assert guest.words(process, 4) == [SUCCESS, 0x20, SUCCESS, 0x30]


# -- semaphores ------------------------------------------------------------------------------------
def semaphore(initial: int, maximum: int) -> str:
    return f"mov r1, #{initial}\nmov r2, #{maximum}\nsvc 0x15   @ CreateSemaphore\n"


def release(handle_reg: str, count: int) -> str:
    return f"mov r1, {handle_reg}\nldr r2, ={count & 0xFFFFFFFF:#x}\nsvc 0x16   @ ReleaseSemaphore -> r1 previous\n"


def test_semaphore_counts(guest):
    process = guest.run_one(
        semaphore(2, 1) + save(0, "r0")  # initial > max
        + semaphore(1, 3) + save(1, "r0") + "mov r10, r1\n"
        + release("r10", 1) + save(2, "r0", "r1")  # previous count 1
        + release("r10", 2) + save(4, "r0")  # 2 + 2 > 3: refused, count unchanged
        + release("r10", -1) + save(5, "r0")
        + release("r10", 1) + save(6, "r0", "r1")  # previous 2
        + wait1("r10", 0) + save(8, "r0") + wait1("r10", 0) + save(9, "r0")
        + wait1("r10", 0) + save(10, "r0") + wait1("r10", 0) + save(11, "r0")  # 3 taken, then empty
    )
    w = guest.words(process, 12)
    assert w[0] == INVALID_COMBINATION_KERNEL
    assert w[1] == SUCCESS
    assert w[2:4] == [SUCCESS, 1]
    assert w[4] == OUT_OF_RANGE_KERNEL
    assert w[6:8] == [SUCCESS, 2]
    assert w[8:12] == [SUCCESS, SUCCESS, SUCCESS, TIMEOUT]
    assert w[5] == OUT_OF_RANGE_KERNEL  # a negative count is refused: hlemu's choice (docs/abi.md)


def test_semaphore_release_wakes_waiters_best_priority_first(guest):
    process = guest.run_one(
        semaphore(0, 5) + "mov r10, r1\n" + f"str r10, [r11, #{SHARED}]\n"
        + create_thread("low", 0x22) + "mov r8, r1\n"
        + create_thread("high", 0x21) + "mov r9, r1\n"  # both block on the semaphore
        + release("r10", 1) + save(0, "r0", "r1")  # wakes "high" only
        + log(9)
        + release("r10", 1) + save(2, "r0", "r1")
        + join("r8") + join("r9") + "b done\n"
        + "low:\n" + CHILD + f"ldr r10, [r11, #{SHARED}]\n" + wait1("r10") + log(2) + "svc 0x09\n"
        + "high:\n" + CHILD + f"ldr r10, [r11, #{SHARED}]\n" + wait1("r10") + log(1) + "svc 0x09\n"
        + "done:\n"
    )
    assert guest.log(process) == [1, 9, 2]
    assert guest.words(process, 4) == [SUCCESS, 0, SUCCESS, 0]


# -- events ----------------------------------------------------------------------------------------
def poll(handle_reg: str, index: int) -> str:
    return wait1(handle_reg, 0) + save(index, "r0")


def test_oneshot_event_is_consumed_by_a_wait(guest):
    process = guest.run_one(event(ONESHOT, "r10") + poll("r10", 0) + signal("r10") + save(1, "r0")
                            + poll("r10", 2) + poll("r10", 3))
    assert guest.words(process, 4) == [TIMEOUT, SUCCESS, SUCCESS, TIMEOUT]


def test_sticky_event_stays_signaled_until_cleared(guest):
    process = guest.run_one(event(STICKY, "r10") + signal("r10") + poll("r10", 0) + poll("r10", 1)
                            + "mov r0, r10\nsvc 0x19   @ ClearEvent\n" + save(2, "r0") + poll("r10", 3))
    assert guest.words(process, 4) == [SUCCESS, SUCCESS, SUCCESS, TIMEOUT]


def test_pulse_event_wakes_current_waiters_then_clears(guest):
    process = guest.run_one(
        event(PULSE, "r10") + f"str r10, [r11, #{SHARED}]\n"
        + signal("r10") + poll("r10", 0)  # nobody waited: nothing stays signaled
        + create_thread("child", 0x20) + "mov r8, r1\n"
        + create_thread("child", 0x21) + "mov r9, r1\n"  # two waiters
        + signal("r10") + log(9) + poll("r10", 1)
        + join("r8") + join("r9") + "b done\n"
        + "child:\n" + CHILD + f"ldr r10, [r11, #{SHARED}]\n" + wait1("r10") + log(1) + "svc 0x09\n"
        + "done:\n"
    )
    assert guest.words(process, 2) == [TIMEOUT, TIMEOUT]
    assert guest.log(process) == [1, 1, 9]  # both woke (before main went on)


def test_oneshot_event_releases_one_waiter_per_signal(guest):
    process = guest.run_one(
        event(ONESHOT, "r10") + f"str r10, [r11, #{SHARED}]\n"
        + create_thread("first", 0x21) + "mov r8, r1\n"
        + create_thread("second", 0x20) + "mov r9, r1\n"
        + signal("r10") + log(9)  # the better priority ("second") wakes
        + signal("r10") + log(9)
        + join("r8") + join("r9") + "b done\n"
        + "first:\n" + CHILD + f"ldr r10, [r11, #{SHARED}]\n" + wait1("r10") + log(1) + "svc 0x09\n"
        + "second:\n" + CHILD + f"ldr r10, [r11, #{SHARED}]\n" + wait1("r10") + log(2) + "svc 0x09\n"
        + "done:\n"
    )
    assert guest.log(process) == [2, 9, 1, 9]


def test_wait_forever_is_ended_by_a_lower_priority_signaler(guest):
    process = guest.run_one(
        event(ONESHOT, "r10") + f"str r10, [r11, #{SHARED}]\n"
        + create_thread("child", 0x31) + "mov r9, r1\n"  # runs only once main waits
        + wait1("r10") + save(0, "r0") + log(2)
        + join("r9") + "b done\n"
        + "child:\n" + CHILD + log(1) + f"ldr r10, [r11, #{SHARED}]\n" + signal("r10") + "svc 0x09\n"
        + "done:\n"
    )
    assert guest.words(process, 1) == [SUCCESS]
    assert guest.log(process) == [1, 2]


def test_event_reset_types_beyond_pulse(guest):
    # Citra does not validate the reset type; hlemu refuses it (its choice, docs/abi.md) and does not crash.
    process = guest.run_one("mov r1, #7\nsvc 0x17\n" + save(0, "r0"))
    assert guest.words(process, 1) == [INVALID_ENUM_VALUE]


# -- timers ----------------------------------------------------------------------------------------
def set_timer(handle_reg: str, initial_ns: int, interval_ns: int) -> str:
    """SetTimer: r0 = timer, r1 = interval low, r2:r3 = initial, r4 = interval high (libctru order)."""
    ini, itv = initial_ns & (2**64 - 1), interval_ns & (2**64 - 1)
    return (f"mov r0, {handle_reg}\nldr r1, ={itv & 0xFFFFFFFF:#x}\nldr r2, ={ini & 0xFFFFFFFF:#x}\n"
            f"ldr r3, ={ini >> 32:#x}\nldr r4, ={itv >> 32:#x}\nsvc 0x1B   @ SetTimer\n")


def test_oneshot_timer_fires_once_after_its_delay(guest):
    process = guest.run_one(
        create(0x1A, ONESHOT, "r10") + tick(0)
        + set_timer("r10", 3 * MS, 0) + save(2, "r0")
        + poll("r10", 3)  # not yet
        + wait1("r10") + save(4, "r0") + tick(5)
        + wait1("r10", 10 * MS) + save(7, "r0")  # fires only once
    )
    w = guest.words(process, 8)
    assert w[2:5] == [SUCCESS, TIMEOUT, SUCCESS]
    assert 3 * TICKS_PER_MS <= ticks_of(w, 5) - ticks_of(w, 0) < 3 * TICKS_PER_MS + 5000
    assert w[7] == TIMEOUT


def test_periodic_timer_fires_every_interval_until_cancelled(guest):
    process = guest.run_one(
        create(0x1A, ONESHOT, "r10") + tick(0)
        + set_timer("r10", 1 * MS, 2 * MS)
        + wait1("r10") + tick(2) + wait1("r10") + tick(4) + wait1("r10") + tick(6)
        + "mov r0, r10\nsvc 0x1C   @ CancelTimer\n" + save(8, "r0")
        + wait1("r10", 10 * MS) + save(9, "r0")
    )
    w = guest.words(process, 10)
    t = [ticks_of(w, i) for i in (0, 2, 4, 6)]
    assert 1 * TICKS_PER_MS <= t[1] - t[0] < 1 * TICKS_PER_MS + 5000
    for a, b in zip(t[1:], t[2:], strict=False):  # firings keep to the period (no drift)
        assert abs((b - a) - 2 * TICKS_PER_MS) < 5000
    assert w[8:10] == [SUCCESS, TIMEOUT]


def test_cancel_timer_keeps_the_signal_and_clear_timer_drops_it(guest):
    process = guest.run_one(
        create(0x1A, STICKY, "r10")
        + set_timer("r10", 0, 0) + save(0, "r0")  # initial 0: signaled at once
        + "mov r0, r10\nsvc 0x1C\n" + poll("r10", 1) + poll("r10", 2)
        + "mov r0, r10\nsvc 0x1D   @ ClearTimer\n" + save(3, "r0") + poll("r10", 4)
    )
    assert guest.words(process, 5) == [SUCCESS, SUCCESS, SUCCESS, SUCCESS, TIMEOUT]


def test_pulse_timer_wakes_the_waiter_and_clears(guest):
    process = guest.run_one(
        create(0x1A, PULSE, "r10") + f"str r10, [r11, #{SHARED}]\n"
        + create_thread("child", 0x20) + "mov r9, r1\n"
        + set_timer("r10", 1 * MS, 0) + join("r9") + poll("r10", 1)
        + "b done\n"
        + "child:\n" + CHILD + f"ldr r10, [r11, #{SHARED}]\n" + wait1("r10") + save(0, "r0") + "svc 0x09\n"
        + "done:\n"
    )
    assert guest.words(process, 2) == [SUCCESS, TIMEOUT]


def test_set_timer_refuses_negative_times(guest):
    process = guest.run_one(
        create(0x1A, ONESHOT, "r10")
        + set_timer("r10", -1, 0) + save(0, "r0")
        + set_timer("r10", 0, -5) + save(1, "r0")
        + set_timer("r10", -(1 << 40), 1) + save(2, "r0")
        + poll("r10", 3)  # none of them started the timer
    )
    assert guest.words(process, 4) == [OUT_OF_RANGE_KERNEL] * 3 + [TIMEOUT]


# -- WaitSynchronization ----------------------------------------------------------------------------
def test_wait1_poll_is_an_immediate_timeout(guest):
    process = guest.run_one(event(ONESHOT, "r10") + tick(0) + poll("r10", 2) + tick(3))
    w = guest.words(process, 5)
    assert w[2] == TIMEOUT
    assert ticks_of(w, 3) - ticks_of(w, 0) < TICKS_PER_MS  # it did not sleep


def test_wait1_answers_in_r0_only(guest):
    """A WaitSynchronization1 that ends at once (signalled, or polled) answers in r0 only; r1,
    no argument of it, keeps what the guest had there (Citra's wrapper writes r0)."""
    process = guest.run_one(
        event(STICKY, "r10") + signal("r10")
        + "ldr r1, =0x1234\n" + wait1("r10") + save(0, "r0", "r1")
        + event(ONESHOT, "r9") + "ldr r1, =0x5678\n" + wait1("r9", 0) + save(2, "r0", "r1"))
    assert guest.words(process, 4) == [SUCCESS, 0x1234, TIMEOUT, 0x5678]


def test_wait1_with_a_finite_timeout_lets_guest_time_pass(guest):
    process = guest.spawn(event(ONESHOT, "r10") + tick(0) + wait1("r10", 10 * MS) + save(2, "r0") + tick(3)
                          + wait1("r10", 60_000 * MS) + save(5, "r0") + tick(6))  # a minute
    result = guest.run()
    assert result.reason == "all exited"
    w = guest.words(process, 8)
    assert w[2] == TIMEOUT and w[5] == TIMEOUT
    assert 10 * TICKS_PER_MS <= ticks_of(w, 3) - ticks_of(w, 0) < 10 * TICKS_PER_MS + 5000
    assert ticks_of(w, 6) - ticks_of(w, 3) >= 60_000 * TICKS_PER_MS
    assert result.instructions < 200  # idle skipping: no instruction ran while waiting


def waitn(count: int, wait_all: bool, timeout_ns: int, handles: int = HANDLES) -> str:
    """WaitSynchronizationN: r0 = timeout low, r1 = handles, r2 = count, r3 = wait_all, r4 = timeout high."""
    t = timeout_ns & (2**64 - 1)
    return (f"ldr r0, ={t & 0xFFFFFFFF:#x}\nldr r1, ={handles:#x}\nldr r2, ={count & 0xFFFFFFFF:#x}\n"
            f"mov r3, #{int(wait_all)}\nldr r4, ={t >> 32:#x}\nsvc 0x25   @ WaitSynchronizationN\n")


THREE_EVENTS = "".join(event(ONESHOT, f"r{8 + i}") + f"str r{8 + i}, [r11, #{0x100 + 4 * i}]\n" for i in range(3))


def test_wait_n_any_returns_the_index_of_the_first_signaled(guest):
    process = guest.run_one(
        THREE_EVENTS  # r8, r9, r10 = handles[0..2]
        + waitn(3, False, 0) + save(0, "r0")  # nothing signaled
        + signal("r10") + waitn(3, False, 0) + save(1, "r0", "r1")  # index 2
        + signal("r9") + signal("r10") + waitn(3, False, -1) + save(3, "r0", "r1")  # lowest ready: 1
        + waitn(3, False, -1) + save(5, "r0", "r1")  # then 2 (1 was consumed)
    )
    assert guest.words(process, 7) == [TIMEOUT, SUCCESS, 2, SUCCESS, 1, SUCCESS, 2]


def test_wait_n_all_needs_every_object(guest):
    process = guest.run_one(
        THREE_EVENTS
        + signal("r8") + signal("r9") + waitn(3, True, 0) + save(0, "r0")  # two of three
        + signal("r10") + waitn(3, True, -1) + save(1, "r0")
        + poll("r8", 2) + poll("r9", 3) + poll("r10", 4)  # all three were consumed
    )
    assert guest.words(process, 5) == [TIMEOUT, SUCCESS, TIMEOUT, TIMEOUT, TIMEOUT]


def test_wait_n_all_untouched_by_a_partial_signal(guest):
    process = guest.run_one(
        THREE_EVENTS
        + signal("r8") + waitn(3, True, 0) + poll("r8", 0)  # the failed wait took nothing
    )
    assert guest.words(process, 1) == [SUCCESS]


def test_wait_n_any_woken_by_another_thread_reports_the_index(guest):
    process = guest.run_one(
        THREE_EVENTS
        + create_thread("child", 0x20) + "mov r7, r1\n"  # blocks on all three, any
        + signal("r9")  # the child wakes with index 1
        + join("r7") + "b done\n"
        + "child:\n" + CHILD + waitn(3, False, -1) + save(0, "r0", "r1") + "svc 0x09\n"
        + "done:\n"
    )
    assert guest.words(process, 2) == [SUCCESS, 1]


def test_wait_n_any_timeout_sets_index_minus_one(guest):
    """Citra: a wait-any that times out after sleeping gives r1 = -1 (svc.cpp WaitSynchronizationN)."""
    process = guest.run_one(THREE_EVENTS + waitn(3, False, 2 * MS) + save(0, "r0", "r1"))
    assert guest.words(process, 2) == [TIMEOUT, 0xFFFFFFFF]


def test_wait_n_all_of_no_handles_succeeds_at_once(guest):
    """Citra: wait_all over 0 handles is vacuously satisfied (svc.cpp WaitSynchronizationN)."""
    process = guest.run_one(waitn(0, True, -1) + save(0, "r0", "r1"))
    assert guest.words(process, 2) == [SUCCESS, 0]  # r1: 0, the index a wait-all reports


def test_wait_n_any_of_no_handles_times_out(guest):
    process = guest.run_one(waitn(0, False, 0) + save(0, "r0") + waitn(0, False, MS) + save(1, "r0"))
    assert guest.words(process, 2) == [TIMEOUT, TIMEOUT]


def test_wait_n_argument_errors(guest):
    process = guest.run_one(
        waitn(2, False, 0, handles=0x0A000000) + save(0, "r0")  # unmapped handle array
        + waitn(2, False, 0, handles=0) + save(1, "r0")  # null
        + waitn(-1, False, 0) + save(2, "r0")  # negative count
    )
    assert guest.words(process, 3) == [INVALID_POINTER, INVALID_POINTER, OUT_OF_RANGE]


# -- address arbiters ---------------------------------------------------------------------------------
WORD = DATA + 0x200  # the arbitrated word


def arbitrate(kind: int, value: int, timeout_ns: int = 0, addr: int = WORD, handle: str = "r10") -> str:
    """ArbitrateAddress: r0 = arbiter, r1 = addr, r2 = type, r3 = value, r4:r5 = timeout."""
    t = timeout_ns & (2**64 - 1)
    return (f"mov r0, {handle}\nldr r1, ={addr:#x}\nldr r2, ={kind:#x}\nldr r3, ={value & 0xFFFFFFFF:#x}\n"
            f"ldr r4, ={t & 0xFFFFFFFF:#x}\nldr r5, ={t >> 32:#x}\nsvc 0x22   @ ArbitrateAddress\n")


def set_word(value: int) -> str:
    return f"ldr r0, ={value & 0xFFFFFFFF:#x}\nldr r1, ={WORD:#x}\nstr r0, [r1]\n"


ARBITER = "svc 0x21   @ CreateAddressArbiter\nmov r10, r1\n" + f"str r10, [r11, #{SHARED}]\n"
SIGNAL, WAIT_LT, DEC_WAIT_LT, WAIT_LT_TIMEOUT, DEC_WAIT_LT_TIMEOUT = 0, 1, 2, 3, 4


def test_arbiter_waits_return_at_once_when_the_value_is_not_less(guest):
    process = guest.run_one(
        ARBITER + set_word(5)
        + arbitrate(WAIT_LT, 5) + save(0, "r0")
        + arbitrate(DEC_WAIT_LT, 5) + save(1, "r0")  # no wait, so no decrement
        + arbitrate(WAIT_LT_TIMEOUT, 5, MS) + save(2, "r0")  # the timeout variants always say TIMEOUT
        + arbitrate(DEC_WAIT_LT_TIMEOUT, -3, MS) + save(3, "r0")  # signed: 5 < -3 is false
        + arbitrate(SIGNAL, 1) + save(4, "r0")  # nobody waits
        + f"ldr r1, ={WORD:#x}\nldr r0, [r1]\n" + save(5, "r0")
    )
    assert guest.words(process, 6) == [SUCCESS, SUCCESS, TIMEOUT, TIMEOUT, SUCCESS, 5]


def test_arbiter_timeout_variants_time_out_and_decrement(guest):
    process = guest.run_one(
        ARBITER + set_word(5)
        + tick(0) + arbitrate(WAIT_LT_TIMEOUT, 6, 2 * MS) + save(2, "r0") + tick(3)
        + arbitrate(DEC_WAIT_LT_TIMEOUT, 6, 2 * MS) + save(5, "r0")
        + f"ldr r1, ={WORD:#x}\nldr r0, [r1]\n" + save(6, "r0")
    )
    w = guest.words(process, 7)
    assert w[2] == TIMEOUT and w[5] == TIMEOUT
    assert ticks_of(w, 3) - ticks_of(w, 0) >= 2 * TICKS_PER_MS
    assert w[6] == 4  # decremented because the thread waited


def test_arbiter_signal_wakes_the_requested_number_of_waiters(guest):
    child = "child:\n" + CHILD + f"ldr r10, [r11, #{SHARED}]\n" + arbitrate(WAIT_LT, 1) + log(1) + "svc 0x09\n"
    process = guest.run_one(
        ARBITER + set_word(0)
        + "".join(create_thread("child", 0x20) + f"str r1, [r11, #{0x100 + 4 * i}]\n" for i in range(3))
        + arbitrate(SIGNAL, 2) + save(0, "r0") + log(9)  # two wake (and run: better priority)
        + arbitrate(SIGNAL, 0) + log(9)  # zero: none
        + arbitrate(SIGNAL, -1) + log(9)  # -1: all the rest
        + waitn(3, True, -1) + "b done\n"  # join all three
        + child + "done:\n"
    )
    assert guest.log(process) == [1, 1, 9, 9, 1, 9]
    assert guest.words(process, 1) == [SUCCESS]


def test_arbiter_decrement_and_wait_decrements_then_sleeps(guest):
    process = guest.run_one(
        ARBITER + set_word(0)
        + create_thread("child", 0x20) + "mov r9, r1\n"  # decrements to -1, then waits
        + f"ldr r1, ={WORD:#x}\nldr r0, [r1]\n" + save(2, "r0")
        + arbitrate(SIGNAL, 1) + join("r9") + "b done\n"
        + "child:\n" + CHILD + f"ldr r10, [r11, #{SHARED}]\n" + arbitrate(DEC_WAIT_LT, 1)
        + save(0, "r0") + "svc 0x09\n"
        + "done:\n"
    )
    assert guest.words(process, 3) == [SUCCESS, 0, 0xFFFFFFFF]


def test_arbiter_signal_ends_a_timeout_wait_with_timeout(guest):
    process = guest.run_one(
        ARBITER + set_word(0)
        + create_thread("child", 0x20) + "mov r9, r1\n"
        + arbitrate(SIGNAL, 1) + join("r9") + "b done\n"
        + "child:\n" + CHILD + f"ldr r10, [r11, #{SHARED}]\n" + tick(2)
        + arbitrate(WAIT_LT_TIMEOUT, 1, 1000 * MS) + save(0, "r0") + tick(4) + "svc 0x09\n"
        + "done:\n"
    )
    w = guest.words(process, 6)
    assert w[0] == TIMEOUT  # Citra: types 3/4 always report TIMEOUT
    assert ticks_of(w, 4) - ticks_of(w, 2) < 1000 * TICKS_PER_MS  # but it was the signal that woke it


def test_arbitrate_address_argument_errors(guest):
    process = guest.run_one(
        ARBITER
        + arbitrate(5, 0) + save(0, "r0")  # no such arbitration type
        + arbitrate(0xFFFFFFFF, 0) + save(1, "r0")
        + arbitrate(WAIT_LT, 1, addr=0x0A000000) + save(2, "r0")  # unmapped word
        + arbitrate(WAIT_LT, 1, handle="r11") + save(3, "r0")  # not a handle
        + arbitrate(WAIT_LT, 1, addr=WORD + 2) + save(4, "r0")  # misaligned
    )
    w = guest.words(process, 5)
    assert w[0:4] == [INVALID_ENUM_VALUE_FND, INVALID_ENUM_VALUE_FND, INVALID_POINTER, INVALID_HANDLE]
    assert w[4] == MISALIGNED_ADDRESS  # hlemu's choice: Citra does not check (docs/abi.md)
