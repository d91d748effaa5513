"""Our own handles on libunicorn's C functions, without the Python binding's argument
conversion (0.3 us a call instead of 0.75 us; its batch register calls spend ~10 us in
Python). Only :mod:`hlemu.cpu` uses them: nothing else touches Unicorn."""

from __future__ import annotations

import ctypes

from unicorn.unicorn_const import UC_CTL_IO_WRITE, UC_CTL_TLB_FLUSH
from unicorn.unicorn_py3.unicorn import uclib

LIB = ctypes.CDLL(uclib._name)
# The register batches run no guest code and call no hook: through PyDLL they keep the GIL
# instead of releasing and retaking it around a call of well under a microsecond (~0.3 us
# saved per call, measured; an IPC round trip makes about six). emu_start stays a CDLL call:
# another host thread (the window) must run while the guest does.
_HOLDING_GIL = ctypes.PyDLL(uclib._name)
reg_read_batch = _HOLDING_GIL.uc_reg_read_batch
reg_write_batch = _HOLDING_GIL.uc_reg_write_batch
hook_add = LIB.uc_hook_add
hook_del = LIB.uc_hook_del
emu_stop = LIB.uc_emu_stop
emu_start = LIB.uc_emu_start
# uc_ctl is variadic; a TLB flush passes no argument (the binding's ctl() spends ~1.5 us
# encoding it in Python; semifastmem flushes once per IPC request that maps a buffer).
ctl = _HOLDING_GIL.uc_ctl
for _fn in (reg_read_batch, reg_write_batch, hook_add, hook_del, emu_stop, emu_start, ctl):
    _fn.restype = ctypes.c_int
    _fn.argtypes = None  # type: ignore[assignment]
hook_del.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
ctl.argtypes = [ctypes.c_void_p, ctypes.c_int]
CTL_TLB_FLUSH = (UC_CTL_IO_WRITE << 30) | UC_CTL_TLB_FLUSH  # (op << 30) | (nargs << 26) | ctl, as uc.h encodes it

NEVER = ctypes.c_uint64(0xFFFFFFFF)  # an exit address no ARM or Thumb instruction can have
ZERO64 = ctypes.c_uint64(0)
ZERO_SIZE = ctypes.c_size_t(0)
# void (*uc_cb_hookintr_t)(uc_engine *uc, uint32_t intno, void *user_data)
INTR_HOOK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)
# void (*uc_cb_hookcode_t)(uc_engine *uc, uint64_t address, uint32_t size, void *user_data)
CODE_HOOK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_void_p)
# bool (*uc_cb_eventmem_t)(uc_engine *uc, uc_mem_type type, uint64_t address, int size, int64_t value,
#                          void *user_data)
MEM_EVENT_HOOK = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64, ctypes.c_int,
                                  ctypes.c_int64, ctypes.c_void_p)


def pointers(values: ctypes.Array | int, count: int, stride: int) -> ctypes.Array:
    """``count`` pointers ``stride`` bytes apart from the start of ``values`` (a ctypes array
    or a raw address): the value pointers of a batch register call."""
    base = values if isinstance(values, int) else ctypes.addressof(values)
    return (ctypes.c_void_p * count)(*(base + i * stride for i in range(count)))
