"""The geometry shader stage: shader unit 3 run as a geometry shader on the vertex shader's
outputs, emitting the triangles that are drawn.

Facts (3dbrew "GPU/Internal Registers"; behaviour as Azahar's ``video_core/geometry_pipeline.cpp``
and ``shader/shader.cpp`` have it):

- GEOSTAGE_CONFIG (0x229) bits 0-1 = 2 puts the stage in use (0: none); VSH_COM_MODE (0x244)
  bit 0 = 0 makes the vertex shader's code and operand descriptor uploads go to the geometry
  unit too (uniforms are never shared). The geometry unit's registers 0x280-0x2AF are laid out
  as the vertex unit's 0x2B0-0x2DF.
- Each vertex contributes its first VSH_OUTMAP_TOTAL1 (0x24A) + 1 outputs (the output registers
  VSH_OUTMAP_MASK selects, in order). GSH_MISC0 (0x252) bits 0-7 pick how they reach the
  geometry shader:

  * 0, point: into its input registers, GSH_INPUTBUFFER_CONFIG (0x289) bits 0-3 + 1 outputs an
    invocation, through GSH_ATTRIBUTES_PERMUTATION (input i to register v[permutation i]), so
    an invocation takes (inputs / outputs per vertex) vertices;
  * 2, fixed primitive: into float uniforms from bits 16-19 on, bits 8-11 + 1 vertices an
    invocation;
  * 1, variable primitive: an indexed draw whose index stream gives a count, then that many
    vertices: c0 gets the count (all four components), c1 on the vertices, the first
    GSH_MISC1 (0x254) + 1 of them all their outputs, the others only their first.

- SETEMIT picks the buffered vertex (0-2) the next EMIT fills with the output registers
  GSH_OUTMAP_MASK selects, and whether that EMIT ends a triangle (prim) with the winding
  reversed (inv: in PRIMITIVE_CONFIG's geometry topology, drawn as vertices 1, 0, 2). The
  triangles are drawn in invocation order, each invocation's in the order it emitted them.
- Bool uniform b15 reads true in every invocation after the first (it is set after each).

What hlemu does differently: point-mode invocations run side by side (as the vertex shader's
vertices do), each from zeroed temporaries, where the hardware runs them one after another
on one unit whose temporaries carry over; the other two modes run one invocation at a time,
inputs v0-v15 zero. Vertices left over at the end of a draw (fewer than an invocation takes)
are dropped.
"""

from __future__ import annotations

import numpy as np

from hlemu.gpu import regs as R
from hlemu.gpu.shader import Emitter, ShaderError, ShaderSetup, VertexShader, load_inputs

POINT, VARIABLE, FIXED = 0, 1, 2
MODES = {POINT: "point", VARIABLE: "variable primitive", FIXED: "fixed primitive"}


def enabled(regs: R.RegisterFile) -> bool:
    return regs[R.GEOSTAGE_CONFIG] & 3 == 2


def mode(regs: R.RegisterFile) -> int:
    return regs[R.GSH_MISC0] & 0xFF


def per_vertex(regs: R.RegisterFile) -> int:
    """Outputs each vertex gives the stage."""
    return (regs[R.VSH_OUTMAP_TOTAL1] & 0xF) + 1


