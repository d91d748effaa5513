"""APT GetSharedFont and the bundled programs system_font and gpu_font (hlemu/guest/programs/)
on both CPU memory backends: their output, the memory block behind the handle, and the top
screen, which must equal the same two lines drawn here in Python from the font's bytes (the
tests' own BCFNT parser and the reference A4 decoder, tests/font/test_bcfnt.py): system_font
draws them with the CPU, gpu_font with the GPU from the sheets as A4 textures."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from hlemu.font import bcfnt
from hlemu.guest import program_path
from kernel.kernel import Kernel
from tests.font.test_bcfnt import cell, glyph_index, parse, sheets

ADDRESS = 0x18000000  # SYSTEM + 0 in the linear heap's view (3dbrew "System Font")
BLOCK_SIZE = 0x332000
OUTPUT = [
    "system_font: start",
    "srvInit, aptInit ok",
    "GetSharedFont: 0x00000000, address 0x18000000 ok",
    "GetSharedFont again: the same address, another handle ok",
    # libctru's MapMemoryBlock(handle, 0, ...): the block at its place in the linear heap's view
    "fontEnsureMapped (MapMemoryBlock at address 0): 0x00000000",
    "header: status 2, region 1, font size 66564 ok",
    "font: CFNU, then FINF ok",
    "font: ready ok",
    "the second handle at 0x10800000: the same bytes ok",
    "map again at 0x10800000: 0xe0a01bf5 ok",
    "map over the code: 0xe0e01bf5 ok",
    "map read-write: 0xe0e01bee ok",
    "cmap: 'A' glyph 33, e acute 168, euro 196 ok",
    "cmap: U+4E00 is the replacement glyph 197 ok",
    "cwdh: 'A' left 0, width 14, advance 14",
    "tglp: 2 sheets of 256x256, format 0xb, cells 21x24, baseline 19",
    "gsp: gsp::Gpu ready ok",
    "draw: 31 glyphs on the top screen, a VBlank later ok",
    "system_font: 0 failures",
]
LINES = [("Hello, 3DS font", 60, (0xFF, 0xFF, 0xFF)), ("Grüße, ½ € … ÿ 一", None, (0xFF, 0xE0, 0x40))]
BACKGROUND = (0x20, 0x30, 0x50)


def run(backend: str, program: str = "system_font") -> tuple[list[str], Kernel, object, np.ndarray]:
    lines: list[str] = []
    kernel = Kernel(backend=backend, output=lambda _p, line: lines.append(line))
    process = kernel.spawn(program_path(program))
    kernel.run(max_instructions=200_000_000)
    return lines, kernel, process, kernel.display.render("top")


@pytest.fixture(scope="module", params=["fastmem", "semifastmem"])
def ran(request):
    lines, kernel, process, top = run(request.param)
    yield lines, kernel, process, top
    kernel.close()


def expected_screen(data: bytes, base: int) -> np.ndarray:
    """The program's two lines, drawn from the font as libctru's fontCalcGlyphPos places glyphs,
    each texel's 4-bit alpha blending the colour over what is under it."""
    p = parse(data, base)
    pictures = sheets(data, p, base)
    t = p.tglp
    screen = np.zeros((240, 400, 3), np.int64)
    screen[:] = BACKGROUND
    baseline = 60
    for text, given, colour in LINES:
        baseline = given if given is not None else baseline + p.finf["line_feed"] + 8
        pen = 20
        for char in text:
            index = glyph_index(p, ord(char))
            left, width, advance = p.widths[index]
            alpha = cell(p, pictures, index)[:, :width].astype(np.int64) // 17
            x0, y0 = pen + left, baseline - t["baseline"]
            for y, x in zip(*np.nonzero(alpha), strict=True):
                a = alpha[y, x]
                under = screen[y0 + y, x0 + x]
                screen[y0 + y, x0 + x] = (under * (15 - a) + np.array(colour) * a) // 15
            pen += advance
    return screen.astype(np.uint8)


def test_the_program_passes_its_checks(ran):
    lines, _kernel, process, _top = ran
    assert lines == OUTPUT
    assert process.exit_code == 0


