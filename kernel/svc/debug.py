"""Debugging SVCs: OutputDebugString, Break, GetSystemTick."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hlemu.cpu import CpuFault
from kernel.errors import Result
from kernel.svc import svc
from kernel.svc._args import s32, split64

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.thread import Thread

MAX_DEBUG_STRING = 0x10000
BREAK_REASONS = {0: "panic", 1: "assert", 2: "user"}


@svc(0x3D, nargs=2)
def output_debug_string(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """void OutputDebugString(const char* str, s32 length)"""
    length = s32(a[1])
    if length <= 0:
        return (Result.SUCCESS,)
    data = t.process.space.mem.read(a[0], min(length, MAX_DEBUG_STRING))
    text = data.decode("utf-8", errors="replace").rstrip("\n")
    for line in text.split("\n"):
        t.process.output.append(line)
        k.output(t.process, line)
    return (Result.SUCCESS,)


@svc(0x3C, nargs=1)
def break_(k: Kernel, t: Thread, a: list[int]) -> None:
    """void Break(UserBreakType reason): ends the process with a report."""
    reason = BREAK_REASONS.get(a[0], f"reason {a[0]}")
    cpu = t.process.cpu
    cpu.fail(CpuFault("break", "execute", cpu.pc - 4, 4, f"svcBreak({reason})"))
    return None


@svc(0x28, nargs=0)
def get_system_tick(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """s64 GetSystemTick(void): guest ticks at 268,111,856 Hz."""
    return split64(k.scheduler.state.ticks)  # the polling SVC: no property hops
