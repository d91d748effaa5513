"""APT as libctru 2.x drives it (libctru source/services/apt.c: aptInit, aptEventHandler,
aptWaitForWakeUp, aptExit), every request word as libctru writes it.

libctru's aptSendCommand waits on the lock mutex, opens a session with GetServiceHandle,
sends, closes the session and releases the mutex, for every command; the guests here do
the same. Result codes are spelled out (Citra/Azahar apt/applet_manager.cpp, result.h).
"""

from __future__ import annotations

import logging

import pytest

from tests.kernel.asm import BACKENDS, SUCCESS
from tests.services.script import HEAP, Script, header

APP = 0x300  # APPID_APPLICATION, envGetAptAppId()
ATTR = 0  # aptMakeAppletAttr(APTPOS_APP, false, false)
NO_DATA = 0xC8A0CFEF  # APT "no data": nothing queued
WAKEUP, RESPONSE, WAKEUP_PAUSE = 1, 3, 11
HOMEBUTTON, SHUTDOWN, POWERBUTTON, POWERBUTTON2, ORDERTOCLOSE = 1, 7, 8, 9, 11
LOCK, EVENTS = 0x1F0, 0x1F1  # result words the guests keep the lock and the two events in
PARAM_BUFFER = HEAP  # aptParameters (0x1000 bytes)
UTILITY_IN, UTILITY_OUT = HEAP + 0x800, HEAP + 0x900


def apt_command(s: Script, name: str, words: list[int], replies: int = 4, service: str = "APT:S",
                statics: dict[int, tuple[int, int]] | None = None) -> Script:
    """aptSendCommand: lock, GetServiceHandle, send, CloseHandle, unlock."""
    locked = "lock" in s.slots
    if locked:
        s.asm(f"ldr r0, [r11, #{4 * LOCK}]\nmvn r2, #0\nmvn r3, #0\nsvc 0x24   @ WaitSynchronization1(lock)\n")
    s.get_service(f"{name}/srv", service)
    if statics:
        s.statics(statics)
    s.call(name, "r8", words, replies).close_r8()
    if locked:
        s.asm(f"ldr r0, [r11, #{4 * LOCK}]\nsvc 0x14   @ ReleaseMutex(lock)\n")
    return s


def keep(s: Script, name: str, index: int, word: int) -> Script:
    """Copy reply word ``index`` of call ``name`` to result word ``word`` (a handle to keep)."""
    return s.asm(f"ldr r0, [r11, #{4 * s.word(name, index + 1)}]\nstr r0, [r11, #{4 * word}]\n")


def startup(s: Script, service: str = "APT:S") -> Script:
    """aptInit: GetLockHandle, Initialize, Enable, then aptWaitForWakeUp(TR_ENABLE)."""
    s.connect_srv().heap()
    apt_command(s, "get_lock_handle", [header(0x1, 1, 0), 0], replies=6, service=service)
    keep(s, "get_lock_handle", 5, LOCK)
    s.slots["lock"] = (LOCK, 1)
    apt_command(s, "initialize", [header(0x2, 2, 0), APP, ATTR], replies=5, service=service)
    keep(s, "initialize", 3, EVENTS).asm(f"ldr r0, [r11, #{4 * s.word('initialize', 5)}]\n"
                                         f"str r0, [r11, #{4 * (EVENTS + 1)}]\n")
    apt_command(s, "enable", [header(0x3, 1, 0), ATTR], replies=2, service=service)
    apt_command(s, "notify_to_wait", [header(0x43, 1, 0), APP], replies=2, service=service)
    # The event thread: the parameter event, GlanceParameter; then aptReceiveParameter.
    s.wait("wait_parameter", EVENTS + 1, timeout_ns=1_000_000)
    parameter = {0: (0x1000, PARAM_BUFFER)}
    apt_command(s, "glance", [header(0xE, 2, 0), APP, 0x1000], replies=9, service=service, statics=parameter)
    apt_command(s, "receive", [header(0xD, 2, 0), APP, 0x1000], replies=9, service=service, statics=parameter)
    apt_command(s, "glance_again", [header(0xE, 2, 0), APP, 0x1000], replies=2, service=service,
                statics=parameter)
    # After the wake-up: APT_UnlockTransition(0x10), APT_SleepIfShellClosed().
    s.asm(f"ldr r1, ={UTILITY_IN:#x}\nmov r0, #0x10\nstr r0, [r1]\n")
    out = {0: (1, UTILITY_OUT)}
    apt_command(s, "unlock_transition", [header(0x4B, 3, 2), 7, 4, 1, 4 << 14 | 1 << 10 | 2, UTILITY_IN],
                replies=5, service=service, statics=out)
    apt_command(s, "sleep_if_shell_closed", [header(0x4B, 3, 2), 4, 1, 1, 1 << 14 | 1 << 10 | 2, UTILITY_IN],
                replies=5, service=service, statics=out)
    return apt_command(s, "inquire", [header(0xB, 1, 0), APP], replies=3, service=service)


