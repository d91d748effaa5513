"""APT at its edges, every request word as libctru's apt.c writes it: commands before Initialize and
after Finalize, GetAppletManInfo and GetAppletInfo (libctru APT_GetAppletManInfo / APT_GetAppletInfo:
position, requested, HOME menu and active app ids; program id low then high word, media type,
registered, loaded, attributes), CancelParameter's two checks (Azahar applet_manager.cpp
CancelParameter), the parameter event re-signalled while parameters remain, AppletUtility's output
(Azahar apt.cpp: zeros, but TryLockTransition (6) answers true), and a library applet hlemu does not
implement (PrepareToStartLibraryApplet, the capture request, StartLibraryApplet, CancelLibraryApplet:
Azahar applet_manager.cpp, hlemu's stand-in returns at once). Written for mutants of
kernel/services/apt.py (scripts/mutation.py)."""

from __future__ import annotations

from kernel.services.apt import _result
from tests.kernel.asm import SUCCESS, TIMEOUT
from tests.services.script import HEAP, Script, header

APP, HOME, NONE = 0x300, 0x101, 0
NO_DATA, NOT_FOUND, ALREADY_EXISTS, INVALID_APPLET_SLOT = 0xC8A0CFEF, 0xC880CFFA, 0xC8A0CFFC, 0xC8A0CC04
WAKEUP, REQUEST, RESPONSE, WAKEUP_EXIT, WAKEUP_PAUSE, WAKEUP_CANCEL = 1, 2, 3, 10, 11, 12
HOMEBUTTON, POWERBUTTON = 1, 8  # libctru APT_Signal
ATTR = 0x18  # aptMakeAppletAttr(APTPOS_APP, true, true): position 0, manual GPU (bit 3) and DSP (bit 4) rights
PARAM = HEAP  # the parameter receive buffer
APPLET = 0x402  # appletEd: hlemu's stand-in, which returns at once
EVENTS = 0x1F0  # result words the notification and parameter event handles are kept in


def test_apt_result_words_are_built_as_the_3ds_lays_them_out():
    """description | module << 10 | summary << 21 | level << 27, module 51 (Applet): Azahar result.h
    and applet_manager.cpp's NoData (1007, InvalidState 5, Status 25) and NotFound (1018, NotFound 4)."""
    assert _result(1007, 5, 25) == NO_DATA == 0xC8A0CFEF
    assert _result(1018, 4, 25) == NOT_FOUND == 0xC880CFFA
    assert _result(0, 0, 0) == 51 << 10


def apt() -> Script:
    """srv, a heap, one APT:U session in r8 (APT keeps its state per process, not per session)."""
    s = Script().connect_srv().heap()
    s.get_service("srv_apt", "APT:U")
    return s


def receive(s: Script, name: str, app_id: int = APP, command: int = 0xD) -> Script:
    s.statics({0: (0x100, PARAM)})
    return s.call(name, "r8", [header(command, 2, 0), app_id, 0x100], replies=5)


def jump_home(s: Script, name: str) -> Script:
    """JumpToHomeMenu: the stand-in HOME menu queues WAKEUP_PAUSE from HOME."""
    return s.call(name, "r8", [header(0x2C, 1, 4), 0, 0, 0, 0 << 14 | 2, 0], replies=2)


