"""A dock holding a sortable, filterable table: the shape most debugger docks share."""

from __future__ import annotations

from PyQt6.QtCore import QAbstractItemModel, QSortFilterProxyModel, Qt
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLayout,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.models.base import ROW_ROLE, SORT_ROLE


def on_screen(widget: QWidget) -> bool:
    """Some of ``widget`` can be seen: shown, and not a tab behind another dock (those stay
    ``isVisible()``) nor in a minimised or unshown window."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def stack(dock: QDockWidget, *parts: QWidget | QLayout) -> None:
    """Give ``dock`` a body of ``parts`` (widgets or layouts) stacked top to bottom."""
    body = QWidget()
    layout = QVBoxLayout(body)
    layout.setContentsMargins(2, 2, 2, 2)
    for part in parts:
        if isinstance(part, QLayout):
            layout.addLayout(part)
        else:
            layout.addWidget(part)
    dock.setWidget(body)


def make_table(model: QAbstractItemModel, sortable: bool = True) -> tuple[QTableView, QSortFilterProxyModel]:
    """A compact table view over ``model`` through a proxy that sorts by value and filters text."""
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    proxy.setFilterKeyColumn(-1)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    view = QTableView()
    view.setModel(proxy)
    if sortable:
        view.setSortingEnabled(True)
        view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(20)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    return view, proxy


class TableDock(QDockWidget):
    """Title, a filter box, a table. ``selected_row()`` is the source row object."""

    def __init__(self, title: str, model: QAbstractItemModel, name: str, placeholder: str = "filter",
                 sortable: bool = True) -> None:
        super().__init__(title)
        self.setObjectName(name)
        self.model = model
        self.view, self.proxy = make_table(model, sortable)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(placeholder)
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.tools = QHBoxLayout()
        self.tools.addWidget(self.filter)
        stack(self, self.tools, self.view)
        self._sized = False
        model.modelReset.connect(self._size_columns)
        model.rowsInserted.connect(self._size_columns)

    def _size_columns(self) -> None:
        """Fit the columns to the first rows shown; after that the user's widths stay."""
        if not self._sized and self.model.rowCount() > 0:
            self._sized = True
            self.view.resizeColumnsToContents()

    def selected_row(self) -> object | None:
        rows = self.view.selectionModel().selectedRows() if self.view.selectionModel() else []
        return rows[0].data(ROW_ROLE) if rows else None
