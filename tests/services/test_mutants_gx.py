"""GX commands at their edges, past tests/services/test_gx.py: the flipped-and-cropped skew
(Azahar video_core/renderer_software/sw_blitter.cpp: dst += (input_width - output_width) *
(output_height - 1) * bpp), MemoryFill's interrupts with both buffers given (Azahar
video_core/gpu.cpp: PSC0 only, from the second buffer, when both starts are non-zero), address
registers in 8-byte units (3dbrew "GPU/External Registers": the engine holds ``address >> 3``),
TextureCopy's size in 16-byte units and its line registers (width low half, gap high half, in
16-byte units), and the queue in GSP shared memory (3dbrew "GSP Shared Memory": 0x800 + 0x200 *
thread index; header byte 0 the next index, byte 1 the count, fifteen 0x20-byte slots from
+0x20), a command's word 0 bits 16-23 asking GSP to stop after it (Azahar
core/hle/service/gsp/gsp_command.h: Command ``stop``). Written for mutants of
kernel/services/gx.py (scripts/mutation.py)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from hlemu.loaders import Image, Segment
from hlemu.memory import MemoryPermission
from kernel.kernel import Kernel
from kernel.services import gx
from tests.kernel.asm import assemble
from tests.services.test_gx import BUF, BUF_SIZE, dim, flags, random_image, ref_untile

GAP = 0x00180000  # an unmapped page range between the code (0x00100000) and BUF


@pytest.fixture
def env():
    lines: list[str] = []
    kernel = Kernel(backend="semifastmem", output=lambda _p, line: lines.append(line))
    process = kernel.spawn(Image("gx", 0x00100000, [
        Segment(0x00100000, assemble("b ."), 0x1000, MemoryPermission.RX),
        Segment(BUF, b"", BUF_SIZE, MemoryPermission.RW)]))
    yield kernel, process, lines
    kernel.close()


def run(env, *words: int) -> list[int]:
    kernel, process, _ = env
    return kernel.gsp.gx.execute(process, list(words) + [0] * (8 - len(words)))


def put(env, addr: int, data) -> None:
    env[1].space.mem.write(addr, bytes(data))


def get(env, addr: int, size: int) -> bytes:
    return env[1].space.mem.read(addr, size)


def refused(env, *words: int) -> gx.GxError:
    with pytest.raises(gx.GxError) as caught:
        run(env, *words)
    return caught.value


# -- DisplayTransfer -------------------------------------------------------------------------------------
def test_a_flipped_cropped_transfer_lands_skewed_as_on_hardware(env):
    in_w, h, out_w = 32, 16, 24
    src = random_image(7, in_w * h, "RGBA8")
    put(env, BUF, src)
    out = BUF + 0x10000
    put(env, out, b"\xEE" * 0x1000)
    crop = 0x4
    assert run(env, 3, BUF, out, dim(in_w, h), dim(out_w, h), flags(0, 0, flip=True) | crop) == [gx.PPF]
    skew = (in_w - out_w) * (h - 1) * 4
    rows = ref_untile(src.reshape(-1, 4), in_w, h).reshape(h, in_w, 4)
    got = np.frombuffer(get(env, out + skew, out_w * h * 4), np.uint8).reshape(h, out_w, 4)
    assert (got == rows[::-1, :out_w]).all()
    assert get(env, out, skew) == b"\xEE" * skew


def test_a_cropped_transfer_without_flip_is_not_moved(env):
    w, h = 16, 8
    src = random_image(8, w * h, "RGBA8")
    put(env, BUF, src)
    run(env, 3, BUF, BUF + 0x10000, dim(w, h), dim(w, h), flags(0, 0) | 0x4)
    want = ref_untile(src.reshape(-1, 4), w, h).ravel()
    assert get(env, BUF + 0x10000, w * h * 4) == want.tobytes()


def test_transfer_addresses_drop_their_low_three_bits(env):
    w, h = 8, 8
    src = random_image(9, w * h, "RGB565")
    put(env, BUF, src)
    run(env, 3, BUF + 7, BUF + 0x10007, dim(w, h), dim(w, h), flags(2, 2))
    want = ref_untile(src.reshape(-1, 2), w, h).ravel()
    assert get(env, BUF + 0x10000, w * h * 2) == want.tobytes()


def test_the_width_and_height_halves_of_the_size_words(env):
    """Input 8 wide, 16 high, output 8x8: the top 8 rows (the first 64 pixels, one row of tiles)."""
    src = random_image(10, 8 * 16, "RGBA8")
    put(env, BUF, src)
    put(env, BUF + 0x10000, b"\xEE" * 0x400)
    run(env, 3, BUF, BUF + 0x10000, dim(8, 16), dim(8, 8), flags(0, 0))
    want = ref_untile(src.reshape(-1, 4)[:64], 8, 8).ravel()
    assert get(env, BUF + 0x10000, 0x100) == want.tobytes()
    assert get(env, BUF + 0x10100, 0x100) == b"\xEE" * 0x100


@pytest.mark.parametrize(("indim", "outdim", "flag", "code", "words"), [
    (dim(8, 8), dim(8, 8), 5 << 8, gx.GX_INVALID_ENUM, "pixel format 5"),
    (dim(8, 8), dim(8, 8), 5 << 12, gx.GX_INVALID_ENUM, "-> 5"),
    (dim(8, 0), dim(8, 8), 0, gx.GX_INVALID_SIZE, "empty image"),
    (dim(8, 8), dim(0, 8), 0, gx.GX_INVALID_SIZE, "empty image"),
    (dim(8, 8), dim(8, 0), 0, gx.GX_INVALID_SIZE, "empty image"),
    (dim(8, 8), dim(8, 16), 0, gx.GX_INVALID_SIZE, "needs more"),
    (dim(16, 8), dim(32, 8), 1 << 24, gx.GX_INVALID_SIZE, "needs more"),  # 2x1: 16 columns from 32
    (dim(16, 16), dim(16, 32), 2 << 24, gx.GX_INVALID_SIZE, "needs more"),  # 2x2: 16 rows from 32
    (dim(16, 8), dim(16, 16), 1 << 24, gx.GX_INVALID_SIZE, "needs more"),
    (dim(8, 12), dim(8, 8), 0, gx.GX_INVALID_SIZE, "tiled input 8x12"),
    (dim(8, 8), dim(8, 8), 1 << 16, gx.GX_NOT_IMPLEMENTED, "32x32"),
])
def test_transfers_refused(env, indim, outdim, flag, code, words):
    error = refused(env, 3, BUF, BUF + 0x10000, indim, outdim, flag)
    assert error.code == code and words in str(error)


@pytest.mark.parametrize(("indim", "outdim", "flag"), [
    (dim(8, 8), dim(8, 8), 4 << 8 | 4 << 12),  # RGBA4 both ways: format 4 exists
    (dim(16, 8), dim(16, 8), 1 << 24),  # 2x1: output 8x8 from the whole input
    (dim(16, 16), dim(16, 16), 2 << 24),  # 2x2: output 8x8
    (dim(12, 8), dim(12, 8), 0x2 | 0x20),  # linear to linear: any width
])
def test_transfers_at_the_limits_run(env, indim, outdim, flag):
    assert run(env, 3, BUF, BUF + 0x10000, indim, outdim, flag) == [gx.PPF]


def test_a_linear_input_tiled_output_must_be_whole_tiles(env):
    error = refused(env, 3, BUF, BUF + 0x10000, dim(12, 8), dim(12, 8), 0x2)
    assert error.code == gx.GX_INVALID_SIZE and "tiled output 12x8" in str(error)


# -- MemoryFill ------------------------------------------------------------------------------------------
def test_memory_fill_interrupts_with_both_buffers_given(env):
    both = (2, BUF, 0, BUF + 0x100, BUF + 0x200, 0, BUF + 0x300)
    assert run(env, *both, 0x0001_0001) == [gx.PSC0]
    assert run(env, *both, 0x0000_0001) == []  # the second not started: no interrupt at all
    assert run(env, *both, 0x0001_0000) == [gx.PSC0]


def test_memory_fill_with_both_starts_given_but_one_not_started(env):
    """Azahar gpu.cpp decides "both buffers" by the two start addresses alone: with both given,
    only the second buffer's fill raises an interrupt (PSC0), whichever is started."""
    assert run(env, 2, 8, 0, 0x10, BUF, 0, BUF + 0x100, 0x0001_0000) == [gx.PSC0]
    assert run(env, 2, BUF, 0, BUF + 0x100, 8, 0, 0x10, 0x0000_0001) == []


