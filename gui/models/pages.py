"""The page table as a table: one row per page, straight from the snapshot's numpy arrays.

No Python object per row: ``rows`` is an array of page numbers (all 1M pages, or
those a filter keeps) and ``data()`` indexes the arrays for the few rows on
screen, so a million rows scroll like ten.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PyQt6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PyQt6.QtGui import QBrush, QColor

from gui.models.base import MONO, Index
from gui.state import FAULT_KINDS, PageTableSnapshot
from hlemu.memory import MemoryState

FILTERS = ("all pages", "mapped", "special", "faulted")
_PERM = ["".join(c if p & bit else "-" for c, bit in (("r", 1), ("w", 2), ("x", 4))) for p in range(8)]
_STATE = {int(s): s.name.lower() for s in MemoryState}
_HIGHLIGHT = QBrush(QColor(255, 170, 170))


class PageTableModel(QAbstractTableModel):
    VIRTUAL, PHYSICAL, PERM, STATE, SPECIAL = range(5)
    TITLES = ("virtual", "physical", "perm", "state", "special", *(k.replace("_", " ") for k in FAULT_KINDS))

    def __init__(self) -> None:
        super().__init__()
        self.snapshot: PageTableSnapshot | None = None
        self.filter = "mapped"
        self.rows = np.zeros(0, dtype=np.int64)
        self.highlight_vpn: int | None = None

    def set_snapshot(self, snap: PageTableSnapshot | None) -> None:
        """Show ``snap`` (None: nothing); rows are recomputed for the filter."""
        rows = self._rows_for(snap, self.filter)
        same_rows = self.snapshot is not None and snap is not None and snap.pid == self.snapshot.pid \
            and np.array_equal(rows, self.rows)
        if same_rows:
            self.snapshot = snap
            if len(rows):
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(self.TITLES) - 1))
            return
        self.beginResetModel()
        self.snapshot, self.rows = snap, rows
        self.endResetModel()

    def set_filter(self, name: str) -> None:
        if name not in FILTERS:
            raise ValueError(f"unknown filter {name!r} (have {', '.join(FILTERS)})")
        self.filter = name
        self.beginResetModel()
        self.rows = self._rows_for(self.snapshot, name)
        self.endResetModel()

    @staticmethod
    def _rows_for(snap: PageTableSnapshot | None, name: str) -> np.ndarray:
        if snap is None:
            return np.zeros(0, dtype=np.int64)
        if name == "all pages":
            return np.arange(len(snap.state), dtype=np.int64)
        if name == "mapped":
            return np.flatnonzero(snap.frame >= 0)
        if name == "special":
            return np.flatnonzero(snap.special)
        return snap.fault_pages.astype(np.int64)

    def row_of(self, address: int) -> int | None:
        """The row of the page holding ``address``, or of the next page the filter keeps."""
        if not len(self.rows):
            return None
        at = int(np.searchsorted(self.rows, (address & 0xFFFFFFFF) >> 12))
        return min(at, len(self.rows) - 1)

    def vpn_at(self, row: int) -> int:
        return int(self.rows[row])

    # -- Qt's model interface -------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.TITLES)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return self.TITLES[section] if orientation == Qt.Orientation.Horizontal else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        snap = self.snapshot
        if snap is None or not index.isValid():
            return None
        vpn = int(self.rows[index.row()])
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(snap, vpn, index.column())
        if role == Qt.ItemDataRole.FontRole and index.column() <= self.PERM:
            return MONO
        if role == Qt.ItemDataRole.BackgroundRole and vpn == self.highlight_vpn:
            return _HIGHLIGHT
        return None

    def text(self, snap: PageTableSnapshot, vpn: int, column: int) -> str:
        if column == self.VIRTUAL:
            return f"{vpn << 12:08x}"
        if column == self.PHYSICAL:
            phys = snap.phys(vpn)
            return "" if phys is None else f"{phys:08x}"
        if column == self.PERM:
            return _PERM[int(snap.perm[vpn]) & 7] if snap.frame[vpn] >= 0 else ""
        if column == self.STATE:
            return _STATE.get(int(snap.state[vpn]), str(int(snap.state[vpn])))
        if column == self.SPECIAL:
            return snap.special_name(vpn)
        return f"{snap.faults_of(vpn)[FAULT_KINDS[column - self.SPECIAL - 1]]:,}"
