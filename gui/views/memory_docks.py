"""Docks about memory: the region map, the page table, the 4 GiB picture, fault counts over time."""

from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QWheelEvent
from PyQt6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from gui.models import PageTableModel, RegionModel
from gui.models.pages import FILTERS
from gui.state import FAULT_KINDS, PageTableSnapshot, Snapshot
from gui.views.plots import COLOURS, Plot
from gui.views.tables import TableDock, make_table, on_screen, stack
from hlemu.memory import MemoryState

NUM_PAGES = 1 << 20


def parse_address(text: str) -> int:
    """``0x1F000000``, ``1f000000`` or ``1F00_0000`` -> int; ValueError with a reason otherwise."""
    cleaned = text.strip().lower().replace("_", "").removeprefix("0x")
    if not cleaned:
        raise ValueError("type an address, e.g. 0x00100000")
    try:
        value = int(cleaned, 16)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a hexadecimal address") from None
    if not 0 <= value < 1 << 32:
        raise ValueError(f"{text.strip()} is outside the 32-bit address space")
    return value


class MemoryMapDock(TableDock):
    def __init__(self) -> None:
        super().__init__("Memory map", RegionModel(), "memory_map", "filter regions (state, perm, address)",
                         mirror=True)

    def show_snapshot(self, snap: Snapshot) -> None:
        self.model.set_rows(snap.detail.regions if snap.detail else [])  # type: ignore[attr-defined]
        self.setWindowTitle(f"Memory map of process {snap.detail.pid}" if snap.detail else "Memory map")


class PageTableDock(QDockWidget):
    """One row per page; a filter (all, mapped, special, faulted) and a jump-to-address box."""

    def __init__(self) -> None:
        super().__init__("Page table")
        self.setObjectName("page_table")
        self.model = PageTableModel()
        self.view, _ = make_table(self.model, sortable=False)
        self.view.setModel(self.model)  # rows are already in address order; no proxy over 1M rows
        self.filter_box = QComboBox()
        self.filter_box.addItems(FILTERS)
        self.filter_box.setCurrentText(self.model.filter)
        self.filter_box.currentTextChanged.connect(self.model.set_filter)
        self.jump = QLineEdit()
        self.jump.setPlaceholderText("jump to address (hex), Enter")
        self.jump.returnPressed.connect(lambda: self.jump_to_text(self.jump.text()))
        self.status = QLabel("")
        tools = QHBoxLayout()
        for widget in (self.filter_box, self.jump, self.status):
            tools.addWidget(widget)
        stack(self, tools, self.view)

    def show_pages(self, pages: PageTableSnapshot) -> None:
        self.model.set_snapshot(pages)
        self.setWindowTitle(f"Page table of process {pages.pid}")
        self.status.setText(f"{self.model.rowCount():,} rows")

    def jump_to_text(self, text: str) -> None:
        try:
            self.jump_to(parse_address(text))
        except ValueError as exc:
            self.status.setText(str(exc))

    def jump_to(self, address: int, highlight: bool = False) -> int | None:
        """Scroll to (and select) the page holding ``address``, widening the filter if it hides it."""
        vpn = address >> 12
        rows = self.model.rows
        at = int(rows.searchsorted(vpn))
        if self.model.snapshot is not None and not (at < len(rows) and rows[at] == vpn):
            self.filter_box.setCurrentText("all pages")
        if highlight:
            self.model.highlight_vpn = vpn
        row = self.model.row_of(address)
        if row is None:
            return None
        index = self.model.index(row, 0)
        self.view.scrollTo(index, self.view.ScrollHint.PositionAtCenter)
        self.view.selectRow(row)
        self.status.setText(f"page {address & ~0xFFF:08x}")
        return row


# Colours by MemoryState; FREE is left dark so mapped memory stands out.
STATE_COLOURS = {
    MemoryState.FREE: QColor(40, 40, 48), MemoryState.RESERVED: QColor(90, 90, 90),
    MemoryState.IO: QColor(230, 60, 60), MemoryState.STATIC: QColor(200, 120, 60),
    MemoryState.CODE: QColor(80, 160, 250), MemoryState.PRIVATE: QColor(90, 200, 120),
    MemoryState.SHARED: QColor(240, 200, 60), MemoryState.CONTINUOUS: QColor(160, 110, 220),
    MemoryState.ALIASED: QColor(100, 220, 220), MemoryState.ALIAS: QColor(120, 200, 200),
    MemoryState.ALIAS_CODE: QColor(60, 130, 200), MemoryState.LOCKED: QColor(230, 120, 200),
}


def _lut() -> np.ndarray:
    lut = np.full((256, 3), 128, dtype=np.uint8)
    for state, colour in STATE_COLOURS.items():
        lut[int(state)] = (colour.red(), colour.green(), colour.blue())
    return lut


