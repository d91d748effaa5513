"""Docks about the selected thread: registers, disassembly, memory as hex, breakpoints."""

from __future__ import annotations

import struct
from typing import Any

from PyQt6.QtCore import QAbstractTableModel, QModelIndex, Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor, QFontMetrics
from PyQt6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
)

from gui.models import BreakpointModel, RegisterModel
from gui.models.base import MONO, Column, Index, RowsModel, hex32
from gui.state import Snapshot
from gui.views.memory_docks import parse_address
from gui.views.tables import TableDock, stack
from hlemu.cpu.decode import Instruction
from kernel.api import ThreadView

_MODES = {0x10: "usr", 0x11: "fiq", 0x12: "irq", 0x13: "svc", 0x17: "abt", 0x1B: "und", 0x1F: "sys"}


def register_rows(view: ThreadView | None) -> list[tuple[str, str, str]]:
    """(name, value, meaning) for the GPRs, CPSR (flags, mode, ARM/Thumb), d0-d15 and FPSCR."""
    if view is None:
        return []
    rows = [(name, f"{value & 0xFFFFFFFF:08x}", str(value) if value < 0x10000 else "")
            for name, value in view.registers.items() if name != "cpsr"]
    if "cpsr" in view.registers:
        cpsr = view.registers["cpsr"]
        flags = "".join(f if cpsr & (1 << bit) else "-" for f, bit in (("N", 31), ("Z", 30), ("C", 29), ("V", 28)))
        rows.append(("cpsr", f"{cpsr:08x}",
                     f"{flags} {_MODES.get(cpsr & 0x1F, hex(cpsr & 0x1F))} {'thumb' if view.thumb else 'arm'}"))
    for name, value in view.vfp.items():
        if name == "fpscr":
            rows.append((name, f"{value:08x}", ""))
        else:
            rows.append((name, f"{value:016x}", f"{struct.unpack('<d', struct.pack('<Q', value))[0]:.6g}"))
    return rows


class RegistersDock(TableDock):
    def __init__(self) -> None:
        super().__init__("Registers", RegisterModel(), "registers", "filter registers", sortable=False,
                         mirror=True)

    def show_snapshot(self, snap: Snapshot) -> None:
        view = snap.detail.thread if snap.detail else None
        self.model.set_rows(register_rows(view))  # type: ignore[attr-defined]
        self.setWindowTitle(f"Registers of thread {view.tid} ({view.name})" if view else "Registers")


class DisasmModel(RowsModel):
    """Disassembly lines; the PC's row is marked, breakpoints get a dot."""

    def __init__(self) -> None:
        super().__init__()
        self.pc: int | None = None
        self.breaks: set[int] = set()
        self.COLUMNS = (
            Column("", self._marks),
            Column("address", lambda d: hex32(d.address), lambda d: d.address, mono=True),
            Column("bytes", lambda d: d.code.hex(), mono=True),
            Column("instruction", lambda d: d.text, mono=True),
        )

    def _marks(self, row: Instruction) -> str:
        return ("\u25cf" if row.address in self.breaks else "") + ("\u25b6" if row.address == self.pc else "")

    def row_id(self, row: Instruction) -> object:
        return row.address

    def highlight(self, row: Instruction) -> QColor | None:
        if row.address == self.pc:
            return QColor(255, 245, 170)
        return QColor(255, 215, 215) if row.address in self.breaks else None


class DisassemblyDock(TableDock):
    """Code around the PC (ARM or Thumb from CPSR.T); double-click a line for a breakpoint."""

    toggle_breakpoint = pyqtSignal(int)
    goto = pyqtSignal(object)  # address, or None to follow the PC

    def __init__(self) -> None:
        super().__init__("Disassembly", DisasmModel(), "disassembly", "filter instructions", sortable=False,
                         mirror=True)
        self.follow = QCheckBox("follow PC")
        self.follow.setChecked(True)
        self.address = QLineEdit()
        self.address.setPlaceholderText("go to address")
        self.address.returnPressed.connect(self._go)
        self.follow.toggled.connect(lambda on: self.goto.emit(None) if on else self._go())
        self.tools.addWidget(self.address)
        self.tools.addWidget(self.follow)
        self.view.doubleClicked.connect(self._double_clicked)
        self.status = QLabel("")
        self.tools.addWidget(self.status)

    def _go(self) -> None:
        try:
            address = parse_address(self.address.text())
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        self.status.setText("")
        self.follow.setChecked(False)
        self.goto.emit(address)

    def _double_clicked(self, index: QModelIndex) -> None:
        row = self.proxy.mapToSource(index).row()
        self.toggle_breakpoint.emit(self.model.rows[row].address)  # type: ignore[attr-defined]

    def show_snapshot(self, snap: Snapshot) -> None:
        model: DisasmModel = self.model  # type: ignore[assignment]
        detail = snap.detail
        marks = (model.pc, model.breaks)
        model.pc = detail.thread.pc if detail and detail.thread else None
        model.breaks = {addr for pid, addr in snap.breakpoints if detail and pid == detail.pid}
        model.set_rows(detail.disasm if detail else [])
        if (model.pc, model.breaks) != marks:  # the marks column and the highlights moved
            model.dataChanged.emit(model.index(0, 0), model.index(max(0, model.rowCount() - 1),
                                                                  len(model.COLUMNS) - 1))
        if model.pc is not None:
            at = next((i for i, line in enumerate(model.rows) if line.address == model.pc), None)
            if at is not None:
                source = self.proxy.sourceModel()  # the mirror: its rows are the model's
                assert source is not None
                self.view.scrollTo(self.proxy.mapFromSource(source.index(at, 0)))
        mode = "thumb" if detail and detail.thread and detail.thread.thumb else "arm"
        self.setWindowTitle(f"Disassembly ({mode})")


