"""The main window: the screens in the middle, debugger docks around, controls on top."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import QEvent, QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction, QCloseEvent, QGuiApplication, QIcon, QKeyEvent, QKeySequence
from PyQt6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from gui.controls import ControlsView
from gui.keymap import KeyMap
from gui.layout import DEFAULT_SIZE, pin_default_docks, scrolling
from gui.models.base import MONO, rgb_icon
from gui.rewind import REWIND_KEY, HoldToRewind
from gui.session import Session
from gui.slots import STATE_SLOTS, StateSlots, state_slot_path
from gui.state import Crash, ProcessRow, Snapshot
from gui.swkbd import KeyboardDialogs
from gui.views.console_dock import ConsoleDock
from gui.views.cpu_docks import BreakpointsDock, DisassemblyDock, HexDock, RegistersDock
from gui.views.gpu_dock import add_gpu_dock
from gui.views.inspect_docks import add_inspect_docks
from gui.views.memory_docks import AddressSpaceDock, FaultPlotDock, MemoryMapDock, PageTableDock
from gui.views.process_docks import HandleDock, IpcDock, OutputDock, ProcessDock
from gui.views.screens import ScreenView
from gui.views.tables import on_screen
from hlemu.images import FORMATS, image_format
from kernel.api import Emulator

SCREENSHOT_FILTER = f"Images ({' '.join('*' + suffix for suffix in FORMATS)})"
PROGRAM_FILTER = "3DS programs (*.3dsx *.elf);;All files (*)"
APP_NAME = "hlemu"


def window_title(processes: list[ProcessRow], programs: list[str]) -> tuple[str, ProcessRow | None]:
    """"Hello — hlemu" for the first running process with an SMDH title (else the first with
    one), and that process; else the programs' names ("fb + hello — hlemu") and None."""
    titled = [p for p in processes if p.title]
    shown = next((p for p in titled if p.status == "running"), titled[0] if titled else None)
    if shown is not None:
        return f"{shown.title} — {APP_NAME}", shown
    names = " + ".join(p.name for p in processes) or " + ".join(Path(p).stem for p in programs)
    return (f"{names} — {APP_NAME}" if names else APP_NAME), None


class CrashDialog(QDialog):
    """A guest crash: the report, and a button that shows the faulting page."""

    def __init__(self, crash: Crash, show_page: object, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.crash = crash
        self.setWindowTitle(f"{crash.name} ({crash.pid}) crashed")
        text = QPlainTextEdit(crash.report)
        text.setReadOnly(True)
        text.setFont(MONO)
        text.setMinimumSize(640, 300)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        if crash.address is not None:
            button = buttons.addButton(f"Show page {crash.address & ~0xFFF:08x}",
                                       QDialogButtonBox.ButtonRole.ActionRole)
            assert button is not None
            button.clicked.connect(lambda: show_page(crash))  # type: ignore[operator]
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The guest process was ended; the other processes run on. "
                                "The report is also in the Debug output dock."))
        layout.addWidget(text)
        layout.addWidget(buttons)


