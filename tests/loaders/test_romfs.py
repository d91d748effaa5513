"""The RomFS builder (hlemu.loaders.romfs) against 3dbrew's level-3 layout, read back here by
a small reader that follows libctru's romfs_dev.c lookups (hash bucket, then the chain), and
the 3DSX writer's ``--romfs DIR``."""

from __future__ import annotations

import os
import struct

import pytest

from hlemu.guest import program_path
from hlemu.loaders.romfs import HEADER, NONE, RomfsError, build_romfs, hash_buckets, name_hash
from hlemu.loaders.threedsx import parse_3dsx
from hlemu.loaders.threedsx_writer import main as writer_main


class Reader:
    """Reads an image the way libctru does: header, tables, hashed lookups."""

    def __init__(self, image: bytes) -> None:
        self.image = image
        fields = HEADER.unpack_from(image)
        assert fields[0] == HEADER.size
        (self.dir_hash_at, self.dir_hash_size, self.dir_at, self.dir_size, self.file_hash_at,
         self.file_hash_size, self.file_at, self.file_size, self.data_at) = fields[1:]

    def directory(self, offset: int) -> tuple[int, int, int, int, int, str]:
        parent, sibling, child_dir, child_file, next_hash, length = struct.unpack_from(
            "<6I", self.image, self.dir_at + offset)
        name = self.image[self.dir_at + offset + 0x18:self.dir_at + offset + 0x18 + length].decode("utf-16-le")
        return parent, sibling, child_dir, child_file, next_hash, name

    def file(self, offset: int) -> tuple[int, int, int, int, int, str]:
        parent, sibling, data, size, next_hash, length = struct.unpack_from("<2I2Q2I", self.image,
                                                                            self.file_at + offset)
        name = self.image[self.file_at + offset + 0x20:self.file_at + offset + 0x20 + length].decode("utf-16-le")
        return parent, sibling, data, size, next_hash, name

    def _find(self, parent: int, name: str, hash_at: int, hash_size: int, entry) -> int | None:
        buckets = hash_size // 4
        bucket = name_hash(parent, name.encode("utf-16-le")) % buckets
        (offset,) = struct.unpack_from("<I", self.image, hash_at + 4 * bucket)
        while offset != NONE:
            fields = entry(offset)
            if fields[0] == parent and fields[5] == name:
                return offset
            offset = fields[4]
        return None

    def read(self, path: str) -> bytes | None:
        *dirs, leaf = path.strip("/").split("/")
        at = 0
        for name in dirs:
            found = self._find(at, name, self.dir_hash_at, self.dir_hash_size, self.directory)
            if found is None:
                return None
            at = found
        found = self._find(at, leaf, self.file_hash_at, self.file_hash_size, self.file)
        if found is None:
            return None
        _, _, data, size, _, _ = self.file(found)
        return self.image[self.data_at + data:self.data_at + data + size]

    def names(self, offset: int = 0, prefix: str = "/") -> list[str]:
        """Every path, in table order (files, then subdirectories), through the sibling links."""
        out = []
        _, _, child_dir, child_file, _, _ = self.directory(offset)
        while child_file != NONE:
            _, child_file_next, _, _, _, name = self.file(child_file)
            out.append(prefix + name)
            child_file = child_file_next
        while child_dir != NONE:
            _, sibling, _, _, _, name = self.directory(child_dir)
            out.append(prefix + name + "/")
            out += self.names(child_dir, prefix + name + "/")
            child_dir = sibling
        return out


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "rom"
    (root / "b_dir" / "inner").mkdir(parents=True)
    (root / "a_dir").mkdir()
    (root / "hello.txt").write_bytes(b"hello\n")
    (root / "b_dir" / "x.bin").write_bytes(bytes(range(256)) * 3)
    (root / "b_dir" / "inner" / "empty").write_bytes(b"")
    (root / "ünï.txt").write_bytes(b"utf-16 names")
    (root / ".hidden").write_bytes(b"left out")
    return root


@pytest.mark.parametrize(("count", "buckets"), [(0, 3), (1, 3), (3, 3), (4, 5), (6, 7), (18, 19), (19, 19),
                                                 (20, 23), (24, 29), (289, 293)])
