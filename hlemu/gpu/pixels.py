"""The 3DS's colour pixel formats, one codec for the PICA's colour buffers and textures and
GX's transfer engine (kernel/services/gx_kernels.py), compiled with numba.

The formats (3dbrew "GPU/Internal Registers" GPUREG_COLORBUFFER_FORMAT and "GPU/External
Registers"; Azahar ``common/color.h``) store their components most significant first in a
little-endian word, so in memory

=======  =====  ==========================================================
format   bytes  layout
=======  =====  ==========================================================
RGBA8    4      bytes A, B, G, R (word R << 24 | G << 16 | B << 8 | A)
RGB8     3      bytes B, G, R
RGB5A1   2      R 15-11, G 10-6, B 5-1, A 0
RGB565   2      R 15-11, G 10-5, B 4-0
RGBA4    2      R 15-12, G 11-8, B 7-4, A 3-0
=======  =====  ==========================================================

Narrow channels widen by replicating their high bits (5 bits: ``v << 3 | v >> 2``, 6 bits:
``v << 2 | v >> 4``, 4 bits: ``v * 17``, 1 bit: 0 or 255); wide ones narrow by dropping
low bits. Formats without alpha read as alpha 255.

Numbering: the codec uses the PICA's (GPU_RB_* for colour buffers, the first five texture
formats): 0 RGBA8, 1 RGB8, 2 RGB5A1, 3 RGB565, 4 RGBA4. GX's transfer registers number
them GSP_*, with RGB565 and RGB5A1 the other way round (2 RGB565, 3 RGB5A1):
:data:`GSP_TO_PICA` turns one into the other, so the two numberings meet in one place.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["BYTES_PER_PIXEL", "FORMAT_NAMES", "GSP_FORMAT_NAMES", "GSP_TO_PICA", "decode", "encode"]

RGBA8, RGB8, RGB5A1, RGB565, RGBA4 = 0, 1, 2, 3, 4
FORMAT_NAMES = ("RGBA8", "RGB8", "RGB5A1", "RGB565", "RGBA4")  # PICA numbering (GPU_RB_*)
BYTES_PER_PIXEL = (4, 3, 2, 2, 2)  # the same in both numberings
GSP_TO_PICA = (RGBA8, RGB8, RGB565, RGB5A1, RGBA4)  # GSP_* number -> PICA number (its own inverse)
GSP_FORMAT_NAMES = tuple(FORMAT_NAMES[p] for p in GSP_TO_PICA)


@njit(cache=True, nogil=True, inline="always")
def decode(src, off, fmt):
    """The pixel at ``src[off]`` in PICA format ``fmt`` as (r, g, b, a), 8 bits each.

    >>> decode(np.array([0x01, 0xF8], np.uint8), 0, RGB565), decode(np.array([0x01, 0xF8], np.uint8), 0, RGB5A1)
    ((255, 0, 8, 255), (255, 0, 0, 255))
    """
    if fmt == RGBA8:
        return np.int64(src[off + 3]), np.int64(src[off + 2]), np.int64(src[off + 1]), np.int64(src[off])
    if fmt == RGB8:
        return np.int64(src[off + 2]), np.int64(src[off + 1]), np.int64(src[off]), np.int64(255)
    w = np.int64(src[off]) | (np.int64(src[off + 1]) << 8)
    if fmt == RGB5A1:
        r, g, b = (w >> 11) & 0x1F, (w >> 6) & 0x1F, (w >> 1) & 0x1F
        return (r << 3) | (r >> 2), (g << 3) | (g >> 2), (b << 3) | (b >> 2), (w & 1) * 255
    if fmt == RGB565:
        r, g, b = (w >> 11) & 0x1F, (w >> 5) & 0x3F, w & 0x1F
        return (r << 3) | (r >> 2), (g << 2) | (g >> 4), (b << 3) | (b >> 2), np.int64(255)
    return ((w >> 12) & 0xF) * 17, ((w >> 8) & 0xF) * 17, ((w >> 4) & 0xF) * 17, (w & 0xF) * 17


@njit(cache=True, nogil=True, inline="always")
def encode(dst, off, fmt, r, g, b, a):
    """Store (r, g, b, a) (each 0-255) at ``dst[off]`` in PICA format ``fmt``."""
    if fmt == RGBA8:
        dst[off], dst[off + 1], dst[off + 2], dst[off + 3] = a, b, g, r
        return
    if fmt == RGB8:
        dst[off], dst[off + 1], dst[off + 2] = b, g, r
        return
    if fmt == RGB5A1:
        w = ((r >> 3) << 11) | ((g >> 3) << 6) | ((b >> 3) << 1) | (a >> 7)
    elif fmt == RGB565:
        w = ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3)
    else:
        w = ((r >> 4) << 12) | ((g >> 4) << 8) | ((b >> 4) << 4) | (a >> 4)
    dst[off] = w & 0xFF
    dst[off + 1] = w >> 8
