#!/usr/bin/env python3
"""Write hlemu's system font (hlemu/font/bcfnt.py) to a file, to look at it with other tools.

hlemu makes the font at run time, the first time a program calls APT GetSharedFont; nothing
is committed. This writes the same bytes as a plain BCFNT (magic CFNT, pointers as file
offsets, as tex3ds's mkbcfnt writes fonts a program loads and fixes with fontFixPointers)::

    python scripts/gen_bcfnt.py system.bcfnt                 # the font file
    python scripts/gen_bcfnt.py system.bcfnt --sheets sheet  # also sheet0.png, sheet1.png

and says how long the font took to make, its size, and the Pillow, FreeType and DejaVu
versions that made its pixels.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hlemu.font import bcfnt  # noqa: E402 - the repository is put on the path first


def sheet_pictures(font: bcfnt.FontFile) -> list:
    """Each sheet as a Pillow picture: white glyphs, their alpha as coverage, on black."""
    from PIL import Image

    per_row = bcfnt.SHEET_WIDTH // (font.cell_width + 1)
    per_sheet = per_row * (bcfnt.SHEET_HEIGHT // (font.cell_height + 1))
    pictures = []
    for first in range(0, len(font.glyphs), per_sheet):
        picture = Image.new("L", (bcfnt.SHEET_WIDTH, bcfnt.SHEET_HEIGHT), 0)
        for index, glyph in enumerate(font.glyphs[first : first + per_sheet]):
            if glyph.width:
                x, y = bcfnt.cell_origin(index, per_row, font.cell_width, font.cell_height)
                picture.paste(Image.fromarray(glyph.alpha), (x, y))
        pictures.append(picture)
    return pictures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path, help="the .bcfnt file to write")
    parser.add_argument("--sheets", metavar="PREFIX", help="also write the sheets as PREFIX0.png, PREFIX1.png, ...")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        font = bcfnt.build()
    except bcfnt.FontMissing as error:
        print(f"gen_bcfnt: {error}", file=sys.stderr)
        return 1
    took = time.perf_counter() - started
    args.output.write_bytes(font.data)
    print(f"{args.output}: {len(font.data)} bytes, {len(font.glyphs)} glyphs, made in {took:.3f} s "
          f"({bcfnt.versions()})")
    if args.sheets:
        for number, picture in enumerate(sheet_pictures(font)):
            path = Path(f"{args.sheets}{number}.png")
            picture.save(path)
            print(f"{path}: sheet {number}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
