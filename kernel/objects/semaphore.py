"""Semaphores (svcCreateSemaphore / ReleaseSemaphore)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.objects.base import WaitObject

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.thread import Thread


class Semaphore(WaitObject):
    type_name = "semaphore"

    def __init__(self, kernel: Kernel, initial: int, maximum: int, name: str = "") -> None:
        super().__init__(kernel, name)
        self.count = initial
        self.maximum = maximum

    def should_wait(self, thread: Thread) -> bool:
        return self.count <= 0

    def acquire(self, thread: Thread) -> int | None:
        self.count -= 1
        return None

    def release(self, count: int) -> int | None:
        """Add ``count``; returns the previous count, or None if it would pass the maximum."""
        if count < 0 or self.count + count > self.maximum:
            return None
        previous = self.count
        self.count += count
        self.wake_waiters()
        return previous

    def describe(self) -> str:
        return f"{super().describe()} {self.count}/{self.maximum}"
