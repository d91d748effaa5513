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


def _thread(tid: int, state: str = "ready"):
    from gui.state import ThreadRow

    return ThreadRow(32, tid, f"thread {tid}", state, 0x30, 0x100000 + tid, "")


def test_a_mirror_copies_the_models_cells_and_sets_only_those_that_changed(qapp):
    from PyQt6.QtCore import Qt

    from gui.models import ThreadModel
    from gui.models.base import MONO, SORT_ROLE, MirrorModel

    model = ThreadModel()
    mirror = MirrorModel(model)
    model.set_rows([_thread(1), _thread(2)])
    cells = lambda m: [[m.index(r, c).data() for c in range(m.columnCount())] for r in range(m.rowCount())]  # noqa: E731
    assert cells(mirror) == cells(model) and mirror.rowCount() == 2
    assert mirror.headerData(ThreadModel.STATE, Qt.Orientation.Horizontal) == "state"
    assert mirror.index(1, ThreadModel.TID).data(SORT_ROLE) == 2
    assert mirror.index(0, ThreadModel.PC).data(Qt.ItemDataRole.FontRole) == MONO
    assert mirror.row_object(1) == _thread(2) and mirror.index(1, 0).data(ROW_ROLE) is None
    changed: list = []
    mirror.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), a.column(), b.row(), b.column())))
    model.set_rows([_thread(1, "waiting"), _thread(2)])  # the model announces both rows
    assert changed == [(0, ThreadModel.STATE, 0, ThreadModel.STATE)]  # the mirror: the one cell
    assert mirror.index(0, ThreadModel.STATE).data() == "waiting"
    model.append_rows([_thread(3)], keep=2)
    assert cells(mirror) == cells(model) and [mirror.index(r, 1).data() for r in range(2)] == ["2", "3"]
    model.set_rows([])
    assert mirror.rowCount() == 0
    assert not mirror.flags(mirror.index(0, 0)) & Qt.ItemFlag.ItemIsEditable


def test_the_ipc_table_in_message_order_is_not_sorted_by_the_proxy(demo):
    from PyQt6.QtCore import Qt

    view, proxy = demo.window.ipc_dock.view, demo.window.ipc_dock.proxy
    assert proxy.sortColumn() == -1 and view.horizontalHeader().sortIndicatorSection() == 0
    demo.run_frames(5)
    view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    numbers = [int(proxy.index(r, 0).data()) for r in range(proxy.rowCount())]
    assert proxy.sortColumn() == 0 and numbers == sorted(numbers, reverse=True) and numbers
    view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert proxy.sortColumn() == -1
    assert [int(proxy.index(r, 0).data()) for r in range(proxy.rowCount())] == sorted(numbers)


def test_the_first_thousands_of_ipc_rows_fit_the_columns_from_a_few_rows(qtbot):
    """Fitting the IPC log's columns to its first rows (thousands of them, queued while it was
    out of sight) asks the model for the data of a few rows, not of every row: the whole queue
    took 0.7 s of the GUI thread's interpreter lock (96,000 data() calls on the demo)."""
    from gui.views.process_docks import IpcDock
    from gui.views.tables import FIT_ROWS

    dock = IpcDock()
    qtbot.addWidget(dock)
    dock.resize(900, 300)
    dock.show()
    qtbot.waitExposed(dock)
    template = _ipc_row()
    asked: set[int] = set()
    real = type(dock.model).data

    def counted(model, index, role=0):  # noqa: ANN001, ANN202
        asked.add(index.row())
        return real(model, index, role)

    type(dock.model).data = counted
    try:
        dock.model.append_rows([replace(template, seq=i) for i in range(5000)], keep=100_000)
    finally:
        type(dock.model).data = real
    assert dock.model.rowCount() == 5000
    visible = dock.view.rowAt(dock.view.viewport().height() - 1) + 1 or 5000
    assert len(asked) <= FIT_ROWS + visible + 2, (len(asked), visible)
    assert dock.view.columnWidth(1) > 0


def _ipc_row():
    from gui.state import IpcRow

    return IpcRow(0, 1, 34, -1, "gsp::Gpu", 0x0008, (0x1F000000, 0x46500), ("static buffer 0",), False, None,
                  "FlushDataCache")
