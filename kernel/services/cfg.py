"""``cfg:u`` (and ``cfg:s`` / ``cfg:i``): the console's settings (3dbrew "Config Services").

The values come from :class:`ConsoleSettings` (``kernel.cfg.settings``), settable
from Python; the config blocks (3dbrew "Config Savegame") are built from them when a
request reads one. libctru's ``cfguInit`` asks for cfg:i, then cfg:s, then cfg:u,
taking the first it gets; as srv here waits for a name nobody registered rather than
refusing it, all three names are registered, onto one state. cfg:s and cfg:i offer
cfg:u's commands and more (GetConfigInfoBlk8 here; the rest are unimplemented).

Block sizes and access flags (UserRead 0x2, SystemWrite 0x4, SystemRead 0x8) follow
3dbrew and Citra/Azahar ``service/cfg/cfg_defaults.cpp``; a read with the wrong size,
of a block that does not exist, or of a system-only block through cfg:u's command
gets the error Citra answers (module CFG, 64).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from kernel.services import Reply, Request, Service, command
from kernel.services.buffers import write_mapped

if TYPE_CHECKING:
    from kernel.kernel import Kernel


# Module CFG (64), summary WrongArgument (8), level Permanent (27); the description in brackets.
NOT_FOUND = 0xD90103FA  # (1018 NotFound) no such block / country
NOT_AUTHORIZED = 0xD90103EA  # (1002 NotAuthorized) the block is not readable through this command
INVALID_SIZE = 0xD90103EC  # (1004 InvalidSize) the size is not the block's

USER_READ, SYSTEM_WRITE, SYSTEM_READ = 0x2, 0x4, 0x8
GLOBAL, SYSTEM = USER_READ | SYSTEM_READ | SYSTEM_WRITE, SYSTEM_READ | SYSTEM_WRITE

# Regions (SecureInfoGetRegion) and models (GetSystemModel), 3dbrew / libctru CFG_Region, CFG_SystemModel.
REGIONS = {"JPN": 0, "USA": 1, "EUR": 2, "AUS": 3, "CHN": 4, "KOR": 5, "TWN": 6}
MODELS = {"3DS": 0, "3DS XL": 1, "New 3DS": 2, "2DS": 3, "New 3DS XL": 4, "New 2DS XL": 5}
# Country ids (CountryInfo byte 3, "same as DSi/Wii country codes") -> ISO code: the common
# ones, from the table Citra/Azahar cfg.cpp reproduces.
COUNTRIES = {1: "JP", 16: "BR", 18: "CA", 36: "MX", 49: "US", 65: "AU", 77: "FR", 78: "DE", 83: "IT",
             94: "NL", 98: "PT", 100: "RU", 105: "ES", 110: "GB", 128: "TW", 136: "KR", 144: "HK", 160: "CN"}


@dataclass
class ConsoleSettings:
    """What the console says about itself. Change fields at any time; the next read sees them."""

    language: int = 1  # 3dbrew "Config Savegame" Languages: 0 ja, 1 en, 2 fr, 3 de, ...
    region: int = REGIONS["USA"]
    country: int = 49  # United States
    state: int = 2  # province code within the country
    model: int = MODELS["3DS"]  # an Old 3DS, as APT's CheckNew3DS says
    username: str = "hlemu"  # at most 10 UTF-16 units
    birthday: tuple[int, int] = (1, 1)  # (month, day)
    sound_output: int = 1  # 0 mono, 1 stereo, 2 surround
    console_id: int = 0x0123456789ABCDEF  # block 0x00090001, hashed by GenHashConsoleUnique
    eula_version: tuple[int, int] = (0x7F, 0x7F)  # (major, minor): every EULA accepted
    country_name: str = "United States"
    state_name: str = "Washington DC"


def _names(text: str) -> bytes:
    """A location name in all 16 languages, 0x40 UTF-16 units each (blocks 0xB0001, 0xB0002)."""
    one = text.encode("utf-16-le")[:0x7E].ljust(0x80, b"\0")
    return one * 16


def config_blocks(s: ConsoleSettings) -> dict[int, tuple[int, bytes]]:
    """Block id -> (access flags, data)."""
    name = s.username.encode("utf-16-le")[:20].ljust(20, b"\0")
    return {
        0x00030001: (GLOBAL, bytes(8)),  # user time offset
        0x00050001: (SYSTEM, bytes([0, 2])),  # backlight: power saving off, brightness 2
        0x00070001: (GLOBAL, bytes([s.sound_output])),
        0x00090000: (GLOBAL, struct.pack("<Q", s.console_id)),
        0x00090001: (GLOBAL, struct.pack("<Q", s.console_id)),
        # The random number the id was made from, its top 16 bits (Azahar cfg.cpp GenerateConsoleUniqueId).
        0x00090002: (GLOBAL, struct.pack("<I", s.console_id >> 48)),
        0x000A0000: (GLOBAL, name + bytes(8)),  # name, a zero word, the NG-word flag
        0x000A0001: (GLOBAL, bytes(s.birthday)),
        0x000A0002: (GLOBAL, bytes([s.language])),
        0x000B0000: (GLOBAL, bytes([0, 0, s.state, s.country])),
        0x000B0001: (GLOBAL, _names(s.country_name)),
        0x000B0002: (GLOBAL, _names(s.state_name)),
        0x000B0003: (GLOBAL, bytes(4)),  # latitude, longitude
        0x000C0000: (GLOBAL, bytes(0xC0)),  # parental controls: nothing restricted
        0x000C0001: (GLOBAL, bytes(0x14)),
        0x000D0000: (GLOBAL, bytes([s.eula_version[1], s.eula_version[0], 0, 0])),
        0x000F0004: (SYSTEM, bytes([s.model, 0, 0, 0])),
        0x00110000: (SYSTEM, struct.pack("<I", 1)),  # system set up
        0x00130000: (GLOBAL, bytes(4)),  # debug mode off
    }


class ConfigU(Service):
    """cfg:u; subclasses add the commands of the wider names."""

    name = "cfg:u"
    max_sessions = 23

    def __init__(self, kernel: Kernel, config: Config) -> None:
        super().__init__(kernel)
        self.config = config

    @property
    def settings(self) -> ConsoleSettings:
        return self.config.settings  # read per request: kernel.cfg.settings may be replaced

    def read_block(self, request: Request, access: int) -> Reply:
        """size, block id, a writable buffer -> the block's data in it."""
        size, block_id = request.normal
        entry = config_blocks(self.settings).get(block_id)
        if entry is None:
            self.kernel.output(request.process, f"[hlemu] {self.name}: config block {block_id:#010x} "
                                                "is unimplemented")
            result = NOT_FOUND
        elif not entry[0] & access:
            result = NOT_AUTHORIZED
        elif len(entry[1]) != size:
            result = INVALID_SIZE
        else:
            result = write_mapped(request, 0, entry[1])
        return Reply(result=result, mapped_buffers=request.mapped_buffers)

    @command(0x0001, normal=2, translate=2)
    def get_config_info_blk2(self, request: Request) -> Reply:
        return self.read_block(request, USER_READ)

    @command(0x0002)
    def secure_info_get_region(self, request: Request) -> Reply:
        return Reply(normal=[self.settings.region])

    @command(0x0003, normal=1)
    def gen_hash_console_unique(self, request: Request) -> Reply:
        """salt -> a console-unique 64-bit hash: the last 8 bytes of SHA-256 over the console
        id block and the salt's low 20 bits (as Citra computes it)."""
        salt = request.normal[0] & 0xFFFFF
        digest = hashlib.sha256(struct.pack("<QI", self.settings.console_id, salt)).digest()
        return Reply(normal=list(struct.unpack("<II", digest[-8:])))

    @command(0x0004)
    def get_region_canada_usa(self, request: Request) -> Reply:
        s = self.settings
        return Reply(normal=[int(s.region == REGIONS["USA"] and COUNTRIES.get(s.country) in ("US", "CA"))])

    @command(0x0005)
    def get_system_model(self, request: Request) -> Reply:
        return Reply(normal=[self.settings.model])

    @command(0x0006)
    def get_model_nintendo_2ds(self, request: Request) -> Reply:
        """0 for a 2DS, 1 for anything else."""
        return Reply(normal=[int(self.settings.model != MODELS["2DS"])])

    @command(0x0009, normal=1)
    def get_country_code_string(self, request: Request) -> Reply:
        """country id -> its two-letter code as a u16 (first letter in the low byte)."""
        code = COUNTRIES.get(request.normal[0] & 0xFFFF)
        if code is None:
            return Reply(result=NOT_FOUND, normal=[0])
        return Reply(normal=[ord(code[0]) | ord(code[1]) << 8])

    @command(0x000A, normal=1)
    def get_country_code_id(self, request: Request) -> Reply:
        """two-letter code (u16) -> country id; 0xFF with the error for an unknown one."""
        value = request.normal[0] & 0xFFFF
        for country, code in COUNTRIES.items():
            if ord(code[0]) | ord(code[1]) << 8 == value:
                return Reply(normal=[country])
        return Reply(result=NOT_FOUND, normal=[0xFF])


