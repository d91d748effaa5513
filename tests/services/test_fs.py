"""fs:USER as libctru's fs.c and archive_dev.c (sdmc:/) ask it, from tiny guests.

Every request is the word sequence libctru writes (IPC_MakeHeader, then the normal words,
then the descriptors: paths as static buffers, data as mapped buffers). The SDMC archive
is a tmp_path folder; each sandbox escape is refused with its FS result and leaves the
host untouched.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from tests.kernel.asm import BACKENDS, INPUT, SUCCESS, save
from tests.services.script import HEAP, TLS, Script, header

# FS results (Citra/Azahar file_sys/errors.h), spelled out so a wrong constant fails here.
NOT_FOUND = 0xC8804478
INVALID_ARCHIVE_HANDLE = 0xC8804465
ALREADY_EXISTS = 0xC82044BE
NOT_A_FILE = 0xC92044FA
INVALID_OPEN_FLAGS = 0xC92044E6
INVALID_PATH = 0xE0E046BE
PATH_TOO_LONG = 0xE0E046BF
INVALID_BUFFER_DESCRIPTOR = 0xD9001830
EMPTY, BINARY, ASCII, UTF16 = 1, 2, 3, 4
READ, WRITE, CREATE = 1, 2, 4
ENTRY = 0x228  # FS_DirectoryEntry


class Blob:
    """Guest data at INPUT: "srv:" first, then the paths and buffers a test names."""

    def __init__(self) -> None:
        self.data = bytearray(b"srv:".ljust(16, b"\0"))

    def add(self, data: bytes) -> int:
        address = INPUT + len(self.data)
        self.data += data + bytes(-len(data) % 4)
        assert len(self.data) <= 0x800
        return address

    def utf16(self, text: str) -> tuple[int, int, int]:
        """(type, size, address) as fsMakePath(PATH_UTF16) / archive_dev.c builds it."""
        data = text.encode("utf-16-le") + b"\0\0"
        return UTF16, len(data), self.add(data)

    def ascii(self, text: str | bytes) -> tuple[int, int, int]:
        data = (text.encode() if isinstance(text, str) else text) + b"\0"
        return ASCII, len(data), self.add(data)


def static(size: int, sid: int) -> int:
    return size << 14 | sid << 10 | 0x2  # IPC_Desc_StaticBuffer


def buffer(size: int, rights: int) -> int:
    return size << 4 | 0x8 | rights  # IPC_Desc_Buffer (R 2, W 4)


class Fs:
    """Builds the fs:USER requests; the archive handle is copied from OpenArchive's reply."""

    def __init__(self, s: Script) -> None:
        self.s = s

    def call(self, name: str, handle: str, words: list, replies: int = 2) -> None:
        """Script.call, where a word may be ("slot", i): result word i, as the guest read it."""
        s = self.s
        first = s.slot(name, 1 + replies)
        s.asm(TLS + "add r12, r12, #0x80\n")
        for i, word in enumerate(words):
            if isinstance(word, tuple):
                s.asm(f"ldr r0, [r11, #{4 * word[1]}]\n")
            else:
                s.asm(f"ldr r0, ={word & 0xFFFFFFFF:#x}\n")
            s.asm(f"str r0, [r12, #{4 * i}]\n")
        s.asm(f"mov r0, {handle}\nsvc 0x32   @ SendSyncRequest\n" + save(first, "r0") + TLS + "add r12, r12, #0x80\n")
        for i in range(replies):
            s.asm(f"ldr r0, [r12, #{4 * i}]\n" + save(first + 1 + i, "r0"))
        s.pool()

    @property
    def archive(self) -> list:
        return [("slot", self.s.word("archive", 3)), ("slot", self.s.word("archive", 4))]

    def start(self) -> Fs:
        s = self.s.connect_srv().heap(0x2000)
        s.get_service("srv_fs", "fs:USER")
        self.call("init", "r8", [header(0x801, 0, 2), 0x20, 0])
        # fsMakePath(PATH_EMPTY, ""): size 1, a NUL (INPUT + 8: the padding after "srv:")
        self.call("archive", "r8", [header(0x80C, 3, 2), 9, EMPTY, 1, static(1, 0), INPUT + 8], replies=4)
        return self

    def path_command(self, name: str, command: int, normal: int, path: tuple[int, int, int], extra: list,
                     replies: int = 2) -> None:
        """DeleteFile / DeleteDirectory(Recursively) / CreateFile / CreateDirectory: 0, archive,
        path type, size, extra words, the path's static buffer 0."""
        kind, size, address = path
        self.call(name, "r8", [header(command, normal, 2), 0, *self.archive, kind, size, *extra,
                               static(size, 0), address], replies)

    def create_file(self, name: str, path, size: int = 0) -> None:
        self.path_command(name, 0x808, 8, path, [0, size & 0xFFFFFFFF, size >> 32])

    def create_dir(self, name: str, path) -> None:
        self.path_command(name, 0x809, 6, path, [0])

    def delete_file(self, name: str, path) -> None:
        self.path_command(name, 0x804, 5, path, [])

    def delete_dir(self, name: str, path, recursive: bool = False) -> None:
        self.path_command(name, 0x807 if recursive else 0x806, 5, path, [])

    def open_file(self, name: str, path, flags: int, into: str = "r7") -> None:
        kind, size, address = path
        self.call(name, "r8", [header(0x802, 7, 2), 0, *self.archive, kind, size, flags, 0,
                               static(size, 0), address], replies=4)
        self.s.asm(f"ldr {into}, [r11, #{4 * self.s.word(name, 4)}]\n")

    def open_dir(self, name: str, path, into: str = "r10") -> None:
        kind, size, address = path
        self.call(name, "r8", [header(0x80B, 4, 2), *self.archive, kind, size, static(size, 0), address],
                  replies=4)
        self.s.asm(f"ldr {into}, [r11, #{4 * self.s.word(name, 4)}]\n")

    def rename(self, name: str, source, target, directory: bool = False) -> None:
        (k1, n1, a1), (k2, n2, a2) = source, target
        self.call(name, "r8", [header(0x80A if directory else 0x805, 9, 4), 0, *self.archive, k1, n1,
                               *self.archive, k2, n2, static(n1, 1), a1, static(n2, 2), a2])


