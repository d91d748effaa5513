"""Unicorn hooks compiled by numba and registered through Unicorn's C API.

These run often (every translation miss, every executed block), so they
are ``@cfunc``s: no Python, no GIL. Each takes as user data a pointer to a
small int64 "control block" (see :class:`ControlBlock`).

* ``tlb_fill``: semifastmem's translation. Reads the page table's ``fast``
  entry and answers Unicorn's virtual-TLB miss with the frame's offset in
  the physical backing (mapped at Unicorn physical address 0) and the
  page's permissions; counts the fill per page.
* ``count_blocks``: the deterministic quantum. Adds the block's instruction
  words to the instruction counter and stops emulation when the block
  budget runs out.
"""

from __future__ import annotations

import llvmlite.binding as llvm
import numpy as np
from numba import carray, cfunc, types
from numba.extending import intrinsic
from unicorn.unicorn_py3.unicorn import uclib

from hlemu.memory.constants import FAST_EXEC, FAST_READ, FAST_WRITE, NUM_PAGES

# Let compiled code call libunicorn by symbol name (no ctypes pointer baked in,
# so the cfuncs can be cached).
llvm.load_library_permanently(uclib._name)
_uc_emu_stop = types.ExternalFunction("uc_emu_stop", types.int32(types.voidptr))

# Control block slots (int64 each).
CB_BUDGET = 0  # blocks left in this quantum; at 0 the block hook stops emulation
CB_INSTRUCTIONS = 1  # instruction words executed (4-byte units of executed blocks)
CB_FAST_TABLE = 2  # address of the page table's ``fast`` array (uint32[1M])
CB_FILL_COUNTS = 3  # address of the TLB_FILL row of the fault counters (uint32[1M])
CB_FILLS = 4  # total TLB fills
CB_STOPPED = 5  # 1 when the block hook stopped emulation for the quantum
CB_MISS_ADDRESS = 6  # the last address whose translation was refused (for the fault report)
CB_MISS_TYPE = 7  # its uc_mem_type (16 read, 17 write, 18 fetch)
CB_TRAP_PADDR = 8  # a frame of undefined instructions behind the exception vector page
CB_SIZE = 12
# Unicorn translates the page of emu_start's exit address (0xFFFFFFFF here) whenever an
# exception is taken; the guest never maps that page (kernel space on the 3DS).
EXIT_PAGE = 0xFFFFF

_UC_PROT_READ, _UC_PROT_WRITE, _UC_PROT_EXEC = 1, 2, 4
_UC_MEM_WRITE = 17  # uc_mem_type of a data write (UC_MEM_WRITE)


@intrinsic
def _as_pointer(typingctx, address):
    """An int64 address as a ``void*`` (for carray)."""
    sig = types.voidptr(types.int64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(types.voidptr))

    return sig, codegen


_TLB_SIG = types.boolean(types.voidptr, types.uint64, types.int32, types.CPointer(types.uint64), types.voidptr)


@cfunc(_TLB_SIG, cache=True)
def tlb_fill(uc, vaddr, mem_type, result, user_data):  # pragma: no cover - runs inside Unicorn
    control = carray(user_data, (CB_SIZE,), np.int64)
    fast = carray(_as_pointer(control[CB_FAST_TABLE]), (NUM_PAGES,), np.uint32)
    vpn = (vaddr >> 12) & 0xFFFFF
    entry = fast[vpn]
    if (entry & (FAST_READ | FAST_EXEC)) == 0:
        if vpn == EXIT_PAGE:
            # It gets a frame of undefined instructions: a wild jump there is a clean fault.
            result[0] = np.uint64(control[CB_TRAP_PADDR] | (vaddr & 0xFFF))
            result[1] = np.uint64(_UC_PROT_READ | _UC_PROT_EXEC)
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


_BLOCK_SIG = types.void(types.voidptr, types.uint64, types.uint32, types.voidptr)


@cfunc(_BLOCK_SIG, cache=True)
def count_blocks(uc, address, size, user_data):  # pragma: no cover - runs inside Unicorn
    control = carray(user_data, (CB_SIZE,), np.int64)
    control[CB_INSTRUCTIONS] += size >> 2
    control[CB_BUDGET] -= 1
    if control[CB_BUDGET] <= 0:
        control[CB_STOPPED] = 1
        _uc_emu_stop(uc)
