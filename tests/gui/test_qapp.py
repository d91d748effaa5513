"""The process keeps its one QApplication: made inside a function (``hlemu bench gui``,
``hlemu gui`` run in-process), it outlives the function (gui/qapp.py)."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import gc
from PyQt6.QtWidgets import QApplication
from gui.qapp import application

def make():
    application()

make()
gc.collect()
first = QApplication.instance()
assert first is not None, "the application died with the function that made it"
assert application() is first
print("kept")
"""


def test_the_application_outlives_the_function_that_made_it():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "kept"