@pytest.fixture
def sdmc(tmp_path: Path) -> Path:
    return tmp_path / "sdmc"


def guest_for(make_guest, backend: str, sdmc: Path):
    guest = make_guest(backend)
    guest.kernel.fs.sdmc_root = sdmc
    return guest


def run(guest, s: Script, blob: Blob):
    return guest.run_one(s.body, data=bytes(blob.data))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_file_is_created_written_read_resized_and_closed(make_guest, backend, sdmc):
    guest = guest_for(make_guest, backend, sdmc)
    blob, s = Blob(), Script()
    fs = Fs(s).start()
    hello, text = blob.utf16("/hello.txt"), b"Hello, 3DS!"
    data = blob.add(text)
    fs.create_file("create", hello)
    fs.create_file("create_again", hello)
    fs.open_file("open", hello, READ | WRITE)
    fs.call("write", "r7", [header(0x803, 4, 2), 0, 0, len(text), 0x101, buffer(len(text), 2), data], replies=5)
    fs.call("read", "r7", [header(0x802, 3, 2), 0, 0, 0x40, buffer(0x40, 4), HEAP], replies=5)
    fs.call("read_at", "r7", [header(0x802, 3, 2), 7, 0, 0x40, buffer(0x40, 4), HEAP + 0x40], replies=3)
    fs.call("size", "r7", [header(0x804, 0, 0)], replies=4)
    fs.call("set_size", "r7", [header(0x805, 2, 0), 5, 0])
    fs.call("size_after", "r7", [header(0x804, 0, 0)], replies=4)
    fs.call("flush", "r7", [header(0x809, 0, 0)])
    fs.call("bad_buffer", "r7", [header(0x803, 4, 2), 0, 0, 4, 0, buffer(4, 2), 0x30000000], replies=3)
    fs.call("close", "r7", [header(0x808, 0, 0)])
    s.asm("mov r0, r7\nsvc 0x23   @ CloseHandle\n")
    fs.open_file("open_ro", hello, READ)
    fs.call("write_ro", "r7", [header(0x803, 4, 2), 0, 0, 1, 0, buffer(1, 2), data], replies=3)
    fs.open_file("open_missing", blob.utf16("/missing"), READ)
    fs.open_file("create_only", blob.utf16("/new"), CREATE)
    fs.open_file("open_create", blob.utf16("/new"), WRITE | CREATE)
    process = run(guest, s, blob)
    r = lambda name: s.results(guest, process, name)  # noqa: E731
    assert r("init") == [SUCCESS, header(0x801, 1, 0), SUCCESS]
    assert r("archive")[:3] == [SUCCESS, header(0x80C, 3, 0), SUCCESS] and r("archive")[3:] != [0, 0]
    assert r("create") == [SUCCESS, header(0x808, 1, 0), SUCCESS]
    assert r("create_again")[2] == ALREADY_EXISTS
    assert r("open")[:4] == [SUCCESS, header(0x802, 1, 2), SUCCESS, 0x10] and r("open")[4] != 0
    assert r("write") == [SUCCESS, header(0x803, 2, 2), SUCCESS, len(text), buffer(len(text), 2), data]
    assert r("read") == [SUCCESS, header(0x802, 2, 2), SUCCESS, len(text), buffer(0x40, 4), HEAP]
    assert process.space.mem.read(HEAP, len(text) + 1) == text + b"\0"
    assert r("read_at")[2:] == [SUCCESS, len(text) - 7] and process.space.mem.read(HEAP + 0x40, 4) == b"3DS!"
    assert r("size") == [SUCCESS, header(0x804, 3, 0), SUCCESS, len(text), 0]
    assert r("set_size")[2] == SUCCESS and r("size_after")[3:] == [5, 0]
    assert r("flush") == [SUCCESS, header(0x809, 1, 0), SUCCESS]
    assert r("bad_buffer")[2:] == [INVALID_BUFFER_DESCRIPTOR, 0]
    assert r("close") == [SUCCESS, header(0x808, 1, 0), SUCCESS]
    assert (sdmc / "hello.txt").read_bytes() == b"Hello"
    assert r("write_ro")[2:] == [INVALID_OPEN_FLAGS, 0]
    assert r("open_missing")[2:] == [NOT_FOUND, 0x10, 0]
    assert r("create_only")[2:] == [INVALID_OPEN_FLAGS, 0x10, 0]
    assert r("open_create")[2] == SUCCESS and (sdmc / "new").is_file()


