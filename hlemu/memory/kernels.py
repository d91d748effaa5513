"""Compiled memory kernels shared by semifastmem and fastmem.

Every kernel takes a page ``table`` and a ``mem`` array and is compiled
twice by numba, once per table type:

* semifastmem: ``table`` is the page table's ``fast`` (uint32: frame << 12 |
  bits) and ``mem`` the physical memory; the kernel walks the table.
* fastmem: ``table`` is ``access`` (uint8: bits) and ``mem`` the process's
  slab; the host MMU already translated, guest vaddr ``v`` is ``mem[v]``.
  The access byte is checked first because Python cannot survive a host
  fault; it mirrors the slab's host protection exactly.
* fastmem_trap: ``table`` is ``access`` viewed as int8, which selects the
  *unchecked* compilation (:func:`_unchecked`): no access byte is read and
  a protected page traps in the host MMU, which :mod:`hlemu.memory.trap`
  survives. Only :mod:`hlemu.memory.kernels_trap` calls them, armed.

The kernels only index and load. Anything they cannot do with plain memory
(unmapped, forbidden, special, wrapping past 4 GiB) makes them return a
failure status and the caller hands the whole operation to slowmem, which
raises the fault or calls the handler. So no kernel has side effects on a
failed operation: every page is checked before the first byte moves.
"""

from __future__ import annotations

import llvmlite.ir as llvm_ir
import numba
import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from hlemu.memory.constants import FAST_READ, FAST_WRITE

# Loops index with unsigned counters: numba then drops its negative-index
# wraparound code, which measured 25-35% of a batched read.
_U1 = np.uint64(1)
_U2 = np.uint64(2)


def entry_point(kernel, *args):  # noqa: ANN001, ANN201 - a numba dispatcher and its machine code
    """``kernel``'s compiled entry for the types of ``args`` (compiling it if need be), to call
    with arguments of exactly those types.

    Calling a kernel through its dispatcher works out every argument's numba type and picks an
    overload each time: 0.25-0.4 us of the 0.6-1.0 us a small ``copy`` or ``load`` call takes
    here. The entry skips that, but unboxes arrays without checking their dtypes, so callers
    bind it to arrays that keep their identity for a space's life and check before each call
    that the arrays they pass are of the kinds it was made for (:meth:`CompiledPath.copy_from`).
    """
    signature = tuple(numba.typeof(a) for a in args)
    compiled = kernel.overloads.get(signature)
    if compiled is None:
        kernel.compile(signature)
        compiled = kernel.overloads[signature]
    return compiled.entry_point


@intrinsic
def _memmove(typingctx, dst, dst_off, src, src_off, n):
    """``memmove(&dst[dst_off], &src[src_off], n)`` for uint8 arrays, as llvm.memmove.

    Numba's slice assignment copies element by element (about 3 GB/s
    here); this is the host's memmove. Callers have checked the bounds.
    """
    sig = types.void(dst, types.int64, src, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        dst_arr = context.make_array(signature.args[0])(context, builder, args[0])
        src_arr = context.make_array(signature.args[2])(context, builder, args[2])
        dptr = builder.gep(dst_arr.data, [args[1]])
        sptr = builder.gep(src_arr.data, [args[3]])
        cgutils.raw_memmove(builder, dptr, sptr, args[4], 1)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _prefetch(typingctx, mem, offset):
    """A hint that ``mem[offset]`` is read soon (``llvm.prefetch``: a hint, never a load, so
    it cannot fault whatever the address; the caller need not have checked it)."""
    sig = types.void(mem, types.int64)

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        byte_ptr = llvm_ir.IntType(8).as_pointer()
        ptr = builder.bitcast(builder.gep(arr.data, [args[1]]), byte_ptr)
        i32 = llvm_ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, llvm_ir.FunctionType(llvm_ir.VoidType(), [byte_ptr, i32, i32, i32]), "llvm.prefetch.p0i8")
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # a read, kept in every cache level, data
        return context.get_dummy_value()

    return sig, codegen


