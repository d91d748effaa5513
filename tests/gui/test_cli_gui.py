"""``hlemu gui`` from the command line: headless capture, bad input, the key map file."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PyQt6.QtGui import QImage

from gui.keymap import KeyMap, KeyMapError


def hlemu(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "hlemu", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_headless_screenshot_of_the_whole_window(tmp_path):
    shot = tmp_path / "window.png"
    result = hlemu("gui", "--screenshot", str(shot), "--frames", "30")
    assert result.returncode == 0, result.stderr
    assert f"frame 30 of the window written to {shot}" in result.stdout
    image = QImage(str(shot))
    assert image.width() >= 1000 and image.height() >= 700  # the window with its docks, not just the screens


def test_a_program_that_does_not_exist_is_a_usage_error():
    result = hlemu("gui", "no_such_program", "--screenshot", "x.png")
    assert result.returncode == 2
    assert "no such file, and not a bundled program" in result.stderr


def test_a_bad_key_map_file_is_a_usage_error(tmp_path):
    bad = tmp_path / "keys.json"
    bad.write_text('{"Z": "Key_Q"}')
    result = hlemu("gui", "hello", "--keymap", str(bad), "--screenshot", str(tmp_path / "x.png"))
    assert result.returncode == 2 and "unknown button 'Z'" in result.stderr


def test_a_key_qt_does_not_know_is_a_usage_error(tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text('{"A": "Key_Nonsense"}')
    result = hlemu("gui", "hello", "--keymap", str(keys), "--screenshot", str(tmp_path / "x.png"))
    assert result.returncode == 2 and "no such Qt key: A=Nonsense" in result.stderr


def test_key_map_files_override_some_buttons_and_keep_the_rest(tmp_path, monkeypatch):
    path = tmp_path / "keys.json"
    path.write_text('{"a": "Key_Space", "CPAD_UP": "T"}')
    km = KeyMap.load(str(path))
    assert km.bindings["A"] == "Space" and km.bindings["CPAD_UP"] == "T" and km.bindings["B"] == "Z"
    assert km.button_of("Space") == km.button_of("space") == "A"
    assert km.pad({"A", "CPAD_UP", "CPAD_LEFT"}) == (1, (-156, 156))
    for text, message in (("[1]", "expected an object"), ("{", "not JSON"), ('{"A": 3}', "Qt key name"),
                          ('{"START": "X"}', "X is bound to both A by default and START")):
        with pytest.raises(KeyMapError, match=message):
            KeyMap.from_json(text)
    with pytest.raises(KeyMapError, match="No such file"):
        KeyMap.load(str(tmp_path / "missing.json"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert KeyMap.load().bindings == KeyMap.default().bindings  # no user file: the defaults
    (tmp_path / "config" / "hlemu").mkdir(parents=True)
    (tmp_path / "config" / "hlemu" / "keys.json").write_text('{"START": "P"}')
    assert KeyMap.load().bindings["START"] == "P"
