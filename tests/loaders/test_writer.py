"""The 3DSX writer: every bundled ELF round-trips word for word; ELFs linked with
--emit-relocs (built here when arm-none-eabi-gcc is present) get 3dsxtool's relocations,
and one linked at another address loads at 0x00100000 exactly as if linked there."""

from __future__ import annotations

import importlib.util
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from hlemu.guest import program_path, programs
from hlemu.loaders import ElfLoader, ThreeDsxLoader, load_image
from hlemu.loaders.threedsx import parse_3dsx
from hlemu.loaders.threedsx_writer import ConvertError, elf_to_3dsx, elf_to_program, main, runs
from tests.kernel.asm import Guest

REPO = Path(__file__).resolve().parents[2]
HIGH_BASE = 0x00200000


def same_image(elf_image, image) -> None:
    assert image.entry == elf_image.entry
    def layout(segments):
        return [(s.vaddr, s.size, s.perm) for s in segments]

    assert layout(image.segments) == layout(elf_image.segments)
    for ours, theirs in zip(image.segments, elf_image.segments, strict=True):
        assert ours.data == theirs.data, f"segment at {ours.vaddr:#x} differs"


@pytest.mark.parametrize("name", programs())
def test_every_bundled_elf_round_trips(tmp_path, name):
    elf = program_path(name).read_bytes()
    path = tmp_path / f"{name}.3dsx"
    path.write_bytes(elf_to_3dsx(elf))
    image = load_image(path)
    same_image(ElfLoader.load(elf), image)
    assert image.format == "3dsx" and image.name == name
    # Linked at 0x00100000 with no relocation sections: nothing to relocate, none written.
    assert parse_3dsx(path.read_bytes()).counts == ((0, 0), (0, 0), (0, 0))


def test_a_3dsx_of_hello_runs_in_the_kernel(tmp_path):
    path = tmp_path / "hello.3dsx"
    path.write_bytes(elf_to_3dsx(program_path("hello").read_bytes()))
    assert run_hello(path) == (7, "Hello from hlemu!")


def run_hello(path: Path) -> tuple[int | None, str]:
    guest = Guest("semifastmem")
    try:
        process = guest.kernel.spawn(path)
        result = guest.run()
        assert result.reason == "all exited" and process.crash is None
        return process.exit_code, process.output[0]
    finally:
        guest.close()


def test_runs_match_3dsxtools_build_relocs():
    assert runs([], 100) == []
    assert runs([0, 1, 2, 5], 100) == [(0, 3), (2, 1)]
    assert runs([70000], 70001) == [(0xFFFF, 0), (70000 - 0xFFFF, 1)]
    assert runs(range(3, 3 + 0x10001), 0x20000) == [(3, 0xFFFF), (0, 2)]
    with pytest.raises(ConvertError, match="past the segment"):
        runs([10], 10)


def _patched(name: str, *patches: tuple[int, str, int]) -> bytes:
    data = bytearray(program_path(name).read_bytes())
    for offset, fmt, value in patches:
        struct.pack_into(fmt, data, offset, value)
    return bytes(data)


PH = 52  # e_phoff of the bundled ELFs; program headers of 32 bytes, p_vaddr at +8


@pytest.mark.parametrize("data, words", [
    (_patched("hello", (24, "<I", 0x00100004)), "entry point 0x100004 is not the start of the code"),
    (_patched("hello", (PH + 32 + 8, "<I", 0x00108000)), "does not start at the page-rounded end"),
    (_patched("hello", (PH + 24, "<I", 7)), "flags 0x7"),
    (_patched("hello", (18, "<H", 3)), "not a 32-bit little-endian ARM ELF"),
    (_patched("hello", (24, "<I", 0x00200000), *[(PH + 32 * i + 8, "<I", 0x00200000 + d)
                                                for i, d in enumerate((0, 0x4000, 0x5000))]),
     "linked at 0x200000 without relocations"),
    (b"\x7fELF" + bytes(60), "malformed ELF|not a 32-bit"),
])
def test_elves_3dsxtool_would_refuse(data, words):
    with pytest.raises(ConvertError, match=words):
        elf_to_3dsx(data, where="bad.elf")


def test_command_line_embeds_an_smdh_with_an_icon_and_a_romfs(tmp_path):
    from PIL import Image as PilImage

    icon = np.zeros((48, 48, 3), dtype=np.uint8)
    icon[:, :24] = (0xF8, 0, 0)  # left half red, right half blue
    icon[:, 24:] = (0, 0, 0xF8)
    PilImage.fromarray(icon).save(tmp_path / "icon.png")
    (tmp_path / "romfs.bin").write_bytes(b"IVFC" + bytes(60))
    out = tmp_path / "hello.3dsx"
    assert main([str(program_path("hello")), str(out), "--title", "Hello", "--description", "Says hello",
                 "--publisher", "hlemu", "--icon", str(tmp_path / "icon.png"),
                 "--romfs", str(tmp_path / "romfs.bin")]) == 0
    image = load_image(out)
    assert image.smdh is not None
    assert (image.smdh.short_title, image.smdh.long_title, image.smdh.publisher) == ("Hello", "Says hello", "hlemu")
    assert np.array_equal(image.smdh.icon(), icon | np.array([7, 0, 7], dtype=np.uint8) * (icon > 0))
    assert out.read_bytes()[image.romfs_offset:] == b"IVFC" + bytes(60) and image.romfs_size == 64
    same_image(ElfLoader.load(program_path("hello").read_bytes()), image)


