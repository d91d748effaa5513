"""The 3DS's tiled pixel layout, which the PICA's colour and depth buffers, its textures
and GX's DisplayTransfer all use: 8x8 tiles, pixels in a tile in Morton (Z) order."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def morton(x, y):
    """Index of pixel (x, y) (each 0-7) inside an 8x8 tile: bits y2 x2 y1 x1 y0 x0.

    >>> [morton(x, 0) for x in range(8)], morton(0, 1), morton(7, 7)
    ([0, 1, 4, 5, 16, 17, 20, 21], 2, 63)
    """
    return ((x & 1) | ((y & 1) << 1) | ((x & 2) << 1) | ((y & 2) << 2)
            | ((x & 4) << 2) | ((y & 4) << 3))


__all__ = ["morton"]
