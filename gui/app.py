"""``hlemu gui``: the window, and its headless capture mode (``--screenshot --frames``)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from types import TracebackType

from hlemu.loaders import LoaderError


@dataclass
class GuiOptions:
    programs: list[str]
    backend: str = "auto"
    host_page_size: int | None = None
    keymap: str | None = None
    frames: int | None = None  # run this many frames, then (with screenshot) capture and quit
    screenshot: str | None = None
    paused: bool = False  # open paused instead of running
    unthrottled: bool = False
    scale: int = 0


def run_gui(opts: GuiOptions) -> int:
    """Open the window; returns the exit status (2: bad arguments, files that will not load)."""
    from hlemu.run import DEMO, resolve

    programs = opts.programs or list(DEMO)
    try:
        paths = [str(resolve(p)) for p in programs]
    except LoaderError as exc:
        print(f"hlemu: {exc}", file=sys.stderr)
        return 2
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                       or os.environ.get("QT_QPA_PLATFORM"))
    if opts.screenshot and not has_display:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # headless capture needs no display
    elif not has_display and sys.platform.startswith("linux"):
        print("hlemu: no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset); "
              "use 'hlemu gui --screenshot out.png --frames N' to capture the window headless, "
              "or 'hlemu run' for the terminal", file=sys.stderr)
        return 2
    from PyQt6.QtCore import Qt
    from PyQt6.QtWidgets import QApplication

    from gui.keymap import KeyMap, KeyMapError
    from gui.window import MainWindow, center_on_screen
    from gui.worker import Session

    try:
        keymap = KeyMap.load(opts.keymap)
        unknown = keymap.unknown_keys({key.name.removeprefix("Key_") for key in Qt.Key})
        if unknown:
            raise KeyMapError(f"{opts.keymap or 'key map'}: no such Qt key: {', '.join(unknown)}")
    except KeyMapError as exc:
        print(f"hlemu: {exc}", file=sys.stderr)
        return 2
    sys.excepthook = _report_exception  # PyQt aborts on an exception that escapes a slot
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("hlemu")
    session = Session(paths, opts.backend, opts.host_page_size)
    window = MainWindow(session, keymap, show_crash_dialogs=not opts.screenshot)
    window.screens.set_scale(opts.scale)
    if opts.unthrottled or opts.screenshot:
        window.limit_action.setChecked(False)
        session.set_throttle(False)
    center_on_screen(window)
    window.show()
    session.start()
    status = {"code": 0}
    if opts.screenshot:
        _capture(window, session, opts.frames or 60, opts.screenshot, status)
    elif opts.frames is not None:
        session.call(lambda emu: emu.run(frames=opts.frames).reason)
    elif not opts.paused:
        session.resume()
    app.exec()
    session.stop()
    return status["code"]


def _report_exception(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    """An error in the window's own code: printed, and the window stays up."""
    import traceback

    print("hlemu: internal error in the window:", file=sys.stderr)
    traceback.print_exception(kind, value, tb)


def _capture(window: object, session: object, frames: int, path: str, status: dict[str, int]) -> None:
    """Run ``frames`` frames, let the window show the result, save it, quit."""
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    def done(result: object, error: str | None) -> None:
        if error is not None:
            print(f"hlemu: {error}", file=sys.stderr)
            status["code"] = 1
        QTimer.singleShot(200, save)  # let the last snapshot and screen patches paint

    def save() -> None:
        if window.save_screenshot(path):  # type: ignore[attr-defined]
            snap = window.snapshot  # type: ignore[attr-defined]
            print(f"hlemu: frame {snap.frame if snap else 0} of the window written to {path}")
        else:
            status["code"] = 1
        QApplication.quit()

    session.call(lambda emu: emu.run(frames=frames).reason, done)  # type: ignore[attr-defined]
