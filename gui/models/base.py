"""The model every row table uses: a list of row objects and a list of columns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PyQt6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PyQt6.QtGui import QBrush, QColor, QFont, QIcon, QImage, QPixmap

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # the value a column sorts by (numbers as numbers)
ROW_ROLE = Qt.ItemDataRole.UserRole + 2  # the row object itself

MONO = QFont("monospace")
MONO.setStyleHint(QFont.StyleHint.TypeWriter)


@dataclass(frozen=True)
class Column:
    """A column: header, how to show a row, how to sort it (default: the shown text)."""

    title: str
    text: Callable[[Any], str]
    key: Callable[[Any], object] | None = None
    mono: bool = False


def hex32(value: int | None) -> str:
    return "" if value is None else f"{value & 0xFFFFFFFF:08x}"


def rgb_icon(rgb: bytes, side: int = 48) -> QIcon:
    """An icon from ``side`` x ``side`` RGB888 pixels, row by row (an SMDH icon as the API gives it).
    UI thread only (a QPixmap)."""
    image = QImage(rgb, side, side, side * 3, QImage.Format.Format_RGB888).copy()  # copy: own the pixels
    return QIcon(QPixmap.fromImage(image))


class RowsModel(QAbstractTableModel):
    """Rows are plain snapshot objects; :meth:`set_rows` swaps them in.

    When the new rows have the same identities (``row_id``) in the same order only
    the changed cells are announced, so selections and scroll positions survive
    the ten refreshes a second of a running emulation.
    """

    COLUMNS: Sequence[Column] = ()

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Any] = []

    def row_id(self, row: Any) -> object:
        return id(row)

    def highlight(self, row: Any) -> QColor | None:
        return None

    def decoration(self, row: Any, column: int) -> Any:
        """An icon beside the cell's text (Qt's DecorationRole), or None."""
        return None

    def set_rows(self, rows: list[Any]) -> None:
        if [self.row_id(r) for r in rows] == [self.row_id(r) for r in self.rows]:
            if rows != self.rows:
                self.rows = list(rows)
                if rows:
                    self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(self.COLUMNS) - 1))
            return
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def append_rows(self, rows: list[Any], keep: int | None = None) -> None:
        if keep is not None and len(self.rows) + len(rows) > keep:
            drop = len(self.rows) + len(rows) - keep
            drop = min(drop, len(self.rows))
            if drop:
                self.beginRemoveRows(QModelIndex(), 0, drop - 1)
                del self.rows[:drop]
                self.endRemoveRows()
            rows = rows[-keep:]
        if rows:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(rows) - 1)
            self.rows.extend(rows)
            self.endInsertRows()

    def clear(self) -> None:
        self.set_rows([])

    # -- Qt's model interface -----------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section].title
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row, column = self.rows[index.row()], self.COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == SORT_ROLE:
            return column.key(row) if column.key is not None else column.text(row)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.FontRole and column.mono:
            return MONO
        if role == Qt.ItemDataRole.DecorationRole:
            return self.decoration(row, index.column())
        if role == Qt.ItemDataRole.BackgroundRole:
            colour = self.highlight(row)
            return QBrush(colour) if colour is not None else None
        return None
