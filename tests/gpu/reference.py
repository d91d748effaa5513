"""An independent reference renderer for the GPU tests: plain numpy, slow, written from the
documented rules rather than from hlemu/gpu/raster.py.

The rules (3dbrew "GPU/Internal Registers"; Azahar's software rasteriser, which follows the
hardware): clip-space positions divided by w, then screen = (ndc + 1) * half size + corner,
snapped to 1/16 pixel; a pixel is covered when its centre is inside the triangle, or on an
edge that is neither a right-hand edge nor a flat bottom one; colours interpolated with the
barycentric weights of the centre, perspective-correct (attribute / w over 1 / w), rounded to
8 bits. The image is returned with row 0 at the bottom (the GPU's y), as (height, width, 4).
"""

from __future__ import annotations

import numpy as np

# PICA colour buffer formats -> the names tests/services/test_gx.py's codec uses
FORMATS = {0: "RGBA8", 1: "RGB8", 2: "RGB5A1", 3: "RGB565", 4: "RGBA4"}


def _excluded(v, a, b) -> bool:
    """Whether edge a-b (opposite vertex v) is a right-hand or a flat bottom edge."""
    if a[1] == b[1]:
        return v[1] < a[1]
    num, den = (b[0] - a[0]) * (v[1] - a[1]), b[1] - a[1]
    x_on_edge = a[0] + int(num / den) if abs(num) < 2**52 else a[0] + num // den
    return v[0] < x_on_edge


# The view volume in the PICA's clip space (-w <= x, y <= w, -w <= z <= 0, w > 0), each plane a
# function of the position that is not negative inside, in the order they are applied.
VIEW_VOLUME = (lambda p: p[3] - p[0], lambda p: p[3] + p[0], lambda p: p[3] - p[1], lambda p: p[3] + p[1],
               lambda p: -p[2], lambda p: p[3] + p[2], lambda p: p[3] - 1e-5)


def clip_polygon(corners, user_plane=None) -> list:
    """A triangle's ``corners`` (rows of position xyzw then attributes) cut by the view volume
    and the user plane: the polygon left, each new corner on the edge from the previous corner
    to the current one, attributes mixed linearly. Points within 1e-8 of a plane are inside."""
    tests = list(VIEW_VOLUME)
    if user_plane is not None:
        tests.append(lambda p: float(np.dot(user_plane, p[:4])))
    polygon = [np.asarray(c, np.float64) for c in corners]
    for side in tests:
        if len(polygon) < 3:
            return []
        result = []
        for k, cur in enumerate(polygon):
            prev = polygon[k - 1]
            dc, dp = side(cur), side(prev)
            if (dc >= -1e-8) != (dp >= -1e-8):
                f = dp / (dp - dc)  # the crossing, as a weight of the current corner
                result.append(f * cur + (1 - f) * prev)
            if dc >= -1e-8:
                result.append(cur)
        polygon = result
    return polygon if len(polygon) >= 3 else []


def clipped(positions, attributes, triangles, user_plane=None):
    """Positions, attributes and fan triangles after clipping every triangle."""
    pos, att = np.asarray(positions, np.float64), np.asarray(attributes, np.float64)
    rows = np.concatenate([pos, att], axis=1)
    out_rows, out_tris = [], []
    for tri in triangles:
        polygon = clip_polygon(rows[list(tri)], user_plane)
        base = len(out_rows)
        out_rows += polygon
        out_tris += [(base, base + k, base + k + 1) for k in range(1, len(polygon) - 1)]
    if not out_rows:
        return pos[:0], att[:0], []
    table = np.array(out_rows)
    return table[:, :4], table[:, 4:], out_tris


def fog_lut(words) -> tuple[np.ndarray, np.ndarray]:
    """The fog LUT's 128 words as (value, signed difference), both in 2047ths: the value in
    bits 13-23, the difference in bits 0-12 (two's complement)."""
    w = np.asarray(words, np.int64)
    diff = w % 8192
    return (w >> 13) % 2048 / 2047, np.where(diff >= 4096, diff - 8192, diff) / 2047


