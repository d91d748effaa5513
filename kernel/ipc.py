"""IPC message translation between two threads' command buffers (3dbrew "IPC").

A command buffer is 64 words at TLS + 0x80: a header
``command_id << 16 | normal_words << 6 | translate_words``, the normal
words (copied as they are), then translate descriptors, each followed by
its parameters:

=====================  =========================================================
``(n-1) << 26``        copy n handles into the receiver's handle table
``... | 0x10``         move them (closed in the sender)
``0x20``               the kernel writes the sender's process id in the next word
``size << 14 | id << 10 | 0x2``   static buffer: copied into the receiver's
                       static buffer ``id`` (its descriptor pair lives at
                       TLS + 0x180 + 8 * id)
``size << 4 | 0x8 | perm``        mapped buffer (perm: R = 0x2, W = 0x4): the
                       sender's pages are mapped into the server, zero-copy,
                       until the reply
=====================  =========================================================

Anything malformed is a :class:`KernelError` for the sender, never a kernel
exception. A dry run checks everything the delivery would do, in order (a handle
moved twice, a receive buffer the receiver cannot write, mapped buffers that
fill the server's IPC area), so that a request that passes it is delivered whole:
nothing is moved or mapped before the whole message is known to be good.
Requests go client -> server (mapping buffers); replies go back
(buffers are unmapped, handles and static buffers translated the same way).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from hlemu.memory import GuestFault, MemoryPermission, MemoryState, PageTable
from kernel.errors import KernelError, Result
from kernel.ipc_codec import (
    BUFFER_R,
    BUFFER_W,
    CMDBUF_OFFSET,
    CMDBUF_WORDS,
    MAPPED_BUFFER,
    MOVE_HANDLES,
    PID,
    STATIC_BUFFER,
    STATIC_BUFFERS_OFFSET,
    descriptors,
    mapped_buffers_only,
    message_length,
    one_mapped_buffer,
    parse_header,
)
from kernel.layout import CURRENT_PROCESS, CURRENT_THREAD
from kernel.service_names import command_names
from kernel.thread import ThreadState

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.objects.base import KernelObject
    from kernel.objects.session import ServerSession
    from kernel.thread import Thread

_WORD = struct.Struct("<I")
_WORDS = [struct.Struct(f"<{n}I") for n in range(CMDBUF_WORDS + 1)]  # a command buffer's first n words
_DEAD = ThreadState.DEAD
IPC_MAP_BASE = 0x04000000  # where servers see mapped buffers (3DS IPC mapping area)
IPC_MAP_END = 0x08000000
_IPC_AREA = slice(IPC_MAP_BASE >> 12, IPC_MAP_END >> 12)  # its pages in a page table's arrays
_R, _W, _RW = int(MemoryPermission.R), int(MemoryPermission.W), int(MemoryPermission.RW)
_SHARED = int(MemoryState.SHARED)


@dataclass
class Descriptor:
    """One decoded translate descriptor, for the recorder and the HLE services."""

    kind: str  # "copy handles", "move handles", "pid", "static buffer", "mapped buffer"
    values: list[int] = field(default_factory=list)  # handles / pid / [address, size, id or perm]

    def __str__(self) -> str:
        return f"{self.kind} {', '.join(f'{v:#x}' for v in self.values)}"


@dataclass
class Message:
    """A decoded IPC message, as the recorder and debugger show it."""

    sender: int  # pid
    receiver: int  # pid, or -1 for an HLE service
    service: str
    command: int
    normal: list[int]
    descriptors: list[Descriptor]
    reply: bool = False
    result: int | None = None
    name: str = ""  # the command's documented name ("" when the service's commands are not known)
    status: str = ""  # a reply's note: "unimplemented", "stubbed", "refused: header ..."
    request: Message | None = None  # a reply's request (when it was recorded)


@dataclass(slots=True)
class Delivery:
    """What delivering one message did (and what the reply must undo)."""

    words: list[int]
    mappings: list[tuple[int, int, int]] = field(default_factory=list)  # (server pid, vaddr, size) to unmap
    message: Message | None = None
    objects: list[KernelObject] = field(default_factory=list)  # handles given to an HLE service, in order
    moved: set[int] = field(default_factory=set)  # dry run: handles a move descriptor has taken already
    window: np.ndarray | None = None  # dry run: the IPC mapping area's page states as the real run would fill them


def _tls_bytes(thread: Thread) -> tuple[memoryview, int]:
    """The physical memory and the offset of the thread's 0x200-byte TLS.

    TLS pages are the kernel's (LOCKED: no SVC can unmap or move them), so this is
    worked out once per thread and reading a command buffer costs no guest memory call.
    """
    where = getattr(thread, "_tls_at", None)
    if where is None:
        space = thread.process.space
        frame = int(space.table.frame[thread.tls >> 12])
        where = (space.phys.data.data, (frame << 12) | (thread.tls & 0xFFF))
        thread._tls_at = where  # type: ignore[attr-defined]
    return where


def read_header(thread: Thread) -> int:
    """The header word of ``thread``'s command buffer (all a receive or a reply target decides on)."""
    memory, offset = _tls_bytes(thread)
    return _WORD.unpack_from(memory, offset + CMDBUF_OFFSET)[0]


