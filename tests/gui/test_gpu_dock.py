"""The GPU dock (issue 17), offscreen, on gpu_triangles and gpu_textured: the decoded lists,
the draws table, the textures as pictures, the shader's disassembly and the counts, each
against what emu.gpu and the programs' sources say; and the empty state with no GPU work."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QImage

from gui.gpu_state import draw_marks
from gui.models.gpu import CommandModel, DrawModel
from gui.views.gpu_dock import EMPTY, WAITING, scale_for
from hlemu.gpu import Pica
from hlemu.gpu import regs as R
from tests.gpu.picalist import CommandBuilder
from tests.gpu.test_gpu_api import source_lines

DISPLAY = Qt.ItemDataRole.DisplayRole
SCREENSHOT = Path("/tmp/gpudock.png")


def shown(model, row: int, column: int) -> str:
    return model.index(row, column).data(DISPLAY)


def pixels(image: QImage) -> np.ndarray:
    """A QImage's pixels as (height, width, 4) RGBA."""
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    rows = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 4 * image.width()].reshape(image.height(), image.width(), 4).copy()


def sampled_dock(driver):
    """Show the GPU dock, let the guests run to their end, wait for its sample."""
    dock = driver.window.gpu_dock
    dock.show()
    dock.raise_()
    driver.call(lambda emu: emu.run().reason)
    driver.qtbot.waitUntil(lambda: dock.sample is not None and not dock.sample.empty, timeout=60_000)
    return dock


