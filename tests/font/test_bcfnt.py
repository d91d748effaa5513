"""The system font's BCFNT (hlemu/font/bcfnt.py), read back by a small parser of the tests' own
written from libctru's font.h and Azahar's bcfnt.h (not from the generator): the header, the
sections walked by their sizes, each pointer landing on a section's body, every ASCII and
Latin-1 character mapped, widths equal to Pillow's advances and ink, and each glyph's texels
(decoded by tests/gpu/reference.py's A4 decoder) equal to Pillow's own rendering of it."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import pytest

from hlemu.font import bcfnt
from tests.gpu import reference

FORMAT_A4 = 11


@dataclass
class Parsed:
    magic: bytes
    bom: int
    header_size: int
    file_size: int
    blocks: int
    sections: list[tuple[bytes, int, int]]  # (magic, offset, size)
    finf: dict
    tglp: dict
    widths: dict[int, tuple[int, int, int]]  # glyph index -> (left, glyph width, advance)
    cmaps: list[dict] = field(default_factory=list)


def parse(data: bytes, base: int = 0) -> Parsed:
    """A BCFNT whose pointers are ``base`` + file offset (0: a file; the shared copy: its address)."""
    magic, bom, header_size, _version, file_size, blocks = struct.unpack_from("<4sHHIII", data, 0)
    sections, at = [], header_size
    while at < len(data):
        kind, size = struct.unpack_from("<4sI", data, at)
        sections.append((kind, at, size))
        at += size
    names = ("type", "line_feed", "alternate", "left", "glyph_width", "advance", "encoding", "tglp", "cwdh",
             "cmap", "height", "width", "ascent")
    finf = dict(zip(names, struct.unpack_from("<BBHbBBBIIIBBB", data, header_size + 8), strict=True))

    def offset(pointer: int) -> int:
        return pointer - base

    t = offset(finf["tglp"])
    names = ("cell_width", "cell_height", "baseline", "max_width", "sheet_size", "sheets", "format", "per_row",
             "lines", "sheet_width", "sheet_height", "sheet_data")
    tglp = dict(zip(names, struct.unpack_from("<BBBBIHHHHHHI", data, t), strict=True))
    widths: dict[int, tuple[int, int, int]] = {}
    c = offset(finf["cwdh"])
    while True:
        first, last, following = struct.unpack_from("<HHI", data, c)
        for i in range(first, last + 1):
            widths[i] = struct.unpack_from("<bBB", data, c + 8 + 3 * (i - first))
        if not following:
            break
        c = offset(following)
    cmaps, m = [], offset(finf["cmap"])
    while True:
        first, last, method, _reserved, following = struct.unpack_from("<HHHHI", data, m)
        body = m + 12
        if method == 0:
            mapping = {code: struct.unpack_from("<H", data, body)[0] + code - first for code in range(first, last + 1)}
        elif method == 1:
            mapping = {code: struct.unpack_from("<H", data, body + 2 * (code - first))[0]
                       for code in range(first, last + 1)}
        else:
            (count,) = struct.unpack_from("<H", data, body)
            mapping = dict(struct.unpack_from("<HH", data, body + 2 + 4 * i) for i in range(count))
        cmaps.append({"first": first, "last": last, "method": method, "map": mapping, "at": m})
        if not following:
            break
        m = offset(following)
    return Parsed(magic, bom, header_size, file_size, blocks, sections, finf, tglp, widths, cmaps)


def glyph_index(p: Parsed, code: int) -> int:
    """libctru's fontGlyphIndexFromCodePoint over the parsed maps."""
    for cmap in p.cmaps:
        if cmap["first"] <= code <= cmap["last"] and (cmap["method"] != 2 or code in cmap["map"]):
            index = cmap["map"][code]
            break
    else:
        index = 0xFFFF
    return p.finf["alternate"] if index == 0xFFFF else index


def sheets(data: bytes, p: Parsed, base: int = 0) -> list[np.ndarray]:
    """Each sheet's alpha, top row first, by the reference decoder."""
    t, out = p.tglp, []
    for k in range(t["sheets"]):
        start = t["sheet_data"] - base + k * t["sheet_size"]
        raw = np.frombuffer(data[start : start + t["sheet_size"]], np.uint8)
        out.append(reference.decode_texture(raw, t["sheet_width"], t["sheet_height"], t["format"])[::-1, :, 3])
    return out