def read_cmdbuf(thread: Thread) -> list[int]:
    """The message in ``thread``'s command buffer: the header and the words it announces."""
    memory, offset = _tls_bytes(thread)
    offset += CMDBUF_OFFSET
    head = _WORD.unpack_from(memory, offset)[0]
    count = min(1 + ((head >> 6) & 0x3F) + (head & 0x3F), CMDBUF_WORDS)
    return [head] if count == 1 else list(_WORDS[count].unpack_from(memory, offset))


def write_cmdbuf(thread: Thread, words: list[int]) -> None:
    memory, offset = _tls_bytes(thread)
    if len(words) > CMDBUF_WORDS:  # (past the buffer lies the rest of the TLS, then other memory)
        raise ValueError(f"a message of {len(words)} words does not fit a {CMDBUF_WORDS}-word command buffer")
    _WORDS[len(words)].pack_into(memory, offset + CMDBUF_OFFSET, *[w & 0xFFFFFFFF for w in words])


def copy_plain(src: Thread, dst: Thread) -> bool:
    """Copy a message of normal words only from ``src``'s command buffer into ``dst``'s, as
    it is (what :func:`translate` makes of it: such a message cannot fail), in one slice
    copy of the physical memory both live in. False, copying nothing, when it has translate
    descriptors. The round trip's common case; nobody may be listening (no message is built)."""
    memory, s = _tls_bytes(src)
    s += CMDBUF_OFFSET
    head = _WORD.unpack_from(memory, s)[0]
    if head & 0x3F:
        return False
    target, d = _tls_bytes(dst)  # (copy_words, inline: the plain round trip's path)
    d += CMDBUF_OFFSET
    n = 4 + 4 * ((head >> 6) & 0x3F)  # 1 + normal <= 64 words: always inside the buffer
    target[d : d + n] = memory[s : s + n]
    return True


def copy_words(src: Thread, dst: Thread, count: int) -> None:
    """Copy the first ``count`` words of ``src``'s command buffer into ``dst``'s as they are,
    in one slice copy of the physical memory both live in."""
    memory, s = _tls_bytes(src)
    target, d = _tls_bytes(dst)
    s += CMDBUF_OFFSET
    d += CMDBUF_OFFSET
    target[d : d + 4 * count] = memory[s : s + 4 * count]


def translate(kernel: Kernel, src: Thread, dst: Thread | None, words: list[int], request: bool,
              dry_run: bool = False, service: str = "") -> Delivery:
    """Translate ``src``'s message for ``dst`` (None: an HLE service, which gets objects).

    With ``dry_run`` everything is checked and nothing changes.
    """
    command, normal, count = message_length(words)
    out = list(words[: 1 + normal])
    delivery = Delivery(out)
    message = Message(src.process.pid, dst.process.pid if dst else -1, service, command,
                      words[1 : 1 + normal], [], reply=not request,
                      name=command_names(service).get(command, "")) if kernel.ipc_listeners else None
    if not count:  # the common case: no descriptors
        delivery.message = message
        return delivery
    shown = message.descriptors if message is not None else None  # None: nobody listens, nothing is shown
    pid = src.process.pid
    for item in descriptors(words, normal, count):
        kind = item.kind
        if kind is PID:
            out += [item.word] + [pid] * len(item.params)
            if shown is not None:
                shown.append(Descriptor(PID, [pid]))
        elif kind is STATIC_BUFFER:
            out += _static_buffer(src, dst, item.size, item.sid, item.address, dry_run)
            if shown is not None:
                shown.append(Descriptor(STATIC_BUFFER, [item.address, item.size, item.sid]))
        elif kind is MAPPED_BUFFER:
            target = _mapped_buffer(kernel, src, dst, item.address, item.size, item.perm, request, dry_run, delivery)
            out += [item.word, target]
            if shown is not None:
                shown.append(Descriptor(MAPPED_BUFFER, [item.address, item.size, item.perm]))
        else:
            move = kind is MOVE_HANDLES
            out += [item.word] + _translate_handles(kernel, src, dst, item.params, move, dry_run, delivery)
            if shown is not None:
                shown.append(Descriptor(kind, item.params))
    if kernel.ipc_listeners:
        delivery.message = message
    return delivery


