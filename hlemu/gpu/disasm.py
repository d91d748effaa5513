"""A disassembler for the PICA200 shader unit's code, for the debugger and ``emu.gpu``.

Written from 3dbrew "GPU/Shader Instruction Set" (the encodings :mod:`hlemu.gpu.shader`
interprets; bit ranges inclusive)::

    1  (arithmetic)   opcode 31-26  dest 25-21  idx 20-19  src1 18-12  src2 11-7   desc 6-0
    1i (inverted)     as 1, but src1 18-14 (5 bits) and src2 13-7 (7 bits)
    1c (CMP)          opcode 31-27  cmpx 26-24  cmpy 23-21  idx 20-19  src1 18-12  src2 11-7  desc 6-0
    2  (flow, cond)   opcode 31-26  refx 25  refy 24  condop 23-22  dest 21-10  num 7-0
    3  (flow, unif.)  opcode 31-26  bool id 25-22 (LOOP: int id 23-22)  dest 21-10  num 7-0
    4  (SETEMIT)      opcode 31-26  vertex id 25-24  primitive 23  winding 22
    5  (MAD)          opcode 31-29  dest 28-24  idx 23-22  src1 21-17  src2 16-10  src3 9-5  desc 4-0
    5i (MADI)         as 5, but src2 16-12 (5 bits) and src3 11-5 (7 bits)

Operand descriptors: destination mask bits 3-0 (bit 3 is x), then for each source a negate
bit and an 8-bit swizzle (two bits a component, x first): src1 4 and 12-5, src2 13 and 21-14,
src3 22 and 30-23. Sources 0x00-0x0F are v0-v15, 0x10-0x1F r0-r15, 0x20-0x7F c0-c95;
destinations 0x00-0x0F o0-o15, 0x10-0x1F r0-r15. ``idx`` adds a0.x (1), a0.y (2) or aL (3)
to the uniform source (src1; src2 in the inverted formats).

The text is the assembler's (scripts/pica_asm.py, picasso's syntax): ``dp4 o0.x, c0, v0``,
``mov o1, -v1.wzyx``, ``mov r0, c8[a0.x]``, ``cmp v0, lt, ge, r1``. A destination mask of all
four components and a source swizzle of ``xyzw`` are left out; a swizzle ending in repeats
of one component is shortened as the assembler pads it (``.xyzz`` is written ``.xyz``), so a
line the assembler knows assembles back to the same word. Flow control names its targets as
word offsets: ``call 0x010, 4``, ``ifu b1, else 0x00c, 2``, ``jmpc cmp.x && !cmp.y, 0x008``.

>>> program = disassemble([0x08020000, 0x4C201001, 0x88000000], [0x6C368, 0x6C36F])
>>> [i.line() for i in program]
['0x000  08020000  dp4 o0.x, c0, v0', '0x001  4c201001  mov o1, v1', '0x002  88000000  end']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hlemu.gpu.shader import INVERTED, OPCODES

__all__ = ["Instruction", "disassemble", "instruction", "program_length"]

Words = Sequence[int] | np.ndarray  # the shader unit's memory is uint32 arrays

COMPONENTS = "xyzw"
COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge", "cmp6", "cmp7")  # 6 and 7 act as ge (Azahar)
INDEX = ("", "a0.x", "a0.y", "aL")
UNARY = {"MOV", "MOVA", "FLR", "RCP", "RSQ", "EX2", "LG2"}
NO_OPERANDS = {"NOP", "END", "BREAK", "EMIT"}


@dataclass(frozen=True)
class Instruction:
    """One shader word: its offset (in words), the word, and the text."""

    offset: int
    word: int
    text: str

    def line(self, entry: int | None = None) -> str:
        """``0x000  08021000  dp4 o0.x, c0, v0`` (``main:`` marks the entry point)."""
        mark = "  ; main" if entry == self.offset else ""
        return f"{self.offset:#05x}  {self.word:08x}  {self.text}{mark}"


def _source(index: int, selectors: int, negate: bool, idx: int = 0) -> str:
    if index < 0x10:
        reg = f"v{index}"
    elif index < 0x20:
        reg = f"r{index - 0x10}"
    else:
        reg = f"c{index - 0x20}" + (f"[{INDEX[idx]}]" if idx else "")
    swizzle = "".join(COMPONENTS[(selectors >> (2 * (3 - i))) & 3] for i in range(4))
    if swizzle != "xyzw":
        swizzle = swizzle.rstrip(swizzle[-1]) + swizzle[-1]  # the assembler pads with the last one
        reg += "." + swizzle
    return ("-" if negate else "") + reg


def _dest(index: int, mask: int) -> str:
    reg = f"o{index}" if index < 0x10 else f"r{index - 0x10}"
    letters = "".join(c for i, c in enumerate(COMPONENTS) if mask >> (3 - i) & 1)
    return reg if letters == "xyzw" else f"{reg}.{letters}"


def _arithmetic(word: int, op: int, name: str, desc: int) -> str:
    idx = (word >> 19) & 3
    if op in INVERTED:
        s1 = _source((word >> 14) & 0x1F, (desc >> 5) & 0xFF, bool(desc >> 4 & 1))
        s2 = _source((word >> 7) & 0x7F, (desc >> 14) & 0xFF, bool(desc >> 13 & 1), idx)
    else:
        s1 = _source((word >> 12) & 0x7F, (desc >> 5) & 0xFF, bool(desc >> 4 & 1), idx)
        s2 = _source((word >> 7) & 0x1F, (desc >> 14) & 0xFF, bool(desc >> 13 & 1))
    if name == "CMP":
        return f"cmp {s1}, {COMPARISONS[(word >> 24) & 7]}, {COMPARISONS[(word >> 21) & 7]}, {s2}"
    mask = desc & 0xF
    if name == "MOVA":
        letters = "".join(c for i, c in enumerate("xy") if mask >> (3 - i) & 1)
        return f"mova a0.{letters or 'xy'}, {s1}"
    dest = _dest((word >> 21) & 0x1F, mask)
    if name in UNARY:
        return f"{name.lower()} {dest}, {s1}"
    return f"{name.lower()} {dest}, {s1}, {s2}"


def _mad(word: int, name: str, descs: Words) -> str:
    desc = int(descs[word & 0x1F]) if (word & 0x1F) < len(descs) else 0
    idx = (word >> 22) & 3
    s1 = _source((word >> 17) & 0x1F, (desc >> 5) & 0xFF, bool(desc >> 4 & 1))
    if name == "MADI":
        s2 = _source((word >> 12) & 0x1F, (desc >> 14) & 0xFF, bool(desc >> 13 & 1))
        s3 = _source((word >> 5) & 0x7F, (desc >> 23) & 0xFF, bool(desc >> 22 & 1), idx)
    else:
        s2 = _source((word >> 10) & 0x7F, (desc >> 14) & 0xFF, bool(desc >> 13 & 1), idx)
        s3 = _source((word >> 5) & 0x1F, (desc >> 23) & 0xFF, bool(desc >> 22 & 1))
    return f"{name.lower()} {_dest((word >> 24) & 0x1F, desc & 0xF)}, {s1}, {s2}, {s3}"


def _condition(word: int) -> str:
    x = ("" if word >> 25 & 1 else "!") + "cmp.x"
    y = ("" if word >> 24 & 1 else "!") + "cmp.y"
    return (f"{x} || {y}", f"{x} && {y}", x, y)[(word >> 22) & 3]


def _flow(word: int, name: str) -> str:
    dest, num = (word >> 10) & 0xFFF, word & 0xFF
    boolean = f"b{(word >> 22) & 0xF}"
    lower = name.lower()
    if name == "CALL":
        return f"call {dest:#05x}, {num}"
    if name in ("CALLU", "CALLC"):
        return f"{lower} {boolean if name == 'CALLU' else _condition(word)}, {dest:#05x}, {num}"
    if name in ("IFU", "IFC"):
        return f"{lower} {boolean if name == 'IFU' else _condition(word)}, else {dest:#05x}, {num}"
    if name == "JMPU":
        return f"jmpu {'!' if num & 1 else ''}{boolean}, {dest:#05x}"  # num's low bit inverts the test
    if name == "JMPC":
        return f"jmpc {_condition(word)}, {dest:#05x}"
    if name == "LOOP":
        return f"loop i{(word >> 22) & 3}, to {dest:#05x}"
    if name == "BREAKC":
        return f"breakc {_condition(word)}"
    if name == "SETEMIT":
        flags = (" prim" if word >> 23 & 1 else "") + (" inv" if word >> 22 & 1 else "")
        return f"setemit {(word >> 24) & 3}{flags}"
    return name.lower()


def instruction(word: int, descs: Words, offset: int = 0) -> Instruction:
    """The instruction ``word`` (at word ``offset``) with operand descriptors ``descs``."""
    word &= 0xFFFFFFFF
    op = word >> 26
    name = OPCODES.get(op)
    if name is None:
        text = f".word {word:#010x}  ; opcode {op:#04x} is not documented"
    elif name in NO_OPERANDS:
        text = name.lower()
    elif name in ("MAD", "MADI"):
        text = _mad(word, name, descs)
    elif op < 0x20 or name == "CMP":
        text = _arithmetic(word, op, name, int(descs[word & 0x7F]) if (word & 0x7F) < len(descs) else 0)
    else:
        text = _flow(word, name)
    return Instruction(offset, word, text)


def program_length(code: Words) -> int:
    """Words up to the last non-zero one (the shader unit's memory is zeros beyond a program:
    an upload always ends with END, which is not zero)."""
    for k in range(len(code) - 1, -1, -1):
        if int(code[k]):
            return k + 1
    return 0


def disassemble(code: Words, descs: Words, count: int | None = None) -> list[Instruction]:
    """The first ``count`` words of ``code`` (default: :func:`program_length`), disassembled."""
    n = program_length(code) if count is None else count
    return [instruction(int(code[k]), descs, k) for k in range(n)]
