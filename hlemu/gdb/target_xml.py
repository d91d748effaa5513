"""The target description gdb reads with ``qXfer:features:read:target.xml``.

Feature names and register names follow gdb's own ARM descriptions (gdb/features/arm/
arm-core.xml and arm-vfpv2.xml): ``org.gnu.gdb.arm.core`` with r0-r12, sp, lr, pc (32 bits
each) and cpsr; ``org.gnu.gdb.arm.vfp`` with d0-d15 (the ARM11's VFPv2 has no d16-d31) and
fpscr. fpexc follows in the same feature, as Azahar's and Luma3DS's stubs send it. gdb
numbers registers in this order, so ``g`` packets and ``p N`` use :data:`REGISTERS`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Register:
    name: str
    bits: int
    type: str = "int"
    group: str = ""


CORE = ([Register(f"r{i}", 32, "uint32") for i in range(13)]
        + [Register("sp", 32, "data_ptr"), Register("lr", 32), Register("pc", 32, "code_ptr"),
           Register("cpsr", 32)])
VFP = ([Register(f"d{i}", 64, "ieee_double", "float") for i in range(16)]
       + [Register("fpscr", 32, "int", "float"), Register("fpexc", 32, "int", "float")])
REGISTERS: list[Register] = CORE + VFP
INDEX = {reg.name: i for i, reg in enumerate(REGISTERS)}


def _feature(name: str, regs: list[Register], first: int) -> str:
    lines = [f'  <feature name="{name}">']
    for n, reg in enumerate(regs):
        group = f' group="{reg.group}"' if reg.group else ""
        lines.append(f'    <reg name="{reg.name}" bitsize="{reg.bits}" type="{reg.type}" regnum="{first + n}"{group}/>')
    lines.append("  </feature>")
    return "\n".join(lines)


TARGET_XML = "\n".join([
    '<?xml version="1.0"?>',
    '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
    "<target>",
    "  <architecture>arm</architecture>",
    _feature("org.gnu.gdb.arm.core", CORE, 0),
    _feature("org.gnu.gdb.arm.vfp", VFP, len(CORE)),
    "</target>",
    "",
])

DOCUMENTS = {"target.xml": TARGET_XML}
