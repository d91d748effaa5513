"""Argument values for hostile SVCs: handles, pointers, sizes, and IPC command buffers.

Each pool mixes structured values (a handle the process really holds, a pointer
into a region it really mapped) with the values that find bugs: other
processes' handles, pseudo-handles, closed and never-opened handles, pointers
into every region of the 3DS layout and into nothing, zero, misaligned and huge
sizes. Everything comes from the caller's ``random.Random``.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from kernel import layout
from kernel.ipc_codec import header
from kernel.objects.session import ClientSession

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.process import Process
    from kernel.thread import Thread

FIRST_HANDLE, HANDLE_STEP = 0x00010002, 0x8001  # how kernel.handles numbers handles
PSEUDO_HANDLES = (layout.CURRENT_THREAD, layout.CURRENT_PROCESS)
# (base, span) of every region of the layout, and of places where nothing is.
REGIONS = (
    (layout.CODE_BASE, 0x4000), (0x00200000, 0x4000), (0x00300000, 0x1000), (layout.HEAP_BASE, 0x100000),
    (layout.STACK_TOP - layout.MAIN_STACK_SIZE, layout.MAIN_STACK_SIZE), (layout.SHARED_BASE, 0x100000),
    (layout.LINEAR_BASE, 0x400000), (layout.VRAM_VADDR, 0x600000), (layout.CONFIG_MEMORY, 0x1000),
    (layout.SHARED_PAGE, 0x1000), (layout.TLS_BASE, 0x1000), (0x04000000, 0x10000), (0x30000000, 0x1000),
    (0xFFFFF000, 0x1000), (0, 0x1000),
)
SIZES = (0, 1, 4, 0x10, 0x200, 0xFFF, 0x1000, 0x1001, 0x2000, 0x8000, 0x10000, 0x100000, 0x400000,
         0x1000000, 0x4000000, 0x7FFFF000, 0xFFFFF000, 0xFFFFFFFF)
WORDS = (0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 0x10000000)
SERVICE_NAMES = ("gsp::Gpu", "hid:USER") * 8 + ("srv:", "fz0", "fz1", "fz2", "fz3", "apt:U", "")
PORT_NAMES = ("srv:", "fz0", "fz1", "fz2", "fz3", "nosuchport", "x" * 12, "")
REFRESH_REGIONS = 64  # SVCs between two looks at a process's memory map (it costs a page-table scan)


def name_words(name: str) -> list[int]:
    raw = name.encode()[:8].ljust(8, b"\0")
    return [int.from_bytes(raw[:4], "little"), int.from_bytes(raw[4:], "little")]


class Pools:
    """Values for one process's SVCs."""

    def __init__(self, kernel: Kernel, process: Process, rng: random.Random) -> None:
        self.kernel = kernel
        self.process = process
        self.rng = rng
        self._regions: list[tuple[int, int]] = []
        self._age = REFRESH_REGIONS

    # -- handles ---------------------------------------------------------------------
    def own_handles(self, kind: type | tuple[type, ...] | None = None) -> list[int]:
        return [h for h, o in self.process.handles.items() if kind is None or isinstance(o, kind)]

    def handle(self, kind: type | tuple[type, ...] | None = None) -> int:
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            mine = self.own_handles(kind) or self.own_handles()
            if mine:
                return rng.choice(mine)
        if roll < 0.7:
            others = [p for p in self.kernel.processes.values() if p is not self.process and len(p.handles)]
            if others:
                return rng.choice([h for h, _ in rng.choice(others).handles.items()])
        if roll < 0.85:
            return rng.choice(PSEUDO_HANDLES)
        if roll < 0.95:
            return FIRST_HANDLE + HANDLE_STEP * rng.randrange(64)  # closed, or never opened yet
        return rng.choice((0, 0xFFFFFFFF, 0xFFFF8002, rng.getrandbits(32)))

    def session(self) -> tuple[int, ClientSession | None]:
        sessions = [(h, o) for h, o in self.process.handles.items() if isinstance(o, ClientSession)]
        if sessions and self.rng.random() < 0.9:
            h, o = self.rng.choice(sessions)
            return h, o if isinstance(o, ClientSession) else None
        return self.handle(), None

    # -- memory ----------------------------------------------------------------------
    def regions(self) -> list[tuple[int, int]]:
        self._age += 1
        if self._age >= REFRESH_REGIONS:
            self._age = 0
            self._regions = [(r.base, r.size) for r in self.process.space.regions()]
        return self._regions

    def pointer(self, align: int = 4) -> int:
        rng = self.rng
        mapped = self.regions()
        if mapped and rng.random() < 0.5:
            base, span = rng.choice(mapped)
        else:
            base, span = rng.choice(REGIONS)
        roll = rng.random()
        if roll < 0.3:
            offset = 0
        elif roll < 0.5:
            offset = span - align
        elif roll < 0.9:
            offset = rng.randrange(0, max(span, align), align)
        else:
            offset = rng.randrange(0, 0x10000)  # misaligned, maybe past the end
        return (base + offset) & 0xFFFFFFFF

    def page(self) -> int:
        return self.pointer(0x1000) & ~0xFFF if self.rng.random() < 0.9 else self.pointer()

    def size(self, pages: bool = False) -> int:
        rng = self.rng
        if pages and rng.random() < 0.7:
            return 0x1000 * rng.choice((1, 1, 2, 4, 16, 64, 256, 4096, 16384))
        return rng.choice(SIZES) if rng.random() < 0.8 else rng.getrandbits(rng.choice((8, 16, 32)))

    def word(self) -> int:
        rng = self.rng
        return rng.choice(WORDS) if rng.random() < 0.6 else rng.getrandbits(32)

    def small(self, top: int = 8) -> int:
        return self.rng.randrange(top) if self.rng.random() < 0.9 else self.word()

    def timeout(self) -> tuple[int, int]:
        """An s64 nanosecond timeout as (low, high): mostly short, sometimes 0 or forever."""
        rng = self.rng
        roll = rng.random()
        ns = 0 if roll < 0.2 else -1 if roll < 0.23 else rng.randrange(1, 2_000_000) if roll < 0.99 \
            else rng.getrandbits(63)
        ns &= (1 << 64) - 1
        return ns & 0xFFFFFFFF, ns >> 32

    # -- guest memory the SVC reads -------------------------------------------------------
    def write(self, address: int, data: bytes) -> bool:
        try:
            self.process.space.mem.write(address, data)
            return True
        except Exception:  # noqa: BLE001 - any bad address: the SVC just gets another pointer
            return False

    def string(self, text: str) -> int:
        """A NUL-terminated string in the scratch area (or, sometimes, a wild pointer)."""
        where = 0x00200000 + 0x100 * self.rng.randrange(4)
        if self.rng.random() < 0.9 and self.write(where, text.encode() + b"\0"):
            return where
        return self.pointer()

    def handle_array(self, count: int) -> int:
        where = 0x00200800
        handles = [self.handle() for _ in range(max(0, min(count, 64)))]
        if self.rng.random() < 0.9 and self.write(where, b"".join(h.to_bytes(4, "little") for h in handles)):
            return where
        return self.pointer()


