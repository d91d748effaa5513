"""Every command the README and docs/*.md show is run, as written, the way a reader runs it:
a subprocess, in a fresh folder, with a timeout; its exit status and key output checked.

Commands come from indented blocks and fenced ``sh`` blocks (one command a line, ``#``
comments dropped). A fenced block whose first line names a file (``/* pad/main.c: ...``,
``# pad/keys.txt: ...``) is written to that file, so a page that says "put this in main.c,
then run hlemu build" is followed step by step; ``cd DIR`` moves the rest of its page there.
Synopses (``[--backend B]``, ``PROGRAM``) are not commands. Commands that need a person (the
REPL, an interactive gdb) or change the machine (pip, apt-get, the test suite itself) are
skipped, saying why; ``hlemu gui`` runs on Qt's offscreen platform with ``--screenshot``
added; ``hlemu gdb ... &`` is served in the background for the ``gdb-multiarch -batch`` that
follows it. The pages run two at a time; each page's commands in order.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
TIMEOUT = 120  # seconds for any one command (the slowest, the fuzz campaign, takes ~15)
PLACEHOLDER = re.compile(r"\b(?:PROGRAM|NAME|DIR|FILE|COMMAND|PORT|ADDRESS|N|B|S|J)\b|\[|\.\.\.")
FILE_HEADER = re.compile(r"^(?:/\*|#) ([\w.-]+/[\w./-]+):")
DOC_PORT = "2345"
SETUP_ONLY = ("python3 -m pip install", "python3 -m pytest")  # parts of a set-up command not to run

# What a command must do beyond exiting 0 without a traceback: (exit status, texts its output
# has). Keys are commands as the page writes them (comments dropped). Every key must still be
# on some page (test_every_expectation_is_still_on_a_page).
EXPECT: dict[str, tuple[int, list[str]]] = {
    "hlemu run --stats": (0, ["[fb:34] fb: done", "context switches", "MIPS"]),
    "hlemu run hello": (7, ["[hello:32] Hello from hlemu!", "hlemu: all exited; hello: exited (7)"]),
    "hlemu run faults hello": (3, ["=== guest crash: process 32 'faults'", "[hello:33] exiting with 7"]),
    "hlemu run threads --trace-svc": (0, ["[svc] thread 1: CreateThread("]),
    "hlemu run ipc_client ipc_server": (0, ["ipc_client: 0 failures", "ipc_server: 0 failures"]),
    "hlemu run fb --frames 120 --screenshot fb.png --input pad.txt": (0, ["hlemu: frame 120 written to fb.png"]),
    "hlemu run console.3dsx --input pad.txt": (0, [", pressed C-LEFT", "600 frames without input, done"]),
    "hlemu new hello2": (0, ["made hello2/ (main.c, hlemu.toml, README.md)"]),
    "hlemu build hello2": (0, ["built hello2/build/hello2.elf (", "built hello2/build/hello2.3dsx ("]),
    "hlemu run hello2/build/hello2.elf": (0, ["[hello2:32] Hello from hello2, process 32!"]),
    "hlemu run threads --gdb 2345": (0, ["hlemu gdb: listening on 127.0.0.1:", "hlemu gdb: all exited"]),
    "hlemu run shmem --maps --stats": (0, ["memory map of", "total: "]),
    "hlemu info hello": (0, ["hello.elf: ELF,", "entry 0x00100000"]),
    "hlemu run --frames 60 --save-state demo.state": (0, ["hlemu: state saved to demo.state"]),
    "hlemu run fb --load-state demo.state": (2, ["the state is of other programs"]),
    "hlemu run --frames 120 --input pad.txt --record run.movie": (0, ["input movie written to run.movie"]),
    "hlemu info": (0, ["memory backend:", "physical memory:"]),
    "hlemu info console.3dsx": (0, ["console.3dsx: 3DSX", "SMDH at"]),
    "hlemu run romfs_read.3dsx --trace-ipc": (0, ["fs:USER OpenFileDirectly("]),
    "hlemu run cfg_values.3dsx --cfg language=fr --cfg model=N3DS": (0, ["hlemu: all exited"]),
    "hlemu run apt_lifecycle.3dsx --frames 30": (0, ["main loop: running",
                                                     "hlemu: frames done; apt_lifecycle: running"]),
    "hlemu run swkbd --input swkbd.txt": (0, ['[swkbd:32] name: button 2 (right), result 2, 3 units, "Ada"',
                                              '[swkbd:32] word: button 2 (right), result 5, 4 units, "good"']),
    "python3 scripts/acceptance.py --help": (0, ["manifest"]),
    "hlemu run gpu_triangles --screenshot gpu.png": (0, ["[gpu_triangles:32] gpu_triangles: 0 failures",
                                                         "written to gpu.png"]),
    "hlemu run gpu_textured --screenshot textured.png": (0, ["[gpu_textured:32] gpu_textured: 0 failures",
                                                             "written to textured.png"]),
    "hlemu run gpu_lit --screenshot lit.png": (0, ["[gpu_lit:32] gpu_lit: 0 failures", "written to lit.png"]),
    "hlemu run system_font --screenshot font.png": (0, ["[system_font:32] system_font: 0 failures",
                                                        "written to font.png"]),
    "hlemu run gpu_font --screenshot gpu_font.png": (0, ["[gpu_font:32] gpu_font: 0 failures",
                                                       "written to gpu_font.png"]),
    "python scripts/gen_bcfnt.py /tmp/system.bcfnt --sheets /tmp/sheet": (0, ["system.bcfnt: 66564 bytes",
                                                                             "sheet1.png: sheet 1"]),
    "hlemu fuzz svc --count 20 --jobs 2": (0, ["svc campaign:", "host crashes"]),
    # docs/guest-programs.md
    "hlemu new hello": (0, ["made hello/"]),
    "hlemu build hello": (0, ["built hello/build/hello.elf ("]),
    "hlemu run hello/build/hello.elf": (0, ["[hello:32] tick 3 at 300 ms", "hlemu: all exited; hello: exited (0)"]),
    "hlemu run hello/build/hello.3dsx": (0, ["[hello:32] Hello from hello, process 32!"]),
    "hlemu info hello/build/hello.3dsx": (0, ["SMDH at", "long title 'A guest program for hlemu'"]),
    "hlemu new pad": (0, ["made pad/"]),
    "hlemu build": (0, ["built build/pad.elf (", "built build/pad.3dsx ("]),
    "hlemu run build/pad.elf --input keys.txt --screenshot pad.png": (
        0, ["[pad:32] A at frame 39, 1 so far", "[pad:32] START: 2 presses", "hlemu: all exited; pad: exited (0)"]),
    "gdb-multiarch -batch -x debug.gdb build/pad.elf": (
        0, ["Breakpoint 1, move (", "#1  0x", "in main () at main.c:", "$4 = 1", "killed"]),
    # docs/gui.md (the picture goes to the test's folder, not into docs/images)
    "python3 scripts/window_picture.py": (0, ["hlemu: frame 120 of the window written to"]),
    # docs/gdb.md
    "python scripts/build_debug_guest.py hlemu/guest/programs/hello.c -o /tmp/hello-g.elf": (0, ["hello-g.elf"]),
}
# Things no command's output may have.
NEVER = ["Traceback", "propagateSizeHints"]


@dataclass
class Step:
    page: str
    line: int
    text: str  # the command, or a file's contents
    path: str | None = None  # set for a file to write
    skip: str | None = None  # why it is not run


@dataclass
class Outcome:
    status: int | None = None
    output: str = ""
    skipped: str | None = None
    seconds: float = 0.0


def _fenced(lines: list[str]) -> list[tuple[int, str, list[str]]]:
    """(first line number, language, body lines) of each fenced block."""
    blocks, at = [], None
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            if at is None:
                at, language, body = number + 1, line[3:].strip(), []
            else:
                blocks.append((at, language, body))
                at = None
        elif at is not None:
            body.append(line)
    return blocks


def _indented(lines: list[str]) -> list[tuple[int, str]]:
    """Indented command lines outside fences, with their backslash continuations joined."""
    found, fenced, previous_blank, in_block = [], False, True, False
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            fenced = not fenced
        if fenced:
            continue
        if line.startswith("    ") and (previous_blank or in_block) and not line.lstrip().startswith(("-", "|")):
            in_block = True
            if found and found[-1][1].endswith("\\"):
                found[-1] = (found[-1][0], found[-1][1][:-1].rstrip() + " " + line.strip())
            else:
                found.append((number, line.strip()))
        else:
            in_block = False
        previous_blank = not line.strip()
    return found


def _command(text: str) -> str:
    """A command line without its comment: from the first ``#`` after a space, outside quotes."""
    quote = None
    for i, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or text[i - 1].isspace()):
            return text[:i].rstrip()
    return text.strip()


