"""Every bundled ELF ships with a 3DSX twin (scripts/build_guests.py), and the loader makes
the same process image of both, word for word; twins run exactly as their ELFs do."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hlemu.guest import BIN_DIR, program_path, programs
from hlemu.loaders import load_image
from hlemu.run import resolve
from kernel.kernel import Kernel


def memory(segment) -> np.ndarray:
    """A segment as the process sees it: its file bytes, then zeros up to its size, in words."""
    return np.frombuffer(segment.data.ljust(segment.size, b"\0"), dtype="<u4")


def test_every_bundled_program_has_a_twin():
    assert programs() and sorted(p.stem for p in BIN_DIR.glob("*.3dsx")) == programs()


@pytest.mark.parametrize("name", programs())
def test_twin_loads_to_the_same_words_addresses_and_permissions(name):
    elf, twin = load_image(program_path(name)), load_image(BIN_DIR / f"{name}.3dsx")
    assert (twin.format, twin.entry) == ("3dsx", elf.entry)
    assert [(s.vaddr, s.size, s.perm) for s in twin.segments] == [(s.vaddr, s.size, s.perm) for s in elf.segments]
    for ours, theirs in zip(twin.segments, elf.segments, strict=True):
        differ = np.flatnonzero(memory(ours) != memory(theirs))
        assert differ.size == 0, f"{name}: word at {ours.vaddr + 4 * int(differ[0]):#010x} differs"


@pytest.mark.parametrize("name", programs())
def test_twin_carries_the_builds_smdh(name):
    smdh = load_image(BIN_DIR / f"{name}.3dsx").smdh
    assert smdh is not None and smdh.short_title == name and smdh.publisher == "hlemu"
    icon = smdh.icon()
    assert icon.shape == (48, 48, 3) and len(np.unique(icon.reshape(-1, 3), axis=0)) >= 3  # border, fill, letter


def test_bundled_names_resolve_to_twins():
    assert resolve("hello.3dsx") == BIN_DIR / "hello.3dsx"
    assert resolve("hello") == program_path("hello")


def run(program, tmp_path) -> dict:
    kernel = Kernel(backend="semifastmem", output=lambda _p, _line: None, sdmc_root=tmp_path)
    try:
        process = kernel.spawn(program)
        result = kernel.run(max_instructions=200_000_000)
        return {"output": process.output, "status": process.status, "instructions": result.instructions}
    finally:
        kernel.close()


@pytest.mark.parametrize("name", ["hello", "threads"])
def test_twin_runs_like_its_elf(name, tmp_path):
    """Started as a homebrew launcher starts a 3DSX, the twin also gets an argument list
    (argv[0] = sdmc:/3ds/NAME.3dsx), which the SDK's crt0 reads: a few instructions more.
    Started as the ELF is, with no argument list, it runs instruction for instruction alike."""
    elf = run(program_path(name), tmp_path)
    launched = run(BIN_DIR / f"{name}.3dsx", tmp_path)
    plain = run(replace(load_image(BIN_DIR / f"{name}.3dsx"), format="elf"), tmp_path)
    assert elf["output"] and launched["output"] == elf["output"] and launched["status"] == elf["status"]
    assert 0 < launched["instructions"] - elf["instructions"] < 200
    assert plain == elf
