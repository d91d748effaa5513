/*
 * threads - the kernel's threads and synchronisation objects, one check a line.
 *
 * Covers CreateThread/ExitThread, priorities, SleepThread, mutexes,
 * semaphores, events, timers, address arbiters, WaitSynchronization1/N
 * (wait_all false and true), DuplicateHandle, CloseHandle, GetThreadId,
 * GetProcessId and GetSystemTick, following the semantics 3dbrew's "SVC"
 * and "Multi-threading" pages and libctru's svc.h describe.
 *
 * Only the main thread prints, after it has joined the workers, and every
 * printed value is fixed by the semantics being tested (counts, sums,
 * indices, true/false), not by timing: the output is the same under any
 * correct scheduler. Each line ends in "ok" or "FAILED"; the exit status
 * is the number of failures.
 *
 * Expected output (see the `check` calls below for the exact text):
 *   threads: start
 *   priority: main thread set to 0x30 ok
 *   mutex: release without owning it rejected ok
 *   mutex: 4 threads (0x2f 0x30 0x30 0x31) counted to 4000 ok
 *   semaphore: consumed 32 items, sum 528, in order ok
 *   semaphore: release past max rejected ok
 *   semaphore: release returns previous count 0 ok
 *   event: sticky event woke 3 of 3 waiters (0 before signal) ok
 *   event: oneshot event clears after one wait ok
 *   event: ClearEvent clears a sticky event ok
 *   timer: oneshot fired after >= 1 ms, then cleared ok
 *   timer: CancelTimer stops a pending timer ok
 *   timer: pulse timer fired 3 times ok
 *   timer: sticky timer stays signalled until ClearTimer ok
 *   arbiter: no wait when value is not less ok
 *   arbiter: wait with timeout timed out ok
 *   arbiter: signal(1) released 1 of 2 waiters (0 before signal) ok
 *   arbiter: signal(all) released the other waiter ok
 *   waitN any: index 1 (already signalled) ok
 *   waitN any: index 2 (signalled by a thread) ok
 *   waitN all: waits for every handle ok
 *   waitN any: timeout 0 with nothing signalled ok
 *   priority: higher-priority thread ran first (HL) ok
 *   priority: get/set on another thread ok
 *   ids: thread ids distinct, process id readable ok
 *   handles: duplicate refers to the same event ok
 *   handles: closing a closed handle rejected ok
 *   threads: 0 failures
 */

#include <stdio.h>

#include "check.h"
#include "hlemu.h"

#define MAIN_PRIORITY 0x30
#define STACK_SIZE 0x2000
#define MAX_THREADS 4
#define ONE_MS 1000000LL /* nanoseconds */

/* Worker stacks: static, one slot per concurrently running worker. The
 * kernel wants an 8-byte-aligned stack top (libctru svcCreateThread). */
static u8 stacks[MAX_THREADS][STACK_SIZE] __attribute__((aligned(8)));

/* An SVC that must not fail for the test to mean anything. */
static void must(Result res, const char *what)
{
    if (R_FAILED(res)) {
        printf("%s failed: 0x%08lx\n", what, (unsigned long)res);
        check_failures++;
    }
}

static Handle spawn(ThreadFunc entry, void *arg, int slot, s32 priority)
{
    Handle thread = 0;
    u32 *top = (u32 *)(stacks[slot] + STACK_SIZE);
    must(svcCreateThread(&thread, entry, (u32)arg, top, priority, PROCESSOR_ID_APPCORE),
         "svcCreateThread");
    return thread;
}

/* A thread handle is signalled when the thread exits, so waiting for all
 * of them with wait_all = true is a join. */
static void join(Handle *threads, int count)
{
    s32 index = 0;
    must(svcWaitSynchronizationN(&index, threads, count, true, WAIT_FOREVER), "join");
    for (int i = 0; i < count; i++)
        svcCloseHandle(threads[i]);
}

/* One lock for every counter the workers share. */
static Handle g_lock;

static void lock(void)
{
    svcWaitSynchronization(g_lock, WAIT_FOREVER);
}

static void unlock(void)
{
    svcReleaseMutex(g_lock);
}

/* ---- mutex ---------------------------------------------------------- */

#define MUTEX_ITERATIONS 1000

static volatile u32 g_counter;

