"""Process lifetimes: where a process's memory comes from and how all of it goes back.

Part of :class:`kernel.kernel.Kernel` (a mixin, as :mod:`kernel.waits` is): the
program image and the fixed areas mapped at spawn, the frames of ended
processes given back (reaping), and the policy that keeps a long session flat.
A frame is freed by whoever lets go of it last (``PhysicalMemory.collect``): no
page table maps it and no kernel object holds it.

Objects' reference counts (handles plus the kernel's own holds) and how each object
saves and restores itself in a save state: :class:`kernel.objects.base.KernelObject`.
A save state keeps ended processes whole, reaped ones as their record (output, status,
counters; a closed CPU and address space), and ``_reaped_instructions`` with them.
"""

from __future__ import annotations

import gc
import logging
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from hlemu.loaders import Image, LoaderError
from hlemu.memory import MemoryPermission, MemoryState, MemorySystem, OutOfMemory
from kernel import layout
from kernel.homebrew import wants_arguments
from kernel.image_frames import ImageFrames, shareable

if TYPE_CHECKING:
    from kernel.objects.base import KernelObject
    from kernel.process import Process

log = logging.getLogger(__name__)

KEEP_ENDED = 8  # ended processes kept whole (memory, registers) for inspection before they are reaped
KEEP_REAPED = 64  # reaped processes remembered (name, status, the tail of their output) in Kernel.reaped
REAPED_OUTPUT_LINES = 200  # how much of a reaped process's output it keeps
# A reaped process's objects form reference cycles (process, threads, handle tables, the CPU's
# callbacks), which only Python's full collection frees; left to its own schedule the heap's
# high-water mark climbs (measured: 1.8 MiB per 100 processes, 0.2 with this).
COLLECT_EVERY_REAPS = 16


