"""cfg's config blocks and getters at their edges, and the ``--cfg`` settings text.

Blocks as Azahar service/cfg/cfg_defaults.cpp and cfg.h lay them out (3dbrew "Config Savegame"):
id, access (Global: user and system readable; System: system only), size and contents; a block
read through cfg:u's GetConfigInfoBlk2 needs UserRead, through cfg:i's GetConfigInfoBlk8
SystemRead. Getters as Azahar cfg.cpp answers them: the country-code commands take a u16,
GetTransferableId (0x3) hashes the salt's low 20 bits. The settings text as hlemu's ``run --cfg``
documents it: libctru's CFG_LANGUAGE_* order, CFG_Region names, MM-DD birthdays, names of at most
10 UTF-16 units. Written for mutants of kernel/services/cfg.py (scripts/mutation.py)."""

from __future__ import annotations

import hashlib
import struct

import pytest

from kernel.services.cfg import ConsoleSettings, describe_settings, parse_setting, setting_value, settings_from
from tests.kernel.asm import SUCCESS
from tests.services.script import HEAP, Script, header

NOT_FOUND, NOT_AUTHORIZED = 0xD90103FA, 0xD90103EA  # Azahar: module Config, WrongArgument, Permanent
W = 0x4  # IPC_BUFFER_W
CONSOLE_ID = 0x1122_3344_5566_7788
LONG_NAME = "N" * 70  # longer than a location name's 0x40 units


def settings() -> ConsoleSettings:
    return ConsoleSettings(language=3, username="ABCDEFGHIJKL", birthday=(7, 14), sound_output=2,
                           console_id=CONSOLE_ID, eula_version=(3, 4), country=110, state=5,
                           country_name=LONG_NAME, state_name="Cd", model=4)


def location(text: str) -> bytes:
    """16 languages of 0x40 UTF-16 units, each NUL-ended within them."""
    return text.encode("utf-16-le")[:0x7E].ljust(0x80, b"\0") * 16


GLOBAL, SYSTEM = "global", "system"
BLOCKS = [  # (id, access, contents for settings())
    (0x00030001, GLOBAL, bytes(8)),  # user time offset (u64 0)
    (0x00050001, SYSTEM, bytes([0, 2])),  # backlight: power saving off, brightness 2
    (0x00070001, GLOBAL, bytes([2])),  # sound output mode
    (0x00090000, GLOBAL, struct.pack("<Q", CONSOLE_ID)),
    (0x00090001, GLOBAL, struct.pack("<Q", CONSOLE_ID)),
    (0x00090002, GLOBAL, struct.pack("<I", 0x1122)),  # the random number: the id's bits 48-63
    (0x000A0000, GLOBAL, "ABCDEFGHIJ".encode("utf-16-le") + bytes(8)),  # 10 units, zero, NG word
    (0x000A0001, GLOBAL, bytes([7, 14])),  # month, day
    (0x000A0002, GLOBAL, bytes([3])),  # language
    (0x000B0000, GLOBAL, bytes([0, 0, 5, 110])),  # unknown[2], state, country
    (0x000B0001, GLOBAL, location(LONG_NAME)),
    (0x000B0002, GLOBAL, location("Cd")),
    (0x000B0003, GLOBAL, bytes(4)),  # latitude, longitude
    (0x000C0000, GLOBAL, bytes(0xC0)),  # restricted photo exchange
    (0x000C0001, GLOBAL, bytes(0x14)),  # COPPACS restriction
    (0x000D0000, GLOBAL, bytes([4, 3, 0, 0])),  # EULA version: minor, then major
    (0x000F0004, SYSTEM, bytes([4, 0, 0, 0])),  # console model
    (0x00110000, SYSTEM, struct.pack("<I", 1)),  # system set up
    (0x00130000, GLOBAL, bytes(4)),  # debug mode off
]


