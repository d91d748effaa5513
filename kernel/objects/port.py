"""IPC ports: services wait on a server port; clients connect through its client port."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.errors import KernelError, Result
from kernel.objects.base import KernelObject, WaitObject
from kernel.objects.session import ClientSession, ServerSession

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.services import Service
    from kernel.thread import Thread


class ServerPort(WaitObject):
    """Signaled while connections wait for AcceptSession."""

    type_name = "server port"

    def __init__(self, kernel: Kernel, name: str = "") -> None:
        super().__init__(kernel, name)
        self.pending: list[ServerSession] = []
        self.client: ClientPort | None = None

    def should_wait(self, thread: Thread) -> bool:
        return not self.pending

    def accept(self) -> ServerSession:
        if not self.pending:
            raise KernelError(Result.NO_PENDING_SESSIONS, f"nothing to accept on {self.describe()}")
        return self.pending.pop(0)

    def destroy(self) -> None:
        pending, self.pending = self.pending, []
        for session in pending:  # the port's holds go: each session with its last reference
            self.kernel.release_hold(session, "pending session")
        if self.client is not None:
            self.client.server = None


class ClientPort(KernelObject):
    """What ConnectToPort and srv: hand out sessions from; ``service`` makes it an HLE port."""

    type_name = "client port"

    def __init__(self, kernel: Kernel, server: ServerPort | None, max_sessions: int,
                 service: Service | None = None, name: str = "") -> None:
        super().__init__(kernel, name)
        self.server = server
        self.service = service
        self.max_sessions = max_sessions
        self.active_sessions = 0
        if server is not None:
            server.client = self

    def connect(self) -> ClientSession:
        """A new session to this port (ConnectToPort, CreateSessionToPort, srv:GetServiceHandle)."""
        if self.active_sessions >= self.max_sessions:
            raise KernelError(Result.MAX_CONNECTIONS_REACHED, f"{self.describe()} has {self.max_sessions} sessions")
        if self.service is not None:
            session = ClientSession(self.kernel, None, service=self.service, port=self, name=self.name)
        else:
            if self.server is None:
                raise KernelError(Result.SESSION_CLOSED_BY_REMOTE, f"{self.describe()} has no server any more")
            server_session = ServerSession(self.kernel, name=self.name)
            session = ClientSession(self.kernel, server_session, port=self, name=self.name)
            self.kernel.retain(server_session, "pending session")  # held by the port until accepted
            self.server.pending.append(server_session)
            self.server.wake_waiters()
        self.active_sessions += 1
        return session

    def describe(self) -> str:
        return f"{super().describe()} ({self.active_sessions}/{self.max_sessions} sessions)"
