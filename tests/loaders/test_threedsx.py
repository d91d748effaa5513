"""The 3DSX loader: layout, relocations, SMDH and RomFS metadata, malformed files, a fuzzer.

Files are built with :mod:`hlemu.loaders.threedsx_writer`; header offsets (3dbrew "3DSX
Format"): header size at 4, relocation header size at 6, code/rodata/data/bss sizes at
0x10/0x14/0x18/0x1C, extended header (SMDH offset, SMDH size, RomFS offset) at 0x20.
"""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest

from hlemu.loaders import LOADERS, ElfLoader, LoaderError, ThreeDsxLoader, load_image
from hlemu.loaders.threedsx import HEADER_SIZE
from hlemu.loaders.threedsx_writer import Program, build_3dsx
from hlemu.memory.constants import MemoryPermission
from tests.loaders.threedsx_files import BASE, DATA_AT, IMAGE_SIZE, RODATA_AT, pack, plain, relocated, words

R, W, X = MemoryPermission.R, MemoryPermission.W, MemoryPermission.X


def word(image, address: int) -> int:
    for seg in image.segments:
        if seg.vaddr <= address < seg.vaddr + seg.size:
            data = seg.data.ljust(seg.size, b"\0")
            return struct.unpack_from("<I", data, address - seg.vaddr)[0]
    raise AssertionError(f"{address:#x} is not in the image")


def test_registered_after_the_elf_loader():
    assert LOADERS.index(ThreeDsxLoader) == LOADERS.index(ElfLoader) + 1
    assert ThreeDsxLoader.is_compatible(b"3DSX\x20\x00") and not ThreeDsxLoader.is_compatible(b"\x7fELF")


def test_segments_are_page_rounded_and_contiguous_from_0x00100000():
    image = ThreeDsxLoader.load(relocated(), name="t")
    assert image.entry == BASE and image.format == "3dsx"
    assert [(s.vaddr, s.size, s.perm) for s in image.segments] == [
        (BASE, 0x2000, R | X), (BASE + RODATA_AT, 0x1000, R), (BASE + DATA_AT, 0x1000, R | W)]
    assert [len(s.data) for s in image.segments] == [0x1100, 0x20, 0x40]  # the rest is zero (bss)


def test_absolute_and_relative_relocations_are_translated_by_segment():
    image = ThreeDsxLoader.load(relocated(), name="t")
    assert word(image, BASE + 4) == BASE + 0x10
    assert word(image, BASE + 8) == BASE + RODATA_AT + 4
    assert word(image, BASE + 12) == BASE + DATA_AT + 8
    assert word(image, BASE + 0x1000) == BASE + IMAGE_SIZE
    assert word(image, BASE + 16) == 0xE1A00000  # not relocated
    assert word(image, BASE + RODATA_AT) == (BASE + 0x20 - (BASE + RODATA_AT)) & 0xFFFFFFFF
    assert word(image, BASE + RODATA_AT + 4) == (DATA_AT - (RODATA_AT + 4)) & 0x7FFFFFFF  # PREL31: 31 bits
    assert word(image, BASE + DATA_AT) == BASE + RODATA_AT
    assert word(image, BASE + DATA_AT + 4) == (BASE - (BASE + DATA_AT + 4)) & 0xFFFFFFFF
    assert word(image, BASE + DATA_AT + 8) == 0x11111111
    assert word(image, BASE + DATA_AT + 0x40) == 0  # bss


def test_smdh_and_romfs_metadata():
    data = relocated(romfs=b"ROMFS-IMAGE")
    image = ThreeDsxLoader.load(data, name="t")
    assert image.smdh is not None and image.smdh.short_title == "Test"
    assert image.smdh.long_title == "A test program" and image.smdh.publisher == "hlemu"
    assert image.smdh.icon().shape == (48, 48, 3)
    assert data[image.romfs_offset:] == b"ROMFS-IMAGE" and image.romfs_size == 11
    assert image.romfs_offset % 4 == 0
    bare = ThreeDsxLoader.load(plain(), name="p")
    assert bare.smdh is None and bare.romfs_offset == 0 and bare.romfs_size == 0


def test_an_empty_rodata_takes_no_pages():
    image = ThreeDsxLoader.load(plain(), name="p")
    layout = [(s.vaddr, s.size, s.perm) for s in image.segments]
    assert layout == [(BASE, 0x1000, R | X), (BASE + 0x1000, 0x1000, R | W)]
    assert image.segments[1].data == pack([7])


def test_the_elf_loaders_images_keep_their_defaults():
    from hlemu.guest import program_path

    image = load_image(program_path("hello"))
    assert (image.format, image.smdh, image.romfs_offset, image.romfs_size) == ("elf", None, 0, 0)