class ConfigS(ConfigU):
    name = "cfg:s"

    @command(0x0401, normal=2, translate=2)
    def get_config_info_blk8(self, request: Request) -> Reply:
        return self.read_block(request, SYSTEM_READ)

    @command(0x0406)
    def secure_info_get_region_s(self, request: Request) -> Reply:
        return Reply(normal=[self.settings.region])


class ConfigI(ConfigS):
    name = "cfg:i"

    @command(0x0801, normal=2, translate=2)
    def get_config_info_blk8_i(self, request: Request) -> Reply:
        return self.read_block(request, SYSTEM_READ)


class Config:
    """The settings and the three ports onto them (``kernel.cfg``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.settings = ConsoleSettings()
        self.ports: list[ConfigU] = [ConfigU(kernel, self), ConfigS(kernel, self), ConfigI(kernel, self)]


# -- settings from text: ``hlemu run --cfg KEY=VALUE`` and ``Emulator(cfg={...})`` -----------------
# Language codes in 3dbrew's order ("Config Savegame" block 0xA0002; libctru CFG_LANGUAGE_JP..TW).
LANGUAGE_CODES = ("ja", "en", "fr", "de", "it", "es", "zh", "ko", "nl", "pt", "ru", "tw")
LANGUAGE_NAMES = ("japanese", "english", "french", "german", "italian", "spanish", "simplified chinese",
                  "korean", "dutch", "portuguese", "russian", "traditional chinese")
# Short model names (what the command line takes) -> MODELS' values.
MODEL_CODES = {"3DS": 0, "3DSXL": 1, "N3DS": 2, "2DS": 3, "N3DSXL": 4, "N2DSXL": 5}
SETTING_KEYS = ("language", "region", "model", "username", "birthday")
ACCEPTED = {
    "language": f"{', '.join(LANGUAGE_CODES)} (or 0-11, or names such as french)",
    "region": ", ".join(REGIONS),
    "model": ", ".join(MODEL_CODES),
    "username": "up to 10 characters",
    "birthday": "MM-DD, e.g. 12-25",
}
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # 29 February is a birthday too


def _choice(key: str, text: str, table: dict[str, int]) -> int:
    """A name from ``table`` (any case, spaces and a "new " prefix folded) or its number."""
    folded = text.strip().upper().replace(" ", "").replace("_", "").replace("NEW", "N")
    if folded in table:
        return table[folded]
    if folded.isdigit() and int(folded) in table.values():
        return int(folded)
    raise ValueError(f"{key}: unknown value {text!r} (accepted: {ACCEPTED[key]})")


def _language(text: str) -> int:
    folded = text.strip().lower()
    if folded in LANGUAGE_CODES:
        return LANGUAGE_CODES.index(folded)
    if folded in LANGUAGE_NAMES:
        return LANGUAGE_NAMES.index(folded)
    if folded in ("jp", "chinese"):  # libctru's CFG_LANGUAGE_JP; Chinese as the 3DS menu lists it first
        return 0 if folded == "jp" else 6
    if folded.isdigit() and int(folded) < len(LANGUAGE_CODES):
        return int(folded)
    raise ValueError(f"language: unknown value {text!r} (accepted: {ACCEPTED['language']})")


def _username(text: str) -> str:
    if len(text.encode("utf-16-le")) // 2 > 10:  # block 0xA0000 holds 10 UTF-16 units
        raise ValueError(f"username: {text!r} is longer than 10 characters")
    return text


def _birthday(text: str) -> tuple[int, int]:
    try:
        month, day = (int(part, 10) for part in text.strip().split("-"))
    except ValueError:
        raise ValueError(f"birthday: {text!r} is not MM-DD (e.g. 12-25)") from None
    if not (1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]):
        raise ValueError(f"birthday: {text!r} is not a day of the year (MM-DD, e.g. 12-25)")
    return month, day


def setting_value(key: str, value: object) -> object:
    """``value`` for ConsoleSettings' field ``key``, checked: text as the command line gives it
    (``"fr"``, ``"EUR"``, ``"N3DS"``, ``"12-25"``) or the stored form (``2``, ``(12, 25)``).
    ValueError names the key and what it accepts.

    >>> setting_value("language", "fr"), setting_value("region", "eur"), setting_value("model", "New 3DS XL")
    (2, 2, 4)
    >>> setting_value("birthday", "02-29"), setting_value("birthday", (12, 25))
    ((2, 29), (12, 25))
    >>> setting_value("model", "Wii")
    Traceback (most recent call last):
      ...
    ValueError: model: unknown value 'Wii' (accepted: 3DS, 3DSXL, N3DS, 2DS, N3DSXL, N2DSXL)
    """
    if key not in SETTING_KEYS:
        raise ValueError(f"unknown setting {key!r} (accepted: {', '.join(SETTING_KEYS)})")
    if key == "birthday" and isinstance(value, tuple):
        value = "-".join(map(str, value))
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{key}: expected text or a number, got {value!r}")
    text = str(value)
    if key == "language":
        return _language(text)
    if key == "region":
        return _choice(key, text, REGIONS)
    if key == "model":
        return _choice(key, text, MODEL_CODES)
    if key == "username":
        return _username(text)
    return _birthday(text)


def parse_setting(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` (``--cfg language=fr``) -> (field name, checked value).

    >>> parse_setting("language=ja"), parse_setting("username=Ada"), parse_setting("Region=JPN")
    (('language', 0), ('username', 'Ada'), ('region', 0))
    """
    key, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"expected KEY=VALUE (keys: {', '.join(SETTING_KEYS)}), got {text!r}")
    key = key.strip().lower()
    return key, setting_value(key, value if key == "username" else value.strip())


def settings_from(pairs: Mapping[str, object] | Iterable[tuple[str, object]],
                  base: ConsoleSettings | None = None) -> ConsoleSettings:
    """New settings: ``base`` (default: the defaults) with each (key, value) of ``pairs``
    checked and applied, later pairs winning."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    changes: dict[str, Any] = {key: setting_value(key, value) for key, value in items}
    return replace(base or ConsoleSettings(), **changes)


def describe_settings(s: ConsoleSettings) -> str:
    """The settable values, as ``--cfg`` names them.

    >>> describe_settings(ConsoleSettings())
    'language=en region=USA model=3DS username=hlemu birthday=01-01'
    """
    region = next((name for name, v in REGIONS.items() if v == s.region), str(s.region))
    model = next((name for name, v in MODEL_CODES.items() if v == s.model), str(s.model))
    language = LANGUAGE_CODES[s.language] if 0 <= s.language < len(LANGUAGE_CODES) else str(s.language)
    return (f"language={language} region={region} model={model} username={s.username} "
            f"birthday={s.birthday[0]:02d}-{s.birthday[1]:02d}")
