"""Docks about processes: the process and thread lists, handles, IPC traffic, debug output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QModelIndex, Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
)

from gui.layout import fit_columns
from gui.models import HandleModel, IpcModel, ProcessModel, ThreadModel
from gui.models.base import MONO
from gui.state import IpcRow, Snapshot
from gui.views.columns import offer_columns
from gui.views.tables import TableDock, make_table, on_screen, row_object, stack
from gui.worker import IPC_KEEP

# The widest text a column shows while the guests run (its contents at the start are narrower).
PROCESS_SAMPLES = {ProcessModel.PID: "99999", ProcessModel.NAME: "ipc_client", ProcessModel.STATUS: "exited (255)",
                   ProcessModel.INSTRUCTIONS: "9,999,999,999", ProcessModel.FAULTS: "99,999,999"}
THREAD_SAMPLES = {ThreadModel.PID: "99999", ThreadModel.TID: "999", ThreadModel.NAME: "thread 99",
                  ThreadModel.STATE: "waiting", ThreadModel.PRIORITY: "0x3f", ThreadModel.PC: "00000000"}


class ProcessDock(QDockWidget):
    """Processes above, their threads below; picking one selects it for every other dock.

    The process table shows pid, name, status, instructions and faults; right-click its
    header for the SMDH title, SVCs, threads and each fault kind."""

    selected = pyqtSignal(int, object)  # pid, tid or None

    def __init__(self) -> None:
        super().__init__("Processes and threads")
        self.setObjectName("processes")
        self.processes, self.threads = ProcessModel(), ThreadModel()
        self.process_view, self.process_proxy = make_table(self.processes, mirror=True)
        self.thread_view, self.thread_proxy = make_table(self.threads, mirror=True)
        offer_columns(self.process_view, shown=ProcessModel.KEY_COLUMNS)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.process_view)
        split.addWidget(self.thread_view)
        self.setWidget(split)
        self.process_view.clicked.connect(lambda index: self._pick(index, thread=False))
        self.thread_view.clicked.connect(lambda index: self._pick(index, thread=True))

    def _pick(self, index: QModelIndex, thread: bool) -> None:
        row: Any = row_object(index)
        if row is not None:
            self.selected.emit(row.pid, row.tid if thread else None)

    def show_snapshot(self, snap: Snapshot) -> None:
        self.processes.set_rows(snap.processes)
        self.threads.set_rows(snap.threads)

    def fit_columns(self) -> int:
        """Size the columns for what they will show; the width the dock needs for the
        process table's key columns without scrolling sideways."""
        fit_columns(self.thread_view, THREAD_SAMPLES, THREAD_SAMPLES)
        return fit_columns(self.process_view, ProcessModel.KEY_COLUMNS, PROCESS_SAMPLES)


class HandleDock(TableDock):
    def __init__(self) -> None:
        super().__init__("Handles", HandleModel(), "handles", "filter handles (type, object, holder)", mirror=True)

    def show_snapshot(self, snap: Snapshot) -> None:
        self.model.set_rows(snap.detail.handles if snap.detail else [])  # type: ignore[attr-defined]
        self.setWindowTitle(f"Handles of process {snap.detail.pid}" if snap.detail else "Handles")


