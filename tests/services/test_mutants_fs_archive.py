"""The SDMC archive's answers case by case, as Citra/Azahar file_sys/archive_sdmc.cpp gives them
(OpenFileBase, DeleteFile, DeleteDirectoryHelper, CreateFile, CreateDirectory, Rename*), and the
FS_DirectoryEntry a listing holds (libctru fs.h: 0x20C-byte UTF-16 name, 10-byte short name,
4-byte extension, valid byte, reserved byte, attributes u32, size u64). Called on the archive
object, as fs:USER's handlers do, with results spelled out (Citra file_sys/errors.h).
Written for mutants of kernel/services/fs_archive.py (scripts/mutation.py)."""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

import pytest

from kernel.services.fs_archive import SdmcArchive
from kernel.services.fs_paths import HostRoot
from tests.services.script import HEAP, Script, header
from tests.services.test_fs import BINARY, EMPTY, INPUT, Blob, Fs, buffer, guest_for, static

SUCCESS = 0
NOT_FOUND = 0xC8804478
ALREADY_EXISTS = 0xC82044BE
INSUFFICIENT_SPACE = 0xC86044D2
INVALID_OPEN_FLAGS = 0xC92044E6
NOT_A_FILE = 0xC92044FA  # ResultUnexpectedFileOrDirectorySdmc
INVALID_PATH = 0xE0E046BE
READ, WRITE, CREATE = 1, 2, 4
ATTR_DIRECTORY, ATTR_HIDDEN, ATTR_ARCHIVE = 0x1, 0x100, 0x10000


@pytest.fixture
def sdmc(tmp_path: Path) -> Path:
    root = tmp_path / "sdmc"
    root.mkdir()
    (root / "dir").mkdir()
    (root / "dir" / "inner").write_bytes(b"12345")
    (root / "empty").mkdir()
    (root / "file").write_bytes(b"abc")
    return root


@pytest.fixture
def archive(sdmc: Path) -> SdmcArchive:
    return SdmcArchive(HostRoot(sdmc), lambda: 100)


def opened(archive: SdmcArchive, names: list[str], flags: int) -> tuple[int, int | None]:
    result, fd = archive.open_file(names, flags)
    if fd is not None:
        os.close(fd)
    return result, fd is not None


# -- OpenFile ------------------------------------------------------------------------------------

@pytest.mark.parametrize("flags", [0, CREATE, CREATE | READ, 0x8, 0x10])
def test_open_flags_without_a_mode_or_create_without_write_are_invalid(archive, flags):
    assert opened(archive, ["file"], flags) == (INVALID_OPEN_FLAGS, False)


def test_open_results(archive, sdmc):
    assert opened(archive, ["file"], READ) == (SUCCESS, True)
    assert opened(archive, ["dir"], READ) == (NOT_A_FILE, False)
    assert opened(archive, ["missing"], READ | WRITE) == (NOT_FOUND, False)
    assert opened(archive, ["missing", "x"], WRITE | CREATE) == (NOT_FOUND, False)  # no parent
    assert opened(archive, ["file", "x"], WRITE | CREATE) == (NOT_FOUND, False)  # a file in the path
    assert not (sdmc / "missing").exists()
    assert opened(archive, ["new"], WRITE | CREATE) == (SUCCESS, True) and (sdmc / "new").read_bytes() == b""


def test_a_read_open_cannot_write_and_a_write_open_reads_too(archive, sdmc):
    """Citra's SDMC OpenFile always sets the read flag; a READ open is read-only on the host."""
    result, fd = archive.open_file(["file"], READ)
    assert result == SUCCESS and fd is not None
    try:
        assert os.pread(fd, 3, 0) == b"abc"
        with pytest.raises(OSError):
            os.pwrite(fd, b"x", 0)
    finally:
        os.close(fd)
    result, fd = archive.open_file(["file"], WRITE)
    assert result == SUCCESS and fd is not None
    try:
        assert os.pread(fd, 3, 0) == b"abc"
        os.pwrite(fd, b"x", 0)
    finally:
        os.close(fd)
    assert (sdmc / "file").read_bytes() == b"xbc"


def test_write_without_create_does_not_make_a_file(archive, sdmc):
    assert opened(archive, ["nope"], READ | WRITE) == (NOT_FOUND, False) and not (sdmc / "nope").exists()