def parse_entries(raw: bytes) -> list[tuple[str, str, str, int, int, int]]:
    """(name, short name, extension, valid, attributes, size) of each FS_DirectoryEntry."""
    out = []
    for i in range(0, len(raw), ENTRY):
        name, short, ext, valid, _, attributes, size = struct.unpack("<524s10s4sBBIQ", raw[i : i + ENTRY])
        out.append((name.decode("utf-16-le").rstrip("\0"), short.rstrip(b"\0").decode(), ext.rstrip(b"\0").decode(),
                    valid, attributes, size))
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_directory_lists_names_and_sizes_as_the_guest_reads_them(make_guest, backend, sdmc):
    sdmc.mkdir()
    (sdmc / "a.txt").write_bytes(b"abc")
    (sdmc / "dir").mkdir()
    (sdmc / "Long name.data").write_bytes(bytes(10))
    (sdmc / ".hidden").write_bytes(b"x")
    (sdmc / "dir" / "inner").write_bytes(b"12345")
    guest = guest_for(make_guest, backend, sdmc)
    blob, s = Blob(), Script()
    fs = Fs(s).start()
    fs.open_dir("open", blob.utf16("/"))
    fs.call("read2", "r10", [header(0x801, 1, 2), 2, buffer(2 * ENTRY, 4), HEAP], replies=5)
    fs.call("read8", "r10", [header(0x801, 1, 2), 8, buffer(8 * ENTRY, 4), HEAP + 2 * ENTRY], replies=3)
    fs.call("read_end", "r10", [header(0x801, 1, 2), 8, buffer(8 * ENTRY, 4), HEAP + 6 * ENTRY], replies=3)
    fs.call("close", "r10", [header(0x802, 0, 0)])
    fs.open_dir("open_sub", blob.ascii("/dir"))
    fs.call("read_sub", "r10", [header(0x801, 1, 2), 4, buffer(4 * ENTRY, 4), HEAP + 6 * ENTRY], replies=3)
    fs.open_dir("open_file", blob.ascii("/a.txt"))
    process = run(guest, s, blob)
    r = lambda name: s.results(guest, process, name)  # noqa: E731
    assert r("open")[:4] == [SUCCESS, header(0x80B, 1, 2), SUCCESS, 0x10]
    assert r("read2") == [SUCCESS, header(0x801, 2, 2), SUCCESS, 2, buffer(2 * ENTRY, 4), HEAP]
    assert r("read8")[2:] == [SUCCESS, 2] and r("read_end")[2:] == [SUCCESS, 0]
    assert r("close")[2] == SUCCESS
    entries = parse_entries(process.space.mem.read(HEAP, 4 * ENTRY))
    assert entries == [
        (".hidden", ".HIDDEN", "", 1, 0x10100, 1),  # a leading dot starts no extension
        ("Long name.data", "LONG NAM", "DAT", 1, 0x10000, 10),
        ("a.txt", "A", "TXT", 1, 0x10000, 3),
        ("dir", "DIR", "", 1, 0x1, 0),
    ]
    assert r("read_sub")[2:] == [SUCCESS, 1]
    assert parse_entries(process.space.mem.read(HEAP + 6 * ENTRY, ENTRY))[0][::5] == ("inner", 5)
    assert r("open_file")[2] == NOT_FOUND


