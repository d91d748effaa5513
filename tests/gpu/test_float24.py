"""float24 (the PICA's 1.7.16 float) to float32: the one-value helper gives what the array rule
gives, as the Python float the draw's setup used to take from it."""

from __future__ import annotations

import math
import struct

import numpy as np

from hlemu.gpu.float24 import f24_to_f32, f24_value


def test_one_value_matches_the_array_conversion_bit_for_bit():
    rng = np.random.default_rng(24)
    raws = [(sign << 23) | (exp << 16) | mant for sign in (0, 1) for exp in range(128)
            for mant in (0, 1, 0x8000, 0xFFFF, *rng.integers(0, 1 << 16, 8).tolist())]
    raws += [0xFF000000 | 0x3F0000]  # bits above the 24 are ignored

    def bits(x: float) -> bytes:
        return struct.pack("<d", x)

    assert [bits(f24_value(raw)) for raw in raws] == [bits(float(f24_to_f32(raw))) for raw in raws]
    assert f24_value(0x7F0000) == math.inf and math.isnan(f24_value(0x7F0001)) and f24_value(0) == 0.0
