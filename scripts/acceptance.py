#!/usr/bin/env python3
"""Acceptance run of real 3DS homebrew (issues 11, 17): each program of a folder, as a manifest
describes it, must show something on the screen it names and then either exit 0 on the button
it names (console programs) or visibly respond to a button it names (GPU games).

Where the programs come from
----------------------------
Public libctru homebrew (``.3dsx`` or ``.elf``) that *you* fetch from its public repository
or release page and keep in a folder of your own, outside this repository, with a manifest
beside it. Other people's binaries are never committed here, nor scripts that would build
them; this script only runs what the folder holds. (Its own test uses the project's bundled
guest programs, hlemu/guest/bin, so it needs no public binaries.)

The manifest (TOML, or JSON with the same keys) beside the binaries::

    [defaults]            # optional; every key may also be given per program
    frames = 600          # frames to run before the button is pressed (60 per guest second)
    grace = 300           # frames the program has, after the press, to exit (or to show it)
    hold = 10             # frames the button is held
    timeout = 600         # wall-clock seconds allowed for each hlemu run
    screen = "top"        # where its text must appear: top or bottom
    min_pixels = 20       # pixels of that screen that must differ from its background (and, in
                          # respond mode, pixels that must change on the press)
    respond = "RIGHT"     # respond mode for every program without its own button (see below)
    respond_screen = "both"   # respond mode: where the press must show: top, bottom or both

    [[program]]
    file = "hello_world.3dsx"     # relative to the manifest's folder (or absolute)
    name = "hello_world"          # optional; default: the file name without suffix
    era = "libctru 2.6 (2025)"    # optional; shown in the table
    button = "START"              # the button it names (A B X Y L R START SELECT UP DOWN
                                  # LEFT RIGHT, or KEY+KEY); "none": it exits by itself
    title = "hello_world"         # optional: the SMDH short title the 3DSX must carry
    input = ["60 A", "70 none"]   # optional: presses before the button (hlemu --input lines)
    source = "github:owner/repo@commit path"   # optional, informational (provenance)
    expect = "pass"               # optional: "fail" marks a known failure (reported as XFAIL)

    [[program]]
    file = "platformer.3dsx"      # a GPU game: it never exits on a button, so instead ...
    respond = "RIGHT"             # ... this press (KEY+KEY, or CPAD=X,Y: the circle pad) must change it
    respond_screen = "top"        # optional (default both)

A program gives ``button`` or ``respond``, not both; one that gives ``button`` is in exit mode
even when [defaults] sets ``respond``.

Each program is run through the ``hlemu`` command line in a subprocess, twice (in exit mode):

1. the *look* run: ``--frames FRAMES`` with only the manifest's ``input``; at its end the
   screenshot must show something on the named screen (pixels other than the screen's
   background colour), the program must still be running (not crashed, not deadlocked, not
   exited before its button) and, when ``title`` is given, the 3DSX's SMDH must carry it;
2. the *press* run: the same, then ``BUTTON`` at frame FRAMES (held ``hold`` frames) and up to
   ``grace`` more frames: the program must exit by itself with status 0 before they are up.

In *respond* mode (``respond = BUTTON``; the bar for GPU games, issue 17: "shows its start-up
screen and responds to the pad") the look run is the same, and then two more runs go to frame
FRAMES + grace, both from power-on with the manifest's ``input``:

2. the *baseline* run, with no press;
3. the *press* run, with ``BUTTON`` pressed at frame FRAMES and held ``hold`` frames.

Both must still be running at their end (not crashed, exited or deadlocked), and their last
screenshots must differ in at least ``min_pixels`` pixels of ``respond_screen``. The baseline
is the unpressed run to the *same* final frame, not the look run's screenshot at FRAMES: hlemu
runs are deterministic (the same program, input and frame count give the same screens), so
what differs between the two runs is the press's doing, while a scene that animates, scrolls
or blinks by itself between FRAMES and FRAMES + grace would differ from the look screenshot
without any press and must not count as a response. (The record gives both numbers:
``changed_pixels``, baseline against press, and ``moving_pixels``, look against baseline, what
changed by itself.) A press that changes only a pixel or two, or that the game shows only
after ``grace`` frames, reads as "no response"; choose a button that moves the player or a
menu cursor, and a ``grace`` long enough for it to be drawn.

A table is printed (program, era/title, check, result, instructions, seconds, frames; then
each failure's reasons: crashed, exited, no response, screen blank ...) and a JSON record
written (``--json``; default OUT/acceptance.json). Exit status 0 when every program passed
(or failed as its manifest expects), 1 otherwise, 2 for a bad manifest or option.

Example::

    python scripts/acceptance.py /path/to/homebrew/manifest.toml
    python scripts/acceptance.py /path/to/homebrew/manifest.toml --only hello_world -v
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import struct
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KEYS = ("A", "B", "SELECT", "START", "RIGHT", "LEFT", "UP", "DOWN", "R", "L", "X", "Y")
CIRCLE_PAD = re.compile(r"CPAD=-?\d+,-?\d+")  # the circle pad held at (x, y), as hlemu --input takes it
DEFAULTS = {"frames": 600, "grace": 300, "hold": 10, "timeout": 600, "screen": "top", "min_pixels": 20,
            "respond": None, "respond_screen": "both"}
PROGRAM_KEYS = {"file", "name", "era", "button", "title", "input", "source", "expect", "notes"} | set(DEFAULTS)
SCREENS = {"top": (0, 240, 0, 400), "bottom": (240, 480, 40, 360)}  # rows, columns in hlemu's screenshot
RESPOND_SCREENS = {"top": ("top",), "bottom": ("bottom",), "both": ("top", "bottom")}

EXIT_NAMES = {0: "ok", 2: "usage error / cannot load", 3: "crash", 4: "deadlock", 5: "instruction limit",
              130: "interrupted"}


class ManifestError(ValueError):
    pass


@dataclass
class Program:
    name: str
    path: Path
    button: str
    frames: int
    grace: int
    hold: int
    timeout: float
    screen: str
    min_pixels: int
    era: str = ""
    title: str | None = None
    input: list[str] = field(default_factory=list)
    source: str = ""
    expect: str = "pass"
    notes: str = ""
    respond: str | None = None  # a button that must change the screen (GPU games), instead of exiting
    respond_screen: str = "both"


@dataclass
class Run:
    """One hlemu subprocess: what it was asked and what it said."""
    command: list[str]
    returncode: int | None = None
    seconds: float = 0.0
    frame: int | None = None
    instructions: int | None = None
    summary: str = ""  # hlemu's last line: "hlemu: REASON; NAME: STATUS"
    reason: str = ""
    status: str = ""
    unimplemented: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # crash / deadlock report lines
    tail: list[str] = field(default_factory=list)


@dataclass
class Result:
    name: str
    file: str
    era: str
    title: str | None  # the expected SMDH title, or the one found when none is expected
    button: str
    screen: str
    mode: str = "exit"  # exit: the button must end the program; respond: it must change the screen
    result: str = "FAIL"  # PASS, FAIL, XFAIL (failed as expected), XPASS (passed though expected to fail)
    reasons: list[str] = field(default_factory=list)
    instructions: int | None = None
    seconds: float = 0.0
    frames: int | None = None  # the frame the program exited in (press run), else the look run's last
    text_pixels: int | None = None
    look: Run | None = None
    press: Run | None = None
    baseline: Run | None = None  # respond mode: the unpressed run to the pressed run's last frame
    changed_pixels: int | None = None  # respond mode: pixels where the pressed run's end differs from it
    moving_pixels: int | None = None  # respond mode: pixels that changed by themselves, look -> baseline
    source: str = ""
    smdh_title: str | None = None  # what the file carries


# -- the manifest --------------------------------------------------------------------------

def load_manifest(path: Path) -> list[Program]:
    """Programs from a TOML or JSON manifest; ManifestError naming the problem."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except ValueError as exc:  # json.JSONDecodeError and tomllib.TOMLDecodeError are ValueErrors
        raise ManifestError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: expected a table with [[program]] entries")
    defaults = dict(DEFAULTS)
    extra = data.get("defaults", {})
    if not isinstance(extra, dict) or set(extra) - set(DEFAULTS):
        raise ManifestError(f"{path}: [defaults] may set only {', '.join(DEFAULTS)}")
    defaults.update(extra)
    entries = data.get("program", data.get("programs"))
    if not isinstance(entries, list) or not entries:
        raise ManifestError(f"{path}: no [[program]] entries")
    programs, names = [], set()
    for number, entry in enumerate(entries, 1):
        where = f"{path}: program {number}"
        if not isinstance(entry, dict) or "file" not in entry:
            raise ManifestError(f"{where}: needs at least file = ...")
        unknown = set(entry) - PROGRAM_KEYS
        if unknown:
            raise ManifestError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        merged = {**defaults, **entry}
        file = Path(str(merged["file"]))
        file = file if file.is_absolute() else path.parent / file
        name = str(merged.get("name") or file.stem)
        if name in names:
            raise ManifestError(f"{where}: the name {name!r} is used twice (give name = ...)")
        names.add(name)
        if "button" in entry and "respond" in entry:
            raise ManifestError(f"{where}: give button (it must exit) or respond (it must react), not both")
        button = str(merged.get("button", "START")).upper().replace(" ", "")
        respond = None if "button" in entry else merged.get("respond")  # a program's button beats [defaults]
        if respond is not None:
            button = respond = str(respond).upper().replace(" ", "")
            if respond == "NONE":
                raise ManifestError(f"{where}: respond needs a button, not none")
        if button != "NONE":
            for key in button.split("+"):
                if key not in KEYS and not CIRCLE_PAD.fullmatch(key):
                    raise ManifestError(f"{where}: unknown button {key!r} (have {', '.join(KEYS)}, CPAD=X,Y "
                                        "for the circle pad, or none)")
        if merged["screen"] not in SCREENS:
            raise ManifestError(f"{where}: screen must be top or bottom, not {merged['screen']!r}")
        if merged["respond_screen"] not in RESPOND_SCREENS:
            raise ManifestError(f"{where}: respond_screen must be top, bottom or both, "
                                f"not {merged['respond_screen']!r}")
        lines = merged.get("input", [])
        if isinstance(lines, str):
            lines = lines.splitlines()
        if merged.get("expect", "pass") not in ("pass", "fail"):
            raise ManifestError(f"{where}: expect must be pass or fail")
        try:
            program = Program(
                name=name, path=file, button=button, frames=int(merged["frames"]), grace=int(merged["grace"]),
                hold=int(merged["hold"]), timeout=float(merged["timeout"]), screen=merged["screen"],
                min_pixels=int(merged["min_pixels"]), era=str(merged.get("era", "")),
                title=merged.get("title"), input=[str(x) for x in lines], source=str(merged.get("source", "")),
                expect=merged.get("expect", "pass"), notes=str(merged.get("notes", "")), respond=respond,
                respond_screen=merged["respond_screen"])
        except (TypeError, ValueError) as exc:
            raise ManifestError(f"{where}: {exc}") from None
        for line in program.input:
            head = line.split("#", 1)[0].split()
            if head and (not head[0].isdigit() or int(head[0]) >= program.frames):
                raise ManifestError(f"{where}: input line {line!r} must start with a frame below frames "
                                    f"({program.frames})")
        programs.append(program)
    return programs


