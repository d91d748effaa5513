"""The GPU dock: what the PICA200 was given in the last frame that had command lists, and
what it made of it. Tabs: the lists decoded (draw triggers highlighted), the draw calls, the
textures they sampled as pictures, the vertex shader's disassembly; the counts on top.

It asks for a :class:`gui.gpu_state.GpuSample` through ``Session.call`` (quiet) when the
Refresh button is pressed, and by itself only when a snapshot says the guests are not running
(paused, stepped, at a breakpoint, exited) and moved since the last sample, while the dock is
shown: nothing while they run, so it costs the emulation nothing.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QModelIndex, Qt
from PyQt6.QtGui import QImage, QPixmap
from PyQt6.QtWidgets import (
    QDockWidget,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui.gpu_state import GpuSample, TextureImage, gpu_sample
from gui.layout import scrolling
from gui.models.base import MONO
from gui.models.gpu import CommandModel, DrawModel
from gui.session import Session
from gui.state import Snapshot
from gui.views.inspect_docks import SampledDock
from gui.views.tables import make_table, stack

EMPTY = ("no command lists yet: no guest has submitted GPU work (GX ProcessCommandList); "
         "run a program that draws (gpu_triangles, gpu_textured) and pause")
WAITING = "not sampled yet: press Refresh, or pause the guests, to see the GPU's last frame"
SMALLEST_SHOWN = 128  # textures are scaled up (nearest) to at least this many pixels a side
TEXTURE_COLUMNS = 3
VALUES_WIDTH = 300  # pixels at most for the values column of the command lists


def texture_qimage(rgba: np.ndarray) -> QImage:
    """A (height, width, 4) uint8 RGBA array as a QImage that owns its pixels."""
    h, w = rgba.shape[:2]
    data = np.ascontiguousarray(rgba, np.uint8).tobytes()
    return QImage(data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()  # copy: own the pixels


def counted(n: int, what: str) -> str:
    """``1 list``, ``2 lists``, ``23,996 pixels``."""
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def counts_text(counts: dict[str, int]) -> str:
    """``1 list, 2 draws, 2 triangles, 23,996 pixels``."""
    return ", ".join(counted(counts[k], k[:-1]) for k in ("lists", "draws", "triangles", "pixels"))


def scale_for(width: int, height: int) -> int:
    """The integer factor that brings a small texture's longer side to SMALLEST_SHOWN."""
    return max(1, SMALLEST_SHOWN // max(width, height, 1))


class GpuDock(SampledDock):
    """See the module's docstring."""

    def __init__(self, session: Session) -> None:
        super().__init__("GPU", "gpu", session)
        self.sample: GpuSample | None = None
        self.images: list[QImage] = []  # the textures at their own size (the labels show them scaled)
        self.texture_labels: list[tuple[QLabel, QLabel]] = []  # (picture, caption) a texture
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Ask the emulation thread for the GPU's last frame now")
        self.refresh_button.clicked.connect(self.refresh)
        self.summary = QLabel(WAITING)
        self.summary.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.refresh_button)
        top.addWidget(self.summary, 1)
        self.command_model, self.draw_model = CommandModel(), DrawModel()
        self.commands, self.command_proxy = make_table(self.command_model, sortable=False)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("filter commands (a register name, DRAW, a value)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.command_proxy.setFilterFixedString)
        self.draws, self.draw_proxy = make_table(self.draw_model)
        self.draws.setToolTip("Double-click a draw to see the command that triggered it")
        self.draws.doubleClicked.connect(self._draw_clicked)
        self.texture_note = QLabel("no textures: the frame's draws sampled none")
        self.texture_grid = QGridLayout()
        self.texture_grid.setColumnStretch(TEXTURE_COLUMNS, 1)  # the pictures packed to the left
        texture_body = QWidget()
        texture_layout = QVBoxLayout(texture_body)
        texture_layout.addWidget(self.texture_note)
        texture_layout.addLayout(self.texture_grid)
        texture_layout.addStretch(1)
        self.shader = QPlainTextEdit()
        self.shader.setReadOnly(True)
        self.shader.setFont(MONO)
        self.shader.setPlaceholderText("no vertex shader uploaded yet")
        self.tabs = QTabWidget()
        self.tabs.addTab(self._with_filter(), "Command lists")
        self.tabs.addTab(self.draws, "Draws")
        self.tabs.addTab(scrolling(texture_body), "Textures")
        self.tabs.addTab(self.shader, "Shader")
        stack(self, top, self.tabs)

    def _with_filter(self) -> QWidget:
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.commands)
        return body

    # -- asking ----------------------------------------------------------------------------------
    def sample_key(self, snap: Snapshot) -> object:
        return None if snap.running else (snap.frame, snap.instructions)

    def sampler(self, snap: Snapshot):  # noqa: ANN201
        return gpu_sample

    def refresh(self) -> None:
        """Sample now, whatever the guests are doing."""
        if not self.pending:
            self.pending = True
            self.session.call(gpu_sample, self._answered, quiet=True)

    def forget(self) -> None:
        super().forget()
        self.show_sample(None)

    def show_draw_command(self, number: int) -> bool:
        """Select the command that triggered draw ``number`` in the Command lists tab (clearing
        the filter); False when no command is marked with it (an immediate-mode draw)."""
        rows = [r for r, c in enumerate(self.command_model.rows) if c.draw == number]
        if not rows:
            return False
        self.filter.clear()
        index = self.command_proxy.mapFromSource(self.command_model.index(rows[0], CommandModel.LIST))
        self.tabs.setCurrentIndex(0)
        self.commands.selectRow(index.row())
        self.commands.scrollTo(index)
        return True

    def _draw_clicked(self, index: QModelIndex) -> None:
        row = self.draw_proxy.mapToSource(index).row()
        if 0 <= row < len(self.draw_model.rows):
            self.show_draw_command(self.draw_model.rows[row].number)

    # -- showing ---------------------------------------------------------------------------------
    def show_sample(self, sample: object) -> None:
        assert sample is None or isinstance(sample, GpuSample)
        self.sample = sample
        if sample is None or sample.empty:
            self.summary.setText(WAITING if sample is None else EMPTY)
            self.setWindowTitle("GPU")
            self.command_model.set_rows([])
            self.draw_model.set_rows([])
            self._show_textures([])
            self.shader.setPlainText("")
            return
        c, t = sample.counts, sample.totals
        errors = f"; {counted(len(sample.errors), 'problem')}: {sample.errors[0]}" if sample.errors else ""
        self.summary.setText(f"frame {c['frame']:,}: {counts_text(c)}  |  since the start: {counts_text(t)}{errors}")
        self.setWindowTitle(f"GPU: frame {c['frame']:,}")
        self.command_model.set_rows(sample.commands)
        self.draw_model.set_rows(sample.draws)
        for view in (self.commands, self.draws):
            view.resizeColumnsToContents()
        values = CommandModel.VALUES  # a shader upload's hundreds of words: the cell is cut, hover shows all
        self.commands.setColumnWidth(values, min(self.commands.columnWidth(values), VALUES_WIDTH))
        self._show_textures(sample.textures)
        self.shader.setPlainText("\n".join(sample.shader))

    def _show_textures(self, textures: list[TextureImage]) -> None:
        while self.texture_grid.count():
            item = self.texture_grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.images = [texture_qimage(t.rgba) for t in textures]
        self.texture_labels = []
        self.texture_note.setVisible(not textures)
        for i, (t, image) in enumerate(zip(textures, self.images, strict=True)):
            f = scale_for(t.width, t.height)
            picture = QLabel()
            picture.setPixmap(QPixmap.fromImage(image).scaled(
                t.width * f, t.height * f, Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.FastTransformation))  # nearest: the texels stay squares
            picture.setToolTip(t.description)
            used = ", ".join(str(d) for d in t.draws)
            caption = QLabel(f"unit {t.unit}: {t.width}x{t.height} {t.format}\nat {t.address:#010x}"
                             f"{f' (x{f})' if f > 1 else ''}\ndraws {used}")
            caption.setToolTip(t.description)
            self.texture_labels.append((picture, caption))
            cell = QVBoxLayout()
            cell.addWidget(picture)
            cell.addWidget(caption)
            holder = QWidget()
            holder.setLayout(cell)
            self.texture_grid.addWidget(holder, i // TEXTURE_COLUMNS, i % TEXTURE_COLUMNS,
                                        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)


def add_gpu_dock(window: QMainWindow, session: Session, beside: QDockWidget) -> GpuDock:
    """Make the GPU dock and tab it beside ``beside`` (which stays the tab shown)."""
    dock = GpuDock(session)
    window.tabifyDockWidget(beside, dock)
    beside.raise_()
    return dock


__all__ = ["EMPTY", "WAITING", "GpuDock", "add_gpu_dock", "counts_text", "scale_for", "texture_qimage"]
