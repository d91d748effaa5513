"""Live typed values: guest memory read through a DWARF type, on demand.

A :class:`Value` holds an address (or, for a variable in a register, its bytes) and a
:class:`~hlemu.inspect.types.CType`; reading its members, elements or targets reads guest
memory again each time, so a value stays live while the guest runs::

    hero = proc.var("hero")
    hero.pos.x, int(hero.hp), str(hero.name), hero.inventory[1].count, hero.rival.name
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from hlemu.inspect.errors import InspectError
from hlemu.inspect.types import CType

Reader = Callable[[int, int], bytes]  # (address, size) -> bytes, UnreadableMemory if it cannot


class Value:
    """A C object in guest memory (``address``) or in a register (``address`` None)."""

    __slots__ = ("_read", "type", "address", "_raw", "path")

    def __init__(self, read: Reader, ctype: CType, address: int | None, raw: bytes | None = None,
                 path: str = "") -> None:
        self._read = read
        self.type = ctype
        self.address = address
        self._raw = raw
        self.path = path

    @property
    def size(self) -> int:
        return self.type.strip().size

    def bytes(self) -> bytes:
        """The object's bytes, read now."""
        if self._raw is not None:
            return self._raw
        if self.address is None:
            raise InspectError(f"{self.path}: has no address")
        return self._read(self.address, self.size)

    def _at(self, ctype: CType, address: int, path: str) -> Value:
        return Value(self._read, ctype, address & 0xFFFFFFFF, None, path)

    # -- structs and unions ----------------------------------------------------------------
    def __getattr__(self, name: str) -> Value:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.member(name)

    def member(self, name: str) -> Value:
        """A struct or union member; ``v.name`` says the same unless the member's name is one
        of Value's own (``address``, ``type``, ``size``, ``value``, ``bytes``...): then
        ``v["name"]`` or ``v.member("name")``."""
        t = self.type.strip()
        if t.kind == "pointer" and t.target is not None and t.target.strip().kind in ("struct", "union"):
            return self.deref().member(name)  # p.member reads as p->member
        member = self.type.member(name)
        if member is None:
            have = ", ".join(m.name for m in t.members) if t.members else "no members"
            raise AttributeError(f"{self.path or str(self.type)}: {self.type} has no member {name!r} ({have})")
        if self.address is None:
            raw = (self._raw or b"")[member.offset : member.offset + member.type.strip().size]
            return Value(self._read, member.type, None, raw, f"{self.path}.{name}")
        if member.bit_size:
            storage = self._at(member.type, self.address + member.offset, f"{self.path}.{name}")
            word = int.from_bytes(storage.bytes(), "little")
            bits = (word >> member.bit_offset) & ((1 << member.bit_size) - 1)
            raw = bits.to_bytes(member.type.strip().size or 4, "little")
            return Value(self._read, member.type, None, raw, f"{self.path}.{name}")
        return self._at(member.type, self.address + member.offset, f"{self.path}.{name}")

    def __dir__(self) -> list[str]:
        return [m.name for m in self.type.strip().members] + ["address", "type", "size", "value", "deref"]

    @property
    def members(self) -> list[str]:
        return [m.name for m in self.type.strip().members]

    # -- arrays and pointers ---------------------------------------------------------------
    def __getitem__(self, index: int | str) -> Value:
        if isinstance(index, str):
            return self.member(index)
        t = self.type.strip()
        if t.kind == "array":
            if t.count is not None and not -t.count <= index < t.count:
                raise IndexError(f"{self.path}[{index}]: {self.type} has {t.count} elements")
            index %= t.count or 1 << 32
            base = self.address
        elif t.kind == "pointer":
            base = self.pointer()
        else:
            raise TypeError(f"{self.path}: {self.type} is neither an array nor a pointer")
        element = t.target
        assert element is not None
        if base is None:
            raise InspectError(f"{self.path}: an array in registers cannot be indexed")
        return self._at(element, base + index * element.strip().size, f"{self.path}[{index}]")

    def __len__(self) -> int:
        t = self.type.strip()
        if t.kind != "array" or t.count is None:
            raise TypeError(f"{self.path}: {self.type} has no length")
        return t.count

    def __iter__(self):  # noqa: ANN204 - the elements of an array
        return (self[i] for i in range(len(self)))

    def pointer(self) -> int:
        if self.type.strip().kind != "pointer":
            raise TypeError(f"{self.path}: {self.type} is not a pointer")
        return int.from_bytes(self.bytes()[:4], "little")

    def deref(self) -> Value:
        """What a pointer points at (``*p``)."""
        t = self.type.strip()
        if t.kind != "pointer" or t.target is None or t.target.strip().kind == "void":
            raise TypeError(f"{self.path}: {self.type} cannot be dereferenced")
        addr = self.pointer()
        if addr == 0:
            raise InspectError(f"{self.path}: is a NULL pointer")
        return self._at(t.target, addr, f"(*{self.path})")

    # -- scalars ---------------------------------------------------------------------------
    def __int__(self) -> int:
        t = self.type.strip()
        if t.kind == "pointer":
            return self.pointer()
        if t.kind not in ("base", "enum") or t.encoding == "float":
            if t.kind == "base" and t.encoding == "float":
                return int(float(self))
            raise TypeError(f"{self.path}: {self.type} is not an integer")
        raw = self.bytes()
        return int.from_bytes(raw, "little", signed=t.encoding in ("signed", "signed_char"))

    __index__ = __int__

    def __float__(self) -> float:
        t = self.type.strip()
        if t.kind == "base" and t.encoding == "float":
            return struct.unpack({4: "<f", 8: "<d"}[t.size], self.bytes())[0]
        return float(int(self))

    def __bool__(self) -> bool:
        return any(self.bytes())

    def string(self, max_len: int = 4096) -> str:
        """A char array up to its first NUL, or the string a ``char *`` points at."""
        t = self.type.strip()
        if t.kind == "array" and t.target is not None and t.target.is_char:
            data = self.bytes()
        elif t.kind == "pointer" and t.target is not None and t.target.is_char:
            addr, data = self.pointer(), b""
            while len(data) < max_len and b"\0" not in data:
                chunk = 64 - (addr + len(data)) % 64
                data += self._read(addr + len(data), chunk)
        else:
            raise TypeError(f"{self.path}: {self.type} is not a string")
        return data.split(b"\0", 1)[0].decode("utf-8", errors="replace")

    def __str__(self) -> str:
        t = self.type.strip()
        if t.kind in ("array", "pointer") and t.target is not None and t.target.is_char:
            return self.string()
        return repr(self.value)

    @property
    def value(self) -> object:
        """A plain Python copy: int, float, str (char arrays), enum name, dict, list."""
        t = self.type.strip()
        if t.kind in ("struct", "union"):
            return {name: self.member(name).value for name in self.members}
        if t.kind == "array":
            if t.target is not None and t.target.is_char:
                return self.string()
            return [v.value for v in self]
        if t.kind == "base" and t.encoding == "float":
            return float(self)
        if t.kind == "enum":
            number = int(self)
            return t.enumerators.get(number, number)
        if t.kind == "base" and t.encoding == "bool":
            return bool(int(self))
        return int(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Value):
            return self.bytes() == other.bytes()
        return self.value == other

    __hash__ = None  # type: ignore[assignment]  # live values change

    def __repr__(self) -> str:
        t = self.type.strip()
        where = f"at {self.address:#010x}" if self.address is not None else "in a register"
        if t.kind in ("struct", "union", "array"):
            return f"<{self.type} {self.path} {where}>"
        try:
            shown = f"{self.pointer():#010x}" if t.kind == "pointer" else repr(self.value)
        except InspectError as exc:
            shown = f"<{exc}>"
        return f"<{self.type} {self.path} = {shown} {where}>"


def parse_path(text: str) -> tuple[str, list[tuple[str, object]]]:
    """``"hero.inventory[1].name"`` -> ``("hero", [(".", "inventory"), ("[]", 1), (".", "name")])``;
    ``->`` reads as ``.`` (a pointer's member is its target's)."""
    import re

    text = text.strip().replace("->", ".")
    head = re.match(r"[A-Za-z_][\w:.]*?(?=$|[.\[])", text)
    if head is None:
        raise InspectError(f"{text!r}: not a variable name")
    name, rest, steps = head.group(0), text[head.end():], []
    for match in re.finditer(r"\.([A-Za-z_]\w*)|\[\s*(-?(?:0x[0-9a-fA-F]+|\d+))\s*\]|(\S)", rest):
        if match.group(3):
            raise InspectError(f"{text!r}: cannot read {match.group(3)!r} (members .x, ->x and [i] only)")
        steps.append((".", match.group(1)) if match.group(1) else ("[]", int(match.group(2), 0)))
    return name, steps


def follow(value: Value, steps: list[tuple[str, object]]) -> Value:
    for kind, arg in steps:
        value = value.member(str(arg)) if kind == "." else value[int(arg)]  # type: ignore[call-overload]
    return value
