"""A whole machine to a save state and back: physical frames, address spaces, CPUs, and
the kernel's object graph (processes, threads, handle tables, objects, scheduler,
services, display, input).

Saving happens only at a clean boundary: between two runs of the scheduler, never from
inside one (no CPU runs, so no translated block is half-way through an SVC or a hook). A
run stopped inside a translated block (an exact instruction limit, a step, a breakpoint)
is fine: the CPU's counters say so (``CB_RESUME``) and the rest of that block runs, and
counts, as it would have. What depends on the host and not on the guest is not saved:
Unicorn's translation cache and TLB (rebuilt as the guest runs; TLB-fill statistics
start over), the CPU trap frame of semifastmem, host listeners (the emulator's
``on_output``/``on_frame``/``on_svc`` callbacks, breakpoints: a script adds them again).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

import hlemu
from hlemu.cpu import Cpu
from hlemu.memory import MemorySystem
from hlemu.memory.constants import PAGE_SIZE, SpecialKind
from hlemu.memory.physical import PhysicalMemory
from hlemu.memory.space import AddressSpace
from hlemu.memory.special import WriteTracker
from kernel.state.errors import StateError
from kernel.state.format import Deferred, Section
from kernel.state.graph import Decoder, Encoder

if TYPE_CHECKING:
    from kernel.kernel import Kernel

_TABLE_FIELDS = ("frame", "perm", "state", "special", "wdirty")


@dataclass
class Captured:
    """A machine as plain data: what a state file stores, or a snapshot keeps in memory."""

    meta: dict[str, Any]  # the header's facts: programs, options, counters
    graph: dict[str, Any]  # the object table, roots, and the host-resource entries
    blobs: list[np.ndarray]  # the arrays the graph references
    frames: np.ndarray  # frame numbers (int64) of the saved frames
    frame_data: np.ndarray | Deferred  # their bytes, (n, 4096) uint8 (from a file: still compressed)


# -- saving -------------------------------------------------------------------------------
class _Externals:
    """The encoder's codecs for host resources: address spaces, CPUs, memory, trackers."""

    def __init__(self, kernel: Kernel, blobs: Callable[[np.ndarray], int]) -> None:
        self.kernel = kernel
        self.blob = blobs
        self.spaces: list[dict[str, Any]] = []
        self.cpus: list[dict[str, Any]] = []
        self.trackers: list[dict[str, Any]] = []
        self._space_ids: dict[int, int] = {}
        self._cpu_ids: dict[int, int] = {}
        self._tracker_ids: dict[int, int] = {}

    def __call__(self, obj: object) -> list[Any] | None:
        if isinstance(obj, AddressSpace):
            return ["space", self.space(obj)]
        if isinstance(obj, Cpu):
            return ["cpu", self.cpu(obj)]
        if isinstance(obj, WriteTracker):
            return ["tracker", self.tracker(obj)]
        if isinstance(obj, MemorySystem):
            return ["memory", 0]
        if isinstance(obj, PhysicalMemory):  # the shared-code cache holds it
            return ["memory", 1]
        return None

    def space(self, space: AddressSpace) -> int:
        known = self._space_ids.get(id(space))
        if known is not None:
            return known
        if any(space.watchpoints.values()):
            raise StateError(f"cannot save: {space.name} has watchpoints (a debugger's); remove them first")
        t = space.table
        vpns = nonzero_indices(t.state).astype(np.int32)
        entry: dict[str, Any] = {"pid": space.pid, "name": space.name,
                                 "registered": self.kernel.memory.spaces.get(space.pid) is space,
                                 "vpns": self.blob(vpns)}
        for name in _TABLE_FIELDS:
            entry[name] = self.blob(getattr(t, name)[vpns])
        if space.mmio:
            raise StateError(f"cannot save: {space.name} has MMIO pages, which states do not keep")
        counters = space.faults.array
        flat = nonzero_indices(counters.reshape(-1))
        entry["faults"] = [self.blob(flat.astype(np.int64)), self.blob(counters.reshape(-1)[flat])]
        entry["trackers"] = sorted({self.tracker(tr) for tr in space.trackers.values()})
        self._space_ids[id(space)] = len(self.spaces)
        self.spaces.append(entry)
        return len(self.spaces) - 1

    def cpu(self, cpu: Cpu) -> int:
        known = self._cpu_ids.get(id(cpu))
        if known is not None:
            return known
        entry: dict[str, Any] = {"space": self.space(cpu.space), "counters": cpu.save_counters()}
        if not cpu.closed:
            entry["registers"] = self.blob(cpu.registers().raw)
        self._cpu_ids[id(cpu)] = len(self.cpus)
        self.cpus.append(entry)
        return len(self.cpus) - 1

    def tracker(self, tracker: WriteTracker) -> int:
        known = self._tracker_ids.get(id(tracker))
        if known is not None:
            return known
        if tracker.subscribers:
            raise StateError(f"cannot save: write tracker {tracker.name!r} has host subscribers")
        entry = {"name": tracker.name, "faults": tracker.faults,
                 "dirty": [[pid, sorted(pages)] for pid, pages in sorted(tracker.dirty.items())],
                 "attached": sorted(tracker._spaces)}
        self._tracker_ids[id(tracker)] = len(self.trackers)
        self.trackers.append(entry)
        return len(self.trackers) - 1


