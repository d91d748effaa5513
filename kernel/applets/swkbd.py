"""The software keyboard (app id 0x401; 3dbrew "Software Keyboard", libctru ``swkbd.h``).

The application starts it with a 0x400-byte ``SwkbdState`` as the parameter and a memory
block (its own buffer, shared) for the text. The keyboard asks for the text (a scripted
answer, the window's dialog, or a default: :class:`KeyboardInput`), checks it as the
keyboard would before letting it through, writes it in UTF-16 with a NUL at offset 0 of the
block, fills in ``result``, ``text_offset`` and ``text_length`` and returns the state to the
application with WAKEUP_EXIT. libctru's ``swkbdInputText`` then reads
``text_length`` units from ``block + text_offset`` and maps ``result`` to the button.

What is checked (an answer that fails is refused with a line in the program's output, and
the keyboard asks again: the next scripted answer, the dialog again with the reason, or the
default): text longer than ``max_text_len`` is cut to it (the keyboard stops taking keys
there); ``valid_input`` NOTEMPTY, NOTBLANK, NOTEMPTY_NOTBLANK, FIXEDLEN; filter flags
DIGITS (more than ``max_digits``), AT, PERCENT, BACKSLASH. Only a button that submits text
(``button_submits_text``) is checked; another button returns no text. Not done, and said so:
the profanity filter, parental PIN mode, dictionaries, status and learning data (left as the
application gave them). The filter callback (flag CALLBACK) takes libctru's round trip: the
keyboard sends the state as a MESSAGE, the application's callback answers with SendParameter
MESSAGE, and OK closes the keyboard, CLOSE returns BANNED_INPUT, CONTINUE asks again.

The answer is taken while the StartLibraryApplet request is being handled, so no guest time
passes while the keyboard waits (in the window the emulation thread waits for the dialog).
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kernel.applets.base import MESSAGE, LibraryApplet
from kernel.objects.memory_block import MemoryBlock

if TYPE_CHECKING:
    from kernel.objects.base import KernelObject
    from kernel.services.apt import Applet, Apt

STATE_SIZE = 0x400  # sizeof(SwkbdState)

# SwkbdState field offsets (libctru include/3ds/applets/swkbd.h, ARM EABI layout; the SDK's
# swkbd.h checks them with static asserts).
TYPE, NUM_BUTTONS_M1, VALID_INPUT, PASSWORD_MODE, IS_PARENTAL = 0x00, 0x04, 0x08, 0x0C, 0x10
FILTER_FLAGS, MAX_TEXT_LEN, MAX_DIGITS, BUTTON_TEXT, HINT_TEXT = 0x18, 0x20, 0x24, 0x26, 0x90
MULTILINE, BUTTON_SUBMITS_TEXT, INITIAL_TEXT_OFFSET, DICT_OFFSET = 0x113, 0x11A, 0x120, 0x124
SHARED_MEMORY_SIZE, RESULT, TEXT_OFFSET, TEXT_LENGTH = 0x130, 0x138, 0x144, 0x148
CALLBACK_RESULT, CALLBACK_MSG = 0x14C, 0x150
BUTTON_TEXT_UNITS, HINT_TEXT_UNITS, CALLBACK_MSG_UNITS = 17, 65, 257

# SwkbdValidInput
ANYTHING, NOTEMPTY, NOTEMPTY_NOTBLANK, NOTBLANK, FIXEDLEN = 0, 1, 2, 3, 4
# filter flags
FILTER_DIGITS, FILTER_AT, FILTER_PERCENT, FILTER_BACKSLASH, FILTER_PROFANITY, FILTER_CALLBACK = (
    1, 2, 4, 8, 16, 32)
# SwkbdButton
LEFT, MIDDLE, RIGHT = 0, 1, 2
BUTTON_NAMES = {LEFT: "left", MIDDLE: "middle", RIGHT: "right"}
# SwkbdResult
NONE, D0_CLICK, D1_CLICK0, D1_CLICK1, D2_CLICK0, D2_CLICK1, D2_CLICK2 = -1, 0, 1, 2, 3, 4, 5
BANNED_INPUT = 30
# SwkbdCallbackResult
CALLBACK_OK, CALLBACK_CLOSE, CALLBACK_CONTINUE = 0, 1, 2


@dataclass
class KeyboardAnswer:
    """What the user did: pressed ``button`` (LEFT, MIDDLE, RIGHT) with ``text`` typed."""

    text: str = ""
    button: int = RIGHT
    source: str = "script"  # for the log: "script", "dialog", "default"

    @classmethod
    def confirm(cls, text: str, source: str = "script") -> KeyboardAnswer:
        return cls(text, RIGHT, source)

    @classmethod
    def cancel(cls, source: str = "script") -> KeyboardAnswer:
        return cls("", LEFT, source)


@dataclass
class KeyboardRequest:
    """What the application asked for: everything a frontend shows."""

    hint: str = ""
    initial_text: str = ""
    max_length: int = 0xFDE8
    buttons: list[str] = field(default_factory=lambda: ["OK"])  # labels, left to right
    button_ids: list[int] = field(default_factory=lambda: [RIGHT])  # SwkbdButton of each label
    multiline: bool = False
    password: bool = False
    valid_input: int = ANYTHING
    error: str = ""  # why the last answer was refused ("" the first time)


Frontend = Callable[[KeyboardRequest], "KeyboardAnswer | None"]


class KeyboardInput:
    """Where the keyboard's answers come from (``kernel.apt.keyboard``).

    ``answers``: scripted answers, taken first in first out (``hlemu run --input`` queues its
    ``FRAME TEXT "..."`` and ``FRAME CANCEL`` lines here at their frame). ``frontend``: asked
    when no scripted answer is queued (the window's dialog); it may return None (no answer:
    the default). Without either, the default: a keyboard with a left button is cancelled,
    a one-button keyboard is confirmed with its initial text; the program's output says so.
    A save state keeps the queued answers, not the frontend (its owner installs it again).
    """

    state_transient = ("frontend", "listeners")
    frontend: Frontend | None = None

    def __init__(self) -> None:
        self.answers: deque[KeyboardAnswer] = deque()
        # told every answer a keyboard took, after the default stood in for none (an input
        # movie records them: kernel/state/movie.py)
        self.listeners: list[Callable[[KeyboardAnswer], None]] = []

    def after_restore(self) -> None:
        self.listeners = []

    def took(self, answer: KeyboardAnswer) -> None:
        for listener in self.listeners:
            listener(answer)

    def queue(self, answer: KeyboardAnswer) -> None:
        self.answers.append(answer)

    def next_answer(self, request: KeyboardRequest) -> KeyboardAnswer | None:
        if self.answers:
            return self.answers.popleft()
        if self.frontend is not None:
            return self.frontend(request)
        return None


def _utf16(data: bytes, offset: int, units: int) -> str:
    raw = data[offset:offset + 2 * units]
    for i in range(0, len(raw) - 1, 2):
        if raw[i] == 0 and raw[i + 1] == 0:
            raw = raw[:i]
            break
    return raw.decode("utf-16-le", errors="replace")


def _word(data: bytes, offset: int, fmt: str = "<i") -> int:
    return int(struct.unpack_from(fmt, data, offset)[0])


def button_layout(num_buttons_m1: int) -> list[int]:
    """The SwkbdButton of each button, left to right (1 button: RIGHT, libctru's D0_CLICK)."""
    return {0: [RIGHT], 1: [LEFT, RIGHT]}.get(num_buttons_m1, [LEFT, MIDDLE, RIGHT])


def result_code(num_buttons_m1: int, button: int) -> int:
    """SwkbdResult for ``button`` pressed on a keyboard with ``num_buttons_m1 + 1`` buttons."""
    if num_buttons_m1 == 0:
        return D0_CLICK
    if num_buttons_m1 == 1:
        return D1_CLICK0 if button == LEFT else D1_CLICK1
    return {LEFT: D2_CLICK0, MIDDLE: D2_CLICK1}.get(button, D2_CLICK2)


def check_text(text: str, valid_input: int, filter_flags: int, max_digits: int, max_length: int) -> str:
    """Why the keyboard would not accept ``text`` ("" when it would). Lengths count UTF-16 units."""
    units = len(text.encode("utf-16-le")) // 2
    blank = text.strip() == ""
    if valid_input in (NOTEMPTY, NOTEMPTY_NOTBLANK) and not text:
        return "the text may not be empty"
    if valid_input in (NOTBLANK, NOTEMPTY_NOTBLANK) and text and blank:
        return "the text may not be blank"
    if valid_input == FIXEDLEN and units != max_length:
        return f"the text must be {max_length} characters long"
    if filter_flags & FILTER_DIGITS and sum(c.isdigit() for c in text) > max_digits:
        return f"at most {max_digits} digits"
    for flag, char in ((FILTER_AT, "@"), (FILTER_PERCENT, "%"), (FILTER_BACKSLASH, "\\")):
        if filter_flags & flag and char in text:
            return f"no '{char}' allowed"
    return ""


def cut_to_units(text: str, units: int) -> str:
    """``text`` cut to at most ``units`` UTF-16 code units (never inside a surrogate pair)."""
    out, used = [], 0
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > units:
            break
        out.append(char)
        used += width
    return "".join(out)


class SoftwareKeyboard(LibraryApplet):
    """The HLE software keyboard for one application's ``swkbdInputText``."""

    title = "swkbd"

    def __init__(self, apt: Apt, parent: Applet, app_id: int) -> None:
        super().__init__(apt, parent, app_id)
        self.state = bytearray(STATE_SIZE)
        self.block: MemoryBlock | None = None
        self.request = KeyboardRequest()

    # -- reading the application's state -------------------------------------------------------
    def _field(self, offset: int, fmt: str = "<i") -> int:
        return _word(bytes(self.state), offset, fmt)

    def _set(self, offset: int, value: int, fmt: str = "<i") -> None:
        struct.pack_into(fmt, self.state, offset, value)

    def _make_request(self) -> KeyboardRequest:
        state = bytes(self.state)
        layout = button_layout(self._field(NUM_BUTTONS_M1))
        defaults = {LEFT: "Cancel", MIDDLE: "I Forgot", RIGHT: "OK"}
        labels = [_utf16(state, BUTTON_TEXT + 2 * BUTTON_TEXT_UNITS * b, BUTTON_TEXT_UNITS) or defaults[b]
                  for b in layout]
        initial = ""
        offset = self._field(INITIAL_TEXT_OFFSET)
        if offset >= 0 and self.block is not None:
            units = self._field(MAX_TEXT_LEN, "<H")
            size = max(0, min(2 * (units + 1), self.block.size - offset))
            initial = _utf16(self.block.read(offset, size), 0, units + 1)
        return KeyboardRequest(hint=_utf16(state, HINT_TEXT, HINT_TEXT_UNITS), initial_text=initial,
                               max_length=self._field(MAX_TEXT_LEN, "<H"), buttons=labels, button_ids=layout,
                               multiline=bool(state[MULTILINE]), password=self._field(PASSWORD_MODE) != 0,
                               valid_input=self._field(VALID_INPUT))

    # -- the applet ----------------------------------------------------------------------------
    def start(self, data: bytes, handle: KernelObject | None) -> None:
        self.started = True
        if len(data) != STATE_SIZE or not isinstance(handle, MemoryBlock):
            what = "a memory block" if isinstance(handle, MemoryBlock) else "no memory block"
            self.say(f"StartLibraryApplet with a {len(data)}-byte parameter and {what} (a SwkbdState is "
                     f"{STATE_SIZE:#x} bytes, with a memory block for the text): returned unchanged")
            self.close(data)
            return
        self.state[:] = data
        self.data = data
        self.block = handle
        self.hold(handle)
        self.request = self._make_request()
        flags = self._field(FILTER_FLAGS)
        if flags & FILTER_PROFANITY:
            self.say("the profanity filter is not implemented: not checked")
        if self._field(IS_PARENTAL):
            self.say("parental PIN mode is not implemented: the answer is taken as text")
        self._ask()

    def _ask(self) -> None:
        """Take answers until one passes, then return it (or send it to the filter callback)."""
        while True:
            answer = self.apt.keyboard.next_answer(self.request)
            if answer is None:
                answer = self._default()
            self.apt.keyboard.took(answer)
            problem = self._accept(answer)
            if not problem:
                break
            self.say(f"answer {answer.text!r} ({answer.source}) refused: {problem}")
            self.request.error = problem
        if self._field(FILTER_FLAGS) & FILTER_CALLBACK and self._submits(answer.button):
            self.send(MESSAGE, bytes(self.state))  # libctru's swkbdMessageCallback answers
            return
        self.close(bytes(self.state))

    def _default(self) -> KeyboardAnswer:
        layout = self.request.button_ids
        if LEFT in layout:
            self.say("no answer queued (--input FRAME TEXT \"...\" or FRAME CANCEL): cancelled")
            return KeyboardAnswer.cancel("default")
        self.say(f"no answer queued (--input FRAME TEXT \"...\"): confirmed the initial text "
                 f"{self.request.initial_text!r}")
        return KeyboardAnswer.confirm(self.request.initial_text, "default")

    def _submits(self, button: int) -> bool:
        return bool(self.state[BUTTON_SUBMITS_TEXT + button])

    def _accept(self, answer: KeyboardAnswer) -> str:
        """Check ``answer``; when it passes, write it into the block and the state ("" returned)."""
        layout = self.request.button_ids
        if answer.button not in layout:
            return f"this keyboard has no {BUTTON_NAMES.get(answer.button, '?')} button"
        text = answer.text if self._submits(answer.button) else ""
        limit = self._field(MAX_TEXT_LEN, "<H")
        if self._submits(answer.button):
            cut = cut_to_units(text, limit)
            if cut != text:
                self.say(f"answer {text!r} is longer than {limit} characters: cut to {cut!r}")
                text = cut
            problem = check_text(text, self._field(VALID_INPUT), self._field(FILTER_FLAGS),
                                 self._field(MAX_DIGITS, "<H"), limit)
            if problem:
                return problem
        encoded = text.encode("utf-16-le")
        assert self.block is not None  # start() checked it
        if len(encoded) + 2 > self.block.size:
            return f"the text does not fit the {self.block.size}-byte shared memory"
        self.block.write(0, encoded + b"\0\0")
        self._set(RESULT, result_code(self._field(NUM_BUTTONS_M1), answer.button))
        self._set(TEXT_OFFSET, 0)
        self._set(TEXT_LENGTH, len(encoded) // 2, "<H")
        return ""

    def message(self, command: int, data: bytes, handle: KernelObject | None) -> bool:
        """The application's filter callback answered (libctru's swkbdMessageCallback)."""
        if command != MESSAGE or len(data) != STATE_SIZE or self.block is None:
            return False
        self.state[:] = data
        verdict = self._field(CALLBACK_RESULT)
        if verdict == CALLBACK_OK:
            self.close(bytes(self.state))
        elif verdict == CALLBACK_CLOSE:
            self.say(f"the filter callback closed the keyboard: {self._callback_message()!r}")
            self._set(RESULT, BANNED_INPUT)
            self._set(TEXT_OFFSET, 0)
            self._set(TEXT_LENGTH, 0, "<H")
            self.close(bytes(self.state))
        else:
            message = self._callback_message()
            self.say(f"the filter callback refused the text: {message!r}")
            self.request.error = message or "refused by the program"
            self._ask()
        return True

    def _callback_message(self) -> str:
        return _utf16(bytes(self.state), CALLBACK_MSG, CALLBACK_MSG_UNITS)
