"""scripts/acceptance.py, the homebrew acceptance runner, on the project's own bundled guest
programs (public homebrew is fetched by users and never committed, so CI has none):
fb (draws on both screens, exits 0 on START) must pass, as a 3DSX with an SMDH title made by
the project's writer; hello (prints, exits 7 by itself) must fail, and the run exit 1. Respond mode (GPU games) on fb:
RIGHT moves its square (pass), B does nothing though its bars animate (no response), START exits."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "acceptance.py"
BIN = ROOT / "hlemu" / "guest" / "bin"


def _module():
    spec = importlib.util.spec_from_file_location("acceptance", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["acceptance"] = module
    spec.loader.exec_module(module)
    return module


acceptance = _module()


def test_help_says_where_binaries_come_from():
    result = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "fetch" in result.stdout and "never committed" in result.stdout
    assert "[[program]]" in result.stdout and "button" in result.stdout


def test_manifest_defaults_and_errors(tmp_path):
    good = tmp_path / "m.toml"
    good.write_text('[defaults]\nframes = 40\n\n[[program]]\nfile = "x.3dsx"\nbutton = "start"\n'
                    '[[program]]\nfile = "/abs/y.elf"\nname = "why"\nscreen = "bottom"\ninput = ["5 A"]\n')
    first, second = acceptance.load_manifest(good)
    assert (first.name, first.path, first.button, first.frames, first.screen) == ("x", tmp_path / "x.3dsx",
                                                                                  "START", 40, "top")
    assert (second.name, second.path, second.screen, second.input) == ("why", Path("/abs/y.elf"), "bottom", ["5 A"])
    as_json = tmp_path / "m.json"
    as_json.write_text(json.dumps({"program": [{"file": "z.elf", "button": "A+B"}]}))
    assert acceptance.load_manifest(as_json)[0].button == "A+B"
    for body, words in [('[[program]]\nfile = "a"\nbutton = "HOME"\n', "unknown button"),
                        ('[[program]]\nfile = "a"\nscreen = "left"\n', "top or bottom"),
                        ('[[program]]\nfile = "a"\ncolour = 1\n', "unknown keys"),
                        ('[[program]]\nfile = "a"\n[[program]]\nfile = "b/a"\n', "used twice"),
                        ('[[program]]\nfile = "a"\nframes = 10\ninput = ["20 A"]\n', "below frames"),
                        ('[defaults]\nframes = 1\n', "no [[program]]"),
                        ("not toml [", "m.toml")]:
        good.write_text(body)
        with pytest.raises(acceptance.ManifestError, match=words.replace("[", r"\[")):
            acceptance.load_manifest(good)


def test_text_pixels_counts_what_differs_from_the_background(tmp_path):
    import numpy as np
    from PIL import Image

    shot = np.zeros((480, 400, 3), dtype=np.uint8)
    shot[:240] = (0, 0, 255)  # a blue top screen ...
    shot[10:12, 10:20] = 255  # ... with 20 white pixels of "text"
    Image.fromarray(shot).save(tmp_path / "s.png")
    assert acceptance.text_pixels(tmp_path / "s.png", "top") == 20
    assert acceptance.text_pixels(tmp_path / "s.png", "bottom") == 0


def test_runs_a_folder_of_bundled_programs(tmp_path):
    shutil.copy(BIN / "hello.elf", tmp_path / "hello.elf")
    made = subprocess.run([sys.executable, "-m", "hlemu.loaders.threedsx_writer", str(BIN / "fb.elf"),
                           str(tmp_path / "fb.3dsx"), "--title", "FB demo"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert acceptance.smdh_title(tmp_path / "fb.3dsx") == "FB demo"
    assert acceptance.smdh_title(tmp_path / "hello.elf") is None
    (tmp_path / "manifest.toml").write_text(
        '[defaults]\nframes = 20\ngrace = 60\ntimeout = 120\n\n'
        '[[program]]\nfile = "fb.3dsx"\nera = "bundled"\ntitle = "FB demo"\nbutton = "START"\nscreen = "bottom"\n\n'
        '[[program]]\nfile = "hello.elf"\nbutton = "START"\n\n'
        '[[program]]\nfile = "gone.3dsx"\n')
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "manifest.toml"), "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    record = json.loads((out / "acceptance.json").read_text())
    by_name = {r["name"]: r for r in record["results"]}
    fb, hello, gone = by_name["fb"], by_name["hello"], by_name["gone"]
    assert fb["result"] == "PASS", fb["reasons"]
    assert fb["press"]["status"] == "exited (0)" and fb["frames"] <= 20 + 60 and fb["instructions"] > 0
    assert fb["text_pixels"] >= 20 and (out / "fb.look.png").is_file()
    assert hello["result"] == "FAIL" and "exited (7)" in " ".join(hello["reasons"])
    assert hello["press"] is None  # no button press once the look run failed
    assert gone["result"] == "FAIL" and "no such file" in gone["reasons"][0]
    assert record["passed"] == 1 and record["total"] == 3
    table = result.stdout
    assert "program" in table and "instructions" in table and "PASS" in table and "FAIL" in table


def test_respond_keys_in_the_manifest(tmp_path):
    manifest = tmp_path / "m.toml"
    manifest.write_text('[defaults]\nrespond = "right"\nrespond_screen = "top"\n\n'
                        '[[program]]\nfile = "game.3dsx"\n'
                        '[[program]]\nfile = "menu.3dsx"\nrespond = "a+b"\nrespond_screen = "both"\n'
                        '[[program]]\nfile = "console.3dsx"\nbutton = "START"\n'
                        '[[program]]\nfile = "scroll.3dsx"\nrespond = "cpad=150,-20"\n')
    game, menu, console, scroll = acceptance.load_manifest(manifest)
    assert scroll.respond == "CPAD=150,-20"  # the circle pad, as hlemu --input takes it
    assert (game.respond, game.button, game.respond_screen) == ("RIGHT", "RIGHT", "top")
    assert (menu.respond, menu.button, menu.respond_screen) == ("A+B", "A+B", "both")
    assert (console.respond, console.button) == (None, "START")  # its own button beats [defaults]' respond
    for body, words in [('[[program]]\nfile = "a"\nbutton = "A"\nrespond = "B"\n', "not both"),
                        ('[[program]]\nfile = "a"\nrespond = "none"\n', "needs a button"),
                        ('[[program]]\nfile = "a"\nrespond = "HOME"\n', "unknown button"),
                        ('[[program]]\nfile = "a"\nrespond = "CPAD=left"\n', "unknown button"),
                        ('[[program]]\nfile = "a"\nrespond = "A"\nrespond_screen = "left"\n', "top, bottom or both")]:
        manifest.write_text(body)
        with pytest.raises(acceptance.ManifestError, match=words):
            acceptance.load_manifest(manifest)


def test_changed_pixels_compares_the_named_screens(tmp_path):
    import numpy as np
    from PIL import Image

    one = np.zeros((480, 400, 3), dtype=np.uint8)
    two = one.copy()
    two[5, 5:15] = (1, 0, 0)  # 10 pixels of the top screen, one channel off by one
    two[300, 100:103] = 255  # 3 of the bottom screen
    two[300, 0:40] = 255  # the gap left of the bottom screen does not count
    Image.fromarray(one).save(tmp_path / "a.png")
    Image.fromarray(two).save(tmp_path / "b.png")
    assert acceptance.changed_pixels(tmp_path / "a.png", tmp_path / "b.png", "top") == 10
    assert acceptance.changed_pixels(tmp_path / "a.png", tmp_path / "b.png", "bottom") == 3
    assert acceptance.changed_pixels(tmp_path / "a.png", tmp_path / "b.png", "both") == 13
    assert acceptance.changed_pixels(tmp_path / "a.png", tmp_path / "a.png", "both") == 0


def test_respond_mode_on_fb(tmp_path):
    """fb animates colour bars on the top screen by itself, moves a square on the bottom one
    while the D-pad is held, ignores B and exits on START. RIGHT must pass; B must fail as no
    response although the top screen changed between the press frame and the end (animation is
    not a response); RIGHT judged on the top screen alone must fail the same way; START must
    fail because the program did not keep running."""
    shutil.copy(BIN / "fb.3dsx", tmp_path / "fb.3dsx")
    (tmp_path / "manifest.toml").write_text(
        '[defaults]\nframes = 20\ngrace = 30\ntimeout = 120\nscreen = "bottom"\n\n'
        '[[program]]\nfile = "fb.3dsx"\nname = "right"\nrespond = "RIGHT"\n\n'
        '[[program]]\nfile = "fb.3dsx"\nname = "b"\nrespond = "B"\n\n'
        '[[program]]\nfile = "fb.3dsx"\nname = "right_top"\nrespond = "RIGHT"\nrespond_screen = "top"\n\n'
        '[[program]]\nfile = "fb.3dsx"\nname = "start"\nrespond = "START"\n')
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "manifest.toml"), "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    record = json.loads((out / "acceptance.json").read_text())
    by_name = {r["name"]: r for r in record["results"]}
    right, b, right_top, start = (by_name[n] for n in ("right", "b", "right_top", "start"))

    assert right["result"] == "PASS", right["reasons"]
    assert right["mode"] == "respond" and right["changed_pixels"] >= 20
    assert right["baseline"]["status"] == right["press"]["status"] == "running"
    assert right["baseline"]["frame"] == right["press"]["frame"] == 50
    for shot in ("look", "baseline", "press"):
        assert (out / f"right.{shot}.png").is_file()

    assert b["result"] == "FAIL" and b["changed_pixels"] == 0
    assert b["moving_pixels"] > 1000  # the bars moved by themselves: a look-vs-press check would pass
    assert any(reason.startswith("no response to B") for reason in b["reasons"]), b["reasons"]

    assert right_top["result"] == "FAIL" and right_top["changed_pixels"] == 0
    assert "no response to RIGHT" in " ".join(right_top["reasons"])

    assert start["result"] == "FAIL"
    assert any("after START at frame 20" in r and "exited (0)" in r for r in start["reasons"]), start["reasons"]
    assert not any("no response" in r for r in start["reasons"])

    assert record["passed"] == 1 and record["total"] == 4
    assert "RIGHT responds" in result.stdout and "no response to B" in result.stdout


def test_an_old_screenshot_is_not_judged(tmp_path):
    """A run that writes no screenshot (here an "hlemu" that does nothing) must be reported as
    such, not judged by the screenshot a previous run left in OUT."""
    import numpy as np
    from PIL import Image

    shutil.copy(BIN / "fb.3dsx", tmp_path / "fb.3dsx")
    (tmp_path / "manifest.toml").write_text('[[program]]\nfile = "fb.3dsx"\nrespond = "RIGHT"\nmin_pixels = 1\n')
    out = tmp_path / "out"
    out.mkdir()
    old = np.zeros((480, 400, 3), dtype=np.uint8)
    old[:10, :10] = 255
    Image.fromarray(old).save(out / "fb.look.png")
    result = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "manifest.toml"), "--out", str(out),
                             "--hlemu", f"{sys.executable} -c pass"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    fb = json.loads((out / "acceptance.json").read_text())["results"][0]
    assert fb["result"] == "FAIL" and "no screenshot" in fb["reasons"] and fb["text_pixels"] is None
    assert not (out / "fb.look.png").exists()