/* A read-modify-write that sleeps while holding the lock every 100
 * iterations, so the other workers do run and do contend for it: without
 * mutual exclusion the count comes out short. */
static void mutex_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < MUTEX_ITERATIONS; i++) {
        lock();
        u32 seen = g_counter;
        if (i % 100 == 0)
            svcSleepThread(1000);
        g_counter = seen + 1;
        unlock();
    }
    svcExitThread();
}

static void test_mutex(void)
{
    check(R_FAILED(svcReleaseMutex(g_lock)), "mutex: release without owning it rejected");

    static const s32 priorities[MAX_THREADS] = {0x30, 0x31, 0x2F, 0x30};
    Handle threads[MAX_THREADS];
    g_counter = 0;
    for (int i = 0; i < MAX_THREADS; i++)
        threads[i] = spawn(mutex_worker, NULL, i, priorities[i]);
    join(threads, MAX_THREADS);
    check(g_counter == MAX_THREADS * MUTEX_ITERATIONS, "mutex: 4 threads (0x2f 0x30 0x30 0x31) counted to %lu",
          (unsigned long)g_counter);
}

/* ---- semaphore: a bounded buffer ------------------------------------ */

#define RING_SLOTS 4
#define ITEM_COUNT 32

static Handle g_free_slots; /* counts empty ring slots */
static Handle g_full_slots; /* counts filled ring slots */
static volatile u32 g_ring[RING_SLOTS];
static volatile u32 g_consumed, g_sum;
static volatile bool g_in_order;

static void producer(void *arg)
{
    (void)arg;
    s32 previous;
    for (u32 item = 1; item <= ITEM_COUNT; item++) {
        svcWaitSynchronization(g_free_slots, WAIT_FOREVER);
        g_ring[(item - 1) % RING_SLOTS] = item;
        svcReleaseSemaphore(&previous, g_full_slots, 1);
    }
    svcExitThread();
}

static void consumer(void *arg)
{
    (void)arg;
    s32 previous;
    for (u32 expected = 1; expected <= ITEM_COUNT; expected++) {
        svcWaitSynchronization(g_full_slots, WAIT_FOREVER);
        u32 item = g_ring[(expected - 1) % RING_SLOTS];
        svcReleaseSemaphore(&previous, g_free_slots, 1);
        if (item != expected)
            g_in_order = false;
        g_sum += item;
        g_consumed++;
    }
    svcExitThread();
}

static void test_semaphore(void)
{
    must(svcCreateSemaphore(&g_free_slots, RING_SLOTS, RING_SLOTS), "svcCreateSemaphore");
    must(svcCreateSemaphore(&g_full_slots, 0, RING_SLOTS), "svcCreateSemaphore");
    g_consumed = 0;
    g_sum = 0;
    g_in_order = true;

    /* The consumer outranks the producer, so it mostly waits on an empty ring. */
    Handle threads[2] = {spawn(producer, NULL, 0, 0x31), spawn(consumer, NULL, 1, 0x2F)};
    join(threads, 2);
    check(g_consumed == ITEM_COUNT && g_sum == ITEM_COUNT * (ITEM_COUNT + 1) / 2 && g_in_order,
          "semaphore: consumed %lu items, sum %lu, %s", (unsigned long)g_consumed, (unsigned long)g_sum,
          g_in_order ? "in order" : "OUT OF ORDER");

    /* Every slot is free again: the count is at its maximum. */
    s32 previous = -1;
    check(R_FAILED(svcReleaseSemaphore(&previous, g_free_slots, 1)), "semaphore: release past max rejected");

    previous = -1;
    Result res = svcReleaseSemaphore(&previous, g_full_slots, 1);
    bool took = svcWaitSynchronization(g_full_slots, 0) == RESULT_SUCCESS;
    check(R_SUCCEEDED(res) && previous == 0 && took, "semaphore: release returns previous count %ld",
          (long)previous);

    svcCloseHandle(g_free_slots);
    svcCloseHandle(g_full_slots);
}

/* ---- events ---------------------------------------------------------- */

#define EVENT_WAITERS 3

static Handle g_go;
static volatile u32 g_woken;

static void event_waiter(void *arg)
{
    (void)arg;
    svcWaitSynchronization(g_go, WAIT_FOREVER);
    lock();
    g_woken++;
    unlock();
    svcExitThread();
}

