"""GX commands (gsp::Gpu TriggerCmdReqQueue) against a plain numpy reference, and hostile ones.

The reference here is written from the documents, not from kernel/services/gx_kernels.py:
pixel layouts from 3dbrew "GPU/External Registers" (components most significant first in a
little-endian word) and Citra's ``common/color.h`` (widen by bit replication, narrow by
truncation), 8x8 tiles in Morton order (3dbrew "GPU/Textures"), TextureCopy lines and gaps
in 16-byte units (3dbrew "GPU/External Registers", TextureCopy). Each GX command runs in a
process's memory through ``GxEngine.execute``; the guest program ``gx`` (at the end) runs
them all through the queue in shared memory and TriggerCmdReqQueue, as libctru does, and
presents a frame built by DisplayTransfer, compared with a reviewed PNG under reference/.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PilImage

from hlemu.guest import program_path
from hlemu.loaders import Image, Segment
from hlemu.memory import MemoryPermission
from kernel.kernel import Kernel
from kernel.services import gx
from tests.kernel.asm import assemble

HERE = Path(__file__).parent
BUF = 0x00200000  # 2 MiB of read-write memory
BUF_SIZE = 0x200000
RO = 0x00400000  # one read-only page
FORMATS = ["RGBA8", "RGB8", "RGB565", "RGB5A1", "RGBA4"]
BPP = {"RGBA8": 4, "RGB8": 3, "RGB565": 2, "RGB5A1": 2, "RGBA4": 2}


# -- the reference ---------------------------------------------------------------------------
def ref_decode(raw: np.ndarray, fmt: str) -> np.ndarray:
    """(n * bpp) bytes -> (n, 4) RGBA, 8 bits a channel."""
    px = raw.reshape(-1, BPP[fmt]).astype(np.int64)
    if fmt == "RGBA8":  # bytes A B G R
        return px[:, ::-1].astype(np.uint8)
    if fmt == "RGB8":  # bytes B G R
        return np.column_stack([px[:, 2], px[:, 1], px[:, 0], np.full(len(px), 255)]).astype(np.uint8)
    w = px[:, 0] | px[:, 1] << 8

    def bits(shift: int, n: int) -> np.ndarray:
        v = (w >> shift) & ((1 << n) - 1)
        return {1: v * 255, 4: v * 17, 5: v << 3 | v >> 2, 6: v << 2 | v >> 4}[n]

    if fmt == "RGB565":
        return np.column_stack([bits(11, 5), bits(5, 6), bits(0, 5), np.full(len(w), 255)]).astype(np.uint8)
    if fmt == "RGB5A1":
        return np.column_stack([bits(11, 5), bits(6, 5), bits(1, 5), bits(0, 1)]).astype(np.uint8)
    return np.column_stack([bits(12, 4), bits(8, 4), bits(4, 4), bits(0, 4)]).astype(np.uint8)


def ref_encode(rgba: np.ndarray, fmt: str) -> np.ndarray:
    """(n, 4) RGBA -> n * bpp bytes."""
    r, g, b, a = (rgba[:, i].astype(np.int64) for i in range(4))
    if fmt == "RGBA8":
        return np.column_stack([a, b, g, r]).astype(np.uint8).ravel()
    if fmt == "RGB8":
        return np.column_stack([b, g, r]).astype(np.uint8).ravel()
    if fmt == "RGB565":
        w = (r >> 3) << 11 | (g >> 2) << 5 | b >> 3
    elif fmt == "RGB5A1":
        w = (r >> 3) << 11 | (g >> 3) << 6 | (b >> 3) << 1 | a >> 7
    else:
        w = (r >> 4) << 12 | (g >> 4) << 8 | (b >> 4) << 4 | a >> 4
    return np.column_stack([w & 0xFF, w >> 8]).astype(np.uint8).ravel()


def z_order(x: int, y: int) -> int:
    """Morton index in an 8x8 tile: x's bits at even positions, y's at odd ones."""
    return sum(((x >> i) & 1) << (2 * i) | ((y >> i) & 1) << (2 * i + 1) for i in range(3))


def tiled_index(width: int, height: int) -> np.ndarray:
    """For each pixel of a ``height`` x ``width`` image in row order, its place in the tiled image."""
    index = np.empty((height, width), np.int64)
    for y in range(height):
        for x in range(width):
            tile = (y // 8) * (width // 8) + x // 8
            index[y, x] = tile * 64 + z_order(x % 8, y % 8)
    return index.ravel()


def ref_tile(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """(height * width, c) pixels in row order -> the same pixels tiled."""
    out = np.empty_like(pixels)
    out[tiled_index(width, height)] = pixels
    return out


def ref_untile(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    return pixels[tiled_index(width, height)]


# -- the process the commands run in ---------------------------------------------------------------
@pytest.fixture(params=["semifastmem", "fastmem"])
def env(request):
    lines: list[str] = []
    kernel = Kernel(backend=request.param, output=lambda _p, line: lines.append(line))
    process = kernel.spawn(Image("gx", 0x00100000, [
        Segment(0x00100000, assemble("b ."), 0x1000, MemoryPermission.RX),
        Segment(BUF, b"", BUF_SIZE, MemoryPermission.RW),
        Segment(RO, b"\x5A" * 0x1000, 0x1000, MemoryPermission.R)]))
    yield kernel, process, lines
    kernel.close()


def run(env, *words: int) -> list[int]:
    kernel, process, _ = env
    return kernel.gsp.gx.execute(process, list(words) + [0] * (8 - len(words)))


def put(env, addr: int, data: np.ndarray | bytes) -> None:
    env[1].space.mem.write(addr, bytes(data))


def get(env, addr: int, size: int) -> np.ndarray:
    return np.frombuffer(env[1].space.mem.read(addr, size), np.uint8)


def flags(in_fmt: int, out_fmt: int, *, linear_in: bool = False, no_swizzle: bool = False,
          flip: bool = False, scale: int = 0) -> int:
    return flip | linear_in << 1 | no_swizzle << 5 | in_fmt << 8 | out_fmt << 12 | scale << 24


def dim(w: int, h: int) -> int:
    return h << 16 | w


def random_image(seed: int, n: int, fmt: str) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, n * BPP[fmt], dtype=np.uint8)


# -- DisplayTransfer ------------------------------------------------------------------------------------
@pytest.mark.parametrize("out_fmt", range(5))
@pytest.mark.parametrize("in_fmt", range(5))
def test_display_transfer_untiles_and_converts_every_format_pair(env, in_fmt, out_fmt):
    w, h = 24, 16
    src = random_image(in_fmt * 5 + out_fmt, w * h, FORMATS[in_fmt])
    put(env, BUF, src)
    assert run(env, 3, BUF, BUF + 0x10000, dim(w, h), dim(w, h), flags(in_fmt, out_fmt)) == [gx.PPF]
    rgba = ref_untile(ref_decode(src, FORMATS[in_fmt]), w, h)
    want = ref_encode(rgba, FORMATS[out_fmt])
    assert (get(env, BUF + 0x10000, len(want)) == want).all()


@pytest.mark.parametrize("fmt", range(5))
def test_linear_to_tiled_is_the_inverse_and_linear_to_linear_a_conversion(env, fmt):
    w, h = 16, 24
    src = random_image(fmt, w * h, FORMATS[fmt])
    put(env, BUF, src)
    run(env, 3, BUF, BUF + 0x10000, dim(w, h), dim(w, h), flags(fmt, fmt, linear_in=True))
    tiled = get(env, BUF + 0x10000, len(src))
    assert (tiled.reshape(-1, BPP[FORMATS[fmt]]) == ref_tile(src.reshape(-1, BPP[FORMATS[fmt]]), w, h)).all()
    run(env, 3, BUF + 0x10000, BUF + 0x20000, dim(w, h), dim(w, h), flags(fmt, fmt))
    assert (get(env, BUF + 0x20000, len(src)) == src).all()  # untiled again: the original
    run(env, 3, BUF, BUF + 0x30000, dim(w, h), dim(w, h), flags(fmt, 0, linear_in=True, no_swizzle=True))
    assert (get(env, BUF + 0x30000, w * h * 4) == ref_encode(ref_decode(src, FORMATS[fmt]), "RGBA8")).all()
    run(env, 3, BUF + 0x10000, BUF + 0x40000, dim(w, h), dim(w, h), flags(fmt, fmt, no_swizzle=True))
    assert (get(env, BUF + 0x40000, len(src)) == tiled).all()  # tiled to tiled: unchanged


def test_flip_writes_rows_bottom_up_and_a_narrower_output_crops(env):
    in_w, h, out_w = 32, 16, 24
    src = random_image(7, in_w * h, "RGBA8")
    put(env, BUF, src)
    run(env, 3, BUF, BUF + 0x10000, dim(in_w, h), dim(out_w, h), flags(0, 0, flip=True))
    rows = ref_untile(src.reshape(-1, 4), in_w, h).reshape(h, in_w, 4)
    assert (get(env, BUF + 0x10000, out_w * h * 4).reshape(h, out_w, 4) == rows[::-1, :out_w]).all()


@pytest.mark.parametrize(("scale", "sx", "sy"), [(1, 2, 1), (2, 2, 2)])
def test_downscale_averages_the_pixels_it_covers(env, scale, sx, sy):
    w, h = 32, 16
    src = random_image(scale, w * h, "RGBA8")
    put(env, BUF, src)
    run(env, 3, BUF, BUF + 0x10000, dim(w, h), dim(w, h), flags(0, 0, scale=scale))
    rgba = ref_untile(ref_decode(src, "RGBA8"), w, h).reshape(h, w, 4).astype(np.int64)
    blocks = rgba.reshape(h // sy, sy, w // sx, sx, 4).sum(axis=(1, 3)) // (sx * sy)
    got = get(env, BUF + 0x10000, (w // sx) * (h // sy) * 4)
    assert (got == ref_encode(blocks.reshape(-1, 4), "RGBA8")).all()


def test_a_top_screen_frame_untiled_into_bgr8(env):
    """The transfer libctru's gfx does every frame: a 240x400 tiled RGBA8 image to BGR8."""
    w, h = 240, 400
    src = random_image(11, w * h, "RGBA8")
    put(env, BUF, src)
    run(env, 3, BUF, BUF + 0x100000, dim(w, h), dim(w, h), flags(0, 1))
    want = ref_encode(ref_untile(ref_decode(src, "RGBA8"), w, h), "RGB8")
    assert (get(env, BUF + 0x100000, len(want)) == want).all()


