"""Every ``python`` block of docs/scripting.md runs, and prints what the ``text`` block after it shows.

Each block runs in a fresh namespace (``exec``). A block whose first line is
``# hlemu run --script NAME PROGRAM...`` is a script for that command and is
run through it (``python -m hlemu run --script``), so the command is tested as
the guide describes it. A ``text`` block that directly follows a ``python``
block (blank lines only in between) is the block's expected output, compared
line by line. Blocks must also clean up: every Emulator a block makes must be
closed by the block, and made with ``echo=False`` (guest output would
otherwise mix with what the example prints).
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from kernel.api import Emulator

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "scripting.md"
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
SCRIPT_MARK = re.compile(r"^# hlemu run --script (\S+)((?: \S+)*)\s*$")


@dataclass
class Example:
    index: int  # among the python blocks, from 0
    line: int  # where the block's code starts in the file
    code: str
    expected: str | None  # the text block right after it, if any

    @property
    def script(self) -> tuple[str, list[str]] | None:
        """(script name, programs) for a ``# hlemu run --script`` block."""
        match = SCRIPT_MARK.match(self.code.splitlines()[0]) if self.code.strip() else None
        return (match.group(1), match.group(2).split()) if match else None


def examples() -> list[Example]:
    text = GUIDE.read_text()
    fences = list(FENCE.finditer(text))
    found = []
    for i, fence in enumerate(fences):
        if fence.group(1) != "python":
            continue
        expected = None
        if i + 1 < len(fences):
            after = fences[i + 1]
            if after.group(1) == "text" and not text[fence.end() : after.start()].strip():
                expected = after.group(2)
        line = text.count("\n", 0, fence.start(2)) + 1
        found.append(Example(len(found), line, fence.group(2), expected))
    return found


EXAMPLES = examples()


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").splitlines()]


def test_the_guide_has_the_examples_it_promises():
    assert len(EXAMPLES) >= 8
    every = "\n".join(e.code for e in EXAMPLES)
    for api in ("watch(", "on_ipc(", ".maps()", "frames=", "breakpoint(", ".step()", "disasm(", ".diff("):
        assert api in every, f"no example uses {api}"
    for backend in ('"fastmem"', '"semifastmem"', '"slowmem"'):
        assert backend in every
    assert sum(e.expected is not None for e in EXAMPLES) >= 8, "most examples should show their output"


@pytest.fixture
def emulators(monkeypatch):
    """Every Emulator the example makes, and whether the example closed it; all are closed afterwards."""
    made: dict[int, list] = {}
    real_init, real_close = Emulator.__init__, Emulator.close

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        made[id(self)] = [self, False]

    def close(self):
        if id(self) in made:
            made[id(self)][1] = True
        real_close(self)

    monkeypatch.setattr(Emulator, "__init__", init)
    monkeypatch.setattr(Emulator, "close", close)
    yield made
    for emu, _closed in made.values():
        real_close(emu)


def _run_in_process(example: Example, emulators: dict) -> str:
    out = io.StringIO()
    namespace = {"__name__": f"scripting_md_block_{example.index}"}
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(example.code, f"{GUIDE}:block {example.index}", "exec"), namespace)  # noqa: S102
    except Exception:
        pytest.fail(f"docs/scripting.md python block {example.index} (line {example.line}) raised:\n"
                    f"{traceback.format_exc()}\nit printed:\n{out.getvalue()}", pytrace=False)
    for emu, closed in emulators.values():
        assert not emu.echo, f"block {example.index} (line {example.line}): make the Emulator with echo=False"
        assert closed, f"block {example.index} (line {example.line}) does not close its Emulator"
    return out.getvalue()


def _run_as_script(example: Example, tmp_path: Path) -> str:
    name, programs = example.script  # type: ignore[misc]
    path = tmp_path / name
    path.write_text(example.code)
    result = subprocess.run([sys.executable, "-m", "hlemu", "run", "--script", str(path), *programs],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    if result.returncode != 0:
        pytest.fail(f"docs/scripting.md python block {example.index} (line {example.line}), run as "
                    f"`hlemu run --script {name} {' '.join(programs)}`, exited {result.returncode}:\n"
                    f"{result.stderr}\nstdout:\n{result.stdout}", pytrace=False)
    return result.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"block{e.index}-line{e.line}" for e in EXAMPLES])
def test_example_runs_and_prints_what_the_guide_shows(example, emulators, tmp_path):
    printed = _run_as_script(example, tmp_path) if example.script else _run_in_process(example, emulators)
    if example.expected is not None and _lines(printed) != _lines(example.expected):
        pytest.fail(f"docs/scripting.md python block {example.index} (line {example.line}) printed something "
                    f"else than the text block after it.\n--- the guide shows:\n{example.expected}"
                    f"--- it printed:\n{printed}", pytrace=False)
