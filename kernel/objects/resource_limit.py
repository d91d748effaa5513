"""Resource limits (svcGetResourceLimit and friends): what an application may use.

Limits are those of the 3DS APPLICATION category as Citra sets them; the
current values are counted from the process's real state.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

from kernel.objects.base import KernelObject

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.process import Process


class ResourceType(IntEnum):
    PRIORITY = 0
    COMMIT = 1
    THREAD = 2
    EVENT = 3
    MUTEX = 4
    SEMAPHORE = 5
    TIMER = 6
    SHARED_MEMORY = 7
    ADDRESS_ARBITER = 8
    CPU_TIME = 9


APPLICATION_LIMITS = {
    ResourceType.PRIORITY: 0x18, ResourceType.COMMIT: 0x4000000, ResourceType.THREAD: 0x20,
    ResourceType.EVENT: 0x20, ResourceType.MUTEX: 0x20, ResourceType.SEMAPHORE: 8, ResourceType.TIMER: 8,
    ResourceType.SHARED_MEMORY: 0x10, ResourceType.ADDRESS_ARBITER: 2, ResourceType.CPU_TIME: 0x1E,
}

_COUNTED = {ResourceType.EVENT: "event", ResourceType.MUTEX: "mutex", ResourceType.SEMAPHORE: "semaphore",
            ResourceType.TIMER: "timer", ResourceType.SHARED_MEMORY: "memory block",
            ResourceType.ADDRESS_ARBITER: "address arbiter"}


class ResourceLimit(KernelObject):
    type_name = "resource limit"

    def __init__(self, kernel: Kernel, process: Process) -> None:
        super().__init__(kernel, "APPLICATION")
        self.process = process

    def limit(self, kind: ResourceType) -> int:
        return APPLICATION_LIMITS[kind]

    def current(self, kind: ResourceType) -> int:
        from kernel.svc.process import used_memory

        if kind == ResourceType.COMMIT:
            return used_memory(self.process)
        if kind == ResourceType.THREAD:
            return len(self.process.live_threads())
        if kind in _COUNTED:
            return sum(1 for _, obj in self.process.handles.items() if obj.type_name == _COUNTED[kind])
        return 0
