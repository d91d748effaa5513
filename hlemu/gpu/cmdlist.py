"""GPU command lists: the words a program hands GX ProcessCommandList, parsed into register writes.

A command (3dbrew "GPU/Internal Registers", command lists) is a parameter word followed by a
header word, then the header's extra parameters, and padding to an 8-byte boundary::

    header bits 0-15   register id
           bits 16-19  byte-enable mask: bit i writes byte i of the register (0xF: all)
           bits 20-27  number of extra parameters after the header
           bit  31     consecutive writing: parameter k goes to register id + k
                       (clear: every parameter goes to the same register, e.g. shader uploads)

The first parameter is the word before the header, so a command of n extra parameters takes
n + 2 words, plus one padding word when that is odd. Parsing here is pure: it turns words into
:class:`Command` records and never touches the GPU, so the decoder in the API and the GPU core
read lists the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from hlemu.gpu.regs import NUM_REGS, name


@dataclass(frozen=True)
class Command:
    """One command of a list: where it starts (in words), its header fields and its parameters."""

    offset: int
    reg: int
    mask: int
    consecutive: bool
    values: tuple[int, ...]

    def writes(self) -> Iterator[tuple[int, int]]:
        """The (register, value) writes of the command, in order."""
        for k, value in enumerate(self.values):
            yield (self.reg + k if self.consecutive else self.reg), value

    def describe(self) -> str:
        """One line: the register's name, the mask when not all bytes, the values.

        >>> Command(0, 0x22E, 0xF, False, (1,)).describe()
        'DRAWARRAYS = 0x00000001'
        >>> Command(0, 0x2CC, 0xF, False, (1, 2)).describe()
        'VSH_CODETRANSFER_DATA <- 0x00000001, 0x00000002'
        """
        mask = "" if self.mask == 0xF else f" (bytes {self.mask:#x})"
        values = ", ".join(f"{v:#010x}" for v in self.values)
        if len(self.values) == 1:
            return f"{name(self.reg)}{mask} = {values}"
        arrow = "+=" if self.consecutive else "<-"
        return f"{name(self.reg)}{mask} {arrow} {values}"


class CommandListError(ValueError):
    """A list that ends inside a command (its header promises more words than there are)."""


def header(reg: int, extra: int = 0, mask: int = 0xF, consecutive: bool = False) -> int:
    """A command header word (the builders in tests and the guest SDK make the same words).

    >>> hex(header(0x2CC, extra=3, consecutive=False))
    '0x3f02cc'
    """
    return (reg & 0xFFFF) | (mask & 0xF) << 16 | (extra & 0xFF) << 20 | int(consecutive) << 31


def parse(words: np.ndarray | list[int]) -> Iterator[Command]:
    """Every command of ``words`` (uint32), in order. Raises :class:`CommandListError`, after the
    commands before it, when the last command is cut short."""
    words = np.asarray(words, dtype=np.uint32).tolist()  # plain ints: a numpy item costs ten times a list's
    n = len(words)
    i = 0
    while i + 1 < n:
        head = words[i + 1]
        extra = (head >> 20) & 0xFF
        if i + 2 + extra > n:
            raise CommandListError(f"command at word {i} ({name(head & 0xFFFF)}) needs {extra} extra "
                                   f"parameters, the list ends {n - i - 2} words after its header")
        values = (words[i], *words[i + 2 : i + 2 + extra])
        yield Command(i, head & 0xFFFF, (head >> 16) & 0xF, bool(head >> 31), values)
        i += 2 + extra
        i += i & 1  # commands start on 8-byte boundaries


def valid_register(reg: int) -> bool:
    return 0 <= reg < NUM_REGS