def test_extra_relocation_tables_are_skipped():
    """A relocation header of 12 bytes: a third table per segment the loader does not know; its
    entries are skipped, and the next segment's tables are still read from the right place."""
    program = Program(code=pack([0, 4, 8, 0]), rodata=pack([0x1000]), data=pack([0]))
    tables = [[[(1, 1)], [], [(0, 3), (0, 1)]],  # code: absolute word 1, an extra table of 2 entries
              [[(0, 1)], [], [(0, 1)]],  # rodata: absolute word 0
              [[], [(0, 1)], []]]  # data: relative word 0 -> code from data
    image = ThreeDsxLoader.load(build_3dsx(program, tables=tables, reloc_header_size=12), name="x")
    assert word(image, BASE) == 0 and word(image, BASE + 4) == BASE + 4 and word(image, BASE + 8) == 8
    assert word(image, BASE + 0x1000) == BASE + 0x1000
    assert word(image, BASE + 0x2000) == (BASE - (BASE + 0x2000)) & 0xFFFFFFFF


def test_zero_length_relocation_headers_mean_no_relocations():
    program = Program(code=pack([0x1000]))
    image = ThreeDsxLoader.load(build_3dsx(program, tables=[[], [], []], reloc_header_size=0), name="x")
    assert word(image, BASE) == 0x1000


def test_runs_longer_than_0xffff_words_are_split():
    count = 0x10000 + 3  # 0x10003 patched words: (0, 0xFFFF), (0, 4)
    program = Program(code=pack([0x40] * count), absolute=(set(range(count)), set(), set()))
    data = build_3dsx(program)
    image = ThreeDsxLoader.load(data, name="big")
    assert word(image, BASE) == BASE + 0x40 and word(image, BASE + 4 * (count - 1)) == BASE + 0x40


