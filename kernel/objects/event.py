"""Events (svcCreateEvent / SignalEvent / ClearEvent) and the reset types timers share."""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

from kernel.objects.base import WaitObject

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.thread import Thread


class ResetType(IntEnum):
    """3DS ``ResetType``: what a completed wait does to the signal."""

    ONESHOT = 0  # the first waiter to wake clears it
    STICKY = 1  # stays signaled until cleared
    PULSE = 2  # wakes every current waiter, then clears itself


class Signal(WaitObject):
    """A signaled/clear state with a reset type: what events and timers share."""

    def __init__(self, kernel: Kernel, reset_type: ResetType, name: str = "") -> None:
        super().__init__(kernel, name)
        self.reset_type = reset_type
        self.signaled = False

    def should_wait(self, thread: Thread) -> bool:
        return not self.signaled

    def acquire(self, thread: Thread) -> int | None:
        if self.reset_type == ResetType.ONESHOT:
            self.signaled = False
        return None

    def signal(self) -> None:
        self.signaled = True
        self.wake_waiters()
        if self.reset_type == ResetType.PULSE:
            self.signaled = False

    def clear(self) -> None:
        self.signaled = False


class Event(Signal):
    type_name = "event"

    def describe(self) -> str:
        return f"{super().describe()} {self.reset_type.name.lower()} {'signaled' if self.signaled else 'clear'}"
