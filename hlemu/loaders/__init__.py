"""Guest executable loaders: one class per format, sniffed in order (angr CLE style).

A loader turns a file into a :class:`~hlemu.loaders.image.Image` (segments
with permissions, entry point); the kernel maps the image into a process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from hlemu.loaders.elf import ElfLoader
from hlemu.loaders.image import Image, LoaderError, Segment
from hlemu.loaders.threedsx import ThreeDsxLoader, describe_3dsx


class Loader(Protocol):
    """One executable format: a cheap sniff of the first bytes, then a full parse."""

    @staticmethod
    def is_compatible(data: bytes) -> bool: ...

    @staticmethod
    def load(data: bytes, name: str = "guest", source: str = "") -> Image: ...


LOADERS: list[type[Loader]] = [ElfLoader, ThreeDsxLoader]


def load_image(path: str | Path) -> Image:
    """Parse ``path`` with the first loader that recognises it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError(f"{path}: cannot read: {exc.strerror}") from None
    for loader in LOADERS:
        if loader.is_compatible(data):
            return loader.load(data, name=path.stem, source=str(path))
    raise LoaderError(f"{path}: not a guest executable this emulator knows (expected a 32-bit ARM ELF or a 3DSX)")


__all__ = ["LOADERS", "ElfLoader", "Image", "Loader", "LoaderError", "Segment", "ThreeDsxLoader", "describe_3dsx",
           "load_image"]
