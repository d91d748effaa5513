"""Every framebuffer format on both screens: the guest program ``fbformats`` against a reference.

``fbformats`` draws one pattern (described in its source, hlemu/guest/programs/fbformats.c)
in each GSP framebuffer format, first on the top screen (400x240) then on the bottom one
(320x240), presenting each with SetBufferSwap. The screen the display shows at each step is
compared with the pattern computed here: channels narrowed to the format by dropping low
bits, then widened back by bit replication as the display reads them (Citra ``color.h``;
3dbrew "GPU/External Registers" for the pixel layouts). Both screens of each format are
also compared with a reviewed PNG under reference/ (``--update-snapshots`` rewrites them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PilImage

from hlemu.guest import program_path
from kernel.kernel import Kernel

HERE = Path(__file__).parent
FORMATS = ["RGBA8", "BGR8", "RGB565", "RGB5A1", "RGBA4"]
BITS = {"RGBA8": (8, 8, 8), "BGR8": (8, 8, 8), "RGB565": (5, 6, 5), "RGB5A1": (5, 5, 5), "RGBA4": (4, 4, 4)}


def pattern(width: int) -> np.ndarray:
    """fbformats' picture, (240, width, 3) RGB: red grows to the right, green downwards,
    blue in 16-pixel checks, a white 16x16 square at the top left."""
    x = np.arange(width)[None, :].repeat(240, 0)
    y = np.arange(240)[:, None].repeat(width, 1)
    image = np.stack([x * 255 // (width - 1), y * 255 // 239, np.where((x // 16 + y // 16) & 1, 0xC0, 0x30)], -1)
    image[:16, :16] = 0xFF
    return image


def through(image: np.ndarray, fmt: str) -> np.ndarray:
    """What the screen shows of ``image`` stored in ``fmt``: each channel cut to its bits,
    then widened by repeating its high bits."""
    out = np.empty_like(image)
    for c, bits in enumerate(BITS[fmt]):
        v = image[..., c] >> (8 - bits)
        widened = v
        filled = bits
        while filled < 8:  # replicate: v << 3 | v >> 2 for 5 bits, v * 17 for 4 ...
            widened = widened << bits | v
            filled += bits
        out[..., c] = widened >> (filled - 8)
    return out.astype(np.uint8)


def png_pixels(path: Path) -> np.ndarray:
    return np.asarray(PilImage.open(path).convert("RGB"))


def run_fbformats(backend: str, tmp_path: Path) -> tuple[dict[str, np.ndarray], list[str], object]:
    """Run fbformats; the screen shown at each step (by "top RGBA8"...) and a composite of both
    screens after each format's bottom step (by format), and the output."""
    shots: dict[str, np.ndarray] = {}
    lines: list[str] = []
    kernel = Kernel(backend=backend, output=lambda _p, line: on_line(line))

    def on_line(line: str) -> None:
        lines.append(line)
        words = line.split()
        if len(words) == 5 and words[3] == "shown":  # "fbformats: top RGBA8 shown ok"
            rgb = shots[f"{words[1]} {words[2]}"] = kernel.display.render(words[1])
            # the window's copy of the same columns, as Qt's RGB32 words 0xffRRGGBB
            words32 = kernel.display.render_columns_rgb32(words[1], 0, rgb.shape[1]).astype(np.int64)
            packed = 0xFF000000 | rgb[..., 0].astype(np.int64) << 16 | rgb[..., 1].astype(np.int64) << 8 | rgb[..., 2]
            assert words32.shape == rgb.shape[:2] and np.array_equal(words32, packed), f"{words[1]} {words[2]}"
            if words[1] == "bottom":
                kernel.display.screenshot(str(tmp_path / f"fbformats_{words[2]}.png"))

    try:
        process = kernel.spawn(program_path("fbformats"))
        kernel.run(max_instructions=200_000_000)
        return shots, lines, process
    finally:
        kernel.close()


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
def test_every_format_on_both_screens_matches_the_reference(backend, tmp_path, snapshots):
    shots, lines, process = run_fbformats(backend, tmp_path)
    assert lines == ["fbformats: start", "gsp: gsp::Gpu ready ok",
                     *[f"fbformats: {screen} {fmt} shown ok" for fmt in FORMATS for screen in ("top", "bottom")],
                     "fbformats: 0 failures"]
    assert process.exit_code == 0
    for key, got in shots.items():
        screen, fmt = key.split()
        want = through(pattern(400 if screen == "top" else 320), fmt)
        bad = np.argwhere((got != want).any(axis=2))
        assert not len(bad), f"{key}: {len(bad)} pixels differ, first (y, x) {bad[0].tolist()}: " \
                             f"{got[tuple(bad[0])]} vs {want[tuple(bad[0])]}"
    for fmt in FORMATS:
        shot = tmp_path / f"fbformats_{fmt}.png"
        snapshots.file(HERE / "reference" / f"fbformats_{fmt}.png", shot,
                       lambda got, want: np.array_equal(png_pixels(got), png_pixels(want)))


def test_the_reference_widening_is_the_documented_one():
    """through() agrees with Citra's Convert5To8 / Convert6To8 / Convert4To8 on every value."""
    image = np.zeros((1, 256, 3), np.int64)
    image[0, :, 0] = image[0, :, 1] = image[0, :, 2] = np.arange(256)
    for fmt, widen in (("RGB565", [lambda v: v << 3 | v >> 2, lambda v: v << 2 | v >> 4]),
                       ("RGBA4", [lambda v: v << 4 | v] * 2)):
        got = through(image, fmt)[0]
        v = np.arange(256)
        assert (got[:, 0] == widen[0](v >> (8 - BITS[fmt][0]))).all()
        assert (got[:, 1] == widen[1](v >> (8 - BITS[fmt][1]))).all()
