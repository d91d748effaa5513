"""The texture units 0-2: their registers, the fourteen texture formats and the sampler
(wrap modes, nearest and linear filtering), compiled with numba for the fragment loop.

Registers (3dbrew "GPU/Internal Registers"; Azahar ``pica/regs_texturing.h``):

- TEXUNIT_CONFIG (0x080): bits 0-2 units 0-2 on, bit 13 unit 2 reads texture coordinate 1.
- per unit (0x081.., 0x091.., 0x099..): BORDER_COLOR (r, g, b, a from bit 0), DIM (height
  bits 0-10, width 16-26), PARAM (bit 1 magnification filter, bit 2 minification filter,
  0 nearest, 1 linear; bits 8-10 wrap t, 12-14 wrap s; bits 28-30 unit 0's type: 2D, cube,
  shadow 2D, projection 2D, shadow cube, the shadows in :mod:`hlemu.gpu.shadow`), LOD
  (bits 0-12 a signed bias in 1.4.8 fixed point), ADDR1 (address / 8), TYPE (the format).

Formats (3dbrew "GPU/Textures"; Azahar ``texture/texture_decode.cpp``): 0 RGBA8, 1 RGB8,
2 RGB5A1, 3 RGB565, 4 RGBA4 (:mod:`hlemu.gpu.pixels`), 5 LA8 (bytes A, L), 6 HILO8 (bytes
G, R; blue 0), 7 L8, 8 A8 (colour black), 9 LA4 (L high nibble, A low), 10 L4, 11 A4 (two
texels a byte, the even Morton index in the low nibble), 12 ETC1, 13 ETC1A4. Luminance L
reads as (L, L, L). Textures are tiled as colour buffers are: 8x8 tiles in Morton order,
rows of tiles one after another, the first row of memory the top of the texture (t = 1).
ETC1 tiles hold four 4x4 blocks (top left, top right, bottom left, bottom right), each a
little-endian 64-bit ETC1 word; ETC1A4 puts 64 bits of 4-bit alphas before each block's
word, texel (x, y) of a block in bits 4 * (4x + y). An ETC1 word: bits 0-15 the texels'
table subindex, 16-31 their negation, texel (x, y) bit 4x + y; bit 32 flip (halves top and
bottom instead of left and right); bit 33 differential; bits 34-36 / 37-39 the second /
first half's modifier table; base colours from bit 40: two 4-bit colours (b2 40, b1 44,
g2 48, g1 52, r2 56, r1 60) or a 5-bit colour (b 43, g 51, r 59) and a signed 3-bit delta
below each for the second half. The texel is base + (-)modifier, clamped.

Sampling (Azahar ``renderer_software/sw_rasterizer.cpp``, filtering added from the
registers' meaning): texel coordinates s = u * width, t = v * height; nearest takes
floor(s), floor(t) (the hardware's fixed-point coordinates drop their fraction, which is a
floor, also for negative ones); linear the four texels around (s - 0.5, t - 0.5), weighted
by the fractions, each wrapped on its own, rounded to 8 bits. Wraps: clamp to edge, clamp
to border (outside the texture is BORDER_COLOR), repeat, mirrored repeat; 4 and 5 clamp
positive coordinates and repeat negative ones, 6 and 7 repeat (Azahar).

Mipmaps and the filters (Azahar's GL renderer, which hands the host GPU the LOD register's
levels and computes the level of detail itself, ``getLod``): levels 1..max are stored after
level 0, each half as wide and high (no level narrower than 8). The level of detail is
log2 of the longest texel step along s or t for one pixel step in x or y, plus the LOD
bias, clamped to the register's min and max level. Above 0 the texture is minified: the
minification filter on the nearest level (PARAM bit 24 clear) or on the two levels around
the level of detail, mixed (bit 24 set); else it is magnified: the magnification filter on
level 0. So a texture without mipmaps (max level 0) always takes the magnification filter,
as under Azahar's GL renderer; what the hardware does there is not documented.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from hlemu.gpu import regs as R
from hlemu.gpu.pixels import decode
from hlemu.gpu.shadow import DEPTH_MAX, TEXUNIT0_SHADOW
from hlemu.gpu.shadow import compare as shadow_compare
from hlemu.gpu.tiling import morton

__all__ = ["BITS_PER_TEXEL", "CONFIG_FIELDS", "FORMAT_NAMES", "Unit", "sample", "texel", "units"]

FORMAT_NAMES = ("RGBA8", "RGB8", "RGB5A1", "RGB565", "RGBA4", "LA8", "HILO8", "L8", "A8", "LA4", "L4", "A4",
                "ETC1", "ETC1A4")
BITS_PER_TEXEL = (32, 24, 16, 16, 16, 16, 16, 8, 8, 8, 4, 4, 4, 8)
WRAP_NAMES = ("clamp to edge", "clamp to border", "repeat", "mirrored repeat", "clamp to edge 2",
              "clamp to border 2", "repeat 2", "repeat 3")
TYPE_NAMES = ("2D", "cube map", "shadow 2D", "projection 2D", "shadow cube", "disabled")
UNIT_REGS = ((0x081, 0x082, 0x083, 0x084, 0x085, 0x08E), (0x091, 0x092, 0x093, 0x094, 0x095, 0x096),
             (0x099, 0x09A, 0x09B, 0x09C, 0x09D, 0x09E))  # border, dim, param, lod, addr, type

# Columns of the per-draw unit table (int64, (3, CONFIG_FIELDS)) the sampler reads.
(MODE, WIDTH, HEIGHT, FORMAT, WRAP_S, WRAP_T, MAG, MIN, BORDER, OFFSET, COORD, BIAS, PROJECT, FIXED,
 MIN_LEVEL, MAX_LEVEL, MIP, CUBE, FACE_BYTES, SHADOW, SHADOW_ORTHO, SHADOW_BIAS) = range(22)
CONFIG_FIELDS = 22
CUBE_ADDRESS = 0x086  # TEXUNIT0_ADDR2..6: the cube map's faces -X, +Y, -Y, +Z, -Z (ADDR1 is +X)
OFF, SAMPLE = 0, 1  # MODE: OFF reads FIXED (a packed r | g << 8 | b << 16 | a << 24) for every fragment

ETC1_MODIFIERS = np.array([[2, 8], [5, 17], [9, 29], [13, 42], [18, 60], [24, 80], [33, 106], [47, 183]],
                          np.int64)


class Unit:
    """One texture unit's settings as a draw sees them (for the unit table and the debugger)."""

    def __init__(self, index: int, regs: R.RegisterFile) -> None:
        border, dim, param, lod, addr, kind = (regs[r] for r in UNIT_REGS[index])
        config = regs[R.TEXUNIT_CONFIG]
        self.index = index
        self.enabled = bool(config >> index & 1)
        self.coord = 1 if index == 2 and config >> 13 & 1 else index
        self.border, self.width, self.height = border, (dim >> 16) & 0x7FF, dim & 0x7FF
        self.mag, self.min, self.mip = (param >> 1) & 1, (param >> 2) & 1, (param >> 24) & 1
        self.wrap_s, self.wrap_t = (param >> 12) & 7, (param >> 8) & 7
        self.type = (param >> 28) & 7 if index == 0 else 0
        self.shadow = self.type in (2, 4)  # compared with the fragment's depth (hlemu.gpu.shadow)
        self.shadow_config = regs[TEXUNIT0_SHADOW] if self.shadow else 0
        bias = lod & 0x1FFF
        self.bias = bias - 0x2000 if bias & 0x1000 else bias  # 1.4.8 fixed point, in 1/256
        # levels past the last with both sides at least 8 (a whole tile) do not exist
        levels = 0
        while levels < 10 and self.width >> (levels + 1) >= 8 and self.height >> (levels + 1) >= 8:
            levels += 1
        self.max_level = min((lod >> 16) & 0xF, levels)
        self.min_level = min((lod >> 24) & 0xF, self.max_level)
        self.address = (addr & 0x0FFFFFFF) * 8
        self.format = kind & 0xF
        # A cube map's faces +X, -X, +Y, -Y, +Z, -Z: ADDR1, then ADDR2-6, each replacing the low
        # 22 bits of ADDR1 (Azahar's GetCubePhysicalAddress: the bits above are shared).
        self.faces = [self.address] + [((addr & 0x0FFFFFFF & ~0x3FFFFF) | (regs[CUBE_ADDRESS + k] & 0x3FFFFF)) * 8
                                       for k in range(5)] if index == 0 and self.type in (1, 4) else []

    @property
    def size(self) -> int:
        """Bytes of levels 0 to max_level, stored one after another."""
        if self.format >= 14:
            return 0
        return sum((self.width >> k) * (self.height >> k) for k in range(self.max_level + 1)) \
            * BITS_PER_TEXEL[self.format] // 8

    def row(self, offset: int, mode: int, fixed: int = 0) -> list[int]:
        """This unit's row of the unit table, its texels at ``offset`` in the draw's data."""
        return [mode, self.width, self.height, self.format, self.wrap_s, self.wrap_t, self.mag, self.min,
                self.border, offset, self.coord, self.bias, int(self.type == 3), fixed, self.min_level,
                self.max_level, self.mip, int(bool(self.faces)), self.size, int(self.shadow),
                self.shadow_config & 1, self.shadow_config & 0xFFFFFE]

    def describe(self) -> str:
        fmt = FORMAT_NAMES[self.format] if self.format < 14 else f"format {self.format}"
        mips = f", levels {self.min_level}-{self.max_level} {'linear' if self.mip else 'nearest'}" \
            if self.max_level else ""
        at = ("faces at " + ", ".join(f"{a:#010x}" for a in self.faces)) if self.faces else f"at {self.address:#010x}"
        kind = (" shadow" if self.shadow else "") + (" cube map" if self.faces else "")
        return (f"texture {self.index}: {self.width}x{self.height} {fmt}{kind} {at}, "
                f"wrap {WRAP_NAMES[self.wrap_s]}/{WRAP_NAMES[self.wrap_t]}, "
                f"{'linear' if self.mag else 'nearest'}/{'linear' if self.min else 'nearest'}{mips}")


