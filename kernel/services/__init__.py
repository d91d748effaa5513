"""HLE services: ports answered by Python, one module per service.

A :class:`Service` has one command table (command id -> handler). A handler
gets a :class:`Request` (the decoded message: normal words, handles as kernel
objects, static buffers as bytes, mapped buffers as client addresses) and
returns a :class:`Reply` (result, normal words, handles and static buffers
for the client), or :data:`PENDING` when it answers later (the client
thread stays blocked until :meth:`Service.complete`). Unknown commands are
logged with their id and answered with an error.

A handler declares the request header it takes (``@command(0x0005, normal=4)``:
four normal words, no translate words), as the 3DS's own services check it;
a request with another header never reaches the handler and is answered
with INVALID_HEADER under the reply header 0x40, as Luma3DS's system modules
do. So a handler can index ``request.normal`` without checking its length.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from kernel.errors import KernelError, Result
from kernel.ipc import Descriptor, Message, read_cmdbuf, translate, write_cmdbuf
from kernel.ipc_codec import (
    COPY_HANDLES,
    MAPPED_BUFFER,
    MOVE_HANDLES,
    PID,
    STATIC_BUFFER,
    STATIC_BUFFERS_OFFSET,
    copy_handles,
    descriptors,
    header,
    mapped_buffer,
    move_handles,
    parse_header,
    static_buffer,
)
from kernel.service_names import command_names
from kernel.thread import Wait

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.objects.base import KernelObject
    from kernel.objects.session import ClientSession
    from kernel.thread import Thread

log = logging.getLogger(__name__)

INVALID_COMMAND = 0xD900182F  # services' "unknown command" result
INVALID_HEADER = 0xD9001830  # a command whose header (word counts) is not the documented one


@dataclass
class Request:
    session: ClientSession
    thread: Thread
    command: int
    normal: list[int]
    handles: list[KernelObject | None] = field(default_factory=list)
    static_buffers: dict[int, bytes] = field(default_factory=dict)  # id -> data
    mapped_buffers: list[tuple[int, int, int]] = field(default_factory=list)  # (address, size, perm)
    pid: int | None = None
    waiting_for: str = ""  # a PENDING handler's words for what the reply waits on
    status: str = ""  # what the reply's record notes: "stubbed", "unimplemented", "refused: ..."
    message: Message | None = None  # the request as recorded (when IPC is being recorded)

    @property
    def process(self):  # noqa: ANN201 - the client process
        return self.thread.process


@dataclass
class Reply:
    result: int = Result.SUCCESS
    normal: list[int] = field(default_factory=list)  # words after the result word
    copy_handles: list[KernelObject | None] = field(default_factory=list)  # None: a null handle (0)
    move_handles: list[KernelObject | None] = field(default_factory=list)
    static_buffers: list[tuple[int, bytes]] = field(default_factory=list)  # (id, data) to the client
    mapped_buffers: list[tuple[int, int, int]] = field(default_factory=list)  # (address, size, perm) given back
    command: int | None = None  # the reply header's command id (None: the request's)


PENDING = None
Handler = Callable[["Service", Request], "Reply | None"]
F = TypeVar("F", bound=Callable[..., Any])


def command(command_id: int, normal: int = 0, translate: int = 0) -> Callable[[F], F]:
    """Mark a method as the handler of ``command_id`` (collected per class), taking requests
    with ``normal`` normal words and ``translate`` translate words."""

    def mark(fn: F) -> F:
        fn.command_id = command_id  # type: ignore[attr-defined]
        fn.header = (normal, translate)  # type: ignore[attr-defined]
        return fn

    return mark


class Service:
    """A port served in Python. Subclasses set ``name`` and mark handlers with @command."""

    name = "service"
    max_sessions = 32
    commands: dict[int, Handler]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        # Handlers are inherited: a port that offers another's commands and more (cfg:s over
        # cfg:u, ptm:sysm over ptm:u) subclasses it.
        cls.commands = {fn.command_id: fn for klass in reversed(cls.__mro__)
                        for fn in vars(klass).values() if hasattr(fn, "command_id")}

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def command_name(self, command_id: int) -> str:
        """The command's documented name (3dbrew's, as libctru's client functions spell it),
        or its handler's name in CamelCase, or ``command 0x00NN``."""
        name = command_names(self.name).get(command_id)
        if name is None:
            handler = self.commands.get(command_id)
            if handler is None:
                return f"command {command_id:#06x}"
            name = "".join(part.capitalize() for part in handler.__name__.split("_"))
        return name

    def stubbed(self, request: Request, detail: str = "") -> None:
        """Note that a handler answers success without doing what the command does (the log
        says "(STUBBED)"; the IPC recorder and --trace-ipc mark the reply "stubbed")."""
        request.status = "stubbed"
        what = self.command_name(request.command) + (f" {detail}" if detail else "")
        log.info("%s: %s from %s (STUBBED)", self.name, what, request.process.describe())

    # -- the kernel's side --------------------------------------------------------------
    def handle_request(self, session: ClientSession, thread: Thread) -> tuple[int, ...] | None:
        words = read_cmdbuf(thread)
        if words[0] & 0x3F:  # descriptors: check them all before any object is retained for us
            translate(self.kernel, thread, None, words, request=True, dry_run=True, service=self.name)
        delivery = translate(self.kernel, thread, None, words, request=True, service=self.name)
        request = self._decode(session, thread, words, delivery.words, delivery.objects)
        request.message = delivery.message
        if delivery.message is not None:
            delivery.message.name = self.command_name(request.command)
        handler = self.commands.get(request.command)
        shape = ((words[0] >> 6) & 0x3F, words[0] & 0x3F)
        if handler is None:
            what = f"{self.command_name(request.command)} ({request.command:#06x})"
            log.warning("%s: %s from %s: unimplemented", self.name, what, thread.process.describe())
            self.kernel.output(thread.process, f"[hlemu] {self.name}: {what} unimplemented")
            request.status = "unimplemented"
            reply: Reply | None = Reply(result=INVALID_COMMAND)
            self._release(delivery.objects)
        elif shape != handler.header:  # type: ignore[attr-defined]
            expected = header(request.command, *handler.header)  # type: ignore[attr-defined]
            self.kernel.output(thread.process, f"[hlemu] {self.name}: {self.command_name(request.command)} "
                                               f"with header {words[0]:#010x}, not {expected:#010x}: refused")
            request.status = f"refused: header {words[0]:#010x}"
            reply = Reply(result=INVALID_HEADER, command=0)
            self._release(delivery.objects)
        else:
            try:
                reply = handler(self, request)
            finally:
                self._release(delivery.objects)  # a service keeps what it retained itself
        if delivery.message is not None:
            self.kernel.record_ipc(delivery.message)
        if reply is None:  # answered later with complete()
            note = request.waiting_for or f"a reply from {self.name} (command {request.command:#06x})"
            self.kernel.block(thread, Wait("ipc", timeout_result=Result.SESSION_CLOSED_BY_REMOTE, note=note))
            thread.pending_request = request  # type: ignore[attr-defined]
            return None
        self._write_reply(request, reply)
        return (Result.SUCCESS,)

    def _release(self, objects: list[KernelObject]) -> None:
        for obj in objects:
            self.kernel.release_hold(obj, "ipc message")

    def complete(self, request: Request, reply: Reply) -> None:
        """Answer a request a handler left PENDING; the client thread wakes (with the error,
        when the reply cannot reach it, e.g. its handle table is full: the failure is the
        client's, never that of whoever made the reply possible)."""
        try:
            self._write_reply(request, reply)
        except KernelError as err:
            self.kernel.wake(request.thread, {0: err.code})
            return
        self.kernel.wake(request.thread, {0: Result.SUCCESS})

    def session_closed(self, session: ClientSession) -> None:
        """A client closed its session (override to forget per-session state)."""

    # -- decoding and encoding ------------------------------------------------------------
    def _decode(self, session: ClientSession, thread: Thread, raw: list[int], words: list[int],
                objects: list[KernelObject]) -> Request:
        command_id, normal, translate_count = parse_header(raw[0])
        request = Request(session, thread, command_id, [w & 0xFFFFFFFF for w in raw[1 : 1 + normal]])
        for item in descriptors(words, normal, translate_count):  # already checked by translate
            if item.kind is PID:
                request.pid = item.params[0]
            elif item.kind is STATIC_BUFFER:
                size = item.size
                request.static_buffers[item.sid] = thread.process.space.mem.read(item.address, size) if size else b""
            elif item.kind is COPY_HANDLES or item.kind is MOVE_HANDLES:
                request.handles += [objects[w - 1] if w else None for w in item.params]  # 1-based: translate's
            else:
                request.mapped_buffers.append((item.address, item.size, item.perm))
        return request

    def _write_reply(self, request: Request, reply: Reply) -> None:
        kernel = self.kernel
        client = request.thread
        words = [0, reply.result, *reply.normal]
        try:
            client.process.handles.ensure_room(sum(o is not None for o in [*reply.copy_handles, *reply.move_handles]))
        except KernelError:
            for obj in reply.move_handles:  # a session made for this reply goes, or its port stays full
                if obj is not None:
                    kernel.destroy_if_unused(obj)
            raise
        recorded: list[Descriptor] = []
        for handles, kind, encode in ((reply.copy_handles, COPY_HANDLES, copy_handles),
                                      (reply.move_handles, MOVE_HANDLES, move_handles)):
            if handles:
                values = [kernel.add_handle(client.process, o) if o is not None else 0 for o in handles]
                words += [encode(len(handles)), *values]
                recorded.append(Descriptor(kind, values))
        for sid, data in reply.static_buffers:
            pair = client.process.space.mem.read(client.tls + STATIC_BUFFERS_OFFSET + 8 * sid, 8)
            rdesc, raddr = int.from_bytes(pair[:4], "little"), int.from_bytes(pair[4:], "little")
            if (rdesc & 0xF) != 0x2 or len(data) > rdesc >> 14:
                raise KernelError(Result.INVALID_BUFFER_DESCRIPTOR, f"static buffer {sid} is too small")
            client.process.space.mem.write(raddr, data)
            words += [static_buffer(len(data), sid), raddr]
            recorded.append(Descriptor(STATIC_BUFFER, [raddr, len(data), sid]))
        for address, size, perm in reply.mapped_buffers:  # the kernel unmaps them from the server
            words += [mapped_buffer(size, perm), address]
            recorded.append(Descriptor(MAPPED_BUFFER, [address, size, perm]))
        normal = 1 + len(reply.normal)
        command_id = request.command if reply.command is None else reply.command
        words[0] = header(command_id, normal, len(words) - 1 - normal)
        write_cmdbuf(client, words)
        if kernel.ipc_listeners:
            kernel.record_ipc(Message(-1, client.process.pid, self.name, request.command,
                                      [reply.result, *reply.normal], recorded, reply=True, result=reply.result,
                                      name=self.command_name(request.command), status=request.status,
                                      request=request.message))
