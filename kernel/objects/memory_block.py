"""Shared memory blocks (svcCreateMemoryBlock / MapMemoryBlock / UnmapMemoryBlock)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hlemu.memory import MemoryPermission
from kernel.objects.base import KernelObject

if TYPE_CHECKING:
    from kernel.kernel import Kernel


class MemoryBlock(KernelObject):
    """Physical frames several address spaces may map.

    ``owned`` says whether the block allocated its frames (and so frees
    them when the last handle goes) or borrowed them from the creator's
    heap at ``source`` (LOCKED there until the block goes).
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

    @property
    def size(self) -> int:
        return len(self.frames) << 12

    def describe(self) -> str:
        return f"{super().describe()} {self.size:#x} bytes, mapped {len(self.mappings)}x"
