"""The software keyboard applet (kernel/applets/swkbd.py) driven by the swkbd guest program,
whose three keyboards make the IPC sequence libctru's swkbdInputText makes; the answers come
as ``--input`` gives them (``kernel.apt.keyboard``), and the program prints what it got back.
"""

from __future__ import annotations

import pytest

from hlemu.guest import program_path
from hlemu.run import RunOptions, parse_input_script, parse_keyboard_answers, queue_keyboard_answers, run_programs
from kernel.applets import ReturningApplet
from kernel.applets.swkbd import (
    D0_CLICK,
    D1_CLICK0,
    D1_CLICK1,
    D2_CLICK1,
    D2_CLICK2,
    FILTER_AT,
    FILTER_BACKSLASH,
    FILTER_DIGITS,
    FILTER_PERCENT,
    FIXEDLEN,
    LEFT,
    MIDDLE,
    NOTBLANK,
    NOTEMPTY,
    NOTEMPTY_NOTBLANK,
    RIGHT,
    KeyboardAnswer,
    check_text,
    cut_to_units,
    result_code,
)
from kernel.kernel import Kernel

LIMIT = 100_000_000
KB = "[hlemu] swkbd (0x401): "


def run_swkbd(script: str, backend: str = "semifastmem", frontend=None) -> list[str]:
    lines: list[str] = []
    kernel = Kernel(backend=backend, output=lambda _p, line: lines.append(line))
    try:
        kernel.apt.keyboard.frontend = frontend
        queue_keyboard_answers(kernel, parse_keyboard_answers(script))
        process = kernel.spawn(program_path("swkbd"))
        result = kernel.run(max_instructions=LIMIT)
        assert (result.reason, process.exit_code) == ("all exited", 0), lines
    finally:
        kernel.close()
    assert lines[0] == "swkbd: start" and lines[-1] == "swkbd: exiting with 0", lines
    return lines[1:-1]


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
def test_scripted_answers_come_back_as_text_and_buttons(backend):
    lines = run_swkbd('0 TEXT "Ada"\n0 TEXT "x1"\n0 TEXT "bad"\n0 TEXT "good"\n', backend)
    assert lines == [
        'name: button 2 (right), result 2, 3 units, "Ada"',
        'code: button 2 (right), result 0, 2 units, "x1"',
        'callback: "bad" refused',
        KB + "the filter callback refused the text: 'No bad words.'",
        'callback: "good" ok',
        'word: button 2 (right), result 5, 4 units, "good"',
    ]


def test_cancel_presses_the_left_button_and_returns_no_text():
    lines = run_swkbd('0 CANCEL\n0 TEXT "ok"\n0 CANCEL\n')
    assert lines == [
        'name: button 0 (left), result 1, 0 units, ""',
        'code: button 2 (right), result 0, 2 units, "ok"',
        'word: button 0 (left), result 3, 0 units, ""',
    ]


def test_text_longer_than_max_text_len_is_cut_to_it():
    lines = run_swkbd('0 TEXT "A very long name indeed"\n0 TEXT "abcdefghijk"\n0 CANCEL\n')
    assert lines[:4] == [
        KB + "answer 'A very long name indeed' is longer than 16 characters: cut to 'A very long name'",
        'name: button 2 (right), result 2, 16 units, "A very long name"',
        KB + "answer 'abcdefghijk' is longer than 8 characters: cut to 'abcdefgh'",
        'code: button 2 (right), result 0, 8 units, "abcdefgh"',
    ]


def test_refused_answers_are_logged_and_the_next_one_is_taken():
    script = '0 TEXT ""\n0 TEXT "   "\n0 TEXT "Bo"\n0 TEXT "a@b"\n0 TEXT "50%"\n0 TEXT "x123"\n0 TEXT "x12"\n0 CANCEL\n'
    assert run_swkbd(script) == [
        KB + "answer '' (script) refused: the text may not be empty",
        KB + "answer '   ' (script) refused: the text may not be blank",
        'name: button 2 (right), result 2, 2 units, "Bo"',
        KB + "answer 'a@b' (script) refused: no '@' allowed",
        KB + "answer '50%' (script) refused: no '%' allowed",
        KB + "answer 'x123' (script) refused: at most 2 digits",
        'code: button 2 (right), result 0, 3 units, "x12"',
        'word: button 0 (left), result 3, 0 units, ""',
    ]


