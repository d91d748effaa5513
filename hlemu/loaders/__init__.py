"""Guest executable loaders: one class per format, sniffed in order (angr CLE style).

A loader turns a file into a :class:`~hlemu.loaders.image.Image` (segments
with permissions, entry point); the kernel maps the image into a process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
SUPPORTED = "32-bit ARM ELF (.elf) and 3DSX (.3dsx, the homebrew format)"


@dataclass(frozen=True)
class RefusedFormat:
    """A format people will try to open that hlemu does not run: how to know it, what to say."""

    what: str
    suffixes: tuple[str, ...]
    sniff: Callable[[bytes], bool]


def _u32(data: bytes, at: int) -> int | None:
    return int.from_bytes(data[at:at + 4], "little") if len(data) >= at + 4 else None


# Magics from 3dbrew: "CIA" (header size 0x2020 at 0), "NCSD" and "NCCH" (magic at 0x100, after
# the RSA signature); a DS ROM header carries the Nintendo logo's CRC16, 0xCF56, at 0x15C (GBATEK).
REFUSED = (
    RefusedFormat("a CIA (an installable title package)", (".cia",), lambda d: _u32(d, 0) == 0x2020),
    RefusedFormat("an NCSD game card image", (".3ds", ".cci"), lambda d: d[0x100:0x104] == b"NCSD"),
    RefusedFormat("an NCCH container (a title's executable or data)", (".cxi", ".app", ".cfa"),
                  lambda d: d[0x100:0x104] == b"NCCH"),
    RefusedFormat("a Nintendo DS ROM", (".nds", ".srl"), lambda d: d[0x15C:0x15E] == b"\x56\xCF"),
)


def refusal(path: Path, data: bytes) -> str:
    """Why ``path`` (holding ``data``, which no loader took) cannot be run."""
    known = next((f for f in REFUSED if f.sniff(data)), None)
    known = known or next((f for f in REFUSED if path.suffix.lower() in f.suffixes), None)
    if known is None:
        return f"{path}: not a guest executable hlemu can run; the supported formats are {SUPPORTED}"
    return f"{path}: this is {known.what}, which hlemu cannot run; the supported formats are {SUPPORTED}"


def load_image(path: str | Path) -> Image:
    """Parse ``path`` with the first loader that recognises it. Anything else is a
    :class:`LoaderError` that says what the file seems to be and which formats are run."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError(f"{path}: cannot read: {exc.strerror}") from None
    for loader in LOADERS:
        if loader.is_compatible(data):
            return loader.load(data, name=path.stem, source=str(path))
    raise LoaderError(refusal(path, data))


__all__ = ["LOADERS", "REFUSED", "SUPPORTED", "ElfLoader", "Image", "Loader", "LoaderError", "RefusedFormat",
           "Segment", "ThreeDsxLoader", "describe_3dsx", "load_image", "refusal"]
