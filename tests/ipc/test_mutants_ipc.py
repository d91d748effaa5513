"""kernel/ipc.py word by word: the cases mutation testing (scripts/mutation.py) found no test
pinning down. The wire format is libctru's (include/3ds/ipc.h: IPC_MakeHeader, IPC_Desc_*) and
3dbrew's "IPC" page; translation runs between two real processes that never run (their command
buffers and static buffer descriptors are written by hand), as SendSyncRequest and ReplyAndReceive
drive it.
"""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.memory import MemoryPermission as P
from hlemu.memory import MemoryState as S
from hlemu.memory import PageTable
from kernel.errors import KernelError
from kernel.ipc import (
    _IPC_AREA,
    Descriptor,
    _free_in_area,
    deliver_reply,
    deliver_request,
    finish_request,
    has_memory,
    read_cmdbuf,
    translate,
    write_cmdbuf,
)
from kernel.ipc_codec import header, parse_header
from kernel.objects.session import ServerSession
from tests.ipc import test_ipc_errors
from tests.ipc.test_ipc_errors import (
    BUFFER_R,
    BUFFER_W,
    INVALID_BUFFER_DESCRIPTOR,
    INVALID_HANDLE,
    IPC_WINDOW,
    OUT_OF_MEMORY,
    SUCCESS,
    copy_handles,
    hdr,
    mapped_buffer,
    static_buffer,
)
from tests.kernel.asm import DATA

CUR_PROCESS = 0xFFFF8001
MOVE = 0x10  # libctru IPC_Desc_MoveHandles: IPC_Desc_SharedHandles(n) | 0x10
PID = 0x20  # libctru IPC_Desc_CurProcessId
TOP = 0xFFFFF000

pair = test_ipc_errors.pair  # the fixture: a client and a server process that never run


def err(fn) -> int:
    try:
        fn()
    except KernelError as e:
        return e.code
    return SUCCESS


def dry(pair, words):
    guest, client, server = pair
    return translate(guest.kernel, client.threads[0], server.threads[0], words, request=True, dry_run=True)


def real(pair, words):
    guest, client, server = pair
    return translate(guest.kernel, client.threads[0], server.threads[0], words, request=True)


def _received(pair, words: list[int]) -> ServerSession:
    """A session whose server has received ``words`` from the client (delivered, not yet answered)."""
    guest, client, server = pair
    session = ServerSession(guest.kernel, "hlm:test")
    write_cmdbuf(client.threads[0], words)
    session.current = client.threads[0]
    session.current_delivery = deliver_request(guest.kernel, client.threads[0], server.threads[0])
    return session


@pytest.fixture
def mem(pair):
    """``mem(process, vaddr, pages, perm)`` maps fresh frames in ``process`` (a buffer to pass)."""
    guest = pair[0]

    def map_(process, vaddr: int, pages: int = 1, perm=P.RW) -> None:
        frames = guest.kernel.allocate("APPLICATION", pages)
        process.space.map(vaddr, frames, perm, S.PRIVATE)

    return map_


# -- the header --------------------------------------------------------------------------------------

def test_header_is_libctrus_ipc_make_header():
    assert header(0x0001, 0, 0) == 0x00010000
    assert header(0x1234, 3, 2) == 0x123400C2
    assert header(0xFFFF, 0x3F, 0x3F) == 0xFFFF0FFF
    # libctru masks each field: a command id takes 16 bits, each count 6
    assert header(0x12345, 0x41, 0x42) == 0x23450042
    assert parse_header(0x123400C2) == (0x1234, 3, 2)
    assert parse_header(0xFFFF0FFF) == (0xFFFF, 0x3F, 0x3F)


def test_descriptor_text():
    assert str(Descriptor("copy handles", [0x1, 0xFFFF8001])) == "copy handles 0x1, 0xffff8001"
    assert str(Descriptor("pid", [])) == "pid "


def test_read_cmdbuf_reads_what_the_header_announces(pair):
    _guest, client, _server = pair
    t = client.threads[0]
    write_cmdbuf(t, [hdr(5, 2, 1), 11, 22, 33, 44, 55])
    assert read_cmdbuf(t) == [hdr(5, 2, 1), 11, 22, 33]
    write_cmdbuf(t, [hdr(5, 0, 0), 99])
    assert read_cmdbuf(t) == [hdr(5, 0, 0)]
    write_cmdbuf(t, [hdr(5, 1, 0), -1])  # words are u32
    assert read_cmdbuf(t) == [hdr(5, 1, 0), 0xFFFFFFFF]
    write_cmdbuf(t, [hdr(5, 0x3F, 0x3F)] + list(range(63)))  # at most the 64 words of the buffer
    assert read_cmdbuf(t) == [hdr(5, 0x3F, 0x3F)] + list(range(63))
    after = t.process.space.peek(t.tls + 0x180, 0x80)
    with pytest.raises(ValueError, match="65 words does not fit a 64-word command buffer"):
        write_cmdbuf(t, [hdr(5, 0x3F, 0x3F)] + list(range(64)))  # nothing lands past the buffer
    assert t.process.space.peek(t.tls + 0x180, 0x80) == after
    assert read_cmdbuf(t) == [hdr(5, 0x3F, 0x3F)] + list(range(63))


