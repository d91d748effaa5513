"""Unicorn hooks compiled by numba and registered through Unicorn's C API.

These run often (every translation miss, every executed block), so they
are ``@cfunc``s: no Python, no GIL. Each takes as user data a pointer to a
small int64 "control block" (see :class:`ControlBlock`).

* ``tlb_fill``: semifastmem's translation. Reads the page table's ``fast``
  entry and answers Unicorn's virtual-TLB miss with the frame's offset in
  the physical backing (mapped at Unicorn physical address 0) and the
  page's permissions; counts the fill per page.
* ``tlb_fill_identity``: fastmem's translation: every address its own (the slab's
  regions sit at their guest addresses and their protections decide), executable
  only where the page may hold code or for a fetch.
* ``tlb_fill_slow``: the slowmem backend's translation. An instruction fetch gets
  the frame in the physical backing, executable only; a data access the page table
  allows gets the page's alias in the slow window (an MMIO region at
  :data:`SLOW_WINDOW` + vaddr whose callbacks are the slow path), so every data
  access is a call into ``space.slow``; anything else is refused, as above.
* ``count_blocks``: run control. At each block entry it stops emulation,
  before the block runs, when :meth:`Cpu.halt` was asked for, when the block
  would take the instruction count past the run's limit, or when the run's
  block budget is spent; otherwise it charges the block to the budget and
  adds its instruction words to the instruction counter. The rest of a block
  left at a breakpoint or a step (``CB_RESUME``) is not charged again, so where
  a run stops never changes what the guest computes or when it is switched.
"""

from __future__ import annotations

from collections.abc import Callable

import llvmlite.binding as llvm
import numpy as np
from numba import carray, cfunc, njit, types
from numba.extending import intrinsic
from unicorn.unicorn_py3.unicorn import uclib

from hlemu.memory.constants import FAST_EXEC, FAST_READ, FAST_WRITE, NUM_PAGES

# Let compiled code call libunicorn by symbol name (no ctypes pointer baked in,
# so the cfuncs can be cached).
llvm.load_library_permanently(uclib._name)
_uc_emu_stop = types.ExternalFunction("uc_emu_stop", types.int32(types.voidptr))
_uc_reg_read = types.ExternalFunction("uc_reg_read", types.int32(types.voidptr, types.int32, types.voidptr))

# Control block slots (int64 each).
CB_BUDGET = 0  # new blocks this run may still enter; at 0 the block hook stops emulation
CB_INSTRUCTIONS = 1  # instruction words executed (4-byte units of executed blocks)
CB_FAST_TABLE = 2  # address of the page table's ``fast`` array (uint32[1M])
CB_FILL_COUNTS = 3  # address of the TLB_FILL row of the fault counters (uint32[1M])
CB_FILLS = 4  # total TLB fills
CB_STOPPED = 5  # why the block hook stopped emulation: STOPPED_BUDGET, _LIMIT or _HALT (0: it did not)
CB_MISS_ADDRESS = 6  # the last address whose translation was refused (for the fault report)
CB_MISS_TYPE = 7  # its uc_mem_type (16 read, 17 write, 18 fetch)
CB_TRAP_PADDR = 8  # a frame of undefined instructions behind the exit page
CB_PERM_TABLE = 9  # addresses of the page table's perm, special and wdirty (uint8[1M]) ...
CB_SPECIAL_TABLE = 10
CB_WDIRTY_TABLE = 11
CB_ACCESS_TABLE = 12  # ... and access (uint8[1M])
CB_TRACK_COUNTS = 13  # the WRITE_TRACK row of the fault counters (uint32[1M])
CB_DIRTY_LOG = 14  # int32 ring of pages the fill hook dirtied, drained by Python after each run
CB_DIRTY_COUNT = 15
CB_DIRTY_CAPACITY = 16
CB_MMIO_SLOTS = 17  # int32[1M]: 1 + the MMIO window slot of an MMIO page (0: none yet)
CB_MMIO_WINDOW = 18  # Unicorn physical address of the MMIO window
CB_BLOCK_START = 19  # the block being run (counted in full when it started)
CB_BLOCK_SIZE = 20
CB_BLOCKS = 21  # blocks entered and charged, ever (a resumed rest of a block is not a new one)
CB_INSN_LIMIT = 22  # the block hook refuses a block that would take CB_INSTRUCTIONS past this
CB_RESUME = 23  # 1: the next block entered is the rest of one already charged (a stop inside it)
CB_HALT = 24  # set by Cpu.halt (any thread): stop before the next block
CB_PHYS_BASE = 25  # host address of physical memory (the fast table's frames are offsets in it)
CB_SELF = 26  # host address of this control block (for uc_reg_read's out-parameter)
CB_SCRATCH = 27  # uc_reg_read writes CPSR here
CB_COUNT_CACHE = 28  # int64[2 * COUNT_CACHE]: (block key, instructions) per slot, direct-mapped
CB_SLOW_READS = 29  # slowmem: guest data reads the slow path served (counted by its read callback)
CB_SLOW_WRITES = 30  # ... and data writes
CB_MAPPED = 31  # fastmem: the CPU's uint8[1M] of what Unicorn maps per page (protection + 1)
CB_SIZE = 32
COUNT_CACHE = 1 << 10
_UC_ARM_REG_CPSR = 3
_CPSR_T = 0x20
STOPPED_BUDGET, STOPPED_LIMIT, STOPPED_HALT = 1, 2, 3
# Unicorn translates the page of emu_start's exit address (0xFFFFFFFF here) whenever an
# exception is taken; the guest never maps that page (kernel space on the 3DS).
EXIT_PAGE = 0xFFFFF

