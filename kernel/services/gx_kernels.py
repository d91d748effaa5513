"""The GX transfer engine's pixel loops, compiled with numba.

Each kernel works on numpy byte arrays that :mod:`kernel.services.gx` read from guest
memory in one piece (and writes back in one piece), so no Python runs per pixel and no
kernel touches guest memory or can fail: the caller has sized and checked every array.

Pixel formats (3dbrew "GPU/External Registers", Citra ``common/color.h``): components are
stored most significant first in a little-endian word, so in memory

=======  =====  ==========================================================
format   bytes  layout
=======  =====  ==========================================================
RGBA8    4      bytes A, B, G, R (word R << 24 | G << 16 | B << 8 | A)
RGB8     3      bytes B, G, R
RGB565   2      R 15-11, G 10-5, B 4-0
RGB5A1   2      R 15-11, G 10-6, B 5-1, A 0
RGBA4    2      R 15-12, G 11-8, B 7-4, A 3-0
=======  =====  ==========================================================

Narrow channels widen by replicating their high bits (5 bits: ``v << 3 | v >> 2``, 6 bits:
``v << 2 | v >> 4``, 4 bits: ``v * 17``, 1 bit: 0 or 255); wide ones narrow by dropping
low bits. Formats without alpha read as alpha 255.

Tiled images are 8x8 tiles stored one after another along a row of tiles, rows of tiles
one after another; inside a tile the 64 pixels are in Morton (Z) order: the bits of x and
y interleaved, x in bit 0 (3dbrew "GPU/Textures"; Citra ``video_core/utils.h``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hlemu.gpu.tiling import morton  # one tile order for GX transfers and the PICA

BYTES_PER_PIXEL = (4, 3, 2, 2, 2)  # indexed by format
FORMAT_NAMES = ("RGBA8", "RGB8", "RGB565", "RGB5A1", "RGBA4")


@njit(cache=True, nogil=True, inline="always")
def tiled_offset(x, y, width, bpp):
    """Byte offset of pixel (x, y) in a tiled image ``width`` pixels wide."""
    tile_row = (y >> 3) * (width << 3)
    return (tile_row + ((x >> 3) << 6) + morton(x & 7, y & 7)) * bpp


@njit(cache=True, nogil=True, inline="always")
def decode(src, off, fmt):
    """The pixel at ``src[off]`` in format ``fmt`` as (r, g, b, a), 8 bits each."""
    if fmt == 0:
        return np.int64(src[off + 3]), np.int64(src[off + 2]), np.int64(src[off + 1]), np.int64(src[off])
    if fmt == 1:
        return np.int64(src[off + 2]), np.int64(src[off + 1]), np.int64(src[off]), np.int64(255)
    w = np.int64(src[off]) | (np.int64(src[off + 1]) << 8)
    if fmt == 2:
        r, g, b = (w >> 11) & 0x1F, (w >> 5) & 0x3F, w & 0x1F
        return (r << 3) | (r >> 2), (g << 2) | (g >> 4), (b << 3) | (b >> 2), np.int64(255)
    if fmt == 3:
        r, g, b = (w >> 11) & 0x1F, (w >> 6) & 0x1F, (w >> 1) & 0x1F
        return (r << 3) | (r >> 2), (g << 3) | (g >> 2), (b << 3) | (b >> 2), (w & 1) * 255
    return ((w >> 12) & 0xF) * 17, ((w >> 8) & 0xF) * 17, ((w >> 4) & 0xF) * 17, (w & 0xF) * 17


@njit(cache=True, nogil=True, inline="always")
def encode(dst, off, fmt, r, g, b, a):
    """Store (r, g, b, a) at ``dst[off]`` in format ``fmt``."""
    if fmt == 0:
        dst[off], dst[off + 1], dst[off + 2], dst[off + 3] = a, b, g, r
        return
    if fmt == 1:
        dst[off], dst[off + 1], dst[off + 2] = b, g, r
        return
    if fmt == 2:
        w = ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3)
    elif fmt == 3:
        w = ((r >> 3) << 11) | ((g >> 3) << 6) | ((b >> 3) << 1) | (a >> 7)
    else:
        w = ((r >> 4) << 12) | ((g >> 4) << 8) | ((b >> 4) << 4) | (a >> 4)
    dst[off] = w & 0xFF
    dst[off + 1] = w >> 8


@njit(cache=True, nogil=True, inline="always")
def _offset(x, y, width, bpp, tiled):
    if tiled:
        return tiled_offset(x, y, width, bpp)
    return (y * width + x) * bpp


@njit(cache=True, nogil=True)
def decode_image(src, fmt, rgba):
    """Every pixel of ``src`` (format ``fmt``) into ``rgba``, in memory order, each packed
    as one word ``r | g << 8 | b << 16 | a << 24``."""
    bpp = BYTES_PER_PIXEL[fmt]
    for i in range(rgba.shape[0]):
        r, g, b, a = decode(src, i * bpp, fmt)
        rgba[i] = r | (g << 8) | (b << 16) | (a << 24)


@njit(cache=True, nogil=True)
def encode_image(rgba, fmt, dst):
    """The packed pixels of ``rgba`` into ``dst`` in format ``fmt``, in order."""
    bpp = BYTES_PER_PIXEL[fmt]
    for i in range(rgba.shape[0]):
        p = np.int64(rgba[i])
        encode(dst, i * bpp, fmt, p & 0xFF, (p >> 8) & 0xFF, (p >> 16) & 0xFF, p >> 24)


@njit(cache=True, nogil=True, inline="always")
def _spread(p):
    """A packed pixel with each channel moved into its own 16-bit lane (room to add)."""
    p = np.int64(p)
    return (p & 0xFF) | ((p & 0xFF00) << 8) | ((p & 0xFF0000) << 16) | ((p & 0xFF000000) << 24)


@njit(cache=True, nogil=True, inline="always")
def _pack(q, shift):
    """Undo :func:`_spread` on a sum of pixels, dividing each channel by ``1 << shift``."""
    return (((q >> shift) & 0xFF) | (((q >> (16 + shift)) & 0xFF) << 8)
            | (((q >> (32 + shift)) & 0xFF) << 16) | (((q >> (48 + shift)) & 0xFF) << 24))


@njit(cache=True, nogil=True)
def rearrange(inp, out, in_width, out_width, out_height, in_tiled, out_tiled, flip, scale_x, scale_y):
    """Move packed pixels from the input's layout to the output's (see display_transfer)."""
    for y in range(out_height):
        oy = out_height - 1 - y if flip else y
        iy = y << scale_y
        for x in range(out_width):
            ix = x << scale_x
            d = _offset(x, oy, out_width, 1, out_tiled)
            s = _offset(ix, iy, in_width, 1, in_tiled)
            if not scale_x:
                out[d] = inp[s]
            elif not scale_y:
                q = _spread(inp[s]) + _spread(inp[_offset(ix + 1, iy, in_width, 1, in_tiled)])
                out[d] = _pack(q, 1)
            else:
                q = (_spread(inp[s]) + _spread(inp[_offset(ix + 1, iy, in_width, 1, in_tiled)])
                     + _spread(inp[_offset(ix, iy + 1, in_width, 1, in_tiled)])
                     + _spread(inp[_offset(ix + 1, iy + 1, in_width, 1, in_tiled)]))
                out[d] = _pack(q, 2)


@njit(cache=True, nogil=True)
def display_transfer(src, dst, in_width, out_width, out_height, in_fmt, out_fmt,
                     in_tiled, out_tiled, flip, scale_x, scale_y):
    """Copy an ``out_width`` x ``out_height`` image (already downscaled) from ``src`` to ``dst``,
    converting formats, tiling/untiling and flipping as asked.

    Output pixel (x, y) comes from input pixel (x << scale_x, y << scale_y) (with
    ``scale_x``/``scale_y`` 0 or 1); a downscale averages the 2 or 4 input pixels it covers
    (integer mean, as Citra's software blitter). ``flip`` writes row y to row
    ``out_height - 1 - y``. The input is ``in_width`` pixels a row. Done in three passes,
    each with its format or layout fixed: decode, rearrange, encode.
    """
    rgba_in = np.empty(src.shape[0] // BYTES_PER_PIXEL[in_fmt], np.uint32)
    decode_image(src, in_fmt, rgba_in)
    rgba_out = np.empty(out_width * out_height, np.uint32)
    rearrange(rgba_in, rgba_out, in_width, out_width, out_height, in_tiled, out_tiled, flip, scale_x, scale_y)
    encode_image(rgba_out, out_fmt, dst)


@njit(cache=True, nogil=True)
def memory_fill(buf, value, width):
    """Fill ``buf`` with the ``width``-byte (2, 3 or 4) little-endian pattern ``value``; a
    pattern cut by the end of the buffer is written only up to it."""
    j = 0
    for i in range(buf.shape[0]):
        buf[i] = (value >> (8 * j)) & 0xFF
        j = 0 if j + 1 == width else j + 1


@njit(cache=True, nogil=True)
def texture_copy(src, dst, size, in_width, in_gap, out_width, out_gap):
    """Copy ``size`` bytes in lines: ``in_width`` bytes read then ``in_gap`` skipped, written
    ``out_width`` bytes at a time with ``out_gap`` bytes left alone after each (widths > 0)."""
    s = 0
    d = 0
    in_left = in_width
    out_left = out_width
    left = size
    while left > 0:
        n = min(in_left, out_left, left)
        dst[d : d + n] = src[s : s + n]
        s += n
        d += n
        in_left -= n
        out_left -= n
        left -= n
        if in_left == 0:
            in_left = in_width
            s += in_gap
        if out_left == 0:
            out_left = out_width
            d += out_gap
