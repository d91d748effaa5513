"""How the window fits: tables whose key columns show their whole text, docks that keep the
width they were given, screens that scroll when a fixed scale is larger than their room, and
a window no larger than the screen it opens on.

Qt sizes a dock area from its docks' size hints until someone sets it; a table's hint
follows its contents, so the left docks used to narrow when the guests ended (the register
table emptied). :func:`pin_docks` sets each area once, as a user's drag would, and Qt keeps
that from then on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from PyQt6.QtCore import QRect, QSize, Qt
from PyQt6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QTableView, QWidget

PADDING = 14  # pixels a cell needs beyond its text (margins, the sort arrow's room in the header)
DEFAULT_SIZE = QSize(1500, 950)  # the window on a screen with room for it (docs/images/window.png)


def fit_columns(view: QTableView, columns: Iterable[int], samples: Mapping[int, str] | None = None) -> int:
    """Widen each of ``columns`` to its contents, its header and ``samples`` (the widest text
    that column will show as the guests run, such as ``"9,999,999,999"`` instructions); the
    width the view needs to show them all without scrolling sideways."""
    samples = samples or {}
    metrics = view.fontMetrics()
    header = view.horizontalHeader()
    total = 0
    for column in columns:
        view.resizeColumnToContents(column)
        width = max(view.columnWidth(column), header.sectionSizeHint(column),
                    metrics.horizontalAdvance(samples.get(column, "")) + PADDING)
        view.setColumnWidth(column, width)
        total += width
    return total + 2 * view.frameWidth() + view.verticalScrollBar().sizeHint().width()


def pin_docks(window: QMainWindow, widths: Mapping[QDockWidget, int], heights: Mapping[QDockWidget, int]) -> None:
    """Give dock areas these sizes (one dock of each area names it); Qt keeps them when the
    docks' contents change, as it keeps a size the user dragged."""
    window.resizeDocks(list(widths), list(widths.values()), Qt.Orientation.Horizontal)
    window.resizeDocks(list(heights), list(heights.values()), Qt.Orientation.Vertical)


RIGHT_DOCKS = 400  # pixels: the memory map's columns up to its state


def pin_default_docks(window: Any) -> None:
    """Once the first rows are in: the process table's key columns fit without scrolling
    (the left docks widen for them), and every dock area keeps its size from then on."""
    dock = window.process_dock
    need = dock.fit_columns() + dock.width() - dock.process_view.width()  # the view, and the dock around it
    pin_docks(window, {dock: max(need, dock.width()), window.map_dock: max(window.map_dock.width(), RIGHT_DOCKS)},
              {window.output_dock: window.output_dock.height()})


def scrolling(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area that gives it all its room and scrolls only
    when its minimum size (the screens at a fixed scale) is more than that."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return area


def window_size(wanted: QSize, frame: QSize, available: QRect) -> QSize:
    """``wanted`` (the window without its frame), no larger than ``available`` leaves once the
    window manager's ``frame`` (title bar, borders) is counted.

    >>> window_size(QSize(1500, 950), QSize(2, 30), QRect(0, 0, 1366, 738))
    PyQt6.QtCore.QSize(1364, 708)
    >>> window_size(QSize(1500, 950), QSize(0, 0), QRect(0, 0, 1920, 1040))
    PyQt6.QtCore.QSize(1500, 950)
    """
    return QSize(min(wanted.width(), available.width() - frame.width()),
                 min(wanted.height(), available.height() - frame.height()))


def fit_to_screen(window: QMainWindow, room_wanted: QSize, available: QRect | None = None) -> None:
    """Size ``window`` so its central area gets ``room_wanted`` (the screens at their scale)
    beside the docks, but the whole window stays inside ``available`` (by default the
    available geometry of the screen it is on); centred there. What does not fit scrolls."""
    if available is None:
        screen = window.screen()
        if screen is None:
            return
        available = screen.availableGeometry()
    central = window.centralWidget()
    have = central.size() if central is not None else QSize(0, 0)
    grow = QSize(max(0, room_wanted.width() - have.width()), max(0, room_wanted.height() - have.height()))
    frame = window.frameGeometry().size() - window.geometry().size() if window.isVisible() else QSize(0, 0)
    size = window_size(window.size() + grow, frame, available)
    window.resize(size)
    corner = available.center() - QRect(0, 0, size.width() + frame.width(), size.height() + frame.height()).center()
    window.move(corner)


__all__ = ["DEFAULT_SIZE", "fit_columns", "fit_to_screen", "pin_default_docks", "pin_docks", "scrolling",
           "window_size"]
