"""Shared memory blocks (svcCreateMemoryBlock / MapMemoryBlock / UnmapMemoryBlock)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlemu.memory import MemoryPermission, MemoryState
from kernel.objects.base import KernelObject

if TYPE_CHECKING:
    from kernel.kernel import Kernel


class MemoryBlock(KernelObject):
    """Physical frames several address spaces may map.

    ``owned`` says whether the block allocated its frames or borrowed them
    from the creator's heap at ``source`` (LOCKED there until the block
    goes). Either way the block holds its frames (``PhysicalMemory.hold``)
    for as long as it exists, so they outlive the creator: a frame is freed
    only when no page table maps it and no object holds it, never while a
    handle to the block could still map it.
    """

    type_name = "memory block"

    def __init__(self, kernel: Kernel, frames: np.ndarray, owner_perm: MemoryPermission,
                 other_perm: MemoryPermission, owned: bool, creator_pid: int, source: int = 0,
                 other_dontcare: bool = False, name: str = "") -> None:
        super().__init__(kernel, name)
        self.frames = frames
        self.owner_perm = owner_perm
        self.other_perm = other_perm
        self.other_dontcare = other_dontcare
        self.owned = owned
        self.creator_pid = creator_pid
        self.source = source  # the creator's heap address behind the block (0: kernel memory)
        self.mappings: dict[tuple[int, int], int] = {}  # (pid, vaddr) -> size
        kernel.memory.phys.hold(frames)

    @classmethod
    def for_service(cls, kernel: Kernel, size: int, other_perm: MemoryPermission, name: str) -> MemoryBlock:
        """Shared memory an HLE service owns for good (kernel-allocated from BASE, like a
        system module's), readable and writable by the service itself."""
        frames = kernel.memory.phys.allocate("BASE", size >> 12)
        block = cls(kernel, frames, MemoryPermission.RW, other_perm, owned=True, creator_pid=0, name=name)
        kernel.retain(block, "service memory")
        return block

    @property
    def size(self) -> int:
        return len(self.frames) << 12

    # The kernel's own view of the block (HLE services fill shared memory with these).
    def _spans(self, offset: int, size: int) -> list[tuple[int, int, int]]:
        if offset < 0 or offset + size > self.size:
            raise ValueError(f"{offset:#x}+{size:#x} is outside the {self.size:#x}-byte block")
        spans, done = [], 0
        while done < size:
            page, within = divmod(offset + done, 0x1000)
            chunk = min(size - done, 0x1000 - within)
            spans.append(((int(self.frames[page]) << 12) + within, done, chunk))
            done += chunk
        return spans

    def read(self, offset: int, size: int) -> bytes:
        data = self.kernel.memory.phys.data
        return b"".join(data[p : p + n].tobytes() for p, _, n in self._spans(offset, size))

    def write(self, offset: int, payload: bytes) -> None:
        data = self.kernel.memory.phys.data
        for p, start, n in self._spans(offset, len(payload)):
            data[p : p + n] = np.frombuffer(payload[start : start + n], dtype=np.uint8)

    def describe(self) -> str:
        return f"{super().describe()} {self.size:#x} bytes, mapped {len(self.mappings)}x"

    def finished(self) -> bool:
        return not len(self.frames)

    def forget_process(self, pid: int) -> None:
        """``pid``'s address space is gone: its mappings of the block with it."""
        for key in [key for key in self.mappings if key[0] == pid]:
            del self.mappings[key]

    def destroy(self) -> None:
        if self.mappings or not len(self.frames):
            return  # still mapped somewhere: the last unmap destroys it
        kernel = self.kernel
        creator = kernel.processes.get(self.creator_pid)
        if self.source and creator is not None and creator.alive:
            # The heap behind the block is the creator's again.
            creator.space.protect(self.source, self.size, MemoryPermission.RW, state=MemoryState.PRIVATE)
        kernel.memory.phys.release(self.frames)  # frees those nobody maps any more
        self.frames = self.frames[:0]
