"""Homebrew in the window: a 3DSX's SMDH title in the title bar, its icon as the window's and in
the process list; File > Open taking .3dsx and .elf; HOME and POWER reaching APT; --sdmc and --cfg
reaching the emulator the window builds."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QIcon

from gui.models import ProcessModel
from gui.window import PROGRAM_FILTER
from hlemu.guest import program_path
from hlemu.loaders.smdh import build_smdh
from hlemu.loaders.threedsx_writer import elf_to_3dsx
from kernel.services.apt import Signal
from tests.gui.test_window import rows

RED, WHITE = (255, 0, 0), (255, 255, 255)  # exact through RGB565 (decoding repeats the top bits)


@pytest.fixture
def hello_3dsx(tmp_path):
    """hello.elf as ``Hello.3dsx``: title "Hello", publisher hlemu, a red icon with a white diagonal."""
    icon = np.zeros((48, 48, 3), dtype=np.uint8)
    icon[:, :] = RED
    icon[np.arange(48), np.arange(48)] = WHITE
    path = tmp_path / "Hello.3dsx"
    path.write_bytes(elf_to_3dsx(program_path("hello").read_bytes(),
                                 smdh=build_smdh("Hello", "Hello from hlemu", "hlemu", icon)))
    return path


def icon_pixels(icon: QIcon) -> np.ndarray:
    image = icon.pixmap(48, 48).toImage().convertToFormat(icon.pixmap(48, 48).toImage().Format.Format_RGB888)
    ptr = image.bits()
    ptr.setsize(image.sizeInBytes())
    rows_ = np.frombuffer(ptr, dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows_[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def process_row(driver, name: str):
    return next(r for r in rows(driver.window.process_dock.processes) if r.name == name)


def test_a_3dsx_shows_its_smdh_title_and_icon(gui_programs, hello_3dsx, tmp_path, shots_dir):
    driver = gui_programs([str(hello_3dsx)], sdmc=str(tmp_path / "sdmc"))
    window = driver.window
    driver.wait_snapshot(lambda s: bool(s.processes))
    assert window.windowTitle() == "Hello — hlemu"
    assert not window.windowIcon().isNull()
    pixels = icon_pixels(window.windowIcon())
    assert tuple(pixels[0, 0]) == WHITE and tuple(pixels[0, 47]) == RED and tuple(pixels[47, 0]) == RED
    model: ProcessModel = window.process_dock.processes
    row = process_row(driver, "Hello")
    assert (row.title, row.publisher) == ("Hello", "hlemu")
    at = rows(model).index(row)
    assert model.index(at, ProcessModel.TITLE).data() == "Hello"
    decoration = model.index(at, ProcessModel.NAME).data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(decoration, QIcon) and tuple(icon_pixels(decoration)[10, 20]) == RED
    assert model.index(at, ProcessModel.STATUS).data(Qt.ItemDataRole.DecorationRole) is None
    assert driver.call(lambda emu: emu.kernel.fs.sdmc_root) == tmp_path / "sdmc"  # --sdmc reached the kernel
    window.grab().save(str(shots_dir / "homebrew_window.png"))
    assert driver.run_frames(5) in ("all exited", "frames done")


def test_elf_programs_keep_their_names_in_the_title_and_no_icon(gui_programs):
    driver = gui_programs(["hello", "fb"])
    driver.wait_snapshot(lambda s: len(s.processes) == 2)
    assert driver.window.windowTitle() == "hello + fb — hlemu"
    assert driver.window.windowIcon().isNull()
    model = driver.window.process_dock.processes
    assert all(model.index(r, ProcessModel.NAME).data(Qt.ItemDataRole.DecorationRole) is None
               for r in range(model.rowCount()))
    assert {model.index(r, ProcessModel.TITLE).data() for r in range(model.rowCount())} == {""}


def test_file_open_takes_a_3dsx_and_the_title_follows(gui_programs, hello_3dsx, tmp_path, monkeypatch):
    driver = gui_programs(["fb"], sdmc=str(tmp_path / "sdmc"))
    window = driver.window
    assert window.windowTitle() == "fb — hlemu"
    asked = {}

    def dialog(parent, caption, folder, filters):
        asked["filters"] = filters
        return str(hello_3dsx), filters.split(";;")[0]

    monkeypatch.setattr("gui.window.QFileDialog.getOpenFileName", dialog)
    window.open_action.trigger()
    driver.wait_snapshot(lambda s: len(s.processes) == 2)
    assert asked["filters"] == PROGRAM_FILTER and PROGRAM_FILTER.startswith("3DS programs (*.3dsx *.elf)")
    driver.qtbot.waitUntil(lambda: window.windowTitle() == "Hello — hlemu")
    assert not window.windowIcon().isNull()
    assert str(hello_3dsx) in driver.session.programs  # a reset starts it again
    assert driver.call(lambda emu: [(p.name, p.title) for p in emu.processes]) == [("fb", None), ("Hello", "Hello")]


def test_file_open_still_takes_an_elf(gui_programs):
    driver = gui_programs(["fb"])
    driver.window.open_program(str(program_path("hello")))
    driver.wait_snapshot(lambda s: len(s.processes) == 2)
    assert driver.window.windowTitle() == "fb + hello — hlemu"


def register_with_apt(driver, name: str) -> None:
    """As libctru's aptInit leaves a process: APT:Enable'd, so notifications reach it."""
    driver.call(lambda emu: setattr(emu.kernel.apt.applet(emu.process(name).process), "registered", True))


def notifications(driver, name: str) -> list[int]:
    return driver.call(lambda emu: list(emu.kernel.apt.applet(emu.process(name).process).notifications))


def test_home_and_power_from_the_window_reach_apt(gui_programs):
    driver = gui_programs(["hello"])
    window = driver.window
    bar = window.statusBar()
    window.home_action.trigger()
    driver.qtbot.waitUntil(lambda: "HOME pressed" in bar.currentMessage())
    assert bar.currentMessage() == "HOME pressed: no application listens (none called aptInit)"
    register_with_apt(driver, "hello")
    window.home_action.trigger()
    driver.qtbot.waitUntil(lambda: notifications(driver, "hello") == [Signal.HOMEBUTTON])
    driver.qtbot.waitUntil(lambda: bar.currentMessage() == "HOME pressed: 1 application notified")
    window.power_action.trigger()
    driver.qtbot.waitUntil(lambda: notifications(driver, "hello") == [Signal.HOMEBUTTON, Signal.POWERBUTTON])
    assert driver.call(lambda emu: emu.kernel.apt.applet(emu.process("hello").process).power_pending)
    driver.qtbot.waitUntil(lambda: bar.currentMessage() == "POWER pressed: 1 application notified")


def test_home_and_power_are_in_the_system_menu_and_the_toolbar_with_shortcuts(gui_programs):
    window = gui_programs(["hello"]).window
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert [a.text() for a in menus["System"].actions()] == ["HOME", "POWER"]
    assert window.home_action.shortcut().toString() == "Ctrl+H"
    assert window.power_action.shortcut().toString() == "Ctrl+Shift+P"
    toolbar = window.findChild(type(window.addToolBar("probe")), "controls")
    assert window.home_action in toolbar.actions() and window.power_action in toolbar.actions()


def test_cfg_reaches_the_emulator_the_window_builds_and_survives_a_reset(gui_programs):
    driver = gui_programs(["hello"], cfg={"language": "ja", "model": "N3DS"})
    assert driver.call(lambda emu: (emu.cfg.language, emu.cfg.model)) == (0, 2)
    driver.window.reset()
    driver.wait_snapshot(lambda s: s.generation >= 2)
    assert driver.call(lambda emu: (emu.cfg.language, emu.cfg.model)) == (0, 2)
