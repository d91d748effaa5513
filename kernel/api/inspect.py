"""Symbols, typed values, frames, heaps, footprints and scans for ``Proc`` (issue 13).

``Proc`` delegates here (``p.symbol``, ``p.var``, ``p.frames``, ``p.heap``, ...). A process's
program (its ELF: symbols, DWARF, CFI) is found once and kept per process: the one given to
``p.load_symbols(path)`` (an ELF, or a 3DSX with its ELF beside it), else the bundled ELF of
the process's name, taken only when its code and constants are what the process has loaded.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hlemu.guest import BIN_DIR
from hlemu.inspect import heap as heap_walk
from hlemu.inspect.errors import InspectError
from hlemu.inspect.footprint import Footprint, footprints, frame_owners
from hlemu.inspect.heap import HeapReport
from hlemu.inspect.program import Frame, Inspector, Program
from hlemu.inspect.scan import Scan
from hlemu.inspect.symbols import elf_beside
from hlemu.inspect.values import Value
from hlemu.memory import WatchHit, Watchpoint

if TYPE_CHECKING:
    from kernel.api.emulator import Emulator
    from kernel.api.proc import Proc
    from kernel.process import Process

_REG_ORDER = [f"r{i}" for i in range(13)] + ["sp", "lr", "pc"]
_inspectors: weakref.WeakKeyDictionary[Process, Inspector] = weakref.WeakKeyDictionary()
_programs: dict[tuple[str, int], Program] = {}  # (path, mtime_ns) -> parsed ELF, shared by processes


def _program(path: Path) -> Program:
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    program = _programs.get(key)
    if program is None:
        program = _programs[key] = Program.from_file(path)
    return program


def load_symbols(proc: Proc, path: str | Path) -> Program:
    """Use the ELF at ``path`` (or the ELF beside a 3DSX) for ``proc``; InspectError when it is
    not the program the process runs."""
    elf = elf_beside(path)
    if elf is None:
        raise InspectError(f"{path}: no ELF there (nor beside it, for a 3DSX) to take symbols from")
    program = _program(elf)
    if not program.matches(proc.process.space):
        raise InspectError(f"{elf}: its code is not what process {proc.pid} ({proc.name}) has loaded")
    _inspectors[proc.process] = Inspector(program, proc.process.space)
    return program


def _candidates(proc: Proc) -> list[Path]:
    """Where the symbols may be: the ELF the process was loaded from, the ELF beside its
    .3dsx (as a build leaves NAME.elf next to NAME.3dsx), then the bundled program's."""
    found = []
    source = Path(proc.process.source) if proc.process.source else None
    if source is not None:
        found.append(source if source.suffix.lower() != ".3dsx" else source.with_suffix(".elf"))
    found.append(BIN_DIR / f"{Path(proc.name).stem}.elf")
    return found


def elf_of(proc: Proc) -> Path | None:
    """The ELF a debugger should read for ``proc`` (see :func:`_candidates`), or None."""
    for candidate in _candidates(proc):
        if candidate.is_file():
            return candidate.resolve()
    return None


def inspector(proc: Proc) -> Inspector:
    found = _inspectors.get(proc.process)
    if found is not None:
        return found
    for candidate in _candidates(proc):
        if candidate.is_file():
            program = _program(candidate)
            if program.matches(proc.process.space):
                found = _inspectors[proc.process] = Inspector(program, proc.process.space)
                return found
    raise InspectError(f"no symbols for process {proc.pid} ({proc.name}): give its ELF with p.load_symbols(path)")


# -- symbols -----------------------------------------------------------------------------
def symbol(proc: Proc, addr: int) -> str:
    return inspector(proc).symbol(addr)


def address_of(proc: Proc, name: str) -> int:
    return inspector(proc).address_of(name)


def resolve(proc: Proc, where: int | str) -> int:
    return where if isinstance(where, int) else address_of(proc, where)


_TARGET = re.compile(r"#(0x[0-9a-f]+)$")


def disasm(proc: Proc, where: int | str, count: int = 10, thumb: bool | None = None) -> list[str]:
    """Disassembly with each address's symbol and branch targets named:
    ``00100210 <checkpoint>: 1eff2fe1 bx lr``, ``... bl #0x100210 <checkpoint>``."""
    ins = inspector(proc)
    lines = []
    for insn in proc.instructions(resolve(proc, where), count, thumb):
        text = str(insn)
        match = _TARGET.search(insn.text)
        if match and insn.text.split()[0].startswith("b"):
            text += f" <{ins.symbol(int(match.group(1), 16))}>"
        head, _, rest = text.partition(": ")
        lines.append(f"{head} <{ins.symbol(insn.address)}>: {rest}")
    return lines