def _unquoted(text: str) -> str:
    """The text without its quoted parts, where a synopsis' brackets cannot hide."""
    return re.sub(r"'[^']*'|\"[^\"]*\"", "", text)


def page_steps(page: str) -> list[Step]:
    lines = (ROOT / page).read_text().splitlines()
    steps = []
    for number, text in _indented(lines):
        if text.startswith(("hlemu ", "python3 ", "python ", "sudo ", "cd ")):
            steps.append(Step(page, number, text))
    for number, language, body in _fenced(lines):
        header = FILE_HEADER.match(body[0]) if body else None
        if header:
            steps.append(Step(page, number, "\n".join(body) + "\n", path=header.group(1)))
        elif language in ("sh", "bash", "shell"):
            steps += [Step(page, number + i, text) for i, text in enumerate(body) if text.strip()
                      and not text.lstrip().startswith("#")]
    steps.sort(key=lambda s: s.line)
    out = []
    for step in steps:
        if step.path is None:
            original = step.text
            background = original.rstrip().endswith("&")
            step.text = _command(original.rstrip().rstrip("&"))
            if PLACEHOLDER.search(_unquoted(step.text)):
                continue  # a synopsis
            if background:
                step.text += " &"
        out.append(step)
    _decide_skips(out)
    return out