def test_a_button_the_keyboard_lacks_is_refused():
    lines = run_swkbd('0 TEXT "Al"\n0 CANCEL\n0 TEXT "x" MIDDLE\n0 TEXT "y"\n0 TEXT "maybe" MIDDLE\n')
    assert lines == [
        'name: button 2 (right), result 2, 2 units, "Al"',
        KB + "answer '' (script) refused: this keyboard has no left button",
        KB + "answer 'x' (script) refused: this keyboard has no middle button",
        'code: button 2 (right), result 0, 1 units, "y"',
        'callback: "maybe" ok',
        'word: button 1 (middle), result 4, 5 units, "maybe"',
    ]


def test_without_answers_the_keyboards_cancel_or_confirm_their_initial_text():
    assert run_swkbd("") == [
        KB + 'no answer queued (--input FRAME TEXT "..." or FRAME CANCEL): cancelled',
        'name: button 0 (left), result 1, 0 units, ""',
        KB + "no answer queued (--input FRAME TEXT \"...\"): confirmed the initial text 'hlemu'",
        'code: button 2 (right), result 0, 5 units, "hlemu"',
        KB + 'no answer queued (--input FRAME TEXT "..." or FRAME CANCEL): cancelled',
        'word: button 0 (left), result 3, 0 units, ""',
    ]


def test_a_callback_that_closes_the_keyboard_gives_banned_input():
    lines = run_swkbd('0 CANCEL\n0 TEXT "z"\n0 TEXT "please stop"\n')
    assert lines[-3:] == [
        'callback: "please stop" closes the keyboard',
        KB + "the filter callback closed the keyboard: 'Stopped.'",
        'word: button 3 (none), result 30, 0 units, ""',
    ]


def test_non_ascii_text_goes_through_utf16_both_ways():
    lines = run_swkbd('0 TEXT "J\\u00fcrgen \\u2603"\n0 TEXT "\\ud83d\\ude00"\n0 CANCEL\n')
    assert lines[:2] == ['name: button 2 (right), result 2, 8 units, "Jürgen ☃"',
                         'code: button 2 (right), result 0, 2 units, "😀"']


def test_a_frontend_is_asked_when_no_answer_is_queued_and_sees_the_request():
    asked = []

    def frontend(request):
        asked.append((request.hint, request.initial_text, request.max_length, request.buttons, request.error))
        return None  # no answer: the default

    lines = run_swkbd('0 TEXT "Q"\n', frontend=frontend)
    assert lines[0] == 'name: button 2 (right), result 2, 1 units, "Q"'  # the queued answer comes first
    assert asked == [("", "hlemu", 8, ["OK"], ""), ("", "", 32, ["Back", "I Forgot", "OK"], "")]


def test_the_frontend_is_asked_again_with_the_reason_after_a_refusal():
    asked = []

    def frontend(request):
        asked.append((request.hint, request.error))
        if request.max_length == 16:
            return KeyboardAnswer.confirm("Eve" if request.error else "", "dialog")
        return KeyboardAnswer.confirm("hi", "dialog") if request.max_length == 8 else KeyboardAnswer.cancel("dialog")

    lines = run_swkbd("", frontend=frontend)
    assert asked[:2] == [("Your name", ""), ("Your name", "the text may not be empty")]
    assert lines == [
        KB + "answer '' (dialog) refused: the text may not be empty",
        'name: button 2 (right), result 2, 3 units, "Eve"',
        'code: button 2 (right), result 0, 2 units, "hi"',
        'word: button 0 (left), result 3, 0 units, ""',
    ]


def test_hlemu_run_input_answers_the_keyboard(tmp_path, capsys):
    script = tmp_path / "answers.txt"
    script.write_text('# answers for swkbd\n0 TEXT "Ada # not a comment"  # a comment\n0 TEXT "x1"\n0 CANCEL\n')
    status = run_programs(RunOptions(programs=["swkbd"], input_script=str(script), backend="semifastmem"))
    out = capsys.readouterr().out
    assert status == 0
    assert '[swkbd:32] name: button 2 (right), result 2, 16 units, "Ada # not a comm"' in out
    assert '[swkbd:32] code: button 2 (right), result 0, 2 units, "x1"' in out
    assert '[swkbd:32] word: button 0 (left), result 3, 0 units, ""' in out