def test_files_and_directories_are_renamed_and_deleted(make_guest, sdmc):
    guest = guest_for(make_guest, "semifastmem", sdmc)
    guest.kernel.fs.free_bytes, guest.kernel.fs.capacity_bytes = 0x1_2345_6789, 0x1_0000_0000 * 4
    blob, s = Blob(), Script()
    fs = Fs(s).start()
    d, f, g = blob.utf16("/d"), blob.utf16("/d/f"), blob.utf16("/d/g")
    e, eg = blob.utf16("/e"), blob.utf16("/e/g")
    fs.create_dir("mkdir", d)
    fs.create_dir("mkdir_again", d)
    fs.create_file("create", f, 16)
    fs.rename("rename_file", f, g)
    fs.rename("rename_dir_as_file", d, e)
    fs.rename("rename_dir", d, e, directory=True)
    fs.rename("rename_missing", f, g)
    fs.delete_dir("rmdir_full", e)
    fs.delete_file("unlink", eg)
    fs.delete_file("unlink_again", eg)
    fs.delete_dir("rmdir", e)
    tree = [blob.ascii("/r"), blob.ascii("/r/s")]
    fs.create_dir("mk_r", tree[0])
    fs.create_dir("mk_rs", tree[1])
    fs.create_file("mk_rst", blob.ascii("/r/s/t"), 3)
    fs.delete_dir("rm_r", tree[0], recursive=True)
    fs.delete_dir("rm_root", blob.ascii("/"), recursive=True)
    fs.create_file("too_big", blob.ascii("/big"), 0x1_2345_678A)
    fs.call("free", "r8", [header(0x812, 2, 0), *fs.archive], replies=4)
    fs.call("detected", "r8", [header(0x817, 0, 0)], replies=3)
    fs.call("resource", "r8", [header(0x814, 0, 0)], replies=6)
    fs.call("romfs", "r8", [header(0x80C, 3, 2), 3, EMPTY, 1, static(1, 0), INPUT + 8], replies=4)
    fs.call("close", "r8", [header(0x80E, 2, 0), *fs.archive])
    fs.call("free_closed", "r8", [header(0x812, 2, 0), *fs.archive], replies=3)
    process = run(guest, s, blob)
    r = lambda name: s.results(guest, process, name)[2]  # noqa: E731
    assert [r(n) for n in ("mkdir", "create", "rename_file", "rename_dir")] == [SUCCESS] * 4
    assert r("mkdir_again") == ALREADY_EXISTS and r("rename_dir_as_file") == NOT_A_FILE
    assert r("rename_missing") == NOT_FOUND
    assert r("rmdir_full") == NOT_A_FILE and r("unlink") == SUCCESS and r("unlink_again") == NOT_FOUND
    assert r("rmdir") == SUCCESS and not (sdmc / "e").exists() and not (sdmc / "d").exists()
    assert [r(n) for n in ("mk_r", "mk_rs", "mk_rst", "rm_r")] == [SUCCESS] * 4 and not (sdmc / "r").exists()
    assert r("rm_root") == INVALID_OPEN_FLAGS and sdmc.is_dir()
    assert r("too_big") == 0xC86044D2 and not (sdmc / "big").exists()  # INSUFFICIENT_SPACE
    assert s.results(guest, process, "free") == [SUCCESS, header(0x812, 3, 0), SUCCESS, 0x23456789, 1]
    assert s.results(guest, process, "detected")[1:] == [header(0x817, 2, 0), SUCCESS, 1]
    assert s.results(guest, process, "resource")[1:5] == [header(0x814, 5, 0), SUCCESS, 512, 0x4000]
    assert s.results(guest, process, "resource")[5:] == [0x100000, 0x1_2345_6789 // 0x4000]
    assert s.results(guest, process, "romfs")[2:] == [NOT_FOUND, 0, 0]
    assert "archive 0x3 (RomFS) is not implemented" in guest.text()


def host_tree(top: Path, skip: Path) -> list[str]:
    return sorted(str(p) for p in top.rglob("*") if skip not in (p, *p.parents))


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_path_leads_out_of_the_sdmc_folder(make_guest, backend, sdmc, tmp_path):
    sdmc.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, sdmc / "out")
    os.symlink("/etc", sdmc / "etc")
    (sdmc / "inside").mkdir()
    os.symlink(sdmc / "inside", sdmc / "in")  # a symlink that stays inside works
    os.symlink(sdmc, sdmc / "root")  # one to the root: the root is never deleted through it
    before = host_tree(tmp_path, sdmc)
    guest = guest_for(make_guest, backend, sdmc)
    blob, s = Blob(), Script()
    fs = Fs(s).start()
    refused = {
        "dotdot": blob.ascii("/../x"),
        "dotdot_deep": blob.ascii("/a/../../x"),
        "utf16_dotdot": blob.utf16("/x/../../y"),
        "symlink_out": blob.ascii("/out/x"),
        "nul": blob.ascii(b"/a\0b"),
        "relative": blob.ascii("x"),
        "backslash": blob.ascii("/..\\x"),
        "too_long": blob.utf16("/" + "a" * 256),
    }
    for name, path in refused.items():
        fs.create_file(name, path)
    fs.create_dir("mkdir_out", blob.utf16("/out/d"))
    fs.open_file("open_etc", blob.ascii("/etc/passwd"), READ)
    fs.open_file("create_out", blob.utf16("/out/y"), WRITE | CREATE)
    fs.open_dir("list_etc", blob.ascii("/etc"))
    fs.rename("rename_out", blob.ascii("/inside"), blob.ascii("/out/z"), directory=True)
    binary = blob.add(bytes(12))
    fs.path_command("binary", 0x808, 8, (BINARY, 12, binary), [0, 0, 0])
    fs.create_file("inside_dotdot", blob.ascii("/a/../ok"))
    fs.create_file("through_inner_link", blob.ascii("/in/ok"))
    fs.create_file("name_255", blob.utf16("/" + "b" * 255))
    fs.delete_dir("rm_root_link", blob.ascii("/root"), recursive=True)
    fs.open_dir("root", blob.ascii("/"))
    fs.call("list", "r10", [header(0x801, 1, 2), 8, buffer(8 * ENTRY, 4), HEAP], replies=3)
    process = run(guest, s, blob)
    r = lambda name: s.results(guest, process, name)[2]  # noqa: E731
    for name in refused:
        assert r(name) == (PATH_TOO_LONG if name == "too_long" else INVALID_PATH), name
    assert r("mkdir_out") == INVALID_PATH and r("create_out") == INVALID_PATH
    assert r("open_etc") == INVALID_PATH and r("list_etc") == INVALID_PATH
    assert r("rename_out") == INVALID_PATH and r("binary") == INVALID_PATH
    assert r("inside_dotdot") == SUCCESS and (sdmc / "ok").is_file()
    assert r("through_inner_link") == SUCCESS and (sdmc / "inside" / "ok").is_file()
    assert r("name_255") == SUCCESS
    assert r("rm_root_link") == INVALID_OPEN_FLAGS and (sdmc / "inside" / "ok").is_file()
    assert host_tree(tmp_path, sdmc) == before and not any(outside.iterdir())
    names = [e[0] for e in parse_entries(process.space.mem.read(HEAP, 8 * ENTRY))[: s.results(guest, process,
                                                                                              "list")[3]]]
    assert names == ["b" * 255, "in", "inside", "ok", "root"]  # the symlinks out of the root are not listed


