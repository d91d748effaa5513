"""Snapshot files: expected outputs committed beside the tests that compare against them.

A missing snapshot is a failure, never a file written on the fly. Snapshots are
(re)written only on request: ``python3 scripts/update_snapshots.py`` (or
``python3 -m pytest --update-snapshots tests/guest tests/ipc``), which refuses to
run under CI (``CI`` set to anything but ``""``/``0``/``false``), so a CI run can
never turn a wrong output into the expected one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

OPTION = "--update-snapshots"


def in_ci(environ=os.environ) -> bool:
    """True when the ``CI`` variable says we are on a CI machine (``CI=true`` on GitHub, GitLab...)."""
    return environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


class Snapshots:
    """Compares outputs with committed files; writes them only when ``update`` is set."""

    def __init__(self, update: bool) -> None:
        self.update = update

    def json(self, path: Path, got) -> None:
        """Assert ``got`` equals the JSON in ``path`` (or rewrite ``path`` when updating)."""
        if self.update:
            path.write_text(json.dumps(got, indent=1) + "\n")
            return
        if not path.exists():
            pytest.fail(f"snapshot {path} is missing: run `python3 scripts/update_snapshots.py` and review it")
        assert got == json.loads(path.read_text())

    def file(self, path: Path, got: Path, same) -> None:
        """Assert ``same(got, path)`` for a binary reference (a PNG...), or copy ``got`` over it when updating."""
        if self.update:
            path.write_bytes(got.read_bytes())
            return
        if not path.exists():
            pytest.fail(f"reference {path} is missing: run `python3 scripts/update_snapshots.py` and review it")
        assert same(got, path), f"{got.name} differs from {path}"