def _translate_handles(kernel: Kernel, src: Thread, dst: Thread | None, handles: list[int], move: bool,
                       dry_run: bool, delivery: Delivery) -> list[int]:
    out = []
    for h in handles:
        if h == 0:
            out.append(0)
            continue
        if h in delivery.moved:
            raise KernelError(Result.INVALID_HANDLE, f"handle {h:#010x} was moved earlier in this message")
        obj = src.process.handles.resolve(h, src)
        if move and h not in (CURRENT_PROCESS, CURRENT_THREAD):
            delivery.moved.add(h)
        if dry_run:
            out.append(h)
            continue
        if dst is None:  # an HLE service gets the object itself (held until the request ends)
            kernel.retain(obj, "ipc message")
            delivery.objects.append(obj)
            out.append(len(delivery.objects))
        else:
            out.append(kernel.add_handle(dst.process, obj))
        if move and h not in (CURRENT_PROCESS, CURRENT_THREAD):
            src.process.handles.close(h)
    return out


def _static_buffer(src: Thread, dst: Thread | None, size: int, sid: int, address: int, dry_run: bool) -> list[int]:
    data = src.process.space.mem.read(address, size) if size else b""
    if dst is None:
        return [(size << 14) | (sid << 10) | 0x2, address]
    pair = dst.process.space.mem.read(dst.tls + STATIC_BUFFERS_OFFSET + 8 * sid, 8)
    rdesc, raddr = int.from_bytes(pair[:4], "little"), int.from_bytes(pair[4:], "little")
    if (rdesc & 0xF) != 0x2 or size > rdesc >> 14:
        raise KernelError(Result.INVALID_BUFFER_DESCRIPTOR,
                          f"{size} bytes for static buffer {sid}, which takes {rdesc >> 14 if rdesc & 2 else 0}")
    if size and not has_memory(dst.process.space.table, raddr, size, MemoryPermission.W):
        raise KernelError(Result.INVALID_BUFFER_DESCRIPTOR,
                          f"static buffer {sid} of {dst.process.describe()} at {raddr:#x}+{size:#x} is not writable")
    if not dry_run and size:
        dst.process.space.mem.write(raddr, data)
    return [(size << 14) | (sid << 10) | 0x2, raddr]


def _mapped_buffer(kernel: Kernel, src: Thread, dst: Thread | None, address: int, size: int, perm: int,
                   request: bool, dry_run: bool, delivery: Delivery) -> int:
    if not request or dst is None or size == 0:
        return address  # replies carry the descriptor back; HLE services read the client's memory
    lo, hi, need = _sender_pages(src, address, size, perm)
    server = dst.process.space
    if dry_run and delivery.window is None:
        # Only the IPC area is ever looked at: a copy of that (16 KiB), not of the whole
        # table. (A request of one buffer is decided by request_refusal without a dry run.)
        delivery.window = server.table.state[_IPC_AREA].copy()
    target = _free_in_area(server.table.state[_IPC_AREA] if delivery.window is None else delivery.window,
                           hi - lo)
    if target is None:
        raise KernelError(Result.OUT_OF_MEMORY, "the server's IPC mapping area is full")
    if dry_run:
        assert delivery.window is not None
        first = (target - IPC_MAP_BASE) >> 12
        delivery.window[first : first + ((hi - lo) >> 12)] = _SHARED
        return target + (address & 0xFFF)
    frames = src.process.space.table.frame[lo >> 12 : hi >> 12].tolist()
    server.map(target, frames, _RW if need & _W else _R, _SHARED)  # type: ignore[arg-type]  # ints
    delivery.mappings.append((dst.process.pid, target, hi - lo))
    return target + (address & 0xFFF)