# -- MemoryFill, TextureCopy, RequestDma ------------------------------------------------------------------
@pytest.mark.parametrize(("control", "pattern"), [
    (0x001, bytes.fromhex("4433")), (0x101, bytes.fromhex("443322")), (0x201, bytes.fromhex("44332211"))])
def test_memory_fill_repeats_a_16_24_or_32_bit_pattern(env, control, pattern):
    put(env, BUF, b"\xEE" * 0x200)
    assert run(env, 2, BUF + 8, 0x11223344, BUF + 0x108, 0, 0, 0, control) == [gx.PSC0]
    got = get(env, BUF, 0x200).tobytes()
    assert got[8:0x108] == (pattern * 0x100)[:0x100]
    assert got[:8] == b"\xEE" * 8 and got[0x108:] == b"\xEE" * 0xF8  # nothing outside


def test_memory_fill_interrupts_one_buffer_each_or_psc0_for_both(env):
    both = (2, BUF, 1, BUF + 0x100, BUF + 0x200, 2, BUF + 0x300, 0x0201_0201)
    assert run(env, *both) == [gx.PSC0]
    assert get(env, BUF, 4).tobytes() == b"\1\0\0\0" and get(env, BUF + 0x200, 4).tobytes() == b"\2\0\0\0"
    assert run(env, 2, 0, 0, 0, BUF, 3, BUF + 0x100, 0x0001_0000) == [gx.PSC1]
    assert run(env, 2, BUF, 3, BUF + 0x100, 0, 0, 0, 0) == []  # start bit clear: nothing happens
    assert get(env, BUF, 2).tobytes() == b"\3\0"


