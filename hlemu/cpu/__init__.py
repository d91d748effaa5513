"""The CPU boundary: everything that touches Unicorn lives in this package.

Modelled on dynarmic's A32 interface: a small surface, documented, that the
kernel's scheduler, the scripting API and the GDB stub all run guest code
through. Nothing outside ``hlemu/cpu`` imports ``unicorn`` or the block hook's
control slots (``tests/cpu/test_surface.py`` checks it).

:class:`Cpu` (one per process, bound to its :class:`~hlemu.memory.space.AddressSpace`):

======================================= ===================================================
``run(blocks, instructions=None)``      run the loaded thread with a block budget (and an
                                        exact instruction count); returns a :class:`Stop`
``step(blocks=1)``                      run exactly one instruction, accounted as a run
                                        would account it
``halt()``                              stop before the next block (callbacks, other threads)
``limit_blocks(n)``                     from a callback: at most ``n`` more blocks this run
``blocks_left`` / ``mid_block``         what the last run left of its budget; whether it
                                        stopped inside a block
``add_breakpoint(a)`` / ``remove_...``  stop before ``a`` runs (``on_breakpoint`` decides)
``invalidate(address, size)``           drop code translated from a range
``registers()`` / ``set_registers(r)``  a plain :class:`RegisterFile`, also a thread's
                                        saved context (``save_registers``, ``load_thread``)
``read_args()`` / ``write_results()``   the SVC fast path (one C call each)
``fail(fault)``                         from an SVC: end the run with a guest fault
``retry_svc()``                         from an SVC: leave it unserved, stop at its svc
                                        instruction; the next run executes it (counted once)
``instructions`` / ``blocks``           counters (instructions, ARM or Thumb; blocks entered)
======================================= ===================================================

Callbacks: ``on_svc(cpu, number, args)`` and ``on_breakpoint(cpu, address) -> bool``
(see :mod:`hlemu.cpu.config`). Where a run stops never changes what the guest
computes or counts: a stop inside a block (a breakpoint, a step, an exact limit)
takes back the instructions that did not run, and the rest of the block is not
charged to the next run's budget again, so N steps and ``run(instructions=N)``
leave the same machine.
"""

from __future__ import annotations

from hlemu.cpu.config import BreakpointCallback, CpuConfig, CpuFault, Stop, SvcCallback
from hlemu.cpu.cpu import NEVER, NO_LIMIT, UDF_INSTRUCTION, Cpu
from hlemu.cpu.regaccess import ARG_REGS, GPRS
from hlemu.cpu.registers import CPSR_T, USER_MODE, RegisterFile

__all__ = [
    "ARG_REGS", "CPSR_T", "GPRS", "NEVER", "NO_LIMIT", "UDF_INSTRUCTION", "USER_MODE",
    "BreakpointCallback", "Cpu", "CpuConfig", "CpuFault", "RegisterFile", "Stop", "SvcCallback",
]
