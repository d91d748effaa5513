"""The CPU boundary: one Unicorn ARM11 MPCore per guest address space.

:class:`Cpu` runs guest code of one process against that process's memory
with no Python on normal instructions or accesses:

* fastmem: Unicorn maps the slab's accessible pages directly
  (``mem_map_ptr`` at ``slab + vaddr``);
* semifastmem: Unicorn runs in virtual-TLB mode; the compiled
  :func:`hlemu.cpu.hooks.tlb_fill` walks the page table on each miss and
  points Unicorn into the physical backing.

Every map, unmap or protect of the address space reaches the CPU through
the space's listeners, which drops stale translations at once. Python runs
only on SVCs (the ``on_svc`` callback), guest faults and quantum ends.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
from unicorn import (
    UC_ARCH_ARM,
    UC_HOOK_BLOCK,
    UC_HOOK_INTR,
    UC_HOOK_MEM_INVALID,
    UC_HOOK_TLB_FILL,
    UC_MEM_FETCH_PROT,
    UC_MEM_FETCH_UNMAPPED,
    UC_MEM_READ_PROT,
    UC_MEM_READ_UNMAPPED,
    UC_MEM_WRITE_PROT,
    UC_MEM_WRITE_UNMAPPED,
    UC_MODE_ARM,
    UC_PROT_ALL,
    UC_TLB_VIRTUAL,
    Uc,
    UcError,
)
from unicorn import arm_const as arm
from unicorn.unicorn_const import UC_CTL_IO_WRITE, UC_CTL_TLB_FLUSH, UC_ERR_EXCEPTION, UC_ERR_INSN_INVALID
from unicorn.unicorn_py3.unicorn import uclib

from hlemu.cpu import hooks
from hlemu.cpu.decode import decode_access
from hlemu.cpu.pagemap import sync_unicorn_map
from hlemu.cpu.special import DIRTY_LOG_SIZE, MMIO_WINDOW, MMIO_WINDOW_PAGES, SpecialPages
from hlemu.memory.constants import (
    NUM_PAGES,
    PAGE_SHIFT,
    FaultKind,
    MemoryPermission,
    SpecialKind,
)
from hlemu.memory.lazy import lazy_zeros
from hlemu.memory.space import AddressSpace

# r0..r15 and CPSR in one batch: register traffic dominates SVC cost.
GPRS = [getattr(arm, f"UC_ARM_REG_R{i}") for i in range(13)] + [
    arm.UC_ARM_REG_SP, arm.UC_ARM_REG_LR, arm.UC_ARM_REG_PC]
ARG_REGS = GPRS[:8]
# What an SVC needs, read in one C call: r0..r7, pc, cpsr. The binding's own batch
# calls spend ~10 us in Python per call, so these go straight to libunicorn.
_SVC_READ = ARG_REGS + [arm.UC_ARM_REG_PC, arm.UC_ARM_REG_CPSR]
# Our own handles on libunicorn's functions, without the binding's argument conversion
# (0.3 us a call instead of 0.75 us).
_LIB = ctypes.CDLL(uclib._name)
_reg_read_batch = _LIB.uc_reg_read_batch
_reg_write_batch = _LIB.uc_reg_write_batch
_hook_add = _LIB.uc_hook_add
_emu_stop = _LIB.uc_emu_stop
_emu_start = _LIB.uc_emu_start
for _fn in (_reg_read_batch, _reg_write_batch, _hook_add, _emu_stop, _emu_start):
    _fn.restype = ctypes.c_int
    _fn.argtypes = None  # type: ignore[assignment]
_NEVER, _ZERO64, _ZERO_SIZE = ctypes.c_uint64(0xFFFFFFFF), ctypes.c_uint64(0), ctypes.c_size_t(0)
# void (*uc_cb_hookintr_t)(uc_engine *uc, uint32_t intno, void *user_data)
_INTR_HOOK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)
CPSR_T = 1 << 5
USER_MODE = 0x10
NEVER = 0xFFFFFFFF  # an exit address no ARM or Thumb instruction can have
UDF_INSTRUCTION = 0xE7F000F0  # permanently undefined (ARM)
# QEMU's ARM exception numbers, as Unicorn's interrupt hook reports them.
EXCP_UDEF, EXCP_SWI, EXCP_PREFETCH_ABORT, EXCP_DATA_ABORT, EXCP_BKPT = 1, 2, 3, 4, 7
_MISS_ACCESS = {16: "read", 17: "write", 18: "execute"}


@dataclass
class CpuConfig:
    """How a :class:`Cpu` runs guest code.

    ``backend``: ``fastmem`` (Unicorn maps slab pages directly; needs a slab)
    or ``semifastmem`` (virtual TLB + compiled fill hook; works anywhere).
    ``quantum_blocks``: translated blocks a thread runs before the kernel may
    switch threads (deterministic preemption; a block hook costs ~8%).
    ``fpscr``: initial VFP status/control word (Citra's default: flush to
    zero, default NaN, round to zero).
    """

    backend: str = "semifastmem"
    quantum_blocks: int = 20_000
    fpscr: int = 0x03C00000


class Stop(Enum):
    """Why :meth:`Cpu.run` returned."""

    QUANTUM = "quantum"  # the block budget ran out
    YIELD = "yield"  # an SVC asked to switch threads (wait, sleep, exit)
    FAULT = "fault"  # data abort, prefetch abort, undefined instruction


@dataclass
class CpuFault:
    """A guest fault the CPU saw: what a crash report needs."""

    kind: str  # "data abort", "prefetch abort", "undefined instruction"
    access: str  # "read", "write", "execute"
    address: int
    size: int
    reason: str  # "unmapped" or "permission" (or the Unicorn error)
    pc: int = 0
    registers: list[int] = field(default_factory=list)


_MEM_FAULTS = {
    UC_MEM_READ_UNMAPPED: ("data abort", "read", "unmapped"),
    UC_MEM_WRITE_UNMAPPED: ("data abort", "write", "unmapped"),
    UC_MEM_FETCH_UNMAPPED: ("prefetch abort", "execute", "unmapped"),
    UC_MEM_READ_PROT: ("data abort", "read", "permission"),
    UC_MEM_WRITE_PROT: ("data abort", "write", "permission"),
    UC_MEM_FETCH_PROT: ("prefetch abort", "execute", "permission"),
}


class Cpu(SpecialPages):
    """Unicorn bound to one address space. ``on_svc(cpu, number, args)`` serves SVCs
    (``args`` = r0..r7; results go back with :meth:`write_results`)."""

    def __init__(self, space: AddressSpace, config: CpuConfig,
                 on_svc: Callable[[Cpu, int, list[int]], None]) -> None:
        if config.backend == "fastmem" and space.slab is None:
            raise ValueError("the fastmem CPU backend needs an address space with a slab")
        self.space = space
        self.config = config
        self.on_svc = on_svc
        self.uc = Uc(UC_ARCH_ARM, UC_MODE_ARM)
        self.uc.ctl_set_cpu_model(arm.UC_CPU_ARM_11MPCORE)
        self.control = np.zeros(hooks.CB_SIZE, dtype=np.int64)
        self.control[hooks.CB_FAST_TABLE] = space.table.fast.ctypes.data
        self.control[hooks.CB_FILL_COUNTS] = space.faults.array[FaultKind.TLB_FILL].ctypes.data
        self.fault: CpuFault | None = None
        self._stop_requested = False
        self._svc_numbers: dict[int, int] = {}
        self._running = False
        self._closed = False
        self._pending_code: list[tuple[int, int]] = []
        self._hook_handles: list[ctypes.c_size_t] = []
        self._handle = ctypes.c_void_p(self.uc._uch.value)
        self._read_ids = (ctypes.c_int * len(_SVC_READ))(*_SVC_READ)
        self._read_vals = (ctypes.c_uint32 * len(_SVC_READ))()
        self._read_ptrs = _pointers(self._read_vals)
        self._write_ids = (ctypes.c_int * len(ARG_REGS))(*ARG_REGS)
        self._write_vals = (ctypes.c_uint32 * len(ARG_REGS))()
        self._write_ptrs = _pointers(self._write_vals)
        self._mapped = lazy_zeros(NUM_PAGES, np.uint8)  # fastmem: Unicorn prot + 1 per page
        self._trap_frame: np.ndarray | None = None
        table = space.table
        self._dirty_log = np.zeros(DIRTY_LOG_SIZE, dtype=np.int32)
        self._mmio_slots = lazy_zeros(NUM_PAGES, np.int32)  # only touched pages cost
        self._slot_vpn: list[int] = []
        for slot, array in ((hooks.CB_PERM_TABLE, table.perm), (hooks.CB_SPECIAL_TABLE, table.special),
                            (hooks.CB_WDIRTY_TABLE, table.wdirty), (hooks.CB_ACCESS_TABLE, table.access),
                            (hooks.CB_TRACK_COUNTS, space.faults.array[FaultKind.WRITE_TRACK]),
                            (hooks.CB_DIRTY_LOG, self._dirty_log), (hooks.CB_MMIO_SLOTS, self._mmio_slots)):
            self.control[slot] = array.ctypes.data
        self.control[hooks.CB_DIRTY_CAPACITY] = DIRTY_LOG_SIZE
        self.control[hooks.CB_MMIO_WINDOW] = MMIO_WINDOW
        if config.backend == "fastmem":
            self._sync_fastmem(0, NUM_PAGES)
        else:
            self._trap_frame = space.phys.allocate("BASE", 1)
            trap = int(self._trap_frame[0]) << PAGE_SHIFT
            space.phys.data[trap : trap + 0x1000].view(np.uint32)[:] = UDF_INSTRUCTION
            self.control[hooks.CB_TRAP_PADDR] = trap
            self.uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
            self.uc.mem_map_ptr(0, space.phys.size, UC_PROT_ALL, space.phys.data.ctypes.data)
            self.uc.mmio_map(MMIO_WINDOW, MMIO_WINDOW_PAGES << PAGE_SHIFT, self._window_read, None,
                             self._window_write, None)
            self._assign_mmio_slots(0, NUM_PAGES)
            self._add_cfunc_hook(UC_HOOK_TLB_FILL, hooks.tlb_fill.address)
        self._add_cfunc_hook(UC_HOOK_BLOCK, hooks.count_blocks.address)
        # The interrupt hook is registered directly (not through the binding's wrapper
        # layers): it runs on every SVC. Exceptions cannot cross the C boundary, so any
        # is kept and re-raised by run().
        self._intr_callback = _INTR_HOOK(self._interrupt_entry)
        self._hook_error: BaseException | None = None
        handle = ctypes.c_size_t()
        status = _hook_add(self._handle, ctypes.byref(handle), UC_HOOK_INTR, self._intr_callback, None,
                           ctypes.c_uint64(1), ctypes.c_uint64(0))
        if status:
            raise UcError(status)
        self._hook_handles.append(handle)
        self.uc.hook_add(UC_HOOK_MEM_INVALID, self._on_invalid_memory)
        space.listeners.append(self._on_map_change)
        space.code_listeners.append(self._on_code_change)

    # -- running --------------------------------------------------------------
    @property
    def instructions(self) -> int:
        return int(self.control[hooks.CB_INSTRUCTIONS])

    @property
    def tlb_fills(self) -> int:
        return int(self.control[hooks.CB_FILLS])

    def run(self, blocks: int | None = None) -> Stop:
        """Run the loaded context until an SVC yields, the budget ends or a fault."""
        return self._start((blocks or self.config.quantum_blocks) + 1, _ZERO_SIZE)

    def _start(self, budget: int, count: ctypes.c_size_t) -> Stop:
        """Emulate from the loaded PC; ``budget`` is for the block hook (it stops when the budget
        reaches 0, before that block runs: n + 1 lets exactly n blocks run)."""
        if self._closed:
            raise RuntimeError(_CLOSED)
        self.control[hooks.CB_BUDGET] = budget
        self.control[hooks.CB_STOPPED] = 0
        self.control[hooks.CB_BLOCK_SIZE] = 0
        self._stop_requested = False
        self.fault = None
        state = self.read_svc_state()
        pc = state[8] | 1 if state[9] & CPSR_T else state[8]
        self._running = True
        try:
            status = _emu_start(self._handle, ctypes.c_uint64(pc), _NEVER, _ZERO64, count)
            if status:
                raise UcError(status)
        except UcError as exc:
            return self._fault_from(exc)
        finally:
            self._running = False
            self._uncount_rest_of_block()
            self._drain_dirty_log()
            while self._pending_code:
                self._drop_code(*self._pending_code.pop())
            self._raise_hook_error()
        if self.fault is not None:
            return Stop.FAULT
        if self._stop_requested:
            return Stop.YIELD
        return Stop.QUANTUM

    def _raise_hook_error(self) -> None:
        """An exception in a Python hook (ours, or one the binding caught in a callback such
        as a breakpoint or an MMIO handler) comes out of run() instead of being lost."""
        error, self._hook_error = self._hook_error, None
        if error is None:
            error = getattr(self.uc, "_hook_exception", None)
            self.uc._hook_exception = None
        if error is not None:
            raise error

    def _uncount_rest_of_block(self) -> None:
        """A stop inside a block (a pause from a watchpoint or breakpoint): the block was
        counted whole when it started; take back the instructions that did not run (they
        run, and count, when the slice resumes there)."""
        control = self.control
        size = control.item(hooks.CB_BLOCK_SIZE)
        if not size or control.item(hooks.CB_STOPPED):  # quantum ends fall between blocks
            return
        start = control.item(hooks.CB_BLOCK_START)
        pc = self.read_svc_state()[8]
        if start <= pc < start + size:
            self.control[hooks.CB_INSTRUCTIONS] -= (start + size - pc) >> 2
        self.control[hooks.CB_BLOCK_SIZE] = 0

    def run_one(self) -> Stop:
        """Run exactly one instruction (the debugger's step); counts it as one."""
        before = int(self.control[hooks.CB_INSTRUCTIONS])
        self.uc.ctl_flush_tb()  # blocks translated without a count would run whole
        try:
            return self._start(1 << 40, ctypes.c_size_t(1))
        finally:
            self.uc.ctl_flush_tb()  # and the ones translated for the step would count
            self.control[hooks.CB_INSTRUCTIONS] = before + 1

    def request_stop(self) -> None:
        """From an SVC handler: end :meth:`run` after this SVC (thread switch)."""
        self._stop_requested = True
        if not self._closed:
            _emu_stop(self._handle)

    def fail(self, fault: CpuFault) -> None:
        """From an SVC handler: end :meth:`run` with a guest fault (e.g. Break)."""
        fault.pc = fault.pc or self.pc
        fault.registers = fault.registers or self.read_registers()
        self.fault = fault
        self.uc.emu_stop()

    # -- registers ----------------------------------------------------------------
    def read_registers(self) -> list[int]:
        """r0..r12, sp, lr, pc."""
        return list(self.uc.reg_read_batch(GPRS))

    def read_svc_state(self) -> list[int]:
        """r0..r7, pc, cpsr in one C call."""
        if self._closed:
            raise RuntimeError(_CLOSED)
        status = _reg_read_batch(self._handle, self._read_ids, self._read_ptrs, len(_SVC_READ))
        if status:
            raise UcError(status)
        return self._read_vals[:]

    def read_args(self) -> list[int]:
        """r0..r7 (SVC arguments)."""
        return self.read_svc_state()[:8]

    def write_results(self, values: dict[int, int] | tuple[int, ...] | list[int]) -> None:
        """Write results to r0, r1, ... (a sequence) or to r<i> (a dict), in one C call."""
        if isinstance(values, dict):
            if sorted(values) != list(range(len(values))):
                for i, v in values.items():
                    self.uc.reg_write(ARG_REGS[i], v & 0xFFFFFFFF)
                return
            values = [values[i] for i in range(len(values))]
        if self._closed:
            raise RuntimeError(_CLOSED)
        for i, v in enumerate(values):
            self._write_vals[i] = v & 0xFFFFFFFF
        status = _reg_write_batch(self._handle, self._write_ids, self._write_ptrs, len(values))
        if status:
            raise UcError(status)

    @property
    def pc(self) -> int:
        return int(self.uc.reg_read(arm.UC_ARM_REG_PC))

    @property
    def cpsr(self) -> int:
        return int(self.uc.reg_read(arm.UC_ARM_REG_CPSR))

    def reset_thread_state(self, entry: int, sp: int, arg: int, tls: int) -> None:
        """Load a fresh user-mode thread: entry, stack, r0 = arg, TLS, VFP on. An odd
        ``entry`` is Thumb code (the ELF and svcCreateThread convention, as for ``bx``):
        it starts at ``entry & ~1`` with CPSR.T set."""
        uc = self.uc
        for reg in GPRS:
            uc.reg_write(reg, 0)
        # PC first: Unicorn takes a PC write with bit 0 clear as a switch to ARM state and
        # would undo the T bit written before it.
        uc.reg_write(arm.UC_ARM_REG_PC, entry & ~1)
        uc.reg_write(arm.UC_ARM_REG_CPSR, USER_MODE | (CPSR_T if entry & 1 else 0))
        uc.reg_write(arm.UC_ARM_REG_C1_C0_2, 0x00F00000)  # CPACR: cp10/cp11 (VFP) full access
        uc.reg_write(arm.UC_ARM_REG_FPEXC, 0x40000000)  # FPEXC.EN
        uc.reg_write(arm.UC_ARM_REG_FPSCR, self.config.fpscr)
        uc.reg_write(arm.UC_ARM_REG_C13_C0_3, tls)  # TPIDRURO: read by `mrc p15, 0, rX, c13, c0, 3`
        uc.reg_write(arm.UC_ARM_REG_R0, arg)
        uc.reg_write(arm.UC_ARM_REG_SP, sp)

    def save_context(self, into: object | None = None) -> object:
        if into is None:
            return self.uc.context_save()
        self.uc.context_update(into)
        return into

    def load_context(self, context: object) -> None:
        self.uc.context_restore(context)

    # -- hooks (Python only on SVCs and faults) --------------------------------------
    def _interrupt_entry(self, _uc: int, intno: int, _user: int) -> None:
        try:
            self._on_interrupt(intno)
        except BaseException as exc:  # noqa: BLE001 - carried across the C boundary
            self._hook_error = exc
            self.uc.emu_stop()

    def _on_interrupt(self, intno: int) -> None:
        if intno == EXCP_SWI:
            self.control[hooks.CB_BLOCK_SIZE] = 0  # an SVC ends its block: nothing to take back
            state = self.read_svc_state()
            self.on_svc(self, self._svc_number(state[8], state[9]), state[:8])
        elif intno in (EXCP_PREFETCH_ABORT, EXCP_DATA_ABORT):
            self._abort_from_miss(intno)
            self.uc.emu_stop()
        elif intno == EXCP_UDEF:
            self.fail(CpuFault("undefined instruction", "execute", self.pc, 4, "undefined instruction"))
        else:
            self.fail(CpuFault("exception", "execute", self.pc, 4, f"CPU exception {intno}"))

    def _abort_from_miss(self, intno: int) -> None:
        """A fault under semifastmem: the TLB fill noted the refused (1 KiB) page; the
        faulting instruction, decoded, gives the exact address, size and direction."""
        miss_type = int(self.control[hooks.CB_MISS_TYPE])
        self.control[hooks.CB_MISS_TYPE] = 0
        address = int(self.control[hooks.CB_MISS_ADDRESS]) & 0xFFFFFFFF
        access, size = _MISS_ACCESS.get(miss_type, "access"), 0
        if intno == EXCP_PREFETCH_ABORT:
            address, access, size = self.pc, "execute", 4
        else:
            decoded = decode_access(self.space, self.pc, bool(self.cpsr & CPSR_T), self.read_registers())
            if decoded is not None and (not miss_type or decoded[0] >> 10 == address >> 10):
                address, size, access = decoded
        reason = "unmapped" if self.space.table.state[address >> PAGE_SHIFT] == 0 else "permission"
        self.space.faults.bump(FaultKind.UNMAPPED if reason == "unmapped" else FaultKind.PERMISSION, address)
        kind = "prefetch abort" if intno == EXCP_PREFETCH_ABORT else "data abort"
        self.fault = CpuFault(kind, access, address, size, reason)

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

    def _on_invalid_memory(self, uc: Uc, access: int, address: int, size: int, value: int,
                           _user: object) -> bool:
        vpn = (address & 0xFFFFFFFF) >> PAGE_SHIFT
        table = self.space.table
        if (access == UC_MEM_WRITE_PROT and table.special[vpn] == SpecialKind.TRACKED
                and not table.wdirty[vpn] and table.perm[vpn] & MemoryPermission.W):
            # fastmem: the first write to a clean write-tracked page. Slowmem marks it dirty
            # (the listener makes it writable in Unicorn) and does this store, which Unicorn
            # does not repeat after the hook.
            self.space.slow.write_int(address & 0xFFFFFFFF, size, value)
            return True
        kind, what, reason = _MEM_FAULTS.get(access, ("data abort", "access", "invalid"))
        if table.state[vpn] == 0:  # Unicorn may still hold the page, with no access
            reason = "unmapped"
        fault_kind = FaultKind.UNMAPPED if reason == "unmapped" else FaultKind.PERMISSION
        self.space.faults.bump(fault_kind, address)
        self.fault = CpuFault(kind, what, address & 0xFFFFFFFF, size, reason)
        return False

    def _fault_from(self, exc: UcError) -> Stop:
        if self.fault is None and exc.errno == UC_ERR_EXCEPTION:
            # semifastmem: an abort (a refused translation, or a permission the TLB entry
            # lacks) reaches us as UC_ERR_EXCEPTION with no hook; work out what it was.
            self._abort_from_miss(EXCP_PREFETCH_ABORT if self.control[hooks.CB_MISS_TYPE] == 18
                                  else EXCP_DATA_ABORT)
        if self.fault is None:
            if exc.errno == UC_ERR_INSN_INVALID:
                self.fault = CpuFault("undefined instruction", "execute", self.pc, 4, "undefined instruction")
            else:
                self.fault = CpuFault("data abort", "access", self.pc, 0, str(exc))
        if not self.fault.pc:
            self.fault.pc = self.pc
        if not self.fault.registers:
            self.fault.registers = self.read_registers()
        return Stop.FAULT

    # -- keeping translations in step with the page table ------------------------
    def _on_map_change(self, lo: int, hi: int) -> None:
        if self.config.backend == "fastmem":
            self._sync_fastmem(lo, hi)
            self._drop_code(lo, hi)
        else:
            # Virtual-TLB mode: translated blocks are found through the TLB (by physical
            # address), so flushing it is enough; removing cached blocks from inside a hook
            # in this mode derails Unicorn (seen: a fault on the next instruction).
            self._assign_mmio_slots(lo, hi)
            self.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)
            self._forget_svc_numbers(lo, hi)

    def _on_code_change(self, lo: int, hi: int) -> None:
        if self._running:
            self._pending_code.append((lo, hi))  # applied when emu_start returns
        else:
            self._drop_code(lo, hi)

    def _drop_code(self, lo: int, hi: int) -> None:
        self.uc.ctl_remove_cache(lo << PAGE_SHIFT, (hi << PAGE_SHIFT) - 1)
        self._forget_svc_numbers(lo, hi)

    def _forget_svc_numbers(self, lo: int, hi: int) -> None:
        if self._svc_numbers:
            lo_a, hi_a = lo << PAGE_SHIFT, hi << PAGE_SHIFT
            for pc in [pc for pc in self._svc_numbers if lo_a <= pc - 4 < hi_a]:
                del self._svc_numbers[pc]

    def _sync_fastmem(self, lo: int, hi: int) -> None:
        sync_unicorn_map(self.uc, self.space, self._mapped, lo, hi, self._region_read, self._region_write)

    def _add_cfunc_hook(self, hook_type: int, address: int | None) -> None:
        assert address is not None, "numba cfunc without an address"
        handle = ctypes.c_size_t()
        status = uclib.uc_hook_add(self.uc._uch, ctypes.byref(handle), hook_type, ctypes.c_void_p(address),
                                   ctypes.c_void_p(self.control.ctypes.data), 1, 0)
        if status != 0:
            raise UcError(status)
        self._hook_handles.append(handle)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Release the Unicorn instance (its translation cache and maps) and the trap frame now,
        not whenever the garbage collector gets to it: an emulator that starts and ends many
        processes must not grow. Running a closed CPU is an error, never a host crash."""
        if self._closed:
            return
        if self._running:
            raise RuntimeError("closing a CPU while it runs")
        self._closed = True
        if self._on_map_change in self.space.listeners:
            self.space.listeners.remove(self._on_map_change)
        if self._on_code_change in self.space.code_listeners:
            self.space.code_listeners.remove(self._on_code_change)
        finalizer = getattr(self.uc, "_Uc__finalizer", None)  # the binding's uc_close, run once
        if finalizer is not None:
            finalizer()
        self.uc = _ClosedUnicorn()
        if self._trap_frame is not None:
            self.space.phys.collect(self._trap_frame)
            self._trap_frame = None
        self._mapped = self._mmio_slots = np.zeros(0, dtype=np.uint8)
        self._svc_numbers.clear()


_CLOSED = "this CPU's process has been reaped: it has no registers any more"


class _ClosedUnicorn:
    """Stands in for a closed Unicorn instance: any use is a Python error, not a use-after-free."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(_CLOSED)


def _pointers(values: ctypes.Array) -> ctypes.Array:
    base = ctypes.addressof(values)
    size = ctypes.sizeof(values) // len(values)
    return (ctypes.c_void_p * len(values))(*(base + i * size for i in range(len(values))))
