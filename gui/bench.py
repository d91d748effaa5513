"""``hlemu bench gui``: how long the debugger's refreshes take with 8 processes x 64 MiB.

Each process maps 64 MiB (16,384 pages, in 4 MiB regions of alternating
permissions, all backed by one shared 8 MiB run of frames so the machine's
128 MiB of FCRAM suffices) and has faults counted on scattered pages. The
figures are the work the window does per refresh, timed in this process against
a raw-numpy baseline of the same size (copying the page-table arrays):

- ``page_snapshot``: copying one process's page table for the UI (the worker's cost);
- ``page_model``: swapping a snapshot into the page-table model (``mapped`` and
  ``all pages`` filters, 16K and 1M rows);
- ``page_scroll``: the ``data()`` calls of one screenful (40 rows x 10 columns);
- ``address_strip``: colouring the 4 GiB strip 1,200 pixels wide;
- ``full_snapshot``: everything the worker gathers in one refresh of all 8 processes
  (rows, faults, the selected process's regions, handles, code, memory and pages);
- ``fault_plot``: adding one refresh of 8 processes to the plot and painting it;
- ``frame_limiter``: wall time of 30 frames of the fb demo run one frame a slice with the
  window's limiter (``EmuWorker._delay_ms``) on and off; on, it should be ~0.5 s (60 fps).
- ``window_mips``: the demo's MIPS in the window (offscreen, unthrottled, its screens and
  snapshots as a user's window has them), with the rewind ring and without it, against the
  same frames run headless (``emu.run``, as ``hlemu run`` does) in this process: ``vs_headless``.
  Each window record also says where the CPU went over its frames, as shares of the wall
  time: ``cpu_guest`` (the emulation thread in ``emu.run``, the rewind ring's snapshots
  included), ``cpu_screens`` and ``cpu_snapshots`` (the same thread building what the
  window shows) and ``cpu_gui_thread`` (events, models, painting; it holds the interpreter
  lock the emulation thread's hooks need while it runs Python).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from hlemu.bench.records import Record, best_of, host_info
from hlemu.memory import FaultKind, MemoryPermission, MemoryState

PROCESSES = 8
MAPPED = 64 << 20
CHUNK = 4 << 20
SHARED_FRAMES = 2048  # 8 MiB


def build_world(processes: int = PROCESSES, mapped: int = MAPPED):  # noqa: ANN201 - (Emulator, [Proc])
    from kernel.api import Emulator

    emu = Emulator(backend="auto", echo=False)
    procs = [emu.spawn("hello", name=f"p{i}") for i in range(processes)]
    frames = emu.kernel.allocate("SYSTEM", SHARED_FRAMES)
    rng = np.random.default_rng(1)
    for proc in procs:
        base = 0x30000000
        for n, at in enumerate(range(0, mapped, CHUNK)):
            perm = MemoryPermission.RW if n % 2 == 0 else MemoryPermission.R
            proc.space.map(base + at, frames[: CHUNK >> 12], perm, MemoryState.SHARED)
        pages = rng.integers(base >> 12, (base + mapped) >> 12, 2000)
        for kind in (FaultKind.PERMISSION, FaultKind.WRITE_TRACK):
            np.add.at(proc.space.faults.array[kind], pages, 1)
    return emu, procs


def _per_call(repeats: int, fn: Callable[[], object], calls: int = 1) -> float:
    return best_of(repeats, lambda: [fn() for _ in range(calls)]) / calls


LIMITER_FRAMES = 30


def limiter_seconds(throttle: bool, frames: int = LIMITER_FRAMES) -> float:
    """Wall time of ``frames`` frames of the fb demo, each slice followed by the limiter's delay."""
    import time
    from types import SimpleNamespace

    from gui.worker import EmuWorker
    from kernel.api import Emulator

    emu = Emulator(backend="auto", echo=False)
    try:
        emu.spawn("fb")
        emu.run(frames=2)  # compile and start the display outside the timing
        state = SimpleNamespace(throttle=throttle, emu=emu, _clock=(time.perf_counter(), emu.ticks))
        start = time.perf_counter()
        for _ in range(frames):
            emu.run(frames=1)
            time.sleep(EmuWorker._delay_ms(state, time.perf_counter()) / 1000)  # type: ignore[arg-type]
        return time.perf_counter() - start
    finally:
        emu.close()


