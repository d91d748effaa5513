"""What every fuzz case checks: frame sharing (breaches) while processes live, frames back (leaks) after.

Breaches, checked with processes alive:

* the page-table entries of all address spaces add up to ``PhysicalMemory.map_count``;
* no free frame is mapped by anyone, and no frame a live kernel object holds (a memory
  block's frames) is free;
* a frame two different processes both map is explained by the ABI: VRAM, the config
  memory and shared page (to become shared read-only frames), the frames of a live
  memory block, or a buffer an IPC request has mapped into its server.

Leaks, checked once every process has ended and :meth:`Kernel.reap` ran: no address
space is left, every APPLICATION frame is free again, other regions are back to what
the kernel held when it booted, and free frames read back zero when allocated.

"Live kernel objects" are found by walking the kernel's object graph from the kernel
itself (processes, handle tables, services, ports, sessions, pending IPC deliveries),
following only objects defined in the ``kernel`` package and plain containers, so a
new service that holds a memory block is covered without being named here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kernel import layout
from kernel.objects.memory_block import MemoryBlock
from kernel.objects.session import ServerSession

if TYPE_CHECKING:
    from kernel.kernel import Kernel

ABI_SHARED_PAGES = (layout.CONFIG_MEMORY >> 12, layout.SHARED_PAGE >> 12)
_SKIP_FIELDS = {"cpu", "space", "context", "output", "_tls_used", "kernel"}
MAX_LISTED = 4  # frames named in one message


@dataclass(frozen=True)
class Finding:
    kind: str  # "breach" or "leak"
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


def _fields(obj: object) -> Iterator[tuple[str, object]]:
    if hasattr(obj, "__dict__"):
        yield from vars(obj).items()
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if hasattr(obj, name):
                yield name, getattr(obj, name)


def kernel_objects(kernel: Kernel) -> list[object]:
    """Every object of the ``kernel`` package reachable from ``kernel`` (itself included)."""
    seen: set[int] = set()
    found: list[object] = []
    stack: list[object] = [kernel]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
            continue
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
            continue
        if not type(obj).__module__.startswith("kernel."):
            continue
        found.append(obj)
        for name, value in _fields(obj):
            if name not in _SKIP_FIELDS or obj is kernel:
                stack.append(value)
    return found


def live_blocks(objects: list[object]) -> list[MemoryBlock]:
    """Memory blocks that still hold frames (a destroyed block has none)."""
    return [o for o in objects if isinstance(o, MemoryBlock) and len(o.frames)]


def _ipc_frames(kernel: Kernel, objects: list[object]) -> list[np.ndarray]:
    """Frames that IPC requests in flight have mapped into their servers."""
    out = []
    for session in (o for o in objects if isinstance(o, ServerSession)):
        delivery = session.current_delivery
        for pid, vaddr, size in delivery.mappings if delivery is not None else ():
            space = kernel.memory.spaces.get(pid)
            if space is not None:
                out.append(space.table.frame[vaddr >> 12 : (vaddr + size) >> 12].astype(np.int64))
    return out


def explained_frames(kernel: Kernel, objects: list[object]) -> np.ndarray:
    """A boolean per frame: may two processes both map it?"""
    phys = kernel.memory.phys
    allowed = np.zeros(phys.num_frames, dtype=np.bool_)
    vram = phys.regions["VRAM"]
    allowed[vram.first_frame : vram.first_frame + vram.num_frames] = True
    for space in kernel.memory.spaces.values():
        for vpn in ABI_SHARED_PAGES:
            frame = int(space.table.frame[vpn])
            if frame >= 0:
                allowed[frame] = True
    allowed |= getattr(phys, "image", False)  # read-only program segments, shared in place
    for block in live_blocks(objects):
        allowed[block.frames] = True
    for frames in _ipc_frames(kernel, objects):
        allowed[frames[frames >= 0]] = True
    return allowed


def _frames(frames: np.ndarray) -> str:
    shown = ", ".join(str(int(f)) for f in frames[:MAX_LISTED])
    return shown + (f" and {len(frames) - MAX_LISTED} more" if len(frames) > MAX_LISTED else "")


def _who_maps(kernel: Kernel, frame: int) -> str:
    users = []
    for pid, space in kernel.memory.spaces.items():
        vpns = np.flatnonzero(space.table.frame == frame)
        if len(vpns):
            process = kernel.processes.get(pid)
            status = process.status if process is not None else "no process"
            users.append(f"pid {pid:#x} ({status}) at {int(vpns[0]) << 12:#010x}")
    return "; ".join(users) or "nobody"


def check_sharing(kernel: Kernel) -> list[Finding]:
    """Breaches: map counts, free frames in use, and frames shared without an ABI reason."""
    phys = kernel.memory.phys
    objects = kernel_objects(kernel)
    findings: list[Finding] = []
    counted = np.zeros(phys.num_frames, dtype=np.int64)
    per_space = np.zeros(phys.num_frames, dtype=np.int64)
    for space in kernel.memory.spaces.values():
        frames = space.table.frame[space.table.frame >= 0].astype(np.int64)
        counted += np.bincount(frames, minlength=phys.num_frames)
        per_space[np.unique(frames)] += 1
    wrong = np.flatnonzero(counted != phys.map_count)
    if len(wrong):
        f = int(wrong[0])
        findings.append(Finding("breach", f"map_count disagrees with the page tables for frames {_frames(wrong)} "
                                          f"(frame {f}: map_count {int(phys.map_count[f])}, {int(counted[f])} "
                                          "page-table entries)"))
    managed = np.ones(phys.num_frames, dtype=np.bool_)  # VRAM is mapped whole, never allocated
    vram = phys.regions["VRAM"]
    managed[vram.first_frame : vram.first_frame + vram.num_frames] = False
    in_use = np.flatnonzero((counted > 0) & managed & phys.is_free(np.arange(phys.num_frames)))
    if len(in_use):
        findings.append(Finding("breach", f"free frames are mapped: {_frames(in_use)} "
                                          f"(frame {int(in_use[0])}: {_who_maps(kernel, int(in_use[0]))})"))
    holds = getattr(phys, "holds", None)  # the kernel's own count of frames objects hold, where it keeps one
    if holds is not None:
        held_free = np.flatnonzero((holds > 0) & phys.is_free(np.arange(phys.num_frames)))
        if len(held_free):
            findings.append(Finding("breach", f"frames held by kernel objects are free: {_frames(held_free)}"))
    for block in live_blocks(objects):
        free = block.frames[phys.is_free(block.frames)]
        if len(free):
            findings.append(Finding("breach", f"{block.describe()} holds free frames {_frames(free)} "
                                              f"(creator pid {block.creator_pid:#x})"))
    shared = np.flatnonzero((per_space >= 2) & ~explained_frames(kernel, objects))
    if len(shared):
        f = int(shared[0])
        findings.append(Finding("breach", f"frames mapped by two processes with no ABI reason: {_frames(shared)} "
                                          f"(frame {f}: {_who_maps(kernel, f)})"))
    return findings


@dataclass(frozen=True)
class Baseline:
    """Free frames per region right after the kernel booted (services hold some BASE frames)."""

    free: dict[str, int]

    @classmethod
    def of(cls, kernel: Kernel) -> Baseline:
        phys = kernel.memory.phys
        return cls({name: phys.free_frames(name) for name in phys.regions})


def check_released(kernel: Kernel, baseline: Baseline, zero_check: bool = True) -> list[Finding]:
    """Leaks, once every process has ended and been reaped."""
    findings: list[Finding] = []
    phys = kernel.memory.phys
    alive = [p.describe() for p in kernel.processes.values()]
    if alive:
        findings.append(Finding("leak", f"processes not reaped: {', '.join(alive)}"))
    if kernel.memory.spaces:
        pids = ", ".join(f"{pid:#x}" for pid in kernel.memory.spaces)
        findings.append(Finding("leak", f"address spaces left after every process was reaped: pids {pids}"))
    app = phys.regions["APPLICATION"]
    if phys.free_frames("APPLICATION") != app.num_frames:
        frames = np.arange(app.first_frame, app.first_frame + app.num_frames)
        taken = frames[~phys.is_free(frames)]
        holders = [b for b in live_blocks(kernel_objects(kernel)) if np.isin(b.frames, taken).any()]
        held = f"; held by {holders[0].describe()}" if holders else "; no live memory block holds them"
        findings.append(Finding("leak", f"{len(taken)} APPLICATION frames are not free after every process "
                                        f"ended: {_frames(taken)} (map_count of frame {int(taken[0])}: "
                                        f"{int(phys.map_count[taken[0]])}{held})"))
    for name, free in baseline.free.items():
        now = phys.free_frames(name)
        if name != "APPLICATION" and now < free:
            findings.append(Finding("leak", f"{free - now} {name} frames not given back (free: {free} at boot, "
                                            f"{now} now)"))
    if zero_check:
        findings += check_zeroed(kernel)
    return findings


def touched_frames(kernel: Kernel, region: str) -> np.ndarray:
    """Frames of ``region`` the backing file holds data for (the rest were never written: holes
    of the memfd read as zero, and scanning them would only fault them in)."""
    phys = kernel.memory.phys
    reg = phys.regions[region]
    lo, hi = reg.first_frame << 12, (reg.first_frame + reg.num_frames) << 12
    touched = np.zeros(reg.num_frames, dtype=np.bool_)
    offset = lo
    while offset < hi:
        try:
            start = os.lseek(phys.fd, offset, os.SEEK_DATA)
        except OSError:  # ENXIO: no data past offset
            break
        end = min(os.lseek(phys.fd, start, os.SEEK_HOLE), hi)
        if start >= hi:
            break
        touched[(start - lo) >> 12 : (end - lo + 0xFFF) >> 12] = True
        offset = end
    return np.flatnonzero(touched) + reg.first_frame


def check_zeroed(kernel: Kernel, region: str = "APPLICATION") -> list[Finding]:
    """Allocate every free frame of ``region``: each must read back zero. They are freed again."""
    phys = kernel.memory.phys
    if not phys.free_frames(region):
        return []
    frames = phys.allocate(region, phys.free_frames(region))
    try:
        written = np.intersect1d(frames, touched_frames(kernel, region))
        pages = phys.data.reshape(-1, 0x1000)[written]
        dirty = written[pages.view(np.uint64).any(axis=1)] if len(written) else written
    finally:
        phys.free(frames)
    if len(dirty):
        return [Finding("leak", f"{len(dirty)} newly allocated {region} frames are not zero: {_frames(dirty)}")]
    return []
