"""PICA float formats (3dbrew "GPU/Internal Registers", float24): 1 sign bit, 7 exponent bits
(bias 63), 16 mantissa bits; exponent 0 is zero (no denormals), exponent 127 inf/NaN. hlemu
computes in float32, which holds every float24 exactly."""

from __future__ import annotations

import struct

import numpy as np

_F32 = struct.Struct("<f")


def f24_to_f32(raw: np.ndarray | int) -> np.ndarray:
    """float24 bit patterns (low 24 bits) to float32.

    >>> f24_to_f32(np.array([0x3F0000, 0xBF8000, 0x000000, 0x400000])).tolist()
    [1.0, -1.5, 0.0, 2.0]
    """
    r = np.asarray(raw, dtype=np.uint32) & 0xFFFFFF
    sign, exp, mant = r >> 23, (r >> 16) & 0x7F, r & 0xFFFF
    exp32 = np.where(exp == 0, 0, np.where(exp == 0x7F, 0xFF, exp + 64))
    bits = sign << 31 | exp32.astype(np.uint32) << 23 | np.where(exp == 0, 0, mant << 7).astype(np.uint32)
    return bits.astype(np.uint32).view(np.float32)


def f32_to_f24(value: np.ndarray | float) -> np.ndarray:
    """float32 to float24 bit patterns, truncating the mantissa (for builders and tests).

    >>> [hex(v) for v in f32_to_f24(np.array([1.0, -1.5, 0.0], np.float32)).tolist()]
    ['0x3f0000', '0xbf8000', '0x0']
    """
    bits = np.asarray(value, dtype=np.float32).view(np.uint32)
    sign, exp, mant = bits >> 31, (bits >> 23) & 0xFF, (bits >> 7) & 0xFFFF
    e = exp.astype(np.int64) - 64
    out = np.where(e <= 0, 0, np.where((e >= 0x7F) | (exp == 0xFF), 0x7F << 16, (e << 16) | mant))
    return (sign.astype(np.int64) << 23 | out).astype(np.uint32)


def unpack_vec4(words: list[int] | tuple[int, ...]) -> np.ndarray:
    """Four float24 packed in three words (fixed attributes, float24 uniforms), as (x, y, z, w):
    word 0 holds w and the top of z, word 2 the bottom of y and all of x (Azahar
    ``PackedAttribute``, 3dbrew "GPU/Internal Registers" GPUREG_FIXEDATTRIB_DATA)."""
    a, b, c = (int(w) for w in words)
    x = c & 0xFFFFFF
    y = (b & 0xFFFF) << 8 | (c >> 24) & 0xFF
    z = (a & 0xFF) << 16 | (b >> 16) & 0xFFFF
    w = (a >> 8) & 0xFFFFFF
    # (f24_to_f32's rule in plain ints: a few numpy calls on four values cost ten times this, and
    # immediate-mode vertices and uniforms unpack one vector a register write)
    return np.array([_f32_bits(v) for v in (x, y, z, w)], np.uint32).view(np.float32)


def f24_value(raw: int) -> float:
    """One float24 register value (low 24 bits) as a Python float, exactly :func:`f24_to_f32`'s
    float32 (a draw reads four of them: numpy on one value costs ~10 us).

    >>> f24_value(0x3F0000), f24_value(0xBF8000)
    (1.0, -1.5)
    """
    return _F32.unpack(_f32_bits(int(raw) & 0xFFFFFF).to_bytes(4, "little"))[0]


def _f32_bits(r: int) -> int:
    """The float32 bit pattern of float24 ``r`` (f24_to_f32, one value)."""
    exp = (r >> 16) & 0x7F
    if exp == 0:
        return (r >> 23) << 31
    return (r >> 23) << 31 | (0xFF if exp == 0x7F else exp + 64) << 23 | (r & 0xFFFF) << 7


def pack_vec4(x: float, y: float, z: float, w: float) -> tuple[int, int, int]:
    """The inverse of :func:`unpack_vec4` (for builders and tests).

    >>> unpack_vec4(pack_vec4(1.0, 2.0, -3.0, 0.5)).tolist()
    [1.0, 2.0, -3.0, 0.5]
    """
    fx, fy, fz, fw = (int(v) for v in f32_to_f24(np.array([x, y, z, w], np.float32)))
    return (fw << 8 | fz >> 16, (fz & 0xFFFF) << 16 | fy >> 8, (fy & 0xFF) << 24 | fx)
