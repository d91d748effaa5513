"""What the window refreshes while the guests run: docks out of sight wait until they are
shown (or the guests stop), so their Python models leave the interpreter to the emulation
thread; what they show once seen is the newest snapshot."""

from __future__ import annotations

from dataclasses import replace

from gui.models.base import ROW_ROLE
from gui.views.tables import on_screen


def rows(model) -> list:
    return [model.index(r, 0).data(ROW_ROLE) for r in range(model.rowCount())]


def test_a_dock_behind_a_tab_skips_running_snapshots_and_catches_up_when_shown(demo):
    window = demo.window
    demo.run_frames(5)
    dock = window.handle_dock  # a tab behind the registers
    demo.qtbot.waitUntil(lambda: not on_screen(dock) and on_screen(window.register_dock))
    shown = rows(dock.model)
    assert shown  # fb's handles, from the stopped snapshot
    running = replace(window.snapshot, running=True, detail=replace(window.snapshot.detail, handles=shown[:1]))
    window.show_snapshot(running)
    assert rows(dock.model) == shown and dock in window._stale
    assert rows(window.register_dock.model)  # on screen: refreshed
    dock.raise_()
    demo.qtbot.waitUntil(lambda: rows(dock.model) == shown[:1])
    assert dock not in window._stale


def test_stopped_snapshots_refresh_every_dock(demo):
    window = demo.window
    demo.run_frames(5)
    dock = window.handle_dock
    demo.qtbot.waitUntil(lambda: not on_screen(dock))
    stopped = replace(window.snapshot, running=False, detail=replace(window.snapshot.detail, handles=[]))
    window.show_snapshot(stopped)
    assert rows(dock.model) == [] and not window._stale


def test_ipc_messages_wait_behind_a_tab_while_running_and_go_in_when_shown(demo):
    window = demo.window
    dock = window.ipc_dock  # a tab behind the debug output
    demo.run_frames(5)
    demo.qtbot.waitUntil(lambda: not on_screen(dock))
    before = dock.model.rowCount()
    news = rows(dock.model)[-2:]
    window.show_snapshot(replace(window.snapshot, running=True, ipc=news))
    assert dock.model.rowCount() == before and dock.pending == news
    dock.raise_()
    demo.qtbot.waitUntil(lambda: dock.model.rowCount() == before + 2)
    assert rows(dock.model)[-2:] == news and dock.pending == []
