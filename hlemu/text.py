"""Numbers written for people: counts with their noun, and records whose reprs show
addresses, registers and handles in hex, as the crash report, the window and gdb do.

A REPL shows a record by its repr; the dataclass default prints ``base=1048576`` and
``perm=<MemoryPermission.RX: 5>``, which nobody reads as ``0x00100000 r-x``.
:func:`record_repr` writes it as ``Region(base=0x00100000, size=0x4000, perm=RX, ...)``:
fields named in ``addresses`` as eight hex digits (32-bit guest addresses, handles,
registers), fields in ``sizes`` as plain hex, enums by name, everything else as repr.

>>> from dataclasses import dataclass
>>> @dataclass
... class Spot:
...     base: int
...     size: int
...     owner: int
...     def __repr__(self) -> str:
...         return record_repr(self, addresses=("base",), sizes=("size",))
>>> Spot(0x00100000, 0x4000, 32)
Spot(base=0x00100000, size=0x4000, owner=32)
>>> counted(1, "context switch", "context switches"), counted(1_234, "frame", "frames")
('1 context switch', '1,234 frames')
>>> HexList([0x08000000, 0x1FF81000])
[0x08000000, 0x1ff81000]
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import fields


def counted(n: int, one: str, many: str) -> str:
    """``n`` (with thousands separators) and the word for that many."""
    return f"{n:,} {one if n == 1 else many}"


def hex32(value: int) -> str:
    """A guest address, handle or 32-bit register: ``0x0010006c``."""
    return f"{value:#010x}"


def hex_value(value: object, digits: int = 8) -> str:
    """An int as ``0x`` and at least ``digits`` hex digits; None and the rest as repr."""
    if isinstance(value, bool) or not isinstance(value, int):
        return repr(value)
    return f"{value:#0{digits + 2}x}"


def hex_registers(registers: Mapping[str, int], digits: int = 8) -> str:
    """``{'r0': 0x00000001, 'pc': 0x00100000}``: a register dict as a REPL should show it."""
    return "{" + ", ".join(f"{name!r}: {hex_value(v, digits)}" for name, v in registers.items()) + "}"


def field_text(value: object) -> str:
    """A field that is not an address or a size: enums by member name (``RX``), the rest as repr."""
    if isinstance(value, enum.Enum):
        return str(value.name)
    return repr(value)


def record_repr(record: object, addresses: Iterable[str] = (), sizes: Iterable[str] = (),
                custom: Mapping[str, str] | None = None, skip: Iterable[str] = ()) -> str:
    """``Type(field=value, ...)`` over a dataclass's fields, as the module doc says.

    ``custom`` gives the text of a field outright; ``skip`` leaves fields out."""
    address_fields, size_fields, left_out = set(addresses), set(sizes), set(skip)
    parts = []
    for f in fields(record):  # type: ignore[arg-type]
        if f.name in left_out:
            continue
        value = getattr(record, f.name)
        if custom and f.name in custom:
            text = custom[f.name]
        elif f.name in address_fields:
            text = hex_value(value)
        elif f.name in size_fields and isinstance(value, int) and not isinstance(value, bool):
            text = f"{value:#x}"
        else:
            text = field_text(value)
        parts.append(f"{f.name}={text}")
    return f"{type(record).__name__}({', '.join(parts)})"


class HexList(list[int]):
    """A list of guest addresses that a REPL shows in hex; a list in every other way."""

    def __repr__(self) -> str:
        return "[" + ", ".join(hex32(v) for v in self) + "]"

    def __getitem__(self, index):  # noqa: ANN001, ANN204 - a slice stays a HexList
        got = super().__getitem__(index)
        return HexList(got) if isinstance(index, slice) else got