_UC_PROT_READ, _UC_PROT_WRITE, _UC_PROT_EXEC = 1, 2, 4
_UC_MEM_WRITE = 17  # uc_mem_type of a data write (UC_MEM_WRITE)
_UC_MEM_FETCH = 18  # uc_mem_type of an instruction fetch (UC_MEM_FETCH)
_MMIO, _TRACKED, _WATCH = 1, 2, 3  # SpecialKind


@intrinsic
def _as_pointer(typingctx, address):
    """An int64 address as a ``void*`` (for carray)."""
    sig = types.voidptr(types.int64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.voidptr))

    return sig, codegen


_TLB_SIG = types.boolean(types.voidptr, types.uint64, types.int32, types.CPointer(types.uint64), types.voidptr)


@cfunc(_TLB_SIG, cache=True)
def tlb_fill_identity(uc, vaddr, mem_type, result, user_data):  # pragma: no cover - runs inside Unicorn
    """fastmem's fill: guest address = Unicorn physical address (the slab's regions sit at
    their vaddrs). The regions' own protections still decide every access (Unicorn checks
    them after the fill, and calls the memory hook); the entry grants read and write, and
    execute only where the page may hold code or the access is a fetch. A data page's entry
    is then not executable, which lets Unicorn mark it dirty and run its stores inline."""
    control = carray(user_data, (CB_SIZE,), np.int64)
    value = carray(_as_pointer(control[CB_MAPPED]), (NUM_PAGES,), np.uint8)[(vaddr >> 12) & 0xFFFFF]
    prot = _UC_PROT_READ | _UC_PROT_WRITE
    if mem_type == _UC_MEM_FETCH or value == 0 or value == 0xFF or ((value - 1) & _UC_PROT_EXEC):
        prot |= _UC_PROT_EXEC
    result[0] = np.uint64(vaddr)
    result[1] = np.uint64(prot)
    return True


