"""Hold a key to rewind: while it is held, the window pauses the guests and steps them back
REWIND_STEP frames every REWIND_REPEAT_MS (or as fast as the restores go) (``emu.rewind``, exact: docs/save-states.md);
let go and they run on if they ran before.

The worker keeps the ring of snapshots (``emu.enable_rewind`` when it builds the emulator:
REWIND_EVERY frames apart but at least REWIND_MIN_SECONDS, REWIND_KEEP of them); each step
is a ``session.call``, so the emulator is touched on its own thread only, and a step is not
asked for while one is under way.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from PyQt6.QtCore import QObject, QTimer

if TYPE_CHECKING:
    from gui.window import MainWindow
    from kernel.api import Emulator

REWIND_KEY = "R"  # a Qt key name (Backspace is SELECT in the default key map); a key map entry wins
REWIND_STEP = 10  # frames back per step (the first goes back to a multiple of REWIND_EVERY)
REWIND_REPEAT_MS = 100  # a step this often while the key is held: 100 frames a second back
REWIND_EVERY = 10  # frames between the worker's snapshots
REWIND_KEEP = 60  # snapshots kept: 600 frames (10 s) back at most
# Wall time between two snapshots at least (less than REWIND_EVERY frames take at 60 frames a
# second, so at guest speed every mark is taken): unthrottled, the demo runs ~800 frames a
# second and a snapshot every 10 of them took a third of the window's time.
REWIND_MIN_SECONDS = 0.1
REWIND_MAX_BYTES = 128 << 20


class HoldToRewind(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.held = False
        self._busy = False
        self._resume = False
        self.steps = 0  # steps answered since the key went down (tests)
        self._timer = QTimer(self)
        self._timer.setInterval(REWIND_REPEAT_MS)
        self._timer.timeout.connect(self._step)

    def press(self) -> None:
        if self.held:
            return
        snapshot = self.window.snapshot
        self._resume = bool(snapshot is not None and snapshot.running)
        self.held, self.steps = True, 0
        self.window.session.pause()
        self._step()
        self._timer.start()

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        self._timer.stop()
        if self._resume:
            self.window.session.resume()

    def _step(self) -> None:
        if self._busy:
            return
        self._busy = True

        def back(emu: Emulator) -> int:
            if self.window.session.worker.movie_active():
                raise RuntimeError("rewind is off while a movie is recorded or replayed")
            # back to the previous mark: a restore when its snapshot was taken (always at guest
            # speed), else a restore of an earlier one and a run forward
            return emu.rewind(frames=emu.frame % REWIND_EVERY or REWIND_STEP)

        def done(result: object, error: str | None) -> None:
            self._busy = False
            self.steps += 1
            if error is not None:
                self.release()
                # the exception's last line without its type: "rewind is off while ..."
                why = re.sub(r"^[\w.]+(Error|Exception): ", "", error.strip().splitlines()[-1])
                self.window.show_message("cannot rewind: " + why)
            else:
                self.window.show_message(f"rewound to frame {result}", 1000)

        self.window.session.call(back, done)
