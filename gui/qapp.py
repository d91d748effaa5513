"""The process's one QApplication, made once and kept for the life of the process.

A QApplication made from Python belongs to the Python object: held only by a local variable,
it is destroyed when the function that made it returns (``hlemu bench gui`` and ``hlemu gui``
run in-process from the CLI and the tests). Qt does not survive a second QApplication after the
first is gone: pyqtgraph and Qt keep objects of the first, and the test suite crashed inside
pyqtgraph's widget construction in a later window (a SIGSEGV, about one run in three, after
tests/bench's in-process ``bench gui``).
"""

from __future__ import annotations

import sys

from PyQt6.QtWidgets import QApplication

_APP: QApplication | None = None


def application() -> QApplication:
    """The running QApplication, made (and kept) on the first call if there is none."""
    global _APP
    app = QApplication.instance()
    if app is None:
        _APP = app = QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    return app