# -- what the binary says about itself ------------------------------------------------------

def smdh_title(path: Path) -> str | None:
    """The English short title of a 3DSX's SMDH (3dbrew "3DSX Format", "SMDH"); None when the
    file has none (an ELF, or a 3DSX with the 0x20-byte header)."""
    try:
        with path.open("rb") as f:
            head = f.read(0x2C)
            if len(head) < 0x2C or head[:4] != b"3DSX" or struct.unpack_from("<H", head, 4)[0] <= 0x20:
                return None
            offset, size = struct.unpack_from("<II", head, 0x20)
            if size < 0x8 + 2 * 0x200:
                return None
            f.seek(offset)
            smdh = f.read(0x8 + 2 * 0x200)
    except OSError:
        return None
    if smdh[:4] != b"SMDH":
        return None
    english = smdh[0x8 + 0x200 : 0x8 + 0x200 + 0x80]  # titles: Japanese, English, ...
    return english.decode("utf-16-le", "replace").split("\0", 1)[0]


def text_pixels(png: Path, screen: str) -> int:
    """How many pixels of ``screen`` in hlemu's screenshot (top 400x240 above, bottom 320x240
    centred below) differ from that screen's most common colour, its background."""
    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(png).convert("RGB"))
    r0, r1, c0, c1 = SCREENS[screen]
    region = rgb[r0:r1, c0:c1].reshape(-1, 3)
    packed = (region[:, 0].astype(np.uint32) << 16) | (region[:, 1].astype(np.uint32) << 8) | region[:, 2]
    values, counts = np.unique(packed, return_counts=True)
    return int(packed.size - counts.max()) if values.size else 0


