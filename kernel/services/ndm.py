"""``ndm:u``: the network daemon manager (3dbrew "NDM Services"), minimal.

Applications that use the network (and libctru's ``ndmuInit`` users) put the
background daemons to sleep and take an exclusive state; with no network and no
daemons here, each of those succeeds and the state is remembered for the getters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.services import Reply, Request, Service, command

if TYPE_CHECKING:
    from kernel.kernel import Kernel

DEFAULT_DAEMONS = 0x9  # NDM_DAEMON_MASK_DEFAULT: CEC (bit 0) | FRIENDS (bit 3)
IDLE, SUSPENDED = 1, 3  # ndmDaemonStatus


class NdmU(Service):
    name = "ndm:u"
    max_sessions = 6

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.exclusive_state = 0  # NDM_EXCLUSIVE_STATE_NONE
        self.suspended = 0  # daemon mask
        self.scan_interval = 30

    @command(0x0001, normal=1, translate=2)
    def enter_exclusive_state(self, request: Request) -> Reply:
        self.exclusive_state = request.normal[0]
        return Reply()

    @command(0x0002, translate=2)
    def leave_exclusive_state(self, request: Request) -> Reply:
        self.exclusive_state = 0
        return Reply()

    @command(0x0003)
    def get_exclusive_state(self, request: Request) -> Reply:
        return Reply(normal=[self.exclusive_state])

    @command(0x0004, translate=2)
    def lock_state(self, request: Request) -> Reply:
        self.stubbed(request)
        return Reply()

    @command(0x0005, translate=2)
    def unlock_state(self, request: Request) -> Reply:
        self.stubbed(request)
        return Reply()

    @command(0x0006, normal=1)
    def suspend_daemons(self, request: Request) -> Reply:
        self.suspended |= request.normal[0] & 0xF
        return Reply()

    @command(0x0007, normal=1)
    def resume_daemons(self, request: Request) -> Reply:
        self.suspended &= ~request.normal[0]
        return Reply()

    @command(0x0008, normal=1)
    def suspend_scheduler(self, request: Request) -> Reply:
        self.stubbed(request)
        return Reply()

    @command(0x0009)
    def resume_scheduler(self, request: Request) -> Reply:
        self.stubbed(request)
        return Reply()

    @command(0x000A)
    def get_current_state(self, request: Request) -> Reply:
        return Reply(normal=[0])  # NDM_STATE_INITIAL

    @command(0x000D, normal=1)
    def query_status(self, request: Request) -> Reply:
        daemon = request.normal[0] & 0xFF  # a u8 (Azahar ndm_u.cpp QueryStatus: rp.Pop<u8>())
        return Reply(normal=[SUSPENDED if self.suspended >> daemon & 1 else IDLE])

    @command(0x0010, normal=1)
    def set_scan_interval(self, request: Request) -> Reply:
        self.scan_interval = request.normal[0]
        return Reply()

    @command(0x0011)
    def get_scan_interval(self, request: Request) -> Reply:
        return Reply(normal=[self.scan_interval])

    @command(0x0016)
    def get_default_daemons(self, request: Request) -> Reply:
        return Reply(normal=[DEFAULT_DAEMONS])