def test_memory_fill_addresses_drop_their_low_three_bits_and_an_empty_buffer_is_refused(env):
    put(env, BUF, b"\xEE" * 0x40)
    assert run(env, 2, BUF + 0xD, 0x11, BUF + 0x1F, 0, 0, 0, 0x201) == [gx.PSC0]
    assert get(env, BUF, 0x20) == b"\xEE" * 8 + b"\x11\0\0\0" * 4 + b"\xEE" * 8
    error = refused(env, 2, BUF + 8, 0, BUF + 0xF, 0, 0, 0, 1)
    assert error.code == gx.GX_INVALID_SIZE and "not after its start" in str(error)
    error = refused(env, 2, 0, 0, 0, BUF + 0x10, 0, BUF + 0x8, 0x10000)
    assert error.code == gx.GX_INVALID_SIZE and "buffer 1" in str(error)


def test_memory_fill_takes_each_buffer_s_own_words(env):
    put(env, BUF, b"\xEE" * 0x40)
    assert run(env, 2, BUF, 0xA1A2, BUF + 0x8, BUF + 0x20, 0xB1B2B3B4, BUF + 0x30, 0x0201_0001) == [gx.PSC0]
    assert get(env, BUF, 0x40) == (bytes.fromhex("a2a1") * 4 + b"\xEE" * 0x18 + bytes.fromhex("b4b3b2b1") * 4
                                   + b"\xEE" * 0x10)


