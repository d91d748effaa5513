"""The guest's malloc heap, walked chunk by chunk from outside.

Two allocators are recognised by their symbols:

* newlib nano (``nano-mallocr.c``; the SDK links it with ``--specs=nano.specs``): a chunk
  is ``{long size; next}`` with the user pointer at the chunk + 4 rounded up to 8 (a
  padding word of ``-offset`` between); free chunks are the address-sorted list at
  ``__malloc_free_list``; the heap starts at ``__malloc_sbrk_start`` and ends at the break.
  nano never gives memory back, so the break is also the high-water mark.
* full newlib (``mallocr.c``, Doug Lea's malloc, which libctru programs link): a chunk is
  ``{prev_size; size | PREV_INUSE}`` with the user pointer at + 8, a chunk is in use when
  the next one's PREV_INUSE bit says so, the walk ends at the top chunk ``__malloc_av_[2]``,
  and ``__malloc_max_sbrked_mem`` is the high-water mark.

Anything else is "no allocator recognised".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hlemu.inspect.errors import InspectError
from hlemu.inspect.symbols import SymbolTable

Read32 = Callable[[int], int]
_MAX_CHUNKS = 1 << 20


@dataclass(frozen=True)
class Chunk:
    address: int  # the chunk header
    size: int  # the whole chunk, header included
    used: bool
    user: int  # what malloc returned for it

    @property
    def end(self) -> int:
        return self.address + self.size


@dataclass
class HeapReport:
    allocator: str  # "newlib-nano", "newlib"
    start: int
    top: int  # where the walked chunks end (nano: the break; full newlib: the top chunk)
    top_size: int  # full newlib: the top chunk's size (free space above the chunks); nano: 0
    high_water: int  # the most the heap ever took from sbrk, in bytes
    chunks: list[Chunk] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # a corrupt chunk stops the walk, said here

    @property
    def blocks(self) -> int:
        return len(self.chunks)

    @property
    def used(self) -> int:
        return sum(c.size for c in self.chunks if c.used)

    @property
    def free(self) -> int:
        return sum(c.size for c in self.chunks if not c.used) + self.top_size

    @property
    def largest_free(self) -> int:
        return max([c.size for c in self.chunks if not c.used] + [self.top_size])

    @property
    def fragmentation(self) -> float:
        """1 - largest free / all free: 0 when the free space is one piece (or none)."""
        return 0.0 if self.free == 0 else 1.0 - self.largest_free / self.free

    def used_chunks(self) -> list[Chunk]:
        return [c for c in self.chunks if c.used]

    def free_chunks(self) -> list[Chunk]:
        return [c for c in self.chunks if not c.used]

    def __str__(self) -> str:
        return (f"{self.allocator} heap {self.start:#010x}-{self.top:#010x}: {self.blocks} blocks, "
                f"{self.used} used, {self.free} free (largest {self.largest_free}), "
                f"fragmentation {self.fragmentation:.0%}, high water {self.high_water}")


def detect(symbols: SymbolTable) -> str | None:
    if symbols.get("__malloc_av_") is not None:
        return "newlib"
    if symbols.get("__malloc_free_list") is not None and symbols.get("__malloc_sbrk_start") is not None:
        return "newlib-nano"
    return None


def walk(symbols: SymbolTable, read32: Read32, brk: int | None = None) -> HeapReport:
    """Walk the heap of the allocator ``symbols`` shows; ``brk``: the program break if known."""
    kind = detect(symbols)
    if kind == "newlib-nano":
        return _walk_nano(symbols, read32, brk)
    if kind == "newlib":
        return _walk_dlmalloc(symbols, read32)
    raise InspectError("no allocator recognised (neither newlib nano's nor full newlib's malloc symbols)")


def _walk_nano(symbols: SymbolTable, read32: Read32, brk: int | None) -> HeapReport:
    start = read32(symbols.address_of("__malloc_sbrk_start"))
    free: set[int] = set()
    node = read32(symbols.address_of("__malloc_free_list"))
    while node and len(free) < _MAX_CHUNKS and node not in free:
        free.add(node)
        node = read32(node + 4)
    report = HeapReport("newlib-nano", start, start, 0, 0)
    if start == 0:
        return report  # nothing allocated yet
    end = brk if brk is not None else max(free, default=start) + 1 << 32
    p = start
    while p < end and len(report.chunks) < _MAX_CHUNKS:
        try:
            size = read32(p)
        except LookupError:
            break
        if size <= 0 or size & 3 or size >= 1 << 31 or (brk is not None and p + size > brk):
            if brk is not None:
                report.problems.append(f"chunk at {p:#010x}: size {size:#x} is not a chunk's; walk stopped")
            break
        user = (p + 4 + 7) & ~7
        report.chunks.append(Chunk(p, size, p not in free, user))
        p += size
    report.top = p
    report.high_water = p - start
    return report


def _walk_dlmalloc(symbols: SymbolTable, read32: Read32) -> HeapReport:
    av = symbols.address_of("__malloc_av_")
    top = read32(av + 8)  # bin_at(0)->fd: av_[2]
    base_sym = symbols.get("__malloc_sbrk_base")
    base = read32(base_sym.address) if base_sym else 0
    high = symbols.get("__malloc_max_sbrked_mem")
    report = HeapReport("newlib", base, top, 0, read32(high.address) if high else 0)
    if base in (0, 0xFFFFFFFF):
        return report
    top_size = read32(top + 4) & ~3
    report.top_size = top_size
    p = (base + 7) & ~7
    raw: list[tuple[int, int]] = []
    while p < top and len(raw) < _MAX_CHUNKS:
        size = read32(p + 4) & ~3
        if size < 16 or p + size > top:
            report.problems.append(f"chunk at {p:#010x}: size {size:#x} is not a chunk's; walk stopped")
            break
        raw.append((p, size))
        p += size
    for i, (addr, size) in enumerate(raw):
        next_addr = raw[i + 1][0] if i + 1 < len(raw) else top
        used = bool(read32(next_addr + 4) & 1)  # the next chunk's PREV_INUSE
        report.chunks.append(Chunk(addr, size, used, addr + 8))
    return report
