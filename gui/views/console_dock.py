"""The console dock: type Python against ``emu``; it runs on the emulation thread."""

from __future__ import annotations

import os

from PyQt6.QtCore import QEvent, QObject, Qt
from PyQt6.QtGui import QKeyEvent
from PyQt6.QtWidgets import QDockWidget, QLineEdit, QPlainTextEdit

from gui.console import BANNER, ConsoleInterpreter
from gui.models.base import MONO
from gui.session import Session
from gui.views.tables import stack


class ConsoleDock(QDockWidget):
    """Output above, a prompt line below; Up/Down walk the history, Tab completes."""

    def __init__(self, session: Session) -> None:
        super().__init__("Console")
        self.setObjectName("console")
        self.session = session
        self.interpreter = ConsoleInterpreter()
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setFont(MONO)
        self.output.setPlainText(BANNER)
        self.prompt = QLineEdit()
        self.prompt.setFont(MONO)
        self.prompt.setPlaceholderText(">>> Python on emu (Enter runs, Tab completes, Up/Down history)")
        self.prompt.returnPressed.connect(self.submit)
        self.prompt.installEventFilter(self)
        stack(self, self.output, self.prompt)
        self.history: list[str] = []
        self._at = 0
        self.more = False
        self.busy = 0  # lines sent, not yet answered

    def submit(self, line: str | None = None) -> None:
        """Run a line (the prompt's text by default) and show what it printed."""
        line = self.prompt.text() if line is None else line
        self.prompt.clear()
        self.output.appendPlainText(("... " if self.more else ">>> ") + line)
        if line.strip():
            self.history.append(line)
        self._at = len(self.history)
        self.busy += 1
        interpreter = self.interpreter
        self.session.call(lambda emu: interpreter.push(emu, line), self._answered)

    def _answered(self, result: object, error: str | None) -> None:
        self.busy -= 1
        if error is not None:
            self.output.appendPlainText(error.rstrip())
            return
        text, more = result if isinstance(result, tuple) else ("", False)
        self.more = bool(more)
        if text:
            self.output.appendPlainText(str(text).rstrip(os.linesep))
        self.output.verticalScrollBar().setValue(self.output.verticalScrollBar().maximum())

    def _complete(self) -> None:
        text = self.prompt.text()
        word = text.split()[-1] if text.split() and not text.endswith(" ") else ""
        interpreter = self.interpreter

        def show(result: object, error: str | None) -> None:
            matches: list[str] = result or []  # type: ignore[assignment]
            if len(matches) == 1:
                self.prompt.setText(text[: len(text) - len(word)] + matches[0])
            elif matches:
                common = os.path.commonprefix(matches)
                if len(common) > len(word):
                    self.prompt.setText(text[: len(text) - len(word)] + common)
                self.output.appendPlainText("  ".join(m.rsplit(".", 1)[-1] for m in matches))

        self.session.call(lambda emu: interpreter.complete(emu, word), show)

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if obj is self.prompt and isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key == Qt.Key.Key_Tab:
                self._complete()
                return True
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self.history:
                self._at = max(0, min(len(self.history), self._at + (-1 if key == Qt.Key.Key_Up else 1)))
                self.prompt.setText(self.history[self._at] if self._at < len(self.history) else "")
                return True
        return super().eventFilter(obj, event)