# -- the --input syntax -------------------------------------------------------------------------
def test_keyboard_lines_parse_and_pad_lines_ignore_them():
    text = '0 A\n3 TEXT "hi"\n2 cancel\n5 text "a\\"b" middle # c\n7 TEXT"x"\n9 none\n'
    answers = [(f, a.text, a.button) for f, a in parse_keyboard_answers(text)]
    assert answers == [(2, "", LEFT), (3, "hi", RIGHT), (5, 'a"b', MIDDLE), (7, "x", RIGHT)]
    assert parse_input_script(text) == [(0, 1, (0, 0)), (9, 0, (0, 0))]


@pytest.mark.parametrize(("line", "message"), [
    ("0 TEXT hello", 'TEXT wants a quoted string, e.g. TEXT "hello"'),
    ('0 TEXT "a" UP', "after TEXT's string only LEFT, MIDDLE or RIGHT"),
    ('0 TEXT "a', 'TEXT wants a quoted string'),
    ("0 CANCEL now", "CANCEL takes nothing after it"),
    ('x TEXT "a"', "'x' is not a frame number"),
])
def test_bad_keyboard_lines_name_the_line(line, message):
    with pytest.raises(ValueError, match="input script line 2: " + message.replace("(", r"\(")):
        parse_keyboard_answers("0 A\n" + line)


# -- the keyboard's rules --------------------------------------------------------------------------
def test_result_codes_follow_libctru_s_button_mapping():
    assert result_code(0, RIGHT) == D0_CLICK
    assert (result_code(1, LEFT), result_code(1, RIGHT)) == (D1_CLICK0, D1_CLICK1)
    assert (result_code(2, MIDDLE), result_code(2, RIGHT)) == (D2_CLICK1, D2_CLICK2)


@pytest.mark.parametrize(("text", "valid", "flags", "digits", "limit", "problem"), [
    ("", NOTEMPTY, 0, 0, 10, "empty"),
    (" ", NOTEMPTY, 0, 0, 10, ""),
    (" ", NOTBLANK, 0, 0, 10, "blank"),
    ("", NOTBLANK, 0, 0, 10, ""),
    ("", NOTEMPTY_NOTBLANK, 0, 0, 10, "empty"),
    ("abc", FIXEDLEN, 0, 0, 4, "4 characters"),
    ("abcd", FIXEDLEN, 0, 0, 4, ""),
    ("a1b2c3", 0, FILTER_DIGITS, 2, 10, "at most 2 digits"),
    ("a1b2", 0, FILTER_DIGITS, 2, 10, ""),
    ("a\\b", 0, FILTER_BACKSLASH, 0, 10, "no '\\' allowed"),
    ("100%", 0, FILTER_AT, 0, 10, ""),
    ("100%", 0, FILTER_PERCENT, 0, 10, "'%'"),
])
def test_check_text(text, valid, flags, digits, limit, problem):
    found = check_text(text, valid, flags, digits, limit)
    assert (problem in found and found != "") if problem else found == ""


def test_cut_to_units_never_splits_a_surrogate_pair():
    assert cut_to_units("ab\U0001F600c", 3) == "ab"
    assert cut_to_units("ab\U0001F600c", 4) == "ab\U0001F600"


def test_a_library_applet_hlemu_lacks_returns_at_once_with_its_parameter():
    lines: list[str] = []
    kernel = Kernel(backend="semifastmem", output=lambda _p, line: lines.append(line))
    try:
        process = kernel.spawn(program_path("hello"))
        state = kernel.apt.applet(process)
        state.app_id = 0x300
        state.library_applet = applet = ReturningApplet(kernel.apt, state, 0x402)
        applet.start(b"\x01\x02\x03", None)
        parameter = state.parameters.popleft()
        assert (parameter.sender, parameter.destination, parameter.command, parameter.data) == \
            (0x402, 0x300, 10, b"\x01\x02\x03")
        assert state.library_applet is None
        assert lines == ["[hlemu] library applet (0x402): appletEd (Mii selector) is not implemented: "
                         "returns at once with its parameter unchanged"]
    finally:
        kernel.close()


# -- APT's library-applet commands, called as the port's handlers --------------------------------
def apt_call(kernel, thread, command_id: int, normal: list[int]):
    from kernel.services import Request

    port = kernel.apt.ports[0]
    return port.commands[command_id](port, Request(None, thread, command_id, normal))  # type: ignore[arg-type]


