"""The span rasteriser: the state a citro2d frame draws with, pixel for pixel what
:func:`hlemu.gpu.raster.draw_triangles` draws, several times faster.

:func:`draw_triangles` decides everything per fragment: which TexEnv source each operand reads
(decoded from the registers' nibbles), which texture format and tiling a texel has (through
four nested calls, each handing arrays on, which numba reference-counts), and it tests every
pixel of a triangle's bounding box (a quad's two triangles test twice the pixels they cover).
Here the draw's state is decoded once, into flat tables, and the per-fragment work is scalar:

- each row of a triangle is a span: the first and last pixel centre all three edge functions
  cover, solved exactly in integers (an edge function is linear along the row), so only
  covered pixels are visited and each gets the same integer weights;
- the textures' level 0 is decoded once a draw by :func:`hlemu.gpu.texture.texel` itself into
  packed RGBA words (so a fetch is one load), sampled nearest or linear as
  :func:`hlemu.gpu.texture.sample` does, with its wraps and border;
- the TexEnv stages come pre-decoded: each operand's source row (each stage's constant colour
  its own row of the source table), operand, operation and scale.

The arithmetic is the general path's, expression for expression (the same float operations
in the same order, the same integer rounding), so the pixels are bit-identical;
tests/gpu/test_spans.py draws random states both ways and compares every byte.

:func:`handles` says which draws take this path (the procedural texture included, through
:func:`hlemu.gpu.proctex.evaluate` as the general path calls it): no fragment lighting, no fog, the scissor
off or including (not excluding), and textures without a level of detail to work out (no
mipmaps: the level clamps to 0, the magnification filter) and not cube maps. Everything else
takes the general path. The depth and stencil tests and writes (every comparison, D16, D24
and D24S8, the depth mask, the stencil operations and masks) are the general path's code run
in its order after the alpha test: stencil, depth, then blending and the colour mask.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from hlemu.gpu import texture
from hlemu.gpu.fragment import (
    BUFFER,
    CONSTANT,
    PREVIOUS,
    PRIMARY,
    SOURCE_ROWS,
    TEXTURE0,
    TEXTURE3,
    ZERO,
    _alpha_operand,
    _combine,
    _div255,
    _equation,
    _factor,
    _logic,
    _rgb_operand,
    _row,
    compare,
)
from hlemu.gpu.pixels import BYTES_PER_PIXEL, decode, encode
from hlemu.gpu.proctex import S_COORD as S_PROC_COORD
from hlemu.gpu.proctex import S_ON as S_PROC_ON
from hlemu.gpu.proctex import SETTINGS as PROC_SETTINGS
from hlemu.gpu.proctex import evaluate as proctex_evaluate
from hlemu.gpu.raster import (
    DEPTH_ROW_CHANGED,
    FRAGMENT_PASSES,
    STENCIL_ALLOW,
    STENCIL_FAIL,
    STENCIL_FUNC,
    STENCIL_INPUT_MASK,
    STENCIL_ON,
    STENCIL_REF,
    STENCIL_WRITE_MASK,
    STENCIL_ZFAIL,
    STENCIL_ZPASS,
    WRITE_DEPTH,
    WRITE_STENCIL,
    _area,
    depth_stencil,
    pixel_offset,
    triangle_setup,
)
from hlemu.gpu.texture import _border, _wrap, texel

__all__ = ["decode_textures", "draw", "draw_spans", "handles", "source_rows", "texenv_table", "texture_table"]

ROWS = SOURCE_ROWS + 6  # the source table with each stage's constant colour in a row of its own
# Columns of the per-draw texture table (int64, (3, TEX_FIELDS)).
T_START, T_WIDTH, T_HEIGHT, T_WRAP_S, T_WRAP_T, T_LINEAR, T_BORDER, T_COORD, T_PROJECT = range(9)
TEX_FIELDS = 9
OVER = 0x76760000  # BLEND_FUNC: add, source alpha and one minus source alpha (citro2d's and citro3d's default)


def handles(lit: bool, update_buffer: int, scissor_mode: int, units: np.ndarray, sampled: int) -> bool:
    """Whether a draw with this state takes the span rasteriser (see the module's docstring):
    lighting, fog (TEXENV_UPDATE_BUFFER mode 5), the excluding scissor (mode 1), a texture
    with mipmaps (a level of detail to work out) or a cube map send it to the general path;
    depth and stencil do not.

    >>> table = np.zeros((3, texture.CONFIG_FIELDS), np.int64)
    >>> handles(False, 0, 0, table, 0), handles(True, 0, 0, table, 0), handles(False, 5, 0, table, 0)
    (True, False, False)
    """
    if lit or update_buffer & 7 == 5 or scissor_mode == 1:
        return False
    for unit in range(3):
        if sampled >> unit & 1:
            row = units[unit]
            # (without mipmaps the level of detail clamps to 0: the magnification filter, whatever
            # the minification one says)
            if row[texture.CUBE] or row[texture.MAX_LEVEL] > 0:
                return False
    return True


def texenv_table(stages: np.ndarray) -> np.ndarray:
    """The six TexEnv stages (rows of source, operand, combiner, constant and scale registers)
    decoded as (6, 17) int64: the colour operands' source rows and operands, the alpha
    operands' source rows and operands, the colour and alpha operations, their multipliers,
    and whether the stage is a plain REPLACE or MODULATE (column 16)."""
    table = np.zeros((6, 17), np.int64)
    for i, row in enumerate(stages):
        sources, operands, comb, scale = int(row[0]), int(row[1]), int(row[2]), int(row[4])
        for k in range(3):
            table[i, k] = _source_row((sources >> (4 * k)) & 0xF, i)
            table[i, 3 + k] = (operands >> (4 * k)) & 0xF
            table[i, 6 + k] = _source_row((sources >> (16 + 4 * k)) & 0xF, i)
            table[i, 9 + k] = (operands >> (12 + 4 * k)) & 7
        table[i, 12], table[i, 13] = comb & 0xF, (comb >> 16) & 0xF
        cs, als = scale & 3, (scale >> 16) & 3
        table[i, 14], table[i, 15] = (1 << cs) if cs < 3 else 1, (1 << als) if als < 3 else 1
        # the colour operands read own channels, the alpha ones alpha (operand 0), the operations
        # REPLACE or MODULATE (0, 1), the scales 1: the common stage, computed without the tables
        table[i, 16] = int(operands & 0xFF == 0 and operands >> 12 & 0x77 == 0 and comb & 0xF < 2
                           and (comb >> 16) & 0xF < 2 and scale & 0x30003 == 0)
    return table


def _source_row(sel: int, stage: int) -> int:
    row = _row(sel)
    return SOURCE_ROWS + stage if row == CONSTANT else row


def source_rows(stages: np.ndarray, units: np.ndarray) -> np.ndarray:
    """The source table a draw starts from: the stages' constant colours (rows SOURCE_ROWS..)
    and the fixed colour of every unit (a sampled one's row is overwritten per fragment)."""
    rows = np.zeros((ROWS, 4), np.int64)
    for i in range(6):
        rows[SOURCE_ROWS + i] = [(int(stages[i, 3]) >> (8 * ch)) & 0xFF for ch in range(4)]
    for unit in range(3):
        rows[TEXTURE0 + unit] = [(int(units[unit, texture.FIXED]) >> (8 * ch)) & 0xFF for ch in range(4)]
    return rows


def texture_table(units: np.ndarray, sampled: int) -> np.ndarray:
    """Where each sampled unit's decoded level 0 starts in :func:`decode_textures`' words,
    its size, wraps, filter, border colour, coordinate column and projection."""
    table = np.zeros((3, TEX_FIELDS), np.int64)
    start = 0
    for unit in range(3):
        if sampled >> unit & 1:
            row = units[unit]
            table[unit] = [start, row[texture.WIDTH], row[texture.HEIGHT], row[texture.WRAP_S], row[texture.WRAP_T],
                           row[texture.MAG], row[texture.BORDER], 2 * row[texture.COORD], row[texture.PROJECT]]
            start += int(row[texture.WIDTH] * row[texture.HEIGHT])
    return table


@njit(cache=True, nogil=True, error_model="numpy")
def decode_textures(data, units, table, sampled):
    """Level 0 of each sampled unit as packed words r | g << 8 | b << 16 | a << 24, row by
    row in memory order (the top first), decoded by :func:`texel` (so exactly its colours)."""
    total = 0
    for unit in range(3):
        if sampled >> unit & 1:
            total += table[unit, T_WIDTH] * table[unit, T_HEIGHT]
    out = np.zeros(total, np.uint32)
    for unit in range(3):
        if sampled >> unit & 1:
            start, w, h = table[unit, T_START], table[unit, T_WIDTH], table[unit, T_HEIGHT]
            base, fmt = units[unit, texture.OFFSET], units[unit, texture.FORMAT]
            for y in range(h):
                for x in range(w):
                    r, g, b, a = texel(data, base, fmt, w, x, y)
                    out[start + y * w + x] = r | (g << 8) | (b << 16) | (a << 24)
    return out


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _first_last(d, e, lo, hi):
    """Narrow columns lo..hi to those k where the edge function d + e * k is not negative."""
    if e > 0:
        return max(lo, -(d // e)), hi
    if e < 0:
        return lo, min(hi, d // -e)
    return (lo, hi) if d >= 0 else (1, 0)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _row_steps(min_x, max_x, y0, y1, y2):
    """A triangle's row walk over its box: the first pixel centre of a row, the columns a row
    has, and what each edge function steps by a pixel along the row (-16 * its edge's dy)."""
    xs = min_x + 8
    return xs, (max_x - xs + 15) // 16, -16 * (y2 - y1), -16 * (y0 - y2), -16 * (y1 - y0)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _row_span(x0, y0, x1, y1, x2, y2, bias0, bias1, bias2, xs, y, e0, e1, e2, columns):
    """Row ``y``'s edge functions at its first pixel centre ``xs`` and the first and last of
    its ``columns`` pixels all three cover (last < first: none)."""
    d0 = bias0 + (x2 - x1) * (y - y1) - (y2 - y1) * (xs - x1)
    d1 = bias1 + (x0 - x2) * (y - y2) - (y0 - y2) * (xs - x2)
    d2 = bias2 + (x1 - x0) * (y - y0) - (y1 - y0) * (xs - x0)
    first, last = _first_last(d0, e0, 0, columns - 1)
    first, last = _first_last(d1, e1, first, last)
    first, last = _first_last(d2, e2, first, last)
    return d0, d1, d2, first, last


@njit(cache=True, nogil=True, error_model="numpy")
def row_pixels(tris, fx, fy, width, height, cull, scissor):
    """The pixels each row of the target gets from ``tris``, by draw_spans' own spans."""
    counts = np.zeros(height, np.int64)
    for t in range(tris.shape[0]):
        keep, i0, i1, i2, min_x, min_y, max_x, max_y, bias0, bias1, bias2 = triangle_setup(
            tris, t, fx, fy, cull, scissor[0], scissor[1], scissor[2], scissor[3], scissor[4], width, height)
        if not keep:
            continue
        x0, y0, x1, y1, x2, y2 = fx[i0], fy[i0], fx[i1], fy[i1], fx[i2], fy[i2]
        xs, columns, e0, e1, e2 = _row_steps(min_x, max_x, y0, y1, y2)
        for y in range(min_y + 8, max_y, 16):
            _d0, _d1, _d2, first, last = _row_span(x0, y0, x1, y1, x2, y2, bias0, bias1, bias2, xs, y, e0, e1, e2,
                                                   columns)
            if last >= first:
                counts[y >> 4] += last - first + 1
    return counts


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _flat_color(colors, i0, i1, i2, iw0, iw1, iw2, weights, src):
    """Whether every pixel of the triangle gets one primary colour, which is then in
    ``src[PRIMARY]``: when its corners have the same colour c (times 1/w) and the same 1/w j.

    A pixel's colour is round(255 (c w0 + c w1 + c w2) / (j w0 + j w1 + j w2)) computed in
    float64: over non-negative edge weights whose sum (``weights``, the same at every pixel)
    is positive, each sum of three products is within 3 ulps of c (w0 + w1 + w2) or
    j (w0 + w1 + w2), so the quotient times 255 is within 8 ulps of 255 c / j whatever the
    weights. When 255 c / j + 0.5 is further than 1e-9 (relative, millions of ulps) from an
    integer, every pixel rounds to the same colour; otherwise each pixel is computed."""
    if not (iw0 == iw1 and iw1 == iw2 and iw0 > 0 and weights > 0 and iw0 < math.inf):
        return False
    for ch in range(4):
        c = colors[i0, ch]
        if not (c == colors[i1, ch] and c == colors[i2, ch] and c >= 0):
            return False
        x = 255.0 * c / iw0 + 0.5
        if not x < 1e15 or abs(x - math.floor(x + 0.5)) <= 1e-9 * (x + 1.0):
            return False
    for ch in range(4):
        src[PRIMARY, ch] = max(0, min(255, np.int64(math.floor(255.0 * colors[i0, ch] / iw0 + 0.5))))
    return True


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _index(width, height, ws, wt, s, t):
    """Where texel (s, t) (t up from the bottom) is in a unit's decoded words, wrapped, or -1
    when it reads the border colour (texture.fetch's rules)."""
    if _border(ws, s, width) or _border(wt, t, height):
        return np.int64(-1)
    return (height - 1 - _wrap(wt, t, height)) * width + _wrap(ws, s, width)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _taps(width, height, ws, wt, linear, fs, ft):
    """The texels a sample at texel coordinates (fs, ft) = (u * width, v * height) reads, as
    :func:`_index` gives them, and the linear filter's fractions: nearest one texel (four
    times), linear the four around (fs - 0.5, ft - 0.5), s then t, as texture.sample takes
    them on level 0. The fetches are the caller's: the helpers of the fragment loop take
    scalars only, as an array handed to one is reference counted on every call."""
    if not linear:
        i = _index(width, height, ws, wt, np.int64(math.floor(fs)), np.int64(math.floor(ft)))
        return i, i, i, i, 0.0, 0.0
    fs, ft = fs - 0.5, ft - 0.5
    s0, t0 = math.floor(fs), math.floor(ft)
    a, b = fs - s0, ft - t0
    s0, t0 = np.int64(s0), np.int64(t0)
    return (_index(width, height, ws, wt, s0, t0), _index(width, height, ws, wt, s0 + 1, t0),
            _index(width, height, ws, wt, s0, t0 + 1), _index(width, height, ws, wt, s0 + 1, t0 + 1), a, b)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _mix(shift, a, b, x0, x1, x2, x3):
    """One channel (at bit ``shift`` of the packed words) of the linear filter over the texels
    x0..x3 of :func:`_taps`: texture.sample's weights, summed in its order, rounded."""
    acc = 0.0
    acc += 1.0 * (1.0 - a) * (1.0 - b) * ((x0 >> shift) & 0xFF)
    acc += 1.0 * a * (1.0 - b) * ((x1 >> shift) & 0xFF)
    acc += 1.0 * (1.0 - a) * b * ((x2 >> shift) & 0xFF)
    acc += 1.0 * a * b * ((x3 >> shift) & 0xFF)
    return min(255, np.int64(math.floor(acc + 0.5)))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _filter(linear, a, b, x0, x1, x2, x3):
    """(r, g, b, a) of a sample from the packed texels its :func:`_taps` fetched."""
    if not linear:
        return x0 & 0xFF, (x0 >> 8) & 0xFF, (x0 >> 16) & 0xFF, (x0 >> 24) & 0xFF
    return (_mix(0, a, b, x0, x1, x2, x3), _mix(8, a, b, x0, x1, x2, x3), _mix(16, a, b, x0, x1, x2, x3),
            _mix(24, a, b, x0, x1, x2, x3))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _stage0_row(row):
    """The source row stage 0 reads for ``row``: the previous colour is the primary one there,
    the buffer black (ZERO)."""
    return PRIMARY if row == PREVIOUS else ZERO if row == BUFFER else row


@njit(cache=True, nogil=True, error_model="numpy")
def draw_spans(tris, fx, fy, invw, colors, buf, width, height, fmt, mask, cull, scissor, alpha_test, env, count,
               rows, buffer_color, update, blend, func, logic, blend_color, uvs, texels, tex, sampled, z, depth, dbuf,
               dfmt, stencil, proc_params, proc_luts, band_lo, band_hi):
    """Rasterise triangles as :func:`hlemu.gpu.raster.draw_triangles` does, for the state
    :func:`handles` accepts: ``env`` (:func:`texenv_table`), ``rows`` (:func:`source_rows`),
    ``texels`` (:func:`decode_textures`) and ``tex`` (:func:`texture_table`) in place of the
    registers; the other arguments (``z``, ``depth``, ``dbuf``, ``dfmt``, ``stencil`` and the
    procedural texture's ``proc_params`` and ``proc_luts`` among them) are draw_triangles'.
    Only pixel rows ``band_lo`` to ``band_hi - 1`` are drawn (:func:`draw` gives two bands of a
    large draw to two threads). Returns the pixels written, the lowest and highest rows written, and the lowest and
    highest rows whose depth or stencil changed."""
    bpp = BYTES_PER_PIXEL[fmt]
    pixels = 0
    low, high = height, -1
    dlow, dhigh = height, -1
    src = rows.copy()
    args = np.zeros((3, 4), np.int64)
    proc_on = proc_params[S_PROC_ON] != 0
    uv = np.zeros(uvs.shape[1], np.float64)  # the procedural texture's coordinates (draw_triangles' way)
    pc = 2 * np.int64(proc_params[S_PROC_COORD])  # the pair of them evaluate() reads
    # evaluate() is a function of those two alone: a fragment whose pair is bit for bit the last
    # one's gets the last colour (citro2d's blend factor is one value a sprite, so most do)
    last_u, last_v = math.nan, math.nan
    p0 = p1 = p2 = p3 = np.int64(0)
    nb0, nb1, nb2, nb3 = buffer_color[0], buffer_color[1], buffer_color[2], buffer_color[3]
    c0, c1, c2, c3 = (blend_color & 0xFF, (blend_color >> 8) & 0xFF, (blend_color >> 16) & 0xFF,
                      (blend_color >> 24) & 0xFF)
    sf_rgb, df_rgb, sf_a, df_a = (func >> 16) & 0xF, (func >> 20) & 0xF, (func >> 24) & 0xF, (func >> 28) & 0xF
    eq_rgb, eq_a = func & 7, (func >> 8) & 7
    plain = not blend and logic == 3
    over = blend and func == OVER
    test_alpha, alpha_func, alpha_ref = alpha_test & 1, (alpha_test >> 4) & 7, (alpha_test >> 8) & 0xFF
    start0, width0, height0, ws0, wt0 = tex[0, T_START], tex[0, T_WIDTH], tex[0, T_HEIGHT], tex[0, T_WRAP_S], \
        tex[0, T_WRAP_T]
    linear0, border0, project0 = tex[0, T_LINEAR], tex[0, T_BORDER] & 0xFFFFFFFF, tex[0, T_PROJECT]
    # the depth and stencil settings, as draw_triangles reads them
    dtest, dfunc, dwrite = depth[0] != 0, np.int64(depth[1]), depth[2] != 0
    dscale, doffset, zbuffer = depth[3], depth[4], depth[5] != 0
    use_stencil = stencil[STENCIL_ON] != 0 and dfmt == 3
    sfunc, smask = stencil[STENCIL_FUNC], stencil[STENCIL_INPUT_MASK]
    sref = stencil[STENCIL_REF] & smask
    ops = (stencil[STENCIL_FAIL], stencil[STENCIL_ZFAIL], stencil[STENCIL_ZPASS], stencil[STENCIL_ALLOW],
           stencil[STENCIL_REF], stencil[STENCIL_WRITE_MASK])
    use_depth = dbuf.shape[0] > 0 and (dtest or dwrite or use_stencil)
    dbpp = 2 if dfmt == 0 else 3 if dfmt == 2 else 4
    dmax = 0xFFFF if dfmt == 0 else 0xFFFFFF
    # an RGBA8 buffer is read and written a word a pixel (the x86 and the 3DS are both little-endian)
    words = buf.view(np.uint32) if fmt == 0 and buf.shape[0] % 4 == 0 else np.zeros(0, np.uint32)
    # one plain stage (citro2d's usual TexEnv: MODULATE or REPLACE of own channels): its rows in
    # locals, stage 0's previous colour the primary one and its buffer black (a zero row)
    single = count == 1 and env[0, 16] != 0
    ra, rb, aa, ab = _stage0_row(env[0, 0]), _stage0_row(env[0, 1]), _stage0_row(env[0, 6]), _stage0_row(env[0, 7])
    cop0, aop0 = env[0, 12], env[0, 13]
    for t in range(tris.shape[0]):
        keep, i0, i1, i2, min_x, min_y, max_x, max_y, bias0, bias1, bias2 = triangle_setup(
            tris, t, fx, fy, cull, scissor[0], scissor[1], scissor[2], scissor[3], scissor[4], width, height)
        min_y, max_y = max(min_y, band_lo << 4), min(max_y, band_hi << 4)
        if not keep or min_y >= max_y:
            continue
        x0, y0, x1, y1, x2, y2 = fx[i0], fy[i0], fx[i1], fy[i1], fx[i2], fy[i2]
        iw0, iw1, iw2 = invw[i0], invw[i1], invw[i2]
        z0, z1, z2 = z[i0], z[i1], z[i2]
        c = tex[0, T_COORD]
        ua0, ua1, ua2, va0, va1, va2 = uvs[i0, c], uvs[i1, c], uvs[i2, c], uvs[i0, c + 1], uvs[i1, c + 1], \
            uvs[i2, c + 1]
        qa0, qa1, qa2 = uvs[i0, 6], uvs[i1, 6], uvs[i2, 6]
        flat = _flat_color(colors, i0, i1, i2, iw0, iw1, iw2, bias0 + bias1 + bias2 + _area(x0, y0, x1, y1, x2, y2),
                           src)
        xs, columns, e0, e1, e2 = _row_steps(min_x, max_x, y0, y1, y2)
        for y in range(min_y + 8, max_y, 16):
            d0, d1, d2, first, last = _row_span(x0, y0, x1, y1, x2, y2, bias0, bias1, bias2, xs, y, e0, e1, e2,
                                                columns)
            py = y >> 4
            for k in range(first, last + 1):
                w0, w1, w2 = d0 + e0 * k, d1 + e1 * k, d2 + e2 * k
                denom = iw0 * w0 + iw1 * w1 + iw2 * w2
                if not flat:
                    scale = 255.0 / denom
                    for ch in range(4):
                        v = (colors[i0, ch] * w0 + colors[i1, ch] * w1 + colors[i2, ch] * w2) * scale
                        src[PRIMARY, ch] = max(0, min(255, np.int64(math.floor(v + 0.5))))
                if sampled & 1:  # unit 0, its settings and corners in locals
                    u = (ua0 * w0 + ua1 * w1 + ua2 * w2) / denom
                    v = (va0 * w0 + va1 * w1 + va2 * w2) / denom
                    if project0:
                        q = (qa0 * w0 + qa1 * w1 + qa2 * w2) / denom
                        if q != 0:
                            u, v = u / q, v / q
                    j0, j1, j2, j3, fa, fb = _taps(width0, height0, ws0, wt0, linear0, u * width0, v * height0)
                    h0 = np.int64(texels[start0 + j0]) if j0 >= 0 else border0
                    h1 = h2 = h3 = h0
                    if linear0:
                        h1 = np.int64(texels[start0 + j1]) if j1 >= 0 else border0
                        h2 = np.int64(texels[start0 + j2]) if j2 >= 0 else border0
                        h3 = np.int64(texels[start0 + j3]) if j3 >= 0 else border0
                    src[TEXTURE0, 0], src[TEXTURE0, 1], src[TEXTURE0, 2], src[TEXTURE0, 3] = _filter(
                        linear0, fa, fb, h0, h1, h2, h3)
                for unit in range(1, 3):
                    if sampled >> unit & 1:
                        c = tex[unit, T_COORD]
                        u = (uvs[i0, c] * w0 + uvs[i1, c] * w1 + uvs[i2, c] * w2) / denom
                        v = (uvs[i0, c + 1] * w0 + uvs[i1, c + 1] * w1 + uvs[i2, c + 1] * w2) / denom
                        if tex[unit, T_PROJECT]:
                            q = (uvs[i0, 6] * w0 + uvs[i1, 6] * w1 + uvs[i2, 6] * w2) / denom
                            if q != 0:
                                u, v = u / q, v / q
                        tw, th, ts, lin = tex[unit, T_WIDTH], tex[unit, T_HEIGHT], tex[unit, T_START], \
                            tex[unit, T_LINEAR]
                        border = tex[unit, T_BORDER] & 0xFFFFFFFF
                        j0, j1, j2, j3, fa, fb = _taps(tw, th, tex[unit, T_WRAP_S], tex[unit, T_WRAP_T], lin, u * tw,
                                                       v * th)
                        h0 = np.int64(texels[ts + j0]) if j0 >= 0 else border
                        h1 = h2 = h3 = h0
                        if lin:
                            h1 = np.int64(texels[ts + j1]) if j1 >= 0 else border
                            h2 = np.int64(texels[ts + j2]) if j2 >= 0 else border
                            h3 = np.int64(texels[ts + j3]) if j3 >= 0 else border
                        row = TEXTURE0 + unit
                        src[row, 0], src[row, 1], src[row, 2], src[row, 3] = _filter(lin, fa, fb, h0, h1, h2, h3)
                if proc_on:  # (citro2d reads its vertices' blend factor through it, every draw)
                    pu = (uvs[i0, pc] * w0 + uvs[i1, pc] * w1 + uvs[i2, pc] * w2) / denom  # (_interpolate's)
                    pv = (uvs[i0, pc + 1] * w0 + uvs[i1, pc + 1] * w1 + uvs[i2, pc + 1] * w2) / denom
                    if pu != last_u or pv != last_v:
                        uv[pc], uv[pc + 1] = pu, pv
                        proctex_evaluate(proc_params, proc_luts, uv, src, TEXTURE3)
                        p0, p1, p2, p3 = src[TEXTURE3, 0], src[TEXTURE3, 1], src[TEXTURE3, 2], src[TEXTURE3, 3]
                        last_u, last_v = pu, pv
                    else:
                        src[TEXTURE3, 0], src[TEXTURE3, 1], src[TEXTURE3, 2], src[TEXTURE3, 3] = p0, p1, p2, p3
                o0, o1, o2, o3 = src[PRIMARY, 0], src[PRIMARY, 1], src[PRIMARY, 2], src[PRIMARY, 3]
                if single:  # the plain stage's arithmetic below, without the stage loop and its stores
                    if cop0 == 0:
                        o0, o1, o2 = src[ra, 0], src[ra, 1], src[ra, 2]
                    else:
                        o0, o1, o2 = _div255(src[ra, 0] * src[rb, 0]), _div255(src[ra, 1] * src[rb, 1]), \
                            _div255(src[ra, 2] * src[rb, 2])
                    o3 = src[aa, 3] if aop0 == 0 else _div255(src[aa, 3] * src[ab, 3])
                elif count:  # fragment.texenv's stages over the pre-decoded table
                    for ch in range(4):
                        src[PREVIOUS, ch] = src[PRIMARY, ch]
                        src[BUFFER, ch] = 0
                    b0, b1, b2, b3 = nb0, nb1, nb2, nb3
                    for i in range(count):
                        cop, aop = env[i, 12], env[i, 13]
                        if env[i, 16]:  # plain operands, REPLACE or MODULATE, scale 1: texenv's arithmetic
                            ra, rb, aa, ab = env[i, 0], env[i, 1], env[i, 6], env[i, 7]
                            if cop == 0:
                                o0, o1, o2 = src[ra, 0], src[ra, 1], src[ra, 2]
                            else:
                                o0, o1, o2 = _div255(src[ra, 0] * src[rb, 0]), _div255(src[ra, 1] * src[rb, 1]), \
                                    _div255(src[ra, 2] * src[rb, 2])
                            o3 = src[aa, 3] if aop == 0 else _div255(src[aa, 3] * src[ab, 3])
                            src[BUFFER, 0], src[BUFFER, 1], src[BUFFER, 2], src[BUFFER, 3] = b0, b1, b2, b3
                            if i < 4:
                                if (update >> (8 + i)) & 1:
                                    b0, b1, b2 = o0, o1, o2
                                if (update >> (12 + i)) & 1:
                                    b3 = o3
                            src[PREVIOUS, 0], src[PREVIOUS, 1], src[PREVIOUS, 2], src[PREVIOUS, 3] = o0, o1, o2, o3
                            continue
                        for n in range(3):
                            row, operand = env[i, n], env[i, 3 + n]
                            r, g, b, a = src[row, 0], src[row, 1], src[row, 2], src[row, 3]
                            args[n, 0] = _rgb_operand(operand, r, r, g, b, a)
                            args[n, 1] = _rgb_operand(operand, g, r, g, b, a)
                            args[n, 2] = _rgb_operand(operand, b, r, g, b, a)
                            row = env[i, 6 + n]
                            args[n, 3] = _alpha_operand(env[i, 9 + n], src[row, 0], src[row, 1], src[row, 2],
                                                        src[row, 3])
                        if cop == 6 or cop == 7:
                            dot = 0
                            for ch in range(3):
                                dot += ((args[0, ch] * 2 - 255) * (args[1, ch] * 2 - 255) + 128) // 256
                            o0 = o1 = o2 = max(0, min(dot, 255))
                        else:
                            o0 = _combine(cop, args[0, 0], args[1, 0], args[2, 0])
                            o1 = _combine(cop, args[0, 1], args[1, 1], args[2, 1])
                            o2 = _combine(cop, args[0, 2], args[1, 2], args[2, 2])
                        o3 = o0 if cop == 7 else _combine(aop, args[0, 3], args[1, 3], args[2, 3])
                        cm, am = env[i, 14], env[i, 15]
                        o0, o1, o2, o3 = min(o0 * cm, 255), min(o1 * cm, 255), min(o2 * cm, 255), min(o3 * am, 255)
                        src[BUFFER, 0], src[BUFFER, 1], src[BUFFER, 2], src[BUFFER, 3] = b0, b1, b2, b3
                        if i < 4:
                            if (update >> (8 + i)) & 1:
                                b0, b1, b2 = o0, o1, o2
                            if (update >> (12 + i)) & 1:
                                b3 = o3
                        src[PREVIOUS, 0], src[PREVIOUS, 1], src[PREVIOUS, 2], src[PREVIOUS, 3] = o0, o1, o2, o3
                if test_alpha and not compare(alpha_func, o3, alpha_ref):
                    continue
                px = (xs >> 4) + k
                if use_depth:  # draw_triangles' depth and stencil code, expression for expression
                    wsum = w0 + w1 + w2
                    dd = (z0 * w0 + z1 * w1 + z2 * w2) / wsum * dscale + doffset
                    if not zbuffer:  # W-buffering: times the interpolated w
                        dd *= wsum / denom
                    dd = min(max(dd, 0.0), 1.0)
                    zint = np.int64(dd * dmax)
                    doff = pixel_offset(px, py, width, height, dbpp)
                    # the buffer read and written here, depth_stencil deciding (expression for expression
                    # draw_triangles')
                    old_stencil = np.int64(dbuf[doff + 3]) if use_stencil else np.int64(0)
                    stored = np.int64(0)
                    if dtest:
                        stored = np.int64(dbuf[doff]) | np.int64(dbuf[doff + 1]) << 8
                        if dbpp > 2:
                            stored |= np.int64(dbuf[doff + 2]) << 16
                    ds, new_stencil = depth_stencil(stored, old_stencil, zint, use_stencil, sfunc, sref, smask, dtest,
                                                    dfunc, dwrite, ops)
                    if ds & WRITE_DEPTH:
                        dbuf[doff] = zint & 0xFF
                        dbuf[doff + 1] = (zint >> 8) & 0xFF
                        if dbpp > 2:
                            dbuf[doff + 2] = (zint >> 16) & 0xFF
                    if ds & WRITE_STENCIL:
                        dbuf[doff + 3] = new_stencil
                    if ds & DEPTH_ROW_CHANGED:
                        dlow, dhigh = min(dlow, py), max(dhigh, py)
                    if not ds & FRAGMENT_PASSES:
                        continue
                off = pixel_offset(px, py, width, height, bpp)
                if not plain or mask != 0xF:
                    if words.shape[0]:  # RGBA8 as one little-endian word: a, b, g, r from the low byte
                        word = np.int64(words[off >> 2])
                        d0_, d1_, d2_, d3_ = word >> 24, (word >> 16) & 0xFF, (word >> 8) & 0xFF, word & 0xFF
                    else:
                        d0_, d1_, d2_, d3_ = decode(buf, off, fmt)
                    if over:  # source alpha over the pixel: _equation and _factor for BLEND_FUNC 0x76760000
                        r = _div255(o0 * o3 + d0_ * (255 - o3))
                        g = _div255(o1 * o3 + d1_ * (255 - o3))
                        b = _div255(o2 * o3 + d2_ * (255 - o3))
                        a = _div255(o3 * o3 + d3_ * (255 - o3))
                    elif blend:
                        r = _equation(eq_rgb, o0, _factor(sf_rgb, False, o0, o3, d0_, d3_, c0, c3), d0_,
                                      _factor(df_rgb, False, o0, o3, d0_, d3_, c0, c3))
                        g = _equation(eq_rgb, o1, _factor(sf_rgb, False, o1, o3, d1_, d3_, c1, c3), d1_,
                                      _factor(df_rgb, False, o1, o3, d1_, d3_, c1, c3))
                        b = _equation(eq_rgb, o2, _factor(sf_rgb, False, o2, o3, d2_, d3_, c2, c3), d2_,
                                      _factor(df_rgb, False, o2, o3, d2_, d3_, c2, c3))
                        a = _equation(eq_a, o3, _factor(sf_a, True, o3, o3, d3_, d3_, c3, c3), d3_,
                                      _factor(df_a, True, o3, o3, d3_, d3_, c3, c3))
                    else:
                        r, g, b, a = _logic(logic, o0, d0_), _logic(logic, o1, d1_), _logic(logic, o2, d2_), \
                            _logic(logic, o3, d3_)
                    # the channels the colour mask protects keep what was there
                    o0, o1, o2, o3 = (r if mask & 1 else d0_), (g if mask & 2 else d1_), (b if mask & 4 else d2_), \
                        (a if mask & 8 else d3_)
                if words.shape[0]:
                    words[off >> 2] = o3 | (o2 << 8) | (o1 << 16) | (o0 << 24)
                else:
                    encode(buf, off, fmt, o0, o1, o2, o3)
                pixels += 1
                low, high = min(low, py), max(high, py)
    return pixels, low, high, dlow, dhigh


def draw(tris: np.ndarray, fx: np.ndarray, fy: np.ndarray, invw: np.ndarray, colors: np.ndarray, buf: np.ndarray,
         width: int, height: int, fmt: int, mask: int, cull: int, scissor: np.ndarray, alpha_test: int,
         stages: np.ndarray, count: int, buffer_color: np.ndarray, update: int, blend: bool, func: int, logic: int,
         blend_color: int, uvs: np.ndarray, units: np.ndarray, tex_data: np.ndarray,
         sampled: int, z: np.ndarray, depth: np.ndarray, dbuf: np.ndarray, dfmt: int,
         stencil: np.ndarray, proc_params: np.ndarray | None = None,
         proc_luts: np.ndarray | None = None) -> tuple[int, int, int, int, int]:
    """Decode the draw's TexEnv stages and textures and rasterise (arguments as
    :func:`hlemu.gpu.raster.draw_triangles` takes them); the pixels written, the lowest and
    highest rows written, and the lowest and highest rows whose depth or stencil changed. Without
    ``proc_params`` the procedural texture is off."""
    if proc_params is None or proc_luts is None:
        proc_params, proc_luts = np.zeros(PROC_SETTINGS), np.zeros((1, 1, 4))
    tex = texture_table(units, sampled)
    texels = _decoded(tex_data, units, tex, sampled)
    env, rows = _tables(stages, units)
    args = (tris, fx, fy, invw, colors, buf, width, height, fmt, mask, cull, scissor, alpha_test,
            env, count, rows, buffer_color, update, blend, func,
            logic, blend_color, uvs, texels, tex, sampled, z, depth, dbuf, dfmt, stencil, proc_params, proc_luts)
    split = _split_row(tris, fx, fy, width, height, cull, scissor)
    if split is None:
        return draw_spans(*args, 0, height)
    # Two bands of rows, one on a helper thread (draw_spans holds no interpreter lock): they write
    # disjoint pixels, and each pixel sees the triangles in the draw's order, so the bytes are
    # those of one call over every row.
    upper = _helper().submit(draw_spans, *args, 0, split)
    try:
        lower = draw_spans(*args, split, height)
    finally:
        top = upper.result()  # (also when this band failed: nothing draws on after the call returns)
    return (top[0] + lower[0], min(top[1], lower[1]), max(top[2], lower[2]), min(top[3], lower[3]),
            max(top[4], lower[4]))


# Decoded textures kept for the next draws, while their bytes stay the same: a citro2d frame
# samples the same sprite sheet or system-font sheet in draw after draw (a 256x256 A4 font sheet
# takes 0.34 ms to decode, 0.005 ms to compare). Bounded in words.
DECODED_WORDS = 4 << 20
_decoded_cache: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_tables_cache: OrderedDict[bytes, tuple[np.ndarray, np.ndarray]] = OrderedDict()
TABLES_KEPT = 64


def _decoded(tex_data: np.ndarray, units: np.ndarray, tex: np.ndarray, sampled: int) -> np.ndarray:
    """:func:`decode_textures`, or the words it gave for the same settings and the same bytes
    (compared in full: a texture rewritten in place is decoded again)."""
    key = (sampled, units.tobytes(), tex.tobytes(), tex_data.shape[0])
    kept = _decoded_cache.get(key)
    if kept is not None and np.array_equal(kept[0], tex_data):
        _decoded_cache.move_to_end(key)
        return kept[1]
    texels = decode_textures(tex_data, units, tex, sampled)
    _decoded_cache[key] = (tex_data.copy(), texels)
    _decoded_cache.move_to_end(key)
    while sum(words.shape[0] for _, words in _decoded_cache.values()) > DECODED_WORDS and len(_decoded_cache) > 1:
        _decoded_cache.popitem(last=False)
    return texels


def _tables(stages: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`texenv_table` and :func:`source_rows` (neither is written by draw_spans), kept by
    the registers they are worked out from: a citro3d frame of 70 draws sets a few states."""
    key = stages.dtype.str.encode() + stages.tobytes() + units[:, texture.FIXED].tobytes()
    kept = _tables_cache.get(key)
    if kept is None:
        kept = _tables_cache[key] = (texenv_table(stages), source_rows(stages, units))
        if len(_tables_cache) > TABLES_KEPT:
            _tables_cache.popitem(last=False)
    return kept


# A draw is split between two threads when it covers this many pixels: a thread's hand-over
# costs some tens of microseconds, a pixel some tens of nanoseconds.
SPLIT_PIXELS = 8192
_pool: list[ThreadPoolExecutor] = []


def threads() -> int:
    """Threads a large draw is rasterised on: 2 when this process may use two or more cores
    (``HLEMU_GPU_THREADS=1`` keeps it to one)."""
    wanted = os.environ.get("HLEMU_GPU_THREADS", "")
    if wanted.strip() == "1":
        return 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return 2 if usable >= 2 else 1  # (sched_getaffinity is Linux's; elsewhere the machine's count)


def _split_row(tris: np.ndarray, fx: np.ndarray, fy: np.ndarray, width: int, height: int, cull: int,
               scissor: np.ndarray) -> int | None:
    """The pixel row that halves the pixels the draw covers (each triangle's, overlaps counted
    again: each costs its work), or None when they are too few to be worth a second thread or
    there is one core."""
    if tris.shape[0] == 0 or threads() < 2:
        return None
    work = np.cumsum(row_pixels(tris, fx, fy, width, height, cull, scissor))
    if work[-1] < SPLIT_PIXELS or work[-1] <= 0:
        return None
    row = int(np.searchsorted(work, work[-1] / 2)) + 1  # rows 0..row-1 hold half
    return min(max(row, 1), height - 1)


def _helper() -> ThreadPoolExecutor:
    if not _pool:
        _pool.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="hlemu-gpu-band"))
    return _pool[0]