# -- TextureCopy -----------------------------------------------------------------------------------------
def test_texture_copy_line_registers_and_aligned_addresses(env):
    """Input lines of 16 bytes with 16-byte gaps, output one line (gap 0), addresses rounded down
    to 8 bytes; size 0x3F counts as 0x30."""
    src = bytes(range(0x80))
    put(env, BUF, src)
    put(env, BUF + 0x1000, b"\xEE" * 0x80)
    assert run(env, 4, BUF + 5, BUF + 0x1003, 0x3F, dim(1, 1), dim(0x7FFF, 0), 8) == [gx.PPF]
    assert get(env, BUF + 0x1000, 0x40) == src[0:16] + src[32:48] + src[64:80] + b"\xEE" * 0x10


def test_texture_copy_output_gaps_and_an_output_line_of_zero_width(env):
    put(env, BUF, bytes(range(0x40)))
    put(env, BUF + 0x1000, b"\xEE" * 0x80)
    run(env, 4, BUF, BUF + 0x1000, 0x20, 0, dim(1, 2), 8)
    assert get(env, BUF + 0x1000, 0x50) == bytes(range(16)) + b"\xEE" * 32 + bytes(range(16, 32)) + b"\xEE" * 16
    error = refused(env, 4, BUF, BUF + 0x1000, 0x20, 0, dim(0, 1), 8)
    assert error.code == gx.GX_INVALID_SIZE and "output line width 0" in str(error)


# -- RequestDma, ProcessCommandList, the checks --------------------------------------------------------------
def test_request_dma_of_nothing_moves_nothing_and_raises_dma(env):
    assert run(env, 0, 0x50000000, 0x50000000, 0) == [gx.DMA]


def test_request_dma_of_one_byte(env):
    put(env, BUF, b"\x7F")
    assert run(env, 0, BUF, BUF + 0x101, 1) == [gx.DMA]
    assert get(env, BUF + 0x100, 3) == b"\0\x7F\0"


def test_texture_copy_input_may_end_at_the_last_mapped_byte(env):
    """Three 16-byte lines with 16-byte gaps span 0x50 bytes: no gap after the last line."""
    end = BUF + BUF_SIZE
    put(env, end - 0x50, bytes(range(0x50)))
    assert run(env, 4, end - 0x50, BUF, 0x30, dim(1, 1), 0, 8) == [gx.PPF]
    assert get(env, BUF, 0x30) == bytes(range(16)) + bytes(range(32, 48)) + bytes(range(64, 80))
    error = refused(env, 4, end - 0x50, BUF, 0x40, dim(1, 1), 0, 8)  # a fourth line does not fit
    assert error.code == gx.GX_INVALID_ADDRESS


