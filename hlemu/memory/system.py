"""The memory system: physical memory, the backend decision, address spaces."""

from __future__ import annotations

import numpy as np

from hlemu.memory.backend import BackendChoice, choose_backend
from hlemu.memory.physical import DEFAULT_LAYOUT, PhysicalMemory
from hlemu.memory.slab import Slab
from hlemu.memory.space import AddressSpace


class MemorySystem:
    """Owns physical memory and creates one :class:`AddressSpace` per process.

    ``backend`` is ``auto`` (fastmem where possible), ``fastmem``,
    ``fastmem_trap``, ``semifastmem`` or ``slowmem``; ``host_page_size`` decides as if the
    host had that page size.

    >>> system = MemorySystem(backend="auto", host_page_size=65536)
    >>> system.choice.name, system.create_space(1).slab is None
    ('semifastmem', True)
    """

    def __init__(self, backend: str = "auto", host_page_size: int | None = None,
                 layout: tuple[tuple[str, int, int], ...] = DEFAULT_LAYOUT) -> None:
        self.choice: BackendChoice = choose_backend(backend, host_page_size)
        self.phys = PhysicalMemory(layout)
        self.spaces: dict[int, AddressSpace] = {}

    @property
    def backend(self) -> str:
        return self.choice.name

    def create_space(self, pid: int, name: str = "", with_slab: bool | None = None) -> AddressSpace:
        """A new address space. It gets a slab when the backend is fastmem
        or fastmem_trap (or when ``with_slab`` says so, e.g. to compare paths)."""
        if pid in self.spaces:
            raise ValueError(f"pid {pid} already has an address space")
        want_slab = self.backend in ("fastmem", "fastmem_trap") if with_slab is None else with_slab
        slab = Slab(self.phys.fd) if want_slab else None
        space = AddressSpace(self.phys, pid, name, slab=slab, backend=self.backend)
        self.spaces[pid] = space
        return space

    def destroy_space(self, pid: int) -> None:
        space = self.spaces.pop(pid)
        space.close()

    def shared_with(self, space: AddressSpace, vaddr: int) -> list[int]:
        """Pids of the other spaces that map the frame behind ``vaddr``."""
        return self.sharers(space, [vaddr])[0]

    def sharers(self, space: AddressSpace, vaddrs: list[int]) -> list[list[int]]:
        """For each of ``vaddrs``: the pids of the other spaces that map the frame behind it.

        Frames mapped once (by ``space`` alone, says the map count) need no search; the
        others are looked up in each other space's mapped frames, one pass per space.
        """
        frames = space.table.frame[[(v & 0xFFFFFFFF) >> 12 for v in vaddrs]].astype(np.int64)
        found: list[list[int]] = [[] for _ in vaddrs]
        wanted = (frames >= 0) & (self.phys.map_count[np.maximum(frames, 0)] >= 2)
        if not wanted.any():
            return found
        for pid, other in self.spaces.items():
            if other is space:
                continue
            mapped = other.table.frame[other.table.frame >= 0]
            for i in np.flatnonzero(wanted & np.isin(frames, mapped)):
                found[i].append(pid)
        return found

    def close(self) -> None:
        for pid in list(self.spaces):
            self.destroy_space(pid)
        self.phys.close()
