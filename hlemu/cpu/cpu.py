"""The CPU boundary: one Unicorn ARM11 MPCore per guest address space.

:class:`Cpu` runs guest code of one process against that process's memory
with no Python on normal instructions or accesses:

* fastmem: Unicorn maps the slab's accessible pages directly
  (``mem_map_ptr`` at ``slab + vaddr``), in virtual-TLB mode with the compiled
  :func:`hlemu.cpu.hooks.tlb_fill_identity` (each address is its own: the fill
  only keeps data pages' entries unexecutable, so their stores run inline);
* semifastmem: Unicorn runs in virtual-TLB mode; the compiled
  :func:`hlemu.cpu.hooks.tlb_fill` walks the page table on each miss and
  points Unicorn into the physical backing;
* slowmem: virtual-TLB mode too, but every data access is a call into the
  Python slow path (:mod:`hlemu.cpu.slowpath`); slow by design.

Every map, unmap or protect of the address space reaches the CPU through
the space's listeners, which drops stale translations at once. Python runs
only on SVCs (the ``on_svc`` callback), breakpoints, guest faults and the
ends of runs.
"""

from __future__ import annotations

import ctypes

import numpy as np
from unicorn import (
    UC_HOOK_BLOCK,
    UC_HOOK_MEM_INVALID,
    UC_HOOK_TLB_FILL,
    UC_MEM_FETCH_PROT,
    UC_MEM_FETCH_UNMAPPED,
    UC_MEM_READ_PROT,
    UC_MEM_READ_UNMAPPED,
    UC_MEM_WRITE_PROT,
    UC_MEM_WRITE_UNMAPPED,
    UC_PROT_ALL,
    UC_PROT_EXEC,
    Uc,
    UcError,
)
from unicorn import arm_const as arm
from unicorn.unicorn_const import (
    UC_ERR_EXCEPTION,
    UC_ERR_FETCH_PROT,
    UC_ERR_FETCH_UNMAPPED,
    UC_ERR_INSN_INVALID,
    UC_ERR_READ_PROT,
    UC_ERR_READ_UNMAPPED,
    UC_ERR_WRITE_PROT,
    UC_ERR_WRITE_UNMAPPED,
)
from unicorn.unicorn_py3.unicorn import uclib

from hlemu.cpu import blockhook, hooks, svchook
from hlemu.cpu import libunicorn as lib
from hlemu.cpu.codehooks import CodeHooks
from hlemu.cpu.config import BreakpointCallback, CpuConfig, CpuFault, Stop, SvcCallback
from hlemu.cpu.coverage import Coverage, physical_hook_range
from hlemu.cpu.decode import decode_access
from hlemu.cpu.engines import dead_handle, new_engine, retire_engine
from hlemu.cpu.pagemap import KIND_MMIO, SMALL_RANGE, map_new, sync_unicorn_map
from hlemu.cpu.regaccess import _CLOSED, RegisterAccess
from hlemu.cpu.registers import CPSR_T
from hlemu.cpu.slowpath import SlowData
from hlemu.cpu.special import DIRTY_LOG_SIZE, MMIO_WINDOW, MMIO_WINDOW_PAGES, SpecialPages
from hlemu.cpu.svcentry import SvcEntry
from hlemu.memory.constants import (
    NUM_PAGES,
    PAGE_SHIFT,
    FaultKind,
)
from hlemu.memory.constants import PERM_W as _W
from hlemu.memory.constants import SPECIAL_TRACKED as _TRACKED
from hlemu.memory.lazy import lazy_zeros
from hlemu.memory.space import AddressSpace

CPU_BACKENDS = ("fastmem", "semifastmem", "slowmem")
NO_LIMIT = 1 << 62
NEVER = 0xFFFFFFFF  # an exit address no ARM or Thumb instruction can have
UDF_INSTRUCTION = 0xE7F000F0  # permanently undefined (ARM)
# QEMU's ARM exception numbers, as Unicorn's interrupt hook reports them.
EXCP_UDEF, EXCP_SWI, EXCP_PREFETCH_ABORT, EXCP_DATA_ABORT, EXCP_BKPT = 1, 2, 3, 4, 7
# The control block's slots as module names: the run and SVC paths read them often, and a
# module attribute costs a lookup more.
_CB_BLOCK_SIZE, _CB_HALT, _CB_INSTRUCTIONS = hooks.CB_BLOCK_SIZE, hooks.CB_HALT, hooks.CB_INSTRUCTIONS
_CB_BUDGET, _CB_INSN_LIMIT, _CB_STOPPED = hooks.CB_BUDGET, hooks.CB_INSN_LIMIT, hooks.CB_STOPPED
_CB_MISS_TYPE, _CB_RESUME, _CB_BLOCKS, _CB_DIRTY_COUNT = (hooks.CB_MISS_TYPE, hooks.CB_RESUME, hooks.CB_BLOCKS,
                                                          hooks.CB_DIRTY_COUNT)