def test_prepare_registers_the_applet_once_and_cancel_wakes_the_application():
    from kernel.services.apt import ALREADY_EXISTS, INVALID_APPLET_SLOT, NOT_FOUND

    kernel = Kernel(backend="semifastmem", output=lambda _p, _line: None)
    try:
        process = kernel.spawn(program_path("hello"))
        thread = kernel.threads[0]
        state = kernel.apt.applet(process)
        state.app_id = 0x300
        assert apt_call(kernel, thread, 0x0009, [0x401]).normal == [0]  # IsRegistered: not yet
        assert apt_call(kernel, thread, 0x003B, [0]).result == INVALID_APPLET_SLOT  # nothing to cancel
        assert apt_call(kernel, thread, 0x001E, [0x401, 0]).result == NOT_FOUND  # start before prepare
        assert apt_call(kernel, thread, 0x0018, [0x401]).result == 0
        assert apt_call(kernel, thread, 0x0009, [0x401]).normal == [1]
        assert apt_call(kernel, thread, 0x0018, [0x402]).result == ALREADY_EXISTS  # one slot
        assert apt_call(kernel, thread, 0x003B, [0]).result == 0
        parameter = state.parameters.popleft()
        assert (parameter.sender, parameter.destination, parameter.command) == (0x401, 0x300, 12)  # WAKEUP_CANCEL
        assert apt_call(kernel, thread, 0x0009, [0x401]).normal == [0]
    finally:
        kernel.close()


def test_a_save_state_taken_while_the_keyboard_waits_for_the_callback_resumes():
    from kernel import state

    lines: list[str] = []
    kernel = Kernel(backend="semifastmem", output=lambda _p, line: lines.append(line))
    try:
        process = kernel.spawn(program_path("swkbd"))
        for text in ("Ada", "x1", "bad", "good"):
            kernel.apt.keyboard.queue(KeyboardAnswer.confirm(text))
        applet = None
        while applet is None or not applet.started:
            assert kernel.run(max_instructions=200).reason == "instruction limit", lines
            applet = kernel.apt.applet(process).library_applet
        snap = state.snapshot(kernel)
    finally:
        kernel.close()
    lines.clear()
    restored = Kernel(backend="semifastmem", output=lambda _p, line: lines.append(line))
    try:
        state.restore_into(restored, snap)
        assert restored.run(max_instructions=LIMIT).reason == "all exited"
    finally:
        restored.close()
    assert lines == [  # the restored machine goes on inside the keyboard's MESSAGE round trip
        'callback: "bad" refused',
        KB + "the filter callback refused the text: 'No bad words.'",
        'callback: "good" ok',
        'word: button 2 (right), result 5, 4 units, "good"',
        "swkbd: exiting with 0",
    ]


def test_a_keyboard_started_without_a_state_and_block_returns_its_parameter_unchanged():
    from kernel.applets import SoftwareKeyboard

    lines: list[str] = []
    kernel = Kernel(backend="semifastmem", output=lambda _p, line: lines.append(line))
    try:
        state = kernel.apt.applet(kernel.spawn(program_path("hello")))
        state.app_id = 0x300
        state.library_applet = keyboard = SoftwareKeyboard(kernel.apt, state, 0x401)
        keyboard.start(b"\x05" * 16, None)
        parameter = state.parameters.popleft()
        assert (parameter.sender, parameter.command, parameter.data) == (0x401, 10, b"\x05" * 16)
        assert lines == [KB + "StartLibraryApplet with a 16-byte parameter and no memory block (a SwkbdState is "
                              "0x400 bytes, with a memory block for the text): returned unchanged"]
    finally:
        kernel.close()


def test_starting_an_applet_hlemu_lacks_is_marked_stubbed_for_the_recorder():
    from kernel.services import Request

    kernel = Kernel(backend="semifastmem", output=lambda _p, _line: None)
    try:
        state = kernel.apt.applet(kernel.spawn(program_path("hello")))
        state.app_id = 0x300
        thread = kernel.threads[0]
        assert apt_call(kernel, thread, 0x0018, [0x406]).result == 0
        port = kernel.apt.ports[0]
        request = Request(None, thread, 0x001E, [0x406, 4], static_buffers={0: b"abcd"})  # type: ignore[arg-type]
        assert port.commands[0x001E](port, request).result == 0
        assert request.status == "stubbed"
        assert state.parameters.popleft().data == b"abcd"
    finally:
        kernel.close()
