"""The two screens: framebuffers in guest memory, VBlank at 60 Hz of guest time.

A process hands a framebuffer to the display (through gsp::Gpu); its pages
become write-tracked special pages, so the first CPU write to a clean page
after each frame is a write-tracking fault and the display learns exactly
which pages changed. Each VBlank closes a frame: listeners (gsp::Gpu's
interrupt events, hid's pad update, a window) are told, the frame's dirty
pages are recorded and the trackers are rearmed.

Framebuffers are stored the 3DS way: rotated, 240 pixels per column, columns
from the left edge, the bottom row first within a column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from hlemu.gpu.pixels import GSP_TO_PICA, decode
from hlemu.images import write_image
from hlemu.memory import SpecialKind, WriteTracker
from kernel.layout import SYSTEM_TICK_HZ

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.process import Process

TICKS_PER_FRAME = SYSTEM_TICK_HZ // 60
SCREEN_HEIGHT = 240
SCREEN_WIDTHS = {"top": 400, "bottom": 320}
# GSP framebuffer formats: bytes per pixel
FORMAT_BYTES = {0: 4, 1: 3, 2: 2, 3: 2, 4: 2}
FORMAT_NAMES = {0: "RGBA8", 1: "BGR8", 2: "RGB565", 3: "RGB5A1", 4: "RGBA4"}


@dataclass
class Framebuffer:
    process: Process
    vaddr: int
    format: int = 1  # BGR8
    stride: int = 240 * 3  # bytes from one column to the next

    @property
    def size(self) -> int:
        return self.stride * 400  # enough for the widest screen; clipped per screen


@dataclass
class Screen:
    name: str
    width: int
    framebuffer: Framebuffer | None = None
    pages: set[int] = field(default_factory=set)  # guest pages of the framebuffer (its process)
    dirty_pages: list[int] = field(default_factory=list)  # pages of it written, frame by frame
    last_dirty: set[int] = field(default_factory=set)  # which of its pages the last frame wrote

    @property
    def height(self) -> int:
        return SCREEN_HEIGHT


RECENT_BUFFERS = 2  # framebuffers per screen and process kept tracked (double buffering)


class Display:
    """Both screens, the frame counter and the VBlank clock.

    One write tracker serves both screens: their framebuffers may share a page (the
    top one's last, the bottom one's first), which is tracked once and counted for
    each screen it belongs to. ``frame_pages`` holds the distinct pages written in
    each frame, which is what the write-tracking faults count.
    """

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.screens = {name: Screen(name, width) for name, width in SCREEN_WIDTHS.items()}
        self.tracker = WriteTracker("framebuffers")
        self.tracked: dict[int, set[int]] = {}  # pid -> pages under tracking
        self.shown: dict[tuple[str, int], set[int]] = {}  # (screen, pid) -> pages it last presented there
        # (screen, pid) -> the pages of the last RECENT_BUFFERS framebuffers it presented there, all
        # kept tracked: a double-buffered screen swaps between two, which then costs no retracking.
        self.recent: dict[tuple[str, int], list[frozenset[int]]] = {}
        self.frame = 0
        self.frame_pages: list[int] = []
        self.vblank_listeners: list[Callable[[int], None]] = []
        self.running = False
        kernel.scheduler.register_event("vblank", self._vblank)

    state_transient = ("vblank_listeners",)

    def state_extra(self) -> dict[str, object]:
        """A save state keeps the kernel's own VBlank listeners (services' bound methods), not
        the host's (``Emulator.on_frame``, an input script): those are added again by their owner."""
        from kernel.services import Service

        return {"vblank_listeners": [f for f in self.vblank_listeners
                                     if isinstance(getattr(f, "__self__", None), Service)]}

    def start(self) -> None:
        """Begin delivering VBlanks (when the first client registers for them)."""
        if not self.running:
            self.running = True
            self.kernel.scheduler.schedule_event("vblank", self.kernel.ticks + TICKS_PER_FRAME)

    def set_framebuffer(self, screen: str, fb: Framebuffer) -> None:
        """Show ``fb`` on ``screen`` from now on; its pages become write-tracked."""
        target = self.screens[screen]
        previous = target.framebuffer
        target.framebuffer = fb
        size = fb.stride * target.width
        pages = set(range(fb.vaddr >> 12, (fb.vaddr + size + 0xFFF) >> 12))
        if previous is not None and previous.process is fb.process and pages == target.pages:
            return
        old_pid = previous.process.pid if previous is not None else None
        target.pages = pages
        self.shown[(screen, fb.process.pid)] = pages
        recent = self.recent.setdefault((screen, fb.process.pid), [])
        key = frozenset(pages)
        if key in recent:
            recent.remove(key)
        recent.append(key)
        del recent[:-RECENT_BUFFERS]
        if old_pid is not None:
            self._retrack(old_pid)
        self._retrack(fb.process.pid)

    def _retrack(self, pid: int) -> None:
        """Track exactly the pages process ``pid`` last presented on each screen, shown now
        or not: two processes presenting one screen in turn (the demo's fb and console, each
        frame) then cost no retracking, and the writes of each stay tracked."""
        process = self.kernel.processes.get(pid)
        if process is None or not process.alive:
            self.tracked.pop(pid, None)
            for screen in self.screens:
                self.shown.pop((screen, pid), None)
                self.recent.pop((screen, pid), None)
            return
        wanted = set().union(*(pages for s in self.screens for pages in self.recent.get((s, pid), [])))
        have = self.tracked.get(pid, set())
        space, table = process.space, process.space.table
        for vpn in sorted(have - wanted):
            if table.special[vpn] == SpecialKind.TRACKED:
                space.untrack(vpn << 12, 0x1000)
        for vpn in sorted(wanted - have):
            if table.state[vpn] != 0 and table.frame[vpn] >= 0 and table.special[vpn] == SpecialKind.NONE:
                space.track_writes(vpn << 12, 0x1000, self.tracker)
            else:
                wanted.discard(vpn)  # not plain memory: the display cannot watch it
        self.tracked[pid] = wanted

    def _vblank(self) -> None:
        self.frame += 1
        dirty: set[tuple[int, int]] = set()
        for pid, pages in self.tracker.dirty.items():
            dirty |= {(pid, vpn) for vpn in pages}
        self.frame_pages.append(len(dirty))
        for name, screen in self.screens.items():  # the pages of every process presenting it
            screen.last_dirty = set().union(*(self.tracker.dirty.get(pid, set()) & pages
                                              for (shown_on, pid), pages in self.shown.items() if shown_on == name))
            screen.dirty_pages.append(len(screen.last_dirty))
        self.tracker.rearm()
        for listener in list(self.vblank_listeners):
            listener(self.frame)
        if any(p.alive for p in self.kernel.processes.values()):
            self.kernel.scheduler.schedule_event("vblank", self.kernel.ticks + TICKS_PER_FRAME)
        else:
            self.running = False

    # -- pictures ---------------------------------------------------------------------------
    def render(self, screen: str) -> np.ndarray:
        """The screen as an (240, width, 3) RGB image (black when nothing is shown, or while GSP's
        SetLcdForceBlack holds the LCDs black)."""
        return self.render_columns(screen, 0, self.screens[screen].width)

    def render_columns(self, screen: str, first: int, end: int) -> np.ndarray:
        """Columns ``first`` to ``end - 1`` of the screen as a (240, end - first, 3) RGB image.

        Reads only the framebuffer bytes of those columns, so a window can redraw just
        what the dirty pages say changed.
        """
        return self._columns(screen, first, end, 3)

    def render_columns_rgb32(self, screen: str, first: int, end: int) -> np.ndarray:
        """:meth:`render_columns` as a (240, end - first) array of 0xffRRGGBB words: Qt's RGB32,
        which the window copies into its screen images whole (a copy into the RGB32 image
        through a three-byte view cost the GUI thread ~0.3 ms a full screen, holding the
        interpreter lock the emulation thread waits for)."""
        return self._columns(screen, first, end, 4).view(np.uint32)[..., 0]

    def _columns(self, screen: str, first: int, end: int, channels: int) -> np.ndarray:
        """The columns as bytes R, G, B (``channels`` 3) or B, G, R, 0xff (4: RGB32's words)."""
        target = self.screens[screen]
        first, end = max(0, first), min(end, target.width)
        image = np.zeros((SCREEN_HEIGHT, max(0, end - first), channels), dtype=np.uint8)
        if channels == 4:
            image[..., 3] = 0xFF
        fb = target.framebuffer
        if fb is None or end <= first or not fb.process.alive and fb.process.pid not in self.kernel.processes:
            return image
        if self.kernel.gsp.lcd_black:  # SetLcdForceBlack: both LCDs filled black (Azahar SetColorFill)
            return image
        bpp = FORMAT_BYTES.get(fb.format, 3)
        if fb.stride < SCREEN_HEIGHT * bpp:  # a column would not hold the screen's height: show nothing
            return image
        try:
            raw = fb.process.space.peek(fb.vaddr + first * fb.stride, fb.stride * (end - first))
        except ValueError:
            return image
        data = np.frombuffer(raw, dtype=np.uint8)
        if fb.format in FORMAT_BYTES:  # compiled: the window renders what changed every frame
            _columns_to_rgb(data, end - first, fb.stride, GSP_TO_PICA[fb.format], bpp, image)
            return image
        columns = data.reshape(end - first, fb.stride)[:, : SCREEN_HEIGHT * bpp]
        pixels = columns.reshape(end - first, SCREEN_HEIGHT, bpp)[:, ::-1, :]  # bottom row first in memory
        rgb = _to_rgb(pixels, fb.format).transpose(1, 0, 2)
        image[..., :3] = rgb if channels == 3 else rgb[..., ::-1]
        return image

    def columns_of(self, screen: str, pages: set[int]) -> list[tuple[int, int]]:
        """The column spans ``[first, end)`` of ``screen`` that guest pages ``pages`` hold, merged."""
        target = self.screens[screen]
        fb = target.framebuffer
        if fb is None or not pages:
            return []
        spans: list[tuple[int, int]] = []
        for vpn in sorted(pages):
            start = max(0, (vpn << 12) - fb.vaddr) // fb.stride
            end = min(target.width, ((vpn + 1 << 12) - fb.vaddr + fb.stride - 1) // fb.stride)
            if end <= start:
                continue
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], end))
            else:
                spans.append((start, end))
        return spans

    def composite(self) -> np.ndarray:
        """Both screens in one (480, 400, 3) RGB image: top above, bottom centred below."""
        canvas = np.zeros((2 * SCREEN_HEIGHT, SCREEN_WIDTHS["top"], 3), dtype=np.uint8)
        canvas[:SCREEN_HEIGHT] = self.render("top")
        x = (SCREEN_WIDTHS["top"] - SCREEN_WIDTHS["bottom"]) // 2
        canvas[SCREEN_HEIGHT:, x : x + SCREEN_WIDTHS["bottom"]] = self.render("bottom")
        return canvas

    def screenshot(self, path: str) -> None:
        """Both screens in one image file, PNG, JPEG or BMP as the suffix says (see :meth:`composite`)."""
        write_image(path, self.composite())


