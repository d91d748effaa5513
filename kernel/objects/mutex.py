"""Mutexes (svcCreateMutex / ReleaseMutex): recursive, owned by a thread.

The owner inherits the best priority among the threads waiting for any mutex
it holds, as Horizon does, so a low-priority holder cannot stall a
high-priority waiter behind middle-priority work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.objects.base import WaitObject

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.thread import Thread


class Mutex(WaitObject):
    type_name = "mutex"

    def __init__(self, kernel: Kernel, owner: Thread | None, name: str = "") -> None:
        super().__init__(kernel, name)
        self.owner: Thread | None = None
        self.lock_count = 0
        if owner is not None:
            self.acquire(owner)

    def should_wait(self, thread: Thread) -> bool:
        return self.owner is not None and self.owner is not thread

    def acquire(self, thread: Thread) -> int | None:
        self.owner = thread
        self.lock_count += 1
        thread.held_mutexes.add(self)
        self.kernel.update_priority(thread)
        return None

    def release(self, thread: Thread) -> bool:
        """Drop one lock level; False if ``thread`` does not own it."""
        if self.owner is not thread:
            return False
        self.lock_count -= 1
        if self.lock_count == 0:
            self.abandon()
        return True

    def abandon(self) -> None:
        """Free the mutex entirely (its owner released it or died)."""
        previous = self.owner
        if previous is not None:
            previous.held_mutexes.discard(self)
        self.owner = None
        self.lock_count = 0
        if previous is not None:
            self.kernel.update_priority(previous)  # no longer inherits from our waiters
        self.wake_waiters()

    def describe(self) -> str:
        who = f"held by thread {self.owner.tid} x{self.lock_count}" if self.owner else "free"
        return f"{super().describe()} {who}"
