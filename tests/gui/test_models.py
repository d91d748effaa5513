"""What the user sees: the text of every cell (Qt DisplayRole) of every debugger table.

Rows are written by hand and the expected text spelled out, so an off-by-one in a column
(the memory map's last byte) or letters in the wrong place (r/w/x) fails here, whatever the
row objects hold.
"""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from gui.models import (
    BreakpointModel,
    HandleModel,
    IpcModel,
    PageTableModel,
    ProcessModel,
    RegionModel,
    RegisterModel,
    ThreadModel,
)
from gui.state import IpcRow, PageTableSnapshot, ProcessRow, ThreadRow
from hlemu.memory import MemoryPermission as P
from hlemu.memory import MemoryState as S
from kernel.api import HandleInfo, Region


@pytest.fixture(autouse=True)
def _app(qapp):
    """Models need a QApplication (fonts, colours): pytest-qt's."""
    return qapp


def shown(model) -> list[list[str]]:
    return [[model.data(model.index(r, c), Qt.ItemDataRole.DisplayRole) for c in range(model.columnCount())]
            for r in range(model.rowCount())]


def headers(model) -> list[str]:
    return [model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
            for c in range(model.columnCount())]


def test_memory_map_shows_the_last_byte_and_rwx_letters_in_place():
    model = RegionModel()
    model.set_rows([
        Region(0x00100000, 0x4000, P.RX, S.CODE, 0x20000000, [33, 34]),
        Region(0x08000000, 0x00200000, P.RW, S.PRIVATE, None, []),
        Region(0x10000000, 0x1000, P.W, S.SHARED, 0x20123000, [40]),
        Region(0x1F000000, 0x1234, P.X, S.IO, None, []),
        Region(0xFFFFF000, 0x1000, P.NONE, S.LOCKED, 0x27FFF000, []),
    ])
    assert headers(model) == ["base", "end", "size", "perm", "state", "physical", "shared with"]
    assert shown(model) == [
        ["00100000", "00103fff", "16 KiB", "r-x", "code", "20000000-20003fff", "33, 34"],
        ["08000000", "081fffff", "2 MiB", "rw-", "private", "", ""],
        ["10000000", "10000fff", "4 KiB", "-w-", "shared", "20123000-20123fff", "40"],
        ["1f000000", "1f001233", "4660 B", "--x", "io", "", ""],
        ["fffff000", "ffffffff", "4 KiB", "---", "locked", "27fff000-27ffffff", ""],
    ]


def test_process_table_text():
    model = ProcessModel()
    model.set_rows([ProcessRow(32, "fb", "running", 1234567, 89, 3,
                               {"unmapped": 1, "write_track": 12345, "tlb_fill": 1000000}, None,
                               footprint=(8192, 6144, 4096)),
                    ProcessRow(33, "hello", "crashed", 0, 0, 0, {}, "data abort")])
    assert headers(model) == ["pid", "name", "status", "instructions", "faults", "title", "SVCs", "threads",
                              "unmapped", "permission", "special", "write track", "tlb fill", "RSS", "PSS", "USS"]
    assert shown(model) == [
        ["32", "fb", "running", "1,234,567", "1,012,346", "", "89", "3", "1", "0", "0", "12,345", "1,000,000",
         "8 KiB", "6 KiB", "4 KiB"],
        ["33", "hello", "crashed", "0", "0", "", "0", "0", "0", "0", "0", "0", "0", "", "", ""],  # not measured
    ]


def test_process_table_shows_a_3dsx_title_and_its_icon_beside_the_name():
    model = ProcessModel()
    icon = np.zeros((48, 48, 3), dtype=np.uint8)
    icon[:, :, 2] = 255  # blue
    model.set_rows([ProcessRow(32, "game", "running", 0, 0, 1, {}, None, "Space Game", "Homebrew Co",
                               icon.tobytes()),
                    ProcessRow(33, "hello", "running", 0, 0, 1, {}, None)])
    assert [row[:6] for row in shown(model)] == [["32", "game", "running", "0", "0", "Space Game"],
                                                 ["33", "hello", "running", "0", "0", ""]]
    decoration = Qt.ItemDataRole.DecorationRole
    drawn = model.index(0, ProcessModel.NAME).data(decoration)
    assert drawn is not None and not drawn.isNull()
    image = drawn.pixmap(48, 48).toImage()
    assert image.pixelColor(24, 24).getRgb()[:3] == (0, 0, 255)
    assert model.index(0, ProcessModel.NAME).data(decoration).cacheKey() == drawn.cacheKey()  # made once
    assert model.index(0, ProcessModel.TITLE).data(decoration) is None
    assert model.index(1, ProcessModel.NAME).data(decoration) is None


