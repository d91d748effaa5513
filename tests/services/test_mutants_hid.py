"""hid:USER's shared memory as libctru's hidScanInput reads it (3dbrew "HID Shared Memory"; Azahar
hle/service/hid/hid.cpp UpdatePadCallback): the pad section at 0x00 (index-reset tick and the one
before it, the latest entry's index at 0x10, the current state at 0x1C, 8 entries of 0x10 bytes at
0x28: held, pressed, released, circle x/y as s16), the touch section at 0xA8 (ticks, index at 0xB8,
8 entries of x, y u16 and valid u32 at 0xC8); PAD0 and PAD1 signalled on each update.
Written for mutants of kernel/services/hid.py (scripts/mutation.py)."""

from __future__ import annotations

import struct

import pytest

from kernel.kernel import Kernel
from kernel.services.hid import KEYS, _circle_bits

A, B, START, R = KEYS["A"], KEYS["B"], KEYS["START"], KEYS["R"]
CPAD_RIGHT, CPAD_LEFT, CPAD_UP, CPAD_DOWN = 1 << 28, 1 << 29, 1 << 30, 1 << 31  # libctru KEY_CPAD_*


@pytest.fixture
def hid():
    kernel = Kernel(output=lambda _p, _line: None)
    yield kernel.hid
    kernel.close()


def word(hid, offset: int) -> int:
    return struct.unpack("<I", hid.shared.read(offset, 4))[0]


def ticks(hid, base: int) -> tuple[int, int]:
    return struct.unpack("<qq", hid.shared.read(base, 16))


def pad_entry(hid, index: int) -> tuple[int, int, int, int, int]:
    return struct.unpack("<IIIhh", hid.shared.read(0x28 + 0x10 * index, 0x10))


def touch_entry(hid, index: int) -> tuple[int, int, int]:
    return struct.unpack("<HHI", hid.shared.read(0xC8 + 8 * index, 8))


def test_keys_are_libctrus_bits():
    assert KEYS == {"A": 1, "B": 2, "SELECT": 4, "START": 8, "RIGHT": 0x10, "LEFT": 0x20, "UP": 0x40,
                    "DOWN": 0x80, "R": 0x100, "L": 0x200, "X": 0x400, "Y": 0x800}


def test_one_update_writes_the_first_pad_entry(hid):
    hid.pad.buttons, hid.pad.circle = A | START, (-100, 155)
    hid.update(1000)
    assert word(hid, 0x10) == 0
    assert word(hid, 0x1C) == A | START | CPAD_LEFT | CPAD_UP
    assert pad_entry(hid, 0) == (A | START | CPAD_LEFT | CPAD_UP, A | START | CPAD_LEFT | CPAD_UP, 0, -100, 155)
    assert pad_entry(hid, 1) == (0, 0, 0, 0, 0)


def test_pressed_and_released_are_against_the_previous_update(hid):
    hid.pad.buttons = A | B
    hid.update(10)
    hid.pad.buttons = B | R
    hid.update(20)
    assert word(hid, 0x10) == 1 and word(hid, 0x1C) == B | R
    assert pad_entry(hid, 1) == (B | R, R, A, 0, 0)
    hid.update(30)
    assert pad_entry(hid, 2) == (B | R, 0, 0, 0, 0)
    hid.pad.buttons = 0
    hid.update(40)
    assert pad_entry(hid, 3) == (0, 0, B | R, 0, 0)


def test_the_entry_index_runs_round_eight_entries(hid):
    seen = []
    for n in range(10):
        hid.pad.buttons = 1 << n
        hid.update(100 * (n + 1))
        seen.append((word(hid, 0x10), word(hid, 0xB8)))
    assert seen == [(i % 8, i % 8) for i in range(10)]
    assert pad_entry(hid, 0)[0] == 1 << 8 and pad_entry(hid, 1)[0] == 1 << 9 and pad_entry(hid, 7)[0] == 1 << 7


def test_ticks_are_written_when_index_0_is_and_keep_the_one_before(hid):
    """libctru's hidCheckSectionUpdateTime takes a section whose index is 0 as stale while its two
    ticks are equal; each wrap to index 0 stores a new tick and moves the old one to +8."""
    hid.update(500)
    assert ticks(hid, 0x00) == (500, 0) and ticks(hid, 0xA8) == (500, 0)
    for n in range(7):
        hid.update(600 + n)
    assert ticks(hid, 0x00) == (500, 0)  # entries 1..7 leave the ticks alone
    hid.update(900)
    assert word(hid, 0x10) == 0 and ticks(hid, 0x00) == (900, 500) and ticks(hid, 0xA8) == (900, 500)


def test_a_wrap_at_a_tick_no_later_still_gives_a_fresh_one(hid):
    hid.update(500)
    for _ in range(7):
        hid.update(500)
    hid.update(500)  # the kernel's clock has not moved: the ticks must still differ
    assert ticks(hid, 0x00) == (501, 500) and ticks(hid, 0xA8) == (501, 500)


def test_a_touch_entry_holds_the_point_and_valid(hid):
    hid.pad.touch = (319, 239)
    hid.update(10)
    assert word(hid, 0xB8) == 0 and touch_entry(hid, 0) == (319, 239, 1)
    hid.pad.touch = (5, 6)
    hid.update(20)
    assert word(hid, 0xB8) == 1 and touch_entry(hid, 1) == (5, 6, 1)
    hid.pad.touch = None
    hid.update(30)
    assert word(hid, 0xB8) == 2 and touch_entry(hid, 2) == (0, 0, 0)
    assert touch_entry(hid, 0) == (319, 239, 1) and touch_entry(hid, 1) == (5, 6, 1)


def test_each_update_signals_pad0_and_pad1_only(hid):
    assert [e.signaled for e in hid.events] == [False] * 5
    hid.update(10)
    assert [e.name for e in hid.events] == ["PAD0", "PAD1", "accelerometer", "gyroscope", "debug pad"]
    assert [e.signaled for e in hid.events] == [True, True, False, False, False]


def test_a_vblank_updates_the_memory_at_the_kernels_tick(hid):
    hid.pad.buttons = A
    hid.kernel.scheduler.state.ticks = 4_468_531  # one frame in (268111856 / 60)
    assert hid._on_vblank in hid.kernel.display.vblank_listeners
    hid._on_vblank(1)
    assert word(hid, 0x1C) == A and ticks(hid, 0x00) == (4_468_531, 0)


@pytest.mark.parametrize(("x", "y", "bits"), [
    (0, 0, 0), (40, 0, 0), (41, 0, CPAD_RIGHT), (-40, 0, 0), (-41, 0, CPAD_LEFT),
    (0, 40, 0), (0, 41, CPAD_UP), (0, -40, 0), (0, -41, CPAD_DOWN),
    (156, -156, CPAD_RIGHT | CPAD_DOWN), (-156, 156, CPAD_LEFT | CPAD_UP),
])
def test_circle_pad_directions_start_past_40_on_each_axis(x, y, bits):
    """Azahar's GetStickDirectionState: a direction only past a radius of 40 (41 on an axis)."""
    assert _circle_bits(x, y) == bits