# Batched reads hint the read this many elements ahead (measured on 4 M random words of 64 MiB,
# this machine: none ~105 M reads/s for semifastmem, 16 ahead ~135, 64 ~285, 128 ~420, 256 the
# same): the random loads are cache misses, and the hint lets many more of them be in flight
# than the out-of-order window holds loads of whole iterations.
PREFETCH_AHEAD = 128


def _unchecked(table):
    """True (at compile time) for fastmem_trap's int8 table: the host MMU checks instead."""
    return table.dtype == np.int8


@overload(_unchecked)
def _unchecked_typed(table):
    flag = table.dtype == types.int8
    return lambda table: flag


@njit(cache=True, nogil=True)
def translate(table, mem, v, need):
    """Offset of guest byte ``v`` in ``mem``, or -1 if the page lacks ``need``."""
    if _unchecked(table):
        return np.int64(v)
    e = np.int64(table[v >> 12])
    if (e & need) == 0:
        return np.int64(-1)
    p = _offset(table, e, v)
    if (p | 0xFFF) >= mem.shape[0]:  # the page's last byte must exist; never trust the table
        return np.int64(-1)
    return p


@njit(cache=True, nogil=True)
def _offset(table, e, v):
    """Where guest byte ``v``, of a page whose entry is ``e``, is in ``mem``: fastmem's slab
    is indexed by the vaddr itself (its tables are one byte a page), semifastmem's physical
    memory by the entry's frame and the offset in the page."""
    if table.itemsize == 1:
        return np.int64(v)
    return (e & 0xFFFFF000) | (v & 0xFFF)


@njit(cache=True, nogil=True)
def _where_unchecked(table, v):
    """:func:`_offset` of guest byte ``v`` (below 4 GiB) checking nothing, for a prefetch
    address (an unmapped page gives some offset, which a hint may name). A slab's offset
    needs no entry, so none is read for it."""
    if table.itemsize == 1:
        return np.int64(v)
    return _offset(table, np.int64(table[v >> 12]), v)


@njit(cache=True, nogil=True)
def _span_ok(table, mem, v, n, need):
    """True when every page of ``[v, v+n)`` allows ``need`` (n >= 1)."""
    if v + n > 0x100000000:
        return False
    if _unchecked(table):
        return True
    first = v >> 12
    last = (v + n - 1) >> 12
    for vpn in range(first, last + 1):
        if translate(table, mem, vpn << 12, need) < 0:
            return False
    return True


@njit(cache=True, nogil=True)
def _contiguous(table, mem, v, p, limit, need):
    """How many bytes from guest ``v`` (at ``p`` in ``mem``) lie one after another in ``mem``,
    at most ``limit`` (>= 1): all of them for fastmem's slab; for semifastmem, the page's
    rest and each next page whose frame follows the last (a buffer in consecutive frames is
    one memmove, not one a page). The caller has checked every page with ``_span_ok``."""
    if table.itemsize == 1:  # (fastmem_trap's int8 table too)
        return limit
    run = 4096 - (v & 0xFFF)
    while run < limit and translate(table, mem, v + run, need) == p + run:
        run += 4096
    return min(run, limit)


@njit(cache=True, nogil=True)
def load(table, mem, v, size):
    """Read a little-endian value of ``size`` (1..8) bytes; returns (ok, value)."""
    v = np.int64(v)
    value = np.uint64(0)
    off = v & 0xFFF
    if off + size <= 4096:
        p = translate(table, mem, v, FAST_READ)
        if p < 0:
            return False, value
        for i in range(size):
            value |= np.uint64(mem[p + i]) << np.uint64(8 * i)
        return True, value
    if not _span_ok(table, mem, v, size, FAST_READ):
        return False, value
    for i in range(size):
        value |= np.uint64(mem[translate(table, mem, v + i, FAST_READ)]) << np.uint64(8 * i)
    return True, value


