"""``Proc``: one guest process as a script sees it (memory, code, faults, handles, threads)."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from hlemu.cpu import CPSR_T, RegisterFile
from hlemu.cpu.decode import Instruction, disassemble
from hlemu.memory import FaultKind, WatchHit, Watchpoint
from hlemu.text import HexList, counted
from kernel.api import inspect
from kernel.api.views import Handle, HandleInfo, MapSnapshot, Region, ThreadView
from kernel.kernel import host_callback
from kernel.process import Process

if TYPE_CHECKING:
    from pathlib import Path

    from hlemu.inspect.footprint import Footprint
    from hlemu.inspect.heap import HeapReport
    from hlemu.inspect.program import Frame, Program
    from hlemu.inspect.scan import Scan
    from hlemu.inspect.values import Value
    from kernel.api.emulator import Emulator


class Proc:
    """One guest process, as a script sees it."""

    def __init__(self, emu: Emulator, process: Process) -> None:
        self._emu = emu
        self.process = process

    # identity and state
    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def name(self) -> str:
        return self.process.name

    @property
    def status(self) -> str:
        return self.process.status

    @property
    def exit_code(self) -> int | None:
        return self.process.exit_code

    @property
    def crash(self) -> str | None:
        return self.process.crash

    @property
    def alive(self) -> bool:
        return self.process.alive

    @property
    def instructions_run(self) -> int:
        """Guest instructions this process has run."""
        return self.process.cpu.instructions

    @property
    def svcs(self) -> int:
        """SVCs this process has made."""
        return self.process.stats.svcs

    @property
    def output(self) -> list[str]:
        """Lines the guest printed (OutputDebugString)."""
        return self.process.output

    # what the program calls itself (a 3DSX's SMDH; None for an ELF, which has none)
    @property
    def title(self) -> str | None:
        """The SMDH short title (English if set, else the first language set), or None."""
        smdh = self.process.smdh
        return None if smdh is None else smdh.short_title

    @property
    def publisher(self) -> str | None:
        smdh = self.process.smdh
        return None if smdh is None else smdh.publisher

    @property
    def icon(self) -> np.ndarray | None:
        """The SMDH's large icon: a (48, 48, 3) uint8 RGB array (a copy), or None."""
        smdh = self.process.smdh
        return None if smdh is None else smdh.icon().copy()

    def __repr__(self) -> str:
        """One line: ``<Proc 32 'hello' exited (7), 989,735 instructions, 8 SVCs, 1 thread>``."""
        threads = sum(1 for t in self.process.threads if t.alive)
        return (f"<Proc {self.pid} {self.name!r} {self.status}, "
                f"{counted(self.instructions_run, 'instruction', 'instructions')}, "
                f"{counted(self.svcs, 'SVC', 'SVCs')}, {counted(threads, 'thread', 'threads')}>")

    # memory
    @property
    def space(self):  # noqa: ANN201 - the AddressSpace
        return self.process.space

    @property
    def page_table(self):  # noqa: ANN201 - the PageTable (numpy arrays; .query(), .regions())
        return self.process.space.table

    def page(self, addr: int):  # noqa: ANN201 - a PageEntry
        """One page: frame, physical address, permission, state, special kind, faults."""
        return self.process.space.page(addr)

    def maps(self) -> list[Region]:
        """Regions as QueryMemory reports them, with physical addresses and sharers."""
        space = self.process.space
        infos = space.regions()
        sharers = self._emu.kernel.memory.sharers(space, [info.base for info in infos])
        return [Region(info.base, info.size, info.perm, info.state, space.translate(info.base), others)
                for info, others in zip(infos, sharers, strict=True)]

    def snapshot_maps(self) -> MapSnapshot:
        return MapSnapshot(self.pid, self.process.space.regions())

    def read(self, addr: int, size: int) -> bytes:
        """Guest bytes (permissions and faults apply as for the guest; watchpoints stay quiet)."""
        with self._quiet():
            return self.process.space.mem.read(addr, size)

    def write(self, addr: int, data: bytes) -> None:
        with self._quiet():
            self.process.space.mem.write(addr, data)

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        space = self.process.space
        space.watch_muted = True
        try:
            yield
        finally:
            space.watch_muted = False

    def peek(self, addr: int, size: int) -> bytes:
        """Bytes regardless of permission (code, read-only data)."""
        return self.process.space.peek(addr, size)

    def poke(self, addr: int, data: bytes) -> None:
        """Write regardless of permission (patch code; cached translations are dropped)."""
        self.process.space.poke(addr, data)

    def u8(self, addr: int, value: int | None = None) -> int:
        return self._int(addr, 1, value)

    def u16(self, addr: int, value: int | None = None) -> int:
        return self._int(addr, 2, value)

    def u32(self, addr: int, value: int | None = None) -> int:
        return self._int(addr, 4, value)

    def u64(self, addr: int, value: int | None = None) -> int:
        return self._int(addr, 8, value)

    def _int(self, addr: int, size: int, value: int | None) -> int:
        mem = self.process.space.mem
        with self._quiet():
            if value is not None:
                mem.write_int(addr, size, value)
                return value
            return mem.read_int(addr, size)

    def string(self, addr: int, max_len: int = 4096) -> str:
        with self._quiet():
            return self.process.space.mem.read_string(addr, max_len)

    def struct(self, addr: int, fmt: str) -> tuple:
        """``struct.unpack(fmt, ...)`` of guest memory (little-endian unless ``fmt`` says)."""
        fmt = fmt if fmt[:1] in "<>!=@" else "<" + fmt
        return struct.unpack(fmt, self.read(addr, struct.calcsize(fmt)))

    def search(self, pattern: bytes | int, width: int = 4) -> list[int]:
        """Addresses where ``pattern`` (bytes, or an int ``width`` bytes wide) is, shown in hex."""
        mem = self.process.space.mem
        return HexList(mem.search_value(pattern, width) if isinstance(pattern, int) else mem.search(pattern))

    def disasm(self, addr: int, count: int = 10, thumb: bool | None = None) -> list[str]:
        """``count`` instructions from ``addr`` as text (ARM or Thumb; default: the main thread's mode)."""
        return [str(insn) for insn in self.instructions(addr, count, thumb)]

    def instructions(self, addr: int, count: int = 10, thumb: bool | None = None) -> list[Instruction]:
        """``count`` instructions from ``addr`` (address, bytes, text); unmapped ones say so."""
        if thumb is None:
            thumb = bool(self.process.cpu.cpsr & CPSR_T) if self.process.alive else False
        return disassemble(self.process.space, addr, count, thumb)

    # faults, handles, threads
    @property
    def faults(self) -> dict[str, int]:
        """Fault counts by kind over all pages (unmapped, permission, special, write_track, tlb_fill)."""
        return self.process.space.faults.totals()

    def fault_pages(self, kind: str | None = None) -> list[int]:
        fk = None if kind is None else FaultKind[kind.upper()]
        return HexList(v << 12 for v in self.process.space.faults.pages_with_faults(fk).tolist())

    @property
    def crash_address(self) -> int | None:
        """The address whose access crashed the process (None if it did not crash on memory)."""
        return self.process.crash_address

    @property
    def handles(self) -> list[Handle]:
        """``(handle, description)`` pairs, shown as ``Handle(0x00010002, 'event #17 ...')``."""
        return [Handle(h, obj.describe()) for h, obj in self.process.handles.items()]

    def handle_info(self) -> list[HandleInfo]:
        """Handles with their object's type and every process holding that object."""
        others = [p for p in self._emu.kernel.processes.values() if p.alive]
        return [HandleInfo(h, obj.type_name, obj.describe(), obj.object_id,
                           [p.pid for p in others if p.handles.holds(obj)])
                for h, obj in self.process.handles.items()]

    def thread(self, tid: int | None = None, vfp: bool = False) -> ThreadView | None:
        """The live thread ``tid`` (default, or when it has ended: the first live one), or None."""
        live = [t for t in self.process.threads if t.alive]
        chosen = next((t for t in live if t.tid == tid), live[0] if live else None)
        return None if chosen is None else self._emu.thread_view(chosen, vfp)

    def registers(self, tid: int | None = None) -> RegisterFile:
        """A copy of thread ``tid``'s registers (default: the first live thread) as a
        :class:`~hlemu.cpu.RegisterFile`: r0-r15, cpsr, d0-d15, fpscr, fpexc, tpidruro."""
        regs = self._emu.kernel.scheduler.registers(self._live_thread(tid))
        assert regs is not None  # _live_thread gives a live thread
        return regs

    def set_registers(self, regs: RegisterFile, tid: int | None = None) -> None:
        """Give thread ``tid`` (default: the first live thread) these registers; it goes on from
        its new pc when it next runs. ``regs = proc.registers(); regs["r0"] = 1; proc.set_registers(regs)``."""
        self._emu.kernel.scheduler.set_registers(self._live_thread(tid), regs)

    def _live_thread(self, tid: int | None):  # noqa: ANN202 - a kernel Thread
        live = [t for t in self.process.threads if t.alive]
        chosen = next((t for t in live if tid is None or t.tid == tid), None)
        if chosen is None:
            raise KeyError(f"process {self.pid} {self.name!r} has no live thread {'' if tid is None else tid}".rstrip())
        return chosen

    @property
    def threads(self) -> list[ThreadView]:
        return [self._emu.thread_view(t) for t in self.process.threads]

    # watchpoints
    def watch(self, addr: int, size: int = 4, callback: Callable[[WatchHit], None] | None = None,
              on: str = "w") -> Watchpoint:
        """Call ``callback(hit)`` on every guest access of ``[addr, addr+size)`` (``on``: r, w, rw).

        Without a callback the hit is recorded in ``emu.watch_hits`` and the run pauses.
        """
        def default(hit: WatchHit) -> None:
            self._emu.watch_hits.append(hit)
            self._emu.pause()

        chosen = callback or default

        def call(hit: WatchHit) -> None:
            with host_callback():  # the script's error reaches the script, even from inside an SVC
                chosen(hit)

        return self.process.space.watch(addr, size, call, on)

    # symbols, typed values, frames, heap, footprint, scans (issue 13; kernel/api/inspect.py)
    def load_symbols(self, path: str | Path) -> Program:
        """Take symbols and DWARF from the ELF at ``path`` (or the ELF beside a 3DSX)."""
        return inspect.load_symbols(self, path)

    def symbol(self, addr: int) -> str:
        """``"name+0x8"`` for an address in a function or object (else the address in hex)."""
        return inspect.symbol(self, addr)

    def address_of(self, name: str) -> int:
        return inspect.address_of(self, name)

    def listing(self, where: int | str, count: int = 10, thumb: bool | None = None) -> list[str]:
        """Symbolized disassembly from an address or a function's name."""
        return inspect.disasm(self, where, count, thumb)

    def break_at(self, where: int | str, callback: Callable | None = None) -> int:
        """``emu.breakpoint`` on a function by name (or an address); returns the address."""
        return inspect.breakpoint(self._emu, self, where, callback)

    def var(self, expr: str) -> Value:
        """A live typed global: ``p.var("hero").pos.x``, ``p.var("hero.inventory[1].name")``."""
        return inspect.var(self, expr)

    def typed(self, addr: int, type_name: str) -> Value:
        """Memory at ``addr`` as a DWARF type: ``p.typed(a, "struct player")``."""
        return inspect.typed(self, addr, type_name)

    def watch_var(self, expr: str | Value, callback: Callable[[WatchHit], None] | None = None,
                  on: str = "w") -> Watchpoint:
        """``watch`` over a variable's or field's bytes: ``p.watch_var("hero.hp")``."""
        return inspect.watch_var(self, expr, callback, on)

    def frames(self, tid: int | None = None) -> list[Frame]:
        """A stopped thread's stack (DWARF CFI), innermost first; ``frame.locals()``."""
        return inspect.frames(self, tid)

    def backtrace(self, tid: int | None = None) -> list[str]:
        return inspect.backtrace(self, tid)

    def locals(self, tid: int | None = None, level: int = 0) -> dict[str, Value | str]:
        return inspect.locals_of(self, tid, level)

    def crash_report(self) -> str | None:
        """The crash report with a symbolized backtrace, or None if the process did not crash."""
        return inspect.crash_report(self)

    def heap(self) -> HeapReport:
        """newlib's malloc heap (nano or full), walked: blocks, used, free, largest_free..."""
        return inspect.heap(self)

    def footprint(self, system: bool = False) -> Footprint | dict[int, Footprint]:
        """RSS, PSS, USS of guest physical memory, by state (``system``: every pid, and -1)."""
        return inspect.system_footprint(self._emu) if system else inspect.footprint(self)

    def scan(self, value: int | bytes, width: int = 4, start: int = 0, end: int = 1 << 32) -> Scan:
        """Where ``value`` is in ``[start, end)``; ``.rescan("increased")`` and so on narrow it down."""
        return inspect.scan(self, value, width, start, end)
