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


def test_libctru_shared_memory_present_shows_the_framebuffer_it_names(kernel):
    """libctru 2.x presents by writing a FramebufferInfo into GSP shared memory (3dbrew "GSP Shared
    Memory": per thread index t and screen s a block at 0x200 + 0x80 * t + 0x40 * s holding the
    entry index, an update flag and two 0x1C-byte FramebufferInfo entries); the display applies
    it at VBlank and clears the flag. The picture is checked against the per-pixel reference."""
    import struct

    from tests.kernel.asm import INPUT, SUCCESS
    from tests.kernel.test_reliability import CMDBUF, connect_srv, name_words, request, save

    gsp = name_words("gsp::Gpu")
    wait_frame = "mov r0, r10\nldr r2, =1000000000\nmov r3, #0\nsvc 0x24   @ WaitSynchronization1(vblank, 1 s)\n"
    body = (connect_srv() + request("r9", [0x00050100, *gsp, 8, 0], 0) + "ldr r8, [r11, #16]\n"
            + "mov r1, #0\nsvc 0x17   @ CreateEvent\nmov r10, r1\n"
            + CMDBUF + "ldr r0, =0x00130042\nstr r0, [r12]\nmov r0, #1\nstr r0, [r12, #4]\nmov r0, #0\n"
            + "str r0, [r12, #8]\nstr r10, [r12, #12]\nmov r0, r8\nsvc 0x32   @ RegisterInterruptRelayQueue\n"
            + save(5, "r0") + CMDBUF + "ldr r0, [r12, #4]\n" + save(6, "r0") + "ldr r0, [r12, #8]\n" + save(7, "r0")
            + wait_frame * 8)
    size = (WIDTH * STRIDE + 0xFFF) & ~0xFFF
    code = assemble(f"mov r11, #{0x00300000:#x}\n" + body + "mov r0, #0\nsvc 0x03\n", 0x00100000)
    process = kernel.spawn(Image("present", 0x00100000, [
        Segment(0x00100000, code, 0x4000, MemoryPermission.RX),
        Segment(FB, bytes(INPUT - FB) + b"srv:\0", size, MemoryPermission.RW),  # the port name, until drawn over
        Segment(0x00300000, b"", 0x1000, MemoryPermission.RW)]))
    assert kernel.run(until=lambda: len(kernel.gsp.clients) == 1).reason == "condition met"
    rng = random.Random(5)
    raw = bytes(rng.getrandbits(8) for _ in range(WIDTH * STRIDE))
    process.space.mem.write(FB, raw)
    index = next(iter(kernel.gsp.clients))
    block = 0x200 + 0x80 * index + 0x40 * 1  # the bottom screen's
    kernel.gsp.shared.write(block, bytes([1, 1, 0, 0]))  # show entry 1; update requested
    kernel.gsp.shared.write(block + 4 + 0x1C, struct.pack("<7I", 1, FB, 0, STRIDE, 2, 0, 0))  # RGB565
    start = kernel.display.frame
    assert kernel.run(until=lambda: kernel.display.frame >= start + 2).reason == "condition met"
    words = [process.space.mem.read32(0x00300000 + 4 * i) for i in range(8)]
    assert words[5:7] == [SUCCESS, SUCCESS]  # registered
    shown = kernel.display.screens["bottom"].framebuffer
    assert shown is not None and (shown.vaddr, shown.format, shown.stride) == (FB, 2, STRIDE)
    assert kernel.gsp.shared.read(block + 1, 1) == b"\0"  # the display took the update
    got, want = kernel.display.render("bottom"), reference(raw, "RGB565")
    assert (got == want).all()
