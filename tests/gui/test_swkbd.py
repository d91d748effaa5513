"""The software keyboard in the window (gui/swkbd.py): each swkbdInputText of the swkbd guest
opens a dialog on the GUI thread while the emulation thread waits; the answers are typed here."""

from __future__ import annotations

from PyQt6.QtWidgets import QPushButton

from tests.gui.conftest import WAIT_MS, open_window


def next_dialog(driver, previous=None):
    keyboard = driver.window.keyboard
    driver.qtbot.waitUntil(lambda: keyboard.dialog is not None and keyboard.dialog is not previous, timeout=WAIT_MS)
    return keyboard.dialog


def output(driver) -> list[str]:
    """What the guest printed (the keyboard's own reports go to the Output dock, not here)."""
    return driver.call(lambda emu: [line for p in emu.kernel.processes.values() for line in p.output])


def test_dialogs_answer_the_keyboards_and_no_guest_time_passes_while_one_is_open(qtbot):
    driver = open_window(qtbot, ["swkbd"])
    try:
        driver.session.resume()
        dialog = next_dialog(driver)
        assert dialog.labelText() == "Your name"
        assert (dialog.okButtonText(), dialog.cancelButtonText()) == ("OK", "Cancel")
        emu = driver.session.worker.emu  # read from here: its thread waits for the dialog
        frame, ticks, instructions = emu.frame, emu.ticks, emu.instructions
        qtbot.wait(300)  # the window stays live; the guest stands still
        assert (emu.frame, emu.ticks, emu.instructions) == (frame, ticks, instructions)
        dialog.setTextValue("")
        dialog.accept()  # empty: refused (NOTEMPTY_NOTBLANK), asked again with the reason
        dialog = next_dialog(driver, dialog)
        assert dialog.labelText() == "the text may not be empty\nYour name"
        dialog.setTextValue("Grace")
        dialog.accept()

        dialog = next_dialog(driver, dialog)
        assert dialog.textValue() == "hlemu"  # the initial text
        assert not [b for b in dialog.findChildren(QPushButton) if b.text() == "Cancel" and b.isVisible()]
        dialog.setTextValue("ok7")
        dialog.accept()

        dialog = next_dialog(driver, dialog)
        middle = [b for b in dialog.findChildren(QPushButton) if b.text() == "I Forgot"]
        assert dialog.cancelButtonText() == "Back" and len(middle) == 1
        dialog.setTextValue("forgot it")
        middle[0].click()

        qtbot.waitUntil(lambda: "swkbd: exiting with 0" in output(driver), timeout=WAIT_MS)
        lines = output(driver)
        assert lines[lines.index("swkbd: start") + 1:] == [
            'name: button 2 (right), result 2, 5 units, "Grace"',
            'code: button 2 (right), result 0, 3 units, "ok7"',
            'callback: "forgot it" ok',
            'word: button 1 (middle), result 4, 9 units, "forgot it"',
            "swkbd: exiting with 0",
        ]
    finally:
        driver.session.stop()


def test_cancel_in_the_dialog_is_the_left_button(qtbot):
    driver = open_window(qtbot, ["swkbd"])
    try:
        driver.session.resume()
        dialog = next_dialog(driver)
        dialog.reject()
        dialog = next_dialog(driver, dialog)  # one button: Escape is no answer, the keyboard's default
        dialog.reject()
        next_dialog(driver, dialog).reject()
        qtbot.waitUntil(lambda: "swkbd: exiting with 0" in output(driver), timeout=WAIT_MS)
        assert [line for line in output(driver) if line[:5] in ("name:", "code:", "word:")] == [
            'name: button 0 (left), result 1, 0 units, ""',
            'code: button 2 (right), result 0, 5 units, "hlemu"',
            'word: button 0 (left), result 3, 0 units, ""',
        ]
    finally:
        driver.session.stop()


def test_stopping_the_session_while_a_dialog_is_open_lets_the_emulation_thread_go(qtbot):
    driver = open_window(qtbot, ["swkbd"])
    driver.session.resume()
    next_dialog(driver)
    driver.session.stop()  # returns: the waiting keyboard gave up
    assert not driver.session.emu_thread.isRunning()