@njit(cache=True, nogil=True)
def _columns_to_rgb(raw, columns, stride, fmt, bpp, image):  # noqa: ANN001, ANN202 - numba
    """Framebuffer columns (each ``stride`` bytes, the screen's bottom row first) to the
    image's columns, with the codec the GPU and GX use (PICA numbering ``fmt``): bytes R, G, B
    in a three-channel image, B, G, R in a four-channel one (RGB32; its fourth byte is left)."""
    red = 0 if image.shape[2] == 3 else 2
    for c in range(columns):
        base = c * stride
        for y in range(SCREEN_HEIGHT):
            r, g, b, _a = decode(raw, base + (SCREEN_HEIGHT - 1 - y) * bpp, fmt)
            image[y, c, red] = r
            image[y, c, 1] = g
            image[y, c, 2 - red] = b


def _to_rgb(pixels: np.ndarray, fmt: int) -> np.ndarray:
    """GSP pixel bytes (little-endian words) to RGB8."""
    if fmt == 1:  # BGR8: B, G, R
        return pixels[..., ::-1]
    if fmt == 0:  # RGBA8 word: bytes A, B, G, R
        return pixels[..., 3:0:-1]
    word = pixels[..., 0].astype(np.uint16) | (pixels[..., 1].astype(np.uint16) << 8)
    if fmt == 2:  # RGB565
        r, g, b = (word >> 11) & 0x1F, (word >> 5) & 0x3F, word & 0x1F
        return np.stack([r << 3 | r >> 2, g << 2 | g >> 4, b << 3 | b >> 2], axis=-1).astype(np.uint8)
    if fmt == 3:  # RGB5A1
        r, g, b = (word >> 11) & 0x1F, (word >> 6) & 0x1F, (word >> 1) & 0x1F
        return np.stack([r << 3 | r >> 2, g << 3 | g >> 2, b << 3 | b >> 2], axis=-1).astype(np.uint8)
    r, g, b = (word >> 12) & 0xF, (word >> 8) & 0xF, (word >> 4) & 0xF  # RGBA4
    return (np.stack([r, g, b], axis=-1) * 17).astype(np.uint8)
