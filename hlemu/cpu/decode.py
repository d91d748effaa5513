"""Decoding the load or store at a faulting PC (capstone), for fault reports.

Under semifastmem Unicorn reports some aborts without saying the address or
the size; the instruction and the registers say both.
"""

from __future__ import annotations

import capstone

from hlemu.memory.space import AddressSpace


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
