"""The IPC SVCs' argument checks, called as the SVC dispatcher calls them (handler(kernel, thread,
registers)) on processes that never run: cases mutants of kernel/svc/ipc.py (scripts/mutation.py)
showed unpinned. Result codes are spelled out from Citra's errors.h / 3dbrew, not imported."""

from __future__ import annotations

import pytest

from kernel.errors import KernelError
from kernel.ipc import write_cmdbuf
from kernel.objects.port import ClientPort, ServerPort
from kernel.objects.session import ServerSession
from kernel.svc import SVC_TABLE
from tests.kernel.asm import DATA, Guest

SUCCESS = 0
PORT_NAME_TOO_LONG = 0xE0E0181E  # Citra ERR_PORT_NAME_TOO_LONG
NOT_FOUND = 0xD88007FA  # Citra ERR_NOT_FOUND
INVALID_ADDRESS_STATE = 0xE0A01BF5  # Citra ERR_INVALID_ADDRESS_STATE: CreatePort of a name in use
MAX_CONNECTIONS_REACHED = 0xD0401834  # Citra ERR_MAX_CONNECTIONS_REACHED
OUT_OF_RANGE = 0xE0E01BFD
SESSION_CLOSED_BY_REMOTE = 0xC920181A
NO_HANDLES_NO_REPLY = 0xE7E3FFFF
NAME = DATA + 0x100


@pytest.fixture
def caller():
    guest = Guest("semifastmem")
    process = guest.spawn("b .\n", name="caller")
    yield guest.kernel, process
    guest.close()


def svc(kernel, process, number: int, *args: int):
    """(result, outputs...) of SVC ``number``, or (error code,) when it raises."""
    try:
        return tuple(int(v) for v in SVC_TABLE[number].handler(kernel, process.threads[0], list(args)))
    except KernelError as err:
        return (err.code,)


def name_at(process, text: bytes) -> int:
    process.space.mem.write(NAME, text + b"\0")
    return NAME


def test_port_names_take_eleven_characters(caller):
    kernel, process = caller
    ok = svc(kernel, process, 0x47, 0, 0, name_at(process, b"hlm:eleven1"), 1)
    assert ok[0] == SUCCESS
    assert svc(kernel, process, 0x2D, 0, name_at(process, b"hlm:eleven1"))[0] == SUCCESS
    assert svc(kernel, process, 0x2D, 0, name_at(process, b"hlm:twelve12")) == (PORT_NAME_TOO_LONG,)
    assert svc(kernel, process, 0x47, 0, 0, name_at(process, b"hlm:twelve12"), 1) == (PORT_NAME_TOO_LONG,)
    assert svc(kernel, process, 0x2D, 0, name_at(process, b"hlm:none")) == (NOT_FOUND,)


def test_create_port_gives_a_server_and_a_client_and_names_are_unique(caller):
    kernel, process = caller
    result, server, client = svc(kernel, process, 0x47, 0, 0, name_at(process, b"hlm:p"), 2)
    assert result == SUCCESS
    assert isinstance(process.handles.resolve(server, process.threads[0]), ServerPort)
    port = process.handles.resolve(client, process.threads[0])
    assert isinstance(port, ClientPort) and port.max_sessions == 2
    assert kernel.named_ports["hlm:p"] is port
    assert svc(kernel, process, 0x47, 0, 0, name_at(process, b"hlm:p"), 2) == (INVALID_ADDRESS_STATE,)
    unnamed = svc(kernel, process, 0x47, 0, 0, 0, 3)
    assert unnamed[0] == SUCCESS and "" not in kernel.named_ports


@pytest.mark.parametrize("asked", [0, 0xFFFFFFFF])  # 0 or -1 sessions: one at least
def test_a_port_takes_at_least_one_session(caller, asked):
    kernel, process = caller
    _r, _server, client = svc(kernel, process, 0x47, 0, 0, 0, asked)
    assert process.handles.resolve(client, process.threads[0]).max_sessions == 1
    assert svc(kernel, process, 0x48, 0, client)[0] == SUCCESS
    assert svc(kernel, process, 0x48, 0, client) == (MAX_CONNECTIONS_REACHED,)


@pytest.mark.parametrize("count", [-1, 257])
def test_reply_and_receive_takes_zero_to_256_handles(caller, count):
    kernel, process = caller
    assert svc(kernel, process, 0x4F, 0, DATA, count & 0xFFFFFFFF, 0) == (OUT_OF_RANGE,)


def test_reply_and_receive_with_nothing_to_do(caller):
    kernel, process = caller
    assert svc(kernel, process, 0x4F, 0, DATA, 0, 0) == (NO_HANDLES_NO_REPLY, 0)
    _r, server, _client = svc(kernel, process, 0x49)
    write_cmdbuf(process.threads[0], [0xFFFF0000])  # sm's "no reply" command id
    assert svc(kernel, process, 0x4F, 0, DATA, 0, server) == (NO_HANDLES_NO_REPLY, 0)
    write_cmdbuf(process.threads[0], [0x00010040, 0])  # a reply, but no request to answer
    assert svc(kernel, process, 0x4F, 0, DATA, 0, server) == (SESSION_CLOSED_BY_REMOTE, 0xFFFFFFFF)
    assert isinstance(process.handles.resolve(server, process.threads[0]), ServerSession)