class IpcDock(TableDock):
    """Every request and reply, decoded; filter by process, by service, or by any text.

    While the guests run and the dock is out of sight (a tab behind another), new messages
    wait in :attr:`pending` instead of going into the table: each insert makes the sorting
    proxy compare rows through the model's Python ``data()``, thousands of calls a second
    that hold the interpreter lock the emulation thread needs. They go in as soon as the
    dock is shown, and on every snapshot of stopped guests (pause, step, breakpoint)."""

    def __init__(self) -> None:
        super().__init__("IPC recorder", IpcModel(), "ipc", "filter messages (any column)",
                         natural=IpcModel.SEQ)  # rows come in message order
        self.process_box, self.service_box = QComboBox(), QComboBox()
        self.process_box.addItem("all processes", None)
        self.service_box.addItem("all services", None)
        self.recording = QCheckBox("record")
        self.recording.setChecked(True)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear)
        for widget in (self.process_box, self.service_box, self.recording, clear):
            self.tools.addWidget(widget)
        self.process_box.currentIndexChanged.connect(self._refilter)
        self.service_box.currentIndexChanged.connect(self._refilter)
        self.visibilityChanged.connect(lambda visible: self.flush() if visible else None)
        self._all: list = []
        self.pending: list = []  # kept by the filters, not yet in the table
        self._pids: set[int] = set()  # in process_box
        self._services: set[str] = set()  # in service_box

    def show_snapshot(self, snap: Snapshot) -> None:
        if snap.ipc and self.recording.isChecked():
            self._all.extend(snap.ipc)
            del self._all[:-IPC_KEEP]
            for row in snap.ipc:
                for pid in (row.sender, row.receiver):
                    if pid >= 0 and pid not in self._pids:
                        self._pids.add(pid)
                        self.process_box.addItem(f"process {pid}", pid)
                if row.service not in self._services:
                    self._services.add(row.service)
                    self.service_box.addItem(row.service, row.service)
            keeps = self._keeper()
            self.pending.extend(r for r in snap.ipc if keeps(r))
            del self.pending[:-IPC_KEEP]
        if self.pending and (not snap.running or on_screen(self)):
            self.flush()

    def flush(self) -> None:
        """Put the messages waiting in :attr:`pending` into the table."""
        rows, self.pending = self.pending, []
        if rows:
            self.model.append_rows(rows, keep=IPC_KEEP)  # type: ignore[attr-defined]

    def clear(self) -> None:
        """Forget every recorded message (and the processes and services they named)."""
        self._all.clear()
        self.pending.clear()
        self._pids.clear()
        self._services.clear()
        self.model.clear()  # type: ignore[attr-defined]
        for box in (self.process_box, self.service_box):
            while box.count() > 1:
                box.removeItem(1)

    def _keeper(self) -> Callable[[IpcRow], bool]:
        pid, service = self.process_box.currentData(), self.service_box.currentData()
        return lambda row: ((pid is None or pid in (row.sender, row.receiver))
                            and (service is None or row.service == service))

    def _keeps(self, row: IpcRow) -> bool:
        return self._keeper()(row)

    def _refilter(self) -> None:
        keeps = self._keeper()
        self.pending = []
        self.model.set_rows([r for r in self._all if keeps(r)])  # type: ignore[attr-defined]


class OutputDock(QDockWidget):
    """What the guests printed (svcOutputDebugString), and crash reports, per process."""

    MAX_LINES = 20_000

    def __init__(self) -> None:
        super().__init__("Debug output")
        self.setObjectName("output")
        self.process_box = QComboBox()
        self.process_box.addItem("all processes", None)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(MONO)
        self.text.setMaximumBlockCount(self.MAX_LINES)
        stack(self, self.process_box, self.text)
        self.lines: list[tuple[int, str, str]] = []
        self.process_box.currentIndexChanged.connect(self._refill)

    def add(self, pid: int, name: str, line: str) -> None:
        self.lines.append((pid, name, line))
        del self.lines[: -self.MAX_LINES]
        if self.process_box.findData(pid) < 0:
            self.process_box.addItem(f"{name} ({pid})", pid)
        if self.process_box.currentData() in (None, pid):
            self.text.appendPlainText(self._format(pid, name, line))

    def _format(self, pid: int, name: str, line: str) -> str:
        return f"[{name}:{pid}] {line}" if self.process_box.currentData() is None else line

    def _refill(self) -> None:
        want = self.process_box.currentData()
        self.text.setPlainText("\n".join(self._format(*entry) for entry in self.lines
                                         if want is None or entry[0] == want))

    def show_snapshot(self, snap: Snapshot) -> None:
        """The snapshot's new lines, as :meth:`add` adds them, in one append (one layout)."""
        if not snap.output:
            return
        want = self.process_box.currentData()
        shown = []
        for pid, name, line in snap.output:
            self.lines.append((pid, name, line))
            if self.process_box.findData(pid) < 0:
                self.process_box.addItem(f"{name} ({pid})", pid)
            if want in (None, pid):
                shown.append(f"[{name}:{pid}] {line}" if want is None else line)
        del self.lines[: -self.MAX_LINES]
        if shown:
            self.text.appendPlainText("\n".join(shown))

    def clear(self) -> None:
        self.lines.clear()
        self.text.clear()
