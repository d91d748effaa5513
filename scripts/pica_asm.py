#!/usr/bin/env python3
"""A tiny assembler for PICA200 vertex shaders, writing shader binaries (SHBIN / DVLB).

Written from the documented encodings (3dbrew "GPU/Shader Instruction Set", "SHBIN"; the
SHBIN reader is libctru's ``DVLB_ParseFile``), for hlemu's guest test programs and tests;
it is not picasso and knows only what they use::

    ; comment
    .fvec projection c0          ; a named float uniform (the DVLE's uniform table)
    .constf c4 (1.0, 0.5, 0.0, 1.0)  ; a constant the loader uploads (the constant table)
    .out o0 position             ; output semantics (position, color, texcoord0, ...)
    .out o1 color
    main:
        dp4 o0.x, c0, v0         ; dest[.mask], src1 (any register), src2 (v/r only)
        mov o1, -v1.wzyx         ; swizzles and negation
        mova a0.x, v2
        mov r0, c8[a0.x]         ; relative addressing: a0.x, a0.y or aL
        end

Flow control, in hlemu.gpu.disasm's syntax, a destination a label or a word offset::

    call fn, 2                 ; CALL: run 2 instructions at fn, then come back
    callu b0, fn, 2            ; CALLU / CALLC on a bool uniform or the comparison flags
    ifu b1, else other, 1      ; IFU / IFC: the true branch runs to ``other``, the else branch
    ifc cmp.x && !cmp.y, else other, 1  ;   1 instruction from there
    jmpu !b2, away             ; JMPU (``!`` inverts), JMPC cmp.y, away
    loop i0, to last           ; LOOP: the body runs to ``last`` (inclusive), i0.x + 1 times
    breakc cmp.x || cmp.y      ; BREAKC; conditions: cmp.x, !cmp.y, X && Y, X || Y

Instructions: add dp3 dp4 dph dst mul sge slt flr max min rcp rsq ex2 lg2 litp mova mov cmp
mad nop end break, and for geometry shaders emit and ``setemit N [prim] [inv]`` (the vertex
0-2 the next emit fills; prim: that emit ends a triangle; inv: with the winding reversed).
A source given as src2 that needs 7 bits (a uniform) is swapped into src1 for the commutative
ones (add, mul, dp3, dp4, max, min) and takes the inverted form (format 1i) of dph, dst, sge
and slt (DPHI, DSTI, SGEI, SLTI); ``mad d, a, b, c`` (d = a * b + c, format 5) takes MADI when
c is the uniform. Registers: v0-v15, r0-r15, c0-c95, o0-o15.

    python scripts/pica_asm.py shader.pica -o shader.shbin      # assemble
    python scripts/pica_asm.py shader.pica --header name         # a C array of the SHBIN words
"""

from __future__ import annotations

import argparse
import re
import struct
import sys
from dataclasses import dataclass, field

OPS = {"add": 0x00, "dp3": 0x01, "dp4": 0x02, "dph": 0x03, "dst": 0x04, "ex2": 0x05, "lg2": 0x06,
       "litp": 0x07, "mul": 0x08, "sge": 0x09, "slt": 0x0A, "flr": 0x0B, "max": 0x0C, "min": 0x0D,
       "rcp": 0x0E, "rsq": 0x0F, "mova": 0x12, "mov": 0x13, "break": 0x20, "nop": 0x21, "end": 0x22,
       "cmp": 0x2E, "mad": 0x38, "emit": 0x2A, "setemit": 0x2B}
INVERTIBLE = {"dph": 0x18, "dst": 0x19, "sge": 0x1A, "slt": 0x1B}  # the format 1i opcodes
MADI = 0x30
UNARY = {"ex2", "lg2", "flr", "rcp", "rsq", "mova", "mov", "litp"}
COMMUTATIVE = {"add", "mul", "dp3", "dp4", "max", "min"}
COMPARE = {"eq": 0, "ne": 1, "lt": 2, "le": 3, "gt": 4, "ge": 5}
# DVLE output types (libctru DVLE_outputAttribute_t)
OUTPUTS = {"position": 0, "normalquat": 1, "color": 2, "texcoord0": 3, "texcoord0w": 4, "texcoord1": 5,
           "texcoord2": 6, "view": 8}
