#!/usr/bin/env python3
"""Build a guest program with DWARF debug info, for gdb (``hlemu gdb``, tests/gdb).

The bundled ELFs are built at ``-O2`` with ``-g`` (scripts/build_guests.py), so gcc keeps
only some locals. This script builds the same program with the same CPU flags, SDK and
linker script, with ``-g`` and newlib's DWARF kept, at ``-O0`` by default so every local
lives in memory (what tests/gdb's ``next`` and ``p`` of locals rely on)::

    python scripts/build_debug_guest.py hlemu/guest/programs/hello.c -o /tmp/hello-g.elf
    python scripts/build_debug_guest.py tests/gdb/programs/gdbtest.c -o /tmp/gdbtest.elf -O2

The flags are read from build_guests.py (not copied), so the two cannot drift apart.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import build_guests as bg  # noqa: E402 - the script's folder is put on the path first


def debug_flags(opt: str) -> tuple[list[str], list[str]]:
    """build_guests' compile and link flags, with ``-g`` and ``opt``, and DWARF kept."""
    compile_flags = [f for f in bg.COMPILE_FLAGS if not f.startswith("-O") and f != "-Werror"]
    compile_flags += [opt, "-g"]
    link_flags = [f for f in bg.LINK_FLAGS if f != "-Wl,--strip-debug"]
    return compile_flags, link_flags + ["-g"]


def build(source: Path, out: Path, opt: str = "-O0") -> Path:
    """Compile ``source`` (a C file anywhere) with the SDK into the ELF ``out``."""
    bg.ensure_toolchain()
    compile_flags, link_flags = debug_flags(opt)
    source, out = source.resolve(), out.resolve()
    text = source.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        objdir = Path(tmp)
        objects = []
        extra = [part for header, parts in bg.OPTIONAL_SDK.items() if f'#include "{header}"' in text
                 for part in parts]
        for i, part in enumerate([source, *bg.SDK_SOURCES, *dict.fromkeys(extra)]):
            obj = objdir / f"{i:02d}_{Path(part).stem}.o"
            bg.run([bg.GCC, *compile_flags, "-c", str(part), "-o", str(obj)])
            objects.append(str(obj))
        out.parent.mkdir(parents=True, exist_ok=True)
        bg.run([bg.GCC, *link_flags, *objects, "-o", str(out)])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a guest C program (e.g. hlemu/guest/programs/hello.c)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="ELF")
    parser.add_argument("-O", dest="opt", default="0", metavar="LEVEL", help="optimisation level (default 0)")
    args = parser.parse_args(argv)
    print(build(args.source, args.output, f"-O{args.opt}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
