"""Hand-made 3DSX files for the loader tests, built with the project's writer."""

from __future__ import annotations

import struct

from hlemu.loaders.smdh import build_smdh
from hlemu.loaders.threedsx_writer import Program, build_3dsx

BASE = 0x00100000
CODE_WORDS = 0x1100 // 4  # code: 0x1100 bytes -> 2 pages
RODATA_WORDS = 0x20 // 4  # 1 page
DATA_WORDS = 0x40 // 4  # data 0x40 bytes loaded + 0x30 bss -> 1 page
RODATA_AT, DATA_AT = 0x2000, 0x3000  # image offsets of rodata and data (page-rounded sizes)
IMAGE_SIZE = 0x4000


def words(count: int, fill: int = 0xE1A00000) -> list[int]:
    return [fill] * count  # mov r0, r0


def pack(values: list[int]) -> bytes:
    return struct.pack(f"<{len(values)}I", *values)


def relocated_program() -> Program:
    """Code, rodata and data whose words point into all three segments, with absolute and
    relative relocations (subtype 0 and the PREL31 subtype 1)."""
    code, rodata, data = words(CODE_WORDS), words(RODATA_WORDS, 0), words(DATA_WORDS, 0x11111111)
    code[1] = 0x10  # absolute -> code + 0x10
    code[2] = RODATA_AT + 4  # absolute -> rodata + 4
    code[3] = DATA_AT + 8  # absolute -> data + 8
    code[0x1000 // 4] = IMAGE_SIZE  # absolute -> one past the image's end (an "end" symbol)
    rodata[0] = 0x20  # relative: code + 0x20 from rodata[0]
    rodata[1] = DATA_AT | 1 << 28  # relative PREL31: data from rodata[1]
    data[0] = RODATA_AT  # absolute
    data[1] = 0x0  # relative: code from data[1]
    return Program(code=pack(code), rodata=pack(rodata), data=pack(data), bss_size=0x30,
                   absolute=({1, 2, 3, 0x1000 // 4}, set(), {0}), relative=(set(), {0, 1}, {1}))


def relocated(smdh: bool = True, romfs: bytes | None = b"ROMFS-IMAGE") -> bytes:
    return build_3dsx(relocated_program(), smdh=build_smdh("Test", "A test program", "hlemu") if smdh else None,
                      romfs=romfs)


def plain() -> bytes:
    return build_3dsx(Program(code=pack(words(4)), rodata=b"", data=pack([7]), bss_size=8))