# -- the recorder's view ----------------------------------------------------------------------------

def test_the_recorded_message_names_both_ends_and_the_normal_words(pair):
    guest, client, server = pair
    guest.kernel.ipc_listeners.append(lambda message: None)
    words = [hdr(7, 2, 2), 0xAAAA, 0xBBBB, PID, 0]  # the normal words end where the descriptors begin
    to_server = translate(guest.kernel, client.threads[0], server.threads[0], words, request=True).message
    assert (to_server.sender, to_server.receiver, to_server.command, to_server.normal, to_server.reply) == \
        (client.pid, server.pid, 7, [0xAAAA, 0xBBBB], False)
    assert [str(d) for d in to_server.descriptors] == [f"pid {client.pid:#x}"]
    to_hle = translate(guest.kernel, client.threads[0], None, [hdr(7, 2, 0), 1, 2], request=False,
                       service="hlm:x").message
    assert (to_hle.receiver, to_hle.service, to_hle.reply) == (-1, "hlm:x", True)


# -- handles ------------------------------------------------------------------------------------------

def test_the_pid_descriptor_carries_the_senders_process_id(pair):
    guest, client, _server = pair
    assert dry(pair, [hdr(1, 0, 2), PID, 0xDEAD]).words == [hdr(1, 0, 2), PID, client.pid]


def test_a_null_handle_arrives_as_zero_and_real_handles_are_new_handles(pair):
    guest, client, server = pair
    words = real(pair, [hdr(1, 0, 3), copy_handles(2), 0, CUR_PROCESS]).words
    assert words[:3] == [hdr(1, 0, 3), copy_handles(2), 0]
    assert server.handles.resolve(words[3], server.threads[0]) is client


def test_copying_a_handle_twice_is_fine_but_moving_it_twice_is_not(pair):
    guest, client, server = pair
    h = guest.kernel.add_handle(client, client)
    assert err(lambda: dry(pair, [hdr(1, 0, 3), copy_handles(2), h, h])) == SUCCESS
    assert err(lambda: dry(pair, [hdr(1, 0, 4), copy_handles(1), h, copy_handles(1), h])) == SUCCESS
    assert err(lambda: dry(pair, [hdr(1, 0, 4), copy_handles(1) | MOVE, h, copy_handles(1) | MOVE, h])) \
        == INVALID_HANDLE
    # the pseudo-handle of the current process is never moved, so it may come twice
    assert err(lambda: dry(pair, [hdr(1, 0, 3), copy_handles(2) | MOVE, CUR_PROCESS, CUR_PROCESS])) == SUCCESS


def test_a_moved_handle_is_closed_in_the_sender(pair):
    guest, client, server = pair
    h = guest.kernel.add_handle(client, client)
    words = real(pair, [hdr(1, 0, 2), copy_handles(1) | MOVE, h]).words
    assert server.handles.resolve(words[2], server.threads[0]) is client
    assert err(lambda: client.handles.resolve(h, client.threads[0])) == INVALID_HANDLE


# -- static buffers ------------------------------------------------------------------------------------

def declare(server, index: int, capacity: int, address: int) -> None:
    """The receiver's static buffer ``index`` (libctru IPC_Desc_StaticBuffer at TLS + 0x180 + 8 * index)."""
    server.space.mem.write(server.threads[0].tls + 0x180 + 8 * index,
                           static_buffer(capacity, index).to_bytes(4, "little") + address.to_bytes(4, "little"))


def test_a_static_buffer_lands_in_the_receivers_buffer_of_that_index(pair):
    guest, client, server = pair
    declare(server, 1, 0x10, DATA + 0x44)
    declare(server, 2, 0x10, DATA + 0x80)  # a neighbour: the descriptor pair is 8 bytes, not more
    client.space.mem.write(DATA + 0x300, b"0123456789abcdef")
    words = [hdr(1, 0, 2), static_buffer(0x10, 1), DATA + 0x300]
    assert dry(pair, words).words == [hdr(1, 0, 2), static_buffer(0x10, 1), DATA + 0x44]
    assert server.space.mem.read(DATA + 0x44, 16) == bytes(16)  # a dry run writes nothing
    assert real(pair, words).words == [hdr(1, 0, 2), static_buffer(0x10, 1), DATA + 0x44]
    assert server.space.mem.read(DATA + 0x40, 24) == bytes(4) + b"0123456789abcdef" + bytes(4)
    # one byte more than the receiver declared is refused (its address's low byte is no part of the size)
    assert err(lambda: dry(pair, [hdr(1, 0, 2), static_buffer(0x11, 1), DATA + 0x300])) == INVALID_BUFFER_DESCRIPTOR