class MainWindow(QMainWindow):
    """Owns the session (the emulation thread) and shows what it reports."""

    def __init__(self, session: Session, keymap: KeyMap | None = None, show_crash_dialogs: bool = True,
                 headless: bool = False) -> None:
        super().__init__()
        self.session = session
        self.keymap = keymap or KeyMap.default()
        self.headless = headless  # nobody can close a dialog: messages go to stderr
        self.show_crash_dialogs = show_crash_dialogs and not headless
        self.snapshot: Snapshot | None = None
        self.crash_dialogs: list[CrashDialog] = []
        self.held: set[str] = set()
        self.generation = 0  # the oldest emulator whose snapshots are still shown
        self.touch: tuple[int, int] | None = None
        self._title_key: tuple[str, bytes | None] | None = None  # what the title bar and icon show
        self.setWindowTitle(window_title([], session.programs)[0])
        self.screens = ScreenView()
        self.setCentralWidget(scrolling(self.screens))  # a fixed scale larger than the room scrolls
        self._make_docks()
        self._make_actions()
        self._make_status_bar()
        self.gdb: tuple | None = None  # (GdbServer, OwnedTarget, its thread) while serving
        self._gdb_bridge = _GdbBridge(session)
        self.gdb_label = QLabel()
        self.statusBar().addPermanentWidget(self.gdb_label)
        self.gdb_label.hide()
        session.worker.snapshot.connect(self.show_snapshot)
        session.worker.screens.connect(self.screens.apply)
        session.worker.stats.connect(self._show_stats)
        session.worker.failed.connect(self._failed)
        self.controls = ControlsView(self)  # the status bar's state and Run/Pause/Step, together
        self.keyboard = KeyboardDialogs(self)  # swkbdInputText's dialog; headless: the keyboard's default
        if not headless:
            session.worker.keyboard = self.keyboard.ask
        self.screens.touched.connect(self._touched)
        self.screens.released.connect(self._untouched)
        self.setCursor(Qt.CursorShape.BusyCursor)  # until the first snapshot: numba may be compiling
        self.state_label.setText("starting (compiling the memory fast path)...")
        self._docks_pinned = False
        self.resize(DEFAULT_SIZE)

    # -- layout ---------------------------------------------------------------------------------
    def _make_docks(self) -> None:
        self.process_dock = ProcessDock()
        self.handle_dock = HandleDock()
        self.map_dock = MemoryMapDock()
        self.page_dock = PageTableDock()
        self.space_dock = AddressSpaceDock()
        self.fault_dock = FaultPlotDock()
        self.register_dock = RegistersDock()
        self.disasm_dock = DisassemblyDock()
        self.hex_dock = HexDock()
        self.break_dock = BreakpointsDock()
        self.ipc_dock = IpcDock()
        self.output_dock = OutputDock()
        self.console_dock = ConsoleDock(self.session)
        left, right, bottom = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea,
                               Qt.DockWidgetArea.BottomDockWidgetArea)
        self.addDockWidget(left, self.process_dock)
        self.addDockWidget(left, self.register_dock)
        self.tabifyDockWidget(self.register_dock, self.handle_dock)
        self.addDockWidget(right, self.map_dock)
        self.tabifyDockWidget(self.map_dock, self.page_dock)
        self.addDockWidget(right, self.disasm_dock)
        self.tabifyDockWidget(self.disasm_dock, self.hex_dock)
        self.tabifyDockWidget(self.hex_dock, self.break_dock)
        self.addDockWidget(bottom, self.output_dock)
        self.tabifyDockWidget(self.output_dock, self.console_dock)
        self.tabifyDockWidget(self.console_dock, self.ipc_dock)
        self.addDockWidget(bottom, self.fault_dock)
        self.addDockWidget(bottom, self.space_dock)
        self.splitDockWidget(self.output_dock, self.fault_dock, Qt.Orientation.Horizontal)
        self.heap_dock, self.footprint_dock, self.scanner_dock = add_inspect_docks(self, self.session, self.space_dock)
        self.gpu_dock = add_gpu_dock(self, self.session, self.space_dock)
        self.map_dock.raise_()
        self.disasm_dock.raise_()
        self.output_dock.raise_()
        self.register_dock.raise_()
        # Docks showing the state as of the newest snapshot: while the guests run, one out of
        # sight (a tab behind another, a minimised window) skips snapshots; its Python models
        # would otherwise take the interpreter lock the emulation thread waits for.
        self._state_docks: tuple[QDockWidget, ...] = (
            self.process_dock, self.handle_dock, self.map_dock, self.register_dock, self.disasm_dock,
            self.hex_dock, self.break_dock)
        self._stale: set[QDockWidget] = set()
        self._stale_pages: dict[QDockWidget, object] = {}  # the page table and strip: the pages they skipped
        for dock in (*self._state_docks, self.page_dock, self.space_dock):
            dock.visibilityChanged.connect(lambda visible, d=dock: self._catch_up(d) if visible else None)
        self.process_dock.selected.connect(self.select)
        self.space_dock.strip.clicked.connect(self.open_page)
        self.page_dock.visibilityChanged.connect(self._want_pages)
        self.space_dock.visibilityChanged.connect(self._want_pages)
        self.disasm_dock.toggle_breakpoint.connect(self.toggle_breakpoint)
        self.disasm_dock.goto.connect(self._code_at)
        self.break_dock.add.connect(self.toggle_breakpoint)
        self.break_dock.remove.connect(self.remove_breakpoint)
        self.hex_dock.goto.connect(self._memory_at)
        self.hex_dock.model.edited.connect(self.poke)

    def docks(self) -> list[QDockWidget]:
        return self.findChildren(QDockWidget)

    def _make_actions(self) -> None:
        def action(text: str, slot: object, shortcut: str | None = None, checkable: bool = False) -> QAction:
            act = QAction(text, self)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            act.setCheckable(checkable)
            act.triggered.connect(slot)  # type: ignore[arg-type]
            return act

        self.run_action = action("Run", self.run, "F5")
        self.pause_action = action("Pause", self.pause, "F6")
        self.step_action = action("Step", self.step, "F10")
        self.reset_action = action("Reset", self.reset, "Ctrl+Shift+R")
        self.limit_action = action("Limit to 60 fps", self.session.set_throttle, "Ctrl+L", checkable=True)
        self.limit_action.setChecked(True)
        self.open_action = action("Open program...", self.open_program, "Ctrl+O")
        self.home_action = action("HOME", self.press_home, "Ctrl+H")
        self.home_action.setToolTip("The HOME button (APT's HOMEBUTTON for every application that called aptInit)")
        self.power_action = action("POWER", self.press_power, "Ctrl+Shift+P")
        self.power_action.setToolTip("The POWER button, answered \"power off\": aptMainLoop() returns false")
        self.shot_action = action("Save screenshot...", self.save_screenshot, "Ctrl+S")
        quit_action = action("Quit", self.close, "Ctrl+Q")
        toolbar = self.addToolBar("Emulation")
        assert toolbar is not None
        toolbar.setObjectName("controls")
        for act in (self.run_action, self.pause_action, self.step_action, self.reset_action, self.limit_action):
            toolbar.addAction(act)
        toolbar.addSeparator()
        toolbar.addAction(self.home_action)
        toolbar.addAction(self.power_action)
        menus = self.menuBar()
        assert menus is not None
        file_menu = menus.addMenu("&File")
        assert file_menu is not None
        for act in (self.open_action, self.shot_action):
            file_menu.addAction(act)
        file_menu.addSeparator()
        # Save states in numbered slots, with their pictures (gui/slots.py; docs/save-states.md).
        self.slots = StateSlots(self, file_menu)
        self.save_state_actions, self.load_state_actions = self.slots.save_actions, self.slots.load_actions
        self.rewinder = HoldToRewind(self)  # hold REWIND_KEY (gui/rewind.py)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        emu_menu = menus.addMenu("&Emulation")
        for act in (self.run_action, self.pause_action, self.step_action, self.reset_action, self.limit_action):
            emu_menu.addAction(act)
        system_menu = menus.addMenu("S&ystem")
        system_menu.addAction(self.home_action)
        system_menu.addAction(self.power_action)
        scale_menu = menus.addMenu("&Scale")
        for scale in (0, 1, 2, 3):
            scale_menu.addAction(action("Fit window" if scale == 0 else f"{scale}x",
                                        lambda _=False, s=scale: self.screens.set_scale(s)))
        view_menu = menus.addMenu("&Debug")
        for dock in self.docks():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        self.gdb_action = action("GDB server...", self.toggle_gdb_server, checkable=True)
        view_menu.addAction(self.gdb_action)
        help_menu = menus.addMenu("&Help")
        help_menu.addAction(action("Keys...", self.show_keys, "F1"))

    def _make_status_bar(self) -> None:
        bar = self.statusBar()
        assert bar is not None
        self.state_label, self.frame_label, self.speed_label, self.backend_label = (QLabel() for _ in range(4))
        bar.addWidget(self.state_label, 1)
        for label in (self.frame_label, self.speed_label, self.backend_label):
            bar.addPermanentWidget(label)

    # -- snapshots ----------------------------------------------------------------------------
    def show_snapshot(self, snap: Snapshot) -> None:
        if snap.generation < self.generation:
            return  # from the emulator a reset replaced, still in the queue
        if self.snapshot is None:
            self.unsetCursor()
        self.snapshot = snap
        for dock in (self.fault_dock, self.ipc_dock, self.output_dock):  # they add each snapshot's news
            dock.show_snapshot(snap)
        for state_dock in self._state_docks:
            if snap.running and not on_screen(state_dock):
                self._stale.add(state_dock)  # shown again: it catches up (_catch_up)
            else:
                self._stale.discard(state_dock)
                state_dock.show_snapshot(snap)  # type: ignore[attr-defined]
        if snap.pages is not None:
            for pages_dock in (self.page_dock, self.space_dock):
                if snap.running and not on_screen(pages_dock):
                    self._stale_pages[pages_dock] = snap.pages  # shown again: it catches up
                else:
                    self._stale_pages.pop(pages_dock, None)
                    pages_dock.show_pages(snap.pages)
        self.controls.show()
        if not self._docks_pinned and snap.processes:  # rows to measure the columns by
            self._docks_pinned = True
            pin_default_docks(self)
        self.frame_label.setText(f"frame {snap.frame:,}  |  {snap.instructions:,} instructions")
        self.backend_label.setText(f"memory: {snap.backend}")
        self._show_title(snap.processes)
        for crash in snap.crashes:
            self.report_crash(crash)

    def _catch_up(self, dock: QDockWidget) -> None:
        """A dock coming into sight shows the newest snapshot (it skipped those taken while it
        was out of sight and the guests ran)."""
        if dock in self._stale and self.snapshot is not None:
            self._stale.discard(dock)
            dock.show_snapshot(self.snapshot)  # type: ignore[attr-defined]
        pages = self._stale_pages.pop(dock, None)
        if pages is not None:
            dock.show_pages(pages)  # type: ignore[attr-defined]

    def _show_title(self, processes: list[ProcessRow]) -> None:
        """The program's SMDH title in the title bar and its icon as the window's (only on a change)."""
        title, shown = window_title(processes, self.session.programs)
        icon = shown.icon if shown is not None else None
        if (title, icon) == self._title_key:
            return
        self._title_key = (title, icon)
        self.setWindowTitle(title)
        self.setWindowIcon(rgb_icon(icon) if icon is not None else QIcon())

    def _show_stats(self, fps: float, mips: float) -> None:
        self.speed_label.setText(f"{fps:.1f} fps  |  {mips:.1f} MIPS")

    def _failed(self, message: str) -> None:
        self.unsetCursor()
        self.state_label.setText("error: " + message.splitlines()[0])
        self.warn(message)

    def warn(self, message: str) -> None:
        """Tell the user: a message box, or (headless) a line on stderr."""
        if self.headless:
            print(f"hlemu: {message}", file=sys.stderr)
        else:
            QMessageBox.warning(self, "hlemu", message)

    def report_crash(self, crash: Crash) -> None:
        if not self.show_crash_dialogs:
            return
        dialog = CrashDialog(crash, self.show_crash_page, self)
        self.crash_dialogs.append(dialog)
        dialog.show()

    def show_crash_page(self, crash: Crash) -> None:
        """Select the crashed process and open its page table on the faulting page, highlighted."""
        if crash.address is None:
            return
        self.select(crash.pid, None)
        self.page_dock.show()
        self.page_dock.raise_()
        self.session.selection.update(want_pages=True)
        address = crash.address

        def jump(result: object, error: str | None) -> None:
            self.page_dock.jump_to(address, highlight=True)

        self.session.call(lambda emu: None, jump)  # after the snapshot of the newly selected process

    # -- selection and debugger requests ------------------------------------------------------------
    def select(self, pid: int, tid: int | None) -> None:
        self.session.selection.update(pid=pid, tid=tid, auto=False)
        self.session.refresh()

    def _want_pages(self, _visible: bool = False) -> None:
        self.session.selection.update(want_pages=self.page_dock.isVisible() or self.space_dock.isVisible())
        self.session.refresh()

    def _shown_pid(self) -> int | None:
        """The process the docks show (what the user is looking at), else the selection."""
        if self.snapshot is not None and self.snapshot.detail is not None:
            return self.snapshot.detail.pid
        return self.session.selection.pid

    def open_page(self, address: int) -> None:
        self.page_dock.show()
        self.page_dock.raise_()
        self.page_dock.jump_to(address)

    def _code_at(self, address: int | None) -> None:
        self.session.selection.update(code_at=address)
        self.session.refresh()

    def _memory_at(self, address: int) -> None:
        self.session.selection.update(memory_at=address)
        self.session.refresh()

    def toggle_breakpoint(self, address: int) -> None:
        pid = self._shown_pid()
        if pid is None:
            return

        def toggle(emu: object) -> None:
            proc = emu.process(pid)  # type: ignore[attr-defined]
            if (pid, address) in emu.breakpoints:  # type: ignore[attr-defined]
                emu.remove_breakpoint(proc, address)  # type: ignore[attr-defined]
            else:
                emu.breakpoint(proc, address)  # type: ignore[attr-defined]

        self.session.call(toggle, self._report_error)

    def remove_breakpoint(self, pid: int, address: int) -> None:
        self.session.call(lambda emu: emu.remove_breakpoint(emu.process(pid), address), self._report_error)

    def poke(self, address: int, value: int) -> None:
        pid = self._shown_pid()
        if pid is not None:
            self.session.call(lambda emu: emu.process(pid).poke(address, bytes([value])), self._report_error)

    def _report_error(self, result: object, error: str | None) -> None:
        if error is not None:
            self.state_label.setText("error: " + error.strip().splitlines()[-1])

    # -- files ----------------------------------------------------------------------------------
    def open_program(self, path: str | None = None) -> None:
        """Start another process from a .3dsx or ELF file (a dialog asks which, by default)."""
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Open a guest program", "", PROGRAM_FILTER)
            if not path:
                return

        def done(result: object, error: str | None) -> None:
            if error is not None:
                self.warn(f"Cannot load {path}:\n{error.strip().splitlines()[-1]}")
            else:
                self.state_label.setText(f"loaded {path}")

        programs = self.session.programs

        def spawn(emu: object) -> int:
            pid = emu.spawn(path).pid  # type: ignore[attr-defined]
            programs.append(path)  # a reset starts it again too
            return int(pid)

        self.session.call(spawn, done)

    # -- the console's buttons ------------------------------------------------------------------
    def press_home(self) -> None:
        self._press("HOME", lambda emu: emu.press_home())

    def press_power(self) -> None:
        self._press("POWER", lambda emu: emu.press_power())

    def _press(self, button: str, press: Callable[[Emulator], int]) -> None:
        """Press ``button`` on the emulation thread (between slices); say who got it."""

        def done(result: object, error: str | None) -> None:
            if error is not None:
                self._report_error(result, error)
                return
            count = int(result)  # type: ignore[call-overload]
            self.show_message(f"{button} pressed: {count} application{'s' if count != 1 else ''} notified"
                              if count else f"{button} pressed: no application listens (none called aptInit)")

        self.session.call(press, done)

    def save_state(self, slot: int) -> None:
        self.slots.save(slot)

    def load_state(self, slot: int) -> None:
        self.slots.load(slot)

    def show_message(self, text: str, ms: int = 5000) -> None:
        bar = self.statusBar()
        assert bar is not None
        bar.showMessage(text, ms)

    def save_screenshot(self, path: str | None = None) -> bool:
        """The whole window to ``path`` (a dialog asks, by default), as its suffix says: PNG,
        JPEG or BMP (the formats :mod:`hlemu.images` writes too)."""
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Save a screenshot", "hlemu.png", SCREENSHOT_FILTER)
            if not path:
                return False
            if not Path(path).suffix:
                path += ".png"
        try:
            fmt = image_format(path)
        except ValueError as exc:
            self.warn(str(exc))
            return False
        ok = self.grab().toImage().save(path, fmt)
        if not ok:
            self.warn(f"Cannot write {path}")
        return ok

    # -- run control, shared with gdb while it is connected ------------------------------------------
    def run(self) -> None:
        if self._gdb_holds("Run"):
            return
        self.session.resume()

    def step(self) -> None:
        if self._gdb_holds("Step"):
            return
        self.session.step()

    def pause(self) -> None:
        """Pause the window's run, or a gdb continue (gdb sees SIGINT, as after its own Ctrl-C)."""
        if self.gdb is not None:
            self.gdb[0].interrupt()
        self.session.pause()

    def _gdb_holds(self, what: str) -> bool:
        """gdb is connected and stopped: the guests are its to resume (all-stop gdb is told only
        of stops it asked for, so a run behind its back would leave it showing stale state)."""
        if self.gdb is None or not self.gdb[0].client_stopped:
            return False
        self.show_message(f"{what}: gdb is connected and stopped; continue in gdb (the window shows the run)")
        return True

    # -- the GDB server (Debug > GDB server...) -----------------------------------------------------
    def toggle_gdb_server(self, _checked: bool = False, port: int | None = None) -> None:
        """Start the stub on 127.0.0.1 (the port from a small dialog, or ``port``), or stop it.

        Its threads never touch the emulator: every Target call is queued onto the emulation
        thread between two slices (:class:`hlemu.gdb.owned.OwnedTarget`); only Ctrl-C's
        interrupt is made directly, as ``Emulator.interrupt`` allows."""
        if self.gdb is not None:
            self.stop_gdb_server()
            return
        if port is None:
            from hlemu.gdb.cli import DEFAULT_PORT

            port, ok = QInputDialog.getInt(self, "GDB server", "Port on 127.0.0.1 (0: any free one):",
                                           DEFAULT_PORT, 0, 65535)
            if not ok:
                self.gdb_action.setChecked(False)
                return
        self.session.pause()  # all-stop: gdb finds the guests stopped
        self.session.call(_make_target, lambda target, error: self._serve_gdb(target, error, port))

    def _serve_gdb(self, target: object, error: str | None, port: int) -> None:
        from hlemu.gdb.owned import OwnedTarget
        from hlemu.gdb.server import GdbServer

        try:
            if error is not None:
                raise RuntimeError(error)
            target.while_running = self.session.worker.gdb_progress  # type: ignore[attr-defined]
            owned = OwnedTarget(target, self._gdb_bridge.submit)  # type: ignore[arg-type]
            server = GdbServer(owned, "127.0.0.1", port, on_disconnect="wait")  # type: ignore[arg-type]
        except (OSError, RuntimeError) as exc:
            self.gdb_action.setChecked(False)
            self.warn(f"Cannot start the GDB server on port {port}: {exc}")
            return
        thread = threading.Thread(target=_serve_quietly, args=(server,), name="hlemu-gdb", daemon=True)
        self.gdb = (server, owned, thread)
        self.controls.watch_screens(True)
        thread.start()
        self.gdb_action.setChecked(True)
        self.gdb_label.setText(f"gdb server on :{server.port}")
        self.gdb_label.show()

    def stop_gdb_server(self) -> None:
        if self.gdb is None:
            return
        server, owned, thread = self.gdb
        self.gdb = None
        self.controls.watch_screens(False)
        server.close()  # interrupts a gdb 'continue' under way on the emulation thread
        owned.close()
        thread.join(5)
        self.gdb_action.setChecked(False)
        self.gdb_label.hide()
        self.show_message("gdb server stopped")

    def reset(self) -> None:
        self.stop_gdb_server()  # its Target holds the emulator a reset closes
        self.setCursor(Qt.CursorShape.BusyCursor)
        self.generation = self.session.worker.generation + 1
        self.snapshot = None
        self.output_dock.clear()
        self.ipc_dock.clear()
        self.fault_dock.plot.clear()
        self.state_label.setText("resetting...")
        self.session.reset()

    def show_keys(self) -> None:
        lines = "\n".join(f"{button:<11} {key}" for button, key in self.keymap.bindings.items())
        QMessageBox.information(self, "Keys", "3DS button -> keyboard key (change them in "
                                "~/.config/hlemu/keys.json or with --keymap FILE):\n\n" + lines
                                + "\n\nClick or drag on the bottom screen to touch it.")

    # -- input ------------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent | None) -> None:
        if event is not None and not event.isAutoRepeat() and self._key(event, True):
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent | None) -> None:
        if event is not None and not event.isAutoRepeat() and self._key(event, False):
            return
        super().keyReleaseEvent(event)

    def _key(self, event: QKeyEvent, down: bool) -> bool:
        name = Qt.Key(event.key()).name.removeprefix("Key_")
        button = self.keymap.button_of(name)
        if button is None and name == REWIND_KEY:
            (self.rewinder.press if down else self.rewinder.release)()
            return True
        if button is None:
            return False
        (self.held.add if down else self.held.discard)(button)
        self._send_input()
        return True

    def _touched(self, x: int, y: int) -> None:
        self.touch = (x, y)
        self._send_input()

    def _untouched(self) -> None:
        self.touch = None
        self._send_input()

    def _send_input(self) -> None:
        buttons, circle = self.keymap.pad(self.held)
        touch = self.touch
        self.session.call(lambda emu: emu.set_input(buttons, circle, touch), quiet=True)

    def changeEvent(self, event: QEvent | None) -> None:
        """Keys let go while another window had the focus never arrive: release them all."""
        if event is not None and event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow():
            self.rewinder.release()
            if self.held:
                self.held.clear()
                self._send_input()
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent | None) -> None:
        self.keyboard.close()  # before the session stops: a keyboard waiting for its dialog lets go
        self.stop_gdb_server()
        self.session.stop()
        super().closeEvent(event)


