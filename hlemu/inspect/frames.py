"""Backtraces: unwinding a stopped thread's stack with the program's DWARF call frame
information (``.debug_frame``).

gcc at -O2 keeps no frame pointer on ARM, so frame records (fp chains) would not exist; the
CFI says, for every instruction, how to find the caller's registers (the CFA, and where lr
and the callee-saved registers were pushed). A function without CFI (hand-written assembly
such as the SVC wrappers, or newlib, whose DWARF the bundled builds leave out) can still be
the innermost frame: it is taken to be a leaf whose caller is in lr (said as ``lr`` in the
frame's ``how``); deeper than that the walk stops.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

from elftools.dwarf.callframe import FDE, RegisterRule

from hlemu.inspect.dwarf import DebugInfo, FrameContext

SP, LR, PC = 13, 14, 15


@dataclass
class RawFrame:
    """One frame: its pc, registers (what is known of them) and CFA; ``how`` it was found
    (``registers`` for the innermost, ``cfi`` or ``lr`` for its callers)."""

    level: int
    pc: int
    registers: list[int]
    cfa: int | None
    how: str
    known: set[int] = field(default_factory=set)


class Unwinder:
    """Call frame information of one program, ready to unwind many times."""

    def __init__(self, debug: DebugInfo) -> None:
        self._fdes: list[FDE] = []
        dwarf = debug.dwarf
        if dwarf is not None and dwarf.has_CFI():
            self._fdes = sorted((e for e in dwarf.CFI_entries() if isinstance(e, FDE) and e.header["initial_location"]),
                                key=lambda e: e.header["initial_location"])
        self._starts = [e.header["initial_location"] for e in self._fdes]
        self._decoded: dict[int, list[dict]] = {}

    @property
    def present(self) -> bool:
        return bool(self._fdes)

    def _rows(self, pc: int) -> dict | None:
        i = bisect.bisect_right(self._starts, pc) - 1
        if i < 0:
            return None
        fde = self._fdes[i]
        start = fde.header["initial_location"]
        if not start <= pc < start + fde.header["address_range"]:
            return None
        table = self._decoded.get(start)
        if table is None:
            table = self._decoded[start] = fde.get_decoded().table
        row = None
        for candidate in table:
            if candidate["pc"] > pc:
                break
            row = candidate
        return row

    def cfa(self, pc: int, registers: list[int]) -> int | None:
        row = self._rows(pc)
        if row is None or row["cfa"].reg is None:
            return None
        return (registers[row["cfa"].reg] + row["cfa"].offset) & 0xFFFFFFFF

    def unwind(self, registers: list[int], read_u32: Callable[[int], int], limit: int = 64,
               in_code: Callable[[int], bool] = lambda pc: True) -> list[RawFrame]:
        """Frames from the innermost (``registers``: r0-r15) outwards."""
        regs = list(registers)
        frames = [RawFrame(0, regs[PC], regs, self.cfa(regs[PC], regs), "registers", set(range(16)))]
        while len(frames) < limit:
            frame = frames[-1]
            lookup_pc = frame.pc if frame.level == 0 else frame.pc - 1  # a return address is past its call
            caller = self._caller(frame, lookup_pc, read_u32)
            if caller is None:
                break
            pc = caller.registers[PC] & ~1
            if pc == 0 or not in_code(pc) or (pc == frame.pc and caller.registers[SP] == frame.registers[SP]):
                break
            caller.pc = pc
            caller.cfa = self.cfa(pc - 1, caller.registers)
            frames.append(caller)
        return frames

    def _caller(self, frame: RawFrame, pc: int, read_u32: Callable[[int], int]) -> RawFrame | None:
        row = self._rows(pc)
        regs = list(frame.registers)
        if row is None:
            if frame.level != 0:
                return None  # no CFI and not a leaf we stopped in: nothing says where the caller is
            regs[PC] = regs[LR]
            return RawFrame(frame.level + 1, regs[PC], regs, None, "lr", frame.known - {PC})
        cfa = (frame.registers[row["cfa"].reg] + row["cfa"].offset) & 0xFFFFFFFF
        known = set(frame.known)
        for reg, rule in row.items():
            if not isinstance(reg, int):
                continue
            if rule.type == RegisterRule.OFFSET:
                try:
                    regs[reg] = read_u32((cfa + rule.arg) & 0xFFFFFFFF)
                except LookupError:
                    return None
            elif rule.type == RegisterRule.VAL_OFFSET:
                regs[reg] = (cfa + rule.arg) & 0xFFFFFFFF
            elif rule.type == RegisterRule.REGISTER:
                regs[reg] = frame.registers[rule.arg]
            elif rule.type == RegisterRule.UNDEFINED:
                known.discard(reg)
        regs[PC] = regs[LR]  # the return address: lr as the callee found it (restored above if saved)
        regs[SP] = cfa
        for scratch in range(4):  # r0-r3 and r12 are the callee's to clobber (AAPCS)
            known.discard(scratch)
        known.discard(12)
        return RawFrame(frame.level + 1, regs[PC], regs, cfa, "cfi", known)


def frame_context(frame: RawFrame, read_u32: Callable[[int], int]) -> FrameContext:
    return FrameContext(frame.registers, frame.cfa, read_u32)
