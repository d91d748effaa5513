"""What an HLE service's answer puts into a client's buffers (kernel/services/buffers.py), called
directly on a process of the bundled ``hello`` program:

* a mapped buffer (3dbrew "IPC": ``size << 4 | 0x8 | perm``, perm 2 read, 4 write) is written at
  its client address, cut to its size, only when its descriptor lets the server write and every
  page is the client's writable memory; otherwise the kernel's answer to a bad buffer,
  0xD9001830 (Azahar kernel/errors.h ResultInvalidBufferDescriptor: OS, WrongArgument,
  Permanent, 48);
* a receive static buffer is the pair at TLS + 0x180 + 8 * id, ``size << 14 | id << 10 | 2`` then
  the address (3dbrew "IPC", libctru ``IPC_Desc_StaticBuffer``); a reply never gives more than
  that size, and nothing where the client set no static-buffer descriptor.

Written for mutants of kernel/services/buffers.py (scripts/mutation.py)."""

from __future__ import annotations

import struct

import pytest

from hlemu.guest import program_path
from kernel.kernel import Kernel
from kernel.services import Request
from kernel.services.buffers import static_room, write_mapped

SUCCESS = 0
INVALID_BUFFER_DESCRIPTOR = 0xD9001830
R, W = 0x2, 0x4  # a mapped-buffer descriptor's permission bits (3dbrew "IPC")
DATA = 0x00105000  # hello's .data page: read-write
RODATA = 0x00104000  # its .rodata page: read-only
STACK = 0x0FFF0000  # its stack, 16 read-write pages


@pytest.fixture(scope="module")
def client():
    kernel = Kernel(backend="semifastmem", output=lambda _p, _line: None)
    kernel.spawn(program_path("hello"))
    yield kernel.threads[0]
    kernel.close()


def request(thread, *buffers: tuple[int, int, int]) -> Request:
    return Request(None, thread, 0x0001, [], mapped_buffers=list(buffers))  # type: ignore[arg-type]


def fill(thread, address: int, size: int, byte: int = 0xEE) -> None:
    thread.process.space.mem.write(address, bytes([byte]) * size)


def read(thread, address: int, size: int) -> bytes:
    return bytes(thread.process.space.mem.read(address, size))


def test_a_writable_buffer_gets_the_data_cut_to_its_size(client):
    fill(client, DATA, 0x20)
    assert write_mapped(request(client, (DATA, 8, W)), 0, b"ABCDEFGHIJKL") == SUCCESS
    assert read(client, DATA, 0x10) == b"ABCDEFGH" + b"\xee" * 8


def test_the_buffer_is_chosen_by_its_index(client):
    fill(client, DATA, 0x20)
    assert write_mapped(request(client, (DATA, 4, W), (DATA + 0x10, 4, R | W)), 1, b"wxyz") == SUCCESS
    assert read(client, DATA, 0x14) == b"\xee" * 0x10 + b"wxyz"


def test_a_buffer_over_several_pages_is_written_whole(client):
    fill(client, STACK, 0x3000)
    data = bytes(range(256)) * 0x20  # 0x2000 bytes from the middle of the first page into the third
    assert write_mapped(request(client, (STACK + 0x800, 0x2000, W)), 0, data) == SUCCESS
    assert read(client, STACK + 0x800, 0x2000) == data
    assert read(client, STACK + 0x2800, 0x10) == b"\xee" * 0x10


def test_no_data_is_success_and_writes_nothing(client):
    fill(client, DATA, 0x10)
    assert write_mapped(request(client, (DATA, 0x10, W)), 0, b"") == SUCCESS
    assert read(client, DATA, 0x10) == b"\xee" * 0x10


def test_an_index_past_the_request_s_buffers_is_a_bad_descriptor(client):
    fill(client, DATA, 0x10)
    assert write_mapped(request(client), 0, b"data") == INVALID_BUFFER_DESCRIPTOR
    assert write_mapped(request(client, (DATA, 0x10, W)), 1, b"data") == INVALID_BUFFER_DESCRIPTOR
    assert read(client, DATA, 0x10) == b"\xee" * 0x10


def test_a_read_only_descriptor_is_not_written(client):
    fill(client, DATA, 0x10)
    assert write_mapped(request(client, (DATA, 0x10, R)), 0, b"data") == INVALID_BUFFER_DESCRIPTOR
    assert read(client, DATA, 0x10) == b"\xee" * 0x10


@pytest.mark.parametrize(("address", "size"), [(RODATA, 0x10), (DATA + 0xFF8, 0x10), (0x00200000, 4)],
                         ids=["read-only page", "runs off the writable page", "unmapped"])
def test_memory_the_client_cannot_write_is_a_bad_descriptor(client, address, size):
    before = read(client, RODATA, 0x1000) + read(client, DATA, 0x1000)
    assert write_mapped(request(client, (address, size, R | W)), 0, b"\x55" * size) == INVALID_BUFFER_DESCRIPTOR
    assert read(client, RODATA, 0x1000) + read(client, DATA, 0x1000) == before


# -- receive static buffers ---------------------------------------------------------------------

def static_pair(size: int, sid: int, address: int) -> bytes:
    return struct.pack("<II", size << 14 | sid << 10 | 2, address)


@pytest.fixture
def statics(client):
    """The client's static-buffer descriptors: id 0 of 0x40 bytes, id 1 of 0x100, id 2 none (its
    pair zero), each address with a non-zero low byte (so that a misread word shows)."""
    tls_statics = client.tls + 0x180
    saved = read(client, tls_statics, 0x20)
    client.process.space.mem.write(tls_statics, static_pair(0x40, 0, 0x10105FC3) + static_pair(0x100, 1, 0x0FFF10FF)
                                   + bytes(8) + static_pair(0x3FFFF, 3, 0x000000FF))
    yield client
    client.process.space.mem.write(tls_statics, saved)


@pytest.mark.parametrize(("sid", "size"), [(0, 0x40), (1, 0x100), (3, 0x3FFFF)])
def test_a_reply_takes_at_most_the_static_buffer_s_size(statics, sid, size):
    assert static_room(request(statics), sid, size + 1) == size
    assert static_room(request(statics), sid, 0x7FFFFFFF) == size
    assert static_room(request(statics), sid, size - 1) == size - 1
    assert static_room(request(statics), sid, 0) == 0


def test_no_static_buffer_descriptor_takes_nothing(statics):
    assert static_room(request(statics), 2, 0x10) == 0


def test_a_word_that_is_not_a_static_buffer_descriptor_takes_nothing(statics):
    tls_statics = statics.tls + 0x180 + 8 * 2
    for kind in (0x0, 0x6, 0xA, 0xC):  # handles, a PXI buffer, mapped buffers (3dbrew "IPC")
        statics.process.space.mem.write(tls_statics, struct.pack("<II", 0x100 << 14 | kind, 0x0FFF0000))
        assert static_room(request(statics), 2, 0x10) == 0, hex(kind)