def _sender_pages(src: Thread, address: int, size: int, perm: int) -> tuple[int, int, int]:
    """A mapped buffer's page-aligned bounds in its sender and the rights it needs there
    (plain ints: enum flags cost); a KernelError when the sender's memory does not have them."""
    lo, hi = address & ~0xFFF, (address + size + 0xFFF) & ~0xFFF
    if hi > 1 << 32:
        raise KernelError(Result.INVALID_BUFFER_DESCRIPTOR, f"buffer {address:#x}+{size:#x} leaves the address space")
    need = (_R if perm & BUFFER_R else 0) | (_W if perm & BUFFER_W else 0)
    if not has_memory(src.process.space.table, lo, hi - lo, need):
        raise KernelError(Result.INVALID_BUFFER_DESCRIPTOR,
                          f"buffer {address:#x}+{size:#x} is not {MemoryPermission(need)!r} memory of the sender")
    return lo, hi, need


def request_refusal(kernel: Kernel, client: Thread, server: Thread) -> int | None:
    """Deciding, without side effects: the error delivering ``client``'s request to ``server``
    would end with, or None if it would be delivered whole (a dry run of the translation,
    shortened for the usual shapes)."""
    if not read_header(client) & 0x3F:
        return None  # no translate descriptors: nothing can fail (deliver_request's own shortcut)
    words = read_cmdbuf(client)
    try:
        if _one_buffer_fits(client, server, words):
            return None
        deliver_request(kernel, client, server, dry_run=True)
    except KernelError as err:
        return err.code
    return None


def _one_buffer_fits(src: Thread, dst: Thread, words: list[int]) -> bool:
    """For a request of normal words and one well-formed mapped buffer: True when the dry run
    would pass, the same KernelError when it would not (the same checks, in the same order).
    False for any other shape (the caller does the whole dry run)."""
    i = one_mapped_buffer(words)
    if not i:
        return False
    desc = words[i]
    size = desc >> 4
    if size == 0:
        return True  # (_mapped_buffer maps nothing for it)
    lo, hi, _ = _sender_pages(src, words[i + 1], size, desc & 0x6)
    if _free_in_area(dst.process.space.table.state[_IPC_AREA], hi - lo) is None:
        raise KernelError(Result.OUT_OF_MEMORY, "the server's IPC mapping area is full")
    return True


def has_memory(table: PageTable, address: int, size: int, need: MemoryPermission | int) -> bool:
    """Whether every page of ``[address, address + size)`` is memory with ``need`` (a buffer
    the kernel, or an HLE service, may read or write for its owner)."""
    lo, hi = address >> 12, (address + size + 0xFFF) >> 12
    if hi > 1 << 20:
        return False
    if hi - lo <= 4:  # a buffer of a page or few: plain ints cost a tenth of the numpy calls
        items = table.items
        state, frame, perm, want = items.state, items.frame, items.perm, int(need)
        for v in range(lo, hi):
            if not state[v] or frame[v] < 0 or (perm[v] & want) != want:
                return False
        return True
    pages = slice(lo, hi)
    return bool(((table.state[pages] != 0) & (table.frame[pages] >= 0)).all()
                and ((table.perm[pages] & int(need)) == int(need)).all())


def _free_in_area(area: np.ndarray, size: int) -> int | None:
    """The first address of ``size`` free bytes in the IPC area whose page states are ``area``."""
    pages = size >> 12
    if pages <= 4:  # the usual case, one request of a small buffer at a time: plain ints
        if not any(area[i] for i in range(pages)):
            return IPC_MAP_BASE
    elif not area[:pages].any():
        return IPC_MAP_BASE
    free = area == 0
    padded = np.concatenate(([False], free, [False])).astype(np.int8)
    starts = np.flatnonzero(np.diff(padded) == 1)
    ends = np.flatnonzero(np.diff(padded) == -1)
    fits = np.flatnonzero(ends - starts >= pages)
    return None if not len(fits) else IPC_MAP_BASE + (int(starts[fits[0]]) << 12)


