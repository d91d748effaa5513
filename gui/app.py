"""``hlemu gui``: the window, and its headless capture mode (``--screenshot --frames``)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType

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
    sdmc: str | None = None  # the SD card's host folder (None: the per-user default)
    cfg: dict[str, object] = field(default_factory=dict)  # console settings, as --cfg gives them
    record: str | None = None  # write an input movie of the session here (when the window closes)
    replay: str | None = None  # play this input movie from power-on


EXIT_USAGE, EXIT_FAILED, EXIT_INTERRUPTED = 2, 1, 130  # as ``hlemu run`` has them
SIGNAL_POLL_MS = 100  # Python runs a signal handler only when it runs: wake it this often


def run_gui(opts: GuiOptions) -> int:
    """Open the window; returns the exit status (2: bad arguments, files that will not load,
    a screenshot that could not be written, a display the window cannot open on; 130: Ctrl-C)."""
    from hlemu.images import check_writable
    from hlemu.loaders import load_image
    from hlemu.run import DEMO, resolve
    from kernel.services.cfg import settings_from

    programs = opts.programs or list(DEMO)
    try:
        paths = [str(resolve(p)) for p in programs]
        for path in paths:  # a format hlemu does not run (.cia, .3ds...) is refused before any window
            load_image(path)
        settings_from(opts.cfg)
    except LoaderError as exc:
        print(f"hlemu: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"hlemu: --cfg {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if opts.screenshot:
            check_writable(opts.screenshot)
    except ValueError as exc:
        print(f"hlemu: --screenshot {exc}", file=sys.stderr)
        return EXIT_USAGE
    problem = _check_movies(opts)
    if problem:
        print(f"hlemu: {problem}", file=sys.stderr)
        return EXIT_USAGE
    problem = _choose_platform(headless=bool(opts.screenshot))
    if problem:
        print(f"hlemu: {problem}", file=sys.stderr)
        return EXIT_USAGE
    from PyQt6.QtCore import Qt

    from gui.keymap import KeyMap, KeyMapError
    from gui.layout import fit_to_screen
    from gui.qapp import application
    from gui.session import Session
    from gui.window import MainWindow, center_on_screen

    try:
        keymap = KeyMap.load(opts.keymap)
        unknown = keymap.unknown_keys({key.name.removeprefix("Key_") for key in Qt.Key})
        if unknown:
            raise KeyMapError(f"{opts.keymap or 'key map'}: no such Qt key: {', '.join(unknown)}")
    except KeyMapError as exc:
        print(f"hlemu: {exc}", file=sys.stderr)
        return 2
    sys.excepthook = _report_exception  # PyQt aborts on an exception that escapes a slot
    if opts.screenshot:
        _quiet_offscreen_warnings()
    app = application()
    app.setApplicationName("hlemu")
    session = Session(paths, opts.backend, opts.host_page_size, sdmc=opts.sdmc, cfg=opts.cfg, record=opts.record,
                      replay=opts.replay)
    headless = bool(opts.screenshot)
    window = MainWindow(session, keymap, show_crash_dialogs=not headless, headless=headless)
    window.screens.set_scale(opts.scale)
    if opts.unthrottled or opts.screenshot:
        window.limit_action.setChecked(False)
        session.set_throttle(False)
    center_on_screen(window)
    window.show()
    if not headless:  # a real screen: the window fits it (the capture keeps the default size)
        fit_to_screen(window, window.screens.minimumSize())
    session.start()
    status = {"code": 0}
    if opts.screenshot:
        session.worker.failed.connect(lambda message: _give_up(message, status))
        _capture(window, session, opts.frames or 60, opts.screenshot, status)
    elif opts.frames is not None:
        session.call(lambda emu: emu.run(frames=opts.frames).reason)
    elif not opts.paused:
        session.resume()
    with _sigint_pauses(session, headless, status):
        app.exec()
    session.stop()
    return status["code"]


def _check_movies(opts: GuiOptions) -> str | None:
    """A movie to replay must be readable (one of other programs: the window says so); one to
    record, writable."""
    from kernel.state import StateError
    from kernel.state.movie import Movie

    if opts.replay:
        try:
            Movie.load(opts.replay)
        except (StateError, OSError, ValueError) as exc:
            return f"--replay {opts.replay}: {exc}"
    if opts.record:
        folder = Path(opts.record).parent
        if Path(opts.record).is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
            return f"--record {opts.record}: cannot be written"
    return None


def _choose_platform(headless: bool, libraries: Mapping[str, str] | None = None) -> str | None:
    """Pick offscreen for headless capture; for a window, check a display and, on X11, the
    ``libraries`` Qt's xcb plugin needs (soname -> Debian package; by default
    :data:`gui.xcb.XCB_LIBRARIES`), since Qt aborts without them. Returns the problem, or None."""
    from gui import xcb

    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                       or os.environ.get("QT_QPA_PLATFORM"))
    if headless:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # capture needs no display
    elif not has_display and sys.platform.startswith("linux"):
        return ("no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset); "
                "use 'hlemu gui --screenshot out.png --frames N' to capture the window headless, "
                "or 'hlemu run' for the terminal")
    if xcb.platform_is_xcb():
        missing = xcb.missing_libraries(xcb.XCB_LIBRARIES if libraries is None else libraries)
        if missing:
            return xcb.advice(missing)
    return None


# What Qt's offscreen platform says about window-manager features it has no use for: it has no
# window manager, so these are not problems with the capture.
OFFSCREEN_NOISE = ("This plugin does not support propagateSizeHints()",)


def _quiet_offscreen_warnings() -> None:
    """Headless capture: drop the offscreen plugin's OFFSCREEN_NOISE; pass on everything else."""
    from PyQt6.QtCore import qInstallMessageHandler

    previous = None

    def handler(kind: object, context: object, message: str | None) -> None:
        if message in OFFSCREEN_NOISE:
            return
        if previous is not None:
            previous(kind, context, message)
        else:
            print(message, file=sys.stderr)

    previous = qInstallMessageHandler(handler)


