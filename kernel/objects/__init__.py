"""Kernel objects, one small module each."""

from kernel.objects.arbiter import AddressArbiter, ArbitrationType
from kernel.objects.base import KernelObject, WaitObject
from kernel.objects.event import Event, ResetType
from kernel.objects.memory_block import MemoryBlock
from kernel.objects.mutex import Mutex
from kernel.objects.semaphore import Semaphore
from kernel.objects.timer import Timer

__all__ = ["AddressArbiter", "ArbitrationType", "Event", "KernelObject", "MemoryBlock", "Mutex", "ResetType",
           "Semaphore", "Timer", "WaitObject"]