class AddressStrip(QWidget):
    """The 4 GiB space as a strip coloured by memory state. Wheel zooms around the mouse,
    drag pans, a click reports the address under the mouse (``clicked``)."""

    clicked = pyqtSignal(int)

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumHeight(48)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.state: np.ndarray | None = None
        self.lo, self.hi = 0, NUM_PAGES  # visible pages [lo, hi)
        self._lut = _lut()
        self._press: float | None = None
        self._row: tuple[tuple[int, int, int, int], bytes] | None = None  # the last paint's pixels, by what they show
        self._version = 0  # counts set_state's new states
        self.setMouseTracking(True)

    def set_state(self, state: np.ndarray | None) -> None:
        """A new page table (a snapshot's ``state``); one like the last (the usual case while
        the guests run) keeps the strip as it is, unrepainted."""
        if state is not None and self.state is not None and np.array_equal(state, self.state):
            return
        self.state = state
        self._version += 1
        self.update()

    def zoom(self, factor: float, around: int | None = None) -> None:
        """Show ``1/factor`` as many pages, keeping page ``around`` where it is."""
        span = self.hi - self.lo
        around = self.lo + span // 2 if around is None else around
        new = int(min(NUM_PAGES, max(16, span / factor)))
        frac = (around - self.lo) / span
        self.lo = int(min(max(0, around - frac * new), NUM_PAGES - new))
        self.hi = self.lo + new
        self.update()

    def reset_zoom(self) -> None:
        self.lo, self.hi = 0, NUM_PAGES
        self.update()

    def page_at(self, x: float) -> int:
        return int(self.lo + (self.hi - self.lo) * min(max(x, 0), self.width() - 1) / max(1, self.width()))

    def colours(self, width: int) -> np.ndarray:
        """(width, 3) RGB: each pixel shows the 'most mapped' state of its pages (any mapped
        page wins over free, so a lone page in a 4 GiB view is still visible)."""
        if self.state is None:
            return np.zeros((width, 3), dtype=np.uint8)
        pages = self.state[self.lo : self.hi]
        edges = np.linspace(0, len(pages), width + 1).astype(np.int64)
        starts = np.minimum(edges[:-1], len(pages) - 1)
        binned = np.maximum.reduceat(pages, starts)
        return self._lut[binned]

    def paintEvent(self, event: QPaintEvent | None) -> None:
        painter = QPainter(self)
        width, height = self.width(), self.height() - 16
        # Painted again whenever a neighbour repaints: the colours (a pass over 1M pages, on
        # the GUI thread holding the interpreter lock) are made again only when they change.
        key = (self._version, self.lo, self.hi, width)
        if self._row is None or self._row[0] != key:
            self._row = (key, self.colours(width).tobytes())
        row = self._row[1]  # kept alive until the image is drawn
        image = QImage(row, width, 1, width * 3, QImage.Format.Format_RGB888)
        painter.drawImage(QRectF(0, 0, width, height), image)
        painter.setPen(self.palette().windowText().color())
        painter.drawText(2, height + 13, f"{self.lo << 12:08x}")
        text = f"{(self.hi << 12) - 1:08x}"
        painter.drawText(width - painter.fontMetrics().horizontalAdvance(text) - 2, height + 13, text)
        painter.end()

    def wheelEvent(self, event: QWheelEvent | None) -> None:
        if event is not None:
            around = self.page_at(event.position().x())
            self.zoom(2.0 if event.angleDelta().y() > 0 else 0.5, around)

    def mousePressEvent(self, event: QMouseEvent | None) -> None:
        if event is not None:
            self._press = event.position().x()

    def mouseReleaseEvent(self, event: QMouseEvent | None) -> None:
        if event is None or self._press is None:
            return
        x = event.position().x()
        if abs(x - self._press) < 3:
            self.clicked.emit(self.page_at(x) << 12)
        else:  # a drag pans
            shift = int((self._press - x) * (self.hi - self.lo) / max(1, self.width()))
            shift = max(-self.lo, min(shift, NUM_PAGES - self.hi))
            self.lo, self.hi = self.lo + shift, self.hi + shift
            self.update()
        self._press = None

    def mouseMoveEvent(self, event: QMouseEvent | None) -> None:
        if event is not None and self.state is not None:
            vpn = self.page_at(event.position().x())
            self.setToolTip(f"{vpn << 12:08x}: {MemoryState(int(self.state[vpn])).name.lower()}")


def legend_html(colours: dict[MemoryState, QColor]) -> str:
    """A swatch and a name per state, each entry held together (a non-breaking space inside,
    a breakable one between), so a narrow dock wraps whole entries."""
    return "&nbsp; ".join(f"<span style='color:{c.name()}'>&#9632;</span>&nbsp;{s.name.lower()}"
                          for s, c in colours.items())


class AddressSpaceDock(QDockWidget):
    """The strip, zoom buttons and a legend; a click opens the page table at that address."""

    def __init__(self) -> None:
        super().__init__("Address space")
        self.setObjectName("address_space")
        self.strip = AddressStrip()
        tools = QHBoxLayout()
        for label, action in (("+", lambda: self.strip.zoom(4)), ("-", lambda: self.strip.zoom(0.25)),
                              ("4 GiB", self.strip.reset_zoom)):
            button = QPushButton(label)
            button.setMaximumWidth(60)
            button.clicked.connect(action)
            tools.addWidget(button)
        self.legend = legend = QLabel(legend_html(STATE_COLOURS))
        legend.setWordWrap(True)
        tools.addWidget(legend, 1)
        stack(self, self.strip, tools)

    def show_pages(self, pages: PageTableSnapshot) -> None:
        self.strip.set_state(pages.state)
        self.setWindowTitle(f"Address space of process {pages.pid}")


