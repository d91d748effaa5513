"""Shadows: drawing a shadow map and comparing with one, compiled with numba.

A shadow map is drawn with COLOR_OPERATION (0x100) bits 0-1 = 3, "shadow" (3dbrew "GPU/Internal
Registers"; citro3d's C3D_FragOpShadow / GPU_FRAGOPMODE_SHADOW). Each fragment then skips the
alpha test, fog, the depth and stencil tests and the output merger and updates its pixel of the
colour buffer, 4 bytes a pixel whatever COLORBUFFER_FORMAT says, as Azahar's software renderer
does (``renderer_software/sw_framebuffer.cpp``, DrawShadowMapPixel): bytes 0-2 hold a 24-bit depth
(byte 0 its top byte), byte 3 an 8-bit "stencil", the shadow's intensity, which is the green
of the TexEnv output. Read back as an RGBA8 texture (bytes a, b, g, r), the depth is
a << 16 | b << 8 | g and the intensity r. A fragment nearer than the stored depth, with
intensity 0, stores its depth (an opaque occluder); with intensity s > 0 (a translucent one) it
stores, when lower than the stored intensity, s / (constant + linear * depth / stored depth)
clamped to 0..255, the two from FRAGOP_SHADOW (0x130, float16 each: bits 0-15 and 16-31). A
fragment at or behind the stored depth changes nothing.

A shadow texture (texture unit 0, type 2 "shadow 2D" or 4 "shadow cube" in TEXUNIT0_PARAM
bits 28-30) compares each texel with the fragment's depth: texture coordinate 0's w, taken
absolute (for 2D) or the cube direction's major component, at most 1, times 0xFFFFFF, less
TEXUNIT0_SHADOW's (0x08B) bias (bits 1-23, the low 23 bits of a 24-bit depth with bit 0 clear);
the texel's depth at least that gives its intensity, else 0, as all four channels
(Azahar's TextureColor). Shadow 2D divides u and v by w unless TEXUNIT0_SHADOW bit 0
(orthographic) is set. Linear magnification mixes the four comparisons, as Azahar's GL renderer
does; nearest compares one texel, as its software renderer does.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hlemu.gpu.lighting import pica_float

COLOR_OPERATION, FRAGOP_SHADOW, TEXUNIT0_SHADOW = 0x100, 0x130, 0x08B
SHADOW_MODE = 3  # COLOR_OPERATION bits 0-1
DEPTH_MAX = 0xFFFFFF


def rendering(color_operation: int) -> bool:
    """Whether COLOR_OPERATION puts draws in shadow mode (bits 0-1 = 3)."""
    return color_operation & 3 == SHADOW_MODE


def settings(regs) -> np.ndarray:
    """Whether draws render a shadow map, and FRAGOP_SHADOW's constant and linear terms
    (float16), as the rasteriser takes them."""
    word = regs[FRAGOP_SHADOW]
    return np.array([rendering(regs[COLOR_OPERATION]), pica_float(word & 0xFFFF, 10, 5),
                     pica_float(word >> 16, 10, 5)], np.float64)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def write(buf, off, depth, intensity, constant, linear):
    """Draw a shadow-map fragment of 24-bit ``depth`` and 8-bit ``intensity`` into the pixel
    at ``buf[off]`` (4 bytes). Answers whether the pixel changed."""
    stored = np.int64(buf[off]) << 16 | np.int64(buf[off + 1]) << 8 | np.int64(buf[off + 2])
    if depth >= stored:
        return False
    if intensity == 0:
        buf[off] = (depth >> 16) & 0xFF
        buf[off + 1] = (depth >> 8) & 0xFF
        buf[off + 2] = depth & 0xFF
        return True
    scaled = intensity / (constant + linear * (depth / stored))
    new = np.int64(min(max(scaled, 0.0), 255.0))
    if new < np.int64(buf[off + 3]):
        buf[off + 3] = new
        return True
    return False


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def compare(rgba, reference):
    """A shadow texel ``rgba`` (r, g, b, a as an RGBA8 texture reads the map) against the
    fragment's 24-bit depth ``reference``: its intensity r where its depth is at least the
    fragment's, else 0, into all four channels."""
    stored = rgba[3] << 16 | rgba[2] << 8 | rgba[1]
    density = rgba[0] if stored >= reference else 0
    for ch in range(4):
        rgba[ch] = density