static void test_events(void)
{
    /* Sticky: one signal releases every waiter. */
    must(svcCreateEvent(&g_go, RESET_STICKY), "svcCreateEvent");
    g_woken = 0;
    Handle threads[EVENT_WAITERS];
    for (int i = 0; i < EVENT_WAITERS; i++)
        threads[i] = spawn(event_waiter, NULL, i, i == 0 ? 0x2F : 0x31);
    svcSleepThread(ONE_MS); /* let the lower-priority waiters reach their wait */
    u32 before = g_woken;
    must(svcSignalEvent(g_go), "svcSignalEvent");
    join(threads, EVENT_WAITERS);
    check(before == 0 && g_woken == EVENT_WAITERS, "event: sticky event woke %lu of %d waiters (%lu before signal)",
          (unsigned long)g_woken, EVENT_WAITERS, (unsigned long)before);
    svcCloseHandle(g_go);

    /* Oneshot: a successful wait consumes the signal. */
    Handle oneshot;
    must(svcCreateEvent(&oneshot, RESET_ONESHOT), "svcCreateEvent");
    svcSignalEvent(oneshot);
    Result first = svcWaitSynchronization(oneshot, 0);
    Result second = svcWaitSynchronization(oneshot, 0);
    check(first == RESULT_SUCCESS && second == RESULT_TIMEOUT, "event: oneshot event clears after one wait");
    svcCloseHandle(oneshot);

    /* Sticky events stay signalled until ClearEvent. */
    Handle sticky;
    must(svcCreateEvent(&sticky, RESET_STICKY), "svcCreateEvent");
    svcSignalEvent(sticky);
    first = svcWaitSynchronization(sticky, 0);
    second = svcWaitSynchronization(sticky, 0);
    svcClearEvent(sticky);
    Result third = svcWaitSynchronization(sticky, 0);
    check(first == RESULT_SUCCESS && second == RESULT_SUCCESS && third == RESULT_TIMEOUT,
          "event: ClearEvent clears a sticky event");
    svcCloseHandle(sticky);
}

/* ---- timers ---------------------------------------------------------- */

static void test_timers(void)
{
    Handle timer;

    /* Oneshot: fires once, no earlier than asked, and the wait consumes it. */
    must(svcCreateTimer(&timer, RESET_ONESHOT), "svcCreateTimer");
    u64 start = svcGetSystemTick();
    must(svcSetTimer(timer, ONE_MS, 0), "svcSetTimer");
    Result fired = svcWaitSynchronization(timer, WAIT_FOREVER);
    u64 elapsed = svcGetSystemTick() - start;
    Result again = svcWaitSynchronization(timer, 0);
    check(fired == RESULT_SUCCESS && elapsed >= SYSCLOCK_ARM11 / 1000 && again == RESULT_TIMEOUT,
          "timer: oneshot fired after >= 1 ms, then cleared");

    /* A cancelled timer never fires. */
    must(svcSetTimer(timer, 5 * ONE_MS, 0), "svcSetTimer");
    must(svcCancelTimer(timer), "svcCancelTimer");
    check(svcWaitSynchronization(timer, 10 * ONE_MS) == RESULT_TIMEOUT, "timer: CancelTimer stops a pending timer");
    svcCloseHandle(timer);

    /* Pulse: fires every interval until cancelled. */
    must(svcCreateTimer(&timer, RESET_PULSE), "svcCreateTimer");
    must(svcSetTimer(timer, ONE_MS, ONE_MS), "svcSetTimer");
    int pulses = 0;
    for (int i = 0; i < 3; i++)
        if (svcWaitSynchronization(timer, 100 * ONE_MS) == RESULT_SUCCESS)
            pulses++;
    svcCancelTimer(timer);
    check(pulses == 3, "timer: pulse timer fired %d times", pulses);
    svcCloseHandle(timer);

    /* Sticky: stays signalled after a wait until ClearTimer. */
    must(svcCreateTimer(&timer, RESET_STICKY), "svcCreateTimer");
    must(svcSetTimer(timer, ONE_MS, 0), "svcSetTimer");
    fired = svcWaitSynchronization(timer, WAIT_FOREVER);
    again = svcWaitSynchronization(timer, 0);
    svcClearTimer(timer);
    Result cleared = svcWaitSynchronization(timer, 0);
    check(fired == RESULT_SUCCESS && again == RESULT_SUCCESS && cleared == RESULT_TIMEOUT,
          "timer: sticky timer stays signalled until ClearTimer");
    svcCloseHandle(timer);
}

