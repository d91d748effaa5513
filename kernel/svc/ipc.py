"""IPC SVCs: ports, sessions, SendSyncRequest and ReplyAndReceive (3dbrew "SVC")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.errors import KernelError, Result
from kernel.ipc import deliver_reply, read_header
from kernel.objects.base import WaitObject
from kernel.objects.port import ClientPort, ServerPort
from kernel.objects.session import ClientSession, ServerSession
from kernel.svc import svc
from kernel.svc._args import s32
from kernel.svc.sync import MAX_WAIT_HANDLES
from kernel.thread import ThreadState, Wait

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.thread import Thread

MAX_PORT_NAME = 11  # characters, without the NUL
NO_HANDLES_NO_REPLY = 0xE7E3FFFF  # what the kernel answers a ReplyAndReceive with nothing to do


def _port_name(t: Thread, address: int) -> str:
    # One byte past the longest name tells a name too long (Azahar svc.cpp: ReadCString(address,
    # PortNameMaxLength + 1)); reading two went past the end of memory for 12 letters ending there.
    raw = t.process.space.mem.read_string(address, MAX_PORT_NAME + 1).encode()
    if len(raw) > MAX_PORT_NAME:
        raise KernelError(Result.PORT_NAME_TOO_LONG, f"port name {raw[:16]!r}...")
    return raw.decode("ascii", errors="replace")


@svc(0x2D, nargs=2)
def connect_to_port(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result ConnectToPort(Handle* out, const char* portName): r1 = name."""
    name = _port_name(t, a[1])
    port = k.named_ports.get(name)
    if port is None:
        raise KernelError(Result.NOT_FOUND, f"no port named {name!r}")
    t.process.handles.ensure_room(1)  # before connect() takes one of the port's sessions
    return (Result.SUCCESS, k.add_handle(t.process, port.connect()))


@svc(0x47, nargs=4)
def create_port(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result CreatePort(Handle* server, Handle* client, const char* name, s32 maxSessions)

    Registers: r2 = name (0: an unnamed port), r3 = max sessions; r1 = server port, r2 = client port.
    """
    name = _port_name(t, a[2]) if a[2] else ""
    if name and name in k.named_ports:
        raise KernelError(Result.INVALID_ADDRESS_STATE, f"port {name!r} exists")
    t.process.handles.ensure_room(2)
    server = ServerPort(k, name=name)
    client = ClientPort(k, server, max(1, s32(a[3])), name=name)
    if name:
        k.named_ports[name] = client
        k.retain(client, "named port")
    return (Result.SUCCESS, k.add_handle(t.process, server), k.add_handle(t.process, client))


@svc(0x48, nargs=2)
def create_session_to_port(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result CreateSessionToPort(Handle* session, Handle port): r1 = client port."""
    port = t.process.handles.get(a[1], ClientPort, t)
    t.process.handles.ensure_room(1)
    return (Result.SUCCESS, k.add_handle(t.process, port.connect()))


@svc(0x49, nargs=0)
def create_session(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result CreateSession(Handle* server, Handle* client): r1 = server, r2 = client."""
    t.process.handles.ensure_room(2)
    server = ServerSession(k)
    client = ClientSession(k, server)
    return (Result.SUCCESS, k.add_handle(t.process, server), k.add_handle(t.process, client))


@svc(0x4A, nargs=2)
def accept_session(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result AcceptSession(Handle* session, Handle port): r1 = server port."""
    port = t.process.handles.get(a[1], ServerPort, t)
    t.process.handles.ensure_room(1)
    session = port.accept()
    handle = k.add_handle(t.process, session)
    k.release_hold(session, "pending session")  # the port's hold passes to the new handle
    return (Result.SUCCESS, handle)


@svc(0x32, nargs=1)
def send_sync_request(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...] | None:
    """Result SendSyncRequest(Handle session): the reply is in the command buffer."""
    session = t.process.handles.get(a[0], ClientSession, t)
    return session.send(t)


@svc(0x4F, nargs=4)
def reply_and_receive(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...] | None:
    """Result ReplyAndReceive(s32* index, Handle* handles, s32 count, Handle replyTarget)

    Registers: r1 = handle array, r2 = count, r3 = reply target (0: none); r1 = index out.
    Replies first (unless the target is 0 or the command id in our buffer is 0xFFFF; a
    target with nothing to answer, or whose client has gone, fails with index -1), then
    waits for any handle; a session whose client has gone ends the wait with
    SESSION_CLOSED_BY_REMOTE and its index.
    """
    count, target = s32(a[2]), a[3]
    if not 0 <= count <= MAX_WAIT_HANDLES:
        raise KernelError(Result.OUT_OF_RANGE, f"{count} handles")
    handles = t.process.handles
    if count == 1:  # a server of one session: one word (read_word: no compiled call for it)
        objects = [handles.get(t.process.space.read_word(a[1]), WaitObject, t)]
    else:
        raw = t.process.space.mem.read(a[1], 4 * count) if count else b""
        objects = [handles.get(int.from_bytes(raw[i : i + 4], "little"), WaitObject, t)
                   for i in range(0, len(raw), 4)]
    replied: Thread | None = None  # the client answered
    if target and (read_header(t) >> 16) != 0xFFFF:  # 0xFFFF: "nothing to reply" (sm's idiom)
        session = t.process.handles.get(target, ServerSession, t)
        replied = session.current
        if replied is None or session.client_closed:
            return (Result.SESSION_CLOSED_BY_REMOTE, 0xFFFFFFFF)
        deliver_reply(k, t, session)
    if not objects:
        return (Result.SUCCESS if replied else NO_HANDLES_NO_REPLY, 0)
    wait = Wait("sync", objects=objects)
    done = k.try_complete(t, wait)
    if done is not None:
        return (done[1], done[0])
    k.block(t, wait)
    if replied is not None and replied.state is ThreadState.READY:
        k.scheduler.hand_off(replied)  # the client runs next, unless the scheduler finds otherwise
    return None
