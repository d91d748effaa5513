"""The SVC's way into the kernel: the interrupt hook's Python side.

Part of :class:`hlemu.cpu.Cpu` (a mixin, as :mod:`hlemu.cpu.codehooks` is). Unicorn's
interrupt hook is the compiled :func:`hlemu.cpu.svchook.interrupt_hook`, registered directly
(not through the binding's wrapper layers): on an SVC it reads r0..r7, pc and cpsr, calls
:meth:`SvcEntry._interrupt_entry` through a ctypes thunk, and writes the results
:meth:`SvcEntry.answer_svc` left. Every other CPU exception reaches ``_on_interrupt``.
Exceptions cannot cross the C boundary, so any is kept and re-raised by ``run()``.
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING

import numpy as np
from unicorn import UC_HOOK_INTR, UcError

from hlemu.cpu import hooks, svchook
from hlemu.cpu import libunicorn as lib
from hlemu.cpu.registers import CPSR_T

if TYPE_CHECKING:
    from hlemu.cpu.config import SvcCallback
    from hlemu.memory.space import AddressSpace

EXCP_SWI = svchook.EXCP_SWI
_CB_BLOCK_SIZE, _CB_HALT = hooks.CB_BLOCK_SIZE, hooks.CB_HALT  # (module names: read on every SVC)
_SB_STATUS, _SB_WRITE_COUNT = svchook.SB_STATUS, svchook.SB_WRITE_COUNT


class SvcEntry:
    if TYPE_CHECKING:  # provided by Cpu
        space: AddressSpace
        on_svc: SvcCallback
        _handle: ctypes.c_void_p
        _slots: memoryview
        _hook_handles: list[ctypes.c_size_t]
        _hook_error: BaseException | None
        _syncs_wait: bool
        _deferred_syncs: set[tuple[int, int]]
        _read_ids: ctypes.Array
        _svc_numbers: dict[int, int]
        _write_ids: ctypes.Array

        def sync_deferred(self) -> None: ...
        def _on_interrupt(self, intno: int) -> None: ...

    def _init_svc_hook(self) -> None:
        """Register the compiled interrupt hook with its block: it reads an SVC's registers into
        ``_svc_view`` before calling :meth:`_interrupt_entry`, and writes the results
        :meth:`answer_svc` left in ``_answer_view`` after it."""
        self._intr_callback = lib.INTR_HOOK(self._interrupt_entry)
        block = self._svc_block = np.zeros(svchook.SB_SIZE, dtype=np.int64)
        self._svc_vals = (ctypes.c_uint32 * svchook.READ_COUNT)()
        self._svc_view = memoryview(self._svc_vals).cast("B").cast("I")
        self._svc_ptrs = lib.pointers(self._svc_vals, svchook.READ_COUNT, 4)
        self._answer_vals = (ctypes.c_uint32 * 8)()
        self._answer_view = memoryview(self._answer_vals).cast("B").cast("I")
        self._answer_ptrs = lib.pointers(self._answer_vals, 8, 4)
        block[svchook.SB_CALLBACK] = ctypes.cast(self._intr_callback, ctypes.c_void_p).value or 0
        block[svchook.SB_READ_IDS] = ctypes.addressof(self._read_ids)
        block[svchook.SB_READ_PTRS] = ctypes.addressof(self._svc_ptrs)
        block[svchook.SB_WRITE_IDS] = ctypes.addressof(self._write_ids)
        block[svchook.SB_WRITE_PTRS] = ctypes.addressof(self._answer_ptrs)
        self._svc_slots = block.data  # item access without numpy scalars
        handle = ctypes.c_size_t()
        status = lib.hook_add(self._handle, ctypes.byref(handle), UC_HOOK_INTR,
                              ctypes.c_void_p(svchook.interrupt_hook.address),
                              ctypes.c_void_p(block.ctypes.data), ctypes.c_uint64(1), ctypes.c_uint64(0))
        if status:
            raise UcError(status)
        self._hook_handles.append(handle)

    def answer_svc(self, results: tuple[int, ...]) -> None:
        """From ``on_svc``, as its last word: the SVC's results for r0, r1, ..., written by the
        compiled hook once the callback returns (no register call from Python). Anything that
        reads or writes registers after it in the same SVC must use :meth:`write_results`."""
        view = self._answer_view
        count = len(results)
        if not count:
            return
        view[0] = results[0] & 0xFFFFFFFF
        if count > 1:
            view[1] = results[1] & 0xFFFFFFFF
            for i in range(2, count):
                view[i] = results[i] & 0xFFFFFFFF
        self._svc_slots[_SB_WRITE_COUNT] = count

    def _interrupt_entry(self, _uc: int, intno: int, _user: int) -> None:
        try:
            if intno == EXCP_SWI:  # the SVC round trip, inline: each call and attribute here costs
                self._slots[_CB_BLOCK_SIZE] = 0  # an SVC ends its block: nothing to take back
                if self._svc_slots[_SB_STATUS]:
                    raise UcError(self._svc_slots[_SB_STATUS])
                state = self._svc_view.tolist()  # the compiled hook read r0..r7, pc, cpsr
                number = self._svc_numbers.get(state[8])
                if number is None:
                    number = self._svc_number(state[8], state[9])
                del state[8:]
                self._syncs_wait = True
                try:
                    self.on_svc(self, number, state)  # type: ignore[arg-type]  # self is the Cpu
                finally:
                    self._syncs_wait = False
                if self._deferred_syncs and not self._slots[_CB_HALT]:
                    self.sync_deferred()  # the thread goes on: Unicorn must see its map now
            else:
                self._on_interrupt(intno)
        except BaseException as exc:  # noqa: BLE001 - carried across the C boundary
            self._svc_slots[_SB_WRITE_COUNT] = 0  # an SVC that failed answers nothing
            self._hook_error = exc
            lib.emu_stop(self._handle)

    def _svc_number(self, pc: int, cpsr: int) -> int:
        """The immediate of the SVC just executed (cached per address)."""
        number = self._svc_numbers.get(pc)
        if number is None:
            thumb = cpsr & CPSR_T
            if thumb:
                number = self.space.peek(pc - 2, 2)[0]
            else:
                number = int.from_bytes(self.space.peek(pc - 4, 4), "little") & 0xFF
            self._svc_numbers[pc] = number
        return number

    def _forget_svc_numbers_at(self, lo: int, hi: int) -> None:
        if self._svc_numbers:
            for pc in [pc for pc in self._svc_numbers if lo <= pc - 4 < hi]:
                del self._svc_numbers[pc]
