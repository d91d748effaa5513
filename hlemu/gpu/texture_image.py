"""A texture's level 0 as a picture, for the debugger: every texel decoded by the sampler's own
:func:`hlemu.gpu.texture.texel` (so the picture is what draws read), top row first.

>>> import numpy as np
>>> raw = np.zeros(8 * 8 * 2, np.uint8)
>>> raw[0:2] = (0x0F, 0xF0)  # RGBA4 texel (0, 0): r 15, g 0, b 0, a 15
>>> image = decode_texture(raw, 4, 8, 8)
>>> image.shape, image[0, 0].tolist(), image[0, 1].tolist()
((8, 8, 4), [255, 0, 0, 255], [0, 0, 0, 0])
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hlemu.gpu.texture import BITS_PER_TEXEL, FORMAT_NAMES, texel

__all__ = ["decode_texture", "texture_bytes"]


def texture_bytes(fmt: int, width: int, height: int) -> int:
    """Bytes of level 0 of a ``width`` x ``height`` texture in format ``fmt``."""
    return width * height * BITS_PER_TEXEL[fmt] // 8


@njit(cache=True, nogil=True)
def _decode(data, fmt, width, height, out):
    for y in range(height):
        for x in range(width):
            r, g, b, a = texel(data, 0, fmt, width, x, y)
            out[y, x, 0], out[y, x, 1], out[y, x, 2], out[y, x, 3] = r, g, b, a


def decode_texture(data: np.ndarray, fmt: int, width: int, height: int) -> np.ndarray:
    """``data`` (uint8, level 0 of the texture as stored: tiled, 8x8 Morton) -> (height, width, 4)
    uint8 RGBA, row 0 the first row in memory (the top of the texture, t = 1)."""
    if not 0 <= fmt < len(FORMAT_NAMES):
        raise ValueError(f"texture format {fmt} does not exist (0-13)")
    if width <= 0 or height <= 0 or width % 8 or height % 8:
        raise ValueError(f"a {width}x{height} texture is not whole 8x8 tiles")
    need = texture_bytes(fmt, width, height)
    if len(data) < need:
        raise ValueError(f"{width}x{height} {FORMAT_NAMES[fmt]} needs {need} bytes, got {len(data)}")
    out = np.zeros((height, width, 4), np.uint8)
    _decode(np.ascontiguousarray(data[:need], np.uint8), np.int64(fmt), np.int64(width), np.int64(height), out)
    return out
