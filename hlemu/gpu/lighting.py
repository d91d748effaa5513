"""Fragment lighting: the primary (diffuse) and secondary (specular) fragment colours that TexEnv
sources 1 and 2 read, per fragment, compiled with numba.

Registers (3dbrew "GPU/Internal Registers" 0x08F, 0x140-0x1D9; libctru's GPUREG_LIGHT*_*,
GPUREG_LIGHTING_*; citro3d's C3D_LightEnv* writes them): eight lights of 16 registers from
0x140 (specular 0, specular 1, diffuse, ambient: 10-bit channels b, g, r where 255 is 1.0;
position x, y, z as float16; the spot direction as 13-bit signed 1.1.11; config: directional,
two-sided diffuse, geometric factors 0 and 1; distance attenuation bias and scale as float20),
the global ambient (0x1C0), the number of lights less one (0x1C2), CONFIG0 (0x1C3: Fresnel to
the primary and secondary alpha bits 2-3, the layer config bits 4-7, the bump texture bits
22-23, clamp highlights bit 27, the bump mode bits 28-29, no z recomputed bit 30),
CONFIG1 (0x1C4: per light spot and distance attenuation off, bits 8-15 and 24-31; LUTs D0, D1,
FR, RR, RG, RB off, bits 16, 17, 19, 20, 21, 22), the LUT upload (0x1C5 index bits 0-7 and
table bits 8-12, then 0x1C8-0x1CF words, the index counting up), LUTINPUT_ABS/SELECT/SCALE
(0x1D0-0x1D2, four bits a LUT: D0, D1, SP, FR, RB, RG, RR) and the slot permutation (0x1D9).

Behaviour follows Azahar's ``renderer_software/sw_lighting.cpp``: the normal and tangent are
the interpolated, renormalised quaternion's rotation of the surface normal and tangent, +z and
+x; with bump mapping (mode 1, citro3d's GPU_BUMP_AS_BUMP) the selected texture's colour
c / 127.5 - 1 is the surface normal, its z replaced by sqrt(max(1 - x^2 - y^2, 0)) unless bit
30 is set, with tangent mapping (mode 2, GPU_BUMP_AS_TANG) the surface tangent; the texture
is units 0-2 or, for 3, the procedural texture, sampled even when no TexEnv stage reads it. A
positional light's vector is its position plus the view vector, a directional light's its
position, normalised; the half vector is the normalised view plus the light vector. A LUT's
input (NH, VH, NV, LN, SP, CP) indexes its 256 entries (12-bit value in 4095ths, signed 11-bit
difference in 2047ths): taken absolute (or clamped at 0 without two-sided diffuse: the
hardware's quirk as Azahar has it) it is ``input * 256``, else the signed ``input * 128`` as a
byte; the entry's value plus the difference times the fraction, times the LUT's scale. The
layer config decides which LUTs exist. Colours are summed in float, clamped to 0..1 and
truncated to 8 bits.

Shadows (CONFIG0 bit 0 on, bits 24-25 the texture as for the bump map, bit 16 on the primary,
17 on the secondary colour, 18 inverted, 19 on the alphas; CONFIG1 bit n clear: light n is
shadowed): the texture's colour in 0..1 (one minus it inverted; usually a shadow texture's
comparison, :mod:`hlemu.gpu.shadow`) scales a shadowed light's diffuse term, not its ambient
(Azahar since its change #7404), and its specular, and its alpha the alphas of bits 2-3.

Lighting needs ENABLE0 (0x08F) bit 0 set and ENABLE1 (0x1C6) bit 0 clear, as citro3d writes them together
(Azahar reads only 0x1C6, whose reset value would turn it on).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from hlemu.gpu.fragment import TEXTURE0, TEXTURE3

LIGHT_BASE, LIGHT_STRIDE = 0x140, 0x10
ENABLE0, AMBIENT, NUM_LIGHTS, CONFIG0, CONFIG1 = 0x08F, 0x1C0, 0x1C2, 0x1C3, 0x1C4
LUT_INDEX, ENABLE1 = 0x1C5, 0x1C6
LUT_DATA = range(0x1C8, 0x1D0)
LUTINPUT_ABS, LUTINPUT_SELECT, LUTINPUT_SCALE, PERMUTATION = 0x1D0, 0x1D1, 0x1D2, 0x1D9

LUTS, LUT_ENTRIES = 24, 256  # tables: D0 0, D1 1, FR 3, RB 4, RG 5, RR 6, SP 8-15, DA 16-23
# The LUT kinds in the order of their four-bit fields in LUTINPUT_ABS/SELECT/SCALE.
D0, D1, SP, FR, RB, RG, RR = range(7)
KIND_OFF_BIT = (16, 17, -1, 19, 22, 21, 20)  # CONFIG1's "LUT off" bit of each kind
# CONFIG0 bits 28-29 (citro3d's GPU_BUMPMODE): what the selected texture's colour perturbs.
BUMP_NONE, BUMP_NORMAL, BUMP_TANGENT = 0, 1, 2
# The texture a selector (CONFIG0 bits 22-23) names: units 0-2, or 3 the procedural texture
# (Azahar's software rasteriser hands lighting texture_color[0..3], the fourth being ProcTex).
SELECTED_ROW = (TEXTURE0, TEXTURE0 + 1, TEXTURE0 + 2, TEXTURE3)


def layer_has(layer: int, kind: int) -> bool:
    """Whether layer config ``layer`` (CONFIG0 bits 4-7) has LUT ``kind``, by Azahar's
    IsLightingSamplerSupported (whose rules also decide the invalid configs 7 and 9-15).

    >>> [layer_has(0, k) for k in (D0, D1, SP, FR, RR, RG)]
    [True, False, True, False, True, False]
    """
    if kind == D0:
        return layer != 1
    if kind == D1:
        return layer not in (0, 1, 5)
    if kind == SP:
        return layer not in (2, 3)
    if kind == FR:
        return layer not in (0, 2, 4)
    if kind == RR:
        return layer != 3
    return layer in (4, 5, 8)  # RG, RB


SCALES = {0: 1.0, 1: 2.0, 2: 4.0, 3: 8.0, 6: 0.25, 7: 0.5}

# The settings array: globals, then four fields a kind, then LIGHT_FIELDS a light slot.
G_COUNT, G_AMBIENT, G_CLAMP, G_ALPHA1, G_ALPHA2, G_LAYER = 0, 1, 4, 5, 6, 7
G_BUMP, G_BUMP_ROW, G_RENORM = 8, 9, 10  # the bump mode, its texture's source row, z recomputed
# the shadow factor on, its texture's source row, inverted, on the primary, secondary, alphas
G_SHADOW, G_SHADOW_ROW, G_SHADOW_INVERT, G_SHADOW_PRIMARY, G_SHADOW_SECONDARY, G_SHADOW_ALPHA = range(11, 17)
G_KINDS = 17  # kind k: on (the layer has it and CONFIG1 leaves it on), input, absolute, scale
G_LIGHTS = G_KINDS + 4 * 7
L_NUM, L_SPEC0, L_SPEC1, L_DIFFUSE, L_AMBIENT, L_POS, L_SPOT = 0, 1, 4, 7, 10, 13, 16
L_DIRECTIONAL, L_TWO_SIDED, L_GEO0, L_GEO1, L_DIST, L_BIAS, L_SCALE, L_SPOT_ON = 19, 20, 21, 22, 23, 24, 25, 26
L_SHADOWED = 27  # CONFIG1 bit n clear: the shadow factor applies to this light
LIGHT_FIELDS = 28
SETTINGS = G_LIGHTS + 8 * LIGHT_FIELDS


def enabled(regs) -> bool:
    """Whether lighting is on: ENABLE0 bit 0 set and ENABLE1 bit 0 clear."""
    return bool(regs[ENABLE0] & 1) and not regs[ENABLE1] & 1


def _color(word: int) -> list[float]:
    """A light colour register: r bits 20-29, g 10-19, b 0-9, 255 being 1.0."""
    return [(word >> 20 & 0x3FF) / 255.0, (word >> 10 & 0x3FF) / 255.0, (word & 0x3FF) / 255.0]


def pica_float(raw: int, mantissa: int, exponent: int) -> float:
    """A PICA float of ``mantissa`` and ``exponent`` bits and a sign (float16: 10, 5; float20:
    12, 7), denormals kept exactly (Azahar's Float<M, E>::FromRaw).

    >>> pica_float(0x3C00, 10, 5), pica_float(0x3F000, 12, 7), pica_float(0xC000, 10, 5)
    (1.0, 1.0, -2.0)
    """
    raw &= (1 << (mantissa + exponent + 1)) - 1
    sign = -1.0 if raw >> (mantissa + exponent) else 1.0
    e, m = raw >> mantissa & ((1 << exponent) - 1), raw & ((1 << mantissa) - 1)
    bias = (1 << (exponent - 1)) - 1
    if e == (1 << exponent) - 1:
        return sign * (math.inf if m == 0 else math.nan)
    if e == 0:
        return sign * m * 2.0 ** (1 - bias - mantissa)
    return sign * (1 + m / (1 << mantissa)) * 2.0 ** (e - bias)


def _signed13(v: int) -> int:
    v &= 0x1FFF
    return v - 0x2000 if v & 0x1000 else v


def settings(regs) -> np.ndarray:
    """The lighting registers decoded into the array :func:`fragment_colors` reads."""
    out = np.zeros(SETTINGS, np.float64)
    config0, config1 = regs[CONFIG0], regs[CONFIG1]
    out[G_COUNT] = (regs[NUM_LIGHTS] & 7) + 1
    out[G_AMBIENT : G_AMBIENT + 3] = _color(regs[AMBIENT])
    out[G_CLAMP], out[G_ALPHA1], out[G_ALPHA2] = config0 >> 27 & 1, config0 >> 2 & 1, config0 >> 3 & 1
    layer = config0 >> 4 & 0xF
    out[G_LAYER] = layer
    out[G_BUMP] = config0 >> 28 & 3
    out[G_BUMP_ROW] = SELECTED_ROW[config0 >> 22 & 3]
    out[G_RENORM] = not config0 >> 30 & 1
    out[G_SHADOW], out[G_SHADOW_ROW] = config0 & 1, SELECTED_ROW[config0 >> 24 & 3]
    out[G_SHADOW_PRIMARY], out[G_SHADOW_SECONDARY] = config0 >> 16 & 1, config0 >> 17 & 1
    out[G_SHADOW_INVERT], out[G_SHADOW_ALPHA] = config0 >> 18 & 1, config0 >> 19 & 1
    for kind in range(7):
        off = KIND_OFF_BIT[kind] >= 0 and config1 >> KIND_OFF_BIT[kind] & 1
        field = G_KINDS + 4 * kind
        out[field] = layer_has(layer, kind) and not off
        out[field + 1] = regs[LUTINPUT_SELECT] >> (4 * kind) & 7
        out[field + 2] = not regs[LUTINPUT_ABS] >> (4 * kind + 1) & 1
        out[field + 3] = SCALES.get(regs[LUTINPUT_SCALE] >> (4 * kind) & 7, 0.0)
    for slot in range(8):
        num = regs[PERMUTATION] >> (4 * slot) & 7
        base, field = LIGHT_BASE + LIGHT_STRIDE * num, G_LIGHTS + LIGHT_FIELDS * slot
        light = out[field : field + LIGHT_FIELDS]
        light[L_NUM] = num
        for at, k in ((L_SPEC0, 0), (L_SPEC1, 1), (L_DIFFUSE, 2), (L_AMBIENT, 3)):
            light[at : at + 3] = _color(regs[base + k])
        xy, z = regs[base + 4], regs[base + 5]
        light[L_POS : L_POS + 3] = [pica_float(xy, 10, 5), pica_float(xy >> 16, 10, 5), pica_float(z, 10, 5)]
        sxy, sz = regs[base + 6], regs[base + 7]
        light[L_SPOT : L_SPOT + 3] = [_signed13(sxy) / 2047.0, _signed13(sxy >> 16) / 2047.0,
                                      _signed13(sz) / 2047.0]
        config = regs[base + 9]
        light[L_DIRECTIONAL], light[L_TWO_SIDED] = config & 1, config >> 1 & 1
        light[L_GEO0], light[L_GEO1] = config >> 2 & 1, config >> 3 & 1
        light[L_DIST] = not config1 >> (24 + num) & 1
        light[L_BIAS] = pica_float(regs[base + 0xA], 12, 7)
        light[L_SCALE] = pica_float(regs[base + 0xB], 12, 7)
        light[L_SPOT_ON] = not config1 >> (8 + num) & 1
        light[L_SHADOWED] = not config1 >> num & 1
    return out


def textures_read(regs) -> set[int]:
    """The textures lighting reads (0-2 the units, 3 the procedural texture): the bump
    selector's when a bump mode is on, the shadow selector's (bits 24-25) with the shadow
    factor on (bit 0). The rasteriser must sample them even when no TexEnv stage reads them.

    >>> sorted(textures_read({CONFIG0: 1 << 28 | 2 << 22})), sorted(textures_read({CONFIG0: 2 << 22 | 1 << 24}))
    ([2], [])
    >>> sorted(textures_read({CONFIG0: 1 << 28 | 2 << 22 | 1 << 24 | 1}))
    [1, 2]
    """
    config0 = regs[CONFIG0]
    read = {config0 >> 22 & 3} if config0 >> 28 & 3 else set()
    return read | {config0 >> 24 & 3} if config0 & 1 else read


def lut_table(words: np.ndarray) -> np.ndarray:
    """The uploaded LUT words (24, 256) as (24, 256, 2): the value (bits 0-11, in 4095ths) and
    the difference (bits 12-22 in 2047ths, negative with bit 23)."""
    w = words.astype(np.int64)
    diff = (w >> 12 & 0x7FF) / 2047.0
    return np.stack([(w & 0xFFF) / 4095.0, np.where(w >> 23 & 1, -diff, diff)], axis=-1)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _rotate(qx, qy, qz, qw, vx, vy, vz):
    """``v`` rotated by the unit quaternion q: v + 2 q.xyz x (q.xyz x v + q.w v)."""
    cx, cy, cz = qy * vz - qz * vy + qw * vx, qz * vx - qx * vz + qw * vy, qx * vy - qy * vx + qw * vz
    return vx + 2 * (qy * cz - qz * cy), vy + 2 * (qz * cx - qx * cz), vz + 2 * (qx * cy - qy * cx)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _lookup(luts, table, value, absolute, two_sided):
    """Table ``table`` at input ``value``: 256 steps over 0..1 taken absolute, else 128 a side
    as a signed byte; the entry plus its difference times the fraction."""
    if absolute:
        value = abs(value) if two_sided else max(value, 0.0)
        index = min(max(math.floor(value * 256.0), 0.0), 255.0)
        delta = value * 256.0 - index
        k = np.int64(index)
    else:
        index = min(max(math.floor(value * 128.0), -128.0), 127.0)
        delta = value * 128.0 - index
        k = np.int64(index) & 0xFF
    return luts[table, k, 0] + luts[table, k, 1] * delta


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _surface(lp, src):
    """The surface normal and tangent before the quaternion turns them (+z and +x), or, with a
    bump mode, the selected texture's colour mapped from 0..255 to -1..1 as the normal (its z
    recomputed as sqrt(1 - x^2 - y^2) unless CONFIG0 bit 30) or as the tangent (Azahar's
    ComputeFragmentsColors; an unknown mode 3 leaves both zero there, and here)."""
    mode = lp[G_BUMP]
    if mode == BUMP_NONE:
        return 0.0, 0.0, 1.0, 1.0, 0.0, 0.0
    row = np.int64(lp[G_BUMP_ROW])
    px, py, pz = src[row, 0] / 127.5 - 1.0, src[row, 1] / 127.5 - 1.0, src[row, 2] / 127.5 - 1.0
    if mode == BUMP_NORMAL:
        if lp[G_RENORM] != 0:
            pz = math.sqrt(max(1.0 - px * px - py * py, 0.0))
        return px, py, pz, 1.0, 0.0, 0.0
    if mode == BUMP_TANGENT:
        return 0.0, 0.0, 1.0, px, py, pz
    return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _shadow(lp, src):
    """The shadow factor (r, g, b, a in 0..1): the selected texture's colour (a shadow
    texture's comparison, hlemu.gpu.shadow), one minus it when inverted; 1 with it off."""
    if lp[G_SHADOW] == 0:
        return 1.0, 1.0, 1.0, 1.0
    row = np.int64(lp[G_SHADOW_ROW])
    r, g, b, a = src[row, 0] / 255.0, src[row, 1] / 255.0, src[row, 2] / 255.0, src[row, 3] / 255.0
    if lp[G_SHADOW_INVERT] != 0:
        return 1.0 - r, 1.0 - g, 1.0 - b, 1.0 - a
    return r, g, b, a


