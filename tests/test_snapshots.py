"""The snapshot helper: a missing or different snapshot fails; only an explicit update writes, never under CI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.snapshots import Snapshots, in_ci

REPO = Path(__file__).resolve().parent.parent


def test_a_missing_snapshot_fails_and_is_not_written(tmp_path):
    path = tmp_path / "missing.json"
    with pytest.raises(pytest.fail.Exception, match="is missing"):
        Snapshots(update=False).json(path, {"output": ["hi"]})
    assert not path.exists()


def test_a_different_output_fails(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"output": ["hi"]}))
    Snapshots(update=False).json(path, {"output": ["hi"]})
    with pytest.raises(AssertionError):
        Snapshots(update=False).json(path, {"output": ["bye"]})
    assert json.loads(path.read_text()) == {"output": ["hi"]}


def test_a_missing_binary_reference_fails(tmp_path):
    got = tmp_path / "got.png"
    got.write_bytes(b"\x89PNG")
    with pytest.raises(pytest.fail.Exception, match="is missing"):
        Snapshots(update=False).file(tmp_path / "want.png", got, lambda a, b: True)
    assert not (tmp_path / "want.png").exists()


def test_update_rewrites_the_file(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"output": ["old"]}))
    Snapshots(update=True).json(path, {"output": ["new"]})
    assert json.loads(path.read_text()) == {"output": ["new"]}


@pytest.mark.parametrize(("value", "expected"), [
    (None, False), ("", False), ("0", False), ("false", False), ("true", True), ("1", True), ("TRUE", True),
])
def test_ci_is_read_from_the_environment(value, expected):
    environ = {} if value is None else {"CI": value}
    assert in_ci(environ) is expected


def test_the_pytest_option_is_refused_under_ci():
    done = subprocess.run([sys.executable, "-m", "pytest", "--update-snapshots", "--collect-only", "-q",
                           "-p", "no:cacheprovider", "tests/test_snapshots.py"],
                          cwd=REPO, env={"CI": "true", "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert done.returncode != 0
    assert "refused when CI is set" in done.stderr + done.stdout


def test_the_script_is_refused_under_ci():
    done = subprocess.run([sys.executable, "scripts/update_snapshots.py"], cwd=REPO,
                          env={"CI": "true", "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert done.returncode == 2 and "refused" in done.stderr
