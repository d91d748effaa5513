"""Memory SVCs: ControlMemory, QueryMemory and shared memory blocks.

Semantics and error codes follow 3dbrew ("SVC", "Memory Management") and
Citra's kernel: heap commits live in 0x08000000-0x10000000, linear
allocations in the linear heap (virtual = physical - FCRAM + 0x14000000),
memory blocks are mapped in 0x10000000-0x14000000.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlemu.memory import MemoryPermission as Perm
from hlemu.memory import MemoryState as State
from hlemu.memory import OutOfMemory
from kernel import layout
from kernel.errors import KernelError, Result
from kernel.objects.memory_block import MemoryBlock
from kernel.objects.resource_limit import ResourceType, reserve
from kernel.svc import svc

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.process import Process
    from kernel.thread import Thread

MEMOP_FREE, MEMOP_RESERVE, MEMOP_COMMIT, MEMOP_MAP, MEMOP_UNMAP, MEMOP_PROTECT = 1, 2, 3, 4, 5, 6
MEMOP_LINEAR = 0x10000
DONTCARE = 0x10000000
FCRAM_BASE = 0x20000000
_DATA_PERMS = (Perm.NONE, Perm.R, Perm.W, Perm.RW)


def _check_alignment(*addresses: int, size: int) -> None:
    if any(a & 0xFFF for a in addresses):
        raise KernelError(Result.MISALIGNED_ADDRESS)
    if size & 0xFFF:
        raise KernelError(Result.MISALIGNED_SIZE)


def _in(lo: int, hi: int, addr: int, size: int) -> bool:
    return lo <= addr and addr + size <= hi


def _pages(addr: int, size: int) -> slice:
    return slice(addr >> 12, (addr + size) >> 12)


def _states(process: Process, addr: int, size: int) -> np.ndarray:
    return process.space.table.state[_pages(addr, size)]


@svc(0x01, nargs=5)
def control_memory(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result ControlMemory(u32* out, u32 addr0, u32 addr1, u32 size, MemOp op, MemPerm perm)

    Registers: r0 = op, r1 = addr0, r2 = addr1, r3 = size, r4 = perm; r1 out.
    """
    op, addr0, addr1, size, perm = a[0], a[1], a[2], a[3], a[4]
    kind = op & 0xFF
    _check_alignment(addr0, addr1, size=size)
    if perm not in _DATA_PERMS:  # checked before the operation, whatever it is (Citra)
        raise KernelError(Result.INVALID_COMBINATION, f"permission {perm:#x} (only R/W are allowed)")
    process = t.process
    if kind == MEMOP_COMMIT:
        return (Result.SUCCESS, _commit(k, process, addr0, size, Perm(perm), bool(op & MEMOP_LINEAR)))
    if size == 0:
        raise KernelError(Result.MISALIGNED_SIZE, "size 0")
    if kind == MEMOP_FREE:
        _free(k, process, addr0, size)
    elif kind == MEMOP_PROTECT:
        _protect(process, addr0, size, Perm(perm))
    elif kind == MEMOP_MAP:
        _alias(process, addr0, addr1, size, Perm(perm))
    elif kind == MEMOP_UNMAP:
        _unalias(process, addr0, addr1, size)
    else:
        raise KernelError(Result.INVALID_COMBINATION, f"ControlMemory operation {op:#x}")
    return (Result.SUCCESS, addr0)


def _commit(k: Kernel, process: Process, addr: int, size: int, perm: Perm, linear: bool) -> int:
    if size == 0:
        raise KernelError(Result.MISALIGNED_SIZE, "size 0")
    phys = k.memory.phys  # for the linear heap's physical addresses
    try:
        if linear:
            if addr != 0:
                raise KernelError(Result.INVALID_ADDRESS, "linear allocations take address 0")
            frames = k.allocate("APPLICATION", size >> 12, contiguous=True)
            addr = layout.LINEAR_BASE + phys.frame_to_phys(int(frames[0])) - FCRAM_BASE
            state = State.CONTINUOUS
        else:
            if not _in(layout.HEAP_BASE, layout.HEAP_END, addr, size):
                raise KernelError(Result.INVALID_ADDRESS, f"{addr:#x}+{size:#x} is outside the heap")
            if _states(process, addr, size).any():
                raise KernelError(Result.INVALID_ADDRESS_STATE, f"{addr:#x}+{size:#x} is already in use")
            frames = k.allocate("APPLICATION", size >> 12)
            state = State.PRIVATE
    except OutOfMemory as exc:
        raise KernelError(Result.OUT_OF_HEAP_MEMORY, str(exc)) from None
    process.space.map(addr, frames, perm, state)
    return addr