class FaultPlot(Plot):
    """Fault counts over time, one line per (process, kind) that counted any; the y axis is
    the count since the window opened, the x axis the frames of the last ``HISTORY``
    snapshots. pyqtgraph: the wheel zooms, a drag pans, hovering names the counts at the
    frame under the mouse, right-click offers "View All" and export."""

    HISTORY = 600

    def __init__(self) -> None:
        super().__init__(self._hover, "frame", "faults")
        self.setMinimumSize(240, 140)
        self.series: dict[tuple[int, str], deque[int]] = {}
        self.stale = False  # counts added that the curves do not show yet
        self.frames: deque[int] = deque(maxlen=self.HISTORY)
        self.kind = "all kinds"
        self.curves: dict[tuple[int, str], pg.PlotDataItem] = {}
        # PlotWidget binds PlotItem.clear (remove every item) on the instance; here, as before
        # pyqtgraph, clear() forgets the counts (the window's Reset calls it).
        self.clear = self.forget
        self.empty = pg.TextItem("no faults counted yet", color="k")
        self.addItem(self.empty)
        self.legend()

    def add(self, snap: Snapshot, redraw: bool = True) -> None:
        """The snapshot's counts; ``redraw`` False: the curves wait for :meth:`redraw`
        (:attr:`stale` says they are behind)."""
        self.frames.append(snap.frame)
        seen = set()
        for proc in snap.processes:
            for kind in FAULT_KINDS:
                key = (proc.pid, kind)
                series = self.series.get(key)
                value = proc.faults.get(kind, 0)
                if series is None and value == 0:
                    continue
                if series is None:
                    series = self.series[key] = deque([0] * (len(self.frames) - 1), maxlen=self.HISTORY)
                series.append(value)
                seen.add(key)
        for key, series in self.series.items():
            if key not in seen:
                series.append(series[-1] if series else 0)  # a process that was reaped keeps its last count
        if redraw:
            self.redraw()
        else:
            self.stale = True

    def forget(self) -> None:
        self.series.clear()
        self.frames.clear()
        self.redraw()

    def visible(self) -> list[tuple[tuple[int, str], deque[int]]]:
        return [(k, s) for k, s in sorted(self.series.items()) if self.kind in ("all kinds", k[1]) and any(s)]

    def redraw(self) -> None:
        """One curve per visible series (made once, then fed), the others removed."""
        self.stale = False
        lines = dict(self.visible())
        legend = self.legend()
        for key in [k for k in self.curves if k not in lines]:
            curve = self.curves.pop(key)
            legend.removeItem(curve)
            self.removeItem(curve)
        frames = np.array(self.frames, dtype=float)
        for key, series in lines.items():
            curve = self.curves.get(key)
            if curve is None:
                colour = COLOURS[len(self.curves) % len(COLOURS)]
                curve = self.curves[key] = self.plot([], [], pen=pg.mkPen(colour, width=2),
                                                     name=f"{key[0]} {key[1].replace('_', ' ')}")
            # a series that began later lines up with the newest frames
            curve.setData(frames[len(frames) - len(series):], np.array(series, dtype=float))
        self.empty.setVisible(not lines)

    def _hover(self, x: float, _y: float) -> str:
        if not self.frames:
            return ""
        frames = list(self.frames)
        at = min(range(len(frames)), key=lambda i: abs(frames[i] - x))
        parts = []
        for (pid, kind), series in self.visible():
            offset = at - (len(frames) - len(series))
            if 0 <= offset < len(series):
                parts.append(f"{pid} {kind.replace('_', ' ')} {series[offset]:,}")
        return f"frame {frames[at]}: " + (", ".join(parts) or "no faults")


class FaultPlotDock(QDockWidget):
    def __init__(self) -> None:
        super().__init__("Faults over time")
        self.setObjectName("fault_plot")
        self.plot = FaultPlot()
        self.kind_box = QComboBox()
        self.kind_box.addItems(["all kinds", *FAULT_KINDS])
        self.kind_box.currentTextChanged.connect(self._set_kind)
        stack(self, self.kind_box, self.plot)
        self.visibilityChanged.connect(lambda visible: self.plot.redraw() if visible and self.plot.stale else None)

    def _set_kind(self, kind: str) -> None:
        self.plot.kind = kind
        self.plot.redraw()

    def show_snapshot(self, snap: Snapshot) -> None:
        """Every snapshot's counts; the curves are redrawn for the stopped guests' snapshots
        and while in sight (pyqtgraph's updates are Python on the GUI thread)."""
        self.plot.add(snap, redraw=not snap.running or on_screen(self))