INDEX = {"": 0, "a0.x": 1, "a0.y": 2, "al": 3}
COMPONENTS = "xyzw"


class AsmError(ValueError):
    pass


@dataclass
class Program:
    code: list[int] = field(default_factory=list)
    opdescs: list[int] = field(default_factory=list)
    constants: list[tuple[int, tuple[float, float, float, float]]] = field(default_factory=list)
    outputs: list[tuple[int, int, int]] = field(default_factory=list)  # (type, register, mask)
    uniforms: list[tuple[str, int]] = field(default_factory=list)  # (name, first c register)
    main: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    fixups: list[tuple[int, str]] = field(default_factory=list)  # (word, label) to patch into bits 10-21

    def opdesc(self, value: int) -> int:
        if value not in self.opdescs:
            if len(self.opdescs) == 128:
                raise AsmError("more than 128 operand descriptors")
            self.opdescs.append(value)
        return self.opdescs.index(value)

    def shbin(self) -> bytes:
        """The program as a SHBIN: DVLB header, one DVLP, one DVLE (a vertex shader)."""
        return shbin(self)


def _register(text: str) -> tuple[int, str]:
    """('c5[a0.x]' | 'v1' | ...) -> (source/dest index, address register name)."""
    m = re.fullmatch(r"([vrco])(\d+)(?:\[(a0\.x|a0\.y|al)\])?", text.lower())
    if not m:
        raise AsmError(f"not a register: {text!r}")
    kind, n, idx = m.group(1), int(m.group(2)), m.group(3) or ""
    limit = {"v": 16, "r": 16, "c": 96, "o": 16}[kind]
    if n >= limit:
        raise AsmError(f"{text}: there are {limit} {kind} registers")
    base = {"v": 0x00, "r": 0x10, "c": 0x20, "o": 0x00}[kind]
    if idx and kind != "c":
        raise AsmError(f"{text}: only float uniforms take an address register")
    return base + n, idx


def _source(text: str) -> tuple[int, str, int, bool]:
    """A source operand -> (register, address register, 8-bit swizzle, negate)."""
    text = text.strip()
    negate = text.startswith("-")
    body = text[1:] if negate else text
    m = re.fullmatch(r"(.+?)(?:\.([xyzw]{1,4}))?", body)
    assert m
    reg, idx = _register(m.group(1))
    sel = (m.group(2) or "xyzw").ljust(4, (m.group(2) or "w")[-1])
    swizzle = 0
    for c in sel:
        swizzle = swizzle << 2 | COMPONENTS.index(c)
    return reg, idx, swizzle, negate


def _dest(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"([or]\d+|a0)(?:\.([xyzw]{1,4}))?", text.strip().lower())
    if not m:
        raise AsmError(f"not a destination: {text!r}")
    mask = 0
    for c in m.group(2) or "xyzw":
        mask |= 8 >> COMPONENTS.index(c)
    if m.group(1) == "a0":
        return 0, mask
    if m.group(1).startswith("c"):
        raise AsmError("uniforms cannot be written")
    reg, _ = _register(m.group(1))
    return reg, mask


