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
