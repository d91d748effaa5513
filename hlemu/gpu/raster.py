"""Triangle rasterisation and the colour and depth buffer writes, compiled with numba.

The rules are Azahar's software rasteriser's (``renderer_software/sw_rasterizer.cpp``), which
follow the hardware: screen positions in 12.4 fixed point (rounded), pixels sampled at their
centres, a pixel on a right-hand or flat-bottom edge left to the neighbouring triangle (the
edge functions of those edges get a bias of -1), both windings drawn when culling is off
(a clockwise triangle is turned round), colours interpolated perspective-correctly (each
vertex's colour times 1/w, divided by the interpolated 1/w) and rounded to 8 bits.

The colour buffer (3dbrew "GPU/Internal Registers", GPUREG_COLORBUFFER_FORMAT) is tiled as
textures are: 8x8 tiles in Morton order, rows of tiles one after another, and stored bottom
up (pixel row y is memory row height - 1 - y). Formats: 0 RGBA8, 1 RGB8, 2 RGB5A1, 3 RGB565,
4 RGBA4, coded by :mod:`hlemu.gpu.pixels` (which GX's transfers share).

Per-fragment work (TexEnv, the alpha test's comparison, blending or logic ops) is in
:mod:`hlemu.gpu.fragment`, fragment lighting in :mod:`hlemu.gpu.lighting`; here, in Azahar's
order after the alpha test: fog, the stencil and depth tests with their writes, then blending
and the colour write mask; or, drawing a shadow map, none of these (:mod:`hlemu.gpu.shadow`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from hlemu.gpu.fragment import (
    LIGHT_PRIMARY,
    LIGHT_SECONDARY,
    PRIMARY,
    SOURCE_ROWS,
    TEXTURE0,
    TEXTURE3,
    compare,
    merge,
    stages_needed,
    texenv,
)
from hlemu.gpu.lighting import fragment_colors
from hlemu.gpu.pixels import BYTES_PER_PIXEL, FORMAT_NAMES, decode, encode
from hlemu.gpu.proctex import S_ON as S_PROC_ON
from hlemu.gpu.proctex import evaluate as proctex_evaluate
from hlemu.gpu.shadow import DEPTH_MAX
from hlemu.gpu.shadow import write as shadow_write
from hlemu.gpu.texture import FIXED, MAG, MAX_LEVEL, MIN, MODE, SAMPLE, sample
from hlemu.gpu.tiling import morton

__all__ = ["BYTES_PER_PIXEL", "FORMAT_NAMES", "draw_triangles", "fog_settings", "pixel_offset", "stages_needed",
           "stencil_settings"]



@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def pixel_offset(x, y, width, height, bpp):
    """Byte offset of pixel (x, y) (y up from the bottom) in a tiled buffer."""
    row = height - 1 - y
    return (((row >> 3) * (width >> 3) + (x >> 3)) * 64 + morton(x & 7, row & 7)) * bpp


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _store(buf, off, fmt, r, g, b, a, mask):
    if mask != 0xF:  # keep the channels the colour mask protects
        old = decode(buf, off, fmt)
        r = r if mask & 1 else old[0]
        g = g if mask & 2 else old[1]
        b = b if mask & 4 else old[2]
        a = a if mask & 8 else old[3]
    encode(buf, off, fmt, r, g, b, a)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _stencil_action(action, old, ref):
    """Stencil operation ``action`` (GPUREG_STENCIL_OP; Azahar's PerformStencilAction) on ``old``."""
    if action == 1:
        return 0
    if action == 2:
        return ref
    if action == 3:  # saturating
        return min(old, 254) + 1
    if action == 4:
        return max(old, 1) - 1
    if action == 5:
        return ~old & 0xFF
    if action == 6:  # wrapping
        return (old + 1) & 0xFF
    if action == 7:
        return (old - 1) & 0xFF
    return old


# The stencil settings draw_triangles takes, in this order.
STENCIL_ON, STENCIL_FUNC, STENCIL_WRITE_MASK, STENCIL_REF, STENCIL_INPUT_MASK = 0, 1, 2, 3, 4
STENCIL_FAIL, STENCIL_ZFAIL, STENCIL_ZPASS, STENCIL_ALLOW = 5, 6, 7, 8


# What depth_stencil answers (bits).
FRAGMENT_PASSES, DEPTH_ROW_CHANGED, WRITE_DEPTH, WRITE_STENCIL = 1, 2, 4, 8


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _new_stencil(action, old, ops):
    """The stencil byte ``action`` leaves, through the write mask, and WRITE_STENCIL (when writes are allowed)."""
    if not ops[3]:
        return 0, np.int64(0)
    new = _stencil_action(action, old, ops[4])
    mask = ops[5]
    return WRITE_STENCIL, (new & mask) | (old & ~mask & 0xFF)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def depth_stencil(stored, old_stencil, zint, use_stencil, sfunc, sref, smask, dtest, dfunc, dwrite, ops):
    """The stencil test, the depth test and the depth write of one fragment whose depth buffer
    holds depth ``stored`` and stencil ``old_stencil`` (read only when tested), with the
    stencil operations of each outcome (``ops``: the fail, depth-fail and pass operations, whether
    writes are allowed, the reference and the write mask). Answers bits and the new
    stencil byte: FRAGMENT_PASSES when the fragment goes on to blending, DEPTH_ROW_CHANGED when
    its row of the buffer may have been written (the stencil byte, whatever the outcome, or the
    depth), WRITE_DEPTH when ``zint`` is to be written, WRITE_STENCIL when the byte is. Scalars
    only, the caller reading and writing the buffer: an array handed to an inlined helper is
    reference counted on every call."""
    changed = DEPTH_ROW_CHANGED if use_stencil else 0
    if use_stencil and not compare(sfunc, sref, old_stencil & smask):
        write, new = _new_stencil(ops[0], old_stencil, ops)
        return changed | write, new
    if dtest and not compare(dfunc, zint, stored):
        write, new = (0, np.int64(0))
        if use_stencil:
            write, new = _new_stencil(ops[1], old_stencil, ops)
        return changed | write, new
    if dwrite:
        changed = DEPTH_ROW_CHANGED | WRITE_DEPTH
    write, new = (0, np.int64(0))
    if use_stencil:
        write, new = _new_stencil(ops[2], old_stencil, ops)
    return changed | write | FRAGMENT_PASSES, new


def stencil_settings(test: int, op: int, allow: bool) -> np.ndarray:
    """GPUREG_STENCIL_TEST (bit 0 on, 4-6 comparison, 8-15 write mask, 16-23 reference, 24-31
    input mask) and GPUREG_STENCIL_OP (fail 0-2, depth fail 4-6, depth pass 8-10) as the array
    :func:`draw_triangles` takes; ``allow`` is DEPTHBUFFER_WRITE (depth and stencil writes on)."""
    return np.array([test & 1, (test >> 4) & 7, (test >> 8) & 0xFF, (test >> 16) & 0xFF, (test >> 24) & 0xFF,
                     op & 7, (op >> 4) & 7, (op >> 8) & 7, int(allow)], np.int64)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _fog(out, depth, flip, fog, lut):
    """Mix the fragment's colour with the fog colour by the LUT's factor at ``depth`` (Azahar's
    WriteFog: index depth * 128, or (1 - depth) * 128 flipped; the entry's value plus its
    difference times the fraction, clamped to 0..1; the mix truncated to 8 bits)."""
    index = (1.0 - depth) * 128.0 if flip else depth * 128.0
    i = min(max(math.floor(index), 0.0), 127.0)
    k = np.int64(i)
    factor = min(max(lut[k, 0] + lut[k, 1] * (index - i), 0.0), 1.0)
    for ch in range(3):
        out[ch] = np.int64(factor * out[ch] + (1.0 - factor) * fog[2 + ch])


def fog_settings(update_buffer: int, color: int, lut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TEXENV_UPDATE_BUFFER's fog mode (bits 0-2, 5 is fog) and flip (bit 16), FOG_COLOR
    (r, g, b in bits 0-23) and the 128 LUT words (value bits 13-23 and a signed difference
    bits 0-12, both in 2047ths) as :func:`draw_triangles` takes them."""
    fog = np.array([update_buffer & 7 == 5, update_buffer >> 16 & 1, color & 0xFF, color >> 8 & 0xFF,
                    color >> 16 & 0xFF], np.int64)
    words = lut.astype(np.int64)
    diff = words & 0x1FFF
    diff = np.where(diff & 0x1000, diff - 0x2000, diff)
    return fog, np.stack([(words >> 13 & 0x7FF) / 2047.0, diff / 2047.0], axis=1)


# -- triangles ---------------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _depth(z, i0, i1, i2, w0, w1, w2, invw, dscale, doffset, zbuffer):
    """The fragment's depth: z / w linear on the screen, scaled and offset (or W-buffered:
    times the interpolated w), clamped to 0..1 (Azahar's rasteriser)."""
    wsum = w0 + w1 + w2
    d = (z[i0] * w0 + z[i1] * w1 + z[i2] * w2) / wsum * dscale + doffset
    if not zbuffer:  # W-buffering: times the interpolated w
        d *= wsum / (invw[i0] * w0 + invw[i1] * w1 + invw[i2] * w2)
    return min(max(d, 0.0), 1.0)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _interpolate(attrs, i0, i1, i2, w0, w1, w2, invw, out):
    """Perspective-correct attributes at edge weights (w0, w1, w2): ``attrs`` are times 1/w."""
    denom = invw[i0] * w0 + invw[i1] * w1 + invw[i2] * w2
    for k in range(attrs.shape[1]):
        out[k] = (attrs[i0, k] * w0 + attrs[i1, k] * w1 + attrs[i2, k] * w2) / denom


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _area(ax, ay, bx, by, cx, cy):
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _right_or_flat_bottom(vx, vy, ax, ay, bx, by):
    if ay == by:
        return vy < ay
    num, den = (bx - ax) * (vy - ay), by - ay
    q = abs(num) // abs(den)  # C's division, which truncates toward zero (Azahar's code is C++)
    return vx < ax + (q if (num < 0) == (den < 0) else -q)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def triangle_setup(tris, t, fx, fy, cull, smode, sx1, sy1, sx2, sy2, width, height):
    """Triangle ``t``'s winding, culling, pixel bounds and edge biases, shared by both
    rasterisers: (drawn, i0, i1, i2, min_x, min_y, max_x, max_y, bias0, bias1, bias2), the
    corners counter-clockwise, the bounds in 12.4 fixed point on pixel boundaries."""
    i0, i1, i2 = tris[t, 0], tris[t, 1], tris[t, 2]
    area = _area(fx[i0], fy[i0], fx[i1], fy[i1], fx[i2], fy[i2])
    if cull == 1:  # keep clockwise: turn it round, then drop what is not counter-clockwise
        i1, i2 = i2, i1
        area = -area
    if area <= 0:
        if cull == 1 or cull == 2:
            return False, i0, i1, i2, 0, 0, 0, 0, 0, 0, 0
        i1, i2 = i2, i1
        area = -area
        if area == 0:
            return False, i0, i1, i2, 0, 0, 0, 0, 0, 0, 0
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
    return True, i0, i1, i2, min_x, min_y, max_x, max_y, bias0, bias1, bias2


@njit(cache=True, nogil=True, error_model="numpy")
def draw_triangles(tris, fx, fy, invw, colors, buf, width, height, fmt, mask, cull, stages,
                   buffer_color, update, count, blend, func, logic, blend_color, alpha_test, scissor,
                   z, depth, dbuf, dfmt, uvs, units, tex_data, sampled, stencil, fog, fog_lut, lit, lights,
                   light_params, light_luts, proc_params, proc_luts, shadow_on=False, shadow_constant=1.0,
                   shadow_linear=0.0):
    """Rasterise triangles ``tris`` (t, 3) of vertices at 12.4 fixed-point (fx, fy) into ``buf``.

    ``colors`` (n, 4) are the vertices' colours in 0..1 times their 1/w (``invw``); ``count``
    the TexEnv stages to run (:func:`stages_needed`); ``blend``, ``func``, ``logic`` and
    ``blend_color`` the output merger's registers (see :func:`merge`); ``alpha_test`` the
    GPUREG_FRAGOP_ALPHA_TEST register (bit 0 on, bits 4-6 the comparison: never, always, =,
    !=, <, <=, >, >= of the fragment's alpha against bits 8-15); ``scissor`` (mode, x1, y1,
    x2, y2) in pixels, mode 0 off, 1 drop the pixels inside the box, 3 keep only them.
    ``z`` (n,) are the vertices' z / w; ``depth`` (test on, comparison, write on, scale,
    offset, z-buffering) as floats; ``dbuf`` the depth buffer in format ``dfmt`` (0 D16,
    2 D24, 3 D24S8), empty when no depth is tested or written. ``uvs`` (n, 7) are the
    vertices' texture coordinates (u0, v0, u1, v1, u2, v2, w0) times their 1/w, ``units``
    the texture unit table (:mod:`hlemu.gpu.texture`) over the texels ``tex_data``, and
    ``sampled`` the units to sample (bit i: unit i; the others read their FIXED colour).
    ``stencil`` (:func:`stencil_settings`): the stencil test, which runs only on a D24S8 buffer
    (its fourth byte), before the depth test (Azahar's DoDepthStencilTest: ``ref & input mask``
    compared with ``stored & input mask``; the fail, depth-fail and pass operations written
    through the write mask; the pass operation runs with the depth test off too). Returns the
    number of pixels written, the lowest and highest pixel rows written, and the lowest and
    highest rows whose depth or stencil changed. ``fog`` (on, flip, r, g, b) and ``fog_lut``
    (128, 2: value, difference) are the fog (:func:`fog_settings`), applied after the alpha test.
    With ``lit``, ``lights`` (n, 7) are the vertices' quaternions and view vectors times their
    1/w, and each fragment's lighting colours (TexEnv sources 1 and 2) come from
    :func:`hlemu.gpu.lighting.fragment_colors` with ``light_params`` and ``light_luts``.
    With ``proc_params[S_ON]`` set, the procedural texture (TexEnv source 6) comes from
    :func:`hlemu.gpu.proctex.evaluate` with ``proc_params`` and ``proc_luts``. With
    ``shadow_on`` the draw renders a shadow map (:mod:`hlemu.gpu.shadow`, FRAGOP_SHADOW's two
    terms after it): after TexEnv each fragment's depth and green update ``buf``, 4 bytes a
    pixel, and the alpha test, fog, depth and stencil and the output merger are skipped.
    """
    bpp = BYTES_PER_PIXEL[fmt]
    pixels = 0
    low, high = height, -1
    dlow, dhigh = height, -1
    src = np.zeros((SOURCE_ROWS, 4), np.int64)
    for unit in range(3):  # units not sampled read one colour for every fragment
        for ch in range(4):
            src[TEXTURE0 + unit, ch] = (units[unit, FIXED] >> (8 * ch)) & 0xFF
    uv = np.zeros(7, np.float64)
    uvx = np.zeros(7, np.float64)
    uvy = np.zeros(7, np.float64)
    texel_rgba = np.zeros(4, np.int64)
    acc = np.zeros(4, np.float64)
    derivatives = False  # a unit whose filters differ, or with mipmaps, needs the level of detail
    for unit in range(3):
        if sampled >> unit & 1 and units[unit, MODE] == SAMPLE:
            derivatives |= units[unit, MAG] != units[unit, MIN] or units[unit, MAX_LEVEL] > 0
    proc_on = proc_params[S_PROC_ON] != 0
    lv = np.zeros(7, np.float64)
    factors = np.zeros(7, np.float64)
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
    use_stencil = stencil[STENCIL_ON] != 0 and dfmt == 3
    sfunc, smask = stencil[STENCIL_FUNC], stencil[STENCIL_INPUT_MASK]
    sref = stencil[STENCIL_REF] & smask
    ops = (stencil[STENCIL_FAIL], stencil[STENCIL_ZFAIL], stencil[STENCIL_ZPASS], stencil[STENCIL_ALLOW],
           stencil[STENCIL_REF], stencil[STENCIL_WRITE_MASK])
    use_depth = dbuf.shape[0] > 0 and (dtest or dwrite or use_stencil)
    fog_on, fog_flip = fog[0] != 0, fog[1] != 0
    dbpp = 2 if dfmt == 0 else 3 if dfmt == 2 else 4
    dmax = 0xFFFF if dfmt == 0 else 0xFFFFFF
    st = stages.astype(np.int64)
    constants = np.zeros((6, 4), np.int64)
    for i in range(6):
        for ch in range(4):
            constants[i, ch] = (st[i, 3] >> (8 * ch)) & 0xFF
    for t in range(tris.shape[0]):
        keep, i0, i1, i2, min_x, min_y, max_x, max_y, bias0, bias1, bias2 = triangle_setup(
            tris, t, fx, fy, cull, smode, sx1, sy1, sx2, sy2, width, height)
        if not keep:
            continue
        x0, y0, x1, y1, x2, y2 = fx[i0], fy[i0], fx[i1], fy[i1], fx[i2], fy[i2]
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
                if sampled or proc_on:
                    _interpolate(uvs, i0, i1, i2, w0, w1, w2, invw, uv)
                if proc_on:
                    proctex_evaluate(proc_params, proc_luts, uv, src, TEXTURE3)
                if sampled:
                    if derivatives:  # the coordinates one pixel right and one up (edge functions are linear)
                        _interpolate(uvs, i0, i1, i2, w0 - (y2 - y1) * 16, w1 - (y0 - y2) * 16,
                                     w2 - (y1 - y0) * 16, invw, uvx)
                        _interpolate(uvs, i0, i1, i2, w0 + (x2 - x1) * 16, w1 + (x0 - x2) * 16,
                                     w2 + (x1 - x0) * 16, invw, uvy)
                    for unit in range(3):
                        if sampled >> unit & 1:
                            sample(tex_data, units, unit, uv, uvx, uvy, texel_rgba, acc, src, TEXTURE0 + unit)
                if lit:
                    _interpolate(lights, i0, i1, i2, w0, w1, w2, invw, lv)
                    fragment_colors(lv, light_params, light_luts, factors, src, LIGHT_PRIMARY, LIGHT_SECONDARY)
                if count:
                    texenv(st, constants, buffer_color, update, src, args, out, count)
                else:  # the pass-through: the fragment is its primary colour
                    out[0], out[1], out[2], out[3] = src[PRIMARY, 0], src[PRIMARY, 1], src[PRIMARY, 2], src[PRIMARY, 3]
                if shadow_on:
                    px, py = x >> 4, y >> 4
                    d = _depth(z, i0, i1, i2, w0, w1, w2, invw, dscale, doffset, zbuffer)
                    if shadow_write(buf, pixel_offset(px, py, width, height, 4), np.int64(d * DEPTH_MAX), out[1],
                                    shadow_constant, shadow_linear):
                        pixels += 1
                        low, high = min(low, py), max(high, py)
                    continue
                if alpha_test & 1 and not compare((alpha_test >> 4) & 7, out[3], (alpha_test >> 8) & 0xFF):
                    continue
                px, py = x >> 4, y >> 4
                d = 0.0
                if use_depth or fog_on:
                    d = _depth(z, i0, i1, i2, w0, w1, w2, invw, dscale, doffset, zbuffer)
                if fog_on:
                    _fog(out, d, fog_flip, fog, fog_lut)
                if use_depth:
                    zint = np.int64(d * dmax)
                    doff = pixel_offset(px, py, width, height, dbpp)
                    # the buffer read and written here, depth_stencil deciding (expression for expression
                    # the span rasteriser's)
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
                if plain:
                    _store(buf, off, fmt, out[0], out[1], out[2], out[3], mask)
                else:
                    dst[0], dst[1], dst[2], dst[3] = decode(buf, off, fmt)
                    merge(out, dst, blend, func, logic, const, res)
                    _store(buf, off, fmt, res[0], res[1], res[2], res[3], mask)
                pixels += 1
                low, high = min(low, py), max(high, py)
    return pixels, low, high, dlow, dhigh
