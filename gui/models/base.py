"""The model every row table uses: a list of row objects and a list of columns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PyQt6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PyQt6.QtGui import QBrush, QColor, QFont, QIcon, QImage, QPixmap, QStandardItem, QStandardItemModel

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


MIRRORED_ROLES = (Qt.ItemDataRole.DisplayRole, SORT_ROLE, Qt.ItemDataRole.FontRole,
                  Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.BackgroundRole)


class MirrorModel(QStandardItemModel):
    """A copy of a :class:`RowsModel`'s cells in Qt's own storage, for the views to paint from.

    A view painting a Python model calls its ``data()`` once a role a cell (and ``rowCount``
    and ``columnCount`` for every index it makes), each call taking the interpreter lock the
    emulation thread's hooks wait for. The mirror follows the model's signals, copies each
    changed cell's roles in one pass on the GUI thread (``MIRRORED_ROLES``), and only cells
    whose values differ are set, so only they are repainted. Rows are in the model's order:
    a mirror row number is the model's, and the row objects are the model's (:meth:`row_object`,
    :func:`gui.views.tables.row_object`: new in every snapshot, kept here as ``ROW_ROLE`` they
    would repaint every row). For the small tables
    refreshed while the guests run (the IPC recorder's 100,000 rows stay on their model).
    """

    def __init__(self, source: RowsModel) -> None:
        super().__init__(0, len(source.COLUMNS))
        self.source = source
        self.setHorizontalHeaderLabels([column.title for column in source.COLUMNS])
        self.setItemPrototype(_Item())
        self._cells: list[list[tuple]] = []  # per row and column: the MIRRORED_ROLES values set
        source.modelReset.connect(self._reset)
        source.dataChanged.connect(self._changed)
        source.rowsInserted.connect(self._inserted)
        source.rowsRemoved.connect(self._removed)
        self._reset()

    def row_object(self, row: int) -> Any:
        """The model's row object at ``row`` (the mirror keeps no ``ROW_ROLE``: Qt asks its
        ``data()`` for every role of every cell painted, so it is not overridden in Python)."""
        return self.source.rows[row] if 0 <= row < len(self.source.rows) else None

    def _values(self, row: int, column: int) -> tuple:
        index = self.source.index(row, column)
        return tuple(self.source.data(index, role) for role in MIRRORED_ROLES)

    def _row_values(self, row: int, columns: range) -> list[tuple]:
        """``MIRRORED_ROLES``' values of ``columns`` of ``row``: what the model's ``data()``
        answers, made without an index a cell when ``data()`` is RowsModel's own."""
        source = self.source
        if type(source).data is not RowsModel.data:
            return [self._values(row, c) for c in columns]
        obj = source.rows[row]
        colour = source.highlight(obj)
        brush = QBrush(colour) if colour is not None else None
        cells = []
        for c in columns:
            column = source.COLUMNS[c]
            text = column.text(obj)
            cells.append((text, column.key(obj) if column.key is not None else text, MONO if column.mono else None,
                          source.decoration(obj, c), brush))
        return cells

    def _item(self, values: tuple) -> QStandardItem:
        item = _Item()
        item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
        for role, value in zip(MIRRORED_ROLES, values, strict=True):
            if value is not None:
                item.setData(value, role)
        return item

    def _reset(self) -> None:
        self.removeRows(0, self.rowCount())
        self._cells = []
        self._inserted(QModelIndex(), 0, self.source.rowCount() - 1)

    def _inserted(self, _parent: Index, first: int, last: int) -> None:
        if last < first:
            return
        columns = range(self.source.columnCount())
        cells = [self._row_values(r, columns) for r in range(first, last + 1)]
        for offset, row in enumerate(cells):
            self.insertRow(first + offset, [self._item(values) for values in row])
        self._cells[first:first] = cells

    def _removed(self, _parent: Index, first: int, last: int) -> None:
        self.removeRows(first, last - first + 1)
        del self._cells[first : last + 1]

    def _changed(self, top_left: QModelIndex, bottom_right: QModelIndex, _roles: object = None) -> None:
        if not (top_left.isValid() and bottom_right.isValid()):
            return  # (0, 0) to (0, n) of an empty model
        for r in range(top_left.row(), min(bottom_right.row(), len(self._cells) - 1) + 1):
            kept = self._cells[r]
            columns = range(top_left.column(), bottom_right.column() + 1)
            for c, values in zip(columns, self._row_values(r, columns), strict=True):
                if values == kept[c]:
                    continue
                roles = {role: value for role, value, old in zip(MIRRORED_ROLES, values, kept[c], strict=True)
                         if not (value is old or value == old)}
                kept[c] = values
                self.setItemData(self.index(r, c), roles)


class _Item(QStandardItem):
    """A cell the user cannot edit (the mirror is the model's copy, not a place to type)."""

    def clone(self) -> QStandardItem:
        item = _Item()
        item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
        return item
