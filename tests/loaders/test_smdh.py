"""SMDH: titles by language, the tiled RGB565 icons, and malformed SMDHs (3dbrew "SMDH")."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from hlemu.loaders.smdh import (
    LARGE_ICON_OFFSET,
    SMDH_SIZE,
    TITLE_SIZE,
    TITLES_OFFSET,
    SmdhError,
    build_smdh,
    decode_icon,
    encode_icon,
    parse_smdh,
)


def test_built_smdh_round_trips_titles_and_icon():
    rng = np.random.default_rng(1)
    icon = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8) & np.array([0xF8, 0xFC, 0xF8], dtype=np.uint8)
    smdh = parse_smdh(build_smdh("Hello", "Hello from hlemu", "hlemu team", icon))
    assert (smdh.short_title, smdh.long_title, smdh.publisher) == ("Hello", "Hello from hlemu", "hlemu team")
    assert all(t.short == "Hello" for t in smdh.titles)  # every slot, as smdhtool writes
    assert np.array_equal(smdh.icon() & np.array([0xF8, 0xFC, 0xF8], dtype=np.uint8), icon)
    assert smdh.icon(large=False).shape == (24, 24, 3)


def test_the_icon_is_stored_in_morton_ordered_8x8_tiles():
    words = np.zeros(48 * 48, dtype="<u2")
    words[2] = 0xF800  # third stored pixel of the first tile: x 0, y 1
    words[3] = 0x07E0  # fourth: x 1, y 1
    words[64] = 0x001F  # first pixel of the second tile: x 8, y 0
    words[63] = 0xFFFF  # last pixel of the first tile: x 7, y 7
    words[6 * 64] = 0xFFFF  # first pixel of the second row of tiles: x 0, y 8
    rgb = decode_icon(words.tobytes(), 48)
    assert rgb[1, 0].tolist() == [255, 0, 0]
    assert rgb[1, 1].tolist() == [0, 255, 0]
    assert rgb[0, 8].tolist() == [0, 0, 255]
    assert rgb[7, 7].tolist() == [255, 255, 255] and rgb[8, 0].tolist() == [255, 255, 255]
    assert int(rgb.astype(int).sum()) == 255 * 3 + 255 * 3 * 2
    assert encode_icon(rgb) == words.tobytes()


def test_english_is_preferred_then_the_first_language_that_is_set():
    data = bytearray(build_smdh("Short", "Long", "Pub"))
    for i in range(16):
        data[TITLES_OFFSET + i * TITLE_SIZE:TITLES_OFFSET + (i + 1) * TITLE_SIZE] = bytes(TITLE_SIZE)
    data[TITLES_OFFSET + 3 * TITLE_SIZE:TITLES_OFFSET + 3 * TITLE_SIZE + 12] = "German".encode("utf-16-le")
    assert parse_smdh(bytes(data)).short_title == "German"
    data[TITLES_OFFSET + 1 * TITLE_SIZE:TITLES_OFFSET + 1 * TITLE_SIZE + 14] = "English".encode("utf-16-le")
    assert parse_smdh(bytes(data)).short_title == "English"
    assert parse_smdh(bytes(data)).titles[0].short == ""


def test_an_smdh_with_no_title_set_has_empty_titles():
    data = bytearray(build_smdh("x"))
    data[TITLES_OFFSET:TITLES_OFFSET + 16 * TITLE_SIZE] = bytes(16 * TITLE_SIZE)
    assert parse_smdh(bytes(data)).title.short == ""


def test_bad_utf16_is_replaced_not_raised():
    data = bytearray(build_smdh("x"))
    struct.pack_into("<HH", data, TITLES_OFFSET + TITLE_SIZE, 0xD800, 0x41)  # a lone surrogate
    assert parse_smdh(bytes(data)).short_title == "\ufffdA"


@pytest.mark.parametrize("data, words", [
    (b"SMDH" + bytes(100), "bytes"),
    (b"XXXX" + bytes(SMDH_SIZE - 4), "magic"),
])
def test_malformed_smdh(data, words):
    with pytest.raises(SmdhError, match=words):
        parse_smdh(data)


def test_build_refuses_what_does_not_fit():
    with pytest.raises(SmdhError, match="longer"):
        build_smdh("x" * 64)
    with pytest.raises(SmdhError, match="48x48"):
        build_smdh("x", icon=np.zeros((24, 24, 3), dtype=np.uint8))
    assert len(build_smdh("x" * 63)) == SMDH_SIZE
    assert LARGE_ICON_OFFSET + 48 * 48 * 2 == SMDH_SIZE
