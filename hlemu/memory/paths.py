"""The three memory access paths behind one interface.

``SlowMem`` is Python: it checks every page, counts faults, calls special
pages' handlers and raises :class:`GuestFault`. ``SemiFastMem`` and
``FastMem`` run the compiled kernels of :mod:`hlemu.memory.kernels` and hand
any operation they cannot finish with plain memory to the space's SlowMem,
so the three always agree on values, faults and counters.

>>> from hlemu.memory import MemorySystem, MemoryPermission, MemoryState
>>> system = MemorySystem(backend="fastmem")
>>> space = system.create_space(pid=1, name="demo")
>>> space.map(0x08000000, system.phys.allocate("APPLICATION", 2), MemoryPermission.RW, MemoryState.PRIVATE)
>>> space.semifast.write32(0x08000ffe, 0xCAFEF00D)   # crosses into the next page
>>> hex(space.fast.read32(0x08000ffe)), hex(space.slow.read16(0x08001000))
('0xcafef00d', '0xcafe')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlemu.memory import kernels
from hlemu.memory.constants import PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, FaultKind, MemoryPermission
from hlemu.memory.constants import SPECIAL_MMIO as _MMIO
from hlemu.memory.constants import SPECIAL_NONE as _NONE
from hlemu.memory.constants import SPECIAL_TRACKED as _TRACKED
from hlemu.memory.constants import SPECIAL_WATCH as _WATCH
from hlemu.memory.faults import GuestFault

if TYPE_CHECKING:
    from hlemu.memory.space import AddressSpace

_TOP = 1 << 32
_WIDTH_DTYPES = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
_COPY_DONE, _COPY_BOUNCE = kernels.COPY_DONE, kernels.COPY_BOUNCE  # (copy_from: no module lookups)


class MemoryPath:
    """Operations every path offers; subclasses supply the primitives."""

    name = "abstract"

    def __init__(self, space: AddressSpace) -> None:
        self.space = space

    # -- primitives (per path) --------------------------------------------
    def read_int(self, vaddr: int, size: int) -> int:
        raise NotImplementedError

    def write_int(self, vaddr: int, size: int, value: int) -> None:
        raise NotImplementedError

    def read(self, vaddr: int, size: int) -> bytes:
        raise NotImplementedError

    def write(self, vaddr: int, data: bytes | bytearray | memoryview | np.ndarray) -> None:
        raise NotImplementedError

    def read_batch(self, addrs: np.ndarray, width: int = 4, out: np.ndarray | None = None) -> np.ndarray:
        """Values at each address of ``addrs`` (into ``out`` when given)."""
        raise NotImplementedError

    def write_batch(self, addrs: np.ndarray, values: np.ndarray, width: int = 4) -> None:
        raise NotImplementedError

    def copy_from(self, src: AddressSpace, src_addr: int, dst_addr: int, size: int) -> None:
        """Copy ``size`` bytes from ``src`` at ``src_addr`` to this space at ``dst_addr``."""
        raise NotImplementedError

    def search(self, pattern: bytes, start: int = 0, end: int = _TOP, align: int = 1,
               limit: int = 1024) -> list[int]:
        """Addresses of ``pattern`` in readable memory (MMIO pages are never read)."""
        raise NotImplementedError

    # -- derived ------------------------------------------------------------
    def read8(self, vaddr: int) -> int:
        return self.read_int(vaddr, 1)

    def read16(self, vaddr: int) -> int:
        return self.read_int(vaddr, 2)

    def read32(self, vaddr: int) -> int:
        return self.read_int(vaddr, 4)

    def read64(self, vaddr: int) -> int:
        return self.read_int(vaddr, 8)

    def write8(self, vaddr: int, value: int) -> None:
        self.write_int(vaddr, 1, value)

    def write16(self, vaddr: int, value: int) -> None:
        self.write_int(vaddr, 2, value)

    def write32(self, vaddr: int, value: int) -> None:
        self.write_int(vaddr, 4, value)

    def write64(self, vaddr: int, value: int) -> None:
        self.write_int(vaddr, 8, value)

    def read_string(self, vaddr: int, max_len: int = 4096, encoding: str = "utf-8") -> str:
        """A NUL-terminated string, read a page at a time (never past ``max_len`` bytes)."""
        out = bytearray()
        addr = vaddr & 0xFFFFFFFF
        while len(out) < max_len:
            chunk = self.read(addr, min(PAGE_SIZE - (addr & PAGE_MASK), max_len - len(out)))
            nul = chunk.find(b"\0")
            if nul >= 0:
                out += chunk[:nul]
                break
            out += chunk
            addr += len(chunk)
            if addr >= _TOP:
                break
        return out.decode(encoding, errors="replace")

    def search_value(self, value: int, width: int = 4, **kwargs: int) -> list[int]:
        """Aligned little-endian occurrences of an integer ``value``."""
        kwargs.setdefault("align", width)
        return self.search((value & ((1 << (8 * width)) - 1)).to_bytes(width, "little"), **kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of process {self.space.pid}>"


def _check_width(width: int) -> None:
    if width not in _WIDTH_DTYPES:
        raise ValueError(f"access width must be 1, 2, 4 or 8, not {width}")


_PLAIN_READ = (_NONE, _TRACKED)  # read as plain memory


def _addresses(addrs: np.ndarray | list[int]) -> np.ndarray:
    """Guest addresses as a contiguous uint32 array (anything else taken modulo 2**32)."""
    a = np.asarray(addrs)
    if a.dtype == np.uint32:
        return np.ascontiguousarray(a)
    if a.dtype.kind in "iu":
        return (a.astype(np.int64) & 0xFFFFFFFF).astype(np.uint32)
    return np.array([int(x) & 0xFFFFFFFF for x in a.ravel()], dtype=np.uint32)


def _values(values: np.ndarray | list[int], n: int) -> np.ndarray:
    """Batch values as uint64, exactly (a Python list with big ints would become float64)."""
    v = values if isinstance(values, np.ndarray) else np.array([int(x) & 0xFFFFFFFFFFFFFFFF for x in values],
                                                                dtype=np.uint64)
    if v.dtype.kind not in "iu":
        raise ValueError(f"write_batch values must be integers, not {v.dtype}")
    if len(v) != n:
        raise ValueError("write_batch needs one value per address")
    return np.ascontiguousarray(v).astype(np.uint64)


def _raw_bytes(data: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """Any buffer as a contiguous uint8 array (strided views are copied, never read raw)."""
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).view(np.uint8).reshape(-1)
    if isinstance(data, memoryview) and not data.c_contiguous:
        data = data.tobytes()
    return np.frombuffer(data, dtype=np.uint8)


def _batch_out(out: np.ndarray | None, n: int, width: int) -> np.ndarray:
    dtype = _WIDTH_DTYPES[width]
    if out is None:
        return np.zeros(n, dtype=dtype)
    if out.shape != (n,) or out.dtype != dtype or not out.flags.c_contiguous:
        raise ValueError(f"out must be a contiguous {np.dtype(dtype).name} array of {n} values")
    return out


class SlowMem(MemoryPath):
    """Every access in Python: checks, counters, special-page handlers."""

    name = "slowmem"

    def __init__(self, space: AddressSpace) -> None:
        super().__init__(space)
        self._phys = space.phys.data.data  # byte slices without numpy's per-call cost

    # -- checking -------------------------------------------------------------
    def _pieces(self, vaddr: int, size: int, access: str) -> list[tuple[int, int, int]]:
        """Split ``[vaddr, vaddr+size)`` by page as (vaddr, length, vpn), checking each.

        Raises the fault of the first bad page before anything moves.
        """
        space = self.space
        table = space.table
        vaddr = int(vaddr) & 0xFFFFFFFF
        size = int(size)
        if vaddr + size > _TOP:
            space.faults.bump(FaultKind.UNMAPPED, 0)
            raise GuestFault(space.pid, vaddr, size, access, "unmapped", fault_address=0)
        need = MemoryPermission.R if access == "read" else MemoryPermission.W
        pieces = []
        addr, end = vaddr, vaddr + size
        while addr < end:
            vpn = addr >> PAGE_SHIFT
            length = min(end, (vpn + 1) << PAGE_SHIFT) - addr
            if table.state[vpn] == 0:
                space.faults.bump(FaultKind.UNMAPPED, addr)
                raise GuestFault(space.pid, vaddr, size, access, "unmapped", fault_address=addr)
            if not table.perm[vpn] & need:
                space.faults.bump(FaultKind.PERMISSION, addr)
                raise GuestFault(space.pid, vaddr, size, access, "permission", fault_address=addr)
            pieces.append((addr, length, vpn))
            addr += length
        return pieces

    def _offset(self, addr: int, vpn: int) -> int:
        return int(self.space.table.frame[vpn]) * PAGE_SIZE + (addr & PAGE_MASK)

    # -- reads ------------------------------------------------------------------
    def read(self, vaddr: int, size: int) -> bytes:
        if size < 0:
            raise ValueError("negative size")
        out = bytearray()
        for addr, length, vpn in self._pieces(vaddr, size, "read"):
            out += self._read_piece(addr, length, vpn)
        return bytes(out)

    def _read_piece(self, addr: int, length: int, vpn: int) -> bytes:
        space = self.space
        special = space.table.special[vpn]
        if special == _MMIO:
            space.faults.bump(FaultKind.SPECIAL, addr)
            handler = space.mmio[vpn]
            return bytes(handler.read(space, addr + i, 1) & 0xFF for i in range(length))
        off = self._offset(addr, vpn)
        data = space.phys.data[off : off + length].tobytes()
        if special == _WATCH:
            space.faults.bump(FaultKind.SPECIAL, addr)
            space.watch_access(addr, data, "read")
        return data

    def read_int(self, vaddr: int, size: int) -> int:
        _check_width(size)
        vaddr = int(vaddr) & 0xFFFFFFFF
        off = vaddr & PAGE_MASK
        if off + size <= PAGE_SIZE:  # one plain readable page: no list, no join
            vpn = vaddr >> PAGE_SHIFT
            t = self.space.table
            if t.state.item(vpn) and t.perm.item(vpn) & 1 and t.special.item(vpn) in _PLAIN_READ:
                p = (t.frame.item(vpn) << PAGE_SHIFT) | off
                return int.from_bytes(self._phys[p : p + size], "little")
        pieces = self._pieces(vaddr, size, "read")
        space = self.space
        if len(pieces) == 1 and space.table.special[pieces[0][2]] == _MMIO:
            addr, _, vpn = pieces[0]
            space.faults.bump(FaultKind.SPECIAL, addr)
            return space.mmio[vpn].read(space, addr, size) & ((1 << (8 * size)) - 1)
        data = b"".join(self._read_piece(*piece) for piece in pieces)
        return int.from_bytes(data, "little")

    # -- writes -----------------------------------------------------------------
    def write(self, vaddr: int, data: bytes | bytearray | memoryview | np.ndarray) -> None:
        raw = _raw_bytes(data)
        done = 0
        pieces = self._pieces(vaddr, len(raw), "write")
        if len(pieces) > 2 and self._note_tracked(pieces):
            self._write_runs(pieces, raw)
            return
        for addr, length, vpn in pieces:
            self._write_piece(addr, raw[done : done + length], vpn)
            done += length

    def _note_tracked(self, pieces: list[tuple[int, int, int]]) -> bool:
        """A write over several pages, all plain or write-tracked (a framebuffer): the clean
        tracked ones are noted together (:meth:`AddressSpace.note_tracked_writes`), before
        any byte is written, as the pieces would each note theirs before writing it. False
        (nothing noted) when MMIO or watched pages are among them: each piece in its turn."""
        table = self.space.table
        vpns = [vpn for _, _, vpn in pieces]
        special = table.special[vpns]
        if not ((special == _NONE) | (special == _TRACKED)).all():
            return False
        clean = [vpn for vpn, kind, dirty in zip(vpns, special.tolist(), table.wdirty[vpns].tolist(), strict=True)
                 if kind == _TRACKED and not dirty]
        if clean:
            self.space.note_tracked_writes(clean)
        return True

    def _write_runs(self, pieces: list[tuple[int, int, int]], raw: np.ndarray) -> None:
        """Write ``raw`` over pages now all plain (tracked ones noted): one copy a run of
        consecutive frames, not one a page."""
        frames = self.space.table.frame[[vpn for _, _, vpn in pieces]].astype(np.int64)
        cuts = [0, *(np.flatnonzero(frames[1:] != frames[:-1] + 1) + 1).tolist(), len(pieces)]
        data, done = self.space.phys.data, 0
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            length = sum(piece[1] for piece in pieces[a:b])
            off = int(frames[a]) * PAGE_SIZE + (pieces[a][0] & PAGE_MASK)
            data[off : off + length] = raw[done : done + length]
            done += length

    def _write_piece(self, addr: int, chunk: np.ndarray, vpn: int) -> None:
        space = self.space
        special = space.table.special[vpn]
        if special == _MMIO:
            space.faults.bump(FaultKind.SPECIAL, addr)
            handler = space.mmio[vpn]
            for i, byte in enumerate(chunk.tolist()):
                handler.write(space, addr + i, 1, byte)
            return
        if special == _TRACKED and not space.table.wdirty[vpn]:
            space.note_tracked_write(vpn)
        off = self._offset(addr, vpn)
        space.phys.data[off : off + len(chunk)] = chunk
        if special == _WATCH:
            space.faults.bump(FaultKind.SPECIAL, addr)
            space.watch_access(addr, chunk.tobytes(), "write")

    def write_int(self, vaddr: int, size: int, value: int) -> None:
        _check_width(size)
        value = int(value) & ((1 << (8 * size)) - 1)
        vaddr = int(vaddr) & 0xFFFFFFFF
        off = vaddr & PAGE_MASK
        if off + size <= PAGE_SIZE:  # one plain writable page
            vpn = vaddr >> PAGE_SHIFT
            t = self.space.table
            special = t.special.item(vpn)
            if t.state.item(vpn) and t.perm.item(vpn) & 2 and (special == _NONE or special == _TRACKED):
                if special == _TRACKED and not t.wdirty.item(vpn):
                    # the first write to a clean write-tracked page (fastmem's CPU sends it here)
                    self.space.note_tracked_write(vpn)
                p = (t.frame.item(vpn) << PAGE_SHIFT) | off
                self._phys[p : p + size] = value.to_bytes(size, "little")
                return
        pieces = self._pieces(vaddr, size, "write")
        space = self.space
        if len(pieces) == 1 and space.table.special[pieces[0][2]] == _MMIO:
            addr, _, vpn = pieces[0]
            space.faults.bump(FaultKind.SPECIAL, addr)
            space.mmio[vpn].write(space, addr, size, value)
            return
        raw = np.frombuffer(value.to_bytes(size, "little"), dtype=np.uint8)
        done = 0
        for addr, length, vpn in pieces:
            self._write_piece(addr, raw[done : done + length], vpn)
            done += length

    # -- bulk -----------------------------------------------------------------
    def read_batch(self, addrs: np.ndarray, width: int = 4, out: np.ndarray | None = None) -> np.ndarray:
        _check_width(width)
        addrs = _addresses(addrs)
        out = _batch_out(out, len(addrs), width)
        for i, addr in enumerate(addrs.tolist()):
            out[i] = self.read_int(addr, width)
        return out

    def write_batch(self, addrs: np.ndarray, values: np.ndarray, width: int = 4) -> None:
        _check_width(width)
        addr_array = _addresses(addrs)
        value_array = _values(values, len(addr_array))
        for addr, value in zip(addr_array.tolist(), value_array.tolist(), strict=True):
            self.write_int(addr, width, value)

    def copy_from(self, src: AddressSpace, src_addr: int, dst_addr: int, size: int) -> None:
        data = src.slow.read(src_addr, size)
        self.write(dst_addr, data)

    def search(self, pattern: bytes, start: int = 0, end: int = _TOP, align: int = 1,
               limit: int = 1024) -> list[int]:
        _check_search(pattern, align)
        start, end = max(int(start), 0), min(int(end), _TOP)
        table = self.space.table
        readable = table.access != 0  # FAST_READ is set exactly on readable memory pages
        found: list[int] = []
        lo_vpn, hi_vpn = start >> PAGE_SHIFT, (min(end, _TOP) + PAGE_MASK) >> PAGE_SHIFT
        vpns = np.flatnonzero(readable[lo_vpn:hi_vpn]) + lo_vpn
        if len(vpns) == 0:
            return found
        breaks = np.flatnonzero(np.diff(vpns) != 1) + 1
        for run in np.split(vpns, breaks):
            run_lo = max(int(run[0]) << PAGE_SHIFT, start)
            run_hi = min((int(run[-1]) + 1) << PAGE_SHIFT, end)
            data = b"".join(self._read_piece(v << PAGE_SHIFT, PAGE_SIZE, v) for v in run.tolist())
            base = int(run[0]) << PAGE_SHIFT
            pos = run_lo
            while len(found) < limit:
                hit = data.find(pattern, pos - base, run_hi - base)
                if hit < 0:
                    break
                addr = base + hit
                if addr % align:
                    pos = addr + 1
                    continue
                found.append(addr)
                pos = addr + align
            if len(found) >= limit:
                break
        return found


def _check_search(pattern: bytes, align: int) -> None:
    if not pattern:
        raise ValueError("search pattern is empty")
    if align < 1:
        raise ValueError("align must be at least 1")


class CompiledPath(MemoryPath):
    """A path whose work runs in the numba kernels over (``table``, ``mem``)."""

    _slot: str  # the AddressSpace attribute that holds a space's path of this kind

    def __init__(self, space: AddressSpace) -> None:
        super().__init__(space)
        # The arrays keep their identity for the space's life (tables are
        # updated in place), so the scalar calls skip looking them up.
        self._table, self._mem = self.arrays()
        self._frames = space.table.frame
        # The kernels' entries for these arrays (kernels.entry_point), each bound on first use.
        self._load = self._store = self._copy = None
        self._read_bytes = self._write_bytes = self._write_frozen = None

    # Subclasses say which arrays the kernels see.
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def read_int(self, vaddr: int, size: int) -> int:
        if size not in _WIDTH_DTYPES:
            _check_width(size)
        load = self._load or self._bind("_load", kernels.load, 0, 4)
        ok, value = load(self._table, self._mem, int(vaddr) & 0xFFFFFFFF, int(size))
        return int(value) if ok else self.space.slow.read_int(vaddr, size)

    def write_int(self, vaddr: int, size: int, value: int) -> None:
        if size not in _WIDTH_DTYPES:
            _check_width(size)
        value = int(value) & ((1 << (8 * size)) - 1)
        store = self._store or self._bind("_store", kernels.store, 0, 4, np.uint64(0))
        # (a Python int unboxes into the uint64 in a third of the time an np.uint64 takes)
        if not store(self._table, self._mem, int(vaddr) & 0xFFFFFFFF, int(size), value):
            self.space.slow.write_int(vaddr, size, value)

    def read(self, vaddr: int, size: int) -> bytes:
        vaddr, size = int(vaddr), int(size)
        if size < 0:
            raise ValueError("negative size")
        if size > _TOP - (vaddr & 0xFFFFFFFF):  # runs past 4 GiB: slowmem raises the fault
            return self.space.slow.read(vaddr, size)
        out = np.empty(size, dtype=np.uint8)
        read_bytes = self._read_bytes or self._bind("_read_bytes", kernels.read_bytes, 0, out)
        if read_bytes(self._table, self._mem, vaddr & 0xFFFFFFFF, out):
            return out.tobytes()
        return self.space.slow.read(vaddr, size)

    def write(self, vaddr: int, data: bytes | bytearray | memoryview | np.ndarray) -> None:
        raw = _raw_bytes(data)  # contiguous uint8, read-only (from bytes) or not: an entry for each
        if raw.flags.writeable:
            write_bytes = self._write_bytes or self._bind("_write_bytes", kernels.write_bytes, 0, raw)
        else:
            write_bytes = self._write_frozen or self._bind("_write_frozen", kernels.write_bytes, 0, raw)
        if not write_bytes(self._table, self._mem, int(vaddr) & 0xFFFFFFFF, raw):
            self.space.slow.write(vaddr, raw)

    def read_batch(self, addrs: np.ndarray, width: int = 4, out: np.ndarray | None = None) -> np.ndarray:
        _check_width(width)
        addrs = _addresses(addrs)
        return self._read_batch_from(addrs, width, _batch_out(out, len(addrs), width), 0)

    def _read_batch_from(self, addrs: np.ndarray, width: int, out: np.ndarray, start: int) -> np.ndarray:
        """Fill ``out[start:]``: the kernel runs until a page it cannot serve, slowmem reads that one."""
        table, mem = self.arrays()
        while True:
            stop = kernels.read_batch(table, mem, addrs, width, out, start)
            if stop < 0:
                return out
            out[stop] = self.space.slow.read_int(int(addrs[stop]), width)
            start = stop + 1

    def write_batch(self, addrs: np.ndarray, values: np.ndarray, width: int = 4) -> None:
        _check_width(width)
        addrs = _addresses(addrs)
        self._write_batch_from(addrs, _values(values, len(addrs)), width, 0)

    def _write_batch_from(self, addrs: np.ndarray, values: np.ndarray, width: int, start: int) -> None:
        """Store ``values[start:]``: the kernel runs until a page it cannot serve, slowmem writes that one."""
        table, mem = self.arrays()
        while True:
            stop = kernels.write_batch(table, mem, addrs, values, width, start)
            if stop < 0:
                return
            self.space.slow.write_int(int(addrs[stop]), width, int(values[stop]))
            start = stop + 1

    def copy_from(self, src: AddressSpace, src_addr: int, dst_addr: int, size: int) -> None:
        size = int(size)
        src_addr = int(src_addr) & 0xFFFFFFFF
        dst_addr = int(dst_addr) & 0xFFFFFFFF
        if size < 0:
            raise ValueError("negative size")
        if size > _TOP - (src_addr if src_addr > dst_addr else dst_addr):  # past 4 GiB: slowmem faults
            self.space.slow.copy_from(src, src_addr, dst_addr, size)
            return
        # (this is most of a 64 KiB copy's fixed cost: no lookups it can do without, no dispatch)
        src_path = getattr(src, self._slot) or src.path(self.name)  # (path: the source's, or why not)
        if src_path.__class__ is not self.__class__:  # (a path's arrays' kinds follow from its class)
            raise TypeError(f"{self.name} copies only from a {self.name} path, not {src_path.name}")
        copy = self._copy or self._bind("_copy", kernels.copy, self._frames, 0, self._table, self._mem,
                                        self._frames, 0, 0)
        status = copy(src_path._table, src_path._mem, src_path._frames, src_addr,
                      self._table, self._mem, self._frames, dst_addr, size)
        if status != _COPY_DONE:
            if status == _COPY_BOUNCE:  # the frames may overlap: read all, then write all
                self.write(dst_addr, src_path.read(src_addr, size))
            else:
                self.space.slow.copy_from(src, src_addr, dst_addr, size)

    def _bind(self, attribute: str, kernel, *rest: object):  # noqa: ANN001, ANN202 - numba's objects
        """Keep, as ``attribute``, ``kernel``'s entry for this path's (table, mem) and arguments
        of the kinds of ``rest`` after them; returns it."""
        entry = kernels.entry_point(kernel, self._table, self._mem, *rest)
        setattr(self, attribute, entry)
        return entry

    def search(self, pattern: bytes, start: int = 0, end: int = _TOP, align: int = 1,
               limit: int = 1024) -> list[int]:
        _check_search(pattern, align)
        table, mem = self.arrays()
        needle = np.frombuffer(pattern, np.uint8)
        start, end = max(int(start), 0), min(int(end), _TOP)
        found: list[int] = []
        while len(found) < limit:  # in chunks, so a huge limit allocates nothing huge
            out = np.zeros(min(limit - len(found), 1 << 16), dtype=np.int64)
            count = kernels.search(table, mem, needle, start, end, align, out)
            found += out[:count].tolist()
            if count < len(out):
                break
            start = found[-1] + align
        return found


class SemiFastMem(CompiledPath):
    """Compiled page-table walk over physical memory."""

    name = "semifastmem"
    _slot = "semifast"

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self.space.table.fast, self.space.phys.data


class FastMem(CompiledPath):
    """Compiled access through the host slab: guest vaddr v is slab + v."""

    name = "fastmem"
    _slot = "fast"

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        slab = self.space.slab
        if slab is None or slab.closed:
            raise RuntimeError(f"process {self.space.pid} has no slab; fastmem is not available")
        return self.space.table.access, slab.view