def units(regs: R.RegisterFile) -> list[Unit]:
    """The three texture units as the registers set them."""
    return [Unit(i, regs) for i in range(3)]


# -- texels ------------------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _word64(data, off):
    """The little-endian 64-bit word at ``data[off]``, as an int64 (bits are masked after shifts)."""
    w = np.int64(0)
    for k in range(8):
        w |= np.int64(data[off + k]) << (8 * k)
    return w


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _expand5(v):
    v &= 0x1F  # a differential colour out of 0..31 is not valid ETC1: its low bits are kept
    return (v << 3) | (v >> 2)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _delta(word, shift):
    d = (word >> shift) & 7
    return d - 8 if d & 4 else d


@njit(cache=True, nogil=True, error_model="numpy")
def etc1_texel(word, x, y):
    """(r, g, b) of texel (x, y) (each 0-3) of the 4x4 ETC1 block ``word``."""
    index = 4 * x + y
    first = (y if (word >> 32) & 1 else x) < 2
    if (word >> 33) & 1:
        r, g, b = (word >> 59) & 0x1F, (word >> 51) & 0x1F, (word >> 43) & 0x1F
        if not first:
            r, g, b = r + _delta(word, 56), g + _delta(word, 48), b + _delta(word, 40)
        r, g, b = _expand5(r), _expand5(g), _expand5(b)
    else:
        shift = 4 if first else 0
        r, g, b = ((word >> (56 + shift)) & 0xF) * 17, ((word >> (48 + shift)) & 0xF) * 17, \
            ((word >> (40 + shift)) & 0xF) * 17
    table = (word >> 37) & 7 if first else (word >> 34) & 7
    modifier = ETC1_MODIFIERS[table, (word >> index) & 1]
    if (word >> (16 + index)) & 1:
        modifier = -modifier
    return max(0, min(255, r + modifier)), max(0, min(255, g + modifier)), max(0, min(255, b + modifier))