def _arith(prog: Program, op: str, args: list[str]) -> int:
    if op == "cmp":
        if len(args) != 4:
            raise AsmError("cmp src1, opx, opy, src2")
        s1, s2 = _source(args[0]), _source(args[3])
        if s2[0] >= 0x20 or s2[1]:
            raise AsmError("cmp: the second source cannot be a uniform")
        cmpx, cmpy = COMPARE[args[1].lower()], COMPARE[args[2].lower()]
        desc = prog.opdesc(s1[2] << 5 | int(s1[3]) << 4 | s2[2] << 14 | int(s2[3]) << 13)
        return _format1(0x2E | 0, 0, s1, s2, desc) & ~(0x3F << 21) | 0x17 << 27 | cmpx << 24 | cmpy << 21
    if op == "mad":
        return _mad(prog, args)
    need = 2 if op in UNARY else 3
    if len(args) != need:
        raise AsmError(f"{op} takes {need} operands")
    dest, mask = _dest(args[0])
    s1 = _source(args[1])
    s2 = _source(args[2]) if need == 3 else (0, "", 0b00011011, False)
    if s2[0] >= 0x20 or s2[1]:
        if s1[0] >= 0x20 or op not in COMMUTATIVE | set(INVERTIBLE):
            raise AsmError(f"{op}: the second source cannot be a uniform")
        if op in INVERTIBLE:  # format 1i: src1 5 bits (14-18), src2 7 bits (7-13), idx on src2
            desc = prog.opdesc(mask | int(s1[3]) << 4 | s1[2] << 5 | int(s2[3]) << 13 | s2[2] << 14)
            return INVERTIBLE[op] << 26 | dest << 21 | INDEX[s2[1]] << 19 | s1[0] << 14 | s2[0] << 7 | desc
        s1, s2 = s2, s1
    desc = prog.opdesc(mask | int(s1[3]) << 4 | s1[2] << 5 | int(s2[3]) << 13 | s2[2] << 14)
    return _format1(OPS[op], dest, s1, s2, desc)


def _mad(prog: Program, args: list[str]) -> int:
    """Format 5: opcode 31-29, dest 28-24, idx 23-22, src1 21-17, src2 16-10 (MADI: 16-12),
    src3 9-5 (MADI: 11-5), desc 4-0 (one of the first 32)."""
    if len(args) != 4:
        raise AsmError("mad dest, src1, src2, src3")
    dest, mask = _dest(args[0])
    s1, s2, s3 = (_source(a) for a in args[1:])
    if s1[0] >= 0x20 or s1[1]:
        raise AsmError("mad: the first source cannot be a uniform")
    inverted = s3[0] >= 0x20 or bool(s3[1])
    if inverted and (s2[0] >= 0x20 or s2[1]):
        raise AsmError("mad: only one source can be a uniform")
    desc = prog.opdesc(mask | int(s1[3]) << 4 | s1[2] << 5 | int(s2[3]) << 13 | s2[2] << 14
                       | int(s3[3]) << 22 | s3[2] << 23)
    if desc >= 32:
        raise AsmError("mad: its operand descriptor must be one of the first 32")
    idx = INDEX[(s3 if inverted else s2)[1]]
    word = (MADI if inverted else OPS["mad"]) << 26 | dest << 24 | idx << 22 | s1[0] << 17 | s3[0] << 5 | desc
    return word | (s2[0] << 12 if inverted else s2[0] << 10)


def _format1(opcode: int, dest: int, s1, s2, desc: int) -> int:
    return opcode << 26 | dest << 21 | INDEX[s1[1]] << 19 | s1[0] << 12 | s2[0] << 7 | desc


def assemble(text: str) -> Program:
    """Assemble ``text``; :class:`AsmError` names the line of a mistake."""
    prog = Program()
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split(";")[0].strip()
        if not line:
            continue
        try:
            _line(prog, line)
        except (AsmError, KeyError, ValueError) as error:
            raise AsmError(f"line {number}: {line!r}: {error}") from None
    for at, label in prog.fixups:
        if label not in prog.labels:
            raise AsmError(f"no label {label!r}")
        prog.code[at] |= prog.labels[label] << 10
    if not prog.code or prog.code[-1] >> 26 != OPS["end"]:
        prog.code.append(OPS["end"] << 26)
    return prog


FLOW = {"breakc": 0x23, "call": 0x24, "callc": 0x25, "callu": 0x26, "ifu": 0x27, "ifc": 0x28, "loop": 0x29,
        "jmpc": 0x2C, "jmpu": 0x2D}
ALIASES = {"madi": "mad", "dphi": "dph", "dsti": "dst", "sgei": "sge", "slti": "slt"}  # the disassembler's names