def nonzero_indices(array: np.ndarray) -> np.ndarray:
    """``np.flatnonzero`` of a large, mostly zero 1-d array, fast: whole 4 KiB chunks that
    are zero are passed over with one vectorised ``any`` (page tables and fault counters
    span 4 GiB of guest pages but only a few are ever touched)."""
    chunk = 4096 // array.itemsize
    if array.ndim != 1 or len(array) % chunk or not array.flags.c_contiguous:
        return np.flatnonzero(array)
    blocks = np.flatnonzero(array.view(np.uint64).reshape(-1, 512).max(axis=1))  # max: 1.7x the speed of any
    if not len(blocks):
        return np.zeros(0, np.int64)
    parts = [np.flatnonzero(array[b * chunk:(b + 1) * chunk]) + b * chunk for b in blocks.tolist()]
    return np.concatenate(parts)


def capture(kernel: Kernel) -> Captured:
    """The machine, now, as plain data (copies: the machine may run on)."""
    scheduler = kernel.scheduler
    if scheduler._running is not None or any(getattr(p.cpu, "_running", False) for p in kernel.processes.values()):
        raise StateError("cannot save inside a run: save between runs (after run() returns)")
    blobs: list[np.ndarray] = []

    def blob(array: np.ndarray) -> int:
        blobs.append(np.ascontiguousarray(array).copy())
        return len(blobs) - 1

    externals = _Externals(kernel, blob)
    encoder = Encoder(externals)
    encoder.blobs = blobs
    root = encoder.ref(kernel)
    encoder.finish()
    frames, data = _used_frames(kernel)
    graph = {"root": root, "objects": {str(k): v for k, v in encoder.objects.items()},
             "spaces": externals.spaces, "cpus": externals.cpus, "trackers": externals.trackers,
             "physical": {name: blob(getattr(kernel.memory.phys, attr)) for name, attr in
                          (("free", "_free"), ("dirty", "_dirty"), ("map_count", "map_count"), ("holds", "holds"),
                           ("image", "image"))},
             "own_frames": blob(_cpu_frames(kernel))}
    return Captured(describe(kernel), graph, blobs, frames, data)


def _cpu_frames(kernel: Kernel) -> np.ndarray:
    """Frames the CPUs took for themselves (semifastmem's trap frame): host-side, not saved."""
    own = [cpu.own_frames() for cpu in _all_cpus(kernel)]
    return np.concatenate(own).astype(np.int64) if own else np.zeros(0, np.int64)


def _all_cpus(kernel: Kernel) -> list[Cpu]:
    return [p.cpu for p in [*kernel.processes.values(), *kernel.reaped]]