def _decide_skips(steps: list[Step]) -> None:
    for i, step in enumerate(steps):
        if step.path is not None:
            continue
        words = step.text.rstrip(" &").split()
        later = next((s for s in steps[i + 1:] if s.path is None), None)
        if all(part.strip().startswith(SETUP_ONLY) for part in step.text.split("&&")):
            step.skip = "installs hlemu, or is the test suite itself"
        elif words[:2] == ["sudo", "apt-get"]:
            step.skip = "installs system packages"
        elif words[:2] == ["hlemu", "repl"]:
            step.skip = "interactive: a Python shell (tests/test_repl.py drives hlemu repl)"
        elif words[:3] == ["hlemu", "run", "--script"] and not (ROOT / words[3]).exists():
            step.skip = "docs/scripting.md's scripts are run by tests/api/test_docs.py"
        elif words[0] == "gdb-multiarch" and "-batch" not in words:
            step.skip = "interactive gdb (the -batch form of the same session runs)"
        elif step.text.endswith("&") and not (later and later.text.startswith("gdb-multiarch -batch")):
            step.skip = "serves the interactive gdb session that follows it"
        elif words[0] == "gdb-multiarch" and shutil.which("gdb-multiarch") is None:
            step.skip = "gdb-multiarch is not installed (CI installs it)"
        elif words[:2] == ["hlemu", "build"] and _no_toolchain():
            step.skip = f"no ARM toolchain: {_no_toolchain()}"


def _no_toolchain() -> str | None:
    from hlemu.guest import toolchain

    return toolchain.missing_toolchain()


ALL_STEPS = {page: page_steps(page) for page in PAGES}
COMMANDS = [s for steps in ALL_STEPS.values() for s in steps if s.path is None]


def units(steps: list[Step]) -> list[list[Step]]:
    """A page's steps in the groups that must run in order in one folder: the whole page
    when it is a walk-through (files, ``cd``, a background server); else each command alone,
    except that commands naming a folder an earlier ``hlemu new`` made follow that one."""
    if any(s.path or s.text.startswith("cd ") or s.text.endswith("&") for s in steps):
        return [steps]
    chains: dict[str, list[Step]] = {}
    out: list[list[Step]] = []
    for step in steps:
        words = step.text.split()
        folder = next((f for f in chains if any(w == f or w.startswith(f + "/") for w in words)), None)
        if folder is None:
            out.append([step])
            unit = out[-1]
        else:
            unit = chains[folder]
            unit.append(step)
        if words[:2] == ["hlemu", "new"]:
            chains[words[2]] = unit
        for option, made in zip(words, words[1:], strict=False):
            if option in MAKES_FILE:  # later commands that read the file follow this one
                chains.setdefault(made, unit)
    return out