def test_a_static_buffer_for_an_hle_service_keeps_the_senders_address(pair):
    guest, client, _server = pair
    words = [hdr(1, 0, 2), static_buffer(0x10, 3), DATA + 0x300]
    delivery = translate(guest.kernel, client.threads[0], None, words, request=True)
    assert delivery.words == [hdr(1, 0, 2), static_buffer(0x10, 3), DATA + 0x300]


def test_a_descriptor_after_a_static_buffer_is_read_in_its_place(pair):
    guest, client, server = pair
    words = [hdr(1, 0, 4), static_buffer(4, 0), DATA + 0x300, PID, 0]
    assert dry(pair, words).words == [hdr(1, 0, 4), static_buffer(4, 0), DATA, PID, client.pid]


# -- mapped buffers --------------------------------------------------------------------------------------

def test_odd_descriptor_kinds_are_refused(pair, mem):
    _guest, client, _server = pair
    mem(client, 0x08000000, 1, P.RW)
    # kind 3 (bits 0 and 1) is no buffer; a mapped buffer with bit 0 set and no R/W grants nothing
    assert err(lambda: dry(pair, [hdr(1, 0, 2), (0x10 << 4) | 0x3, 0x08000000])) == INVALID_BUFFER_DESCRIPTOR
    assert err(lambda: dry(pair, [hdr(1, 0, 2), (0x10 << 4) | 0x9, 0x08000000])) == INVALID_BUFFER_DESCRIPTOR


def test_a_mapped_buffer_appears_in_the_servers_window_at_the_same_offset(pair, mem):
    guest, client, server = pair
    mem(client, 0x08000000, 2, P.RW)
    client.space.mem.write(0x08000FF0, b"across a page edge")
    words = [hdr(1, 0, 2), mapped_buffer(0x12, BUFFER_R), 0x08000FF0]
    assert dry(pair, words).words == [hdr(1, 0, 2), mapped_buffer(0x12, BUFFER_R), IPC_WINDOW + 0xFF0]
    assert server.space.query(IPC_WINDOW).state == S.FREE  # a dry run maps nothing
    delivery = real(pair, words)
    assert delivery.words == [hdr(1, 0, 2), mapped_buffer(0x12, BUFFER_R), IPC_WINDOW + 0xFF0]
    assert server.space.mem.read(IPC_WINDOW + 0xFF0, 18) == b"across a page edge"
    info = server.space.query(IPC_WINDOW)
    assert (info.base, info.size, info.perm, info.state) == (IPC_WINDOW, 0x2000, P.R, S.SHARED)
    assert delivery.mappings == [(server.pid, IPC_WINDOW, 0x2000)]


def test_two_mapped_buffers_get_two_places_in_a_dry_run_and_a_real_one(pair, mem):
    guest, client, server = pair
    mem(client, 0x08000000, 2, P.RW)
    words = [hdr(1, 0, 4), mapped_buffer(0x1000, BUFFER_W), 0x08000000, mapped_buffer(0x10, BUFFER_R | BUFFER_W),
             0x08001008]
    expected = [hdr(1, 0, 4), mapped_buffer(0x1000, BUFFER_W), IPC_WINDOW, mapped_buffer(0x10, BUFFER_R | BUFFER_W),
                IPC_WINDOW + 0x1008]
    assert dry(pair, words).words == expected
    assert real(pair, words).words == expected
    assert server.space.query(IPC_WINDOW).perm == P.RW


def test_a_dry_run_keeps_the_holes_in_the_servers_window_for_later_buffers(pair, mem):
    guest, client, server = pair
    mem(server, IPC_WINDOW)
    mem(server, IPC_WINDOW + 0x2000)  # a one-page hole at IPC_WINDOW + 0x1000
    mem(client, 0x08000000, 3, P.RW)
    words = [hdr(1, 0, 4), mapped_buffer(0x2000, BUFFER_R), 0x08000000, mapped_buffer(0x1000, BUFFER_R),
             0x08002000]
    expected = [hdr(1, 0, 4), mapped_buffer(0x2000, BUFFER_R), IPC_WINDOW + 0x3000, mapped_buffer(0x1000, BUFFER_R),
                IPC_WINDOW + 0x1000]
    assert dry(pair, words).words == expected
    assert real(pair, words).words == expected


def test_a_write_only_buffer_needs_only_writable_memory(pair, mem):
    guest, client, server = pair
    mem(client, 0x08000000, 1, P.W)
    assert err(lambda: dry(pair, [hdr(1, 0, 2), mapped_buffer(0x10, BUFFER_W), 0x08000000])) == SUCCESS
    assert err(lambda: dry(pair, [hdr(1, 0, 2), mapped_buffer(0x10, BUFFER_R), 0x08000000])) \
        == INVALID_BUFFER_DESCRIPTOR