def split_variable(indices: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """A variable-primitive index stream (count, that many vertex indices, count, ...) -> the
    vertex indices and the count of each whole primitive (a cut-off last one is dropped)."""
    vertices: list[int] = []
    counts: list[int] = []
    listed = indices.tolist()
    i = 0
    while i < len(listed):
        count = listed[i]
        if count == 0 or i + 1 + count > len(listed):
            break
        vertices += listed[i + 1 : i + 1 + count]
        counts.append(count)
        i += 1 + count
    return np.array(vertices, dtype=np.int64), counts


def run(regs: R.RegisterFile, setup: ShaderSetup, outputs: np.ndarray, counts: list[int] | None = None) -> np.ndarray:
    """The vertex shader's ``outputs`` (vertices, k, 4: its masked output registers, in order)
    -> the emitted vertices (3 a triangle, in drawing order), each the geometry shader's output
    registers GSH_OUTMAP_MASK selects, (n, j, 4). ``counts``: variable mode's primitive sizes."""
    each = per_vertex(regs)
    attrs = np.zeros((len(outputs), each, 4), np.float32)
    attrs[:, : min(each, outputs.shape[1])] = outputs[:, :each]
    entry = regs[R.GSH_ENTRYPOINT] & 0xFFFF
    kind = mode(regs)
    emitted: list[np.ndarray] = []
    if kind == POINT:
        taken = (regs[R.GSH_INPUTBUFFER_CONFIG] & 0xF) + 1
        if taken % each:
            raise ShaderError(f"geometry shader point mode: {taken} inputs an invocation is not a whole "
                              f"number of vertices of {each} outputs")
        per = taken // each
        invocations = len(attrs) // per
        flat = attrs[: invocations * per].reshape(invocations, taken, 4)
        permutation = regs[R.GSH_ATTRIBUTES_PERMUTATION_LOW] | regs[R.GSH_ATTRIBUTES_PERMUTATION_HIGH] << 32
        inputs = load_inputs(flat, permutation, taken)
        # b15 as the program left it for the first invocation, true for the rest: run apart
        bounds = [0, invocations] if setup.bools[15] else [0, min(1, invocations), invocations]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            if hi > lo:
                emitted += _invoke(regs, setup, inputs[lo:hi], entry)
                setup.bools[15] = True
    else:
        for place, values in _uniform_inputs(regs, kind, attrs, counts):
            setup.floats[place : place + len(values)] = values[: 96 - place]
            emitted += _invoke(regs, setup, np.zeros((1, 16, 4), np.float32), entry)
            setup.bools[15] = True
    if not emitted:
        return np.zeros((0, bin(regs[R.GSH_OUTMAP_MASK] & 0xFFFF).count("1"), 4), np.float32)
    return np.concatenate(emitted)


def _uniform_inputs(regs: R.RegisterFile, kind: int, attrs: np.ndarray,
                    counts: list[int] | None) -> list[tuple[int, np.ndarray]]:
    """(first uniform, values) for each invocation of the fixed and variable modes."""
    if kind == FIXED:
        config = regs[R.GSH_MISC0]
        start, vertices = (config >> 16) & 0xF, ((config >> 8) & 0xF) + 1
        invocations = len(attrs) // vertices
        return [(start, attrs[k * vertices : (k + 1) * vertices].reshape(-1, 4)) for k in range(invocations)]
    if kind == VARIABLE:
        if counts is None:
            raise ShaderError("geometry shader variable primitive mode needs an indexed draw (its counts)")
        main = (regs[R.GSH_MISC1] & 0xFF) + 1
        out, at = [], 0
        for count in counts:
            group = attrs[at : at + count]
            at += count
            values = [np.full((1, 4), count, np.float32), group[:main].reshape(-1, 4), group[main:, 0]]
            out.append((0, np.concatenate(values)))
        return out
    raise ShaderError(f"geometry shader mode {kind} (GSH_MISC0 bits 0-7) is not documented (0-2)")


def _invoke(regs: R.RegisterFile, setup: ShaderSetup, inputs: np.ndarray, entry: int) -> list[np.ndarray]:
    """Run ``len(inputs)`` invocations side by side; their triangles' vertices, one array each."""
    mask = regs[R.GSH_OUTMAP_MASK] & 0xFFFF
    emitter = Emitter(len(inputs), [r for r in range(16) if mask >> r & 1],
                      reverse=(regs[R.PRIMITIVE_CONFIG] >> 8) & 3 == 3)
    VertexShader(setup, emitter).run(inputs, entry)
    return emitter.vertices()
