"""Symbols of a guest program: its ELF's symbol table, and the ELF that goes with a process.

>>> from hlemu.guest import program_path
>>> table = SymbolTable.from_file(program_path("inspect"))
>>> hero = table.address_of("hero")
>>> table.describe(hero), table.describe(hero + 0x14), table.get("hero").size
('hero', 'hero+0x14', 112)
"""

from __future__ import annotations

import bisect
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from hlemu.inspect.errors import InspectError


@dataclass(frozen=True)
class Symbol:
    name: str
    address: int  # the Thumb bit of a Thumb function is cleared
    size: int
    kind: str  # "function" or "object"
    thumb: bool = False

    def contains(self, addr: int) -> bool:
        return self.address <= addr < self.address + max(self.size, 1)


CODE_START = 0x00100000
# libctru's crt0 starts with a branch over a block of words (__service_ptr, __apt_appid, heap
# sizes...) that the Homebrew Launcher fills in; the SDK's crt0 has the same block, and the
# kernel fills it for a 3DSX, so those words may differ from the ELF's.
LAUNCHER_BLOCK = 0x40

_KINDS = {"STT_FUNC": "function", "STT_OBJECT": "object"}


class SymbolTable:
    """Functions and data objects from an ELF's ``.symtab``, by address and by name.

    ARM mapping symbols (``$a``, ``$t``, ``$d``) and file or section symbols are left out;
    local (static) names are kept, global ones win a name clash."""

    def __init__(self, symbols: list[Symbol], source: str = "") -> None:
        self.source = source
        self._sorted = sorted(symbols, key=lambda s: (s.address, -s.size, s.name))
        self._starts = [s.address for s in self._sorted]
        self._by_name: dict[str, Symbol] = {}
        for sym in symbols:
            self._by_name.setdefault(sym.name, sym)

    @classmethod
    def from_elf(cls, elf: ELFFile, source: str = "") -> SymbolTable:
        symbols: list[Symbol] = []
        globals_first: list[Symbol] = []
        for section in elf.iter_sections():
            if not isinstance(section, SymbolTableSection):
                continue
            for sym in section.iter_symbols():
                kind = _KINDS.get(sym["st_info"]["type"])
                if kind is None or not sym.name or sym.name.startswith("$") or sym["st_shndx"] == "SHN_UNDEF":
                    continue
                value = int(sym["st_value"])
                thumb = kind == "function" and bool(value & 1)
                entry = Symbol(sym.name, value & ~1 if kind == "function" else value, int(sym["st_size"]), kind, thumb)
                (globals_first if sym["st_info"]["bind"] != "STB_LOCAL" else symbols).append(entry)
        return cls(globals_first + symbols, source)

    @classmethod
    def from_file(cls, path: str | Path) -> SymbolTable:
        data = Path(path).read_bytes()
        return cls.from_elf(open_elf(data, str(path)), str(path))

    def __len__(self) -> int:
        return len(self._sorted)

    def __iter__(self):  # noqa: ANN204 - Iterator[Symbol], by address
        return iter(self._sorted)

    def lookup(self, addr: int) -> Symbol | None:
        """The symbol whose range holds ``addr`` (the innermost when several start before it)."""
        i = bisect.bisect_right(self._starts, addr) - 1
        while i >= 0:
            sym = self._sorted[i]
            if sym.contains(addr):
                return sym
            if addr - sym.address > 0x100000:
                break
            i -= 1
        return None

    def describe(self, addr: int) -> str:
        """``name`` or ``name+0xOFF`` for an address in a symbol, else the address in hex."""
        sym = self.lookup(addr)
        if sym is None:
            return f"{addr:#010x}"
        return sym.name if addr == sym.address else f"{sym.name}+{addr - sym.address:#x}"

    def get(self, name: str) -> Symbol | None:
        return self._by_name.get(name)

    def address_of(self, name: str) -> int:
        """The address of a function or object by name; InspectError (with near names) if none."""
        sym = self._by_name.get(name)
        if sym is None:
            near = sorted(n for n in self._by_name if name.lower() in n.lower())[:5]
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise InspectError(f"no symbol {name!r} in {self.source or 'the program'}{hint}")
        return sym.address

    def functions(self) -> list[Symbol]:
        return [s for s in self._sorted if s.kind == "function"]


def open_elf(data: bytes, where: str = "") -> ELFFile:
    try:
        return ELFFile(io.BytesIO(data))
    except ELFError as exc:
        raise InspectError(f"{where or 'file'}: not an ELF ({exc})") from None


def loaded_segments(elf: ELFFile) -> list[tuple[int, bytes]]:
    """``(vaddr, file bytes)`` of each PT_LOAD segment."""
    return [(int(seg["p_vaddr"]), seg.data()) for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]


def matches_memory(elf: ELFFile, peek: Callable[[int, int], bytes]) -> bool:
    """True when the ELF's read-only segments (code, constants) are what the process has loaded,
    so its symbols and DWARF describe this process (a 3DSX made from it loads the same bytes)."""
    checked = 0
    for seg in elf.iter_segments():
        if seg["p_type"] != "PT_LOAD" or seg["p_flags"] & 2:  # PF_W: data may have changed since
            continue
        data, vaddr = seg.data(), int(seg["p_vaddr"])
        try:
            loaded = peek(vaddr, len(data))
        except (LookupError, ValueError, OSError):
            return False
        if vaddr == CODE_START:  # the launcher parameter block a 3DSX's loader fills in
            data, loaded = data[LAUNCHER_BLOCK:], loaded[LAUNCHER_BLOCK:]
        if loaded != data:
            return False
        checked += 1
    return checked > 0


def elf_beside(path: str | Path) -> Path | None:
    """The ELF for a program file: itself, or for NAME.3dsx the NAME.elf beside it."""
    path = Path(path)
    if path.suffix.lower() == ".elf":
        return path if path.is_file() else None
    twin = path.with_suffix(".elf")
    return twin if twin.is_file() else None
