"""Docks over the inspection API (issue 13): the heap of the selected process, the
footprints of all of them, and a memory scanner.

They never touch the emulator: each asks for a Qt-free sample (:mod:`gui.inspect_state`)
through ``Session.call`` (quiet: no snapshot follows), which runs it on the emulation
thread between slices, and shows the answer. Samples are asked for when a snapshot
says something moved, at most one in flight, and while running at most every
``INTERVAL`` seconds, so a hidden dock costs nothing and a shown one little.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSplitter,
)

from gui.inspect_state import (
    OWNER_NAMES,
    FootprintRow,
    FootprintSample,
    HeapSample,
    PhysicalPicture,
    ScanResult,
    footprint_sample,
    heap_sample,
    rescan,
    start_scan,
)
from gui.layout import scrolling
from gui.models.inspect import FootprintModel, HeapBlockModel, ScanModel, kib
from gui.session import Session
from gui.state import Snapshot
from gui.views.memory_docks import parse_address
from gui.views.plots import COLOURS, Plot
from gui.views.tables import make_table, stack
from hlemu.inspect.footprint import FREE, HELD, SHARED
from hlemu.inspect.scan import CONDITIONS

INTERVAL = 0.5  # seconds between samples while the guests run
HISTORY = 600  # samples the heap's lines keep
USED_COLOUR, FREE_COLOUR, HIGH_COLOUR = "#d62728", "#2ca02c", "#1f77b4"


def scroll_body(dock: QDockWidget) -> None:
    """Put the body :func:`stack` gave ``dock`` in a scroll area, so the dock's minimum size
    (and the window's) is not the sum of its plots' and tables'."""
    body = dock.widget()
    assert body is not None
    dock.setWidget(scrolling(body))


class SampledDock(QDockWidget):
    """A dock that samples the emulator as snapshots arrive (see the module's docstring)."""

    def __init__(self, title: str, name: str, session: Session) -> None:
        super().__init__(title)
        self.setObjectName(name)
        self.session = session
        self.pending = False
        self.generation = 0
        self._last = 0.0
        self._key: object = None
        self.showing = False  # tabbed away or closed: no samples
        session.worker.snapshot.connect(self.show_snapshot)
        self.visibilityChanged.connect(self._visible)

    def _visible(self, visible: bool) -> None:
        self.showing = visible
        if visible and self.session.latest is not None:  # paused: no snapshot may come for a while
            self.show_snapshot(self.session.latest)

    def show_snapshot(self, snap: Snapshot) -> None:
        if snap.generation != self.generation:
            self.generation = snap.generation
            self.forget()
        if self.pending or not self.showing:
            return
        key = self.sample_key(snap)
        now = time.monotonic()
        if key is None or key == self._key or (snap.running and now - self._last < INTERVAL):
            return
        self._key, self._last, self.pending = key, now, True
        self.session.call(self.sampler(snap), self._answered, quiet=True)

    def _answered(self, result: object, error: str | None) -> None:
        self.pending = False
        if error is None:
            self.show_sample(result)
        else:
            self.setWindowTitle(f"{self.windowTitle().split(':')[0]}: {error.strip().splitlines()[-1]}")

    def sample_key(self, snap: Snapshot) -> object:
        """What the sample depends on; None: nothing to sample."""
        return (snap.frame, snap.instructions)

    def sampler(self, snap: Snapshot):  # noqa: ANN201 - a function of the Emulator
        raise NotImplementedError

    def show_sample(self, sample: object) -> None:
        raise NotImplementedError

    def forget(self) -> None:
        """A reset built a new emulator: drop what belonged to the old one."""
        self._key = None


# -- heap ----------------------------------------------------------------------------------------
class HeapDock(SampledDock):
    """The selected process's heap: a strip of its chunks (red used, green free; hover for
    address and size; wheel zooms, drag pans) and used / free / high-water over guest time."""

    def __init__(self, session: Session) -> None:
        super().__init__("Heap", "heap", session)
        self.sample: HeapSample | None = None
        self.history: deque[tuple[float, int, int, int]] = deque(maxlen=HISTORY)  # seconds, used, free, high
        self.summary = QLabel("no process selected")
        self.strip = Plot(self._strip_hover, "offset from the heap's start (bytes)")
        self.strip.getPlotItem().hideAxis("left")
        self.strip.getPlotItem().showGrid(x=False, y=False)
        self.strip.setMouseEnabled(x=True, y=False)
        self.lines = Plot(self._lines_hover, "guest time (s)", "bytes")
        self.lines.legend()  # before the curves, which enter it by name
        self.curves = {name: self.lines.plot([], [], pen=pg.mkPen(colour, width=2, style=style), name=name)
                       for name, colour, style in (("used", USED_COLOUR, Qt.PenStyle.SolidLine),
                                                   ("free", FREE_COLOUR, Qt.PenStyle.SolidLine),
                                                   ("high water", HIGH_COLOUR, Qt.PenStyle.DashLine))}
        self.bars: pg.BarGraphItem | None = None
        self.model = HeapBlockModel()
        self.table, _ = make_table(self.model)
        split = QSplitter(Qt.Orientation.Vertical)
        for part in (self.strip, self.lines, self.table):
            split.addWidget(part)
        split.setSizes([90, 160, 120])
        stack(self, self.summary, split)
        scroll_body(self)  # two plots and a table: scroll rather than hold the window tall

    def sample_key(self, snap: Snapshot) -> object:
        pid = snap.detail.pid if snap.detail is not None else None
        return None if pid is None else (pid, snap.frame, snap.instructions)

    def sampler(self, snap: Snapshot):  # noqa: ANN201
        assert snap.detail is not None  # sample_key said there is one
        pid = snap.detail.pid
        return lambda emu: heap_sample(emu, pid)

    def forget(self) -> None:
        super().forget()
        self.history.clear()
        self.sample = None

    def show_sample(self, sample: object) -> None:
        assert isinstance(sample, HeapSample)
        if self.sample is not None and self.sample.pid != sample.pid:
            self.history.clear()
        self.sample = sample
        self.setWindowTitle(f"Heap of process {sample.pid}")
        if sample.error is not None:
            self.summary.setText(sample.error)
            self.model.set_rows([])
            self._draw_strip()
            return
        self.summary.setText(
            f"{sample.allocator}: {len(sample.blocks)} blocks, {sample.used:,} used, {sample.free:,} free, "
            f"largest free {sample.largest_free:,}, fragmentation {sample.fragmentation:.0%}, "
            f"high water {sample.high_water:,}" + ("; " + "; ".join(sample.problems) if sample.problems else ""))
        self.model.set_rows(list(sample.blocks))
        if not self.history or self.history[-1][0] != sample.seconds:
            self.history.append((sample.seconds, sample.used, sample.free, sample.high_water))
        self._draw_strip()
        self._draw_lines()

    def _draw_strip(self) -> None:
        if self.bars is not None:
            self.strip.removeItem(self.bars)
            self.bars = None
        sample = self.sample
        if sample is None or not sample.blocks:
            return
        x0 = np.array([b.address - sample.start for b in sample.blocks], dtype=float)
        width = np.array([b.size for b in sample.blocks], dtype=float)
        brushes = [pg.mkBrush(USED_COLOUR if b.used else FREE_COLOUR) for b in sample.blocks]
        self.bars = pg.BarGraphItem(x0=x0, width=width, y0=0, height=1, brushes=brushes, pen=pg.mkPen("w"))
        self.strip.addItem(self.bars)
        self.strip.setXRange(0, float(x0[-1] + width[-1]), padding=0.01)
        self.strip.setYRange(0, 1, padding=0.05)

    def _draw_lines(self) -> None:
        seconds = np.array([h[0] for h in self.history], dtype=float)
        for i, name in enumerate(("used", "free", "high water"), start=1):
            self.curves[name].setData(seconds, np.array([h[i] for h in self.history], dtype=float))

    def _strip_hover(self, x: float, _y: float) -> str:
        sample = self.sample
        if sample is None or sample.error is not None:
            return ""
        block = sample.block_at(sample.start + x)
        if block is None:
            return f"+{int(x):#x}: no block"
        return (f"{block.address:08x}: {'used' if block.used else 'free'} block of {block.size:,} bytes "
                f"(+{block.address - sample.start:#x})")

    def _lines_hover(self, x: float, _y: float) -> str:
        if not self.history:
            return ""
        seconds, used, free, high = min(self.history, key=lambda h: abs(h[0] - x))
        return f"{seconds:.6f} s: used {used:,}, free {free:,}, high water {high:,}"


# -- footprints ----------------------------------------------------------------------------------
class FootprintDock(SampledDock):
    """RSS, PSS and USS of every process (a table, and bars to hover over); shared frames
    are divided among their sharers, so the processes' PSS add up to the system's. Below,
    physical memory (FCRAM's regions, then VRAM) a pixel a frame, coloured by who holds it."""

    KINDS = (("RSS", "#9ecae1"), ("PSS", "#3182bd"), ("USS", "#08519c"))
    ROW = 256  # frames a row of the physical memory picture (1 MiB)

    def __init__(self, session: Session) -> None:
        super().__init__("Footprints", "footprints", session)
        self.rows: list[FootprintRow] = []
        self.picture: PhysicalPicture | None = None
        self.physical = Plot(self._physical_hover, "frame within the row (a row is 1 MiB)")
        self.physical.getPlotItem().showGrid(x=False, y=False)
        self.physical.invertY(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.physical.addItem(self.image)
        self.legend_label = QLabel("")
        self.legend_label.setWordWrap(True)
        self.model = FootprintModel()
        self.table, _ = make_table(self.model)
        self.plot = Plot(self._hover, "", "KiB")
        legend = self.plot.legend()
        self.bars: list[pg.BarGraphItem] = []
        for name, colour in self.KINDS:  # legend entries, drawn once
            legend.addItem(pg.BarGraphItem(x=[0], height=[0], width=0, brush=colour), name)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.plot)
        split.addWidget(self.physical)
        split.setSizes([120, 150, 190])
        stack(self, split, self.legend_label)
        scroll_body(self)  # as the heap's: the window's minimum stays its own

    def sampler(self, snap: Snapshot):  # noqa: ANN201
        return footprint_sample

    def show_sample(self, sample: object) -> None:
        assert isinstance(sample, FootprintSample)
        self.rows = list(sample.rows)
        self.model.set_rows(self.rows)
        self._draw_bars()
        self._draw_physical(sample.picture)

    def colour_of(self, owner: int) -> str:
        fixed = {FREE: "#303038", HELD: "#9a9a9a", SHARED: "#f0c83c"}
        if owner in fixed:
            return fixed[owner]
        pids = sorted(r.pid for r in self.rows if r.pid >= 0)
        return COLOURS[pids.index(owner) % len(COLOURS)] if owner in pids else "#e377c2"

    def _draw_physical(self, picture: PhysicalPicture) -> None:
        """Physical memory, one pixel a frame, 1 MiB a row, coloured by who holds it."""
        self.picture = picture
        owners = picture.owners
        rows = -(-len(owners) // self.ROW)
        padded = np.full(rows * self.ROW, FREE, dtype=np.int32)
        padded[: len(owners)] = owners
        counts = picture.counts()
        lut = {owner: pg.mkColor(self.colour_of(owner)).getRgb()[:3] for owner in counts}
        rgb = np.zeros((len(padded), 3), dtype=np.uint8)
        for owner, colour in lut.items():
            rgb[padded == owner] = colour
        self.image.setImage(rgb.reshape(rows, self.ROW, 3), levels=(0, 255))
        axis = self.physical.getPlotItem().getAxis("left")
        axis.setTicks([[(first / self.ROW, name) for name, first, _, _ in picture.regions]])
        names = {r.pid: f"{r.pid} {r.name}" for r in self.rows if r.pid >= 0}
        self.legend_label.setText("  ".join(
            f"<span style='color:{self.colour_of(owner)}'>&#9632;</span> "
            f"{names.get(owner, OWNER_NAMES.get(owner, owner))}: {kib(count * 4096)}"
            for owner, count in sorted(counts.items(), key=lambda oc: (oc[0] < 0, oc[0]))))

    def _physical_hover(self, x: float, y: float) -> str:
        if self.picture is None or x < 0 or y < 0 or x >= self.ROW:
            return ""
        return self.picture.describe(int(y) * self.ROW + int(x))

    def _draw_bars(self) -> None:
        procs = [r for r in self.rows if r.pid >= 0]
        for bar in self.bars:
            self.plot.removeItem(bar)
        self.bars = []
        x = np.arange(len(procs), dtype=float)
        for i, (name, colour) in enumerate(self.KINDS):
            heights = np.array([getattr(r, name.lower()) / 1024 for r in procs], dtype=float)
            bar = pg.BarGraphItem(x=x + (i - 1) * 0.27, height=heights, width=0.25, brush=colour)
            self.plot.addItem(bar)
            self.bars.append(bar)
        axis = self.plot.getPlotItem().getAxis("bottom")
        axis.setTicks([[(i, f"{r.pid} {r.name}") for i, r in enumerate(procs)]])
        system = next((r for r in self.rows if r.pid < 0), None)
        self.setWindowTitle("Footprints" + (f": system {kib(system.rss)} in use" if system else ""))

    def _hover(self, x: float, _y: float) -> str:
        procs = [r for r in self.rows if r.pid >= 0]
        at = int(round(x))
        if not 0 <= at < len(procs):
            return ""
        r = procs[at]
        states = ", ".join(f"{s} {kib(p)}" for s, _, p, _ in r.by_state if p)
        return f"{r.pid} {r.name}: RSS {kib(r.rss)}, PSS {kib(r.pss)}, USS {kib(r.uss)} (PSS by state: {states})"


# -- scanner -------------------------------------------------------------------------------------
def parse_value(text: str) -> int:
    """``42``, ``0x2a`` or ``-1`` -> int; ValueError with a reason otherwise."""
    try:
        return int(text.strip().replace("_", ""), 0)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number (decimal, or hex with 0x)") from None


def parse_range(text: str) -> tuple[int, int]:
    """``""`` (the whole space) or ``00100000-08000000`` (hex, end exclusive) -> (start, end)."""
    if not text.strip():
        return 0, 1 << 32
    lo, sep, hi = text.partition("-")
    if not sep:
        raise ValueError(f"{text.strip()!r} is not a range (START-END in hex, e.g. 00100000-08000000)")
    start, end = parse_address(lo), parse_address(hi)
    if end <= start:
        raise ValueError(f"the range {text.strip()} ends before it starts")
    return start, end


class ScannerDock(QDockWidget):
    """Scan the selected process for a value of a width, then rescan the candidates
    (changed, unchanged, increased, decreased, equal / not equal to a value)."""

    def __init__(self, session: Session) -> None:
        super().__init__("Scanner")
        self.setObjectName("scanner")
        self.session = session
        self.pid: int | None = None
        self.generation = 0
        self.result: ScanResult | None = None
        self.value = QLineEdit()
        self.value.setPlaceholderText("value (42, 0x2a)")
        self.width_box = QComboBox()
        for width in (1, 2, 4, 8):
            self.width_box.addItem(f"{width} bytes", width)
        self.width_box.setCurrentIndex(2)
        self.range = QLineEdit()
        self.range.setPlaceholderText("range: all (or 00100000-08000000)")
        self.scan_button = QPushButton("Scan")
        self.scan_button.clicked.connect(self.scan)
        self.condition = QComboBox()
        self.condition.addItems(list(CONDITIONS))
        self.rescan_button = QPushButton("Rescan")
        self.rescan_button.clicked.connect(self.rescan)
        self.rescan_button.setEnabled(False)
        self.status = QLabel("select a process, type a value, Scan")
        self.model = ScanModel()
        self.table, _ = make_table(self.model)
        tools = QHBoxLayout()
        for widget in (self.value, self.width_box, self.range, self.scan_button, self.condition, self.rescan_button):
            tools.addWidget(widget)
        stack(self, tools, self.status, self.table)
        scroll_body(self)  # its row of fields scrolls rather than widen the window
        session.worker.snapshot.connect(self.show_snapshot)

    def show_snapshot(self, snap: Snapshot) -> None:
        if snap.generation != self.generation:
            self.generation = snap.generation
            self._drop("the emulator was reset")
        self.pid = snap.detail.pid if snap.detail is not None else None
        self.scan_button.setEnabled(self.pid is not None)

    def scan(self) -> None:
        try:
            value = parse_value(self.value.text())
            start, end = parse_range(self.range.text())
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        pid, width = self.pid, int(self.width_box.currentData())
        if pid is None:
            self.status.setText("no process selected")
            return
        self.status.setText(f"scanning process {pid}...")
        self.session.call(lambda emu: start_scan(emu, pid, value, width, start, end), self._answered, quiet=True)

    def rescan(self) -> None:
        result = self.result
        if result is None:
            return
        condition = self.condition.currentText()
        value = None
        if condition in ("equal", "not_equal"):
            try:
                value = parse_value(self.value.text())
            except ValueError as exc:
                self.status.setText(str(exc))
                return
        scan, pid = result.scan, result.pid
        self.session.call(lambda emu: rescan(emu, pid, scan, condition, value), self._answered,  # type: ignore[arg-type]
                          quiet=True)

    def _answered(self, result: object, error: str | None) -> None:
        if error is not None:
            self.status.setText(error.strip().splitlines()[-1])
            return
        assert isinstance(result, ScanResult)
        self.result = result
        self.model.set_rows(list(result.rows))
        narrowing = " -> ".join(f"{n:,}" for n in result.history)
        shown = "" if result.count <= len(result.rows) else f" (the first {len(result.rows):,} shown)"
        self.status.setText(f"process {result.pid}, {result.width}-byte values: {narrowing} candidates{shown}")
        self.rescan_button.setEnabled(True)

    def _drop(self, why: str) -> None:
        self.result = None
        self.model.set_rows([])
        self.rescan_button.setEnabled(False)
        self.status.setText(why)


def add_inspect_docks(window: QMainWindow, session: Session, beside: QDockWidget | None = None
                      ) -> tuple[HeapDock, FootprintDock, ScannerDock]:
    """Make the three docks and tab them (beside ``beside``, at the bottom otherwise)."""
    docks = (HeapDock(session), FootprintDock(session), ScannerDock(session))
    for dock in docks:
        if beside is not None:
            window.tabifyDockWidget(beside, dock)
        else:
            window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    if beside is not None:
        beside.raise_()
    return docks


__all__ = ["FootprintDock", "HeapDock", "ScannerDock", "add_inspect_docks", "parse_range", "parse_value"]
