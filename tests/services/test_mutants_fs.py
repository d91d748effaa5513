"""fs:USER's archive handles and archive-wide commands at their edges: handles are 64-bit and
numbered from 1 as Azahar's ArchiveManager numbers them (hle/service/fs/archive.h next_handle = 1,
archive.cpp 'return next_handle++'), stay valid until closed, and belong to one SDMC folder; the
answers when the host cannot make the folder or tell its free space. Results from Citra/Azahar
file_sys/errors.h. Written for mutants of kernel/services/fs.py (scripts/mutation.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from kernel.services.fs import default_sdmc_root
from tests.kernel.asm import SUCCESS
from tests.services.script import Script, header
from tests.services.test_fs import EMPTY, INPUT, INVALID_ARCHIVE_HANDLE, NOT_FOUND, Blob, Fs, guest_for, static

OPEN_ARCHIVE = [header(0x80C, 3, 2), 9, EMPTY, 1, static(1, 0), INPUT + 8]  # fsMakePath(PATH_EMPTY, "")


def test_the_default_sdmc_folder_is_under_xdg_data_home_else_the_home_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_sdmc_root() == tmp_path / "data" / "hlemu" / "sdmc"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_sdmc_root() == tmp_path / "home" / ".local" / "share" / "hlemu" / "sdmc"
    monkeypatch.setenv("XDG_DATA_HOME", "")  # set but empty: as unset (XDG Base Directory)
    assert default_sdmc_root() == tmp_path / "home" / ".local" / "share" / "hlemu" / "sdmc"


def test_archive_handles_count_from_1_and_each_stays_valid_until_closed(make_guest, tmp_path):
    guest = guest_for(make_guest, "semifastmem", tmp_path / "sdmc")
    s = Script()
    fs = Fs(s).start()  # handle 1
    fs.call("second", "r8", OPEN_ARCHIVE, replies=4)
    fs.call("third", "r8", OPEN_ARCHIVE, replies=4)
    for name in ("archive", "second", "third"):
        fs.call(f"free_{name}", "r8", [header(0x812, 2, 0), ("slot", s.word(name, 3)), ("slot", s.word(name, 4))],
                replies=4)
    fs.call("close", "r8", [header(0x80E, 2, 0), 2, 0])
    fs.call("close_again", "r8", [header(0x80E, 2, 0), 2, 0])
    fs.call("free_closed", "r8", [header(0x812, 2, 0), 2, 0], replies=4)
    fs.call("free_first", "r8", [header(0x812, 2, 0), 1, 0], replies=4)
    guest.kernel.fs.free_bytes = 0x1234
    process = guest.run_one(s.body, data=bytes(Blob().data))
    r = lambda name: s.results(guest, process, name)[1:]  # noqa: E731
    assert [r(n)[1:] for n in ("archive", "second", "third")] == [[SUCCESS, 1, 0], [SUCCESS, 2, 0], [SUCCESS, 3, 0]]
    assert [r(f"free_{n}")[1:] for n in ("archive", "second", "third")] == [[SUCCESS, 0x1234, 0]] * 3
    assert r("close") == [header(0x80E, 1, 0), SUCCESS]
    assert r("close_again") == [header(0x80E, 1, 0), INVALID_ARCHIVE_HANDLE]
    assert r("free_closed") == [header(0x812, 3, 0), INVALID_ARCHIVE_HANDLE, 0, 0]
    assert r("free_first")[1:] == [SUCCESS, 0x1234, 0]


def test_archive_handles_are_64_bit(make_guest, tmp_path):
    """libctru's FS_Archive is a u64 that fs.c sends as two words; a handle past 2**32 (which would
    take 2**32 opens to reach, so the test starts the count there) comes back and is taken whole."""
    guest = guest_for(make_guest, "semifastmem", tmp_path / "sdmc")
    guest.kernel.fs._next_handle = (1 << 32) + 5
    s = Script()
    fs = Fs(s).start()
    fs.call("whole", "r8", [header(0x812, 2, 0), 5, 1], replies=4)
    fs.call("low_only", "r8", [header(0x812, 2, 0), 5, 0], replies=4)
    fs.call("other_high", "r8", [header(0x812, 2, 0), 5, 2], replies=4)
    process = guest.run_one(s.body, data=bytes(Blob().data))
    r = lambda name: s.results(guest, process, name)[2:]  # noqa: E731
    assert r("archive") == [SUCCESS, 5, 1]
    assert r("whole")[0] == SUCCESS
    assert r("low_only") == [INVALID_ARCHIVE_HANDLE, 0, 0] and r("other_high") == [INVALID_ARCHIVE_HANDLE, 0, 0]


def test_an_sdmc_folder_that_cannot_be_made_is_not_found(make_guest, tmp_path):
    (tmp_path / "file").write_bytes(b"in the way")
    guest = guest_for(make_guest, "semifastmem", tmp_path / "file" / "sdmc")
    s = Script()
    Fs(s).start()
    process = guest.run_one(s.body, data=bytes(Blob().data))
    assert s.results(guest, process, "archive")[1:] == [header(0x80C, 3, 0), NOT_FOUND, 0, 0]
    assert f"SDMC folder {tmp_path / 'file' / 'sdmc'} cannot be made: answered NOT_FOUND" in guest.text()


def test_free_space_the_host_cannot_tell_is_0(make_guest, tmp_path, monkeypatch):
    def failing(path):
        raise OSError(5, "I/O error")

    guest = guest_for(make_guest, "semifastmem", tmp_path / "sdmc")
    s = Script()
    fs = Fs(s).start()
    fs.call("free", "r8", [header(0x812, 2, 0), *fs.archive], replies=4)
    fs.call("resource", "r8", [header(0x814, 0, 0)], replies=6)
    monkeypatch.setattr(shutil, "disk_usage", failing)
    process = guest.run_one(s.body, data=bytes(Blob().data))
    assert s.results(guest, process, "free")[2:] == [SUCCESS, 0, 0]
    assert s.results(guest, process, "resource")[2:] == [SUCCESS, 512, 0x4000, 0, 0]


def test_cluster_counts_stop_at_32_bits(make_guest, tmp_path):
    guest = guest_for(make_guest, "semifastmem", tmp_path / "sdmc")
    guest.kernel.fs.capacity_bytes, guest.kernel.fs.free_bytes = 1 << 50, (0xFFFFFFFF * 0x4000) - 1
    s = Script()
    fs = Fs(s).start()
    fs.call("resource", "r8", [header(0x814, 0, 0)], replies=6)
    process = guest.run_one(s.body, data=bytes(Blob().data))
    assert s.results(guest, process, "resource")[2:] == [SUCCESS, 512, 0x4000, 0xFFFFFFFF, 0xFFFFFFFE]


def rename_between(fs: Fs, name: str, source: list, target: list, src: tuple, dst: tuple) -> None:
    (k1, n1, a1), (k2, n2, a2) = src, dst
    fs.call(name, "r8", [header(0x805, 9, 4), 0, *source, k1, n1, *target, k2, n2,
                         static(n1, 1), a1, static(n2, 2), a2])


def test_a_rename_between_two_handles_of_the_sd_card_moves_the_file(make_guest, tmp_path):
    sdmc = tmp_path / "sdmc"
    sdmc.mkdir()
    (sdmc / "a").write_bytes(b"A")
    guest = guest_for(make_guest, "semifastmem", sdmc)
    s, blob = Script(), Blob()
    fs = Fs(s).start()
    fs.call("second", "r8", OPEN_ARCHIVE, replies=4)
    second = [("slot", s.word("second", 3)), ("slot", s.word("second", 4))]
    rename_between(fs, "rename", fs.archive, second, blob.ascii("/a"), blob.ascii("/b"))
    process = guest.run_one(s.body, data=bytes(blob.data))
    assert s.results(guest, process, "rename")[2] == SUCCESS
    assert (sdmc / "b").read_bytes() == b"A" and not (sdmc / "a").exists()


def test_a_rename_between_archives_of_two_sdmc_folders_is_refused(make_guest, tmp_path):
    """An archive keeps the folder it was opened on (kernel.fs.sdmc_root may change while a program
    runs); moving a file between two folders is refused with INVALID_ARCHIVE_HANDLE (hlemu's answer:
    Azahar's RenameFileBetweenArchives implements no rename across archives) and touches neither."""
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    (old / "a").write_bytes(b"A")
    guest = guest_for(make_guest, "semifastmem", new)
    s, blob = Script(), Blob()
    fs = Fs(s).start()  # on new: handle 2
    rename_between(fs, "rename", [1, 0], fs.archive, blob.ascii("/a"), blob.ascii("/b"))
    process = guest.spawn(s.body, data=bytes(blob.data))
    guest.kernel.fs.sdmc_root = old
    assert guest.kernel.fs.open_sdmc(process) == 1
    guest.kernel.fs.sdmc_root = new
    assert guest.run().reason == "all exited" and process.crash is None
    assert s.results(guest, process, "archive")[2:] == [SUCCESS, 2, 0]
    assert s.results(guest, process, "rename")[2] == INVALID_ARCHIVE_HANDLE
    assert (old / "a").read_bytes() == b"A" and sorted(os.listdir(new)) == []
    assert not Path(old / "b").exists()