class _GdbBridge(QObject):
    """Hands the GDB server's calls to the emulation thread: a signal emitted from any thread
    reaches the worker's ``call`` slot queued (``noisy``: a snapshot follows, so the
    Breakpoints dock shows gdb's breakpoints, which are the emulator's)."""

    request = pyqtSignal(object)

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.request.connect(session.worker.call)

    def submit(self, job: Callable[[], None], noisy: bool) -> None:
        self.request.emit((-1, lambda _emu: job(), not noisy))  # id -1: nobody waits for the answer


def _make_target(emu: Emulator) -> object:
    from hlemu.gdb.target import Target

    emu.disable_rewind()  # gdb's runs and breakpoints are its own: no rewind ring under them
    return Target(emu)  # on the emulation thread: it registers an IPC listener


def _serve_quietly(server: object) -> None:
    from hlemu.gdb.owned import OwnerGone

    try:
        server.serve()  # type: ignore[attr-defined]
    except OwnerGone:  # the window closed under a call: nothing to tell
        pass


def center_on_screen(window: QMainWindow) -> None:
    screen = QGuiApplication.primaryScreen()
    if screen is not None:
        geometry = screen.availableGeometry()
        window.move(geometry.center() - window.rect().center())


__all__ = ["STATE_SLOTS", "CrashDialog", "MainWindow", "QTimer", "center_on_screen", "state_slot_path"]
