"""pyqtgraph plots the docks share: zoom with the wheel, pan by dragging, right-click for
pyqtgraph's menu (view all, export), and a hover text that also becomes the tooltip.

pyqtgraph draws with Qt's own scene graph, so it needs no OpenGL and runs offscreen."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PyQt6.QtCore import QPointF, QSize

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")

Hover = Callable[[float, float], str]


class Plot(pg.PlotWidget):
    """A white plot whose ``hover(x, y)`` (data coordinates) says what lies under the mouse."""

    def __init__(self, hover: Hover | None = None, x_label: str = "", y_label: str = "") -> None:
        super().__init__(background="w")
        self.setMinimumSize(200, 110)
        item = self.getPlotItem()
        assert item is not None
        item.showGrid(x=True, y=True, alpha=0.25)
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setPen("k")
            axis.setTextPen("k")
        if x_label:
            item.setLabel("bottom", x_label)
        if y_label:
            item.setLabel("left", y_label)
        self.hover = hover
        self.hover_text = ""
        scene = self.scene()
        assert scene is not None
        scene.sigMouseMoved.connect(self._moved)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """A dock's worth, not pyqtgraph's 640x480: the docks around the screens ask for what
        their plots ask, and the screens should keep the window's room."""
        return QSize(320, 160)

    def _moved(self, pos: QPointF) -> None:
        if self.hover is None:
            return
        point = self.getPlotItem().vb.mapSceneToView(pos)
        self.hover_text = self.hover(point.x(), point.y())
        self.setToolTip(self.hover_text)

    def legend(self) -> pg.LegendItem:
        item = self.getPlotItem()
        assert item is not None
        legend = item.legend or item.addLegend(offset=(-4, 4), labelTextColor="k")
        return legend