def _condition(text: str) -> int:
    """``cmp.x``, ``!cmp.y``, ``X && Y``, ``X || Y`` -> refx << 25 | refy << 24 | op << 22."""
    def flag(part: str, which: str) -> int:
        part = part.strip()
        if part.lstrip("!") != f"cmp.{which}":
            raise AsmError(f"not a condition on cmp.{which}: {part!r}")
        return int(not part.startswith("!"))

    for op, joiner in ((0, "||"), (1, "&&")):
        if joiner in text:
            x, y = text.split(joiner)
            return flag(x, "x") << 25 | flag(y, "y") << 24 | op << 22
    if "cmp.x" in text:
        return flag(text, "x") << 25 | 2 << 22
    return flag(text, "y") << 24 | 3 << 22


def _target(prog: Program, text: str) -> int:
    """A destination: a word offset (0x.. or decimal), or a label patched in at the end."""
    text = text.strip()
    if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", text):
        return (int(text, 0) & 0xFFF) << 10
    prog.fixups.append((len(prog.code), text))
    return 0


def _flow(prog: Program, op: str, args: list[str]) -> int:
    """Formats 2 (conditions) and 3 (uniforms): dest 21-10, num 7-0."""
    word = FLOW[op] << 26
    if op == "breakc":
        return word | _condition(args[0])
    first = args[0].strip()
    if op in ("callu", "ifu", "jmpu"):
        m = re.fullmatch(r"(!?)b(\d+)", first)
        if not m or int(m.group(2)) > 15:
            raise AsmError(f"not a bool uniform: {first!r}")
        word |= int(m.group(2)) << 22 | (1 if op == "jmpu" and m.group(1) else 0)
    elif op == "loop":
        m = re.fullmatch(r"i([0-3])", first)
        if not m or len(args) != 2 or not args[1].strip().startswith("to "):
            raise AsmError("loop iN, to LABEL")
        return word | int(m.group(1)) << 22 | _target(prog, args[1].strip()[3:])
    elif op != "call":
        word |= _condition(first)
    rest = args if op == "call" else args[1:]
    dest = rest[0].strip()
    if op in ("ifu", "ifc"):
        if not dest.startswith("else "):
            raise AsmError(f"{op} COND, else LABEL, COUNT")
        dest = dest[5:]
    word |= _target(prog, dest)
    if op.startswith(("call", "if")):
        if len(rest) != 2:
            raise AsmError(f"{op} takes a destination and an instruction count")
        word |= int(rest[1], 0) & 0xFF
    return word


def _line(prog: Program, line: str) -> None:
    if line.endswith(":"):
        if line[:-1] == "main":
            prog.main = len(prog.code)
        prog.labels[line[:-1]] = len(prog.code)
        return
    head, _, rest = line.partition(" ")
    head = ALIASES.get(head.lower(), head.lower())
    if head in FLOW:
        prog.code.append(_flow(prog, head, [a.strip() for a in rest.split(",")]))
        return
    if head == ".fvec":
        name, reg = rest.split()
        prog.uniforms.append((name, _register(reg)[0] - 0x20))
    elif head == ".constf":
        reg, values = rest.split(None, 1)
        nums = tuple(float(v) for v in values.strip("() ").split(","))
        if len(nums) != 4:
            raise AsmError(".constf needs four values")
        prog.constants.append((_register(reg)[0] - 0x20, nums))  # type: ignore[arg-type]
    elif head == ".out":
        reg, kind = rest.split()
        dest, mask = _dest(reg)
        prog.outputs.append((OUTPUTS[kind.lower()], dest, mask))
    elif head in ("nop", "end", "break", "emit"):
        prog.code.append(OPS[head] << 26)
    elif head == "setemit":  # setemit VERTEX [prim] [inv]: format 4, vertex id 25-24, prim 23, winding 22
        parts = rest.split()
        if not parts or not parts[0].isdigit() or int(parts[0]) > 2 or set(parts[1:]) - {"prim", "inv"}:
            raise AsmError("setemit VERTEX (0-2) [prim] [inv]")
        prog.code.append(OPS[head] << 26 | int(parts[0]) << 24 | ("prim" in parts[1:]) << 23
                         | ("inv" in parts[1:]) << 22)
    elif head in OPS:
        prog.code.append(_arith(prog, head, [a.strip() for a in re.split(r",(?![^\[]*\])", rest)]))
    else:
        raise AsmError(f"unknown instruction {head!r}")


