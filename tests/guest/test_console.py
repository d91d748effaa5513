"""The console program (console.3dsx): its text on the bottom screen, cell by cell, drawn with
the same font table the guest was built with; its output; START and the idle exit."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from hlemu.guest import BIN_DIR
from hlemu.run import _replay_input, parse_input_script
from kernel.kernel import Kernel

REPO = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).parent / "snapshots"
CONSOLE = BIN_DIR / "console.3dsx"
CELL = 8


def font() -> list[list[int]]:
    spec = importlib.util.spec_from_file_location("gen_font", REPO / "scripts" / "gen_font.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.read_table()


def rgb565_to_rgb(r: int, g: int, b: int) -> tuple[int, int, int]:
    """What the display shows for an RGB8 colour the guest stored as RGB565."""
    r5, g6, b5 = r >> 3, g >> 2, b >> 3
    return (r5 << 3 | r5 >> 2, g6 << 2 | g6 >> 4, b5 << 3 | b5 >> 2)


def palette(index: int) -> tuple[int, int, int]:
    """sdk/console.c's 16 colours: channel 0xAA for the normal 8, 0x55/0xFF for the bright."""
    on, off = (0xFF, 0x55) if index >= 8 else (0xAA, 0)
    bits = index & 7
    if index == 8:
        return rgb565_to_rgb(0x55, 0x55, 0x55)
    return rgb565_to_rgb(*(on if bits >> k & 1 else off for k in range(3)))


def cells(text: str, fg: int, bg: int, glyphs) -> np.ndarray:
    """The pixels `text` makes in a row of cells: (8, 8 * len(text), 3)."""
    out = np.empty((CELL, CELL * len(text), 3), dtype=np.uint8)
    for i, char in enumerate(text):
        for row, bits in enumerate(glyphs[ord(char)]):
            for x in range(CELL):
                out[row, CELL * i + x] = palette(fg) if bits >> (7 - x) & 1 else palette(bg)
    return out


def region(screen: np.ndarray, row: int, column: int, length: int) -> np.ndarray:
    """Cells column..column+length-1 of row `row` (both 1-based, as ESC[y;xH counts)."""
    y, x = (row - 1) * CELL, (column - 1) * CELL
    return screen[y : y + CELL, x : x + CELL * length]


@pytest.fixture(scope="module")
def screen_at_frame_90(tmp_path_factory) -> np.ndarray:
    sdmc = tmp_path_factory.mktemp("sdmc")  # where a launcher's SD card holds the 3DSX
    kernel = Kernel(backend="semifastmem", output=lambda _p, _line: None, sdmc_root=sdmc)
    try:
        kernel.spawn(CONSOLE)
        kernel.run(max_instructions=50_000_000, until=lambda: kernel.display.frame >= 90)
        return kernel.display.render("bottom")
    finally:
        kernel.close()


@pytest.mark.parametrize(("row", "column", "text", "fg", "bg"), [
    (1, 1, " hlemu console".ljust(40), 0, 7),  # black on white, across the screen
    (3, 1, "Hello from hlemu's console!", 10, 0),  # bright green
    (4, 1, "8x8 cells, 40x30 on the bottom screen,", 7, 0),
    (10, 1, "frame   ", 7, 0),
    (10, 9, "89", 14, 0),  # the VBlanks waited when frame 90 began: bright cyan
    (11, 1, "held    - ", 7, 0),
    (12, 1, "circle  +0,+0 ", 7, 0),
    (28, 1, "Press START to exit.", 11, 0),  # bright yellow
    (29, 1, "idle: exits in 9 s ", 7, 0),
], ids=lambda v: v if isinstance(v, str) else None)
def test_the_screen_holds_the_text_in_the_console_font(screen_at_frame_90, row, column, text, fg, bg):
    expected = cells(text, fg, bg, font())
    got = region(screen_at_frame_90, row, column, len(text))
    assert np.array_equal(got, expected), f"row {row}: differs in {np.count_nonzero((got != expected).any(-1))} px"


def test_the_colour_rows_show_the_palette(screen_at_frame_90):
    for row, first in ((7, 0), (8, 8)):
        for i in range(8):
            block = region(screen_at_frame_90, row, 9 + 2 * i, 2)
            assert (block == palette(first + i)).all(), f"row {row} colour {first + i}"


def run_console(sdmc: Path, script: str = "") -> tuple[list[str], str, int]:
    kernel = Kernel(backend="semifastmem", output=lambda _p, _line: None, sdmc_root=sdmc)
    try:
        process = kernel.spawn(CONSOLE)
        if script:
            _replay_input(kernel, parse_input_script(script))
        result = kernel.run(max_instructions=100_000_000)
        assert result.reason == "all exited"
        return process.output, process.status, result.instructions
    finally:
        kernel.close()


def test_without_input_it_ends_by_itself_as_its_snapshot_says(snapshots, tmp_path):
    output, status, instructions = run_console(tmp_path)
    assert output[-1] == "console: 600 frames without input, done" and status == "exited (0)"
    snapshots.json(SNAPSHOTS / "console.json", {"output": output, "status": status, "instructions": instructions})


def test_keys_are_reported_and_start_ends_it(tmp_path):
    output, status, _ = run_console(tmp_path, "10 A\n12 A+UP\n20 none\n30 CPAD=0,100\n31 none\n40 START")
    assert status == "exited (0)"
    assert output[4:] == ["console: frame 9, pressed A", "console: frame 11, pressed UP",
                          "console: frame 29, pressed C-UP", "console: frame 39, pressed START",
                          "console: START pressed at frame 39"]
