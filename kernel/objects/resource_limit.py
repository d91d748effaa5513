"""Resource limits (svcGetResourceLimit and friends): what an application may use.

Limits are those of the 3DS APPLICATION category as Citra sets them, and they
are enforced: creating one more object than the limit allows fails with the
kernel's "out of <objects>" result (OS module, OutOfResource summary, Status
level; descriptions from Citra's ``kernel/errors.h``), so a hog exhausts its own
limits, not the emulator. Current values count the objects the process created
that still exist (``Process.created``), its live threads, and its committed memory.
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

# What creating one object too many returns.
OUT_OF_RESULT = {
    ResourceType.SHARED_MEMORY: 0xC860180B, ResourceType.THREAD: 0xC860180C, ResourceType.MUTEX: 0xC860180D,
    ResourceType.SEMAPHORE: 0xC860180E, ResourceType.EVENT: 0xC860180F, ResourceType.TIMER: 0xC8601810,
    ResourceType.ADDRESS_ARBITER: 0xC8601833,
}


class ResourceLimit(KernelObject):
    type_name = "resource limit"

    def __init__(self, kernel: Kernel, process: Process) -> None:
        super().__init__(kernel, "APPLICATION")
        self.process = process

    def limit(self, kind: ResourceType) -> int:
        return APPLICATION_LIMITS[kind]

    def current(self, kind: ResourceType) -> int:
        return in_use(self.process, kind)


def in_use(process: Process, kind: ResourceType) -> int:
    """What ``process`` uses of ``kind``: committed bytes, live threads, or objects it created."""
    if kind == ResourceType.COMMIT:
        from kernel.svc.process import used_memory

        return used_memory(process)
    if kind == ResourceType.THREAD:
        return len(process.live_threads())
    return process.created.get(kind, 0)


def reserve(process: Process, kind: ResourceType) -> None:
    """Refuse the creation of one more ``kind`` object when the process has its limit's worth."""
    from kernel.errors import KernelError

    used = in_use(process, kind)
    if used >= APPLICATION_LIMITS[kind]:
        raise KernelError(OUT_OF_RESULT[kind], f"{process.describe()} has {used} of its "
                                               f"{APPLICATION_LIMITS[kind]} {kind.name.lower()} objects")