@njit(cache=True, nogil=True, error_model="numpy")
def texel(data, base, fmt, width, x, y):
    """(r, g, b, a) of texel (x, y), y counted from the first row in memory (the top), of the
    ``width``-texel-wide texture in format ``fmt`` at ``data[base]``."""
    bits = BITS_PER_TEXEL[fmt]
    tile = base + ((y >> 3) * (width >> 3) + (x >> 3)) * (bits * 8)  # 64 texels a tile
    fx, fy = x & 7, y & 7
    if fmt >= 12:  # ETC1, ETC1A4: four 4x4 blocks a tile
        alpha = fmt == 13
        block = tile + ((fx >> 2) + 2 * (fy >> 2)) * (16 if alpha else 8)
        bx, by = fx & 3, fy & 3
        a = np.int64(255)
        if alpha:
            a = ((_word64(data, block) >> (4 * (4 * bx + by))) & 0xF) * 17
            block += 8
        r, g, b = etc1_texel(_word64(data, block), bx, by)
        return r, g, b, a
    m = morton(fx, fy)
    if fmt <= 4:
        return decode(data, tile + m * (bits >> 3), fmt)
    if fmt <= 6:  # LA8, HILO8: two bytes, the low one first
        lo, hi = np.int64(data[tile + 2 * m]), np.int64(data[tile + 2 * m + 1])
        if fmt == 5:
            return hi, hi, hi, lo
        return hi, lo, np.int64(0), np.int64(255)
    if fmt <= 9:
        v = np.int64(data[tile + m])
        if fmt == 7:
            return v, v, v, np.int64(255)
        if fmt == 8:
            return np.int64(0), np.int64(0), np.int64(0), v
        lum = (v >> 4) * 17
        return lum, lum, lum, (v & 0xF) * 17
    byte = np.int64(data[tile + (m >> 1)])
    v = ((byte >> 4) if m & 1 else byte & 0xF) * 17
    if fmt == 10:
        return v, v, v, np.int64(255)
    return np.int64(0), np.int64(0), np.int64(0), v


