"""slowmem's slow window callbacks, compiled: the slow path's checks in a numba ``@cfunc``.

Unicorn calls :func:`slow_read` / :func:`slow_write` (registered with ``uc_mmio_map``) for
every guest data access under the slowmem CPU backend with ``CpuConfig.slow_path =
"compiled"``. Each is one call per access that does what :meth:`SlowMem.read_int` and
:meth:`SlowMem.write_int` do for a page they serve as plain memory, term for term: the page
is mapped, its permission allows the access, and it is not special (a write-tracked page
reads plainly, and writes plainly once dirty). Any other access (an MMIO or watched page,
the first write to a clean tracked page, a write to an executable page, a page that
faults) goes to the Python slow path
through a ctypes function whose address is in the callbacks' user data, so the handlers,
fault counters and write tracking are the slow path's own. Unicorn splits an unaligned
access to an MMIO region into aligned ones, so an access never crosses a page here.

User data: int64[4] = control block address, the Python read and write fallbacks.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import carray, cfunc, types
from numba.extending import intrinsic

from hlemu.cpu.hooks import (
    CB_FAST_TABLE,
    CB_PERM_TABLE,
    CB_PHYS_BASE,
    CB_SIZE,
    CB_SLOW_READS,
    CB_SLOW_WRITES,
    CB_SPECIAL_TABLE,
    CB_WDIRTY_TABLE,
    _as_pointer,
)
from hlemu.memory.constants import NUM_PAGES

USER_CONTROL, USER_READ, USER_WRITE, USER_SIZE = 0, 1, 2, 4
_TRACKED = 2  # SpecialKind.TRACKED (NONE is 0)
_VOID_P = ir.IntType(8).as_pointer()


@intrinsic
def _call_read(typingctx, fn, uc, offset, size, user):
    """Call the ctypes read fallback at address ``fn``."""
    sig = types.uint64(types.int64, types.voidptr, types.uint64, types.uint32, types.voidptr)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [_VOID_P, ir.IntType(64), ir.IntType(32), _VOID_P])
        return builder.call(builder.inttoptr(args[0], fnty.as_pointer()), args[1:])

    return sig, codegen


@intrinsic
def _call_write(typingctx, fn, uc, offset, size, value, user):
    """Call the ctypes write fallback at address ``fn``."""
    sig = types.void(types.int64, types.voidptr, types.uint64, types.uint32, types.uint64, types.voidptr)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.VoidType(), [_VOID_P, ir.IntType(64), ir.IntType(32), ir.IntType(64), _VOID_P])
        builder.call(builder.inttoptr(args[0], fnty.as_pointer()), args[1:])
        return context.get_dummy_value()

    return sig, codegen


_READ_SIG = types.uint64(types.voidptr, types.uint64, types.uint32, types.voidptr)
_WRITE_SIG = types.void(types.voidptr, types.uint64, types.uint32, types.uint64, types.voidptr)


@cfunc(_READ_SIG, cache=True)
def slow_read(uc, offset, size, user_data):  # pragma: no cover - runs inside Unicorn
    user = carray(user_data, (USER_SIZE,), np.int64)
    control = carray(_as_pointer(user[USER_CONTROL]), (CB_SIZE,), np.int64)
    control[CB_SLOW_READS] += 1
    vpn = (offset >> 12) & 0xFFFFF
    perm = carray(_as_pointer(control[CB_PERM_TABLE]), (NUM_PAGES,), np.uint8)[vpn]
    special = carray(_as_pointer(control[CB_SPECIAL_TABLE]), (NUM_PAGES,), np.uint8)[vpn]
    if (perm & 1) and (special == 0 or special == _TRACKED):  # (a free page has no permission)
        entry = carray(_as_pointer(control[CB_FAST_TABLE]), (NUM_PAGES,), np.uint32)[vpn]
        host = control[CB_PHYS_BASE] + np.int64((entry & 0xFFFFF000) | (offset & 0xFFF))
        if size == 4:
            return np.uint64(carray(_as_pointer(host), (1,), np.uint32)[0])
        if size == 1:
            return np.uint64(carray(_as_pointer(host), (1,), np.uint8)[0])
        if size == 2:
            return np.uint64(carray(_as_pointer(host), (1,), np.uint16)[0])
        if size == 8:
            return carray(_as_pointer(host), (1,), np.uint64)[0]
    return _call_read(user[USER_READ], uc, offset, size, user_data)


@cfunc(_WRITE_SIG, cache=True)
def slow_write(uc, offset, size, value, user_data):  # pragma: no cover - runs inside Unicorn
    user = carray(user_data, (USER_SIZE,), np.int64)
    control = carray(_as_pointer(user[USER_CONTROL]), (CB_SIZE,), np.int64)
    control[CB_SLOW_WRITES] += 1
    vpn = (offset >> 12) & 0xFFFFF
    perm = carray(_as_pointer(control[CB_PERM_TABLE]), (NUM_PAGES,), np.uint8)[vpn]
    special = carray(_as_pointer(control[CB_SPECIAL_TABLE]), (NUM_PAGES,), np.uint8)[vpn]
    plain = special == 0 or (special == _TRACKED
                             and carray(_as_pointer(control[CB_WDIRTY_TABLE]), (NUM_PAGES,), np.uint8)[vpn] != 0)
    if (perm & 6) == 2 and plain:  # (a write to an executable page: Python drops its code)
        entry = carray(_as_pointer(control[CB_FAST_TABLE]), (NUM_PAGES,), np.uint32)[vpn]
        host = control[CB_PHYS_BASE] + np.int64((entry & 0xFFFFF000) | (offset & 0xFFF))
        if size == 4:
            carray(_as_pointer(host), (1,), np.uint32)[0] = np.uint32(value & 0xFFFFFFFF)
            return
        if size == 1:
            carray(_as_pointer(host), (1,), np.uint8)[0] = np.uint8(value & 0xFF)
            return
        if size == 2:
            carray(_as_pointer(host), (1,), np.uint16)[0] = np.uint16(value & 0xFFFF)
            return
        if size == 8:
            carray(_as_pointer(host), (1,), np.uint64)[0] = value
            return
    _call_write(user[USER_WRITE], uc, offset, size, value, user_data)
