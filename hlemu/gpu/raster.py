"""Triangle rasterisation, the TexEnv combiners and the colour buffer write, compiled with numba.

The rules are Azahar's software rasteriser's (``renderer_software/sw_rasterizer.cpp``), which
follow the hardware: screen positions in 12.4 fixed point (rounded), pixels sampled at their
centres, a pixel on a right-hand or flat-bottom edge left to the neighbouring triangle (the
edge functions of those edges get a bias of -1), both windings drawn when culling is off
(a clockwise triangle is turned round), colours interpolated perspective-correctly (each
vertex's colour times 1/w, divided by the interpolated 1/w) and rounded to 8 bits.

The colour buffer (3dbrew "GPU/Internal Registers", GPUREG_COLORBUFFER_FORMAT) is tiled as
textures are: 8x8 tiles in Morton order, rows of tiles one after another, and stored bottom
up (pixel row y is memory row height - 1 - y). Formats: 0 RGBA8, 1 RGB8, 2 RGB5A1, 3 RGB565,
4 RGBA4; components most significant first in a little-endian word.

TexEnv (GPUREG_TEXENVi_*): six stages, each choosing three sources and an operand for each,
an operation (replace, modulate, add, add signed, lerp, subtract, dot3 RGB/RGBA, multiply-add,
add-multiply) and a scale, for colour and alpha apart; the combiner buffer (a stage reads
what the stage two before it left there: updates reach it a stage late). Sources here:
primary colour, constant, previous, previous buffer; the fragment lighting colours read as
black (as with lighting off) and the textures read as black too (texturing is not done yet).

The output merger (GPUREG_COLOR_OPERATION, BLEND_FUNC, LOGIC_OP, BLEND_COLOR; Azahar's
``sw_framebuffer.cpp``): alpha blending with the five equations and fifteen factors, or, with
blending off, one of the sixteen logic ops; then the colour write mask.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

BYTES_PER_PIXEL = (4, 3, 2, 2, 2)  # by colour buffer format
FORMAT_NAMES = ("RGBA8", "RGB8", "RGB5A1", "RGB565", "RGBA4")


@njit(cache=True, nogil=True, inline="always")
def _morton(x, y):
    return ((x & 1) | ((y & 1) << 1) | ((x & 2) << 1) | ((y & 2) << 2)
            | ((x & 4) << 2) | ((y & 4) << 3))


@njit(cache=True, nogil=True, inline="always")
def pixel_offset(x, y, width, height, bpp):
    """Byte offset of pixel (x, y) (y up from the bottom) in a tiled buffer."""
    row = height - 1 - y
    return (((row >> 3) * (width >> 3) + (x >> 3)) * 64 + _morton(x & 7, row & 7)) * bpp


@njit(cache=True, nogil=True, inline="always")
def _store(buf, off, fmt, r, g, b, a, mask):
    if mask != 0xF:  # keep the channels the colour mask protects
        old = _load(buf, off, fmt)
        r = r if mask & 1 else old[0]
        g = g if mask & 2 else old[1]
        b = b if mask & 4 else old[2]
        a = a if mask & 8 else old[3]
    if fmt == 0:
        buf[off], buf[off + 1], buf[off + 2], buf[off + 3] = a, b, g, r
        return
    if fmt == 1:
        buf[off], buf[off + 1], buf[off + 2] = b, g, r
        return
    if fmt == 2:
        w = ((r >> 3) << 11) | ((g >> 3) << 6) | ((b >> 3) << 1) | (a >> 7)
    elif fmt == 3:
        w = ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3)
    else:
        w = ((r >> 4) << 12) | ((g >> 4) << 8) | ((b >> 4) << 4) | (a >> 4)
    buf[off] = w & 0xFF
    buf[off + 1] = w >> 8


@njit(cache=True, nogil=True, inline="always")
def _load(buf, off, fmt):
    if fmt == 0:
        return np.int64(buf[off + 3]), np.int64(buf[off + 2]), np.int64(buf[off + 1]), np.int64(buf[off])
    if fmt == 1:
        return np.int64(buf[off + 2]), np.int64(buf[off + 1]), np.int64(buf[off]), np.int64(255)
    w = np.int64(buf[off]) | (np.int64(buf[off + 1]) << 8)
    if fmt == 2:
        r, g, b = (w >> 11) & 0x1F, (w >> 6) & 0x1F, (w >> 1) & 0x1F
        return (r << 3) | (r >> 2), (g << 3) | (g >> 2), (b << 3) | (b >> 2), (w & 1) * 255
    if fmt == 3:
        r, g, b = (w >> 11) & 0x1F, (w >> 5) & 0x3F, w & 0x1F
        return (r << 3) | (r >> 2), (g << 2) | (g >> 4), (b << 3) | (b >> 2), np.int64(255)
    return ((w >> 12) & 0xF) * 17, ((w >> 8) & 0xF) * 17, ((w >> 4) & 0xF) * 17, (w & 0xF) * 17


# -- TexEnv ------------------------------------------------------------------------------------
# Rows of the per-fragment source table (no allocation per pixel: the table is the caller's).
PRIMARY, CONSTANT, PREVIOUS, BUFFER, ZERO = 0, 1, 2, 3, 4


@njit(cache=True, nogil=True, inline="always")
def _row(sel):
    """The source table row of TexEnv source ``sel``."""
    if sel == 0:
        return PRIMARY
    if sel == 0xD:
        return BUFFER
    if sel == 0xE:
        return CONSTANT
    if sel == 0xF:
        return PREVIOUS
    return ZERO  # fragment lighting and textures: black for now


@njit(cache=True, nogil=True, inline="always")
def _rgb_operand(src, row, operand, ch):
    """Channel ``ch`` of a colour operand: the source's colour, alpha or one channel, or 255 minus."""
    kind = operand >> 1
    if kind == 1:
        v = src[row, 3]
    elif kind == 2:
        v = src[row, 0]
    elif kind == 4:
        v = src[row, 1]
    elif kind == 6:
        v = src[row, 2]
    else:
        v = src[row, ch]
    return 255 - v if operand & 1 else v