def test_commands_before_initialize_and_after_finalize(make_guest):
    guest = make_guest("semifastmem")
    s = apt()
    c = lambda name, words, replies: s.call(name, "r8", words, replies)  # noqa: E731
    c("lock", [header(0x1, 1, 0), 0], 6)
    c("enable_first", [header(0x3, 1, 0), ATTR], 2)
    c("finalize_first", [header(0x4, 1, 0), APP], 2)
    c("man_info_first", [header(0x5, 1, 0), 0], 6)
    c("inquire_first", [header(0xB, 1, 0), APP], 2)
    c("registered_first", [header(0x9, 1, 0), APP], 3)
    c("home_registered", [header(0x9, 1, 0), HOME], 3)
    c("info_first", [header(0x6, 1, 0), APP], 2)
    c("init", [header(0x2, 2, 0), APP, ATTR], 5)
    c("man_info", [header(0x5, 1, 0), 0], 6)
    c("man_info_other_position", [header(0x5, 1, 0), 1], 6)
    c("info", [header(0x6, 1, 0), APP], 8)
    c("info_other", [header(0x6, 1, 0), 0x301], 2)
    c("registered", [header(0x9, 1, 0), APP], 3)
    c("registered_other", [header(0x9, 1, 0), APPLET], 3)
    c("inquire_other", [header(0xB, 1, 0), 0x301], 2)
    c("finalize", [header(0x4, 1, 0), APP], 2)
    c("registered_after", [header(0x9, 1, 0), APP], 3)
    c("man_info_after", [header(0x5, 1, 0), 0], 6)
    c("enable_after", [header(0x3, 1, 0), ATTR], 2)
    c("init_again", [header(0x2, 2, 0), APP, ATTR], 2)
    c("enable", [header(0x3, 1, 0), ATTR], 2)
    process = s.run(guest)
    r = lambda name: s.results(guest, process, name)  # noqa: E731
    for name in ("enable_first", "finalize_first", "inquire_first", "info_first", "info_other", "inquire_other",
                 "enable_after"):
        assert r(name)[2] == NOT_FOUND, name
    # no active applet: position APTPOS_NONE (-1), nothing requested, HOME menu 0x101, none active
    assert r("man_info_first")[1:] == [header(0x5, 5, 0), SUCCESS, 0xFFFFFFFF, NONE, HOME, NONE]
    assert r("registered_first")[2:] == [SUCCESS, 0]
    assert r("home_registered")[2:] == [SUCCESS, 1]
    assert r("init")[2] == SUCCESS
    assert r("man_info")[2:] == [SUCCESS, 0, APP, HOME, APP]
    assert r("man_info_other_position")[2:] == [SUCCESS, 0, NONE, HOME, APP]
    # a homebrew process has no program id: 0 in both words; SD card, registered, loaded, the attributes
    assert r("info")[1:] == [header(0x6, 7, 0), SUCCESS, 0, 0, 1, 1, 1, ATTR]
    assert r("registered")[2:] == [SUCCESS, 1] and r("registered_other")[2:] == [SUCCESS, 0]
    assert r("finalize")[2] == SUCCESS
    assert r("registered_after")[2:] == [SUCCESS, 0]
    assert r("man_info_after")[2:] == [SUCCESS, 0xFFFFFFFF, NONE, HOME, NONE]
    assert r("init_again")[2] == SUCCESS and r("enable")[2] == SUCCESS
    assert guest.kernel.apt.applets[process.pid].registered


def test_get_applet_info_splits_a_program_id_into_low_and_high_words(make_guest):
    guest = make_guest("semifastmem")
    s = apt()
    s.call("lock", "r8", [header(0x1, 1, 0), 0], replies=6)
    s.call("init", "r8", [header(0x2, 2, 0), APP, 0], replies=2)
    s.call("info", "r8", [header(0x6, 1, 0), APP], replies=8)
    process = s.spawn(guest)
    process.program_id = 0x0004000000ABCD00  # as a title's would be
    assert guest.run().reason == "all exited"
    assert s.results(guest, process, "info")[2:] == [SUCCESS, 0x00ABCD00, 0x00040000, 1, 1, 1, 0]


def test_cancel_parameter_checks_sender_and_receiver_only_when_asked(make_guest):
    guest = make_guest("semifastmem")
    s = apt()
    cancel = lambda name, *words: s.call(name, "r8", [header(0xF, 4, 0), *words], replies=3)  # noqa: E731
    cancel("empty", 1, 0, 1, APP)
    s.call("init", "r8", [header(0x2, 2, 0), APP, 0], replies=2)  # queues WAKEUP from 0 to APP
    cancel("wrong_sender", 1, HOME, 0, 0)
    cancel("wrong_receiver", 1, 0, 1, 0x301)
    cancel("receiver_only", 0, 0x999, 1, APP)
    receive(s, "nothing_left")
    jump_home(s, "jump")  # queues WAKEUP_PAUSE from HOME to APP
    cancel("sender_only_wrong", 1, 0, 0, 0x999)
    cancel("sender_only", 1, HOME, 0, 0x999)
    receive(s, "nothing_again")
    process = s.run(guest)
    r = lambda name: s.results(guest, process, name)  # noqa: E731
    assert r("empty")[1:] == [header(0xF, 2, 0), SUCCESS, 0]
    assert [r(n)[3] for n in ("wrong_sender", "wrong_receiver", "receiver_only")] == [0, 0, 1]
    assert [r(n)[3] for n in ("sender_only_wrong", "sender_only")] == [0, 1]
    assert r("nothing_left")[2] == NO_DATA and r("nothing_again")[2] == NO_DATA


