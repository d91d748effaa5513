"""Tables of the inspection docks: footprints per process, scanner candidates, heap blocks."""

from __future__ import annotations

from typing import Any

from PyQt6.QtGui import QColor

from gui.inspect_state import FootprintRow, HeapBlock, ScanRow
from gui.models.base import Column, RowsModel, hex32

_SYSTEM = QColor(230, 236, 250)
_USED, _FREE = QColor(230, 110, 90), QColor(120, 200, 130)


def kib(size: float) -> str:
    """Bytes as KiB, one decimal where PSS splits a page (``2048.0`` -> ``2 KiB``)."""
    value = size / 1024
    return f"{value:,.0f} KiB" if value == int(value) else f"{value:,.1f} KiB"


def _state_pss(state: str) -> Column:
    def pss(row: FootprintRow) -> int:
        return next((p for s, _, p, _ in row.by_state if s == state), 0)

    return Column(f"{state} PSS", lambda r: kib(pss(r)), pss)


class FootprintModel(RowsModel):
    """One row a process and one for the whole system: RSS, PSS, USS, and PSS by memory state."""

    PID, NAME, STATUS, RSS, PSS, USS = range(6)
    COLUMNS = (
        Column("pid", lambda r: "all" if r.pid < 0 else str(r.pid), lambda r: r.pid if r.pid >= 0 else 1 << 31),
        Column("name", lambda r: r.name),
        Column("status", lambda r: r.status),
        Column("RSS", lambda r: kib(r.rss), lambda r: r.rss),
        Column("PSS", lambda r: kib(r.pss), lambda r: r.pss),
        Column("USS", lambda r: kib(r.uss), lambda r: r.uss),
        *(_state_pss(state) for state in ("code", "private", "locked", "continuous", "shared")),
    )

    def row_id(self, row: Any) -> object:
        return row.pid

    def highlight(self, row: Any) -> QColor | None:
        return _SYSTEM if row.pid < 0 else None


class ScanModel(RowsModel):
    """The scanner's candidates: address, value (hex and decimal), the symbol it lies in."""

    ADDRESS, VALUE, DECIMAL, SYMBOL = range(4)
    COLUMNS = (
        Column("address", lambda r: hex32(r.address), lambda r: r.address, mono=True),
        Column("value", lambda r: f"{r.value:#x}", lambda r: r.value, mono=True),
        Column("decimal", lambda r: str(r.value), lambda r: r.value),
        Column("symbol", lambda r: r.symbol),
    )

    def row_id(self, row: ScanRow) -> object:
        return row.address


class HeapBlockModel(RowsModel):
    """The heap's chunks in address order: where, how big, used or free."""

    ADDRESS, SIZE, STATE = range(3)
    COLUMNS = (
        Column("address", lambda b: hex32(b.address), lambda b: b.address, mono=True),
        Column("size", lambda b: f"{b.size:,}", lambda b: b.size),
        Column("state", lambda b: "used" if b.used else "free"),
    )

    def row_id(self, row: HeapBlock) -> object:
        return (row.address, row.size, row.used)

    def highlight(self, row: Any) -> QColor | None:
        return (_USED if row.used else _FREE).lighter(150)
