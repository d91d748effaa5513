"""``hlemu gui`` from the command line: headless capture, bad input, the key map file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from PyQt6.QtGui import QImage

from gui.keymap import KeyMap, KeyMapError
from hlemu.guest import program_path


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


def test_a_screenshot_into_a_missing_folder_is_refused_at_once_not_a_dialog():
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}  # headless picks offscreen itself
    result = subprocess.run([sys.executable, "-m", "hlemu", "gui", "--screenshot", "/nonexistent/x.png",
                             "--frames", "5"], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == "hlemu: --screenshot /nonexistent/x.png: folder /nonexistent does not exist"


@pytest.mark.parametrize("name", ["shot.gif", "shot"])
def test_a_screenshot_suffix_no_format_matches_is_a_usage_error(tmp_path, name):
    result = hlemu("gui", "hello", "--screenshot", str(tmp_path / name), timeout=60)
    assert result.returncode == 2 and "unknown image type" in result.stderr


def test_headless_screenshot_as_jpeg(tmp_path):
    shot = tmp_path / "window.jpg"
    result = hlemu("gui", "hello", "--screenshot", str(shot), "--frames", "5")
    assert result.returncode == 0, result.stderr
    with Image.open(shot) as image:
        assert image.format == "JPEG" and image.width >= 1000


def test_headless_a_program_that_will_not_load_exits_2_without_a_dialog(tmp_path):
    bad = tmp_path / "bad.elf"
    bad.write_bytes(program_path("hello").read_bytes()[:100])
    result = hlemu("gui", str(bad), "--screenshot", str(tmp_path / "x.png"), timeout=120)
    assert result.returncode == 2
    assert "malformed ELF" in result.stderr or "truncated" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_missing_xcb_libraries_are_named_with_their_packages_before_qt_aborts(monkeypatch, capsys):
    from gui import app, xcb

    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    fake = {"libc.so.6": "libc6", "libhlemu-missing-cursor.so.0": "libhlemu-missing-cursor0"}
    problem = app._choose_platform(headless=False, libraries=fake)
    assert problem is not None
    assert "libhlemu-missing-cursor.so.0" in problem and "libc.so.6" not in problem
    assert "sudo apt-get install libhlemu-missing-cursor0" in problem
    assert app._choose_platform(headless=False, libraries={"libc.so.6": "libc6"}) is None
    # the whole command: exit 2 before any QApplication exists
    monkeypatch.setattr(xcb, "XCB_LIBRARIES", fake)
    assert app.run_gui(app.GuiOptions(["hello"])) == 2
    assert "sudo apt-get install libhlemu-missing-cursor0" in capsys.readouterr().err


def test_the_xcb_check_applies_to_x11_only(monkeypatch):
    from gui.xcb import platform_is_xcb

    assert platform_is_xcb({"DISPLAY": ":0"})
    assert platform_is_xcb({"QT_QPA_PLATFORM": "xcb"})
    assert not platform_is_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"})
    assert not platform_is_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"})
    assert not platform_is_xcb({})


def test_the_readme_lists_only_packages_the_check_knows():
    from gui.xcb import XCB_LIBRARIES

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    line = readme.split("sudo apt-get install ", 1)[1].split("\n\n", 1)[0]
    listed = set(line.replace("\\", " ").split())
    assert "libxcb-cursor0" in listed and listed <= set(XCB_LIBRARIES.values())
