"""The debugger's row tables: processes, threads, regions, handles, IPC, breakpoints, registers."""

from __future__ import annotations

from typing import Any

from PyQt6.QtGui import QColor, QIcon

from gui.models.base import Column, RowsModel, hex32, rgb_icon
from gui.models.inspect import kib
from gui.state import FAULT_KINDS, IpcRow, ProcessRow, ThreadRow
from kernel.api import HandleInfo, Region

_CRASHED = QColor(255, 210, 210)
_CURRENT = QColor(255, 245, 190)


def _perm(perm: int) -> str:
    return "".join(c if int(perm) & bit else "-" for c, bit in (("r", 1), ("w", 2), ("x", 4)))


def _fault_total(p: ProcessRow) -> int:
    return sum(p.faults.values())


def _memory_column(title: str, at: int) -> Column:
    """RSS, PSS or USS (``at`` 0, 1, 2 in ProcessRow.footprint), in KiB; empty if not measured."""
    def text(p: ProcessRow) -> str:
        return "" if p.footprint is None else kib(p.footprint[at])

    return Column(title, text, lambda p: -1 if p.footprint is None else p.footprint[at])


class ProcessModel(RowsModel):
    """One row a process: first what a glance wants (pid, name, status, instructions, faults
    of every kind together), then the SMDH title, SVCs, threads and each fault kind; a 3DSX's
    icon beside its name."""

    PID, NAME, STATUS, INSTRUCTIONS, FAULTS, TITLE, SVCS, THREADS = range(8)
    KEY_COLUMNS = (PID, NAME, STATUS, INSTRUCTIONS, FAULTS)  # the ones the dock always shows
    COLUMNS = (
        Column("pid", lambda p: str(p.pid), lambda p: p.pid),
        Column("name", lambda p: p.name),
        Column("status", lambda p: p.status),
        Column("instructions", lambda p: f"{p.instructions:,}", lambda p: p.instructions),
        Column("faults", lambda p: f"{_fault_total(p):,}", _fault_total),
        Column("title", lambda p: p.title or ""),
        Column("SVCs", lambda p: f"{p.svcs:,}", lambda p: p.svcs),
        Column("threads", lambda p: str(p.threads), lambda p: p.threads),
        *(Column(kind.replace("_", " "), (lambda k: lambda p: f"{p.faults.get(k, 0):,}")(kind),
                 (lambda k: lambda p: p.faults.get(k, 0))(kind)) for kind in FAULT_KINDS),
        # Guest physical memory (PSS divides a shared frame among its sharers; see the Footprints dock)
        *(_memory_column(name, at) for at, name in enumerate(("RSS", "PSS", "USS"))),
    )
    RSS, PSS, USS = 8 + len(FAULT_KINDS), 9 + len(FAULT_KINDS), 10 + len(FAULT_KINDS)

    def __init__(self) -> None:
        super().__init__()
        self._icons: dict[bytes, QIcon] = {}  # made once per icon, not per paint

    def row_id(self, row: ProcessRow) -> object:
        return row.pid

    def highlight(self, row: ProcessRow) -> QColor | None:
        return _CRASHED if row.crash else None

    def decoration(self, row: ProcessRow, column: int) -> QIcon | None:
        if column != self.NAME or row.icon is None:
            return None
        return self.icon(row.icon)

    def icon(self, rgb: bytes) -> QIcon:
        if rgb not in self._icons:
            if len(self._icons) >= 64:  # processes come and go: keep a few
                self._icons.clear()
            self._icons[rgb] = rgb_icon(rgb)
        return self._icons[rgb]


class ThreadModel(RowsModel):
    PID, TID, NAME, STATE, PRIORITY, PC, WAITING = range(7)
    COLUMNS = (
        Column("pid", lambda t: str(t.pid), lambda t: t.pid),
        Column("tid", lambda t: str(t.tid), lambda t: t.tid),
        Column("name", lambda t: t.name),
        Column("state", lambda t: t.state),
        Column("priority", lambda t: f"{t.priority:#x}", lambda t: t.priority),
        Column("PC", lambda t: hex32(t.pc), lambda t: t.pc, mono=True),
        Column("waiting on", lambda t: t.waiting_on),
    )

    def row_id(self, row: ThreadRow) -> object:
        return (row.pid, row.tid)


