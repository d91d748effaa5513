"""The slot menu shows each state's picture and frame; --record then --replay in the window
give the same session; holding the rewind key goes back."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest
from PyQt6.QtWidgets import QMenu

from gui.rewind import REWIND_STEP
from hlemu.run import DEMO


def test_the_slot_menu_shows_the_saved_picture_and_frame(gui_programs, tmp_path, monkeypatch):
    monkeypatch.setenv("HLEMU_STATE_DIR", str(tmp_path))
    driver = gui_programs(["fb"])
    window = driver.window
    save, load = window.save_state_actions[0], window.load_state_actions[0]
    assert save.text() == "Save state 1: empty" and save.icon().isNull()
    assert driver.run_frames(5) == "frames done"
    frame = driver.call(lambda emu: emu.frame)
    save.trigger()
    driver.qtbot.waitUntil(lambda: "state 1 saved" in window.statusBar().currentMessage())
    assert save.text().startswith(f"Save state 1: frame {frame}, ") and load.text().startswith("Load state 1: frame")
    assert not save.icon().isNull()
    picture = save.icon().pixmap(100, 60).toImage()
    assert (picture.width(), picture.height()) == (100, 60)
    colours = {picture.pixel(x, y) for x in range(0, 100, 5) for y in range(0, 60, 5)}
    assert len(colours) > 1  # fb draws a picture, not one colour
    assert window.save_state_actions[1].text() == "Save state 2: empty"
    # the open menu draws the picture at its own 100x60 size, not as a 16-pixel icon
    menu = next(m for m in window.findChildren(QMenu) if m.title() == "Save state")
    menu.popup(window.mapToGlobal(window.rect().center()))
    driver.qtbot.waitUntil(menu.isVisible)
    rect = menu.actionGeometry(save)
    assert rect.height() >= 60
    shown = menu.grab(rect).toImage()
    drawn = {shown.pixel(x, y) for x in range(shown.width()) for y in range(shown.height())}
    assert len(colours & drawn) >= len(colours) // 2  # the thumbnail's colours are on screen
    menu.hide()


def _session_of(driver) -> tuple:
    return driver.call(lambda emu: (emu.frame, emu.instructions, emu.ticks,
                                    tuple(tuple(p.output) for p in emu.processes),
                                    emu.display.render("top").tobytes(), emu.display.render("bottom").tobytes()))


def test_record_then_replay_in_the_window_are_equal(gui_programs, tmp_path):
    movie = tmp_path / "session.movie"
    first = gui_programs(list(DEMO), record=str(movie))
    first.run_frames(3)
    first.call(lambda emu: emu.set_input(["A", "RIGHT"], circle=(40, -20)))
    first.run_frames(4)
    first.call(lambda emu: emu.set_input([], touch=(100, 50)))
    first.run_frames(3)
    first.call(lambda emu: emu.press_home())
    first.run_frames(3)
    want = _session_of(first)
    first.session.stop()  # as closing the window does: the movie is written
    assert movie.is_file()
    from kernel.state.movie import Movie

    recorded = Movie.load(movie)
    assert recorded.frames == want[0] and len(recorded.pad) >= 2 and [p[1] for p in recorded.presses] == ["home"]
    second = gui_programs(list(DEMO), replay=str(movie))
    second.run_frames(want[0])
    assert _session_of(second) == want


def test_holding_the_rewind_key_goes_back(gui_programs):
    driver = gui_programs(["fb"])
    window = driver.window
    assert driver.run_frames(45) == "frames done"
    start = driver.call(lambda emu: emu.frame)
    assert start % REWIND_STEP == 5  # the first step goes back to frame 40, each next one 10 more
    QTest.keyPress(window, Qt.Key.Key_R)
    driver.qtbot.waitUntil(lambda: window.rewinder.steps >= 1)
    QTest.keyRelease(window, Qt.Key.Key_R)
    driver.qtbot.waitUntil(lambda: not window.rewinder._busy)
    steps = window.rewinder.steps
    assert driver.call(lambda emu: emu.frame) == start - 5 - REWIND_STEP * (steps - 1)
