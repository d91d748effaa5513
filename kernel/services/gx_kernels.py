"""The GX transfer engine's pixel loops, compiled with numba.

Each kernel works on numpy byte arrays that :mod:`kernel.services.gx` read from guest
memory in one piece (and writes back in one piece), so no Python runs per pixel and no
kernel touches guest memory or can fail: the caller has sized and checked every array.

Pixel formats: GX numbers them GSP_* (0 RGBA8, 1 RGB8, 2 RGB565, 3 RGB5A1, 4 RGBA4), the
PICA GPU_RB_* (RGB565 and RGB5A1 swapped); the codec is the PICA's, :mod:`hlemu.gpu.pixels`
(layouts, widening and narrowing are documented there), reached through its GSP_TO_PICA map.

Tiled images are 8x8 tiles stored one after another along a row of tiles, rows of tiles
one after another; inside a tile the 64 pixels are in Morton (Z) order: the bits of x and
y interleaved, x in bit 0 (3dbrew "GPU/Textures"; Citra ``video_core/utils.h``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hlemu.gpu import pixels  # one pixel codec and one tile order for GX transfers and the PICA
from hlemu.gpu.pixels import BYTES_PER_PIXEL, GSP_TO_PICA
from hlemu.gpu.tiling import morton

FORMAT_NAMES = pixels.GSP_FORMAT_NAMES  # indexed by GSP_* format


@njit(cache=True, nogil=True, inline="always")
def tiled_offset(x, y, width, bpp):
    """Byte offset of pixel (x, y) in a tiled image ``width`` pixels wide."""
    tile_row = (y >> 3) * (width << 3)
    return (tile_row + ((x >> 3) << 6) + morton(x & 7, y & 7)) * bpp


@njit(cache=True, nogil=True, inline="always")
def decode(src, off, fmt):
    """The pixel at ``src[off]`` in GSP_* format ``fmt`` as (r, g, b, a), 8 bits each."""
    return pixels.decode(src, off, GSP_TO_PICA[fmt])


@njit(cache=True, nogil=True, inline="always")
def encode(dst, off, fmt, r, g, b, a):
    """Store (r, g, b, a) at ``dst[off]`` in GSP_* format ``fmt``."""
    pixels.encode(dst, off, GSP_TO_PICA[fmt], r, g, b, a)


@njit(cache=True, nogil=True, inline="always")
def _offset(x, y, width, bpp, tiled):
    if tiled:
        return tiled_offset(x, y, width, bpp)
    return (y * width + x) * bpp


# The image loops take the format as a constant: each of :func:`decode_image` and
# :func:`encode_image` calls its loop once a format with a literal, so the compiler folds the
# codec's format branches and the bytes-per-pixel lookup out of the loop (a loop over a format
# held in a variable ran about 40 times slower: 1 ms for a 400x240 RGBA8 screen).
@njit(cache=True, nogil=True, inline="always")
def _decode_all(src, fmt, rgba):
    bpp = BYTES_PER_PIXEL[fmt]
    for i in range(rgba.shape[0]):
        r, g, b, a = decode(src, i * bpp, fmt)
        rgba[i] = r | (g << 8) | (b << 16) | (a << 24)


@njit(cache=True, nogil=True, inline="always")
def _encode_all(rgba, fmt, dst):
    bpp = BYTES_PER_PIXEL[fmt]
    for i in range(rgba.shape[0]):
        p = np.int64(rgba[i])
        encode(dst, i * bpp, fmt, p & 0xFF, (p >> 8) & 0xFF, (p >> 16) & 0xFF, p >> 24)


@njit(cache=True, nogil=True)
def decode_image(src, fmt, rgba):
    """Every pixel of ``src`` (format ``fmt``) into ``rgba``, in memory order, each packed
    as one word ``r | g << 8 | b << 16 | a << 24``."""
    if fmt == 0:
        _decode_all(src, 0, rgba)
    elif fmt == 1:
        _decode_all(src, 1, rgba)
    elif fmt == 2:
        _decode_all(src, 2, rgba)
    elif fmt == 3:
        _decode_all(src, 3, rgba)
    else:
        _decode_all(src, 4, rgba)


@njit(cache=True, nogil=True)
def encode_image(rgba, fmt, dst):
    """The packed pixels of ``rgba`` into ``dst`` in format ``fmt``, in order."""
    if fmt == 0:
        _encode_all(rgba, 0, dst)
    elif fmt == 1:
        _encode_all(rgba, 1, dst)
    elif fmt == 2:
        _encode_all(rgba, 2, dst)
    elif fmt == 3:
        _encode_all(rgba, 3, dst)
    else:
        _encode_all(rgba, 4, dst)


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