def deliver_request(kernel: Kernel, client: Thread, server: Thread, dry_run: bool = False,
                    service: str = "") -> Delivery | None:
    """Copy ``client``'s request into ``server``'s command buffer, translated. None: it was
    normal words only, copied as they are, with nobody listening (nothing for the reply to undo)."""
    if not dry_run and not kernel.ipc_listeners and copy_plain(client, server):
        return None
    words = read_cmdbuf(client)
    at = 0 if dry_run or kernel.ipc_listeners else one_mapped_buffer(words)
    if at:  # the usual request with a buffer: translate() of it, without the general walk
        delivery = Delivery(words)
        words[at + 1] = _mapped_buffer(kernel, client, server, words[at + 1], words[at] >> 4, words[at] & 0x6,
                                       True, False, delivery)
        write_cmdbuf(server, words)
        return delivery
    try:
        if dry_run and not words[0] & 0x3F:
            return Delivery(words)  # no descriptors: nothing can fail
        delivery = translate(kernel, client, server, words, request=True, dry_run=dry_run, service=service)
    except GuestFault as fault:
        raise KernelError(Result.INVALID_BUFFER_DESCRIPTOR, str(fault)) from None
    if not dry_run:
        write_cmdbuf(server, delivery.words)
        kernel.record_ipc(delivery.message)
    return delivery


def finish_request(kernel: Kernel, session: ServerSession) -> None:
    """Unmap the buffers the current request mapped into the server."""
    delivery = session.current_delivery
    session.current_delivery = None
    if delivery is None:
        return
    for pid, vaddr, size in delivery.mappings:
        server = kernel.processes.get(pid)
        if server is not None and not server.released and \
                server.space.table.is_mapped(vaddr >> 12, (vaddr + size) >> 12):
            # The client may have freed its buffer meanwhile: then this was the last user.
            kernel.memory.phys.collect(server.space.unmap(vaddr, size))


def deliver_reply(kernel: Kernel, server: Thread, session: ServerSession) -> None:
    """Send ``server``'s reply to the client whose request ``session`` is serving."""
    client = session.current
    if client is None:
        raise KernelError(Result.INVALID_HANDLE, "no request to reply to on that session")
    if not kernel.ipc_listeners and not read_header(server) & 0x3F:  # normal words only: cannot fail
        _end_request(kernel, session, client, Result.SUCCESS, lambda: copy_plain(server, client))
        return
    words = read_cmdbuf(server)
    if not kernel.ipc_listeners and mapped_buffers_only(words):  # translates to itself: cannot fail either
        _end_request(kernel, session, client, Result.SUCCESS, lambda: copy_words(server, client, len(words)))
        return
    try:
        # With descriptors, all are checked before any is carried out (a reply of normal words
        # only cannot fail, and skips the dry run: the round trip's common case; so does one
        # whose descriptors only carry mapped buffers back or name the process, which change
        # nothing before a later descriptor could fail).
        if words[0] & 0x3F and _reply_may_fail_midway(words):
            translate(kernel, server, client, words, request=False, dry_run=True)
        delivery = translate(kernel, server, client, words, request=False, service=session.name)
    except (KernelError, GuestFault) as exc:
        # The reply cannot be delivered (a handle it moves is gone, the client's receive
        # buffer is not writable...): the request ends with that error for the client, which
        # must not wait forever, and the server hears it too.
        code = exc.code if isinstance(exc, KernelError) else Result.INVALID_BUFFER_DESCRIPTOR
        _end_request(kernel, session, client, code)
        raise KernelError(code, str(exc)) from None
    if delivery.message is not None and session.current_delivery is not None:
        delivery.message.request = session.current_delivery.message
        delivery.message.result = delivery.words[1] if len(delivery.words) > 1 else None

    def answer() -> None:
        write_cmdbuf(client, delivery.words)
        kernel.record_ipc(delivery.message)

    _end_request(kernel, session, client, Result.SUCCESS, answer)


def _reply_may_fail_midway(words: list[int]) -> bool:
    """Whether translating the reply ``words`` could fail after a descriptor has changed
    something (a handle copied or moved, a static buffer written): false when every descriptor
    is a mapped buffer or a process id, whose reply translation changes nothing."""
    _, normal, count = parse_header(words[0])
    try:
        return any(item.kind is not MAPPED_BUFFER and item.kind is not PID
                   for item in descriptors(words, normal, count))
    except KernelError:
        return True  # malformed: the dry run says how, before anything is done


def _end_request(kernel: Kernel, session: ServerSession, client: Thread, code: int,
                 answer: Callable[[], object] | None = None) -> None:
    """The request ``session`` serves is over: its mappings go, and a client still alive gets
    ``answer()`` (the reply into its command buffer) and wakes with ``code``."""
    if session.current_delivery is not None:  # (most requests mapped nothing: no call)
        finish_request(kernel, session)
    session.current = None
    if client.state is not _DEAD:
        if answer is not None:
            answer()
        kernel.wake(client, {0: code})
