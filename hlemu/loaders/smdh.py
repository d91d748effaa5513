"""SMDH, the icon and titles a 3DS title (or a 3DSX) carries; parsed and built here.

Layout (3dbrew "SMDH"; the same struct as 3dstools' ``smdhtool.cpp``), little-endian,
0x36C0 bytes:

    0x0000  4       magic "SMDH"
    0x0004  2       version
    0x0006  2       reserved
    0x0008  0x2000  16 application titles of 0x200 bytes each: short description
                    (0x80, UTF-16), long description (0x100), publisher (0x80)
    0x2008  0x30    application settings (ratings, region lockout, flags, ...)
    0x2038  0x8     reserved
    0x2040  0x480   small icon, 24x24 RGB565
    0x24C0  0x1200  large icon, 48x48 RGB565

Title languages, in order (3dbrew): Japanese, English, French, German, Italian,
Spanish, Simplified Chinese, Korean, Dutch, Portuguese, Russian, Traditional Chinese;
the last four slots are unused. Icons are stored as 8x8 tiles left to right, top to
bottom, and the 64 pixels of a tile in Morton (Z) order: pixel bit 0/2/4 of the index
is x bit 0/1/2 and bit 1/3/5 is y bit 0/1/2 (the order smdhtool and hbmenu use).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

SMDH_MAGIC = b"SMDH"
SMDH_SIZE = 0x36C0
TITLES_OFFSET = 0x8
TITLE_SIZE = 0x200
TITLE_COUNT = 16
SHORT_SIZE, LONG_SIZE, PUBLISHER_SIZE = 0x80, 0x100, 0x80
SMALL_ICON_OFFSET, SMALL_ICON_SIDE = 0x2040, 24
LARGE_ICON_OFFSET, LARGE_ICON_SIDE = 0x24C0, 48
# Application settings as smdhtool fills them: every rating board "no restriction", every
# region, flags visible | region rating used | record usage.
SETTINGS_OFFSET = 0x2008
REGION_LOCKOUT_OFFSET, SETTINGS_FLAGS_OFFSET = 0x2018, 0x2028
RATING_BOARDS = (0, 1, 3, 4, 6, 7, 8, 9, 10)  # CERO, ESRB, USK, PEGI GEN/PRT/BBFC, COB, GRB, CGSRR
RATING_NO_RESTRICTION = 0x80 | 0x20  # enabled | no restriction
REGION_ALL = 0xFFFFFFFF
FLAGS_VISIBLE, FLAGS_REGION_RATING_USED, FLAGS_RECORD_USAGE = 0x1, 0x40, 0x100
LANGUAGES = ("Japanese", "English", "French", "German", "Italian", "Spanish", "Simplified Chinese",
             "Korean", "Dutch", "Portuguese", "Russian", "Traditional Chinese")
ENGLISH = 1


class SmdhError(ValueError):
    """A malformed SMDH; the 3DSX loader turns it into a LoaderError naming the file."""


@dataclass(frozen=True)
class Title:
    short: str
    long: str
    publisher: str


@dataclass(frozen=True)
class Smdh:
    """A parsed SMDH. Icons are row-major RGB888 bytes (side x side x 3); see :meth:`icon`."""

    version: int
    titles: tuple[Title, ...]  # all 16 slots, in the language order above
    large_icon: bytes
    small_icon: bytes

    @property
    def title(self) -> Title:
        """English when it is set, else the first language whose short title is set."""
        if self.titles[ENGLISH].short:
            return self.titles[ENGLISH]
        return next((t for t in self.titles if t.short), Title("", "", ""))

    @property
    def short_title(self) -> str:
        return self.title.short

    @property
    def long_title(self) -> str:
        return self.title.long

    @property
    def publisher(self) -> str:
        return self.title.publisher

    def icon(self, large: bool = True) -> np.ndarray:
        """The icon as a (side, side, 3) uint8 RGB array."""
        side = LARGE_ICON_SIDE if large else SMALL_ICON_SIDE
        pixels = self.large_icon if large else self.small_icon
        return np.frombuffer(pixels, dtype=np.uint8).reshape(side, side, 3)


def _morton_order() -> np.ndarray:
    """(x, y) within an 8x8 tile of the tile's n-th stored pixel."""
    index = np.arange(64)
    x = (index & 1) | ((index >> 1) & 2) | ((index >> 2) & 4)
    y = ((index >> 1) & 1) | ((index >> 2) & 2) | ((index >> 3) & 4)
    return np.stack([x, y], axis=1)


_TILE_ORDER = _morton_order()


