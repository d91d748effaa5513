"""The display's pixel formats against reference images computed here, pixel by pixel.

GSP framebuffers (3dbrew "GPU/LCD", "GSP Shared Memory") hold each screen rotated: column x
of the screen is ``stride`` bytes at ``vaddr + x * stride``, its first pixel the bottom row.
Pixels are little-endian 16-bit words for RGB565 (R 15-11, G 10-5, B 4-0), RGB5A1
(R 15-11, G 10-6, B 5-1, A 0) and RGBA4 (R 15-12, G 11-8, B 7-4, A 3-0); channels widen to
8 bits by bit replication as Citra's src/common/color.h does (Convert5To8 ``x << 3 | x >> 2``,
Convert6To8 ``x << 2 | x >> 4``, Convert4To8 ``x << 4 | x``).
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from hlemu.loaders import Image, Segment
from hlemu.memory import MemoryPermission
from kernel.display import Framebuffer
from kernel.kernel import Kernel
from tests.kernel.asm import assemble

FB = 0x00200000
WIDTH, HEIGHT = 320, 240  # the bottom screen
STRIDE = HEIGHT * 2 + 32  # bytes a column: 16-bit pixels plus padding the display must skip


def widen(value: int, bits: int) -> int:
    """Citra color.h ConvertNTo8: replicate the high bits into the low ones."""
    return {5: (value << 3) | (value >> 2), 6: (value << 2) | (value >> 4), 4: (value << 4) | value}[bits]


def decode(word: int, fmt: str) -> tuple[int, int, int]:
    if fmt == "RGB565":
        return widen(word >> 11, 5), widen((word >> 5) & 0x3F, 6), widen(word & 0x1F, 5)
    if fmt == "RGB5A1":
        return widen(word >> 11, 5), widen((word >> 6) & 0x1F, 5), widen((word >> 1) & 0x1F, 5)
    return widen(word >> 12, 4), widen((word >> 8) & 0xF, 4), widen((word >> 4) & 0xF, 4)  # RGBA4


def reference(raw: bytes, fmt: str) -> np.ndarray:
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    for x in range(WIDTH):
        for y in range(HEIGHT):
            at = x * STRIDE + (HEIGHT - 1 - y) * 2  # the bottom row comes first in a column
            image[y, x] = decode(raw[at] | raw[at + 1] << 8, fmt)
    return image


@pytest.fixture
def kernel():
    k = Kernel(backend="semifastmem", output=lambda _p, _line: None)
    yield k
    k.close()


@pytest.mark.parametrize(("fmt", "code"), [("RGB565", 2), ("RGB5A1", 3), ("RGBA4", 4)])
def test_16_bit_formats_match_the_per_pixel_reference(kernel, fmt, code):
    size = (WIDTH * STRIDE + 0xFFF) & ~0xFFF
    process = kernel.spawn(Image("fb", 0x00100000, [
        Segment(0x00100000, assemble("b ."), 0x1000, MemoryPermission.RX),
        Segment(FB, b"", size, MemoryPermission.RW)]))
    rng = random.Random(code)
    raw = bytes(rng.getrandbits(8) for _ in range(WIDTH * STRIDE))
    raw = bytes([0xFF, 0xFF, 0x00, 0x00]) + raw[4:]  # white, then black: the bottom-left pixels
    process.space.mem.write(FB, raw)
    kernel.display.set_framebuffer("bottom", Framebuffer(process, FB, code, STRIDE))
    got = kernel.display.render("bottom")
    want = reference(raw, fmt)
    assert got.shape == want.shape == (HEIGHT, WIDTH, 3)
    bad = np.argwhere((got != want).any(axis=2))
    assert not len(bad), f"{len(bad)} pixels differ, first (y, x) {bad[0].tolist()}: {got[tuple(bad[0])]} " \
                         f"vs {want[tuple(bad[0])]}"
    assert tuple(got[HEIGHT - 1, 0]) == (255, 255, 255) and tuple(got[HEIGHT - 2, 0]) == (0, 0, 0)