def test_every_block_has_its_id_access_size_and_contents(make_guest):
    guest = make_guest("semifastmem")
    guest.kernel.cfg.settings = settings()
    s = Script().connect_srv().heap(0x4000)
    s.get_service("srv_cfg", "cfg:i")
    at, places = HEAP, []
    for block, _access, data in BLOCKS:
        for command in (0x1, 0x801):  # GetConfigInfoBlk2 (UserRead), GetConfigInfoBlk8 (SystemRead)
            s.call(f"{command:x}_{block:x}", "r8", [header(command, 2, 2), len(data), block,
                                                   len(data) << 4 | 0x8 | W, at], replies=4)
            places.append(at)
            at += (len(data) + 3) & ~3
    process = s.run(guest)
    place = iter(places)
    for block, access, data in BLOCKS:
        for command in (0x1, 0x801):
            where = next(place)
            result = s.results(guest, process, f"{command:x}_{block:x}")[2]
            if command == 0x1 and access == SYSTEM:
                assert result == NOT_AUTHORIZED, hex(block)
                assert process.space.mem.read(where, len(data)) == bytes(len(data)), hex(block)
            else:
                assert result == SUCCESS, (hex(command), hex(block))
                assert process.space.mem.read(where, len(data)) == data, (hex(command), hex(block))


def test_getters_take_u16_country_codes_and_20_bit_salts(make_guest):
    guest = make_guest("semifastmem")
    guest.kernel.cfg.settings = settings()
    s = Script().connect_srv()
    s.get_service("srv_cfg", "cfg:u")
    s.call("hash", "r8", [header(0x3, 1, 0), 0xFFFABCDE], replies=4)
    s.call("string", "r8", [header(0x9, 1, 0), 0x1_0000 | 49], replies=3)  # a u16: 49 is US
    s.call("string_none", "r8", [header(0x9, 1, 0), 0], replies=2)
    s.call("id", "r8", [header(0xA, 1, 0), 0x1_0000 | ord("G") | ord("B") << 8], replies=3)
    process = s.run(guest)
    digest = hashlib.sha256(struct.pack("<QI", CONSOLE_ID, 0xABCDE)).digest()
    assert s.results(guest, process, "hash")[2:] == [SUCCESS, *struct.unpack("<II", digest[-8:])]
    assert s.results(guest, process, "string") == [SUCCESS, header(0x9, 2, 0), SUCCESS, ord("U") | ord("S") << 8]
    assert s.results(guest, process, "string_none") == [SUCCESS, header(0x9, 2, 0), NOT_FOUND]
    assert s.results(guest, process, "id") == [SUCCESS, header(0xA, 2, 0), SUCCESS, 110]


@pytest.mark.parametrize(("region", "country", "answer"), [(1, 49, 1), (2, 49, 0)])
def test_canada_usa_needs_the_usa_region(make_guest, region, country, answer):
    """A USA console in the United States is one; a European console is not, wherever it is
    (Azahar: region == 1)."""
    guest = make_guest("semifastmem")
    guest.kernel.cfg.settings = ConsoleSettings(region=region, country=country)
    s = Script().connect_srv()
    s.get_service("srv_cfg", "cfg:u")
    s.call("canada_usa", "r8", [header(0x4, 0, 0)], replies=3)
    process = s.run(guest)
    assert s.results(guest, process, "canada_usa")[2:] == [SUCCESS, answer]


# -- the settings text ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("ja", 0), ("en", 1), ("TW", 11), (" fr ", 2), ("German", 3), ("traditional chinese", 11),
    ("jp", 0), ("chinese", 6), ("0", 0), ("11", 11),
])
def test_languages_by_code_name_or_number(text, value):
    assert setting_value("language", text) == value


@pytest.mark.parametrize("text", ["12", "xx", "-1", ""])
def test_other_languages_are_refused(text):
    with pytest.raises(ValueError, match=r"^language: unknown value .* \(accepted: ja, en, fr, de, it, es, zh, ko"):
        setting_value("language", text)


@pytest.mark.parametrize(("key", "text", "value"), [
    ("region", "eur", 2), ("region", "TWN", 6), ("region", "3", 3), ("region", 4, 4),
    ("model", "New 3DS XL", 4), ("model", "n2ds_xl", 5), ("model", "2DS", 3), ("model", "5", 5),
])
def test_regions_and_models_by_name_or_number(key, text, value):
    assert setting_value(key, text) == value


