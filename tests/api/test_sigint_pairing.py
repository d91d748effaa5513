"""Each Ctrl-C reaches both the watcher thread and Python's handler: the second to see it stands down."""

from __future__ import annotations

import threading

from kernel.api.sigint import _Watcher


def _watcher() -> _Watcher:
    w = _Watcher.__new__(_Watcher)  # the pairing only: no pipe, no thread
    w._lock, w._ahead, w._behind, w.runs = threading.Lock(), 0, 0, []
    return w


def test_the_handler_first_then_the_watcher_stands_down():
    w = _watcher()
    assert w.handler_saw() is True
    assert w._take() is False  # late: that Ctrl-C's run may have ended and another begun


def test_the_watcher_first_then_the_handler_stands_down():
    w = _watcher()
    assert w._take() is True
    assert w.handler_saw() is False


def test_two_ctrl_cs_in_any_order_are_two():
    w = _watcher()
    assert [w.handler_saw(), w._take(), w._take(), w.handler_saw()] == [True, False, True, False]
    assert (w._ahead, w._behind) == (0, 0)
