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
mapped to "."), a fixed input order, and a pinned locale and SOURCE_DATE_EPOCH. The same toolchain version gives the same bytes on any checkout path;
a different gcc or newlib version generally does not, which ``--check`` reports.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "scripts")]  # hlemu's 3DSX writer and gen_font's table reader
GUEST = Path("hlemu/guest")
SDK = GUEST / "sdk"
PROGRAMS = GUEST / "programs"
BIN = GUEST / "bin"

GCC = "arm-none-eabi-gcc"
OBJCOPY = "arm-none-eabi-objcopy"
APT_PACKAGES = ["gcc-arm-none-eabi", "libnewlib-arm-none-eabi"]

# The 3DS's ARM11 MPCore: ARMv6K, VFPv2 with hard-float calling convention, ARM state.
CPU_FLAGS = ["-march=armv6k", "-mtune=mpcore", "-mfloat-abi=hard", "-mfpu=vfp", "-marm"]
COMPILE_FLAGS = [
    *CPU_FLAGS,
    "-O2",
    "-std=gnu11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    "-fno-ident",
    "-g",  # DWARF for hlemu.inspect and gdb; changes no instruction
    "-gno-record-gcc-switches",  # DW_AT_producer would name the include and prefix-map paths
    f"-ffile-prefix-map={REPO}=.",
    f"-Wa,--debug-prefix-map={REPO}=.",  # gas names the build folder of .S files otherwise
    f"-I{SDK}",
]
LINK_FLAGS = [
    *CPU_FLAGS,
    "-nostartfiles",
    "--specs=nano.specs",
    f"-T{SDK / 'link.ld'}",
    "-Wl,--gc-sections",
    "-Wl,--build-id=none",
    "-Wl,-z,max-page-size=0x1000",
    "-Wl,-z,common-page-size=0x1000",
]
# The SDK's objects, in link order after the program's own object. --gc-sections drops
# what a program does not use, so the service clients (and check.c) cost the other programs
# nothing.
SDK_SOURCES = [
    SDK / "crt0.S",
    SDK / "svc.S",
    SDK / "syscalls.c",
    SDK / "srv.c",
    SDK / "gspgpu.c",
    SDK / "hid.c",
    SDK / "check.c",
]
# SDK parts linked only into the programs that include their header: their calls into newlib
# (vsnprintf, memmove) would pull archive members into every program otherwise, and change
# the bytes of programs that never draw text.
OPTIONAL_SDK = {
    "console.h": [SDK / "console.c", SDK / "font8x8.c"],
    "apt.h": [SDK / "apt.c"],
    "fs.h": [SDK / "fs.c"],
    "romfs.h": [SDK / "romfs.c", SDK / "fs.c"],
    "cfg.h": [SDK / "cfg.c"],
    "ptm.h": [SDK / "ptm.c"],
}

# The archives the link reads (nano.specs turns -lc into -lc_nano, -lg into -lg_nano); newlib
# and libgcc ship DWARF, which link_libraries strips from copies of them.
LIBRARIES = ["libc_nano.a", "libg_nano.a", "libm.a", "libgcc.a", "libnosys.a"]

PUBLISHER = "hlemu"
# SMDH titles, (short, long), of the programs that want more than their name.
TITLES = {
    "console": ("console", "A text console on the bottom screen (8x8 cells, ANSI colours)"),
    "fb": ("fb", "Colour bars and a square moved by the pad"),
    "hello": ("hello", "printf, malloc and an exit status"),
}
ICON_SIDE = 48


def build_env() -> dict[str, str]:
    """The environment every tool runs in: nothing locale- or time-dependent leaks in."""
    env = dict(os.environ)
    env.update(LC_ALL="C", TZ="UTC", SOURCE_DATE_EPOCH="0")
    return env


def run(cmd: list[str]) -> None:
    """Run a tool from the repository root; on failure, show its output and stop."""
    result = subprocess.run(cmd, cwd=REPO, env=build_env(), capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(f"$ {' '.join(cmd)}\n{result.stdout}{result.stderr}")
        raise SystemExit(f"build_guests: command failed with status {result.returncode}")


def newlib_present() -> bool:
    """gcc prints the bare name back when it cannot find a library file."""
    result = subprocess.run([GCC, *CPU_FLAGS, "-print-file-name=libc_nano.a"], capture_output=True, text=True)
    return result.returncode == 0 and os.path.isabs(result.stdout.strip())


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


def toolchain_version() -> str:
    result = subprocess.run([GCC, "--version"], capture_output=True, text=True, check=True)
    return result.stdout.splitlines()[0]


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
    """A 48x48 RGB icon: the name's first letter, 4x the console font's glyph, white on a
    colour from the name's CRC-32, with a darker border."""
    import numpy as np
    from gen_font import read_table

    crc = zlib.crc32(name.encode())
    colour = np.array([0x40 + (crc >> shift & 0x7F) for shift in (0, 8, 16)], dtype=np.uint8)
    picture = np.empty((ICON_SIDE, ICON_SIDE, 3), dtype=np.uint8)
    picture[:] = colour // 2
    picture[2:-2, 2:-2] = colour
    glyph = read_table()[ord(name[0].upper()) & 0x7F]
    bits = np.array([[row >> (7 - x) & 1 for x in range(8)] for row in glyph], dtype=bool)
    scaled = np.kron(bits, np.ones((4, 4), dtype=bool))
    picture[8:40, 8:40][scaled] = 0xFF
    return picture


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
