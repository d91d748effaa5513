"""ac:u's configuration commands and connection getters as libctru's ac.c calls them and Azahar
service/ac/ac.cpp answers: SetAllowApType, SetNetworkArea and SetRequestEulaVersion take the
0x200-byte acuConfig in static buffer 0 and hand it back in the client's static buffer 0;
GetConnectingProxyEnable (0x36) is false; IsConnected is true only once connected. Written for
mutants of kernel/services/ac.py (scripts/mutation.py)."""

from __future__ import annotations

import pytest

from tests.kernel.asm import INPUT, SUCCESS
from tests.services.script import HEAP, Script, header

CONFIG = INPUT + 0x10  # the client's acuConfig, in the data page
PATTERN = bytes(range(256)) * 2  # 0x200 bytes, none of the answers' zeros
STATIC0 = 0x200 << 14 | 0 << 10 | 2  # IPC_Desc_StaticBuffer(0x200, 0)


@pytest.mark.parametrize(("command", "words"), [(0x22, [1]), (0x25, [2]), (0x2D, [0, 0])],
                         ids=["SetAllowApType", "SetNetworkArea", "SetRequestEulaVersion"])
def test_config_commands_give_the_clients_config_back(make_guest, command, words):
    guest = make_guest("semifastmem")
    s = Script().connect_srv().heap()
    s.get_service("srv_ac", "ac:u")
    s.statics({0: (0x200, HEAP)})  # received apart from where it was sent, to tell the two
    s.call("set", "r8", [header(command, len(words), 2), *words, STATIC0, CONFIG], replies=4)
    process = guest.run_one(s.body, data=b"srv:\0".ljust(0x10, b"\0") + PATTERN)
    assert s.results(guest, process, "set") == [SUCCESS, header(command, 1, 2), SUCCESS, STATIC0, HEAP]
    assert process.space.mem.read(HEAP, 0x200) == PATTERN


def test_no_proxy_and_connected_only_when_on_the_internet(make_guest):
    guest = make_guest("semifastmem")
    s = Script().connect_srv()
    s.get_service("srv_ac", "ac:u")
    s.call("proxy", "r8", [header(0x36, 0, 0)], replies=3)
    s.call("connected", "r8", [header(0x3E, 1, 2), 0, 0x20, 0], replies=3)
    s.asm(f"ldr r0, =1\nstr r0, [r11, #{4 * 0x1FF}]\n").sleep(5_000_000)
    s.call("connected_later", "r8", [header(0x3E, 1, 2), 0, 0x20, 0], replies=3)
    process = s.spawn(guest)
    kernel = guest.kernel
    assert kernel.run(until=lambda: guest.words(process, 1, 0x1FF) == [1]).reason == "condition met"
    kernel.ac.state.status = 3  # connected to the internet (Azahar Status::STATUS_INTERNET)
    assert guest.run().reason == "all exited"
    assert s.results(guest, process, "proxy") == [SUCCESS, header(0x36, 2, 0), SUCCESS, 0]
    assert s.results(guest, process, "connected") == [SUCCESS, header(0x3E, 2, 0), SUCCESS, 0]
    assert s.results(guest, process, "connected_later")[2:] == [SUCCESS, 1]