def apply_fog(rgb: np.ndarray, depth: np.ndarray, fog) -> np.ndarray:
    """Fragments ``rgb`` (..., 3, 0..255 integers) at ``depth`` (0..1) mixed with the fog colour:
    ``fog`` is (LUT words, (r, g, b), flip). The entry at index = depth * 128 (flipped:
    (1 - depth) * 128), floored into 0..127, gives value + difference * (index - entry), kept in
    0..1, the factor of the fragment's colour; the mix is truncated to an integer."""
    words, colour, flip = fog
    value, diff = fog_lut(words)
    index = (1 - depth) * 128 if flip else depth * 128
    entry = np.clip(np.floor(index), 0, 127)
    k = entry.astype(np.int64)
    factor = np.clip(value[k] + diff[k] * (index - entry), 0, 1)[..., None]
    return np.floor(factor * rgb + (1 - factor) * np.asarray(colour, np.float64)).astype(np.int64)


STENCIL_COMPARE = (lambda r, s: np.zeros_like(s, bool), lambda r, s: np.ones_like(s, bool), np.equal, np.not_equal,
                   np.less, np.less_equal, np.greater, np.greater_equal)


def stencil_draw(stored: np.ndarray, covered: np.ndarray, func: int, ref: int, input_mask: int, write_mask: int,
                 fail: int, zpass: int) -> tuple[np.ndarray, np.ndarray]:
    """One draw's stencil test (no depth test) over a stencil image: where ``covered``,
    ``ref & input_mask`` is compared (func: never, always, =, !=, <, <=, >, >=) with
    ``stored & input_mask``; the fail or pass operation (keep, zero, replace, saturating
    +1/-1, invert, wrapping +1/-1) is written through ``write_mask``. Returns the new stencil
    image and where the fragments passed."""
    old = stored.astype(np.int64)
    passed = covered & STENCIL_COMPARE[func](np.int64(ref & input_mask), old & input_mask)
    ops = (lambda o: o, lambda o: 0 * o, lambda o: 0 * o + ref, lambda o: np.minimum(o + 1, 255),
           lambda o: np.maximum(o - 1, 0), lambda o: 255 - o, lambda o: (o + 1) % 256, lambda o: (o - 1) % 256)
    new = np.where(passed, ops[zpass](old), np.where(covered, ops[fail](old), old))
    return (new & write_mask) | (old & ~write_mask & 255), passed