@cfunc(_TLB_SIG, cache=True)
def tlb_fill(uc, vaddr, mem_type, result, user_data):  # pragma: no cover - runs inside Unicorn
    control = carray(user_data, (CB_SIZE,), np.int64)
    fast = carray(_as_pointer(control[CB_FAST_TABLE]), (NUM_PAGES,), np.uint32)
    vpn = (vaddr >> 12) & 0xFFFFF
    entry = fast[vpn]
    special = carray(_as_pointer(control[CB_SPECIAL_TABLE]), (NUM_PAGES,), np.uint8)[vpn]
    if special == _MMIO or special == _WATCH:
        # MMIO pages live in Unicorn's MMIO window, whose callbacks call the page's handler.
        slot = carray(_as_pointer(control[CB_MMIO_SLOTS]), (NUM_PAGES,), np.int32)[vpn]
        perm = carray(_as_pointer(control[CB_PERM_TABLE]), (NUM_PAGES,), np.uint8)[vpn]
        if slot > 0 and perm & 3:
            result[0] = np.uint64(control[CB_MMIO_WINDOW] + ((slot - 1) << 12) + (vaddr & 0xFFF))
            result[1] = np.uint64(perm & 3)
            return True
    elif special == _TRACKED and mem_type == _UC_MEM_WRITE and (entry & FAST_READ) and not (entry & FAST_WRITE):
        wdirty = carray(_as_pointer(control[CB_WDIRTY_TABLE]), (NUM_PAGES,), np.uint8)
        perm = carray(_as_pointer(control[CB_PERM_TABLE]), (NUM_PAGES,), np.uint8)[vpn]
        if wdirty[vpn] == 0 and perm & 2:
            # The first write to a clean write-tracked page: mark it dirty here, in compiled
            # code, exactly as slowmem would; Python tells the subscribers after this run.
            wdirty[vpn] = 1
            fast[vpn] = entry | FAST_WRITE
            access = carray(_as_pointer(control[CB_ACCESS_TABLE]), (NUM_PAGES,), np.uint8)
            access[vpn] = access[vpn] | FAST_WRITE
            carray(_as_pointer(control[CB_TRACK_COUNTS]), (NUM_PAGES,), np.uint32)[vpn] += 1
            n = control[CB_DIRTY_COUNT]
            if n < control[CB_DIRTY_CAPACITY]:
                carray(_as_pointer(control[CB_DIRTY_LOG]), (control[CB_DIRTY_CAPACITY],), np.int32)[n] = vpn
            control[CB_DIRTY_COUNT] = n + 1
            entry = fast[vpn]
    # A fetch from a page that is not executable is refused here too: given the page's data
    # entry, Unicorn ended the run with an error no hook saw, and the report was a data abort
    # "access of 0 bytes at 0" where fastmem and slowmem report the prefetch abort.
    if (entry & (FAST_READ | FAST_EXEC)) == 0 or (mem_type == _UC_MEM_FETCH and (entry & FAST_EXEC) == 0):
        if vpn == EXIT_PAGE and mem_type == _UC_MEM_FETCH:
            # Unicorn translates this page for instruction fetch when it takes an exception:
            # it gets a frame of undefined instructions, executable only, so a wild jump there
            # is a clean fault and a data access faults as it does under fastmem.
            result[0] = np.uint64(control[CB_TRAP_PADDR] | (vaddr & 0xFFF))
            result[1] = np.uint64(_UC_PROT_EXEC)
            return True
        control[CB_MISS_ADDRESS] = np.int64(vaddr)
        control[CB_MISS_TYPE] = mem_type
        return False  # unmapped, forbidden or special: the CPU takes an abort, the kernel sees it
    fills = carray(_as_pointer(control[CB_FILL_COUNTS]), (NUM_PAGES,), np.uint32)
    fills[vpn] += 1
    control[CB_FILLS] += 1
    prot = np.uint64(0)
    if entry & FAST_READ:
        prot |= np.uint64(_UC_PROT_READ)
    if entry & FAST_WRITE:
        prot |= np.uint64(_UC_PROT_WRITE)
    if entry & FAST_EXEC:
        prot |= np.uint64(_UC_PROT_EXEC)
    # Unicorn's ARM pages are 1 KiB: the answer is the physical address of that sub-page.
    result[0] = np.uint64((entry & 0xFFFFF000) | (vaddr & 0xFFF))
    result[1] = prot
    return True


# slowmem: Unicorn physical address of the 4 GiB slow window; guest vaddr v is window + v in
# it (the physical backing sits at Unicorn physical 0, semifastmem's MMIO window at 1 GiB).
SLOW_WINDOW = 1 << 32


@cfunc(_TLB_SIG, cache=True)
def tlb_fill_slow(uc, vaddr, mem_type, result, user_data):  # pragma: no cover - runs inside Unicorn
    control = carray(user_data, (CB_SIZE,), np.int64)
    vpn = (vaddr >> 12) & 0xFFFFF
    if mem_type == _UC_MEM_FETCH:
        entry = carray(_as_pointer(control[CB_FAST_TABLE]), (NUM_PAGES,), np.uint32)[vpn]
        if entry & FAST_EXEC:
            # Code is fetched from memory (translated once); only this entry is executable,
            # so a data access to the page misses and gets the slow window's entry instead.
            paddr = np.uint64((entry & 0xFFFFF000) | (vaddr & 0xFFF))
        elif vpn == EXIT_PAGE:  # see tlb_fill
            paddr = np.uint64(control[CB_TRAP_PADDR] | (vaddr & 0xFFF))
        else:
            control[CB_MISS_ADDRESS] = np.int64(vaddr)
            control[CB_MISS_TYPE] = mem_type
            return False
        result[0] = paddr
        result[1] = np.uint64(_UC_PROT_EXEC)
    else:
        # Free pages have no permission. R and W are Unicorn's READ and WRITE bits.
        perm = carray(_as_pointer(control[CB_PERM_TABLE]), (NUM_PAGES,), np.uint8)[vpn] & 3
        if not perm & (2 if mem_type == _UC_MEM_WRITE else 1):
            control[CB_MISS_ADDRESS] = np.int64(vaddr)
            control[CB_MISS_TYPE] = mem_type
            return False
        result[0] = np.uint64(SLOW_WINDOW + (vaddr & 0xFFFFFFFF))
        result[1] = np.uint64(perm)
    carray(_as_pointer(control[CB_FILL_COUNTS]), (NUM_PAGES,), np.uint32)[vpn] += 1
    control[CB_FILLS] += 1
    return True


