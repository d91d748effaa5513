"""The debugger models beyond their text: which signals a refresh sends (so selections survive),
sorting keys, fonts, highlights, icons, the page table's filters and lookups. Written for the
mutants scripts/mutation.py found surviving tests/gui/test_models.py."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import QModelIndex, Qt
from PyQt6.QtGui import QBrush, QColor

from gui.models import IpcModel, PageTableModel, ProcessModel, RegionModel, RegisterModel, ThreadModel
from gui.models.base import MONO, ROW_ROLE, SORT_ROLE, Column, RowsModel, hex32
from gui.state import IpcRow, ProcessRow, ThreadRow
from hlemu.memory import MemoryPermission as P
from hlemu.memory import MemoryState as S
from kernel.api import Region
from tests.gui.test_models import page_snapshot

DISPLAY, FONT, BACKGROUND = Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.FontRole, Qt.ItemDataRole.BackgroundRole


@pytest.fixture(autouse=True)
def _app(qapp):
    return qapp


class Signals:
    """Every structural signal a model sends, in order."""

    def __init__(self, model) -> None:
        self.log: list[tuple] = []
        model.dataChanged.connect(lambda a, b, *_: self.log.append(("changed", a.row(), a.column(), b.row(),
                                                                     b.column())))
        model.modelReset.connect(lambda: self.log.append(("reset",)))
        model.rowsInserted.connect(lambda _p, first, last: self.log.append(("inserted", first, last)))
        model.rowsRemoved.connect(lambda _p, first, last: self.log.append(("removed", first, last)))


def thread(tid: int, state: str = "ready") -> ThreadRow:
    return ThreadRow(32, tid, f"thread {tid}", state, 0x30, 0x100000 + tid, "")


# -- RowsModel ------------------------------------------------------------------------------------

def test_same_rows_with_new_values_announce_every_cell_without_a_reset():
    model = ThreadModel()
    model.set_rows([thread(1), thread(2)])
    signals = Signals(model)
    model.set_rows([thread(1, "waiting"), thread(2)])
    assert signals.log == [("changed", 0, 0, 1, 6)]
    assert model.data(model.index(0, ThreadModel.STATE)) == "waiting"


def test_identical_rows_send_nothing_and_other_rows_reset():
    model = ThreadModel()
    model.set_rows([thread(1)])
    signals = Signals(model)
    model.set_rows([thread(1)])
    assert signals.log == []
    model.set_rows([thread(2)])
    assert signals.log == [("reset",)]
    model.set_rows([])
    model.set_rows([])
    assert signals.log == [("reset",), ("reset",)]
    assert model.rowCount() == 0


def test_clear_empties_the_model():
    model = ThreadModel()
    model.set_rows([thread(1), thread(2)])
    model.clear()
    assert model.rowCount() == 0 and model.rows == []


def test_append_keeps_the_newest_rows():
    model = ThreadModel()
    signals = Signals(model)
    model.append_rows([thread(1), thread(2)], keep=3)
    model.append_rows([thread(3)], keep=3)
    assert signals.log == [("inserted", 0, 1), ("inserted", 2, 2)]
    model.append_rows([thread(4), thread(5)], keep=3)
    assert [r.tid for r in model.rows] == [3, 4, 5]
    assert signals.log[2:] == [("removed", 0, 1), ("inserted", 1, 2)]
    model.append_rows([thread(t) for t in range(6, 11)], keep=3)  # more than keep: only the last 3
    assert [r.tid for r in model.rows] == [8, 9, 10]
    assert signals.log[4:] == [("removed", 0, 2), ("inserted", 0, 2)]
    model.append_rows([], keep=3)
    model.append_rows([thread(11)])  # no limit
    assert [r.tid for r in model.rows] == [8, 9, 10, 11]
    assert signals.log[6:] == [("inserted", 3, 3)]


def test_append_exactly_up_to_the_limit_drops_nothing():
    model = ThreadModel()
    model.append_rows([thread(1)], keep=2)
    signals = Signals(model)
    model.append_rows([thread(2)], keep=2)
    assert [r.tid for r in model.rows] == [1, 2]
    assert signals.log == [("inserted", 1, 1)]


def test_counts_are_zero_under_a_valid_parent():
    model = ThreadModel()
    model.set_rows([thread(1)])
    assert (model.rowCount(), model.columnCount()) == (1, 7)
    parent = model.index(0, 0)
    assert (model.rowCount(parent), model.columnCount(parent)) == (0, 0)


def test_headers_are_horizontal_display_text_only():
    model = ThreadModel()
    assert model.headerData(0, Qt.Orientation.Horizontal) == "pid"
    assert model.headerData(6, Qt.Orientation.Horizontal, DISPLAY) == "waiting on"
    assert model.headerData(0, Qt.Orientation.Vertical, DISPLAY) is None
    assert model.headerData(0, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole) is None


def test_sort_role_gives_numbers_and_falls_back_to_the_text():
    model = ThreadModel()
    model.set_rows([thread(10)])
    assert model.data(model.index(0, ThreadModel.TID), SORT_ROLE) == 10
    assert model.data(model.index(0, ThreadModel.PC), SORT_ROLE) == 0x10000A
    assert model.data(model.index(0, ThreadModel.NAME), SORT_ROLE) == "thread 10"
    assert model.data(model.index(0, ThreadModel.NAME), ROW_ROLE) is model.rows[0]


def test_mono_columns_get_the_monospace_font_and_others_none():
    model = ThreadModel()
    model.set_rows([thread(1)])
    assert model.data(model.index(0, ThreadModel.PC), FONT) is MONO
    assert model.data(model.index(0, ThreadModel.NAME), FONT) is None
    assert model.data(model.index(0, ThreadModel.NAME), Qt.ItemDataRole.ToolTipRole) is None


def test_data_out_of_range_is_none():
    model = ThreadModel()
    model.set_rows([thread(1)])
    assert model.data(QModelIndex()) is None
    assert model.data(model.createIndex(1, 0)) is None
    assert model.data(model.createIndex(0, 0)) == "32"


def test_hex32_masks_to_32_bits_and_leaves_none_empty():
    assert hex32(None) == ""
    assert hex32(0) == "00000000"
    assert hex32(-1) == "ffffffff"
    assert hex32(0x1_2345_6789) == "23456789"


def test_a_plain_rows_model_has_no_highlight_or_decoration():
    class Plain(RowsModel):
        COLUMNS = (Column("x", str),)

    model = Plain()
    model.set_rows([5])
    assert model.data(model.index(0, 0)) == "5"
    assert model.data(model.index(0, 0), BACKGROUND) is None
    assert model.data(model.index(0, 0), Qt.ItemDataRole.DecorationRole) is None


# -- the row tables' highlights and icons -------------------------------------------------------------

def background(model, row: int) -> QColor | None:
    brush = model.data(model.index(row, 0), BACKGROUND)
    assert brush is None or isinstance(brush, QBrush)
    return None if brush is None else brush.color()


def test_crashed_processes_are_red():
    model = ProcessModel()
    model.set_rows([ProcessRow(1, "ok", "running", 0, 0, 1, {}, None),
                    ProcessRow(2, "bad", "crashed", 0, 0, 1, {}, "data abort")])
    assert background(model, 0) is None
    assert background(model, 1) == QColor(255, 210, 210)
    assert model.data(model.index(0, ProcessModel.INSTRUCTIONS), SORT_ROLE) == 0


def test_process_icons_are_cached_and_the_cache_is_bounded():
    model = ProcessModel()
    icons = [bytes([i]) * (48 * 48 * 3) for i in range(65)]
    first = model.icon(icons[0])
    assert model.icon(icons[0]).cacheKey() == first.cacheKey()
    for rgb in icons[1:64]:
        model.icon(rgb)
    assert len(model._icons) == 64
    model.icon(icons[64])  # the 65th: the cache starts again
    assert len(model._icons) == 1
    assert model.icon(icons[0]).cacheKey() != first.cacheKey()


def test_shared_regions_are_blue():
    model = RegionModel()
    model.set_rows([Region(0x1000, 0x1000, P.RW, S.PRIVATE, 0x20000000, []),
                    Region(0x10000000, 0x1000, P.RW, S.SHARED, 0x20001000, [33])])
    assert background(model, 0) is None
    assert background(model, 1) == QColor(225, 240, 255)


@pytest.mark.parametrize(("size", "text"), [
    (1 << 20, "1 MiB"), (3 << 20, "3 MiB"), ((1 << 20) + 1024, "1025 KiB"), (1024, "1 KiB"),
    (1023, "1023 B"), ((1 << 20) - 1024, "1023 KiB"), (1025, "1025 B"), (0x4000, "16 KiB"),
])
def test_region_sizes(size, text):
    model = RegionModel()
    model.set_rows([Region(0x1000, size, P.RW, S.PRIVATE, None, [])])
    assert model.data(model.index(0, RegionModel.SIZE)) == text


def test_failed_ipc_replies_are_red():
    model = IpcModel()
    row = IpcRow(1, 1, -1, 33, "srv:", 1, (), (), True, None)
    model.set_rows([row, IpcRow(2, 1, -1, 33, "srv:", 1, (), (), True, 0),
                    IpcRow(3, 1, -1, 33, "srv:", 1, (), (), True, 0xD900182F),
                    IpcRow(4, 1, -1, 33, "srv:", 1, (), (), True, 0x7FFFFFFF)])
    assert [background(model, r) for r in range(4)] == [None, None, QColor(255, 210, 210), None]


def test_the_pc_register_is_yellow():
    model = RegisterModel()
    model.set_rows([("r0", "00000000", ""), ("pc", "00100000", "")])
    assert background(model, 0) is None
    assert background(model, 1) == QColor(255, 245, 190)


# -- the page table -----------------------------------------------------------------------------

def test_page_filters_pick_their_pages():
    model = PageTableModel()
    model.set_snapshot(page_snapshot())
    assert [model.vpn_at(r) for r in range(model.rowCount())] == [0x100, 0x18000, 0x1EC00]
    model.set_filter("special")
    assert [model.vpn_at(r) for r in range(model.rowCount())] == [0x18000, 0x1EC00]
    model.set_filter("faulted")
    assert [model.vpn_at(r) for r in range(model.rowCount())] == [0x18000]
    with pytest.raises(ValueError, match="unknown filter 'odd'"):
        model.set_filter("odd")
    assert model.filter == "faulted"


def test_row_of_finds_the_page_or_the_next_one_kept():
    model = PageTableModel()
    assert model.row_of(0x100000) is None
    model.set_snapshot(page_snapshot())
    assert model.row_of(0x00100000) == 0
    assert model.row_of(0x00100FFF) == 0
    assert model.row_of(0x00101000) == 1
    assert model.row_of(0x18000000) == 1
    assert model.row_of(0x1EC00000) == 2
    assert model.row_of(0x1EC01000) == 2  # past the last: the last
    assert model.row_of(0) == 0
    assert model.row_of(0x1_00100000) == 0  # 32-bit addresses


def test_page_refresh_with_the_same_pages_announces_cells_and_a_new_process_resets():
    model = PageTableModel()
    model.set_snapshot(page_snapshot())
    signals = Signals(model)
    snap = page_snapshot()
    snap.faults[3, 0] = 99
    model.set_snapshot(snap)
    assert signals.log == [("changed", 0, 0, 2, 9)]
    assert model.data(model.index(1, 8)) == "99"
    other = page_snapshot()
    other = type(other)(33, *(getattr(other, f) for f in ("frame", "perm", "state", "special", "fault_pages",
                                                           "faults", "phys_of_frame")))
    model.set_snapshot(other)
    assert signals.log[1:] == [("reset",)]
    model.set_snapshot(None)
    assert signals.log[2:] == [("reset",)]
    assert model.rowCount() == 0 and model.data(model.createIndex(0, 0)) is None


def test_page_refresh_with_no_rows_sends_nothing():
    model = PageTableModel()
    model.set_filter("faulted")
    empty = page_snapshot()
    empty = type(empty)(32, empty.frame, empty.perm, empty.state, empty.special, np.zeros(0, np.int64),
                        np.zeros((5, 0), np.uint32), empty.phys_of_frame)
    model.set_snapshot(empty)
    signals = Signals(model)
    model.set_snapshot(empty)
    assert signals.log == []


def test_page_fonts_headers_and_highlight():
    model = PageTableModel()
    model.set_snapshot(page_snapshot())
    fonts = [model.data(model.index(0, c), FONT) for c in range(model.columnCount())]
    assert fonts[:3] == [MONO, MONO, MONO] and fonts[3:] == [None] * 7
    assert model.headerData(0, Qt.Orientation.Horizontal) == "virtual"
    assert model.headerData(0, Qt.Orientation.Vertical) is None
    assert model.headerData(0, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole) is None
    assert model.data(model.index(0, 0), BACKGROUND) is None
    model.highlight_vpn = 0x18000
    assert model.data(model.index(0, 0), BACKGROUND) is None
    assert model.data(model.index(1, 0), BACKGROUND).color() == QColor(255, 170, 170)
    assert model.data(model.index(1, 0), Qt.ItemDataRole.ToolTipRole) is None
    parent = model.index(0, 0)
    assert (model.rowCount(parent), model.columnCount(parent)) == (0, 0)
    assert model.data(QModelIndex()) is None


def test_an_unknown_memory_state_shows_its_number():
    model = PageTableModel()
    snap = page_snapshot()
    snap.state[0x100] = 200
    model.set_snapshot(snap)
    assert model.data(model.index(0, PageTableModel.STATE)) == "200"
    snap.perm[0x100] = 0xFF  # only r, w and x are letters
    assert model.data(model.index(0, PageTableModel.PERM)) == "rwx"


# -- sort keys: what a click on a header orders by ----------------------------------------------------

def sort_keys(model, row: int = 0) -> list:
    return [model.data(model.index(row, c), SORT_ROLE) for c in range(model.columnCount())]


def test_process_sort_keys_are_numbers_where_the_text_has_commas():
    model = ProcessModel()
    # The glance columns first (pid, name, status, instructions, faults of every kind together),
    # then title, SVCs, threads, each fault kind, and RSS/PSS/USS (-1: not measured).
    model.set_rows([ProcessRow(32, "fb", "running", 1234567, 89, 3, {"unmapped": 2, "tlb_fill": 1000}, None),
                    ProcessRow(33, "gx", "waiting", 7, 1, 1, {}, None, footprint=(0x3000, 0x1800, 0x1000))])
    assert sort_keys(model) == [32, "fb", "running", 1234567, 1002, "", 89, 3, 2, 0, 0, 0, 1000, -1, -1, -1]
    assert sort_keys(model, 1) == [33, "gx", "waiting", 7, 0, "", 1, 1, 0, 0, 0, 0, 0, 0x3000, 0x1800, 0x1000]


def test_thread_sort_keys():
    model = ThreadModel()
    model.set_rows([ThreadRow(32, 5, "main", "waiting", 0x30, 0x00100ABC, "event #17")])
    assert sort_keys(model) == [32, 5, "main", "waiting", 0x30, 0x00100ABC, "event #17"]


def test_region_sort_keys_order_by_address_and_size():
    model = RegionModel()
    model.set_rows([Region(0x00100000, 0x4000, P.RX, S.CODE, 0x20000000, [33]),
                    Region(0x08000000, 0x2000, P.RW, S.PRIVATE, None, [])])
    assert sort_keys(model, 0) == [0x00100000, 0x00104000, 0x4000, "r-x", "code", 0x20000000, "33"]
    assert sort_keys(model, 1) == [0x08000000, 0x08002000, 0x2000, "rw-", "private", -1, ""]


def test_handle_ipc_and_breakpoint_sort_keys():
    from gui.models import BreakpointModel, HandleModel
    from kernel.api import HandleInfo

    handles = HandleModel()
    handles.set_rows([HandleInfo(0x00010002, "Event", "event #17", 17, [32, 33])])
    assert sort_keys(handles) == [0x00010002, "Event", "event #17", "32, 33"]
    ipc = IpcModel()
    ipc.set_rows([IpcRow(7, 60, 33, -1, "gsp::Gpu", 0x0001, (1,), (), False, None, "WriteHWRegs")])
    assert sort_keys(ipc) == [7, 60, "request", "33", "gsp::Gpu", "gsp::Gpu", 1, "WriteHWRegs", "00000001", "",
                              "", ""]
    breaks = BreakpointModel()
    breaks.set_rows([(32, 0x00100010)])
    assert sort_keys(breaks) == [32, 0x00100010]


def test_an_icon_is_read_row_by_row_three_bytes_a_pixel():
    from gui.models.base import rgb_icon

    rows = bytearray()
    for y in range(48):
        for x in range(48):
            rows += bytes((255, 0, 0)) if y < 24 else bytes((0, x * 5, 0))  # red top half, a green ramp below
    image = rgb_icon(bytes(rows)).pixmap(48, 48).toImage()
    assert image.pixelColor(10, 3).getRgb()[:3] == (255, 0, 0)
    assert image.pixelColor(10, 23).getRgb()[:3] == (255, 0, 0)
    assert image.pixelColor(10, 24).getRgb()[:3] == (0, 50, 0)
    assert image.pixelColor(47, 47).getRgb()[:3] == (0, 235, 0)


def test_frame_zero_is_a_mapped_page():
    snap = page_snapshot()
    snap.frame[0x200], snap.perm[0x200], snap.state[0x200] = 0, 3, 5  # physical frame 0, RW private
    model = PageTableModel()
    model.set_snapshot(snap)
    assert [model.vpn_at(r) for r in range(model.rowCount())] == [0x100, 0x200, 0x18000, 0x1EC00]
    assert [model.data(model.index(1, c)) for c in range(5)] == ["00200000", "20000000", "rw-", "private", ""]


def test_registers_are_identified_by_name_so_new_values_keep_the_rows():
    model = RegisterModel()
    model.set_rows([("r0", "00000000", "0"), ("pc", "00100000", "")])
    signals = Signals(model)
    model.set_rows([("r0", "00000007", "7"), ("pc", "00100004", "")])
    assert signals.log == [("changed", 0, 0, 1, 2)]
    model.set_rows([("r1", "00000007", "7"), ("pc", "00100004", "")])
    assert signals.log[1:] == [("reset",)]


def test_process_zero_is_a_process_and_negative_pids_are_the_service():
    model = IpcModel()
    model.set_rows([IpcRow(1, 1, 0, -1, "srv:", 1, (), (), False, None)])
    assert [model.data(model.index(0, c)) for c in (IpcModel.FROM, IpcModel.TO)] == ["0", "srv:"]


# -- the inspection docks' tables (gui/models/inspect.py) ---------------------------------------------

def test_kib_shows_whole_kib_without_a_decimal_and_split_pages_with_one():
    from gui.models.inspect import kib

    assert kib(0) == "0 KiB"
    assert kib(2048.0) == "2 KiB"  # the docstring's example
    assert kib(4096) == "4 KiB"
    assert kib(1536) == "1.5 KiB"  # not a whole KiB: one decimal
    assert kib(2048 * 1024) == "2,048 KiB"  # thousands separated
    assert kib(4096 / 3) == "1.3 KiB"


def _footprint(pid, rss=0x3000, pss=0x1800, uss=0x1000, by_state=()):
    from gui.inspect_state import FootprintRow

    return FootprintRow(pid, "sys" if pid < 0 else f"p{pid}", "running", rss, pss, uss, by_state)


def test_footprint_rows_show_kib_pss_by_state_and_the_system_row_last():
    from gui.models.inspect import FootprintModel

    model = FootprintModel()
    model.set_rows([_footprint(0, by_state=(("code", 0x2000, 0x800, 0), ("private", 0x1000, 0x1000, 0x1000))),
                    _footprint(-1, rss=0x5000, pss=0x5000, uss=0x5000)])
    assert model.columnCount() == 11
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(6, 11)] == [
        "code PSS", "private PSS", "locked PSS", "continuous PSS", "shared PSS"]
    assert [model.data(model.index(0, c)) for c in range(model.columnCount())] == [
        "0", "p0", "running", "12 KiB", "6 KiB", "4 KiB", "2 KiB", "4 KiB", "0 KiB", "0 KiB", "0 KiB"]
    assert sort_keys(model, 0) == [0, "p0", "running", 0x3000, 0x1800, 0x1000, 0x800, 0x1000, 0, 0, 0]
    assert model.data(model.index(1, FootprintModel.PID)) == "all"
    assert model.data(model.index(1, FootprintModel.PID), SORT_ROLE) == 1 << 31  # sorts after every pid
    assert model.data(model.index(0, 0), BACKGROUND) is None  # process 0 is a process
    brush = model.data(model.index(1, 0), BACKGROUND)
    assert brush.color().getRgb()[:3] == (230, 236, 250)


def test_scan_rows_show_the_value_in_hex_and_decimal():
    from gui.inspect_state import ScanRow
    from gui.models.inspect import ScanModel

    model = ScanModel()
    model.set_rows([ScanRow(0x08000010, 0x2A, "counter"), ScanRow(0x08000020, 0, "")])
    assert [model.data(model.index(0, c)) for c in range(4)] == ["08000010", "0x2a", "42", "counter"]
    assert sort_keys(model, 1) == [0x08000020, 0, 0, ""]
    model.set_rows([ScanRow(0x08000010, 0x2B, "counter"), ScanRow(0x08000020, 1, "")])
    assert model.rowCount() == 2 and model.data(model.index(0, ScanModel.DECIMAL)) == "43"


def test_heap_blocks_show_size_and_state_coloured_by_use():
    from gui.inspect_state import HeapBlock
    from gui.models.inspect import HeapBlockModel

    model = HeapBlockModel()
    model.set_rows([HeapBlock(0x08000000, 0x1234, True), HeapBlock(0x08001238, 96, False)])
    assert [model.data(model.index(0, c)) for c in range(3)] == ["08000000", "4,660", "used"]
    assert [model.data(model.index(1, c)) for c in range(3)] == ["08001238", "96", "free"]
    assert sort_keys(model, 0) == [0x08000000, 0x1234, "used"]
    used = model.data(model.index(0, 0), BACKGROUND).color()
    free = model.data(model.index(1, 0), BACKGROUND).color()
    assert used == QColor(230, 110, 90).lighter(150) and free == QColor(120, 200, 130).lighter(150)


# -- the GPU dock's command list (gui/models/gpu.py) -------------------------------------------
def _command(offset: int, draw: int | None, values: tuple[int, ...] = (1,)) -> object:
    from gui.gpu_state import CommandRow

    return CommandRow(0, 0x20000000, offset, "GPUREG_X", 0xF, False, values, draw,
                      "" if draw is None else f"draw {draw}")


def test_the_command_list_sorts_commands_without_a_draw_before_draw_0():
    from gui.models.gpu import CommandModel

    model = CommandModel()
    model.set_rows([_command(0, 1), _command(4, None), _command(8, 0)])
    keys = [model.index(r, CommandModel.DRAW).data(SORT_ROLE) for r in range(3)]
    assert keys == [1, -1, 0]  # no draw sorts as -1: before draw 0, not with it


def test_the_command_list_tooltip_shows_all_values_on_the_values_column_only():
    from gui.models.gpu import CommandModel, _values

    model = CommandModel()
    row = _command(0, None, tuple(range(40)))  # a long upload: the column shows it cut
    model.set_rows([row])
    tip = model.index(0, CommandModel.VALUES).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == _values(row) and "0x00000027" in tip
    assert model.index(0, CommandModel.REGISTER).data(Qt.ItemDataRole.ToolTipRole) != tip
    assert model.index(0, CommandModel.VALUES).data(Qt.ItemDataRole.DisplayRole) == _values(row)
