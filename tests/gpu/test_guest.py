"""The guest program gpu_triangles (hlemu/guest/programs/gpu_triangles.c) on both CPU memory
backends: its own checks pass, its render target equals the reference renderer's picture of
the same scene, and the top screen shows that picture after the DisplayTransfer. Also: the
committed shader header is what scripts/pica_asm.py makes of its source."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.guest import program_path
from kernel.kernel import Kernel
from tests.gpu import reference
from tests.gpu.picalist import REPO, pica_asm
from tests.services.test_gx import ref_decode

TARGET, TW, TH = 0x1F200000, 240, 400
CLEAR = (0x20, 0x40, 0x60, 0xFF)
# gpu_triangles.c's vertices (position xyzw, colour rgba) and its two matrices' effect
VERTICES = np.array([
    (-0.8, -0.9, -0.5, 1.0, 0.8, 0.2, 0.4, 1.0), (0.8, -0.9, -0.5, 1.0, 0.8, 0.2, 0.4, 1.0),
    (0.0, -0.1, -0.5, 1.0, 0.8, 0.2, 0.4, 1.0), (-0.9, 0.1, -0.5, 1.0, 1.0, 0.0, 0.0, 1.0),
    (0.9, 0.2, -0.5, 1.0, 0.0, 1.0, 0.0, 1.0), (0.0, 0.95, -0.5, 1.0, 0.0, 0.0, 1.0, 1.0)], np.float32)
OUTPUT = [
    "gpu_triangles: start", "gsp: gsp::Gpu ready ok", "linear heap: 64 KiB for the list and the vertices ok",
    "clear: MemoryFill of the target, then PSC0 ok", "shader: SHBIN parsed (6 code words, 5 descriptors) ok",
    "list: 656 bytes ok", "draw: ProcessCommandList, then P3D ok", "flat: its colour at (120, 100): cc3366ff ok",
    "clear: the corners keep the clear colour ok", "interpolated: a mixture at (150, 260): 666830ff ok",
    "interpolated: x halved, so (60, 240) is outside it ok",
    "present: DisplayTransfer to the framebuffer, then PPF ok", "present: on the top screen, a VBlank later ok",
    "gpu_triangles: 0 failures"]


def expected_target() -> np.ndarray:
    pos = VERTICES[:, :4].astype(np.float64)
    pos[3:, 0] = 0.5 * pos[3:, 0] + 0.25 * pos[3:, 3]  # the second draw's c0 = (0.5, 0, 0, 0.25)
    return reference.render(pos, VERTICES[:, 4:], [(0, 1, 2), (3, 4, 5)], (0, 0, TW, TH), (TW, TH), CLEAR)


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
def test_gpu_triangles_draws_the_reference_picture(backend):
    lines: list[str] = []
    kernel = Kernel(backend=backend, output=lambda _p, line: lines.append(line))
    try:
        process = kernel.spawn(program_path("gpu_triangles"))
        target: dict[str, np.ndarray] = {}

        def grab(line: str) -> None:
            if line.startswith("present: DisplayTransfer"):
                raw = np.frombuffer(process.space.peek(TARGET, TW * TH * 4), np.uint8)
                target["image"] = ref_decode(reference.untile(raw, TW, TH, 4).reshape(-1), "RGBA8").reshape(TH, TW, 4)

        kernel.output = lambda _p, line: (lines.append(line), grab(line))
        kernel.run(max_instructions=100_000_000)
        assert lines == OUTPUT
        assert process.exit_code == 0
        top = kernel.display.render("top")
    finally:
        kernel.close()
    got, want = target["image"].astype(int), expected_target().astype(int)
    assert np.abs(got - want).max() <= 1 and (got == want).all(axis=2).mean() > 0.99
    # The screen: column x of the top screen is the target's memory row x, bottom row first.
    screen = want[::-1].transpose(1, 0, 2)[::-1, :, :3]  # (240, 400): screen row s is target x = 239 - s
    assert np.abs(top.astype(int) - screen).max() <= 1


def test_the_committed_shader_header_is_the_assemblers_output():
    folder = REPO / "hlemu" / "guest" / "programs"
    program = pica_asm.assemble((folder / "gpu_triangles.pica").read_text())
    assert (folder / "gpu_triangles_shbin.h").read_text() == pica_asm.c_array("gpu_triangles_shbin", program.shbin())


# -- gpu_textured ---------------------------------------------------------------------------------
TEXTURED_OUTPUT = [
    "gpu_textured: start", "gsp: gsp::Gpu ready ok", "linear heap: 64 KiB for the list and the vertices ok",
    "clear: MemoryFill of the target, then PSC0 ok", "shader: SHBIN parsed (5 code words, 1 descriptors) ok",
    "list: 688 bytes ok", "draw: ProcessCommandList, then P3D ok",
    "etc1: block A's first texel at (60, 345): ff028aff ok", "border: around the ETC1 texture ok",
    "repeat: (40, 60) = (136, 60) = (40, 140): 227c4cff ok", "clear: the corners and the gap keep the clear colour ok",
    "present: DisplayTransfer to the framebuffer, then PPF ok", "present: on the top screen, a VBlank later ok",
    "gpu_textured: 0 failures"]
TEX0, TEX1 = 0x1F280000, 0x1F281000


def textured_quads() -> tuple[np.ndarray, np.ndarray]:
    """gpu_textured.c's two strips: (position xyzw, colour rgba, uv) rows."""
    def strip(y0, y1, t0, t1):
        return np.array([(x, y, -0.5, 1.0, 1, 1, 1, 1, s, t) for (y, t) in ((y0, t0), (y1, t1))
                         for (x, s) in ((-0.8, t0), (0.8, t1))], np.float64)

    return strip(-0.9, -0.1, 0.0, 2.0), strip(0.1, 0.9, -0.25, 1.25)


