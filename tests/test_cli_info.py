"""``hlemu info PROGRAM``: what the loader makes of a file, ELF or 3DSX."""

from __future__ import annotations

from hlemu.cli import main
from hlemu.guest import program_path
from hlemu.loaders.threedsx_writer import main as write_3dsx


def test_info_on_an_elf_lists_its_segments(capsys):
    assert main(["info", "hello"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("hello.elf: ELF, ") and out[0].endswith("entry 0x00100000")
    assert [line.split()[:3] for line in out[1:]] == [["0x00100000", "0x004000", "r-x"],
                                                      ["0x00104000", "0x001000", "r--"],
                                                      ["0x00105000", "0x001000", "rw-"]]


def test_info_on_a_3dsx_shows_its_title_and_relocations(tmp_path, capsys):
    target = tmp_path / "hello.3dsx"
    assert write_3dsx([str(program_path("hello")), str(target), "--title", "Hello there", "--publisher", "me"]) == 0
    capsys.readouterr()
    assert main(["info", str(target)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("hello.3dsx: 3DSX, ")
    assert "'Hello there'" in out and "publisher 'me'" in out and "RomFS: none" in out


def test_info_on_something_else_names_the_formats(tmp_path, capsys):
    junk = tmp_path / "game.bin"
    junk.write_bytes(b"\0" * 64)
    assert main(["info", str(junk)]) == 2
    assert "the supported formats are 32-bit ARM ELF (.elf) and 3DSX" in capsys.readouterr().err
