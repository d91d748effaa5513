"""ptm:u and ptm:sysm as libctru's ptmu.c / ptmsysm.c call them; values from kernel.ptm.state."""

from __future__ import annotations

import struct

import pytest

from tests.kernel.asm import BACKENDS, SUCCESS
from tests.services.script import HEAP, Script, header


@pytest.mark.parametrize("backend", BACKENDS)
def test_ptmu_getters_and_step_history(make_guest, backend):
    guest = make_guest(backend)
    state = guest.kernel.ptm.state
    state.battery_level, state.charging, state.adapter, state.steps_per_hour = 3, True, True, 250
    s = Script().connect_srv().heap()
    s.get_service("srv_ptm", "ptm:u")
    for name, cid in (("adapter", 0x5), ("shell", 0x6), ("battery", 0x7), ("charge", 0x8), ("pedometer", 0x9),
                      ("total", 0xC)):
        s.call(name, "r8", [header(cid, 0, 0)], replies=3)
    # PTMU_GetStepHistory(3, buf): libctru describes the buffer as `hours` bytes long.
    s.call("steps", "r8", [header(0xB, 3, 2), 3, 0x1000, 0, 6 << 4 | 0xC, HEAP], replies=4)
    s.call("sysm_only", "r8", [header(0x818, 1, 0), 0], replies=3)
    process = s.run(guest)
    r = lambda name: s.results(guest, process, name)  # noqa: E731
    assert r("adapter") == [SUCCESS, header(0x5, 2, 0), SUCCESS, 1]
    assert r("shell")[3] == 1 and r("battery")[3] == 3 and r("charge")[3] == 1
    assert r("pedometer")[3] == 0 and r("total")[3] == 0
    assert r("steps") == [SUCCESS, header(0xB, 1, 2), SUCCESS, 6 << 4 | 0xC, HEAP]
    assert struct.unpack("<3H", process.space.mem.read(HEAP, 6)) == (250, 250, 250)
    assert r("sysm_only")[2] == 0xD900182F  # ConfigureNew3DSCPU is ptm:sysm's


def test_ptm_sysm_configure_new_3ds_cpu_and_the_common_commands(make_guest):
    guest = make_guest("semifastmem")
    guest.kernel.ptm.state.shell_open = False
    s = Script().connect_srv()
    s.get_service("srv_sysm", "ptm:sysm")
    s.call("cpu", "r8", [header(0x818, 1, 0), 3], replies=2)
    s.call("new3ds", "r8", [header(0x40A, 0, 0)], replies=3)
    s.call("shell", "r8", [header(0x6, 0, 0)], replies=3)
    s.call("battery", "r8", [header(0x7, 0, 0)], replies=3)
    process = s.run(guest)
    assert s.results(guest, process, "cpu") == [SUCCESS, header(0x818, 1, 0), SUCCESS]
    assert s.results(guest, process, "new3ds")[2:] == [SUCCESS, 0]
    assert s.results(guest, process, "shell")[2:] == [SUCCESS, 0]
    assert s.results(guest, process, "battery")[2:] == [SUCCESS, 5]