@pytest.mark.parametrize("backend", BACKENDS)
def test_libctru_2_start_up_sequence(make_guest, backend):
    guest = make_guest(backend)
    s = startup(Script())
    process = s.run(guest)
    r = lambda name: s.results(guest, process, name)  # noqa: E731
    assert r("register_client")[:1] == [SUCCESS]
    # GetLockHandle: result, attributes, state, copy descriptor, the mutex at cmdbuf[5].
    lock = r("get_lock_handle")
    assert lock[:5] == [SUCCESS, header(0x1, 3, 2), SUCCESS, ATTR, 0] and lock[5] == 0
    assert lock[6] != 0
    init = r("initialize")
    assert init[:4] == [SUCCESS, header(0x2, 1, 3), SUCCESS, 0x04000000] and init[4] and init[5]
    assert r("enable") == [SUCCESS, header(0x3, 1, 0), SUCCESS]
    assert r("notify_to_wait") == [SUCCESS, header(0x43, 1, 0), SUCCESS]
    assert r("wait_parameter") == [SUCCESS]  # Initialize signalled the parameter event
    for name in ("glance", "receive"):  # sender 0, WAKEUP, no data; a null handle; the buffer
        assert r(name) == [SUCCESS, header(r(name)[1] >> 16, 4, 4), SUCCESS, 0, WAKEUP, 0,
                           0x10, 0, 0x1000 << 14 | 2, PARAM_BUFFER], (name, [hex(w) for w in r(name)])
    assert r("glance")[1] >> 16 == 0xE and r("receive")[1] >> 16 == 0xD
    assert r("glance_again") == [SUCCESS, header(0xE, 1, 0), NO_DATA]  # Receive consumed it
    for name in ("unlock_transition", "sleep_if_shell_closed"):
        assert r(name) == [SUCCESS, header(0x4B, 2, 2), SUCCESS, 0, 1 << 14 | 2, UTILITY_OUT]
    assert r("inquire") == [SUCCESS, header(0xB, 2, 0), SUCCESS, 0]
    assert guest.kernel.apt.applets[process.pid].registered


@pytest.mark.parametrize("service", ["APT:U", "APT:A", "APT:S"])
def test_every_apt_name_is_reachable_through_srv_and_shares_one_state(make_guest, service):
    guest = make_guest("semifastmem")
    s = Script().connect_srv()
    s.get_service("get", service)
    s.call("check", "r8", [header(0x102, 0, 0)], replies=3).close_r8()
    other = {"APT:S": "APT:U"}.get(service, "APT:S")
    apt_command(s, "get_lock_handle", [header(0x1, 1, 0), 0], replies=6, service=service)
    apt_command(s, "initialize", [header(0x2, 2, 0), APP, ATTR], replies=3, service=service)
    apt_command(s, "initialize_again", [header(0x2, 2, 0), APP, ATTR], replies=3, service=other)
    process = s.run(guest)
    assert s.results(guest, process, "get")[:3] == [SUCCESS, header(0x5, 1, 2), SUCCESS]
    assert s.results(guest, process, "check") == [SUCCESS, header(0x102, 2, 0), SUCCESS, 0]  # Old 3DS
    assert s.results(guest, process, "initialize")[2] == SUCCESS
    assert s.results(guest, process, "initialize_again")[2] == 0xC8A0CFFC  # the same applet, already there