@njit(cache=True, nogil=True, inline="always")
def _alpha_operand(src, row, operand):
    sel = (operand >> 1) & 3
    v = src[row, 3] if sel == 0 else src[row, sel - 1]
    return 255 - v if operand & 1 else v


@njit(cache=True, nogil=True, inline="always")
def _combine(op, a, b, c):
    if op == 0:
        return a
    if op == 1:
        return a * b // 255
    if op == 2:
        return min(a + b, 255)
    if op == 3:
        return max(0, min(a + b - 128, 255))
    if op == 4:
        return (a * c + b * (255 - c)) // 255
    if op == 5:
        return max(a - b, 0)
    if op == 8:
        return min((a * b + 255 * c) // 255, 255)
    if op == 9:
        return min(a + b, 255) * c // 255
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
        return (int(row[0]) & 0xF000F == source * 0x10001 and int(row[1]) & 0x7000F == 0
                and int(row[2]) & 0xF000F == 0 and int(row[4]) & 0x30003 == 0)

    count = 6
    while count and passes(stages[count - 1], 0xF):
        count -= 1
    if count == 1 and passes(stages[0], 0):
        return 0
    return count


@njit(cache=True, nogil=True)
def texenv(stages, constants, buffer_color, update, src, args, out, count=6):
    """Run the first ``count`` combiner stages for one fragment; ``out`` gets (r, g, b, a).

    ``src`` (5, 4) holds the fragment's primary colour in row PRIMARY (the rest is scratch),
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
            for ch in range(3):
                args[k, ch] = _rgb_operand(src, row, operand, ch)
            args[k, 3] = _alpha_operand(src, _row((sources >> (16 + 4 * k)) & 0xF), (operands >> (12 + 4 * k)) & 7)
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
@njit(cache=True, nogil=True, inline="always")
def _factor(f, ch, out, dst, const):
    """Blend factor ``f`` (GPUREG_BLEND_FUNC; Azahar's LookupFactor) for channel ``ch``."""
    if f == 0:
        return 0
    if f == 1:
        return 255
    if f == 2:
        return out[ch]
    if f == 3:
        return 255 - out[ch]
    if f == 4:
        return dst[ch]
    if f == 5:
        return 255 - dst[ch]
    if f == 6:
        return out[3]
    if f == 7:
        return 255 - out[3]
    if f == 8:
        return dst[3]
    if f == 9:
        return 255 - dst[3]
    if f == 10:
        return const[ch]
    if f == 11:
        return 255 - const[ch]
    if f == 12:
        return const[3]
    if f == 13:
        return 255 - const[3]
    if f == 14:
        return 255 if ch == 3 else min(out[3], 255 - dst[3])
    return out[ch]


@njit(cache=True, nogil=True, inline="always")
def _equation(eq, s, sf, d, df):
    a, b = s * sf, d * df
    if eq == 1:
        r = (a - b) // 255
    elif eq == 2:
        r = (b - a) // 255
    elif eq == 3:
        r = min(a, b) // 255
    elif eq == 4:
        r = max(a, b) // 255
    else:
        r = (a + b) // 255
    return max(0, min(r, 255))


@njit(cache=True, nogil=True, inline="always")
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


@njit(cache=True, nogil=True)
def merge(out, dst, blend, func, logic, const, res):
    """The colour written for combiner output ``out`` over ``dst``: blended (COLOR_OPERATION
    bit 8) with BLEND_FUNC's equations and factors, else combined by LOGIC_OP."""
    if blend:
        for ch in range(4):
            shift = 16 if ch < 3 else 24
            sf = _factor((func >> shift) & 0xF, ch, out, dst, const)
            df = _factor((func >> (shift + 4)) & 0xF, ch, out, dst, const)
            res[ch] = _equation(func & 7 if ch < 3 else (func >> 8) & 7, out[ch], sf, dst[ch], df)
    else:
        for ch in range(4):
            res[ch] = _logic(logic, out[ch], dst[ch])


@njit(cache=True, nogil=True, inline="always")
def _compare(func, a, b):
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


# -- triangles ---------------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _area(ax, ay, bx, by, cx, cy):
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


@njit(cache=True, nogil=True, inline="always")
def _right_or_flat_bottom(vx, vy, ax, ay, bx, by):
    if ay == by:
        return vy < ay
    num, den = (bx - ax) * (vy - ay), by - ay
    q = abs(num) // abs(den)  # C's division, which truncates toward zero (Azahar's code is C++)
    return vx < ax + (q if (num < 0) == (den < 0) else -q)


@njit(cache=True, nogil=True)
def draw_triangles(tris, fx, fy, invw, colors, buf, width, height, fmt, mask, cull, stages,
                   buffer_color, update, count, blend, func, logic, blend_color, alpha_test, scissor,
                   z, depth, dbuf, dfmt):
    """Rasterise triangles ``tris`` (t, 3) of vertices at 12.4 fixed-point (fx, fy) into ``buf``.

    ``colors`` (n, 4) are the vertices' colours in 0..1 times their 1/w (``invw``); ``count``
    the TexEnv stages to run (:func:`stages_needed`); ``blend``, ``func``, ``logic`` and
    ``blend_color`` the output merger's registers (see :func:`merge`); ``alpha_test`` the
    GPUREG_FRAGOP_ALPHA_TEST register (bit 0 on, bits 4-6 the comparison: never, always, =,
    !=, <, <=, >, >= of the fragment's alpha against bits 8-15); ``scissor`` (mode, x1, y1,
    x2, y2) in pixels, mode 0 off, 1 drop the pixels inside the box, 3 keep only them.
    ``z`` (n,) are the vertices' z / w; ``depth`` (test on, comparison, write on, scale,
    offset, z-buffering) as floats; ``dbuf`` the depth buffer in format ``dfmt`` (0 D16,
    2 D24, 3 D24S8), empty when no depth is tested or written. Returns
    the number of pixels written and the lowest and highest pixel rows written.
    """
    bpp = BYTES_PER_PIXEL[fmt]
    pixels = 0
    low, high = height, -1
    src = np.zeros((5, 4), np.int64)
    args = np.zeros((3, 4), np.int64)
    out = np.zeros(4, np.int64)
    dst = np.zeros(4, np.int64)
    res = np.zeros(4, np.int64)
    const = np.zeros(4, np.int64)
    for ch in range(4):
        const[ch] = (blend_color >> (8 * ch)) & 0xFF
    plain = not blend and logic == 3  # logic op COPY: the output replaces the pixel
    smode, sx1, sy1, sx2, sy2 = scissor[0], scissor[1], scissor[2], scissor[3], scissor[4]
    dtest, dfunc, dwrite = depth[0] != 0, np.int64(depth[1]), depth[2] != 0
    dscale, doffset, zbuffer = depth[3], depth[4], depth[5] != 0
    use_depth = dbuf.shape[0] > 0 and (dtest or dwrite)
    dbpp = 2 if dfmt == 0 else 3 if dfmt == 2 else 4
    dmax = 0xFFFF if dfmt == 0 else 0xFFFFFF
    st = stages.astype(np.int64)
    constants = np.zeros((6, 4), np.int64)
    for i in range(6):
        for ch in range(4):
            constants[i, ch] = (st[i, 3] >> (8 * ch)) & 0xFF
    for t in range(tris.shape[0]):
        i0, i1, i2 = tris[t, 0], tris[t, 1], tris[t, 2]
        area = _area(fx[i0], fy[i0], fx[i1], fy[i1], fx[i2], fy[i2])
        if cull == 1:  # keep clockwise: turn it round, then drop what is not counter-clockwise
            i1, i2 = i2, i1
            area = -area
        if area <= 0:
            if cull == 1 or cull == 2:
                continue
            i1, i2 = i2, i1
            area = -area
            if area == 0:
                continue
        x0, y0, x1, y1, x2, y2 = fx[i0], fy[i0], fx[i1], fy[i1], fx[i2], fy[i2]
        min_x, min_y = min(x0, x1, x2), min(y0, y1, y2)
        max_x, max_y = max(x0, x1, x2), max(y0, y1, y2)
        if smode == 3:  # include: the box bounds the triangle (x2, y2 cover their whole pixel)
            min_x, min_y = max(min_x, sx1 << 4), max(min_y, sy1 << 4)
            max_x, max_y = min(max_x, (sx2 + 1) << 4), min(max_y, (sy2 + 1) << 4)
        min_x = max(min_x & ~0xF, 0)
        min_y = max(min_y & ~0xF, 0)
        max_x = min((max_x + 0xF) & ~0xF, width << 4)
        max_y = min((max_y + 0xF) & ~0xF, height << 4)
        bias0 = -1 if _right_or_flat_bottom(x0, y0, x1, y1, x2, y2) else 0
        bias1 = -1 if _right_or_flat_bottom(x1, y1, x2, y2, x0, y0) else 0
        bias2 = -1 if _right_or_flat_bottom(x2, y2, x0, y0, x1, y1) else 0
        for y in range(min_y + 8, max_y, 16):
            for x in range(min_x + 8, max_x, 16):
                if smode == 1 and x >= sx1 << 4 and x < (sx2 + 1) << 4 and y >= sy1 << 4 and y < (sy2 + 1) << 4:
                    continue
                w0 = bias0 + _area(x1, y1, x2, y2, x, y)
                w1 = bias1 + _area(x2, y2, x0, y0, x, y)
                w2 = bias2 + _area(x0, y0, x1, y1, x, y)
                if w0 < 0 or w1 < 0 or w2 < 0:
                    continue
                scale = 255.0 / (invw[i0] * w0 + invw[i1] * w1 + invw[i2] * w2)
                for ch in range(4):
                    v = (colors[i0, ch] * w0 + colors[i1, ch] * w1 + colors[i2, ch] * w2) * scale
                    # C's round() (Azahar's), for the non-negative values colours are
                    src[PRIMARY, ch] = max(0, min(255, np.int64(math.floor(v + 0.5))))
                if count:
                    texenv(st, constants, buffer_color, update, src, args, out, count)
                else:  # the pass-through: the fragment is its primary colour
                    out[0], out[1], out[2], out[3] = src[PRIMARY, 0], src[PRIMARY, 1], src[PRIMARY, 2], src[PRIMARY, 3]
                if alpha_test & 1 and not _compare((alpha_test >> 4) & 7, out[3], (alpha_test >> 8) & 0xFF):
                    continue
                px, py = x >> 4, y >> 4
                if use_depth:
                    wsum = w0 + w1 + w2
                    d = (z[i0] * w0 + z[i1] * w1 + z[i2] * w2) / wsum * dscale + doffset
                    if not zbuffer:  # W-buffering: times the interpolated w
                        d *= wsum / (invw[i0] * w0 + invw[i1] * w1 + invw[i2] * w2)
                    zint = np.int64(min(max(d, 0.0), 1.0) * dmax)
                    doff = pixel_offset(px, py, width, height, dbpp)
                    if dtest:
                        stored = np.int64(dbuf[doff]) | np.int64(dbuf[doff + 1]) << 8
                        if dbpp > 2:
                            stored |= np.int64(dbuf[doff + 2]) << 16
                        if not _compare(dfunc, zint, stored):
                            continue
                    if dwrite:
                        dbuf[doff] = zint & 0xFF
                        dbuf[doff + 1] = (zint >> 8) & 0xFF
                        if dbpp > 2:
                            dbuf[doff + 2] = (zint >> 16) & 0xFF
                off = pixel_offset(px, py, width, height, bpp)
                if plain:
                    _store(buf, off, fmt, out[0], out[1], out[2], out[3], mask)
                else:
                    dst[0], dst[1], dst[2], dst[3] = _load(buf, off, fmt)
                    merge(out, dst, blend, func, logic, const, res)
                    _store(buf, off, fmt, res[0], res[1], res[2], res[3], mask)
                pixels += 1
                low, high = min(low, py), max(high, py)
    return pixels, low, high
