"""The slowmem CPU backend: every guest data access is a call into ``space.slow``.

Part of :class:`hlemu.cpu.Cpu` (a mixin, as :mod:`hlemu.cpu.special` is). Unicorn runs
in virtual-TLB mode as under semifastmem, but its fill hook (:func:`hooks.tlb_fill_slow`)
answers a data access with the page's alias in the *slow window*: one 4 GiB Unicorn MMIO
region at :data:`hooks.SLOW_WINDOW` whose offset is the guest virtual address. Its read
and write callbacks are :meth:`SlowMem.read_int` and :meth:`SlowMem.write_int`, so the
guest's loads and stores get the very checks, special-page handlers, fault counters and
write tracking the host-side slow path has. Instruction fetch gets the page's frame in the
physical backing, executable only, and Unicorn translates code from it once, as it does
under semifastmem.

Why not the other ways (measured on Unicorn 2.1.4):

* every page an MMIO region of its own: Unicorn refuses to fetch from an MMIO region
  (UC_ERR_FETCH_PROT) unless ``mem_protect`` adds EXEC to it; then it does, reading code
  through the same read callback as data, which cannot tell a fetch from a load (the data
  access counts would include code) and a page's code and data would share one region;
* pages mapped executable only, with UC_HOOK_MEM_READ/WRITE hooks: a valid-access hook runs
  before the access and cannot change what a load returns or stop a store from landing, so
  MMIO reads and refused writes could not be served by the slow path at all.

A fault is found before the slow path runs: the fill refuses a page the guest may not
access (as semifastmem's does), so the CPU takes the abort at the faulting instruction and
the crash report is the other backends'. The slow path raising a fault anyway (a page
unmapped by a handler during the access) ends the run with that fault.

The window's callbacks are, by ``CpuConfig.slow_path``: ``compiled`` (the default) numba
``@cfunc``s (:mod:`hlemu.cpu.slowcall`) that do the slow path's checks and serve plain
memory themselves, calling the Python slow path for everything else (45-60 ns an access
over semifastmem, measured on ``compute``), or ``python``: ctypes functions over the Python
slow path itself (2.4-4 us an access, 1-1.5 MIPS). Both count every access in the control block.
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING

import numpy as np
from unicorn import UcError
from unicorn.unicorn_py3.unicorn import uclib

from hlemu.cpu import hooks
from hlemu.cpu import libunicorn as lib
from hlemu.cpu.config import CpuFault
from hlemu.memory.constants import PAGE_SHIFT
from hlemu.memory.constants import PERM_X as _X
from hlemu.memory.faults import GuestFault

if TYPE_CHECKING:
    from hlemu.memory.space import AddressSpace

# uint64_t (*uc_cb_mmio_read_t)(uc_engine *uc, uint64_t offset, unsigned size, void *user_data)
MMIO_READ = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_void_p)
# void (*uc_cb_mmio_write_t)(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value, void *user_data)
MMIO_WRITE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_uint64,
                              ctypes.c_void_p)
WINDOW_SIZE = 1 << 32


class SlowData:
    if TYPE_CHECKING:  # provided by Cpu
        space: AddressSpace
        fault: CpuFault | None
        control: np.ndarray
        _slots: memoryview
        _handle: ctypes.c_void_p
        _hook_error: BaseException | None

        def invalidate(self, address: int, size: int) -> None: ...

    def _map_slow_window(self, compiled: bool) -> None:
        """Map the slow window, its callbacks bound to this CPU's address space: the Python
        slow path itself, or (``compiled``) :mod:`hlemu.cpu.slowcall`'s compiled checks with
        the Python slow path behind them for what is not plain memory."""
        slots, space = self._slots, self.space
        slow = space.slow
        read_int, write_int = slow.read_int, slow.write_int
        reads, writes = (hooks.CB_SLOW_READS, hooks.CB_SLOW_WRITES) if not compiled else (hooks.CB_SCRATCH,) * 2

        # Lean on purpose: one counter bump and the slow path (no method lookups per access).
        # Behind the compiled callbacks (which count) the bump goes to a scratch slot.
        def read(_uc: int, vaddr: int, size: int, _user: int) -> int:
            slots[reads] += 1
            try:
                return read_int(vaddr, size)
            except BaseException as exc:  # noqa: BLE001 - carried across the C boundary
                self._slow_failed(exc)
                return 0

        def write(_uc: int, vaddr: int, size: int, value: int, _user: int) -> None:
            slots[writes] += 1
            try:
                write_int(vaddr, size, value)
                if space.table.perm.item(vaddr >> PAGE_SHIFT) & _X:
                    self._code_written(vaddr, size)
            except BaseException as exc:  # noqa: BLE001 - carried across the C boundary
                self._slow_failed(exc)

        self._slow_callbacks = (MMIO_READ(read), MMIO_WRITE(write))  # kept alive with the CPU
        entries: tuple[object, object] = self._slow_callbacks
        user = None
        if compiled:
            from hlemu.cpu import slowcall

            self._slow_user = np.zeros(slowcall.USER_SIZE, np.int64)
            self._slow_user[slowcall.USER_CONTROL] = self.control.ctypes.data
            for slot, callback in ((slowcall.USER_READ, self._slow_callbacks[0]),
                                   (slowcall.USER_WRITE, self._slow_callbacks[1])):
                self._slow_user[slot] = ctypes.cast(callback, ctypes.c_void_p).value or 0
            entries = (ctypes.c_void_p(slowcall.slow_read.address), ctypes.c_void_p(slowcall.slow_write.address))
            user = ctypes.c_void_p(self._slow_user.ctypes.data)
        status = uclib.uc_mmio_map(self._handle, ctypes.c_uint64(hooks.SLOW_WINDOW), ctypes.c_size_t(WINDOW_SIZE),
                                   entries[0], user, entries[1], user)
        if status:
            raise UcError(status)

    def _code_written(self, vaddr: int, size: int) -> None:
        """A guest store to an executable page: Unicorn does not see stores to an MMIO region,
        so the code it translated from there is dropped here (when the run ends, as
        :meth:`invalidate` does inside a run) and the run stops before its next block, so
        the next one is translated afresh. The rest of the storing block runs as translated
        (fastmem and semifastmem would retranslate it at once)."""
        self.invalidate(vaddr, size)
        self._slots[hooks.CB_HALT] = 1

    def _slow_failed(self, exc: BaseException) -> None:
        """The slow path refused an access the fill allowed (or a handler raised): end the run."""
        if isinstance(exc, GuestFault):  # (the slow path counted it)
            self.fault = CpuFault("data abort", exc.access, exc.address, exc.size, exc.kind)
        elif self._hook_error is None:
            self._hook_error = exc
        lib.emu_stop(self._handle)

    @property
    def data_accesses(self) -> tuple[int, int]:
        """(reads, writes) of guest data the slow path served: slowmem only (0, 0 otherwise).
        An access Unicorn splits (unaligned, crossing a page) counts once per piece."""
        return int(self._slots[hooks.CB_SLOW_READS]), int(self._slots[hooks.CB_SLOW_WRITES])