@njit(cache=True, nogil=True, error_model="numpy")
def fragment_colors(lv, lp, luts, factors, src, primary, secondary):
    """Light one fragment: ``lv`` holds its interpolated quaternion (x, y, z, w) and view vector
    (x, y, z); ``lp`` is :func:`settings`, ``luts`` :func:`lut_table`, ``factors`` (7,) scratch.
    Rows ``primary`` and ``secondary`` of ``src`` get the two colours as 8-bit (r, g, b, a); its
    texture rows, sampled before, give the bump map (:data:`SELECTED_ROW`)."""
    qx, qy, qz, qw = lv[0], lv[1], lv[2], lv[3]
    qlen = math.sqrt(qx * qx + qy * qy + qz * qz + qw * qw)
    if qlen > 0:
        qx, qy, qz, qw = qx / qlen, qy / qlen, qz / qlen, qw / qlen
    sx, sy, sz, ox, oy, oz = _surface(lp, src)
    nx, ny, nz = _rotate(qx, qy, qz, qw, sx, sy, sz)
    tx, ty, tz = _rotate(qx, qy, qz, qw, ox, oy, oz)
    vx, vy, vz = lv[4], lv[5], lv[6]
    vlen = math.sqrt(vx * vx + vy * vy + vz * vz)
    ux, uy, uz = (vx / vlen, vy / vlen, vz / vlen) if vlen > 0 else (vx, vy, vz)
    sh0, sh1, sh2, sh3 = _shadow(lp, src)
    d0, d1, d2, da = 0.0, 0.0, 0.0, 1.0
    s0, s1, s2, sa = 0.0, 0.0, 0.0, 1.0
    count = np.int64(lp[G_COUNT])
    for slot in range(count):
        b = G_LIGHTS + LIGHT_FIELDS * slot
        num = np.int64(lp[b + L_NUM])
        lx, ly, lz = lp[b + L_POS], lp[b + L_POS + 1], lp[b + L_POS + 2]
        if lp[b + L_DIRECTIONAL] == 0:
            lx, ly, lz = lx + vx, ly + vy, lz + vz
        length = math.sqrt(lx * lx + ly * ly + lz * lz)
        if length > 0:
            lx, ly, lz = lx / length, ly / length, lz / length
        hx, hy, hz = ux + lx, uy + ly, uz + lz
        h2 = hx * hx + hy * hy + hz * hz
        hlen = math.sqrt(h2)
        nhx, nhy, nhz = (hx / hlen, hy / hlen, hz / hlen) if hlen > 0 else (hx, hy, hz)
        two_sided = lp[b + L_TWO_SIDED] != 0
        dist = 1.0
        if lp[b + L_DIST] != 0:
            loc = min(max(lp[b + L_SCALE] * length + lp[b + L_BIAS], 0.0), 1.0)
            dist = _lookup(luts, 16 + num, loc, True, False)
        for kind in range(7):  # D0, D1, SP, FR, RB, RG, RR as looked up (1 when absent)
            factors[kind] = 1.0
            f = G_KINDS + 4 * kind
            if lp[f] == 0 or (kind == SP and lp[b + L_SPOT_ON] == 0) or (kind == FR and slot != count - 1):
                continue
            sel = np.int64(lp[f + 1])
            if sel == 0:
                value = nx * nhx + ny * nhy + nz * nhz
            elif sel == 1:
                value = ux * nhx + uy * nhy + uz * nhz
            elif sel == 2:
                value = nx * ux + ny * uy + nz * uz
            elif sel == 3:
                value = lx * nx + ly * ny + lz * nz
            elif sel == 4:
                value = lx * lp[b + L_SPOT] + ly * lp[b + L_SPOT + 1] + lz * lp[b + L_SPOT + 2]
            elif sel == 5 and lp[G_LAYER] == 8:  # the half vector projected on the surface, on the tangent
                nh = nx * nhx + ny * nhy + nz * nhz
                value = (nhx - nx * nh) * tx + (nhy - ny * nh) * ty + (nhz - nz * nh) * tz
            else:
                value = 0.0
            table = 8 + num if kind == SP else kind  # the other kinds' tables are their numbers
            factors[kind] = lp[f + 3] * _lookup(luts, table, value, lp[f + 2] != 0, two_sided)
        rr = factors[RR]
        rg = factors[RG] if lp[G_KINDS + 4 * RG] != 0 else rr
        rb = factors[RB] if lp[G_KINDS + 4 * RB] != 0 else rr
        if slot == count - 1 and lp[G_KINDS + 4 * FR] != 0:
            if lp[G_ALPHA1] != 0:
                da = factors[FR]
            if lp[G_ALPHA2] != 0:
                sa = factors[FR]
        dot = lx * nx + ly * ny + lz * nz
        dot = abs(dot) if two_sided else max(dot, 0.0)
        clamp = 0.0 if lp[G_CLAMP] != 0 and dot == 0.0 else 1.0
        geo = 0.0 if h2 == 0.0 else min(dot / h2, 1.0)
        g0 = geo if lp[b + L_GEO0] != 0 else 1.0
        g1 = geo if lp[b + L_GEO1] != 0 else 1.0
        atten = dist * factors[SP]
        spec = clamp * atten
        # the shadow darkens the diffuse term, not the ambient (Azahar since #7404), and the specular
        shadowed = lp[b + L_SHADOWED] != 0
        p0, p1, p2 = (sh0, sh1, sh2) if shadowed and lp[G_SHADOW_PRIMARY] != 0 else (1.0, 1.0, 1.0)
        q0, q1, q2 = (sh0, sh1, sh2) if shadowed and lp[G_SHADOW_SECONDARY] != 0 else (1.0, 1.0, 1.0)
        d0 += (lp[b + L_DIFFUSE] * dot * p0 + lp[b + L_AMBIENT]) * atten
        d1 += (lp[b + L_DIFFUSE + 1] * dot * p1 + lp[b + L_AMBIENT + 1]) * atten
        d2 += (lp[b + L_DIFFUSE + 2] * dot * p2 + lp[b + L_AMBIENT + 2]) * atten
        s0 += (factors[D0] * lp[b + L_SPEC0] * g0 + factors[D1] * rr * lp[b + L_SPEC1] * g1) * spec * q0
        s1 += (factors[D0] * lp[b + L_SPEC0 + 1] * g0 + factors[D1] * rg * lp[b + L_SPEC1 + 1] * g1) * spec * q1
        s2 += (factors[D0] * lp[b + L_SPEC0 + 2] * g0 + factors[D1] * rb * lp[b + L_SPEC1 + 2] * g1) * spec * q2
    if lp[G_SHADOW_ALPHA] != 0:  # the alphas Fresnel may set (CONFIG0 bits 2-3) are shadowed too
        da = da * sh3 if lp[G_ALPHA1] != 0 else da
        sa = sa * sh3 if lp[G_ALPHA2] != 0 else sa
    d0, d1, d2 = d0 + lp[G_AMBIENT], d1 + lp[G_AMBIENT + 1], d2 + lp[G_AMBIENT + 2]
    src[primary, 0] = np.int64(min(max(d0, 0.0), 1.0) * 255)
    src[primary, 1] = np.int64(min(max(d1, 0.0), 1.0) * 255)
    src[primary, 2] = np.int64(min(max(d2, 0.0), 1.0) * 255)
    src[primary, 3] = np.int64(min(max(da, 0.0), 1.0) * 255)
    src[secondary, 0] = np.int64(min(max(s0, 0.0), 1.0) * 255)
    src[secondary, 1] = np.int64(min(max(s1, 0.0), 1.0) * 255)
    src[secondary, 2] = np.int64(min(max(s2, 0.0), 1.0) * 255)
    src[secondary, 3] = np.int64(min(max(sa, 0.0), 1.0) * 255)