def test_hash_table_sizes_follow_the_documented_rule(count, buckets):
    assert hash_buckets(count) == buckets


def test_name_hash_is_libctrus_calc_hash():
    # By hand: parent 0 ^ 123456789 = 0x075BCD15; "a": rotate right 5 -> 0xA83ADE68, xor 0x61.
    assert name_hash(0, "a".encode("utf-16-le")) == 0xA83ADE68 ^ 0x61
    assert name_hash(0x18, b"") == 0x18 ^ 123456789


def test_every_file_reads_back_through_the_hash_tables(tree):
    reader = Reader(build_romfs(tree))
    assert reader.read("/hello.txt") == b"hello\n"
    assert reader.read("/b_dir/x.bin") == bytes(range(256)) * 3
    assert reader.read("/b_dir/inner/empty") == b""
    assert reader.read("/ünï.txt") == b"utf-16 names"
    assert reader.read("/.hidden") is None and reader.read("/missing") is None
    assert reader.read("/a_dir/hello.txt") is None


def test_layout_tables_in_order_names_sorted_data_aligned(tree):
    image = build_romfs(tree)
    reader = Reader(image)
    assert reader.dir_hash_at == HEADER.size
    assert reader.dir_at == reader.dir_hash_at + reader.dir_hash_size
    assert reader.file_hash_at == reader.dir_at + reader.dir_size
    assert reader.file_at == reader.file_hash_at + reader.file_hash_size
    assert reader.data_at % 0x10 == 0 and reader.data_at >= reader.file_at + reader.file_size
    assert reader.dir_hash_size == 4 * hash_buckets(4) and reader.file_hash_size == 4 * hash_buckets(4)
    assert reader.names() == ["/hello.txt", "/ünï.txt", "/a_dir/", "/b_dir/", "/b_dir/x.bin", "/b_dir/inner/",
                              "/b_dir/inner/empty"]
    parent, sibling, _, _, _, name = reader.directory(0)
    assert (parent, sibling, name) == (0, NONE, "")  # the root is its own parent, unnamed
    for path in ("/hello.txt", "/b_dir/x.bin", "/ünï.txt"):
        data = reader.read(path)
        assert data is not None and (image.index(data) - reader.data_at) % 0x10 == 0


def test_an_empty_folder_is_a_root_with_no_files(tmp_path):
    reader = Reader(build_romfs(tmp_path))
    assert reader.names() == [] and reader.file_size == 0 and reader.dir_size == 0x18


def test_the_same_folder_gives_the_same_bytes(tree):
    assert build_romfs(tree) == build_romfs(tree)


def test_a_symlink_out_of_the_folder_is_refused(tree, tmp_path):
    outside = tmp_path / "secret"
    outside.write_text("not for the image")
    os.symlink(outside, tree / "link")
    with pytest.raises(RomfsError, match="symlink out of"):
        build_romfs(tree)


def test_not_a_folder_is_refused(tmp_path):
    with pytest.raises(RomfsError, match="not a folder"):
        build_romfs(tmp_path / "nope")


def test_writer_romfs_option_takes_a_folder_or_an_image(tree, tmp_path):
    out = tmp_path / "hello.3dsx"
    assert writer_main([str(program_path("hello")), str(out), "--romfs", str(tree)]) == 0
    parsed = parse_3dsx(out.read_bytes())
    assert out.read_bytes()[parsed.header.romfs_offset:] == build_romfs(tree)
    image = tmp_path / "image.romfs"
    image.write_bytes(build_romfs(tree))
    again = tmp_path / "again.3dsx"
    assert writer_main([str(program_path("hello")), str(again), "--romfs", str(image)]) == 0
    assert again.read_bytes() == out.read_bytes()


def test_writer_reports_a_bad_romfs_folder(tree, tmp_path, capsys):
    os.symlink("/", tree / "escape")
    assert writer_main([str(program_path("hello")), str(tmp_path / "x.3dsx"), "--romfs", str(tree)]) == 1
    assert "symlink out of" in capsys.readouterr().err