def _give_up(message: str, status: dict[str, int]) -> None:
    """Headless: the emulator could not be built or a program would not load; say so and end."""
    from PyQt6.QtWidgets import QApplication

    print(f"hlemu: {message}", file=sys.stderr)
    status["code"] = EXIT_USAGE
    QApplication.quit()


class _sigint_pauses:  # noqa: N801 - used as a context manager, named like one
    """While the window is up, Ctrl-C in the terminal pauses whatever runs (the emulator, a
    console command's ``emu.run()``); Ctrl-C when nothing runs, or a headless capture,
    closes the window (exit status 130). Never a KeyboardInterrupt inside Qt's slots."""

    def __init__(self, session: object, headless: bool, status: dict[str, int]) -> None:
        self.session, self.headless, self.status = session, headless, status
        self.previous: object = None
        self.timer: object = None

    def __enter__(self) -> _sigint_pauses:
        from PyQt6.QtCore import QTimer

        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started in the background: leave it
            return self
        self.previous = signal.signal(signal.SIGINT, self.handle)
        self.timer = timer = QTimer()
        timer.timeout.connect(lambda: None)  # returns to Python, which then runs the handler
        timer.start(SIGNAL_POLL_MS)
        return self

    def handle(self, signum: int = signal.SIGINT, frame: FrameType | None = None) -> None:
        from PyQt6.QtWidgets import QApplication

        session = self.session
        busy = session.busy  # type: ignore[attr-defined]
        session.pause()  # type: ignore[attr-defined]
        # To the terminal Ctrl-C came from: a console command redirects sys.stderr meanwhile.
        terminal = sys.__stderr__ or sys.stderr
        if busy and not self.headless:
            print("hlemu: paused (Ctrl-C); Ctrl-C again closes the window", file=terminal, flush=True)
            return
        print("hlemu: interrupted (Ctrl-C)", file=terminal, flush=True)
        self.status["code"] = EXIT_INTERRUPTED
        QApplication.quit()

    def __exit__(self, *exc: object) -> None:
        if self.timer is not None:
            self.timer.stop()  # type: ignore[attr-defined]
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)  # type: ignore[arg-type]


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
        if status["code"]:  # already ending (Ctrl-C, an emulator that could not be built)
            return
        if error is not None:
            print(f"hlemu: {error}", file=sys.stderr)
            status["code"] = EXIT_FAILED
        QTimer.singleShot(200, save)  # let the last snapshot and screen patches paint

    def save() -> None:
        if window.save_screenshot(path):  # type: ignore[attr-defined]
            snap = window.snapshot  # type: ignore[attr-defined]
            print(f"hlemu: frame {snap.frame if snap else 0} of the window written to {path}")
        else:  # the window printed why
            status["code"] = EXIT_USAGE
        QApplication.quit()

    session.call(lambda emu: emu.run(frames=frames).reason, done)  # type: ignore[attr-defined]
