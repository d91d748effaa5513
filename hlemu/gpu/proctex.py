"""The procedural texture unit (texture unit 3, TexEnv source 6), compiled with numba.

Registers (3dbrew "GPU/Internal Registers"; Azahar ``pica/regs_texturing.h``):

- TEXUNIT_CONFIG (0x080): bits 8-9 the texture coordinate unit 3 reads (0-2), bit 10 unit 3 on.
- PROCTEX0 (0x0A8): bits 0-2 / 3-5 the u / v clamp (0 to zero, 1 to edge, 2 repeat,
  3 mirrored repeat, 4 pulse), 6-9 / 10-13 the colour / alpha combiner (U, U2, V, V2,
  (U+V)/2, (U2+V2)/2, sqrt(U2+V2), min, max, rmax), bit 14 separate alpha, bit 15 noise on,
  16-17 / 18-19 the u / v shift (none, odd, even).
- PROCTEX1/2 (0x0A9/0x0AA): noise u / v: bits 0-15 a signed amplitude (in 4095ths), 16-31 the
  phase (float16). PROCTEX3 (0x0AB): the noise frequencies u (bits 0-15), v (16-31), float16.
- PROCTEX4 (0x0AC): bits 0-2 the colour LUT filter (0 nearest, 1 linear, 2-5 mipmap kinds),
  bits 11-18 the colour LUT width. PROCTEX5 (0x0AD): bits 0-7 the colour LUT offset (level 0).
- PROCTEX_LUT (0x0AF): bits 0-7 the entry, 8-11 the table (0 noise, 2 colour map, 3 alpha
  map, 4 colour, 5 colour difference); each PROCTEX_LUT_DATA0-7 write stores a word there and
  counts the entry up. Noise and map tables: 128 entries, bits 0-11 the value (0.12 unsigned,
  in 4095ths), 12-23 the difference to the next (signed, in 4095ths). Colour table: 256 RGBA8
  words (r in bits 0-7); colour differences: four signed bytes, half the difference.

Evaluation as Azahar's ``renderer_software/sw_proctex.cpp`` describes the hardware: u and v
taken absolute; noise (optional) adds amplitude times a gradient noise (hardware-verified hash
on a 9 * frequency * |coord + phase| lattice, smoothed by the noise table); the shift moves u
by 0.5 (1 with mirrored repeat) on odd or even rows of v (and v by u); clamp; the colour
combiner's value through the colour map indexes the colour table at offset + x * (width - 1),
nearest or linear (mipmap filters read level 0 only). With separate alpha, the alpha combiner
through the alpha map gives alpha (times 255, truncated).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

CONFIG_BIT, COORD_SHIFT = 10, 8  # TEXUNIT_CONFIG's unit 3 on bit and coordinate field
PROCTEX0, NOISE_U, NOISE_V, FREQUENCY, LUT_CONFIG, LUT_OFFSET = 0x0A8, 0x0A9, 0x0AA, 0x0AB, 0x0AC, 0x0AD
LUT_INDEX = 0x0AF
LUT_DATA = range(0x0B0, 0x0B8)
TABLES, ENTRIES = 6, 256
NOISE, COLOR_MAP, ALPHA_MAP, COLOR, COLOR_DIFF = 0, 2, 3, 4, 5

# The settings array (float64)
(S_ON, S_COORD, S_UCLAMP, S_VCLAMP, S_CCOMB, S_ACOMB, S_SEPARATE, S_NOISE, S_USHIFT, S_VSHIFT, S_AMP_U, S_AMP_V,
 S_PHASE_U, S_PHASE_V, S_FREQ_U, S_FREQ_V, S_FILTER, S_WIDTH, S_OFFSET) = range(19)
SETTINGS = 19


def float16(raw: int) -> float:
    """A PICA float16 (1.5.10, IEEE half layout)."""
    return float(np.array([raw & 0xFFFF], np.uint16).view(np.float16)[0])


def _signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) & 1 else v


def enabled(regs) -> bool:
    return bool(regs[0x080] >> CONFIG_BIT & 1)


def settings(regs) -> np.ndarray:
    """The settings array of the registers ``regs``."""
    s = np.zeros(SETTINGS, np.float64)
    config, p0 = regs[0x080], regs[PROCTEX0]
    s[S_ON] = config >> CONFIG_BIT & 1
    s[S_COORD] = min((config >> COORD_SHIFT) & 3, 2)
    s[S_UCLAMP], s[S_VCLAMP] = p0 & 7, (p0 >> 3) & 7
    s[S_CCOMB], s[S_ACOMB] = (p0 >> 6) & 0xF, (p0 >> 10) & 0xF
    s[S_SEPARATE], s[S_NOISE] = (p0 >> 14) & 1, (p0 >> 15) & 1
    s[S_USHIFT], s[S_VSHIFT] = (p0 >> 16) & 3, (p0 >> 18) & 3
    nu, nv, freq = regs[NOISE_U], regs[NOISE_V], regs[FREQUENCY]
    s[S_AMP_U], s[S_AMP_V] = _signed(nu & 0xFFFF, 16) / 4095.0, _signed(nv & 0xFFFF, 16) / 4095.0
    s[S_PHASE_U], s[S_PHASE_V] = float16(nu >> 16), float16(nv >> 16)
    s[S_FREQ_U], s[S_FREQ_V] = float16(freq), float16(freq >> 16)
    lut = regs[LUT_CONFIG]
    s[S_FILTER], s[S_WIDTH] = lut & 7, (lut >> 11) & 0xFF
    s[S_OFFSET] = regs[LUT_OFFSET] & 0xFF
    return s


def lut_table(words: np.ndarray) -> np.ndarray:
    """The tables decoded: (TABLES, ENTRIES, 4) float64: maps (value, difference) in 0..1, the
    colour table's channels, the colour differences' channels (doubled)."""
    w = words.astype(np.int64)
    out = np.zeros((TABLES, ENTRIES, 4), np.float64)
    for t in (NOISE, COLOR_MAP, ALPHA_MAP):
        out[t, :, 0] = (w[t] & 0xFFF) / 4095.0
        d = (w[t] >> 12) & 0xFFF
        out[t, :, 1] = np.where(d >= 0x800, d - 0x1000, d) / 4095.0
    for ch in range(4):
        out[COLOR, :, ch] = (w[COLOR] >> (8 * ch)) & 0xFF
        d = (w[COLOR_DIFF] >> (8 * ch)) & 0xFF
        out[COLOR_DIFF, :, ch] = np.where(d >= 0x80, d - 0x100, d) * 2
    return out


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _lut128(luts, table, x):
    x *= 128.0
    i = min(np.int64(x), 127)
    if i < 0:
        i = 0
    return luts[table, i, 0] + (x - i) * luts[table, i, 1]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _prng(v):
    h = (0, 4, 10, 8, 4, 9, 7, 12, 5, 15, 13, 14, 11, 15, 2, 11)
    return (((v % 9 + 2) * 3) & 0xF) ^ h[(v // 9) & 0xF]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _rand(x, y):
    h = (10, 2, 15, 8, 0, 7, 4, 5, 5, 13, 2, 6, 13, 9, 3, 14)
    a = _prng(x)
    b = _prng(y)
    if (a & 3) == 1:
        b += 4
    b ^= (a & 1) * 6
    b = ((b + 10 + a) & 0xF) ^ h[a]
    return -1.0 + b * 2.0 / 15.0


@njit(cache=True, nogil=True, error_model="numpy")
def _noise(s, luts, u, v):
    x = 9.0 * s[S_FREQ_U] * abs(u + s[S_PHASE_U])
    y = 9.0 * s[S_FREQ_V] * abs(v + s[S_PHASE_V])
    xi, yi = np.int64(x), np.int64(y)
    xf, yf = x - xi, y - yi
    g0 = _rand(xi, yi) * (xf + yf)
    g1 = _rand(xi + 1, yi) * (xf + yf - 1.0)
    g2 = _rand(xi, yi + 1) * (xf + yf - 1.0)
    g3 = _rand(xi + 1, yi + 1) * (xf + yf - 2.0)
    nx, ny = _lut128(luts, NOISE, xf), _lut128(luts, NOISE, yf)
    x0 = g0 * (1.0 - nx) + g1 * nx
    x1 = g2 * (1.0 - nx) + g3 * nx
    return x0 * (1.0 - ny) + x1 * ny


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _shift(a, b, mode, clamp):
    off = 1.0 if clamp == 3 else 0.5
    if mode == 1:
        return a + off * ((np.int64(b) // 2) % 2)
    if mode == 2:
        return a + off * (((np.int64(b) + 1) // 2) % 2)
    return a


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _clamp(c, mode):
    if mode == 0:
        return 0.0 if c > 1.0 else c
    if mode == 2:
        return c - math.floor(c)
    if mode == 3:
        i = np.int64(c)
        f = c - i
        return f if i % 2 == 0 else 1.0 - f
    if mode == 4:
        return 0.0 if c < 0.5 else 1.0
    return min(c, 1.0)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _combine(u, v, comb):
    if comb == 0:
        return u
    if comb == 1:
        return u * u
    if comb == 2:
        return v
    if comb == 3:
        return v * v
    if comb == 4:
        return (u + v) * 0.5
    if comb == 5:
        return (u * u + v * v) * 0.5
    if comb == 6:
        return min(math.sqrt(u * u + v * v), 1.0)
    if comb == 7:
        return min(u, v)
    if comb == 8:
        return max(u, v)
    if comb == 9:
        return min(((u + v) * 0.5 + math.sqrt(u * u + v * v)) * 0.5, 1.0)
    return 0.0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def evaluate(s, luts, uv, out, row):
    """The procedural texture's colour at the fragment's coordinates ``uv`` (u0, v0, u1, v1,
    u2, v2, w0) into ``out[row]``."""
    c = 2 * np.int64(s[S_COORD])
    u, v = abs(uv[c]), abs(uv[c + 1])
    if s[S_NOISE] != 0:
        n = _noise(s, luts, u, v)
        u = abs(u + n * s[S_AMP_U])
        v = abs(v + n * s[S_AMP_V])
    uclamp, vclamp = np.int64(s[S_UCLAMP]), np.int64(s[S_VCLAMP])
    us = _shift(u, v, np.int64(s[S_USHIFT]), uclamp)
    vs = _shift(v, u, np.int64(s[S_VSHIFT]), vclamp)
    u, v = _clamp(us, uclamp), _clamp(vs, vclamp)
    x = _lut128(luts, COLOR_MAP, _combine(u, v, np.int64(s[S_CCOMB])))
    index = s[S_OFFSET] + x * (s[S_WIDTH] - 1.0)
    f = np.int64(s[S_FILTER])
    if f == 1 or f == 3 or f == 5:
        i = min(max(np.int64(index), 0), ENTRIES - 1)
        frac = index - i
        for ch in range(4):
            out[row, ch] = max(0, min(255, np.int64(luts[COLOR, i, ch] + frac * luts[COLOR_DIFF, i, ch])))
    else:
        i = min(max(np.int64(math.floor(index + 0.5)), 0), ENTRIES - 1)
        for ch in range(4):
            out[row, ch] = np.int64(luts[COLOR, i, ch])
    if s[S_SEPARATE] != 0:
        a = _lut128(luts, ALPHA_MAP, _combine(u, v, np.int64(s[S_ACOMB])))
        out[row, 3] = max(0, min(255, np.int64(a * 255.0)))