/* ---- address arbiter -------------------------------------------------- */

static Handle g_arbiter;
static volatile s32 g_gate; /* the arbitrated word */
static volatile u32 g_arrived, g_passed;

/* Wait while the gate is below 1. The arbiter does not re-check the value
 * on wake-up: a signal releases the waiter whatever the gate holds. */
static void gate_waiter(void *arg)
{
    (void)arg;
    lock();
    g_arrived++;
    unlock();
    svcArbitrateAddress(g_arbiter, (u32)&g_gate, ARBITRATION_WAIT_IF_LESS_THAN, 1, 0);
    lock();
    g_passed++;
    unlock();
    svcExitThread();
}

static void wait_for_arrivals(u32 count)
{
    for (int i = 0; i < 1000 && g_arrived < count; i++)
        svcSleepThread(ONE_MS);
    svcSleepThread(ONE_MS); /* let the last arrival get into its wait */
}

static void test_arbiter(void)
{
    must(svcCreateAddressArbiter(&g_arbiter), "svcCreateAddressArbiter");
    u32 gate_addr = (u32)&g_gate;

    g_gate = 1;
    Result res = svcArbitrateAddress(g_arbiter, gate_addr, ARBITRATION_WAIT_IF_LESS_THAN, 1, 0);
    check(res == RESULT_SUCCESS, "arbiter: no wait when value is not less");

    g_gate = 0;
    res = svcArbitrateAddress(g_arbiter, gate_addr, ARBITRATION_WAIT_IF_LESS_THAN_TIMEOUT, 1, ONE_MS);
    check(res == RESULT_TIMEOUT, "arbiter: wait with timeout timed out");

    /* Two waiters below main's priority; signal one, then the rest. */
    g_arrived = 0;
    g_passed = 0;
    Handle threads[2] = {spawn(gate_waiter, NULL, 0, 0x31), spawn(gate_waiter, NULL, 1, 0x31)};
    wait_for_arrivals(2);
    u32 before = g_passed;
    must(svcArbitrateAddress(g_arbiter, gate_addr, ARBITRATION_SIGNAL, 1, 0), "svcArbitrateAddress");
    svcSleepThread(ONE_MS); /* let the released waiter run */
    u32 after_one = g_passed;
    check(before == 0 && after_one == 1, "arbiter: signal(1) released %lu of 2 waiters (%lu before signal)",
          (unsigned long)after_one, (unsigned long)before);

    must(svcArbitrateAddress(g_arbiter, gate_addr, ARBITRATION_SIGNAL, ARBITRATION_SIGNAL_ALL, 0),
         "svcArbitrateAddress");
    join(threads, 2);
    check(g_passed == 2, "arbiter: signal(all) released the other waiter");
    svcCloseHandle(g_arbiter);
}

/* ---- WaitSynchronizationN ------------------------------------------- */

static Handle g_events[3];

static void late_signaller(void *arg)
{
    (void)arg;
    svcSleepThread(ONE_MS);
    svcSignalEvent(g_events[2]);
    svcExitThread();
}

static void clear_events(void)
{
    for (int i = 0; i < 3; i++)
        svcClearEvent(g_events[i]);
}

static void test_wait_n(void)
{
    for (int i = 0; i < 3; i++)
        must(svcCreateEvent(&g_events[i], RESET_STICKY), "svcCreateEvent");

    s32 index = -1;
    svcSignalEvent(g_events[1]);
    Result res = svcWaitSynchronizationN(&index, g_events, 3, false, WAIT_FOREVER);
    check(res == RESULT_SUCCESS && index == 1, "waitN any: index %ld (already signalled)", (long)index);

    clear_events();
    Handle signaller = spawn(late_signaller, NULL, 0, 0x31);
    index = -1;
    res = svcWaitSynchronizationN(&index, g_events, 3, false, WAIT_FOREVER);
    check(res == RESULT_SUCCESS && index == 2, "waitN any: index %ld (signalled by a thread)", (long)index);
    join(&signaller, 1);

    clear_events();
    svcSignalEvent(g_events[0]);
    svcSignalEvent(g_events[1]);
    Result partial = svcWaitSynchronizationN(&index, g_events, 3, true, 0);
    svcSignalEvent(g_events[2]);
    Result complete = svcWaitSynchronizationN(&index, g_events, 3, true, WAIT_FOREVER);
    check(partial == RESULT_TIMEOUT && complete == RESULT_SUCCESS, "waitN all: waits for every handle");

    clear_events();
    res = svcWaitSynchronizationN(&index, g_events, 3, false, 0);
    check(res == RESULT_TIMEOUT, "waitN any: timeout 0 with nothing signalled");

    for (int i = 0; i < 3; i++)
        svcCloseHandle(g_events[i]);
}

