"""Files named on the command line (--input, --screenshot, --script): found, checked and refused
before any guest runs; screenshots in the format their suffix names; the README's commands."""

from __future__ import annotations

import io
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hlemu.cli import build_parser, main
from hlemu.guest import input_path, inputs
from hlemu.images import encode, write_image
from hlemu.run import load_input, load_input_script, resolve_input

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("args", "message"), [
    (["--input", "nosuch.txt"], "hlemu: --input nosuch.txt: no such file, and not a bundled input script (circle.txt"),
    (["--input", "."], "hlemu: --input .: is a folder"),
    (["--screenshot", "/nonexistent/x.png"], "hlemu: --screenshot /nonexistent/x.png: folder /nonexistent does not"),
    (["--screenshot", "shot.gif"], "hlemu: --screenshot shot.gif: unknown image type '.gif' (use .png, .jpg, .jpeg"),
    (["--screenshot", "shot"], "hlemu: --screenshot shot: unknown image type (none)"),
    (["--screenshot", "."], "hlemu: --screenshot .: unknown image type"),
    (["--screenshot", "/proc/1/x.png"], "hlemu: --screenshot /proc/1/x.png: not writable"),  # even for root
])
def test_file_problems_are_reported_before_the_run(capsys, args, message):
    code, out, err = run_cli(capsys, "run", "hello", *args)
    assert code == 2
    assert err.strip().splitlines() == [err.strip()] and err.startswith(message), err
    assert out == ""  # no guest ran: hello would have printed


def test_a_folder_in_the_screenshots_place_is_refused(tmp_path, capsys):
    (tmp_path / "d.png").mkdir()
    code, out, err = run_cli(capsys, "run", "hello", "--screenshot", str(tmp_path / "d.png"))
    assert code == 2 and out == ""
    assert f"--screenshot {tmp_path / 'd.png'}: is a folder" in err


def test_a_bad_input_line_names_the_option_file_and_line(tmp_path, capsys):
    script = tmp_path / "pad.txt"
    script.write_text("0 A\n5 JUMP\n")
    code, out, err = run_cli(capsys, "run", "hello", "--input", str(script))
    assert code == 2 and out == ""
    assert f"hlemu: --input {script}: input script line 2: unknown key 'JUMP'" in err


def test_an_unwritable_screenshot_folder_is_refused_before_the_run(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if _can_write(folder):
            pytest.skip("running as a user who may write anywhere (root)")
        code, out, err = run_cli(capsys, "run", "hello", "--screenshot", str(folder / "x.png"))
    finally:
        folder.chmod(0o700)
    assert code == 2 and out == ""
    assert f"--screenshot {folder / 'x.png'}: not writable" in err


def _can_write(folder: Path) -> bool:
    try:
        (folder / "probe").write_bytes(b"")
    except OSError:
        return False
    (folder / "probe").unlink()
    return True


def test_bundled_input_scripts_are_found_by_name_and_parse():
    assert {"pad.txt", "circle.txt"} <= set(inputs())
    assert resolve_input("pad.txt") == resolve_input("pad") == input_path("pad.txt")
    for name in inputs():
        events, answers = load_input(name)  # pad presses, software-keyboard answers (swkbd.txt)
        assert events or answers
        assert all(frame >= 0 for frame, _, _ in events) and all(frame >= 0 for frame, _ in answers)


def test_a_local_file_wins_over_a_bundled_script_of_the_same_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("pad.txt").write_text("3 B\n")
    assert resolve_input("pad.txt") == Path("pad.txt")
    assert load_input_script("pad.txt") == [(3, 2, (0, 0))]


@pytest.mark.parametrize(("suffix", "fmt"), [(".png", "PNG"), (".jpg", "JPEG"), (".JPEG", "JPEG"), (".bmp", "BMP")])
def test_images_are_written_in_the_format_their_suffix_names(tmp_path, suffix, fmt):
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[1, 2] = (255, 0, 0)
    path = tmp_path / f"shot{suffix}"
    write_image(path, rgb)
    with Image.open(path) as image:
        assert image.format == fmt and image.size == (6, 4) and image.mode == "RGB"
        if fmt != "JPEG":  # lossless
            assert np.array_equal(np.asarray(image), rgb)


def test_an_unknown_suffix_creates_no_file(tmp_path):
    with pytest.raises(ValueError, match="unknown image type '.tga'"):
        write_image(tmp_path / "shot.tga", np.zeros((2, 2, 3), dtype=np.uint8))
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match=r"expected an \(h, w, 3\) uint8 array"):
        encode(np.zeros((2, 2), dtype=np.uint8), io.BytesIO(), "x.png")


@pytest.mark.parametrize(("name", "fmt"), [("fb.jpg", "JPEG"), ("fb.bmp", "BMP")])
def test_run_screenshot_writes_the_suffixs_format(tmp_path, capsys, name, fmt):
    shot = tmp_path / name
    code, out, err = run_cli(capsys, "run", "fb", "--frames", "3", "--backend", "semifastmem",
                             "--screenshot", str(shot), "--input", "pad.txt")
    assert code == 0, err
    assert f"hlemu: frame 3 written to {shot}" in out
    with Image.open(shot) as image:
        assert image.format == fmt and image.size == (400, 480)


PLACEHOLDER = re.compile(r"\b(?:PROGRAM|NAME|DIR|FILE|COMMAND|PORT|N)\b")


def readme_commands() -> list[str]:
    """Every ``hlemu ...`` command of the README: indented command lines (comments dropped) and
    inline code. Synopses (``[--backend B]``, ``hlemu new NAME``) and ``--help`` are not
    commands to run."""
    text = (ROOT / "README.md").read_text()
    found = [m.group(1) for m in re.finditer(r"^    (?:.*&& )?(hlemu .*?)\s*(?:#.*)?$", text, re.MULTILINE)]
    # Inline code: commands with arguments; a bare `hlemu gdb` names a command, it is no call.
    found += [c for c in re.findall(r"`(hlemu [^`]*)`", text) if len(c.split()) > 2]
    return [c for c in found if "[" not in c and "--help" not in c and not PLACEHOLDER.search(c)]


def test_the_readme_commands_parse_and_name_files_that_exist():
    from hlemu.run import resolve

    commands = readme_commands()
    assert len(commands) >= 8 and "hlemu run fb --frames 120 --screenshot fb.png --input pad.txt" in commands
    made = set()  # folders an earlier `hlemu new` makes: their build/ is `hlemu build`'s output
    for command in commands:
        args = build_parser().parse_args(shlex.split(command)[1:])
        if args.command == "new":
            made.add(Path(args.folder))
        if getattr(args, "input", None):
            assert resolve_input(args.input).is_file()
        for program in getattr(args, "programs", None) or []:
            if not any(Path(program).is_relative_to(folder) for folder in made):
                assert resolve(program).is_file(), command
