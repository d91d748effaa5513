"""Python's cycle collector runs on the GUI thread only while an emulation thread is alive.

The collector runs on whichever thread happens to allocate when a threshold is crossed. The
emulation thread allocates the most (snapshots for the window, the rewind ring's captures), so
it would be the one to free unreachable cycles that hold Qt widgets of the GUI thread (a closed
window's plots, menus, models): Qt objects destroyed on a thread that does not own them corrupt
Qt's state, and the process crashes later somewhere else. With threads running, the automatic
collector is off and pyqtgraph's ``GarbageCollector`` (made for exactly this) collects on the
GUI thread from a timer, by the same thresholds; when the last emulation thread has stopped,
automatic collection is as it was.

The kernel's own ``gc.collect()`` after reaping processes (kernel/lifetime.py) is skipped while
automatic collection is off, for the same reason.
"""

from __future__ import annotations

import gc

from pyqtgraph.util.garbage_collector import GarbageCollector

INTERVAL_S = 0.25  # how often the GUI thread checks the collector's counts

_users = 0
_collector: GarbageCollector | None = None
_was_enabled = True


def acquire() -> None:
    """An emulation thread is about to start (call on the GUI thread)."""
    global _users, _collector, _was_enabled
    if _users == 0:
        _was_enabled = gc.isenabled()
        _collector = GarbageCollector(interval=INTERVAL_S)  # disables automatic collection
    _users += 1


def release() -> None:
    """An emulation thread has ended (call on the GUI thread, after it has)."""
    global _users, _collector
    if _users == 0:
        return
    _users -= 1
    if _users == 0 and _collector is not None:
        _collector.timer.stop()
        _collector = None
        if _was_enabled:
            gc.enable()


def active() -> bool:
    return _users > 0
