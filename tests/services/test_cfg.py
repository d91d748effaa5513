"""cfg as libctru's cfgu.c asks it: cfguInit takes cfg:i first (then cfg:s, cfg:u), then
CFGU_GetConfigInfoBlk2(size, blkID, out) with a write-only mapped buffer, and the
small getters. Values come from kernel.cfg.settings (3dbrew "Config Savegame")."""

from __future__ import annotations

import hashlib
import struct

import pytest

from tests.kernel.asm import BACKENDS, SUCCESS
from tests.services.script import HEAP, Script, header

OUT = HEAP
NOT_FOUND, NOT_AUTHORIZED, INVALID_SIZE = 0xD90103FA, 0xD90103EA, 0xD90103EC
BLOCKS = [  # (name, block id, size, where in the heap)
    ("language", 0xA0002, 1, 0x000), ("country", 0xB0000, 4, 0x010), ("username", 0xA0000, 0x1C, 0x020),
    ("birthday", 0xA0001, 2, 0x040), ("sound", 0x70001, 1, 0x050), ("model_block", 0xF0004, 4, 0x060),
    ("missing", 0x12345, 4, 0x070), ("wrong_size", 0xA0002, 4, 0x080),
]


def get_block(s: Script, name: str, block: int, size: int, at: int, command_id: int = 0x1) -> Script:
    return s.call(name, "r8", [header(command_id, 2, 2), size, block, size << 4 | 0x8 | 0x4, OUT + at], replies=4)


def read(guest, process, at: int, size: int) -> bytes:
    return process.space.mem.read(OUT + at, size)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cfgu_blocks_and_getters_as_libctru_reads_them(make_guest, backend):
    guest = make_guest(backend)
    settings = guest.kernel.cfg.settings
    settings.language, settings.username, settings.birthday = 2, "Ada", (12, 10)
    s = Script().connect_srv().heap()
    s.get_service("srv_cfg", "cfg:i")  # cfguInit's first choice
    for name, block, size, at in BLOCKS:
        get_block(s, name, block, size, at)
    get_block(s, "model_blk8", 0xF0004, 4, 0x090, command_id=0x801)  # cfg:i's system read
    s.call("region", "r8", [header(0x2, 0, 0)], replies=3)
    s.call("hash", "r8", [header(0x3, 1, 0), 0xABCDE], replies=4)
    s.call("canada_usa", "r8", [header(0x4, 0, 0)], replies=3)
    s.call("model", "r8", [header(0x5, 0, 0)], replies=3)
    s.call("not_2ds", "r8", [header(0x6, 0, 0)], replies=3)
    s.call("code_string", "r8", [header(0x9, 1, 0), 49], replies=3)
    s.call("code_id", "r8", [header(0xA, 1, 0), ord("G") | ord("B") << 8], replies=3)
    s.call("code_bad", "r8", [header(0xA, 1, 0), 0x5A5A], replies=3)
    process = s.run(guest)
    r = lambda name: s.results(guest, process, name)  # noqa: E731
    for name, _, size, _ in BLOCKS[:5]:  # result, then the buffer descriptor given back
        assert r(name)[:3] == [SUCCESS, header(0x1, 1, 2), SUCCESS], name
        assert r(name)[3] == size << 4 | 0xC, name
    assert read(guest, process, 0x000, 1) == b"\x02"
    assert read(guest, process, 0x010, 4) == bytes([0, 0, 2, 49])
    assert read(guest, process, 0x020, 0x1C) == "Ada".encode("utf-16-le").ljust(0x1C, b"\0")
    assert read(guest, process, 0x040, 2) == bytes([12, 10])
    assert read(guest, process, 0x050, 1) == b"\x01"  # stereo
    assert r("model_block")[2] == NOT_AUTHORIZED  # system-only through GetConfigInfoBlk2
    assert r("missing")[2] == NOT_FOUND and r("wrong_size")[2] == INVALID_SIZE
    assert r("model_blk8")[:3] == [SUCCESS, header(0x801, 1, 2), SUCCESS] and read(guest, process, 0x090, 1) == b"\0"
    assert r("region") == [SUCCESS, header(0x2, 2, 0), SUCCESS, 1]  # USA
    digest = hashlib.sha256(struct.pack("<QI", settings.console_id, 0xABCDE)).digest()
    assert r("hash") == [SUCCESS, header(0x3, 3, 0), SUCCESS, *struct.unpack("<II", digest[-8:])]
    assert r("canada_usa")[3] == 1 and r("model")[3] == 0 and r("not_2ds")[3] == 1
    assert r("code_string")[3] == ord("U") | ord("S") << 8
    assert r("code_id")[2:] == [SUCCESS, 110]
    assert r("code_bad")[2:] == [NOT_FOUND, 0xFF]


def test_settings_changed_from_python_are_what_the_next_request_reads(make_guest):
    guest = make_guest("semifastmem")
    s = Script().connect_srv().heap()
    s.get_service("srv_cfg", "cfg:u")
    get_block(s, "before", 0xA0002, 1, 0x000)
    s.asm(f"ldr r0, =1\nstr r0, [r11, #{4 * 0x1FF}]\n").sleep(5_000_000)
    get_block(s, "after", 0xA0002, 1, 0x010)
    s.call("model", "r8", [header(0x5, 0, 0)], replies=3)
    s.call("not_2ds", "r8", [header(0x6, 0, 0)], replies=3)
    s.call("canada_usa", "r8", [header(0x4, 0, 0)], replies=3)
    s.call("blk8_on_cfg_u", "r8", [header(0x801, 2, 2), 1, 0xA0002, 1 << 4 | 0xC, OUT], replies=3)
    process = s.spawn(guest)
    kernel = guest.kernel
    assert kernel.run(until=lambda: guest.words(process, 1, 0x1FF) == [1]).reason == "condition met"
    from kernel.services.cfg import MODELS, REGIONS, ConsoleSettings

    kernel.cfg.settings = ConsoleSettings(language=0, model=MODELS["2DS"], region=REGIONS["JPN"], country=1)
    assert guest.run().reason == "all exited"
    assert read(guest, process, 0x000, 1) == b"\x01" and read(guest, process, 0x010, 1) == b"\x00"
    assert s.results(guest, process, "model")[3] == 3
    assert s.results(guest, process, "not_2ds")[3] == 0
    assert s.results(guest, process, "canada_usa")[3] == 0
    assert s.results(guest, process, "blk8_on_cfg_u")[2] == 0xD900182F  # not a cfg:u command
    assert "cfg:u: GetConfigInfoBlk8 (0x0801) unimplemented" in guest.text()


def test_a_buffer_the_client_cannot_write_is_refused(make_guest):
    guest = make_guest("fastmem")
    s = Script().connect_srv()
    s.get_service("srv_cfg", "cfg:u")
    s.call("code", "r8", [header(0x1, 2, 2), 1, 0xA0002, 1 << 4 | 0xC, 0x00100000], replies=3)  # the code
    s.call("unmapped", "r8", [header(0x1, 2, 2), 1, 0xA0002, 1 << 4 | 0xC, 0x30000000], replies=3)
    process = s.run(guest)
    for name in ("code", "unmapped"):
        assert s.results(guest, process, name)[2] == 0xD9001830, name
