"""Process and handle SVCs: ExitProcess, CloseHandle, DuplicateHandle, ids and info."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlemu.memory import MemoryState
from kernel.errors import KernelError, Result
from kernel.layout import LINEAR_BASE
from kernel.objects.resource_limit import ResourceLimit, ResourceType
from kernel.process import Process
from kernel.svc import svc
from kernel.svc._args import s32, split64
from kernel.thread import Thread

if TYPE_CHECKING:
    from kernel.kernel import Kernel

FCRAM_BASE = 0x20000000
_PRIVATE_STATES = (MemoryState.CODE, MemoryState.PRIVATE, MemoryState.CONTINUOUS, MemoryState.LOCKED,
                   MemoryState.ALIASED, MemoryState.ALIAS_CODE)


@svc(0x03, nargs=1)
def exit_process(k: Kernel, t: Thread, a: list[int]) -> None:
    """void ExitProcess(void). hlemu reads r0 as the exit status (the 3DS ignores it)."""
    k.end_process(t.process, s32(a[0]))
    return None


@svc(0x23, nargs=1)
def close_handle(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result CloseHandle(Handle handle)"""
    t.process.handles.close(a[0])
    return (Result.SUCCESS,)


@svc(0x27, nargs=2)
def duplicate_handle(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result DuplicateHandle(Handle* out, Handle original)"""
    obj = t.process.handles.resolve(a[1], t)
    return (Result.SUCCESS, k.add_handle(t.process, obj))


@svc(0x35, nargs=2)
def get_process_id(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result GetProcessId(u32* out, Handle process)"""
    return (Result.SUCCESS, t.process.handles.get(a[1], Process, t).pid)


@svc(0x37, nargs=2)
def get_thread_id(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result GetThreadId(u32* out, Handle thread)"""
    return (Result.SUCCESS, t.process.handles.get(a[1], Thread, t).tid)


def used_memory(process: Process) -> int:
    """Bytes of memory the process has mapped privately (heap, code, stack, linear)."""
    states = process.space.table.state
    frames = process.space.table.frame
    return int(np.count_nonzero(np.isin(states, _PRIVATE_STATES) & (frames >= 0))) << 12


@svc(0x2B, nargs=3)
def get_process_info(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result GetProcessInfo(s64* out, Handle process, u32 type)"""
    process = t.process.handles.get(a[1], Process, t)
    kind = a[2]
    # The types as 3dbrew numbers them (Azahar svc.cpp ProcessInfoType).
    if kind in (0, 2):  # memory used (2: excluding shared/IPC mappings, the same here)
        value = used_memory(process)
    elif kind in (1, 3, 6, 8):  # 1, 3: kernel stacks and handle tables, which hlemu keeps out of guest
        # memory; 6 (KProcess+0x234) and 8 (the thread maximum) are always 0 on the 3DS too
        value = 0
    elif kind == 4:  # handles in use
        value = len(process.handles)
    elif kind == 5:  # the most handles open at once
        value = process.handles.peak
    elif kind == 7:  # the process's threads
        value = sum(thread.alive for thread in process.threads)
    elif kind == 20:  # linear heap address minus physical address (old 3DS kernel)
        value = (FCRAM_BASE - LINEAR_BASE) & 0xFFFFFFFF
    elif kind in (21, 22, 23):  # the New 3DS QTM region
        raise KernelError(Result.NOT_IMPLEMENTED, f"GetProcessInfo type {kind} (QTM)")
    else:
        raise KernelError(Result.INVALID_ENUM_VALUE, f"GetProcessInfo type {kind}")
    lo, hi = split64(value)
    return (Result.SUCCESS, lo, hi)


@svc(0x38, nargs=2)
def get_resource_limit(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result GetResourceLimit(Handle* out, Handle process): r1 = process."""
    process = t.process.handles.get(a[1], Process, t)
    return (Result.SUCCESS, k.add_handle(t.process, ResourceLimit(k, process)))


def _limit_values(k: Kernel, t: Thread, a: list[int], current: bool) -> tuple[int, ...]:
    """r0 = s64* values, r1 = resource limit, r2 = u32* names, r3 = count."""
    limit = t.process.handles.get(a[1], ResourceLimit, t)
    count = s32(a[3])
    if not 0 <= count <= len(ResourceType):
        raise KernelError(Result.OUT_OF_RANGE, f"{count} names")
    mem = t.process.space.mem
    names = mem.read(a[2], 4 * count)
    out = bytearray()
    for i in range(count):
        name = int.from_bytes(names[4 * i : 4 * i + 4], "little")
        if name >= len(ResourceType):
            raise KernelError(Result.INVALID_ENUM_VALUE, f"resource {name}")
        kind = ResourceType(name)
        out += (limit.current(kind) if current else limit.limit(kind)).to_bytes(8, "little")
    mem.write(a[0], bytes(out))
    return (Result.SUCCESS,)


@svc(0x39, nargs=4)
def get_resource_limit_limit_values(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result GetResourceLimitLimitValues(s64* values, Handle limit, u32* names, s32 count)"""
    return _limit_values(k, t, a, current=False)


@svc(0x3A, nargs=4)
def get_resource_limit_current_values(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result GetResourceLimitCurrentValues(s64* values, Handle limit, u32* names, s32 count)"""
    return _limit_values(k, t, a, current=True)


@svc(0x2A, nargs=3)
def get_system_info(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result GetSystemInfo(s64* out, u32 type, s32 param)"""
    kind, param = a[1], s32(a[2])
    phys = k.memory.phys
    regions = {1: "APPLICATION", 2: "SYSTEM", 3: "BASE"}
    if kind == 0:  # memory used: param 0 = all FCRAM, 1..3 = a region
        names = list(regions.values()) if param == 0 else [regions.get(param, "")]
        if "" in names:
            raise KernelError(Result.INVALID_ENUM_VALUE, f"GetSystemInfo(0, {param})")
        value = sum(phys.regions[n].size - (phys.free_frames(n) << 12) for n in names)
    else:  # Citra answers every other type with success and 0
        value = 0
    lo, hi = split64(value)
    return (Result.SUCCESS, lo, hi)
