"""IPC sessions: a client end (SendSyncRequest) and a server end (ReplyAndReceive).

A server session is signaled while a request waits to be received, or once
its client end has closed. Client threads queue their requests in order;
the server takes one at a time (``current``) and replies to it. An HLE
session has no server end: its requests go straight to a Python service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.errors import KernelError, Result
from kernel.ipc import Delivery, deliver_request, finish_request, request_refusal
from kernel.objects.base import KernelObject, WaitObject
from kernel.thread import ThreadState, Wait

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.objects.port import ClientPort
    from kernel.services import Service
    from kernel.thread import Thread


class ServerSession(WaitObject):
    type_name = "server session"

    def __init__(self, kernel: Kernel, name: str = "") -> None:
        super().__init__(kernel, name)
        self.client: ClientSession | None = None
        self.queue: list[Thread] = []  # client threads whose requests wait to be received
        self.current: Thread | None = None  # the request received and not yet answered
        self.current_delivery: Delivery | None = None  # its mapped buffers, unmapped on reply
        self.client_closed = False

    def undeliverable(self, client: Thread, thread: Thread) -> int | None:
        """Deciding, without side effects: the error delivering ``client``'s request to
        ``thread`` would end with (a dry run of the translation), or None if it would be
        delivered whole."""
        return request_refusal(self.kernel, client, thread)

    def settle(self, thread: Thread) -> None:
        """Doing: answer, with their error, the requests at the head of the queue that cannot
        be delivered to ``thread``, so that the server only ever receives well-formed ones
        and :meth:`should_wait` has only to look. Waits call it just before asking."""
        while self.queue and self.current is None:
            client = self.queue[0]
            code = self.undeliverable(client, thread)
            if code is None:
                return
            self.queue.pop(0)
            self.kernel.wake(client, {0: code})

    def should_wait(self, thread: Thread) -> bool:
        # A pure look once settle() has run: the request at the head of the queue is deliverable.
        if self.queue and self.current is None:
            return False
        return not self.client_closed

    def acquire(self, thread: Thread) -> int | None:
        if not self.queue:
            return Result.SESSION_CLOSED_BY_REMOTE
        client = self.queue.pop(0)
        self.current = client
        self.current_delivery = deliver_request(self.kernel, client, thread, service=self.name)
        return None

    def destroy(self) -> None:
        """The server closed its end: pending and future requests fail."""
        if self.current is not None:
            finish_request(self.kernel, self)
            self.kernel.wake(self.current, {0: Result.SESSION_CLOSED_BY_REMOTE})
            self.current = None
        for client in self.queue:
            self.kernel.wake(client, {0: Result.SESSION_CLOSED_BY_REMOTE})
        self.queue.clear()
        if self.client is not None:
            self.client.server = None
            self.client.server_closed = True

    def describe(self) -> str:
        state = "client closed" if self.client_closed else f"{len(self.queue)} queued"
        return f"{super().describe()} ({state})"


class ClientSession(KernelObject):
    type_name = "client session"
    # What a thread waiting for a reply on it waits for, in words (the deadlock report shows
    # it), made once per name: (name, words). A cache, so not saved; the class's is the default.
    _wait_note: tuple[str | None, str] = (None, "")
    state_transient = ("_wait_note",)

    def __init__(self, kernel: Kernel, server: ServerSession | None, service: Service | None = None,
                 port: ClientPort | None = None, name: str = "") -> None:
        super().__init__(kernel, name)
        self.server = server
        self.service = service  # an HLE service answers directly
        self.port = port
        self.server_closed = False
        if server is not None:
            server.client = self

    def send(self, thread: Thread) -> tuple[int, ...] | None:
        """SendSyncRequest: queue (guest server) or serve now (HLE service)."""
        if self.service is not None:
            return self.service.handle_request(self, thread)
        if self.server is None or self.server_closed:
            raise KernelError(Result.SESSION_CLOSED_BY_REMOTE, "the server closed the session")
        server = self.server
        server.queue.append(thread)
        kernel = self.kernel
        note = self._wait_note
        if note[0] != self.name:
            note = self._wait_note = (self.name, f"a reply on {self.describe()}")
        kernel.block(thread, Wait("ipc", timeout_result=Result.SESSION_CLOSED_BY_REMOTE, note=note[1]))
        receiver = server.waiters[0] if len(server.waiters) == 1 else None
        server.wake_waiters()  # a server thread waiting in ReplyAndReceive receives it now
        if receiver is not None and receiver.state is ThreadState.READY:
            kernel.scheduler.hand_off(receiver)  # and runs next, unless the scheduler finds otherwise
        return None

    def destroy(self) -> None:
        """The client closed its end: the server sees SESSION_CLOSED on its next receive."""
        if self.port is not None:
            self.port.active_sessions -= 1
        if self.service is not None:
            self.service.session_closed(self)
        if self.server is not None:
            self.server.client_closed = True
            for client in self.server.queue:  # other threads of ours, still waiting to be heard
                self.kernel.wake(client, {0: Result.SESSION_CLOSED_BY_REMOTE})
            self.server.queue.clear()
            self.server.wake_waiters()
