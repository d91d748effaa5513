"""The vertex shader unit: an interpreter of the PICA shader binary a program uploads, over
numpy arrays of all a draw's vertices at once.

Facts (3dbrew "GPU/Shader Instruction Set"; behaviour checked against Azahar's
``video_core/shader/shader_interpreter.cpp``): 512 instruction words and 128 operand
descriptors; registers v0-v15 (inputs, source 0x00-0x0F), r0-r15 (temporaries, 0x10-0x1F),
c0-c95 (float uniforms, sources 0x20-0x7F), o0-o15 (outputs, destinations 0x00-0x0F), i0-i3
(integer uniforms: loop count, start, step), b0-b15 (boolean uniforms), a0.xy and aL
(address registers) and the two comparison flags.

Instruction formats used here (bit ranges inclusive)::

    1  (arithmetic)   opcode 31-26  dest 25-21  idx 20-19  src1 18-12  src2 11-7   desc 6-0
    1i (inverted)     as 1, but src1 18-14 (5 bits) and src2 13-7 (7 bits)
    1c (CMP)          opcode 31-27  cmpx 26-24  cmpy 23-21  then as 1
    5  (MAD)          opcode 31-29  dest 28-24  idx 23-22  src1 21-17  src2 16-10  src3 9-5  desc 4-0
    5i (MADI)         as 5, but src2 16-12 (5 bits) and src3 11-5 (7 bits)
    2  (flow, cond)   opcode 31-26  refx 25  refy 24  condop 23-22  dest 21-10  num 7-0
    3  (flow, unif.)  opcode 31-26  bool id 25-22 (LOOP: int id 23-22)  dest 21-10  num 7-0

The operand descriptor: dest mask 3-0 (bit 3 is x), src1 negate 4 and swizzle 12-5 (two bits a
component, x in 12-11), src2 negate 13 and swizzle 21-14, src3 negate 22 and swizzle 30-23
(MAD's only; it reaches the first 32 descriptors). ``idx`` picks the address register added to
a float-uniform source (src1; src2 in formats 1i and 5; src3 in 5i): 0 none, 1 a0.x, 2 a0.y, 3 aL;
an offset outside -128..127 counts as 0, the index wraps at 128 and c96-c127 read as (1,1,1,1).

Every vertex runs the same instruction at the same time, so each instruction is a few numpy
operations on (vertices, 4) arrays. Uniform flow control (JMPU, CALL, CALLU, IFU, LOOP, BREAK)
is the same for all vertices; flow control on the comparison flags (JMPC, CALLC, IFC, BREAKC)
splits the batch where vertices disagree and runs each part on. A loop's end adds its step to
aL (its last time too) and, inside an outer loop, gives aL back the value it had before (Azahar);
BREAK and a taken BREAKC leave the innermost loop at once, with the step added. Arithmetic is
float32 (a float24 fits), with the PICA's 0 * inf = 0. DST is (1, a.y * b.y, a.z, b.w); LITP
(which Azahar does not implement; as Panda3DS reads 3dbrew) is (max(a.x, 0), a.y clamped to
+-127.9961, 0, max(a.w, 0)) and sets the flags to a.x >= 0 and a.w >= 0. EMIT and SETEMIT run
in the geometry unit only (:class:`Emitter`, :mod:`hlemu.gpu.geometry`); in a vertex shader
they raise :class:`ShaderError`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

CODE_WORDS, SWIZZLE_WORDS = 512, 128
STEP_LIMIT = 200_000  # instructions one batch may execute: a looping program is reported, not run forever

OPCODES = {0x00: "ADD", 0x01: "DP3", 0x02: "DP4", 0x03: "DPH", 0x04: "DST", 0x05: "EX2", 0x06: "LG2",
           0x07: "LITP", 0x08: "MUL", 0x09: "SGE", 0x0A: "SLT", 0x0B: "FLR", 0x0C: "MAX", 0x0D: "MIN",
           0x0E: "RCP", 0x0F: "RSQ", 0x12: "MOVA", 0x13: "MOV", 0x18: "DPHI", 0x19: "DSTI", 0x1A: "SGEI",
           0x1B: "SLTI", 0x20: "BREAK", 0x21: "NOP", 0x22: "END", 0x23: "BREAKC", 0x24: "CALL",
           0x25: "CALLC", 0x26: "CALLU", 0x27: "IFU", 0x28: "IFC", 0x29: "LOOP", 0x2A: "EMIT",
           0x2B: "SETEMIT", 0x2C: "JMPC", 0x2D: "JMPU", 0x2E: "CMP", 0x2F: "CMP"}
OPCODES.update({op: "MADI" for op in range(0x30, 0x38)})
OPCODES.update({op: "MAD" for op in range(0x38, 0x40)})
INVERTED = {0x18, 0x19, 0x1A, 0x1B}
LITP_LIMIT = np.float32(127.9961)


# The outputs of recent vertex-shader runs of small batches, by everything they depend on
# (VertexShader._key): immediate-mode draws (citro3d's samegame: 70 a frame) shade the same few
# vertices with the same uniforms frame after frame, and the interpreter costs ~5 us an
# instruction whatever the batch's size. Exact: a hit is byte-for-byte the same run.
KEEP_VERTICES, KEEP_RUNS = 256, 512
_kept: OrderedDict[bytes, tuple[np.ndarray, int]] = OrderedDict()


class ShaderError(Exception):
    """A shader the interpreter cannot run (an unimplemented instruction, a runaway loop)."""


@dataclass
class ShaderSetup:
    """What a command list uploads for the vertex shader: code, descriptors, uniforms."""

    code: np.ndarray = field(default_factory=lambda: np.zeros(CODE_WORDS, np.uint32))
    swizzles: np.ndarray = field(default_factory=lambda: np.zeros(SWIZZLE_WORDS, np.uint32))
    floats: np.ndarray = field(default_factory=lambda: np.zeros((96, 4), np.float32))
    ints: np.ndarray = field(default_factory=lambda: np.zeros((4, 4), np.int64))  # x count, y start, z step
    bools: np.ndarray = field(default_factory=lambda: np.zeros(16, np.bool_))


@dataclass
class _Frame:
    end: int  # the pc at which this call, branch or loop body ends
    ret: int  # where execution goes on after it
    loop_start: int = -1  # a loop's first body instruction (-1: not a loop)
    left: int = 0  # loop iterations still to run after this one
    step: int = 0
    outer_aL: int = 0  # aL before the loop (given back at its end inside an outer loop)


class _State:
    """The registers of a subset ``ids`` of the batch's vertices."""

    def __init__(self, ids: np.ndarray, inputs: np.ndarray) -> None:
        n = len(ids)
        self.ids = ids
        self.regs = np.zeros((48, n, 4), np.float32)  # 0-15 inputs, 16-31 temporaries, 32-47 outputs
        self.regs[:16] = inputs
        self.a0 = np.zeros((n, 2), np.int64)
        self.cmp = np.zeros((n, 2), np.bool_)
        self.aL = 0

    def take(self, mask: np.ndarray) -> _State:
        part = object.__new__(_State)
        part.ids, part.regs, part.a0, part.cmp = self.ids[mask], self.regs[:, mask], self.a0[mask], self.cmp[mask]
        part.aL = self.aL
        return part


