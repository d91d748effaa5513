"""Thread SVCs: CreateThread, ExitThread, SleepThread, Get/SetThreadPriority."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.errors import KernelError, Result
from kernel.layout import ns_to_ticks
from kernel.objects.resource_limit import ResourceType, reserve
from kernel.svc import svc
from kernel.svc._args import s32, s64
from kernel.thread import Thread, Wait

if TYPE_CHECKING:
    from kernel.kernel import Kernel

LOWEST_PRIORITY = 0x3F
APP_PRIORITY_LIMIT = 0x18  # an application's PRIORITY resource limit: it may not go higher
# Processor ids: -2 = the process's default core, -1 = any, 0/1 = app/sys core (2/3 on New 3DS).
VALID_PROCESSORS = (-2, -1, 0, 1, 2, 3)


# The two checks are apart because SetThreadPriority makes the handle lookup between them
# (Azahar src/core/hle/kernel/svc.cpp: range, then handle, then the resource limit).
def _check_range(priority: int) -> None:
    if not 0 <= priority <= LOWEST_PRIORITY:
        raise KernelError(Result.OUT_OF_RANGE, f"priority {priority} is not 0..63")


def _check_limit(priority: int) -> None:
    if priority < APP_PRIORITY_LIMIT:
        raise KernelError(Result.NOT_AUTHORIZED, f"priority {priority:#x} is above the limit {APP_PRIORITY_LIMIT:#x}")


@svc(0x08, nargs=5)
def create_thread(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result CreateThread(Handle* thread, ThreadFunc entry, u32 arg, u32* stack_top, s32 priority, s32 processor)

    Registers: r0 = priority, r1 = entry, r2 = arg, r3 = stack top, r4 = processor id.
    """
    priority, entry, arg, stack_top, processor = s32(a[0]), a[1], a[2], a[3], s32(a[4])
    _check_range(priority)
    _check_limit(priority)
    if processor not in VALID_PROCESSORS:
        raise KernelError(Result.OUT_OF_RANGE, f"processor id {processor}")
    reserve(t.process, ResourceType.THREAD)
    t.process.handles.ensure_room(1)  # a thread that could get no handle must not start
    thread = k.create_thread(t.process, entry, stack_top & ~7, arg, priority)
    handle = k.add_handle(t.process, thread)
    k.preempt_if_needed()
    return (Result.SUCCESS, handle)


@svc(0x09, nargs=0)
def exit_thread(k: Kernel, t: Thread, a: list[int]) -> None:
    """void ExitThread(void)"""
    k.exit_thread(t)
    return None


@svc(0x0A, nargs=2)
def sleep_thread(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...] | None:
    """void SleepThread(s64 nanoseconds). 0 (or less) yields to threads of equal priority."""
    ns = s64(a[0], a[1])
    if ns <= 0:
        k.make_ready(t)  # to the back of its priority's queue
        k.reschedule()
        return (Result.SUCCESS,)
    k.block(t, Wait("sleep", deadline=k.ticks + ns_to_ticks(ns), timeout_result=Result.SUCCESS))
    return None


@svc(0x0B, nargs=2)
def get_thread_priority(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result GetThreadPriority(s32* out, Handle thread)"""
    return (Result.SUCCESS, t.process.handles.get(a[1], Thread, t).priority)


@svc(0x0C, nargs=2)
def set_thread_priority(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result SetThreadPriority(Handle thread, s32 priority)"""
    priority = s32(a[1])
    _check_range(priority)
    target = t.process.handles.get(a[0], Thread, t)
    _check_limit(priority)
    target.base_priority = priority
    target.priority = priority
    k.update_priority(target)
    k.preempt_if_needed()  # a lowered running thread or a raised ready one may change who runs
    return (Result.SUCCESS,)