def texture0_bytes() -> bytes:
    """gpu_textured.c's 32x32 RGBA4 texture, built here from its description."""
    words = np.zeros(32 * 32, "<u2")
    for y in range(32):  # from the top
        for x in range(32):
            b = 15 if ((x >> 2) ^ (y >> 2)) & 1 else 0
            m = sum(((x >> k) & 1) << (2 * k) | ((y >> k) & 1) << (2 * k + 1) for k in range(3))
            words[((y // 8) * 4 + x // 8) * 64 + m] = (x >> 1) << 12 | (y >> 1) << 8 | b << 4 | 15
    return words.tobytes()


def expected_textured(etc1: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The reference picture of the target, and which pixels quad 1 (linear filtering) covers."""
    a, b = textured_quads()
    strip = ((0, 1, 2), (2, 1, 3))
    tex0 = reference.Texture(reference.decode_texture(np.frombuffer(texture0_bytes(), np.uint8), 32, 32, 4),
                             wrap_s=2, wrap_t=2, mag=1, min=1)
    tex1 = reference.Texture(reference.decode_texture(np.frombuffer(etc1, np.uint8), 8, 8, 12), wrap_s=1, wrap_t=1,
                             border=(0x10, 0xE0, 0x30, 0xFF))
    picture = reference.render(a[:, :4], a[:, 4:8], strip, (0, 0, TW, TH), (TW, TH), CLEAR, a[:, 8:], tex0)
    second = reference.render(b[:, :4], b[:, 4:8], strip, (0, 0, TW, TH), (TW, TH), CLEAR, b[:, 8:], tex1)

    def covered(v):
        flat = reference.render(v[:, :4], np.zeros((4, 4)), strip, (0, 0, TW, TH), (TW, TH), (1, 1, 1, 1))
        return (flat != 1).any(axis=2)

    picture[covered(b)] = second[covered(b)]
    return picture, covered(a)


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
def test_gpu_textured_draws_the_reference_picture(backend):
    from tests.gpu.test_texture import close

    lines: list[str] = []
    kernel = Kernel(backend=backend, output=lambda _p, line: lines.append(line))
    try:
        process = kernel.spawn(program_path("gpu_textured"))
        grabbed: dict[str, np.ndarray] = {}

        def grab(line: str) -> None:
            if line.startswith("present: DisplayTransfer"):
                raw = np.frombuffer(process.space.peek(TARGET, TW * TH * 4), np.uint8)
                grabbed["image"] = ref_decode(reference.untile(raw, TW, TH, 4).reshape(-1), "RGBA8").reshape(TH, TW, 4)
                grabbed["tex0"] = np.frombuffer(process.space.peek(TEX0, 32 * 32 * 2), np.uint8)
                grabbed["tex1"] = np.frombuffer(process.space.peek(TEX1, 32), np.uint8)

        kernel.output = lambda _p, line: (lines.append(line), grab(line))
        kernel.run(max_instructions=100_000_000)
        assert lines == TEXTURED_OUTPUT
        assert process.exit_code == 0
        record = kernel.gsp.gx.pica.lists[-1]
        assert [d.textures for d in record.draws] == [
            [f"texture 0: 32x32 RGBA4 at {0x18280000:#010x}, wrap repeat/repeat, linear/linear"],
            [f"texture 1: 8x8 ETC1 at {0x18281000:#010x}, wrap clamp to border/clamp to border, nearest/nearest"]]
    finally:
        kernel.close()
    assert grabbed["tex0"].tobytes() == texture0_bytes()  # the program wrote the texture it describes
    want, linear = expected_textured(grabbed["tex1"].tobytes())
    got = grabbed["image"]
    assert (got[~linear] == want[~linear]).all()  # the ETC1 quad, its border and the clear: exact
    # the linearly filtered quad: within one 8-bit step; its checker's 0 and 255 mixed 0.7 to
    # 0.3 (every tenth row) give 178.5, which rounds either way (a tenth of the pixels)
    assert close(got[linear], want[linear], equal=0.85)


def test_the_committed_textured_shader_header_is_the_assemblers_output():
    folder = REPO / "hlemu" / "guest" / "programs"
    program = pica_asm.assemble((folder / "gpu_textured.pica").read_text())
    assert (folder / "gpu_textured_shbin.h").read_text() == pica_asm.c_array("gpu_textured_shbin", program.shbin())


# -- gpu_lit ---------------------------------------------------------------------------------------
LIT_OUTPUT_END = ["clear: the corners keep the clear colour ok", "highlight: the brightest pixel sums 765 ok",
                  "present: DisplayTransfer to the framebuffer, then PPF ok",
                  "present: on the top screen, a VBlank later ok", "gpu_lit: 0 failures"]


def lit_registers() -> dict[int, int]:
    """gpu_lit.c's light environment, from its description (two lights, layer config 0 with
    clamped highlights, only D0, on N.H, absolute; no spot or distance attenuation)."""
    from tests.gpu.test_lighting import color10, f16

    regs = {0x08F: 1, 0x1C6: 0, 0x1C0: color10(12, 10, 24), 0x1C2: 1, 0x1C3: 1 << 27,
            0x1C4: 0xFFFFFFFF & ~(1 << 16), 0x1D0: 0, 0x1D1: 0, 0x1D2: 0, 0x1D9: 0 | 1 << 4}
    lights = [(color10(255, 250, 230), color10(210, 130, 60), color10(20, 10, 5), (-1.0, 1.5, 1.0), 0),
              (color10(90, 100, 140), color10(40, 60, 170), 0, (0.8, -0.3, 0.5), 1)]
    for num, (spec0, diffuse, ambient, (x, y, z), directional) in enumerate(lights):
        base = 0x140 + 16 * num
        regs.update({base: spec0, base + 1: 0, base + 2: diffuse, base + 3: ambient, base + 4: f16(x) | f16(y) << 16,
                     base + 5: f16(z), base + 9: directional})
    return regs


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
def test_gpu_lit_draws_the_reference_lighting(backend):
    from tests.gpu.reference_lighting import Lighting
    from tests.gpu.test_lighting import close

    lines: list[str] = []
    kernel = Kernel(backend=backend, output=lambda _p, line: lines.append(line))
    try:
        process = kernel.spawn(program_path("gpu_lit"))
        grabbed: dict[str, np.ndarray] = {}

        def grab(line: str) -> None:
            if line.startswith("present: DisplayTransfer"):
                raw = np.frombuffer(process.space.peek(TARGET, TW * TH * 4), np.uint8)
                grabbed["image"] = ref_decode(reference.untile(raw, TW, TH, 4).reshape(-1), "RGBA8").reshape(TH, TW, 4)
                heap = kernel.gsp.gx.pica.lists[-1].address  # the list opens the 64 KiB of linear heap
                grabbed["vbo"] = np.frombuffer(process.space.peek(heap + 0x8000, 18 * 48), "<f4").reshape(18, 12)
                grabbed["lut"] = np.frombuffer(process.space.peek(heap + 0x9000, 256 * 4), "<u4")

        kernel.output = lambda _p, line: (lines.append(line), grab(line))
        kernel.run(max_instructions=100_000_000)
        assert lines[0] == "gpu_lit: start" and lines[-5:] == LIT_OUTPUT_END and process.exit_code == 0
    finally:
        kernel.close()
    v = grabbed["vbo"].astype(np.float64)
    ring = np.linalg.norm(v[1:, :2], axis=1)
    assert np.allclose(ring, 0.85, atol=1e-6) and np.allclose(np.linalg.norm(v[:, 4:8], axis=1), 1, atol=1e-6)
    luts = np.zeros((24, 256), np.int64)
    luts[0] = grabbed["lut"]
    assert luts[0, 255] & 0xFFF > 3500 and luts[0, 128] & 0xFFF == 0  # (k/256)^16: 0 by the middle
    shade = Lighting(lit_registers(), luts)

    def added(quats, views):  # TexEnv: colour primary + secondary (saturating), alpha primary's
        primary, secondary = shade(quats, views)
        out = np.minimum(primary.astype(int) + secondary.astype(int), 255)
        out[:, 3] = primary[:, 3]
        return (out,)

    fan = [(0, k, k + 1) for k in range(1, 17)]
    want = reference.render(v[:, :4], np.ones((18, 4)), fan, (0, 0, TW, TH), (TW, TH), CLEAR,
                            lighting=(v[:, 4:8], v[:, 8:11], added, 0)).astype(int)
    close(grabbed["image"].astype(int), want, variety=500)


def test_the_committed_lit_shader_header_is_the_assemblers_output():
    folder = REPO / "hlemu" / "guest" / "programs"
    program = pica_asm.assemble((folder / "gpu_lit.pica").read_text())
    assert (folder / "gpu_lit_shbin.h").read_text() == pica_asm.c_array("gpu_lit_shbin", program.shbin())
