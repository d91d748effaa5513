"""fastmem_trap's compiled operations: the unchecked kernels, armed, with their trap outcome.

Each wrapper arms the calling thread (``block[ARMED]``, see :mod:`hlemu.memory.trap`), runs
the unchecked compilation of a :mod:`hlemu.memory.kernels` kernel (``table`` is the access
array viewed as int8), disarms, and reports how many pages trapped. A trap means a scratch
page stood in for a protected one, so the bytes it gave are meaningless; each wrapper makes
sure a trapped operation has changed nothing a caller can see before it returns:

* reads (scalar, batch) store only into results the caller discards, or that reach the
  caller's array once their block had no trap (a batch works in blocks of ``BLOCK``
  elements, read into a buffer of its own first);
* scalar and batch writes load the old value before each store and, on a trap, store it back
  in reverse order (writes that went to the scratch page are undone into the scratch page);
* bulk writes and copies first touch one byte of every page (a load for reads, an atomic
  ``or 0`` for writes: a write access that changes nothing) and stop at the first trap, so
  no byte moves unless every page is plainly accessible, and at most one page traps.

Loads, stores and the trap count around the arm flag are atomic with single-thread fences:
the compiler may not move memory accesses out of the armed window nor cache the count,
which the signal handler changes behind the code's back.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import carray, njit, types
from numba.extending import intrinsic

from hlemu.memory import kernels
from hlemu.memory.trap import ARMED, COUNT, LOG, LOG_CAPACITY

_U1, _U2, _U3 = np.uint64(1), np.uint64(2), np.uint64(3)
BLOCK = 1024  # batch elements between trap checks; a trap redoes at most this many (at 64, the checks
# of each block made a random batch read ~20% slower; with the reads prefetched, 256 and 4096
# measured the same as 1024)
COPY_TRAPPED = 3  # beside kernels.COPY_SLOW/DONE/BOUNCE: a page trapped, nothing moved

def _fence(builder):
    builder.fence("seq_cst", "singlethread")


def _pointer_to(dtype):
    @intrinsic
    def pointer(typingctx, address):
        sig = types.CPointer(dtype)(types.int64)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

        return sig, codegen

    return pointer


_u8_at, _i8_at, _i64_at = _pointer_to(types.uint8), _pointer_to(types.int8), _pointer_to(types.int64)


@njit(cache=True, nogil=True)
def _views(slab_base, block_address):
    """The slab, an int8 "table" (never read: its type selects the unchecked kernels) and the
    thread's block, from addresses: a scalar call then unboxes no array (about 150 ns each)."""
    mem = carray(_u8_at(slab_base), (np.int64(1) << 32,))
    table = carray(_i8_at(slab_base), (1,))
    block = carray(_i64_at(block_address), (LOG + LOG_CAPACITY,))
    return table, mem, block


@intrinsic
def _set_flag(typingctx, block, index, value):
    """``block[index] = value`` as an atomic store fenced against this thread's signal handler."""
    sig = types.void(block, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        _fence(builder)
        builder.store_atomic(args[2], builder.gep(arr.data, [args[1]]), "monotonic", 8)
        _fence(builder)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _get_flag(typingctx, block, index):
    """``block[index]``, read afresh (the signal handler writes it)."""
    sig = types.int64(block, types.int64)

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        _fence(builder)
        value = builder.load_atomic(builder.gep(arr.data, [args[1]]), "monotonic", 8)
        _fence(builder)
        return value

    return sig, codegen


@intrinsic
def _touch(typingctx, mem, offset, write, zero):
    """Access ``mem[offset]`` so the host MMU checks it: a load, or for writes an atomic add
    of ``zero`` (a write access that leaves the byte as it is, even with another writer).
    ``zero`` is a run-time 0: LLVM turns an add of a constant 0 into a plain load."""
    sig = types.void(mem, types.int64, types.boolean, types.int64)

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(arr.data, [args[1]])
        with builder.if_else(args[2]) as (then, otherwise):
            with then:
                builder.atomic_rmw("add", ptr, builder.trunc(args[3], ir.IntType(8)), "monotonic")
            with otherwise:
                builder.load_atomic(ptr, "monotonic", 1)
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True)
def _probe(mem, v, n, write, block):
    """Touch one byte of each page of ``[v, v+n)`` (n >= 1); False at the first trap."""
    zero = _get_flag(block, ARMED) - 1  # armed: 1
    for vpn in range(v >> 12, ((v + n - 1) >> 12) + 1):
        _touch(mem, max(v, vpn << 12), write, zero)
        if _get_flag(block, COUNT):
            return False
    return True