def test_parameters_come_in_order_and_the_event_is_signalled_while_any_remain(make_guest):
    guest = make_guest("semifastmem")
    s = apt()
    s.call("init", "r8", [header(0x2, 2, 0), APP, 0], replies=5)
    s.asm(f"ldr r0, [r11, #{4 * s.word('init', 5)}]\nstr r0, [r11, #{4 * EVENTS}]\n")  # the parameter event
    jump_home(s, "jump")
    s.wait("wait0", EVENTS, timeout_ns=0)
    receive(s, "glance_other", app_id=0x301, command=0xE)
    receive(s, "glance", command=0xE)
    s.wait("wait_glanced", EVENTS, timeout_ns=0)
    receive(s, "first")
    s.wait("wait1", EVENTS, timeout_ns=0)
    receive(s, "second")
    s.wait("wait2", EVENTS, timeout_ns=0)
    process = s.run(guest)
    r = lambda name: s.results(guest, process, name)  # noqa: E731
    assert r("wait0") == [SUCCESS]
    assert r("glance_other")[2] == NOT_FOUND
    assert r("glance")[2:5] == [SUCCESS, 0, WAKEUP]
    assert r("wait_glanced") == [TIMEOUT]  # a glance takes nothing: no new wake-up
    assert r("first")[2:5] == [SUCCESS, 0, WAKEUP]
    assert r("wait1") == [SUCCESS]  # one more is queued
    assert r("second")[2:5] == [SUCCESS, HOME, WAKEUP_PAUSE]
    assert r("wait2") == [TIMEOUT]


def test_applet_utility_answers_zeros_but_try_lock_transition_true(make_guest):
    guest = make_guest("semifastmem")
    s = apt()
    first = s.slot("bytes", 2)
    for i, utility in enumerate((7, 6)):
        s.asm(f"ldr r1, ={PARAM:#x}\nmov r0, #0xEE\nstrb r0, [r1]\n")
        s.statics({0: (1, PARAM)})
        s.call(f"utility{utility}", "r8", [header(0x4B, 3, 2), utility, 0, 1, 0 << 14 | 1 << 10 | 2, PARAM + 0x80],
               replies=5)
        s.asm(f"ldr r1, ={PARAM:#x}\nldrb r0, [r1]\nstr r0, [r11, #{4 * (first + i)}]\n")
    process = s.run(guest)
    for utility in (7, 6):
        assert s.results(guest, process, f"utility{utility}")[1:] == [header(0x4B, 2, 2), SUCCESS, 0,
                                                                     1 << 14 | 2, PARAM]
    assert s.results(guest, process, "bytes") == [0, 1]