def changed_pixels(a: Path, b: Path, screen: str) -> int:
    """How many pixels of ``screen`` (top, bottom or both) differ between two of hlemu's
    screenshots (the gap either side of the bottom screen is not counted)."""
    import numpy as np
    from PIL import Image

    one, two = (np.asarray(Image.open(png).convert("RGB")) for png in (a, b))
    if one.shape != two.shape:
        raise ValueError(f"{a.name} is {one.shape}, {b.name} is {two.shape}")
    total = 0
    for name in RESPOND_SCREENS[screen]:
        r0, r1, c0, c1 = SCREENS[name]
        total += int(np.any(one[r0:r1, c0:c1] != two[r0:r1, c0:c1], axis=2).sum())
    return total


# -- running hlemu -------------------------------------------------------------------------

SUMMARY = re.compile(r"^hlemu: (?P<reason>[^;]+); (?P<rest>.*)$")
FRAME = re.compile(r"^hlemu: frame (\d+) written to ")
TOTAL = re.compile(r"^total: ([\d,]+) instructions")
PROBLEM = re.compile(r"guest crash|deadlock|abort|undefined instruction|svcBreak|waits forever|Traceback|Error:", re.I)
STATS_ROW = re.compile(r"^\s*\d+\s+\S+\s+(running|crashed|exited|killed)")


