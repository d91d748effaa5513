"""Build a RomFS level-3 image from a host folder, the file system a 3DSX carries.

The layout is 3dbrew's "RomFS" (level 3, what a 3DSX embeds directly and what libctru's
``romfs_dev.c`` reads), every number little-endian::

    header (0x28)   header size, then (offset, size) of the directory hash table, the
                    directory metadata, the file hash table, the file metadata, and the
                    offset of the file data; all from the start of the image
    directory hash table   u32 per bucket: the first directory in it, or 0xFFFFFFFF
    directory metadata     per directory: parent, next sibling, first child directory,
                           first file, next in the same bucket, name length in bytes,
                           then the UTF-16LE name padded to 4 bytes
    file hash table        as for directories
    file metadata          per file: parent, next sibling, data offset (u64, from the file
                           data), data size (u64), next in the same bucket, name length,
                           the name padded to 4 bytes
    file data              each file aligned to 16 bytes

Offsets between entries are from the start of their own metadata table; "none" is
0xFFFFFFFF. The root directory is at offset 0, its own parent, with an empty name. A
directory or file goes in bucket ``hash(parent offset, name) % buckets`` where the hash
is libctru's ``calcHash`` (start from ``parent ^ 123456789``, then for each UTF-16 unit
rotate right by 5 and xor the unit in), and the number of buckets is the size rule
Nintendo's tool and 3dsxtool use for ``n`` entries: 3 below 3, ``n | 1`` below 19, else
the first number from ``n`` up that none of 2, 3, 5, 7, 11, 13, 17 divides.

The tree is walked in sorted name order (children listed in that order, depth first),
hidden files (names starting with ``.``) are left out as 3dsxtool leaves them, and
symlinks are followed only when they stay inside the folder, so the same folder always
gives the same bytes.

    python -m hlemu.loaders.romfs DIR out.romfs
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HEADER = struct.Struct("<10I")
DIR_ENTRY = struct.Struct("<6I")
FILE_ENTRY = struct.Struct("<2I2Q2I")
NONE = 0xFFFFFFFF
DATA_ALIGN = 0x10
HASH_SEED = 123456789


class RomfsError(ValueError):
    """A folder that cannot become a RomFS; the message says why."""


def hash_buckets(count: int) -> int:
    """How many hash buckets a table of ``count`` entries gets."""
    if count < 3:
        return 3
    if count < 19:
        return count | 1
    while any(count % p == 0 for p in (2, 3, 5, 7, 11, 13, 17)):
        count += 1
    return count


def name_hash(parent: int, name: bytes) -> int:
    """libctru's calcHash before the modulo: ``name`` is UTF-16LE."""
    value = parent ^ HASH_SEED
    for (unit,) in struct.iter_unpack("<H", name):
        value = ((value >> 5) | (value << 27)) & 0xFFFFFFFF
        value ^= unit
    return value


def _pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


@dataclass
class _Dir:
    name: bytes  # UTF-16LE
    parent: _Dir | None
    dirs: list[_Dir] = field(default_factory=list)
    files: list[_File] = field(default_factory=list)
    offset: int = 0


@dataclass
class _File:
    name: bytes
    parent: _Dir
    data: bytes
    offset: int = 0
    data_offset: int = 0


def _encode(name: str, where: Path) -> bytes:
    try:
        return name.encode("utf-16-le")
    except UnicodeEncodeError:
        raise RomfsError(f"{where}: the name cannot be written in UTF-16") from None


def _scan(folder: Path, root: Path, node: _Dir) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise RomfsError(f"{folder}: cannot list: {exc.strerror}") from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        real = Path(os.path.realpath(path))
        if real != root and root not in real.parents:
            raise RomfsError(f"{path}: a symlink out of {root}")
        if entry.is_dir():
            child = _Dir(_encode(entry.name, path), node)
            node.dirs.append(child)
            _scan(path, root, child)
        elif entry.is_file():
            try:
                node.files.append(_File(_encode(entry.name, path), node, path.read_bytes()))
            except OSError as exc:
                raise RomfsError(f"{path}: cannot read: {exc.strerror}") from None