def test_archive_handles_belong_to_their_process(make_guest, sdmc):
    guest = guest_for(make_guest, "semifastmem", sdmc)
    fs = guest.kernel.fs
    first = Script()
    Fs(first).start()
    a = guest.run_one(first.body, data=b"srv:\0")
    handle = first.results(guest, a, "archive")[3]
    second, blob = Script(), Blob()
    other = Fs(second)
    other.s.connect_srv()
    other.s.get_service("srv_fs", "fs:USER")
    other.call("free", "r8", [header(0x812, 2, 0), handle, 0], replies=3)
    b = run(guest, second, blob)
    assert second.results(guest, b, "free")[2] == INVALID_ARCHIVE_HANDLE
    assert fs.sdmc_root == sdmc


def test_open_file_directly_as_romfs_init_opens_its_own_3dsx(make_guest, sdmc):
    """romfs_dev.c: a 3DSX's RomFS is read through OpenFileDirectly(SDMC, empty archive path
    in static buffer 2, the UTF-16 path of argv[0] after "sdmc:" in static buffer 0, READ);
    a CXI's (or a 3DSX's, when libctru does not think it was launched as homebrew) through
    archive 3 (RomFS) with a 0xC-byte binary path: NOT_FOUND for a program without a RomFS."""
    (sdmc / "3ds").mkdir(parents=True)
    (sdmc / "3ds" / "app.3dsx").write_bytes(b"3DSX" + bytes(0x40))
    guest = guest_for(make_guest, "fastmem", sdmc)
    blob, s = Blob(), Script()
    fs = Fs(s).start()
    kind, size, address = blob.utf16("/3ds/app.3dsx")
    fs.call("direct", "r8", [header(0x803, 8, 4), 0, 9, EMPTY, 1, kind, size, READ, 0,
                             static(1, 2), INPUT + 8, static(size, 0), address], replies=4)
    s.asm(f"ldr r7, [r11, #{4 * s.word('direct', 4)}]\n")
    fs.call("magic", "r7", [header(0x802, 3, 2), 0, 0, 4, buffer(4, 4), HEAP], replies=3)
    zeros = blob.add(bytes(0xC))
    fs.call("romfs", "r8", [header(0x803, 8, 4), 0, 3, EMPTY, 1, BINARY, 0xC, READ, 0,
                            static(1, 2), INPUT + 8, static(0xC, 0), zeros], replies=4)
    process = run(guest, s, blob)
    assert s.results(guest, process, "direct")[1:4] == [header(0x803, 1, 2), SUCCESS, 0x10]
    assert s.results(guest, process, "magic")[2:] == [SUCCESS, 4] and process.space.mem.read(HEAP, 4) == b"3DSX"
    assert s.results(guest, process, "romfs")[2:] == [NOT_FOUND, 0x10, 0]
    assert "RomFS (archive 0x3): the program has no RomFS: answered NOT_FOUND" in guest.text()