@njit(cache=True, nogil=True)
def load(table, mem, v, size, block):
    """(ok, value, trapped pages); ok is False only when the access wraps past 4 GiB."""
    _set_flag(block, ARMED, 1)
    ok, value = kernels.load(table, mem, v, size)
    _set_flag(block, ARMED, 0)
    return ok, value, _get_flag(block, COUNT)


@njit(cache=True, nogil=True)
def load_at(slab_base, v, size, block_address):
    """:func:`load` for the scalar path, given the slab's and the block's addresses:
    (status, value), status 0 read, 1 wraps past 4 GiB, 2 trapped."""
    table, mem, block = _views(slab_base, block_address)
    ok, value, trapped = load(table, mem, v, size, block)
    return (2 if trapped else 0 if ok else 1), value


@njit(cache=True, nogil=True)
def store_at(slab_base, v, size, value, block_address):
    """:func:`store` for the scalar path, given the slab's and the block's addresses."""
    table, mem, block = _views(slab_base, block_address)
    return store(table, mem, v, size, value, block)


@njit(cache=True, nogil=True)
def store(table, mem, v, size, value, block):
    """0 stored, 1 wraps past 4 GiB (nothing stored), 2 trapped (undone)."""
    if v + size > 0x100000000:
        return 1
    _set_flag(block, ARMED, 1)
    ok, old = kernels.load(table, mem, v, size)
    kernels.store(table, mem, v, size, value)
    trapped = _get_flag(block, COUNT) != 0
    if trapped:  # a page-crossing store may have written its first page: put it back
        kernels.store(table, mem, v, size, old)
    _set_flag(block, ARMED, 0)
    return 2 if trapped else 0


@njit(cache=True, nogil=True)
def _words(mem, words, addrs, into, j, end, b0):
    """read_batch's aligned words from ``j`` to ``end`` (or the first unaligned one: returned)
    into ``into[j - b0]``, one 32-bit load each and no page check, the read
    ``PREFETCH_AHEAD`` on hinted (as kernels.py's batch read; a hint never traps)."""
    ahead, last, base = np.uint64(kernels.PREFETCH_AHEAD), np.uint64(addrs.shape[0]), np.uint64(b0)
    while j < end:  # unsigned indices: numba drops its negative-index code (as kernels.py)
        if j + ahead < last:
            kernels._prefetch(mem, np.int64(addrs[j + ahead]))
        u = np.uint64(addrs[j])
        if u & _U3:  # unaligned (perhaps crossing pages): the caller's load() does it
            return j
        into[j - base] = words[u >> _U2]
        j += _U1
    return j


@njit(cache=True, nogil=True)
def read_batch(table, mem, addrs, width, out, start, block):
    """(stop, trapped): stop -1 all done; else ``addrs[stop]`` needs slowmem (it wraps), or,
    when trapped, a page trapped in the block from ``stop`` on (``out[stop:]`` as it was)."""
    n = addrs.shape[0]
    # Each block is read into ``fresh`` and moved into ``out`` (one memmove) only once no page
    # of it trapped, so ``out`` is never read: saving its old contents for a restore read them
    # from memory again, and the batch ran ~5% slower than checked fastmem's.
    fresh = np.empty(BLOCK, dtype=out.dtype)
    fresh_bytes, out_bytes, size = fresh.view(np.uint8), out.view(np.uint8), out.itemsize
    words = mem.view(np.uint32)  # (the slab as words: one 32-bit load per aligned read, as kernels.py)
    b0 = start
    _set_flag(block, ARMED, 1)
    while b0 < n:
        b1 = min(b0 + BLOCK, n)
        j = np.uint64(b0)
        if width == 4:  # the common case: one 32-bit load each, no page check
            j = _words(mem, words, addrs, fresh, j, np.uint64(b1), b0)
        for i in range(np.int64(j), b1):
            v = np.int64(addrs[i]) & 0xFFFFFFFF
            ok, value = kernels.load(table, mem, v, width)
            if not ok:
                trapped = _get_flag(block, COUNT) != 0
                if not trapped:  # the block's reads before this one are good
                    kernels._memmove(out_bytes, b0 * size, fresh_bytes, 0, (i - b0) * size)
                _set_flag(block, ARMED, 0)
                return (b0, True) if trapped else (i, False)
            fresh[i - b0] = value
        if _get_flag(block, COUNT):
            _set_flag(block, ARMED, 0)
            return b0, True
        kernels._memmove(out_bytes, b0 * size, fresh_bytes, 0, (b1 - b0) * size)
        b0 = b1
    _set_flag(block, ARMED, 0)
    return -1, False


