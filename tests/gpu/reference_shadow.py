"""An independent reference for shadows: plain numpy over whole images, written from Azahar's
software renderer (sw_framebuffer.cpp DrawShadowMapPixel, sw_rasterizer.cpp TextureColor) and
its GL renderer's filtered comparison, rather than from hlemu/gpu/shadow.py.

A shadow map pixel as an RGBA8 image shows it (tests' ``Env.image``: r, g, b, a from the bytes
a, b, g, r in memory): the 24-bit depth is a << 16 | b << 8 | g, the intensity r.
"""

from __future__ import annotations

import numpy as np

MAX = (1 << 24) - 1


def depth_of(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, np.int64)
    return image[..., 3] << 16 | image[..., 2] << 8 | image[..., 1]


def pack(depth, intensity) -> np.ndarray:
    """(..., 4) RGBA of shadow-map pixels of ``depth`` and ``intensity``."""
    depth, intensity = np.asarray(depth, np.int64), np.asarray(intensity, np.int64)
    return np.stack([intensity, depth & 255, (depth >> 8) & 255, depth >> 16], axis=-1)


def draw(image: np.ndarray, covered: np.ndarray, depth: np.ndarray, intensity: np.ndarray, constant: float,
         linear: float) -> np.ndarray:
    """One draw's fragments (where ``covered``, at 24-bit ``depth`` with TexEnv green
    ``intensity``) over a shadow map ``image``: nearer than the stored depth, an intensity of 0
    stores the depth, another stores intensity / (constant + linear * depth / stored), truncated
    into 0..255, when below the stored intensity."""
    image = np.asarray(image, np.int64)
    stored, old = depth_of(image), image[..., 0]
    depth = np.broadcast_to(np.asarray(depth, np.int64), stored.shape)
    intensity = np.broadcast_to(np.asarray(intensity, np.int64), stored.shape)
    nearer = covered & (depth < stored)
    opaque = nearer & (intensity == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(stored > 0, depth / np.maximum(stored, 1), 0.0)
        scaled = np.clip(intensity / (constant + linear * ratio), 0, 255)
    scaled = np.nan_to_num(scaled, nan=255).astype(np.int64)
    lighter = nearer & (intensity > 0) & (scaled < old)
    return pack(np.where(opaque, depth, stored), np.where(lighter, scaled, old))


def sample(texels: np.ndarray, u, v, w, bias: int = 0, orthographic: bool = False, linear: bool = False) -> np.ndarray:
    """Shadow 2D: the texture ``texels`` (height, width, 4, row 0 the bottom, as the tests'
    decoder gives it; wrapped by clamping to the edge) compared at (u, v) with the fragment
    depth min(|w|, 1) * MAX - bias (u and v divided by w unless orthographic): a texel at least
    as deep gives its intensity, another 0; linear mixes the four around (s - 0.5, t - 0.5)."""
    u, v, w = (np.asarray(x, np.float64) for x in (u, v, w))
    if not orthographic:
        u, v = u / w, v / w
    reference = (np.minimum(np.abs(w), 1) * MAX).astype(np.int64) - bias
    height, width = texels.shape[:2]
    stored, intensity = depth_of(texels), np.asarray(texels, np.int64)[..., 0]

    def compared(s, t):
        s, t = np.clip(s, 0, width - 1), np.clip(t, 0, height - 1)
        return np.where(stored[t, s] >= reference, intensity[t, s], 0).astype(np.float64)

    s, t = u * width, v * height
    if not linear:
        return compared(np.floor(s).astype(np.int64), np.floor(t).astype(np.int64)).astype(np.int64)
    s, t = s - 0.5, t - 0.5
    s0, t0 = np.floor(s), np.floor(t)
    a, b = s - s0, t - t0
    s0, t0 = s0.astype(np.int64), t0.astype(np.int64)
    mixed = ((1 - a) * (1 - b) * compared(s0, t0) + a * (1 - b) * compared(s0 + 1, t0)
             + (1 - a) * b * compared(s0, t0 + 1) + a * b * compared(s0 + 1, t0 + 1))
    return np.floor(mixed + 0.5).astype(np.int64)
