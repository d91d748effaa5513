"""Tables of the GPU dock: the last frame's commands decoded, and its draw calls."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor

from gui.gpu_state import CommandRow, DrawRow
from gui.models.base import Column, Index, RowsModel, hex32

_DRAW = QColor(255, 236, 180)
_FAILED = QColor(250, 200, 200)


def _values(row: CommandRow) -> str:
    return ", ".join(f"{v:#010x}" for v in row.values)


def _register(row: CommandRow) -> str:
    mask = "" if row.mask == 0xF else f" (bytes {row.mask:#x})"
    arrow = "" if len(row.values) == 1 else (" +=" if row.consecutive else " <-")
    return f"{row.register}{mask}{arrow}"


class CommandModel(RowsModel):
    """Every command of the frame's lists in order: list, byte offset, register, values; the
    commands that trigger a draw say which and are highlighted."""

    LIST, OFFSET, REGISTER, VALUES, DRAW = range(5)
    COLUMNS = (
        Column("list", lambda r: f"{r.list_index}: {hex32(r.list_address)}", lambda r: r.list_index, mono=True),
        Column("offset", lambda r: f"{r.offset:#06x}", lambda r: (r.list_index, r.offset), mono=True),
        Column("register", _register),
        Column("values", _values, mono=True),
        Column("draw", lambda r: r.draw_summary, lambda r: -1 if r.draw is None else r.draw),
    )

    def row_id(self, row: CommandRow) -> object:
        return (row.list_index, row.offset)

    def highlight(self, row: Any) -> QColor | None:
        return _DRAW if row.draw is not None else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and index.isValid() and index.column() == self.VALUES:
            return _values(self.rows[index.row()])  # the whole of a long upload the column cuts
        return super().data(index, role)


class DrawModel(RowsModel):
    """The frame's draw calls: kind, vertices, topology, triangles, pixels, colour buffer,
    textures sampled, and why one failed."""

    NUMBER, LIST, KIND, VERTICES, TOPOLOGY, TRIANGLES, PIXELS, TARGET, TEXTURES, ERROR = range(10)
    COLUMNS = (
        Column("#", lambda d: str(d.number), lambda d: d.number),
        Column("list", lambda d: str(d.list_index), lambda d: d.list_index),
        Column("kind", lambda d: d.kind),
        Column("vertices", lambda d: f"{d.vertices:,}", lambda d: d.vertices),
        Column("topology", lambda d: d.topology),
        Column("triangles", lambda d: f"{d.triangles:,}", lambda d: d.triangles),
        Column("pixels", lambda d: f"{d.pixels:,}", lambda d: d.pixels),
        Column("colour buffer", lambda d: d.target),
        Column("textures", lambda d: "; ".join(d.textures) or "none"),
        Column("error", lambda d: d.error),
    )

    def row_id(self, row: DrawRow) -> object:
        return row.number

    def highlight(self, row: Any) -> QColor | None:
        return _FAILED if row.error else None
