"""A dock holding a sortable, filterable table: the shape most debugger docks share."""

from __future__ import annotations

from PyQt6.QtCore import QAbstractItemModel, QModelIndex, QSortFilterProxyModel, Qt
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

from gui.models.base import ROW_ROLE, SORT_ROLE, MirrorModel, RowsModel


def on_screen(widget: QWidget) -> bool:
    """Some of ``widget`` can be seen: shown, and not a tab behind another dock (those stay
    ``isVisible()``) nor in a minimised or unshown window."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def row_object(index: QModelIndex) -> object | None:
    """The row object behind a view's index (through its proxy, and a mirror if it has one)."""
    model = index.model()
    if isinstance(model, QSortFilterProxyModel):
        index = model.mapToSource(index)
        model = index.model()
    if isinstance(model, MirrorModel):
        return model.row_object(index.row()) if index.isValid() else None
    return index.data(ROW_ROLE)


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


class NaturalOrderProxy(QSortFilterProxyModel):
    """Sorting by ``natural`` ascending is the model's own row order (the IPC recorder's
    message numbers): the proxy then keeps the source's order instead of sorting, so rows
    appended are placed without comparing them to others through the model's Python
    ``data()`` (about 20 calls a row in a table of thousands)."""

    def __init__(self, natural: int) -> None:
        super().__init__()
        self.natural = natural

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column == self.natural and order == Qt.SortOrder.AscendingOrder:
            column = -1  # the source's order, which is this one
        super().sort(column, order)


FIT_ROWS = 50  # rows (besides the visible ones) a column is fitted to: see make_table


def make_table(model: QAbstractItemModel, sortable: bool = True, mirror: bool = False,
               natural: int | None = None) -> tuple[QTableView, QSortFilterProxyModel]:
    """A compact table view over ``model`` through a proxy that sorts by value and filters text.

    ``mirror`` (a :class:`RowsModel` refreshed while the guests run): the proxy's source is a
    :class:`MirrorModel` of it, so painting calls no Python; its row numbers are the model's
    (map a model index to the proxy with ``proxy.sourceModel().index(row, column)``).
    ``natural``: a column whose ascending order is the model's row order (:class:`NaturalOrderProxy`)."""
    proxy = QSortFilterProxyModel() if natural is None else NaturalOrderProxy(natural)
    if mirror:
        assert isinstance(model, RowsModel)
        source: QAbstractItemModel = MirrorModel(model)
        source.setParent(proxy)  # lives as long as the proxy
    else:
        source = model
    proxy.setSourceModel(source)
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
    # Fitting a column to its contents asks each row it measures for its data, in Python, holding
    # the interpreter lock the emulation thread's hooks wait for; Qt's default measures 1,000 rows
    # besides the visible ones. The IPC log's first rows (thousands, queued while it was hidden)
    # took 0.7 s of the GUI thread that way (96,000 data() calls): the first rows shown are enough.
    view.horizontalHeader().setResizeContentsPrecision(FIT_ROWS)
    return view, proxy


class TableDock(QDockWidget):
    """Title, a filter box, a table. ``selected_row()`` is the source row object."""

    def __init__(self, title: str, model: QAbstractItemModel, name: str, placeholder: str = "filter",
                 sortable: bool = True, mirror: bool = False, natural: int | None = None) -> None:
        super().__init__(title)
        self.setObjectName(name)
        self.model = model
        self.view, self.proxy = make_table(model, sortable, mirror, natural)
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
        return row_object(rows[0]) if rows else None
