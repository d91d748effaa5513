"""``srv:``, the service manager (3dbrew "Services API", "SRV:").

Guest processes register services by name (getting a server port back) and
ask for sessions to them by name; HLE services are registered the same
way at boot. GetServiceHandle for a name nobody registered yet waits until
somebody does, as the real sm does, except for the names of 3DS system services
hlemu does not provide (``SYSTEM_SERVICES`` in kernel/service_names.py): those
are answered at once with 0xD8E06406, what sm answers a process whose access
list lacks the name, so that a program asking for, say, ``soc:U`` learns it
cannot have it instead of waiting forever (the output and --trace-ipc say so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.errors import KernelError
from kernel.objects.port import ClientPort, ServerPort
from kernel.objects.semaphore import Semaphore
from kernel.service_names import SYSTEM_SERVICES
from kernel.services import PENDING, Reply, Request, Service, command

if TYPE_CHECKING:
    from kernel.kernel import Kernel

NOT_FOUND = 0xD8801BFA  # UnregisterService of a name nobody registered (sm, as Luma3DS reimplements it)
INVALID_NAME_SIZE = 0xD9006405
NAME_CONTAINS_NUL = 0xD9006407
ALREADY_REGISTERED = 0xD9001BFC
NOT_ALLOWED = 0xD8E06406  # GetServiceHandle of a name outside the process's access list (libctru srv.h)
MAX_NAME = 8
# The notification semaphore's maximum: Luma3DS sm (processes.c) creates it with svcCreateSemaphore(.., 0, 0x10),
# Azahar srv.cpp with MAX_PENDING_NOTIFICATIONS = 16.
MAX_PENDING_NOTIFICATIONS = 16


def service_name(words: list[int], length: int) -> str:
    """The name in two request words, ``length`` bytes of it."""
    if not 0 < length <= MAX_NAME:
        raise KernelError(INVALID_NAME_SIZE, f"service name length {length}")
    raw = b"".join(w.to_bytes(4, "little") for w in words[:2])[:length]
    if b"\0" in raw:
        raise KernelError(NAME_CONTAINS_NUL, f"service name {raw!r}")
    return raw.decode("ascii", errors="replace")


class SrvService(Service):
    name = "srv:"
    max_sessions = 64

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.ports: dict[str, ClientPort] = {}
        self.waiting: dict[str, list[Request]] = {}
        self.notification = Semaphore(kernel, 0, MAX_PENDING_NOTIFICATIONS, name="srv notification")

    def register_hle(self, service: Service) -> None:
        """Make an HLE service reachable by name."""
        port = ClientPort(self.kernel, None, service.max_sessions, service=service, name=service.name)
        self.kernel.retain(port, "srv registration")
        self._publish(service.name, port)

    def _publish(self, name: str, port: ClientPort) -> None:
        self.ports[name] = port
        for request in self.waiting.pop(name, []):
            if request.thread.alive:
                self.complete(request, self._session_reply(port))

    def _session_reply(self, port: ClientPort) -> Reply:
        try:
            return Reply(move_handles=[port.connect()])
        except KernelError as err:
            return Reply(result=err.code)

    @command(0x0001, translate=2)
    def register_client(self, request: Request) -> Reply:
        return Reply()

    @command(0x0002)
    def enable_notification(self, request: Request) -> Reply:
        return Reply(copy_handles=[self.notification])

    @command(0x0003, normal=4)
    def register_service(self, request: Request) -> Reply:
        try:
            name = service_name(request.normal[:2], request.normal[2])
        except KernelError as err:
            return Reply(result=err.code)
        if name in self.ports:
            return Reply(result=ALREADY_REGISTERED)
        server = ServerPort(self.kernel, name=name)
        client = ClientPort(self.kernel, server, max(1, request.normal[3]), name=name)
        self.kernel.retain(client, "srv registration")
        self._publish(name, client)
        return Reply(move_handles=[server])

    @command(0x0004, normal=3)
    def unregister_service(self, request: Request) -> Reply:
        try:
            name = service_name(request.normal[:2], request.normal[2])
        except KernelError as err:
            return Reply(result=err.code)
        port = self.ports.pop(name, None)
        if port is None:
            return Reply(result=NOT_FOUND)
        self.kernel.release_hold(port, "srv registration")
        return Reply()

    @command(0x0005, normal=4)
    def get_service_handle(self, request: Request) -> Reply | None:
        try:
            name = service_name(request.normal[:2], request.normal[2])
        except KernelError as err:
            return Reply(result=err.code)
        port = self.ports.get(name)
        if port is not None:
            return self._session_reply(port)
        if name in SYSTEM_SERVICES:
            # A 3DS service hlemu does not provide. Waiting would hang the program for good;
            # the answer sm gives a process whose access list lacks the name lets libctru's
            # xxxInit return an error the program can report.
            self.kernel.output(request.process, f"[hlemu] srv: GetServiceHandle({name!r}): a 3DS system service "
                                                f"hlemu does not provide; answered {NOT_ALLOWED:#010x} (access "
                                                f"denied, as sm answers a process not allowed to use it)")
            request.status = "not provided by hlemu"
            return Reply(result=NOT_ALLOWED)
        # Not registered yet: the reply waits until it is, whatever the flags (real sm, as
        # Luma3DS reimplements it; flag bit 0 only concerns full ports).
        self.waiting.setdefault(name, []).append(request)
        request.waiting_for = f"srv: GetServiceHandle({name!r}): no process has registered that service"
        return PENDING
