"""FS paths at their edges, as Citra/Azahar file_sys/path_parser.cpp parses them, and the FS
result words (3dbrew "Error codes": description bits 0-9, module bits 10-17 (FS is 17),
summary bits 21-26, level bits 27-31; values from Citra/Azahar file_sys/errors.h).
Written for mutants of kernel/services/fs_paths.py (scripts/mutation.py)."""

from __future__ import annotations

import errno
import os

import pytest

from kernel.services.fs_paths import HostRoot, _result, components, host_error, path_text

NOT_FOUND = 0xC8804478
ALREADY_EXISTS = 0xC82044BE
INSUFFICIENT_SPACE = 0xC86044D2
DIRECTORY_NOT_EMPTY = 0xC92044F0
COMMAND_NOT_ALLOWED = 0xD9004676
INVALID_PATH = 0xE0E046BE
PATH_TOO_LONG = 0xE0E046BF
ASCII, UTF16 = 3, 4


@pytest.mark.parametrize(("description", "summary", "level", "word"), [
    (120, 4, 25, 0xC8804478),  # NotFound, NotFound, Status
    (702, 7, 28, 0xE0E046BE),  # InvalidPath, WrongArgument, Usage
    (630, 8, 27, 0xD9004676),  # CommandNotAllowed, InvalidState, Permanent
    (0, 0, 0, 17 << 10),
    (1023, 63, 31, 0xFFE047FF),  # every field full: the fields do not overlap
])
def test_result_words_put_each_field_in_its_bits(description, summary, level, word):
    assert _result(description, summary, level) == word


# -- path_text -------------------------------------------------------------------------------------

def test_ascii_paths_are_bytes_as_latin_1_without_the_trailing_nul():
    assert path_text(ASCII, b"/a\xe9.txt\0") == "/a\u00e9.txt"
    assert path_text(ASCII, b"/a\0\0") == "/a"


def test_utf16_paths_decode_and_drop_the_16_bit_nul():
    assert path_text(UTF16, "/dir/\u00e9\U0001F600".encode("utf-16-le") + b"\0\0") == "/dir/\u00e9\U0001F600"


def test_an_odd_utf16_size_is_invalid():
    assert path_text(UTF16, "/ab".encode("utf-16-le") + b"\0") == INVALID_PATH


def test_a_lone_surrogate_is_invalid():
    assert path_text(UTF16, b"/\0\x00\xd8\0\0") == INVALID_PATH


@pytest.mark.parametrize("path_type", [0, 1, 2, 5])
def test_sdmc_takes_only_text_paths(path_type):
    assert path_text(path_type, b"/a\0") == INVALID_PATH


@pytest.mark.parametrize("data", [b"/a\0b\0", b"\0/a\0"])
def test_a_nul_inside_the_text_is_invalid(data):
    assert path_text(ASCII, data) == INVALID_PATH
    assert path_text(UTF16, data.decode("latin-1").encode("utf-16-le")) == INVALID_PATH


# -- components ------------------------------------------------------------------------------------

def test_components_drop_empty_and_dot_names_and_climb_with_dot_dot():
    assert components("/") == []
    assert components("//a/./b//") == ["a", "b"]
    assert components("/a/b/../c") == ["a", "c"]
    assert components("/a/..") == []


@pytest.mark.parametrize("text", ["/..", "/a/../..", "/../a"])
def test_dot_dot_above_the_root_is_invalid(text):
    assert components(text) == INVALID_PATH


@pytest.mark.parametrize("text", ["", "a/b", "./a"])
def test_a_relative_path_is_invalid(text):
    assert components(text) == INVALID_PATH


@pytest.mark.parametrize("char", list('<>\\|:"*?'))
def test_each_refused_character_is_invalid(char):
    assert components(f"/a{char}b") == INVALID_PATH
    assert components("/ok") == ["ok"]


def test_a_path_of_1024_utf16_units_is_taken_and_1025_is_too_long():
    names = ["a" * 200] * 5  # 5 * 201 = 1005 units
    text = "/" + "/".join(names) + "/" + "b" * (1024 - 1005 - 1)
    assert len(text) == 1024 and components(text) == [*names, "b" * 18]
    assert components(text + "c") == PATH_TOO_LONG