def test_a_library_applet_hlemu_lacks_is_registered_answers_the_capture_request_and_returns(make_guest):
    guest = make_guest("semifastmem")
    s = apt()
    c = lambda name, words, replies=2: s.call(name, "r8", words, replies)  # noqa: E731
    c("init", [header(0x2, 2, 0), APP, 0])
    receive(s, "wakeup")
    c("cancel_none", [header(0x3B, 1, 0), 0])
    c("start_none", [header(0x1E, 2, 4), APPLET, 0, 0, 0, 0 << 14 | 2, 0])
    c("prepare", [header(0x18, 1, 0), APPLET])
    c("registered", [header(0x9, 1, 0), APPLET], 3)
    c("prepare_same", [header(0x18, 1, 0), APPLET])
    c("prepare_other", [header(0x18, 1, 0), 0x406])
    c("request_other", [header(0xC, 4, 4), APP, 0x406, REQUEST, 0, 0, 0, 0 << 14 | 2, 0])
    c("message", [header(0xC, 4, 4), APP, APPLET, 5, 0, 0, 0, 0 << 14 | 2, 0])
    c("home_message", [header(0xC, 4, 4), APP, HOME, 5, 0, 0, 0, 0 << 14 | 2, 0])  # the stand-in takes requests only
    c("request", [header(0xC, 4, 4), APP, APPLET, REQUEST, 0, 0, 0, 0 << 14 | 2, 0])
    receive(s, "response")
    c("start_other", [header(0x1E, 2, 4), 0x406, 0, 0, 0, 0 << 14 | 2, 0])
    s.asm(f"ldr r1, ={HEAP + 0x800:#x}\nldr r0, =0x44434241\nstr r0, [r1]\n")  # "ABCD"
    c("start", [header(0x1E, 2, 4), APPLET, 4, 0, 0, 4 << 14 | 2, HEAP + 0x800])
    receive(s, "exit")
    first = s.slot("exit_data", 1)
    s.asm(f"ldr r1, ={PARAM:#x}\nldr r0, [r1]\nstr r0, [r11, #{4 * first}]\n")
    c("registered_after", [header(0x9, 1, 0), APPLET], 3)
    c("prepare_again", [header(0x16, 1, 0), APPLET])  # PreloadLibraryApplet
    c("cancel", [header(0x3B, 1, 0), 0])
    receive(s, "cancelled")
    process = s.run(guest)
    r = lambda name: s.results(guest, process, name)  # noqa: E731
    assert r("wakeup")[2:5] == [SUCCESS, 0, WAKEUP]
    assert r("cancel_none")[2] == INVALID_APPLET_SLOT and r("start_none")[2] == NOT_FOUND
    assert r("prepare")[2] == SUCCESS and r("registered")[2:] == [SUCCESS, 1]
    assert r("prepare_same")[2] == SUCCESS and r("prepare_other")[2] == ALREADY_EXISTS
    assert r("request_other")[2] == NOT_FOUND and r("message")[2] == NOT_FOUND and r("home_message")[2] == NOT_FOUND
    assert r("request")[2] == SUCCESS
    assert r("response")[2:6] == [SUCCESS, APPLET, RESPONSE, 0]
    assert r("start_other")[2] == NOT_FOUND and r("start")[2] == SUCCESS
    assert r("exit")[2:6] == [SUCCESS, APPLET, WAKEUP_EXIT, 4]
    assert r("exit_data") == [0x44434241]
    assert r("registered_after")[2:] == [SUCCESS, 0]
    assert r("prepare_again")[2] == SUCCESS and r("cancel")[2] == SUCCESS
    assert r("cancelled")[2:6] == [SUCCESS, APPLET, WAKEUP_CANCEL, 0]


def test_apt_lets_go_of_a_finalized_applet_s_events_and_an_ended_process_s_objects(make_guest):
    """What APT holds (kernel.holds under "apt applet", the objects table's holders): Finalize
    gives back the two events, and an ended process's lock and events go when APT next looks."""
    guest = make_guest("semifastmem")
    kernel = guest.kernel
    s = apt()
    s.call("init", "r8", [header(0x2, 2, 0), APP, 0], replies=2)
    s.sleep(5_000_000)  # the test looks at APT's state here
    s.call("finalize", "r8", [header(0x4, 1, 0), APP], replies=2)
    s.call("init_again", "r8", [header(0x2, 2, 0), APP, 0], replies=2)
    process = s.spawn(guest)
    held = lambda obj: kernel.holds.get((obj.object_id, "apt applet"), 0)  # noqa: E731
    initialized = lambda: s.results(guest, process, "init")[1] == header(0x2, 1, 3)  # noqa: E731
    assert kernel.run(until=initialized).reason == "condition met"
    state = kernel.apt.applets[process.pid]
    first = [state.notification_event, state.parameter_event]
    assert [held(obj) for obj in first] == [1, 1]
    assert guest.run().reason == "all exited"
    assert s.results(guest, process, "finalize")[2] == SUCCESS and s.results(guest, process, "init_again")[2] == SUCCESS
    assert [held(obj) for obj in first] == [0, 0]
    objects = [state.lock, state.notification_event, state.parameter_event]
    assert [held(obj) for obj in objects] == [1, 1, 1]
    kernel.reap()
    assert kernel.apt.request_close() == 0
    assert process.pid not in kernel.apt.applets
    assert [held(obj) for obj in objects] == [0, 0, 0]