def cell(p: Parsed, pictures: list[np.ndarray], index: int) -> np.ndarray:
    t = p.tglp
    sheet, within = divmod(index, t["per_row"] * t["lines"])
    line, column = divmod(within, t["per_row"])
    x, y = column * (t["cell_width"] + 1) + 1, line * (t["cell_height"] + 1) + 1
    return pictures[sheet][y : y + t["cell_height"], x : x + t["cell_width"]]


@pytest.fixture(scope="module")
def font():
    return bcfnt.build()


@pytest.fixture(scope="module")
def parsed(font):
    return parse(font.data)


CODES = [*range(0x20, 0x7F), *range(0xA0, 0x100)]


def test_the_header_and_the_sections_walk_to_the_end_of_the_file(font, parsed):
    assert (parsed.magic, parsed.bom, parsed.header_size) == (b"CFNT", 0xFEFF, 0x14)
    assert parsed.file_size == len(font.data)
    kinds = [kind for kind, _, _ in parsed.sections]
    assert kinds == [b"FINF", b"TGLP", b"CWDH", b"CMAP", b"CMAP", b"CMAP"]
    assert parsed.blocks == len(kinds)
    assert sum(size for _, _, size in parsed.sections) == len(font.data) - 0x14
    assert all(at % 4 == 0 and size % 4 == 0 for _, at, size in parsed.sections)


def test_pointers_land_on_section_bodies(parsed):
    starts = {kind: [at for k, at, _ in parsed.sections if k == kind] for kind in (b"TGLP", b"CWDH", b"CMAP")}
    assert parsed.finf["tglp"] == starts[b"TGLP"][0] + 8
    assert parsed.finf["cwdh"] == starts[b"CWDH"][0] + 8
    assert [c["at"] for c in parsed.cmaps] == [at + 8 for at in starts[b"CMAP"]]  # the chain, in order
    tglp_at, tglp_size = starts[b"TGLP"][0], parsed.sections[1][2]
    t = parsed.tglp
    assert t["sheet_data"] % 0x80 == 0  # the GPU reads the sheets in place
    assert tglp_at + 0x20 <= t["sheet_data"] and t["sheet_data"] + t["sheets"] * t["sheet_size"] <= tglp_at + tglp_size


def test_the_sheets_are_a4_with_the_cells_libctru_computes(parsed):
    t = parsed.tglp
    assert t["format"] == FORMAT_A4 and t["sheet_size"] == t["sheet_width"] * t["sheet_height"] // 2
    assert (t["sheet_width"], t["sheet_height"], t["sheets"]) == (256, 256, 2)
    assert (t["cell_width"], t["cell_height"], t["baseline"]) == (21, 24, 19)
    assert t["per_row"] * (t["cell_width"] + 1) <= t["sheet_width"]  # the last cell of a row fits
    assert t["lines"] * (t["cell_height"] + 1) <= t["sheet_height"]
    assert t["per_row"] * t["lines"] * t["sheets"] >= len(parsed.widths)
    f = parsed.finf
    assert (f["height"], f["width"], f["ascent"], f["line_feed"]) == (24, 21, 19, 24)
    assert f["encoding"] == 1  # UTF-16


def test_every_ascii_and_latin1_character_has_its_own_glyph(parsed):
    indices = [glyph_index(parsed, code) for code in CODES]
    assert len(set(indices)) == len(CODES)
    assert all(i in parsed.widths for i in indices)
    assert glyph_index(parsed, ord("A")) == ord("A") - 0x20
    assert {c["method"] for c in parsed.cmaps} == {0, 1, 2}


def test_codes_outside_the_font_get_the_replacement_glyph(parsed):
    replacement = glyph_index(parsed, 0xFFFD)
    assert parsed.finf["alternate"] == replacement != 0xFFFF
    for code in (0x7F, 0x9F, 0x4E00, 0x2000, 0x1F):
        assert glyph_index(parsed, code) == replacement
    assert glyph_index(parsed, 0x20AC) != replacement  # the euro sign is in the scan list
    default = (parsed.finf["left"], parsed.finf["glyph_width"], parsed.finf["advance"])
    assert default == parsed.widths[replacement]


