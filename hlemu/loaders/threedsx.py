"""3DSX, the homebrew executable format (3dbrew "3DSX Format"), loaded at 0x00100000.

File layout, little-endian (3dbrew; devkitPro 3dstools ``3dsxtool.cpp`` writes it and
``3dsx_loader.cpp``, like Luma3DS's ``sysmodules/loader/source/3dsx.c``, reads it):

    0x00  "3DSX", u16 header size (0x20, or 0x2C with the extended header),
          u16 relocation header size (8), u32 format version (0), u32 flags (0),
          u32 code size, u32 rodata size, u32 data size (including bss), u32 bss size
    0x20  extended header, if the header size says so: u32 SMDH offset, u32 SMDH size,
          u32 RomFS offset (0: none; the RomFS runs to the end of the file)
    then  at the header size: one relocation header per segment (code, rodata, data), each
          of ``relocation header size / 4`` u32 counts: absolute, relative, and any later
          tables a newer tool may add, which loaders skip
    then  the code, the rodata and the loaded part of data (data size - bss size) bytes
    then  per segment, per table: ``count`` entries of (u16 words to skip, u16 words to patch)

The loader places the segments contiguously from 0x00100000, each rounded up to whole
pages, with the bss zeroed after data. A patched word holds an offset into that layout in
its low 28 bits (3dsxtool subtracts the ELF's base address; its ELF segments must start at
the previous one's page-rounded end, so the offsets use the same page-rounded sizes) and a
subtype in its top 4 bits. The offset is translated by segment: below the rounded code size
it is in code, below rounded code + rodata in rodata, else in data. An absolute relocation
(subtype 0) stores the translated address; a relative one stores the translated address
minus the patched word's own address, as 32 bits (subtype 0) or, for ARM's PREL31 in
exception tables, 31 bits with bit 31 cleared (subtype 1). With contiguous placement the
translation is the base plus the offset; it is done by segment so another placement works.

Unlike the console's loaders, which skip what they cannot patch, every malformed field
here is a :class:`LoaderError` naming the file and the problem.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hlemu.loaders.image import Image, LoaderError, Segment
from hlemu.loaders.smdh import Smdh, SmdhError, parse_smdh
from hlemu.memory.constants import PAGE_SIZE, MemoryPermission

MAGIC = b"3DSX"
HEADER_SIZE = 0x20
EXTENDED_HEADER_SIZE = 0x2C
HEADER = struct.Struct("<4sHHIIIIII")
EXTENDED = struct.Struct("<III")
RELOC_ENTRY = 4  # u16 skip, u16 patch
KNOWN_TABLES = ("absolute", "relative")
# Luma3DS keeps the three relocation headers in one page: 3 * size <= 0x1000.
MAX_RELOC_HEADER_SIZE = 0x1000 // 3 // 4 * 4
IMAGE_BASE = 0x00100000
IMAGE_END = 0x04000000  # end of the program image area
SEGMENT_NAMES = ("code", "rodata", "data")
SEGMENT_PERMS = (MemoryPermission.R | MemoryPermission.X, MemoryPermission.R,
                 MemoryPermission.R | MemoryPermission.W)
OFFSET_MASK = 0x0FFFFFFF
SUBTYPE_SHIFT = 28


def page_round(size: int) -> int:
    return (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


@dataclass(frozen=True)
class Header:
    header_size: int
    reloc_header_size: int
    version: int
    flags: int
    code_size: int
    rodata_size: int
    data_size: int  # including bss
    bss_size: int
    smdh_offset: int = 0
    smdh_size: int = 0
    romfs_offset: int = 0

    @property
    def sizes(self) -> tuple[int, int, int]:
        return self.code_size, self.rodata_size, self.data_size

    @property
    def rounded(self) -> tuple[int, int, int]:
        code, rodata, data = self.sizes
        return page_round(code), page_round(rodata), page_round(data)


@dataclass(frozen=True)
class ThreeDsx:
    """A 3DSX file taken apart, relocations not yet applied."""

    header: Header
    counts: tuple[tuple[int, ...], ...]  # per segment: the count of every relocation table
    contents: tuple[bytes, bytes, bytes]  # the file bytes of code, rodata, data (without bss)
    relocations: tuple[tuple[tuple[tuple[int, int], ...], ...], ...]  # [segment][known table] (skip, patch)
    end: int  # file offset just past the relocation tables
    file_size: int
    smdh: Smdh | None


def _u32s(data: bytes, at: int, count: int) -> tuple[int, ...]:
    return struct.unpack_from(f"<{count}I", data, at)


def _header(data: bytes, where: str) -> Header:
    if len(data) < HEADER_SIZE:
        raise LoaderError(f"{where}: truncated 3DSX header ({len(data)} of {HEADER_SIZE:#x} bytes)")
    magic, hsize, rsize, version, flags, code, rodata, dsize, bss = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise LoaderError(f"{where}: not a 3DSX (magic {magic!r})")
    if hsize != HEADER_SIZE and hsize < EXTENDED_HEADER_SIZE:
        raise LoaderError(f"{where}: bad 3DSX header size {hsize:#x} (expected {HEADER_SIZE:#x}, "
                          f"or at least {EXTENDED_HEADER_SIZE:#x} with the extended header)")
    if hsize > len(data):
        raise LoaderError(f"{where}: truncated 3DSX header ({len(data)} of {hsize:#x} bytes)")
    if rsize % 4 or rsize > MAX_RELOC_HEADER_SIZE:
        raise LoaderError(f"{where}: bad relocation header size {rsize:#x} (a multiple of 4, at most "
                          f"{MAX_RELOC_HEADER_SIZE:#x})")
    extended = EXTENDED.unpack_from(data, HEADER_SIZE) if hsize >= EXTENDED_HEADER_SIZE else (0, 0, 0)
    header = Header(hsize, rsize, version, flags, code, rodata, dsize, bss, *extended)
    _check_sizes(header, where)
    return header


def _check_sizes(header: Header, where: str) -> None:
    if header.bss_size > header.data_size:
        raise LoaderError(f"{where}: bss of {header.bss_size:#x} bytes is larger than the data segment "
                          f"({header.data_size:#x} bytes including bss)")
    if header.code_size == 0:
        raise LoaderError(f"{where}: the code segment is empty (the entry point is its first word)")
    total = sum(header.rounded)
    if total > IMAGE_END - IMAGE_BASE:
        raise LoaderError(f"{where}: segments of {total:#x} bytes (code {header.code_size:#x}, rodata "
                          f"{header.rodata_size:#x}, data {header.data_size:#x}) overflow the image area "
                          f"{IMAGE_BASE:#010x}-{IMAGE_END:#010x}")


def _take(data: bytes, at: int, size: int, what: str, where: str) -> bytes:
    if at + size > len(data):
        raise LoaderError(f"{where}: truncated {what} ({max(0, len(data) - at):#x} of {size:#x} bytes "
                          f"at file offset {at:#x})")
    return data[at:at + size]


def parse_3dsx(data: bytes, where: str = "3dsx") -> ThreeDsx:
    """Take a 3DSX apart and check every field; relocations are checked when applied."""
    header = _header(data, where)
    tables = header.reloc_header_size // 4
    at = header.header_size
    counts = []
    for name in SEGMENT_NAMES:
        raw = _take(data, at, header.reloc_header_size, f"{name} relocation header", where)
        counts.append(_u32s(raw, 0, tables))
        at += header.reloc_header_size
    loaded = (header.code_size, header.rodata_size, header.data_size - header.bss_size)
    contents = []
    for name, size in zip(SEGMENT_NAMES, loaded, strict=True):
        contents.append(_take(data, at, size, f"{name} segment", where))
        at += size
    relocations = []
    for name, segment_counts in zip(SEGMENT_NAMES, counts, strict=True):
        known = []
        for j, count in enumerate(segment_counts):
            kind = KNOWN_TABLES[j] if j < len(KNOWN_TABLES) else f"extra table {j}"
            raw = _take(data, at, count * RELOC_ENTRY, f"{name} {kind} relocation table", where)
            at += count * RELOC_ENTRY
            if j < len(KNOWN_TABLES):  # later tables are skipped, as libctru's loaders do
                known.append(tuple(struct.iter_unpack("<HH", raw)))
        relocations.append(tuple(known))
    smdh = _smdh(data, header, at, where)
    _check_romfs(data, header, at, where)
    return ThreeDsx(header, tuple(counts), (contents[0], contents[1], contents[2]), tuple(relocations),
                    at, len(data), smdh)


def _smdh(data: bytes, header: Header, end: int, where: str) -> Smdh | None:
    if not header.smdh_offset:
        return None
    at, size = header.smdh_offset, header.smdh_size
    if at + size > len(data):
        raise LoaderError(f"{where}: SMDH at {at:#x}+{size:#x} runs past the end of the file ({len(data):#x} bytes)")
    if at < end:
        raise LoaderError(f"{where}: SMDH at {at:#x} overlaps the program (which ends at {end:#x})")
    try:
        return parse_smdh(data[at:at + size])
    except SmdhError as exc:
        raise LoaderError(f"{where}: bad SMDH at {at:#x}: {exc}") from None


def _check_romfs(data: bytes, header: Header, end: int, where: str) -> None:
    at = header.romfs_offset
    if not at:
        return
    if at > len(data):
        raise LoaderError(f"{where}: RomFS offset {at:#x} is past the end of the file ({len(data):#x} bytes)")
    if at < end:
        raise LoaderError(f"{where}: RomFS at {at:#x} overlaps the program (which ends at {end:#x})")


def _relocate(parsed: ThreeDsx, where: str) -> list[bytes]:
    """Apply every segment's absolute, then relative, table to its loaded bytes."""
    rounded = parsed.header.rounded
    bases = (IMAGE_BASE, IMAGE_BASE + rounded[0], IMAGE_BASE + rounded[0] + rounded[1])
    limits = (rounded[0], rounded[0] + rounded[1])
    total = sum(rounded)
    out = []
    for index, content in enumerate(parsed.contents):
        words = np.frombuffer(content[:len(content) // 4 * 4], dtype="<u4").astype(np.int64)
        for kind, runs in zip(KNOWN_TABLES, parsed.relocations[index], strict=False):
            _apply(words, runs, kind, bases, limits, total, bases[index], f"{where}: {SEGMENT_NAMES[index]}")
        out.append(words.astype("<u4").tobytes() + content[len(content) // 4 * 4:])
    return out


def _positions(runs: tuple[tuple[int, int], ...], limit: int, where: str) -> np.ndarray:
    """Word index of every word a table patches; a run reaching past ``limit`` words is an
    error, found before the indices are made (a hostile table could name billions)."""
    table = np.array(runs, dtype=np.int64).reshape(-1, 2)
    skips, patches = table[:, 0], table[:, 1]
    starts = np.cumsum(skips + patches) - patches  # first patched word of each run
    beyond = (patches > 0) & (starts + patches > limit)
    if beyond.any():
        first = int(np.argmax(beyond))
        raise LoaderError(f"{where} entry {first} patches {int(patches[first])} words from word {int(starts[first])}, "
                          f"past the segment's {4 * limit:#x} loaded bytes")
    run = np.repeat(np.arange(len(table)), patches)
    before = np.cumsum(patches) - patches  # patched words in earlier runs
    return starts[run] + np.arange(len(run)) - before[run]


def _apply(words: np.ndarray, runs: tuple[tuple[int, int], ...], kind: str, bases: tuple[int, int, int],
           limits: tuple[int, int], total: int, segment_base: int, where: str) -> None:
    at = _positions(runs, len(words), f"{where} {kind} relocation")
    if not len(at):
        return
    values = words[at]
    offsets, subtypes = values & OFFSET_MASK, values >> SUBTYPE_SHIFT
    allowed = 0 if kind == "absolute" else 1
    for bad, problem in ((offsets > total, "points outside the image"), (subtypes > allowed, "has an unknown subtype")):
        if bad.any():
            first = int(np.argmax(bad))
            raise LoaderError(f"{where} {kind} relocation at {segment_base + 4 * int(at[first]):#010x} {problem} "
                              f"(word {int(values[first]):#010x}; image {total:#x} bytes)")
    targets = np.where(offsets < limits[0], bases[0] + offsets,
                       np.where(offsets < limits[1], bases[1] + offsets - limits[0], bases[2] + offsets - limits[1]))
    if kind == "relative":
        targets = (targets - (segment_base + 4 * at)) & 0xFFFFFFFF
        targets = np.where(subtypes == 1, targets & 0x7FFFFFFF, targets)
    words[at] = targets


def build_image(parsed: ThreeDsx, name: str, source: str, where: str) -> Image:
    rounded = parsed.header.rounded
    contents = _relocate(parsed, where)
    segments = []
    vaddr = IMAGE_BASE
    for content, size, perm in zip(contents, rounded, SEGMENT_PERMS, strict=True):
        if size:
            segments.append(Segment(vaddr=vaddr, data=content, size=size, perm=perm))
        vaddr += size
    romfs_size = parsed.file_size - parsed.header.romfs_offset if parsed.header.romfs_offset else 0
    return Image(name=name, entry=IMAGE_BASE, segments=segments, source=source, format="3dsx",
                 smdh=parsed.smdh, romfs_offset=parsed.header.romfs_offset, romfs_size=romfs_size)


class ThreeDsxLoader:
    @staticmethod
    def is_compatible(data: bytes) -> bool:
        return data[:4] == MAGIC

    @staticmethod
    def load(data: bytes, name: str = "guest", source: str = "") -> Image:
        where = source or name
        return build_image(parse_3dsx(data, where), name, source, where)


def describe_3dsx(path: str | Path) -> str:
    """What ``hlemu info app.3dsx`` would print: header, segments with their relocation
    entries (and the words those patch), SMDH titles, RomFS. Raises LoaderError as loading does."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError(f"{path}: cannot read: {exc.strerror}") from None
    parsed = parse_3dsx(data, str(path))
    image = build_image(parsed, path.stem, str(path), str(path))  # proves the relocations apply
    h = parsed.header
    extended = " (extended)" if h.header_size >= EXTENDED_HEADER_SIZE else ""
    lines = [f"{path.name}: 3DSX, {len(data)} bytes, entry {image.entry:#010x}",
             f"  header {h.header_size:#x} bytes{extended}, relocation header {h.reloc_header_size:#x} bytes, "
             f"version {h.version}, flags {h.flags:#x}",
             "  segment  address     size      pages  absolute entries (words patched), then relative"]
    vaddr = IMAGE_BASE
    for i, name in enumerate(SEGMENT_NAMES):
        tables = parsed.relocations[i] + ((), ())
        cells = [f"{len(t):>8} ({sum(p for _, p in t):>5})" for t in tables[:2]]
        extra = len(parsed.counts[i]) - len(KNOWN_TABLES)
        note = f", bss {h.bss_size:#x}" if name == "data" else ""
        note += f", {extra} unknown tables skipped" if extra > 0 else ""
        lines.append(f"  {name:<7}  {vaddr:#010x}  {h.sizes[i]:#08x}  {h.rounded[i] // PAGE_SIZE:>5}  "
                     f"{cells[0]}  {cells[1]}{note}")
        vaddr += h.rounded[i]
    if parsed.smdh:
        title = parsed.smdh.title
        lines += [f"  SMDH at {h.smdh_offset:#x} ({h.smdh_size:#x} bytes): {title.short!r}",
                  f"    long title {title.long!r}", f"    publisher {title.publisher!r}"]
    else:
        lines.append("  SMDH: none")
    lines.append(f"  RomFS at {h.romfs_offset:#x} ({image.romfs_size:#x} bytes)" if h.romfs_offset else "  RomFS: none")
    return "\n".join(lines)