# -- sampling ----------------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _wrap(mode, i, size):
    """Texel index ``i`` wrapped into 0..size-1 (clamp to border's outside is handled before).
    A power-of-two size (every real texture's) repeats with a mask, which is the floor modulo
    for negative indices too, without numba's division and sign checks."""
    if mode == 0 or (mode == 4 and i >= 0):
        return max(0, min(i, size - 1))
    pow2 = size > 0 and size & (size - 1) == 0
    if mode == 3:
        i = i & (2 * size - 1) if pow2 else i % (2 * size)
        return 2 * size - 1 - i if i >= size else i
    if mode == 1:
        return max(0, min(i, size - 1))
    return i & (size - 1) if pow2 else i % size


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _border(mode, i, size):
    """Whether texel index ``i`` reads the border colour."""
    return (mode == 1 and (i < 0 or i >= size)) or (mode == 5 and i >= size)


@njit(cache=True, nogil=True, error_model="numpy")
def fetch(data, cfg, unit, level, s, t, rgba, face=0):
    """Texel (s, t) (t counted up from the bottom) of mipmap ``level`` of ``unit`` (of cube face
    ``face``: the faces lie one after another), wrapped, into ``rgba``."""
    width, height = cfg[unit, WIDTH], cfg[unit, HEIGHT]
    base = cfg[unit, OFFSET] + face * cfg[unit, FACE_BYTES]
    bits = BITS_PER_TEXEL[cfg[unit, FORMAT]]
    for k in range(level):  # the levels are stored one after another, each a quarter of the last
        base += (width >> k) * (height >> k) * bits // 8
    width, height = width >> level, height >> level
    ws, wt = cfg[unit, WRAP_S], cfg[unit, WRAP_T]
    if _border(ws, s, width) or _border(wt, t, height):
        border = cfg[unit, BORDER]
        for ch in range(4):
            rgba[ch] = (border >> (8 * ch)) & 0xFF
        return
    s = _wrap(ws, s, width)
    t = height - 1 - _wrap(wt, t, height)  # memory's first row is the top
    rgba[0], rgba[1], rgba[2], rgba[3] = texel(data, base, cfg[unit, FORMAT], width, s, t)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _level(cfg, unit, u, v, ux, vx, uy, vy):
    """The level of detail at the fragment (Azahar's getLod): log2 of the longest texel step
    along s or t for one pixel step in x or y (to (ux, vx) and (uy, vy)), plus the bias."""
    w, h = cfg[unit, WIDTH], cfg[unit, HEIGHT]
    rho = max(abs(ux - u) * w, abs(uy - u) * w, abs(vx - v) * h, abs(vy - v) * h)
    return (math.log2(rho) if rho > 0 else -1e9) + cfg[unit, BIAS] / 256.0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def cube_face(u, v, w):
    """The cube face (0-5: +X, -X, +Y, -Y, +Z, -Z) the direction (u, v, w) points at: its
    longest component, ties going to the later axis (Azahar's ConvertCubeCoord)."""
    au, av, aw = abs(u), abs(v), abs(w)
    if au > av and au > aw:
        return 0 if u > 0 else 1
    if av > aw:
        return 2 if v > 0 else 3
    return 4 if w > 0 else 5


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def cube_coords(face, u, v, w):
    """(u, v) on ``face`` of the direction (u, v, w): the two other components over the major
    one, halved and moved to 0..1, signs as Azahar's ConvertCubeCoord has them."""
    if face <= 1:
        x, y, z = -w, (-v if face == 0 else v), u
    elif face <= 3:
        x, y, z = (u if face == 2 else -u), w, v
    else:
        x, y, z = u, (-v if face == 4 else v), w
    if z == 0:
        return 0.5, 0.5
    return x / z * 0.5 + 0.5, y / z * 0.5 + 0.5