class CommandBuffers:
    """IPC messages for a session's service (srv:, gsp::Gpu, hid:USER or a guest server)."""

    def __init__(self, pools: Pools) -> None:
        self.pools = pools
        self.rng = pools.rng

    def descriptors(self) -> list[int]:
        """Zero or more translate descriptors with their parameters."""
        p, rng = self.pools, self.rng
        words: list[int] = []
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            kind = rng.random()
            if kind < 0.35:
                n = rng.choice((1, 1, 2, 3))
                words += [((n - 1) << 26) | (0x10 if rng.random() < 0.4 else 0)] + [p.handle() for _ in range(n)]
            elif kind < 0.45:
                words += [0x20, 0]
            elif kind < 0.65:
                size = rng.choice((0, 4, 0x20, 0x100, 0x1000, 0x3FFFF)) if rng.random() < 0.8 else p.size()
                words += [((size & 0x3FFFF) << 14) | (rng.randrange(16) << 10) | 0x2, p.pointer()]
            elif kind < 0.9:
                perm = rng.choice((0x2, 0x4, 0x6, 0x0)) if rng.random() < 0.9 else rng.randrange(8) & 0x6
                words += [((p.size() & 0xFFFFFFF) << 4) | 0x8 | perm, p.pointer()]
            else:
                words += [p.word(), p.word()]
        return words

    def request(self, session: ClientSession | None) -> list[int]:
        service = session.service if session is not None else None
        name = getattr(service, "name", "")
        roll = self.rng.random()
        if roll < 0.6 and name == "srv:":
            return self._srv()
        if roll < 0.6 and name == "gsp::Gpu":
            return self._gsp()
        if roll < 0.6 and name == "hid:USER":
            return self._command(self.rng.choice((0x000A, 0x0011, 0x0012, 0x0013, 0x0014)), [], [])
        return self.random()

    def random(self) -> list[int]:
        p, rng = self.pools, self.rng
        normal = [p.word() for _ in range(rng.choice((0, 1, 2, 4, 8)))]
        return self._command(rng.getrandbits(16), normal, self.descriptors())

    def reply(self) -> list[int]:
        """A server's reply: a result, some words and (maybe hostile) descriptors."""
        p, rng = self.pools, self.rng
        normal = [0 if rng.random() < 0.7 else p.word()] + [p.word() for _ in range(rng.randrange(4))]
        words = self._command(rng.getrandbits(16), normal, self.descriptors())
        if rng.random() < 0.05:
            words[0] = 0xFFFF0000  # "no reply" command id
        return words

    def _command(self, command: int, normal: list[int], descriptors: list[int]) -> list[int]:
        rng = self.rng
        translate = len(descriptors)
        if normal and rng.random() < 0.15:  # too few arguments, honestly announced
            normal = normal[: rng.randrange(len(normal))]
        if rng.random() < 0.1:  # a header that lies about its lengths
            return [header(command, rng.randrange(64), rng.randrange(64)), *normal, *descriptors]
        return [header(command, len(normal), translate), *normal, *descriptors]

    def _srv(self) -> list[int]:
        rng = self.rng
        name = rng.choice(SERVICE_NAMES)
        words = name_words(name)
        length = len(name) if rng.random() < 0.85 else rng.choice((0, 9, 0xFFFFFFFF, rng.randrange(12)))
        command = rng.choice((1, 2, 3, 4, 5, 5, 5))
        if command == 1:
            return self._command(1, [], [0x20, 0])
        if command == 2:
            return self._command(2, [], [])
        if command == 3:
            return self._command(3, [*words, length, rng.choice((1, 2, 8, 0, 0xFFFFFFFF))], [])
        if command == 4:
            return self._command(4, [*words, length], [])
        return self._command(5, [*words, length, rng.randrange(2)], [])

    def _gsp(self) -> list[int]:
        p, rng = self.pools, self.rng
        command = rng.choice((0x16, 0x17, 0x13, 0x14, 0x05, 0x0B, 0x08, 0x09))
        if command in (0x16, 0x13):
            handle = p.handle() if command == 0x13 else layout.CURRENT_PROCESS
            return self._command(command, [rng.randrange(2)], [0, handle])
        if command == 0x05:
            info = [rng.randrange(2), p.pointer(), p.pointer(), rng.choice((240 * 3, 0, p.word())),
                    rng.randrange(8), rng.randrange(2), 0]
            return self._command(command, [rng.choice((0, 1, 2, p.word())), *info], [])
        if command in (0x08, 0x09):
            return self._command(command, [p.pointer(), p.size()], [0, layout.CURRENT_PROCESS])
        return self._command(command, [p.small(2)] if command == 0x0B else [], [])


def write_command(pools: Pools, thread: Thread, words: list[int]) -> None:
    """Put a message in ``thread``'s command buffer (TLS + 0x80), at most its 64 words."""
    data = b"".join((w & 0xFFFFFFFF).to_bytes(4, "little") for w in words[:64])
    pools.write(thread.tls + 0x80, data)


def write_static_buffers(pools: Pools, thread: Thread) -> None:
    """Sometimes give ``thread`` receiving static buffers (TLS + 0x180), some of them hostile."""
    rng = pools.rng
    pairs = []
    for _ in range(rng.randrange(1, 4)):
        size = rng.choice((0x100, 0x1000, 0x3FFFF, 0))
        pairs += [(size << 14) | (rng.randrange(16) << 10) | 0x2, pools.pointer()]
    data = b"".join(w.to_bytes(4, "little") for w in pairs)
    pools.write(thread.tls + 0x180 + 8 * rng.randrange(8), data)

