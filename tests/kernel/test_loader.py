"""Malformed executables: a clear LoaderError naming the problem, and a kernel that keeps working.

The bad ELFs are the bundled ``hello`` with bytes patched (ELF32 header
offsets: e_machine at 18, e_entry at 24, e_phoff at 28, e_phnum at 44;
program headers of 32 bytes from e_phoff, p_vaddr at +8, p_memsz at +20).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from hlemu.guest import program_path
from hlemu.loaders import ElfLoader, LoaderError, load_image
from tests.kernel.asm import BACKENDS

HELLO = program_path("hello").read_bytes()
E_MACHINE, E_ENTRY, E_PHOFF, E_PHNUM = 18, 24, 28, 44


def phdr(index: int, field: int) -> int:
    """File offset of a program header field (the bundled ELFs have e_phoff = 52)."""
    (phoff,) = struct.unpack_from("<I", HELLO, E_PHOFF)
    return phoff + 32 * index + field


def patched(*patches: tuple[int, str, int]) -> bytes:
    data = bytearray(HELLO)
    for offset, fmt, value in patches:
        struct.pack_into(fmt, data, offset, value)
    return bytes(data)


def test_the_unpatched_elf_loads():
    image = ElfLoader.load(HELLO, name="hello")
    assert image.entry == 0x00100000 and image.segments[0].vaddr == 0x00100000


BAD_ELFS = {
    # name: (file contents, words the message must contain)
    "empty": (b"", ["not a guest executable"]),
    "not an ELF": (b"MZ\x90\x00" + bytes(200), ["not a guest executable"]),
    "magic only": (HELLO[:4], ["malformed ELF"]),
    "truncated header": (HELLO[:40], ["malformed ELF"]),
    "truncated program headers": (HELLO[:60], ["malformed ELF"]),
    "truncated segment": (HELLO[: len(HELLO) // 2], ["truncated"]),
    "x86 machine": (patched((E_MACHINE, "<H", 3)), ["not a 32-bit little-endian ARM ELF", "EM_386"]),
    "64-bit class": (patched((4, "B", 2)), ["not a 32-bit little-endian ARM ELF"]),
    "big endian": (patched((5, "B", 2)), ["not a 32-bit little-endian ARM ELF"]),
    "shared object": (patched((16, "<H", 3)), ["ET_DYN", "not an executable"]),
    "segment not page aligned": (patched((phdr(0, 8), "<I", 0x00100010)), ["0x100010", "not page aligned"]),
    "entry in the data segment": (patched((E_ENTRY, "<I", 0x00105000)), ["entry point 0x105000",
                                                                         "not in an executable segment"]),
    "entry outside every segment": (patched((E_ENTRY, "<I", 0x00400000)), ["entry point 0x400000"]),
    "huge segment": (patched((phdr(2, 20), "<I", 0xFFFFFFFF)), ["does not fit"]),
    "overlapping segments": (patched((phdr(1, 8), "<I", 0x00102000)), ["overlap"]),
    "program headers past the end": (patched((E_PHOFF, "<I", 0x7FFFFFF0)), ["malformed ELF"]),
}


@pytest.mark.parametrize("name", list(BAD_ELFS))
def test_load_image_names_the_problem(tmp_path, name):
    data, words = BAD_ELFS[name]
    path = tmp_path / "bad.elf"
    path.write_bytes(data)
    with pytest.raises(LoaderError) as info:
        load_image(path)
    message = str(info.value)
    assert str(path) in message  # which file
    for word in words:
        assert word in message


def test_elf_loader_load_names_the_problem_without_a_path():
    with pytest.raises(LoaderError, match="x86"):
        ElfLoader.load(patched((E_MACHINE, "<H", 3)), name="x86")
    with pytest.raises(LoaderError, match="malformed ELF"):
        ElfLoader.load(b"\x7fELF" + bytes(8), name="stub")


def test_missing_file():
    with pytest.raises(LoaderError, match="cannot read"):
        load_image(Path("/nonexistent/program.elf"))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["truncated segment", "x86 machine", "segment not page aligned",
                                  "entry in the data segment", "not an ELF"])
def test_failed_spawn_leaves_the_kernel_usable(tmp_path, guest, name):
    path = tmp_path / "bad.elf"
    path.write_bytes(BAD_ELFS[name][0])
    kernel = guest.kernel
    free = kernel.memory.phys.free_frames("APPLICATION")
    with pytest.raises(LoaderError):
        kernel.spawn(path)
    assert kernel.processes == {}
    assert kernel.memory.phys.free_frames("APPLICATION") == free
    hello = kernel.spawn(program_path("hello"))
    result = kernel.run(max_instructions=10_000_000)
    assert result.reason == "all exited"
    assert hello.exit_code == 7 and hello.output[0] == "Hello from hlemu!"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("vaddr", [0x0FFF0000, 0x1FF80000], ids=["main stack", "config memory"])
def test_spawn_of_an_image_over_the_kernels_areas_fails_cleanly(tmp_path, guest, vaddr):
    """A well-formed ELF whose segment overlaps what the kernel maps itself (the main thread's
    stack, config memory): spawn must fail with a clear error and leave no trace."""
    path = tmp_path / "clash.elf"
    path.write_bytes(patched((phdr(2, 8), "<I", vaddr), (phdr(2, 12), "<I", vaddr)))
    kernel = guest.kernel
    free = kernel.memory.phys.free_frames("APPLICATION")
    with pytest.raises(ValueError, match=f"{vaddr:#010x}"):  # LoaderError or MapError, naming the address
        kernel.spawn(path)
    assert kernel.processes == {}  # no half-made process
    assert kernel.memory.phys.free_frames("APPLICATION") == free  # no frames lost
    hello = kernel.spawn(program_path("hello"))
    assert kernel.run(max_instructions=10_000_000).reason == "all exited"
    assert hello.exit_code == 7