def test_buttons_reach_registered_applications_only_and_power_the_one_pressed_for(make_guest):
    """HOME goes to every registered application (not one that only took the lock, nor one that
    finalized); POWER for one process leaves the others alone."""
    guest = make_guest("semifastmem")
    kernel = guest.kernel
    scripts = [apt(), apt(), apt(), apt()]
    for i, s in enumerate(scripts):
        s.call("lock", "r8", [header(0x1, 1, 0), 0], replies=2)
        if i != 2:  # the third only takes the lock
            s.call("init", "r8", [header(0x2, 2, 0), APP, 0], replies=2)
        if i == 3:  # the fourth finalizes
            s.call("finalize", "r8", [header(0x4, 1, 0), APP], replies=2)
        s.asm(f"ldr r0, =1\nstr r0, [r11, #{4 * 0x1FF}]\n").sleep(20_000_000)
    processes = [s.spawn(guest, f"p{i}") for i, s in enumerate(scripts)]
    ready = lambda: all(guest.words(p, 1, 0x1FF) == [1] for p in processes)  # noqa: E731
    assert kernel.run(until=ready).reason == "condition met"
    assert kernel.apt.press_home() == 2
    assert kernel.apt.press_power(processes[1]) == 1
    assert [kernel.apt.applet(p).power_pending for p in processes] == [False, True, False, False]
    queued = [list(kernel.apt.applet(p).notifications) for p in processes]
    assert queued == [[HOMEBUTTON], [HOMEBUTTON, POWERBUTTON], [], []]


def test_get_shared_font_makes_the_block_once_and_hands_out_the_same_one(make_guest, monkeypatch):
    """GetSharedFont: the address to map the font at and a copy of its memory block's handle; every
    call the same block (the font itself is kernel/services/shared_font.py's, stubbed here)."""
    from hlemu.memory import MemoryPermission
    from kernel.objects.memory_block import MemoryBlock
    from kernel.services import apt as apt_module
    from kernel.services.shared_font import SharedFont

    guest = make_guest("semifastmem")
    kernel = guest.kernel
    made = []

    def fake_font(kernel_, process):
        frames = kernel.memory.phys.allocate("SYSTEM", 1, contiguous=True)
        block = MemoryBlock(kernel, frames, MemoryPermission.RW, MemoryPermission.R, owned=True, creator_pid=0,
                            name="test font")
        kernel.retain(block, "service memory")
        made.append(SharedFont(block, 0x18000000))
        return made[-1]

    monkeypatch.setattr(apt_module, "load_shared_font", fake_font)
    s = apt()
    s.call("first", "r8", [header(0x44, 0, 0)], replies=5)
    s.call("second", "r8", [header(0x44, 0, 0)], replies=5)
    process = s.spawn(guest)
    assert guest.run().reason == "all exited"
    first, second = s.results(guest, process, "first"), s.results(guest, process, "second")
    assert first[1:5] == [header(0x44, 2, 2), SUCCESS, 0x18000000, 0] and first[5] != 0
    assert second[1:5] == [header(0x44, 2, 2), SUCCESS, 0x18000000, 0] and second[5] not in (0, first[5])
    assert len(made) == 1


def test_the_power_off_dialog_answers_once_and_a_closed_application_is_unregistered(make_guest):
    """POWER: the next JumpToHomeMenu brings POWERBUTTON2 and SHUTDOWN, a later one nothing more;
    after CloseApplication the application is no longer registered."""
    guest = make_guest("semifastmem")
    kernel = guest.kernel
    s = apt()
    s.call("init", "r8", [header(0x2, 2, 0), APP, 0], replies=2)
    s.asm(f"ldr r0, =1\nstr r0, [r11, #{4 * 0x1FF}]\n").sleep(5_000_000)
    jump_home(s, "jump1")
    jump_home(s, "jump2")
    for i in range(4):
        s.call(f"signal{i}", "r8", [header(0xB, 1, 0), APP], replies=3)
    s.call("close", "r8", [header(0x27, 1, 4), 0, 0, 0, 0 << 14 | 2, 0], replies=2)
    s.call("registered", "r8", [header(0x9, 1, 0), APP], replies=3)
    process = s.spawn(guest)
    assert kernel.run(until=lambda: guest.words(process, 1, 0x1FF) == [1]).reason == "condition met"
    assert kernel.apt.press_power(process) == 1
    assert guest.run().reason == "all exited"
    assert s.results(guest, process, "close")[2] == SUCCESS
    assert s.results(guest, process, "registered")[2:] == [SUCCESS, 0]
    signals = [s.results(guest, process, f"signal{i}")[3] for i in range(4)]
    assert signals == [POWERBUTTON, 9, 7, 0]  # POWERBUTTON2, SHUTDOWN, then none