MAKES_FILE = ("--save-state", "--record")  # options whose value is a file the command writes


def _cost(unit: list[Step]) -> int:
    """Roughly how long a unit takes, to start the long ones first."""
    text = " ".join(s.text for s in unit)
    return 100 * len(unit) + 50 * text.count("fuzz") + 40 * text.count("run --stats") + 20 * text.count("gui")


class UnitRun:
    """One unit's steps, in order, in its own folder (``cd`` moves the rest of the unit)."""

    def __init__(self, steps: list[Step], tmp: Path) -> None:
        self.steps, self.tmp = steps, tmp
        self.root = self.cwd = tmp / "work"  # files are the page's, commands run where cd took them
        self.root.mkdir(parents=True)
        self.port = str(_free_port())
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(tmp / "home"), QT_QPA_PLATFORM="offscreen",
                        PYTHONUNBUFFERED="1")
        for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "DISPLAY", "WAYLAND_DISPLAY"):
            self.env.pop(name, None)
        self.server: subprocess.Popen[str] | None = None
        self.server_output: list[str] = []
        self.reader = threading.Thread()
        self.outcomes: dict[tuple[str, int], Outcome] = {}
        self.shots = 0

    def run(self) -> dict[tuple[str, int], Outcome]:
        for step in self.steps:
            if step.path is not None:
                target = self.root / step.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(step.text.replace(f":{DOC_PORT}", f":{self.port}"))
            elif step.skip:
                self.outcomes[step.page, step.line] = Outcome(skipped=step.skip)
            else:
                started = time.perf_counter()
                outcome = self.command(step.text)
                outcome.seconds = time.perf_counter() - started
                self.outcomes[step.page, step.line] = outcome
        if self.server is not None:
            self.finish_server()
        return self.outcomes

    def argv(self, text: str) -> tuple[list[str], Path]:
        words = shlex.split(text.replace("/tmp/", f"{self.tmp}/"))
        words = [self.port if w == DOC_PORT else w.replace(f":{DOC_PORT}", f":{self.port}") for w in words]
        cwd = self.cwd
        if words[0] == "hlemu":
            if words[1:2] == ["gui"] and "--screenshot" not in words:
                self.shots += 1
                words += ["--screenshot", str(self.tmp / f"gui-{self.shots}.png")]
                words += [] if "--frames" in words else ["--frames", "5"]
            if words[1:2] == ["gdb"] and "--port" not in words:
                words += ["--port", self.port]
            words = [sys.executable, "-m", "hlemu", *words[1:]]
        elif words[0] in ("python3", "python"):
            words[0], cwd = sys.executable, ROOT  # the scripts take repository paths
            if words[1:2] == ["scripts/window_picture.py"]:
                words += ["--output", str(self.tmp / "window.png")]
        return words, cwd

    def command(self, text: str) -> Outcome:
        if text.startswith("cd "):
            self.cwd = self.cwd / text.split(None, 1)[1]
            return Outcome(status=0 if self.cwd.is_dir() else 1, output=f"cd {self.cwd}")
        parts = [p.strip() for p in text.split("&&")]
        skipped = [p for p in parts if p.startswith(SETUP_ONLY)]  # the suite runs installed already
        for part in parts:
            if part in skipped:
                continue
            if part.endswith("&"):
                return self.serve(part.rstrip(" &"))
            words, cwd = self.argv(part)
            try:
                done = subprocess.run(words, cwd=cwd, env=self.env, capture_output=True, text=True,
                                      timeout=TIMEOUT, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired as exc:
                return Outcome(status=None, output=f"timed out after {TIMEOUT} s\n{exc.stdout}{exc.stderr}")
            output = done.stdout + done.stderr + self.finish_server()
            if done.returncode != 0 or part == parts[-1]:
                return Outcome(status=done.returncode, output=output)
        return Outcome(status=0)

    def serve(self, text: str) -> Outcome:
        """Start ``hlemu gdb`` in the background and wait until it listens."""
        words, cwd = self.argv(text)
        self.server = subprocess.Popen(words, cwd=cwd, env=self.env, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
        self.server_output = []
        listening = threading.Event()

        def read() -> None:
            assert self.server is not None and self.server.stdout is not None
            for line in self.server.stdout:
                self.server_output.append(line)
                if "listening on" in line:
                    listening.set()
            listening.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        listening.wait(TIMEOUT)
        return Outcome(status=0 if self.server.poll() is None else self.server.returncode,
                       output="".join(self.server_output))

    def finish_server(self) -> str:
        """After the gdb session: the server must end by itself (gdb killed or detached)."""
        if self.server is None:
            return ""
        server, self.server = self.server, None
        try:
            status = server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            status = server.wait()
        self.reader.join(10)
        assert server.stdout is not None
        server.stdout.close()
        return f"\n--- hlemu gdb (exit status {status}):\n" + "".join(self.server_output)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[tuple[str, int], Outcome]:
    """Run every unit of every page, two at a time, the long ones first; a command two pages
    show alike (a lone one) runs once."""
    todo: list[list[Step]] = []
    same: dict[str, list[Step]] = {}  # a lone command's text -> its steps on every page
    for page in PAGES:
        for unit in units(ALL_STEPS[page]):
            if len(unit) == 1 and unit[0].text in same:
                same[unit[0].text].append(unit[0])
                continue
            if len(unit) == 1:
                same[unit[0].text] = [unit[0]]
            todo.append(unit)
    todo.sort(key=_cost, reverse=True)
    runs = [UnitRun(unit, tmp_path_factory.mktemp("unit")) for unit in todo]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results: dict[tuple[str, int], Outcome] = {}
        for result in pool.map(UnitRun.run, runs):
            results.update(result)
    for steps in same.values():
        for twin in steps[1:]:
            results[twin.page, twin.line] = results[steps[0].page, steps[0].line]
    slowest = sorted(((o.seconds, f"{page}:{line}") for (page, line), o in results.items()), reverse=True)[:5]
    print("slowest:", ", ".join(f"{where} {seconds:.1f} s" for seconds, where in slowest))
    return results


@pytest.mark.parametrize("step", COMMANDS, ids=[f"{s.page}:{s.line}:{s.text}" for s in COMMANDS])
def test_the_command_works_as_written(outcomes, step):
    outcome = outcomes[(step.page, step.line)]
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    status, texts = EXPECT.get(step.text.rstrip(" &"), (0, []))
    assert outcome.status == status, f"{step.text}: exit status {outcome.status}\n{outcome.output}"
    for text in texts:
        assert text in outcome.output, f"{step.text}: no {text!r} in\n{outcome.output}"
    for text in NEVER:
        assert text not in outcome.output, f"{step.text}:\n{outcome.output}"


def test_the_pages_have_the_commands_this_test_expects():
    assert {"README.md", "docs/guest-programs.md", "docs/gui.md", "docs/gdb.md"} <= set(PAGES)
    texts = {s.text.rstrip(" &") for s in COMMANDS}
    readme = [s.text for s in ALL_STEPS["README.md"] if s.path is None]
    assert readme[:2] == ["python3 -m pip install -e . && hlemu run --stats",
                          "python3 -m pip install -e '.[test]' && python3 -m pytest"]  # the two set-up commands
    assert "hlemu gdb build/pad.elf" in texts and "gdb-multiarch -batch -x debug.gdb build/pad.elf" in texts
    files = {s.path for s in ALL_STEPS["docs/guest-programs.md"] if s.path}
    assert files == {"pad/main.c", "pad/keys.txt", "pad/debug.gdb"}


def test_every_expectation_is_still_on_a_page():
    texts = {s.text.rstrip(" &") for s in COMMANDS}
    parts = {p.strip() for t in texts for p in t.split("&&")}
    assert not set(EXPECT) - texts - parts


def test_commands_and_synopses_are_told_apart():
    """A synopsis (placeholders, [options]) is not a command; comments and & are not arguments."""
    steps = page_steps("README.md")
    texts = [s.text for s in steps]
    assert "hlemu run hello" in texts  # "# printf, malloc, exit status 7" dropped
    assert not any("[" in _unquoted(t) or "PROGRAM" in t for t in texts)
    assert _command("hlemu run fb --frames 120   # 2 seconds") == "hlemu run fb --frames 120"
    assert _command("hlemu run --cfg 'username=Ada L'") == "hlemu run --cfg 'username=Ada L'"
