"""Table models: one ``QAbstractTableModel`` per debugger table, fed from snapshots."""

from gui.models.base import Column, RowsModel
from gui.models.pages import PageTableModel
from gui.models.tables import (
    BreakpointModel,
    HandleModel,
    IpcModel,
    ProcessModel,
    RegionModel,
    RegisterModel,
    ThreadModel,
)

__all__ = ["BreakpointModel", "Column", "HandleModel", "IpcModel", "PageTableModel", "ProcessModel",
           "RegionModel", "RegisterModel", "RowsModel", "ThreadModel"]
