"""Guest code through capstone: listings for people, and the access a faulting PC made.

:func:`disassemble` is the one listing every reader uses (crash reports, the
scripting API's ``disasm``, the debugger's disassembly dock). Under semifastmem
Unicorn reports some aborts without saying the address or the size;
:func:`decode_access` gets both from the instruction and the registers.
"""

from __future__ import annotations

from dataclasses import dataclass

import capstone

from hlemu.memory.space import AddressSpace

NOT_MAPPED = "<not mapped>"


@dataclass(frozen=True)
class Instruction:
    """One line of a listing: ``code`` is empty where no memory backs ``address``."""

    address: int
    code: bytes
    text: str

    def __str__(self) -> str:
        if not self.code:
            return f"{self.address:08x}: {self.text}"
        return f"{self.address:08x}: {self.code.hex():<8} {self.text}".rstrip()


def disassemble(space: AddressSpace, address: int, count: int, thumb: bool) -> list[Instruction]:
    """``count`` instructions from ``address``, read regardless of permission.

    Bytes capstone cannot decode become ``.word``/``.short`` lines of one instruction's
    width and decoding carries on after them; unmapped addresses are ``<not mapped>``
    lines, so a listing always has ``count`` lines (fewer only at the top of memory).
    """
    md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB if thumb else capstone.CS_MODE_ARM)
    width = 2 if thumb else 4
    out: list[Instruction] = []
    addr = address
    while len(out) < count and addr + width <= 1 << 32:
        code = _readable(space, addr, min((count - len(out)) * 4, (1 << 32) - addr))
        if len(code) < width:
            out.append(Instruction(addr, b"", NOT_MAPPED))
            addr += width
            continue
        decoded = False
        for insn in md.disasm(code, addr):
            out.append(Instruction(insn.address, bytes(insn.bytes), f"{insn.mnemonic} {insn.op_str}".rstrip()))
            addr, decoded = insn.address + insn.size, True
            if len(out) == count:
                break
        if not decoded:  # not an instruction: show the data and go on
            directive = ".short" if thumb else ".word"
            out.append(Instruction(addr, code[:width], f"{directive} {int.from_bytes(code[:width], 'little'):#x}"))
            addr += width
    return out


def _readable(space: AddressSpace, address: int, size: int) -> bytes:
    """The bytes from ``address`` up to ``size``, stopping at the first unmapped page."""
    out = b""
    while len(out) < size:
        at = address + len(out)
        chunk = min(size - len(out), 0x1000 - (at & 0xFFF))
        try:
            out += space.peek(at, chunk)
        except ValueError:
            break
    return out


def decode_access(space: AddressSpace, pc: int, thumb: bool, regs: list[int]) -> tuple[int, int, str] | None:
    """(address, size, "read"/"write") of the load or store at ``pc``, or None."""
    md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB if thumb else capstone.CS_MODE_ARM)
    md.detail = True
    try:
        insn = next(md.disasm(space.peek(pc, 4), pc, 1), None)
    except ValueError:
        return None
    if insn is None:
        return None
    mnemonic = insn.mnemonic.split(".")[0]
    write = mnemonic.startswith(("str", "stm", "push"))
    if mnemonic.startswith(("push", "stmdb", "stmfd")):
        count = len(insn.operands) - (0 if mnemonic.startswith("push") else 1)
        return (regs[13] - 4 * count) & 0xFFFFFFFF, 4 * count, "write"
    if mnemonic.startswith(("ldm", "stm", "pop")):
        base = regs[13] if mnemonic.startswith("pop") else regs[_reg_index(insn, insn.operands[0].reg)]
        count = len(insn.operands) - (0 if mnemonic.startswith("pop") else 1)
        return base & 0xFFFFFFFF, 4 * count, "write" if write else "read"
    for op in insn.operands:
        if op.type == capstone.arm.ARM_OP_MEM:
            base = pc + (4 if thumb else 8) if op.mem.base == capstone.arm.ARM_REG_PC else \
                regs[_reg_index(insn, op.mem.base)]
            index = regs[_reg_index(insn, op.mem.index)] if op.mem.index else 0
            offset = op.mem.disp if not op.subtracted else -op.mem.disp
            size = 1 if mnemonic[3:].startswith(("b", "sb")) else 2 if mnemonic[3:].startswith(("h", "sh")) \
                else 8 if mnemonic.endswith("d") else 4
            post_indexed = insn.writeback and len(insn.operands) > 2
            return (base + (0 if post_indexed else offset + index)) & 0xFFFFFFFF, size, "write" if write else "read"
    return None


def _reg_index(insn: object, reg: int) -> int:
    name = insn.reg_name(reg)  # type: ignore[attr-defined]
    return {"sb": 9, "sl": 10, "fp": 11, "ip": 12, "sp": 13, "lr": 14, "pc": 15}.get(name, None) \
        or int(name[1:])
