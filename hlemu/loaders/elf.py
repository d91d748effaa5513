"""32-bit little-endian ARM ELF executables, read with pyelftools.

Each ``PT_LOAD`` segment becomes a :class:`Segment` with the permission of
its ``p_flags``; bytes past ``p_filesz`` up to ``p_memsz`` are bss (zero).
Anything malformed is a :class:`LoaderError` that says what is wrong.
"""

from __future__ import annotations

import io

from elftools.common.exceptions import ELFError
from elftools.elf.constants import P_FLAGS
from elftools.elf.elffile import ELFFile

from hlemu.loaders.image import Image, LoaderError, Segment
from hlemu.memory.constants import PAGE_MASK, PAGE_SIZE, MemoryPermission

ELF_MAGIC = b"\x7fELF"
MAX_IMAGE = 64 << 20  # an application's whole APPLICATION region


class ElfLoader:
    @staticmethod
    def is_compatible(data: bytes) -> bool:
        return data[:4] == ELF_MAGIC

    @staticmethod
    def load(data: bytes, name: str = "guest", source: str = "") -> Image:
        where = source or name
        try:
            elf = ELFFile(io.BytesIO(data))
            header = elf.header
            if elf.elfclass != 32 or not elf.little_endian or header["e_machine"] != "EM_ARM":
                raise LoaderError(f"{where}: not a 32-bit little-endian ARM ELF "
                                  f"(class {elf.elfclass}, machine {header['e_machine']})")
            if header["e_type"] != "ET_EXEC":
                raise LoaderError(f"{where}: ELF type {header['e_type']} is not an executable (ET_EXEC)")
            segments = [_segment(seg, where) for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]
            entry = int(header["e_entry"])
        except ELFError as exc:
            raise LoaderError(f"{where}: malformed ELF: {exc}") from None
        except (ValueError, KeyError, IndexError, EOFError) as exc:
            if isinstance(exc, LoaderError):
                raise
            raise LoaderError(f"{where}: malformed ELF: {exc}") from None
        if not segments:
            raise LoaderError(f"{where}: no loadable (PT_LOAD) segments")
        _check_layout(segments, entry, where)
        return Image(name=name, entry=entry, segments=segments, source=source)


def _segment(seg: object, where: str) -> Segment:
    vaddr, memsz, filesz = seg["p_vaddr"], seg["p_memsz"], seg["p_filesz"]  # type: ignore[index]
    flags = seg["p_flags"]  # type: ignore[index]
    if vaddr & PAGE_MASK:
        raise LoaderError(f"{where}: segment at {vaddr:#x} is not page aligned")
    if filesz > memsz:
        raise LoaderError(f"{where}: segment at {vaddr:#x} has more file bytes ({filesz}) than memory ({memsz})")
    if memsz > MAX_IMAGE or vaddr + memsz > 1 << 32:
        raise LoaderError(f"{where}: segment at {vaddr:#x} of {memsz:#x} bytes does not fit")
    data = seg.data()  # type: ignore[attr-defined]
    if len(data) != filesz:
        raise LoaderError(f"{where}: segment at {vaddr:#x} is truncated ({len(data)} of {filesz} bytes)")
    perm = MemoryPermission.NONE
    if flags & P_FLAGS.PF_R:
        perm |= MemoryPermission.R
    if flags & P_FLAGS.PF_W:
        perm |= MemoryPermission.W
    if flags & P_FLAGS.PF_X:
        perm |= MemoryPermission.X
    size = (memsz + PAGE_SIZE - 1) & ~PAGE_MASK
    return Segment(vaddr=vaddr, data=bytes(data), size=max(size, PAGE_SIZE), perm=perm)


def _check_layout(segments: list[Segment], entry: int, where: str) -> None:
    ordered = sorted(segments, key=lambda s: s.vaddr)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if a.vaddr + a.size > b.vaddr:
            raise LoaderError(f"{where}: segments at {a.vaddr:#x} and {b.vaddr:#x} overlap")
    if sum(s.size for s in segments) > MAX_IMAGE:
        raise LoaderError(f"{where}: image is larger than {MAX_IMAGE >> 20} MiB")
    if not any(s.vaddr <= (entry & ~1) < s.vaddr + s.size and s.perm & MemoryPermission.X for s in segments):
        raise LoaderError(f"{where}: entry point {entry:#x} is not in an executable segment")
