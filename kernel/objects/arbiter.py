"""Address arbiters (svcCreateAddressArbiter / ArbitrateAddress).

Threads wait on (arbiter, address) pairs; a signal wakes the highest
priority waiters first (earliest waiter among equals).
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

from kernel.objects.base import KernelObject

if TYPE_CHECKING:
    from kernel.thread import Thread


class ArbitrationType(IntEnum):
    SIGNAL = 0
    WAIT_IF_LESS_THAN = 1
    DECREMENT_AND_WAIT_IF_LESS_THAN = 2
    WAIT_IF_LESS_THAN_TIMEOUT = 3
    DECREMENT_AND_WAIT_IF_LESS_THAN_TIMEOUT = 4


class AddressArbiter(KernelObject):
    type_name = "address arbiter"

    def waiting(self, address: int) -> list[Thread]:
        return sorted((t for t in self.kernel.all_threads()
                       if t.wait is not None and t.wait.arbiter is self and t.wait.address == address),
                      key=lambda t: (t.priority, t.wait.since if t.wait else 0))
