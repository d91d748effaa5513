"""What the CPU boundary is configured with, what it calls back, and how a run ends."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from hlemu.cpu.registers import DEFAULT_FPSCR

if TYPE_CHECKING:
    from hlemu.cpu.cpu import Cpu


@dataclass
class CpuConfig:
    """How a :class:`~hlemu.cpu.Cpu` runs guest code.

    ``backend`` (default ``semifastmem``): ``fastmem`` maps slab pages straight into
    Unicorn at their guest addresses (needs a slab, so 4 KiB host pages; its virtual TLB's
    fill gives each address itself), ``semifastmem`` (virtual TLB and a compiled fill hook
    that walks the page table; works anywhere, ~the same speed on hits) or
    ``slowmem`` (every data access a call into the slow path: :mod:`hlemu.cpu.slowpath`).
    ``slow_path`` (slowmem only; default ``compiled``, or ``HLEMU_SLOW_PATH``): what serves
    each guest data access: ``compiled`` a numba ``@cfunc`` called per access with the slow
    path's checks for plain memory and the Python slow path behind it for special pages
    (:mod:`hlemu.cpu.slowcall`; 45-60 ns an access over semifastmem, measured), or ``python`` the Python slow
    path itself (``space.slow``; 2.4-4 us an access, by how busy the machine was).
    ``quantum_blocks`` (default 20,000): translated blocks a thread runs before the
    kernel may switch to another of its priority. Counted by the compiled block hook
    (~8% of bare speed, paid for any counting at all), so deterministic.
    ``fpscr`` (default Citra's 0x03C00000: flush to zero, default NaN, round to zero):
    the VFP status/control word a new thread starts with.
    ``short_lived``: see the field.
    """

    backend: str = "semifastmem"
    slow_path: str = field(default_factory=lambda: os.environ.get("HLEMU_SLOW_PATH", "compiled"))
    quantum_blocks: int = 20_000
    fpscr: int = DEFAULT_FPSCR
    # Guest address ranges [lo, hi) whose mappings come and go (the kernel's IPC mapping area):
    # fastmem's memory hook always covers them, so a buffer mapped for one request and unmapped
    # by its reply never moves the hook (hlemu.cpu.coverage).
    short_lived: tuple[tuple[int, int], ...] = ()

    def short_lived_pages(self) -> list[tuple[int, int]]:
        """:attr:`short_lived` in pages (rounded out)."""
        return [(lo >> 12, (hi + 0xFFF) >> 12) for lo, hi in self.short_lived]


# The callbacks a Cpu makes (dynarmic's UserCallbacks, the few we need). Both run inside
# emulation: they may read and write registers and memory, call halt() or fail(), and
# limit_blocks(); an exception they raise comes out of run() or step().
SvcCallback = Callable[["Cpu", int, list[int]], None]
"""``on_svc(cpu, number, args)``: an SVC (``args`` = r0..r7; results go back with
``cpu.write_results``). Its cost is the SVC round trip: keep it to batch register calls."""
BreakpointCallback = Callable[["Cpu", int], bool]
"""``on_breakpoint(cpu, address) -> stop``: a breakpoint is about to run; True stops the
run before the instruction (Stop.BREAKPOINT), False lets it run on."""


class Stop(Enum):
    """Why :meth:`Cpu.run` or :meth:`Cpu.step` returned."""

    QUANTUM = "quantum"  # the block budget ran out (at a block boundary)
    LIMIT = "limit"  # the run's instruction count was reached
    HALT = "halt"  # halt() was called (an SVC that switches threads, a pause, another host thread)
    BREAKPOINT = "breakpoint"  # a breakpoint whose callback said stop, before its instruction
    STEPPED = "stepped"  # step(): the instruction ran
    FAULT = "fault"  # data abort, prefetch abort, undefined instruction, svcBreak


@dataclass
class CpuFault:
    """A guest fault the CPU saw: what a crash report needs."""

    kind: str  # "data abort", "prefetch abort", "undefined instruction"
    access: str  # "read", "write", "execute"
    address: int
    size: int
    reason: str  # "unmapped" or "permission" (or the Unicorn error)
    pc: int = 0
    registers: list[int] = field(default_factory=list)
