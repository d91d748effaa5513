"""Per-fragment stages, compiled with numba: the TexEnv combiners, the alpha test's
comparison and the output merger (blending or logic ops). :mod:`hlemu.gpu.raster` calls
them for each covered pixel.

TexEnv (3dbrew "GPU/Internal Registers", GPUREG_TEXENVi_*; behaviour as Azahar's
``renderer_software/sw_texturing.cpp`` and ``sw_rasterizer.cpp``): six stages, each choosing
three sources and an operand for each, an operation (replace, modulate, add, add signed,
lerp, subtract, dot3 RGB/RGBA, multiply-add, add-multiply) and a scale, for colour and alpha
apart; the combiner buffer (a stage reads what the stage two before it left there: updates
reach it a stage late). Sources here: primary colour, constant, previous, previous buffer and
textures 0-2 (sampled by :mod:`hlemu.gpu.texture` before the combiners run; a unit that is off
reads as 0, 0, 0, 0 as in Azahar), the fragment lighting's primary and secondary colours
(sources 1 and 2, from :mod:`hlemu.gpu.lighting`; 0, 0, 0, 0 with lighting off, as in Azahar);
the procedural texture (texture 3, source 6, from :mod:`hlemu.gpu.proctex`; 0, 0, 0, 0 with
unit 3 off).

The output merger (GPUREG_COLOR_OPERATION, BLEND_FUNC, LOGIC_OP, BLEND_COLOR; Azahar's
``sw_framebuffer.cpp``): alpha blending with the five equations and fifteen factors, or, with
blending off, one of the sixteen logic ops.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# -- TexEnv ------------------------------------------------------------------------------------
# Rows of the per-fragment source table (no allocation per pixel: the table is the caller's).
PRIMARY, CONSTANT, PREVIOUS, BUFFER, ZERO, TEXTURE0 = 0, 1, 2, 3, 4, 5  # textures 0-2: rows 5-7
LIGHT_PRIMARY, LIGHT_SECONDARY = 8, 9  # the fragment lighting's colours (zero when it is off)
TEXTURE3 = 10  # the procedural texture (zero when unit 3 is off)
SOURCE_ROWS = 11


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _row(sel):
    """The source table row of TexEnv source ``sel``."""
    if sel == 0:
        return PRIMARY
    if sel == 1:
        return LIGHT_PRIMARY
    if sel == 2:
        return LIGHT_SECONDARY
    if sel == 0xD:
        return BUFFER
    if sel == 0xE:
        return CONSTANT
    if sel == 0xF:
        return PREVIOUS
    if sel >= 3 and sel <= 5:
        return TEXTURE0 + sel - 3
    if sel == 6:
        return TEXTURE3
    return ZERO


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _rgb_operand(operand, v, r, g, b, a):
    """A colour operand's channel: the source's own channel ``v``, its alpha or one channel,
    or 255 minus (scalars, as :func:`_factor`)."""
    kind = operand >> 1
    if kind == 1:
        v = a
    elif kind == 2:
        v = r
    elif kind == 4:
        v = g
    elif kind == 6:
        v = b
    return 255 - v if operand & 1 else v


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _alpha_operand(operand, r, g, b, a):
    sel = (operand >> 1) & 3
    v = a if sel == 0 else r if sel == 1 else g if sel == 2 else b
    return 255 - v if operand & 1 else v


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _div255(x):
    """``x // 255`` for 0 <= x < 2 ** 31 (products and sums of products of 8-bit values) as a
    multiply and a shift: numba's floor division checks the divisor and the signs, several
    nanoseconds a fragment each (tests/gpu/test_spans.py checks it against ``//``)."""
    return (x * 0x80808081) >> 39


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _combine(op, a, b, c):
    if op == 0:
        return a
    if op == 1:
        return _div255(a * b)
    if op == 2:
        return min(a + b, 255)
    if op == 3:
        return max(0, min(a + b - 128, 255))
    if op == 4:
        return _div255(a * c + b * (255 - c))
    if op == 5:
        return max(a - b, 0)
    if op == 8:
        return min(_div255(a * b + 255 * c), 255)
    if op == 9:
        return _div255(min(a + b, 255) * c)
    return a


def stages_needed(stages: np.ndarray) -> int:
    """How many leading TexEnv stages decide the output: stages that only pass the previous
    one on (REPLACE of source 0xF, operand 0, scale 1, colour and alpha) at the end change
    nothing. 0 when the output is the primary colour itself (stage 0 REPLACE primary, the
    pass-through citro2d's untextured shapes use).

    >>> passthrough = np.array([[0, 0, 0, 0, 0]] + [[0x000F000F, 0, 0, 0, 0]] * 5, np.uint32)
    >>> stages_needed(passthrough), stages_needed(passthrough[[1, 0, 1, 1, 1, 1]])
    (0, 2)
    """
    def passes(row: np.ndarray, source: int) -> bool:
        return (int(row[0]) & 0xF000F == source * 0x10001 and int(row[1]) & 0x700F == 0
                and int(row[2]) & 0xF000F == 0 and int(row[4]) & 0x30003 == 0)

    count = 6
    while count and _gives_previous(stages[count - 1]):  # (a REPLACE of source 0xF among them)
        count -= 1
    if count == 1 and passes(stages[0], 0):
        return 0
    return count


def _gives_previous(row: np.ndarray) -> bool:
    """Whether a stage outputs the previous stage's colour and alpha exactly, whatever they
    are: scale 1, and on both sides REPLACE of the previous value (operand 0), or MODULATE of
    it by, or INTERPOLATE of it with, a factor that is 255 on every channel: the stage's own
    constant colour through its operand (citro2d's last stage fades towards its fade colour
    by that colour's alpha, 0 when there is no fade: (p * 255 + x * 0) // 255 is p).

    >>> fade = np.array([0x000F0EEF, 0x300, 0x4, 0x00000000, 0], np.uint32)
    >>> _gives_previous(fade), _gives_previous(np.array([0x000F0EEF, 0x300, 0x4, 0x80000000, 0], np.uint32))
    (True, False)
    """
    sources, operands, combiner, constant = int(row[0]), int(row[1]), int(row[2]), int(row[3])
    if int(row[4]) & 0x30003:
        return False
    r, g, b, a = ((constant >> (8 * ch)) & 0xFF for ch in range(4))
    for alpha, src_at, op_at, op_mask in ((False, 0, 0, 0xF), (True, 16, 12, 0x7)):
        op = (combiner >> src_at) & 0xF
        if (sources >> src_at) & 0xF != 0xF or (operands >> op_at) & op_mask != 0:
            return False  # the first source must be the previous value as it is
        if op == 0:
            continue
        factor = {1: 1, 4: 2}.get(op)  # MODULATE's second source, INTERPOLATE's third
        if factor is None or (sources >> (src_at + 4 * factor)) & 0xF != 0xE:
            return False
        operand = (operands >> (op_at + 4 * factor)) & op_mask
        values = [_alpha_operand(operand, r, g, b, a)] if alpha else \
            [_rgb_operand(operand, v, r, g, b, a) for v in (r, g, b)]  # (fragment.texenv's operands)
        if any(v != 255 for v in values):
            return False
    return True


# How many of its three sources each combiner operation reads (replace 1; lerp, multiply-add
# and add-multiply 3; the others 2).
OPERANDS = (1, 2, 2, 2, 3, 2, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1)


def _sources_read(stages: np.ndarray, count: int) -> set[int]:
    """The TexEnv sources the first ``count`` stages' colour and alpha operations use."""
    used = set()
    for row in stages[:count]:
        sources, combiner = int(row[0]), int(row[2])
        for shift, op in ((0, combiner & 0xF), (16, (combiner >> 16) & 0xF)):
            for k in range(OPERANDS[op]):
                used.add((sources >> (shift + 4 * k)) & 0xF)
    return used


def lighting_read(stages: np.ndarray, count: int) -> bool:
    """Whether the first ``count`` stages read a fragment lighting colour (source 1 or 2): only
    then is lighting computed.

    >>> lighting_read(np.array([[0x00010002, 0, 0, 0, 0]], np.uint32), 1)
    True
    >>> lighting_read(np.array([[0x00000020, 0, 0, 0, 0]], np.uint32), 1)  # REPLACE reads one source
    False
    """
    return bool(_sources_read(stages, count) & {1, 2})


def proctex_read(stages: np.ndarray, count: int) -> bool:
    """Whether the first ``count`` stages read the procedural texture (source 6).

    >>> proctex_read(np.array([[0x00000006, 0, 0, 0, 0]], np.uint32), 1)
    True
    """
    return 6 in _sources_read(stages, count)


def textures_read(stages: np.ndarray, count: int) -> int:
    """Which texture units (bit i: texture i, of 0-2) the first ``count`` stages read: the
    sources their colour and alpha operations use (a source an operation ignores is not
    sampled, so a unit left on with a stale address costs nothing and faults nothing).

    >>> stages = np.array([[0x00F30003, 0, 0, 0, 0], [0x0045, 0, 0x1, 0, 0]], np.uint32)
    >>> textures_read(stages, 1), textures_read(stages, 2)
    (1, 7)
    """
    return sum(1 << (sel - 3) for sel in _sources_read(stages, count) if 3 <= sel <= 5)


@njit(cache=True, nogil=True, error_model="numpy")
def texenv(stages, constants, buffer_color, update, src, args, out, count=6):
    """Run the first ``count`` combiner stages for one fragment; ``out`` gets (r, g, b, a).

    ``src`` (SOURCE_ROWS, 4) holds the fragment's primary colour in row PRIMARY and its texture
    colours in rows TEXTURE0.. (the rest is scratch),
    ``stages`` (6, 5) the source, operand, combiner, constant and scale registers,
    ``constants`` (6, 4) each stage's constant colour; ``args`` (3, 4) is scratch.
    """
    for ch in range(4):  # stage 0 sees a black buffer, stage 1 TEXENV_BUFFER_COLOR (Azahar)
        src[PREVIOUS, ch] = src[PRIMARY, ch]
        src[BUFFER, ch] = 0
        src[ZERO, ch] = 0
    nb0, nb1, nb2, nb3 = buffer_color[0], buffer_color[1], buffer_color[2], buffer_color[3]
    for ch in range(4):
        out[ch] = src[PRIMARY, ch]
    for i in range(count):
        sources, operands, comb, scale = stages[i, 0], stages[i, 1], stages[i, 2], stages[i, 4]
        for ch in range(4):
            src[CONSTANT, ch] = constants[i, ch]
        for k in range(3):
            row = _row((sources >> (4 * k)) & 0xF)
            operand = (operands >> (4 * k)) & 0xF
            r, g, b, a = src[row, 0], src[row, 1], src[row, 2], src[row, 3]
            args[k, 0] = _rgb_operand(operand, r, r, g, b, a)
            args[k, 1] = _rgb_operand(operand, g, r, g, b, a)
            args[k, 2] = _rgb_operand(operand, b, r, g, b, a)
            row = _row((sources >> (16 + 4 * k)) & 0xF)
            args[k, 3] = _alpha_operand((operands >> (12 + 4 * k)) & 7, src[row, 0], src[row, 1], src[row, 2],
                                        src[row, 3])
        cop, aop = comb & 0xF, (comb >> 16) & 0xF
        if cop == 6 or cop == 7:
            dot = 0
            for ch in range(3):
                dot += ((args[0, ch] * 2 - 255) * (args[1, ch] * 2 - 255) + 128) // 256
            dot = max(0, min(dot, 255))
            out[0] = out[1] = out[2] = dot
        else:
            for ch in range(3):
                out[ch] = _combine(cop, args[0, ch], args[1, ch], args[2, ch])
        out[3] = out[0] if cop == 7 else _combine(aop, args[0, 3], args[1, 3], args[2, 3])
        cs, als = scale & 3, (scale >> 16) & 3
        cm, am = (1 << cs) if cs < 3 else 1, (1 << als) if als < 3 else 1
        for ch in range(3):
            out[ch] = min(out[ch] * cm, 255)
        out[3] = min(out[3] * am, 255)
        src[BUFFER, 0], src[BUFFER, 1], src[BUFFER, 2], src[BUFFER, 3] = nb0, nb1, nb2, nb3
        if i < 4:
            if (update >> (8 + i)) & 1:
                nb0, nb1, nb2 = out[0], out[1], out[2]
            if (update >> (12 + i)) & 1:
                nb3 = out[3]
        for ch in range(4):
            src[PREVIOUS, ch] = out[ch]


# -- the output merger ------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _factor(f, alpha, s, sa, d, da, c, ca):
    """Blend factor ``f`` (GPUREG_BLEND_FUNC; Azahar's LookupFactor) for one channel: ``s``,
    ``d``, ``c`` the source, destination and constant channel, ``sa``, ``da``, ``ca`` their
    alphas, ``alpha`` whether the channel is alpha. Scalars only: an array handed to an
    inlined helper costs reference counting on every call (30 ns a factor, measured)."""
    if f == 0:
        return 0
    if f == 1:
        return 255
    if f == 2:
        return s
    if f == 3:
        return 255 - s
    if f == 4:
        return d
    if f == 5:
        return 255 - d
    if f == 6:
        return sa
    if f == 7:
        return 255 - sa
    if f == 8:
        return da
    if f == 9:
        return 255 - da
    if f == 10:
        return c
    if f == 11:
        return 255 - c
    if f == 12:
        return ca
    if f == 13:
        return 255 - ca
    if f == 14:
        return 255 if alpha else min(sa, 255 - da)
    return s


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _equation(eq, s, sf, d, df):
    a, b = s * sf, d * df
    if eq == 1:
        r = (a - b) // 255
    elif eq == 2:
        r = (b - a) // 255
    elif eq == 3:
        r = _div255(min(a, b))
    elif eq == 4:
        r = _div255(max(a, b))
    else:
        r = _div255(a + b)
    return max(0, min(r, 255))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _logic(op, s, d):
    """LogicOp ``op`` (GPUREG_LOGIC_OP) on 8-bit values."""
    if op == 0:
        r = 0
    elif op == 1:
        r = s & d
    elif op == 2:
        r = s & ~d
    elif op == 3:
        r = s
    elif op == 4:
        r = 255
    elif op == 5:
        r = ~s
    elif op == 6:
        r = d
    elif op == 7:
        r = ~d
    elif op == 8:
        r = ~(s & d)
    elif op == 9:
        r = s | d
    elif op == 10:
        r = ~(s | d)
    elif op == 11:
        r = s ^ d
    elif op == 12:
        r = ~(s ^ d)
    elif op == 13:
        r = ~s & d
    elif op == 14:
        r = s | ~d
    else:
        r = ~s | d
    return r & 0xFF


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def merge(out, dst, blend, func, logic, const, res):
    """The colour written for combiner output ``out`` over ``dst``: blended (COLOR_OPERATION
    bit 8) with BLEND_FUNC's equations and factors, else combined by LOGIC_OP."""
    if blend:
        for ch in range(4):
            shift = 16 if ch < 3 else 24
            o, d, c, alpha = out[ch], dst[ch], const[ch], ch == 3
            sf = _factor((func >> shift) & 0xF, alpha, o, out[3], d, dst[3], c, const[3])
            df = _factor((func >> (shift + 4)) & 0xF, alpha, o, out[3], d, dst[3], c, const[3])
            res[ch] = _equation(func & 7 if ch < 3 else (func >> 8) & 7, out[ch], sf, dst[ch], df)
    else:
        for ch in range(4):
            res[ch] = _logic(logic, out[ch], dst[ch])


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def compare(func, a, b):
    """GPU comparison ``func`` (never, always, =, !=, <, <=, >, >=) of ``a`` with ``b``."""
    if func == 0:
        return False
    if func == 1:
        return True
    if func == 2:
        return a == b
    if func == 3:
        return a != b
    if func == 4:
        return a < b
    if func == 5:
        return a <= b
    if func == 6:
        return a > b
    return a >= b
