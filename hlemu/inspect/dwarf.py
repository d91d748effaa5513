"""A program's DWARF, read with pyelftools: types, globals, functions and their locals,
location expressions.

Why pyelftools and not drgn: pyelftools is already a dependency, is pure Python and reads
any ELF as a file. drgn (0.3.0, tried here) ignores a file without a build ID when asked to
load it (``no build ID; ignoring``; our builds use ``--build-id=none`` to stay reproducible),
and a custom program without a core dump found no symbols or types from the ELF even when
given it explicitly; it also expects a live program or core dump behind it, where here the
memory is a guest page table. The price: the DWARF expression evaluator is ours (the subset
gcc emits for ARM: addresses, registers, frame-base offsets, stack values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from elftools.dwarf.die import DIE
from elftools.dwarf.dwarf_expr import DWARFExprParser
from elftools.dwarf.locationlists import BaseAddressEntry, LocationEntry, LocationExpr, LocationParser
from elftools.dwarf.ranges import RangeEntry
from elftools.elf.elffile import ELFFile

from hlemu.inspect.errors import InspectError
from hlemu.inspect.types import VOID, CType, Member

_BASE_ENCODINGS = {0x02: "bool", 0x04: "float", 0x05: "signed", 0x06: "signed_char", 0x07: "unsigned",
                   0x08: "unsigned_char", 0x10: "unsigned"}  # DW_ATE_*; 0x10 is UTF
_AGGREGATES = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union", "DW_TAG_class_type": "struct"}
_QUALIFIERS = {"DW_TAG_const_type": "const ", "DW_TAG_volatile_type": "volatile ", "DW_TAG_restrict_type": "",
               "DW_TAG_atomic_type": "_Atomic "}


# -- where a variable lives --------------------------------------------------------------
@dataclass(frozen=True)
class Location:
    """``kind``: memory (``value`` is the address), register (``value`` is its number),
    value (``value`` is the variable's value itself), unavailable (optimised out here)."""

    kind: str
    value: int = 0


UNAVAILABLE = Location("unavailable")


@dataclass
class FrameContext:
    """What a location expression may need: the frame's registers and CFA, and memory."""

    registers: list[int]  # r0..r15
    cfa: int | None
    read_u32: Callable[[int], int]


@dataclass
class Variable:
    name: str
    type: CType
    die: DIE = field(repr=False)
    is_parameter: bool = False


@dataclass
class Function:
    name: str
    low: int
    high: int
    die: DIE = field(repr=False)

    def contains(self, pc: int) -> bool:
        return self.low <= pc < self.high


class DebugInfo:
    """The DWARF of one ELF. Build it once per program; everything is looked up lazily."""

    def __init__(self, elf: ELFFile, source: str = "") -> None:
        self.source = source
        self.dwarf = elf.get_dwarf_info() if elf.has_dwarf_info() else None
        self._types: dict[int, CType] = {}
        self.globals: dict[str, tuple[int, DIE]] = {}  # name -> (address, DIE)
        self.named_types: dict[str, DIE] = {}
        self.functions: list[Function] = []
        if self.dwarf is None:
            return
        self._expr = DWARFExprParser(self.dwarf.structs)
        self._loclists = LocationParser(self.dwarf.location_lists())
        for cu in self.dwarf.iter_CUs():
            self._index(cu.get_top_DIE(), None)
        self.functions.sort(key=lambda f: f.low)

    @property
    def present(self) -> bool:
        return self.dwarf is not None and bool(self.globals or self.functions)

    # -- the index -------------------------------------------------------------------------
    def _index(self, die: DIE, function: str | None) -> None:
        for child in die.iter_children():
            tag = child.tag
            if tag == "DW_TAG_variable":
                self._index_variable(child, function)
            elif tag == "DW_TAG_subprogram":
                self._index_function(child)
            elif tag in _AGGREGATES or tag in ("DW_TAG_typedef", "DW_TAG_base_type", "DW_TAG_enumeration_type"):
                name = _name(child)
                if name and "DW_AT_declaration" not in child.attributes:
                    kind = _AGGREGATES.get(tag) or ("enum" if tag == "DW_TAG_enumeration_type" else "")
                    self.named_types.setdefault(f"{kind} {name}" if kind else name, child)
            elif tag == "DW_TAG_lexical_block" and function:
                self._index(child, function)

    def _index_variable(self, die: DIE, function: str | None) -> None:
        attr = die.attributes.get("DW_AT_location")
        if attr is None or attr.form != "DW_FORM_exprloc" or not attr.value or attr.value[0] != 0x03:
            return  # not at a fixed address (a local, or a declaration)
        name = _name(die)
        if not name:
            return
        address = int.from_bytes(bytes(attr.value[1:5]), "little")
        self.globals.setdefault(f"{function}::{name}" if function else name, (address, die))

    def _index_function(self, die: DIE) -> None:
        low = die.attributes.get("DW_AT_low_pc")
        high = die.attributes.get("DW_AT_high_pc")
        name = _name(die) or "?"
        if low is not None and high is not None and low.value:  # 0: dropped by --gc-sections
            end = high.value if high.form == "DW_FORM_addr" else low.value + high.value
            self.functions.append(Function(name, low.value, end, die))
        self._index(die, name)  # its static locals have fixed addresses

    # -- types -----------------------------------------------------------------------------
    def type_of(self, die: DIE) -> CType:
        """The type of a variable, member or parameter DIE (void when it has none)."""
        if "DW_AT_type" not in die.attributes:
            origin = _origin(die)
            return self.type_of(origin) if origin is not None else VOID
        return self.type_from(die.get_DIE_from_attribute("DW_AT_type"))

    def type_from(self, die: DIE) -> CType:
        cached = self._types.get(die.offset)
        if cached is not None:
            return cached
        tag = die.tag
        if tag in _QUALIFIERS:
            inner = self.type_of(die)
            made = CType(inner.kind, inner.name, inner.size, inner.encoding, inner.target, inner.members,
                         inner.count, inner.enumerators, _QUALIFIERS[tag] + inner.qualifiers)
            self._types[die.offset] = made
            return made
        made = CType("void", "void")
        self._types[die.offset] = made  # before the members: a struct may point at itself
        size = _attr(die, "DW_AT_byte_size", 0)
        if tag == "DW_TAG_base_type":
            made.kind, made.name, made.size = "base", _name(die), size
            made.encoding = _BASE_ENCODINGS.get(_attr(die, "DW_AT_encoding", 0), "unsigned")
        elif tag == "DW_TAG_pointer_type":
            made.kind, made.size, made.target = "pointer", size or 4, self.type_of(die)
        elif tag in _AGGREGATES:
            made.kind, made.name, made.size = _AGGREGATES[tag], _name(die), size
            made.members = [self._member(m) for m in die.iter_children() if m.tag == "DW_TAG_member"]
        elif tag == "DW_TAG_array_type":
            self._array(die, made)
        elif tag == "DW_TAG_enumeration_type":
            made.kind, made.name, made.size = "enum", _name(die), size
            made.encoding = "signed" if any(_attr(e, "DW_AT_const_value", 0) < 0 for e in die.iter_children()) \
                else "unsigned"
            made.enumerators = {_attr(e, "DW_AT_const_value", 0): _name(e) for e in die.iter_children()
                                if e.tag == "DW_TAG_enumerator"}
        elif tag == "DW_TAG_typedef":
            made.kind, made.name = "typedef", _name(die)
            made.target = self.type_of(die)
            made.size = made.target.size
        elif tag == "DW_TAG_subroutine_type":
            made.kind, made.target = "function", self.type_of(die)
        return made

    def _member(self, die: DIE) -> Member:
        ctype = self.type_of(die)
        offset = _attr(die, "DW_AT_data_member_location", 0)
        bit_size = _attr(die, "DW_AT_bit_size", 0)
        bit_offset = 0
        if bit_size:
            data_bit = _attr(die, "DW_AT_data_bit_offset", None)
            if data_bit is not None:  # DWARF 4+: from the start of the struct
                offset, bit_offset = (data_bit // 8) & ~(max(ctype.size, 1) - 1), 0
                bit_offset = data_bit - offset * 8
        return Member(_name(die), offset if isinstance(offset, int) else 0, ctype, bit_size, bit_offset)

    def _array(self, die: DIE, made: CType) -> None:
        """``int a[3][4]``: an array of 3 arrays of 4 ints, innermost last."""
        element = self.type_of(die)
        dims = []
        for sub in die.iter_children():
            if sub.tag == "DW_TAG_subrange_type":
                if "DW_AT_count" in sub.attributes:
                    dims.append(_attr(sub, "DW_AT_count", 0))
                elif "DW_AT_upper_bound" in sub.attributes:
                    dims.append(_attr(sub, "DW_AT_upper_bound", 0) + 1)
                else:
                    dims.append(None)
        for count in reversed(dims[1:]):
            element = CType("array", size=element.size * (count or 0), target=element, count=count)
        made.kind, made.target, made.count = "array", element, dims[0] if dims else None
        made.size = element.size * (made.count or 0)

    def lookup_type(self, name: str) -> CType:
        """A type by its C name: ``struct player``, ``int``, ``u32``, ``struct player *``, ``char [16]``."""
        text = " ".join(name.split())
        pointers = 0
        while text.endswith("*"):
            text, pointers = text[:-1].rstrip(), pointers + 1
        count = None
        if text.endswith("]") and "[" in text:
            text, _, dim = text[:-1].rpartition("[")
            text, count = text.rstrip(), int(dim, 0)
        die = self.named_types.get(text)
        if die is None:
            near = sorted(n for n in self.named_types if text.split()[-1] in n)[:5]
            hint = f" (have {', '.join(near)})" if near else ""
            raise InspectError(f"no type {name!r} in the DWARF of {self.source or 'the program'}{hint}")
        ctype = self.type_from(die)
        if count is not None:
            ctype = CType("array", size=ctype.size * count, target=ctype, count=count)
        for _ in range(pointers):
            ctype = CType("pointer", size=4, target=ctype)
        return ctype

    # -- functions and their locals ---------------------------------------------------------
    def function_at(self, pc: int) -> Function | None:
        for f in self.functions:  # few hundred at most; a bisect would not pay for itself
            if f.contains(pc):
                return f
        return None

    def function_name(self, f: Function) -> str:
        return _name(f.die) or f.name

    def locals_at(self, f: Function, pc: int) -> list[Variable]:
        """Parameters, then the variables of every block that holds ``pc``, outermost first."""
        found: list[Variable] = []
        self._collect(f.die, pc, found)
        return found

    def _collect(self, die: DIE, pc: int, out: list[Variable]) -> None:
        for child in die.iter_children():
            if child.tag in ("DW_TAG_formal_parameter", "DW_TAG_variable"):
                name = _name(child)
                if name and "DW_AT_const_expr" not in child.attributes:
                    out.append(Variable(name, self.type_of(child), child, child.tag == "DW_TAG_formal_parameter"))
            elif child.tag == "DW_TAG_lexical_block" and self._block_holds(child, pc):
                self._collect(child, pc, out)

    def _block_holds(self, die: DIE, pc: int) -> bool:
        low, high = die.attributes.get("DW_AT_low_pc"), die.attributes.get("DW_AT_high_pc")
        if low is not None and high is not None:
            end = high.value if high.form == "DW_FORM_addr" else low.value + high.value
            return low.value <= pc < end
        if "DW_AT_ranges" in die.attributes and self.dwarf is not None:
            ranges = self.dwarf.range_lists()
            if ranges is not None:
                try:
                    entries = ranges.get_range_list_at_offset(die.attributes["DW_AT_ranges"].value,
                                                             cu=die.cu)  # type: ignore[arg-type]
                except Exception:  # noqa: BLE001 - an odd range list: treat the block as holding pc
                    return True
                base = _attr(die.cu.get_top_DIE(), "DW_AT_low_pc", 0)
                for entry in entries:
                    absolute = bool(getattr(entry, "is_absolute", False))
                    if isinstance(entry, RangeEntry):
                        lo = entry.begin_offset + (0 if absolute else base)
                        hi = entry.end_offset + (0 if absolute else base)
                        if lo <= pc < hi:
                            return True
                    elif hasattr(entry, "base_address"):
                        base = entry.base_address
                return False
        return True

    # -- locations --------------------------------------------------------------------------
    def location(self, die: DIE, pc: int, frame: FrameContext, frame_base: DIE | None = None) -> Location:
        """Where the variable of ``die`` is when the frame's code is at ``pc``."""
        attr = die.attributes.get("DW_AT_location")
        if attr is None:
            return UNAVAILABLE
        parsed = self._loclists.parse_from_attribute(attr, die.cu["version"], die)
        if isinstance(parsed, LocationExpr):
            expr = parsed.loc_expr
        else:
            expr = None
            base = _attr(die.cu.get_top_DIE(), "DW_AT_low_pc", 0)
            for entry in parsed:
                if isinstance(entry, BaseAddressEntry):
                    base = entry.base_address
                elif isinstance(entry, LocationEntry):
                    lo = entry.begin_offset + (0 if entry.is_absolute else base)
                    hi = entry.end_offset + (0 if entry.is_absolute else base)
                    if lo <= pc < hi:
                        expr = entry.loc_expr
                        break
        if expr is None:
            return UNAVAILABLE
        return self.evaluate(expr, frame, frame_base)

    def evaluate(self, expr: list[int], frame: FrameContext, frame_base: DIE | None = None) -> Location:
        """Run a DWARF expression: the subset gcc emits for ARM (else: unavailable)."""
        stack: list[int] = []
        regs = frame.registers
        result_kind = "memory"
        for op in self._expr.parse_expr(expr):
            name, args = op.op_name, op.args
            if name == "DW_OP_addr" or name.startswith("DW_OP_const"):
                stack.append(args[0] & 0xFFFFFFFF)
            elif name.startswith("DW_OP_lit"):
                stack.append(int(name[9:]))
            elif name.startswith("DW_OP_reg") and name != "DW_OP_regx":
                return Location("register", int(name[9:]))
            elif name == "DW_OP_regx":
                return Location("register", args[0])
            elif name.startswith("DW_OP_breg") and name != "DW_OP_bregx":
                stack.append((regs[int(name[10:])] + args[0]) & 0xFFFFFFFF)
            elif name == "DW_OP_fbreg":
                base = self._frame_base(frame_base, frame)
                if base is None:
                    return UNAVAILABLE
                stack.append((base + args[0]) & 0xFFFFFFFF)
            elif name == "DW_OP_call_frame_cfa":
                if frame.cfa is None:
                    return UNAVAILABLE
                stack.append(frame.cfa)
            elif name == "DW_OP_plus_uconst":
                stack.append((stack.pop() + args[0]) & 0xFFFFFFFF)
            elif name in ("DW_OP_plus", "DW_OP_minus", "DW_OP_and", "DW_OP_or", "DW_OP_mul"):
                b, a = stack.pop(), stack.pop()
                value = {"DW_OP_plus": a + b, "DW_OP_minus": a - b, "DW_OP_and": a & b, "DW_OP_or": a | b,
                         "DW_OP_mul": a * b}[name]
                stack.append(value & 0xFFFFFFFF)
            elif name == "DW_OP_deref":
                stack.append(frame.read_u32(stack.pop()))
            elif name == "DW_OP_stack_value":
                result_kind = "value"
            else:  # entry values, pieces, implicit pointers...: not worth guessing
                return UNAVAILABLE
        if not stack:
            return UNAVAILABLE
        return Location(result_kind, stack[-1])

    def _frame_base(self, function: DIE | None, frame: FrameContext) -> int | None:
        if function is None or "DW_AT_frame_base" not in function.attributes:
            return None
        loc = self.evaluate(function.attributes["DW_AT_frame_base"].value, frame)
        if loc.kind == "register":
            return frame.registers[loc.value]
        return loc.value if loc.kind in ("memory", "value") else None


def _name(die: DIE) -> str:
    attr = die.attributes.get("DW_AT_name")
    if attr is not None:
        return attr.value.decode(errors="replace")
    origin = _origin(die)
    return _name(origin) if origin is not None else ""


def _origin(die: DIE) -> DIE | None:
    for key in ("DW_AT_abstract_origin", "DW_AT_specification"):
        if key in die.attributes:
            return die.get_DIE_from_attribute(key)
    return None


def _attr(die: DIE, key: str, default):  # noqa: ANN001, ANN202 - a DWARF attribute's plain value
    attr = die.attributes.get(key)
    return default if attr is None else attr.value
