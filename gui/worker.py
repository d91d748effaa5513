"""The emulation thread: runs the guests in short slices and reports by queued signals.

:class:`EmuWorker` lives in a ``QThread`` and owns the :class:`~kernel.api.Emulator`;
nothing else touches it. The window talks to it through :class:`gui.session.Session`,
which queues requests (``call``) onto the worker's thread; the worker answers with
Qt-free snapshots (:mod:`gui.state`) and screen patches. A slice is at most one
frame of guest time or :data:`SLICE_INSTRUCTIONS` instructions, so a pause or a
key press waits for at most a few milliseconds of emulation.
"""

from __future__ import annotations

import functools
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from PyQt6.QtCore import QObject, QThread, QTimer, pyqtSignal, pyqtSlot

from gui.state import Crash, IpcRow, PageTableSnapshot, Snapshot, footprint_totals, process_detail, process_rows
from hlemu.loaders import LoaderError
from kernel.api import Emulator
from kernel.applets.swkbd import Frontend
from kernel.display import SCREEN_WIDTHS, TICKS_PER_FRAME
from kernel.layout import SYSTEM_TICK_HZ

SLICE_INSTRUCTIONS = 2_000_000  # at ~50 MIPS: ~40 ms, the longest the UI waits for a pause
# With the limiter off, a slice runs as many frames as take about this long at the last second's
# speed (SLICE_INSTRUCTIONS still caps it): each ``emu.run`` costs 40-80 us of its own, ~5% of a
# frame of the demo at 700-800 frames a second. Where a run stops changes nothing computed.
UNTHROTTLED_SLICE_SECONDS = 0.008
SNAPSHOT_INTERVAL = 0.1  # seconds between debugger snapshots while running
# ... and with the frame limiter off: each snapshot costs this thread its gathering and the GUI
# thread its dock refreshes, which hold the interpreter lock the guests' hooks wait for; the docks
# then update 4 times a second while the guests run (every stop still sends one at once).
UNTHROTTLED_SNAPSHOT_INTERVAL = 0.25
SCREENS_INTERVAL = 1 / 60  # seconds between screen patches while gdb runs the guests
RUN_SCREENS_INTERVAL = 1 / 75  # at least this between screen patches of the window's own runs
PAGES_INTERVAL = 0.5  # seconds between page-table snapshots (they copy ~7 MiB)
FAULTS_INTERVAL = 0.5  # seconds between fault totals while running (each sums 20 MiB of counters)
# ... with the limiter off, and the page tables too: with the footprints and the memory map they
# cost this thread ~9 ms a fresh snapshot (measured, the demo), time the guests do not run
UNTHROTTLED_FAULTS_INTERVAL = 1.0
IPC_KEEP = 100_000  # messages the recorder keeps


@dataclass
class ScreenPatch:
    """New pixels for columns ``[first, first + width)`` of a screen (``pixels``: 240 x width
    0xffRRGGBB words, the screen images' own format: Display.render_columns_rgb32)."""

    screen: str
    first: int
    pixels: np.ndarray


@dataclass
class Selection:
    """What the debugger looks at. Shared by both threads: change it with :meth:`update`
    and read it with :meth:`copy`, which hold its lock."""

    pid: int | None = None
    tid: int | None = None
    memory_at: int = 0x00100000
    code_at: int | None = None  # None: follow the PC
    want_pages: bool = False
    auto: bool = True  # chosen by the window, not the user: follows the first live process
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def update(self, **fields: object) -> None:
        with self.lock:
            for name, value in fields.items():
                setattr(self, name, value)

    def copy(self) -> Selection:
        with self.lock:
            return replace(self, lock=threading.Lock())

    def follow(self, live: list[int], every: list[int]) -> None:
        """Pick the first live process unless the user chose one that still exists."""
        with self.lock:
            if self.pid in every and not (self.auto and self.pid not in live and live):
                return
            choices = live or every
            self.pid, self.tid, self.auto = (choices[0] if choices else None), None, True


