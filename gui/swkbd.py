"""The software keyboard in the window: a ``QInputDialog`` for each ``swkbdInputText``.

The keyboard (:mod:`kernel.applets.swkbd`) asks its frontend on the emulation thread, in the
middle of the guest's StartLibraryApplet request. :meth:`KeyboardDialogs.ask` (that thread)
emits :attr:`KeyboardDialogs.asked`, which reaches the GUI thread queued; the dialog opens
there without a nested event loop (``open()``), and its answer comes back through a
``threading.Event`` the emulation thread waits on in short slices. So the window stays live,
and no guest time passes while the dialog is open: the emulation thread is inside the
request. Pause, Step and console commands wait their turn until the dialog is answered;
closing the window (:meth:`close`) or stopping the session (``Session.stop`` requests the
emulation thread's interruption) ends the wait, and the keyboard gets no answer (its default).

The dialog shows the hint (or "Text:"), the reason the last answer was refused, the initial
text; its buttons are the keyboard's (one: OK only; two: the left one as Cancel; three: the
middle one too); the line edit takes at most ``max_text_len`` characters (Qt counts UTF-16
units, as the keyboard does); password mode hides the text; multiline keyboards get a
plain-text editor (no length limit there: the keyboard cuts the text).
"""

from __future__ import annotations

import threading

from PyQt6.QtCore import QObject, QThread, pyqtSignal
from PyQt6.QtWidgets import QDialogButtonBox, QInputDialog, QLineEdit, QWidget

from kernel.applets.swkbd import LEFT, MIDDLE, RIGHT, KeyboardAnswer, KeyboardRequest

WAIT_SLICE = 0.05  # seconds between looks at "the window is closing" while waiting


class KeyboardDialogs(QObject):
    """Lives on the GUI thread; :meth:`ask` is the keyboard's frontend (emulation thread)."""

    asked = pyqtSignal(object)  # KeyboardRequest, from the emulation thread
    shown = pyqtSignal(object)  # the QInputDialog, once it is open (tests answer it)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self._answer: KeyboardAnswer | None = None
        self._answered = threading.Event()
        self._closing = threading.Event()
        self.dialog: QInputDialog | None = None
        self.asked.connect(self._show)  # queued: emitted on another thread

    # -- the emulation thread ----------------------------------------------------------------------
    def ask(self, request: KeyboardRequest) -> KeyboardAnswer | None:
        if self._closing.is_set():
            return None
        self._answer = None
        self._answered.clear()
        self.asked.emit(request)
        thread = QThread.currentThread()
        while not self._answered.wait(WAIT_SLICE):
            if self._closing.is_set() or (thread is not None and thread.isInterruptionRequested()):
                return None
        return self._answer

    # -- the GUI thread ----------------------------------------------------------------------------
    def close(self) -> None:
        """The window is closing: a waiting keyboard gets no answer, later ones are not asked."""
        self._closing.set()
        if self.dialog is not None:
            self.dialog.reject()

    def _show(self, request: KeyboardRequest) -> None:
        if self._closing.is_set():
            return
        dialog = self.dialog = QInputDialog(self._parent)
        dialog.setWindowTitle("Software keyboard")
        label = request.hint or "Text:"
        dialog.setLabelText(f"{request.error}\n{label}" if request.error else label)
        if request.multiline:
            dialog.setOption(QInputDialog.InputDialogOption.UsePlainTextEditForTextInput)
        dialog.setTextValue(request.initial_text)
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password if request.password else QLineEdit.EchoMode.Normal)
        edit = dialog.findChild(QLineEdit)
        if edit is not None:
            edit.setMaxLength(max(1, request.max_length))
        labels = dict(zip(request.button_ids, request.buttons, strict=False))
        dialog.setOkButtonText(labels.get(RIGHT, "OK"))
        box = dialog.findChild(QDialogButtonBox)
        if LEFT in labels:
            dialog.setCancelButtonText(labels[LEFT])
        elif box is not None and box.button(QDialogButtonBox.StandardButton.Cancel) is not None:
            box.button(QDialogButtonBox.StandardButton.Cancel).hide()
        if MIDDLE in labels and box is not None:
            middle = box.addButton(labels[MIDDLE], QDialogButtonBox.ButtonRole.ActionRole)
            middle.clicked.connect(lambda: self._finish(dialog, MIDDLE))
        dialog.accepted.connect(lambda: self._finish(dialog, RIGHT))
        dialog.rejected.connect(lambda: self._finish(dialog, LEFT if LEFT in labels else None))
        dialog.open()
        self.shown.emit(dialog)

    def _finish(self, dialog: QInputDialog, button: int | None) -> None:
        if self._answered.is_set() or dialog is not self.dialog:
            return
        self.dialog = None
        self._answer = None if button is None else KeyboardAnswer(dialog.textValue(), button, "dialog")
        self._answered.set()
        dialog.hide()
        dialog.deleteLater()


__all__ = ["KeyboardDialogs"]
