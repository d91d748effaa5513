"""A memory scanner, as cheat tools have: find a value, let the guest run, narrow down.

The first scan searches every readable memory page of the process for the value's bytes
(the compiled search of its memory path); each rescan reads every candidate again in one
numba kernel over the same (page table, memory) arrays the path uses, and keeps those that
meet the condition: changed, unchanged, increased, decreased, or equal to a value.
Candidates whose page has gone (unmapped, MMIO) drop out. Values are unsigned integers of
``width`` bytes, little-endian.

>>> from hlemu.memory import MemorySystem, MemoryPermission, MemoryState
>>> system = MemorySystem(backend="semifastmem")
>>> space = system.create_space(1)
>>> space.map(0x08000000, system.phys.allocate("APPLICATION", 1), MemoryPermission.RW, MemoryState.PRIVATE)
>>> for addr in (0x08000010, 0x08000100, 0x08000200):
...     space.mem.write32(addr, 5)
>>> scan = Scan(space, 5)
>>> len(scan)
3
>>> space.mem.write32(0x08000100, 8)
>>> [hex(a) for a in scan.rescan("increased")]
['0x8000100']
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hlemu.memory.constants import FAST_READ
from hlemu.memory.kernels import translate
from hlemu.memory.paths import CompiledPath
from hlemu.memory.space import AddressSpace

CONDITIONS = {"changed": 0, "unchanged": 1, "increased": 2, "decreased": 3, "equal": 4, "not_equal": 5}
_LIMIT = 1 << 22  # candidates a first scan keeps at most


@njit(cache=True, nogil=True)
def rescan_kernel(table, mem, addrs, old, width, mode, wanted, keep_addrs, keep_values):  # pragma: no cover - numba
    """Read each candidate through (``table``, ``mem``), compare with ``old`` by ``mode``
    (see CONDITIONS), write the survivors; return how many. Unreadable ones drop out."""
    kept = 0
    for i in range(addrs.shape[0]):
        v = addrs[i]
        p = translate(table, mem, v, FAST_READ)
        q = translate(table, mem, v + width - 1, FAST_READ)
        if p < 0 or q < 0:
            continue
        value = np.uint64(0)
        for j in range(width):
            b = mem[p + j] if ((v & 0xFFF) + j) < 4096 else mem[translate(table, mem, v + j, FAST_READ)]
            value |= np.uint64(b) << np.uint64(8 * j)
        before = old[i]
        if mode == 0:
            ok = value != before
        elif mode == 1:
            ok = value == before
        elif mode == 2:
            ok = value > before
        elif mode == 3:
            ok = value < before
        elif mode == 4:
            ok = value == wanted
        else:
            ok = value != wanted
        if ok:
            keep_addrs[kept] = v
            keep_values[kept] = value
            kept += 1
    return kept


class Scan:
    """Candidates for where a value lives in one process; ``rescan`` narrows them down."""

    def __init__(self, space: AddressSpace, value: int | bytes, width: int = 4, align: int | None = None,
                 start: int = 0, end: int = 1 << 32) -> None:
        if width not in (1, 2, 4, 8):
            raise ValueError(f"width must be 1, 2, 4 or 8 bytes, not {width}")
        self.space = space
        self.width = width
        if isinstance(value, int):
            pattern = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
            align = width if align is None else align
        else:
            pattern, align = bytes(value), 1 if align is None else align
        self.history: list[int] = []
        found = space.mem.search(pattern, start, end, align=align, limit=_LIMIT)
        self.addresses = np.asarray(found, dtype=np.int64)
        self.values = np.full(len(found), int.from_bytes(pattern[:width].ljust(width, b"\0"), "little"),
                              dtype=np.uint64)
        self.history.append(len(found))

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        path = self.space.mem
        if isinstance(path, CompiledPath):
            return path.arrays()
        return self.space.semifast.arrays()  # slowmem processes: the same pages, compiled

    def rescan(self, condition: str | int = "changed", value: int | None = None) -> list[int]:
        """Keep the candidates whose value now meets ``condition`` (changed, unchanged,
        increased, decreased, equal, not_equal; an int means ``equal`` to it); the survivors."""
        if isinstance(condition, int):
            value = condition
            condition = "equal"
        if condition not in CONDITIONS:
            raise ValueError(f"unknown condition {condition!r} (have {', '.join(CONDITIONS)})")
        if condition in ("equal", "not_equal") and value is None:
            raise ValueError(f"{condition} needs a value")
        table, mem = self._arrays()
        n = len(self.addresses)
        keep_addrs = np.empty(n, dtype=np.int64)
        keep_values = np.empty(n, dtype=np.uint64)
        wanted = np.uint64((value or 0) & ((1 << (8 * self.width)) - 1))
        kept = rescan_kernel(table, mem, self.addresses, self.values, self.width, CONDITIONS[condition], wanted,
                             keep_addrs, keep_values)
        self.addresses, self.values = keep_addrs[:kept].copy(), keep_values[:kept].copy()
        self.history.append(kept)
        return self.addresses.tolist()

    def __len__(self) -> int:
        return len(self.addresses)

    def __iter__(self):  # noqa: ANN204 - (address, value) pairs
        return iter(zip(self.addresses.tolist(), self.values.tolist(), strict=True))

    def __repr__(self) -> str:
        narrowing = " -> ".join(map(str, self.history))
        return f"<Scan pid {self.space.pid}, {self.width}-byte values: {narrowing} candidates>"