@njit(cache=True, nogil=True)
def store(table, mem, v, size, value):
    """Write ``size`` (1..8) little-endian bytes of ``value``; returns ok."""
    v = np.int64(v)
    value = np.uint64(value)
    if not _span_ok(table, mem, v, size, FAST_WRITE):
        return False
    if (v & 0xFFF) + size <= 4096:
        p = translate(table, mem, v, FAST_WRITE)
        for i in range(size):
            mem[p + i] = np.uint8((value >> np.uint64(8 * i)) & np.uint64(0xFF))
        return True
    for i in range(size):
        mem[translate(table, mem, v + i, FAST_WRITE)] = np.uint8((value >> np.uint64(8 * i)) & np.uint64(0xFF))
    return True


@njit(cache=True, nogil=True)
def _read_words(table, mem, words, addrs, out, start):
    """read_batch's common case, a tight loop of its own: ``out[i]`` for each aligned word
    from ``start`` on, one table load and one 32-bit load of ``words`` (``mem`` as words)
    each, up to the first read on a slow page or unaligned (returned; load() does those).
    Its indices are unsigned, so no index is checked for wrapping around from the end. Four
    byte loads read fastmem's slab at ~75 M reads/s, and signed indices at ~80 M, against
    ~130 M (this machine, 4 M random reads of 64 MiB)."""
    n = np.uint64(addrs.shape[0])
    i = np.uint64(start)
    ahead = np.uint64(PREFETCH_AHEAD)
    while i < n:
        if i + ahead < n:
            _prefetch(mem, _where_unchecked(table, np.int64(addrs[i + ahead])))
        v = np.int64(addrs[i])
        p = translate(table, mem, v, FAST_READ)
        if p < 0 or (v & 3) != 0:
            return np.int64(i)
        out[i] = words[np.uint64(p) >> _U2]
        i += _U1
    return np.int64(n)


@njit(cache=True, nogil=True)
def _read_batch4(table, mem, addrs, out, start):
    """read_batch of 32-bit words: the tight loop first, then the word it stopped at and the
    tight loop again. (The same calls inside a loop that began with the tight one, or in one
    function with the other widths' loop, measured a third slower.)"""
    n = np.uint64(addrs.shape[0])
    words = mem[: (mem.shape[0] >> 2) << 2].view(np.uint32)
    i = np.uint64(_read_words(table, mem, words, addrs, out, start))
    while i < n:
        ok, value = load(table, mem, np.int64(addrs[i]), 4)
        if not ok:
            return np.int64(i)
        out[i] = value
        i = np.uint64(_read_words(table, mem, words, addrs, out, i + _U1))
    return np.int64(-1)


@njit(cache=True, nogil=True)
def read_batch(table, mem, addrs, width, out, start):
    """``out[i] = value at addrs[i]`` from ``start`` on.

    Returns the index of the first address that needs slowmem, or -1 when
    all are done. The caller serves that one and calls again after it.
    """
    if width == 4:
        return _read_batch4(table, mem, addrs, out, np.uint64(start))
    n = np.uint64(addrs.shape[0])
    i = np.uint64(start)
    while i < n:
        ok, value = load(table, mem, np.int64(addrs[i]) & 0xFFFFFFFF, width)
        if not ok:
            return np.int64(i)
        out[i] = value
        i += _U1
    return np.int64(-1)


@njit(cache=True, nogil=True)
def write_batch(table, mem, addrs, values, width, start):
    """Write ``values[i]`` at ``addrs[i]``; same return convention as read_batch."""
    n = np.uint64(addrs.shape[0])
    i = np.uint64(start)
    while i < n:
        if not store(table, mem, np.int64(addrs[i]) & 0xFFFFFFFF, width, values[i]):
            return np.int64(i)
        i += _U1
    return np.int64(-1)


@njit(cache=True, nogil=True)
def read_bytes(table, mem, v, out):
    """Fill ``out`` from guest ``[v, v+len(out))``; False (nothing read) if any page is slow."""
    n = out.shape[0]
    if n == 0:
        return True
    if not _span_ok(table, mem, v, n, FAST_READ):
        return False
    done = 0
    while done < n:
        p = translate(table, mem, v + done, FAST_READ)
        chunk = _contiguous(table, mem, v + done, p, n - done, FAST_READ)
        _memmove(out, done, mem, p, chunk)
        done += chunk
    return True


