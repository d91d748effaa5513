"""The errors a look into guest memory can end in: always a clear message, never a crash."""

from __future__ import annotations


class InspectError(LookupError):
    """A name, type or expression that the program's symbols or DWARF do not have."""


class UnreadableMemory(InspectError):
    """A read of guest memory that is not mapped (or is MMIO): which address, and why."""

    def __init__(self, address: int, size: int, what: str = "") -> None:
        self.address = address
        self.size = size
        where = f"{what}: " if what else ""
        super().__init__(f"{where}{size} byte(s) at {address:#010x} are not readable guest memory (unmapped)")
