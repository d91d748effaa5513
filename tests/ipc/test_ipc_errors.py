"""The IPC error paths: descriptor validation, srv: misuse, unknown commands, sessions closed mid-request.

Codes are spelled out with their name and source (docs/abi.md "Result codes"); where the 3DS
behaviour is undocumented the code is hlemu's written choice (docs/abi.md, last table).
Descriptor checks run through :func:`kernel.ipc.translate` as SendSyncRequest's dry run
calls it, between two real processes, so each boundary can be hit exactly.
"""

from __future__ import annotations

import pytest

from hlemu.memory import MemoryPermission as P
from hlemu.memory import MemoryState as S
from kernel import ipc_codec as codec
from kernel.errors import KernelError
from kernel.ipc import translate
from kernel.ipc_codec import header
from tests.kernel.asm import BACKENDS, CODE, DATA, INPUT, Guest, create_thread, save

INVALID_BUFFER_DESCRIPTOR = 0xD9001830  # Citra errors.h ErrCodes 48, OS, WrongArgument, Permanent
INVALID_HANDLE = 0xD8E007F7  # Citra errors.h ERR_INVALID_HANDLE
COMMAND_TOO_LARGE = 0xC8A01836  # Citra ipc.cpp: Result(ErrCodes::CommandTooLarge 54, OS, InvalidState, Status)
OUT_OF_MEMORY = 0xD86007F3  # Citra errors.h ERR_OUT_OF_MEMORY (hlemu's choice for a full IPC window)
SESSION_CLOSED_BY_REMOTE = 0xC920181A  # Citra errors.h ERR_SESSION_CLOSED_BY_REMOTE
ALREADY_REGISTERED = 0xD9001BFC  # Citra sm.h ResultAlreadyRegistered; Luma3DS sm services.c
OS_NOT_FOUND = 0xD8801BFA  # Luma3DS sysmodules/sm/source/services.c UnregisterServiceOrPort
INVALID_COMMAND = 0xD900182F  # 3dbrew Error codes: description 47, invalid command header (unknown id)
SUCCESS = 0

STATIC_CAPACITY = 0x10
IPC_WINDOW = 0x04000000  # 0x04000000-0x08000000: where servers see mapped buffers (3dbrew IPC)


def hdr(command: int, normal: int, translate_words: int) -> int:
    return header(command, normal, translate_words)


def static_buffer(size: int, index: int = 0) -> int:
    return codec.static_buffer(size, index)


# The messages are built with the kernel's own codec; tests/ipc/test_codec.py checks it
# against libctru's ipc.h formulas.
copy_handles, mapped_buffer = codec.copy_handles, codec.mapped_buffer
BUFFER_R, BUFFER_W = codec.BUFFER_R, codec.BUFFER_W


@pytest.fixture
def pair():
    """A client and a server process (never run) with one static buffer of STATIC_CAPACITY
    bytes declared by the server at DATA."""
    guest = Guest("semifastmem")
    client, server = guest.spawn("b .\n", name="client"), guest.spawn("b .\n", name="server")
    s = server.threads[0]
    server.space.mem.write(s.tls + 0x180, (static_buffer(STATIC_CAPACITY)).to_bytes(4, "little")
                           + DATA.to_bytes(4, "little"))
    yield guest, client, server
    guest.close()


def check(pair, words: list[int]) -> int:
    """The result SendSyncRequest's dry run gives ``words`` from the client to the server."""
    guest, client, server = pair
    try:
        translate(guest.kernel, client.threads[0], server.threads[0], words, request=True, dry_run=True)
    except KernelError as err:
        return err.code
    return SUCCESS


# -- descriptor overruns ---------------------------------------------------------------------------

def test_a_handle_descriptor_that_fits_is_accepted(pair):
    assert check(pair, [hdr(1, 0, 3), copy_handles(2), 0, 0]) == SUCCESS


def test_a_handle_descriptor_one_word_past_the_message_is_refused(pair):
    assert check(pair, [hdr(1, 0, 2), copy_handles(2), 0]) == COMMAND_TOO_LARGE


def test_a_handle_descriptor_far_past_the_message_is_command_too_large(pair):
    assert check(pair, [hdr(1, 0, 2), copy_handles(3), 0]) == COMMAND_TOO_LARGE


