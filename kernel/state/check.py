"""Checks of a loaded state's object graph: it must be a machine the kernel could have made."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from kernel.objects.base import KernelObject
from kernel.state.errors import StateError
from kernel.state.machine import nonzero_indices
from kernel.thread import ThreadState

if TYPE_CHECKING:
    from kernel.kernel import Kernel


def check_graph(kernel: Kernel, objects: list[object]) -> None:
    """Every handle resolves to an object of the state; every object's reference count
    (``Kernel._refs``) is exactly its handles plus the kernel's own holds (``Kernel.holds``)
    and no count or hold names an object the state does not hold; object ids are unique;
    threads and processes point at each other; every frame's map count is what the page
    tables map."""
    kernel_objects = [o for o in objects if isinstance(o, KernelObject)]
    by_id: dict[int, KernelObject] = {}
    for obj in kernel_objects:
        ident = getattr(obj, "object_id", None)
        if not isinstance(ident, int):
            raise StateError(f"a {type(obj).__name__} of the state has no object id")
        if ident in by_id and by_id[ident] is not obj:
            raise StateError(f"object id {ident} is used twice in the state")
        by_id[ident] = obj
    handles: dict[int, int] = {}
    for process in kernel.processes.values():
        for handle, obj in process.handles._objects.items():
            if not isinstance(obj, KernelObject) or by_id.get(obj.object_id) is not obj:
                raise StateError(f"handle {handle:#x} of {process.describe()} does not resolve")
            handles[obj.object_id] = handles.get(obj.object_id, 0) + 1
    _check_counts(kernel, by_id, handles)
    _check_threads(kernel)
    _check_map_counts(kernel)


def _check_counts(kernel: Kernel, by_id: dict[int, KernelObject], handles: dict[int, int]) -> None:
    """``_refs`` is exactly each object's handles plus the kernel's holds (``Kernel.holds``,
    by holder; an IPC message in flight is one): an object counted more would never go,
    one counted less would go while still in use."""
    holds = getattr(kernel, "holds", None)
    if not isinstance(holds, Counter):
        raise StateError("the state records no kernel holds (saved by an older hlemu?): its counts cannot be checked")
    held: dict[int, int] = {}
    for key, count in holds.items():
        if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], int) and isinstance(key[1], str)) \
                or not isinstance(count, int) or isinstance(count, bool) or count <= 0:
            raise StateError(f"bad kernel hold {key!r}: {count!r} in the state")
        if key[0] not in by_id:
            raise StateError(f"the state records {key[1]!r} holding object {key[0]}, which it does not hold")
        held[key[0]] = held.get(key[0], 0) + count
    _check_holders(kernel, by_id, holds)
    refs = kernel._refs
    for ident, count in refs.items():
        if ident not in by_id:
            raise StateError(f"the state counts references to object {ident}, which it does not hold")
        if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
            raise StateError(f"{by_id[ident].describe()} has a reference count of {count!r}")
    for ident in sorted({*refs, *handles, *held}):
        want = handles.get(ident, 0) + held.get(ident, 0)
        if refs.get(ident, 0) != want:
            holders = ", ".join(f"{h} {n}" for (i, h), n in sorted(holds.items()) if i == ident) or "none"
            raise StateError(f"{by_id[ident].describe()} has a reference count of {refs.get(ident, 0)}, but "
                             f"{handles.get(ident, 0)} handles and kernel holds ({holders}) make {want}")


def _check_holders(kernel: Kernel, by_id: dict[int, KernelObject], holds: Counter) -> None:
    """The holds of the holders a state can see whole are what those holders hold: the
    named ports, srv's registrations, the sessions waiting on server ports."""
    from kernel.objects.port import ServerPort

    seen: dict[str, Counter] = {
        "named port": Counter(p.object_id for p in kernel.named_ports.values()),
        "srv registration": Counter(p.object_id for p in kernel.srv.ports.values()),
        "pending session": Counter(s.object_id for o in by_id.values() if isinstance(o, ServerPort)
                                   for s in o.pending),
    }
    for holder, want in seen.items():
        got = Counter({i: n for (i, h), n in holds.items() if h == holder})
        if got != want:
            ident = next(iter((got - want) + (want - got)))
            name = by_id[ident].describe() if ident in by_id else f"object {ident}"
            raise StateError(f"{name} is held by {holder!r} {got.get(ident, 0)} times, but the state's "
                             f"{holder}s hold it {want.get(ident, 0)} times")


def _check_threads(kernel: Kernel) -> None:
    for thread in kernel.threads:
        if thread.state is ThreadState.DEAD or thread.process.pid not in kernel.processes \
                or thread not in thread.process.threads:
            raise StateError(f"{thread.describe()} is scheduled but not a live thread of a process")
    for process in kernel.processes.values():
        if process.loaded is not None and process.loaded not in process.threads:
            raise StateError(f"{process.describe()} has another process's thread loaded")
    current = kernel.scheduler.current
    if current is not None and current.state is ThreadState.DEAD:
        raise StateError("the state's running thread has ended")


def _check_map_counts(kernel: Kernel) -> None:
    phys = kernel.memory.phys
    expected = np.zeros(phys.num_frames, dtype=np.int64)
    for space in kernel.memory.spaces.values():
        frames = space.table.frame[nonzero_indices(space.table.state)].astype(np.int64)
        frames = frames[frames >= 0]
        if len(frames) and frames.max() >= phys.num_frames:
            raise StateError(f"{space.name} maps frames outside physical memory")
        np.add.at(expected, frames, 1)
    if not np.array_equal(expected, phys.map_count):
        bad = int(np.flatnonzero(expected != phys.map_count)[0])
        raise StateError(f"frame {bad} is mapped {int(expected[bad])} times but counted {int(phys.map_count[bad])}")
    if (phys._free & ((phys.holds > 0) | (phys.map_count > 0) & ~_vram(phys))).any():
        raise StateError("the state has frames both free and in use")


def _vram(phys) -> np.ndarray:
    mask = np.zeros(phys.num_frames, dtype=bool)
    vram = phys.regions.get("VRAM")
    if vram is not None:
        mask[vram.first_frame:vram.first_frame + vram.num_frames] = True
    return mask