def test_texture_copy_with_gaps_copies_a_sub_rectangle(env):
    """A 32-byte-wide column out of 64-byte input lines into 48-byte output lines, gaps untouched."""
    src = np.arange(64 * 8, dtype=np.uint32).astype(np.uint8)
    put(env, BUF, src)
    put(env, BUF + 0x1000, b"\xEE" * 0x400)
    # size 256, input: 32 bytes then a 32-byte gap; output: 32 bytes then a 16-byte gap (16-byte units)
    assert run(env, 4, BUF, BUF + 0x1000, 256, dim(2, 2), dim(2, 1), 0xC) == [gx.PPF]
    got = get(env, BUF + 0x1000, 0x400).reshape(-1)
    for line in range(8):
        assert (got[48 * line : 48 * line + 32] == src[64 * line : 64 * line + 32]).all()
        assert (got[48 * line + 32 : 48 * line + 48] == 0xEE).all()
    assert (got[48 * 8 - 16 :] == 0xEE).all()


def test_texture_copy_without_gaps_is_a_copy_of_whole_16_byte_units(env):
    src = random_image(3, 0x100, "RGBA8")
    put(env, BUF, src)
    put(env, BUF + 0x1000, b"\xEE" * 0x400)
    run(env, 4, BUF, BUF + 0x1000, 0x3F7, 0, 0, 8)  # 0x3F7 bytes: the last 7 are not a whole unit
    got = get(env, BUF + 0x1000, 0x400)
    assert (got[:0x3F0] == src[:0x3F0]).all() and (got[0x3F0:] == 0xEE).all()