@pytest.mark.parametrize(("descriptor", "name"), [(static_buffer(4), "static"), (mapped_buffer(4, BUFFER_R), "mapped")])
def test_a_buffer_descriptor_needs_its_address_word(pair, descriptor, name):
    assert check(pair, [hdr(1, 0, 2), descriptor, DATA]) == SUCCESS
    assert check(pair, [hdr(1, 0, 1), descriptor]) == INVALID_BUFFER_DESCRIPTOR  # hlemu's choice (Citra reads on)


def test_a_header_larger_than_the_command_buffer_is_refused(pair):
    assert check(pair, [hdr(1, 63, 0)] + [0] * 63) == SUCCESS  # 64 words: the whole buffer
    assert check(pair, [hdr(1, 63, 1)] + [0] * 63) == INVALID_BUFFER_DESCRIPTOR  # 65: hlemu's choice


def test_a_descriptor_of_unknown_kind_is_refused(pair):
    assert check(pair, [hdr(1, 0, 2), 0x00001004, DATA]) == INVALID_BUFFER_DESCRIPTOR  # a PXI buffer


def test_a_handle_that_does_not_exist_is_invalid_handle(pair):
    assert check(pair, [hdr(1, 0, 2), copy_handles(1), 0xDEAD0000]) == INVALID_HANDLE


# -- static buffers --------------------------------------------------------------------------------

def test_a_static_buffer_may_fill_the_receivers_buffer_but_not_overflow_it(pair):
    assert check(pair, [hdr(1, 0, 2), static_buffer(STATIC_CAPACITY), INPUT]) == SUCCESS
    assert check(pair, [hdr(1, 0, 2), static_buffer(STATIC_CAPACITY + 1), INPUT]) == INVALID_BUFFER_DESCRIPTOR


def test_a_static_buffer_the_receiver_did_not_declare_is_refused(pair):
    assert check(pair, [hdr(1, 0, 2), static_buffer(4, index=1), INPUT]) == INVALID_BUFFER_DESCRIPTOR


def test_a_receive_buffer_the_receiver_cannot_write_is_refused(pair):
    _guest, _client, server = pair
    server.space.mem.write(server.threads[0].tls + 0x180, static_buffer(STATIC_CAPACITY).to_bytes(4, "little")
                           + CODE.to_bytes(4, "little"))  # its code: read-only
    assert check(pair, [hdr(1, 0, 2), static_buffer(4), INPUT]) == INVALID_BUFFER_DESCRIPTOR


# -- mapped buffers --------------------------------------------------------------------------------

def test_read_only_memory_passed_as_a_writable_mapped_buffer_is_refused(pair):
    assert check(pair, [hdr(1, 0, 2), mapped_buffer(0x100, BUFFER_R), CODE]) == SUCCESS
    assert check(pair, [hdr(1, 0, 2), mapped_buffer(0x100, BUFFER_W), CODE]) == INVALID_BUFFER_DESCRIPTOR
    assert check(pair, [hdr(1, 0, 2), mapped_buffer(0x100, BUFFER_R | BUFFER_W), CODE]) == INVALID_BUFFER_DESCRIPTOR


def test_a_mapped_buffer_over_unmapped_memory_is_refused(pair):
    assert check(pair, [hdr(1, 0, 2), mapped_buffer(0x1000, BUFFER_R), DATA]) == SUCCESS
    assert check(pair, [hdr(1, 0, 2), mapped_buffer(0x1001, BUFFER_R), DATA]) == INVALID_BUFFER_DESCRIPTOR
    assert check(pair, [hdr(1, 0, 2), mapped_buffer(0x1000, 0), DATA]) == INVALID_BUFFER_DESCRIPTOR  # grants nothing


def test_the_servers_ipc_window_may_fill_exactly_but_not_overflow(pair):
    """Four 16 MiB buffers fill the 64 MiB window; one page more does not fit."""
    guest, client, _server = pair
    quarter = IPC_WINDOW // 4
    frames = guest.kernel.memory.phys.allocate("APPLICATION", quarter >> 12)
    client.space.map(0x08000000, frames, P.RW, S.PRIVATE)
    four = [w for _ in range(4) for w in (mapped_buffer(quarter, BUFFER_R), 0x08000000)]
    assert check(pair, [hdr(1, 0, 8), *four]) == SUCCESS
    assert check(pair, [hdr(1, 0, 10), *four, mapped_buffer(0x1000, BUFFER_R), DATA]) == OUT_OF_MEMORY


