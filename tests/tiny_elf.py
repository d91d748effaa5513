"""Tiny guest ELF files for command-line tests: keystone-assembled code in one RX segment."""

from __future__ import annotations

import struct
from pathlib import Path

from keystone import KS_ARCH_ARM, KS_MODE_ARM, KS_MODE_THUMB, Ks

CODE = 0x00100000  # where the 3DS loads application code

# Both print "spinning" (svcOutputDebugString), so a test knows the guest runs, then loop forever.
# SPIN makes no SVC again: only an interrupt from outside (Ctrl-C, a limit) ends it.
SPIN = 'adr r0, msg\n mov r1, #8\n svc #0x3d\n b .\n msg: .ascii "spinning"'
# SVC_LOOP makes SVCs forever (svcGetSystemTick): each one returns to the kernel's Python.
SVC_LOOP = 'adr r0, msg\n mov r1, #8\n svc #0x3d\n loop: svc #0x28\n b loop\n msg: .ascii "spinning"'


def assemble(source: str, address: int = CODE, thumb: bool = False) -> bytes:
    encoding, _ = Ks(KS_ARCH_ARM, KS_MODE_THUMB if thumb else KS_MODE_ARM).asm(source, address)
    return bytes(encoding or b"")


def elf(code: bytes, vaddr: int = CODE, entry: int | None = None) -> bytes:
    """A minimal ET_EXEC 32-bit little-endian ARM ELF: one R+X PT_LOAD segment holding ``code``."""
    entry = vaddr if entry is None else entry
    ehsize, phentsize, offset = 52, 32, 0x1000  # the segment at a page-aligned file offset
    ident = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)  # ELFCLASS32, little-endian, version 1
    header = ident + struct.pack("<HHIIIIIHHHHHH", 2, 40, 1, entry, ehsize, 0, 0x05000000,
                                 ehsize, phentsize, 1, 0, 0, 0)  # ET_EXEC, EM_ARM, EABI5
    segment = struct.pack("<IIIIIIII", 1, offset, vaddr, vaddr, len(code), len(code), 5, 0x1000)  # PT_LOAD, R+X
    return (header + segment).ljust(offset, b"\0") + code


def write_elf(path: Path, source: str, thumb: bool = False) -> Path:
    """Assemble ``source`` at CODE into an ELF file at ``path`` (a Thumb entry is odd)."""
    path.write_bytes(elf(assemble(source, CODE, thumb), CODE, CODE | int(thumb)))
    return path