def breakpoint(emu: Emulator, proc: Proc, where: int | str, callback: Callable | None = None) -> int:
    """``emu.breakpoint`` at a function's name or an address; the address."""
    addr = resolve(proc, where)
    emu.breakpoint(proc, addr, callback)
    return addr


# -- typed values ------------------------------------------------------------------------
def var(proc: Proc, expr: str) -> Value:
    return inspector(proc).var(expr)


def typed(proc: Proc, addr: int, type_name: str) -> Value:
    return inspector(proc).typed(addr, type_name)


def watch_var(proc: Proc, expr: str | Value, callback: Callable[[WatchHit], None] | None = None,
              on: str = "w") -> Watchpoint:
    """``p.watch`` over the bytes of a variable or field: ``p.watch_var("hero.hp")``."""
    value = var(proc, expr) if isinstance(expr, str) else expr
    if value.address is None:
        raise InspectError(f"{value.path}: lives in a register; there is no memory to watch")
    return proc.watch(value.address, max(value.size, 1), callback, on)


# -- frames ------------------------------------------------------------------------------
def registers_of(proc: Proc, tid: int | None = None) -> list[int]:
    """r0-r15 of a live thread, or of the crash for a crashed process."""
    thread = proc.thread(tid)
    if thread is not None:
        return [thread.registers[name] for name in _REG_ORDER]
    if proc.crash:
        found = dict(re.findall(r"\b(r\d+|sp|lr|pc)=([0-9a-f]{8})\b", proc.crash))
        if all(name in found for name in _REG_ORDER):
            return [int(found[name], 16) for name in _REG_ORDER]
    raise InspectError(f"process {proc.pid} ({proc.name}) has no live thread{' ' + str(tid) if tid else ''} "
                       f"and no crash to read registers from")


def frames(proc: Proc, tid: int | None = None) -> list[Frame]:
    return inspector(proc).frames(registers_of(proc, tid))


def backtrace(proc: Proc, tid: int | None = None) -> list[str]:
    return [str(f) for f in frames(proc, tid)]


def locals_of(proc: Proc, tid: int | None = None, level: int = 0) -> dict[str, Value | str]:
    stack = frames(proc, tid)
    if not 0 <= level < len(stack):
        raise InspectError(f"no frame #{level} (the stack has {len(stack)})")
    return stack[level].locals()


def crash_report(proc: Proc) -> str | None:
    """The kernel's crash report with a symbolized backtrace (unwound with DWARF CFI)."""
    if not proc.crash:
        return None
    try:
        lines = backtrace(proc)
    except InspectError as exc:
        return f"{proc.crash}\nbacktrace: unavailable ({exc})"
    return "\n".join([proc.crash, "backtrace (DWARF CFI):", *(f"  {line}" for line in lines)])


# -- heap, footprint, scan ---------------------------------------------------------------
def heap(proc: Proc) -> HeapReport:
    ins = inspector(proc)
    symbols = ins.program.symbols
    brk_sym = symbols.get("heap_break")  # the SDK's program break (syscalls.c)
    brk = ins.read_u32(brk_sym.address) if brk_sym is not None else None
    return heap_walk.walk(symbols, ins.read_u32, brk)


def footprint(proc: Proc) -> Footprint:
    return footprints(proc._emu.kernel.memory.spaces)[proc.pid]


def system_footprint(emu: Emulator) -> dict[int, Footprint]:
    """Every process's footprint by pid, and the whole system's under -1."""
    return footprints(emu.kernel.memory.spaces)


def physical_owners(emu: Emulator) -> np.ndarray:
    """Who holds each physical frame: a pid, or footprint.SHARED / HELD / FREE (see frame_owners)."""
    return frame_owners(emu.kernel.memory.phys, emu.kernel.memory.spaces)


def scan(proc: Proc, value: int | bytes, width: int = 4, start: int = 0, end: int = 1 << 32) -> Scan:
    space = proc.process.space
    space.watch_muted = True  # a scan's reads are not the guest's
    try:
        return Scan(space, value, width, start=start, end=end)
    finally:
        space.watch_muted = False
