"""``hlemu new NAME`` and ``hlemu build [DIR]``: a program of one's own, built with the SDK and run.

The builds need Debian's gcc-arm-none-eabi and libnewlib-arm-none-eabi (CI installs them, as
scripts/build_guests.py does); without them those tests are skipped, saying so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from hlemu.cli import main
from hlemu.guest import toolchain
from hlemu.loaders.threedsx import describe_3dsx
from hlemu.scaffold import ScaffoldError, create

needs_toolchain = pytest.mark.skipif(toolchain.missing_toolchain() is not None,
                                     reason=f"no ARM toolchain: {toolchain.missing_toolchain()}")


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_new_makes_a_folder_ready_to_build(tmp_path, capsys):
    code, out, err = cli(capsys, "new", str(tmp_path / "demo_1"))
    assert code == 0, err
    assert f"made {tmp_path / 'demo_1'}/" in out and "next: hlemu build" in out
    folder = tmp_path / "demo_1"
    assert sorted(p.name for p in folder.iterdir()) == [".gitignore", "README.md", "hlemu.toml", "main.c"]
    assert 'name = "demo_1"' in (folder / "hlemu.toml").read_text()
    source = (folder / "main.c").read_text()
    assert '#include "hlemu.h"' in source and "int main(void)" in source and "{name}" not in source
    assert "hlemu build" in (folder / "README.md").read_text()


@pytest.mark.parametrize(("name", "message"), [
    ("9lives", "'9lives' is not a usable program name"),
    ("my game", "'my game' is not a usable program name"),
    ("a.b", "'a.b' is not a usable program name"),
])
def test_new_refuses_a_name_that_is_no_file_name(tmp_path, capsys, name, message):
    code, out, err = cli(capsys, "new", str(tmp_path / name))
    assert code == 2 and out == "" and message in err
    assert not (tmp_path / name).exists()


def test_new_never_writes_into_a_folder_with_files(tmp_path):
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "main.c").write_text("mine")
    with pytest.raises(ScaffoldError, match="already exists and is not an empty folder"):
        create(folder)
    assert (folder / "main.c").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    assert create(tmp_path / "empty") == tmp_path / "empty"  # an empty folder is fine


def test_build_without_settings_says_what_to_do(tmp_path, capsys):
    code, out, err = cli(capsys, "build", str(tmp_path))
    assert code == 2 and out == ""
    assert f"hlemu build: {tmp_path}: no hlemu.toml here (make a program with 'hlemu new NAME'" in err


@pytest.mark.parametrize(("settings", "message"), [
    ('name = "x"\ncolour = "red"\n', "unknown setting 'colour'"),
    ('title = "x"\n', "'name' must be set"),
    ('name = "x"\nsources = ["nope.c"]\n', "source 'nope.c' does not exist"),
    ('name = "x"\nsources = ["main.c", "notes.txt"]\n', "source 'notes.txt' is neither .c nor .S"),
    ('name = "x"\noptimize = "fast"\n', "'optimize' must be one of 0 1 2 3 s g"),
    ('name = "x"\ncflags = "-DX"\n', "'cflags' must be a list of strings"),
    ('name = "x\n', "hlemu.toml: "),  # not TOML
])
def test_bad_settings_name_the_file_and_the_key(tmp_path, capsys, settings, message):
    create(tmp_path / "p")
    (tmp_path / "p" / "hlemu.toml").write_text(settings)
    (tmp_path / "p" / "notes.txt").write_text("")
    code, out, err = cli(capsys, "build", str(tmp_path / "p"))
    assert code == 2 and message in err, err


def test_a_missing_toolchain_is_named_with_its_packages(tmp_path, capsys, monkeypatch):
    create(tmp_path / "p")
    monkeypatch.setattr(toolchain, "GCC", "arm-none-eabi-gcc-that-is-not-installed")
    code, out, err = cli(capsys, "build", str(tmp_path / "p"))
    assert code == 2 and out == ""
    assert "arm-none-eabi-gcc-that-is-not-installed is not installed" in err
    assert "sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi" in err


@needs_toolchain
def test_a_new_program_builds_and_runs_as_elf_and_3dsx(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli(capsys, "new", "hello")[0] == 0
    code, out, err = cli(capsys, "build", "hello")
    assert code == 0, err
    assert "built hello/build/hello.elf (" in out and "built hello/build/hello.3dsx (" in out
    assert err == ""  # no linker chatter about executable stacks
    for program in ("hello/build/hello.elf", "hello/build/hello.3dsx"):
        code, out, err = cli(capsys, "run", program)
        assert code == 0, out + err
        assert out.splitlines() == ["[hello:32] Hello from hello, process 32!", "[hello:32] tick 1 at 100 ms",
                                    "[hello:32] tick 2 at 200 ms", "[hello:32] tick 3 at 300 ms",
                                    "hlemu: all exited; hello: exited (0)"]


@needs_toolchain
def test_the_elf_has_debug_info_naming_the_source_and_the_3dsx_its_title(tmp_path):
    folder = create(tmp_path / "dbg")
    (folder / "hlemu.toml").write_text('name = "dbg"\ntitle = "Debug me"\nauthor = "Ada"\n'
                                       'description = "A long title"\n')
    (folder / "romfs").mkdir()
    (folder / "romfs" / "hello.txt").write_text("hi")
    assert main(["build", str(folder)]) == 0
    with (folder / "build" / "dbg.elf").open("rb") as f:
        elf = ELFFile(f)
        assert elf.has_dwarf_info()
        units = [cu.get_top_DIE() for cu in elf.get_dwarf_info().iter_CUs()]
        names = {die.attributes["DW_AT_name"].value.decode() for die in units}
        folders = {die.attributes["DW_AT_comp_dir"].value.decode() for die in units}
    assert {"main.c", "crt0.S", "syscalls.c"} <= names
    assert str(folder) in folders and str(toolchain.SDK_DIR) in folders  # gdb finds both from anywhere
    description = describe_3dsx(folder / "build" / "dbg.3dsx")
    assert "'Debug me'" in description and "publisher 'Ada'" in description
    assert "RomFS: none" not in description


@needs_toolchain
def test_a_compile_error_shows_the_compilers_message_and_exits_1(tmp_path, capsys):
    folder = create(tmp_path / "broken")
    (folder / "main.c").write_text("int main(void) { return undefined_thing; }\n")
    code, out, err = cli(capsys, "build", str(folder))
    assert code == 1 and out == ""
    assert "main.c:1:" in err and "undefined_thing" in err
    assert err.rstrip().endswith("hlemu build: compiling main.c failed")


@needs_toolchain
def test_the_sdk_parts_a_header_asks_for_are_linked(tmp_path, capsys):
    """console.h brings console.c and the font; cflags reach the program's own sources."""
    folder = create(tmp_path / "con")
    (folder / "hlemu.toml").write_text('name = "con"\noptimize = "2"\ncflags = ["-DGREETING=\\"hey\\""]\n')
    (folder / "main.c").write_text(
        '#include <stdio.h>\n#include "console.h"\n#include "gspgpu.h"\n'
        'int main(void) { printf("%s %d\\n", GREETING, (int)consoleFramebufferSize(GSP_SCREEN_BOTTOM)); '
        "return 9; }\n")
    assert main(["build", str(folder)]) == 0
    capsys.readouterr()
    code, out, _ = cli(capsys, "run", str(folder / "build" / "con.elf"))
    assert code == 9 and "[con:32] hey 153600" in out


def test_build_guests_takes_its_flags_from_the_toolchain_module():
    """One set of flags: scripts/build_guests.py's are hlemu.guest.toolchain's, with its paths."""
    import sys

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "scripts"))
    try:
        import build_guests
    finally:
        sys.path.remove(str(root / "scripts"))
    assert build_guests.COMPILE_FLAGS == toolchain.compile_flags(Path("hlemu/guest/sdk"), prefix_map=root)
    assert build_guests.LINK_FLAGS == toolchain.link_flags(Path("hlemu/guest/sdk"))
    assert [p.name for p in build_guests.SDK_SOURCES] == toolchain.SDK_PARTS