def test_an_empty_mapped_buffer_maps_nothing(pair):
    words = [hdr(1, 0, 2), mapped_buffer(0, BUFFER_R), 0x0DEAD000]
    delivery = real(pair, words)
    assert delivery.words == words and delivery.mappings == []


def test_a_buffer_may_end_at_the_top_of_the_address_space_but_not_pass_it(pair, mem):
    _guest, client, _server = pair
    mem(client, TOP, 1, P.R)
    assert dry(pair, [hdr(1, 0, 2), mapped_buffer(0x1000, BUFFER_R), TOP]).words[2] == IPC_WINDOW
    with pytest.raises(KernelError, match="leaves the address space") as info:
        dry(pair, [hdr(1, 0, 2), mapped_buffer(0x1001, BUFFER_R), TOP])
    assert info.value.code == INVALID_BUFFER_DESCRIPTOR


def test_replies_carry_mapped_buffer_descriptors_back_unchecked(pair, mem):
    guest, client, server = pair
    mem(client, 0x08000000, 1, P.RW)
    session = _received(pair, [hdr(1, 0, 2), mapped_buffer(0x10, BUFFER_R), 0x08000000])
    assert server.space.query(IPC_WINDOW).state == S.SHARED
    # The reply names the server's view of the buffer, which is no memory of the client's.
    write_cmdbuf(server.threads[0], [hdr(1, 1, 2), 0, mapped_buffer(0x10, BUFFER_R), IPC_WINDOW])
    deliver_reply(guest.kernel, server.threads[0], session)
    assert read_cmdbuf(client.threads[0]) == [hdr(1, 1, 2), 0, mapped_buffer(0x10, BUFFER_R), IPC_WINDOW]
    assert client.threads[0].pending_results[0] == SUCCESS
    assert server.space.query(IPC_WINDOW).state == S.FREE  # the reply unmapped the request's buffer
    assert client.space.query(IPC_WINDOW).state == S.FREE
    assert session.current is None and session.current_delivery is None


def test_a_reply_is_not_checked_as_a_request_would_be(pair):
    guest, client, server = pair
    session = _received(pair, [hdr(1, 0, 0)])
    # a mapped buffer descriptor in a reply names no memory of the server's: it goes back as it is
    reply = [hdr(1, 1, 2), 0, mapped_buffer(0x10, BUFFER_W), 0x0DEAD000]
    write_cmdbuf(server.threads[0], reply)
    deliver_reply(guest.kernel, server.threads[0], session)
    assert read_cmdbuf(client.threads[0]) == reply
    assert client.threads[0].pending_results == {0: SUCCESS}


def test_a_reply_that_cannot_be_delivered_ends_the_request_with_its_error(pair):
    guest, client, server = pair
    session = _received(pair, [hdr(1, 0, 0)])
    write_cmdbuf(server.threads[0], [hdr(1, 1, 2), 0, copy_handles(1), 0x1234])  # no such handle
    with pytest.raises(KernelError) as info:
        deliver_reply(guest.kernel, server.threads[0], session)
    assert info.value.code == INVALID_HANDLE
    assert client.threads[0].pending_results == {0: INVALID_HANDLE}
    assert session.current is None


def test_the_recorded_reply_has_its_result_and_request(pair):
    guest, client, server = pair
    seen = []
    guest.kernel.ipc_listeners.append(seen.append)
    session = ServerSession(guest.kernel, "hlm:test")
    for reply in ([hdr(1, 1, 0), 0xC8A01836], [hdr(1, 0, 0)]):
        write_cmdbuf(client.threads[0], [hdr(1, 0, 0)])
        session.current = client.threads[0]
        session.current_delivery = deliver_request(guest.kernel, client.threads[0], server.threads[0])
        write_cmdbuf(server.threads[0], reply)
        deliver_reply(guest.kernel, server.threads[0], session)
    request, answer, _request2, bare = seen
    assert (answer.reply, answer.result, answer.request) == (True, 0xC8A01836, request)
    assert bare.result is None


# -- finishing a request -------------------------------------------------------------------------------

class Session:
    """The part of a ServerSession finish_request uses."""

    def __init__(self, delivery) -> None:
        self.current_delivery = delivery


