"""C types as DWARF describes them, reduced to what a typed read needs.

A :class:`CType` knows its kind, size and name as C writes it (``struct player``,
``char [16]``, ``struct player *``); members, element and target types hang off it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(eq=False)
class Member:
    name: str
    offset: int
    type: CType
    bit_size: int = 0  # bitfields: width and offset of the field's low bit in the storage unit
    bit_offset: int = 0


@dataclass(eq=False)
class CType:
    """``kind``: base, pointer, struct, union, array, enum, typedef, void, function."""

    kind: str
    name: str = ""
    size: int = 0
    encoding: str = ""  # base types: signed, unsigned, float, bool, signed_char, unsigned_char
    target: CType | None = None  # pointer target, array element, typedef's type, enum's base
    members: list[Member] = field(default_factory=list)
    count: int | None = None  # arrays: elements (None: unknown, as in ``int x[]``)
    enumerators: dict[int, str] = field(default_factory=dict)
    qualifiers: str = ""  # "const ", "volatile " ...

    def strip(self) -> CType:
        """Through typedefs to the type underneath."""
        t = self
        while t.kind == "typedef" and t.target is not None:
            t = t.target
        return t

    @property
    def is_char(self) -> bool:
        t = self.strip()
        return t.kind == "base" and t.size == 1 and t.encoding in ("signed_char", "unsigned_char")

    def member(self, name: str) -> Member | None:
        for m in self.strip().members:
            if m.name == name:
                return m
        return None

    def __str__(self) -> str:
        return self.qualifiers + self._declare("")

    def _declare(self, inner: str) -> str:
        """C declarator syntax: how ``inner`` reads with this type wrapped around it."""
        if self.kind == "pointer":
            target = self.target or VOID
            wrapped = f"(*{inner})" if target.strip().kind in ("array", "function") and target.kind != "typedef" \
                else f"*{inner}"
            return target._declare(wrapped)
        if self.kind == "array":
            elem = self.target or VOID
            dims = f"[{'' if self.count is None else self.count}]"
            return elem._declare(f"{inner}{dims}" if inner else f" {dims}").replace("  ", " ")
        if self.kind == "function":
            ret = self.target or VOID
            return ret._declare(f"{inner}()")
        base = self.name or f"<anonymous {self.kind}>"
        if self.kind in ("struct", "union", "enum") and self.name:
            base = f"{self.kind} {self.name}"
        if not inner:
            return base
        return f"{base} {inner}" if not inner.startswith(" ") else f"{base}{inner}"

    def __repr__(self) -> str:
        return f"<CType {self} ({self.size} bytes)>"


VOID = CType("void", "void", 0)
