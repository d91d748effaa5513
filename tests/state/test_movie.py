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