def _swizzle(value: np.ndarray, selectors: int, negate: bool) -> np.ndarray:
    order = [(selectors >> (2 * (3 - i))) & 3 for i in range(4)]
    out = value[:, order]
    return -out if negate else out


def _mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Products with the PICA's rule: 0 times anything (inf included) is 0."""
    p = a * b
    return np.where((a == 0) | (b == 0), np.float32(0), p)


def load_inputs(attributes: np.ndarray, permutation: int, count: int) -> np.ndarray:
    """A shader unit's input registers (n, 16, 4) from ``attributes`` (n, k, 4): attribute i
    (of the first ``count``) into register v[nibble i of ``permutation``] (the unit's
    ATTRIBUTES_PERMUTATION_LOW | HIGH << 32)."""
    inputs = np.zeros((len(attributes), 16, 4), np.float32)
    for i in range(count):
        inputs[:, (permutation >> (4 * i)) & 0xF] = attributes[:, i]
    return inputs


class Emitter:
    """SETEMIT and EMIT for a batch of geometry shader invocations (:mod:`hlemu.gpu.geometry`):
    each invocation's three buffered vertices, what its next EMIT does, and the triangles it
    has emitted, in order. ``outputs``: the output registers an emitted vertex takes (the
    geometry unit's output mask); ``reverse``: whether ``inv`` reverses a triangle's winding
    (PRIMITIVE_CONFIG's geometry topology)."""

    def __init__(self, count: int, outputs: list[int], reverse: bool) -> None:
        self.outputs = outputs
        self.reverse = reverse
        self.vertex = np.zeros(count, np.int64)
        self.prim = np.zeros(count, np.bool_)
        self.winding = np.zeros(count, np.bool_)
        self.buffer = np.zeros((count, 3, len(outputs), 4), np.float32)
        self.triangles: list[list[np.ndarray]] = [[] for _ in range(count)]

    def set(self, ids: np.ndarray, word: int) -> None:
        """SETEMIT: vertex id 25-24, prim 23, winding 22."""
        vertex = (word >> 24) & 3
        if vertex > 2:
            raise ShaderError(f"setemit {vertex}: an invocation buffers vertices 0-2 only")
        self.vertex[ids] = vertex
        self.prim[ids] = bool(word >> 23 & 1)
        self.winding[ids] = bool(word >> 22 & 1)

    def emit(self, ids: np.ndarray, out: np.ndarray) -> None:
        """EMIT: ``out`` (16, len(ids), 4), the output registers of invocations ``ids``."""
        self.buffer[ids, self.vertex[ids]] = out[self.outputs].transpose(1, 0, 2)
        for lane in ids[self.prim[ids]].tolist():
            triangle = self.buffer[lane].copy()
            if self.winding[lane] and self.reverse:
                triangle = triangle[[1, 0, 2]]
            self.triangles[lane].append(triangle)

    def vertices(self) -> list[np.ndarray]:
        """Every emitted triangle's three vertices, invocation by invocation."""
        return [np.concatenate(t) for t in self.triangles if t]


