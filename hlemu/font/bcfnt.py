"""A BCFNT (the 3DS's font format) rendered from DejaVu Sans with Pillow.

The 3DS's system font is a BCFNT that NS loads into linear memory at boot; APT's
GetSharedFont gives programs a handle to it (3dbrew "System Font"). hlemu cannot ship
Nintendo's font, so it makes one of its own, in the same format, from a freely licensed font
on the host (DejaVu Sans, Debian's ``fonts-dejavu-core``), the first time a program asks.

The format, as libctru's ``<3ds/font.h>`` reads it and Azahar's ``apt/bcfnt/bcfnt.h`` and
devkitPro's tex3ds (``mkbcfnt``) describe it, little-endian, sections 4-byte aligned:

=============  =========================================================================
``CFNT``       0x14 bytes: magic, byte-order mark 0xFEFF, header size 0x14, version, file
               size, number of sections (blocks) after the header
``FINF``       0x20 bytes: font type, line feed, the replacement glyph's index, default
               widths (left, glyph width, advance), encoding, pointers to TGLP, CWDH and
               CMAP, height, width, ascent
``TGLP``       0x20-byte header (cell width and height, baseline, widest glyph, sheet size,
               sheet count, texture format, glyphs a row, rows a sheet, sheet width and
               height, pointer to the sheets), then the sheets: PICA textures in 8x8 tiles,
               here A4 (format 0xB: 4-bit alpha, two texels a byte, the even Morton index
               in the low nibble), each glyph in a cell with a one-texel gap before it
               (libctru's fontCalcGlyphPos puts cell ``i`` of a row at ``i * (cellWidth + 1)
               + 1``)
``CWDH``       first and last glyph index, pointer to the next CWDH (0: none), then three
               bytes a glyph: left bearing (signed), ink width, advance
``CMAP`` x n   first and last code point, method (0 direct: ``index = offset + code -
               first``; 1 table: a u16 index a code, 0xFFFF none; 2 scan: a count and
               (code, index) pairs), pointer to the next CMAP, the method's data
=============  =========================================================================

Pointers are offsets of a section's body (its start + 8: libctru's structs begin after the
magic and size) from the start of the file. In the shared copy every one of them is an
address instead (:meth:`FontFile.relocated`), and the magic reads ``CFNU``.

What this font holds: printable ASCII (U+0020-U+007E, a direct map), Latin-1 (U+00A0-U+00FF,
a table) and typographic quotes, the ellipsis, the euro sign and U+FFFD (a scan list); U+FFFD
is the replacement glyph. DejaVu Sans at 20 pixels (FreeType's hinting and anti-aliasing,
alpha quantised to 4 bits), cells 21x24, two 256x256 A4 sheets. The same Pillow, FreeType
and font file give the same bytes.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILE = FONT_DIR / "DejaVuSans.ttf"
FONT_PACKAGE = "fonts-dejavu-core"
PIXELS = 20  # FreeType size: capitals 15 pixels high
SHEET_WIDTH = SHEET_HEIGHT = 256
FORMAT_A4 = 0xB  # GPU_A4 (3dbrew "GPU/Textures"), what libctru's and tex3ds's fonts use
VERSION = 0x00000003  # what tex3ds's mkbcfnt writes; libctru does not read it
FONT_TYPE = 1  # a texture font (tex3ds)
ENCODING_UTF16 = 1  # code points are UTF-16 units (CMAP codes are u16)
SHEET_ALIGN = 0x80  # the sheets start 0x80-aligned in the file (the GPU reads them in place)

CMAP_DIRECT, CMAP_TABLE, CMAP_SCAN = 0, 1, 2
NO_GLYPH = 0xFFFF

ASCII = range(0x20, 0x7F)
LATIN1 = range(0xA0, 0x100)
EXTRAS = (0x2018, 0x2019, 0x201C, 0x201D, 0x2026, 0x20AC, 0xFFFD)  # ‘ ’ “ ” … € and the replacement
REPLACEMENT = 0xFFFD


class FontMissing(RuntimeError):
    """The host has no DejaVu Sans to make the system font from."""


@dataclass(frozen=True)
class Glyph:
    code: int
    left: int  # the ink's first column, from the pen position
    width: int  # the ink's width (0: nothing drawn, as for a space)
    advance: int
    alpha: np.ndarray = field(repr=False, compare=False)  # (cell height, width) uint8, 0-255


@dataclass(frozen=True)
class CodeMap:
    first: int
    last: int
    method: int
    data: bytes  # the method's data, as stored after the header


@dataclass
class FontFile:
    """A built BCFNT: its bytes (pointers as file offsets) and where its pointers are."""

    data: bytes
    pointers: list[int]  # file offsets of every u32 pointer field (0 in a field: no next)
    glyphs: list[Glyph]
    cell_width: int
    cell_height: int
    baseline: int

    def relocated(self, base: int, magic: bytes = b"CFNU") -> bytes:
        """The file as it lies at guest address ``base``: every pointer an address (NS's
        loader does this to the shared font, which is why libctru must not fix it up again),
        the magic ``CFNU`` as 3dbrew says."""
        out = bytearray(self.data)
        out[0:4] = magic
        for at in self.pointers:
            (value,) = struct.unpack_from("<I", out, at)
            if value:
                struct.pack_into("<I", out, at, (value + base) & 0xFFFFFFFF)
        return bytes(out)


# -- rendering --------------------------------------------------------------------------------
def load_font(path: Path | None = None, pixels: int = PIXELS):
    """DejaVu Sans (``FONT_FILE`` unless ``path``) at ``pixels`` (Pillow's basic layout: no
    shaping engine between us and FreeType), or :class:`FontMissing` naming the package."""
    from PIL import ImageFont

    path = path if path is not None else FONT_FILE
    if not path.exists():
        raise FontMissing(f"{path} is missing: the system font is made from DejaVu Sans; "
                          f"install Debian's {FONT_PACKAGE} (apt-get install {FONT_PACKAGE})")
    return ImageFont.truetype(str(path), pixels, layout_engine=ImageFont.Layout.BASIC)


def render_glyph(font, code: int, ascent: int, cell_height: int) -> Glyph:
    """One character: its ink cut out of a canvas, rows 0..cell_height-1 with the baseline
    at row ``ascent``, columns from the ink's left edge."""
    from PIL import Image, ImageDraw

    pad = 8
    canvas = Image.new("L", (4 * PIXELS, cell_height + 2 * pad), 0)
    ImageDraw.Draw(canvas).text((pad, pad + ascent), chr(code), fill=255, font=font, anchor="ls")
    advance = int(round(font.getlength(chr(code))))
    pixels = np.asarray(canvas, dtype=np.uint8)[pad : pad + cell_height]
    columns = np.flatnonzero(pixels.any(axis=0))
    if not len(columns):
        return Glyph(code, 0, 0, advance, np.zeros((cell_height, 0), np.uint8))
    x0, x1 = int(columns[0]), int(columns[-1]) + 1
    return Glyph(code, x0 - pad, x1 - x0, advance, pixels[:, x0:x1].copy())