def test_request_dma_copies_bytes_at_any_alignment(env):
    src = random_image(4, 0x801, "RGB8")[:0x1235]
    put(env, BUF + 3, src)
    assert run(env, 0, BUF + 3, BUF + 0x10001, 0x1235) == [gx.DMA]
    assert (get(env, BUF + 0x10001, 0x1235) == src).all()


def test_flush_raises_nothing_and_a_command_list_raises_p3d_when_it_writes_finalize(env):
    kernel, _, lines = env
    assert run(env, 5, BUF, 0x100) == []
    assert run(env, 1, BUF, 0x100) == []  # zeros: writes of nothing to register 0, no FINALIZE
    put(env, BUF, struct.pack("<4I", 0x12345678, 0x000F0010, 0x12345678, 0x000F0010))
    assert run(env, 1, BUF, 16) == [gx.P3D]
    assert not [line for line in lines if "ProcessCommandList" in line]
    assert kernel.gsp.gx.counts["ProcessCommandList"] == 2


# -- hostile commands ------------------------------------------------------------------------------------------
HOSTILE = {
    "wild source": ((0, 0x50000000, BUF, 0x100), gx.GX_INVALID_ADDRESS, "source 0x50000000+0x100 is not readable"),
    "read-only destination": ((0, BUF, RO, 0x10), gx.GX_INVALID_ADDRESS, "destination 0x00400000+0x10 is not "
                                                                         "writable"),
    "past the segment": ((0, BUF, BUF + BUF_SIZE - 8, 0x10), gx.GX_INVALID_ADDRESS, "is not writable"),
    "2 GiB dma": ((0, BUF, BUF, 0x7FFFFFF0), gx.GX_INVALID_ADDRESS, "source 0x00200000+0x7ffffff0 is not"),
    "4 GiB dma": ((0, BUF, BUF, 0xFFFFFFFF), gx.GX_INVALID_SIZE, "leaves the 32-bit address space"),
    "wrapping": ((0, 0xFFFFFF00, BUF, 0x200), gx.GX_INVALID_SIZE, "leaves the 32-bit address space"),
    "fill backwards": ((2, BUF + 0x100, 0, BUF, 0, 0, 0, 1), gx.GX_INVALID_SIZE, "not after its start"),
    "fill into code": ((2, 0x00100000, 0, 0x00101000, 0, 0, 0, 1), gx.GX_INVALID_ADDRESS, "buffer 0"),
    "huge transfer": ((3, BUF, BUF, dim(0xFFF8, 0xFFF8), dim(0xFFF8, 0xFFF8), 0), gx.GX_INVALID_SIZE,
                      "output 0x00200000+0x3ffc00100 leaves"),
    "big transfer": ((3, BUF, BUF, dim(4096, 4096), dim(4096, 4096), 0), gx.GX_INVALID_ADDRESS,
                     "output 0x00200000+0x4000000 is not writable"),
    "bad format": ((3, BUF, BUF, dim(8, 8), dim(8, 8), 7 << 8), gx.GX_INVALID_ENUM, "pixel format 7"),
    "bad scale": ((3, BUF, BUF, dim(8, 8), dim(8, 8), 3 << 24), gx.GX_INVALID_ENUM, "scaling mode 3"),
    "empty": ((3, BUF, BUF, dim(0, 8), dim(8, 8), 0), gx.GX_INVALID_SIZE, "empty image"),
    "output too big": ((3, BUF, BUF + 0x1000, dim(8, 8), dim(16, 8), 0), gx.GX_INVALID_SIZE, "needs more"),
    "partial tiles": ((3, BUF, BUF + 0x1000, dim(12, 8), dim(12, 8), 0), gx.GX_INVALID_SIZE, "8x8 tiles"),
    "32x32 blocks": ((3, BUF, BUF + 0x1000, dim(32, 32), dim(32, 32), 1 << 16), gx.GX_NOT_IMPLEMENTED, "32x32"),
    "raw copy flag": ((3, BUF, BUF + 0x1000, dim(8, 8), dim(8, 8), 8), gx.GX_INVALID_ENUM, "TextureCopy mode"),
    "linear downscale": ((3, BUF, BUF + 0x1000, dim(8, 8), dim(8, 8), 2 | 1 << 24), gx.GX_NOT_IMPLEMENTED,
                         "linear input"),
    "tiny copy": ((4, BUF, BUF + 0x1000, 8, 0, 0, 8), gx.GX_INVALID_SIZE, "under 16 bytes"),
    "zero line": ((4, BUF, BUF + 0x1000, 0x100, dim(0, 1), 0, 8), gx.GX_INVALID_SIZE, "line width 0"),
    "huge gaps": ((4, BUF, BUF + 0x1000, 0x100, dim(1, 0xFFFF), 0, 8), gx.GX_INVALID_ADDRESS, "input"),
    "no such command": ((9,), gx.GX_INVALID_ENUM, "GX command 0x09 does not exist"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_commands_are_refused_before_anything_moves(env, name):
    words, code, words_in_message = HOSTILE[name]
    before = get(env, BUF, BUF_SIZE).copy()
    with pytest.raises(gx.GxError) as caught:
        run(env, *words)
    assert caught.value.code == code
    assert words_in_message in str(caught.value)
    assert (get(env, BUF, BUF_SIZE) == before).all()
    assert env[1].alive


def test_a_refused_command_marks_the_queue_and_the_next_one_runs(env):
    """The queue header (3dbrew "GSP Shared Memory"): index and count advance past a bad command,
    byte 2 becomes 0x80 and word 1 holds its error; the good command after it still runs."""
    kernel, process, lines = env
    shared, base = kernel.gsp.shared, gx.QUEUE_BASE + gx.QUEUE_STRIDE * 1
    shared.write(base, bytes([14, 2, 0, 0]))  # two commands, the first in the last slot
    shared.write(base + 0x20 * 15, struct.pack("<8I", 0x01000100, 0x50000000, BUF, 0x10, 0, 0, 0, 0))
    shared.write(base + 0x20, struct.pack("<8I", 0x01000102, BUF, 0xAB, BUF + 8, 0, 0, 0, 0x201))
    assert kernel.gsp.gx.run_queue(shared, 1, process) == [gx.PSC0]
    assert shared.read(base, 8) == bytes([1, 0, 0x80, 0]) + struct.pack("<I", gx.GX_INVALID_ADDRESS)
    assert get(env, BUF, 4).tobytes() == b"\xAB\0\0\0"
    assert lines == ["[hlemu] gsp::Gpu: GX RequestDma: source 0x50000000+0x10 is not readable memory "
                     "of the process"]


def test_a_stop_request_leaves_the_queue_alone(env):
    kernel, process, _ = env
    shared, base = kernel.gsp.shared, gx.QUEUE_BASE
    shared.write(base, bytes([0, 1, 0, 1]))
    shared.write(base + 0x20, struct.pack("<8I", 0x01000102, BUF, 0xAB, BUF + 8, 0, 0, 0, 0x201))
    assert kernel.gsp.gx.run_queue(shared, 0, process) == []
    assert shared.read(base, 4) == bytes([0, 1, gx.STATUS_STOPPED, 1])
    assert get(env, BUF, 1).tobytes() == b"\0"


# -- the guest program ----------------------------------------------------------------------------------------
GX_OUTPUT = [
    "gx: start", "gsp: gsp::Gpu ready ok", "linear heap: 2 MiB ok",
    "fill: two buffers, then PSC0 ok", "fill: 32-bit and 16-bit patterns, nothing past either end ok",
    "fill: second buffer alone, then PSC1 ok", "fill: 24-bit pattern AA BB CC ok",
    "dma: 0x1235 bytes, then DMA ok", "dma: the copy matches ok",
    "transfer: linear to tiled, then PPF ok", "transfer: 4096 pixels in Morton order (0 wrong) ok",
    "transfer: tiled to linear RGB565 flipped, then PPF ok",
    "transfer: 4096 RGB565 pixels, rows reversed (0 wrong) ok",
    "transfer: 2x2 downscale, then PPF ok", "transfer: 1024 pixels, each the mean of four (0 wrong) ok",
    "copy: 16 lines of 32 bytes, then PPF ok", "copy: the sub-rectangle, gaps untouched ok",
    "frame: top built by DisplayTransfer and presented ok",
    "frame: bottom built by DisplayTransfer and presented ok", "frame: a VBlank later ok",
    "[hlemu] gsp::Gpu: GX DisplayTransfer: input 0x50000000+0x4000 is not readable memory of the process",
    "refused: transfer from unmapped memory, no PPF ok", "refused: queue header says failed, 0xE0E02BF5 ok",
    "[hlemu] gsp::Gpu: GX MemoryFill: buffer 0 0x00100000+0x100 is not writable memory of the process",
    "refused: fill over read-only code, no PSC0, code intact ok",
    "command list: FINALIZE, then P3D ok",
    "[hlemu] gsp::Gpu: GX ProcessCommandList: command list 0x50000000+0x100 is not readable memory of the "
    "process", "command list: at an unmapped address refused, no P3D ok", "gx: 0 failures"]


def fb_pattern(width: int, extra_blue: int = 0) -> np.ndarray:
    """fbformats' (and gx's) picture as (240, width, 3) RGB; see hlemu/guest/programs/fbformats.c."""
    x = np.arange(width)[None, :].repeat(240, 0)
    y = np.arange(240)[:, None].repeat(width, 1)
    blue = np.where((x // 16 + y // 16) & 1, 0xC0, 0x30) + extra_blue
    image = np.stack([x * 255 // (width - 1), y * 255 // 239, blue], -1)
    image[:16, :16] = 0xFF
    return image.astype(np.uint8)


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
def test_gx_program_runs_every_command_through_the_queue(backend, tmp_path, snapshots):
    lines: list[str] = []
    screens: dict[str, np.ndarray] = {}
    kernel = Kernel(backend=backend, output=lambda _p, line: on_line(line))

    def on_line(line: str) -> None:
        lines.append(line)
        if line == "frame: a VBlank later ok":
            screens.update(top=kernel.display.render("top"), bottom=kernel.display.render("bottom"))
            kernel.display.screenshot(str(tmp_path / "gx_frame.png"))

    try:
        process = kernel.spawn(program_path("gx"))
        kernel.run(max_instructions=100_000_000)
        assert lines == GX_OUTPUT
        assert process.exit_code == 0
        counts = dict(kernel.gsp.gx.counts)
        assert counts == {"MemoryFill": 3, "RequestDma": 1, "DisplayTransfer": 8, "TextureCopy": 1,
                          "ProcessCommandList": 2}
    finally:
        kernel.close()
    assert (screens["top"] == fb_pattern(400)).all()  # RGBA8 -> BGR8 loses nothing
    bottom = fb_pattern(320, 0x10)  # the mean of the pattern's blue and 0x20 more
    bottom[:16, :16] = 0xFF  # the white square stays white (0xFF + 0x20 was clamped)
    assert (screens["bottom"] == bottom).all()
    snapshots.file(HERE / "reference" / "gx_frame.png", tmp_path / "gx_frame.png",
                   lambda got, want: np.array_equal(np.asarray(PilImage.open(got).convert("RGB")),
                                                    np.asarray(PilImage.open(want).convert("RGB"))))