def test_finish_request_unmaps_the_servers_view_of_each_buffer(pair, mem):
    guest, client, server = pair
    mem(client, 0x08000000, 3, P.RW)
    delivery = real(pair, [hdr(1, 0, 4), mapped_buffer(0x1000, BUFFER_R), 0x08000000,
                           mapped_buffer(0x1800, BUFFER_R), 0x08001000])
    assert delivery.mappings == [(server.pid, IPC_WINDOW, 0x1000), (server.pid, IPC_WINDOW + 0x1000, 0x2000)]
    session = Session(delivery)
    finish_request(guest.kernel, session)
    assert session.current_delivery is None
    assert server.space.query(IPC_WINDOW).state == S.FREE
    assert server.space.query(IPC_WINDOW).size > 0x3000
    assert client.space.query(0x08000000).state == S.PRIVATE  # the client's memory stays
    finish_request(guest.kernel, session)  # nothing to do twice


def test_finish_request_leaves_a_range_the_server_no_longer_maps(pair, mem):
    guest, client, server = pair
    mem(client, 0x08000000, 1, P.RW)
    delivery = real(pair, [hdr(1, 0, 2), mapped_buffer(0x1000, BUFFER_R), 0x08000000])
    server.space.unmap(IPC_WINDOW, 0x1000)
    mem(server, IPC_WINDOW + 0x1000)  # a neighbour the server mapped meanwhile is not touched
    finish_request(guest.kernel, Session(delivery))
    assert server.space.query(IPC_WINDOW + 0x1000).state == S.PRIVATE


# -- the helpers ---------------------------------------------------------------------------------------

def test_has_memory_up_to_the_top_page_and_no_further():
    table = PageTable()
    table.frame[TOP >> 12], table.perm[TOP >> 12], table.state[TOP >> 12] = 5, int(P.R), int(S.PRIVATE)
    assert has_memory(table, TOP, 0x1000, P.R)
    assert has_memory(table, TOP + 0xFFF, 1, P.R)
    assert not has_memory(table, TOP, 0x1001, P.R)
    assert not has_memory(table, TOP, 0x1000, P.RW)


def test_has_memory_wants_a_state_and_a_frame():
    table = PageTable()
    table.state[0x100], table.perm[0x100], table.frame[0x100] = int(S.IO), int(P.RW), -1  # MMIO: no frame
    assert not has_memory(table, 0x100000, 4, P.R)
    table.state[0x101], table.perm[0x101], table.frame[0x101] = 1, int(P.RW), 7  # any mapped state is memory
    assert has_memory(table, 0x101000, 4, P.RW)
    table.frame[0x102], table.perm[0x102] = 8, int(P.RW)  # a frame but FREE state
    assert not has_memory(table, 0x102000, 4, P.R)


def test_has_memory_over_more_pages_than_its_plain_int_path_takes():
    """Six pages (past the few has_memory walks in plain ints): every one must be mapped memory
    with a frame and the permission asked for."""
    table = PageTable()
    base = 0x200
    table.state[base : base + 6], table.perm[base : base + 6] = int(S.PRIVATE), int(P.RW)
    table.frame[base : base + 6] = np.arange(10, 16)
    assert has_memory(table, base << 12, 6 << 12, P.RW)
    for broken in ("state", "frame", "perm"):
        saved = (int(table.state[base + 3]), int(table.frame[base + 3]), int(table.perm[base + 3]))
        if broken == "state":
            table.state[base + 3] = int(S.FREE)
        elif broken == "frame":
            table.frame[base + 3] = -1
        else:
            table.perm[base + 3] = int(P.R)
        assert not has_memory(table, base << 12, 6 << 12, P.RW), broken
        assert has_memory(table, base << 12, 6 << 12, P.R) == (broken == "perm"), broken
        table.state[base + 3], table.frame[base + 3], table.perm[base + 3] = saved


def test_a_plain_reply_to_a_mapped_buffer_request_unmaps_it(pair, mem):
    """The reply of normal words only (the round trip's shortcut) still ends the request whole:
    the buffer mapped into the server for it goes."""
    guest, client, server = pair
    mem(client, 0x08000000, 1, P.RW)
    session = _received(pair, [hdr(1, 0, 2), mapped_buffer(0x10, BUFFER_W), 0x08000000])
    assert server.space.query(IPC_WINDOW).state == S.SHARED
    write_cmdbuf(server.threads[0], [hdr(1, 1, 0), 0])
    deliver_reply(guest.kernel, server.threads[0], session)
    assert server.space.query(IPC_WINDOW).state == S.FREE
    assert read_cmdbuf(client.threads[0]) == [hdr(1, 1, 0), 0]
    assert client.threads[0].pending_results == {0: SUCCESS}
    assert session.current is None and session.current_delivery is None