class RegionModel(RowsModel):
    BASE, END, SIZE, PERM, STATE, PHYS, SHARED = range(7)
    COLUMNS = (
        Column("base", lambda r: hex32(r.base), lambda r: r.base, mono=True),
        Column("end", lambda r: hex32(r.base + r.size - 1), lambda r: r.base + r.size, mono=True),
        Column("size", lambda r: _size(r.size), lambda r: r.size),
        Column("perm", lambda r: _perm(r.perm), mono=True),
        Column("state", lambda r: r.state.name.lower()),
        Column("physical", lambda r: "" if r.phys is None else f"{hex32(r.phys)}-{hex32(r.phys + r.size - 1)}",
               lambda r: -1 if r.phys is None else r.phys, mono=True),
        Column("shared with", lambda r: ", ".join(map(str, r.shared_with))),
    )

    def row_id(self, row: Region) -> object:
        return (row.base, row.size, int(row.perm), int(row.state))

    def highlight(self, row: Region) -> QColor | None:
        return QColor(225, 240, 255) if row.shared_with else None


def _size(size: int) -> str:
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20} MiB"
    return f"{size >> 10} KiB" if size % 1024 == 0 else f"{size} B"


class HandleModel(RowsModel):
    HANDLE, TYPE, OBJECT, HOLDERS = range(4)
    COLUMNS = (
        Column("handle", lambda h: hex32(h.handle), lambda h: h.handle, mono=True),
        Column("type", lambda h: h.type),
        Column("object", lambda h: h.description),
        Column("held by", lambda h: ", ".join(map(str, h.holders))),
    )

    def row_id(self, row: HandleInfo) -> object:
        return (row.handle, row.object_id)


def _who(pid: int, service: str) -> str:
    return service if pid < 0 else str(pid)


class IpcModel(RowsModel):
    SEQ, FRAME, DIRECTION, FROM, TO, SERVICE, COMMAND, NAME, NORMAL, DESCRIPTORS, RESULT, NOTE = range(12)
    COLUMNS = (
        Column("#", lambda m: str(m.seq), lambda m: m.seq),
        Column("frame", lambda m: str(m.frame), lambda m: m.frame),
        Column("kind", lambda m: "reply" if m.reply else "request"),
        Column("from", lambda m: _who(m.sender, m.service)),
        Column("to", lambda m: _who(m.receiver, m.service)),
        Column("service", lambda m: m.service),
        Column("command", lambda m: f"{m.command:#06x}", lambda m: m.command, mono=True),
        Column("name", lambda m: m.name),
        Column("normal words", lambda m: " ".join(f"{w:08x}" for w in m.normal), mono=True),
        Column("translate", lambda m: "; ".join(m.descriptors)),
        Column("result", lambda m: "" if m.result is None else hex32(m.result), mono=True),
        Column("note", lambda m: m.status),
    )

    def row_id(self, row: IpcRow) -> object:
        return row.seq

    def highlight(self, row: IpcRow) -> QColor | None:
        if row.result is not None and row.result & 0x80000000:
            return _CRASHED
        return None


class BreakpointModel(RowsModel):
    COLUMNS = (
        Column("pid", lambda b: str(b[0]), lambda b: b[0]),
        Column("address", lambda b: hex32(b[1]), lambda b: b[1], mono=True),
    )

    def row_id(self, row: tuple[int, int]) -> object:
        return row


class RegisterModel(RowsModel):
    """Name, value and what it means (flags, mode, float): one row a register."""

    COLUMNS = (
        Column("register", lambda r: r[0], mono=True),
        Column("value", lambda r: r[1], mono=True),
        Column("meaning", lambda r: r[2]),
    )

    def row_id(self, row: tuple[str, str, str]) -> object:
        return row[0]

    def highlight(self, row: Any) -> QColor | None:
        return _CURRENT if row[0] == "pc" else None