@pytest.mark.parametrize("backend", BACKENDS)
def test_archive_3_is_the_programs_own_romfs_read_only(make_guest, backend, sdmc):
    """romfsMountFromCurrentProcess: OpenFileDirectly(RomFS, empty, 12 zero bytes, READ), then
    reads from offset 0 of that file (the RomFS level-3 header); a write-mode open is refused."""
    from hlemu.guest import program_path
    from hlemu.loaders import load_image

    bundled = program_path("romfs_read").with_suffix(".3dsx")
    image = load_image(bundled)
    guest = guest_for(make_guest, backend, sdmc)
    blob, s = Blob(), Script()
    fs = Fs(s).start()
    zeros = blob.add(bytes(0xC))
    fs.call("romfs", "r8", [header(0x803, 8, 4), 0, 3, EMPTY, 1, BINARY, 0xC, READ, 0,
                            static(1, 2), INPUT + 8, static(0xC, 0), zeros], replies=4)
    s.asm(f"ldr r7, [r11, #{4 * s.word('romfs', 4)}]\n")
    fs.call("size", "r7", [header(0x804, 0, 0)], replies=4)
    fs.call("head", "r7", [header(0x802, 3, 2), 0, 0, 0x28, buffer(0x28, 4), HEAP], replies=3)
    fs.call("tail", "r7", [header(0x802, 3, 2), image.romfs_size - 4, 0, 0x100, buffer(0x100, 4), HEAP + 0x100],
            replies=3)
    fs.call("write", "r7", [header(0x803, 4, 2), 0, 0, 4, 0, buffer(4, 2), HEAP], replies=3)
    fs.call("rw_open", "r8", [header(0x803, 8, 4), 0, 3, EMPTY, 1, BINARY, 0xC, READ | 2, 0,
                              static(1, 2), INPUT + 8, static(0xC, 0), zeros], replies=4)
    process = guest.spawn(s.body, data=bytes(blob.data))
    process.romfs = (str(bundled), image.romfs_offset, image.romfs_size)
    assert guest.run().reason == "all exited" and process.crash is None
    r = lambda name: s.results(guest, process, name)  # noqa: E731
    assert r("romfs")[2:4] == [SUCCESS, 0x10]
    assert r("size")[2:] == [SUCCESS, image.romfs_size, 0]
    raw = bundled.read_bytes()[image.romfs_offset:image.romfs_offset + image.romfs_size]
    assert r("head")[2:] == [SUCCESS, 0x28] and process.space.mem.read(HEAP, 0x28) == raw[:0x28]
    assert r("tail")[2:] == [SUCCESS, 4] and process.space.mem.read(HEAP + 0x100, 4) == raw[-4:]  # not past the end
    assert r("write")[2] == 0xC92044E6  # INVALID_OPEN_FLAGS: read-only
    assert r("rw_open")[2:] == [NOT_FOUND, 0x10, 0]