def render(positions, colors, triangles, viewport, size, background, texcoords=None, texture=None,
           user_plane=None, fog=None, depth_map=(-1.0, 0.0), lighting=None) -> np.ndarray:
    """Draw ``triangles`` (index triples) of vertices with clip ``positions`` (n, 4) and
    ``colors`` (n, 4, 0..1) over ``background`` (r, g, b, a) into a ``size`` (width, height)
    image; ``viewport`` is (x, y, width, height). With a ``texture`` (:class:`Texture`) and
    ``texcoords`` (n, 2) the fragments are the texture's colour (TexEnv REPLACE texture 0).
    With ``fog`` (see :func:`apply_fog`) the colours are fogged by the depth: z / w interpolated
    linearly on the screen, times ``depth_map``'s scale plus its offset, clamped to 0..1.
    With ``lighting`` (quaternions (n, 4), view vectors (n, 3), a
    :class:`tests.gpu.reference_lighting.Lighting` and 0 or 1: the primary or the secondary
    colour) the fragments are that lighting colour (TexEnv REPLACE source 1 or 2): each
    triangle's second and third quaternion negated when opposite its first, both vectors
    interpolated perspective-correctly; a fifth item {unit: :class:`Texture`} gives the lighting
    those textures' colours at ``texcoords`` (the bump map)."""
    width, height = size
    vx, vy, vw, vh = viewport
    image = np.empty((height, width, 4), np.int64)
    image[:] = background
    col = np.clip(np.abs(np.asarray(colors, np.float64)), 0, 1)
    uvs = np.zeros((len(col), 2)) if texcoords is None else np.asarray(texcoords, np.float64)
    att = np.concatenate([col, uvs], axis=1)
    positions = np.asarray(positions, np.float64)
    if lighting is not None:
        quats, views, shade, which = lighting[:4]
        light_textures = lighting[4] if len(lighting) > 4 else {}
        rows, pos_rows = [], []
        for tri in triangles:
            q = np.asarray(quats, np.float64)[list(tri)].copy()
            for k in (1, 2):
                if np.dot(q[k], q[0]) < 0:
                    q[k] = -q[k]
            rows += [np.concatenate([att[i], q[j], np.asarray(views[i], np.float64)]) for j, i in enumerate(tri)]
            pos_rows += [positions[i] for i in tri]
        triangles = [(3 * t, 3 * t + 1, 3 * t + 2) for t in range(len(triangles))]
        att, positions = np.array(rows).reshape(-1, 13), np.array(pos_rows).reshape(-1, 4)
    pos, att, triangles = clipped(positions, att, triangles, user_plane)
    col, texcoords, lit = att[:, :4], att[:, 4:6], att[:, 6:]
    fx = np.round((pos[:, 0] / pos[:, 3] + 1) * (vw / 2) * 16 + vx * 16).astype(np.int64)
    fy = np.round((pos[:, 1] / pos[:, 3] + 1) * (vh / 2) * 16 + vy * 16).astype(np.int64)
    cy, cx = np.mgrid[0:height, 0:width]
    px, py = cx * 16 + 8, cy * 16 + 8
    for tri in triangles:
        i = list(tri)
        p = [(int(fx[k]), int(fy[k])) for k in i]
        area = (p[1][0] - p[0][0]) * (p[2][1] - p[0][1]) - (p[1][1] - p[0][1]) * (p[2][0] - p[0][0])
        if area == 0:
            continue
        if area < 0:  # both windings are drawn (culling off): make it counter-clockwise
            i[1], i[2], p[1], p[2] = i[2], i[1], p[2], p[1]
        weights = []
        inside = np.ones((height, width), bool)
        for k in range(3):
            a, b, v = p[(k + 1) % 3], p[(k + 2) % 3], p[k]
            e = (b[0] - a[0]) * (py - a[1]) - (b[1] - a[1]) * (px - a[0])
            inside &= (e > 0) | ((e == 0) & (not _excluded(v, a, b)))
            weights.append(e.astype(np.float64))
        lam = np.stack(weights) / sum(weights)
        inv_w = 1 / pos[i, 3]
        denom = sum(lam[k] * inv_w[k] for k in range(3))
        if lighting is not None:
            vectors = np.stack([sum(lam[k] * lit[i[k], c] * inv_w[k] for k in range(3)) / denom
                                for c in range(7)], axis=-1)
            args = [vectors[inside][:, :4], vectors[inside][:, 4:]]
            if light_textures:  # (a shade without textures takes two arguments)
                uv = _texcoords(p, i, inv_w, np.asarray(texcoords, np.float64), px, py)
                args.append({unit: tex.sample(*uv)[inside] for unit, tex in light_textures.items()})
            image[inside] = shade(*args)[which]
            continue
        if texture is not None:
            uv = _texcoords(p, i, inv_w, np.asarray(texcoords, np.float64), px, py)
            colour = texture.sample(*uv)
            image[inside] = colour[inside]
            continue
        rgba = np.stack([np.clip(np.round(sum(lam[k] * col[i[k], ch] * inv_w[k] for k in range(3)) / denom * 255),
                                 0, 255) for ch in range(4)], axis=-1).astype(np.int64)
        if fog is not None:
            z_over_w = sum(lam[k] * pos[i[k], 2] / pos[i[k], 3] for k in range(3))
            depth = np.clip(z_over_w * depth_map[0] + depth_map[1], 0, 1)
            rgba[..., :3] = apply_fog(rgba[..., :3], depth, fog)
        image[inside] = rgba[inside]
    return image.astype(np.uint8)


