"""Process and handle SVCs: ExitProcess, CloseHandle, DuplicateHandle, ids and info."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlemu.memory import MemoryState
from kernel.errors import KernelError, Result
from kernel.layout import LINEAR_BASE
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
    if kind in (0, 2):  # memory used (2: excluding shared/IPC mappings, the same here)
        value = used_memory(process)
    elif kind == 1:  # handles in use, and the maximum ever
        value = len(process.handles)
    elif kind == 20:  # linear heap address minus physical address (old 3DS kernel)
        value = (FCRAM_BASE - LINEAR_BASE) & 0xFFFFFFFF
    elif kind in (22, 23):  # base and size of the QTM region: none on this system
        value = 0
    else:
        raise KernelError(Result.INVALID_ENUM_VALUE, f"GetProcessInfo type {kind}")
    lo, hi = split64(value)
    return (Result.SUCCESS, lo, hi)


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
    elif kind == 26:  # processes the kernel started at boot (none: every process is an application)
        value = 0
    elif kind == 2:  # "kernel memory" and friends: the figures hlemu has
        value = sum(1 for p in k.processes.values() if p.alive)
    else:
        raise KernelError(Result.INVALID_ENUM_VALUE, f"GetSystemInfo type {kind}")
    lo, hi = split64(value)
    return (Result.SUCCESS, lo, hi)