/* ---- priorities, ids, handles ----------------------------------------- */

static volatile char g_order[4];
static volatile u32 g_order_len;

static void record_order(void *arg)
{
    g_order[g_order_len++] = (char)(u32)arg;
    svcExitThread();
}

static Handle g_release;

static void parked(void *arg)
{
    (void)arg;
    svcWaitSynchronization(g_release, WAIT_FOREVER);
    svcExitThread();
}

static void test_priorities_and_ids(void)
{
    /* Main (0x30) makes a 0x31 thread, then a 0x2F one. Strict priority
     * scheduling runs the 0x2F thread first, whether it preempts main at
     * creation or waits for main to block in the join. */
    g_order_len = 0;
    Handle threads[2] = {spawn(record_order, (void *)'L', 0, 0x31), spawn(record_order, (void *)'H', 1, 0x2F)};
    join(threads, 2);
    g_order[g_order_len < 3 ? g_order_len : 3] = '\0';
    check(g_order[0] == 'H' && g_order[1] == 'L' && g_order_len == 2,
          "priority: higher-priority thread ran first (%s)", (const char *)g_order);

    must(svcCreateEvent(&g_release, RESET_STICKY), "svcCreateEvent");
    Handle other = spawn(parked, NULL, 0, 0x3F);
    s32 prio_before = 0, prio_after = 0;
    must(svcGetThreadPriority(&prio_before, other), "svcGetThreadPriority");
    must(svcSetThreadPriority(other, 0x3E), "svcSetThreadPriority");
    must(svcGetThreadPriority(&prio_after, other), "svcGetThreadPriority");
    check(prio_before == 0x3F && prio_after == 0x3E, "priority: get/set on another thread");

    u32 main_id = 0, other_id = 0, process_id = 0;
    Result r1 = svcGetThreadId(&main_id, CUR_THREAD_HANDLE);
    Result r2 = svcGetThreadId(&other_id, other);
    Result r3 = svcGetProcessId(&process_id, CUR_PROCESS_HANDLE);
    check(R_SUCCEEDED(r1) && R_SUCCEEDED(r2) && R_SUCCEEDED(r3) && main_id != other_id,
          "ids: thread ids distinct, process id readable");

    svcSignalEvent(g_release);
    join(&other, 1);
    svcCloseHandle(g_release);

    /* A duplicate is a second handle to the same object. */
    Handle event, copy = 0;
    must(svcCreateEvent(&event, RESET_STICKY), "svcCreateEvent");
    must(svcDuplicateHandle(&copy, event), "svcDuplicateHandle");
    svcSignalEvent(copy);
    Result seen = svcWaitSynchronization(event, 0);
    check(copy != event && seen == RESULT_SUCCESS, "handles: duplicate refers to the same event");
    must(svcCloseHandle(copy), "svcCloseHandle");
    must(svcCloseHandle(event), "svcCloseHandle");
    check(R_FAILED(svcCloseHandle(event)), "handles: closing a closed handle rejected");
}

int main(void)
{
    printf("threads: start\n");

    s32 priority = 0;
    must(svcSetThreadPriority(CUR_THREAD_HANDLE, MAIN_PRIORITY), "svcSetThreadPriority");
    must(svcGetThreadPriority(&priority, CUR_THREAD_HANDLE), "svcGetThreadPriority");
    check(priority == MAIN_PRIORITY, "priority: main thread set to 0x%lx", (unsigned long)priority);

    must(svcCreateMutex(&g_lock, false), "svcCreateMutex");
    test_mutex();
    test_semaphore();
    test_events();
    test_timers();
    test_arbiter();
    test_wait_n();
    test_priorities_and_ids();
    svcCloseHandle(g_lock);

    printf("threads: %d failures\n", check_failures);
    return check_failures;
}
