#!/usr/bin/env python3
"""Regenerate the README's picture of the window, docs/images/window.png, from the real window.

    python3 scripts/window_picture.py                       # the demo after 120 frames
    python3 scripts/window_picture.py --frames 300 -o /tmp/window.png fb hello

It runs ``hlemu gui --screenshot`` on Qt's offscreen platform (no display needed): the demo
(or the programs named) for N frames as fast as the host goes, then a grab of the whole
window, docks and all. Guest time is counted in instructions, so the same frames give the
same screens on every host; only the text's font and the MIPS figure in the status bar
depend on the machine. Run it after a change to the window, and commit the picture.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PICTURE = REPO / "docs" / "images" / "window.png"


def take(output: Path, frames: int, programs: list[str]) -> int:
    """Run the window offscreen and save its grab to ``output``; hlemu's exit status."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "hlemu", "gui", *programs, "--frames", str(frames),
               "--screenshot", str(output)]
    return subprocess.run(command, env=env, cwd=REPO).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("programs", nargs="*", metavar="PROGRAM", help="what to run (default: the demo)")
    parser.add_argument("--frames", type=int, default=120, help="frames to run before the grab (default 120)")
    parser.add_argument("-o", "--output", type=Path, default=PICTURE,
                        help="where to save it (default docs/images/window.png)")
    args = parser.parse_args(argv)
    if args.frames < 1:
        parser.error("--frames must be at least 1")
    return take(args.output.resolve(), args.frames, args.programs)


if __name__ == "__main__":
    sys.exit(main())