@njit(cache=True, nogil=True)
def write_bytes(table, mem, v, data):
    """Store ``data`` at guest ``v``; False (nothing written) if any page is slow."""
    n = data.shape[0]
    if n == 0:
        return True
    if not _span_ok(table, mem, v, n, FAST_WRITE):
        return False
    done = 0
    while done < n:
        p = translate(table, mem, v + done, FAST_WRITE)
        chunk = _contiguous(table, mem, v + done, p, n - done, FAST_WRITE)
        _memmove(mem, p, data, done, chunk)
        done += chunk
    return True


@njit(cache=True, nogil=True)
def _frame_span(frames, v, n):
    lo = np.int64(1) << 40
    hi = np.int64(-1)
    for vpn in range(v >> 12, ((v + n - 1) >> 12) + 1):
        f = np.int64(frames[vpn])
        lo = min(lo, f)
        hi = max(hi, f)
    return lo, hi


COPY_SLOW, COPY_DONE, COPY_BOUNCE = 0, 1, 2


@njit(cache=True, nogil=True)
def copy(src_table, src_mem, src_frames, s, dst_table, dst_mem, dst_frames, d, n):
    """Copy ``n`` bytes from guest ``s`` (source space) to ``d`` (destination).

    Semantics are "read all, then write all", so overlapping ranges and
    physical aliases behave like memmove. Returns COPY_DONE when the bytes
    moved directly (chunk by chunk; one chunk for fastmem), COPY_SLOW when a
    page needs slowmem, and COPY_BOUNCE (nothing moved) when the frames of
    the two sides may overlap: the caller copies through a buffer.
    """
    if n == 0:
        return COPY_DONE
    if not _span_ok(src_table, src_mem, s, n, FAST_READ) or not _span_ok(dst_table, dst_mem, d, n, FAST_WRITE):
        return COPY_SLOW
    slo, shi = _frame_span(src_frames, s, n)
    dlo, dhi = _frame_span(dst_frames, d, n)
    if not (shi < dlo or dhi < slo):
        return COPY_BOUNCE
    done = 0
    while done < n:
        ps = translate(src_table, src_mem, s + done, FAST_READ)
        pd = translate(dst_table, dst_mem, d + done, FAST_WRITE)
        chunk = _contiguous(src_table, src_mem, s + done, ps, n - done, FAST_READ)
        chunk = _contiguous(dst_table, dst_mem, d + done, pd, chunk, FAST_WRITE)
        _memmove(dst_mem, pd, src_mem, ps, chunk)
        done += chunk
    return COPY_DONE


@njit(cache=True, nogil=True)
def search(table, mem, pattern, lo, hi, align, out):
    """Addresses in ``[lo, hi)`` where ``pattern`` starts, stepping ``align``.

    Only pages with FAST_READ (readable memory, never MMIO) are searched and
    a match must lie wholly in such pages. Fills ``out`` and returns the
    count found (at most ``len(out)``).
    """
    m = pattern.shape[0]
    found = 0
    first = pattern[0]
    v = ((lo + align - 1) // align) * align
    while v + m <= hi and found < out.shape[0]:
        p = translate(table, mem, v, FAST_READ)
        if p < 0:  # skip to the first aligned address of the next page
            nxt = ((v >> 12) + 1) << 12
            v = ((nxt + align - 1) // align) * align
            continue
        page_end = min(((v >> 12) + 1) << 12, hi - m + 1)
        while v < page_end and found < out.shape[0]:
            if mem[p] == first:
                ok = True
                for j in range(1, m):
                    q = p + j if ((v & 0xFFF) + j) < 4096 else translate(table, mem, v + j, FAST_READ)
                    if q < 0 or mem[q] != pattern[j]:
                        ok = False
                        break
                if ok:
                    out[found] = v
                    found += 1
            v += align
            p += align
    return found
