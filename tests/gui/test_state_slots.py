"""File > Save state N / Load state N: the machine goes back to the slot, in place."""

from __future__ import annotations


def test_save_and_load_a_slot_from_the_window(gui_programs, tmp_path, monkeypatch):
    monkeypatch.setenv("HLEMU_STATE_DIR", str(tmp_path))
    driver = gui_programs(["fb"])
    window = driver.window
    bar = window.statusBar()
    assert driver.run_frames(3) == "frames done"
    saved = driver.call(lambda emu: (emu.frame, emu.instructions, emu.ticks))
    window.save_state_actions[0].trigger()
    driver.qtbot.waitUntil(lambda: "state 1 saved" in bar.currentMessage())
    assert (tmp_path / "slot1.state").is_file()
    driver.run_frames(4)
    assert driver.call(lambda emu: emu.frame) > saved[0]
    window.load_state_actions[0].trigger()
    driver.qtbot.waitUntil(lambda: "state 1 loaded" in bar.currentMessage())
    assert driver.call(lambda emu: (emu.frame, emu.instructions, emu.ticks)) == saved
    assert driver.run_frames(1) == "frames done"  # and it runs on from there
    window.load_state_actions[1].trigger()
    driver.qtbot.waitUntil(lambda: "state 2 is empty" in bar.currentMessage())
    assert window.save_state_actions[0].shortcut().toString() == "Shift+F1"
    assert window.load_state_actions[3].shortcut().toString() == "Ctrl+F4"
