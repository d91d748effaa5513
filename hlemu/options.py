"""Argument types for the ``hlemu`` command: numbers checked where they are parsed.

Each is an argparse ``type=``; argparse turns its ArgumentTypeError into
``hlemu run: error: argument --frames: expected ...`` (the option named) and exit
status 2, so a bad value never reaches the emulator.

>>> count("120"), count("1_000")
(120, 1000)
>>> count("-1")
Traceback (most recent call last):
  ...
argparse.ArgumentTypeError: expected a whole number of at least 1, got -1
>>> non_negative("0")
0
>>> tcp_port("2345"), tcp_port("0")
(2345, 0)
>>> tcp_port("65536")
Traceback (most recent call last):
  ...
argparse.ArgumentTypeError: expected a TCP port, 0 to 65535 (0: any free one), got 65536
>>> host_page_size("0x4000")
16384
>>> host_page_size("12345")
Traceback (most recent call last):
  ...
argparse.ArgumentTypeError: 12345 is not a power of two of at least 4096 (4096, 16384, 65536...)
>>> cfg_setting("language=fr")
('language', 2)
>>> cfg_setting("colour=blue")
Traceback (most recent call last):
  ...
argparse.ArgumentTypeError: unknown setting 'colour' (accepted: language, region, model, username, birthday)
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

# hlemu.memory.backend.CHOICES, spelled out so the CLI parses without importing numba
# (tests/test_cli_options.py checks they agree).
MEMORY_BACKENDS = ("auto", "fastmem", "fastmem_trap", "semifastmem", "slowmem")
MIN_PAGE_SIZE = 4096  # the guest's page size; a host cannot have smaller pages for fastmem to matter


def _at_least(text: str, minimum: int) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least {minimum}, got {value}")
    return value


def count(text: str) -> int:
    """A whole number of at least 1 (``1_000_000`` allowed): frames, instructions, blocks, repeats."""
    return _at_least(text, 1)


def non_negative(text: str) -> int:
    """A whole number of at least 0: a seed, an index, a count that may be none."""
    return _at_least(text, 0)


def tcp_port(text: str) -> int:
    """A TCP port to listen on: 0 to 65535, where 0 lets the system pick a free one."""
    value = _at_least(text, 0)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port, 0 to 65535 (0: any free one), got {value}")
    return value


def positive_number(text: str) -> float:
    """A number above 0, fractions allowed: seconds, megabytes."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text}")
    return value


def host_page_size(text: str) -> int:
    """``--host-page-size``: a power of two of at least 4096, decimal or 0x hex."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of bytes (e.g. 4096, 16384, 0x10000)") from None
    if value < MIN_PAGE_SIZE or value & (value - 1):
        raise argparse.ArgumentTypeError(
            f"{text} is not a power of two of at least {MIN_PAGE_SIZE} (4096, 16384, 65536...)")
    return value


SDMC_HELP = ("the host folder that is the SD card (sdmc:/), made if missing; a .3dsx program is placed at "
             "sdmc:/3ds/NAME.3dsx (default: $XDG_DATA_HOME/hlemu/sdmc or ~/.local/share/hlemu/sdmc)")


def sdmc_folder(text: str) -> str:
    """``--sdmc DIR``: a folder the emulator can write, or one it can make (a missing folder
    is made on first use, as the default is). A file, or a folder that cannot be written or
    made, is refused here rather than failing later inside the guest's file calls."""
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise argparse.ArgumentTypeError(f"{text} is not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"{text} is not writable")
        return str(path)
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot make {text}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot make {text}: {parent} is not writable")
    return str(path)


CFG_HELP = ("a console setting, KEY=VALUE (repeatable): language=en|ja|fr|de|it|es|zh|ko|nl|pt|ru|tw (or 0-11), "
            "region=JPN|USA|EUR|AUS|CHN|KOR|TWN, model=3DS|3DSXL|N3DS|2DS|N3DSXL|N2DSXL, username=NAME "
            "(up to 10 characters), birthday=MM-DD (default: language=en region=USA model=3DS "
            "username=hlemu birthday=01-01)")


def cfg_setting(text: str) -> tuple[str, object]:
    """``--cfg KEY=VALUE``: a console setting for cfg (``kernel.services.cfg.parse_setting``)."""
    from kernel.services.cfg import parse_setting  # the app may import the kernel; parsing lives with cfg

    try:
        return parse_setting(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