class Lifetimes:
    if TYPE_CHECKING:  # provided by Kernel
        memory: MemorySystem
        processes: dict[int, Process]
        reaped: deque[Process]
        _reaped_instructions: int
        _reaped_count: int
        _ended: int
        _system_frames: np.ndarray
        image_frames: ImageFrames

        def destroy_if_unused(self, obj: KernelObject) -> None: ...

    def _make_room(self, image: Image) -> None:
        """Refuse, before anything is taken, a program larger than the free APPLICATION memory
        (after ended processes give theirs back): a LoaderError that names the shortfall."""
        need = self.image_frames.pages_to_allocate(image.segments)  # shared code already held is free
        need += (layout.MAIN_STACK_SIZE >> 12) + 1  # + a TLS page
        need += wants_arguments(image)  # + the page of a 3DSX's argument list
        phys = self.memory.phys
        if phys.free_frames("APPLICATION") < need:
            self.reap()
        have = phys.free_frames("APPLICATION")
        if have < need:
            raise LoaderError(f"{image.source or image.name}: needs {need * 4} KiB of application memory, "
                              f"{have * 4} KiB are free ({(need - have) * 4} KiB short)")

    def allocate(self, region: str, count: int, contiguous: bool = False) -> np.ndarray:
        """Frames for a process; when memory runs out, ended processes give theirs back first."""
        try:
            return self.memory.phys.allocate(region, count, contiguous)
        except OutOfMemory:
            if not self.reap():
                raise
            return self.memory.phys.allocate(region, count, contiguous)

    def reap(self, process: Process | None = None) -> int:
        """Free the memory of ended processes (kept until then for post-mortem inspection).

        Returns how many processes were reaped.
        """
        victims = [process] if process is not None else [p for p in self.processes.values() if not p.alive]
        for victim in victims:
            if victim.alive:
                raise ValueError(f"{victim.describe()} is still running")
            victim.final_regions = victim.space.regions()
            self._reaped_instructions += victim.cpu.instructions
            self._release_memory(victim)
            self.processes.pop(victim.pid, None)
            self.reaped.append(victim)
            self._reaped_count += 1
            if self._reaped_count % COLLECT_EVERY_REAPS == 0 and gc.isenabled():
                gc.collect()  # off: the host collects on a thread of its choosing (gui/gc_guard.py)
        return len(victims)

    def _reap_old(self) -> None:
        """Keep the last KEEP_ENDED ended processes whole; give back the memory, CPU and slab
        of older ones, so a long session that starts and ends processes does not grow."""
        ended = [p for p in self.processes.values() if not p.alive]
        for victim in ended[: max(0, len(ended) - KEEP_ENDED)]:
            self.reap(victim)
        self._ended = min(len(ended), KEEP_ENDED)

    def _release_memory(self, process: Process) -> None:
        """Unmap a process's memory, free the frames that nobody else maps or holds, close its
        CPU (Unicorn instance) and slab. Frames a memory block or a service still holds stay."""
        space = process.space
        frames = space.table.frame[space.table.frame >= 0].astype(np.int64)
        blocks = list(process.mapped_blocks)
        for block in blocks:
            block.forget_process(process.pid)
        process.mapped_blocks.clear()
        process.cpu.close()
        self.memory.destroy_space(process.pid)
        self.memory.phys.collect(frames)
        self.image_frames.drop(process.pid)  # the last user of shared code frees them
        for block in blocks:
            self.destroy_if_unused(block)
        for thread in process.threads:
            thread.context = None
            thread.pending_results = {}
        process.loaded = None
        process.released = True
        if len(process.output) > REAPED_OUTPUT_LINES:
            process.output.dropped += len(process.output) - REAPED_OUTPUT_LINES
            del process.output[:-REAPED_OUTPUT_LINES]

    def _map_image(self, process: Process, image: Image) -> None:
        """Code and read-only data map the frames every instance shares (kernel.image_frames);
        writable segments get frames of their own, filled from the image."""
        for seg in image.segments:
            if shareable(seg):
                frames = self.image_frames.frames_for(process.pid, seg, self.allocate)
                process.space.map(seg.vaddr, frames, seg.perm, MemoryState.CODE)
                continue
            frames = self.allocate("APPLICATION", seg.size >> 12)
            process.space.map(seg.vaddr, frames, seg.perm, MemoryState.PRIVATE)
            process.space.poke(seg.vaddr, seg.data)

    def _make_system_pages(self) -> np.ndarray:
        """Config memory and the shared page: one read-only frame each from BASE, shared by
        every process as on hardware (3dbrew "Configuration Memory"), held by the kernel and
        not part of any application's memory (so not of its COMMIT resource)."""
        phys = self.memory.phys
        frames = phys.allocate("BASE", 2)
        phys.hold(frames)
        config = int(frames[0]) << 12
        # The kernel version libctru reads (2.46.0 = 11.x firmware) and APPMEMALLOC, the size
        # of the APPLICATION region.
        phys.data[config : config + 4] = np.frombuffer(bytes([0, 0, 46, 2]), dtype=np.uint8)
        phys.data[config + 0x40 : config + 0x44] = np.frombuffer((64 << 20).to_bytes(4, "little"), np.uint8)
        return frames

    def _map_fixed_areas(self, process: Process) -> None:
        space = process.space
        config, shared_page = self._system_frames
        space.map(layout.CONFIG_MEMORY, [config], MemoryPermission.R, MemoryState.SHARED)
        space.map(layout.SHARED_PAGE, [shared_page], MemoryPermission.R, MemoryState.SHARED)
        # VRAM, shared by every process (3dsx homebrew gets it read-write, as in Citra).
        vram = self.memory.phys.regions["VRAM"]
        frames = np.arange(vram.first_frame, vram.first_frame + vram.num_frames, dtype=np.int64)
        space.map(layout.VRAM_VADDR, frames, MemoryPermission.RW, MemoryState.IO)

    def map_new(self, process: Process, vaddr: int, size: int, perm: MemoryPermission,
                state: MemoryState, region: str = "APPLICATION") -> None:
        process.space.map(vaddr, self.allocate(region, size >> 12), perm, state)


def check_image_layout(image: Image) -> None:
    """Program images live in the 3DS's image area, 0x00100000-0x04000000."""
    for seg in image.segments:
        if seg.vaddr < layout.CODE_BASE or seg.vaddr + seg.size > layout.IMAGE_END:
            raise LoaderError(f"{image.source or image.name}: segment at {seg.vaddr:#010x}+{seg.size:#x} is outside "
                              f"the program image area {layout.CODE_BASE:#010x}-{layout.IMAGE_END:#010x}")
