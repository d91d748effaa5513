"""Bundled guest programs, built from ``programs/*.c`` with the SDK in ``sdk/``.

The ELFs in ``bin/`` are committed so users need no cross toolchain;
``scripts/build_guests.py --check`` (run by CI) proves they match the sources.
"""

from __future__ import annotations

from pathlib import Path

BIN_DIR = Path(__file__).resolve().parent / "bin"


def programs() -> list[str]:
    """Names of the bundled programs.

    >>> "hello" in programs()
    True
    """
    return sorted(p.stem for p in BIN_DIR.glob("*.elf"))


def program_path(name: str) -> Path:
    """The ELF of a bundled program, by name (``"hello"``) or file name."""
    path = BIN_DIR / (name if name.endswith(".elf") else f"{name}.elf")
    if not path.is_file():
        raise FileNotFoundError(f"no bundled guest program {name!r}; have {', '.join(programs())}")
    return path


INPUTS_DIR = Path(__file__).resolve().parent / "inputs"


def inputs() -> list[str]:
    """Names of the bundled pad scripts (for ``hlemu run --input``).

    >>> "pad.txt" in inputs()
    True
    """
    return sorted(p.name for p in INPUTS_DIR.glob("*.txt"))


def input_path(name: str) -> Path:
    """A bundled pad script, by file name (``"pad.txt"``) or name (``"pad"``)."""
    path = INPUTS_DIR / (name if name.endswith(".txt") else f"{name}.txt")
    if "/" in name or not path.is_file():
        raise FileNotFoundError(f"no bundled input script {name!r}; have {', '.join(inputs())}")
    return path