@pytest.mark.parametrize("normal", [0, 1, 2])
def test_a_reply_of_a_handle_and_a_bad_one_moves_nothing_whatever_its_normal_words(pair, normal):
    """A reply's dry run is skipped only when its descriptors cannot fail after a change: here a
    handle move comes first, so the dry run must run and refuse before the move, whatever normal
    words (zeros: a result code of success) come before the descriptors."""
    guest, client, server = pair
    session = _received(pair, [hdr(1, 0, 0)])
    h = guest.kernel.add_handle(server, server)
    write_cmdbuf(server.threads[0], [hdr(1, normal, 4), *[0] * normal, copy_handles(1) | MOVE, h,
                                     copy_handles(1), 0x1234])
    with pytest.raises(KernelError) as info:
        deliver_reply(guest.kernel, server.threads[0], session)
    assert info.value.code == INVALID_HANDLE
    assert server.handles.resolve(h, server.threads[0]) is server
    assert client.threads[0].pending_results == {0: INVALID_HANDLE}


def test_a_reply_with_a_handle_is_dry_run_as_a_reply(pair):
    """A reply whose handle makes it take the dry run still carries its mapped buffer descriptor
    back unchecked (the address is no memory of the server's): checked as a request, it would fail."""
    guest, client, server = pair
    session = _received(pair, [hdr(1, 0, 0)])
    h = guest.kernel.add_handle(server, server)
    write_cmdbuf(server.threads[0], [hdr(1, 1, 4), 0, mapped_buffer(0x10, BUFFER_W), 0x0DEAD000, copy_handles(1), h])
    deliver_reply(guest.kernel, server.threads[0], session)
    assert client.threads[0].pending_results == {0: SUCCESS}
    words = read_cmdbuf(client.threads[0])
    assert words[:4] == [hdr(1, 1, 4), 0, mapped_buffer(0x10, BUFFER_W), 0x0DEAD000]
    assert client.handles.resolve(words[5], client.threads[0]) is server


@pytest.mark.parametrize("normal", [0, 3])
def test_a_plain_message_is_copied_word_for_word_and_no_further(pair, normal):
    """A message of normal words only is copied as it is (copy_plain): the header and its normal
    words, not a byte of what follows in the receiver's command buffer."""
    guest, client, server = pair
    write_cmdbuf(server.threads[0], [0xEEEEEEEE] * 8)
    words = [hdr(7, normal, 0), *range(0x11111111, 0x11111111 + normal)]
    write_cmdbuf(client.threads[0], words + [0xCCCCCCCC] * 4)
    assert deliver_request(guest.kernel, client.threads[0], server.threads[0]) is None
    got = read_cmdbuf(server.threads[0])
    assert got == words
    from kernel.ipc import _tls_bytes
    from kernel.ipc_codec import CMDBUF_OFFSET
    memory, offset = _tls_bytes(server.threads[0])
    after = offset + CMDBUF_OFFSET + 4 * len(words)
    assert bytes(memory[after : after + 4]) == b"\xee" * 4


def test_has_memory_with_one_to_six_pages_agrees_with_the_page_by_page_rule():
    table = PageTable()
    base = 0x300
    table.state[base : base + 5], table.perm[base : base + 5], table.frame[base : base + 5] = 1, int(P.R), 9
    for pages in range(1, 7):  # up to past the mapped five: plain ints below five pages, numpy above
        assert has_memory(table, base << 12, pages << 12, P.R) == (pages <= 5), pages
        assert has_memory(table, (base + 1) << 12, pages << 12, P.R) == (pages <= 4), pages


def test_the_dry_run_sees_what_the_servers_ipc_area_holds_already(pair):
    """The dry run plays the window forward on a copy of the server's IPC area (only that part
    of its state table is copied): buffers mapped there before this request count."""
    _guest, _client, server = pair
    words = [hdr(1, 0, 2), mapped_buffer(0x10, BUFFER_R), DATA]  # DATA: mapped in the client
    assert dry(pair, words).words[2] == IPC_WINDOW
    state = server.space.table.state
    area = slice(IPC_WINDOW >> 12, 0x08000000 >> 12)
    saved = state[area].copy()
    state[area] = int(S.SHARED)
    state[(0x08000000 >> 12) - 1] = 0  # the last page is free: the request goes there
    try:
        assert dry(pair, words).words[2] == 0x08000000 - 0x1000
        state[(0x08000000 >> 12) - 1] = int(S.SHARED)
        assert err(lambda: dry(pair, words)) == OUT_OF_MEMORY
    finally:
        state[area] = saved


def test_a_reply_with_descriptors_is_checked_whole_before_a_handle_moves(pair):
    """Whatever its count of normal words (here none: an even count), a reply whose last
    descriptor is bad moves none of the handles before it."""
    guest, client, server = pair
    session = _received(pair, [hdr(1, 0, 0)])
    h = guest.kernel.add_handle(server, server)
    write_cmdbuf(server.threads[0], [hdr(1, 0, 4), copy_handles(1) | MOVE, h, copy_handles(1), 0x1234])
    with pytest.raises(KernelError) as info:
        deliver_reply(guest.kernel, server.threads[0], session)
    assert info.value.code == INVALID_HANDLE
    assert server.handles.resolve(h, server.threads[0]) is server  # not moved: the dry run refused first


