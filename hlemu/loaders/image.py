"""What a loader produces: segments to map and where to start."""

from __future__ import annotations

from dataclasses import dataclass, field

from hlemu.loaders.smdh import Smdh
from hlemu.memory.constants import MemoryPermission


class LoaderError(ValueError):
    """A file that cannot be loaded; the message names the problem."""


@dataclass(frozen=True)
class Segment:
    vaddr: int  # page aligned
    data: bytes  # file contents; the rest up to ``size`` is zero (bss)
    size: int  # bytes in memory, rounded up to whole pages
    perm: MemoryPermission


@dataclass
class Image:
    name: str
    entry: int
    segments: list[Segment] = field(default_factory=list)
    source: str = ""
    # Metadata a 3DSX may carry (ELFs leave the defaults): the format's name, so the kernel
    # knows to fill the Homebrew Launcher parameter block; the SMDH (titles, icon); and where
    # in the file the RomFS lies (offset 0: none).
    format: str = "elf"
    smdh: Smdh | None = None
    romfs_offset: int = 0
    romfs_size: int = 0