class HexModel(QAbstractTableModel):
    """16 bytes a row plus their ASCII; byte cells are editable (two hex digits)."""

    edited = pyqtSignal(int, int)  # address, new byte value

    def __init__(self) -> None:
        super().__init__()
        self.base = 0
        self.data_bytes: bytes | None = None

    def set_memory(self, base: int, data: bytes | None) -> None:
        self.beginResetModel()
        self.base, self.data_bytes = base, data
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() or self.data_bytes is None else (len(self.data_bytes) + 15) // 16

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 17

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Vertical:
            return f"{self.base + 16 * section:08x}"
        return f"{section:x}" if section < 16 else "ascii"

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.data_bytes is None:
            return None
        row = self.data_bytes[16 * index.row() : 16 * index.row() + 16]
        if role == Qt.ItemDataRole.FontRole:
            return MONO
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if index.column() == 16:
                return "".join(chr(b) if 32 <= b < 127 else "." for b in row)
            return f"{row[index.column()]:02x}" if index.column() < len(row) else ""
        if role == Qt.ItemDataRole.BackgroundRole and index.column() < 16 and index.column() < len(row) \
                and row[index.column()] == 0:
            return QBrush(QColor(245, 245, 245))
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() and index.column() < 16 else base

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        try:
            byte = int(str(value).strip(), 16)
        except ValueError:
            return False
        if not 0 <= byte <= 0xFF or self.data_bytes is None:
            return False
        offset = 16 * index.row() + index.column()
        data = bytearray(self.data_bytes)
        data[offset] = byte
        self.data_bytes = bytes(data)
        self.dataChanged.emit(index, index)
        self.edited.emit(self.base + offset, byte)
        return True


class HexDock(QDockWidget):
    """256 bytes of the selected process from an address; double-click a byte to change it
    (written with ``poke``: permissions do not stop the debugger)."""

    goto = pyqtSignal(int)

    def __init__(self) -> None:
        super().__init__("Memory")
        self.setObjectName("hex")
        self.model = HexModel()
        self.view = QTableView()
        self.view.setModel(self.model)
        # Byte columns as wide as two hex digits, fixed: ResizeToContents measured every cell
        # (Python data() calls) on each refresh; only the ASCII column still fits its text.
        header = self.view.horizontalHeader()
        header.setMinimumSectionSize(8)
        header.setDefaultSectionSize(QFontMetrics(MONO).horizontalAdvance("00") + 14)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(16, QHeaderView.ResizeMode.ResizeToContents)
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.view.verticalHeader().setFont(MONO)
        self.address = QLineEdit()
        self.address.setPlaceholderText("address (hex), Enter")
        self.address.returnPressed.connect(self._go)
        self.status = QLabel("")
        tools = QHBoxLayout()
        for label, delta in (("\u25b2", -256), ("\u25bc", 256)):
            button = QPushButton(label)
            button.setMaximumWidth(32)
            button.clicked.connect(lambda _=False, d=delta: self.goto.emit(max(0, (self.model.base + d)) & 0xFFFFFFF0))
            tools.addWidget(button)
        tools.addWidget(self.address)
        tools.addWidget(self.status)
        stack(self, tools, self.view)

    def _go(self) -> None:
        try:
            self.goto.emit(parse_address(self.address.text()) & ~0xF)
            self.status.setText("")
        except ValueError as exc:
            self.status.setText(str(exc))

    def show_snapshot(self, snap: Snapshot) -> None:
        detail = snap.detail
        if detail is None:
            self.model.set_memory(0, None)
            return
        if self.view.state() == QTableView.State.EditingState:
            return  # do not yank the cell from under the user's typing
        if (detail.memory_at, detail.memory) != (self.model.base, self.model.data_bytes):
            self.model.set_memory(detail.memory_at, detail.memory)
        self.status.setText("" if detail.memory is not None else f"{detail.memory_at:08x}: not mapped")
        self.setWindowTitle(f"Memory of process {detail.pid}")


class BreakpointsDock(TableDock):
    """Every breakpoint; add one by address (for the selected process), remove the selected."""

    add = pyqtSignal(int)
    remove = pyqtSignal(int, int)  # pid, address

    def __init__(self) -> None:
        super().__init__("Breakpoints", BreakpointModel(), "breakpoints", "filter breakpoints", mirror=True)
        self.address = QLineEdit()
        self.address.setPlaceholderText("add at address (hex), Enter")
        self.address.returnPressed.connect(self._add)
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove)
        self.tools.addWidget(self.address)
        self.tools.addWidget(remove)
        self.status = QLabel("")
        self.tools.addWidget(self.status)

    def _add(self) -> None:
        try:
            self.add.emit(parse_address(self.address.text()))
            self.address.clear()
            self.status.setText("")
        except ValueError as exc:
            self.status.setText(str(exc))

    def _remove(self) -> None:
        row = self.selected_row()
        if row is not None:
            self.remove.emit(*row)  # type: ignore[misc]

    def show_snapshot(self, snap: Snapshot) -> None:
        self.model.set_rows(list(snap.breakpoints))  # type: ignore[attr-defined]
