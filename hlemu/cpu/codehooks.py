"""Breakpoints, the stop after a step, and dropping translated code.

Part of :class:`hlemu.cpu.Cpu` (a mixin, as :mod:`hlemu.cpu.special` is). Each
breakpoint is a Unicorn code hook bounded to its one address: Unicorn calls it only
there (translated blocks get the call at that instruction alone), so code without a
breakpoint runs as fast as before and no Python runs per instruction. A step stops
the same way, at a hook on the next instruction of its block; a step that ends its
block stops at the next block's entry (the block hook).
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING

from unicorn import UC_HOOK_CODE, UcError

from hlemu.cpu import libunicorn as lib
from hlemu.cpu.config import Stop
from hlemu.memory.constants import PAGE_SHIFT

if TYPE_CHECKING:
    from unicorn import Uc

    from hlemu.cpu.config import BreakpointCallback


class CodeHooks:
    if TYPE_CHECKING:  # provided by Cpu
        uc: Uc
        on_breakpoint: BreakpointCallback | None
        _handle: ctypes.c_void_p
        _running: bool
        _closed: bool
        _hook_error: BaseException | None
        _pending_code: list[tuple[int, int]]

        def _forget_svc_numbers_at(self, lo: int, hi: int) -> None: ...

        def _forget_counts(self, lo: int, hi: int) -> None: ...

    def _init_code_hooks(self) -> None:
        self._code_callback = lib.CODE_HOOK(self._code_entry)
        self._breakpoints: dict[int, ctypes.c_size_t] = {}  # address -> hook handle
        self._step_hooks: list[tuple[int, ctypes.c_size_t]] = []
        self._step_targets: set[int] = set()
        self._skip_at: int | None = None  # the start PC's breakpoint, passed over once
        self._code_stop: Stop | None = None

    # -- breakpoints ------------------------------------------------------------------
    def add_breakpoint(self, address: int) -> None:
        """Stop before the instruction at ``address`` runs (when ``on_breakpoint`` agrees).

        A run that starts at a breakpoint it stopped at goes past it (resuming); a step
        always runs its instruction. Code translated before is dropped, so the
        breakpoint holds at once, also from inside a callback."""
        address &= 0xFFFFFFFF
        if address not in self._breakpoints:
            self._breakpoints[address] = self._add_code_hook(address, address)
            self.invalidate(address, 4)

    def remove_breakpoint(self, address: int) -> None:
        """Forget the breakpoint at ``address`` (KeyError if there is none)."""
        handle = self._breakpoints.pop(address & 0xFFFFFFFF)
        if not self._closed:
            lib.hook_del(self._handle, handle)
            self.invalidate(address, 4)

    @property
    def breakpoints(self) -> list[int]:
        return sorted(self._breakpoints)

    # -- translated code ----------------------------------------------------------------
    def invalidate(self, address: int, size: int) -> None:
        """Drop code translated from ``[address, address + size)`` (code patched behind the
        CPU's back, or a hook that must see it). From inside emulation it takes effect
        when the run returns: dropping blocks under a running virtual TLB derails Unicorn."""
        if size <= 0 or self._closed:
            return
        self._forget_counts(address, address + size)
        if self._running:
            self._pending_code.append((address, address + size))
        else:
            self._drop_range(address, address + size)

    def _drop_range(self, lo: int, hi: int) -> None:
        self.uc.ctl_remove_cache(lo, min(hi, 0xFFFFFFFF))
        self._forget_svc_numbers_at(lo, hi)

    def _drop_pages(self, lo: int, hi: int) -> None:
        self._drop_range(lo << PAGE_SHIFT, hi << PAGE_SHIFT)

    # -- the step's stop ----------------------------------------------------------------
    def _arm_step(self, targets: list[int]) -> None:
        for address in targets:
            self._step_hooks.append((address, self._add_code_hook(address, address)))
            self._drop_range(address, address + 2)
        self._step_targets = set(targets)

    def _disarm_step(self) -> None:
        for address, handle in self._step_hooks:
            if not self._closed:
                lib.hook_del(self._handle, handle)
                self._drop_range(address, address + 2)
        self._step_hooks.clear()
        self._step_targets = set()

    # -- the hook -------------------------------------------------------------------------
    def _add_code_hook(self, begin: int, end: int) -> ctypes.c_size_t:
        handle = ctypes.c_size_t()
        status = lib.hook_add(self._handle, ctypes.byref(handle), UC_HOOK_CODE, self._code_callback, None,
                              ctypes.c_uint64(begin), ctypes.c_uint64(end))
        if status:
            raise UcError(status)
        return handle

    def _code_entry(self, _uc: int, address: int, _size: int, _user: int) -> None:
        try:
            self._on_code(address & 0xFFFFFFFF)
        except BaseException as exc:  # noqa: BLE001 - carried across the C boundary
            self._hook_error = exc
            lib.emu_stop(self._handle)

    def _on_code(self, address: int) -> None:
        if self._code_stop is not None:
            return  # a second hook on the same instruction
        if address == self._skip_at:
            self._skip_at = None
            return
        if address in self._step_targets:
            self._stop_here(Stop.STEPPED)
        elif address in self._breakpoints and (self.on_breakpoint is None or self.on_breakpoint(self, address)):  # type: ignore[arg-type]
            self._stop_here(Stop.BREAKPOINT)

    def _stop_here(self, why: Stop) -> None:
        """Stop before this instruction (Unicorn checks for a stop after a code hook)."""
        self._code_stop = why
        lib.emu_stop(self._handle)
