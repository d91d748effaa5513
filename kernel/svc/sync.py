"""Synchronisation SVCs: mutexes, semaphores, events, timers, address arbiters, waits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.errors import KernelError, Result
from kernel.layout import ns_to_ticks
from kernel.objects import AddressArbiter, ArbitrationType, Event, Mutex, ResetType, Semaphore, Timer, WaitObject
from kernel.objects.resource_limit import ResourceType, reserve
from kernel.svc import svc
from kernel.svc._args import s32, s64
from kernel.thread import Wait

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.thread import Thread

MAX_WAIT_HANDLES = 256  # WaitSynchronizationN's limit (3dbrew)


def _reset_type(value: int) -> ResetType:
    try:
        return ResetType(value)
    except ValueError:
        raise KernelError(Result.INVALID_ENUM_VALUE, f"reset type {value}") from None


@svc(0x13, nargs=2)
def create_mutex(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result CreateMutex(Handle* out, bool initially_locked): r1 = locked."""
    reserve(t.process, ResourceType.MUTEX)
    mutex = Mutex(k, t if a[1] & 0xFF else None)
    return (Result.SUCCESS, k.add_handle(t.process, mutex, ResourceType.MUTEX))


@svc(0x14, nargs=1)
def release_mutex(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result ReleaseMutex(Handle mutex)"""
    mutex = t.process.handles.get(a[0], Mutex, t)
    if not mutex.release(t):
        raise KernelError(Result.WRONG_LOCKING_THREAD, "the thread does not own the mutex")
    return (Result.SUCCESS,)


@svc(0x15, nargs=3)
def create_semaphore(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result CreateSemaphore(Handle* out, s32 initial, s32 max): r1 = initial, r2 = max."""
    initial, maximum = s32(a[1]), s32(a[2])
    if initial < 0 or maximum < 0 or initial > maximum:
        raise KernelError(Result.INVALID_COMBINATION_KERNEL, f"initial {initial}, maximum {maximum}")
    reserve(t.process, ResourceType.SEMAPHORE)
    return (Result.SUCCESS, k.add_handle(t.process, Semaphore(k, initial, maximum), ResourceType.SEMAPHORE))


@svc(0x16, nargs=3)
def release_semaphore(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result ReleaseSemaphore(s32* previous, Handle semaphore, s32 count): r1 = handle, r2 = count."""
    sem = t.process.handles.get(a[1], Semaphore, t)
    previous = sem.release(s32(a[2]))
    if previous is None:
        raise KernelError(Result.OUT_OF_RANGE_KERNEL, f"count {sem.count} + {s32(a[2])} > {sem.maximum}")
    return (Result.SUCCESS, previous)


@svc(0x17, nargs=2)
def create_event(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result CreateEvent(Handle* out, ResetType type): r1 = reset type."""
    reset = _reset_type(a[1])
    reserve(t.process, ResourceType.EVENT)
    return (Result.SUCCESS, k.add_handle(t.process, Event(k, reset), ResourceType.EVENT))


@svc(0x18, nargs=1)
def signal_event(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result SignalEvent(Handle event)"""
    t.process.handles.get(a[0], Event, t).signal()
    return (Result.SUCCESS,)


@svc(0x19, nargs=1)
def clear_event(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result ClearEvent(Handle event)"""
    t.process.handles.get(a[0], Event, t).clear()
    return (Result.SUCCESS,)


@svc(0x1A, nargs=2)
def create_timer(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result CreateTimer(Handle* out, ResetType type): r1 = reset type."""
    reset = _reset_type(a[1])
    reserve(t.process, ResourceType.TIMER)
    return (Result.SUCCESS, k.add_handle(t.process, Timer(k, reset), ResourceType.TIMER))


@svc(0x1B, nargs=5)
def set_timer(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result SetTimer(Handle timer, s64 initial, s64 interval)

    Registers (libctru): r0 = timer, r2:r3 = initial, r1 = interval low, r4 = interval high.
    """
    timer = t.process.handles.get(a[0], Timer, t)
    initial, interval = s64(a[2], a[3]), s64(a[1], a[4])
    if initial < 0 or interval < 0:
        raise KernelError(Result.OUT_OF_RANGE_KERNEL, f"initial {initial} ns, interval {interval} ns")
    timer.set(k.ticks, ns_to_ticks(initial), ns_to_ticks(interval))
    return (Result.SUCCESS,)


@svc(0x1C, nargs=1)
def cancel_timer(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result CancelTimer(Handle timer)"""
    t.process.handles.get(a[0], Timer, t).cancel()
    return (Result.SUCCESS,)


@svc(0x1D, nargs=1)
def clear_timer(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result ClearTimer(Handle timer)"""
    t.process.handles.get(a[0], Timer, t).clear()
    return (Result.SUCCESS,)


def _wait(k: Kernel, t: Thread, objects: list[WaitObject], wait_all: bool, timeout_ns: int) -> tuple[int, ...] | None:
    wait = Wait("sync", objects=objects, wait_all=wait_all, timeout_result=Result.TIMEOUT)
    if not objects and wait_all:
        return (Result.SUCCESS, 0)  # all of nothing: done at once (Citra)
    done = k.try_complete(t, wait) if objects else None
    if done is not None:
        index, code = done
        return (code, max(index, 0))  # r1: the index of the object that ended a wait-any, 0 for wait-all
    if timeout_ns == 0:
        return (Result.TIMEOUT, 0xFFFFFFFF)
    if timeout_ns > 0:
        wait.deadline = k.ticks + ns_to_ticks(timeout_ns)
    k.block(t, wait)
    return None


@svc(0x24, nargs=4)
def wait_synchronization1(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...] | None:
    """Result WaitSynchronization1(Handle handle, s64 timeout): r0 = handle, r2:r3 = ns."""
    obj = t.process.handles.get(a[0], WaitObject, t)
    result = _wait(k, t, [obj], False, s64(a[2], a[3]))
    return result[:1] if result else None


@svc(0x25, nargs=5)
def wait_synchronization_n(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...] | None:
    """Result WaitSynchronizationN(s32* index, Handle* handles, s32 count, bool all, s64 timeout)

    Registers: r0 = timeout low, r1 = handle array, r2 = count, r3 = wait_all, r4 = timeout high.
    """
    count = s32(a[2])
    if not 0 <= count <= MAX_WAIT_HANDLES:
        raise KernelError(Result.OUT_OF_RANGE, f"{count} handles")
    raw = t.process.space.mem.read(a[1], 4 * count) if count else b""
    handles = [int.from_bytes(raw[i : i + 4], "little") for i in range(0, len(raw), 4)]
    objects = [t.process.handles.get(h, WaitObject, t) for h in handles]
    wait_all = bool(a[3] & 0xFF)
    return _wait(k, t, objects, wait_all, s64(a[0], a[4]))


@svc(0x21, nargs=0)
def create_address_arbiter(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result CreateAddressArbiter(Handle* out)"""
    reserve(t.process, ResourceType.ADDRESS_ARBITER)
    return (Result.SUCCESS, k.add_handle(t.process, AddressArbiter(k), ResourceType.ADDRESS_ARBITER))


@svc(0x22, nargs=6)
def arbitrate_address(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...] | None:
    """Result ArbitrateAddress(Handle arbiter, u32 addr, ArbitrationType type, s32 value, s64 timeout)"""
    arbiter = t.process.handles.get(a[0], AddressArbiter, t)
    addr, value = a[1], s32(a[3])
    try:
        kind = ArbitrationType(a[2])
    except ValueError:
        raise KernelError(Result.INVALID_ENUM_VALUE_FND, f"arbitration type {a[2]}") from None
    if addr & 3:
        raise KernelError(Result.MISALIGNED_ADDRESS, f"{addr:#x}")
    if kind == ArbitrationType.SIGNAL:
        waiters = arbiter.waiting(addr)
        for thread in waiters if value < 0 else waiters[:value]:
            k.wake(thread, {0: thread.wait.wake_result if thread.wait else Result.SUCCESS})
        k.preempt_if_needed()
        return (Result.SUCCESS,)
    # The timeout variants report TIMEOUT however they end (Citra, after hardware tests).
    timed = kind in (ArbitrationType.WAIT_IF_LESS_THAN_TIMEOUT, ArbitrationType.DECREMENT_AND_WAIT_IF_LESS_THAN_TIMEOUT)
    done = Result.TIMEOUT if timed else Result.SUCCESS
    mem = t.process.space.mem
    current = s32(t.process.space.read_word(addr))  # signed comparison: wait iff *addr < value
    if current >= value:
        return (done,)
    if kind in (ArbitrationType.DECREMENT_AND_WAIT_IF_LESS_THAN,
                ArbitrationType.DECREMENT_AND_WAIT_IF_LESS_THAN_TIMEOUT):
        mem.write32(addr, (current - 1) & 0xFFFFFFFF)
    wait = Wait("arbiter", arbiter=arbiter, address=addr, timeout_result=Result.TIMEOUT, wake_result=done)
    if timed:
        timeout = s64(a[4], a[5])
        if timeout == 0:
            return (done,)
        if timeout > 0:
            wait.deadline = k.ticks + ns_to_ticks(timeout)
    k.block(t, wait)
    return None