def run_hlemu(hlemu: list[str], program: Program, lines: list[str], frames: int, screenshot: Path,
              sdmc: Path, workdir: Path, tag: str, verbose: bool) -> Run:
    script = workdir / f"{program.name}.{tag}.input.txt"
    script.write_text("".join(f"{line}\n" for line in lines))
    command = [*hlemu, "run", "--stats", "--frames", str(frames), "--screenshot", str(screenshot),
               "--sdmc", str(sdmc)]
    if lines:
        command += ["--input", str(script)]
    command.append(str(program.path))
    run = Run(command=command)
    screenshot.unlink(missing_ok=True)  # a run that writes none must not be judged by an old one's
    if verbose:
        print("  $", " ".join(command), file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=program.timeout,
                              errors="replace")
        output, run.returncode = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        output = (_text(exc.stdout) + _text(exc.stderr))
        run.reason = f"timeout after {program.timeout:g} s"
    run.seconds = time.perf_counter() - started
    (workdir / f"{program.name}.{tag}.log").write_text(output)
    for line in output.splitlines():
        if m := FRAME.match(line):
            run.frame = int(m.group(1))
        elif m := TOTAL.match(line):
            run.instructions = int(m.group(1).replace(",", ""))
        elif m := SUMMARY.match(line):
            run.summary, run.reason = line, m.group("reason")
            run.status = m.group("rest").rsplit(": ", 1)[-1]
        if ("unimplemented" in line or "not implemented" in line) and line.strip() not in run.unimplemented:
            run.unimplemented.append(line.strip())
        elif PROBLEM.search(line) and not line.startswith("hlemu: ") and not STATS_ROW.match(line):
            run.problems.append(line.strip())
    run.tail = output.splitlines()[-12:]
    return run


def _frame_of(line: str) -> int:
    """The frame an input line names (-1 for a comment or blank line)."""
    head = line.split("#", 1)[0].split()
    return int(head[0]) if head and head[0].isdigit() else -1


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def _describe_stop(run: Run) -> str:
    """How a run ended, in words: 'still running at frame 300', 'exited (7) by frame 2',
    'crashed (hlemu exit status 3): data abort: ...', 'deadlock (hlemu exit status 4)'."""
    if run.returncode is None:
        return run.reason or "no answer from hlemu"
    at = f" at frame {run.frame}" if run.frame is not None else ""
    if run.status == "running" and run.reason == "frames done":
        return f"still running{at}"
    if run.status.startswith("exited"):
        return f"{run.status}{at.replace(' at ', ' by ')}" + (
            f" (hlemu exit status {run.returncode})" if run.returncode else "")
    name = EXIT_NAMES.get(run.returncode, "")
    first = next((line for line in run.problems if not line.startswith("[") and "===" not in line), "")
    what = run.status or run.reason or "stopped"
    return f"{what}{at} (hlemu exit status {run.returncode}{', ' + name if name else ''})" + (
        f": {first}" if first else "")


