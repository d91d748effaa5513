"""describe_3dsx: what a future ``hlemu info app.3dsx`` prints."""

from __future__ import annotations

import pytest

from hlemu.guest import program_path
from hlemu.loaders import LoaderError, describe_3dsx
from hlemu.loaders.threedsx_writer import elf_to_3dsx
from tests.loaders.threedsx_files import relocated


def test_describe_a_3dsx_with_relocations_smdh_and_romfs(tmp_path):
    path = tmp_path / "app.3dsx"
    data = relocated(romfs=b"ROMFS-IMAGE")
    path.write_bytes(data)
    lines = describe_3dsx(path).splitlines()
    assert lines[0] == f"app.3dsx: 3DSX, {len(data)} bytes, entry 0x00100000"
    assert lines[1] == "  header 0x2c bytes (extended), relocation header 0x8 bytes, version 0, flags 0x0"
    assert lines[3].split() == ["code", "0x00100000", "0x001100", "2", "2", "(", "4)", "0", "(", "0)"]
    assert lines[4].split() == ["rodata", "0x00102000", "0x000020", "1", "0", "(", "0)", "1", "(", "2)"]
    assert lines[5].split() == ["data", "0x00103000", "0x000070", "1", "1", "(", "1)", "1", "(", "1),", "bss", "0x30"]
    assert lines[6].startswith("  SMDH at 0x") and lines[6].endswith("(0x36c0 bytes): 'Test'")
    assert lines[7:9] == ["    long title 'A test program'", "    publisher 'hlemu'"]
    romfs_at = len(data) - len(b"ROMFS-IMAGE")
    assert lines[9] == f"  RomFS at {romfs_at:#x} (0xb bytes)"


def test_describe_a_plain_3dsx(tmp_path):
    path = tmp_path / "hello.3dsx"
    path.write_bytes(elf_to_3dsx(program_path("hello").read_bytes()))
    text = describe_3dsx(path)
    assert "header 0x20 bytes, relocation header 0x8 bytes" in text
    assert "SMDH: none" in text and "RomFS: none" in text


def test_describe_raises_loader_errors(tmp_path):
    path = tmp_path / "bad.3dsx"
    path.write_bytes(b"3DSX")
    with pytest.raises(LoaderError, match="truncated 3DSX header"):
        describe_3dsx(path)
    with pytest.raises(LoaderError, match="cannot read"):
        describe_3dsx(tmp_path / "missing.3dsx")


def test_describe_counts_unknown_relocation_tables(tmp_path):
    from hlemu.loaders.threedsx_writer import Program, build_3dsx

    path = tmp_path / "extra.3dsx"
    path.write_bytes(build_3dsx(Program(code=bytes(8)), tables=[[[(0, 0)], [], [(0, 0)]]] * 3, reloc_header_size=12))
    assert describe_3dsx(path).count("1 unknown tables skipped") == 3
