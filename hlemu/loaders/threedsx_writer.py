"""Write 3DSX files: from the project's ELFs, as devkitPro's 3dsxtool does, or from parts.

    python -m hlemu.loaders.threedsx_writer hello.elf hello.3dsx --title Hello --publisher hlemu
    python -m hlemu.loaders.threedsx_writer game.elf game.3dsx --romfs assets/  # a RomFS built from a folder

The ELF must be laid out as 3dsxtool requires (and the SDK's ``link.ld`` does): loadable
segments code (R-X), rodata (R) and data (RW, the only one with bss), in that order, each
starting at the page-rounded end of the one before, word-aligned sizes, entry point at the
first code word.

Relocations. The loader puts code at 0x00100000, where the SDK links it, so a program
linked there runs from a 3DSX with no relocation entries at all: every address it holds is
already right. That is what the bundled ELFs get (they carry no relocation sections, so
there is nothing to find; a 3DSX loader that placed code elsewhere could not move them).
An ELF linked with ``-Wl,--emit-relocs`` keeps its ``SHT_REL`` sections, and then the
writer does what 3dsxtool does: each R_ARM_ABS32/TARGET1 word becomes an absolute entry
(its value minus the base address; unbound weak symbols stay 0), each R_ARM_REL32/TARGET2/
PREL31/TLS_IE32 whose target lies in another segment becomes a relative entry (the target's
offset, with subtype 1 in the top 4 bits for PREL31); relative references within a segment
need nothing. An ELF linked elsewhere without relocations is refused: it cannot run at
0x00100000.

This module lives beside the loader, not in ``scripts/``, so that the tests, a build script
and a future ``hlemu`` command share one 3DSX codec with it.
"""

from __future__ import annotations

import argparse
import io
import struct
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection
from elftools.elf.sections import Symbol, SymbolTableSection

from hlemu.loaders.romfs import RomfsError, build_romfs
from hlemu.loaders.smdh import SmdhError, build_smdh
from hlemu.loaders.threedsx import EXTENDED, EXTENDED_HEADER_SIZE, HEADER, HEADER_SIZE, IMAGE_BASE, MAGIC, page_round

RELOC_HEADER_SIZE = 8  # absolute and relative counts
MAX_RUN = 0xFFFF
R_ARM_ABS32, R_ARM_REL32, R_ARM_TARGET1, R_ARM_TARGET2, R_ARM_PREL31, R_ARM_TLS_IE32 = 2, 3, 38, 41, 42, 107
ABSOLUTE_TYPES = {R_ARM_ABS32, R_ARM_TARGET1}
RELATIVE_TYPES = {R_ARM_REL32, R_ARM_TARGET2, R_ARM_PREL31, R_ARM_TLS_IE32}
PREL31_SUBTYPE = 1 << 28
SEGMENT_FLAGS = {5: 0, 4: 1, 6: 2}  # p_flags (R|X, R, R|W) -> code, rodata, data


class ConvertError(ValueError):
    """An ELF that 3dsxtool would refuse too; the message says why."""


@dataclass
class Program:
    """What a 3DSX holds: the stored bytes (relocated words hold image offsets) and, per
    segment, the word indices of its absolute and relative relocations."""

    code: bytes
    rodata: bytes = b""
    data: bytes = b""
    bss_size: int = 0
    absolute: tuple[set[int], set[int], set[int]] = field(default_factory=lambda: (set(), set(), set()))
    relative: tuple[set[int], set[int], set[int]] = field(default_factory=lambda: (set(), set(), set()))


def runs(sites: Iterable[int], words: int) -> list[tuple[int, int]]:
    """(skip, patch) entries covering the word indices ``sites`` of a segment of ``words``
    words, each count at most 0xFFFF, no empty trailing entry (3dsxtool's BuildRelocs)."""
    marked = sorted(set(sites))
    out: list[tuple[int, int]] = []
    pos, i = 0, 0
    while i < len(marked):
        start = marked[i]
        end = start + 1
        while i + 1 < len(marked) and marked[i + 1] == end:
            i, end = i + 1, end + 1
        i += 1
        skip, patch = start - pos, end - start
        while skip > MAX_RUN:
            out.append((MAX_RUN, 0))
            skip -= MAX_RUN
        while patch > MAX_RUN:
            out.append((skip, MAX_RUN))
            skip, patch = 0, patch - MAX_RUN
        out.append((skip, patch))
        pos = end
    if marked and marked[-1] >= words:
        raise ConvertError(f"relocation at word {marked[-1]} is past the segment's {words} words")
    return out


