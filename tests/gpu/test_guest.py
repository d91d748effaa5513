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
    (-0.8, -0.9, 0.5, 1.0, 0.8, 0.2, 0.4, 1.0), (0.8, -0.9, 0.5, 1.0, 0.8, 0.2, 0.4, 1.0),
    (0.0, -0.1, 0.5, 1.0, 0.8, 0.2, 0.4, 1.0), (-0.9, 0.1, 0.5, 1.0, 1.0, 0.0, 0.0, 1.0),
    (0.9, 0.2, 0.5, 1.0, 0.0, 1.0, 0.0, 1.0), (0.0, 0.95, 0.5, 1.0, 0.0, 0.0, 1.0, 1.0)], np.float32)
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
