#!/usr/bin/env python3
"""Rewrite the snapshot files of the guest-program and IPC tests from the current outputs.

Snapshots are the expected outputs the tests compare against, so updating them is a
deliberate act: run this after an intended change, then review ``git diff`` before
committing. The script refuses to run when ``CI`` is set, and the tests never write a
snapshot themselves (a missing one fails)::

    python3 scripts/update_snapshots.py                     # every snapshot test
    python3 scripts/update_snapshots.py tests/guest         # only these
    python3 scripts/update_snapshots.py -k hello            # extra pytest arguments pass through

It runs ``pytest --update-snapshots`` (the option is defined in ``tests/conftest.py``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SNAPSHOT_TESTS = ["tests/guest/test_programs.py", "tests/ipc/test_ipc.py"]


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(REPO))
    from tests.snapshots import OPTION, in_ci

    if in_ci():
        print("update_snapshots: refused, CI is set (snapshots are updated by hand and reviewed)", file=sys.stderr)
        return 2
    names_a_path = any((REPO / a.split("::")[0]).exists() for a in argv if not a.startswith("-"))
    selection = argv if names_a_path else SNAPSHOT_TESTS + argv
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", OPTION, *selection]
    print("update_snapshots:", " ".join(command[2:]))
    done = subprocess.run(command, cwd=REPO)
    if done.returncode == 0:
        print("update_snapshots: done; review `git diff tests/` before committing")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