def _used_frames(kernel: Kernel) -> tuple[np.ndarray, np.ndarray]:
    """The frames worth saving: allocated, mapped or held (VRAM is mapped, not allocated),
    not all zero (a restored machine starts from zeroed memory), not a CPU's own."""
    phys = kernel.memory.phys
    used = ~phys._free | (phys.map_count > 0) | (phys.holds > 0)
    used[_cpu_frames(kernel)] = False
    candidates = np.flatnonzero(used)
    data = phys.data.reshape(-1, PAGE_SIZE)[candidates]  # the one copy a save makes of memory
    nonzero = data.view(np.uint64).any(axis=1)
    if nonzero.all():
        return candidates.astype(np.int64), data
    return candidates[nonzero].astype(np.int64), data[nonzero]


def describe(kernel: Kernel) -> dict[str, Any]:
    """The header's facts: who made the state, which programs it holds, where it stopped."""
    programs = []
    for p in [*kernel.processes.values(), *kernel.reaped]:
        programs.append({"pid": p.pid, "name": p.name, "source": str(p.source),
                         "image_sha256": getattr(p, "image_sha256", ""), "status": p.status})
    return {"hlemu": hlemu.__version__, "backend": kernel.memory.backend,
            "quantum_blocks": kernel.scheduler.quantum_blocks, "programs": programs,
            "instructions": kernel.instructions, "ticks": kernel.ticks, "frame": kernel.display.frame}


def to_sections(c: Captured) -> list[Section]:
    """The state file's sections: the object graph (JSON), the arrays, the memory frames."""
    table, raw = _pack_blobs(c.blobs)
    graph = json.dumps({**c.graph, "blobs": table}, sort_keys=True, separators=(",", ":")).encode()
    frames = np.ascontiguousarray(c.frames, dtype="<i4").tobytes()
    return [Section("graph", graph), Section("arrays", raw), Section("frame-list", frames),
            Section("frames", np.ascontiguousarray(c.frame_data).data)]  # type: ignore[arg-type]


def from_sections(header: dict[str, Any], sections: dict[str, bytes]) -> Captured:
    for name in ("graph", "arrays", "frame-list", "frames"):
        if name not in sections:
            raise StateError(f"the state has no {name!r} section")
    try:
        graph = json.loads(sections["graph"])
    except ValueError:
        raise StateError("the state's object graph is not readable") from None
    if not isinstance(graph, dict):
        raise StateError("the state's object graph is not a table")
    blobs = _unpack_blobs(graph.pop("blobs", None), sections["arrays"])
    frame_list = sections["frame-list"]
    if len(frame_list) % 4:
        raise StateError("the state's frame list is cut")
    frames = np.frombuffer(frame_list, dtype="<i4").astype(np.int64)
    data = sections["frames"]
    size = data.raw if isinstance(data, Deferred) else len(data)
    if size != len(frames) * PAGE_SIZE:
        raise StateError(f"the state lists {len(frames)} frames but holds {size // PAGE_SIZE}")
    if isinstance(data, Deferred):
        return Captured(header, graph, blobs, frames, data)
    return Captured(header, graph, blobs, frames, np.frombuffer(data, dtype=np.uint8).reshape(-1, PAGE_SIZE))


def _pack_blobs(blobs: list[np.ndarray]) -> tuple[list[list[Any]], bytes]:
    table, parts, offset = [], [], 0
    for a in blobs:
        a = np.ascontiguousarray(a)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        body = a.tobytes()
        table.append([a.dtype.str, list(a.shape), offset, len(body)])
        parts.append(body)
        offset += len(body)
    return table, b"".join(parts)


