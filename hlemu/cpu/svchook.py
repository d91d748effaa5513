"""The interrupt hook, compiled: an SVC's register traffic in native code around one call into Python.

Every SVC enters Python once (the kernel serves it there). What surrounds that call, reading
the SVC's arguments (r0..r7, pc, cpsr) before it and writing its results (r0, r1, ...)
after it, is done here in a numba ``@cfunc`` that Unicorn calls as its ``UC_HOOK_INTR`` hook:
two ``uc_reg_*_batch`` calls made from Python through ctypes cost about 0.25 us each, plus
the conversion of their buffers, and an SVC's whole round trip is a few microseconds.

The hook's user data is an int64 *SVC block* (:data:`SB_SIZE` slots):

* ``SB_CALLBACK``: the Python callback's C entry point (a ctypes ``CFUNCTYPE`` thunk of
  ``void (*)(void *uc, uint32_t intno, void *block)``), called for every interrupt;
* ``SB_READ_IDS`` / ``SB_READ_PTRS``: the register ids and value pointers the hook reads on an
  SVC (:data:`READ_COUNT` of them), before the call; ``SB_STATUS``: that read's uc_err;
* ``SB_WRITE_IDS`` / ``SB_WRITE_PTRS`` / ``SB_WRITE_COUNT``: after the call, the hook writes the
  first ``SB_WRITE_COUNT`` of those registers (the callback set the count: an SVC's results)
  and clears the count; ``SB_WRITE_STATUS``: that write's uc_err (read by Python after the run).

Any other interrupt (an abort, an undefined instruction) is passed to the callback with
nothing read or written.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import carray, cfunc, types
from numba.extending import intrinsic

from hlemu.cpu.hooks import _as_pointer  # (importing hooks also loads libunicorn for the symbols below)

SB_CALLBACK = 0
SB_READ_IDS = 1
SB_READ_PTRS = 2
SB_STATUS = 3
SB_WRITE_IDS = 4
SB_WRITE_PTRS = 5
SB_WRITE_COUNT = 6
SB_WRITE_STATUS = 7
SB_SIZE = 8
READ_COUNT = 10  # r0..r7, pc, cpsr
EXCP_SWI = 2

_BATCH_SIG = types.int32(types.voidptr, types.voidptr, types.voidptr, types.int32)
_uc_reg_read_batch = types.ExternalFunction("uc_reg_read_batch", _BATCH_SIG)
_uc_reg_write_batch = types.ExternalFunction("uc_reg_write_batch", _BATCH_SIG)


@intrinsic
def _call_callback(typingctx, address, uc, intno, user):
    """Call ``void (*)(void*, uint32_t, void*)`` at ``address`` (an int64 from the block: no
    pointer is baked into the compiled code, so the cfunc can be cached)."""
    sig = types.void(types.int64, types.voidptr, types.uint32, types.voidptr)

    def codegen(context, builder, signature, args):
        ptr = context.get_value_type(types.voidptr)
        fn_type = ir.FunctionType(ir.VoidType(), [ptr, ir.IntType(32), ptr])
        target = builder.inttoptr(args[0], fn_type.as_pointer())
        builder.call(target, [args[1], args[2], args[3]])
        return context.get_dummy_value()

    return sig, codegen


@cfunc(types.void(types.voidptr, types.uint32, types.voidptr), cache=True)
def interrupt_hook(uc, intno, user_data):  # pragma: no cover - runs inside Unicorn
    block = carray(user_data, (SB_SIZE,), np.int64)
    if intno == EXCP_SWI:
        block[SB_STATUS] = _uc_reg_read_batch(uc, _as_pointer(block[SB_READ_IDS]),
                                              _as_pointer(block[SB_READ_PTRS]), READ_COUNT)
    block[SB_WRITE_COUNT] = 0
    _call_callback(block[SB_CALLBACK], uc, intno, user_data)
    count = block[SB_WRITE_COUNT]
    if count > 0:
        block[SB_WRITE_COUNT] = 0
        status = _uc_reg_write_batch(uc, _as_pointer(block[SB_WRITE_IDS]), _as_pointer(block[SB_WRITE_PTRS]),
                                     np.int32(count))
        if status != 0:
            block[SB_WRITE_STATUS] = status
