"""Writing into a client's mapped buffers (3dbrew "IPC": ``size << 4 | 0x8 | perm``).

An HLE service reads and writes the client's own pages at the buffer's client address
(the kernel maps nothing for it), so the checks the kernel makes when it maps a buffer
into a real server are made here: the descriptor must allow writing and every page of
the buffer must be the client's writable memory. A bad buffer is answered with the
kernel's INVALID_BUFFER_DESCRIPTOR, never a host exception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hlemu.memory import MemoryPermission
from kernel.errors import Result
from kernel.ipc import has_memory
from kernel.ipc_codec import BUFFER_W, STATIC_BUFFERS_OFFSET

if TYPE_CHECKING:
    from kernel.services import Request


def write_mapped(request: Request, index: int, data: bytes) -> int:
    """Write ``data`` (cut to the buffer's size) to mapped buffer ``index`` of ``request``;
    the result code for the reply."""
    if index >= len(request.mapped_buffers):
        return Result.INVALID_BUFFER_DESCRIPTOR
    address, size, perm = request.mapped_buffers[index]
    data = data[:size]
    if not perm & BUFFER_W or not has_memory(request.process.space.table, address, size, MemoryPermission.W):
        return Result.INVALID_BUFFER_DESCRIPTOR
    if data:
        request.process.space.mem.write(address, data)
    return Result.SUCCESS


def static_room(request: Request, sid: int, wanted: int) -> int:
    """How many of ``wanted`` bytes the client's receive static buffer ``sid`` takes (its
    descriptor at TLS + 0x180 + 8 * sid): a reply padded to a size the client names is
    never larger than the buffer it gave, whatever the size word says."""
    thread = request.thread
    pair = thread.process.space.mem.read(thread.tls + STATIC_BUFFERS_OFFSET + 8 * sid, 4)
    desc = int.from_bytes(pair, "little")
    return min(wanted, desc >> 14) if desc & 0xF == 0x2 else 0
