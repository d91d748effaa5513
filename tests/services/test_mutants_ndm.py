"""ndm:u's state as libctru's ndm.c reads it and Azahar service/ndm/ndm_u.cpp keeps it: the
exclusive state starts NDM_EXCLUSIVE_STATE_NONE (0), the scan interval 30 (DEFAULT_SCAN_INTERVAL),
the default daemons NDM_DAEMON_MASK_DEFAULT (CEC | FRIENDS, 0x9), the state NDM_STATE_INITIAL (0);
SuspendDaemons and ResumeDaemons take the low four bits of their mask (& 0xF), one per daemon
(CEC 0, BOSS 1, NIM 2, FRIENDS 3), and QueryStatus a u8 daemon id, answering
NDM_DAEMON_STATUS_IDLE (1) or _SUSPENDED (3). Written for mutants of kernel/services/ndm.py
(scripts/mutation.py)."""

from __future__ import annotations

from tests.kernel.asm import SUCCESS
from tests.services.script import Script, header

IDLE, SUSPENDED = 1, 3


def ndm() -> Script:
    s = Script().connect_srv()
    s.get_service("srv_ndm", "ndm:u")
    return s


def query_all(s: Script, prefix: str) -> None:
    for daemon in range(4):
        s.call(f"{prefix}{daemon}", "r8", [header(0xD, 1, 0), daemon], replies=3)


def statuses(s: Script, guest, process, prefix: str) -> list[int]:
    return [s.results(guest, process, f"{prefix}{daemon}")[3] for daemon in range(4)]


def test_the_state_a_fresh_ndm_u_reports(make_guest):
    guest = make_guest("semifastmem")
    s = ndm()
    s.call("exclusive", "r8", [header(0x3, 0, 0)], replies=3)
    s.call("interval", "r8", [header(0x11, 0, 0)], replies=3)
    s.call("defaults", "r8", [header(0x16, 0, 0)], replies=3)
    s.call("state", "r8", [header(0xA, 0, 0)], replies=3)
    query_all(s, "q")
    process = s.run(guest)
    r = lambda name: s.results(guest, process, name)  # noqa: E731
    assert r("exclusive") == [SUCCESS, header(0x3, 2, 0), SUCCESS, 0]
    assert r("interval") == [SUCCESS, header(0x11, 2, 0), SUCCESS, 30]
    assert r("defaults") == [SUCCESS, header(0x16, 2, 0), SUCCESS, 0x9]
    assert r("state") == [SUCCESS, header(0xA, 2, 0), SUCCESS, 0]
    assert statuses(s, guest, process, "q") == [IDLE] * 4


def test_the_scan_interval_set_is_the_one_read(make_guest):
    guest = make_guest("semifastmem")
    s = ndm()
    s.call("set", "r8", [header(0x10, 1, 0), 45], replies=2)
    s.call("get", "r8", [header(0x11, 0, 0)], replies=3)
    process = s.run(guest)
    assert s.results(guest, process, "set")[2] == SUCCESS
    assert s.results(guest, process, "get")[2:] == [SUCCESS, 45]


def test_daemons_suspend_and_resume_bit_by_bit(make_guest):
    guest = make_guest("semifastmem")
    s = ndm()
    s.call("suspend_boss", "r8", [header(0x6, 1, 0), 0x12], replies=2)  # bit 4 is no daemon
    query_all(s, "a")
    s.call("suspend_cec", "r8", [header(0x6, 1, 0), 0x1], replies=2)
    query_all(s, "b")
    s.call("resume_boss", "r8", [header(0x7, 1, 0), 0x2], replies=2)
    query_all(s, "c")
    s.call("boss_as_u8", "r8", [header(0xD, 1, 0), 0x101], replies=3)  # only the low byte is the id
    s.call("cec_as_u8", "r8", [header(0xD, 1, 0), 0x100], replies=3)
    process = s.run(guest)
    for name in ("suspend_boss", "suspend_cec", "resume_boss"):
        assert s.results(guest, process, name)[2] == SUCCESS, name
    assert statuses(s, guest, process, "a") == [IDLE, SUSPENDED, IDLE, IDLE]
    assert statuses(s, guest, process, "b") == [SUSPENDED, SUSPENDED, IDLE, IDLE]
    assert statuses(s, guest, process, "c") == [SUSPENDED, IDLE, IDLE, IDLE]
    assert s.results(guest, process, "boss_as_u8")[2:] == [SUCCESS, IDLE]
    assert s.results(guest, process, "cec_as_u8")[2:] == [SUCCESS, SUSPENDED]