def _free(k: Kernel, process: Process, addr: int, size: int) -> None:
    if _in(layout.HEAP_BASE, layout.HEAP_END, addr, size):
        state = State.PRIVATE
    elif _in(layout.LINEAR_BASE, layout.LINEAR_END, addr, size):
        state = State.CONTINUOUS
    else:
        raise KernelError(Result.INVALID_ADDRESS, f"{addr:#x}+{size:#x} is neither heap nor linear heap")
    if not (_states(process, addr, size) == state).all():
        raise KernelError(Result.INVALID_ADDRESS_STATE, f"{addr:#x}+{size:#x} is not committed memory")
    # Frames still mapped elsewhere (an IPC buffer a server holds) or held by a memory
    # block are freed later, by whoever lets go of them last.
    k.memory.phys.collect(process.space.unmap(addr, size))


def _protect(process: Process, addr: int, size: int, perm: Perm) -> None:
    states = _states(process, addr, size)
    if not np.isin(states, (State.PRIVATE, State.CONTINUOUS, State.ALIAS)).all():
        raise KernelError(Result.INVALID_ADDRESS_STATE, f"{addr:#x}+{size:#x} cannot be reprotected")
    process.space.protect(addr, size, perm)


def _alias(process: Process, dst: int, src: int, size: int, perm: Perm) -> None:
    """MEMOP_MAP: map the heap pages at ``src`` again at ``dst`` (state ALIAS; source ALIASED)."""
    space = process.space
    if not _in(layout.HEAP_BASE, layout.HEAP_END, src, size):
        raise KernelError(Result.INVALID_ADDRESS, f"source {src:#x}+{size:#x} is not in the heap")
    if not (_states(process, src, size) == State.PRIVATE).all():
        raise KernelError(Result.INVALID_ADDRESS_STATE, f"source {src:#x}+{size:#x} is not private heap")
    if not _in(layout.HEAP_BASE, layout.SHARED_END, dst, size) or _states(process, dst, size).any():
        raise KernelError(Result.INVALID_ADDRESS_STATE, f"destination {dst:#x}+{size:#x} is not free")
    frames = space.table.frame[_pages(src, size)].astype(np.int64)
    space.map(dst, frames, perm, State.ALIAS)
    space.protect(src, size, Perm(int(space.table.perm[src >> 12])), state=State.ALIASED)


def _unalias(process: Process, dst: int, src: int, size: int) -> None:
    space = process.space
    if not (_states(process, dst, size) == State.ALIAS).all() or not \
            (_states(process, src, size) == State.ALIASED).all():
        raise KernelError(Result.INVALID_ADDRESS_STATE, "not an alias of that source")
    if not np.array_equal(space.table.frame[_pages(dst, size)], space.table.frame[_pages(src, size)]):
        raise KernelError(Result.INVALID_ADDRESS_STATE, "the alias maps other memory")
    space.unmap(dst, size)
    space.protect(src, size, Perm(int(space.table.perm[src >> 12])), state=State.PRIVATE)


