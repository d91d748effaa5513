"""What a homebrew launcher does for a ``.3dsx`` before it runs (libctru's 3DSX crt0).

libctru's crt0 in a 3DSX starts with ``b startup`` and then a parameter block the
launcher may fill: the magic ``"_prm"`` at code + 4, then ``__service_ptr``,
``__apt_appid``, ``__ctru_heap_size``, ``__ctru_linear_heap_size``,
``__system_arglist`` and ``__system_runflags`` (devkitARM's ``3dsx_crt0.s``).
hlemu leaves every word as the program was built but the argument list: a page
after the program holding ``u32 argc`` and then the NUL-terminated arguments,
``argv[0]`` being the program's own ``sdmc:/3ds/NAME.3dsx`` (what libctru's
``romfsInit`` opens to find the RomFS). A zero ``__service_ptr`` keeps the
program on its own ``srv:`` lookups, as the ELF build does. The launched file is
copied to that place in the SDMC folder, as a launcher's SD card holds it.
"""

from __future__ import annotations

import logging
import shutil
import struct
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from hlemu.loaders import Image
from hlemu.memory import MemoryPermission, MemoryState
from kernel import layout

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.process import Process

log = logging.getLogger(__name__)

PRM_MAGIC = b"_prm"
ARGLIST_OFFSET = 0x18  # __system_arglist, from the start of the code
SDMC_FOLDER = "3ds"


def wants_arguments(image: Image) -> bool:
    """A 3DSX whose crt0 has the launcher's parameter block."""
    if image.format != "3dsx" or not image.segments:
        return False
    code = image.segments[0]
    return code.vaddr == layout.CODE_BASE and code.data[4:8] == PRM_MAGIC


def sdmc_path(image: Image) -> str:
    """``sdmc:/3ds/NAME.3dsx``: where the program finds itself (argv[0])."""
    return f"sdmc:/{SDMC_FOLDER}/{Path(image.source or image.name).name}"


def argument_page(image: Image) -> int:
    """Where the argument list goes: the page after the program."""
    return max(seg.vaddr + seg.size for seg in image.segments)


def with_arguments(image: Image) -> Image:
    """``image`` with ``__system_arglist`` pointing at :func:`argument_page`, written into the
    code segment's bytes before it is mapped, as a launcher writes it before the program
    runs. (Written after, it made the process a private copy of its first code page and left
    the shared one held for nobody: one APPLICATION frame short, which the heap sizing of
    libctru 2.0 and later, all of the commit limit left, then failed on.)"""
    if not wants_arguments(image) or len(image.segments[0].data) < ARGLIST_OFFSET + 4:
        return image
    code = image.segments[0]
    data = bytearray(code.data)
    data[ARGLIST_OFFSET : ARGLIST_OFFSET + 4] = struct.pack("<I", argument_page(image))
    return replace(image, segments=[replace(code, data=bytes(data)), *image.segments[1:]])


def hand_over(kernel: Kernel, process: Process, image: Image) -> None:
    """Map the argument page after the program (whose ``__system_arglist`` points there:
    :func:`with_arguments`); put the file where argv[0] says; note where the program's
    RomFS lies (fs:USER archive 3). Call once the image is mapped."""
    if image.romfs_size and image.source:
        process.romfs = (str(Path(image.source).resolve()), image.romfs_offset, image.romfs_size)
    if not wants_arguments(image):
        return
    page = argument_page(image)
    kernel.map_new(process, page, 0x1000, MemoryPermission.RW, MemoryState.PRIVATE)
    argv0 = sdmc_path(image).encode()
    process.space.poke(page, struct.pack("<I", 1) + argv0[:0xFF0] + b"\0")
    if image.source:
        _place_on_sdmc(kernel.fs.sdmc_root, Path(image.source))


def _place_on_sdmc(root: Path, source: Path) -> None:
    """Copy the launched file to ``root/3ds/`` (unless the same bytes are there already)."""
    target = root / SDMC_FOLDER / source.name
    try:
        if target.is_file() and target.stat().st_size == source.stat().st_size \
                and target.read_bytes() == source.read_bytes():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    except OSError as exc:  # the program still runs; only its RomFS will be missing
        log.warning("could not place %s in the SDMC folder at %s: %s", source, target, exc)