# -- CreateFile / DeleteFile -----------------------------------------------------------------------

def test_create_file_results(archive, sdmc):
    assert archive.create_file(["dir"], 0) == NOT_A_FILE
    assert archive.create_file(["file"], 0) == ALREADY_EXISTS and (sdmc / "file").read_bytes() == b"abc"
    assert archive.create_file(["missing", "x"], 0) == NOT_FOUND
    assert archive.create_file(["sized"], 100) == SUCCESS and (sdmc / "sized").read_bytes() == bytes(100)
    assert archive.create_file(["big"], 101) == INSUFFICIENT_SPACE and not (sdmc / "big").exists()
    assert archive.create_file(["zero"], 0) == SUCCESS and (sdmc / "zero").stat().st_size == 0


def test_a_size_the_host_cannot_make_leaves_no_file(sdmc):
    archive = SdmcArchive(HostRoot(sdmc), lambda: 1 << 70)
    assert archive.create_file(["huge"], 1 << 64) == INVALID_PATH  # OverflowError in ftruncate
    assert not (sdmc / "huge").exists()


def test_delete_file_results(archive, sdmc):
    assert archive.delete_file(["dir"]) == NOT_A_FILE and (sdmc / "dir").is_dir()
    assert archive.delete_file(["missing"]) == NOT_FOUND
    assert archive.delete_file(["missing", "x"]) == NOT_FOUND
    assert archive.delete_file(["file"]) == SUCCESS and not (sdmc / "file").exists()


# -- CreateDirectory / DeleteDirectory(Recursively) ------------------------------------------------

def test_create_directory_results(archive, sdmc):
    assert archive.create_directory(["dir"]) == ALREADY_EXISTS
    assert archive.create_directory(["file"]) == ALREADY_EXISTS and (sdmc / "file").is_file()
    assert archive.create_directory(["missing", "x"]) == NOT_FOUND
    assert archive.create_directory(["new"]) == SUCCESS and (sdmc / "new").is_dir()


@pytest.mark.parametrize("recursive", [False, True])
def test_delete_directory_results(archive, sdmc, recursive):
    assert archive.delete_directory([], recursive) == INVALID_OPEN_FLAGS
    assert archive.delete_directory(["missing"], recursive) == NOT_FOUND
    assert archive.delete_directory(["file"], recursive) == NOT_A_FILE and (sdmc / "file").is_file()
    assert archive.delete_directory(["empty"], recursive) == SUCCESS and not (sdmc / "empty").exists()
    os.symlink(sdmc, sdmc / "root")
    assert archive.delete_directory(["root"], recursive) == INVALID_OPEN_FLAGS and (sdmc / "dir" / "inner").exists()


def test_only_a_recursive_delete_takes_a_directory_with_children(archive, sdmc):
    assert archive.delete_directory(["dir"], recursive=False) == NOT_A_FILE and (sdmc / "dir" / "inner").exists()
    assert archive.delete_directory(["dir"], recursive=True) == SUCCESS and not (sdmc / "dir").exists()


# -- RenameFile / RenameDirectory ------------------------------------------------------------------

def test_rename_results(archive, sdmc):
    assert archive.rename(["missing"], ["x"], directory=False) == NOT_FOUND
    assert archive.rename(["file"], ["x"], directory=True) == NOT_A_FILE
    assert archive.rename(["dir"], ["x"], directory=False) == NOT_A_FILE
    assert archive.rename(["file"], ["dir"], directory=False) == ALREADY_EXISTS
    assert archive.rename(["dir"], ["dir", "sub"], directory=True) == INVALID_PATH  # into itself
    assert archive.rename(["dir"], ["dir", "a", "b"], directory=True) == NOT_FOUND  # no such parent
    assert archive.rename(["missing", "x"], ["y"], directory=False) == NOT_FOUND
    assert archive.rename(["file"], ["missing", "y"], directory=False) == NOT_FOUND
    assert archive.rename([], ["top"], directory=True) == NOT_A_FILE  # the root is never renamed
    assert archive.rename(["file"], ["renamed"], directory=False) == SUCCESS
    assert (sdmc / "renamed").read_bytes() == b"abc" and not (sdmc / "file").exists()
    assert archive.rename(["dir"], ["empty", "moved"], directory=True) == SUCCESS
    assert (sdmc / "empty" / "moved" / "inner").read_bytes() == b"12345"