def untile(raw: np.ndarray, width: int, height: int, bpp: int) -> np.ndarray:
    """A tiled colour buffer's bytes -> (height, width, bpp) with row 0 the bottom row: 8x8
    tiles in Morton order (x in bit 0), stored top row of tiles first."""
    out = np.empty((height, width, bpp), np.uint8)
    pixels = raw.reshape(-1, bpp)
    for y in range(height):
        row = height - 1 - y
        for x in range(width):
            tile = (row // 8) * (width // 8) + x // 8
            m = sum((((x % 8) >> b) & 1) << (2 * b) | (((row % 8) >> b) & 1) << (2 * b + 1) for b in range(3))
            out[y, x] = pixels[tile * 64 + m]
    return out


# -- textures ------------------------------------------------------------------------------------
# Bits a texel by PICA texture format (3dbrew "GPU/Textures"): RGBA8 RGB8 RGB5A1 RGB565 RGBA4 LA8
# HILO8 L8 A8 LA4 L4 A4 ETC1 ETC1A4.
TEXTURE_BITS = (32, 24, 16, 16, 16, 16, 16, 8, 8, 8, 4, 4, 4, 8)
# ETC1's modifier tables (the ETC1 specification, OES_compressed_ETC1_RGB8_texture): (a, b)
# for pixel index values 0: +a, 1: +b, 2: -a, 3: -b.
ETC1_TABLES = ((2, 8), (5, 17), (9, 29), (13, 42), (18, 60), (24, 80), (33, 106), (47, 183))


def _morton_index(x: int, y: int) -> int:
    return sum(((x >> b) & 1) << (2 * b) | ((y >> b) & 1) << (2 * b + 1) for b in range(3))


def etc1_block(word: int) -> np.ndarray:
    """A 4x4 ETC1 block (its 64 bits as an integer) -> (4, 4, 3) RGB indexed [y][x], y down.

    The specification's terms: bit 33 diffbit, bit 32 flipbit (0: two 2x4 halves side by side,
    1: two 4x2 halves one above the other), codewords (tables) at bits 37-39 and 34-36,
    pixel index bits: the MSB at 16 + (x * 4 + y), the LSB at x * 4 + y."""
    def bits(at: int, n: int) -> int:
        return (word >> at) & ((1 << n) - 1)

    if bits(33, 1):
        five = [bits(59, 5), bits(51, 5), bits(43, 5)]  # the second half: plus the signed 3-bit deltas
        deltas = [bits(56, 3), bits(48, 3), bits(40, 3)]
        second = [c + (d - 8 if d >= 4 else d) for c, d in zip(five, deltas, strict=True)]
        # a sum outside 0..31 is not valid ETC1; hlemu keeps its low 5 bits (a 5-bit adder)
        second = [c & 31 for c in second]
        bases = [[(c << 3) | (c >> 2) for c in five], [(c << 3) | (c >> 2) for c in second]]
    else:
        bases = [[bits(60, 4) * 17, bits(52, 4) * 17, bits(44, 4) * 17],
                 [bits(56, 4) * 17, bits(48, 4) * 17, bits(40, 4) * 17]]
    tables = [ETC1_TABLES[bits(37, 3)], ETC1_TABLES[bits(34, 3)]]
    out = np.zeros((4, 4, 3), np.int64)
    for y in range(4):
        for x in range(4):
            half = int(y >= 2) if bits(32, 1) else int(x >= 2)
            index = bits(16 + x * 4 + y, 1) << 1 | bits(x * 4 + y, 1)
            a, b = tables[half]
            modifier = (a, b, -a, -b)[index]
            out[y, x] = np.clip(np.array(bases[half]) + modifier, 0, 255)
    return out


def tiled_bytes(image: np.ndarray) -> bytes:
    """An RGB8 (``image`` (height, width, 3)) or RGBA8 (4 channels) texture's bytes, row 0 of
    ``image`` the bottom (t = 0) as :func:`decode_texture` gives it: 8x8 tiles from the top row
    of tiles, Morton order inside (x in the even bits), each texel's channels in reverse (b, g, r
    or a, b, g, r: 3dbrew "GPU/Textures")."""
    height, width = image.shape[:2]
    top_down = image[::-1]
    out = bytearray()
    for ty in range(0, height, 8):
        for tx in range(0, width, 8):
            tile = [b""] * 64
            for y in range(8):
                for x in range(8):
                    m = sum(((x >> k) & 1) << (2 * k) | ((y >> k) & 1) << (2 * k + 1) for k in range(3))
                    tile[m] = bytes(int(c) for c in top_down[ty + y, tx + x][::-1])
            out += b"".join(tile)
    return bytes(out)


def decode_texture(raw, width: int, height: int, fmt: int) -> np.ndarray:
    """A tiled texture's bytes -> (height, width, 4) RGBA with row 0 the bottom (t = 0): 8x8
    tiles, rows of tiles from the top of the texture; ETC1 tiles are 2x2 blocks of 4x4."""
    from tests.services.test_gx import ref_decode  # the colour formats' reference codec

    raw = np.asarray(raw, np.uint8)
    bits = TEXTURE_BITS[fmt]
    tile_bytes = 64 * bits // 8
    top_down = np.zeros((height, width, 4), np.int64)
    for ty in range(height // 8):
        for tx in range(width // 8):
            start = (ty * (width // 8) + tx) * tile_bytes
            tile = raw[start : start + tile_bytes]
            top_down[ty * 8 : ty * 8 + 8, tx * 8 : tx * 8 + 8] = _tile(tile, fmt, ref_decode)
    return top_down[::-1].astype(np.uint8)


def _tile(tile: np.ndarray, fmt: int, ref_decode) -> np.ndarray:
    """One 8x8 tile -> (8, 8, 4) [y][x], y down."""
    out = np.zeros((8, 8, 4), np.int64)
    if fmt >= 12:
        size = 16 if fmt == 13 else 8
        for k in range(4):  # blocks: top left, top right, bottom left, bottom right
            block = tile[k * size : (k + 1) * size]
            word = int.from_bytes(bytes(block[-8:]), "little")
            bx, by = (k % 2) * 4, (k // 2) * 4
            out[by : by + 4, bx : bx + 4, :3] = etc1_block(word)
            alphas = int.from_bytes(bytes(block[:8]), "little") if fmt == 13 else None
            for y in range(4):
                for x in range(4):
                    out[by + y, bx + x, 3] = 255 if alphas is None else ((alphas >> (4 * (x * 4 + y))) & 15) * 17
        return out
    names = {0: "RGBA8", 1: "RGB8", 2: "RGB5A1", 3: "RGB565", 4: "RGBA4"}
    for y in range(8):
        for x in range(8):
            m = _morton_index(x, y)
            if fmt in names:
                n = TEXTURE_BITS[fmt] // 8
                out[y, x] = ref_decode(tile[m * n : (m + 1) * n], names[fmt])[0]
            elif fmt in (5, 6):  # LA8: byte 0 alpha, byte 1 luminance; HILO8: byte 0 G (LO), byte 1 R (HI)
                lo, hi = int(tile[2 * m]), int(tile[2 * m + 1])
                out[y, x] = (hi, hi, hi, lo) if fmt == 5 else (hi, lo, 0, 255)
            elif fmt in (7, 8):
                v = int(tile[m])
                out[y, x] = (v, v, v, 255) if fmt == 7 else (0, 0, 0, v)
            elif fmt == 9:
                v = int(tile[m])
                out[y, x] = ((v >> 4) * 17,) * 3 + ((v & 15) * 17,)
            else:  # L4, A4: the even texel of a byte in its low nibble
                v = (int(tile[m // 2]) >> (4 * (m % 2)) & 15) * 17
                out[y, x] = (v, v, v, 255) if fmt == 10 else (0, 0, 0, v)
    return out


def decode_levels(raw, width: int, height: int, fmt: int, levels: int) -> list[np.ndarray]:
    """Mipmap levels 0..levels-1 stored one after another, each half the size of the last."""
    out, at = [], 0
    for k in range(levels):
        w, h = width >> k, height >> k
        size = w * h * TEXTURE_BITS[fmt] // 8
        out.append(decode_texture(np.asarray(raw, np.uint8)[at : at + size], w, h, fmt))
        at += size
    return out


class Texture:
    """A decoded texture (one image, or a list of mipmap levels) and its unit's settings
    (3dbrew GPUREG_TEXUNITi_PARAM and _LOD): wraps 0 clamp to edge, 1 clamp to border,
    2 repeat, 3 mirrored repeat; filters 0 nearest, 1 linear; ``bias`` the LOD bias in 1/256;
    ``min_level``/``max_level`` and the mipmap filter ``mip``.

    The level of detail (Azahar's getLod): log2 of the largest of |du/dx| w, |du/dy| w,
    |dv/dx| h, |dv/dy| h, plus the bias, clamped to [min_level, max_level]; minified above 0
    (GL's rules: the nearest level ceil(lod + 1/2) - 1, or the two levels around lod mixed),
    magnified at or below it (level 0)."""

    def __init__(self, image, wrap_s=0, wrap_t=0, mag=0, min=0, border=(0, 0, 0, 0), bias=0, min_level=0,
                 max_level=0, mip=0) -> None:
        levels = image if isinstance(image, list) else [image]
        self.levels = [np.asarray(level, np.int64) for level in levels]  # (height, width, 4), row 0 the bottom
        self.wrap_s, self.wrap_t, self.mag, self.min = wrap_s, wrap_t, mag, min
        self.border, self.bias = np.array(border, np.int64), bias
        self.min_level, self.max_level, self.mip = min_level, max_level, mip

    def _wrap(self, i: np.ndarray, size: int, mode: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices wrapped into the texture, and where the border colour is read instead."""
        outside = (i < 0) | (i >= size)
        if mode == 2:
            return np.mod(i, size), np.zeros(i.shape, bool)
        if mode == 3:
            period = np.mod(i, 2 * size)
            return np.where(period < size, period, 2 * size - 1 - period), np.zeros(i.shape, bool)
        return np.clip(i, 0, size - 1), outside if mode == 1 else np.zeros(i.shape, bool)

    def texels(self, s: np.ndarray, t: np.ndarray, level: int = 0) -> np.ndarray:
        image = self.levels[level]
        height, width = image.shape[:2]
        si, bs = self._wrap(s, width, self.wrap_s)
        ti, bt = self._wrap(t, height, self.wrap_t)
        return np.where((bs | bt)[..., None], self.border, image[ti, si])

    def filtered(self, u, v, level: int, linear: bool) -> np.ndarray:
        """Level ``level`` at (u, v), nearest or linear, not rounded."""
        height, width = self.levels[level].shape[:2]
        s, t = u * width, v * height
        if not linear:
            return self.texels(np.floor(s).astype(np.int64), np.floor(t).astype(np.int64), level).astype(float)
        s, t = s - 0.5, t - 0.5
        s0, t0 = np.floor(s), np.floor(t)
        a, b = (s - s0)[..., None], (t - t0)[..., None]
        s0, t0 = s0.astype(np.int64), t0.astype(np.int64)
        return ((1 - a) * (1 - b) * self.texels(s0, t0, level) + a * (1 - b) * self.texels(s0 + 1, t0, level)
                + (1 - a) * b * self.texels(s0, t0 + 1, level) + a * b * self.texels(s0 + 1, t0 + 1, level))

    def sample(self, u, v, ux, vx, uy, vy) -> np.ndarray:
        """Colours at (u, v); (ux, vx) and (uy, vy) are the coordinates one pixel right and up."""
        height, width = self.levels[0].shape[:2]
        step = np.maximum.reduce([np.abs(ux - u) * width, np.abs(uy - u) * width, np.abs(vx - v) * height,
                                  np.abs(vy - v) * height])
        with np.errstate(divide="ignore"):
            lod = np.clip(np.log2(step) + self.bias / 256, self.min_level, self.max_level)
        if self.mag == self.min and not self.max_level:
            lod = np.zeros_like(u)
        colour = np.where((lod <= 0)[..., None], self.filtered(u, v, 0, bool(self.mag)), 0.0)
        top = self.max_level
        for k in range(top + 1):
            c = self.filtered(u, v, k, bool(self.min))
            if self.mip and top:
                low = np.floor(lod)
                weight = np.where(low == k, 1 - (lod - low), 0.0) + np.where(np.minimum(low + 1, top) == k,
                                                                             lod - low, 0.0)
            else:
                weight = (np.clip(np.ceil(lod + 0.5) - 1, 0, top) == k).astype(float)
            colour += np.where((lod > 0)[..., None], weight[..., None] * c, 0.0)
        return np.floor(colour + 0.5).astype(np.int64)


def _texcoords(p, i, inv_w, texcoords, px, py):
    """u, v at the pixel centres (px, py in 1/16 pixels) and one pixel right and up, perspective
    correct, from the triangle's screen vertices ``p`` (counter-clockwise) and vertex ids ``i``."""
    def at(x, y):
        e = [(p[(k + 2) % 3][0] - p[(k + 1) % 3][0]) * (y - p[(k + 1) % 3][1])
             - (p[(k + 2) % 3][1] - p[(k + 1) % 3][1]) * (x - p[(k + 1) % 3][0]) for k in range(3)]
        lam = [e[k] / sum(e) for k in range(3)]
        denom = sum(lam[k] * inv_w[k] for k in range(3))
        return [sum(lam[k] * texcoords[i[k], c] * inv_w[k] for k in range(3)) / denom for c in range(2)]

    u, v = at(px, py)
    ux, vx = at(px + 16, py)
    uy, vy = at(px, py + 16)
    return u, v, ux, vx, uy, vy
