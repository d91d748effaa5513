"""Crash reports: what a guest fault looked like, for people."""

from __future__ import annotations

from typing import TYPE_CHECKING

import capstone

from hlemu.cpu import CPSR_T, CpuFault
from hlemu.memory import MapError

if TYPE_CHECKING:
    from kernel.thread import Thread

_REG_NAMES = [f"r{i}" for i in range(13)] + ["sp", "lr", "pc"]


def disassemble(space: object, pc: int, thumb: bool, before: int = 4, after: int = 4) -> list[str]:
    """Lines of disassembly around ``pc`` ('>' marks it); unreadable memory is said so."""
    width = 2 if thumb else 4
    md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB if thumb else capstone.CS_MODE_ARM)
    start = max(pc - before * width, 0)
    lines = []
    for addr in range(start, pc + (after + 1) * width, width):
        try:
            code = space.peek(addr, 4)  # type: ignore[attr-defined]
        except MapError:
            lines.append(f"  {addr:08x}: <not mapped>")
            continue
        insn = next(md.disasm(code, addr, 1), None)
        text = f"{insn.mnemonic} {insn.op_str}" if insn else f".word {int.from_bytes(code[:width], 'little'):#x}"
        mark = ">" if addr == pc else " "
        lines.append(f"{mark} {addr:08x}: {code[:width].hex():<8} {text}")
    return lines


def crash_report(thread: Thread, fault: CpuFault) -> str:
    """The multi-line report printed and kept when a guest fault ends a process."""
    process = thread.process
    space = process.space
    page = space.page(fault.address)
    regs = fault.registers
    cpsr = process.cpu.cpsr
    lines = [
        f"=== guest crash: {process.describe()}, thread {thread.tid} ({thread.name}) ===",
        f"{fault.kind}: {fault.access} of {fault.size} byte(s) at {fault.address:#010x} ({fault.reason})",
        f"page {page.vaddr:#010x}: state {page.state.name.lower()}, permission {_perm(int(page.perm))}"
        + (f", frame {page.frame}" if page.frame >= 0 else ""),
    ]
    for row in range(0, len(regs), 4):
        lines.append("  " + "  ".join(f"{_REG_NAMES[i]:>3}={regs[i]:08x}" for i in range(row, min(row + 4, len(regs)))))
    lines.append(f"  cpsr={cpsr:08x} ({'thumb' if cpsr & CPSR_T else 'arm'})")
    lines += disassemble(space, fault.pc, bool(cpsr & CPSR_T))
    return "\n".join(lines)


def _perm(perm: int) -> str:
    return "".join(c if perm & bit else "-" for c, bit in (("r", 1), ("w", 2), ("x", 4)))