def test_reply_and_receive_returns_the_index_of_a_ready_handle(caller):
    kernel, process = caller
    _r, event = svc(kernel, process, 0x17, 0, 0)  # CreateEvent(ONESHOT)
    _r, other = svc(kernel, process, 0x17, 0, 0)
    svc(kernel, process, 0x18, other)  # SignalEvent: the second one is ready
    process.space.mem.write(DATA, event.to_bytes(4, "little") + other.to_bytes(4, "little"))
    assert svc(kernel, process, 0x4F, 0, DATA, 2, 0) == (SUCCESS, 1)


OUT_OF_HANDLES = 0xD8600413  # Citra/Azahar ERR_OUT_OF_HANDLES (kernel, OutOfResource, Permanent, 19)
CUR_PROCESS = 0xFFFF8001  # libctru CUR_PROCESS_HANDLE


def test_a_twelve_byte_name_at_the_end_of_memory_is_too_long(caller):
    """The kernel reads a port name as a C string of at most 12 bytes (Azahar svc.cpp ConnectToPort:
    ReadCString(address, PortNameMaxLength + 1), PortNameMaxLength 11): twelve letters that end
    where mapped memory ends are a name too long, not a read past the end."""
    kernel, process = caller
    end = DATA + 0x1000  # the guest's data page ends here; the next page is unmapped
    process.space.mem.write(end - 12, b"hlm:twelve12")
    assert svc(kernel, process, 0x2D, 0, end - 12) == (PORT_NAME_TOO_LONG,)
    assert svc(kernel, process, 0x47, 0, 0, end - 12, 1) == (PORT_NAME_TOO_LONG,)


def fill_handles(kernel, process) -> list[int]:
    """DuplicateHandle(CUR_PROCESS) until the handle table is full; the handles made."""
    made = []
    while (out := svc(kernel, process, 0x27, 0, CUR_PROCESS))[0] == SUCCESS:
        made.append(out[1])
    assert out == (OUT_OF_HANDLES,) and made
    return made


def close_some(kernel, process, handles: list[int], count: int) -> None:
    for _ in range(count):
        assert svc(kernel, process, 0x23, handles.pop()) == (SUCCESS,)


def _connect(kernel, process):
    svc(kernel, process, 0x47, 0, 0, name_at(process, b"hlm:room"), 1)  # one session only
    return lambda: svc(kernel, process, 0x2D, 0, name_at(process, b"hlm:room"))


def _create_port(kernel, process):
    return lambda: svc(kernel, process, 0x47, 0, 0, name_at(process, b"hlm:room"), 1)


def _session_to_port(kernel, process):
    _r, _server, client = svc(kernel, process, 0x47, 0, 0, 0, 1)
    return lambda: svc(kernel, process, 0x48, 0, client)


def _create_session(kernel, process):
    return lambda: svc(kernel, process, 0x49)


def _accept(kernel, process):
    _r, server, client = svc(kernel, process, 0x47, 0, 0, 0, 1)
    svc(kernel, process, 0x48, 0, client)  # a session waiting on the server port
    return lambda: svc(kernel, process, 0x4A, 0, server)


@pytest.mark.parametrize(("setup", "handles"), [(_connect, 1), (_create_port, 2), (_session_to_port, 1),
                                                (_create_session, 2), (_accept, 1)],
                         ids=["ConnectToPort", "CreatePort", "CreateSessionToPort", "CreateSession", "AcceptSession"])
def test_an_svc_needs_room_for_exactly_the_handles_it_returns(caller, setup, handles):
    """With one slot fewer than the handles it hands out, the SVC fails with OUT_OF_HANDLES and
    creates nothing (the port's one session is still there to take); with exactly enough it works."""
    kernel, process = caller
    call = setup(kernel, process)
    events = fill_handles(kernel, process)
    close_some(kernel, process, events, handles - 1)
    assert call() == (OUT_OF_HANDLES,)
    close_some(kernel, process, events, 1)
    out = call()
    assert out[0] == SUCCESS and len(out) == 1 + handles
    assert svc(kernel, process, 0x27, 0, CUR_PROCESS) == (OUT_OF_HANDLES,)  # the table is full again


def test_reply_and_receive_takes_256_handles(caller):
    """256 is WaitSynchronizationN's and ReplyAndReceive's limit, inclusive (3dbrew): all 256 are
    waited on, the ready one's index comes back."""
    kernel, process = caller
    _r, idle = svc(kernel, process, 0x17, 0, 0)
    _r, ready = svc(kernel, process, 0x17, 0, 1)  # STICKY
    svc(kernel, process, 0x18, ready)
    process.space.mem.write(DATA, idle.to_bytes(4, "little") * 255 + ready.to_bytes(4, "little"))
    assert svc(kernel, process, 0x4F, 0, DATA, 256, 0) == (SUCCESS, 255)