def test_host_failures_become_fs_results():
    import errno

    from kernel.services.fs_paths import host_error

    assert host_error(OSError(errno.ENOSPC, "full")) == 0xC86044D2  # INSUFFICIENT_SPACE
    assert host_error(OSError(errno.EDQUOT, "quota")) == 0xC86044D2
    assert host_error(OSError(errno.ENOENT, "gone")) == NOT_FOUND
    assert host_error(OSError(errno.EACCES, "denied")) == 0xD9004676  # COMMAND_NOT_ALLOWED
    assert host_error(OSError(errno.EROFS, "read-only")) == 0xD9004676
    assert host_error(OverflowError("offset")) == INVALID_PATH


def test_host_refusals_reach_the_guest_as_results_not_exceptions(make_guest, sdmc, monkeypatch):
    """A full disk (ENOSPC), a denied folder (EACCES) and an I/O error (EIO), made by the
    host calls failing (as root, chmod would not refuse anything)."""
    import errno

    def fail(code: int):
        def raising(*args, **kwargs):
            raise OSError(code, os.strerror(code))
        return raising

    (sdmc / "f").parent.mkdir(parents=True)
    (sdmc / "f").write_bytes(b"old")
    guest = guest_for(make_guest, "semifastmem", sdmc)
    monkeypatch.setattr(os, "ftruncate", fail(errno.ENOSPC))
    monkeypatch.setattr(os, "mkdir", fail(errno.EACCES))
    monkeypatch.setattr(os, "pwrite", fail(errno.EIO))
    blob, s = Blob(), Script()
    fs = Fs(s).start()
    data = blob.add(b"new")
    fs.create_file("create", blob.ascii("/sized"), 100)
    fs.create_dir("mkdir", blob.ascii("/d"))
    fs.open_file("open", blob.ascii("/f"), READ | WRITE)
    fs.call("write", "r7", [header(0x803, 4, 2), 0, 0, 3, 0, buffer(3, 2), data], replies=3)
    fs.call("set_size", "r7", [header(0x805, 2, 0), 1, 0])
    process = run(guest, s, blob)
    r = lambda name: s.results(guest, process, name)[2]  # noqa: E731
    assert r("create") == 0xC86044D2 and not (sdmc / "sized").exists()  # no half-made file left
    assert r("mkdir") == 0xD9004676 and r("write") == 0xD9004676
    assert r("set_size") == 0xC86044D2 and (sdmc / "f").read_bytes() == b"old"