def _walk(root: _Dir) -> tuple[list[_Dir], list[_File]]:
    """Directories and files in table order: depth first, each directory's children in name order."""
    dirs: list[_Dir] = []
    files: list[_File] = []

    def visit(node: _Dir) -> None:
        dirs.append(node)
        files.extend(node.files)
        for child in node.dirs:
            visit(child)

    visit(root)
    return dirs, files


def _hash_table(entries: Sequence[_Dir | _File]) -> tuple[list[int], dict[int, int]]:
    """The bucket heads and each entry's next-in-bucket (by entry offset)."""
    buckets = [NONE] * hash_buckets(len(entries))
    following: dict[int, int] = {}
    for entry in entries:
        assert entry.parent is not None
        bucket = name_hash(entry.parent.offset, entry.name) % len(buckets)
        following[entry.offset] = buckets[bucket]  # the newest entry heads its bucket
        buckets[bucket] = entry.offset
    return buckets, following


def _first(items: Sequence[_Dir | _File]) -> int:
    return items[0].offset if items else NONE


def _sibling(items: Sequence[_Dir | _File], index: int) -> int:
    return items[index + 1].offset if index + 1 < len(items) else NONE


def build_romfs(folder: str | Path) -> bytes:
    """The RomFS image of ``folder``'s contents."""
    root_path = Path(os.path.realpath(folder))
    if not root_path.is_dir():
        raise RomfsError(f"{folder}: not a folder")
    root = _Dir(b"", None)
    root.parent = root
    _scan(root_path, root_path, root)
    dirs, files = _walk(root)

    at = 0
    for d in dirs:
        d.offset, at = at, at + DIR_ENTRY.size + len(_pad4(d.name))
    at, data_at = 0, 0
    for f in files:
        f.offset, at = at, at + FILE_ENTRY.size + len(_pad4(f.name))
        f.data_offset = data_at
        data_at += len(f.data) + (-len(f.data) % DATA_ALIGN)

    dir_heads, dir_next = _hash_table(dirs)
    file_heads, file_next = _hash_table(files)
    dir_table = b"".join(_dir_entry(d, dir_next) for d in dirs)
    file_table = b"".join(_file_entry(f, file_next) for f in files)
    return _assemble(dir_heads, dir_table, file_heads, file_table, files)


def _dir_entry(d: _Dir, following: dict[int, int]) -> bytes:
    assert d.parent is not None
    index = d.parent.dirs.index(d) if d.parent is not d else 0
    sibling = _sibling(d.parent.dirs, index) if d.parent is not d else NONE
    return DIR_ENTRY.pack(d.parent.offset, sibling, _first(d.dirs), _first(d.files), following[d.offset],
                          len(d.name)) + _pad4(d.name)


def _file_entry(f: _File, following: dict[int, int]) -> bytes:
    sibling = _sibling(f.parent.files, f.parent.files.index(f))
    return FILE_ENTRY.pack(f.parent.offset, sibling, f.data_offset, len(f.data), following[f.offset],
                           len(f.name)) + _pad4(f.name)


def _assemble(dir_heads: list[int], dir_table: bytes, file_heads: list[int], file_table: bytes,
              files: list[_File]) -> bytes:
    parts = [struct.pack(f"<{len(dir_heads)}I", *dir_heads), dir_table,
             struct.pack(f"<{len(file_heads)}I", *file_heads), file_table]
    offsets, at = [], HEADER.size
    for part in parts:
        offsets.append((at, len(part)))
        at += len(part)
    data_start = at + (-at % DATA_ALIGN)
    header = HEADER.pack(HEADER.size, *offsets[0], *offsets[1], *offsets[2], *offsets[3], data_start)
    image = bytearray(header + b"".join(parts))
    image += bytes(data_start - len(image))
    for f in files:
        image += f.data + bytes(-len(f.data) % DATA_ALIGN)
    return bytes(image)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hlemu.loaders.romfs", description=__doc__.split("\n")[0])
    parser.add_argument("folder", help="the folder whose contents become the RomFS")
    parser.add_argument("output", help="the RomFS image to write")
    args = parser.parse_args(argv)
    try:
        Path(args.output).write_bytes(build_romfs(args.folder))
    except (OSError, RomfsError) as exc:
        print(f"romfs: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
