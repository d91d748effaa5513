"""A server session's wait protocol: ``should_wait`` only looks; ``settle`` answers the
requests that can never be delivered (issue 15: deciding split from doing)."""

from __future__ import annotations

import pytest

from kernel.ipc import write_cmdbuf
from kernel.objects.session import ClientSession, ServerSession
from kernel.thread import ThreadState, Wait
from tests.kernel.asm import Guest

INVALID_HANDLE = 0xD8E007F7  # Citra errors.h ERR_INVALID_HANDLE


@pytest.fixture
def session():
    """A session between two processes (never run) and their threads: (kernel, server end,
    client thread, server thread)."""
    guest = Guest("semifastmem")
    client, server = guest.spawn("b .\n", name="client"), guest.spawn("b .\n", name="server")
    server_end = ServerSession(guest.kernel, "hlm:test")
    ClientSession(guest.kernel, server_end)
    yield guest.kernel, server_end, client.threads[0], server.threads[0]
    guest.close()


def _queue(kernel, server_end, client, words):
    write_cmdbuf(client, words)
    server_end.queue.append(client)
    kernel.block(client, Wait("ipc"))


def test_asking_whether_to_wait_changes_nothing(session):
    kernel, server_end, client, server = session
    _queue(kernel, server_end, client, [0x00010002, 0x00000000, 0x1234])  # copies handle 0x1234: none such
    assert server_end.should_wait(server) is False  # a request is queued (it is not looked into)
    assert server_end.should_wait(server) is False
    assert server_end.queue == [client] and client.state is ThreadState.WAITING
    assert client.pending_results == {}


def test_settling_answers_an_undeliverable_request_with_its_error(session):
    kernel, server_end, client, server = session
    _queue(kernel, server_end, client, [0x00010002, 0x00000000, 0x1234])
    assert server_end.undeliverable(client, server) == INVALID_HANDLE
    assert server_end.queue == [client]  # deciding did nothing
    server_end.settle(server)
    assert server_end.queue == [] and client.pending_results == {0: INVALID_HANDLE}
    assert client.state is ThreadState.READY
    assert server_end.should_wait(server) is True


def test_settling_leaves_a_deliverable_request_for_the_server(session):
    kernel, server_end, client, server = session
    _queue(kernel, server_end, client, [0x00010040, 7])
    server_end.settle(server)
    assert server_end.queue == [client] and client.state is ThreadState.WAITING
    assert server_end.should_wait(server) is False