def check(program: Program, hlemu: list[str], out: Path, sdmc: Path, verbose: bool) -> Result:
    res = Result(name=program.name, file=str(program.path), era=program.era, title=program.title,
                 button=program.button, screen=program.screen, source=program.source,
                 mode="respond" if program.respond else "exit")
    if not program.path.is_file():
        res.reasons.append(f"{program.path}: no such file (fetch it; see --help)")
        return _finish(res, program)
    found = res.smdh_title = smdh_title(program.path)
    res.title = program.title if program.title is not None else found
    if program.title is not None:
        if found != program.title:
            res.reasons.append(f"SMDH title {found!r}, expected {program.title!r}")
    exits_alone = program.button == "NONE"

    # 1. look: run to the frame of the press, then the screen must show its text.
    look_png = out / f"{program.name}.look.png"
    look = res.look = run_hlemu(hlemu, program, program.input, program.frames + (program.grace if exits_alone else 0),
                                look_png, sdmc, out, "look", verbose)
    res.instructions, res.frames = look.instructions, look.frame
    if exits_alone:
        if not (look.returncode == 0 and look.status == "exited (0)"):
            res.reasons.append(f"did not exit 0 by itself within {program.frames + program.grace} frames: "
                               f"{_describe_stop(look)}")
    running = look.returncode == 0 and look.reason == "frames done" and look.status == "running"
    if not exits_alone and not running:
        res.reasons.append(f"before {program.button} (frame {program.frames}): {_describe_stop(look)}")
    if look_png.is_file():
        res.text_pixels = text_pixels(look_png, program.screen)
        if res.text_pixels < program.min_pixels:
            res.reasons.append(f"{program.screen} screen blank at frame {look.frame} "
                               f"({res.text_pixels} non-background pixels, need {program.min_pixels})")
    else:
        res.reasons.append("no screenshot")

    if program.respond and running:
        respond(program, hlemu, out, sdmc, verbose, res, look_png)
        return _finish(res, program)

    # 2. press: the same run, then the button; the program must exit 0 by itself. (Run even
    # when the title or the screen was wrong: whether it exits is worth knowing.)
    if not exits_alone and running:
        release = program.frames + max(1, program.hold)
        lines = [*program.input, f"{program.frames} {program.button}", f"{release} none"]
        press = res.press = run_hlemu(hlemu, program, lines, program.frames + program.grace,
                                      out / f"{program.name}.exit.png", sdmc, out, "press", verbose)
        res.instructions, res.frames = press.instructions, press.frame
        if not (press.returncode == 0 and press.status == "exited (0)"):
            res.reasons.append(f"after {program.button} at frame {program.frames}: {_describe_stop(press)}")
    return _finish(res, program)


def respond(program: Program, hlemu: list[str], out: Path, sdmc: Path, verbose: bool, res: Result,
            look_png: Path) -> None:
    """Respond mode, after a good look run: the baseline (no press) and the press run, both to
    frame FRAMES + grace; both must still be running there, and their last screens must differ
    in at least min_pixels pixels of respond_screen. Reasons go into ``res``."""
    end = program.frames + program.grace
    base_png, press_png = out / f"{program.name}.baseline.png", out / f"{program.name}.press.png"
    base = res.baseline = run_hlemu(hlemu, program, program.input, end, base_png, sdmc, out, "baseline", verbose)
    release = program.frames + max(1, program.hold)
    lines = [*program.input, f"{program.frames} {program.button}", f"{release} none"]
    press = res.press = run_hlemu(hlemu, program, lines, end, press_png, sdmc, out, "press", verbose)
    res.instructions, res.frames = press.instructions, press.frame
    runs_on = {}
    for run, what in ((base, f"without a press, to frame {end}"),
                      (press, f"after {program.button} at frame {program.frames}")):
        runs_on[what] = run.returncode == 0 and run.reason == "frames done" and run.status == "running"
        if not runs_on[what]:
            res.reasons.append(f"{what}: {_describe_stop(run)}")
    if not (base_png.is_file() and press_png.is_file()):
        res.reasons.append("no screenshot of the baseline or press run")
        return
    if look_png.is_file():
        res.moving_pixels = changed_pixels(look_png, base_png, program.respond_screen)
    res.changed_pixels = changed_pixels(base_png, press_png, program.respond_screen)
    if all(runs_on.values()) and res.changed_pixels < program.min_pixels:
        screens = "either screen" if program.respond_screen == "both" else f"the {program.respond_screen} screen"
        res.reasons.append(
            f"no response to {program.button}: {res.changed_pixels} pixels of {screens} differ at frame {end} "
            f"from the run without the press (need {program.min_pixels}; "
            f"{res.moving_pixels if res.moving_pixels is not None else '?'} changed by themselves "
            f"from frame {program.frames})")


def _finish(res: Result, program: Program) -> Result:
    res.seconds = sum(r.seconds for r in (res.look, res.baseline, res.press) if r)
    passed = not res.reasons
    if program.expect == "fail":
        res.result = "XPASS" if passed else "XFAIL"
    else:
        res.result = "PASS" if passed else "FAIL"
    return res