def test_a_path_leading_out_refuses_a_rename_on_either_side(archive, sdmc, tmp_path):
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", sdmc / "out")
    assert archive.rename(["out", "x"], ["y"], directory=False) == INVALID_PATH
    assert archive.rename(["file"], ["out", "y"], directory=False) == INVALID_PATH
    assert (sdmc / "file").exists() and not any((tmp_path / "outside").iterdir())


# -- OpenDirectory's listing -----------------------------------------------------------------------

def entries(archive: SdmcArchive, names: list[str]) -> tuple[int, list[tuple]]:
    result, raw = archive.list_directory(names)
    return result, [struct.unpack("<524s10s4sBBIQ", e) for e in raw]


def test_listing_a_file_or_a_missing_directory_is_not_found(archive):
    assert archive.list_directory(["file"]) == (NOT_FOUND, [])
    assert archive.list_directory(["missing"]) == (NOT_FOUND, [])
    assert archive.list_directory(["missing", "x"]) == (NOT_FOUND, [])


def test_an_entry_holds_the_names_attributes_and_size(archive, sdmc):
    for name in ("a.", ".b", "x.tar.gz", "verylongname.jpeg", "b\u00e9ta.txt"):
        (sdmc / name).write_bytes(b"z" * 7)
    result, listed = entries(archive, [])
    assert result == SUCCESS and all(len(e) == 7 for e in listed)
    by_name = {e[0].decode("utf-16-le").rstrip("\0"): e[1:] for e in listed}
    assert sorted(by_name) == sorted([".b", "a.", "b\u00e9ta.txt", "dir", "empty", "file", "verylongname.jpeg",
                                      "x.tar.gz"])
    assert by_name["dir"] == (b"DIR".ljust(10, b"\0"), bytes(4), 1, 0, ATTR_DIRECTORY, 0)
    assert by_name["file"] == (b"FILE".ljust(10, b"\0"), bytes(4), 1, 0, ATTR_ARCHIVE, 3)
    assert by_name["a."] == (b"A".ljust(10, b"\0"), bytes(4), 1, 0, ATTR_ARCHIVE, 7)
    assert by_name[".b"] == (b".B".ljust(10, b"\0"), bytes(4), 1, 0, ATTR_ARCHIVE | ATTR_HIDDEN, 7)
    assert by_name["x.tar.gz"][:2] == (b"X.TAR".ljust(10, b"\0"), b"GZ\0\0")
    assert by_name["verylongname.jpeg"][:2] == (b"VERYLONG\0\0", b"JPE\0")
    assert by_name["b\u00e9ta.txt"][:2] == (b"B?TA".ljust(10, b"\0"), b"TXT\0")


def test_a_listing_is_sorted_by_name(archive, sdmc):
    for name in ("b", "a", "C"):
        (sdmc / "empty" / name).write_bytes(b"")
    result, listed = entries(archive, ["empty"])
    assert result == SUCCESS
    assert [e[0].decode("utf-16-le").rstrip("\0") for e in listed] == ["C", "a", "b"]


def test_a_name_of_255_units_is_listed(archive, sdmc):
    (sdmc / "empty" / ("n" * 255)).write_bytes(b"")
    result, listed = entries(archive, ["empty"])
    assert result == SUCCESS and [e[0].decode("utf-16-le").rstrip("\0") for e in listed] == ["n" * 255]


def test_symlinks_out_of_the_root_are_not_listed(archive, sdmc, tmp_path):
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", sdmc / "empty" / "out")
    os.symlink(sdmc / "dir", sdmc / "empty" / "in")
    result, listed = entries(archive, ["empty"])
    assert result == SUCCESS and [e[0].decode("utf-16-le").rstrip("\0") for e in listed] == ["in"]
    assert listed[0][5] == ATTR_DIRECTORY


def test_a_delete_whose_listing_the_host_refuses_leaves_it_to_rmdir(archive, sdmc, monkeypatch):
    """When the host will not list a directory, a non-recursive delete does not guess that it has
    children: the host's rmdir decides (an empty one goes)."""
    real = os.scandir

    def refusing(path):
        if Path(path) == sdmc / "empty":
            raise PermissionError(13, "denied")
        return real(path)

    monkeypatch.setattr(os, "scandir", refusing)
    assert archive.delete_directory(["empty"], recursive=False) == SUCCESS and not (sdmc / "empty").exists()