_SB_WRITE_STATUS = svchook.SB_WRITE_STATUS
_MISS_ACCESS = {16: "read", 17: "write", 18: "execute"}
_BLOCK_STOPS = {hooks.STOPPED_BUDGET: Stop.QUANTUM, hooks.STOPPED_LIMIT: Stop.LIMIT, hooks.STOPPED_HALT: Stop.HALT}

# What an emu_start error a fault no hook saw stands for (fastmem: hlemu.cpu.coverage).
_UNHOOKED = {UC_ERR_READ_UNMAPPED: UC_MEM_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED: UC_MEM_WRITE_UNMAPPED,
             UC_ERR_FETCH_UNMAPPED: UC_MEM_FETCH_UNMAPPED, UC_ERR_READ_PROT: UC_MEM_READ_PROT,
             UC_ERR_WRITE_PROT: UC_MEM_WRITE_PROT, UC_ERR_FETCH_PROT: UC_MEM_FETCH_PROT}
_MEM_FAULTS = {
    UC_MEM_READ_UNMAPPED: ("data abort", "read", "unmapped"),
    UC_MEM_WRITE_UNMAPPED: ("data abort", "write", "unmapped"),
    UC_MEM_FETCH_UNMAPPED: ("prefetch abort", "execute", "unmapped"),
    UC_MEM_READ_PROT: ("data abort", "read", "permission"),
    UC_MEM_WRITE_PROT: ("data abort", "write", "permission"),
    UC_MEM_FETCH_PROT: ("prefetch abort", "execute", "permission"),
}