def _free_ipc_range(state: np.ndarray, size: int) -> int | None:
    return _free_in_area(state[_IPC_AREA], size)  # the IPC area of a whole table's page states


def test_free_ipc_range_takes_the_first_hole_that_fits():
    state = np.zeros(1 << 20, np.uint8)
    base = IPC_WINDOW >> 12
    assert _free_ipc_range(state, 0x2000) == IPC_WINDOW
    state[base] = state[base + 2] = int(S.SHARED)  # a one-page hole at base + 1
    assert _free_ipc_range(state, 0x1000) == IPC_WINDOW + 0x1000
    assert _free_ipc_range(state, 0x2000) == IPC_WINDOW + 0x3000
    state[base: 0x08000] = int(S.SHARED)
    assert _free_ipc_range(state, 0x1000) is None


# -- the shortcuts for the usual shapes (ipc_codec's one_mapped_buffer, mapped_buffers_only; request_refusal) --

def test_one_buffer_finds_the_descriptor_of_a_request_of_normal_words_and_one_mapped_buffer():
    from kernel.ipc_codec import one_mapped_buffer as _one_buffer

    buf = mapped_buffer(0x1000, BUFFER_R)
    assert _one_buffer([header(7, 0, 2), buf, 0x1000]) == 1
    assert _one_buffer([header(7, 1, 2), 0xAB, buf, 0x1000]) == 2
    assert _one_buffer([header(7, 2, 2), 0xAB, 0xCD, mapped_buffer(0x10, BUFFER_W), 0x1000]) == 3
    assert _one_buffer([header(7, 61, 2)] + [0] * 61 + [buf, 0x1000]) == 62  # the last two words of 64
    assert _one_buffer([header(7, 62, 2)] + [0] * 62 + [buf]) == 0  # its address would be word 65
    assert _one_buffer([header(7, 1, 3), 0, buf, 0x1000, 0]) == 0  # three translate words
    assert _one_buffer([header(7, 1, 2), 0, copy_handles(1), 5]) == 0  # a handle, not a buffer
    assert _one_buffer([header(7, 1, 2), 0, static_buffer(0x10), 0x1000]) == 0
    assert _one_buffer([header(7, 1, 2), 0, 0x10008, 0x1000]) == 0  # a mapped buffer granting nothing
    assert _one_buffer([header(7, 1, 2), 0, 0x10003, 0x1000]) == 0  # not a mapped buffer (bit 3 clear)
    assert _one_buffer([header(7, 1, 2), 0, 0x10009, 0x1000]) == 0  # bit 0 is not a right
    assert _one_buffer([header(7, 1, 2), buf, buf, 0x1000]) == 2  # the header alone decides where it is


def test_carried_back_takes_replies_of_normal_words_and_well_formed_mapped_buffers_only():
    from kernel.ipc_codec import mapped_buffers_only as _carried_back

    buf = mapped_buffer(0x1000, BUFFER_R | BUFFER_W)
    assert _carried_back([header(1, 0, 2), buf, 0x04000000])
    assert _carried_back([header(1, 1, 2), SUCCESS, buf, 0x04000000])
    assert _carried_back([header(1, 1, 4), SUCCESS, buf, 0x04000000, mapped_buffer(8, BUFFER_R), 0x04001000])
    assert _carried_back([header(1, 61, 2)] + [0] * 61 + [buf, 0x04000000])  # ends at word 64
    assert not _carried_back([header(1, 62, 2)] + [0] * 62 + [buf])  # past the buffer
    assert not _carried_back([header(1, 1, 1), SUCCESS, buf])  # a buffer without its address
    assert not _carried_back([header(1, 1, 3), SUCCESS, buf, 0x04000000, buf])  # the second one's missing
    assert not _carried_back([header(1, 1, 2), SUCCESS, copy_handles(1), 5])
    assert not _carried_back([header(1, 1, 4), SUCCESS, buf, 0x04000000, copy_handles(1), 5])
    assert not _carried_back([header(1, 1, 2), SUCCESS, 0x10008, 0x04000000])  # grants nothing
    assert not _carried_back([header(1, 1, 2), SUCCESS, 0x10003, 0x04000000])  # bit 3 clear
    assert not _carried_back([header(1, 1, 2), SUCCESS, 0x10009, 0x04000000])