def _guarded(method: Callable) -> Callable:
    """A worker slot that reports an exception (stopping the run) instead of ending the
    application: PyQt aborts on an exception that leaves a slot."""

    @functools.wraps(method)
    def wrapper(self: EmuWorker, *args: object) -> None:
        try:
            method(self, *args)
        except Exception:  # noqa: BLE001 - shown to the user; the window stays up
            self.running = False
            self.reason = "internal error"
            self.failed.emit("internal error in the emulation thread:\n" + traceback.format_exc(limit=6))

    return wrapper


@dataclass
class Stats:
    """Speed as the status bar shows it, measured over the last second or so."""

    fps: float = 0.0
    mips: float = 0.0
    _mark: tuple[float, int, int] = field(default=(0.0, 0, 0))

    def update(self, now: float, frame: int, instructions: int) -> None:
        t0, f0, i0 = self._mark
        if t0 == 0.0:
            self._mark = (now, frame, instructions)
        elif now - t0 >= 0.5:
            self.fps = (frame - f0) / (now - t0)
            self.mips = (instructions - i0) / (now - t0) / 1e6
            self._mark = (now, frame, instructions)


class EmuWorker(QObject):
    """Owns the emulator; every method runs on the emulation thread."""

    snapshot = pyqtSignal(object)  # Snapshot
    screens = pyqtSignal(object)  # list[ScreenPatch]
    stats = pyqtSignal(float, float)  # fps, MIPS
    answered = pyqtSignal(int, object, object)  # request id, result, error text
    failed = pyqtSignal(str)  # the emulator could not be (re)built: why

    def __init__(self, programs: list[str], backend: str = "auto", host_page_size: int | None = None,
                 sdmc: str | None = None, cfg: dict[str, object] | None = None, record: str | None = None,
                 replay: str | None = None, rewind: bool = True) -> None:
        super().__init__()
        self.programs = programs
        self.record, self.replay, self.rewind = record, replay, rewind  # movie files; hold-to-rewind's ring
        self._replaying = False
        self.backend = backend
        self.host_page_size = host_page_size
        self.sdmc = sdmc  # the SD card's host folder and the console settings, for every (re)build
        self.cfg = dict(cfg or {})
        self.emu: Emulator | None = None
        self.selection = Selection()
        self.running = False
        self.throttle = True
        self.reason = "not started"
        self.generation = 0  # counts emulators built (reset); snapshots carry it
        self.interrupted = threading.Event()  # the window asked for a pause while a run was under way
        self.keyboard: Frontend | None = None  # the software keyboard's dialog (gui.swkbd)
        self._ipc_new: list[IpcRow] = []
        self._ipc_seq = 0
        self._serial = 0
        self._output_new: list[tuple[int, str, str]] = []
        self._crashes_seen: set[int] = set()
        self._dirty: dict[str, set[int]] = {name: set() for name in SCREEN_WIDTHS}
        self._fb_key: dict[str, object] = {}
        self._last_snapshot = 0.0
        self._last_screens = 0.0
        self._last_pages = 0.0
        self._last_faults = 0.0
        self._faults: dict[int, dict[str, int]] = {}
        self._footprints: dict[int, tuple[int, int, int]] = {}
        self._regions: tuple[int, list] | None = None  # (pid, its memory map) as of the last fresh snapshot
        self._clock: tuple[float, int] = (0.0, 0)  # (wall time, guest ticks) when running began
        self._stats = Stats()
        # This thread's CPU seconds by what a running slice spent them on ("guest": emu.run,
        # "screens", "snapshots"): ``hlemu bench gui`` reports the shares.
        self.cpu_seconds: dict[str, float] = {"guest": 0.0, "screens": 0.0, "snapshots": 0.0}
        self._timer: QTimer | None = None
        self._last_hit: object = None

    # -- life cycle -------------------------------------------------------------------------
    @pyqtSlot()
    def start(self) -> None:
        """Build the emulator (on this thread) and show the first snapshot."""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._slice)
        self._build()

    def _build(self) -> None:
        self.emu = None
        self.generation += 1
        try:
            emu = Emulator(backend=self.backend, host_page_size=self.host_page_size, echo=False, sdmc=self.sdmc,
                           cfg=self.cfg)
        except Exception as exc:  # noqa: BLE001 - shown to the user, the window stays up
            self.failed.emit(f"cannot create the emulator: {exc}")
            return
        errors = []
        for program in self.programs:
            try:
                emu.spawn(program)
            except (LoaderError, OSError) as exc:
                errors.append(str(exc))
        self.emu = emu
        errors += self._movies_and_rewind(emu)
        self._ipc_new, self._ipc_seq = [], 0
        self._output_new, self._crashes_seen = [], set()
        self._fb_key = {}
        emu.on_ipc(self._record_ipc)
        emu.on_output(lambda proc, line: self._output_new.append((proc.pid, proc.name, line)))
        emu.on_frame(self._on_vblank)
        emu.on_keyboard(lambda request: self.keyboard(request) if self.keyboard is not None else None)
        self.reason = "ready" if not errors else "load failed"
        if errors:
            self.failed.emit("\n".join(errors))
        self._emit_screens(full=True)
        self._emit_snapshot()

    def _movies_and_rewind(self, emu: Emulator) -> list[str]:
        """``--replay`` plays its movie from power-on, ``--record`` records one (written when
        the window closes or resets); without either, the ring of snapshots hold-to-rewind
        goes back through (a rewind inside a movie would no longer be what happened)."""
        from gui.rewind import REWIND_EVERY, REWIND_KEEP, REWIND_MAX_BYTES, REWIND_MIN_SECONDS
        from kernel.state import StateError

        self._replaying = False
        try:
            if self.replay:
                emu.replay_movie(self.replay)
                self._replaying = True
            if self.record:
                emu.record_movie()
        except (StateError, OSError, ValueError) as exc:
            return [f"--replay {self.replay}: {exc}"]
        if self.rewind and not self.movie_active():
            emu.enable_rewind(every_frames=REWIND_EVERY, keep=REWIND_KEEP, max_bytes=REWIND_MAX_BYTES,
                              min_seconds=REWIND_MIN_SECONDS)
        return []

    def movie_active(self) -> bool:
        """A movie is recorded or replayed (loading a state or rewinding would break it)."""
        return bool(self.record or self._replaying)

    def _write_movie(self) -> None:
        if self.emu is not None and self.record and self.emu._recorder is not None:
            self.emu.stop_movie().save(self.record)

    @pyqtSlot()
    @_guarded
    def reset(self) -> None:
        """Close the emulator and start the same programs again, paused (a movie recorded so
        far is written, and a new one begins)."""
        self.running = False
        if self.emu is not None:
            self._write_movie()
            self.emu.close()
        self._build()

    @pyqtSlot()
    def shutdown(self) -> None:
        """Close the emulator, then end this thread's event loop (queued after any work)."""
        self.running = False
        if self._timer is not None:
            self._timer.stop()
        if self.emu is not None:
            try:
                self._write_movie()
            finally:
                self.emu.close()
                self.emu = None
        thread = QThread.currentThread()
        if thread is not None:
            thread.quit()

    # -- run control --------------------------------------------------------------------------
    @pyqtSlot()
    @_guarded
    def resume(self) -> None:
        if self.emu is None or self.running:
            return
        self.interrupted.clear()
        self.running = True
        self.reason = ""
        self._clock = (time.perf_counter(), self.emu.ticks)
        self._schedule(0)
        self._emit_snapshot()

    @pyqtSlot()
    @_guarded
    def pause(self) -> None:
        self.interrupted.clear()
        if self.running:
            self.running = False
            self.reason = "paused"
            self._emit_screens()
            self._emit_snapshot()

    @pyqtSlot()
    @_guarded
    def step(self) -> None:
        """One instruction of the thread that runs next (paused)."""
        if self.emu is None:
            return
        self.running = False
        view = self.emu.step()
        self.reason = "stepped" if view is not None else "nothing can run"
        if view is not None:
            self.selection.update(pid=view.pid, tid=view.tid, auto=False)
        self._emit_screens()
        self._emit_snapshot(pages=True)

    @pyqtSlot(bool)
    def set_throttle(self, on: bool) -> None:
        self.throttle = on
        if self.emu is not None:
            self._clock = (time.perf_counter(), self.emu.ticks)

    def gdb_progress(self) -> None:
        """Between slices of a gdb ``continue`` (which runs here, inside a call): the screens,
        and now and then a snapshot, as a run of the window's own shows them."""
        now = time.perf_counter()
        if now - self._last_screens >= SCREENS_INTERVAL:
            self._last_screens = now
            self.reason = "gdb continue"
            self._emit_screens()
            if now - self._last_snapshot >= SNAPSHOT_INTERVAL:
                self._emit_snapshot()

    @pyqtSlot(object)
    @_guarded
    def call(self, request: tuple[int, Callable[[Emulator], object], bool]) -> None:
        """Run ``fn(emu)`` here between slices; the answer goes back with the request id.
        Unless ``quiet`` (pad input), a snapshot shows the request's effect first."""
        rid, fn, quiet = request
        if self.emu is None:
            self.answered.emit(rid, None, "no emulator")
            return
        result, error = None, None
        try:
            result = fn(self.emu)
        except Exception:  # noqa: BLE001 - a bad request must not end the emulation thread
            error = traceback.format_exc(limit=4)
        self.interrupted.clear()
        if self.running:  # a run inside the request moved guest time: the limiter starts afresh
            self._clock = (time.perf_counter(), self.emu.ticks)
        elif self.reason in ("ready", "not started", "gdb continue"):
            self.reason = "paused"
        if not quiet:
            self._emit_screens()  # before the answer, so the window shows the request's effect first
            self._emit_snapshot(pages=True)
        self.answered.emit(rid, result, error)

    @pyqtSlot()
    @_guarded
    def refresh(self) -> None:
        """A snapshot now (the selection changed)."""
        if self.emu is not None:
            self._emit_snapshot(pages=True)

    def _schedule(self, ms: int) -> None:
        if self._timer is not None:
            self._timer.start(ms)

    @_guarded
    def _slice(self) -> None:
        emu = self.emu
        if emu is None or not self.running:
            return
        spent = self.cpu_seconds
        c0 = time.thread_time()
        frames = 1 if self.throttle else max(1, int(self._stats.fps * UNTHROTTLED_SLICE_SECONDS))
        result = emu.run(instructions=SLICE_INSTRUCTIONS, frames=frames)
        c1 = time.thread_time()
        spent["guest"] += c1 - c0
        now = time.perf_counter()
        self._stats.update(now, emu.frame, emu.instructions)
        stopped = result.reason in ("all exited", "deadlock") or emu.paused
        if stopped:
            self.running = False
            if self.interrupted.is_set():
                self.interrupted.clear()
                self.reason = "paused"
            elif emu.paused:
                self.reason = "watchpoint" if emu.watch_hits and emu.watch_hits[-1] is not self._last_hit \
                    else "breakpoint"
                self._last_hit = emu.watch_hits[-1] if emu.watch_hits else None
                self._select_current()
            else:
                self.reason = result.reason
        if stopped or now - self._last_screens >= RUN_SCREENS_INTERVAL:
            # Unthrottled, frames come faster than a screen refreshes: the dirty pages add up
            # (``_on_vblank``) and go out together, so the GUI thread does not hold the
            # interpreter for screens nobody sees (with the limiter on, every frame still goes).
            self._last_screens = now
            self._emit_screens()
            c2 = time.thread_time()
            spent["screens"] += c2 - c1
            c1 = c2
        interval = SNAPSHOT_INTERVAL if self.throttle else UNTHROTTLED_SNAPSHOT_INTERVAL
        if stopped or now - self._last_snapshot >= interval:
            self.stats.emit(self._stats.fps, self._stats.mips)
            self._emit_snapshot(pages=stopped)
            spent["snapshots"] += time.thread_time() - c1
        if self.running:
            self._schedule(self._delay_ms(now))

    def _select_current(self) -> None:
        """Look at the thread that hit the breakpoint or watchpoint."""
        thread = self.emu.current_thread if self.emu is not None else None
        if thread is not None:
            self.selection.update(pid=thread.pid, tid=thread.tid, code_at=None, auto=False)

    def _delay_ms(self, now: float) -> int:
        """With the limiter on, guest time may not run ahead of wall time."""
        if not self.throttle or self.emu is None:
            return 0
        wall0, ticks0 = self._clock
        ahead = (self.emu.ticks - ticks0) / SYSTEM_TICK_HZ - (now - wall0)
        if ahead < -0.25:  # far behind (a slow host, a stop in a debugger): do not race to catch up
            self._clock = (now, self.emu.ticks)
        return max(0, int(ahead * 1000))

    # -- reports -----------------------------------------------------------------------------
    def _record_ipc(self, message: object) -> None:
        assert self.emu is not None
        self._ipc_seq += 1
        row = IpcRow.of(self._ipc_seq, self.emu.frame, message)  # type: ignore[arg-type]
        self._ipc_new.append(row)
        if len(self._ipc_new) > IPC_KEEP:  # nobody looked for a long while: keep the newest
            del self._ipc_new[: len(self._ipc_new) - IPC_KEEP]

    def _on_vblank(self, frame: int) -> None:
        display = self.emu.display if self.emu is not None else None
        if display is not None:
            for name, screen in display.screens.items():
                self._dirty[name] |= screen.last_dirty

    def _emit_screens(self, full: bool = False) -> None:
        """Patches for the columns the dirty pages say changed (everything when a screen's
        framebuffer moved)."""
        if self.emu is None:
            return
        display = self.emu.display
        patches = []
        for name, screen in display.screens.items():
            fb = screen.framebuffer
            black = display.kernel.gsp.lcd_black  # SetLcdForceBlack on or off: the whole screen changes
            key = None if fb is None else (fb.process.pid, fb.vaddr, fb.format, fb.stride, black)
            if full or key != self._fb_key.get(name):
                self._fb_key[name] = key
                spans = [(0, screen.width)]
            else:
                spans = display.columns_of(name, self._dirty[name])
            self._dirty[name] = set()
            for first, end in spans:
                patches.append(ScreenPatch(name, first, display.render_columns_rgb32(name, first, end)))
        if patches:
            self.screens.emit(patches)

    def _emit_snapshot(self, pages: bool = False) -> None:
        emu = self.emu
        if emu is None:
            return
        now = time.perf_counter()
        self._last_snapshot = now
        self._serial += 1
        every = FAULTS_INTERVAL if self.throttle else UNTHROTTLED_FAULTS_INTERVAL
        fresh = pages or not self.running or now - self._last_faults >= every
        if fresh:
            self._last_faults = now
            self._faults = {p.pid: p.faults for p in emu.processes}
            self._footprints = footprint_totals(emu)  # ~3.5 ms a process (measured, loaded host): as seldom as faults
        procs, threads = process_rows(emu, self._faults, self._footprints)
        self.selection.follow([p.pid for p in procs if p.status == "running"], [p.pid for p in procs])
        sel = self.selection.copy()
        snap = Snapshot(self._serial, emu.frame, emu.instructions, emu.ticks, emu.backend,
                        self.running, self.reason, procs, threads,
                        breakpoints=[(b.pid, b.address) for b in emu.breakpoints], generation=self.generation)
        if sel.pid is not None:
            # The memory map (with each region's sharers: ~4 ms, most of a snapshot) is as
            # fresh as the fault totals while the guests run; stopped, every snapshot has it.
            kept = None if fresh or self._regions is None or self._regions[0] != sel.pid else self._regions[1]
            snap.detail = process_detail(emu, sel.pid, sel.tid, sel.memory_at, sel.code_at, regions=kept)
            if snap.detail is not None:
                self._regions = (sel.pid, snap.detail.regions)
            every = PAGES_INTERVAL if self.throttle else UNTHROTTLED_FAULTS_INTERVAL
            if sel.want_pages and (pages or now - self._last_pages >= every):
                self._last_pages = now
                snap.pages = PageTableSnapshot.of(emu.process(sel.pid))
        snap.ipc, self._ipc_new = self._ipc_new, []
        snap.output, self._output_new = self._output_new, []
        for p in emu.processes:
            if p.crash and p.pid not in self._crashes_seen:
                self._crashes_seen.add(p.pid)
                snap.crashes.append(Crash(p.pid, p.name, p.crash, p.crash_address))
        self.snapshot.emit(snap)


__all__ = ["EmuWorker", "ScreenPatch", "Selection", "TICKS_PER_FRAME"]
