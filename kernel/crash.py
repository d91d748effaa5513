"""Crash reports: what a guest fault looked like, for people."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hlemu.cpu import CPSR_T, CpuFault, decode
from hlemu.memory.space import AddressSpace

if TYPE_CHECKING:
    from kernel.thread import Thread

_REG_NAMES = [f"r{i}" for i in range(13)] + ["sp", "lr", "pc"]


def disassemble(space: AddressSpace, pc: int, thumb: bool, before: int = 4, after: int = 4) -> list[str]:
    """Lines of disassembly around ``pc`` ('>' marks it); unreadable memory is said so."""
    width = 2 if thumb else 4
    start = max(pc - before * width, 0)
    count = (pc - start) // width + after + 1
    return [f"{'>' if insn.address == pc else ' '} {insn}" if insn.code else f"  {insn}"
            for insn in decode.disassemble(space, start, count, thumb)]


def crash_report(thread: Thread, fault: CpuFault) -> str:
    """The multi-line report printed and kept when a guest fault ends a process."""
    process = thread.process
    space = process.space
    page = space.page(fault.address)
    regs = fault.registers
    cpsr = process.cpu.cpsr
    lines = [
        f"=== guest crash: {process.describe()}, thread {thread.tid} ({thread.name}) ===",
        headline(fault),
        f"page {page.vaddr:#010x}: state {page.state.name.lower()}, permission {_perm(int(page.perm))}"
        + (f", frame {page.frame}" if page.frame >= 0 else ""),
    ]
    for row in range(0, len(regs), 4):
        lines.append("  " + "  ".join(f"{_REG_NAMES[i]:>3}={regs[i]:08x}" for i in range(row, min(row + 4, len(regs)))))
    lines.append(f"  cpsr={cpsr:08x} ({'thumb' if cpsr & CPSR_T else 'arm'})")
    lines += disassemble(space, fault.pc, bool(cpsr & CPSR_T))
    return "\n".join(lines)


def headline(fault: CpuFault) -> str:
    """The report's first line, each fact once.

    >>> headline(CpuFault("data abort", "read", 4, 4, "unmapped"))
    'data abort: read of 4 byte(s) at 0x00000004 (unmapped)'
    >>> headline(CpuFault("undefined instruction", "execute", 0x0010006C, 4, "undefined instruction"))
    'undefined instruction at 0x0010006c'
    >>> headline(CpuFault("break", "execute", 0x00100040, 4, "svcBreak(panic)"))
    'svcBreak(panic) at 0x00100040'
    """
    if fault.kind == "break":  # the reason already names the SVC and why it was called
        return f"{fault.reason} at {fault.address:#010x}"
    if fault.kind == "undefined instruction":  # an execute of the instruction's own word
        return f"{fault.kind} at {fault.address:#010x}"
    return f"{fault.kind}: {fault.access} of {fault.size} byte(s) at {fault.address:#010x} ({fault.reason})"


def _perm(perm: int) -> str:
    return "".join(c if perm & bit else "-" for c, bit in (("r", 1), ("w", 2), ("x", 4)))