@pytest.mark.parametrize(("key", "text"), [("region", "7"), ("region", "mars"), ("model", "6"), ("model", "Wii")])
def test_other_regions_and_models_are_refused(key, text):
    with pytest.raises(ValueError, match=rf"^{key}: unknown value '{text}' \(accepted: "):
        setting_value(key, text)


@pytest.mark.parametrize("name", ["", "Ada", "abcdefghij", "\u00e9" * 10])
def test_usernames_of_up_to_ten_units(name):
    assert setting_value("username", name) == name


@pytest.mark.parametrize("name", ["abcdefghijk", "\U0001F600" * 6])  # 11 units; 6 emoji are 12 units
def test_longer_usernames_are_refused(name):
    with pytest.raises(ValueError, match=r"^username: .* is longer than 10 characters"):
        setting_value("username", name)


@pytest.mark.parametrize(("text", "value"), [
    ("01-01", (1, 1)), ("12-31", (12, 31)), ("02-29", (2, 29)), ("04-30", (4, 30)), ("1-31", (1, 31)),
    (" 12-25 ", (12, 25)), ((12, 25), (12, 25)), ((2, 9), (2, 9)),
])
def test_birthdays(text, value):
    assert setting_value("birthday", text) == value


@pytest.mark.parametrize("text", ["13-01", "00-10", "01-00", "02-30", "04-31", "12-32", "11-31"])
def test_days_that_are_not_in_the_year_are_refused(text):
    with pytest.raises(ValueError, match=r"is not a day of the year"):
        setting_value("birthday", text)


@pytest.mark.parametrize("text", ["1225", "12-25-01", "a-b", "12/25"])
def test_birthdays_not_written_mm_dd_are_refused(text):
    with pytest.raises(ValueError, match=r"^birthday: .* is not MM-DD \(e\.g\. 12-25\)$"):
        setting_value("birthday", text)


@pytest.mark.parametrize(("key", "value"), [("language", True), ("region", 2.0), ("language", (1, 2)),
                                            ("model", None)])
def test_values_that_are_not_text_or_numbers_are_refused(key, value):
    with pytest.raises(ValueError, match=rf"^{key}: expected text or a number, got "):
        setting_value(key, value)


def test_unknown_keys_are_refused():
    with pytest.raises(ValueError, match=r"^unknown setting 'colour' \(accepted: language, region, model, username, "
                                         r"birthday\)$"):
        setting_value("colour", "red")


def test_key_value_text():
    assert parse_setting("language=fr") == ("language", 2)
    assert parse_setting(" Region = eur ") == ("region", 2)
    assert parse_setting("username= Ada ") == ("username", " Ada ")  # a name keeps its spaces
    with pytest.raises(ValueError, match=r"^expected KEY=VALUE \(keys: language, region"):
        parse_setting("language")


def test_settings_from_pairs_over_a_base():
    assert settings_from({"language": "fr"}) == ConsoleSettings(language=2)
    base = ConsoleSettings(username="Bob", region=0)
    made = settings_from([("model", "2DS"), ("model", "N3DS")], base=base)
    assert made == ConsoleSettings(username="Bob", region=0, model=2)  # later pairs win
    assert base == ConsoleSettings(username="Bob", region=0)  # the base is left as it was


@pytest.mark.parametrize(("settings_", "text"), [
    (ConsoleSettings(), "language=en region=USA model=3DS username=hlemu birthday=01-01"),
    (ConsoleSettings(language=0, region=0, model=5, username="Ada", birthday=(12, 5)),
     "language=ja region=JPN model=N2DSXL username=Ada birthday=12-05"),
    (ConsoleSettings(language=11, region=6, model=4), "language=tw region=TWN model=N3DSXL"),
    (ConsoleSettings(language=12, region=7, model=6), "language=12 region=7 model=6"),
    (ConsoleSettings(language=-1), "language=-1 region=USA"),
])
def test_describe_settings_names_values_as_the_command_line_takes_them(settings_, text):
    assert describe_settings(settings_).startswith(text)
