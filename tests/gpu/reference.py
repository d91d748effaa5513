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


def render(positions, colors, triangles, viewport, size, background) -> np.ndarray:
    """Draw ``triangles`` (index triples) of vertices with clip ``positions`` (n, 4) and
    ``colors`` (n, 4, 0..1) over ``background`` (r, g, b, a) into a ``size`` (width, height)
    image; ``viewport`` is (x, y, width, height)."""
    width, height = size
    vx, vy, vw, vh = viewport
    image = np.empty((height, width, 4), np.int64)
    image[:] = background
    pos = np.asarray(positions, np.float64)
    col = np.asarray(colors, np.float64)
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
        for ch in range(4):
            value = sum(lam[k] * col[i[k], ch] * inv_w[k] for k in range(3)) / denom
            image[..., ch] = np.where(inside, np.clip(np.round(value * 255), 0, 255), image[..., ch])
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
