"""``fastmem_trap``: fastmem with no per-page check; the host MMU traps the exceptions.

The compiled kernels touch ``slab + v`` without reading the access byte. Unmapped, MMIO,
watched, read-only and clean write-tracked pages stay protected in the slab (its host
protection mirrors the access bytes), so touching one raises SIGSEGV, which the handler of
:mod:`hlemu.memory.trap` claims for an armed thread: it maps a zero page over the faulting
page and logs it, and the access completes on the scratch page. The kernel wrappers of
:mod:`hlemu.memory.kernels_trap` keep such an operation from changing anything visible
(saved ``out`` blocks, undone stores, probes before bulk moves); this class then restores
the logged pages' real mappings and redoes the operation through slowmem, so values,
faults, counters, dirty pages and handler calls are slowmem's.

Where the redo is not a plain "again through slowmem":

* batches keep the elements done before the trapped block of 64 and do the rest through
  checked fastmem (which gives each special element to slowmem): one trap, then no more;
* copies whose frames may overlap (one space copying over itself, or through an alias)
  bounce to checked fastmem before anything is touched: its buffered copy is memmove;
* search stays checked fastmem: skipping the pages it may not read is what it means, not
  a guard (an unchecked scan of 4 GiB would trap once per unmapped page).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from hlemu.memory import kernels, kernels_trap
from hlemu.memory.paths import _TOP, _WIDTH_DTYPES, FastMem, _addresses, _batch_out, _check_width, _raw_bytes, _values
from hlemu.memory.trap import COUNT, LOG, native

if TYPE_CHECKING:
    from hlemu.memory.space import AddressSpace

_MASK = 0xFFFFFFFF
_THREAD = threading.local()  # .block and .address: this thread's block, once bound


class FastTrapMem(FastMem):
    """Compiled access through the slab with the host MMU as the only check."""

    name = "fastmem_trap"
    _slot = "fast_trap"

    def __init__(self, space: AddressSpace) -> None:
        super().__init__(space)
        self._native = native()
        assert space.slab is not None
        self._slab = space.slab
        self._ttable = self._table.view(np.int8)  # int8 selects the unchecked compilation
        self._base = self._slab.base
        # The host MMU is this path's only check: parked pages must lose their access now and
        # from now on as they park (Slab.release).
        self._slab.settle()
        self._slab.lazy = False
        self._native.register(self._base, 1 << 32)
        self.traps = 0  # pages that trapped (each restored, its operation redone)
        self._trap_copy = None  # kernels_trap.copy's entry, bound on the first copy
        # The scalar kernels' entries (kernels.entry_point): they take only ints.
        self._load_at = kernels.entry_point(kernels_trap.load_at, self._base, 0, 4, 0)
        self._store_at = kernels.entry_point(kernels_trap.store_at, self._base, 0, 4, np.uint64(0), 0)

    def _bind_trap_copy(self, block: np.ndarray):  # noqa: ANN202 - the trap copy's compiled entry
        self._trap_copy = kernels.entry_point(kernels_trap.copy, self._ttable, self._mem, self._frames, 0,
                                              self._ttable, self._mem, self._frames, 0, 0, block)
        return self._trap_copy

    def release(self) -> None:
        """The slab is closing: the handler must no longer claim faults in its range."""
        if self._slab.base:
            self._native.unregister(self._slab.base)

    # -- plumbing -------------------------------------------------------------
    def _block(self) -> np.ndarray:
        """This thread's block, after checking the slab is open and our handler current."""
        if not self._slab.base:
            raise RuntimeError(f"process {self.space.pid} has no slab; fastmem_trap is not available")
        native = self._native
        if native.stale:
            native.ensure()
        try:
            return _THREAD.block
        except AttributeError:
            _THREAD.block = block = native.thread_block()
            _THREAD.address = block.ctypes.data
            return block

    def _address(self) -> int:
        """:meth:`_block`'s checks, then the block's address (the scalar kernels take ints)."""
        self._block()
        return int(_THREAD.address)

    def _restore(self, block: np.ndarray, *others: AddressSpace) -> None:
        """Map every logged page as its slab had it (frame and protection), then clear the log."""
        count = int(block[COUNT])
        for host in block[LOG : LOG + count].tolist():
            for space in (self.space, *others):
                slab = space.slab
                if slab is not None and slab.base <= host < slab.base + _TOP:
                    space.resync_slab([(host - slab.base) >> 12])
                    break
        self.traps += count
        block[COUNT] = 0

    # -- scalar -----------------------------------------------------------------
    def read_int(self, vaddr: int, size: int) -> int:
        if size not in _WIDTH_DTYPES:
            _check_width(size)
        if self._native.stale or not self._slab.base:
            self._block()
        try:
            address = _THREAD.address
        except AttributeError:
            address = self._address()
        status, value = self._load_at(self._base, int(vaddr) & _MASK, int(size), address)
        if not status:
            return int(value)
        if status == 2:
            self._restore(_THREAD.block)
        return self.space.slow.read_int(vaddr, size)

    def write_int(self, vaddr: int, size: int, value: int) -> None:
        if size not in _WIDTH_DTYPES:
            _check_width(size)
        value = int(value) & ((1 << (8 * size)) - 1)
        if self._native.stale or not self._slab.base:
            self._block()
        try:
            address = _THREAD.address
        except AttributeError:
            address = self._address()
        status = self._store_at(self._base, int(vaddr) & _MASK, int(size), value, address)
        if status:
            if status == 2:
                self._restore(_THREAD.block)
            self.space.slow.write_int(vaddr, size, value)

    # -- bulk -------------------------------------------------------------------
    def read(self, vaddr: int, size: int) -> bytes:
        vaddr, size = int(vaddr), int(size)
        if size < 0:
            raise ValueError("negative size")
        if size > _TOP - (vaddr & _MASK):  # runs past 4 GiB: slowmem raises the fault
            return self.space.slow.read(vaddr, size)
        block = self._block()
        out = np.empty(size, dtype=np.uint8)
        status = kernels_trap.read_bytes(self._ttable, self._mem, vaddr & _MASK, out, block)
        if status == 0:
            return out.tobytes()
        if status == 2:
            self._restore(block)
        return self.space.slow.read(vaddr, size)

    def write(self, vaddr: int, data: bytes | bytearray | memoryview | np.ndarray) -> None:
        raw = _raw_bytes(data)
        block = self._block()
        status = kernels_trap.write_bytes(self._ttable, self._mem, int(vaddr) & _MASK, raw, block)
        if status:
            if status == 2:
                self._restore(block)
            self.space.slow.write(vaddr, raw)

    def read_batch(self, addrs: np.ndarray, width: int = 4, out: np.ndarray | None = None) -> np.ndarray:
        _check_width(width)
        addrs = _addresses(addrs)
        out = _batch_out(out, len(addrs), width)
        block = self._block()
        start = 0
        while True:
            stop, trapped = kernels_trap.read_batch(self._ttable, self._mem, addrs, width, out, start, block)
            if stop < 0:
                return out
            if trapped:
                self._restore(block)
                return self._read_batch_from(addrs, width, out, stop)
            out[stop] = self.space.slow.read_int(int(addrs[stop]), width)
            start = stop + 1

    def write_batch(self, addrs: np.ndarray, values: np.ndarray, width: int = 4) -> None:
        _check_width(width)
        addrs = _addresses(addrs)
        values = _values(values, len(addrs))
        block = self._block()
        start = 0
        while True:
            stop, trapped = kernels_trap.write_batch(self._ttable, self._mem, addrs, values, width, start, block)
            if stop < 0:
                return
            if trapped:
                self._restore(block)
                self._write_batch_from(addrs, values, width, stop)
                return
            self.space.slow.write_int(int(addrs[stop]), width, int(values[stop]))
            start = stop + 1

    def copy_from(self, src: AddressSpace, src_addr: int, dst_addr: int, size: int) -> None:
        size = int(size)
        if size < 0:
            raise ValueError("negative size")
        src_addr, dst_addr = int(src_addr) & _MASK, int(dst_addr) & _MASK
        src_path = src.path(self.name)
        if src_path.__class__ is not FastTrapMem:  # (the entry below takes this class's arrays only)
            raise TypeError(f"fastmem_trap copies only from a fastmem_trap path, not {src_path.name}")
        block = self._block()
        src_path._block()  # the source's slab must be live too
        status = (self._trap_copy or self._bind_trap_copy(block))(
            src_path._ttable, src_path._mem, src_path._frames, src_addr,
            self._ttable, self._mem, self._frames, dst_addr, size, block)
        if status == kernels.COPY_DONE:
            return
        if status == kernels.COPY_BOUNCE:  # frames may overlap: checked fastmem's buffered copy
            FastMem.copy_from(self, src, src_addr, dst_addr, size)
            return
        if status == kernels_trap.COPY_TRAPPED:
            self._restore(block, src)
        self.space.slow.copy_from(src, src_addr, dst_addr, size)