def test_path_length_counts_utf16_units_not_characters():
    names = ["\U0001F600" * 100] * 5  # 100 characters, 200 units each
    text = "/" + "/".join(names) + "/" + "a" * 18  # 1024 units, 524 characters
    assert len(text.encode("utf-16-le")) == 2048 and components(text) == [*names, "a" * 18]
    assert components(text + "a") == PATH_TOO_LONG


def test_a_name_of_255_units_is_taken_and_256_is_too_long():
    assert components("/" + "n" * 255) == ["n" * 255]
    assert components("/" + "n" * 256) == PATH_TOO_LONG
    assert components("/" + "\U0001F600" * 127 + "n") == ["\U0001F600" * 127 + "n"]  # 255 units
    assert components("/" + "\U0001F600" * 128) == PATH_TOO_LONG  # 128 characters, 256 units


def test_a_long_name_climbed_out_of_is_still_too_long():
    assert components("/" + "n" * 256 + "/..") == PATH_TOO_LONG


# -- host_error ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "result"), [
    (errno.ENOSPC, INSUFFICIENT_SPACE), (errno.EDQUOT, INSUFFICIENT_SPACE), (errno.EFBIG, INSUFFICIENT_SPACE),
    (errno.ENOENT, NOT_FOUND), (errno.ENOTDIR, NOT_FOUND),
    (errno.EEXIST, ALREADY_EXISTS), (errno.ENOTEMPTY, DIRECTORY_NOT_EMPTY),
    (errno.ENAMETOOLONG, PATH_TOO_LONG), (errno.EINVAL, INVALID_PATH), (errno.ELOOP, INVALID_PATH),
    (errno.EACCES, COMMAND_NOT_ALLOWED), (errno.EPERM, COMMAND_NOT_ALLOWED), (errno.EIO, COMMAND_NOT_ALLOWED),
])
def test_each_host_errno_has_its_fs_result(code, result):
    assert host_error(OSError(code, os.strerror(code))) == result


def test_python_value_errors_are_invalid_paths_and_other_errors_not_allowed():
    assert host_error(ValueError("embedded null byte")) == INVALID_PATH
    assert host_error(OverflowError("offset")) == INVALID_PATH
    assert host_error(RuntimeError("other")) == COMMAND_NOT_ALLOWED


# -- HostRoot --------------------------------------------------------------------------------------

def test_host_root_resolves_inside_and_refuses_a_symlink_out(tmp_path):
    root = HostRoot(tmp_path / "sdmc")
    assert not (tmp_path / "sdmc").exists()
    assert root.resolve([]) == (tmp_path / "sdmc").resolve()  # the root itself, made on first use
    assert root.resolve(["a", "b"]) == (tmp_path / "sdmc" / "a" / "b").resolve()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", tmp_path / "sdmc" / "out")
    os.symlink(tmp_path / "sdmc" / "a", tmp_path / "sdmc" / "in")
    assert root.resolve(["out"]) == INVALID_PATH
    assert root.resolve(["out", "x"]) == INVALID_PATH
    assert root.resolve(["in", "x"]) == (tmp_path / "sdmc" / "a" / "x").resolve()
    assert root.contains(tmp_path / "sdmc") and root.contains(tmp_path / "sdmc" / "in")
    assert not root.contains(tmp_path / "sdmc" / "out") and not root.contains(tmp_path)


def test_a_sibling_folder_sharing_the_roots_name_prefix_is_outside(tmp_path):
    root = HostRoot(tmp_path / "sdmc")
    (tmp_path / "sdmc2").mkdir()  # "/.../sdmc2" starts with "/.../sdmc": a string test would take it
    root.real_root()
    os.symlink(tmp_path / "sdmc2", tmp_path / "sdmc" / "sib")
    assert root.resolve(["sib"]) == INVALID_PATH
    assert not root.contains(tmp_path / "sdmc2")


def test_a_root_whose_parents_do_not_exist_yet_is_made_with_them(tmp_path):
    """The default root is $XDG_DATA_HOME/hlemu/sdmc, whose hlemu folder a first run has not made."""
    root = HostRoot(tmp_path / "data" / "hlemu" / "sdmc")
    assert root.resolve(["a"]) == (tmp_path / "data" / "hlemu" / "sdmc" / "a").resolve()
    assert (tmp_path / "data" / "hlemu" / "sdmc").is_dir()
