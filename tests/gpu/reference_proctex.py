"""An independent plain-numpy procedural texture (PICA texture unit 3) for the tests: whole
arrays of coordinates at once, decoded straight from the register words and LUT words, with
the behaviour 3dbrew and Azahar describe (see hlemu/gpu/proctex.py's docstring)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

NOISE_HASH = np.array([0, 4, 10, 8, 4, 9, 7, 12, 5, 15, 13, 14, 11, 15, 2, 11])
RAND_HASH = np.array([10, 2, 15, 8, 0, 7, 4, 5, 5, 13, 2, 6, 13, 9, 3, 14])


def signed(raw: int, bits: int) -> int:
    raw &= (1 << bits) - 1
    return raw - (1 << bits) if raw >> (bits - 1) else raw


def half(raw: int) -> float:
    return float(np.uint16(raw & 0xFFFF).view(np.float16))


def map_lookup(words: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A 128-entry table (value bits 0-11, signed difference 12-23, both in 4095ths) at x in 0..1."""
    words = np.asarray(words, np.int64)
    value = (words & 0xFFF) / 4095.0
    raw = (words >> 12) & 0xFFF
    diff = np.where(raw & 0x800, raw - 0x1000, raw) / 4095.0
    pos = x * 128.0
    i = np.clip(pos.astype(np.int64), 0, 127)
    return value[i] + (pos - i) * diff[i]


def _hash(v: np.ndarray) -> np.ndarray:
    return (((v % 9) + 2) * 3 & 0xF) ^ NOISE_HASH[(v // 9) & 0xF]


def _rand(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    a, b = _hash(x), _hash(y)
    b = b + np.where((a & 3) == 1, 4, 0)
    b = b ^ ((a & 1) * 6)
    b = ((b + 10 + a) & 0xF) ^ RAND_HASH[a]
    return b * (2.0 / 15.0) - 1.0


def noise(regs: dict, noise_lut, u, v):
    fu, fv = half(regs[0xAB]), half(regs[0xAB] >> 16)
    pu, pv = half(regs[0xA9] >> 16), half(regs[0xAA] >> 16)
    x, y = np.abs(u + pu) * fu * 9, np.abs(v + pv) * fv * 9
    xi, yi = x.astype(np.int64), y.astype(np.int64)
    xf, yf = x - xi, y - yi
    s = xf + yf
    corners = [_rand(xi, yi) * s, _rand(xi + 1, yi) * (s - 1), _rand(xi, yi + 1) * (s - 1),
               _rand(xi + 1, yi + 1) * (s - 2)]
    nx, ny = map_lookup(noise_lut, xf), map_lookup(noise_lut, yf)
    bottom = corners[0] + (corners[1] - corners[0]) * nx
    top = corners[2] + (corners[3] - corners[2]) * nx
    return bottom + (top - bottom) * ny


def clamp(c, mode):
    if mode == 0:
        return np.where(c > 1, 0.0, c)
    if mode == 2:
        return c % 1.0
    if mode == 3:
        whole = np.trunc(c)
        return np.where(whole.astype(np.int64) % 2 == 0, c - whole, 1 - (c - whole))
    if mode == 4:
        return np.where(c < 0.5, 0.0, 1.0)
    return np.minimum(c, 1.0)


def shift(a, b, mode, clamp_mode):
    step = 1.0 if clamp_mode == 3 else 0.5
    bi = b.astype(np.int64)
    if mode == 1:
        return a + step * ((bi // 2) % 2)
    if mode == 2:
        return a + step * (((bi + 1) // 2) % 2)
    return a


COMBINERS: dict[int, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    0: lambda u, v: u, 1: lambda u, v: u * u, 2: lambda u, v: v, 3: lambda u, v: v * v,
    4: lambda u, v: (u + v) / 2, 5: lambda u, v: (u * u + v * v) / 2,
    6: lambda u, v: np.minimum(np.hypot(u, v), 1.0), 7: np.minimum, 8: np.maximum,
    9: lambda u, v: np.minimum(((u + v) / 2 + np.hypot(u, v)) / 2, 1.0),
}


def proctex(regs: dict, luts: dict, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """RGBA (uint8, shape u.shape + (4,)) of the procedural texture at (u, v); ``regs`` maps
    0xA8-0xAD to their words, ``luts`` table number -> its words."""
    p0 = regs[0xA8]
    uc, vc, ccomb, acomb = p0 & 7, p0 >> 3 & 7, p0 >> 6 & 0xF, p0 >> 10 & 0xF
    u, v = np.abs(np.asarray(u, np.float64)), np.abs(np.asarray(v, np.float64))
    if p0 >> 15 & 1:
        n = noise(regs, luts[0], u, v)
        au = signed(regs[0xA9], 16) / 4095.0
        av = signed(regs[0xAA], 16) / 4095.0
        u, v = np.abs(u + n * au), np.abs(v + n * av)
    u, v = shift(u, v, p0 >> 16 & 3, uc), shift(v, u, p0 >> 18 & 3, vc)
    u, v = clamp(u, uc), clamp(v, vc)
    x = map_lookup(luts[2], COMBINERS[ccomb](u, v))
    width, offset, filt = regs[0xAC] >> 11 & 0xFF, regs[0xAD] & 0xFF, regs[0xAC] & 7
    index = offset + x * (width - 1)
    color = np.array([[(w >> (8 * ch)) & 0xFF for ch in range(4)] for w in luts[4]], np.float64)
    if filt in (1, 3, 5):
        diff = np.array([[signed(w >> (8 * ch), 8) * 2 for ch in range(4)] for w in luts[5]], np.float64)
        i = np.clip(index.astype(np.int64), 0, 255)
        out = np.clip((color[i] + (index - i)[..., None] * diff[i]).astype(np.int64), 0, 255)
    else:
        out = color[np.clip(np.floor(index + 0.5).astype(np.int64), 0, 255)].astype(np.int64)
    if p0 >> 14 & 1:
        out[..., 3] = np.clip((map_lookup(luts[3], COMBINERS[acomb](u, v)) * 255).astype(np.int64), 0, 255)
    return out.astype(np.uint8)
