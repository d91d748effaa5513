"""Formats people try that hlemu does not run (CIA, NCSD .3ds/.cci, NCCH .cxi/.app, DS ROMs):
known by their contents (3dbrew's magics) or, failing that, their suffix, and refused with a
message that says what the file is and which formats are supported; exit status 2 from the
commands. A supported file with an odd suffix still loads: contents decide first."""

from __future__ import annotations

import struct

import pytest

from hlemu.cli import main
from hlemu.guest import program_path
from hlemu.loaders import LoaderError, load_image

SUPPORTED = "the supported formats are 32-bit ARM ELF (.elf) and 3DSX (.3dsx, the homebrew format)"


def cia() -> bytes:
    return struct.pack("<IHH", 0x2020, 0, 0) + bytes(0x2020)  # header size, type, version


def with_magic_at_0x100(magic: bytes) -> bytes:
    return bytes(0x100) + magic + bytes(0x200)  # after the 0x100-byte RSA signature


def nds() -> bytes:
    header = bytearray(0x200)
    header[0:12] = b"HOMEBREWGAME"
    struct.pack_into("<H", header, 0x15C, 0xCF56)  # the Nintendo logo's CRC16
    return bytes(header)


BY_CONTENT = [  # (file name, contents, what the message calls it)
    ("game.cia", cia(), "a CIA (an installable title package)"),
    ("game.3ds", with_magic_at_0x100(b"NCSD"), "an NCSD game card image"),
    ("game.cci", with_magic_at_0x100(b"NCSD"), "an NCSD game card image"),
    ("game.cxi", with_magic_at_0x100(b"NCCH"), "an NCCH container"),
    ("00000000.app", with_magic_at_0x100(b"NCCH"), "an NCCH container"),
    ("game.nds", nds(), "a Nintendo DS ROM"),
    ("renamed.bin", cia(), "a CIA"),  # no telling suffix: the contents say it
    ("renamed.elf", with_magic_at_0x100(b"NCSD"), "an NCSD game card image"),
]


@pytest.mark.parametrize(("name", "data", "what"), BY_CONTENT, ids=[c[0] for c in BY_CONTENT])
def test_known_formats_are_refused_by_their_contents_naming_the_supported_ones(tmp_path, name, data, what):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoaderError) as error:
        load_image(path)
    message = str(error.value)
    assert message.startswith(f"{path}: this is {what}")
    assert "which hlemu cannot run" in message and SUPPORTED in message


@pytest.mark.parametrize("suffix", [".cia", ".3ds", ".cxi", ".app", ".cci", ".nds", ".CIA"])
def test_encrypted_or_truncated_files_are_refused_by_their_suffix(tmp_path, suffix):
    path = tmp_path / f"game{suffix}"
    path.write_bytes(b"\x5a" * 64)  # no magic where it belongs
    with pytest.raises(LoaderError, match="which hlemu cannot run") as error:
        load_image(path)
    assert SUPPORTED in str(error.value)


def test_an_unknown_file_says_which_formats_are_supported(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(LoaderError, match="not a guest executable hlemu can run") as error:
        load_image(path)
    assert SUPPORTED in str(error.value)


def test_an_elf_with_a_refused_suffix_still_loads(tmp_path):
    path = tmp_path / "hello.cia"
    path.write_bytes(program_path("hello").read_bytes())
    assert load_image(path).format == "elf"


@pytest.mark.parametrize("command", [["run"], ["info"], ["repl", "--plain"], ["run", "--script", "SCRIPT"],
                                     ["gui", "--screenshot", "SHOT"]])
def test_the_commands_refuse_them_with_status_2_and_one_line(tmp_path, capsys, command):
    game = tmp_path / "game.cia"
    game.write_bytes(cia())
    script = tmp_path / "s.py"
    script.write_text("print('never')\n")
    args = [{"SCRIPT": str(script), "SHOT": str(tmp_path / "shot.png")}.get(a, a) for a in command]
    assert main([*args, str(game)]) == 2
    captured = capsys.readouterr()
    assert f"hlemu: {game}: this is a CIA" in captured.err and SUPPORTED in captured.err
    assert "Traceback" not in captured.err and "never" not in captured.out
