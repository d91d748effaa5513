"""The SVC table's registration: a number takes one handler (a mutant of kernel/svc/__init__.py's
check, made by scripts/mutation.py, survived every test, since registration runs at import)."""

from __future__ import annotations

import pytest

from kernel.svc import SVC_TABLE, svc


def test_a_number_with_a_handler_cannot_be_registered_again():
    before = SVC_TABLE[0x13]
    with pytest.raises(ValueError, match="SVC 0x13 registered twice"):
        svc(0x13, nargs=2)(lambda k, t, a: (0,))
    assert SVC_TABLE[0x13] is before


def test_a_free_number_takes_a_handler():
    number = 0x7E  # no SVC of the 3DS has it, so nothing registers it
    assert number not in SVC_TABLE or SVC_TABLE[number].handler is None
    saved = SVC_TABLE.get(number)

    def handler(k, t, a):
        return (0,)

    try:
        assert svc(number, nargs=1)(handler) is handler
        entry = SVC_TABLE[number]
        assert (entry.number, entry.name, entry.handler, entry.nargs) == (number, "Unknown7E", handler, 1)
        with pytest.raises(ValueError, match="registered twice"):
            svc(number)(handler)
    finally:
        if saved is None:
            SVC_TABLE.pop(number, None)
        else:
            SVC_TABLE[number] = saved