def test_thread_table_text():
    model = ThreadModel()
    model.set_rows([ThreadRow(32, 5, "main", "waiting", 0x30, 0x00100ABC, "event #17"),
                    ThreadRow(32, 6, "thread 6", "ready", 0x3F, 0xFFFFFFFF, "")])
    assert headers(model) == ["pid", "tid", "name", "state", "priority", "PC", "waiting on"]
    assert shown(model) == [["32", "5", "main", "waiting", "0x30", "00100abc", "event #17"],
                            ["32", "6", "thread 6", "ready", "0x3f", "ffffffff", ""]]


def test_handle_table_text():
    model = HandleModel()
    model.set_rows([HandleInfo(0x00010002, "Event", "event #17 (oneshot)", 17, [32, 33]),
                    HandleInfo(0x00028005, "Thread", "thread 5", 5, [32])])
    assert headers(model) == ["handle", "type", "object", "held by"]
    assert shown(model) == [["00010002", "Event", "event #17 (oneshot)", "32, 33"],
                            ["00028005", "Thread", "thread 5", "32"]]


def test_ipc_table_text():
    model = IpcModel()
    model.set_rows([
        IpcRow(7, 60, 33, -1, "gsp::Gpu", 0x0001, (0x1, 0xDEADBEEF), ("copy handles 0x1",), False, None,
               "WriteHWRegs"),
        IpcRow(8, 60, -1, 33, "gsp::Gpu", 0x0001, (), (), True, 0xD900182F, "WriteHWRegs", "unimplemented"),
        IpcRow(9, 61, 34, 35, "hlm:test", 0x00FF, (0,), ("static buffer 0x200000, 0x10, 0x0", "pid 0x22"),
               False, 0),
    ])
    assert headers(model) == ["#", "frame", "kind", "from", "to", "service", "command", "name", "normal words",
                              "translate", "result", "note"]
    assert shown(model) == [
        ["7", "60", "request", "33", "gsp::Gpu", "gsp::Gpu", "0x0001", "WriteHWRegs", "00000001 deadbeef",
         "copy handles 0x1", "", ""],
        ["8", "60", "reply", "gsp::Gpu", "33", "gsp::Gpu", "0x0001", "WriteHWRegs", "", "", "d900182f",
         "unimplemented"],
        ["9", "61", "request", "34", "35", "hlm:test", "0x00ff", "", "00000000",
         "static buffer 0x200000, 0x10, 0x0; pid 0x22", "00000000", ""],
    ]


def test_breakpoint_and_register_tables_text():
    breaks = BreakpointModel()
    breaks.set_rows([(32, 0x00100010), (33, 0xFFFFFFFC)])
    assert headers(breaks) == ["pid", "address"]
    assert shown(breaks) == [["32", "00100010"], ["33", "fffffffc"]]
    registers = RegisterModel()
    registers.set_rows([("r0", "00000007", "7"), ("pc", "00100abc", "")])
    assert headers(registers) == ["register", "value", "meaning"]
    assert shown(registers) == [["r0", "00000007", "7"], ["pc", "00100abc", ""]]


def page_snapshot() -> PageTableSnapshot:
    """Three mapped pages: code (frame 3), a write-tracked framebuffer page (frame 4, faulted),
    and an MMIO page (frame 5, RW, no X)."""
    pages = 1 << 20
    frame = np.full(pages, -1, np.int32)
    perm, state, special = (np.zeros(pages, np.uint8) for _ in range(3))
    for vpn, f, p, s, k in ((0x100, 3, 5, 4, 0), (0x18000, 4, 3, 6, 2), (0x1EC00, 5, 3, 2, 1)):
        frame[vpn], perm[vpn], state[vpn], special[vpn] = f, p, s, k
    fault_pages = np.array([0x18000], np.int64)
    faults = np.array([[0], [2], [0], [1234], [7]], np.uint32)  # unmapped, permission, special, write track, tlb
    phys_of_frame = np.array([0x20000000 + 0x1000 * i for i in range(8)], np.uint32)
    return PageTableSnapshot(32, frame, perm, state, special, fault_pages, faults, phys_of_frame)


def test_page_table_text_of_every_column():
    model = PageTableModel()
    model.set_snapshot(page_snapshot())
    assert headers(model) == ["virtual", "physical", "perm", "state", "special",
                              "unmapped", "permission", "special", "write track", "tlb fill"]
    assert shown(model) == [
        ["00100000", "20003000", "r-x", "code", "", "0", "0", "0", "0", "0"],
        ["18000000", "20004000", "rw-", "shared", "tracked", "0", "2", "0", "1,234", "7"],
        ["1ec00000", "20005000", "rw-", "io", "mmio", "0", "0", "0", "0", "0"],
    ]
    model.set_filter("faulted")
    assert [row[0] for row in shown(model)] == ["18000000"]
    model.set_filter("all pages")
    assert model.rowCount() == 1 << 20
    unmapped = [model.data(model.index(0x100000 - 1, c)) for c in range(5)]
    assert unmapped == ["fffff000", "", "", "free", ""]