def render_glyphs(codes: list[int], font=None) -> tuple[list[Glyph], int, int]:
    """Every code's glyph, the baseline row and the cell height (ascent + descent)."""
    font = font if font is not None else load_font()
    ascent, descent = font.getmetrics()
    cell_height = ascent + descent
    return [render_glyph(font, code, ascent, cell_height) for code in codes], ascent, cell_height


# -- the sheets -------------------------------------------------------------------------------
def _morton_table() -> np.ndarray:
    """MORTON[y * 8 + x]: where texel (x, y) of a tile is stored (bits y2 x2 y1 x1 y0 x0)."""
    index = np.zeros(64, np.int64)
    for y in range(8):
        for x in range(8):
            index[y * 8 + x] = sum(((x >> b) & 1) << (2 * b) | ((y >> b) & 1) << (2 * b + 1) for b in range(3))
    return index


MORTON = _morton_table()


def tile_a4(alpha: np.ndarray) -> bytes:
    """A top-down (height, width) alpha picture as an A4 texture: 8x8 tiles, rows of tiles
    from the top, texels in Morton order, 4 bits each (rounded to the nearest 17th)."""
    height, width = alpha.shape
    levels = (alpha.astype(np.uint16) + 8) // 17
    tiles = levels.reshape(height // 8, 8, width // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 64)
    stored = np.empty_like(tiles)
    stored[:, MORTON] = tiles
    return ((stored[:, 0::2] | (stored[:, 1::2] << 4)).astype(np.uint8)).tobytes()


def cell_origin(index: int, per_row: int, cell_width: int, cell_height: int) -> tuple[int, int]:
    """Top-left texel of glyph ``index``'s cell within its sheet (libctru's fontCalcGlyphPos)."""
    line, column = divmod(index, per_row)
    return column * (cell_width + 1) + 1, line * (cell_height + 1) + 1


def build_sheets(glyphs: list[Glyph], cell_width: int, cell_height: int) -> tuple[list[bytes], int, int]:
    """The glyphs laid into A4 sheets; also the glyphs a row and the rows a sheet."""
    per_row = SHEET_WIDTH // (cell_width + 1)
    lines = SHEET_HEIGHT // (cell_height + 1)
    per_sheet = per_row * lines
    count = -(-len(glyphs) // per_sheet)
    pictures = [np.zeros((SHEET_HEIGHT, SHEET_WIDTH), np.uint8) for _ in range(count)]
    for index, glyph in enumerate(glyphs):
        sheet, within = divmod(index, per_sheet)
        x, y = cell_origin(within, per_row, cell_width, cell_height)
        pictures[sheet][y : y + cell_height, x : x + glyph.width] = glyph.alpha
    return [tile_a4(p) for p in pictures], per_row, lines


# -- the maps ---------------------------------------------------------------------------------
def code_maps(codes: list[int]) -> list[CodeMap]:
    """ASCII as a direct run, Latin-1 as a table, the rest as a scan list (glyph indices in
    ``codes`` order); one map of each of libctru's three methods."""
    index = {code: i for i, code in enumerate(codes)}
    maps = [CodeMap(ASCII[0], ASCII[-1], CMAP_DIRECT, struct.pack("<HH", index[ASCII[0]], 0))]
    table = [index.get(code, NO_GLYPH) for code in LATIN1]
    maps.append(CodeMap(LATIN1[0], LATIN1[-1], CMAP_TABLE, struct.pack(f"<{len(table)}H", *table)))
    scan = [(code, index[code]) for code in EXTRAS]
    pairs = b"".join(struct.pack("<HH", code, i) for code, i in scan)
    maps.append(CodeMap(EXTRAS[0], EXTRAS[-1], CMAP_SCAN, struct.pack("<H", len(scan)) + pairs))
    return maps


def _aligned(data: bytearray, to: int = 4) -> None:
    data.extend(b"\0" * (-len(data) % to))


# -- the file ---------------------------------------------------------------------------------
@dataclass
class _Writer:
    """The file as it grows, and the offsets of the pointer fields written so far."""

    out: bytearray = field(default_factory=bytearray)
    pointers: list[int] = field(default_factory=list)

    def section(self, magic: bytes, body: bytes, pointer_fields: tuple[int, ...] = ()) -> int:
        """Append a section (its size covers the padding to 4 bytes); its offset."""
        at = len(self.out)
        self.out += magic + bytes(4) + body
        _aligned(self.out)
        struct.pack_into("<I", self.out, at + 4, len(self.out) - at)
        self.pointers += [at + f for f in pointer_fields]
        return at


def _tglp(w: _Writer, glyphs: list[Glyph], cell_width: int, cell_height: int, baseline: int) -> int:
    """TGLP: its header, padding to SHEET_ALIGN, the sheets (all inside the section)."""
    sheets, per_row, lines = build_sheets(glyphs, cell_width, cell_height)
    at = len(w.out)
    pad = -(at + 0x20) % SHEET_ALIGN
    header = struct.pack("<4B I HH HH HH I", cell_width, cell_height, baseline, max(g.advance for g in glyphs),
                         len(sheets[0]), len(sheets), FORMAT_A4, per_row, lines, SHEET_WIDTH, SHEET_HEIGHT,
                         at + 0x20 + pad)
    return w.section(b"TGLP", header + bytes(pad) + b"".join(sheets), (0x1C,))


def _cwdh(w: _Writer, glyphs: list[Glyph]) -> int:
    """One CWDH for every glyph (first and last index, no next)."""
    widths = b"".join(struct.pack("<bBB", g.left, g.width, g.advance) for g in glyphs)
    return w.section(b"CWDH", struct.pack("<HHI", 0, len(glyphs) - 1, 0) + widths, (0x0C,))


def _cmaps(w: _Writer, maps: list[CodeMap]) -> list[int]:
    """The CMAPs, each pointing at the next (the last at nothing)."""
    starts = [w.section(b"CMAP", struct.pack("<HHHHI", m.first, m.last, m.method, 0, 0) + m.data, (0x10,))
              for m in maps]
    for here, following in zip(starts, starts[1:], strict=False):
        struct.pack_into("<I", w.out, here + 0x10, following + 8)
    return starts


def build(font=None) -> FontFile:
    """The BCFNT of ASCII, Latin-1 and EXTRAS in DejaVu Sans (or ``font``, a Pillow font)."""
    codes = [*ASCII, *LATIN1, *EXTRAS]
    glyphs, baseline, cell_height = render_glyphs(codes, font)
    cell_width = max(g.width for g in glyphs)
    alternate = codes.index(REPLACEMENT)
    default = glyphs[alternate]
    w = _Writer(bytearray(0x14 + 0x20))  # the CFNT header and FINF, written once the rest is
    tglp = _tglp(w, glyphs, cell_width, cell_height, baseline)
    cwdh = _cwdh(w, glyphs)
    cmaps = _cmaps(w, code_maps(codes))
    finf = 0x14
    struct.pack_into("<4sIBBH3BB III BBBB", w.out, finf, b"FINF", 0x20, FONT_TYPE, cell_height, alternate,
                     default.left & 0xFF, default.width, default.advance, ENCODING_UTF16,
                     tglp + 8, cwdh + 8, cmaps[0] + 8, cell_height, cell_width, baseline, 0)
    w.pointers += [finf + 0x10, finf + 0x14, finf + 0x18]
    sections = 3 + len(cmaps)  # FINF, TGLP, CWDH, the CMAPs
    struct.pack_into("<4sHHIII", w.out, 0, b"CFNT", 0xFEFF, 0x14, VERSION, len(w.out), sections)
    return FontFile(bytes(w.out), sorted(w.pointers), glyphs, cell_width, cell_height, baseline)


@functools.cache
def system_font() -> FontFile:
    """The system font, made once a process (see the module docstring for what it holds)."""
    return build()


def versions() -> str:
    """What made the font's pixels (another FreeType or DejaVu may move one)."""
    import PIL
    from PIL import features

    return f"Pillow {PIL.__version__}, FreeType {features.version('freetype2')}, {FONT_FILE.name}"