@svc(0x02, nargs=3)
def query_memory(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result QueryMemory(MemInfo* info, PageInfo* out, u32 addr): r2 = addr; r1..r5 out."""
    return _query(t.process, a[2])


def _query(process: Process, addr: int) -> tuple[int, ...]:
    """QueryMemory's answer: success, the region's base, size, permission, state, page flags."""
    info = process.space.query(addr)
    return (Result.SUCCESS, info.base, info.size, int(info.perm), int(info.state), info.page_flags)


@svc(0x7D, nargs=4)
def query_process_memory(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result QueryProcessMemory(MemInfo* info, PageInfo* out, Handle process, u32 addr):
    r2 = process, r3 = addr; r1..r5 out as QueryMemory's. Only the region's shape, never its
    contents; the handle is one the caller holds (its own process's pseudo-handle
    0xFFFF8001, or one from OpenProcess)."""
    from kernel.process import Process

    return _query(t.process.handles.get(a[2], Process, t), a[3])


def _block_perm(value: int, allow_none: bool = True) -> Perm | None:
    """A memory block permission: R, W, RW (or NONE), or DONTCARE (None)."""
    if value == DONTCARE:
        return None
    if value not in _DATA_PERMS or (value == 0 and not allow_none):
        raise KernelError(Result.INVALID_COMBINATION, f"memory block permission {value:#x}")
    return Perm(value)


@svc(0x1E, nargs=4)
def create_memory_block(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result CreateMemoryBlock(Handle* out, u32 addr, u32 size, MemPerm mine, MemPerm other)

    Registers: r0 = other_perm, r1 = addr, r2 = size, r3 = my_perm. The memory is the
    creator's heap at ``addr`` (RW private pages), which stays mapped there as LOCKED
    with ``my_perm`` while the block exists; address 0 (kernel-allocated) is for
    system processes only.
    """
    other, addr, size, mine = a[0], a[1], a[2], a[3]
    if size & 0xFFF:
        raise KernelError(Result.MISALIGNED_SIZE)
    mine_p, other_p = _block_perm(mine), _block_perm(other)
    if addr == 0:
        raise KernelError(Result.APP_CANNOT_ALLOCATE, "applications must back a memory block with their heap")
    _check_alignment(addr, size=size)
    if size == 0 or not _in(layout.CODE_BASE, layout.SHARED_END, addr, size):
        raise KernelError(Result.INVALID_ADDRESS, f"{addr:#x}+{size:#x}")
    process = t.process
    table = process.space.table
    pages = _pages(addr, size)
    if not ((table.state[pages] == State.PRIVATE) & (table.perm[pages] == Perm.RW)).all():
        raise KernelError(Result.INVALID_ADDRESS_STATE, f"{addr:#x}+{size:#x} is not RW private memory")
    reserve(process, ResourceType.SHARED_MEMORY)
    process.handles.ensure_room(1)
    frames = table.frame[pages].astype(np.int64)
    locked = mine_p if mine_p is not None else Perm.RW
    process.space.protect(addr, size, locked, state=State.LOCKED)
    block = MemoryBlock(k, frames, locked, other_p if other_p is not None else Perm.RW, owned=False,
                        creator_pid=process.pid, source=addr, other_dontcare=other_p is None)
    return (Result.SUCCESS, k.add_handle(process, block, ResourceType.SHARED_MEMORY))


@svc(0x1F, nargs=4)
def map_memory_block(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result MapMemoryBlock(Handle block, u32 addr, MemPerm mine, MemPerm other)

    The pages become SHARED with ``mine``, which must lie within the block's
    permission for the caller (its creator: my_perm; anyone else: other_perm).
    """
    process = t.process
    block = process.handles.get(a[0], MemoryBlock, t)
    addr = a[1]
    if addr & 0xFFF:
        raise KernelError(Result.MISALIGNED_ADDRESS)
    requested = _block_perm(a[2], allow_none=False)
    other = _block_perm(a[3])
    if other is None and block.source:
        raise KernelError(Result.INVALID_COMBINATION, "DONTCARE is only for kernel-allocated blocks")
    allowed = block.owner_perm if process.pid == block.creator_pid else block.other_perm
    perm = allowed if requested is None else requested
    if perm & ~allowed:
        raise KernelError(Result.INVALID_COMBINATION, f"asked {perm!r}, the block allows {allowed!r}")
    if other is not None and block.owner_perm & ~other:
        raise KernelError(Result.WRONG_PERMISSION, f"the creator's {block.owner_perm!r} is not within {other!r}")
    linear = addr == 0 and not block.source and len(block.frames) and (np.diff(block.frames) == 1).all()
    if linear:  # a kernel-allocated block at its place in the linear heap's view (Azahar SharedMemory::Map)
        from hlemu.memory.physical import FCRAM_BASE
        addr = layout.LINEAR_BASE + k.memory.phys.frame_to_phys(int(block.frames[0])) - FCRAM_BASE
    if not linear and not _in(layout.HEAP_BASE, layout.SHARED_END, addr, block.size):
        raise KernelError(Result.INVALID_ADDRESS, f"{addr:#x} is outside the mappable area")
    if _states(process, addr, block.size).any():
        raise KernelError(Result.INVALID_ADDRESS_STATE, f"{addr:#x}+{block.size:#x} is in use")
    process.space.map(addr, block.frames, perm, State.SHARED)
    block.mappings[(process.pid, addr)] = block.size
    process.mapped_blocks.add(block)
    return (Result.SUCCESS,)


@svc(0x20, nargs=2)
def unmap_memory_block(k: Kernel, t: Thread, a: list[int]) -> tuple[int, ...]:
    """Result UnmapMemoryBlock(Handle block, u32 addr)"""
    process = t.process
    block = process.handles.get(a[0], MemoryBlock, t)
    if a[1] & 0xFFF:
        raise KernelError(Result.MISALIGNED_ADDRESS)
    size = block.mappings.pop((process.pid, a[1]), None)
    if size is None:
        raise KernelError(Result.INVALID_ADDRESS_STATE, f"the block is not mapped at {a[1]:#x}")
    process.space.unmap(a[1], size)
    if not any(pid == process.pid for pid, _ in block.mappings):
        process.mapped_blocks.discard(block)
    k.destroy_if_unused(block)
    return (Result.SUCCESS,)
