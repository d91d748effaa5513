"""Timers (svcCreateTimer / SetTimer / CancelTimer / ClearTimer) on guest ticks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.objects.event import ResetType, Signal

if TYPE_CHECKING:
    from kernel.kernel import Kernel


class Timer(Signal):
    type_name = "timer"

    def __init__(self, kernel: Kernel, reset_type: ResetType, name: str = "") -> None:
        super().__init__(kernel, reset_type, name)
        self.deadline: int | None = None  # guest tick of the next firing
        self.interval = 0  # ticks; 0 = one firing only

    def set(self, now: int, initial: int, interval: int) -> None:
        self.interval = max(interval, 0)
        self.deadline = now + max(initial, 0)
        self.kernel.timers.add(self)
        self.kernel.limit_slice(max(initial, 1))  # each block is at least one tick
        if initial <= 0:
            self.fire(now)

    def destroy(self) -> None:
        self.cancel()

    def cancel(self) -> None:
        self.deadline = None
        self.kernel.timers.discard(self)

    def fire(self, now: int) -> None:
        if self.interval:
            self.deadline = (self.deadline or now) + self.interval
        else:
            self.cancel()
        self.signal()

    def describe(self) -> str:
        when = f"fires at tick {self.deadline}" if self.deadline is not None else "stopped"
        return f"{super().describe()} {self.reset_type.name.lower()} {when}"