def test_the_block_holds_the_header_and_the_relocated_font(ran):
    _lines, kernel, _process, _top = ran
    font = kernel.apt.shared_font
    assert font is not None and font.address == ADDRESS and font.block.size == BLOCK_SIZE
    data = bcfnt.system_font().relocated(ADDRESS + 0x80)
    status, region, size = struct.unpack("<III", font.block.read(0, 12))
    assert (status, region, size) == (2, 1, len(data))
    assert font.block.read(12, 0x74) == bytes(0x74)
    assert font.block.read(0x80, size) == data
    # physically SYSTEM + 0, as NS places it
    assert kernel.memory.phys.frame_to_phys(int(font.block.frames[0])) == 0x24000000
    assert (np.diff(font.block.frames) == 1).all()


def test_the_screen_is_the_font_drawn_in_python(ran):
    _lines, kernel, _process, top = ran
    data = kernel.apt.shared_font.block.read(0x80, len(bcfnt.system_font().data))
    want = expected_screen(data, ADDRESS + 0x80)
    assert top.shape == want.shape
    assert (top == want).all()
    assert (top != BACKGROUND).any(axis=2).sum() > 1000  # the text is there at all


def test_libctru_maps_the_font_where_the_kernel_placed_it(ran):
    lines, *_ = ran
    assert "fontEnsureMapped (MapMemoryBlock at address 0): 0x00000000" in lines


def test_without_dejavu_the_program_is_told_which_package_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(bcfnt, "FONT_FILE", tmp_path / "DejaVuSans.ttf")
    bcfnt.system_font.cache_clear()
    try:
        lines, kernel, process, _top = run("semifastmem")
        kernel.close()
    finally:
        bcfnt.system_font.cache_clear()
    assert any("fonts-dejavu-core" in line and "GetSharedFont" in line for line in lines), lines
    assert "GetSharedFont: 0xffffffff, address 0x00000000 FAILED" in lines
    assert process.exit_code == 1


# -- gpu_font ------------------------------------------------------------------------------------
GPU_OUTPUT = [
    "gpu_font: start", "srvInit, aptInit ok", "GetSharedFont: address 0x18000000 ok",
    "fontEnsureMapped (MapMemoryBlock at address 0): 0x00000000", "font: ready, A4 sheets ok",
    "gsp: gsp::Gpu ready ok", "linear heap: 64 KiB for the list and the vertices ok",
    "clear: MemoryFill of the target, then PSC0 ok", "list: 24 glyph quads, 1968 bytes ok",
    "draw: ProcessCommandList, then P3D ok", "present: DisplayTransfer to the framebuffer, then PPF ok",
    "present: on the top screen, a VBlank later ok", "gpu_font: 0 failures",
]
SHEETS = (0x24000100, 0x24008100)  # physical: SYSTEM + 0x80 (header) + 0x80 (the font's sheet offset)


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
def test_the_gpu_draws_the_same_text_from_the_sheets_in_place(backend):
    lines, kernel, process, top = run(backend, "gpu_font")
    try:
        from kernel.api.gpu import GpuView

        draws = GpuView(kernel).draws()
        textures = [GpuView(kernel).textures(draw=i)[0] for i in range(len(draws))]
        data = kernel.apt.shared_font.block.read(0x80, len(bcfnt.system_font().data))
    finally:
        kernel.close()
    assert lines == GPU_OUTPUT
    assert process.exit_code == 0
    assert len(draws) == 24  # a quad a glyph with ink (the 7 spaces have none)
    assert {(t.address, t.format, t.width, t.height) for t in textures} == {(a, "A4", 256, 256) for a in SHEETS}
    # 8-bit alpha blending of the 4-bit levels (x 17) lands on the CPU's (x / 15) exactly
    assert (top == expected_screen(data, ADDRESS + 0x80)).all()


def test_a_save_state_keeps_the_font_block_and_its_mappings():
    import io

    from kernel import state

    lines: list[str] = []
    kernel = Kernel(backend="fastmem", output=lambda _p, line: lines.append(line))
    try:
        kernel.spawn(program_path("system_font"))
        kernel.run(max_instructions=300_000)  # past the mappings and the lookups, before the drawing
        assert "cwdh: 'A' left 0, width 14, advance 14" in lines and OUTPUT[-1] not in lines
        saved = io.BytesIO()
        state.save(kernel, saved)
    finally:
        kernel.close()
    rest: list[str] = []
    restored = Kernel(backend="fastmem", output=lambda _p, line: rest.append(line))
    try:
        state.load(saved.getvalue(), restored)
        font = restored.apt.shared_font
        assert font is not None and font.address == ADDRESS
        assert font.block.read(0x80, 4) == b"CFNU"
        restored.run(max_instructions=200_000_000)
        assert lines + rest == OUTPUT
    finally:
        restored.close()