def test_created_files_get_mode_644_less_the_umask(archive, sdmc):
    old = os.umask(0o022)
    try:
        assert archive.create_file(["made"], 0) == SUCCESS
        assert opened(archive, ["opened"], WRITE | CREATE) == (SUCCESS, True)
    finally:
        os.umask(old)
    assert (sdmc / "made").stat().st_mode & 0o777 == 0o644
    assert (sdmc / "opened").stat().st_mode & 0o777 == 0o644


# -- save states: an open file is kept as its host path --------------------------------------------

def test_an_open_file_is_saved_as_its_host_path_and_reopened_with_its_mode(sdmc):
    from kernel.kernel import Kernel
    from kernel.services.fs_archive import FileSession

    kernel = Kernel(output=lambda _p, _line: None)
    try:
        archive = SdmcArchive(HostRoot(sdmc), lambda: 100)
        for name, writable in (("file", True), ("dir/inner", False)):
            fd = os.open(sdmc / name, os.O_RDWR if writable else os.O_RDONLY)
            session = FileSession(kernel, fd, writable, archive, "/" + name)
            extra = session.state_extra()
            assert extra == {"host_file": str((sdmc / name).resolve())}
            session.close()
            assert session.state_extra() == {"host_file": None}
            session.host_file = extra["host_file"]  # what a load puts back before after_restore
            session.after_restore()
            assert session.fd is not None
            try:
                if writable:
                    os.pwrite(session.fd, b"X", 0)
                else:
                    with pytest.raises(OSError):
                        os.pwrite(session.fd, b"X", 0)
            finally:
                session.close()
        assert (sdmc / "file").read_bytes() == b"Xbc" and (sdmc / "dir" / "inner").read_bytes() == b"12345"
        closed = FileSession(kernel, os.open(sdmc / "file", os.O_RDONLY), False, archive, "/file")
        closed.close()
        closed.host_file = None
        closed.after_restore()
        assert closed.fd is None
    finally:
        kernel.close()


# -- File and Directory sessions, from a guest (3dbrew "File service", "Directory service") ---------

CLOSED = 0xD8E007F7  # a command on a file after its Close: INVALID_HANDLE (hlemu's choice, fs_archive.CLOSED)
INVALID_BUFFER_DESCRIPTOR = 0xD9001830
COMMAND_NOT_ALLOWED = 0xD9004676  # what an EIO from the host becomes (fs_paths.host_error)
ENTRY = 0x228


def fs_guest(make_guest, sdmc: Path, free: int):
    guest = guest_for(make_guest, "semifastmem", sdmc)
    guest.kernel.fs.free_bytes = free
    s = Script()
    return guest, Blob(), s, Fs(s).start()


def test_file_offsets_and_sizes_are_64_bit(make_guest, sdmc):
    """Read/Write take the offset as two words (low, high), SetSize the size, GetSize answers two
    (libctru FSFILE_Read/Write/SetSize/GetSize): a sparse file past 4 GiB shows every half."""

    guest, blob, s, fs = fs_guest(make_guest, sdmc, 1 << 40)
    data = blob.add(b"ABCD")
    fs.open_file("open", blob.ascii("/file"), READ | WRITE)
    fs.call("set_size", "r7", [header(0x805, 2, 0), 0x10, 1])
    fs.call("size", "r7", [header(0x804, 0, 0)], replies=4)
    fs.call("write", "r7", [header(0x803, 4, 2), 4, 1, 4, 0, buffer(4, 2), data], replies=3)
    fs.call("write_low", "r7", [header(0x803, 4, 2), 1, 0, 2, 0, buffer(2, 2), data], replies=3)
    fs.call("read", "r7", [header(0x802, 3, 2), 0, 1, 0x10, buffer(0x10, 4), HEAP], replies=3)
    fs.call("read_low", "r7", [header(0x802, 3, 2), 0, 0, 4, buffer(4, 4), HEAP + 0x10], replies=3)
    fs.call("read_end", "r7", [header(0x802, 3, 2), 0x10, 1, 4, buffer(4, 4), HEAP + 0x20], replies=3)
    process = guest.run_one(s.body, data=bytes(blob.data))
    r = lambda name: s.results(guest, process, name)[2:]  # noqa: E731
    assert r("set_size") == [SUCCESS] and r("size") == [SUCCESS, 0x10, 1]
    assert r("write") == [SUCCESS, 4] and r("write_low") == [SUCCESS, 2]
    assert r("read") == [SUCCESS, 0x10] and process.space.mem.read(HEAP, 0x10) == bytes(4) + b"ABCD" + bytes(8)
    assert r("read_low") == [SUCCESS, 4] and process.space.mem.read(HEAP + 0x10, 4) == b"aAB\0"
    assert r("read_end") == [SUCCESS, 0]
    with open(sdmc / "file", "rb") as host:
        host.seek((1 << 32) + 4)
        assert host.read(4) == b"ABCD"
    assert (sdmc / "file").stat().st_size == (1 << 32) + 0x10


