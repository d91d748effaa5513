#!/usr/bin/env python3
"""Build the bundled guest programs (hlemu/guest/programs/*.c) into hlemu/guest/bin/*.elf
and their 3DSX twins, hlemu/guest/bin/*.3dsx.

The ELFs and 3DSXs are committed as package data so that users need no cross toolchain;
this script rebuilds them, and ``--check`` (run by CI) proves the committed bytes come from
the committed sources::

    python scripts/build_guests.py          # rebuild every program into hlemu/guest/bin/
    python scripts/build_guests.py --check  # rebuild into a temp dir, compare byte for byte

Each NAME.3dsx is NAME.elf converted by hlemu's own 3DSX writer (hlemu.loaders.threedsx_writer,
as devkitPro's 3dsxtool converts an ELF) with an SMDH: the title in TITLES below (default: the
program's name), publisher "hlemu", and an icon drawn here from the name (the first letter in
the console's font on a colour taken from the name's CRC-32), so the bytes are deterministic;
a program with a folder programs/NAME.romfs/ gets it as its RomFS (romfs_read reads it).

The toolchain is Debian's ``gcc-arm-none-eabi`` with ``libnewlib-arm-none-eabi``; when
``arm-none-eabi-gcc`` or newlib is missing the script installs them with apt-get.

The ELFs keep the DWARF of the program and the SDK (``-g``: types, variables, line tables,
call frame information), so symbols, typed reads and backtraces work on them out of the box
(hlemu.inspect, gdb). ``-g`` changes no code: gcc generates the same instructions with and
without it, so the loaded segments, the 3DSX twins and the guests' instruction counts are
those of a build without it. newlib's and libgcc's own DWARF is left out: the link reads
copies of their archives with the debug sections stripped (most of an ELF's DWARF would be
theirs otherwise, about 150 KB a program).

Builds are reproducible: no build id, no compiler switches recorded in the DWARF, sources
named by paths relative to the repository root (compiled from there, the build folder
mapped to "."), a fixed input order, and a pinned locale and SOURCE_DATE_EPOCH. The same
toolchain version gives the same bytes on any checkout path; a different gcc or newlib
version generally does not, which ``--check`` reports.

The compiler flags and the SDK's parts live in hlemu.guest.toolchain, which ``hlemu build``
uses for a user's own programs too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "scripts")]  # hlemu's toolchain and 3DSX writer, gen_font's table reader
from hlemu.guest import toolchain  # noqa: E402 - the repository is put on the path first

GUEST = Path("hlemu/guest")
SDK = GUEST / "sdk"
PROGRAMS = GUEST / "programs"
BIN = GUEST / "bin"

# The compiler, its flags and the SDK's parts are hlemu.guest.toolchain's, shared with
# ``hlemu build`` (a user's own programs); this script adds what makes the bundled builds
# reproducible: repo-relative paths, the build folder mapped to ".", stripped archives.
GCC, OBJCOPY, APT_PACKAGES, CPU_FLAGS = toolchain.GCC, toolchain.OBJCOPY, toolchain.APT_PACKAGES, toolchain.CPU_FLAGS
COMPILE_FLAGS = toolchain.compile_flags(SDK, prefix_map=REPO)
LINK_FLAGS = toolchain.link_flags(SDK)
SDK_SOURCES = [SDK / part for part in toolchain.SDK_PARTS]
OPTIONAL_SDK = {header: [SDK / part for part in parts] for header, parts in toolchain.OPTIONAL_PARTS.items()}
# newlib and libgcc ship DWARF, which link_libraries strips from copies of their archives.
LIBRARIES = toolchain.LIBRARIES

PUBLISHER = "hlemu"
# SMDH titles, (short, long), of the programs that want more than their name.
TITLES = {
    "console": ("console", "A text console on the bottom screen (8x8 cells, ANSI colours)"),
    "fb": ("fb", "Colour bars and a square moved by the pad"),
    "hello": ("hello", "printf, malloc and an exit status"),
}


build_env = toolchain.build_env
newlib_present = toolchain.newlib_present
toolchain_version = toolchain.toolchain_version


def run(cmd: list[str]) -> None:
    """Run a tool from the repository root; on failure, show its output and stop."""
    result = subprocess.run(cmd, cwd=REPO, env=build_env(), capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(f"$ {' '.join(cmd)}\n{result.stdout}{result.stderr}")
        raise SystemExit(f"build_guests: command failed with status {result.returncode}")


def ensure_toolchain() -> None:
    """Install Debian's cross gcc and newlib with apt-get if either is missing."""
    if shutil.which(GCC) is not None and newlib_present():
        return
    if shutil.which("apt-get") is None:
        raise SystemExit(
            f"build_guests: {GCC} or newlib is missing and apt-get is not available; install {' '.join(APT_PACKAGES)}"
        )
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print(f"build_guests: installing {' '.join(APT_PACKAGES)} with apt-get", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run([*sudo, "apt-get", "update"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "--no-install-recommends", *APT_PACKAGES], check=True, env=env)


def program_sources() -> list[Path]:
    """Every program, sorted so the build order (and any output listing) is fixed."""
    return sorted((REPO / PROGRAMS).glob("*.c"), key=lambda p: p.name)


def compile_source(source: Path, obj: Path) -> None:
    """Compile one C or assembler (.S, preprocessed) file; `source` is repo-relative."""
    run([GCC, *COMPILE_FLAGS, "-c", str(source), "-o", str(obj)])


def link_libraries(libdir: Path) -> list[str]:
    """Copies of the toolchain's archives without their debug sections, in ``libdir``; the
    ``-L`` flag that makes the link read them before the originals (a user -L comes first)."""
    libdir.mkdir(parents=True, exist_ok=True)
    for name in LIBRARIES:
        result = subprocess.run([GCC, *CPU_FLAGS, f"-print-file-name={name}"], capture_output=True, text=True)
        found = result.stdout.strip()
        if result.returncode == 0 and os.path.isabs(found):
            run([OBJCOPY, "--strip-debug", found, str(libdir / name)])
    return [f"-L{libdir}"]


def build_sdk(objdir: Path) -> list[Path]:
    objects = []
    for source in SDK_SOURCES:
        obj = objdir / f"sdk_{source.stem}.o"
        compile_source(source, obj)
        objects.append(obj)
    return objects


def optional_objects(source: Path, objdir: Path) -> list[Path]:
    """The OPTIONAL_SDK objects `source` asks for by including their header (built once)."""
    text = (REPO / source).read_text()
    objects = []
    for header, sources in OPTIONAL_SDK.items():
        if f'#include "{header}"' not in text:
            continue
        for part in sources:
            obj = objdir / f"sdk_{part.stem}.o"
            if not obj.exists():
                compile_source(part, obj)
            if obj not in objects:
                objects.append(obj)
    return objects


def build_program(name: str, sdk_objects: list[Path], objdir: Path, outdir: Path,
                  libraries: list[str] | None = None) -> Path:
    source = PROGRAMS / f"{name}.c"
    obj = objdir / f"{name}.o"
    compile_source(source, obj)
    elf = outdir / f"{name}.elf"
    extra = optional_objects(source, objdir)
    run([GCC, *LINK_FLAGS, *(libraries or []), str(obj), *map(str, extra), *map(str, sdk_objects),
         "-o", str(elf)])
    return elf


def icon(name: str):
    """The program's 48x48 icon (hlemu.guest.toolchain.icon), from gen_font's table."""
    from gen_font import read_table

    return toolchain.icon(name, read_table())


def smdh_for(name: str) -> bytes:
    from hlemu.loaders.smdh import build_smdh

    short, long = TITLES.get(name, (name, f"hlemu guest program {name}"))
    return build_smdh(short, long, PUBLISHER, icon(name))


def build_3dsx(elf: Path) -> Path:
    """NAME.3dsx beside NAME.elf, made by hlemu's writer with the program's SMDH and, when
    programs/NAME.romfs/ exists, that folder as its RomFS (hlemu.loaders.romfs)."""
    from hlemu.loaders.romfs import build_romfs
    from hlemu.loaders.threedsx_writer import elf_to_3dsx

    folder = REPO / PROGRAMS / f"{elf.stem}.romfs"
    romfs = build_romfs(folder) if folder.is_dir() else None
    out = elf.with_suffix(".3dsx")
    out.write_bytes(elf_to_3dsx(elf.read_bytes(), smdh=smdh_for(elf.stem), romfs=romfs, where=str(elf)))
    return out


def build_all(outdir: Path) -> list[Path]:
    """Build every program into `outdir`; return the ELF and 3DSX paths in name order."""
    ensure_toolchain()
    with tempfile.TemporaryDirectory(prefix="hlemu-guest-obj-") as tmp:
        objdir = Path(tmp)
        sdk_objects = build_sdk(objdir)
        libraries = link_libraries(objdir / "lib")
        built = []
        for src in program_sources():
            elf = build_program(src.stem, sdk_objects, objdir, outdir, libraries)
            built += [elf, build_3dsx(elf)]
        return built


def committed_elves() -> set[str]:
    """The committed build outputs (ELFs and 3DSXs)."""
    return {p.name for pattern in ("*.elf", "*.3dsx") for p in (REPO / BIN).glob(pattern)}


def install(built: list[Path]) -> None:
    """Copy fresh ELFs and 3DSXs into hlemu/guest/bin/, touching only those that changed."""
    bindir = REPO / BIN
    bindir.mkdir(parents=True, exist_ok=True)
    for elf in built:
        target = bindir / elf.name
        data = elf.read_bytes()
        changed = not target.exists() or target.read_bytes() != data
        if changed:
            target.write_bytes(data)
        print(f"{BIN / elf.name}: {len(data)} bytes{'' if changed else ' (unchanged)'}")
    for stale in sorted(committed_elves() - {elf.name for elf in built}):
        (bindir / stale).unlink()
        print(f"{BIN / stale}: removed (no source in {PROGRAMS})")


def differences(built: list[Path]) -> list[str]:
    """Describe every committed ELF or 3DSX that is missing, stale, or not byte-identical."""
    problems = []
    for elf in built:
        committed = REPO / BIN / elf.name
        if not committed.exists():
            problems.append(f"{BIN / elf.name}: missing (not built and committed)")
        elif committed.read_bytes() != elf.read_bytes():
            problems.append(f"{BIN / elf.name}: differs from a fresh build of {PROGRAMS / elf.stem}.c")
    for stale in sorted(committed_elves() - {elf.name for elf in built}):
        problems.append(f"{BIN / stale}: has no source in {PROGRAMS}")
    return problems


def check() -> int:
    with tempfile.TemporaryDirectory(prefix="hlemu-guest-check-") as tmp:
        built = build_all(Path(tmp))
        problems = differences(built)
    if not problems:
        print(f"build_guests --check: all {len(built)} guest ELFs and 3DSXs match their sources")
        return 0
    print("build_guests --check: committed guest ELFs/3DSXs do not match a fresh build:", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    print(f"toolchain here: {toolchain_version()}; rebuild with: python scripts/build_guests.py", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--check", action="store_true",
        help="rebuild into a temporary directory and fail if any committed ELF or 3DSX differs",
    )
    args = parser.parse_args(argv)
    if args.check:
        return check()
    with tempfile.TemporaryDirectory(prefix="hlemu-guest-build-") as tmp:
        install(build_all(Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
