"""Input movies replay bit-exactly; a movie of other programs or another start is refused."""

from __future__ import annotations

import io

import pytest

from kernel.api import Emulator
from kernel.state import StateError
from kernel.state.movie import Movie
from tests.state.conftest import DEMO, fingerprint, make


def session(emu: Emulator) -> None:
    """A user: holds buttons and the circle pad, touches the screen, presses HOME then POWER."""
    emu.run(frames=3)
    emu.set_input(["A", "RIGHT"], circle=(40, -20))
    emu.run(frames=2)
    emu.set_input([], touch=(100, 50))
    emu.run(frames=2)
    emu.press_home()
    emu.run(frames=3)
    emu.set_input(["B"])
    emu.press_power()
    emu.run(frames=4)


def test_replay_equals_the_recorded_session(tmp_path):
    programs = (*DEMO, "apt_lifecycle")
    live = make(programs, "semifastmem")
    live.record_movie()
    session(live)
    movie = live.stop_movie()
    want = fingerprint(live)
    live.close()
    assert [p[1] for p in movie.presses] == ["home", "power"]
    path = tmp_path / "m.json"
    movie.save(path)
    again = make(programs, "fastmem")
    again.replay_movie(path)
    again.run(frames=movie.frames)
    got = fingerprint(again)
    again.close()
    for key in want:
        assert got[key] == want[key], key


def test_a_movie_from_a_state(tmp_path):
    start = make(DEMO, "semifastmem")
    start.run(frames=2)
    state = tmp_path / "s.state"
    start.save_state(state)
    start.close()
    live = Emulator.load_state(state, echo=False)
    live.record_movie(start_state=state)
    live.set_input(["UP"])
    live.run(frames=3)
    movie = live.stop_movie()
    want = fingerprint(live)
    live.close()
    again = Emulator.load_state(state, echo=False, backend="semifastmem")
    again.replay_movie(movie, start_state=state)
    again.run(frames=3)
    assert fingerprint(again) == want
    again.close()
    fresh = make(DEMO, "semifastmem")
    with pytest.raises(StateError, match="from another save state|from power-on"):
        fresh.replay_movie(movie)
    fresh.close()


def test_a_movie_of_other_programs_is_refused():
    live = make(("hello",), "semifastmem")
    live.record_movie()
    live.run(frames=1)
    movie = live.stop_movie()
    live.close()
    other = make(("compute",), "semifastmem")
    with pytest.raises(StateError, match="other programs"):
        other.replay_movie(movie)
    other.close()


def test_damaged_movies_are_refused(tmp_path):
    for text in ("", "{}", '{"format": "hlemu-movie", "version": 99}', "[1, 2]",
                 '{"format": "hlemu-movie", "version": 1, "start": {"kind": "power-on"}, "programs": [], '
                 '"quantum_blocks": 20000, "pad": [[1, "x", 0, 0, null, null]], "presses": []}'):
        path = tmp_path / "bad.json"
        path.write_text(text)
        with pytest.raises(StateError):
            Movie.load(path)
    _ = io


def test_the_keyboards_answers_replay_from_the_movie_alone(tmp_path):
    """Typed answers (one refused by the keyboard's filter) and a default are recorded in the
    order the keyboards took them; the replay has no --input and no dialog, and prints the same."""
    from hlemu.run import parse_keyboard_answers, queue_keyboard_answers

    live = make(("swkbd",), "semifastmem")
    queue_keyboard_answers(live.kernel, parse_keyboard_answers('0 TEXT "Ada"\n0 TEXT "x1"\n0 TEXT "good"\n'))
    live.record_movie()
    live.run(frames=120)
    movie = live.stop_movie()
    want = fingerprint(live)
    live.close()
    assert [(text, button) for _frame, text, button in movie.keyboard][:3] == [("Ada", 2), ("x1", 2), ("good", 2)]
    path = tmp_path / "kb.json"
    movie.save(path)
    loaded = Movie.load(path)
    assert loaded.keyboard == movie.keyboard
    again = make(("swkbd",), "fastmem")
    asked = []
    again.kernel.apt.keyboard.frontend = lambda request: asked.append(request)  # must never be asked
    again.replay_movie(loaded)
    again.run(frames=120)  # the program ends within its first frames, as it did when recorded
    got = fingerprint(again)
    again.close()
    assert asked == []
    (name, status, output, *_), = want["processes"].values()
    assert (name, status) == ("swkbd", "exited (0)") and 'name: button 2 (right), result 2, 3 units, "Ada"' in output
    assert got["processes"] == want["processes"] and got["instructions"] == want["instructions"]


@pytest.mark.parametrize("entry", ['[0, "x"]', '[0, 5, 2]', '[0, "x", 7]', '["0", "x", 1]', '{"a": 1}'])
def test_a_damaged_keyboard_answer_is_refused(tmp_path, entry):
    path = tmp_path / "bad.json"
    path.write_text('{"format": "hlemu-movie", "version": 2, "start": {"kind": "power-on"}, "programs": [], '
                    f'"quantum_blocks": 20000, "pad": [], "presses": [], "keyboard": [{entry}]}}')
    with pytest.raises(StateError, match="keyboard answer"):
        Movie.load(path)
