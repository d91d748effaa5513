"""A process's handle table: handles to kernel objects, typed lookups, pseudo-handles."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from kernel.errors import KernelError, Result
from kernel.layout import CURRENT_PROCESS, CURRENT_THREAD
from kernel.objects.base import KernelObject

if TYPE_CHECKING:
    from kernel.process import Process
    from kernel.thread import Thread

T = TypeVar("T", bound=KernelObject)

MAX_HANDLES = 0x1000  # per process, like the 3DS's default handle table size
_FIRST = 0x00010002  # handles look like the 3DS's: a small index and a serial above it


class HandleTable:
    """Handles of one process. ``get(h, Event)`` returns the documented error on misuse."""

    peak = 0  # the most handles open at once (GetProcessInfo type 5); 0 in states saved before it was kept

    def __init__(self, process: Process) -> None:
        self.process = process
        self._objects: dict[int, KernelObject] = {}
        self._next = _FIRST

    def ensure_room(self, count: int) -> None:
        """Fail now, before anything is created, if ``count`` more handles will not fit."""
        if len(self._objects) + count > MAX_HANDLES:
            raise KernelError(Result.OUT_OF_HANDLES, f"process {self.process.pid} has {len(self._objects)} of "
                                                     f"{MAX_HANDLES} handles; {count} more do not fit")

    def add(self, obj: KernelObject) -> int:
        self.ensure_room(1)
        handle = self._next
        self._next += 0x8001  # serial in the upper bits, slot in the lower: never reused soon
        self._objects[handle] = obj
        self.peak = max(self.peak, len(self._objects))
        return handle

    def resolve(self, handle: int, current: Thread | None = None) -> KernelObject:
        """The object behind a handle or pseudo-handle."""
        if handle == CURRENT_PROCESS:
            return self.process
        if handle == CURRENT_THREAD:
            if current is None:
                raise KernelError(Result.INVALID_HANDLE, "no current thread")
            return current
        obj = self._objects.get(handle)
        if obj is None:
            raise KernelError(Result.INVALID_HANDLE, f"handle {handle:#010x} is not open")
        return obj

    def get(self, handle: int, kind: type[T], current: Thread | None = None) -> T:
        obj = self.resolve(handle, current)
        if not isinstance(obj, kind):
            raise KernelError(Result.INVALID_HANDLE,
                              f"handle {handle:#010x} is a {obj.type_name}, not a {kind.type_name}")
        return obj

    def close(self, handle: int) -> KernelObject:
        obj = self._objects.pop(handle, None)
        if obj is None:
            raise KernelError(Result.INVALID_HANDLE, f"handle {handle:#010x} is not open")
        self.process.kernel.release_reference(obj)
        return obj

    def close_all(self) -> None:
        for handle in list(self._objects):
            self.close(handle)

    def items(self) -> list[tuple[int, KernelObject]]:
        return sorted(self._objects.items())

    def holds(self, obj: KernelObject) -> bool:
        return any(o is obj for o in self._objects.values())

    def __len__(self) -> int:
        return len(self._objects)