@njit(cache=True, nogil=True)
def _undo(table, mem, addrs, old, width, b0, i):
    for j in range(i - 1, b0 - 1, -1):  # newest first, so repeated addresses end as they began
        kernels.store(table, mem, np.int64(addrs[j]) & 0xFFFFFFFF, width, old[j - b0])


@njit(cache=True, nogil=True)
def write_batch(table, mem, addrs, values, width, start, block):
    """Same convention as :func:`read_batch`; a trapped block's stores are undone."""
    n = addrs.shape[0]
    old = np.empty(BLOCK, dtype=np.uint64)
    b0 = start
    _set_flag(block, ARMED, 1)
    while b0 < n:
        b1 = min(b0 + BLOCK, n)
        for i in range(b0, b1):
            v = np.int64(addrs[i]) & 0xFFFFFFFF
            ok, value = kernels.load(table, mem, v, width)
            if not ok:
                trapped = _get_flag(block, COUNT) != 0
                if trapped:
                    _undo(table, mem, addrs, old, width, b0, i)
                _set_flag(block, ARMED, 0)
                return (b0, True) if trapped else (i, False)
            old[i - b0] = value
            kernels.store(table, mem, v, width, values[i])
        if _get_flag(block, COUNT):
            _undo(table, mem, addrs, old, width, b0, b1)
            _set_flag(block, ARMED, 0)
            return b0, True
        b0 = b1
    _set_flag(block, ARMED, 0)
    return -1, False


@njit(cache=True, nogil=True)
def read_bytes(table, mem, v, out, block):
    """0 read, 1 wraps past 4 GiB, 2 a page trapped (nothing read)."""
    n = out.shape[0]
    if n == 0:
        return 0
    if v + n > 0x100000000:
        return 1
    _set_flag(block, ARMED, 1)
    ok = _probe(mem, v, n, False, block) and kernels.read_bytes(table, mem, v, out)
    _set_flag(block, ARMED, 0)
    return 0 if ok and not _get_flag(block, COUNT) else 2


@njit(cache=True, nogil=True)
def write_bytes(table, mem, v, data, block):
    """0 written, 1 wraps past 4 GiB, 2 a page trapped (nothing written)."""
    n = data.shape[0]
    if n == 0:
        return 0
    if v + n > 0x100000000:
        return 1
    _set_flag(block, ARMED, 1)
    ok = _probe(mem, v, n, True, block)
    if ok:
        kernels.write_bytes(table, mem, v, data)
    _set_flag(block, ARMED, 0)
    return 0 if ok else 2


@njit(cache=True, nogil=True)
def copy(src_table, src_mem, src_frames, s, dst_table, dst_mem, dst_frames, d, n, block):
    """kernels.copy's statuses, or COPY_TRAPPED (nothing moved). Frames that may overlap
    bounce before anything is touched: the caller copies them through the checked path."""
    if n == 0:
        return kernels.COPY_DONE
    if s + n > 0x100000000 or d + n > 0x100000000:
        return kernels.COPY_SLOW
    slo, shi = kernels._frame_span(src_frames, s, n)
    dlo, dhi = kernels._frame_span(dst_frames, d, n)
    if not (shi < dlo or dhi < slo):
        return kernels.COPY_BOUNCE
    _set_flag(block, ARMED, 1)
    ok = _probe(src_mem, s, n, False, block) and _probe(dst_mem, d, n, True, block)
    if ok:
        kernels.copy(src_table, src_mem, src_frames, s, dst_table, dst_mem, dst_frames, d, n)
    _set_flag(block, ARMED, 0)
    return kernels.COPY_DONE if ok else COPY_TRAPPED
