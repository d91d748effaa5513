"""Physical memory: FCRAM and VRAM in one host shared-memory object.

The whole guest physical memory is one ``memfd``. A *frame* is a 4 KiB page
of it, numbered from 0: FCRAM's frames come first, then VRAM's. Because the
backing is a file, the same frame can be mapped at several guest addresses,
in several processes and in each process's host slab, and every view sees a
write at once.

The allocator hands out frames from named regions laid out as the 3DS's
FCRAM (memory mode 0 of the original 3DS: APPLICATION 64 MiB, SYSTEM 44 MiB,
BASE 20 MiB; see 3dbrew "Memory layout"). Frames come back dirty and are
zeroed before they are handed out again.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass

import numpy as np

from hlemu.memory.constants import PAGE_SHIFT, PAGE_SIZE

MIB = 1 << 20
_SMALL_COLLECT = 16  # collect() of up to this many frames works on plain ints
_MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)  # <linux/mman.h>; Python 3.11 lacks the name


class OutOfMemory(Exception):
    """A region has too few free frames for an allocation."""


@dataclass(frozen=True)
class PhysicalRegion:
    """A named range of frames the allocator serves from."""

    name: str
    phys_base: int  # 3DS physical address of the first byte
    first_frame: int
    num_frames: int

    @property
    def size(self) -> int:
        return self.num_frames * PAGE_SIZE

    def contains_frame(self, frame: int) -> bool:
        return self.first_frame <= frame < self.first_frame + self.num_frames


# (name, 3DS physical base, size): FCRAM regions first, then VRAM.
DEFAULT_LAYOUT: tuple[tuple[str, int, int], ...] = (
    ("APPLICATION", 0x20000000, 64 * MIB),
    ("SYSTEM", 0x24000000, 44 * MIB),
    ("BASE", 0x26C00000, 20 * MIB),
    ("VRAM", 0x18000000, 6 * MIB),
)
FCRAM_BASE = 0x20000000
VRAM_BASE = 0x18000000


class PhysicalMemory:
    """The guest's physical memory and its frame allocator.

    ``data`` is a writable ``uint8`` view of the whole backing; the compiled
    memory paths index it by ``frame * PAGE_SIZE + offset``.

    >>> phys = PhysicalMemory()
    >>> frames = phys.allocate("APPLICATION", 2)
    >>> [hex(phys.frame_to_phys(f)) for f in frames]
    ['0x20000000', '0x20001000']
    >>> phys.free(frames)
    """

    def __init__(self, layout: tuple[tuple[str, int, int], ...] = DEFAULT_LAYOUT) -> None:
        self.regions: dict[str, PhysicalRegion] = {}
        frame = 0
        for name, base, size in layout:
            if size % PAGE_SIZE or base % PAGE_SIZE:
                raise ValueError(f"region {name} is not page aligned")
            self.regions[name] = PhysicalRegion(name, base, frame, size >> PAGE_SHIFT)
            frame += size >> PAGE_SHIFT
        self.num_frames = frame
        self.size = frame * PAGE_SIZE
        self.fd = os.memfd_create("hlemu-physical", os.MFD_CLOEXEC)
        os.ftruncate(self.fd, self.size)
        self._map = mmap.mmap(self.fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.data = np.frombuffer(self._map, dtype=np.uint8)
        self._free = np.ones(self.num_frames, dtype=np.bool_)
        self._dirty = np.zeros(self.num_frames, dtype=np.bool_)  # freed, not yet zeroed
        # How many page-table entries, over all processes, map each frame.
        self.map_count = np.zeros(self.num_frames, dtype=np.int32)
        self.map_count_items = self.map_count.data  # a memoryview: plain-int item access (the few-page paths)
        # How many kernel objects hold each frame (memory blocks, a service's shared memory,
        # a buffer mapped for an IPC request in flight): a held frame is never freed, even
        # when no page table maps it any more.
        self.holds = np.zeros(self.num_frames, dtype=np.int32)
        # Frames of a program image shared in place by every process that loads the same bytes
        # (read-only segments): never written where they are; a privileged write or a protect
        # that adds W gives the writing process its own copy first (AddressSpace.privatize).
        self.image = np.zeros(self.num_frames, dtype=np.bool_)
        self._frame_addresses: np.ndarray | None = None

    # -- addresses ---------------------------------------------------------
    def region_of(self, frame: int) -> PhysicalRegion:
        for region in self.regions.values():
            if region.contains_frame(frame):
                return region
        raise ValueError(f"frame {frame} is outside physical memory")

    def frame_addresses(self) -> np.ndarray:
        """The 3DS physical address of every frame, as one uint32 array (for whole-table views)."""
        if self._frame_addresses is None:
            table = np.zeros(self.num_frames, dtype=np.uint32)
            for region in self.regions.values():
                first = region.first_frame
                table[first : first + region.num_frames] = region.phys_base + (np.arange(region.num_frames) << 12)
            table.flags.writeable = False
            self._frame_addresses = table
        return self._frame_addresses

    def frame_to_phys(self, frame: int) -> int:
        """The 3DS physical address of a frame."""
        region = self.region_of(frame)
        return region.phys_base + (frame - region.first_frame) * PAGE_SIZE

    def phys_to_frame(self, address: int) -> int:
        """The frame holding a 3DS physical address."""
        for region in self.regions.values():
            if region.phys_base <= address < region.phys_base + region.size:
                return region.first_frame + ((address - region.phys_base) >> PAGE_SHIFT)
        raise ValueError(f"physical address {address:#010x} is not backed")

    # -- allocation --------------------------------------------------------
    def allocate(self, region: str, count: int, contiguous: bool = False) -> np.ndarray:
        """Take ``count`` zeroed frames from ``region``; lowest free first.

        ``contiguous`` asks for one physically contiguous run (the linear
        heap and GPU buffers need that).
        """
        if count <= 0:
            raise ValueError("allocation needs at least one frame")
        reg = self._region(region)
        lo, hi = reg.first_frame, reg.first_frame + reg.num_frames
        free = self._free[lo:hi]
        if contiguous:
            start = _find_run(free, count)
            if start < 0:
                raise OutOfMemory(f"{region}: no {count} contiguous free frames")
            frames = np.arange(lo + start, lo + start + count, dtype=np.int64)
        else:
            candidates = np.flatnonzero(free)
            if len(candidates) < count:
                raise OutOfMemory(f"{region}: {count} frames asked, {len(candidates)} free")
            frames = candidates[:count].astype(np.int64) + lo
        self._free[frames] = False
        self._zero_dirty(frames)
        return frames

    def hold(self, frames: np.ndarray) -> None:
        """A kernel object keeps ``frames`` alive until it calls :meth:`release`."""
        frames = np.asarray(frames, dtype=np.int64)
        if len(frames) and self._free[frames].any():
            raise ValueError("holding a frame that is free")
        np.add.at(self.holds, frames, 1)

    def release(self, frames: np.ndarray) -> int:
        """Drop one hold on each of ``frames``; those nothing maps or holds any more are freed.
        Returns how many frames were freed."""
        frames = np.asarray(frames, dtype=np.int64)
        if len(frames) and (self.holds[frames] <= 0).any():
            raise ValueError("releasing a frame that is not held")
        np.subtract.at(self.holds, frames, 1)
        return self.collect(frames)

    def collect(self, frames: np.ndarray) -> int:
        """Free those of ``frames`` (allocated ones) that no page table maps and no kernel
        object holds: the one place a frame's last owner gives it back. Returns the count."""
        if len(frames) <= _SMALL_COLLECT:  # a few (an IPC buffer's, at every reply): plain ints
            done = 0
            free, count, holds = self._free, self.map_count_items, self.holds
            for f in set(frames.tolist() if isinstance(frames, np.ndarray) else frames):
                if not free[f] and count[f] == 0 and holds[f] == 0:
                    free[f] = self._dirty[f] = True
                    self.image[f] = False
                    done += 1
            return done
        frames = np.unique(np.asarray(frames, dtype=np.int64))
        unused = frames[~self._free[frames] & (self.map_count[frames] == 0) & (self.holds[frames] == 0)]
        if len(unused):
            self._free[unused] = True
            self._dirty[unused] = True
            self.image[unused] = False
        return len(unused)

    def in_use(self, region: str | None = None) -> int:
        """Frames allocated (not free), in one region or in all."""
        if region is None:
            return int(self.num_frames - self._free.sum())
        reg = self._region(region)
        return reg.num_frames - self.free_frames(region)

    def free(self, frames: np.ndarray | list[int]) -> None:
        """Give frames back. Frames still mapped anywhere, or held by a kernel object, are refused."""
        frames = np.asarray(frames, dtype=np.int64)
        if len(frames) == 0:
            return
        if frames.min() < 0 or frames.max() >= self.num_frames:
            raise ValueError("freeing a frame outside physical memory")
        if self._free[frames].any():
            raise ValueError("freeing a frame that is already free")
        if self.map_count[frames].any():
            raise ValueError("freeing a frame that is still mapped")
        if self.holds[frames].any():
            raise ValueError("freeing a frame that a kernel object still holds")
        self._free[frames] = True
        self._dirty[frames] = True
        self.image[frames] = False

    def is_free(self, frames: np.ndarray) -> np.ndarray:
        """Which of ``frames`` are free (a boolean array)."""
        return self._free[np.asarray(frames, dtype=np.int64)]

    def free_frames(self, region: str) -> int:
        reg = self._region(region)
        return int(self._free[reg.first_frame : reg.first_frame + reg.num_frames].sum())

    def _region(self, name: str) -> PhysicalRegion:
        try:
            return self.regions[name]
        except KeyError:
            raise ValueError(f"no physical region {name!r}; have {', '.join(self.regions)}") from None

    def _zero_dirty(self, frames: np.ndarray) -> None:
        dirty = frames[self._dirty[frames]]
        for frame in dirty.tolist():
            self.data[frame * PAGE_SIZE : (frame + 1) * PAGE_SIZE] = 0
        self._dirty[dirty] = False

    def populate(self, first: int, count: int) -> None:
        """Fault in frames ``first .. first+count-1`` in one call (``MADV_POPULATE_WRITE``),
        ahead of writing all of them: a load writes whole runs of frames, and faulting a
        shared-memory page one at a time is most of what such a write costs. A hint only:
        where the host kernel lacks it (before Linux 5.14) the pages fault in as they are written."""
        if count <= 0:
            return
        try:
            self._map.madvise(_MADV_POPULATE_WRITE, first * PAGE_SIZE, count * PAGE_SIZE)
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        """Release the backing. Views taken from ``data`` must be gone first."""
        self.data = np.zeros(0, dtype=np.uint8)
        try:
            self._map.close()
        except BufferError:  # a numpy view still holds it; the GC will finish
            pass
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _find_run(free: np.ndarray, count: int) -> int:
    """Start of the first run of ``count`` True values, or -1."""
    padded = np.concatenate(([False], free, [False])).astype(np.int8)
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    fits = np.flatnonzero(ends - starts >= count)
    return int(starts[fits[0]]) if len(fits) else -1