def test_check_new_3ds_both_commands_and_the_new_3ds_setting(make_guest):
    guest = make_guest("fastmem")
    s = Script().connect_srv()
    s.get_service("get", "APT:U")
    s.call("system", "r8", [header(0x102, 0, 0)], replies=3)
    s.call("app", "r8", [header(0x101, 0, 0)], replies=3)
    s.call("bad_header", "r8", [header(0x102, 1, 0), 0], replies=3)
    guest.kernel.apt.new_3ds = True
    process = s.run(guest)
    assert s.results(guest, process, "system") == [SUCCESS, header(0x102, 2, 0), SUCCESS, 1]
    assert s.results(guest, process, "app") == [SUCCESS, header(0x101, 2, 0), SUCCESS, 1]
    assert s.results(guest, process, "bad_header")[1:3] == [0x40, 0xD9001830]


def event_loop(s: Script, rounds: int) -> Script:
    """aptEventHandler, ``rounds`` times: wait on the notification event, InquireNotification."""
    for i in range(rounds):
        s.wait(f"wait{i}", EVENTS, timeout_ns=50_000_000)
        apt_command(s, f"signal{i}", [header(0xB, 1, 0), APP], replies=3)
    return s


@pytest.mark.parametrize("backend", BACKENDS)
def test_home_and_close_requests_from_python_reach_inquire_notification(make_guest, backend):
    guest = make_guest(backend)
    s = startup(Script())
    s.asm(f"ldr r0, =1\nstr r0, [r11, #{4 * 0x1FF}]\n")  # ready: the test presses buttons now
    s.sleep(5_000_000)
    event_loop(s, 3)
    process = s.spawn(guest)
    kernel = guest.kernel
    assert kernel.run(until=lambda: guest.words(process, 1, 0x1FF) == [1]).reason == "condition met"
    assert kernel.apt.press_home() == 1
    assert kernel.apt.request_close(process) == 1
    assert guest.run().reason == "all exited", guest.text()
    for i, signal in enumerate((HOMEBUTTON, ORDERTOCLOSE, 0)):
        assert s.results(guest, process, f"signal{i}") == [SUCCESS, header(0xB, 2, 0), SUCCESS, signal], i
    assert s.results(guest, process, "wait0") == [SUCCESS]
    assert s.results(guest, process, "wait1") == [SUCCESS]  # re-signalled: a second one was queued
    assert s.results(guest, process, "wait2") == [0x09401BFE]  # timeout: nothing more