@njit(cache=True, nogil=True, error_model="numpy")
def _filtered(data, cfg, unit, level, u, v, linear, texel_rgba, acc, weight, face, depth=-1):
    """Add ``weight`` times the colour of ``level`` (of cube face ``face``) at (u, v), nearest or
    linear, to ``acc``; a shadow texture's texels compared with ``depth`` first."""
    fs, ft = u * (cfg[unit, WIDTH] >> level), v * (cfg[unit, HEIGHT] >> level)
    shadow = cfg[unit, SHADOW] != 0
    if not linear:
        fetch(data, cfg, unit, level, np.int64(math.floor(fs)), np.int64(math.floor(ft)), texel_rgba, face)
        if shadow:
            shadow_compare(texel_rgba, depth)
        for ch in range(4):
            acc[ch] += weight * texel_rgba[ch]
        return
    fs, ft = fs - 0.5, ft - 0.5
    s0, t0 = math.floor(fs), math.floor(ft)
    a, b = fs - s0, ft - t0
    for k in range(4):
        ds, dt = k & 1, k >> 1
        w = weight * (a if ds else 1.0 - a) * (b if dt else 1.0 - b)
        fetch(data, cfg, unit, level, np.int64(s0) + ds, np.int64(t0) + dt, texel_rgba, face)
        if shadow:
            shadow_compare(texel_rgba, depth)
        for ch in range(4):
            acc[ch] += w * texel_rgba[ch]


