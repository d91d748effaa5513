"""Reading and writing the loaded thread's registers: part of :class:`hlemu.cpu.Cpu` (a mixin,
as :mod:`hlemu.cpu.codehooks` is).

Register traffic is most of an SVC's cost, so every call here is one batched C call into
Unicorn: an SVC's r0..r7, pc and cpsr in one read, its results in one write, a whole
:class:`RegisterFile` (a thread switch) in one read or write straight into its array.
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING

import numpy as np
from unicorn import UcError
from unicorn import arm_const as arm

from hlemu.cpu import hooks
from hlemu.cpu import libunicorn as lib
from hlemu.cpu.registers import CPSR_T as _CPSR_T
from hlemu.cpu.registers import NAMES, SLOTS, RegisterFile

if TYPE_CHECKING:
    from unicorn import Uc

# r0..r15 and CPSR in one batch: register traffic dominates SVC cost.
GPRS = [getattr(arm, f"UC_ARM_REG_R{i}") for i in range(13)] + [
    arm.UC_ARM_REG_SP, arm.UC_ARM_REG_LR, arm.UC_ARM_REG_PC]
ARG_REGS = GPRS[:8]
# What an SVC needs, read in one C call: r0..r7, pc, cpsr.
_SVC_READ = ARG_REGS + [arm.UC_ARM_REG_PC, arm.UC_ARM_REG_CPSR]
_SVC_READ_COUNT = len(_SVC_READ)
# A RegisterFile's slots as Unicorn registers. Written PC first, then CPSR, then the rest:
# Unicorn takes a PC write with bit 0 clear as a switch to ARM state (so CPSR.T must come
# after it), and a CPSR write switches register banks (so sp and lr must come after that).
_UC_OF_SLOT = {**{name: GPRS[i] for i, name in enumerate(NAMES[:16])}, "cpsr": arm.UC_ARM_REG_CPSR,
               **{f"d{i}": getattr(arm, f"UC_ARM_REG_D{i}") for i in range(16)},
               "fpscr": arm.UC_ARM_REG_FPSCR, "fpexc": arm.UC_ARM_REG_FPEXC, "tpidruro": arm.UC_ARM_REG_C13_C0_3}
_FILE_ORDER = [15, 16] + [i for i in range(SLOTS) if i not in (15, 16)]

_CLOSED = "this CPU's process has been reaped: it has no registers any more"


class RegisterAccess:
    if TYPE_CHECKING:  # provided by Cpu
        uc: Uc
        control: np.ndarray
        _handle: ctypes.c_void_p
        _closed: bool
        _break_pc: int | None

    def _init_register_access(self) -> None:
        """The batch calls' register ids and value buffers (after ``_handle`` is set)."""
        self._read_ids = (ctypes.c_int * len(_SVC_READ))(*_SVC_READ)
        self._read_vals = (ctypes.c_uint32 * len(_SVC_READ))()
        self._read_ptrs = lib.pointers(self._read_vals, len(_SVC_READ), 4)
        self._read_view = memoryview(self._read_vals).cast("B").cast("I")  # tolist() beats slicing
        # pc and cpsr alone (where a run resumes), into the same buffer's last two slots
        self._resume_ids = (ctypes.c_int * 2)(arm.UC_ARM_REG_PC, arm.UC_ARM_REG_CPSR)
        self._resume_ptrs = lib.pointers(ctypes.addressof(self._read_vals) + 4 * len(ARG_REGS), 2, 4)
        self._write_ids = (ctypes.c_int * len(ARG_REGS))(*ARG_REGS)
        self._write_vals = (ctypes.c_uint32 * len(ARG_REGS))()
        self._write_ptrs = lib.pointers(self._write_vals, len(ARG_REGS), 4)
        self._file = np.zeros(SLOTS, dtype=np.uint64)  # staging for whole register files
        self._file_ids = (ctypes.c_int * SLOTS)(*(_UC_OF_SLOT[NAMES[i]] for i in _FILE_ORDER))
        self._file_ptrs = (ctypes.c_void_p * SLOTS)(*(self._file.ctypes.data + 8 * i for i in _FILE_ORDER))
        self._file_cache: dict[int, tuple[np.ndarray, ctypes.Array]] = {}

    def registers(self) -> RegisterFile:
        """The loaded thread's registers, as a new :class:`RegisterFile`."""
        self._batch(lib.reg_read_batch, self._file_ptrs)
        return RegisterFile(self._file.copy())

    def save_registers(self, into: RegisterFile) -> None:
        """Copy the loaded registers into ``into`` (one C call, straight into its array): a
        thread switch saving the outgoing thread."""
        self._batch(lib.reg_read_batch, self._pointers_into(into.raw))

    def set_registers(self, regs: RegisterFile) -> None:
        """Load ``regs`` (a debugger writing registers). A new PC is a new start: the rest of a
        block stopped inside is charged again, and a breakpoint there fires."""
        if regs.pc != self.pc:
            self.control[hooks.CB_RESUME] = 0
            self._break_pc = None
        self._batch(lib.reg_write_batch, self._pointers_into(regs.raw))

    def load_thread(self, regs: RegisterFile) -> None:
        """Load another thread's registers (a thread switch): nothing of the previous thread's
        stop carries over."""
        self.control[hooks.CB_RESUME] = 0
        self._break_pc = None
        self._batch(lib.reg_write_batch, self._pointers_into(regs.raw))

    def _batch(self, call: object, pointers: ctypes.Array) -> None:
        if self._closed:
            raise RuntimeError(_CLOSED)
        status = call(self._handle, self._file_ids, pointers, SLOTS)  # type: ignore[operator]
        if status:
            raise UcError(status)

    def _pointers_into(self, raw: np.ndarray) -> ctypes.Array:
        """The batch call's value pointers into ``raw``'s slots, cached per array (a thread's
        context lives as long as the thread; the cache holds the array, so its id stays its)."""
        entry = self._file_cache.get(id(raw))
        if entry is None or entry[0] is not raw:
            if len(self._file_cache) >= 1024:
                self._file_cache.clear()
            base = raw.ctypes.data
            entry = (raw, (ctypes.c_void_p * SLOTS)(*(base + 8 * i for i in _FILE_ORDER)))
            self._file_cache[id(raw)] = entry
        return entry[1]

    def read_registers(self) -> list[int]:
        """r0..r12, sp, lr, pc."""
        return self.registers().r.tolist()

    def read_svc_state(self) -> list[int]:
        """r0..r7, pc, cpsr in one C call."""
        if self._closed:
            raise RuntimeError(_CLOSED)
        status = lib.reg_read_batch(self._handle, self._read_ids, self._read_ptrs, _SVC_READ_COUNT)
        if status:
            raise UcError(status)
        return self._read_view.tolist()

    def resume_pc(self) -> int:
        """Where the next run starts: pc, with bit 0 set in Thumb state (two registers, one C call)."""
        if self._closed:
            raise RuntimeError(_CLOSED)
        status = lib.reg_read_batch(self._handle, self._resume_ids, self._resume_ptrs, 2)
        if status:
            raise UcError(status)
        view = self._read_view
        return view[8] | 1 if view[9] & _CPSR_T else view[8]

    def read_args(self) -> list[int]:
        """r0..r7 (SVC arguments)."""
        return self.read_svc_state()[:8]

    def write_results(self, values: dict[int, int] | tuple[int, ...] | list[int]) -> None:
        """Write results to r0, r1, ... (a sequence) or to r<i> (a dict), in one C call."""
        if type(values) is dict:
            count = len(values)
            if count == 1 and 0 in values:  # a woken wait's r0 (its r1 comes as {0:, 1:})
                values = (values[0],)
            elif count == 2 and 0 in values and 1 in values:
                values = (values[0], values[1])
            elif sorted(values) != list(range(count)):
                for i, v in values.items():
                    self.uc.reg_write(ARG_REGS[i], v & 0xFFFFFFFF)
                return
            else:
                values = tuple(values[i] for i in range(count))
        if self._closed:
            raise RuntimeError(_CLOSED)
        count = len(values)
        if not count:
            return
        vals = self._write_vals  # (item stores, unrolled: a comprehension costs twice as much)
        vals[0] = values[0] & 0xFFFFFFFF
        if count > 1:
            vals[1] = values[1] & 0xFFFFFFFF
            for i in range(2, count):
                vals[i] = values[i] & 0xFFFFFFFF
        status = lib.reg_write_batch(self._handle, self._write_ids, self._write_ptrs, count)
        if status:
            raise UcError(status)

    @property
    def pc(self) -> int:
        return self.read_svc_state()[8]

    @property
    def cpsr(self) -> int:
        return self.read_svc_state()[9]
