"""How a guest program is compiled and linked: one place for the bundled programs
(``scripts/build_guests.py``) and for a user's own (``hlemu build``).

The compiler is Debian's ``gcc-arm-none-eabi`` with ``libnewlib-arm-none-eabi``, for the
3DS's ARM11 MPCore: ARMv6K, VFPv2 with the hard-float calling convention, ARM state. gcc then
picks newlib's ``arm/v5te/hard`` multilib, which runs unchanged on ARMv6K. The SDK (crt0,
the SVC wrappers, the newlib system calls, the service clients, ``link.ld``) is in ``sdk/``
beside this file, and ships with hlemu.

>>> compile_flags(Path("sdk"), prefix_map=None)[:5]
['-march=armv6k', '-mtune=mpcore', '-mfloat-abi=hard', '-mfpu=vfp', '-marm']
>>> "-Werror" in compile_flags(Path("sdk"), prefix_map=None, werror=False)
False
>>> sdk_parts_for(['#include "console.h"\\n'])
['crt0.S', 'svc.S', 'syscalls.c', 'srv.c', 'gspgpu.c', 'hid.c', 'check.c', 'console.c', 'font8x8.c']
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SDK_DIR = Path(__file__).resolve().parent / "sdk"

GCC = "arm-none-eabi-gcc"
OBJCOPY = "arm-none-eabi-objcopy"
APT_PACKAGES = ["gcc-arm-none-eabi", "libnewlib-arm-none-eabi"]

# The 3DS's ARM11 MPCore: ARMv6K, VFPv2 with hard-float calling convention, ARM state.
CPU_FLAGS = ["-march=armv6k", "-mtune=mpcore", "-mfloat-abi=hard", "-mfpu=vfp", "-marm"]

# The SDK's parts every program links, in link order after the program's own objects.
# --gc-sections drops what a program does not use, so the service clients (and check.c)
# cost the other programs nothing.
SDK_PARTS = ["crt0.S", "svc.S", "syscalls.c", "srv.c", "gspgpu.c", "hid.c", "check.c"]
# SDK parts linked only into the programs that include their header: their calls into newlib
# (vsnprintf, memmove) would pull archive members into every program otherwise, and change
# the bytes of programs that never draw text.
OPTIONAL_PARTS = {
    "console.h": ["console.c", "font8x8.c"],
    "apt.h": ["apt.c"],
    "fs.h": ["fs.c"],
    "romfs.h": ["romfs.c", "fs.c"],
    "cfg.h": ["cfg.c"],
    "ptm.h": ["ptm.c"],
    "gpucmd.h": ["gpucmd.c"],
    "font.h": ["font.c", "apt.c"],
    "swkbd.h": ["swkbd.c", "apt.c"],
}

# The archives the link reads (nano.specs turns -lc into -lc_nano, -lg into -lg_nano).
LIBRARIES = ["libc_nano.a", "libg_nano.a", "libm.a", "libgcc.a", "libnosys.a"]

ICON_SIDE = 48


def compile_flags(sdk: Path, prefix_map: Path | None, opt: str = "-O2", werror: bool = True) -> list[str]:
    """gcc's flags for one C or assembler file. ``sdk`` is the SDK folder as the compiler
    should see it (``-I``); ``prefix_map``, when given, is the folder written as ``.`` in the
    debug info, so that a build names the same paths from any checkout."""
    flags = [
        *CPU_FLAGS,
        opt,
        "-std=gnu11",
        "-Wall",
        "-Wextra",
        *(["-Werror"] if werror else []),
        "-ffunction-sections",
        "-fdata-sections",
        "-fno-asynchronous-unwind-tables",
        "-fno-unwind-tables",
        "-fno-ident",
        "-g",  # DWARF for hlemu.inspect and gdb; changes no instruction
        "-gno-record-gcc-switches",  # DW_AT_producer would name the include and prefix-map paths
    ]
    if prefix_map is not None:
        flags += [f"-ffile-prefix-map={prefix_map}=.",
                  f"-Wa,--debug-prefix-map={prefix_map}=."]  # gas names the build folder of .S files otherwise
    return [*flags, f"-I{sdk}"]


def link_flags(sdk: Path) -> list[str]:
    """gcc's flags for the link: newlib nano, the SDK's crt0 instead of gcc's, ``link.ld``'s
    three page-aligned segments at 0x00100000, unused sections dropped, no build id."""
    return [
        *CPU_FLAGS,
        "-nostartfiles",
        "--specs=nano.specs",
        f"-T{sdk / 'link.ld'}",
        "-Wl,--gc-sections",
        "-Wl,--build-id=none",
        "-Wl,-z,max-page-size=0x1000",
        "-Wl,-z,common-page-size=0x1000",
    ]


def sdk_parts_for(texts: Iterable[str]) -> list[str]:
    """The SDK files (names in ``sdk/``) a program made of these source texts links, in order."""
    parts = list(SDK_PARTS)
    joined = "\n".join(texts)
    for header, optional in OPTIONAL_PARTS.items():
        if f'#include "{header}"' in joined:
            parts += [p for p in optional if p not in parts]
    return parts


def build_env() -> dict[str, str]:
    """The environment every tool runs in: nothing locale- or time-dependent leaks in."""
    env = dict(os.environ)
    env.update(LC_ALL="C", TZ="UTC", SOURCE_DATE_EPOCH="0")
    return env


def newlib_present() -> bool:
    """gcc prints the bare name back when it cannot find a library file."""
    result = subprocess.run([GCC, *CPU_FLAGS, "-print-file-name=libc_nano.a"], capture_output=True, text=True)
    return result.returncode == 0 and os.path.isabs(result.stdout.strip())


def missing_toolchain() -> str | None:
    """None when the cross compiler and newlib are installed; else what is missing and the
    command that installs it."""
    if shutil.which(GCC) is None:
        what = f"{GCC} is not installed"
    elif not newlib_present():
        what = f"{GCC} is installed but newlib (libc_nano.a) is not"
    else:
        return None
    return (f"{what}; guest programs are built with Debian's {' and '.join(APT_PACKAGES)}: "
            f"sudo apt-get install {' '.join(APT_PACKAGES)}")


def toolchain_version() -> str:
    result = subprocess.run([GCC, "--version"], capture_output=True, text=True, check=True)
    return result.stdout.splitlines()[0]


def read_font(path: Path = SDK_DIR / "font8x8.c") -> list[list[int]]:
    """The console's 128 glyphs of 8 rows, read back from ``sdk/font8x8.c``."""
    import re

    body = path.read_text().split("= {", 1)[1]
    return [[int(v, 16) for v in m.group(1).split(",")]
            for m in re.finditer(r"\{\s*((?:0x[0-9A-Fa-f]{2},?\s*){8})\}", body)]


def icon(name: str, glyphs: list[list[int]] | None = None) -> Any:
    """A 48x48 RGB icon: the name's first letter, 4x the console font's glyph, white on a
    colour from the name's CRC-32, with a darker border."""
    import numpy as np

    crc = zlib.crc32(name.encode())
    colour = np.array([0x40 + (crc >> shift & 0x7F) for shift in (0, 8, 16)], dtype=np.uint8)
    picture = np.empty((ICON_SIDE, ICON_SIDE, 3), dtype=np.uint8)
    picture[:] = colour // 2
    picture[2:-2, 2:-2] = colour
    glyph = (glyphs or read_font())[ord(name[0].upper()) & 0x7F]
    bits = np.array([[row >> (7 - x) & 1 for x in range(8)] for row in glyph], dtype=bool)
    scaled = np.kron(bits, np.ones((4, 4), dtype=bool))
    picture[8:40, 8:40][scaled] = 0xFF
    return picture