# -- srv:, unknown commands, sessions closed under a request ---------------------------------------

def requests(*messages: list[int]) -> str:
    """Connect to srv:, then send each message on the srv: session; results at DATA: for each
    message SendSyncRequest's r0 and the reply's word 1 (the service's result)."""
    body = "ldr r1, =name_srv\nsvc 0x2D   @ ConnectToPort\nmov r4, r1\nmrc p15, 0, r6, c13, c0, 3\nadd r6, r6, #0x80\n"
    for n, words in enumerate(messages):
        body += "".join(f"ldr r0, ={w:#x}\nstr r0, [r6, #{4 * i}]\n" for i, w in enumerate(words))
        body += "mov r0, r4\nsvc 0x32   @ SendSyncRequest\n" + save(2 * n, "r0")
        body += "ldr r0, [r6, #4]\n" + save(2 * n + 1, "r0")
    return body + "mov r0, #0\nsvc 0x03\nname_srv:\n.asciz \"srv:\"\n.align 2\n"


def name_words(name: str) -> list[int]:
    raw = name.encode().ljust(8, b"\0")
    return [int.from_bytes(raw[:4], "little"), int.from_bytes(raw[4:], "little"), len(name)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_registering_a_service_twice_is_already_registered(make_guest, backend):
    guest = make_guest(backend)
    register = [hdr(3, 4, 0), *name_words("hlm:dup"), 1]
    process = guest.run_one(requests(register, register))
    assert guest.words(process, 4) == [SUCCESS, SUCCESS, SUCCESS, ALREADY_REGISTERED]


@pytest.mark.parametrize("backend", BACKENDS)
def test_unregistering_an_unknown_service_is_not_found(make_guest, backend):
    guest = make_guest(backend)
    process = guest.run_one(requests([hdr(4, 3, 0), *name_words("hlm:none")]))
    assert guest.words(process, 2) == [SUCCESS, OS_NOT_FOUND]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unknown_command_id_gets_invalid_command_and_the_service_runs_on(make_guest, backend):
    guest = make_guest(backend)
    process = guest.run_one(requests([hdr(0x42, 0, 0)], [hdr(3, 4, 0), *name_words("hlm:ok"), 1]))
    assert guest.words(process, 4) == [SUCCESS, INVALID_COMMAND, SUCCESS, SUCCESS]


SESSION = DATA + 0x80  # the server session handle, for the child


def closes_the_server_session(receive_first: bool) -> str:
    """Main sends a request on a fresh session; a lower-priority child (which runs once main
    blocks) closes the server end, having first received the request if ``receive_first``."""
    child = "child:\nmov r11, #0x200000\n"
    if receive_first:
        child += (f"ldr r1, ={SESSION:#x}\nmov r2, #1\nmov r3, #0\nsvc 0x4F   @ ReplyAndReceive(session)\n"
                  + save(4, "r0", "r1"))
    child += f"ldr r0, ={SESSION:#x}\nldr r0, [r0]\nsvc 0x23   @ CloseHandle(server session)\n" + save(6, "r0")
    return ("svc 0x49   @ CreateSession -> r1 server, r2 client\n" + save(0, "r0")
            + f"ldr r0, ={SESSION:#x}\nstr r1, [r0]\nmov r10, r2\n"
            + create_thread("child", 0x31) + "mov r9, r1\n"
            + "mrc p15, 0, r6, c13, c0, 3\nldr r0, =0x00010000\nstr r0, [r6, #0x80]\n"
            + "mov r0, r10\nsvc 0x32   @ SendSyncRequest\n" + save(1, "r0")
            + "mov r0, r9\nldr r2, =0xffffffff\nldr r3, =0xffffffff\nsvc 0x24   @ join the child\n"
            + "b done\n" + child + "svc 0x09\ndone:\n")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("receive_first", [False, True], ids=["queued", "received"])
def test_a_server_session_closed_with_a_request_in_flight_ends_it(make_guest, backend, receive_first):
    guest = make_guest(backend)
    process = guest.run_one(closes_the_server_session(receive_first))
    w = guest.words(process, 7)
    assert w[0] == SUCCESS and w[6] == SUCCESS
    assert w[1] == SESSION_CLOSED_BY_REMOTE
    if receive_first:
        assert w[4:6] == [SUCCESS, 0]  # the child got the request (index 0) before closing