class Cpu(SpecialPages, SlowData, CodeHooks, SvcEntry, RegisterAccess):
    """Unicorn bound to one address space: the whole run-control surface (see :mod:`hlemu.cpu`).

    ``on_svc(cpu, number, args)`` serves SVCs; ``on_breakpoint(cpu, address) -> bool``
    decides whether a breakpoint stops (None: always)."""

    def __init__(self, space: AddressSpace, config: CpuConfig, on_svc: SvcCallback,
                 on_breakpoint: BreakpointCallback | None = None) -> None:
        if config.backend not in CPU_BACKENDS:
            raise ValueError(f"unknown CPU backend {config.backend!r}; choose one of {', '.join(CPU_BACKENDS)}")
        if config.slow_path not in ("python", "compiled"):
            raise ValueError(f"unknown slow path {config.slow_path!r}; choose python or compiled")
        if config.backend == "fastmem" and space.slab is None:
            raise ValueError("the fastmem CPU backend needs an address space with a slab")
        self.space = space
        self.config = config
        self.on_svc = on_svc
        self.on_breakpoint = on_breakpoint
        self.uc = new_engine(virtual_tlb=True)
        self.control = np.zeros(hooks.CB_SIZE, dtype=np.int64)
        self.control[hooks.CB_FAST_TABLE] = space.table.fast.ctypes.data
        self.control[hooks.CB_FILL_COUNTS] = space.faults.array[FaultKind.TLB_FILL].ctypes.data
        self.control[hooks.CB_INSN_LIMIT] = NO_LIMIT
        self._count_cache = np.zeros(2 * hooks.COUNT_CACHE, dtype=np.int64)  # the block hook's counts
        self.control[hooks.CB_COUNT_CACHE] = self._count_cache.ctypes.data
        self.control[hooks.CB_PHYS_BASE] = space.phys.data.ctypes.data
        self.control[hooks.CB_SELF] = self.control.ctypes.data
        self._slots = self.control.data  # a memoryview: item access without numpy scalars
        self.fault: CpuFault | None = None
        self._svc_numbers: dict[int, int] = {}
        self._running = False
        self._closed = False
        self._left = 0  # blocks of the last run's budget it did not use
        self._cap = NO_LIMIT  # limit_blocks() during a step
        self._break_pc: int | None = None  # where the last run stopped at a breakpoint
        self._entered = False  # the last emulation entered a block (so ran an instruction)
        self._pending_code: list[tuple[int, int]] = []
        self._deferred_syncs: set[tuple[int, int]] = set()  # page ranges Unicorn has not seen yet, or _FLUSH_TLB
        # Inside a hook that brings Unicorn's map up to date when it ends (an SVC's, fastmem's
        # first write to a tracked page): map changes meanwhile wait for it (_on_map_change).
        self._syncs_wait = False
        self._hook_handles: list[ctypes.c_size_t] = []
        self._handle = ctypes.c_void_p(self.uc._uch.value)
        self._init_register_access()
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
            map_new(self.uc, space, self._mapped, self._region_read, self._region_write)
            self.control[hooks.CB_MAPPED] = self._mapped.ctypes.data
            self._add_cfunc_hook(UC_HOOK_TLB_FILL, hooks.tlb_fill_identity.address)
        else:
            self._trap_frame = space.phys.allocate("BASE", 1)
            trap = int(self._trap_frame[0]) << PAGE_SHIFT
            space.phys.data[trap : trap + 0x1000].view(np.uint32)[:] = UDF_INSTRUCTION
            self.control[hooks.CB_TRAP_PADDR] = trap
            self.uc.mem_map_ptr(0, space.phys.size, UC_PROT_ALL, space.phys.data.ctypes.data)
            if config.backend == "slowmem":
                self._map_slow_window(config.slow_path == "compiled")
                self._add_cfunc_hook(UC_HOOK_TLB_FILL, hooks.tlb_fill_slow.address)
            else:
                self.uc.mmio_map(MMIO_WINDOW, MMIO_WINDOW_PAGES << PAGE_SHIFT, self._window_read, None,
                                 self._window_write, None)
                self._assign_mmio_slots(0, NUM_PAGES)
                self._add_cfunc_hook(UC_HOOK_TLB_FILL, hooks.tlb_fill.address)
        self._add_cfunc_hook(UC_HOOK_BLOCK, blockhook.address())  # count_blocks behind its common case
        self._hook_error: BaseException | None = None
        self._init_svc_hook()
        self._init_code_hooks()
        # Unicorn clears a TLB entry's "not dirty" mark, after which stores to its page run
        # inline, only where no memory hook's range holds the page and the entry is not
        # executable (notdirty_write, uc_mem_hook_installed): a hook over all of memory kept
        # every guest store on Unicorn's slow path (compute: semifastmem 201-221 ms, fastmem
        # 149-182 ms; 87-90 ms each without). So the hook covers no plain memory
        # (hlemu.cpu.coverage), and the fills give data pages no execute permission.
        if config.backend == "fastmem":
            self._invalid_callback = lib.MEM_EVENT_HOOK(self._invalid_entry)
            self._coverage: Coverage | None = Coverage(self._handle, self._invalid_callback, self._mapped,
                                                       space.table.special, config.short_lived_pages())
            self._coverage.changed(0, NUM_PAGES)
        else:
            self._coverage = None
            self.uc.hook_add(UC_HOOK_MEM_INVALID, self._on_invalid_memory, None,
                             *physical_hook_range(space.phys.size))
        space.listeners.append(self._on_map_change)
        space.code_listeners.append(self._on_code_change)

    # -- counters -----------------------------------------------------------------------
    @property
    def instructions(self) -> int:
        """Instructions run so far, ARM and Thumb alike (a 32-bit Thumb instruction is one).
        Counted per translated block by the block hook (a Thumb block's count is decoded once
        and cached); a stop inside a block takes back what did not run."""
        return self._slots[_CB_INSTRUCTIONS]  # (an int: the control block's memoryview)

    @property
    def blocks(self) -> int:
        """Translated blocks entered so far (the unit of run budgets and quanta)."""
        return int(self.control[hooks.CB_BLOCKS])

    @property
    def blocks_left(self) -> int:
        """Of the budget the last :meth:`run` or :meth:`step` was given, the blocks it did not use."""
        return int(self.control[hooks.CB_BUDGET]) if self._running else self._left

    @property
    def mid_block(self) -> bool:
        """The last run stopped inside a translated block (a breakpoint, a step, an exact
        instruction limit): the rest of that block is not charged again when it resumes."""
        return bool(self.control[hooks.CB_RESUME])

    @property
    def tlb_fills(self) -> int:
        return int(self.control[hooks.CB_FILLS])

    # -- running --------------------------------------------------------------------------
    def run(self, blocks: int, instructions: int | None = None) -> Stop:
        """Run the loaded thread until it has entered ``blocks`` more translated blocks
        (Stop.QUANTUM, at a block boundary), run exactly ``instructions`` more instructions
        (Stop.LIMIT; the last, partial block is finished one instruction at a time),
        :meth:`halt` is called (Stop.HALT, before the next block), a breakpoint stops it
        (Stop.BREAKPOINT, before its instruction) or a fault (Stop.FAULT)."""
        self._cap = NO_LIMIT
        limit = NO_LIMIT if instructions is None else self.instructions + max(0, instructions)
        stop = self._emulate(blocks, limit, skip=self._break_pc)
        self._left = self._slots[hooks.CB_BUDGET]
        while stop is Stop.LIMIT and self.instructions < limit:
            stop = self._finish_to(limit)
        return stop

    def step(self, blocks: int = 1) -> Stop:
        """Run exactly one instruction (Stop.STEPPED), as :meth:`run` would run it: it enters
        at most ``blocks`` (0 or 1) new blocks, so with 0 at a block boundary it runs nothing
        and returns Stop.QUANTUM. A breakpoint on the instruction is passed over. An SVC's
        halt() ends nothing here: the step still reports Stop.STEPPED."""
        self._cap = NO_LIMIT
        return self._step(blocks, skip_first=True)

    def halt(self) -> None:
        """Stop the run before the next translated block. From a callback (an SVC that
        switches threads, a pause) or from another host thread (a window's Pause, Ctrl-C):
        the only call that may come from another thread. Between runs it does nothing."""
        if not self._closed:
            self._slots[_CB_HALT] = 1

    request_stop = halt  # the older name

    def stop_here(self) -> None:
        """From a memory callback of the running CPU, on its own thread (a watchpoint's
        handler): end the run now, before the accessing instruction completes. Unicorn leaves
        the PC at that instruction, so the run reports Stop.HALT inside its block and the rest
        of the block (that instruction included) runs, and counts, when the run resumes.
        Outside a run it is :meth:`halt`."""
        if self._running and not self._closed:
            self._code_stop = Stop.HALT
            lib.emu_stop(self._handle)
        else:
            self.halt()

    def retry_svc(self) -> None:
        """From ``on_svc``: leave this SVC unserved and end the run with the thread back at
        its svc instruction, registers as the SVC found them (a debugger's stop at an SVC's
        entry). The run reports Stop.HALT; the next one executes the svc instruction again.
        It is counted once: its word is taken back here, and its one-instruction block is the
        rest of a block already charged to the budget (``mid_block``), so a held and resumed
        SVC costs the same instructions, blocks and ticks as one served at once."""
        state = self.read_svc_state()
        thumb = bool(state[9] & CPSR_T)
        svc_at = state[8] - (2 if thumb else 4)
        # A PC write with bit 0 clear switches Unicorn to ARM state: Thumb keeps bit 0 set.
        self.uc.reg_write(arm.UC_ARM_REG_PC, svc_at | 1 if thumb else svc_at)
        self._slots[hooks.CB_INSTRUCTIONS] -= hooks.block_words(svc_at, 2 if thumb else 4, thumb, self._read16)
        self._slots[hooks.CB_RESUME] = 1
        self._code_stop = Stop.HALT
        lib.emu_stop(self._handle)

    def limit_blocks(self, blocks: int) -> None:
        """From a callback: let the running :meth:`run` enter at most ``blocks`` more blocks."""
        if self._running:
            if blocks < 0:
                blocks = 0
            if blocks < self._cap:
                self._cap = blocks
            slots = self._slots
            if blocks < slots[_CB_BUDGET]:
                slots[_CB_BUDGET] = blocks

    def fail(self, fault: CpuFault) -> None:
        """From an SVC handler: end the run with a guest fault (e.g. svcBreak)."""
        fault.pc = fault.pc or self.pc
        fault.registers = fault.registers or self.read_registers()
        self.fault = fault
        lib.emu_stop(self._handle)

    def _finish_to(self, limit: int) -> Stop:
        """The next block would pass ``limit``: run into it up to the limit. ARM code runs
        straight on in a block (branches end blocks), so one stop hook at the instruction
        the limit falls on does it; Thumb goes one instruction at a time."""
        state = self.read_svc_state()
        pc, thumb = state[8], bool(state[9] & CPSR_T)
        words = limit - self.instructions
        stop = self._step(self._left, skip_first=False, targets=None if thumb else [pc + 4 * words])
        return Stop.LIMIT if stop is Stop.STEPPED else stop

    def _step(self, blocks: int, skip_first: bool, targets: list[int] | None = None) -> Stop:
        """Run from the PC until just before ``targets`` (default: the next instruction),
        entering at most one new block (none when resuming inside one); ``skip_first``: pass
        over a breakpoint on the first instruction (a step runs it)."""
        resume = self.mid_block
        if not resume and blocks <= 0:
            self._left = 0
            return Stop.QUANTUM
        state = self.read_svc_state()
        pc = state[8]
        if targets is None:
            targets = [pc + 2, pc + 4] if state[9] & CPSR_T else [pc + 4]
        before = self.blocks
        self._arm_step(targets)
        try:
            stop = self._emulate(0 if resume else 1, NO_LIMIT, skip=pc if skip_first else self._break_pc)
        finally:
            self._disarm_step()
        self._left = min(blocks - (self.blocks - before), self._cap)
        if stop in (Stop.QUANTUM, Stop.HALT) and self._entered:
            return Stop.STEPPED  # it ran, and the next block was refused
        return stop

    def _emulate(self, budget: int, limit: int, skip: int | None = None) -> Stop:
        """One ``emu_start`` from the loaded PC with the block hook's budget and limit;
        ``skip``: a PC whose breakpoint is passed over (resuming from it)."""
        if self._closed:
            raise RuntimeError(_CLOSED)
        if self._deferred_syncs:
            self.sync_deferred()
        control = self._slots  # the control block as a memoryview: item access without numpy scalars
        control[_CB_BUDGET] = budget
        control[_CB_INSN_LIMIT] = limit
        control[_CB_STOPPED] = control[_CB_HALT] = control[_CB_BLOCK_SIZE] = 0
        # A refused fill outside a run (dropping code from a page that is not executable looks it
        # up as a fetch) is no fault of this run: left here, it would be read as its miss.
        control[_CB_MISS_TYPE] = 0
        resume, before = control[_CB_RESUME], control[_CB_BLOCKS]
        self._code_stop = None
        self.fault = None
        pc = self.resume_pc()
        self._skip_at = skip if skip in self._breakpoints else None
        self._break_pc = None
        self._running = True
        try:
            status = lib.emu_start(self._handle, ctypes.c_uint64(pc), lib.NEVER, lib.ZERO64, lib.ZERO_SIZE)
            if status:
                raise UcError(status)
        except UcError as exc:
            return self._fault_from(exc)
        finally:
            self._running = False
            self._entered = control[_CB_BLOCKS] > before or bool(resume and not control[_CB_RESUME])
            self._skip_at = None
            if self._code_stop is not None or self.fault is not None:
                self._stopped_inside_block()  # a faulting instruction did not complete either
            if control[_CB_DIRTY_COUNT]:  # (tested here: most runs dirty nothing)
                self._drain_dirty_log()
            while self._pending_code:
                self._drop_range(*self._pending_code.pop())
            if self._hook_error is not None or getattr(self.uc, "_hook_exception", None) is not None:
                self._raise_hook_error()
            status = self._svc_slots[_SB_WRITE_STATUS]
            if status:  # the compiled hook could not write an SVC's results
                self._svc_slots[_SB_WRITE_STATUS] = 0
                raise UcError(status)
        if self.fault is not None:
            return Stop.FAULT
        if self._code_stop is not None:
            if self._code_stop is Stop.BREAKPOINT:
                self._break_pc = self.pc
            return self._code_stop
        return _BLOCK_STOPS.get(control[_CB_STOPPED], Stop.HALT)

    def _stopped_inside_block(self) -> None:
        """A code hook stopped the run before an instruction inside the block being run: the
        block was counted whole when it started; take back the instructions that did not run
        and mark the rest as already charged (it runs, and counts, when the run resumes)."""
        control = self.control
        size = control.item(hooks.CB_BLOCK_SIZE)
        start = control.item(hooks.CB_BLOCK_START)
        pc = self.read_svc_state()[8]
        if size and start <= pc < start + size:
            thumb = bool(self.read_svc_state()[9] & CPSR_T)
            rest = hooks.block_words(pc, start + size - pc, thumb, self._read16)
            control[hooks.CB_INSTRUCTIONS] -= rest  # what the resumed rest counts
            control[hooks.CB_RESUME] = 1
        control[hooks.CB_BLOCK_SIZE] = 0

    def _read16(self, address: int) -> int:
        return int.from_bytes(self.space.peek(address, 2), "little")

    def _forget_counts(self, lo: int, hi: int) -> None:
        """Code in ``[lo, hi)`` changed: the block hook's cached instruction counts for blocks
        starting there are stale (a block cannot start before ``lo`` and reach into it by more
        than a page, so those go too)."""
        hooks.forget_counts(self._count_cache, lo, hi)

    def _raise_hook_error(self) -> None:
        """An exception in a Python hook (ours, or one the binding caught in a callback such
        as an MMIO handler) comes out of run() instead of being lost."""
        error, self._hook_error = self._hook_error, None
        if error is None:
            error = getattr(self.uc, "_hook_exception", None)
            self.uc._hook_exception = None
        if error is not None:
            raise error

    def mapped_regions(self) -> list[tuple[int, int, int]]:
        """(first, last, prot) of each region Unicorn maps (fastmem; a test of map merging)."""
        self.sync_deferred()
        return list(self.uc.mem_regions())

    # -- hooks (Python only on SVCs and faults) --------------------------------------
    def _on_interrupt(self, intno: int) -> None:
        """Every CPU exception but an SVC (which :meth:`_interrupt_entry` handles itself)."""
        if intno in (EXCP_PREFETCH_ABORT, EXCP_DATA_ABORT):
            self._abort_from_miss(intno)
            lib.emu_stop(self._handle)
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

    def _invalid_entry(self, _uc: int, access: int, address: int, size: int, value: int, _user: int) -> bool:
        """fastmem's memory hook, called through the C API (hlemu.cpu.coverage moves it)."""
        try:
            return self._on_invalid_memory(self.uc, access, address & 0xFFFFFFFFFFFFFFFF, size, value, None)
        except BaseException as exc:  # noqa: BLE001 - carried across the C boundary
            self._hook_error = exc
            lib.emu_stop(self._handle)
            return False

    def _on_invalid_memory(self, uc: Uc, access: int, address: int, size: int, value: int,
                           _user: object) -> bool:
        vpn = (address & 0xFFFFFFFF) >> PAGE_SHIFT
        table = self.space.table
        if access == UC_MEM_WRITE_PROT and table.special.item(vpn) == _TRACKED and table.perm.item(vpn) & _W:
            # fastmem: guest code's first write to a write-tracked page, clean (slowmem marks
            # it dirty) or dirtied by a host write, which left it read-only here (pagemap).
            # Slowmem does this store, which Unicorn does not repeat after the hook; the page
            # is then opened, so the next stores run fast. Its map change waits for that one
            # sync (as an SVC's do: _on_map_change) instead of making one of its own first.
            self._syncs_wait = True
            try:
                self.space.slow.write_int(address & 0xFFFFFFFF, size, value)
            finally:
                self._syncs_wait = False
            deferred = self._deferred_syncs
            deferred.discard((vpn, vpn + 1))
            if deferred:
                self.sync_deferred()  # guest code goes on: Unicorn must see any other change now
            before = self._mapped.item(vpn)
            self._sync_fastmem(vpn, vpn + 1, open_tracked=True)
            if _may_hold_code(before) or _may_hold_code(self._mapped.item(vpn)):
                self._drop_code_pages(vpn, vpn + 1)  # slowmem wrote code Unicorn may have translated
            return True
        kind, what, reason = _MEM_FAULTS.get(access, ("data abort", "access", "invalid"))
        if access in _MEM_FAULTS:
            # The page table says which, not Unicorn: it may still hold an unmapped page (with
            # no access), and it never holds a mapped page with no access (an "unmapped" read
            # where the other backends report the permission).
            reason = "unmapped" if table.state[vpn] == 0 else "permission"
        fault_kind = FaultKind.UNMAPPED if reason == "unmapped" else FaultKind.PERMISSION
        self.space.faults.bump(fault_kind, address)
        self.fault = CpuFault(kind, what, address & 0xFFFFFFFF, size, reason)
        return False

    def _fault_from(self, exc: UcError) -> Stop:
        if self.fault is None and exc.errno in _UNHOOKED:
            # fastmem: a fault on a page the hook leaves out (executing a plain data page), or
            # an access that starts on one; reported as the hook would have reported it.
            self._fault_unhooked(exc.errno)
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

    def _fault_unhooked(self, errno: int) -> None:
        pc = self.pc
        if errno in (UC_ERR_FETCH_PROT, UC_ERR_FETCH_UNMAPPED):
            address, size = pc, 2 if self.cpsr & CPSR_T else 4
        else:
            decoded = decode_access(self.space, pc, bool(self.cpsr & CPSR_T), self.read_registers())
            if decoded is None:
                return
            address, size, _access = decoded
            if errno in (UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED) and self.space.table.state[address >> PAGE_SHIFT]:
                # the access began on a mapped page and ran into the next one
                address = ((address >> PAGE_SHIFT) + 1) << PAGE_SHIFT
        self._on_invalid_memory(self.uc, _UNHOOKED[errno], address, size, 0, None)

    # -- keeping translations in step with the page table ------------------------
    def _on_map_change(self, lo: int, hi: int, plain: bool) -> None:
        """Pages ``lo..hi-1`` changed (``plain``: none was or is code or special, an IPC buffer)."""
        if not plain:
            self._forget_counts(lo << PAGE_SHIFT, hi << PAGE_SHIFT)
        if self.config.backend == "fastmem":
            if (not self._running or self._syncs_wait) and hi - lo <= SMALL_RANGE:
                # Unicorn need not see it until guest code runs again (the next emu_start, or
                # the end of this SVC if the thread goes on): an IPC buffer mapped for a request
                # and unmapped by the reply, with the server waiting in between, then costs
                # Unicorn nothing (no mem_protect, no dropped translations).
                self._deferred_syncs.add((lo, hi))
                return
            self.sync_deferred()
            before = self._mapped[lo:hi].tolist() if hi - lo <= SMALL_RANGE else None
            self._sync_fastmem(lo, hi)
            # Translations go only where some page was, or becomes, executable in Unicorn (as
            # in sync_deferred): a write-tracked framebuffer page made writable by its first
            # write drops none.
            if before is None or any(_may_hold_code(v) for v in before + self._mapped[lo:hi].tolist()):
                self._drop_code_pages(lo, hi)
        else:
            # Virtual-TLB mode: translated blocks are found through the TLB (by physical
            # address), so flushing it is enough; removing cached blocks from inside a hook
            # in this mode derails Unicorn (seen: a fault on the next instruction).
            if not plain:
                if self.config.backend == "semifastmem":
                    self._assign_mmio_slots(lo, hi)
                self._forget_svc_numbers_at(lo << PAGE_SHIFT, hi << PAGE_SHIFT)
            if not self._running or self._syncs_wait:
                # As fastmem's syncs: one flush before guest code runs again covers every
                # change until then (an IPC buffer mapped for a request and unmapped by the
                # reply, the server waiting in between, cost two).
                self._deferred_syncs.add(_FLUSH_TLB)
            else:
                self._flush_tlb()

    def _flush_tlb(self) -> None:
        status = lib.ctl(self._handle, lib.CTL_TLB_FLUSH)
        if status:
            raise UcError(status)

    def sync_deferred(self) -> None:
        """Bring Unicorn's map in step with the page-table changes deferred so far. Translations
        are dropped only where some page was, or becomes, executable in Unicorn: code can be
        translated from no other page, and pages changed while deferred were never run."""
        while self._deferred_syncs:
            lo, hi = self._deferred_syncs.pop()
            if lo < 0:  # semifastmem: the TLB is stale
                self._flush_tlb()
                continue
            before = self._mapped[lo:hi].tolist()
            self._sync_fastmem(lo, hi)
            if any(_may_hold_code(v) for v in before + self._mapped[lo:hi].tolist()):
                self._drop_code_pages(lo, hi)

    def _on_code_change(self, lo: int, hi: int) -> None:
        self.invalidate(lo << PAGE_SHIFT, (hi - lo) << PAGE_SHIFT)
        self._forget_counts(lo << PAGE_SHIFT, hi << PAGE_SHIFT)

    def _drop_code_pages(self, lo: int, hi: int) -> None:
        """Drop what was translated from pages ``lo..hi-1``: now between runs; from inside one
        (a hook) when it returns, since dropping blocks under a running virtual TLB derails
        Unicorn, and the run then ends before its next block, so none of them runs again."""
        if self._running:
            self._pending_code.append((lo << PAGE_SHIFT, hi << PAGE_SHIFT))
            self.halt()
        else:
            self._drop_pages(lo, hi)

    def _sync_fastmem(self, lo: int, hi: int, open_tracked: bool = False) -> None:
        sync_unicorn_map(self.uc, self.space, self._mapped, lo, hi, self._region_read, self._region_write,
                         open_tracked)
        if self._coverage is not None:
            self._coverage.changed(lo, hi)

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
        raw = [*self._hook_handles, *self._breakpoints.values(), *(h for _a, h in self._step_hooks),
               *(self._coverage.hooks if self._coverage is not None else [])]
        self._coverage = None  # (its hooks go with the engine, which another CPU may get next)
        # emptied, then reused or closed (slowmem's: closed)
        retire_engine(self.uc, True, raw, reuse=self.config.backend != "slowmem")
        self._handle = dead_handle()
        self._hook_handles.clear()
        self._step_hooks.clear()
        self.uc = _ClosedUnicorn()
        if self._trap_frame is not None:
            self.space.phys.collect(self._trap_frame)
            self._trap_frame = None
        self._mapped = self._mmio_slots = np.zeros(0, dtype=np.uint8)
        self._svc_numbers.clear()
        self._deferred_syncs.clear()
        self._breakpoints.clear()
        self._file_cache.clear()


    # -- save states (between runs only: a clean boundary) ----------------------------
    _STATE_SLOTS = (hooks.CB_INSTRUCTIONS, hooks.CB_BLOCKS, hooks.CB_RESUME, hooks.CB_FILLS,
                    hooks.CB_BLOCK_START, hooks.CB_BLOCK_SIZE)

    def save_counters(self) -> dict[str, object]:
        """What a save state keeps of this CPU besides the loaded registers: its counters, the
        unused budget and a stop inside a block (``CB_RESUME``: the rest is not charged again).
        Not Unicorn's translations or TLB: a new CPU rebuilds them as the guest runs."""
        if self._running:
            raise RuntimeError("a CPU's counters are saved between runs, not inside one")
        return {"control": [int(self.control[i]) for i in self._STATE_SLOTS], "left": int(self._left),
                "break_pc": self._break_pc, "closed": self._closed, "data_accesses": list(self.data_accesses)}

    def restore_counters(self, saved: dict[str, object]) -> None:
        """Take counters from :meth:`save_counters` (after the registers are loaded)."""
        control = saved.get("control")
        if not isinstance(control, list) or len(control) != len(self._STATE_SLOTS) \
                or not all(isinstance(v, int) for v in control):
            raise ValueError("bad CPU counters")
        for slot, value in zip(self._STATE_SLOTS, control, strict=True):
            self.control[slot] = value
        data = saved.get("data_accesses", [0, 0])  # (absent from states saved before slowmem ran guest code)
        if not isinstance(data, list) or len(data) != 2 or not all(isinstance(v, int) for v in data):
            raise ValueError("bad CPU data access counts")
        self.control[hooks.CB_SLOW_READS], self.control[hooks.CB_SLOW_WRITES] = data
        left, break_pc = saved.get("left", 0), saved.get("break_pc")
        self._left = int(left) if isinstance(left, int) else 0
        self._break_pc = break_pc if isinstance(break_pc, int) else None

    def own_frames(self) -> np.ndarray:
        """Physical frames this CPU took for itself (semifastmem's trap frame)."""
        return np.zeros(0, np.int64) if self._trap_frame is None else np.asarray(self._trap_frame, np.int64)

    @classmethod
    def closed_with(cls, space: AddressSpace, config: CpuConfig, saved: dict[str, object]) -> Cpu:
        """A closed CPU (a reaped process's, as :meth:`close` leaves one) with ``saved`` counters."""
        cpu = cls.__new__(cls)
        cpu.space, cpu.config, cpu.on_breakpoint = space, config, None
        cpu.on_svc = _no_svc
        cpu.control = np.zeros(hooks.CB_SIZE, dtype=np.int64)
        cpu._slots = cpu.control.data
        cpu.uc = _ClosedUnicorn()
        cpu.fault, cpu._running, cpu._closed, cpu._trap_frame = None, False, True, None
        cpu._svc_numbers, cpu._breakpoints, cpu._file_cache = {}, {}, {}
        cpu._deferred_syncs, cpu._syncs_wait = set(), False
        cpu._mapped = cpu._mmio_slots = np.zeros(0, dtype=np.uint8)
        cpu.restore_counters(saved)
        return cpu

_FLUSH_TLB = (-1, -1)  # in Cpu._deferred_syncs (semifastmem): flush Unicorn's TLB before guest code runs


def _may_hold_code(mapped: int) -> bool:
    """Whether Unicorn may have translated code from a page it maps so (``Cpu._mapped``)."""
    return mapped == KIND_MMIO or (mapped != 0 and bool((mapped - 1) & UC_PROT_EXEC))


def _no_svc(cpu: Cpu, number: int, args: list[int]) -> None:
    raise RuntimeError(_CLOSED)


class _ClosedUnicorn:
    """Stands in for a closed Unicorn instance: any use is a Python error, not a use-after-free."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(_CLOSED)
