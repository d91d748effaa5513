"""A program's symbols and DWARF over one process's memory: names, typed values, frames.

>>> from hlemu.guest import program_path
>>> program = Program.from_file(program_path("inspect"))
>>> str(program.debug.lookup_type("struct player").member("inventory").type)
'struct item [3]'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hlemu.inspect.dwarf import UNAVAILABLE, DebugInfo, Function, Location
from hlemu.inspect.errors import InspectError, UnreadableMemory
from hlemu.inspect.frames import PC, RawFrame, Unwinder, frame_context
from hlemu.inspect.symbols import SymbolTable, matches_memory, open_elf
from hlemu.inspect.types import CType
from hlemu.inspect.values import Value, follow, parse_path
from hlemu.memory.constants import PAGE_SHIFT
from hlemu.memory.space import AddressSpace, MapError


class Program:
    """One ELF's symbol table, DWARF and call frame information."""

    def __init__(self, data: bytes, source: str = "") -> None:
        self.source = source
        self.elf = open_elf(data, source)
        self.symbols = SymbolTable.from_elf(self.elf, source)
        self.debug = DebugInfo(self.elf, source)
        self.unwinder = Unwinder(self.debug)

    @classmethod
    def from_file(cls, path: str | Path) -> Program:
        return cls(Path(path).read_bytes(), str(path))

    def matches(self, space: AddressSpace) -> bool:
        """True when ``space`` has this ELF's code and constants loaded."""
        return matches_memory(self.elf, lambda addr, size: _peek(space, addr, size))

    def __repr__(self) -> str:
        dwarf = "DWARF" if self.debug.present else "no DWARF"
        cfi = ", CFI" if self.unwinder.present else ""
        return f"<Program {self.source or '?'}: {len(self.symbols)} symbols, {dwarf}{cfi}>"


def _peek(space: AddressSpace, addr: int, size: int) -> bytes:
    try:
        return space.peek(addr, size)
    except MapError:
        raise UnreadableMemory(addr, size) from None


@dataclass
class Frame:
    """One frame of a backtrace: where, in which function, found how, and its locals."""

    level: int
    pc: int
    symbol: str  # "walk+0x1c"
    function: str | None  # the DWARF function's name, None without DWARF for pc
    how: str  # registers (innermost), cfi, lr (a leaf without CFI)
    raw: RawFrame = field(repr=False)
    _inspector: Inspector = field(repr=False)

    def locals(self) -> dict[str, Value | str]:
        """Parameters and locals in scope at this frame's pc, as values, or a string saying why
        not (``<optimized out>``, ``<in a register this frame does not know>``)."""
        return self._inspector.frame_locals(self)

    def __str__(self) -> str:
        return f"#{self.level} {self.pc:#010x} in {self.symbol} ({self.how})"


