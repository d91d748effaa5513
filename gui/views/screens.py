"""The two 3DS screens, drawn at an integer scale from patches of changed columns."""

from __future__ import annotations

import sys

import numpy as np
from PyQt6.QtCore import QPoint, QRect, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPalette, QRegion
from PyQt6.QtWidgets import QSizePolicy, QWidget

from kernel.display import SCREEN_HEIGHT, SCREEN_WIDTHS

GAP = 4  # pixels between the screens (unscaled)


class ScreenView(QWidget):
    """Top screen above the bottom one, like the console. ``scale`` 0 fits the widget.

    The images are kept here and patched column range by column range (from the
    dirty pages the display tracks), never copied whole per frame. A press on the
    bottom screen is a touch: ``touched(x, y)`` while held, ``released`` after.
    """

    touched = pyqtSignal(int, int)
    released = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # RGB32, the raster backing store's own format: an RGB888 image was converted on every
        # paint, on the GUI thread, holding the interpreter lock the emulation thread waits for.
        self.images = {name: QImage(width, SCREEN_HEIGHT, QImage.Format.Format_RGB32)
                       for name, width in SCREEN_WIDTHS.items()}
        for image in self.images.values():
            image.fill(Qt.GlobalColor.black)
        self.scale = 0
        self.columns_drawn = 0  # columns patched so far (what the dirty tracking saved is visible here)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(SCREEN_WIDTHS["top"], 2 * SCREEN_HEIGHT + GAP)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # The grey around the screens is Qt's own background fill (C++, before paintEvent),
        # not a fillRect in Python, which held the interpreter lock while it filled the widget.
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(Qt.GlobalColor.darkGray))
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        self._touching = False

    def set_scale(self, scale: int) -> None:
        """0 fits the room the window gives; 1, 2, 3 draw at that scale, and the window
        scrolls the screens when they are larger than its room."""
        self.scale = scale
        s = scale or 1
        self.setMinimumSize(SCREEN_WIDTHS["top"] * s, (2 * SCREEN_HEIGHT + GAP) * s)
        self.updateGeometry()
        self.update()

    def effective_scale(self) -> int:
        if self.scale:
            return self.scale
        fit_w = self.width() // SCREEN_WIDTHS["top"]
        fit_h = self.height() // (2 * SCREEN_HEIGHT + GAP)
        return max(1, min(fit_w, fit_h))

    def sizeHint(self) -> QSize:
        s = self.scale or 2
        return QSize(SCREEN_WIDTHS["top"] * s, (2 * SCREEN_HEIGHT + GAP) * s)

    def pixels(self, screen: str) -> np.ndarray:
        """A (240, width, 3) RGB view of a screen's image (writes show on the next paint).

        The image is RGB32: each pixel is 0xffRRGGBB, in memory B, G, R, 0xff (little-endian),
        so the view takes bytes 2, 1, 0 of each."""
        quads = self.words(screen)[..., None].view(np.uint8)  # (240, width, 4): each word's bytes
        return quads[:, :, 2::-1] if sys.byteorder == "little" else quads[:, :, 1:]

    def words(self, screen: str) -> np.ndarray:
        """A (240, width) view of a screen's image as its 0xffRRGGBB words."""
        image = self.images[screen]
        ptr = image.bits()
        assert ptr is not None
        ptr.setsize(image.sizeInBytes())
        flat = np.frombuffer(ptr, dtype=np.uint32)  # type: ignore[call-overload]  # a sip.voidptr
        return flat.reshape(image.height(), image.bytesPerLine() // 4)[:, : image.width()]

    def apply(self, patches: list) -> None:
        """Copy each patch's columns (0xffRRGGBB words, as the image holds them: a plain copy)
        into its screen and repaint."""
        for patch in patches:
            width = patch.pixels.shape[1]
            self.words(patch.screen)[:, patch.first : patch.first + width] = patch.pixels
            self.columns_drawn += width
        if patches:
            rects = self.rects()
            region = QRegion()
            for name in {patch.screen for patch in patches}:
                region += rects[name]
            self.update(region)  # only the screens patched are painted again

    def rects(self) -> dict[str, QRect]:
        s = self.effective_scale()
        total_w, total_h = SCREEN_WIDTHS["top"] * s, (2 * SCREEN_HEIGHT + GAP) * s
        x0, y0 = (self.width() - total_w) // 2, max(0, (self.height() - total_h) // 2)
        bottom_x = x0 + (SCREEN_WIDTHS["top"] - SCREEN_WIDTHS["bottom"]) * s // 2
        return {"top": QRect(x0, y0, SCREEN_WIDTHS["top"] * s, SCREEN_HEIGHT * s),
                "bottom": QRect(bottom_x, y0 + (SCREEN_HEIGHT + GAP) * s, SCREEN_WIDTHS["bottom"] * s,
                                SCREEN_HEIGHT * s)}

    def paintEvent(self, event: QPaintEvent | None) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # integer scale, sharp pixels
        for name, rect in self.rects().items():
            painter.drawImage(rect, self.images[name])
        painter.end()

    # -- touch --------------------------------------------------------------------------------
    def touch_point(self, pos: QPoint) -> tuple[int, int] | None:
        rect = self.rects()["bottom"]
        if not rect.contains(pos):
            return None
        s = self.effective_scale()
        return (pos.x() - rect.x()) // s, (pos.y() - rect.y()) // s

    def mousePressEvent(self, event: QMouseEvent | None) -> None:
        if event is not None and event.button() == Qt.MouseButton.LeftButton:
            point = self.touch_point(event.position().toPoint())
            if point is not None:
                self._touching = True
                self.touched.emit(*point)

    def mouseMoveEvent(self, event: QMouseEvent | None) -> None:
        if event is not None and self._touching:
            point = self.touch_point(event.position().toPoint())
            if point is not None:
                self.touched.emit(*point)

    def mouseReleaseEvent(self, event: QMouseEvent | None) -> None:
        if self._touching:
            self._touching = False
            self.released.emit()