def test_a_power_press_goes_through_the_stand_in_home_menu_and_ends_in_shutdown(make_guest):
    """aptJumpToHomeMenu: GetAppletManInfo, PrepareToJumpToHomeMenu, IsRegistered(HOME),
    SendParameter(SYSAPPLET_REQUEST) -> RESPONSE, SendCaptureBufferInfo, JumpToHomeMenu ->
    WAKEUP_PAUSE; the HOME menu's power-off dialog answers POWERBUTTON2 and SHUTDOWN."""
    guest = make_guest("semifastmem")
    s = startup(Script())
    s.asm(f"ldr r0, =1\nstr r0, [r11, #{4 * 0x1FF}]\n").sleep(5_000_000)
    event_loop(s, 1)
    apt_command(s, "man_info", [header(0x5, 1, 0), 0xFFFFFFFF], replies=6)
    apt_command(s, "prepare_jump", [header(0x2B, 0, 0)], replies=2)
    apt_command(s, "is_registered", [header(0x9, 1, 0), 0x101], replies=3)
    capture = HEAP + 0xA00
    apt_command(s, "send", [header(0xC, 4, 4), APP, 0x101, 16, 0x20, 0, 0, 0x20 << 14 | 2, capture], replies=2)
    parameter = {0: (0x1000, PARAM_BUFFER)}
    apt_command(s, "response", [header(0xD, 2, 0), APP, 0x1000], replies=5, statics=parameter)
    apt_command(s, "capture_info", [header(0x40, 1, 2), 0x20, 0x20 << 14 | 2, capture], replies=2)
    apt_command(s, "jump", [header(0x2C, 1, 4), 0, 0, 0, 0 << 14 | 2, 0], replies=2)
    apt_command(s, "wakeup", [header(0xD, 2, 0), APP, 0x1000], replies=5, statics=parameter)
    event_loop(s, 0)
    for i in (1, 2):
        apt_command(s, f"after{i}", [header(0xB, 1, 0), APP], replies=3)
    apt_command(s, "prepare_close", [header(0x22, 1, 0), 1], replies=2)
    apt_command(s, "close", [header(0x27, 1, 4), 0, 0, 0, 0 << 14 | 2, 0], replies=2)
    process = s.spawn(guest)
    kernel = guest.kernel
    assert kernel.run(until=lambda: guest.words(process, 1, 0x1FF) == [1]).reason == "condition met"
    assert kernel.apt.press_power() == 1
    assert guest.run().reason == "all exited", guest.text()
    r = lambda name: s.results(guest, process, name)  # noqa: E731
    assert r("signal0")[3] == POWERBUTTON
    assert r("man_info")[2:6] == [SUCCESS, 0, 0, 0x101]
    assert r("prepare_jump")[2] == SUCCESS and r("is_registered")[2:] == [SUCCESS, 1]
    assert r("send")[2] == SUCCESS and r("capture_info")[2] == SUCCESS and r("jump")[2] == SUCCESS
    assert r("response")[2:] == [SUCCESS, 0x101, RESPONSE, 0]
    assert r("wakeup")[2:] == [SUCCESS, 0x101, WAKEUP_PAUSE, 0]
    assert [r("after1")[3], r("after2")[3]] == [POWERBUTTON2, SHUTDOWN]
    assert r("prepare_close")[2] == SUCCESS and r("close")[2] == SUCCESS


def test_applet_utility_try_lock_transition_and_get_applet_info(make_guest):
    guest = make_guest("fastmem")
    s = startup(Script())
    out = {0: (1, UTILITY_OUT)}
    apt_command(s, "try_lock", [header(0x4B, 3, 2), 6, 4, 1, 4 << 14 | 1 << 10 | 2, UTILITY_IN],
                replies=5, statics=out)
    s.asm(f"ldr r1, ={UTILITY_OUT:#x}\nldrb r0, [r1]\nstr r0, [r11, #{4 * 0x1FE}]\n")
    apt_command(s, "info", [header(0x6, 1, 0), APP], replies=8)
    apt_command(s, "info_home", [header(0x6, 1, 0), 0x101], replies=2)
    process = s.run(guest)
    assert s.results(guest, process, "try_lock")[2:4] == [SUCCESS, 0]
    assert guest.words(process, 1, 0x1FE) == [1]  # TryLockTransition: it succeeded
    info = s.results(guest, process, "info")
    assert info[1:3] == [header(0x6, 7, 0), SUCCESS] and info[5:9] == [1, 1, 1, ATTR]
    assert s.results(guest, process, "info_home")[2] == 0xC880CFFA  # not registered