def test_a_command_list_address_must_be_readable_for_its_whole_size(env):
    error = refused(env, 1, BUF + BUF_SIZE - 8, 0x10)
    assert error.code == gx.GX_INVALID_ADDRESS and "command list" in str(error)
    error = refused(env, 1, 0x50000000, 4)  # under 8 bytes: still one 8-byte unit read
    assert error.code == gx.GX_INVALID_ADDRESS and "0x50000000+0x8" in str(error)


def test_buffers_beside_device_registers_are_still_memory(env):
    """The device-register check looks at the buffer's own pages only: registers mapped just
    below, between and just after it do not refuse it."""
    kernel, process, _ = env
    process.space.map_mmio(GAP, 0x1000, object())
    top = BUF + BUF_SIZE
    process.space.map_mmio(top, 0x1000, object())
    put(env, top - 0x100, b"\x42" * 0x100)
    assert run(env, 0, top - 0x100, BUF, 0x100) == [gx.DMA]
    assert get(env, BUF, 0x100) == b"\x42" * 0x100
    error = refused(env, 0, top - 0x100, BUF, 0x200)
    assert error.code == gx.GX_INVALID_ADDRESS


def test_a_buffer_up_to_the_last_byte_of_the_address_space_is_checked_not_wrapped(env):
    error = refused(env, 0, 0xFFFFFF00, BUF, 0x100)
    assert error.code == gx.GX_INVALID_ADDRESS and "is not readable" in str(error)


# -- the engine's counts and log; the queue --------------------------------------------------------------------
def test_each_command_is_counted_once_and_the_last_hundred_refusals_kept(env):
    kernel, process, _ = env
    engine = kernel.gsp.gx
    run(env, 5)
    run(env, 5)
    run(env, 0, BUF, BUF + 8, 8)
    assert dict(engine.counts) == {"FlushCacheRegions": 2, "RequestDma": 1}
    for i in range(150):
        engine.refuse(process, f"refusal {i}")
    assert engine.errors == [f"refusal {i}" for i in range(50, 150)]


def write_queue(kernel, index: int, head: bytes, commands: dict[int, tuple[int, ...]]) -> int:
    base = gx.QUEUE_BASE + gx.QUEUE_STRIDE * index
    kernel.gsp.shared.write(base, head)
    for slot, words in commands.items():
        kernel.gsp.shared.write(base + 0x20 * (1 + slot), struct.pack("<8I", *words, *[0] * (8 - len(words))))
    return base


def test_the_queue_of_thread_three_runs_from_its_index_and_wraps(env):
    kernel, process, _ = env
    dma = lambda n: (0x01000100, BUF, BUF + 0x100 * n, 4)  # noqa: E731
    put(env, BUF, b"ABCD")
    base = write_queue(kernel, 3, bytes([13, 3, 0, 0]), {13: dma(1), 14: dma(2), 0: dma(3), 1: dma(4)})
    assert kernel.gsp.gx.run_queue(kernel.gsp.shared, 3, process) == [gx.DMA] * 3
    assert kernel.gsp.shared.read(base, 4) == bytes([1, 0, 0, 0])
    assert [get(env, BUF + 0x100 * n, 4) for n in range(1, 5)] == [b"ABCD"] * 3 + [b"\0" * 4]


def test_a_command_that_asks_to_stop_the_queue_is_the_last_one_run(env):
    kernel, process, _ = env
    put(env, BUF, b"ABCD")
    base = write_queue(kernel, 0, bytes([0, 2, 0, 0]), {0: (0x00010100, BUF, BUF + 0x100, 4),
                                                      1: (0x01000100, BUF, BUF + 0x200, 4)})
    assert kernel.gsp.gx.run_queue(kernel.gsp.shared, 0, process) == [gx.DMA]
    assert kernel.gsp.shared.read(base, 4) == bytes([1, 1, gx.STATUS_STOPPED, 0])
    assert get(env, BUF + 0x200, 4) == b"\0" * 4


def test_a_stopped_queue_runs_nothing(env):
    kernel, process, _ = env
    base = write_queue(kernel, 2, bytes([0, 1, gx.STATUS_STOPPED, 0]), {0: (0x01000100, BUF, BUF + 0x100, 4)})
    put(env, BUF, b"ABCD")
    assert kernel.gsp.gx.run_queue(kernel.gsp.shared, 2, process) == []
    assert kernel.gsp.shared.read(base, 4) == bytes([0, 1, gx.STATUS_STOPPED, 0])
    assert get(env, BUF + 0x100, 4) == b"\0" * 4