# -- report -------------------------------------------------------------------------------

def table(results: list[Result]) -> str:
    rows = [("program", "era / title", "check", "result", "instructions", "seconds", "frames")]
    for r in results:
        label = " / ".join(x for x in (r.era, r.title or "") if x) or "-"
        if r.mode == "respond":
            what = f"{r.button} responds" + (f" ({r.changed_pixels} px)" if r.changed_pixels is not None else "")
        else:
            what = "exits alone" if r.button == "NONE" else f"{r.button} exits"
        rows.append((r.name, label, what, r.result, f"{r.instructions:,}" if r.instructions is not None else "-",
                     f"{r.seconds:.1f}", str(r.frames) if r.frames is not None else "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.rjust(w) if i >= 4 else cell.ljust(w) for i, (cell, w) in
                               enumerate(zip(row, widths, strict=True))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    for r in results:
        for reason in r.reasons:
            lines.append(f"{r.name}: {reason}")
        seen: list[str] = []
        for run in (r.look, r.baseline, r.press):
            for line in (run.unimplemented + run.problems) if run and r.reasons else []:
                if line not in seen and len(seen) < 8:
                    seen.append(line)
                    lines.append(f"{r.name}:   {line}")
    return "\n".join(lines)


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acceptance.py", description=__doc__.split("\n\n", 1)[0],
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", type=Path, help="the manifest (.toml or .json) beside the programs")
    parser.add_argument("--out", type=Path, help="folder for screenshots, logs and input scripts "
                        "(default: a folder acceptance-out beside the manifest)")
    parser.add_argument("--json", type=Path, help="write the JSON record here (default: OUT/acceptance.json)")
    parser.add_argument("--sdmc", type=Path, help="the SD card folder handed to hlemu (default: OUT/sdmc; "
                        "a .3dsx is placed at sdmc:/3ds/NAME.3dsx there)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these programs (manifest names)")
    parser.add_argument("--frames", type=int, help="override every program's frames")
    parser.add_argument("--timeout", type=float, help="override every program's timeout (seconds a run)")
    parser.add_argument("--hlemu", help="the command that runs hlemu, e.g. 'hlemu' (default: this Python's "
                        "-m hlemu, run in the repository)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each hlemu command line")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        programs = load_manifest(args.manifest)
    except ManifestError as exc:
        print(f"acceptance: {exc}", file=sys.stderr)
        return 2
    if args.only:
        missing = set(args.only) - {p.name for p in programs}
        if missing:
            print(f"acceptance: --only: not in the manifest: {', '.join(sorted(missing))}", file=sys.stderr)
            return 2
        programs = [p for p in programs if p.name in args.only]
    for p in programs:
        if args.frames is not None:
            p.frames = args.frames
            p.input = [line for line in p.input if _frame_of(line) < p.frames]
        if args.timeout is not None:
            p.timeout = args.timeout
    out = (args.out or args.manifest.parent / "acceptance-out").resolve()
    out.mkdir(parents=True, exist_ok=True)
    sdmc = (args.sdmc or out / "sdmc").resolve()
    sdmc.mkdir(parents=True, exist_ok=True)
    hlemu = shlex.split(args.hlemu) if args.hlemu else [sys.executable, "-m", "hlemu"]
    results = []
    for program in programs:
        print(f"acceptance: {program.name} ({program.path.name}, {program.button} at frame {program.frames}"
              f"{' must change the screen' if program.respond else ''}) ...",
              file=sys.stderr, flush=True)
        res = check(program, hlemu, out, sdmc, args.verbose)
        print(f"acceptance: {program.name}: {res.result} in {res.seconds:.1f} s"
              + (f": {res.reasons[0]}" if res.reasons else ""), file=sys.stderr, flush=True)
        results.append(res)
    print(table(results))
    record = {
        "manifest": str(args.manifest.resolve()), "hlemu_commit": git_commit(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": platform.node(), "python": platform.python_version(),
        "passed": sum(r.result in ("PASS", "XFAIL") for r in results), "total": len(results),
        "results": [asdict(r) for r in results],
    }
    json_path = args.json or out / "acceptance.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = json_path.with_name(json_path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str) + "\n")
    os.replace(tmp, json_path)
    print(f"acceptance: {record['passed']}/{record['total']} as expected; record in {json_path}")
    return 0 if all(r.result in ("PASS", "XFAIL") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