def _pixel_positions(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every stored pixel of a tiled side x side image, in storage order."""
    tiles = side // 8
    tile = np.arange(tiles * tiles)
    tile_x, tile_y = (tile % tiles) * 8, (tile // tiles) * 8
    cols = (tile_x[:, None] + _TILE_ORDER[None, :, 0]).ravel()
    rows = (tile_y[:, None] + _TILE_ORDER[None, :, 1]).ravel()
    return rows, cols


def decode_icon(raw: bytes, side: int) -> np.ndarray:
    """Tiled RGB565 (``side * side * 2`` bytes) to a (side, side, 3) uint8 RGB array."""
    words = np.frombuffer(raw, dtype="<u2", count=side * side).astype(np.uint16)
    r5, g6, b5 = (words >> 11) & 0x1F, (words >> 5) & 0x3F, words & 0x1F
    # Widen 5 and 6 bits to 8 by repeating the top bits, so white stays 255.
    rgb = np.stack([(r5 << 3) | (r5 >> 2), (g6 << 2) | (g6 >> 4), (b5 << 3) | (b5 >> 2)], axis=1)
    out = np.zeros((side, side, 3), dtype=np.uint8)
    rows, cols = _pixel_positions(side)
    out[rows, cols] = rgb.astype(np.uint8)
    return out


def encode_icon(rgb: np.ndarray) -> bytes:
    """A (side, side, 3) uint8 RGB array to tiled RGB565 (the inverse of :func:`decode_icon`)."""
    side = rgb.shape[0]
    if rgb.shape != (side, side, 3) or side % 8:
        raise SmdhError(f"an icon must be square RGB with a side that is a multiple of 8, not {rgb.shape}")
    rows, cols = _pixel_positions(side)
    pixels = rgb[rows, cols].astype(np.uint16)
    words = ((pixels[:, 0] >> 3) << 11) | ((pixels[:, 1] >> 2) << 5) | (pixels[:, 2] >> 3)
    return words.astype("<u2").tobytes()


def _utf16(raw: bytes) -> str:
    text = raw.decode("utf-16-le", errors="replace")
    return text.split("\0", 1)[0]


def parse_smdh(data: bytes) -> Smdh:
    """Parse an SMDH; :class:`SmdhError` says what is wrong."""
    if len(data) < SMDH_SIZE:
        raise SmdhError(f"SMDH is {len(data)} bytes, expected {SMDH_SIZE:#x}")
    if data[:4] != SMDH_MAGIC:
        raise SmdhError(f"SMDH magic is {data[:4]!r}, expected {SMDH_MAGIC!r}")
    (version,) = struct.unpack_from("<H", data, 4)
    titles = []
    for i in range(TITLE_COUNT):
        at = TITLES_OFFSET + i * TITLE_SIZE
        titles.append(Title(_utf16(data[at:at + SHORT_SIZE]),
                            _utf16(data[at + SHORT_SIZE:at + SHORT_SIZE + LONG_SIZE]),
                            _utf16(data[at + SHORT_SIZE + LONG_SIZE:at + TITLE_SIZE])))
    small = decode_icon(data[SMALL_ICON_OFFSET:], SMALL_ICON_SIDE)
    large = decode_icon(data[LARGE_ICON_OFFSET:], LARGE_ICON_SIDE)
    return Smdh(version=version, titles=tuple(titles), large_icon=large.tobytes(), small_icon=small.tobytes())


def _field(text: str, size: int, what: str) -> bytes:
    raw = text.encode("utf-16-le")
    if len(raw) > size - 2:  # keep a terminating NUL
        raise SmdhError(f"{what} {text!r} is longer than {size // 2 - 1} UTF-16 units")
    return raw.ljust(size, b"\0")


def _shrink(large: np.ndarray) -> np.ndarray:
    """48x48 to 24x24 by averaging each 2x2 block, rounding to nearest (as smdhtool does)."""
    blocks = large.astype(np.uint16).reshape(SMALL_ICON_SIDE, 2, SMALL_ICON_SIDE, 2, 3)
    return ((blocks.sum(axis=(1, 3)) + 2) // 4).astype(np.uint8)


def build_smdh(short: str, long: str = "", publisher: str = "", icon: np.ndarray | None = None) -> bytes:
    """An SMDH with the same title in every language slot (as smdhtool writes) and an icon:
    ``icon`` is a 48x48x3 uint8 RGB array (default: mid grey); the small icon is derived."""
    if icon is None:
        icon = np.full((LARGE_ICON_SIDE, LARGE_ICON_SIDE, 3), 0x80, dtype=np.uint8)
    icon = np.asarray(icon, dtype=np.uint8)
    if icon.shape != (LARGE_ICON_SIDE, LARGE_ICON_SIDE, 3):
        raise SmdhError(f"the icon must be 48x48 RGB, not {icon.shape}")
    title = (_field(short, SHORT_SIZE, "short title") + _field(long, LONG_SIZE, "long title")
             + _field(publisher, PUBLISHER_SIZE, "publisher"))
    out = bytearray(SMDH_SIZE)
    out[0:4] = SMDH_MAGIC
    for i in range(TITLE_COUNT):
        at = TITLES_OFFSET + i * TITLE_SIZE
        out[at:at + TITLE_SIZE] = title
    for board in RATING_BOARDS:
        out[SETTINGS_OFFSET + board] = RATING_NO_RESTRICTION
    struct.pack_into("<I", out, REGION_LOCKOUT_OFFSET, REGION_ALL)
    struct.pack_into("<I", out, SETTINGS_FLAGS_OFFSET, FLAGS_VISIBLE | FLAGS_REGION_RATING_USED | FLAGS_RECORD_USAGE)
    out[SMALL_ICON_OFFSET:LARGE_ICON_OFFSET] = encode_icon(_shrink(icon))
    out[LARGE_ICON_OFFSET:SMDH_SIZE] = encode_icon(icon)
    return bytes(out)
