"""In the window: --record then --replay give the same session, holding the rewind key goes
back in whole steps of the ring, and a movie in progress refuses both rewinding and slots."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtTest import QTest

from gui.app import GuiOptions, run_gui
from gui.rewind import REWIND_STEP
from hlemu.run import DEMO
from kernel.state.movie import Movie


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
    recorded = Movie.load(movie)
    assert recorded.frames == want[0] == 13
    assert len(recorded.pad) >= 2 and [p[1] for p in recorded.presses] == ["home"]
    second = gui_programs(list(DEMO), replay=str(movie))
    second.run_frames(want[0])
    assert _session_of(second) == want


def test_a_movie_of_other_programs_is_refused_in_the_window(gui_programs, tmp_path, monkeypatch):
    from gui.window import MainWindow

    warnings: list[str] = []
    monkeypatch.setattr(MainWindow, "warn", lambda self, message: warnings.append(message))
    movie = tmp_path / "fb.movie"
    first = gui_programs(["fb"], record=str(movie))
    first.run_frames(2)
    first.session.stop()
    second = gui_programs(["hello"], replay=str(movie))
    second.qtbot.waitUntil(lambda: bool(warnings))
    assert warnings[0].startswith(f"--replay {movie}: ") and "other programs" in warnings[0]
    assert not second.session.worker.movie_active()  # the replay did not start


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


def test_no_rewind_while_a_movie_is_recorded(gui_programs, tmp_path):
    driver = gui_programs(["fb"], record=str(tmp_path / "m.movie"))
    assert driver.run_frames(25) == "frames done"
    QTest.keyPress(driver.window, Qt.Key.Key_R)
    QTest.keyRelease(driver.window, Qt.Key.Key_R)
    driver.qtbot.waitUntil(lambda: not driver.window.rewinder._busy)
    assert driver.call(lambda emu: emu.frame) == 25  # refused: the movie stays what happened
    shown = driver.window.statusBar().currentMessage()
    assert shown == "cannot rewind: rewind is off while a movie is recorded or replayed"


def test_unreadable_movies_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.movie"
    bad.write_bytes(b"not a movie")
    assert run_gui(GuiOptions(["fb"], replay=str(bad))) == 2
    assert f"--replay {bad}" in capsys.readouterr().err
    assert run_gui(GuiOptions(["fb"], record=str(tmp_path / "no" / "such" / "dir.movie"))) == 2
    assert "cannot be written" in capsys.readouterr().err