def _pillow_glyph(pil_font, code: int, ascent: int, height: int) -> tuple[np.ndarray, int]:
    """The character as Pillow draws it on a wide canvas, baseline at row ``ascent``; the
    canvas column of the pen."""
    from PIL import Image, ImageDraw

    pen = 20
    canvas = Image.new("L", (100, height), 0)
    ImageDraw.Draw(canvas).text((pen, ascent), chr(code), fill=255, font=pil_font, anchor="ls")
    return np.asarray(canvas), pen


def test_widths_and_texels_match_pillows_rendering(parsed, font):
    from PIL import ImageFont

    pil_font = ImageFont.truetype(str(bcfnt.FONT_FILE), 20, layout_engine=ImageFont.Layout.BASIC)
    pictures = sheets(font.data, parsed)
    t = parsed.tglp
    for code in [*CODES, 0x20AC, 0x2026, 0xFFFD]:
        index = glyph_index(parsed, code)
        left, width, advance = parsed.widths[index]
        assert advance == round(pil_font.getlength(chr(code))), chr(code)
        drawn, pen = _pillow_glyph(pil_font, code, t["baseline"], t["cell_height"])
        ink = np.flatnonzero(drawn.any(axis=0))
        got = cell(parsed, pictures, index).astype(int)
        if not len(ink):
            assert width == 0 and not got.any(), chr(code)
            continue
        assert (left, width) == (ink[0] - pen, ink[-1] + 1 - ink[0]), chr(code)
        want = (drawn[:, ink[0] : ink[-1] + 1].astype(int) + 8) // 17 * 17  # 4-bit alpha, nearest level
        assert (got[:, :width] == want).all(), chr(code)
        assert not got[:, width:].any(), chr(code)  # nothing beyond the glyph's width


def test_the_gaps_between_cells_stay_clear(parsed, font):
    t = parsed.tglp
    for picture in sheets(font.data, parsed):
        for column in range(t["per_row"] + 1):
            assert not picture[:, column * (t["cell_width"] + 1)].any()
        for line in range(t["lines"] + 1):
            assert not picture[line * (t["cell_height"] + 1), :].any()


def test_relocation_turns_every_pointer_into_an_address(font, parsed):
    base = 0x18000080
    moved = font.relocated(base)
    assert moved[:4] == b"CFNU" and len(moved) == len(font.data)
    again = parse(moved, base)
    assert again.finf["tglp"] == parsed.finf["tglp"] + base
    assert again.tglp["sheet_data"] == parsed.tglp["sheet_data"] + base
    assert [c["map"] for c in again.cmaps] == [c["map"] for c in parsed.cmaps]
    assert again.widths == parsed.widths
    changed = [i for i in range(0, len(moved), 4) if moved[i : i + 4] != font.data[i : i + 4]]
    finf, tglp = parsed.sections[0][1], parsed.sections[1][1]
    cmaps = [at for kind, at, _ in parsed.sections if kind == b"CMAP"]
    # the magic, FINF's three pointers, the sheets' pointer, the CMAPs' next pointers but the
    # last (0, as is the only CWDH's): nothing else moves
    assert changed == sorted([0, finf + 0x10, finf + 0x14, finf + 0x18, tglp + 0x1C] + [at + 0x10 for at in cmaps[:-1]])


def test_the_same_inputs_give_the_same_bytes(font):
    assert bcfnt.build().data == font.data


def test_a_missing_dejavu_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(bcfnt, "FONT_FILE", tmp_path / "DejaVuSans.ttf")
    with pytest.raises(bcfnt.FontMissing, match="fonts-dejavu-core"):
        bcfnt.build()


def test_the_script_writes_the_font_and_its_sheets(tmp_path, font, parsed):
    import importlib.util
    from pathlib import Path

    from PIL import Image

    script = Path(__file__).resolve().parents[2] / "scripts" / "gen_bcfnt.py"
    spec = importlib.util.spec_from_file_location("gen_bcfnt", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([str(tmp_path / "system.bcfnt"), "--sheets", str(tmp_path / "sheet")]) == 0
    assert (tmp_path / "system.bcfnt").read_bytes() == font.data
    pictures = sheets(font.data, parsed)
    for number, picture in enumerate(pictures):
        png = np.asarray(Image.open(tmp_path / f"sheet{number}.png"))
        assert (np.abs(png.astype(int) - picture.astype(int)) <= 8).all()  # 8-bit coverage vs 4-bit levels