def test_each_process_has_its_own_apt_state(make_guest):
    guest = make_guest("semifastmem")
    s1, s2 = startup(Script()), startup(Script())
    s1.asm(f"ldr r0, =1\nstr r0, [r11, #{4 * 0x1FF}]\n").sleep(5_000_000)
    s2.asm(f"ldr r0, =1\nstr r0, [r11, #{4 * 0x1FF}]\n").sleep(5_000_000)
    event_loop(s1, 1)
    event_loop(s2, 1)
    p1, p2 = s1.spawn(guest, "one"), s2.spawn(guest, "two")
    kernel = guest.kernel
    ready = lambda: guest.words(p1, 1, 0x1FF) == [1] and guest.words(p2, 1, 0x1FF) == [1]  # noqa: E731
    assert kernel.run(until=ready).reason == "condition met"
    assert kernel.apt.request_close(p2) == 1
    assert guest.run().reason == "all exited", guest.text()
    for s, p in ((s1, p1), (s2, p2)):  # both woke from their own WAKEUP
        assert s.results(guest, p, "receive")[2:5] == [SUCCESS, 0, WAKEUP]
    assert s1.results(guest, p1, "wait0") == [0x09401BFE] and s1.results(guest, p1, "signal0")[3] == 0
    assert s2.results(guest, p2, "wait0") == [SUCCESS] and s2.results(guest, p2, "signal0")[3] == ORDERTOCLOSE
    kernel.reap()
    assert kernel.apt.request_close() == 0  # ended processes are forgotten


def test_sizes_larger_than_the_clients_buffers_are_cut_to_them(make_guest):
    """A hostile size word (4 GiB) gets a reply the size of the receive buffer, not a crash."""
    guest = make_guest("semifastmem")
    s = Script().connect_srv().heap()
    apt_command(s, "get_lock_handle", [header(0x1, 1, 0), 0], replies=6)
    apt_command(s, "initialize", [header(0x2, 2, 0), APP, ATTR], replies=3)
    apt_command(s, "glance", [header(0xE, 2, 0), APP, 0xFFFFFFFF], replies=9, statics={0: (0x100, PARAM_BUFFER)})
    apt_command(s, "utility", [header(0x4B, 3, 2), 6, 0, 0x7FFFFFFF, 0 << 14 | 1 << 10 | 2, 0], replies=5,
                statics={0: (0, UTILITY_OUT)})
    process = s.run(guest)
    assert s.results(guest, process, "glance")[2:] == [SUCCESS, 0, WAKEUP, 0, 0x10, 0, 0x100 << 14 | 2, PARAM_BUFFER]
    assert s.results(guest, process, "utility")[2:] == [SUCCESS, 0, 0 << 14 | 2, UTILITY_OUT]


def test_the_app_cpu_time_limit_is_kept_and_given_back(make_guest, caplog):
    """APT_SetAppCpuTimeLimit(30) then APT_GetAppCpuTimeLimit, as libctru sends them (both
    with the leading 1): the percentage comes back; before any set it reads 0 (Citra). The
    log says it is a stub, with the percentage (and a first word other than 1)."""
    guest = make_guest("semifastmem")
    s = Script().connect_srv()
    s.get_service("get", "APT:U")
    s.call("before", "r8", [header(0x50, 1, 0), 1], replies=3)
    s.call("set", "r8", [header(0x4F, 2, 0), 1, 30], replies=2)
    s.call("after", "r8", [header(0x50, 1, 0), 1], replies=3)
    s.call("odd", "r8", [header(0x4F, 2, 0), 2, 45], replies=2)
    with caplog.at_level(logging.INFO, logger="kernel.services"):
        process = s.run(guest)
    assert s.results(guest, process, "before") == [SUCCESS, header(0x50, 2, 0), SUCCESS, 0]
    assert s.results(guest, process, "set") == [SUCCESS, header(0x4F, 1, 0), SUCCESS]
    assert s.results(guest, process, "after") == [SUCCESS, header(0x50, 2, 0), SUCCESS, 30]
    stubs = [r.getMessage() for r in caplog.records if "SetAppCpuTimeLimit" in r.getMessage()]
    assert len(stubs) == 2 and "SetAppCpuTimeLimit (30%) from" in stubs[0] and "(STUBBED)" in stubs[0]
    assert "SetAppCpuTimeLimit (45%; first word 2, not 1) from" in stubs[1]