def test_commands_on_a_closed_file_answer_closed_and_nothing(make_guest, sdmc):

    guest, blob, s, fs = fs_guest(make_guest, sdmc, 100)
    data = blob.add(b"ABCD")
    fs.open_file("open", blob.ascii("/file"), READ | WRITE)
    fs.call("close", "r7", [header(0x808, 0, 0)])
    fs.call("read", "r7", [header(0x802, 3, 2), 0, 0, 4, buffer(4, 4), HEAP], replies=5)
    fs.call("write", "r7", [header(0x803, 4, 2), 0, 0, 4, 0, buffer(4, 2), data], replies=5)
    fs.call("size", "r7", [header(0x804, 0, 0)], replies=4)
    fs.call("set_size", "r7", [header(0x805, 2, 0), 1, 0])
    fs.call("flush", "r7", [header(0x809, 0, 0)])
    process = guest.run_one(s.body, data=bytes(blob.data))
    r = lambda name: s.results(guest, process, name)[1:]  # noqa: E731
    assert r("close") == [header(0x808, 1, 0), SUCCESS]
    assert r("read") == [header(0x802, 2, 2), CLOSED, 0, buffer(4, 4), HEAP]
    assert r("write") == [header(0x803, 2, 2), CLOSED, 0, buffer(4, 2), data]
    assert r("size") == [header(0x804, 3, 0), CLOSED, 0, 0]
    assert r("set_size")[1] == CLOSED and r("flush")[1] == CLOSED
    assert (sdmc / "file").read_bytes() == b"abc"


def test_growth_may_take_the_free_space_exactly(make_guest, sdmc):
    """What a write or SetSize adds to the file (offset + length - size; zeros before the offset
    too) is refused with INSUFFICIENT_SPACE past the free bytes, and taken up to them."""

    (sdmc / "ten").write_bytes(b"0123456789")
    guest, blob, s, fs = fs_guest(make_guest, sdmc, 5)
    data = blob.add(b"abcdefghijk")
    fs.open_file("open", blob.ascii("/ten"), READ | WRITE)
    fs.call("write_11", "r7", [header(0x803, 4, 2), 5, 0, 11, 0, buffer(11, 2), data], replies=3)
    fs.call("write_far", "r7", [header(0x803, 4, 2), 15, 0, 1, 0, buffer(1, 2), data], replies=3)
    fs.call("write_10", "r7", [header(0x803, 4, 2), 5, 0, 10, 0, buffer(10, 2), data], replies=3)
    fs.call("set_21", "r7", [header(0x805, 2, 0), 21, 0])
    fs.call("set_20", "r7", [header(0x805, 2, 0), 20, 0])
    process = guest.run_one(s.body, data=bytes(blob.data))
    r = lambda name: s.results(guest, process, name)[2:]  # noqa: E731
    assert r("write_11") == [INSUFFICIENT_SPACE, 0] and r("write_far") == [INSUFFICIENT_SPACE, 0]
    assert r("write_10") == [SUCCESS, 10]
    assert r("set_21") == [INSUFFICIENT_SPACE] and r("set_20") == [SUCCESS]
    assert (sdmc / "ten").read_bytes() == b"01234abcdefghij" + bytes(5)