def test_command_line_errors_are_one_line_and_status_1(tmp_path, capsys):
    assert main([str(tmp_path / "missing.elf"), str(tmp_path / "x.3dsx")]) == 1
    assert "threedsx_writer:" in capsys.readouterr().err
    assert not (tmp_path / "x.3dsx").exists()


# ---- ELFs linked with --emit-relocs --------------------------------------------------------

def _build_guests_module():
    spec = importlib.util.spec_from_file_location("build_guests", REPO / "scripts" / "build_guests.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def relocatable(tmp_path_factory) -> dict[str, Path]:
    """hello and threads linked with -Wl,--emit-relocs (hello with reloc_tables.S's words of
    every relocation kind), at 0x00100000 and, for hello, also at 0x00200000."""
    bg = _build_guests_module()
    if shutil.which(bg.GCC) is None or not bg.newlib_present():
        pytest.skip(f"{bg.GCC} with newlib is not installed")
    out = tmp_path_factory.mktemp("relocs")
    sdk = bg.build_sdk(out)
    tables = out / "reloc_tables.o"
    bg.compile_source(Path(__file__).resolve().relative_to(REPO).with_name("reloc_tables.S"), tables)
    high_script = out / "link_high.ld"
    script = (REPO / bg.SDK / "link.ld").read_text()
    assert "    . = 0x00100000;\n" in script
    high_script.write_text(script.replace("    . = 0x00100000;\n", f"    . = {HIGH_BASE:#010x};\n"))
    extra = ["-Wl,--emit-relocs", "-Wl,--target2=rel", "-Wl,-u,reloc_tables_ro", "-Wl,-u,reloc_tables_data"]
    built = {}
    for name, objects, script_flag in [("hello", [tables], None), ("hello_high", [tables], f"-T{high_script}"),
                                       ("threads", [], None)]:
        source = name.removesuffix("_high")
        obj = out / f"{source}.o"
        if not obj.exists():
            bg.compile_source(bg.PROGRAMS / f"{source}.c", obj)
        flags = [script_flag if script_flag and f.startswith("-T") else f for f in bg.LINK_FLAGS]
        elf = out / f"{name}.elf"
        bg.run([bg.GCC, *flags, *(extra if objects else extra[:1]), str(obj), *map(str, objects), *map(str, sdk),
                "-o", str(elf)])
        built[name] = elf
    return built


@pytest.mark.parametrize("name", ["hello", "threads"])
def test_emit_relocs_elves_get_relocations_and_round_trip(relocatable, name):
    elf = relocatable[name].read_bytes()
    program = elf_to_program(elf)
    assert len(program.absolute[0]) > 50  # literal pools: addresses of strings, globals, functions
    data = elf_to_3dsx(elf)
    counts = parse_3dsx(data).counts
    assert counts[0][0] > 0 and all(len(c) == 2 for c in counts)
    same_image(ElfLoader.load(elf), ThreeDsxLoader.load(data))


def test_every_relocation_kind_is_found(relocatable):
    elf = relocatable["hello"].read_bytes()
    image = ElfLoader.load(elf)
    ro, data = image.segments[1], image.segments[2]
    table_ro = _symbol(elf, "reloc_tables_ro") - ro.vaddr
    table_data = _symbol(elf, "reloc_tables_data") - data.vaddr
    program = elf_to_program(elf)
    ro_words, data_words = table_ro // 4, table_data // 4
    assert {ro_words, ro_words + 1, ro_words + 2} <= program.relative[1]  # REL32, PREL31, REL32 across segments
    assert ro_words + 3 not in program.relative[1] | program.absolute[1]  # within rodata
    assert ro_words + 4 in program.absolute[1]
    assert data_words in program.absolute[2]  # TARGET1
    assert {data_words + 1, data_words + 2} <= program.relative[2]  # TARGET2, REL32
    assert data_words + 3 not in program.absolute[2]  # an unbound weak symbol stays 0
    stored = struct.unpack_from("<I", program.rodata, table_ro + 4)[0]
    assert stored >> 28 == 1  # PREL31's subtype
    same_image(image, ThreeDsxLoader.load(elf_to_3dsx(elf)))


def _symbol(elf: bytes, name: str) -> int:
    import io

    from elftools.elf.elffile import ELFFile

    table = ELFFile(io.BytesIO(elf)).get_section_by_name(".symtab")
    return next(s["st_value"] for s in table.iter_symbols() if s.name == name)


def test_an_elf_linked_elsewhere_loads_as_if_linked_at_0x00100000(relocatable, tmp_path):
    high = relocatable["hello_high"].read_bytes()
    assert ElfLoader.load(high).entry == HIGH_BASE
    image = ThreeDsxLoader.load(elf_to_3dsx(high))
    same_image(ElfLoader.load(relocatable["hello"].read_bytes()), image)
    path = tmp_path / "hello_high.3dsx"
    path.write_bytes(elf_to_3dsx(high))
    assert run_hello(path) == (7, "Hello from hlemu!")