class Inspector:
    """A :class:`Program` over the address space that runs it."""

    def __init__(self, program: Program, space: AddressSpace) -> None:
        self.program = program
        self.space = space

    # -- memory: through the page table, never a host crash -------------------------------
    def read(self, addr: int, size: int) -> bytes:
        """Guest bytes at ``addr`` as the page table maps them (ignoring permission: a debugger
        may read code and read-only data); unmapped or MMIO pages are UnreadableMemory."""
        addr &= 0xFFFFFFFF
        if size < 0 or addr + size > 1 << 32:
            raise UnreadableMemory(addr, size)
        frames = self.space.table.frame
        for vpn in range(addr >> PAGE_SHIFT, ((addr + max(size, 1) - 1) >> PAGE_SHIFT) + 1):
            if frames[vpn] < 0:
                raise UnreadableMemory(addr, size)
        return _peek(self.space, addr, size)

    def read_u32(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 4), "little")

    # -- names -----------------------------------------------------------------------------
    def symbol(self, addr: int) -> str:
        return self.program.symbols.describe(addr)

    def address_of(self, name: str) -> int:
        """A symbol's address; else a DWARF global's or function's (``walk`` for gcc's clone
        ``walk.constprop.0``, which the symbol table names so)."""
        debug = self.program.debug
        if self.program.symbols.get(name) is None:
            if name in debug.globals:
                return debug.globals[name][0]
            for function in debug.functions:
                if debug.function_name(function) == name:
                    return function.low
        return self.program.symbols.address_of(name)

    # -- typed values ----------------------------------------------------------------------
    def var(self, expr: str) -> Value:
        """A global (or a function's static, ``main::sizes``) with members and elements:
        ``"hero"``, ``"hero.inventory[1].name"``, ``"hero->rival->hp"``."""
        name, steps = parse_path(expr)
        debug = self.program.debug
        found = debug.globals.get(name)
        if found is None:
            if not debug.present:
                raise InspectError(f"{self.program.source or 'the program'} has no DWARF: no typed variable {name!r}"
                                   f" (symbols only; try address_of)")
            near = sorted(n for n in debug.globals if name.lower() in n.lower())[:5]
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise InspectError(f"no variable {name!r} in the DWARF of {self.program.source or 'the program'}{hint}")
        address, die = found
        return follow(Value(self.read, debug.type_of(die), address, None, name), steps)

    def typed(self, addr: int, type_name: str | CType) -> Value:
        """The memory at ``addr`` read as ``type_name`` (``"struct player"``, ``"int [4]"``)."""
        ctype = type_name if isinstance(type_name, CType) else self.program.debug.lookup_type(type_name)
        return Value(self.read, ctype, addr & 0xFFFFFFFF, None, f"({ctype}){addr:#x}")

    # -- frames ----------------------------------------------------------------------------
    def frames(self, registers: list[int], limit: int = 64) -> list[Frame]:
        """The stack of a thread stopped with ``registers`` (r0-r15), innermost first."""
        def in_code(pc: int) -> bool:
            return self.program.symbols.lookup(pc) is not None

        raw = self.program.unwinder.unwind(registers, self._read_u32_or_fail, limit, in_code)
        out = []
        for f in raw:
            pc_for_lookup = f.pc if f.level == 0 else f.pc - 1
            function = self.program.debug.function_at(pc_for_lookup)
            symbol = self.symbol(f.pc)
            name = self.program.debug.function_name(function) if function else None
            out.append(Frame(f.level, f.pc, symbol, name, f.how, f, self))
        return out

    def _read_u32_or_fail(self, addr: int) -> int:
        return self.read_u32(addr)

    def backtrace(self, registers: list[int], limit: int = 64) -> list[str]:
        return [str(f) for f in self.frames(registers, limit)]

    def frame_locals(self, frame: Frame) -> dict[str, Value | str]:
        debug = self.program.debug
        pc = frame.pc if frame.level == 0 else frame.pc - 1
        function = debug.function_at(pc)
        if function is None:
            return {}
        ctx = frame_context(frame.raw, self._read_u32_or_fail)
        out: dict[str, Value | str] = {}
        for variable in debug.locals_at(function, pc):
            try:
                where = debug.location(variable.die, pc, ctx, function.die)
            except (IndexError, LookupError):
                where = UNAVAILABLE
            out[variable.name] = self._located(variable.name, variable.type, where, frame, function)
        return out

    def _located(self, name: str, ctype: CType, where: Location, frame: Frame, function: Function) -> Value | str:
        size = ctype.strip().size or 4
        if where.kind == "memory":
            return Value(self.read, ctype, where.value, None, name)
        if where.kind == "register":
            if where.value not in frame.raw.known or where.value > PC:
                return "<in a register this frame does not know>"
            raw = (frame.raw.registers[where.value] & 0xFFFFFFFF).to_bytes(4, "little")
            return Value(self.read, ctype, None, raw[:size].ljust(size, b"\0"), name)
        if where.kind == "value":
            return Value(self.read, ctype, None, (where.value & 0xFFFFFFFF).to_bytes(4, "little")[:size]
                         .ljust(size, b"\0"), name)
        return "<optimized out>"