def _with(data: bytes, *patches: tuple[int, str, int]) -> bytes:
    out = bytearray(data)
    for offset, fmt, value in patches:
        struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def _bad_run(segment: int, table: int, run: tuple[int, int]) -> bytes:
    """The relocated program with one relocation table replaced by a single run."""
    program = Program(code=pack(words(0x1100 // 4, 0)), rodata=pack([0] * 8), data=pack([0] * 16), bss_size=0x30)
    tables: list[list[list[tuple[int, int]]]] = [[[], []], [[], []], [[], []]]
    tables[segment][table] = [run]
    return build_3dsx(program, tables=tables)


def _bad_word(segment_word: int, table: int) -> bytes:
    program = Program(code=pack([segment_word, 0]), absolute=({0} if table == 0 else set(), set(), set()),
                      relative=({0} if table == 1 else set(), set(), set()))
    return build_3dsx(program)


GOOD = relocated()
ENDS = len(GOOD) - len(b"ROMFS-IMAGE")  # where the RomFS starts
BAD = {
    # name: (file contents, words the message must contain)
    "magic only": (b"3DSX", ["truncated 3DSX header", "4 of 0x20"]),
    "truncated header": (GOOD[:0x1C], ["truncated 3DSX header"]),
    "header size 0x10": (_with(GOOD, (4, "<H", 0x10)), ["bad 3DSX header size 0x10"]),
    "header size 0x24": (_with(GOOD, (4, "<H", 0x24)), ["bad 3DSX header size 0x24"]),
    "header size past the end": (_with(GOOD, (4, "<H", 0xFFFF)), ["truncated 3DSX header", "0xffff"]),
    "odd relocation header size": (_with(GOOD, (6, "<H", 6)), ["bad relocation header size 0x6"]),
    "huge relocation header size": (_with(GOOD, (6, "<H", 0x1000)), ["bad relocation header size 0x1000"]),
    "bss larger than data": (_with(GOOD, (0x1C, "<I", 0x71)), ["bss of 0x71 bytes is larger than the data"]),
    "empty code": (_with(GOOD, (0x10, "<I", 0)), ["code segment is empty"]),
    "code overflows the image area": (_with(GOOD, (0x10, "<I", 0x03F00000)), ["overflow the image area",
                                                                                "0x00100000-0x04000000"]),
    "huge data": (_with(GOOD, (0x18, "<I", 0xFFFFFFFF), (0x1C, "<I", 0)), ["overflow the image area"]),
    "truncated relocation header": (GOOD[:0x2C + 12], ["truncated rodata relocation header"]),
    "truncated code": (GOOD[:0x100], ["truncated code segment"]),
    "truncated data": (_with(GOOD, (0x18, "<I", 0x70 + 0x100000), (0x1C, "<I", 0x30)),
                       ["truncated data segment"]),
    "relocation count past the end": (_with(GOOD, (0x2C, "<I", 0x10000000)),
                                      ["truncated code absolute relocation table"]),
    "extra table past the end": (_with(build_3dsx(Program(code=pack([0])), tables=[[[], [], [(0, 0)] * 3]] * 3,
                                                  reloc_header_size=12), (0x20 + 8, "<I", 999)),
                                 ["truncated code extra table 2 relocation table"]),
    "patch past the segment": (_bad_run(0, 0, (0x1100 // 4 - 1, 2)),
                               ["code absolute relocation entry 0 patches 2 words from word 1087",
                                "past the segment's 0x1100 loaded bytes"]),
    "billions of patches": (build_3dsx(Program(code=pack([0])),
                                       tables=[[[(0, 0xFFFF)] * 50000, []], [[], []], [[], []]]),
                            ["code absolute relocation entry 0 patches 65535 words"]),
    "patch in the bss": (_bad_run(2, 1, (16, 1)), ["data relative relocation", "past the segment's 0x40"]),
    "skip past the segment": (_bad_run(1, 0, (0xFFFF, 1)), ["rodata absolute relocation", "past the segment"]),
    "patch pointing outside the image": (_bad_word(0x4001, 0), ["points outside the image", "0x00004001"]),
    "absolute subtype 1": (_bad_word(1 << 28, 0), ["absolute relocation at 0x00100000 has an unknown subtype"]),
    "relative subtype 2": (_bad_word(2 << 28, 1), ["relative relocation", "unknown subtype"]),
    "SMDH past the end": (_with(GOOD, (0x20, "<I", len(GOOD) - 0x100)), ["SMDH at", "past the end of the file"]),
    "SMDH too small": (_with(GOOD, (0x24, "<I", 0x100)), ["bad SMDH", "256 bytes"]),
    "SMDH inside the program": (_with(GOOD, (0x20, "<I", 0x40)), ["SMDH at 0x40 overlaps the program"]),
    "SMDH bad magic": (_with(GOOD, (ENDS - 0x36C0, "<4s", b"ABCD")), ["bad SMDH", "magic"]),
    "RomFS past the end": (_with(GOOD, (0x28, "<I", len(GOOD) + 1)), ["RomFS offset", "past the end of the file"]),
    "RomFS inside the program": (_with(GOOD, (0x28, "<I", 0x100)), ["RomFS at 0x100 overlaps the program"]),
}


@pytest.mark.parametrize("name", list(BAD))
def test_malformed_3dsx_names_the_file_and_the_problem(tmp_path, name):
    data, expected = BAD[name]
    path = tmp_path / "bad.3dsx"
    path.write_bytes(data)
    with pytest.raises(LoaderError) as info:
        load_image(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    for text in expected:
        assert text in message


def test_the_good_file_the_bad_ones_come_from_loads(tmp_path):
    path = tmp_path / "good.3dsx"
    path.write_bytes(GOOD)
    assert load_image(path).name == "good"
    assert ENDS % 4 == 0 and GOOD[ENDS - 0x36C0:ENDS - 0x36C0 + 4] == b"SMDH"
    assert struct.unpack_from("<H", GOOD, 4)[0] == 0x2C and HEADER_SIZE == 0x20


def _mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if len(out) < 0x50:
            out += bytes(rng.randrange(1, 64))
        elif choice < 0.35:  # a header, extended header or relocation-header field
            at = rng.randrange(4, 0x44, 2)
            value = rng.choice([0, 1, 2, 3, 4, 0x20, 0x2C, 0xFFFF, rng.getrandbits(16)])
            if at % 4 == 0 and rng.random() < 0.6:
                value = rng.choice([value, 0x1000, 0x36C0, len(out), len(out) + 1, 0xFFFFFFFF, 0x04000000,
                                    rng.getrandbits(32)])
                struct.pack_into("<I", out, at, value)
            else:
                struct.pack_into("<H", out, at, value)
        elif choice < 0.6:  # a relocation entry or a relocated word
            at = rng.randrange(0x44, len(out) - 4) & ~3
            struct.pack_into("<I", out, at, rng.choice([rng.getrandbits(32), 0xFFFF0001, 0x0001FFFF, 0x30000000,
                                                        0x10000000 | rng.getrandbits(14)]))
        elif choice < 0.85:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        else:
            del out[rng.randrange(len(out)):]
            if not out:
                out += b"3DSX"
    return bytes(out)


def test_fuzz_every_mutant_loads_or_raises_loader_error():
    rng = random.Random(0x3D5)
    seeds = [relocated(), relocated(smdh=False, romfs=None), plain()]
    outcomes = {"loaded": 0, "refused": 0}
    for case in range(4000):
        data = _mutate(rng.choice(seeds), rng)
        try:
            image = ThreeDsxLoader.load(data, name=f"case{case}")
        except LoaderError as exc:
            assert str(exc).startswith(f"case{case}: ")
            outcomes["refused"] += 1
            continue
        outcomes["loaded"] += 1
        assert image.entry == BASE and image.segments[0].perm == R | X
        end = BASE
        for seg in image.segments:
            assert seg.vaddr == end and seg.size % 0x1000 == 0 and len(seg.data) <= seg.size
            end += seg.size
        assert end <= 0x04000000
        assert 0 <= image.romfs_offset <= len(data) and image.romfs_size >= 0
    assert outcomes["loaded"] > 300 and outcomes["refused"] > 300, outcomes


def test_loaded_image_words_are_numpy_free_bytes():
    image = ThreeDsxLoader.load(relocated(), name="t")
    assert all(type(s.data) is bytes for s in image.segments)
    assert np.frombuffer(image.segments[0].data, dtype="<u4")[1] == BASE + 0x10