def _unpack_blobs(table: Any, raw: bytes) -> list[np.ndarray]:
    from kernel.state.graph import _dtype

    if not isinstance(table, list):
        raise StateError("the state's array table is missing")
    out = []
    for entry in table:
        if not isinstance(entry, list) or len(entry) != 4:
            raise StateError("bad entry in the state's array table")
        dtype, shape, offset, size = entry
        dt = _dtype(dtype)
        if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape) \
                or not isinstance(offset, int) or not isinstance(size, int) or offset < 0 \
                or offset + size > len(raw) or int(np.prod(shape)) * dt.itemsize != size:
            raise StateError("an array of the state does not fit its section")
        out.append(np.frombuffer(raw, dtype=dt, count=size // dt.itemsize, offset=offset).reshape(shape))
    return out


def _decompress_frames(section: Deferred, frames: np.ndarray, phys: PhysicalMemory) -> None:
    """Decompress the frames section straight into physical memory, run of consecutive
    frames by run (a heap is mostly one run)."""
    cuts = np.flatnonzero(np.diff(frames) != 1) + 1
    starts = np.concatenate(([0], cuts)).astype(np.int64)
    ends = np.concatenate((cuts, [len(frames)])).astype(np.int64)
    import zstandard

    try:
        _read_runs(section, frames, phys.data, starts, ends, phys.populate)
    except zstandard.ZstdError as exc:
        raise StateError(f"section {section.name!r} does not decompress: {exc}") from None


_AHEAD_FRAMES = 1024  # a load of more frames than this faults them in on a second thread
_AHEAD_CHUNK = 256  # frames per populate call there (1 MiB), so decompression follows close behind


def _populate_ahead(frames: np.ndarray, starts: list[int], ends: list[int],
                    populate: Callable[[int, int], None]) -> threading.Thread:
    """Fault the runs' frames in on a thread of their own while the caller decompresses into
    them, in the same order (the shared memory's page faults were a quarter of a 64 MiB load;
    both the faulting and zstd's decompression run without the interpreter lock). A page the
    decompressor reaches first simply faults in then."""
    def work() -> None:
        for a, b in zip(starts, ends, strict=True):
            for c in range(a, b, _AHEAD_CHUNK):
                populate(int(frames[a]) + c - a, min(_AHEAD_CHUNK, b - c))

    thread = threading.Thread(target=work, name="hlemu-populate", daemon=True)
    thread.start()
    return thread


def _read_runs(section: Deferred, frames: np.ndarray, memory: np.ndarray, starts: np.ndarray,
               ends: np.ndarray, populate: Callable[[int, int], None]) -> None:
    runs = list(zip(starts.tolist(), ends.tolist(), strict=True))
    ahead = _populate_ahead(frames, [a for a, _ in runs], [b for _, b in runs], populate) \
        if len(frames) > _AHEAD_FRAMES else None
    try:
        _read_runs_into(section, frames, memory, runs, None if ahead else populate)
    finally:
        if ahead is not None:
            ahead.join()


def _read_runs_into(section: Deferred, frames: np.ndarray, memory: np.ndarray, runs: list[tuple[int, int]],
                    populate: Callable[[int, int], None] | None) -> None:
    with section.reader() as reader:
        for a, b in runs:
            if populate is not None:
                populate(int(frames[a]), b - a)
            first = int(frames[a]) * PAGE_SIZE
            view = memoryview(memory[first:first + (b - a) * PAGE_SIZE])  # type: ignore[arg-type]
            got = 0
            while got < len(view):
                n = reader.readinto(view[got:])
                if not n:
                    raise StateError(f"section {section.name!r} ends early")
                got += n
        if reader.read(1):
            raise StateError(f"section {section.name!r} is longer than the header says")


def image_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- loading ------------------------------------------------------------------------------
class _Rebuilder:
    """Host resources back, in the order they need each other: physical memory, then the
    address spaces (page tables, slabs), then the CPUs (which read the tables)."""

    def __init__(self, kernel: Kernel, c: Captured) -> None:
        self.kernel = kernel
        self.c = c
        self.spaces: dict[int, AddressSpace] = {}
        self.cpus: dict[int, Cpu] = {}
        self.trackers: dict[int, WriteTracker] = {}
        self.tracked: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # id(space) -> tracked vpns, dirty bits

    def blob(self, index: Any, dtype: str | None = None, length: int | None = None) -> np.ndarray:
        if not isinstance(index, int) or not 0 <= index < len(self.c.blobs):
            raise StateError(f"the state references array {index!r}, which it does not hold")
        a = self.c.blobs[index]
        if dtype is not None and a.dtype != np.dtype(dtype):
            raise StateError(f"array {index} of the state has type {a.dtype}, not {dtype}")
        if length is not None and a.shape != (length,):
            raise StateError(f"array {index} of the state has shape {a.shape}, not ({length},)")
        return a

    def __call__(self, kind: str, key: Any) -> object:
        table: dict[str, dict[int, Any]] = {"space": self.spaces, "cpu": self.cpus, "tracker": self.trackers}
        if kind == "memory" and key in (0, 1):
            return self.kernel.memory if key == 0 else self.kernel.memory.phys
        if kind not in table or key not in table[kind]:
            raise StateError(f"the state references {kind} {key!r}, which it does not hold")
        return table[kind][key]

    def physical(self) -> None:
        phys = self.kernel.memory.phys
        n = phys.num_frames
        saved = self.c.graph.get("physical")
        if not isinstance(saved, dict):
            raise StateError("the state has no physical memory table")
        arrays = {"free": ("_free", "|b1"), "dirty": ("_dirty", "|b1"), "map_count": ("map_count", "<i4"),
                  "holds": ("holds", "<i4"), "image": ("image", "|b1")}  # image: shared code frames
        loaded = {name: self.blob(saved.get(name), dtype, n) for name, (_, dtype) in arrays.items()}
        frames = self.c.frames
        if len(frames) and (frames.min() < 0 or frames.max() >= n or len(np.unique(frames)) != len(frames)):
            raise StateError("the state's frame list names frames outside physical memory, or twice")
        own = self.blob(self.c.graph.get("own_frames"), "<i8")
        touched = ~phys._free | (phys.holds > 0)  # what building the fresh kernel took
        for name, (attr, _) in arrays.items():
            getattr(phys, attr)[:] = loaded[name]
        if len(own) and (own.min() < 0 or own.max() >= n):
            raise StateError("the state's CPU frames are outside physical memory")
        phys._free[own] = True  # the CPUs made below take their own again
        phys._dirty[own] = True
        pages = phys.data.reshape(-1, PAGE_SIZE)
        stale = np.flatnonzero(touched)
        pages[stale] = 0
        data = self.c.frame_data
        if isinstance(data, Deferred):
            _decompress_frames(data, frames, phys)
        else:
            pages[frames] = data

    def address_spaces(self) -> None:
        memory = self.kernel.memory
        for key, entry in enumerate(self._list("spaces")):
            pid, name = entry.get("pid"), entry.get("name")
            if not isinstance(pid, int) or not isinstance(name, str):
                raise StateError("bad address space entry in the state")
            if entry.get("registered"):
                if pid in memory.spaces:
                    raise StateError(f"two address spaces for pid {pid} in the state")
                space = memory.create_space(pid, name)
                self._pages(space, entry)
            else:  # a reaped process's: closed, empty
                space = AddressSpace(memory.phys, pid, name, backend=memory.backend)
                space.close()
            self.spaces[key] = space

    def _pages(self, space: AddressSpace, entry: dict[str, Any]) -> None:
        vpns = self.blob(entry.get("vpns"), "<i4").astype(np.int64)
        count = len(vpns)
        fields = {name: self.blob(entry.get(name), getattr(space.table, name).dtype.str, count)
                  for name in _TABLE_FIELDS}
        if count and (vpns.min() < 0 or vpns.max() >= len(space.table.state)):
            raise StateError(f"{space.name}: pages outside the address space")
        tracked = fields["special"] == SpecialKind.TRACKED  # tracked once the CPU exists: write_trackers
        self.tracked[id(space)] = (vpns[tracked], fields["wdirty"][tracked].copy())
        fields["special"] = np.where(tracked, SpecialKind.NONE, fields["special"]).astype(fields["special"].dtype)
        fields["wdirty"] = np.where(tracked, 0, fields["wdirty"]).astype(fields["wdirty"].dtype)
        space.load_pages(vpns, **fields)
        flat, values = (self.blob(i) for i in self._pair(entry.get("faults")))
        counters = space.faults.array.reshape(-1)
        if len(flat) != len(values) or (len(flat) and (flat.min() < 0 or flat.max() >= len(counters))):
            raise StateError(f"{space.name}: bad fault counters")
        counters[flat] = values

    def write_trackers(self) -> None:
        for key, entry in enumerate(self._list("trackers")):
            tracker = WriteTracker(str(entry.get("name", "tracked")))
            tracker.faults = int(entry.get("faults", 0))
            self.trackers[key] = tracker
        for key, entry in enumerate(self._list("spaces")):
            space = self.spaces[key]
            keys = entry.get("trackers", [])
            vpns, dirty = self.tracked.get(id(space), (np.zeros(0, np.int64), np.zeros(0, np.uint8)))
            if len(keys) > 1 or (len(vpns) and not keys):
                raise StateError(f"{space.name}: tracked pages without one write tracker")
            for tkey in keys:
                found = self("tracker", tkey)
                assert isinstance(found, WriteTracker)
                tracker = found
                space.load_tracking(vpns, dirty, tracker)
        for key, entry in enumerate(self._list("trackers")):
            tracker = self.trackers[key]
            for pid, pages in entry.get("dirty", []):
                tracker.dirty[pid] = set(pages)

    def processors(self) -> None:
        kernel = self.kernel
        for key, entry in enumerate(self._list("cpus")):
            space = self(("space"), entry.get("space"))
            assert isinstance(space, AddressSpace)
            counters = entry.get("counters")
            if not isinstance(counters, dict):
                raise StateError("bad CPU entry in the state")
            if counters.get("closed"):
                cpu = Cpu.closed_with(space, kernel.cpu_config, counters)
            else:
                cpu = Cpu(space, kernel.cpu_config, kernel.dispatch_svc)
                from hlemu.cpu import RegisterFile

                cpu.load_thread(RegisterFile(self.blob(entry.get("registers"), "<u8").copy()))
                cpu.restore_counters(counters)
            self.cpus[key] = cpu

    def _list(self, name: str) -> list[dict[str, Any]]:
        items = self.c.graph.get(name)
        if not isinstance(items, list) or not all(isinstance(e, dict) for e in items):
            raise StateError(f"the state's {name} table is missing")
        return items

    @staticmethod
    def _pair(body: Any) -> tuple[Any, Any]:
        if not isinstance(body, list) or len(body) != 2:
            raise StateError("a pair in the state is not a pair")
        return body[0], body[1]


def rebuild(kernel: Kernel, c: Captured) -> list[object]:
    """Make ``kernel`` (freshly built, with no processes) the machine ``c`` describes;
    returns the objects of the graph (for the checks)."""
    if kernel.processes or kernel.memory.spaces:
        raise StateError("a state loads into a fresh kernel only")
    host = _Rebuilder(kernel, c)
    host.physical()
    host.address_spaces()
    host.write_trackers()  # before the CPUs: a fastmem CPU then maps each tracked page on its own
    host.processors()
    root = c.graph.get("root")
    objects = c.graph.get("objects")
    if not isinstance(objects, dict) or not isinstance(root, int):
        raise StateError("the state has no object table")
    entry = objects.get(str(root))
    from kernel.state.graph import class_key

    if not isinstance(entry, dict) or entry.get("c") != class_key(type(kernel)):
        raise StateError("the state's root object is not a kernel")
    decoder = Decoder(objects, c.blobs, host, overlay={root: kernel})
    made = decoder.fill_all()
    for obj in made:
        after = getattr(type(obj), "after_restore", None)
        if callable(after):
            obj.after_restore()  # type: ignore[attr-defined]
    return made
