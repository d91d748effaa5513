"""The slot menu shows each state's picture and frame."""

from __future__ import annotations

from PyQt6.QtWidgets import QMenu


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
