"""ac (acInit: ac:i, then ac:u) and ndm:u as libctru's ac.c and ndm.c call them."""

from __future__ import annotations

import pytest

from tests.kernel.asm import SUCCESS
from tests.services.script import HEAP, Script, header


@pytest.mark.parametrize("service", ["ac:i", "ac:u"])
def test_ac_says_not_connected(make_guest, service):
    guest = make_guest("semifastmem")
    s = Script().connect_srv().heap()
    s.get_service("srv_ac", service)
    s.statics({0: (0x200, HEAP)})
    s.call("default_config", "r8", [header(0x1, 0, 0)], replies=4)
    s.call("wifi", "r8", [header(0xD, 0, 0)], replies=3)
    s.call("status", "r8", [header(0xC, 0, 0)], replies=3)
    s.call("last_error", "r8", [header(0xA, 0, 0)], replies=3)
    s.call("allow_ap", "r8", [header(0x22, 1, 2), 1, 0x200 << 14 | 2, HEAP], replies=4)
    process = s.run(guest)
    r = lambda name: s.results(guest, process, name)  # noqa: E731
    assert r("default_config") == [SUCCESS, header(0x1, 1, 2), SUCCESS, 0x200 << 14 | 2, HEAP]
    assert r("wifi") == [SUCCESS, header(0xD, 2, 0), SUCCESS, 0]
    assert r("status") == [SUCCESS, header(0xC, 2, 0), SUCCESS, 1]
    assert r("last_error")[2:] == [SUCCESS, 0]
    assert r("allow_ap")[:4] == [SUCCESS, header(0x22, 1, 2), SUCCESS, 0x200 << 14 | 2]


def test_ac_state_is_settable_from_python(make_guest):
    guest = make_guest("fastmem")
    guest.kernel.ac.state.status, guest.kernel.ac.state.wifi_status = 3, 1
    s = Script().connect_srv()
    s.get_service("srv_ac", "ac:u")
    s.call("wifi", "r8", [header(0xD, 0, 0)], replies=3)
    s.call("status", "r8", [header(0xC, 0, 0)], replies=3)
    process = s.run(guest)
    assert s.results(guest, process, "wifi")[3] == 1 and s.results(guest, process, "status")[3] == 3


def test_ndm_exclusive_state_and_daemons(make_guest):
    guest = make_guest("semifastmem")
    s = Script().connect_srv()
    s.get_service("srv_ndm", "ndm:u")
    s.call("enter", "r8", [header(0x1, 1, 2), 2, 0x20, 0], replies=2)  # NDM_EXCLUSIVE_STATE_LOCAL_COMMUNICATIONS
    s.call("get", "r8", [header(0x3, 0, 0)], replies=3)
    s.call("suspend", "r8", [header(0x6, 1, 0), 0xF], replies=2)
    s.call("query", "r8", [header(0xD, 1, 0), 1], replies=3)
    s.call("resume", "r8", [header(0x7, 1, 0), 0xF], replies=2)
    s.call("query_again", "r8", [header(0xD, 1, 0), 1], replies=3)
    s.call("leave", "r8", [header(0x2, 0, 2), 0x20, 0], replies=2)
    s.call("get_again", "r8", [header(0x3, 0, 0)], replies=3)
    process = s.run(guest)
    r = lambda name: s.results(guest, process, name)  # noqa: E731
    for name in ("enter", "suspend", "resume", "leave"):
        assert r(name)[2] == SUCCESS, name
    assert r("get")[2:] == [SUCCESS, 2] and r("get_again")[2:] == [SUCCESS, 0]
    assert r("query")[3] == 3 and r("query_again")[3] == 1  # suspended, then idle