def test_only_the_flush_flag_flushes_a_write(make_guest, sdmc, monkeypatch):
    """libctru FS_WRITE_FLUSH is bit 0 (FS_WRITE_UPDATE_TIME, bit 8, asks for no flush): of three
    writes, only the one with bit 0 set is followed by an fsync (which sees what it wrote)."""
    flushed = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (flushed.append(os.pread(fd, 2, 0)), real(fd))[1])
    guest, blob, s, fs = fs_guest(make_guest, sdmc, 100)
    fs.open_file("open", blob.ascii("/file"), READ | WRITE)
    for name, flags in (("none", 0), ("update_time", 0x100), ("flush", 1), ("after", 0)):
        data = blob.add(name[:2].encode())
        fs.call(name, "r7", [header(0x803, 4, 2), 0, 0, 2, flags, buffer(2, 2), data], replies=3)
    process = guest.run_one(s.body, data=bytes(blob.data))
    assert [s.results(guest, process, n)[2:] for n in ("none", "update_time", "flush", "after")] == [[SUCCESS, 2]] * 4
    assert flushed == [b"fl"] and (sdmc / "file").read_bytes() == b"afc"


def test_file_and_directory_buffers_must_allow_what_the_command_does(make_guest, sdmc):
    """Read needs a writable mapped buffer, Write a readable one, and a static buffer where the
    mapped one belongs is refused; each answers INVALID_BUFFER_DESCRIPTOR with a count of 0."""

    guest, blob, s, fs = fs_guest(make_guest, sdmc, 100)
    data = blob.add(b"wxyz")
    fs.open_file("open", blob.ascii("/file"), READ | WRITE)
    fs.call("read_ro", "r7", [header(0x802, 3, 2), 0, 0, 3, buffer(3, 2), HEAP], replies=3)
    fs.call("write_wo", "r7", [header(0x803, 4, 2), 0, 0, 4, 0, buffer(4, 4), HEAP], replies=3)
    fs.call("write_static", "r7", [header(0x803, 4, 2), 0, 0, 4, 0, static(4, 0), data], replies=3)
    fs.open_dir("dir", blob.ascii("/"))
    fs.call("list_ro", "r10", [header(0x801, 1, 2), 1, buffer(ENTRY, 2), HEAP], replies=3)
    fs.call("list", "r10", [header(0x801, 1, 2), 1, buffer(ENTRY, 4), HEAP], replies=3)
    process = guest.run_one(s.body, data=bytes(blob.data))
    r = lambda name: s.results(guest, process, name)[2:]  # noqa: E731
    assert r("read_ro") == [INVALID_BUFFER_DESCRIPTOR, 0]
    assert r("write_wo") == [INVALID_BUFFER_DESCRIPTOR, 0] and r("write_static") == [INVALID_BUFFER_DESCRIPTOR, 0]
    assert (sdmc / "file").read_bytes() == b"abc"
    assert r("list_ro") == [INVALID_BUFFER_DESCRIPTOR, 0]
    assert r("list") == [SUCCESS, 1]  # the refused read did not use up the first entry
    assert process.space.mem.read(HEAP, 6) == "dir".encode("utf-16-le")


def test_a_directory_read_takes_only_the_entries_its_buffer_holds(make_guest, sdmc):

    guest, blob, s, fs = fs_guest(make_guest, sdmc, 100)
    fs.open_dir("dir", blob.ascii("/"))
    fs.call("list", "r10", [header(0x801, 1, 2), 4, buffer(2 * ENTRY + 0x10, 4), HEAP], replies=3)
    fs.call("rest", "r10", [header(0x801, 1, 2), 4, buffer(4 * ENTRY, 4), HEAP + 2 * ENTRY + 0x10], replies=3)
    process = guest.run_one(s.body, data=bytes(blob.data))
    assert s.results(guest, process, "list")[2:] == [SUCCESS, 2]
    assert s.results(guest, process, "rest")[2:] == [SUCCESS, 1]  # dir, empty; then file
    assert process.space.mem.read(HEAP + 2 * ENTRY, 0x10) == bytes(0x10)  # nothing past two entries