@njit(cache=True, nogil=True, error_model="numpy")
def _shadow(data, cfg, unit, uv, texel_rgba, acc, out, row):
    """A shadow texture (unit 0, :mod:`hlemu.gpu.shadow`): level 0 through the magnification
    filter, each texel compared with the fragment's depth, taken from texture coordinate 0's w
    (shadow 2D, dividing u and v unless orthographic) or the cube direction's major component."""
    u, v, w = uv[0], uv[1], uv[6]
    face = 0
    if cfg[unit, CUBE]:
        z = max(abs(u), abs(v), abs(w))
        face = cube_face(u, v, w)
        u, v = cube_coords(face, u, v, w)
    else:
        if cfg[unit, SHADOW_ORTHO] == 0 and w != 0:
            u, v = u / w, v / w
        z = abs(w)
    depth = np.int64(min(z, 1.0) * DEPTH_MAX) - cfg[unit, SHADOW_BIAS]
    for ch in range(4):
        acc[ch] = 0.0
    _filtered(data, cfg, unit, 0, u, v, cfg[unit, MAG], texel_rgba, acc, 1.0, face, depth)
    for ch in range(4):
        out[row, ch] = min(255, np.int64(math.floor(acc[ch] + 0.5)))


@njit(cache=True, nogil=True, error_model="numpy")
def sample(data, cfg, unit, uv, uvx, uvy, texel_rgba, acc, out, row):
    """Sample ``unit`` at the fragment's coordinates ``uv`` (u0, v0, u1, v1, u2, v2, w0) into
    ``out[row]``; ``uvx``/``uvy`` are the coordinates one pixel right and up (read only when
    the level of detail matters: the unit's two filters differ, or it has mipmaps).
    ``texel_rgba`` (4,) int64 and ``acc`` (4,) float64 are scratch.

    The level of detail is clamped to the LOD register's min and max level (as Azahar's GL
    renderer has the host GPU do); above 0 the texture is minified: the minification filter,
    on level round(lod) (GL's nearest mipmap choice, ceil(lod + 0.5) - 1) or, with the mipmap
    filter linear, on levels floor(lod) and the next, mixed by lod's fraction; else it is
    magnified: the magnification filter on level 0.
    """
    c = 2 * cfg[unit, COORD]
    u, v = uv[c], uv[c + 1]
    ux, vx, uy, vy = uvx[c], uvx[c + 1], uvy[c], uvy[c + 1]
    face = 0
    if cfg[unit, SHADOW]:
        _shadow(data, cfg, unit, uv, texel_rgba, acc, out, row)
        return
    if cfg[unit, CUBE]:  # (u, v, w0) is a direction: its face, and the point on it (the
        face = cube_face(u, v, uv[6])  # neighbours' points on the same face, for the level of detail)
        ux, vx = cube_coords(face, ux, vx, uvx[6])
        uy, vy = cube_coords(face, uy, vy, uvy[6])
        u, v = cube_coords(face, u, v, uv[6])
    elif cfg[unit, PROJECT] and uv[6] != 0:  # projection 2D: divided by texture coordinate 0's w
        u, v = u / uv[6], v / uv[6]
    for ch in range(4):
        acc[ch] = 0.0
    top = cfg[unit, MAX_LEVEL]
    lod = 0.0
    if cfg[unit, MAG] != cfg[unit, MIN] or top > 0:
        lod = min(max(_level(cfg, unit, u, v, ux, vx, uy, vy), float(cfg[unit, MIN_LEVEL])), float(top))
    if lod <= 0:
        _filtered(data, cfg, unit, 0, u, v, cfg[unit, MAG], texel_rgba, acc, 1.0, face)
    elif cfg[unit, MIP] == 0 or top == 0:
        level = min(max(np.int64(math.ceil(lod + 0.5)) - 1, 0), top)
        _filtered(data, cfg, unit, level, u, v, cfg[unit, MIN], texel_rgba, acc, 1.0, face)
    else:
        low = np.int64(math.floor(lod))
        f = lod - low
        _filtered(data, cfg, unit, low, u, v, cfg[unit, MIN], texel_rgba, acc, 1.0 - f, face)
        if f > 0:
            _filtered(data, cfg, unit, min(low + 1, top), u, v, cfg[unit, MIN], texel_rgba, acc, f, face)
    for ch in range(4):
        out[row, ch] = min(255, np.int64(math.floor(acc[ch] + 0.5)))