WINDOW_FRAMES = 240  # measured after WARM_FRAMES, which compile and fill the caches
WARM_FRAMES = 30


def headless_mips(frames: int = WINDOW_FRAMES) -> float:
    import time

    from hlemu.run import DEMO
    from kernel.api import Emulator

    emu = Emulator(backend="auto", echo=False)
    try:
        for name in DEMO:
            emu.spawn(name)
        emu.run(frames=WARM_FRAMES)
        i0, t0 = emu.instructions, time.perf_counter()
        emu.run(frames=frames)
        return (emu.instructions - i0) / (time.perf_counter() - t0) / 1e6
    finally:
        emu.close()


def window_mips(rewind: bool, frames: int = WINDOW_FRAMES, timeout: float = 600.0) -> tuple[float, dict[str, float]]:
    """The demo in a window, unthrottled, from its snapshots' frame and instruction counts; and
    where the CPU went over the same frames: the emulation thread's seconds on guest time,
    screens and snapshots, and the GUI thread's (events, models, painting), each a share of
    the wall time."""
    import time

    from PyQt6.QtCore import QEventLoop, QTimer

    from gui.qapp import application
    from gui.session import Session
    from gui.state import Snapshot
    from gui.window import MainWindow
    from hlemu.run import DEMO, resolve

    app = application()
    session = Session([str(resolve(p)) for p in DEMO], backend="auto", rewind=rewind)
    window = MainWindow(session, show_crash_dialogs=False, headless=True)
    window.show()
    session.set_throttle(False)
    session.start()
    try:
        def wait(predicate: Callable[[Snapshot], bool]) -> tuple[float, int, int]:
            # In an event loop, as ``app.exec()`` runs a user's window, looking at each snapshot
            # as it arrives: a loop polling processEvents and sleeping 2 ms took the interpreter
            # lock 500 times a second, which a user's window does not, and the emulation thread's
            # hooks waited for it (it was half the GUI thread's entries into Python).
            loop, timer = QEventLoop(), QTimer()
            reached: list[tuple[float, int, int]] = []

            def check(_snap: object = None) -> None:
                snap = window.snapshot  # show_snapshot, connected before, has taken it
                if not reached and snap is not None and predicate(snap):
                    reached.append((time.perf_counter(), snap.frame, snap.instructions))
                    loop.quit()

            timer.setSingleShot(True)
            timer.timeout.connect(loop.quit)
            session.worker.snapshot.connect(check)
            try:
                check()
                if not reached:
                    timer.start(int(timeout * 1000))
                    loop.exec()
            finally:
                session.worker.snapshot.disconnect(check)
                timer.stop()
            if not reached:
                raise TimeoutError("bench gui: the window did not reach its frame")
            return reached[0]

        wait(lambda snap: True)
        session.resume()
        t0, f0, i0 = wait(lambda snap: snap.running and snap.frame >= WARM_FRAMES)
        spent0, gui0 = dict(session.worker.cpu_seconds), time.thread_time()
        t1, _f1, i1 = wait(lambda snap: snap.frame >= f0 + frames)
        wall = t1 - t0
        shares = {f"cpu_{part}": round((seconds - spent0[part]) / wall, 3)
                  for part, seconds in session.worker.cpu_seconds.items()}
        shares["cpu_gui_thread"] = round((time.thread_time() - gui0) / wall, 3)
        return (i1 - i0) / wall / 1e6, shares
    finally:
        session.stop()
        window.close()
        window.deleteLater()
        app.processEvents()


