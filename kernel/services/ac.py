"""``ac:u`` and ``ac:i``: the connection manager (3dbrew "AC Services"), without a network.

libctru's ``acInit`` asks for ac:i, then ac:u; both names are registered, onto one
state (:class:`NetworkState`, ``kernel.ac.state``). The console is not connected:
GetWifiStatus answers 0 (libctru's ``acWaitInternetConnection`` keeps asking while it
does) and GetStatus 1, "not connected" in libctru's ``ACU_GetStatus`` documentation
(Citra/Azahar name 0-3 disconnected, enabled, connected, internet). Configuration
commands hand the 0x200-byte acuConfig back as libctru expects; ConnectAsync and the
commands after it are unimplemented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kernel.services import Reply, Request, Service, command

if TYPE_CHECKING:
    from kernel.kernel import Kernel

CONFIG_SIZE = 0x200  # acuConfig


@dataclass
class NetworkState:
    status: int = 1  # GetStatus: 1 not connected, 3 connected to the internet
    wifi_status: int = 0  # GetWifiStatus: 0 not connected, else the AP slot bits
    last_error: int = 0


class AcU(Service):
    name = "ac:u"
    max_sessions = 10

    def __init__(self, kernel: Kernel, ac: Ac) -> None:
        super().__init__(kernel)
        self.ac = ac

    @command(0x0001)
    def create_default_config(self, request: Request) -> Reply:
        return Reply(static_buffers=[(0, bytes(CONFIG_SIZE))])

    @command(0x000A)
    def get_last_error_code(self, request: Request) -> Reply:
        return Reply(normal=[self.ac.state.last_error])

    @command(0x000C)
    def get_status(self, request: Request) -> Reply:
        return Reply(normal=[self.ac.state.status])

    @command(0x000D)
    def get_wifi_status(self, request: Request) -> Reply:
        return Reply(normal=[self.ac.state.wifi_status])

    def _config_back(self, request: Request) -> Reply:
        return Reply(static_buffers=[(0, request.static_buffers.get(0, bytes(CONFIG_SIZE)))])

    @command(0x0022, normal=1, translate=2)
    def set_allow_ap_type(self, request: Request) -> Reply:
        return self._config_back(request)

    @command(0x0025, normal=1, translate=2)
    def set_network_area(self, request: Request) -> Reply:
        return self._config_back(request)

    @command(0x002D, normal=2, translate=2)
    def set_request_eula_version(self, request: Request) -> Reply:
        return self._config_back(request)

    @command(0x0036)
    def get_proxy_enable(self, request: Request) -> Reply:
        return Reply(normal=[0])

    @command(0x003E, normal=1, translate=2)
    def is_connected(self, request: Request) -> Reply:
        return Reply(normal=[int(self.ac.state.status == 3)])

    @command(0x0040, normal=1, translate=2)
    def set_client_version(self, request: Request) -> Reply:
        return Reply()


class AcI(AcU):
    name = "ac:i"


class Ac:
    """The network state and its two ports (``kernel.ac``)."""

    def __init__(self, kernel: Kernel) -> None:
        self.state = NetworkState()
        self.ports: list[AcU] = [AcU(kernel, self), AcI(kernel, self)]