def block_words(address: int, size: int, thumb: bool, read16: Callable[[int], int] | None = None) -> int:
    """What :func:`count_blocks` adds for a block of ``size`` bytes at ``address``: its
    instructions (ARM: 4 bytes each; Thumb: 2, or 4 for a 32-bit one). ``read16(addr)``
    reads a halfword of code (needed for Thumb, except a lone 16-bit instruction)."""
    if not thumb:
        return size >> 2
    if read16 is None:
        return max(1, size >> 1)
    count, at, end = 0, address, address + size
    while at < end:
        at += 4 if read16(at) >> 11 >= 0b11101 else 2
        count += 1
    return count


@njit(cache=True)
def _thumb_count(control, address, size):  # pragma: no cover - compiled
    """Thumb instructions in ``[address, address + size)``: a halfword whose top five bits are
    0b11101, 0b11110 or 0b11111 starts a 32-bit instruction (ARM ARM, Thumb encoding)."""
    fast = carray(_as_pointer(control[CB_FAST_TABLE]), (NUM_PAGES,), np.uint32)
    count = np.int64(0)
    at = np.int64(address)
    end = at + np.int64(size)
    while at < end:
        entry = fast[(at >> 12) & 0xFFFFF]
        if (entry & FAST_EXEC) == 0:
            return count + ((end - at) >> 1)  # cannot read it (cannot happen for running code)
        paddr = (np.int64(entry) & 0xFFFFF000) | (at & 0xFFF)
        half = carray(_as_pointer(control[CB_PHYS_BASE] + paddr), (1,), np.uint16)[0]
        at += np.int64(4) if (half >> 11) >= 0b11101 else np.int64(2)
        count += np.int64(1)
    return count


@njit(cache=True)
def forget_counts(cache, lo, hi):  # pragma: no cover - compiled
    """Clear the count cache's slots (``cache``: (key, count) pairs, key = start << 16 | size)
    for blocks starting in ``[max(0, lo - 0x1000), hi)``: one compiled pass, where the numpy
    expression it replaces cost several calls on every map change (two per IPC mapped buffer)."""
    first = max(np.int64(0), np.int64(lo) - np.int64(0x1000))
    for i in range(0, cache.shape[0], 2):
        key = cache[i]
        if key != 0 and first <= (key >> 16) < hi:
            cache[i] = 0
            cache[i + 1] = 0


_BLOCK_SIG = types.void(types.voidptr, types.uint64, types.uint32, types.voidptr)


@cfunc(_BLOCK_SIG, cache=True)
def count_blocks(uc, address, size, user_data):  # pragma: no cover - runs inside Unicorn
    control = carray(user_data, (CB_SIZE,), np.int64)
    # Instructions in the block: size / 4 for ARM; Thumb mixes 2- and 4-byte ones, so they are
    # decoded once per block and cached by (address, size). Whether a block is Thumb is read
    # from CPSR only on a cache miss (a size that is not a multiple of 4 is Thumb anyway).
    cache = carray(_as_pointer(control[CB_COUNT_CACHE]), (2 * COUNT_CACHE,), np.int64)
    slot = 2 * (((address >> 1) ^ (address >> 15)) & (COUNT_CACHE - 1))
    key = (np.int64(address) << 16) | np.int64(size)
    if cache[slot] == key:
        words = cache[slot + 1]
    else:
        thumb = (size & 2) != 0
        if not thumb:
            _uc_reg_read(uc, _UC_ARM_REG_CPSR, _as_pointer(control[CB_SELF] + 8 * CB_SCRATCH))
            thumb = (control[CB_SCRATCH] & _CPSR_T) != 0
        words = _thumb_count(control, address, size) if thumb else np.int64(size >> 2)
        cache[slot] = key
        cache[slot + 1] = words
    # Stopping here keeps this block from running (it runs, and counts, in the next run), so
    # instruction counts do not depend on where runs end.
    if control[CB_HALT]:
        control[CB_STOPPED] = STOPPED_HALT
        _uc_emu_stop(uc)
        return
    if control[CB_INSTRUCTIONS] + words > control[CB_INSN_LIMIT]:
        control[CB_STOPPED] = STOPPED_LIMIT
        _uc_emu_stop(uc)
        return
    if control[CB_RESUME]:
        control[CB_RESUME] = 0
    else:
        budget = control[CB_BUDGET]
        if budget <= 0:
            control[CB_STOPPED] = STOPPED_BUDGET
            _uc_emu_stop(uc)
            return
        control[CB_BUDGET] = budget - 1
        control[CB_BLOCKS] += 1
    control[CB_INSTRUCTIONS] += words
    control[CB_BLOCK_START] = address
    control[CB_BLOCK_SIZE] = size
