"""The guest memory system.

Physical memory (:class:`PhysicalMemory`) is one host shared-memory object.
Each process has an :class:`AddressSpace`: a numpy page table, fault
counters and, with the fastmem backend, a 4 GiB host slab. Three paths read
and write it with one interface (``space.slow``, ``space.semifast``,
``space.fast``; ``space.mem`` is the one the backend chose).
"""

from hlemu.memory.backend import BACKENDS, CHOICES, BackendChoice, BackendError, choose_backend
from hlemu.memory.constants import (
    PAGE_SIZE,
    FaultKind,
    MemoryPermission,
    MemoryState,
    SpecialKind,
)
from hlemu.memory.faults import FaultCounters, GuestFault
from hlemu.memory.pagetable import MemoryInfo, PageTable
from hlemu.memory.paths import FastMem, MemoryPath, SemiFastMem, SlowMem
from hlemu.memory.physical import OutOfMemory, PhysicalMemory
from hlemu.memory.space import AddressSpace, MapError, PageEntry, WatchHit, Watchpoint
from hlemu.memory.special import MmioHandler, WriteTracker
from hlemu.memory.system import MemorySystem

__all__ = [
    "BACKENDS", "CHOICES", "PAGE_SIZE", "AddressSpace", "BackendChoice", "BackendError", "FastMem",
    "FaultCounters", "FaultKind", "GuestFault", "MapError", "MemoryInfo", "MemoryPath", "MemoryPermission",
    "MemoryState", "MemorySystem", "MmioHandler", "OutOfMemory", "PageEntry", "PageTable", "PhysicalMemory",
    "SemiFastMem", "SlowMem", "SpecialKind", "WatchHit", "Watchpoint", "WriteTracker", "choose_backend",
]
