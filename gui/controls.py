"""What the status bar says and which of Run, Pause and Step can be pressed: one decision,
so the words and the buttons never disagree (the live window and the headless capture alike).

>>> controls(running=True, busy=True, reason="", alive=2, processes=2)
Controls(state='running', run=False, pause=True, step=False)
>>> controls(running=False, busy=False, reason="breakpoint", alive=1, processes=1)
Controls(state='breakpoint', run=True, pause=False, step=True)
>>> controls(running=False, busy=False, reason="paused", alive=0, processes=3)
Controls(state='all exited', run=False, pause=False, step=False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PyQt6.QtCore import QObject, Qt, QTimer

# Reasons after which nothing can run again, so neither Run nor Step would do anything.
FINAL = ("all exited", "deadlock", "nothing can run")
# Reasons the worker uses before anything ran: a user sees a paused emulator.
NOT_YET = ("ready", "not started", "")


@dataclass(frozen=True)
class Controls:
    state: str  # the status bar's first words
    run: bool  # Run (F5) enabled
    pause: bool  # Pause (F6) enabled
    step: bool  # Step (F10) enabled


def controls(running: bool, busy: bool, reason: str, alive: int, processes: int) -> Controls:
    """``running``: the window's own run; ``busy``: a request on the emulation thread (a console
    command, ``--frames``' run) that Pause would interrupt; ``reason``: why the worker last
    stopped; ``alive`` of ``processes`` have not ended."""
    if running:
        return Controls("running", run=False, pause=True, step=False)
    if busy:  # a console command or --frames runs the guests: Pause stops it, Run would wait for it
        return Controls("running", run=False, pause=True, step=False)
    if processes and not alive:
        return Controls("all exited", run=False, pause=False, step=False)
    state = "paused" if reason in NOT_YET else reason
    can_go = state not in FINAL
    return Controls(state, run=can_go, pause=False, step=can_go)


BUSY_AFTER = 0.25  # seconds a console command (or --frames' run) runs before the window says "running"


class ControlsView(QObject):
    """Shows :func:`controls` on a window: its ``state_label`` and its Run, Pause and Step
    actions, from its latest snapshot and the session's requests under way. A request that
    ends within :data:`BUSY_AFTER` (a breakpoint toggled, a register read) never shows as
    running; a longer one (a console ``emu.run()``) does, until it ends."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.show)
        self._shown: Controls | None = None  # what the label and actions show
        window.session.pending_changed.connect(self._requests_changed)
        self._watching = False

    def _requests_changed(self) -> None:
        self.show()

    def watch_screens(self, on: bool) -> None:
        """Look at every screen patch while gdb is connected (:meth:`_screens`); not otherwise:
        75 calls a second into Python for nothing, each taking the interpreter lock."""
        if on != self._watching:
            self._watching = on
            screens = self.window.session.worker.screens
            (screens.connect if on else screens.disconnect)(self._screens)

    def _screens(self, _frames: object) -> None:
        """A gdb continue sends the screens before its first snapshot: Pause must be there at once."""
        if getattr(self.window, "gdb", None) is not None:
            self.show()

    def show(self) -> None:
        window = self.window
        snap = window.snapshot
        if snap is None:
            return  # still "starting..."
        alive = sum(1 for p in snap.processes if p.status == "running")
        age = window.session.command_age()
        if 0 < age < BUSY_AFTER:  # look again when it has run that long (a timer may fire a little early)
            self._timer.start(int((BUSY_AFTER - age) * 1000) + 10)
        busy = age >= BUSY_AFTER
        gdb = getattr(window, "gdb", None)
        busy = busy or (gdb is not None and gdb[0].client_running)  # a gdb continue: Pause ends it
        now = controls(snap.running, busy, snap.reason, alive, len(snap.processes))
        if now == self._shown and window.state_label.text() == now.state:
            return  # as shown (most snapshots of a run): no more calls into Qt
        self._shown = now
        window.state_label.setText(now.state)
        window.run_action.setEnabled(now.run)
        window.pause_action.setEnabled(now.pause)
        window.step_action.setEnabled(now.step)


__all__ = ["BUSY_AFTER", "Controls", "ControlsView", "controls"]
