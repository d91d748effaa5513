"""A table header whose right-click menu shows or hides columns (the rest stay out of the way)."""

from __future__ import annotations

from collections.abc import Iterable

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QMenu, QTableView


def offer_columns(view: QTableView, shown: Iterable[int]) -> None:
    """Show only the columns ``shown``; the header's context menu toggles every column."""
    keep = set(shown)
    model = view.model()
    assert model is not None
    for column in range(model.columnCount()):
        view.setColumnHidden(column, column not in keep)
    header = view.horizontalHeader()
    header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    header.customContextMenuRequested.connect(lambda at: column_menu(view).popup(header.mapToGlobal(at)))


def column_menu(view: QTableView) -> QMenu:
    """A checkable entry per column, named by its header; unchecking hides it."""
    model = view.model()
    assert model is not None
    menu = QMenu(view)
    for column in range(model.columnCount()):
        title = str(model.headerData(column, Qt.Orientation.Horizontal))
        act = QAction(title, menu)
        act.setCheckable(True)
        act.setChecked(not view.isColumnHidden(column))
        act.toggled.connect(lambda on, c=column: view.setColumnHidden(c, not on))
        menu.addAction(act)
    return menu