def _f24(value: float) -> int:
    bits = struct.unpack("<I", struct.pack("<f", value))[0]
    sign, exp, mant = bits >> 31, (bits >> 23) & 0xFF, (bits >> 7) & 0xFFFF
    e = exp - 64
    if exp == 0 or e <= 0:
        return sign << 23
    return sign << 23 | min(e, 0x7F) << 16 | mant


def shbin(prog: Program) -> bytes:
    """DVLB (magic, 1 DVLE, its offset), DVLP (code, operand descriptors), DVLE (main, tables)."""
    symbols = b"".join(name.encode() + b"\0" for name, _ in prog.uniforms)
    dvlp_at = 12
    code_at, desc_at = 0x28, 0x28 + 4 * len(prog.code)
    dvlp = struct.pack("<4sIIIII", b"DVLP", 0, code_at, len(prog.code), desc_at, len(prog.opdescs))
    dvlp = dvlp.ljust(code_at, b"\0") + struct.pack(f"<{len(prog.code)}I", *prog.code)
    dvlp += b"".join(struct.pack("<II", d, 0xF) for d in prog.opdescs)
    dvle_at = dvlp_at + len(dvlp)
    const_at = 0x40
    out_at = const_at + 20 * len(prog.constants)
    uni_at = out_at + 8 * len(prog.outputs)
    sym_at = uni_at + 8 * len(prog.uniforms)
    head = struct.pack("<4sHBBII", b"DVLE", 0x1002, 0, 0, prog.main, len(prog.code) - 1)
    head += struct.pack("<IIIIIIIIIIII", 0, 0, const_at, len(prog.constants), 0, 0, out_at, len(prog.outputs),
                        uni_at, len(prog.uniforms), sym_at, len(symbols))
    body = b"".join(struct.pack("<HH4I", 2, reg, *(_f24(v) for v in values)) for reg, values in prog.constants)
    body += b"".join(struct.pack("<HHB3x", kind, reg, mask) for kind, reg, mask in prog.outputs)
    offset = 0
    for name, reg in prog.uniforms:
        body += struct.pack("<IHH", offset, 0x10 + reg, 0x10 + reg)
        offset += len(name) + 1
    dvle = head.ljust(const_at, b"\0") + body + symbols
    data = struct.pack("<4sII", b"DVLB", 1, dvle_at) + dvlp + dvle
    return data.ljust((len(data) + 3) & ~3, b"\0")


def c_array(name: str, data: bytes) -> str:
    words = struct.unpack(f"<{len(data) // 4}I", data)
    lines = [", ".join(f"0x{w:08X}" for w in words[i : i + 6]) for i in range(0, len(words), 6)]
    body = ",\n    ".join(lines)
    return (f"/* generated by scripts/pica_asm.py: do not edit */\n"
            f"static const u32 {name}[{len(words)}] __attribute__((aligned(8))) = {{\n    {body},\n}};\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source")
    parser.add_argument("-o", "--output", help="the SHBIN file to write")
    parser.add_argument("--header", metavar="NAME", help="print a C array NAME of the SHBIN's words instead")
    args = parser.parse_args(argv)
    try:
        prog = assemble(open(args.source).read())
    except AsmError as error:
        print(f"{args.source}: {error}", file=sys.stderr)
        return 1
    data = prog.shbin()
    if args.header:
        sys.stdout.write(c_array(args.header, data))
    elif args.output:
        open(args.output, "wb").write(data)
    else:
        parser.error("give -o FILE or --header NAME")
    return 0


if __name__ == "__main__":
    sys.exit(main())
