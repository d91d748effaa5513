"""scripts/acceptance.py, the homebrew acceptance runner, on the project's own bundled guest
programs (public homebrew is fetched by users and never committed, so CI has none):
fb (draws on both screens, exits 0 on START) must pass, as a 3DSX with an SMDH title made by
the project's writer; hello (prints, exits 7 by itself) must fail, and the run exit 1."""

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
