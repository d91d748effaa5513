"""``ptm:u`` and ``ptm:sysm``: power, battery, shell and pedometer (3dbrew "PTM Services").

The answers come from :class:`PowerState` (``kernel.ptm.state``), settable from Python.
ptm:sysm offers ptm:u's commands (as on the 3DS) and the system ones libctru uses:
ConfigureNew3DSCPU (called at start-up by ``__ctru_speedup_config``; success, there
being no faster clock to switch to) and CheckNew3DS. Reply layouts as Citra/Azahar
``service/ptm/ptm.cpp``; battery levels 0-5 as its ChargeLevels (5 completely full).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kernel.services import Reply, Request, Service, command
from kernel.services.buffers import write_mapped

if TYPE_CHECKING:
    from kernel.kernel import Kernel


@dataclass
class PowerState:
    battery_level: int = 5  # 0 (empty) .. 5 (completely full)
    charging: bool = False
    adapter: bool = False  # the charger is plugged in
    shell_open: bool = True
    pedometer_counting: bool = False
    steps_per_hour: int = 0
    total_steps: int = 0


class PtmU(Service):
    name = "ptm:u"
    max_sessions = 26

    def __init__(self, kernel: Kernel, ptm: Ptm) -> None:
        super().__init__(kernel)
        self.ptm = ptm

    @property
    def state(self) -> PowerState:
        return self.ptm.state

    @command(0x0005)
    def get_adapter_state(self, request: Request) -> Reply:
        return Reply(normal=[int(self.state.adapter)])

    @command(0x0006)
    def get_shell_state(self, request: Request) -> Reply:
        return Reply(normal=[int(self.state.shell_open)])

    @command(0x0007)
    def get_battery_level(self, request: Request) -> Reply:
        return Reply(normal=[self.state.battery_level])

    @command(0x0008)
    def get_battery_charge_state(self, request: Request) -> Reply:
        return Reply(normal=[int(self.state.charging)])

    @command(0x0009)
    def get_pedometer_state(self, request: Request) -> Reply:
        return Reply(normal=[int(self.state.pedometer_counting)])

    @command(0x000B, normal=3, translate=2)
    def get_step_history(self, request: Request) -> Reply:
        """hours, start time (2 words), a writable buffer -> a u16 step count per hour in it."""
        hours = request.normal[0]
        room = request.mapped_buffers[0][1] if request.mapped_buffers else 0  # write_mapped cuts to it
        steps = struct.pack("<H", self.state.steps_per_hour & 0xFFFF) * min(hours, room)
        return Reply(result=write_mapped(request, 0, steps), mapped_buffers=request.mapped_buffers)

    @command(0x000C)
    def get_total_step_count(self, request: Request) -> Reply:
        return Reply(normal=[self.state.total_steps])


class PtmSysm(PtmU):
    name = "ptm:sysm"
    max_sessions = 4

    @command(0x040A)
    def check_new_3ds(self, request: Request) -> Reply:
        return Reply(normal=[int(self.kernel.apt.new_3ds)])

    @command(0x080F)
    def get_software_closed_flag(self, request: Request) -> Reply:
        return Reply(normal=[0])

    @command(0x0811)
    def get_shell_state_sysm(self, request: Request) -> Reply:
        return Reply(normal=[int(self.state.shell_open)])

    @command(0x0818, normal=1)
    def configure_new_3ds_cpu(self, request: Request) -> Reply:
        self.stubbed(request, f"({request.normal[0] & 3:#x}): the emulated CPU has one speed")
        return Reply()


class Ptm:
    """The power state and its two ports (``kernel.ptm``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.state = PowerState()
        self.ports: list[PtmU] = [PtmU(kernel, self), PtmSysm(kernel, self)]
