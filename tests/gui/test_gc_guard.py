"""While an emulation thread runs, Python's cycle collector runs on the GUI thread only
(gui/gc_guard.py): a cycle holding Qt widgets freed on the emulation thread would destroy them
on a thread that does not own them."""

from __future__ import annotations

import gc
import threading

from gui import gc_guard
from kernel.lifetime import COLLECT_EVERY_REAPS


class Cycle:
    """An unreachable cycle that says on which thread it was freed."""

    freed_on: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cycle.freed_on.append(threading.current_thread().name)


def test_a_running_session_turns_automatic_collection_off_and_a_stopped_one_back_on(gui_programs):
    assert gc.isenabled()
    first = gui_programs(["hello"])
    assert not gc.isenabled() and gc_guard.active()
    second = gui_programs(["hello"])
    first.session.stop()
    assert not gc.isenabled()  # the second thread still runs
    second.session.stop()
    assert gc.isenabled() and not gc_guard.active()


def test_cycles_made_while_the_emulator_runs_are_freed_on_the_gui_thread(gui_programs, qtbot):
    driver = gui_programs(["fb"])
    Cycle.freed_on.clear()

    def make_garbage(emu) -> int:
        for _ in range(5000):  # far past the collector's first threshold, on the emulation thread
            Cycle()
        return emu.run(frames=5).reason

    driver.call(make_garbage)
    qtbot.waitUntil(lambda: len(Cycle.freed_on) >= 5000, timeout=10_000)  # the GUI thread's timer collects
    assert set(Cycle.freed_on) == {threading.main_thread().name}


def test_the_kernel_collects_after_reaping_only_when_automatic_collection_is_on(monkeypatch):
    from kernel.api import Emulator

    calls = []
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append(a) or 0)
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            emu = Emulator(echo=False)
            for _ in range(COLLECT_EVERY_REAPS):
                proc = emu.spawn("hello")
                emu.run(frames=3)
                emu.kernel.reap(proc.process)
            emu.close()
        finally:
            gc.enable()
        assert len(calls) == (1 if enabled else 0), enabled
        calls.clear()