def build_3dsx(program: Program, smdh: bytes | None = None, romfs: bytes | None = None,
               tables: Sequence[Sequence[Sequence[tuple[int, int]]]] | None = None,
               reloc_header_size: int = RELOC_HEADER_SIZE) -> bytes:
    """Assemble a 3DSX. ``tables`` overrides the relocation tables ([segment][table] lists of
    (skip, patch), any number of tables: for tests of extra tables and malformed runs);
    ``reloc_header_size`` must then be 4 times the tables per segment."""
    contents = (program.code, program.rodata, program.data)
    if tables is None:
        tables = [[runs(program.absolute[i], len(c) // 4), runs(program.relative[i], len(c) // 4)]
                  for i, c in enumerate(contents)]
    extended = smdh is not None or romfs is not None
    header = HEADER.pack(MAGIC, EXTENDED_HEADER_SIZE if extended else HEADER_SIZE, reloc_header_size, 0, 0,
                         len(program.code), len(program.rodata), len(program.data) + program.bss_size,
                         program.bss_size)
    body = bytearray(header + bytes(EXTENDED.size if extended else 0))
    for segment_tables in tables:
        counts = [len(t) for t in segment_tables]
        body += struct.pack(f"<{len(counts)}I", *counts).ljust(reloc_header_size, b"\0")
    for content in contents:
        body += content
    for segment_tables in tables:
        for table in segment_tables:
            body += b"".join(struct.pack("<HH", skip, patch) for skip, patch in table)
    smdh_at = len(body) if smdh else 0
    body += smdh or b""
    if extended:
        body += bytes(-len(body) % 4)  # RomFS 4-aligned, as 3dsxtool places it
    romfs_at = len(body) if romfs is not None else 0
    body += romfs or b""
    if extended:
        EXTENDED.pack_into(body, HEADER_SIZE, smdh_at, len(smdh or b""), romfs_at)
    return bytes(body)


@dataclass
class _Layout:
    base: int
    top: int
    starts: list[int]  # vaddr of code, rodata, data
    sizes: list[int]  # p_memsz
    memory: bytearray  # [base, top) as loaded


def _layout(elf: ELFFile, where: str) -> tuple[_Layout, int]:
    """The ELF's segments checked as 3dsxtool checks them; returns the layout and bss size."""
    starts, sizes, found = [0, 0, 0], [0, 0, 0], [False, False, False]
    pieces: list[tuple[int, bytes]] = []
    base, top, bss = -1, 0, 0
    for seg in elf.iter_segments():
        if seg["p_type"] != "PT_LOAD" or not seg["p_memsz"]:
            continue
        vaddr, memsz, filesz, flags = seg["p_vaddr"], seg["p_memsz"], seg["p_filesz"], seg["p_flags"]
        if base < 0:
            base = vaddr
        elif vaddr != top:
            raise ConvertError(f"{where}: segment at {vaddr:#x} does not start at the page-rounded end of the "
                               f"one before ({top:#x})")
        if memsz % 4 or filesz % 4:
            raise ConvertError(f"{where}: segment at {vaddr:#x} has sizes that are not whole words")
        index = SEGMENT_FLAGS.get(flags & 7)
        if index is None:
            raise ConvertError(f"{where}: segment at {vaddr:#x} has flags {flags:#x}, not R-X, R or RW")
        if found[index] or any(found[index + 1:]):
            raise ConvertError(f"{where}: segments must be code, rodata, data, once each and in that order")
        if index != 2 and memsz != filesz:
            raise ConvertError(f"{where}: only the data segment can have bss")
        found[index], starts[index], sizes[index] = True, vaddr, memsz
        if index == 2:
            bss = memsz - filesz
        pieces.append((vaddr, seg.data()))
        top = vaddr + page_round(memsz)
    if not found[0]:
        raise ConvertError(f"{where}: no code segment")
    if elf.header["e_entry"] != base:
        raise ConvertError(f"{where}: the entry point {elf.header['e_entry']:#x} is not the start of the code "
                           f"segment ({base:#x})")
    # A missing segment has no pages: it starts where the next one does.
    starts[1] = starts[1] if found[1] else base + page_round(sizes[0])
    starts[2] = starts[2] if found[2] else starts[1] + page_round(sizes[1])
    memory = bytearray(top - base)
    for vaddr, content in pieces:
        memory[vaddr - base:vaddr - base + len(content)] = content
    return _Layout(base, top, starts, sizes, memory), bss


def _segment_of(layout: _Layout, address: int) -> int:
    """Which segment an address is in, by the page-rounded layout (3dsxtool's rodataStart and
    dataStart); the image's end counts as data."""
    return 0 if address < layout.starts[1] else 1 if address < layout.starts[2] else 2


def _scan(elf: ELFFile, layout: _Layout, where: str) -> tuple[set[int], set[int]]:
    """Rewrite relocated words in ``layout.memory`` and return the absolute and relative
    sites as byte offsets from the base."""
    absolute: set[int] = set()
    relative: set[int] = set()
    for section in elf.iter_sections():
        if section["sh_type"] == "SHT_RELA":
            raise ConvertError(f"{where}: RELA relocation section {section.name} is not supported")
        if not isinstance(section, RelocationSection) or section["sh_type"] != "SHT_REL":
            continue
        target = elf.get_section(section["sh_info"])
        if not target["sh_flags"] & 2:  # SHF_ALLOC: relocations of debug sections do not matter
            continue
        symbols = elf.get_section(section["sh_link"])
        lo, hi = target["sh_addr"], target["sh_addr"] + target["sh_size"]
        for rel in section.iter_relocations():
            _one(rel, symbols, lo, hi, layout, absolute, relative, where)
    for symbol in _symbols(elf):
        if symbol.name.startswith("__") and symbol.name.endswith("_from_arm"):
            site = symbol["st_value"] + 8 - layout.base  # ld's interworking veneer holds an absolute address
            if 0 <= site < len(layout.memory) and site not in relative:
                absolute.add(site)
    return absolute, relative


def _symbols(elf: ELFFile) -> list[Symbol]:
    table = elf.get_section_by_name(".symtab")
    return list(table.iter_symbols()) if isinstance(table, SymbolTableSection) else []


def _one(rel, symbols, lo: int, hi: int, layout: _Layout, absolute: set[int], relative: set[int],
         where: str) -> None:
    source, kind = rel["r_offset"], rel["r_info_type"]
    if source % 4 and kind in ABSOLUTE_TYPES | RELATIVE_TYPES:
        raise ConvertError(f"{where}: unaligned relocation at {source:#x}")
    site = source - layout.base
    if not lo <= source < hi or site in absolute or site in relative or not 0 <= site < len(layout.memory):
        return
    (word,) = struct.unpack_from("<I", layout.memory, site)
    symbol = symbols.get_symbol(rel["r_info_sym"])
    if kind in ABSOLUTE_TYPES:
        if symbol["st_info"]["bind"] == "STB_WEAK" and symbol["st_value"] == 0:
            return  # an unbound weak symbol stays 0
        if not layout.base <= word <= layout.top:
            raise ConvertError(f"{where}: absolute relocation at {source:#x} points outside the image ({word:#x})")
        absolute.add(site)
        struct.pack_into("<I", layout.memory, site, word - layout.base)
    elif kind in RELATIVE_TYPES:
        if kind == R_ARM_PREL31:
            if word & 0x80000000:
                return  # an EXIDX_CANTUNWIND or inline table entry, not an offset
            word = word | 0x80000000 if word & 0x40000000 else word
        offset = word - (1 << 32) if word & 0x80000000 else word
        destination = source + offset
        if not layout.base <= destination <= layout.top:
            raise ConvertError(f"{where}: relative relocation at {source:#x} points outside the image "
                               f"({destination & 0xFFFFFFFF:#x})")
        if _segment_of(layout, destination) != _segment_of(layout, source):
            relative.add(site)
            stored = destination - layout.base
            struct.pack_into("<I", layout.memory, site, stored | (PREL31_SUBTYPE if kind == R_ARM_PREL31 else 0))


def elf_to_program(elf_bytes: bytes, where: str = "elf") -> Program:
    """The 3DSX contents of an ELF, as 3dsxtool makes them."""
    try:
        elf = ELFFile(io.BytesIO(elf_bytes))
        if elf.elfclass != 32 or not elf.little_endian or elf.header["e_machine"] != "EM_ARM":
            raise ConvertError(f"{where}: not a 32-bit little-endian ARM ELF")
        if elf.header["e_type"] != "ET_EXEC":
            raise ConvertError(f"{where}: not an executable (ET_EXEC)")
        layout, bss = _layout(elf, where)
        has_relocations = any(s["sh_type"] == "SHT_REL" for s in elf.iter_sections())
        if not has_relocations and layout.base != IMAGE_BASE:
            raise ConvertError(f"{where}: linked at {layout.base:#x} without relocations (link with "
                               f"-Wl,--emit-relocs), so it cannot run at {IMAGE_BASE:#x}")
        absolute, relative = _scan(elf, layout, where)
    except ConvertError:
        raise
    except (ELFError, ValueError, KeyError, IndexError, EOFError, struct.error) as exc:
        raise ConvertError(f"{where}: malformed ELF: {exc}") from None
    return _split(layout, bss, absolute, relative)


def _split(layout: _Layout, bss: int, absolute: set[int], relative: set[int]) -> Program:
    offsets = [start - layout.base for start in layout.starts]
    loaded = [layout.sizes[0], layout.sizes[1], layout.sizes[2] - bss]
    parts = [bytes(layout.memory[o:o + n]) for o, n in zip(offsets, loaded, strict=True)]

    def by_segment(sites: set[int]) -> tuple[set[int], set[int], set[int]]:
        out: tuple[set[int], set[int], set[int]] = (set(), set(), set())
        for site in sites:
            index = _segment_of(layout, layout.base + site)
            out[index].add((site - offsets[index]) // 4)
        return out

    return Program(parts[0], parts[1], parts[2], bss, by_segment(absolute), by_segment(relative))


def elf_to_3dsx(elf_bytes: bytes, smdh: bytes | None = None, romfs: bytes | None = None,
                where: str = "elf") -> bytes:
    return build_3dsx(elf_to_program(elf_bytes, where), smdh=smdh, romfs=romfs)


def _icon(path: str):
    from PIL import Image as PilImage  # only the command line needs Pillow

    with PilImage.open(path) as picture:
        if picture.size != (48, 48):
            raise ConvertError(f"{path}: the icon must be 48x48 pixels, not {picture.size[0]}x{picture.size[1]}")
        return np.asarray(picture.convert("RGB"), dtype=np.uint8)


def _romfs(path: str) -> bytes:
    """A folder becomes a RomFS image; a file is taken as one already built."""
    return build_romfs(path) if Path(path).is_dir() else Path(path).read_bytes()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hlemu.loaders.threedsx_writer", description=__doc__.split("\n")[0])
    parser.add_argument("elf", help="input ELF (linked at 0x00100000, e.g. hlemu/guest/bin/hello.elf)")
    parser.add_argument("output", help="output .3dsx")
    parser.add_argument("--title", help="SMDH short title (embeds an SMDH)")
    parser.add_argument("--description", default="", help="SMDH long title")
    parser.add_argument("--publisher", default="", help="SMDH publisher")
    parser.add_argument("--icon", help="48x48 image for the SMDH icon")
    parser.add_argument("--smdh", help="embed this SMDH file instead of building one")
    parser.add_argument("--romfs", metavar="DIR_OR_IMAGE",
                        help="embed a RomFS: built from this folder (hlemu.loaders.romfs), or this image file")
    args = parser.parse_args(argv)
    try:
        elf = Path(args.elf).read_bytes()
        smdh = Path(args.smdh).read_bytes() if args.smdh else None
        if smdh is None and (args.title or args.icon):
            smdh = build_smdh(args.title or Path(args.elf).stem, args.description, args.publisher,
                              _icon(args.icon) if args.icon else None)
        romfs = _romfs(args.romfs) if args.romfs else None
        Path(args.output).write_bytes(elf_to_3dsx(elf, smdh, romfs, where=args.elf))
    except (OSError, ConvertError, SmdhError, RomfsError) as exc:
        print(f"threedsx_writer: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