def test_request_refusal_decides_the_usual_shapes_without_a_dry_run(pair, mem, monkeypatch):
    """A plain request and a one-buffer request are decided by request_refusal itself (the same
    answer the dry run gives: a buffer the sender lacks, a full IPC area); other shapes go
    through deliver_request's dry run, which changes nothing in the server."""
    import kernel.ipc as ipc

    guest, client, server = pair
    c, s = client.threads[0], server.threads[0]
    mem(client, 0x08000000, 2, P.R)  # read-only memory: a read-only buffer fits it, a writable one not
    calls = []
    real_deliver = ipc.deliver_request
    monkeypatch.setattr(ipc, "deliver_request", lambda *a, **k: calls.append(k) or real_deliver(*a, **k))
    cases = [([header(9, 2, 0), 1, 2], None),
             ([header(9, 1, 2), 5, mapped_buffer(0x1000, BUFFER_R), 0x08000000], None),
             ([header(9, 1, 2), 5, mapped_buffer(0x1800, BUFFER_R), 0x08000800], None),
             ([header(9, 0, 2), mapped_buffer(0x1000, BUFFER_W), 0x08000000], INVALID_BUFFER_DESCRIPTOR),
             ([header(9, 0, 2), mapped_buffer(0x1000, BUFFER_R), 0x08004000], INVALID_BUFFER_DESCRIPTOR),
             ([header(9, 0, 2), mapped_buffer(0x2000, BUFFER_R), 0x08001000], INVALID_BUFFER_DESCRIPTOR),  # page 2
             ([header(9, 0, 2), mapped_buffer(1, BUFFER_R), 0xDEAD0000], INVALID_BUFFER_DESCRIPTOR),  # 1 byte, unmapped
             ([header(9, 0, 2), mapped_buffer(0, BUFFER_R), 0xDEAD0000], None)]  # an empty buffer: nothing to check
    for words, code in cases:
        write_cmdbuf(c, words)
        assert ipc.request_refusal(guest.kernel, c, s) == code, [hex(w) for w in words]
    assert calls == []
    # the IPC area full: one page left free too few
    area = server.space.table.state[_IPC_AREA]
    area[:] = int(S.SHARED)
    write_cmdbuf(c, [header(9, 0, 2), mapped_buffer(0x1000, BUFFER_R), 0x08000000])
    assert ipc.request_refusal(guest.kernel, c, s) == OUT_OF_MEMORY and calls == []
    area[:] = 0
    area[0] = int(S.SHARED)  # the first page taken by an earlier request: the buffer fits after it
    assert ipc.request_refusal(guest.kernel, c, s) is None and calls == []
    area[:] = 0
    # two buffers: the dry run decides, and maps nothing in the server
    write_cmdbuf(c, [header(9, 0, 4), mapped_buffer(0x1000, BUFFER_R), 0x08000000,
                     mapped_buffer(0x1000, BUFFER_R), 0x08001000])
    assert ipc.request_refusal(guest.kernel, c, s) is None
    assert calls == [{"dry_run": True}]
    assert not server.space.table.state[_IPC_AREA].any()


def test_a_read_only_buffer_of_read_only_memory_is_delivered_by_the_shortcut(pair, mem):
    """deliver_request's one-buffer shortcut asks the sender for the rights the descriptor
    grants, no more: a read-only buffer from read-only memory maps read-only in the server."""
    guest, client, server = pair
    mem(client, 0x08000000, 1, P.R)
    write_cmdbuf(client.threads[0], [header(9, 1, 2), 5, mapped_buffer(0x20, BUFFER_R), 0x08000010])
    delivery = deliver_request(guest.kernel, client.threads[0], server.threads[0])
    assert delivery is not None and delivery.mappings == [(server.pid, IPC_WINDOW, 0x1000)]
    words = read_cmdbuf(server.threads[0])
    assert words == [header(9, 1, 2), 5, mapped_buffer(0x20, BUFFER_R), IPC_WINDOW + 0x10]
    assert int(server.space.table.perm[IPC_WINDOW >> 12]) == int(P.R)


def test_has_memory_over_many_pages_counts_frame_zero_and_every_mapped_state():
    table = PageTable()
    base = 0x300
    table.state[base : base + 6], table.perm[base : base + 6] = int(S.RESERVED), int(P.RW)
    table.frame[base : base + 6] = np.arange(0, 6)  # frame 0 is a frame like any other
    assert has_memory(table, base << 12, 6 << 12, P.RW)


def test_a_dry_run_of_a_one_buffer_request_maps_nothing(pair, mem):
    """deliver_request's one-buffer shortcut is for real deliveries only: a dry run of that
    shape checks and answers (the place it would get) with the server's table untouched, as
    it does with listeners, whose messages take translate()."""
    guest, client, server = pair
    mem(client, 0x08000000, 1, P.RW)
    write_cmdbuf(client.threads[0], [header(9, 1, 2), 5, mapped_buffer(0x100, BUFFER_R), 0x08000000])
    delivery = deliver_request(guest.kernel, client.threads[0], server.threads[0], dry_run=True)
    assert delivery is not None and delivery.mappings == [] and delivery.words[3] == IPC_WINDOW
    assert not server.space.table.state[_IPC_AREA].any()
    assert read_cmdbuf(server.threads[0])[0] != header(9, 1, 2)  # nothing was written to the server
