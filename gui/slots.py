"""File > Save state / Load state: numbered slots, each shown with the picture of the top
screen its state holds, its frame and when it was saved (docs/save-states.md).

The emulator is touched only on the emulation thread (``session.call``); the slot menu
reads the slot files themselves (a state's header and thumbnail, checked as a load checks
them), which needs no emulator.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtGui import QAction, QIcon, QImage, QKeySequence, QPixmap
from PyQt6.QtWidgets import QMenu

if TYPE_CHECKING:
    from gui.window import MainWindow
    from kernel.api import Emulator

STATE_SLOTS = 4
ICON_WIDTH = 100  # the thumbnail's own size (the top screen at a quarter): shown as it is
ICON_HEIGHT = 60


def state_slot_path(slot: int) -> Path:
    """Where the window keeps save-state slot ``slot``: ``$HLEMU_STATE_DIR`` or the per-user
    data folder (``~/.local/share/hlemu/states``)."""
    base = os.environ.get("HLEMU_STATE_DIR")
    if not base:
        data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
        base = os.path.join(data, "hlemu", "states")
    return Path(base) / f"slot{slot}.state"


def slot_summary(path: Path) -> tuple[str, QIcon | None]:
    """What the menu says of a slot ("frame 120, 16:20:05") and its picture (None: none)."""
    if not path.is_file():
        return "empty", None
    from kernel.state import StateError, read_thumbnail

    try:
        header, picture = read_thumbnail(str(path))
    except StateError as exc:
        return f"unreadable: {str(exc)[:60]}", None
    saved = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(path.stat().st_mtime))
    text = f"frame {header.get('frame', '?')}, {saved}"
    if picture is None:
        return text, None
    h, w = picture.shape[:2]
    image = QImage(picture.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return text, QIcon(QPixmap.fromImage(image))


# The slot menus draw their icons at the thumbnail's size through a style sheet, which Qt's own
# style-sheet style applies. A Python QProxyStyle subclass set on the menus did the same but
# crashed the process (SIGSEGV building pyqtgraph's menus in a later window, in the full suite's
# order): a style Python owns and Qt widgets point at is a lifetime we need not have.
THUMBNAIL_MENU_SHEET = (
    f"QMenu {{ icon-size: {ICON_WIDTH}px; }}"
    f" QMenu::item {{ height: {ICON_HEIGHT + 4}px; padding: 2px 16px 2px 4px; }}"
    " QMenu::item:selected { background: palette(highlight); color: palette(highlighted-text); }"
    " QMenu::icon { padding-left: 4px; }"
)


class StateSlots:
    """The slot actions (Shift+F1..F4 save, Ctrl+F1..F4 load) in File > Save state and
    File > Load state, their texts and pictures kept up to date with the slot files."""

    def __init__(self, window: MainWindow, file_menu: QMenu) -> None:
        self.window = window
        self.save_actions = [self._action(f"Shift+F{n}", lambda _=False, n=n: self.save(n))
                             for n in range(1, STATE_SLOTS + 1)]
        self.load_actions = [self._action(f"Ctrl+F{n}", lambda _=False, n=n: self.load(n))
                             for n in range(1, STATE_SLOTS + 1)]
        for title, actions in (("Save state", self.save_actions), ("&Load state", self.load_actions)):
            menu = file_menu.addMenu(title)
            assert menu is not None
            menu.setStyleSheet(THUMBNAIL_MENU_SHEET)
            for act in actions:
                menu.addAction(act)
                window.addAction(act)  # the shortcut works with the menu closed
        self.refresh()

    def _action(self, shortcut: str, slot: Callable[..., None]) -> QAction:
        act = QAction(self.window)
        act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        return act

    def refresh(self, slot: int | None = None) -> None:
        """Re-read slot ``slot`` (None: every slot) for its text and picture."""
        for n in range(1, STATE_SLOTS + 1) if slot is None else (slot,):
            text, icon = slot_summary(state_slot_path(n))
            for verb, act in (("Save", self.save_actions[n - 1]), ("Load", self.load_actions[n - 1])):
                act.setText(f"{verb} state {n}: {text}")
                act.setIcon(icon if icon is not None else QIcon())

    def save(self, slot: int) -> None:
        """Save the machine to slot ``slot`` (on the emulation thread, between slices)."""
        path = state_slot_path(slot)

        def save(emu: Emulator) -> tuple[int, int]:
            path.parent.mkdir(parents=True, exist_ok=True)
            return emu.save_state(path), emu.frame

        def done(result: object, error: str | None) -> None:
            if error is not None:
                self.window.warn(f"Cannot save state {slot}:\n{error.strip().splitlines()[-1]}")
                return
            size, frame = result if isinstance(result, tuple) else (0, 0)
            self.refresh(slot)
            self.window.show_message(f"state {slot} saved: frame {frame}, {size:,} bytes ({path})")

        self.window.session.call(save, done)

    def load(self, slot: int) -> None:
        """Go back to the machine in slot ``slot`` (the emulator restores it in place, so the
        window's hooks and breakpoints stay)."""
        path = state_slot_path(slot)
        if not path.is_file():
            self.window.show_message(f"state {slot} is empty: save one first (Shift+F{slot})")
            return

        def load(emu: Emulator) -> int:
            from kernel import state

            emu.restore(state.read(path))
            return emu.frame

        def done(result: object, error: str | None) -> None:
            if error is not None:
                self.window.warn(f"Cannot load state {slot}:\n{error.strip().splitlines()[-1]}")
            else:
                self.window.show_message(f"state {slot} loaded: frame {result}")

        self.window.session.call(load, done)
