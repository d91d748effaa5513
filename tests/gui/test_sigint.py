"""Ctrl-C in the terminal while the window is up: it pauses a console ``emu.run()`` on a guest
that never makes an SVC; with nothing running it closes the window (exit status 130)."""

from __future__ import annotations

import os
import signal

import pytest
from PyQt6.QtWidgets import QApplication

from gui.app import EXIT_INTERRUPTED, _sigint_pauses
from gui.console import ConsoleInterpreter
from tests.gui.conftest import WAIT_MS
from tests.tiny_elf import SPIN, write_elf


@pytest.fixture
def quits(monkeypatch):
    """Calls of QApplication.quit (the test's QApplication must live on)."""
    calls: list[bool] = []
    monkeypatch.setattr(QApplication, "quit", staticmethod(lambda: calls.append(True)))
    return calls


def test_ctrl_c_pauses_a_console_run_then_closes_the_window(tmp_path, gui_programs, qtbot, quits, capfd):
    driver = gui_programs([str(write_elf(tmp_path / "spin.elf", SPIN))])
    session, console = driver.session, ConsoleInterpreter()
    answer: dict = {}
    session.call(lambda emu: console.push(emu, "r = emu.run()"), lambda result, error: answer.update(done=error))
    qtbot.waitUntil(lambda: session.worker.emu is not None and session.worker.emu.instructions > 100_000,
                    timeout=WAIT_MS)  # the console's emu.run() is under way, in the guest's `b .`
    status = {"code": 0}
    with _sigint_pauses(session, headless=False, status=status):
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.waitUntil(lambda: "done" in answer, timeout=5_000)  # the handler runs within 100 ms
        assert answer["done"] is None
        assert status["code"] == 0 and not quits  # paused, the window stays
        assert "hlemu: paused (Ctrl-C); Ctrl-C again closes the window" in capfd.readouterr().err
        assert driver.call(lambda emu: console.push(emu, "print(r.reason, emu.paused)")) == (
            "paused True\n", False)
        os.kill(os.getpid(), signal.SIGINT)  # nothing runs now
        qtbot.waitUntil(lambda: bool(quits), timeout=5_000)
    assert status["code"] == EXIT_INTERRUPTED
    assert "hlemu: interrupted (Ctrl-C)" in capfd.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_ctrl_c_ends_a_headless_capture(gui_programs, qtbot, quits):
    driver = gui_programs(["fb"])
    status = {"code": 0}
    with _sigint_pauses(driver.session, headless=True, status=status):
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.waitUntil(lambda: bool(quits), timeout=5_000)
    assert status["code"] == EXIT_INTERRUPTED