class VertexShader:
    """Runs a :class:`ShaderSetup`'s program from an entry point over a batch of vertices (or,
    given an :class:`Emitter`, of geometry shader invocations)."""

    def __init__(self, setup: ShaderSetup, emitter: Emitter | None = None) -> None:
        self.setup = setup
        self.emitter = emitter
        self.uniforms = np.ones((128, 4), np.float32)  # c96-c127 read as ones
        self.uniforms[:96] = setup.floats
        self.steps = 0

    def run(self, inputs: np.ndarray, entry: int) -> np.ndarray:
        """``inputs`` (vertices, 16, 4) -> the output registers o0-o15, (vertices, 16, 4)."""
        n = inputs.shape[0]
        key = self._key(inputs, entry) if self.emitter is None and n <= KEEP_VERTICES else None
        kept = _kept.get(key) if key is not None else None
        if key is not None and kept is not None:
            _kept.move_to_end(key)
            self.out, self.steps = kept[0].copy(), kept[1]
            return self.out
        self.out = np.zeros((n, 16, 4), np.float32)
        self.steps = 0
        state = _State(np.arange(n), inputs.transpose(1, 0, 2).astype(np.float32))
        with np.errstate(all="ignore"):
            self._execute(state, entry, [])
        if key is not None:
            _kept[key] = (self.out.copy(), self.steps)
            if len(_kept) > KEEP_RUNS:
                _kept.popitem(last=False)
        return self.out

    def _key(self, inputs: np.ndarray, entry: int) -> bytes:
        """Everything a vertex shader's outputs are a function of: the program, its
        descriptors and uniforms, the entry point and the inputs (as float32, as they run)."""
        s = self.setup
        ins = np.ascontiguousarray(inputs, np.float32)
        return b"".join((entry.to_bytes(4, "little"), len(ins).to_bytes(4, "little"), s.code.tobytes(),
                         s.swizzles.tobytes(), s.floats.tobytes(), s.ints.tobytes(), s.bools.tobytes(),
                         ins.tobytes()))

    # -- the instruction loop ---------------------------------------------------------------
    def _execute(self, st: _State, pc: int, stack: list[_Frame]) -> None:
        code = self.setup.code
        while True:
            pc = self._unwind(st, pc, stack)
            self.steps += 1
            if self.steps > STEP_LIMIT:
                raise ShaderError(f"more than {STEP_LIMIT} instructions (a loop that does not end?)")
            if pc >= CODE_WORDS:
                raise ShaderError(f"ran past the end of the program ({CODE_WORDS} words) without END")
            word = int(code[pc])
            op = word >> 26
            name = OPCODES.get(op, f"opcode {op:#04x}")
            if name == "END":
                self.out[st.ids] = st.regs[32:48].transpose(1, 0, 2)
                return
            if op >= 0x30:
                self._mad(st, word, op)
                pc += 1
            elif op < 0x20 or name == "CMP":
                self._arithmetic(st, word, op)
                pc += 1
            elif name == "NOP":
                pc += 1
            elif name in ("EMIT", "SETEMIT"):
                if self.emitter is None:
                    raise ShaderError(f"{name} at {pc:#05x} in a vertex shader (only the geometry unit emits)")
                if name == "EMIT":
                    self.emitter.emit(st.ids, st.regs[32:48])
                else:
                    self.emitter.set(st.ids, word)
                pc += 1
            else:
                pc = self._flow(st, word, name, pc, stack)
                if pc < 0:
                    return

    def _unwind(self, st: _State, pc: int, stack: list[_Frame]) -> int:
        """Leave every call, branch and loop body that ends at ``pc`` (looping where one repeats)."""
        while stack and pc == stack[-1].end:
            frame = stack[-1]
            if frame.loop_start >= 0:
                st.aL += frame.step
                if frame.left > 0:
                    frame.left -= 1
                    return frame.loop_start
                self._leave_loop(st, stack, len(stack) - 1)
            else:
                stack.pop()
            pc = frame.ret
        return pc

    @staticmethod
    def _leave_loop(st: _State, stack: list[_Frame], index: int) -> None:
        """Pop the loop at ``index`` (and what was opened inside it); inside an outer loop aL
        gets back the value it had before this one."""
        frame = stack[index]
        del stack[index:]
        if any(f.loop_start >= 0 for f in stack):
            st.aL = frame.outer_aL

    def _break(self, st: _State, pc: int, stack: list[_Frame]) -> int:
        """BREAK: leave the innermost loop (its step added to aL); outside a loop, go on."""
        loops = [i for i, f in enumerate(stack) if f.loop_start >= 0]
        if not loops:
            return pc + 1
        frame = stack[loops[-1]]
        st.aL += frame.step
        self._leave_loop(st, stack, loops[-1])
        return frame.ret

    def _flow(self, st: _State, word: int, name: str, pc: int, stack: list[_Frame]) -> int:
        """Run a flow-control instruction; the next pc (-1 when this state's vertices are done)."""
        dest, num = (word >> 10) & 0xFFF, word & 0xFF
        if name in ("JMPU", "CALLU", "IFU"):
            uniform = bool(self.setup.bools[(word >> 22) & 0xF])
            if name == "JMPU":
                uniform = uniform == (not num & 1)  # the low bit of num inverts the test
            return self._branch(name, uniform, dest, num, pc, stack)
        if name == "CALL":
            return self._branch("CALLU", True, dest, num, pc, stack)
        if name == "LOOP":
            count, start, step = (int(v) & 0xFF for v in self.setup.ints[(word >> 22) & 3][:3])
            stack.append(_Frame(dest + 1, dest + 1, pc + 1, count, step, st.aL))
            st.aL = start
            return pc + 1
        if name == "BREAK":
            return self._break(st, pc, stack)
        if name in ("JMPC", "CALLC", "IFC", "BREAKC"):
            taken = self._condition(st, word)
            if taken.all() or not taken.any():
                return self._conditional(st, name, bool(taken.all()), dest, num, pc, stack)
            # The vertices disagree: the ones not taking the branch run on in a state of their own.
            rest = st.take(~taken)
            rest_stack = [_Frame(f.end, f.ret, f.loop_start, f.left, f.step, f.outer_aL) for f in stack]
            self._execute(rest, self._conditional(rest, name, False, dest, num, pc, rest_stack), rest_stack)
            mine = st.take(taken)
            st.ids, st.regs, st.a0, st.cmp = mine.ids, mine.regs, mine.a0, mine.cmp
            return self._conditional(st, name, True, dest, num, pc, stack)
        raise ShaderError(f"{name} at {pc:#05x} ({word:#010x}) is not implemented")

    def _conditional(self, st: _State, name: str, taken: bool, dest: int, num: int, pc: int,
                     stack: list[_Frame]) -> int:
        if name == "BREAKC":
            return self._break(st, pc, stack) if taken else pc + 1
        return self._branch(name, taken, dest, num, pc, stack)

    @staticmethod
    def _branch(name: str, taken: bool, dest: int, num: int, pc: int, stack: list[_Frame]) -> int:
        if name.startswith("JMP"):
            return dest if taken else pc + 1
        if name.startswith("CALL"):
            if taken:
                stack.append(_Frame(dest + num, pc + 1))
                return dest
            return pc + 1
        # IF: the true branch is pc+1 .. dest-1, the else branch dest .. dest+num-1.
        if taken:
            stack.append(_Frame(dest, dest + num))
            return pc + 1
        stack.append(_Frame(dest + num, dest + num))
        return dest

    @staticmethod
    def _condition(st: _State, word: int) -> np.ndarray:
        refx, refy, op = bool(word >> 25 & 1), bool(word >> 24 & 1), (word >> 22) & 3
        x, y = st.cmp[:, 0] == refx, st.cmp[:, 1] == refy
        return (x | y, x & y, x, y)[op]

    # -- arithmetic ---------------------------------------------------------------------------
    def _source(self, st: _State, index: int, idx: int) -> np.ndarray:
        if index < 0x20:
            return st.regs[index]
        u = index - 0x20
        if idx == 0:
            return np.broadcast_to(self.uniforms[u], (len(st.ids), 4))
        offset = np.full(len(st.ids), st.aL, np.int64) if idx == 3 else st.a0[:, idx - 1]
        offset = np.where((offset < -128) | (offset > 127), 0, offset)
        return self.uniforms[(u + offset) & 0x7F]

    def _arithmetic(self, st: _State, word: int, op: int) -> None:
        name = OPCODES.get(op, "")
        desc = int(self.setup.swizzles[word & 0x7F])
        idx = (word >> 19) & 3
        if op in INVERTED:
            s1 = self._source(st, (word >> 14) & 0x1F, 0)
            s2 = self._source(st, (word >> 7) & 0x7F, idx)
        else:
            s1 = self._source(st, (word >> 12) & 0x7F, idx)
            s2 = self._source(st, (word >> 7) & 0x1F, 0)
        a = _swizzle(s1, (desc >> 5) & 0xFF, bool(desc >> 4 & 1))
        b = _swizzle(s2, (desc >> 14) & 0xFF, bool(desc >> 13 & 1))
        if name == "CMP":
            ops = (np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal)
            st.cmp[:, 0] = ops[min((word >> 24) & 7, 5)](a[:, 0], b[:, 0])
            st.cmp[:, 1] = ops[min((word >> 21) & 7, 5)](a[:, 1], b[:, 1])
            return
        if name == "MOVA":
            for i in range(2):
                if desc >> (3 - i) & 1:
                    st.a0[:, i] = np.trunc(a[:, i]).astype(np.int64)
            return
        if name == "LITP":
            st.cmp[:, 0], st.cmp[:, 1] = a[:, 0] >= 0, a[:, 3] >= 0
        self._write(st, (word >> 21) & 0x1F, desc, self._compute(name, a, b))

    def _mad(self, st: _State, word: int, op: int) -> None:
        """MAD / MADI (format 5): dest = src1 * src2 + src3."""
        desc = int(self.setup.swizzles[word & 0x1F])
        idx = (word >> 22) & 3
        s1 = self._source(st, (word >> 17) & 0x1F, 0)
        if op < 0x38:  # MADI: the uniform (and the address register) is src3
            s2, s3 = self._source(st, (word >> 12) & 0x1F, 0), self._source(st, (word >> 5) & 0x7F, idx)
        else:
            s2, s3 = self._source(st, (word >> 10) & 0x7F, idx), self._source(st, (word >> 5) & 0x1F, 0)
        a = _swizzle(s1, (desc >> 5) & 0xFF, bool(desc >> 4 & 1))
        b = _swizzle(s2, (desc >> 14) & 0xFF, bool(desc >> 13 & 1))
        c = _swizzle(s3, (desc >> 23) & 0xFF, bool(desc >> 22 & 1))
        self._write(st, (word >> 24) & 0x1F, desc, _mul(a, b) + c)

    @staticmethod
    def _write(st: _State, dest: int, desc: int, result: np.ndarray) -> None:
        """Write the components the descriptor's mask selects (o0-o15 below 0x10, else r0-r15)."""
        reg = st.regs[32 + dest] if dest < 0x10 else st.regs[dest]
        for i in range(4):
            if desc >> (3 - i) & 1:
                reg[:, i] = result[:, i]

    @staticmethod
    def _compute(name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        one = np.float32(1)
        if name == "ADD":
            return a + b
        if name == "MUL":
            return _mul(a, b)
        if name in ("DP3", "DP4", "DPH", "DPHI"):
            if name.startswith("DPH"):
                a = a.copy()
                a[:, 3] = one
            terms = _mul(a, b)[:, : 3 if name == "DP3" else 4]
            return np.repeat(terms.sum(axis=1, keepdims=True, dtype=np.float32), 4, axis=1)
        if name == "MAX":
            return np.where(a > b, a, b)
        if name == "MIN":
            return np.where(a < b, a, b)
        if name in ("SGE", "SGEI"):
            return (a >= b).astype(np.float32)
        if name in ("SLT", "SLTI"):
            return (a < b).astype(np.float32)
        if name == "FLR":
            return np.floor(a)
        if name == "MOV":
            return a
        if name in ("DST", "DSTI"):
            return np.stack([np.ones(len(a), np.float32), _mul(a[:, 1], b[:, 1]), a[:, 2], b[:, 3]], axis=1)
        if name == "LITP":
            zero = np.float32(0)
            return np.stack([np.maximum(a[:, 0], zero), np.clip(a[:, 1], -LITP_LIMIT, LITP_LIMIT),
                             np.zeros(len(a), np.float32), np.maximum(a[:, 3], zero)], axis=1)
        x = a[:, :1]
        if name == "RCP":
            value = one / x
        elif name == "RSQ":
            value = one / np.sqrt(x)
        elif name == "EX2":
            value = np.exp2(x)
        elif name == "LG2":
            value = np.log2(x)
        else:
            raise ShaderError(f"{name or 'an unknown opcode'} is not implemented")
        return np.repeat(value.astype(np.float32), 4, axis=1)