def run(repeats: int = 5, progress: Callable[[str], None] | None = None,
        window_frames: int = WINDOW_FRAMES) -> list[Record]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gui.models import PageTableModel
    from gui.qapp import application
    from gui.state import PageTableSnapshot, Snapshot, process_detail, process_rows
    from gui.views.memory_docks import AddressStrip, FaultPlot

    say = progress or (lambda _msg: None)
    app = application()
    say(f"bench gui: {PROCESSES} processes x {MAPPED >> 20} MiB mapped")
    emu, procs = build_world()
    params = {"processes": PROCESSES, "mapped_mib": MAPPED >> 20, **host_info()}
    records: list[Record] = []

    def add(workload: str, variant: str, seconds: float, **extra: object) -> None:
        records.append(Record(workload, variant, seconds * 1e3, "ms", {**params, **extra}))

    try:
        table = procs[0].page_table
        arrays = (table.frame, table.perm, table.state, table.special)
        say("bench gui: page-table snapshot")
        add("page_snapshot", "numpy copy (baseline)", _per_call(repeats, lambda: [a.copy() for a in arrays]))
        add("page_snapshot", "PageTableSnapshot", _per_call(repeats, lambda: PageTableSnapshot.of(procs[0])))
        snaps = [PageTableSnapshot.of(p) for p in procs]
        model = PageTableModel()
        for name in ("mapped", "all pages"):
            model.set_filter(name)
            say(f"bench gui: page-table model, {name}")
            def swap_all() -> None:
                for snap in snaps:  # a refresh of each process in turn (a model reset when the pid changes)
                    model.set_snapshot(snap)

            add("page_model", name, _per_call(repeats, swap_all) / PROCESSES, rows=model.rowCount())
            top = model.rowCount() // 2

            def screenful(first: int = top) -> None:
                for r in range(40):
                    for c in range(10):
                        model.data(model.index(first + r, c))

            add("page_scroll", name, _per_call(repeats, screenful))
        strip = AddressStrip()
        strip.set_state(snaps[0].state)
        say("bench gui: address strip")
        add("address_strip", "4 GiB", _per_call(repeats, lambda: strip.colours(1200)))
        strip.zoom(256, 0x30000)
        add("address_strip", "16 MiB", _per_call(repeats, lambda: strip.colours(1200)))
        say("bench gui: full snapshot")

        def snapshot() -> Snapshot:
            rows, threads = process_rows(emu)
            snap = Snapshot(0, 0, 0, 0, emu.backend, False, "", rows, threads)
            snap.detail = process_detail(emu, procs[0].pid, None, 0x00100000, None)
            snap.pages = PageTableSnapshot.of(procs[0])
            return snap

        add("full_snapshot", f"{PROCESSES} processes", _per_call(repeats, snapshot))
        kept = {p.pid: p.faults for p in procs}

        def snapshot_kept_faults() -> None:
            process_rows(emu, kept)
            process_detail(emu, procs[0].pid, None, 0x00100000, None)

        add("full_snapshot", "running (fault totals kept, no pages)", _per_call(repeats, snapshot_kept_faults))
        plot = FaultPlot()
        plot.resize(800, 300)
        snap = snapshot()
        say("bench gui: fault plot")

        def plot_once() -> None:
            plot.add(snap)
            plot.grab()

        for _ in range(FaultPlot.HISTORY):
            plot.add(snap)
        add("fault_plot", "add + paint (full history)", _per_call(repeats, plot_once))
        say("bench gui: frame limiter")
        for throttle in (True, False):
            seconds = limiter_seconds(throttle)
            add("frame_limiter", f"{LIMITER_FRAMES} frames, limiter {'on' if throttle else 'off'}", seconds,
                fps=round(LIMITER_FRAMES / seconds, 1))
        say("bench gui: the demo's MIPS in the window and headless")
        headless = [headless_mips(window_frames)]
        for rewind in (True, False):
            mips, shares = window_mips(rewind, window_frames)
            records.append(Record("window_mips", f"window, rewind ring {'on' if rewind else 'off'}", mips, "MIPS",
                                  {**params, "frames": window_frames, **shares}))
        headless.append(headless_mips(window_frames))  # before and after: the machine's load drifts
        mean = sum(headless) / len(headless)
        records.append(Record("window_mips", "headless (baseline)", mean, "MIPS",
                              {**params, "frames": window_frames, "runs": [round(m, 1) for m in headless]}))
        for rec in records[-3:]:
            rec.extra["vs_headless"] = round(rec.value / mean, 3)
        base = next(r for r in records if r.variant == "numpy copy (baseline)").value
        for rec in records:  # every refresh against the cost of copying one page table with numpy
            if rec.unit == "ms":
                rec.extra.setdefault("vs_numpy", round(base / rec.value, 4) if rec.value else 0.0)
    finally:
        emu.close()
        app.processEvents()
    return records
