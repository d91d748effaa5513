"""The window's handle on the emulation thread: :class:`Session` lives on the UI thread,
owns the ``QThread`` the :class:`~gui.worker.EmuWorker` runs on, and turns the window's
requests into queued signals (``call`` runs a function on the emulator and answers on this
thread; run control, throttle, refresh, shutdown). It keeps the newest snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PyQt6.QtCore import QObject, QThread, pyqtSignal

from gui import gc_guard
from gui.state import Snapshot
from gui.worker import EmuWorker, Selection
from kernel.api import Emulator


class Session(QObject):
    """The window's handle on the emulation thread (lives on the UI thread)."""

    _call = pyqtSignal(object)
    _resume = pyqtSignal()
    _pause = pyqtSignal()
    _step = pyqtSignal()
    _reset = pyqtSignal()
    _refresh = pyqtSignal()
    _throttle = pyqtSignal(bool)
    _shutdown = pyqtSignal()
    pending_changed = pyqtSignal()  # a request was sent or answered: ``busy`` may have changed

    def __init__(self, programs: list[str], backend: str = "auto", host_page_size: int | None = None,
                 sdmc: str | None = None, cfg: dict[str, object] | None = None, record: str | None = None,
                 replay: str | None = None, rewind: bool = True) -> None:
        super().__init__()
        self._collecting = False  # gc_guard acquired for the emulation thread
        self.emu_thread = QThread()
        self.emu_thread.setObjectName("emulation")
        self.worker = EmuWorker(programs, backend, host_page_size, sdmc, cfg, record, replay, rewind)
        self.worker.moveToThread(self.emu_thread)
        self.emu_thread.started.connect(self.worker.start)
        for signal, slot in ((self._call, self.worker.call), (self._resume, self.worker.resume),
                             (self._pause, self.worker.pause), (self._step, self.worker.step),
                             (self._reset, self.worker.reset), (self._refresh, self.worker.refresh),
                             (self._throttle, self.worker.set_throttle), (self._shutdown, self.worker.shutdown)):
            signal.connect(slot)  # auto connection: queued, as the worker is on another thread
        self.worker.answered.connect(self._answered)
        self._pending: dict[int, Callable[[object, str | None], None] | None] = {}
        self._commands: dict[int, float] = {}  # pending requests that are not pad input: when sent
        self._next_id = 0
        self.latest: Snapshot | None = None
        self.worker.snapshot.connect(self._keep)

    @property
    def selection(self) -> Selection:
        """Shared with the worker; its fields are plain values, read once per snapshot."""
        return self.worker.selection

    @property
    def programs(self) -> list[str]:
        return self.worker.programs

    @property
    def busy(self) -> bool:
        """The emulator runs, or a request (a console command, maybe ``emu.run()``) is under way."""
        return self.worker.running or bool(self._pending)

    def command_age(self) -> float:
        """Seconds the oldest request other than pad input (a console command, ``--frames``'
        run) has been under way; 0.0 when there is none."""
        return time.perf_counter() - min(self._commands.values()) if self._commands else 0.0

    def start(self) -> None:
        if not self._collecting:  # cycles are collected on this thread while the other runs
            gc_guard.acquire()
            self._collecting = True
        self.emu_thread.start()

    def stop(self) -> None:
        """Close the emulator on its thread and wait for the thread to end (a run or a console
        command under way is interrupted first)."""
        if self.emu_thread.isRunning():
            self.emu_thread.requestInterruption()  # a keyboard waiting for its dialog lets go (gui.swkbd)
            self._interrupt()
            self._shutdown.emit()  # the worker closes the emulator, then quits its thread
            self.emu_thread.wait()
        if self._collecting:
            self._collecting = False
            gc_guard.release()

    def resume(self) -> None:
        self._resume.emit()

    def pause(self) -> None:
        """Stop running: a run under way (a slice, a console ``emu.run``) returns within a block."""
        self._interrupt()
        self._pause.emit()

    def _interrupt(self) -> None:
        emu = self.worker.emu
        if emu is not None:
            self.worker.interrupted.set()
            emu.interrupt()  # thread-safe by contract: a flag and Unicorn's emu_stop

    def step(self) -> None:
        self._step.emit()

    def reset(self) -> None:
        self._reset.emit()

    def refresh(self) -> None:
        self._refresh.emit()

    def set_throttle(self, on: bool) -> None:
        self._throttle.emit(on)

    def call(self, fn: Callable[[Emulator], object],
             then: Callable[[object, str | None], None] | None = None, quiet: bool = False) -> int:
        """Run ``fn(emu)`` on the emulation thread; ``then(result, error)`` on this one.
        ``quiet``: no snapshot afterwards (for pad input, sent on every key and mouse move)."""
        self._next_id += 1
        self._pending[self._next_id] = then
        self._call.emit((self._next_id, fn, quiet))
        if not quiet:
            self._commands[self._next_id] = time.perf_counter()
            self.pending_changed.emit()
        return self._next_id

    def _answered(self, rid: int, result: object, error: object) -> None:
        then = self._pending.pop(rid, None)
        if self._commands.pop(rid, None) is not None:
            self.pending_changed.emit()
        if then is not None:
            then(result, error if error is None else str(error))

    def _keep(self, snap: Snapshot) -> None:
        self.latest = snap


__all__ = ["Session"]
