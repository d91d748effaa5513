"""How much guest physical memory each process holds: RSS, PSS and USS, by memory state.

For every physical frame mapped by a process (counted once however many of its pages map
it), RSS counts the whole page, PSS counts the page divided by the number of processes
mapping the frame, and USS counts it only when no other process maps it. So over all
processes PSS adds up to the physical memory in use; two processes sharing a 4 KiB block
each carry 2 KiB of it. A frame's memory state is that of the process's first page that
maps it.

>>> from hlemu.memory import MemorySystem, MemoryPermission, MemoryState
>>> system = MemorySystem(backend="semifastmem")
>>> a, b = system.create_space(1), system.create_space(2)
>>> own = system.phys.allocate("APPLICATION", 3)
>>> shared = system.phys.allocate("APPLICATION", 2)
>>> a.map(0x08000000, own, MemoryPermission.RW, MemoryState.PRIVATE)
>>> a.map(0x10000000, shared, MemoryPermission.RW, MemoryState.SHARED)
>>> b.map(0x10000000, shared, MemoryPermission.R, MemoryState.SHARED)
>>> fa = footprints(system.spaces)[1]
>>> fa.rss, fa.pss, fa.uss, fa.by_state["shared"].pss
(20480, 16384, 12288, 4096)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from hlemu.memory.constants import PAGE_SIZE, MemoryState
from hlemu.memory.physical import PhysicalMemory
from hlemu.memory.space import AddressSpace


@dataclass
class Usage:
    rss: int = 0
    pss: int = 0
    uss: int = 0

    def add(self, other: Usage) -> None:
        self.rss += other.rss
        self.pss += other.pss
        self.uss += other.uss


@dataclass
class Footprint(Usage):
    """One process's (or, as ``system``, everyone's) usage in bytes; ``by_state``: the same
    split by 3DS memory state (``code``, ``private``, ``shared``, ``linear``...)."""

    pid: int = -1
    by_state: dict[str, Usage] = field(default_factory=dict)

    def __str__(self) -> str:
        who = "system" if self.pid < 0 else f"pid {self.pid}"
        return f"{who}: RSS {self.rss // 1024} KiB, PSS {self.pss / 1024:.1f} KiB, USS {self.uss // 1024} KiB"


def _frames_and_states(space: AddressSpace) -> tuple[np.ndarray, np.ndarray]:
    """The distinct frames a space maps, with the state of the first page mapping each."""
    table = space.table
    vpns = np.flatnonzero(table.frame >= 0)
    frames, first = np.unique(table.frame[vpns], return_index=True)
    return frames.astype(np.int64), np.asarray(table.state[vpns[first]], dtype=np.uint8)


def footprints(spaces: Mapping[int, AddressSpace]) -> dict[int, Footprint]:
    """Footprints of every space, by pid; the key -1 holds the whole system's."""
    mapped = {pid: _frames_and_states(space) for pid, space in spaces.items()}
    everything = np.concatenate([f for f, _ in mapped.values()]) if mapped else np.zeros(0, np.int64)
    sharers = np.bincount(everything, minlength=int(everything.max()) + 1 if len(everything) else 0)
    out: dict[int, Footprint] = {}
    system = Footprint(pid=-1)
    for pid, (frames, states) in mapped.items():
        out[pid] = _one(pid, frames, states, sharers)
    if len(everything):
        distinct = np.flatnonzero(sharers)
        system.rss = system.pss = len(distinct) * PAGE_SIZE
        system.uss = int((sharers == 1).sum()) * PAGE_SIZE
        for fp in out.values():
            for state, usage in fp.by_state.items():
                system.by_state.setdefault(state, Usage()).pss += usage.pss
        for usage in system.by_state.values():
            usage.rss = usage.pss
    out[-1] = system
    return out


def _one(pid: int, frames: np.ndarray, states: np.ndarray, sharers: np.ndarray) -> Footprint:
    fp = Footprint(pid=pid)
    counts = sharers[frames]
    for state in np.unique(states).tolist():
        pick = states == state
        usage = _usage(counts[pick])
        fp.by_state[MemoryState(state).name.lower()] = usage
        fp.add(usage)
    return fp


def _usage(counts: np.ndarray) -> Usage:
    # PSS in whole bytes: a page shared by 3 gives 1365 to each (the remainder is lost, as in Linux's /proc)
    return Usage(rss=len(counts) * PAGE_SIZE, pss=int((PAGE_SIZE // counts).sum()),
                 uss=int((counts == 1).sum()) * PAGE_SIZE)


FREE, HELD, SHARED = -1, -2, -3  # frame_owners' values for frames no single process owns


def frame_owners(phys: PhysicalMemory, spaces: Mapping[int, AddressSpace]) -> np.ndarray:
    """Who holds each physical frame (FCRAM, then VRAM): the pid of the one space mapping
    it, ``SHARED`` when several do, ``HELD`` when it is allocated but unmapped (the
    kernel's: config memory, a service's buffers, code kept for its instances), ``FREE``.

    >>> from hlemu.memory import MemorySystem, MemoryPermission, MemoryState
    >>> system = MemorySystem(backend="semifastmem")
    >>> a, b = system.create_space(1), system.create_space(2)
    >>> mine, ours, kept = (system.phys.allocate("APPLICATION", n) for n in (2, 1, 1))
    >>> a.map(0x08000000, mine, MemoryPermission.RW, MemoryState.PRIVATE)
    >>> a.map(0x10000000, ours, MemoryPermission.RW, MemoryState.SHARED)
    >>> b.map(0x10000000, ours, MemoryPermission.R, MemoryState.SHARED)
    >>> frame_owners(system.phys, system.spaces)[:6].tolist()
    [1, 1, -3, -2, -1, -1]
    """
    owners = np.full(phys.num_frames, HELD, dtype=np.int32)
    owners[phys.is_free(np.arange(phys.num_frames))] = FREE
    count = np.zeros(phys.num_frames, dtype=np.int32)
    for pid, space in spaces.items():
        frames = np.unique(space.table.frame[space.table.frame >= 0]).astype(np.int64)
        count[frames] += 1
        owners[frames] = pid
    owners[count >= 2] = SHARED
    return owners
