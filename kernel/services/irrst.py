"""``ir:rst``: the New 3DS's C-stick and ZL/ZR, and ``hid:SPVR``, hid:USER's other name.

libctru's ``hidInit`` asks for ir:rst only when APT's CheckNew3DS says New 3DS, and for
hid:SPVR only when hid:USER fails; both are registered so that such programs start.
ir:rst's GetHandles gives the shared memory (libctru maps 0x98 bytes of it) and the
update event (moved, as Citra/Azahar ``service/ir/ir_rst.cpp`` replies); there is no
C-stick, so the memory stays zero. hid:SPVR is the hid:USER service under another
name: the same shared memory, events and handlers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hlemu.memory import MemoryPermission
from kernel.objects.event import Event, ResetType
from kernel.objects.memory_block import MemoryBlock
from kernel.services import Reply, Request, Service, command
from kernel.services.hid import HidUser

if TYPE_CHECKING:
    from kernel.kernel import Kernel

SHARED_MEMORY_SIZE = 0x1000


class IrRst(Service):
    name = "ir:rst"
    max_sessions = 5

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.shared = MemoryBlock.for_service(kernel, SHARED_MEMORY_SIZE, MemoryPermission.R, "ir:rst shared memory")
        self.event = Event(kernel, ResetType.ONESHOT, name="ir:rst update")
        kernel.retain(self.event, "service event")

    @command(0x0001)
    def get_handles(self, request: Request) -> Reply:
        return Reply(move_handles=[self.shared, self.event])

    @command(0x0002, normal=2)
    def initialize(self, request: Request) -> Reply:
        self.stubbed(request)  # update period (ms), raw C-stick flag: the C-stick is not sampled
        return Reply()

    @command(0x0003)
    def shutdown(self, request: Request) -> Reply:
        self.stubbed(request)
        return Reply()


class HidSpvr(HidUser):
    """hid:USER's handlers on hid:USER's own state (nothing of its own but the name)."""

    name = "hid:SPVR"

    def __init__(self, kernel: Kernel, user: HidUser) -> None:
        Service.__init__(self, kernel)
        self.user = user

    def __getattr__(self, attribute: str) -> Any:  # only for what this object lacks
        user = self.__dict__.get("user")
        if user is None:
            raise AttributeError(attribute)
        return getattr(user, attribute)