def test_host_read_failures_answer_a_count_of_0(make_guest, sdmc, monkeypatch, tmp_path):


    def failing(*args, **kwargs):
        raise OSError(errno.EIO, "I/O error")

    rom = tmp_path / "rom.bin"
    rom.write_bytes(b"0123456789ABCDEF")
    guest, blob, s, fs = fs_guest(make_guest, sdmc, 100)
    zeros = blob.add(bytes(0xC))
    fs.open_file("open", blob.ascii("/file"), READ | WRITE)
    fs.call("read", "r7", [header(0x802, 3, 2), 0, 0, 3, buffer(3, 4), HEAP], replies=3)
    fs.call("write", "r7", [header(0x803, 4, 2), 0, 0, 3, 0, buffer(3, 2), HEAP], replies=3)
    fs.call("romfs", "r8", [header(0x803, 8, 4), 0, 3, EMPTY, 1, BINARY, 0xC, READ, 0,
                            static(1, 2), INPUT + 8, static(0xC, 0), zeros], replies=4)
    s.asm(f"ldr r7, [r11, #{4 * s.word('romfs', 4)}]\n")
    fs.call("rom_read", "r7", [header(0x802, 3, 2), 0, 0, 3, buffer(3, 4), HEAP], replies=3)
    process = guest.spawn(s.body, data=bytes(blob.data))
    process.romfs = (str(rom), 2, 8)
    monkeypatch.setattr(os, "pread", failing)
    monkeypatch.setattr(os, "pwrite", failing)
    assert guest.run().reason == "all exited" and process.crash is None
    r = lambda name: s.results(guest, process, name)[2:]  # noqa: E731
    assert r("read") == [COMMAND_NOT_ALLOWED, 0] and r("write") == [COMMAND_NOT_ALLOWED, 0]
    assert r("romfs")[0] == SUCCESS and r("rom_read") == [COMMAND_NOT_ALLOWED, 0]


def test_a_romfs_read_stops_at_the_romfs_end_not_the_files(make_guest, sdmc, tmp_path):
    """Archive 3's file is the RomFS part of the program's file (Process.romfs: path, offset,
    size): bytes after it in the host file are never read."""

    rom = tmp_path / "rom.bin"
    rom.write_bytes(b"0123456789ABCDEF")
    guest, blob, s, fs = fs_guest(make_guest, sdmc, 100)
    zeros = blob.add(bytes(0xC))
    fs.call("romfs", "r8", [header(0x803, 8, 4), 0, 3, EMPTY, 1, BINARY, 0xC, READ, 0,
                            static(1, 2), INPUT + 8, static(0xC, 0), zeros], replies=4)
    s.asm(f"ldr r7, [r11, #{4 * s.word('romfs', 4)}]\n")
    fs.call("all", "r7", [header(0x802, 3, 2), 0, 0, 0x10, buffer(0x10, 4), HEAP], replies=3)
    fs.call("tail", "r7", [header(0x802, 3, 2), 6, 0, 0x10, buffer(0x10, 4), HEAP + 0x10], replies=3)
    fs.call("end", "r7", [header(0x802, 3, 2), 8, 0, 4, buffer(4, 4), HEAP + 0x20], replies=3)
    fs.call("high", "r7", [header(0x802, 3, 2), 0, 1, 4, buffer(4, 4), HEAP + 0x30], replies=3)
    fs.call("read_ro", "r7", [header(0x802, 3, 2), 0, 0, 4, buffer(4, 2), HEAP + 0x40], replies=3)
    fs.call("close", "r7", [header(0x808, 0, 0)])
    fs.call("closed", "r7", [header(0x802, 3, 2), 0, 0, 4, buffer(4, 4), HEAP + 0x50], replies=5)
    process = guest.spawn(s.body, data=bytes(blob.data))
    process.romfs = (str(rom), 2, 8)
    assert guest.run().reason == "all exited" and process.crash is None
    r = lambda name: s.results(guest, process, name)[2:]  # noqa: E731
    assert r("all") == [SUCCESS, 8] and process.space.mem.read(HEAP, 0x10) == b"23456789" + bytes(8)
    assert r("tail") == [SUCCESS, 2] and process.space.mem.read(HEAP + 0x10, 4) == b"89\0\0"
    assert r("end") == [SUCCESS, 0] and r("high") == [SUCCESS, 0]
    assert process.space.mem.read(HEAP + 0x20, 0x20) == bytes(0x20)
    assert r("read_ro") == [INVALID_BUFFER_DESCRIPTOR, 0]
    assert r("closed") == [CLOSED, 0, buffer(4, 4), HEAP + 0x50]