def test_gpu_dock_on_gpu_triangles_shows_lists_draws_shader_and_counts(gui_programs, shots_dir):
    driver = gui_programs(["gpu_triangles"])
    dock = sampled_dock(driver)
    lines, draws, shader, counts, totals = driver.call(lambda emu: (
        emu.gpu.lines(), emu.gpu.draws(), emu.gpu.shader(), emu.gpu.frame_counts(), emu.gpu.counts))
    # The lists: one row a command, as emu.gpu.lines() decodes them; the two draws marked.
    commands = dock.command_model
    assert commands.rowCount() == len(lines)
    for row, line in enumerate(lines):
        offset, text = line.split("  ", 1)
        assert shown(commands, row, CommandModel.OFFSET) == offset
        assert text.startswith(shown(commands, row, CommandModel.REGISTER))
        assert text.endswith(shown(commands, row, CommandModel.VALUES))
    marked = [r for r in range(commands.rowCount()) if shown(commands, r, CommandModel.DRAW)]
    assert [shown(commands, r, CommandModel.REGISTER) for r in marked] == ["DRAWARRAYS", "DRAWARRAYS"]
    assert shown(commands, marked[0], CommandModel.DRAW) == "draw 0: arrays, 3 vertices, 1 triangles"
    assert commands.index(marked[0], 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    dock.filter.setText("DRAWARRAYS")
    assert dock.command_proxy.rowCount() == 2
    # Double-clicking draw 1 in the Draws tab selects its DRAWARRAYS in the lists (filter cleared).
    dock.tabs.setCurrentIndex(1)
    dock._draw_clicked(dock.draw_proxy.index(1, 0))
    assert dock.tabs.currentIndex() == 0 and dock.filter.text() == ""
    (selected,) = dock.commands.selectionModel().selectedRows()
    assert dock.command_proxy.mapToSource(selected).row() == marked[1]
    # The draws table.
    model = dock.draw_model
    assert model.rowCount() == len(draws) == 2
    for row, d in enumerate(draws):
        assert shown(model, row, DrawModel.KIND) == d.kind == "arrays"
        assert shown(model, row, DrawModel.VERTICES) == str(d.vertices) == "3"
        assert shown(model, row, DrawModel.TRIANGLES) == "1"
        assert shown(model, row, DrawModel.PIXELS) == f"{d.pixels:,}"
        assert shown(model, row, DrawModel.TARGET) == f"240x400 RGBA8 at {d.color_buffer:#010x}"
        assert shown(model, row, DrawModel.TEXTURES) == "none"
    # The shader: what emu.gpu disassembles, which is the program's source.
    text = dock.shader.toPlainText().splitlines()
    assert text == shader
    assert [line.split("  ", 2)[2].removesuffix("  ; main") for line in text] == source_lines("gpu_triangles")
    assert text[0] == "0x000  08020000  dp4 o0.x, c0, v0  ; main"
    # The counts.
    summary = dock.summary.text()
    assert counts["lists"] == 1 and totals["lists"] >= 1
    assert summary.startswith(f"frame {counts['frame']:,}: 1 list, 2 draws, 2 triangles, "
                              f"{counts['pixels']:,} pixels  |  since the start: {totals['lists']:,} list")
    assert f"{totals['draws']:,} draws, {totals['triangles']:,} triangles, {totals['pixels']:,} pixels" in summary
    assert not dock.texture_note.isHidden() and dock.images == []
    dock.resize(900, 520)
    for i, name in enumerate(("lists", "draws", "textures", "shader")):
        dock.tabs.setCurrentIndex(i)
        assert dock.grab().save(str(shots_dir / f"dock_gpu_triangles_{name}.png"))


def test_gpu_dock_shows_gpu_textureds_textures_as_pictures(gui_programs, shots_dir):
    driver = gui_programs(["gpu_textured"])
    dock = sampled_dock(driver)
    textures = driver.call(lambda emu: [emu.gpu.textures(0)[0], emu.gpu.textures(1)[0]])
    assert [(t.unit, t.format) for t in textures] == [(0, "RGBA4"), (1, "ETC1")]
    assert len(dock.images) == 2
    for t, image, (picture, caption) in zip(textures, dock.images, dock.texture_labels, strict=True):
        assert (pixels(image) == t.rgba).all()  # the dock's picture is the texture, texel for texel
        f = scale_for(t.width, t.height)
        scaled = pixels(picture.pixmap().toImage())
        assert scaled.shape == (t.height * f, t.width * f, 4)
        assert (scaled[::f, ::f] == t.rgba).all() and (scaled[f - 1 :: f, f - 1 :: f] == t.rgba).all()  # nearest
        assert caption.text().startswith(f"unit {t.unit}: {t.width}x{t.height} {t.format}\nat {t.address:#010x}")
    assert dock.texture_labels[0][1].text().endswith("draws 0")
    assert dock.texture_labels[1][1].text().endswith("draws 1")
    model = dock.draw_model
    assert [shown(model, r, DrawModel.TEXTURES) for r in range(model.rowCount())] == ["0: 32x32 RGBA4", "1: 8x8 ETC1"]
    text = dock.shader.toPlainText().splitlines()
    assert [line.split("  ", 2)[2].removesuffix("  ; main") for line in text] == source_lines("gpu_textured")
    assert "2 draws, 4 triangles" in dock.summary.text()
    dock.resize(900, 520)
    dock.tabs.setCurrentIndex(2)
    assert dock.grab().save(str(SCREENSHOT))
    assert dock.grab().save(str(shots_dir / "dock_gpu_textured_textures.png"))


def test_gpu_dock_without_gpu_work_says_so(gui_programs):
    driver = gui_programs(["hello"])
    dock = driver.window.gpu_dock
    assert dock.summary.text() == WAITING  # nothing asked yet
    menus = {a.text().replace("&", ""): a.menu() for a in driver.window.menuBar().actions()}
    assert dock.toggleViewAction() in menus["Debug"].actions() and dock.toggleViewAction().text() == "GPU"
    dock.show()
    dock.raise_()
    driver.call(lambda emu: emu.run().reason)
    dock.refresh()
    driver.qtbot.waitUntil(lambda: dock.sample is not None, timeout=60_000)
    assert dock.sample.empty
    assert dock.summary.text() == EMPTY and dock.summary.text().startswith("no command lists yet")
    assert dock.command_model.rowCount() == 0 and dock.draw_model.rowCount() == 0
    assert dock.images == [] and dock.shader.toPlainText() == ""
    # While the guests run the dock asks nothing (only Refresh does).
    snap = dataclasses.replace(driver.window.snapshot, running=True)
    assert dock.sample_key(snap) is None


def test_draw_marks_name_the_command_of_each_draw_immediate_mode_too():
    """Immediate mode draws at the next write to another register (or the list's end): the
    last FIXEDATTRIB_DATA command before it is marked. Run without memory, the draws fail
    (reported) but are recorded, which is all the marks need."""
    one = (0x3F0000, 0, 0)  # a float24 vertex attribute's three words
    b = CommandBuilder().write(R.FIXEDATTRIB_INDEX, 0xF).write(R.FIXEDATTRIB_DATA[0], *one * 3)  # command 1
    b.write(R.NUMVERTICES, 3).write(R.DRAWARRAYS, 1)  # commands 2, 3: the batch drawn at 2, then arrays
    b.write(R.FIXEDATTRIB_INDEX, 0xF)
    for _ in range(3):
        b.write(R.FIXEDATTRIB_DATA[0], *one)  # commands 5-7: drawn at the end of the list
    record = Pica().run_words(b.words)
    assert [d.kind for d in record.draws] == ["immediate", "arrays", "immediate"]
    assert draw_marks(record) == {1: 0, 3: 1, 7: 2}
