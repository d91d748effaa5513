"""Differential tests: slowmem, semifastmem, fastmem and fastmem_trap behave identically.

The method: one scenario (a page-table layout plus a sequence of operations)
is built three times in one :class:`MemorySystem`, once per access path. Each
copy (a :class:`World`) has two processes, ``A`` and ``B``, its own frames
(filled with the same bytes) and its own MMIO handler and write tracker. The
operations run through one path per world, and then everything a path could
have influenced is compared with the slowmem world: the value or fault of
every operation, the frames' bytes, the per-page fault counters, MMIO handler
calls, write-tracker notifications and dirty sets, and the derived page-table
state. Processes are named by role (``A``/``B``) so worlds with different
pids compare equal.

The fastmem path indexes a host slab whose protections must mirror the page
table: a mistake kills the host process (and pytest), so these tests run
forbidden accesses in-process on purpose, and also read ``/proc/self/maps``
to check every slab page's host protection and backing frame.
"""

from __future__ import annotations

import bisect
import reprlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hlemu.memory import PAGE_SIZE, GuestFault, MemorySystem, WriteTracker
from hlemu.memory import MemoryPermission as P
from hlemu.memory import MemoryState as S
from hlemu.memory.constants import FAST_READ, FAST_WRITE
from hlemu.memory.paths import MemoryPath
from hlemu.memory.slab import PROT_READ, PROT_RW
from hlemu.memory.trap import available

# fastmem_trap needs its fault handler built (tests/memory/test_trap.py fails unless only the
# C compiler is missing); where it cannot be, the other paths are still compared.
PATHS = ("slowmem", "semifastmem", "fastmem") + (("fastmem_trap",) if available()[0] else ())
ROLES = ("A", "B")
TOP = 1 << 32
MASK = TOP - 1
WIDTHS = (1, 2, 4, 8)
DTYPES = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}

A_BASE = 0x00100000
B_BASE = 0x08000000
WINDOW_PAGES = 12
# Where each role's regions may lie: page 0, a window, and the last two pages.
SEGMENTS = {
    "A": ((0x0, 1), (A_BASE, WINDOW_PAGES), (TOP - 2 * PAGE_SIZE, 2)),
    "B": ((0x0, 1), (B_BASE, WINDOW_PAGES), (TOP - 2 * PAGE_SIZE, 2)),
}
# Frame bytes come from a small alphabet so searches and strings find things.
ALPHABET = (0x00, 0x41, 0x42, 0x43, 0x7F, 0x80, 0xFF, 0x01)

BASES = {"A": A_BASE, "B": B_BASE}

# On a failure hypothesis imports libcst (to suggest a patch), which warns through
# mypy_extensions; the project's "warnings are errors" would turn the report into an INTERNALERROR.
pytestmark = pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")


def examples(n: int) -> settings:
    """Hypothesis settings: ``n`` examples, no deadline (numba compiles on first use)."""
    return settings(max_examples=n, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------------------
# Scenario description (path independent)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Region:
    """Pages of one process: ``memory``, ``tracked`` (write-tracked memory) or ``mmio``.

    ``frames`` are indices into the world's frame list; left empty, the
    region gets fresh frames. Two regions naming one index share the frame.
    """

    role: str
    vaddr: int
    pages: int
    kind: str = "memory"
    perm: P = P.RW
    state: S = S.PRIVATE
    frames: tuple[int, ...] = ()

    @property
    def size(self) -> int:
        return self.pages * PAGE_SIZE


@dataclass(frozen=True)
class Blob:
    """Deterministic write data with a short repr (hypothesis prints the ops)."""

    n: int
    seed: int

    @property
    def data(self) -> bytes:
        return ((np.arange(self.n, dtype=np.uint64) * 7 + self.seed) & 0xFF).astype(np.uint8).tobytes()


def assign_frames(regions: list[Region] | tuple[Region, ...]) -> tuple[list[Region], int]:
    """Give regions without explicit frames fresh indices; returns the regions and the frame count."""
    explicit = [i for r in regions for i in r.frames]
    next_frame = max(explicit) + 1 if explicit else 0
    out = []
    for r in regions:
        if r.kind != "mmio" and not r.frames:
            r = Region(r.role, r.vaddr, r.pages, r.kind, r.perm, r.state,
                       tuple(range(next_frame, next_frame + r.pages)))
            next_frame += r.pages
        out.append(r)
    return out, next_frame


def frame_content(seed: int, index: int) -> np.ndarray:
    return np.random.default_rng((seed, index)).choice(np.array(ALPHABET, dtype=np.uint8), PAGE_SIZE)


def mmio_value(vaddr: int, size: int) -> int:
    """What the MMIO handler reads: deliberately wider than ``size`` (paths must mask)."""
    return (vaddr * 0x9E3779B97F4A7C15 + size) & ((1 << 64) - 1)


# ---------------------------------------------------------------------------
# Worlds: one copy of a scenario per path
# ---------------------------------------------------------------------------
class RecordingMmio:
    """An MMIO block whose reads are a function of the address and whose calls are logged."""

    def __init__(self, roles: dict[int, str]) -> None:
        self.roles = roles
        self.log: list[tuple[Any, ...]] = []

    def read(self, space: Any, vaddr: int, size: int) -> int:
        self.log.append(("read", self.roles[space.pid], vaddr, size))
        return mmio_value(vaddr, size)

    def write(self, space: Any, vaddr: int, size: int, value: int) -> None:
        self.log.append(("write", self.roles[space.pid], vaddr, size, int(value)))


@dataclass
class World:
    """Processes A and B of one scenario, driven through one access path."""

    system: MemorySystem
    path: str
    pids: tuple[int, int]
    spaces: dict[str, Any] = field(init=False)
    roles: dict[int, str] = field(init=False)
    frames: np.ndarray = field(init=False)
    mmio: RecordingMmio = field(init=False)
    tracker: WriteTracker = field(init=False)
    notified: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.spaces = {role: self.system.create_space(pid, f"{self.path} {role}", with_slab=True)
                       for role, pid in zip(ROLES, self.pids, strict=True)}
        self.roles = {space.pid: role for role, space in self.spaces.items()}
        self.frames = np.zeros(0, dtype=np.int64)
        self.regions: list[Region] = []
        self._fresh_specials()

    def _fresh_specials(self) -> None:
        self.mmio = RecordingMmio(self.roles)
        self.tracker = WriteTracker("framebuffer")
        self.notified = []
        self.tracker.subscribe(lambda _tracker, vaddr: self.notified.append(vaddr))

    def mem(self, role: str) -> MemoryPath:
        return self.spaces[role].path(self.path)

    def build(self, regions: list[Region], n_frames: int, seed: int) -> None:
        phys = self.system.phys
        self._fresh_specials()
        if n_frames:
            # Shuffled, so pages next to each other are rarely next to each other in physical memory.
            self.frames = np.random.default_rng(seed).permutation(phys.allocate("APPLICATION", n_frames))
            for i, frame in enumerate(self.frames.tolist()):
                phys.data[frame * PAGE_SIZE : (frame + 1) * PAGE_SIZE] = frame_content(seed, i)
        for r in regions:
            space = self.spaces[r.role]
            if r.kind == "mmio":
                space.map_mmio(r.vaddr, r.size, self.mmio, r.perm, S.IO)
            else:
                space.map(r.vaddr, self.frames[list(r.frames)], r.perm, r.state)
            self.regions.append(r)  # mapped: reset() unmaps it
            if r.kind == "tracked":
                space.track_writes(r.vaddr, r.size, self.tracker)

    def reset(self) -> None:
        """Unmap everything, free the frames, zero the counters."""
        for r in self.regions:
            self.spaces[r.role].unmap(r.vaddr, r.size)
        self.regions = []
        for space in self.spaces.values():
            space.faults.reset()
            assert not space.table.state.any() and not space.table.access.any()
            assert not space.mmio and not space.trackers
        if len(self.frames):
            self.system.phys.free(self.frames)
        self.frames = np.zeros(0, dtype=np.int64)

    def memory(self) -> np.ndarray:
        """The bytes of the world's frames, in frame-index order."""
        return self.system.phys.data.reshape(-1, PAGE_SIZE)[self.frames].copy()

    def fault_key(self, fault: GuestFault) -> tuple[Any, ...]:
        return (self.roles[fault.pid], *fault.key()[1:])

    def observe(self) -> dict[str, Any]:
        """Everything an access path can change, in path-independent terms."""
        obs: dict[str, Any] = {
            "frame bytes": self.memory(),
            "mmio calls": list(self.mmio.log),
            "tracker notifications": list(self.notified),
            "tracker fault count": self.tracker.faults,
            "tracker dirty pages": {self.roles[pid]: sorted(v) for pid, v in self.tracker.dirty.items()},
        }
        for role, space in self.spaces.items():  # live arrays: compared before anything else runs
            obs[f"fault counters of {role}"] = space.faults.array
            obs[f"access bits of {role}"] = space.table.access
            obs[f"wdirty of {role}"] = space.table.wdirty
        return obs


# ---------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------
Op = tuple[Any, ...]


def apply(world: World, op: Op, notes: list[Any]) -> Any:
    """Run one operation through the world's path; ``notes`` gets extra observations."""
    name, role, *args = op
    mem = world.mem(role)
    match name:
        case "read_int":
            addr, size = args
            return mem.read_int(addr, size)
        case "read_named":  # read8 .. read64
            addr, size = args
            return getattr(mem, f"read{8 * size}")(addr)
        case "write_int":
            addr, size, value = args
            return mem.write_int(addr, size, value)
        case "write_named":
            addr, size, value = args
            return getattr(mem, f"write{8 * size}")(addr, value)
        case "read":
            addr, size = args
            return mem.read(addr, size)
        case "write":
            addr, blob = args
            return mem.write(addr, blob.data if isinstance(blob, Blob) else blob)
        case "read_string":
            addr, max_len = args
            return mem.read_string(addr, max_len)
        case "read_batch":
            addrs, width, with_out = args
            out = np.full(len(addrs), 0xA5, dtype=DTYPES[width]) if with_out else None
            try:
                return mem.read_batch(addrs, width, out=out).tolist()
            finally:
                if out is not None:
                    notes.append(out.tolist())  # what was filled before a fault
        case "write_batch":
            addrs, values, width = args
            return mem.write_batch(addrs, values, width)
        case "copy_from":
            src_role, src, dst, size = args
            return mem.copy_from(world.spaces[src_role], src, dst, size)
        case "search":
            pattern, start, end, align, limit = args
            return mem.search(pattern, start=start, end=end, align=align, limit=limit)
        case "search_value":
            value, width, start, end = args
            return mem.search_value(value, width, start=start, end=end)
        case "rearm":
            return world.tracker.rearm()
        case "protect":
            vaddr, size, perm = args
            return world.spaces[role].protect(vaddr, size, perm)
    raise AssertionError(f"unknown operation {name}")


def perform(world: World, op: Op) -> tuple[Any, ...]:
    """``("ok", value, notes)``, ``("fault", key, notes)`` or ``("ValueError", notes)``."""
    notes: list[Any] = []
    try:
        value = apply(world, op, notes)
    except GuestFault as fault:
        return ("fault", world.fault_key(fault), notes)
    except ValueError:
        return ("ValueError", notes)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return ("ok", value, notes)


# ---------------------------------------------------------------------------
# The lab: three worlds in one memory system, and the comparison
# ---------------------------------------------------------------------------
class Lab:
    """Three worlds (one per path) in one memory system; ``run`` compares them."""

    def __init__(self) -> None:
        self.system = MemorySystem(backend="fastmem")
        self.worlds = {path: World(self.system, path, (10 * i + 1, 10 * i + 2))
                       for i, path in enumerate(PATHS)}

    def setup(self, *regions: Region, seed: int = 0) -> list[Region]:
        """Reset every world, then build the same regions in each."""
        for world in self.worlds.values():
            world.reset()
        placed, n_frames = assign_frames(regions)
        for world in self.worlds.values():
            world.build(placed, n_frames, seed)
        return placed

    def run(self, ops: list[Op] | tuple[Op, ...]) -> list[tuple[Any, ...]]:
        """Run ``ops`` in every world, assert all paths agree on everything, return the results."""
        results = {path: [perform(world, op) for op in ops] for path, world in self.worlds.items()}
        observed = {path: world.observe() for path, world in self.worlds.items()}
        for path in PATHS[1:]:
            assert_same_results(ops, results["slowmem"], results[path], path)
            assert_same_observations(observed["slowmem"], observed[path], path)
        maps = host_mappings()
        for world in self.worlds.values():
            assert_slab_mirrors_table(world, maps)
        return results["slowmem"]

    def close(self) -> None:
        for world in self.worlds.values():
            world.reset()
        self.system.close()


def assert_same_results(ops: Any, want: list[Any], got: list[Any], path: str) -> None:
    for i, (op, w, g) in enumerate(zip(ops, want, got, strict=True)):
        if w != g:
            raise AssertionError(f"{path} differs from slowmem at operation {i} {short(op)}:\n"
                                 f"  slowmem: {short(w)}\n  {path}: {short(g)}")


def short(value: Any) -> str:
    """A repr that keeps long byte strings and lists readable in failure messages."""
    r = reprlib.Repr()
    r.maxstring = r.maxother = 160
    r.maxlist = r.maxtuple = 12
    return r.repr(value)


def assert_same_observations(want: dict[str, Any], got: dict[str, Any], path: str) -> None:
    for key, w in want.items():
        g = got[key]
        if isinstance(w, np.ndarray):
            if not np.array_equal(w, g):
                where = np.argwhere(w != g)[:8].tolist()
                raise AssertionError(f"{path} differs from slowmem in {key} at indices {where}: "
                                     f"slowmem {[int(w[tuple(i)]) for i in where]}, "
                                     f"{path} {[int(g[tuple(i)]) for i in where]}")
        else:
            assert g == w, f"{path} differs from slowmem in {key}:\n  slowmem: {w}\n  {path}: {g}"


HostMapping = tuple[int, int, str, int | None]  # host start, end, "rw"/"r"/"", memfd offset


def host_mappings() -> list[HostMapping]:
    """The host's mappings (from /proc/self/maps), with their memfd offset when they map physical memory."""
    out = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            backed = len(fields) > 5 and "hlemu-physical" in fields[5]
            out.append((start, end, fields[1][:2].replace("-", ""), int(fields[2], 16) if backed else None))
    return out


def host_view(slab: Any, vpns: list[int],
              maps: list[HostMapping] | None = None) -> dict[int, tuple[str, int | None]]:
    """Host protection (``"rw"``, ``"r"`` or ``""``) and memfd offset of each slab page."""
    maps = host_mappings() if maps is None else maps
    starts = [m[0] for m in maps]
    out = {}
    for vpn in vpns:
        host = slab.base + vpn * PAGE_SIZE
        start, end, prot, offset = maps[bisect.bisect_right(starts, host) - 1]
        assert start <= host < end, f"slab page {vpn:#x} is not mapped at all"
        out[vpn] = (prot, None if offset is None else offset + host - start)
    return out


def checked_pages(role: str) -> list[int]:
    vpns = set()
    for base, pages in SEGMENTS[role]:
        first = base // PAGE_SIZE
        vpns.update(v & (TOP // PAGE_SIZE - 1) for v in range(first - 1, first + pages + 1))
    return sorted(vpns)


def assert_slab_mirrors_table(world: World, maps: list[HostMapping]) -> None:
    """The slab's host protection allows exactly what ``access`` says, over the right frame;
    a page parked lazily (Slab.release) is unmapped in the table and keeps the protection it
    had, a page protected lazily (Slab.protect) allows more than the table and never less,
    and settle() makes both what the table says."""
    for role, space in world.spaces.items():
        opened = space.slab.open_parked
        for vpn, prot in opened.items():
            assert int(space.table.access[vpn]) == 0, f"{world.path} {role} page {vpn:#x} is open and mapped"
            assert prot in (PROT_READ, PROT_RW)
        loose = space.slab.loose
        for vpn, (host, want) in loose.items():
            bits = int(space.table.access[vpn])
            table_wants = PROT_RW if bits & FAST_WRITE else PROT_READ if bits & FAST_READ else 0
            assert want == table_wants, f"{world.path} {role} page {vpn:#x}: recorded {want}, table {table_wants}"
            assert host & want == want and host != want
        if opened or loose:
            assert space.fast_trap is None, f"{world.path} {role}: a fastmem_trap slab is lazy"
            space.slab.settle()
            maps = host_mappings()
        vpns = checked_pages(role)
        host = host_view(space.slab, vpns, maps)
        for vpn in vpns:
            bits = int(space.table.access[vpn])
            want = "rw" if bits & FAST_WRITE else "r" if bits & FAST_READ else ""
            prot, offset = host[vpn]
            assert prot == want, f"{world.path} {role} page {vpn:#x}: host {prot!r}, table wants {want!r}"
            if bits:
                assert offset == int(space.table.frame[vpn]) * PAGE_SIZE, (
                    f"{world.path} {role} page {vpn:#x} maps memfd offset {offset}, "
                    f"frame is {int(space.table.frame[vpn])}")


@pytest.fixture(scope="module")
def lab():
    lab = Lab()
    yield lab
    lab.close()


def page_of(vaddr: int) -> int:
    return (vaddr & MASK) // PAGE_SIZE


# ---------------------------------------------------------------------------
# Hypothesis strategies
# ---------------------------------------------------------------------------
KINDS = ("unmapped", "memory", "memory", "memory", "mmio", "tracked")
PERMS = (P.RW, P.RW, P.RW, P.R, P.RX, P.NONE, P.W, P.RWX)
STATES = (S.PRIVATE, S.SHARED)


@st.composite
def layouts(draw: Any) -> list[Region]:
    """Regions tiling each role's segments; memory may alias frames mapped earlier."""
    regions: list[Region] = []
    pool: list[int] = []  # frames handed out so far, to share
    for role in ROLES:
        for base, pages in SEGMENTS[role]:
            page = 0
            while page < pages:
                n = draw(st.integers(1, min(4, pages - page)))
                kind = draw(st.sampled_from(KINDS))
                perm = draw(st.sampled_from(PERMS))
                vaddr = base + page * PAGE_SIZE
                page += n
                if kind == "unmapped":
                    continue
                if kind == "mmio":
                    regions.append(Region(role, vaddr, n, "mmio", perm, S.IO))
                    continue
                share = draw(st.none() | st.integers(0, 63)) if pool else None
                if share is not None:
                    frames = tuple(pool[(share + i) % len(pool)] for i in range(n))
                else:
                    frames = tuple(range(len(pool), len(pool) + n))
                    pool.extend(frames)
                regions.append(Region(role, vaddr, n, kind, perm, draw(st.sampled_from(STATES)), frames))
    return regions


def anchors(role: str) -> list[int]:
    return sorted({(base + k * PAGE_SIZE) & MASK for base, pages in SEGMENTS[role] for k in range(pages + 1)})


def addresses(role: str) -> st.SearchStrategy[int]:
    """Mostly the last bytes before a page boundary of the role's segments (so accesses cross
    it), else near a boundary on either side, or anywhere in a page."""
    anchor = st.sampled_from(anchors(role))
    return st.one_of(st.builds(lambda a, d: (a - d) & MASK, anchor, st.integers(1, 8)),
                     st.builds(lambda a, d: (a + d) & MASK, anchor, st.integers(-9, 9)),
                     st.builds(lambda a, d: (a + d) & MASK, anchor, st.integers(0, PAGE_SIZE - 1)))


byte_counts = st.integers(0, 16) | st.integers(0, 3 * PAGE_SIZE + 16)
values = st.integers(-(1 << 63), (1 << 64) - 1)
patterns = st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=4).map(bytes)
OP_NAMES = ("read_int", "read_named", "write_int", "write_named", "read", "write", "read_string",
            "read_batch", "write_batch", "copy_from", "search", "search_value", "rearm", "protect")


@st.composite
def operations(draw: Any, regions: list[Region]) -> Op:
    name = draw(st.sampled_from(OP_NAMES))
    role = draw(st.sampled_from(ROLES))
    addr = draw(addresses(role))
    width = draw(st.sampled_from(WIDTHS))
    match name:
        case "read_int" | "read_named":
            return (name, role, addr, width)
        case "write_int" | "write_named":
            return (name, role, addr, width, draw(values))
        case "read":
            return (name, role, addr, draw(byte_counts))
        case "write":
            return (name, role, addr, Blob(draw(byte_counts), draw(st.integers(0, 255))))
        case "read_string":
            return (name, role, addr, draw(st.sampled_from((0, 1, 5, 64, 4096, 9000))))
        case "read_batch" | "write_batch":
            addrs = draw(st.lists(addresses(role), max_size=10))
            if draw(st.booleans()):  # the paths take lists or arrays
                addrs = np.array(addrs, dtype=np.uint32)
            if name == "read_batch":
                return (name, role, addrs, width, draw(st.booleans()))
            vals = draw(st.lists(st.integers(0, (1 << 64) - 1), min_size=len(addrs), max_size=len(addrs)))
            # Values as a uint64 array: lists of big ints have their own test (see the end of the file).
            return (name, role, addrs, np.array(vals, dtype=np.uint64), width)
        case "copy_from":
            src_role = draw(st.sampled_from(ROLES))
            src = draw(addresses(src_role))
            if src_role == role and draw(st.booleans()):  # overlapping ranges in one space
                addr = (src + draw(st.integers(-64, 64))) & MASK
            return (name, role, src_role, src, addr, draw(byte_counts))
        case "search" | "search_value":
            start = draw(st.just(0) | addresses(role))
            end = draw(st.just(TOP) | addresses(role) | st.integers(0, 64).map(lambda n: start + n))
            if name == "search_value":
                return (name, role, draw(values), width, start, end)
            align = draw(st.sampled_from((1, 2, 3, 4, 8, 4096)))
            return (name, role, draw(patterns), start, end, align, draw(st.sampled_from((1024, 0, 1, 7))))
        case "protect" if regions:
            r = draw(st.sampled_from(regions))
            return (name, r.role, r.vaddr, r.size, draw(st.sampled_from(PERMS)))
    return ("rearm", role)


@st.composite
def scenarios(draw: Any) -> tuple[list[Region], list[Op], int]:
    regions = draw(layouts())
    ops = draw(st.lists(operations(regions), min_size=1, max_size=40))
    return regions, ops, draw(st.integers(0, 1 << 16))


# ---------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------
@examples(300)
@given(scenario=scenarios())
def test_paths_agree_on_random_page_tables_and_workloads(lab, scenario):
    """Random layouts (memory of every permission, shared frames, MMIO, write tracking,
    unmapped holes, page 0 and the top of the address space) and random operations of
    every kind and width: all three paths return the same values and faults and leave the
    same memory, counters, handler calls and tracker state; every slab mirrors its table."""
    regions, ops, seed = scenario
    lab.setup(*regions, seed=seed)
    for op, result in zip(ops, lab.run(ops), strict=True):
        event(f"{op[0]}: {result[0] if result[0] != 'fault' else result[1][4] + ' fault'}")


class SlowSpy:
    """Stands in for ``space.slow`` and records every call a compiled path hands it."""

    def __init__(self, real: MemoryPath) -> None:
        self.real = real
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.real, name)
        if not callable(attr):
            return attr

        def spy(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attr(*args, **kwargs)

        return spy


PLAIN_PAGES = 6


@st.composite
def plain_ops(draw: Any) -> Op:
    """An operation that stays inside the RW windows of A and B (which map the same frames)."""
    size = PLAIN_PAGES * PAGE_SIZE
    role = draw(st.sampled_from(ROLES))
    base = BASES[role]
    width = draw(st.sampled_from(WIDTHS))
    n = draw(st.integers(0, 16) | st.integers(0, size))
    start = base + draw(st.integers(0, size - n))
    word_addrs = st.integers(0, size - width).map(lambda o: base + o)
    name = draw(st.sampled_from(("read_int", "write_int", "read", "write", "read_batch", "write_batch",
                                 "copy_from", "search")))
    match name:
        case "read_int":
            return (name, role, draw(word_addrs), width)
        case "write_int":
            return (name, role, draw(word_addrs), width, draw(values))
        case "read":
            return (name, role, start, n)
        case "write":
            return (name, role, start, Blob(n, draw(st.integers(0, 255))))
        case "read_batch":
            return (name, role, draw(st.lists(word_addrs, max_size=8)), width, draw(st.booleans()))
        case "write_batch":
            addrs = draw(st.lists(word_addrs, max_size=8))
            vals = np.array([draw(st.integers(0, (1 << 64) - 1)) for _ in addrs], dtype=np.uint64)
            return (name, role, addrs, vals, width)
        case "copy_from":
            src_role = draw(st.sampled_from(ROLES))
            return (name, role, src_role, BASES[src_role] + draw(st.integers(0, size - n)), start, n)
    return ("search", role, draw(patterns), start, start + n, draw(st.sampled_from((1, 4))), 64)


class WindowModel:
    """What plain memory should hold: one bytearray, seen at A_BASE and at B_BASE."""

    def __init__(self, data: bytes) -> None:
        self.data = bytearray(data)

    def at(self, role: str, addr: int, n: int) -> bytes:
        off = addr - BASES[role]
        return bytes(self.data[off : off + n])

    def put(self, role: str, addr: int, data: bytes) -> None:
        off = addr - BASES[role]
        self.data[off : off + len(data)] = data

    def expect(self, op: Op) -> Any:
        """Apply ``op`` to the model; returns the value a read should give (None for writes)."""
        name, role, *args = op
        match name:
            case "read_int":
                return int.from_bytes(self.at(role, args[0], args[1]), "little")
            case "write_int":
                addr, width, value = args
                self.put(role, addr, (value % (1 << (8 * width))).to_bytes(width, "little"))
            case "read":
                return self.at(role, *args)
            case "write":
                self.put(role, args[0], args[1].data)
            case "read_batch":
                addrs, width, _ = args
                return [int.from_bytes(self.at(role, a, width), "little") for a in addrs]
            case "write_batch":
                addrs, vals, width = args
                for addr, value in zip(addrs, vals, strict=True):
                    self.put(role, addr, int(value).to_bytes(8, "little")[:width])
            case "copy_from":
                src_role, src, dst, n = args
                self.put(role, dst, self.at(src_role, src, n))
            case "search":
                pattern, start, end, align, limit = args
                hits, pos = [], start - BASES[role]
                while len(hits) < limit and (i := self.data.find(pattern, pos, end - BASES[role])) >= 0:
                    if (BASES[role] + i) % align == 0:
                        hits.append(BASES[role] + i)
                    pos = i + 1
                return hits
        return None


@examples(100)
@given(ops=st.lists(plain_ops(), max_size=20), seed=st.integers(0, 1 << 16))
def test_plain_memory_never_leaves_the_compiled_paths_and_matches_a_model(lab, ops, seed):
    """On mapped RW memory (B maps A's frames at another address), semifastmem and fastmem
    finish every operation without calling slowmem, and all paths agree with a bytearray model."""
    frames = tuple(range(PLAIN_PAGES))
    lab.setup(Region("A", A_BASE, PLAIN_PAGES, "memory", P.RW, S.PRIVATE, frames),
              Region("B", B_BASE, PLAIN_PAGES, "memory", P.RW, S.SHARED, frames), seed=seed)
    model = WindowModel(lab.worlds["slowmem"].memory().tobytes())
    spies = {}
    for path in PATHS[1:]:
        for role, space in lab.worlds[path].spaces.items():
            spies[path, role] = space.slow = SlowSpy(space.slow)
    try:
        results = lab.run(ops)
    finally:
        for (path, role), spy in spies.items():
            lab.worlds[path].spaces[role].slow = spy.real
    assert {key: spy.calls for key, spy in spies.items() if spy.calls} == {}
    for op, result in zip(ops, results, strict=True):
        assert result[:2] == ("ok", model.expect(op)), op
    assert lab.worlds["slowmem"].memory().tobytes() == bytes(model.data)


@examples(30)
@given(offset=st.integers(0, 3 * PAGE_SIZE - 8), width=st.sampled_from(WIDTHS), value=values,
       data=st.binary(min_size=1, max_size=64))
def test_writes_through_any_path_in_one_process_are_seen_by_every_path_in_another(lab, offset, width, value,
                                                                                    data):
    """A and B map the same frames at different addresses (B in reverse page order): a write
    through each path in A is read back identically through each path in B."""
    lab.setup(Region("A", A_BASE, 3, frames=(0, 1, 2)), Region("B", B_BASE, 3, frames=(2, 1, 0)))
    world = lab.worlds["slowmem"]  # mix the paths within one world

    def b_addr(a_offset: int) -> int:  # B's page k holds A's page 2 - k
        return B_BASE + (2 - a_offset // PAGE_SIZE) * PAGE_SIZE + a_offset % PAGE_SIZE

    for writer in PATHS:
        for reader in PATHS:
            value = (value + 0x0101010101010101) & ((1 << 64) - 1)
            world.spaces["A"].path(writer).write_int(A_BASE + offset, width, value)
            want = value & ((1 << (8 * width)) - 1)
            if offset // PAGE_SIZE == (offset + width - 1) // PAGE_SIZE:
                assert world.spaces["B"].path(reader).read_int(b_addr(offset), width) == want
            got = b"".join(world.spaces["B"].path(reader).read(b_addr(offset + i), 1) for i in range(width))
            assert int.from_bytes(got, "little") == want, (writer, reader)
            chunk = data[: 3 * PAGE_SIZE - offset]
            world.spaces["A"].path(writer).write(A_BASE + offset, chunk)
            got = b"".join(world.spaces["B"].path(reader).read(b_addr(offset + i), 1)
                           for i in range(len(chunk)))
            assert got == chunk, (writer, reader)
    assert world.spaces["A"].faults.totals() == world.spaces["B"].faults.totals() == dict.fromkeys(
        ("unmapped", "permission", "special", "write_track", "tlb_fill"), 0)


# ---------------------------------------------------------------------------
# Explicit edge tests
# ---------------------------------------------------------------------------
def fault(role: str, address: int, size: int, access: str, kind: str) -> tuple:
    """The result of an operation that faulted on its first page."""
    return ("fault", (role, address, size, access, kind, address), [])


OK_NONE = ("ok", None, [])


def test_address_zero_faults_when_unmapped_and_works_when_mapped(lab):
    """Page 0 is an ordinary page: unmapped it faults (counted on page 0), mapped it reads and writes."""
    lab.setup(Region("B", 0, 1, "memory", P.RW))
    results = lab.run([("read_int", "A", 0, 4), ("write_int", "A", 0, 1, 5), ("read", "A", 0, 1),
                       ("write_int", "B", 0, 4, 0xDEADBEEF), ("read_int", "B", 0, 4),
                       ("read_int", "B", 2, 2)])
    assert results == [fault("A", 0, 4, "read", "unmapped"), fault("A", 0, 1, "write", "unmapped"),
                       fault("A", 0, 1, "read", "unmapped"), OK_NONE, ("ok", 0xDEADBEEF, []),
                       ("ok", 0xDEAD, [])]
    assert lab.worlds["slowmem"].spaces["A"].faults.page(0)["unmapped"] == 3


def test_last_word_of_the_address_space(lab):
    """0xFFFFFFFC read32/write32 stays inside the last page: it works when mapped, faults when not."""
    lab.setup(Region("A", TOP - PAGE_SIZE, 1, "memory", P.RW))
    results = lab.run([("write_int", "A", 0xFFFFFFFC, 4, 0x11223344), ("read_int", "A", 0xFFFFFFFC, 4),
                       ("read_int", "A", 0xFFFFFFFF, 1), ("read", "A", 0xFFFFFFFC, 4),
                       ("read_int", "B", 0xFFFFFFFC, 4)])
    assert results == [OK_NONE, ("ok", 0x11223344, []), ("ok", 0x11, []),
                       ("ok", bytes.fromhex("44332211"), []), fault("B", 0xFFFFFFFC, 4, "read", "unmapped")]


@pytest.mark.parametrize("map_page_zero", [False, True])
def test_accesses_wrapping_past_4gib_are_guest_faults(lab, map_page_zero):
    """An access that would run past 0xFFFFFFFF is a GuestFault on every path (never a wrap to
    page 0, never a host crash), whether or not page 0 is mapped, and writes nothing."""
    regions = [Region("A", TOP - PAGE_SIZE, 1, "memory", P.RW)]
    if map_page_zero:
        regions.append(Region("A", 0, 1, "memory", P.RW))
    lab.setup(*regions)
    before = lab.worlds["slowmem"].memory()
    ops = [("read_int", "A", 0xFFFFFFFE, 4), ("write_int", "A", 0xFFFFFFFE, 4, 1),
           ("read_int", "A", 0xFFFFFFFF, 2), ("read_int", "A", 0xFFFFFFF9, 8), ("read", "A", 0xFFFFFFF0, 17),
           ("write", "A", 0xFFFFFFFF, b"ab"),
           ("read_batch", "A", [0xFFFFFFF0, 0xFFFFFFFE], 4, True), ("write_batch", "A", [0xFFFFFFFD], [7], 4),
           ("copy_from", "A", "A", 0xFFFFFFF0, 0xFFFFFFFC, 8), ("read_string", "A", 0xFFFFFFF0, 64)]
    results = lab.run(ops)
    assert [r[0] for r in results] == ["fault"] * 9 + ["ok"]
    assert results[0][1][:5] == ("A", 0xFFFFFFFE, 4, "read", "unmapped")
    assert results[6][2] == [[int.from_bytes(before[0, 0xFF0:0xFF4].tobytes(), "little"), 0xA5]]
    assert np.array_equal(lab.worlds["slowmem"].memory(), before)


@pytest.mark.parametrize("neighbour", ["unmapped", "read-only", "mmio-none", "no-permission"])
def test_access_crossing_into_a_bad_neighbour_faults_and_moves_nothing(lab, neighbour):
    """Reads and writes that start in good pages (RW memory, a clean write-tracked page, MMIO)
    and run into a bad next page fault, and no byte of the write lands, no handler runs and the
    tracked page stays clean."""
    base = A_BASE
    regions = [Region("A", base, 1, "memory", P.RW), Region("A", base + PAGE_SIZE, 1, "tracked", P.RW),
               Region("A", base + 2 * PAGE_SIZE, 1, "mmio", P.RW)]
    bad = base + 3 * PAGE_SIZE
    if neighbour == "read-only":
        regions.append(Region("A", bad, 1, "memory", P.R))
    elif neighbour == "mmio-none":
        regions.append(Region("A", bad, 1, "mmio", P.NONE))
    elif neighbour == "no-permission":
        regions.append(Region("A", bad, 1, "memory", P.NONE))
    lab.setup(*regions)
    before = lab.worlds["slowmem"].memory()
    start = bad - 2
    ops = [("write_int", "A", start, 4, 0xFFFFFFFF), ("write", "A", start, b"xyzw"),
           ("write", "A", base + 10, Blob(3 * PAGE_SIZE, 1)), ("write_batch", "A", [start], [1], 8),
           ("copy_from", "A", "A", base, bad - 100, 200)]
    if neighbour != "read-only":
        ops += [("read_int", "A", start, 4), ("read", "A", base, 4 * PAGE_SIZE),
                ("copy_from", "A", "A", bad - 100, base, 200)]
    results = lab.run(ops)
    kind = "unmapped" if neighbour == "unmapped" else "permission"
    for op, result in zip(ops, results, strict=True):
        assert result[0] == "fault" and result[1][4] == kind, (op, result)
        assert page_of(result[1][5]) == page_of(bad), (op, result)
    slow = lab.worlds["slowmem"]
    assert np.array_equal(slow.memory(), before)
    assert slow.mmio.log == [] and slow.notified == [] and slow.tracker.faults == 0
    totals = slow.spaces["A"].faults.totals()
    assert totals[kind] == len(ops) and totals["write_track"] == 0


def test_permission_faults_for_every_forbidden_access(lab):
    """Writes to R/RX/NONE pages and reads of NONE/W-only pages are permission faults on every
    path (fastmem must not touch them); W-only pages still accept writes."""
    regions = lab.setup(*(Region("A", A_BASE + i * PAGE_SIZE, 1, "memory", perm)
                          for i, perm in enumerate((P.R, P.RX, P.NONE, P.W, P.X))))
    r, rx, none, w_only, x_only = (region.vaddr + 0x10 for region in regions)
    results = lab.run([("write_int", "A", r, 4, 1), ("write_int", "A", rx, 1, 1), ("write", "A", none, b"z"),
                       ("read_int", "A", none, 4), ("read_int", "A", w_only, 2), ("read_int", "A", x_only, 8),
                       ("write_int", "A", w_only, 4, 0x55), ("read_int", "A", rx, 1),
                       ("read_batch", "A", [r, w_only], 4, False),
                       ("write_batch", "A", [w_only, r], [1, 2], 2)])
    assert results[:6] == [fault("A", r, 4, "write", "permission"), fault("A", rx, 1, "write", "permission"),
                           fault("A", none, 1, "write", "permission"),
                           fault("A", none, 4, "read", "permission"),
                           fault("A", w_only, 2, "read", "permission"),
                           fault("A", x_only, 8, "read", "permission")]
    assert results[6] == OK_NONE and results[7][0] == "ok"
    assert results[8] == fault("A", w_only, 4, "read", "permission")
    assert results[9] == fault("A", r, 2, "write", "permission")
    frame = lab.worlds["slowmem"].memory()[3]
    assert frame[0x10] == 1 and frame[0x11] == 0  # the write_batch's first write landed (2 bytes of 1)


@pytest.mark.parametrize("size", [TOP - A_BASE, 1 << 32, (1 << 32) + 1, 1 << 33, 1 << 40, 1 << 62])
def test_huge_sizes_are_guest_faults_not_host_errors(lab, size):
    """read() and copy_from() of more bytes than the address space holds are GuestFaults on every
    path (the compiled paths must not try to allocate a host buffer of that size first)."""
    lab.setup(Region("A", A_BASE, 2, "memory", P.RW))
    results = lab.run([("read", "A", A_BASE, size), ("copy_from", "A", "A", A_BASE, A_BASE + 8, size)])
    assert [r[0] for r in results] == ["fault", "fault"]


def test_invalid_widths_and_sizes_raise_value_error(lab):
    """Widths other than 1/2/4/8 and negative sizes are ValueErrors on every path, before any access."""
    lab.setup(Region("A", A_BASE, 1, "memory", P.RW))
    ops: list[Op] = []
    for width in (0, 3, 5, 16, -1, -4):
        ops += [("read_int", "A", A_BASE, width), ("write_int", "A", A_BASE, width, 1),
                ("read_batch", "A", [A_BASE], width, False), ("write_batch", "A", [A_BASE], [1], width),
                ("read_int", "A", 0x4000_0000, width)]  # unmapped: still a ValueError, not a fault
    ops += [("read", "A", A_BASE, -1), ("copy_from", "A", "A", A_BASE, A_BASE + 4, -1),
            ("search", "A", b"", 0, TOP, 1, 10), ("search", "A", b"A", 0, TOP, 0, 10)]
    results = lab.run(ops)
    assert [r[0] for r in results] == ["ValueError"] * len(ops)
    assert lab.worlds["slowmem"].spaces["A"].faults.totals()["unmapped"] == 0


FORBIDDEN = {
    "unmapped": None,
    "none": Region("A", A_BASE, 1, "memory", P.NONE),
    "read-only": Region("A", A_BASE, 1, "memory", P.R),
    "write-only": Region("A", A_BASE, 1, "memory", P.W),
    "read-execute": Region("A", A_BASE, 1, "memory", P.RX),
    "execute-only": Region("A", A_BASE, 1, "memory", P.X),
    "mmio": Region("A", A_BASE, 1, "mmio", P.RW),
    "mmio-none": Region("A", A_BASE, 1, "mmio", P.NONE),
    "tracked-clean": Region("A", A_BASE, 1, "tracked", P.RW),
}


@pytest.mark.parametrize("page", list(FORBIDDEN))
def test_fastmem_survives_every_operation_on_pages_the_host_forbids(lab, page):
    """Every operation, at every width, at the start, middle and end of a page whose slab
    protection forbids some access: no host crash, and the same outcome on every path."""
    region = FORBIDDEN[page]
    neighbour = Region("A", A_BASE + PAGE_SIZE, 1, "memory", P.RW)
    lab.setup(*([region] if region else []), neighbour, Region("B", B_BASE, 1, "memory", P.RW))
    ops: list[Op] = []
    for addr in (A_BASE, A_BASE + 0x7FF, A_BASE + PAGE_SIZE - 3, A_BASE - 2):
        for width in WIDTHS:
            ops += [("read_int", "A", addr, width), ("write_int", "A", addr, width, 0x0102030405060708),
                    ("read_batch", "A", [addr, A_BASE + PAGE_SIZE], width, True),
                    ("write_batch", "A", [A_BASE + PAGE_SIZE, addr], [3, 4], width)]
        ops += [("read", "A", addr, 5), ("write", "A", addr, b"hello"), ("read_string", "A", addr, 100),
                ("copy_from", "A", "B", B_BASE, addr, 16), ("copy_from", "B", "A", addr, B_BASE, 16),
                ("search", "A", b"\x00", addr, addr + 64, 1, 4)]
    ops += [("read", "A", A_BASE, 2 * PAGE_SIZE), ("search_value", "A", 0, 4, 0, TOP)]
    lab.run(ops)


NEIGHBOURS = {  # what lies on both sides of a plain RW page
    "unmapped": None,
    "read-only": ("memory", P.R),
    "no-access": ("memory", P.NONE),
    "write-only": ("memory", P.W),
    "mmio": ("mmio", P.RW),
    "tracked": ("tracked", P.RW),
    "other-frame": ("memory", P.RW),
}


@pytest.mark.parametrize("neighbour", list(NEIGHBOURS))
def test_every_width_at_every_offset_across_page_boundaries(lab, neighbour):
    """Single and batched reads and writes, byte ranges and copies of each width, starting at each
    of the last 8 bytes before a page boundary and the first 2 after it, between a plain RW page
    and each kind of neighbour on either side (memory neighbours map frames that are not
    physically adjacent, so a path that reads past its page reads the wrong bytes)."""
    middle = A_BASE + PAGE_SIZE
    regions = [Region("A", middle, 1, "memory", P.RW, frames=(1,)), Region("B", B_BASE, 1, frames=(3,))]
    if NEIGHBOURS[neighbour]:
        kind, perm = NEIGHBOURS[neighbour]
        regions += [Region("A", A_BASE, 1, kind, perm, frames=() if kind == "mmio" else (2,)),
                    Region("A", middle + PAGE_SIZE, 1, kind, perm, frames=() if kind == "mmio" else (0,))]
    lab.setup(*regions, seed=3)
    ops: list[Op] = []
    for boundary in (middle, middle + PAGE_SIZE):
        for addr in range(boundary - 8, boundary + 2):
            for width in WIDTHS:
                value = (0x0102030405060708 * (addr & 0xFF)) & ((1 << 64) - 2)
                ops += [("read_int", "A", addr, width),
                        ("read_batch", "A", [middle, addr, middle + 8], width, True),
                        ("read", "A", addr, width), ("copy_from", "B", "A", addr, B_BASE + 16, width),
                        ("write_int", "A", addr, width, value), ("read_int", "A", addr, width),
                        ("write_batch", "A", [middle + 16, addr], [value, value + 1], width),
                        ("write", "A", addr, Blob(width, addr)), ("copy_from", "A", "B", B_BASE, addr, width),
                        ("read_batch", "A", [addr], width, False)]
            ops.append(("rearm", "A"))
    lab.run(ops)


def test_a_stale_fastmem_path_stays_safe_after_unmap_protect_and_destroy(lab):
    """A FastMem object kept across unmap, protect to NONE, and destroy_space faults through
    slowmem instead of touching host pages that are no longer accessible."""
    system = lab.system
    space = system.create_space(90, "stale", with_slab=True)
    frames = system.phys.allocate("APPLICATION", 2)
    try:
        fast = space.fast
        assert fast is not None
        space.map(A_BASE, frames, P.RW, S.PRIVATE)
        fast.write32(A_BASE, 0xABCD)
        space.protect(A_BASE, PAGE_SIZE, P.NONE)
        with pytest.raises(GuestFault, match="does not allow reads"):
            fast.read32(A_BASE)
        space.unmap(A_BASE, 2 * PAGE_SIZE)
        with pytest.raises(GuestFault, match="unmapped"):
            fast.read(A_BASE, 16)
        space.map(A_BASE, frames[::-1], P.RW, S.PRIVATE)  # the frames swap places
        assert fast.read32(A_BASE + PAGE_SIZE) == 0xABCD
        system.destroy_space(90)
        for access in (lambda: fast.read32(A_BASE), lambda: fast.write32(A_BASE, 1),
                       lambda: fast.read(A_BASE, 8)):
            with pytest.raises((GuestFault, RuntimeError)):
                access()
    finally:
        if 90 in system.spaces:
            system.destroy_space(90)
        system.phys.free(frames)


def test_write_tracking_faults_once_per_rearm_on_every_path(lab):
    """The first write to a clean tracked page counts one write_track fault and notifies the
    subscriber; later writes to that page count nothing and run without slowmem (the compiled
    paths do not call it, and the slab page becomes writable); after rearm() the next write
    faults again. Reads never fault."""
    lab.setup(Region("A", A_BASE, 2, "tracked", P.RW, frames=(0, 1)),
              Region("B", B_BASE, 2, "memory", P.RW, frames=(0, 1)))
    page = A_BASE + PAGE_SIZE
    for path, world in lab.worlds.items():
        space = world.spaces["A"]
        mem = world.mem("A")
        vpn = page_of(page)
        mem.read32(page)
        assert space.faults.page(page)["write_track"] == 0 and world.notified == []
        assert not space.table.access[vpn] & FAST_WRITE
        mem.write32(page + 8, 1)
        assert space.faults.page(page)["write_track"] == 1 and world.notified == [page]
        assert world.tracker.dirty == {space.pid: {vpn}}
        assert space.table.access[vpn] & FAST_WRITE
        assert host_view(space.slab, [vpn])[vpn][0] == "rw"
        spy = space.slow = SlowSpy(space.slow)
        try:
            mem.write32(page + 12, 2)
            mem.write(page + 100, b"later writes")
            mem.write_batch(np.array([page, page + 4], dtype=np.uint32), np.array([5, 6]), 4)
            world.mem("B").write16(B_BASE + PAGE_SIZE, 7)  # B's alias is not tracked
        finally:
            space.slow = spy.real
        if path != "slowmem":
            assert spy.calls == []
        assert space.faults.page(page)["write_track"] == 1 and world.notified == [page]
        assert world.tracker.rearm() == 1
        assert world.tracker.dirty == {space.pid: set()}
        assert not space.table.access[vpn] & FAST_WRITE
        if space.slab.lazy:  # the host keeps write access until settled (Slab.protect)
            assert space.slab.loose == {vpn: (PROT_RW, PROT_READ)}
            space.slab.settle()
        assert host_view(space.slab, [vpn])[vpn][0] == "r"
        mem.write8(page + 1, 9)
        assert space.faults.page(page)["write_track"] == 2 and world.notified == [page, page]
        assert space.faults.page(A_BASE)["write_track"] == 0
        assert world.tracker.faults == 2
        assert space.faults.totals()["write_track"] == 2
    # Rerun the whole story through lab.run to compare every observable across paths.
    lab.setup(Region("A", A_BASE, 2, "tracked", P.RW))
    results = lab.run([("write_int", "A", page - 2, 4, 0xFFFF), ("write_int", "A", page, 4, 1),
                       ("rearm", "A"), ("write", "A", page - 1, b"ab"), ("rearm", "A"), ("rearm", "A")])
    assert results == [OK_NONE, OK_NONE, ("ok", 2, []), OK_NONE, ("ok", 2, []), ("ok", 0, [])]
    assert lab.worlds["fastmem"].notified == [A_BASE, page, A_BASE, page]


def test_mmio_accesses_call_the_handler_with_the_access_width(lab):
    """An aligned access to an MMIO page is one handler call of its width (value masked to the
    width); a page-crossing one is split into single-byte calls per MMIO byte; every path agrees."""
    lab.setup(Region("A", A_BASE, 1, "memory", P.RW), Region("A", A_BASE + PAGE_SIZE, 1, "mmio", P.RW))
    reg = A_BASE + PAGE_SIZE
    results = lab.run([("read_int", "A", reg + 4, 4), ("write_int", "A", reg + 8, 2, 0x12345),
                       ("read", "A", reg, 2), ("read_int", "A", reg - 1, 2),
                       ("write_int", "A", reg - 2, 4, 0xAABBCCDD)])
    assert results[0] == ("ok", mmio_value(reg + 4, 4) & MASK, [])
    assert results[2] == ("ok", bytes([mmio_value(reg, 1) & 0xFF, mmio_value(reg + 1, 1) & 0xFF]), [])
    assert lab.worlds["semifastmem"].mmio.log == [
        ("read", "A", reg + 4, 4), ("write", "A", reg + 8, 2, 0x2345), ("read", "A", reg, 1),
        ("read", "A", reg + 1, 1), ("read", "A", reg, 1), ("write", "A", reg, 1, 0xBB),
        ("write", "A", reg + 1, 1, 0xAA)]
    assert lab.worlds["fastmem"].spaces["A"].faults.page(reg)["special"] == 5


def test_read_string_edges(lab):
    """read_string stops at NUL across a page boundary and at max_len, faults when an unterminated
    string runs into an unmapped page, and reads MMIO byte by byte, identically on every path."""
    lab.setup(Region("A", A_BASE, 2, "memory", P.RW), Region("A", A_BASE + 2 * PAGE_SIZE, 1, "mmio", P.R))
    end = A_BASE + 2 * PAGE_SIZE
    setup = [("write", "A", A_BASE, b"\xff" * (2 * PAGE_SIZE)), ("write", "A", end - 6, b"tail\x00!"),
             ("write", "A", A_BASE + PAGE_SIZE - 3, b"hello\x00")]
    results = lab.run([*setup, ("read_string", "A", A_BASE + PAGE_SIZE - 3, 4096),
                       ("read_string", "A", A_BASE + PAGE_SIZE - 3, 4), ("read_string", "A", end - 6, 99),
                       ("read_string", "A", end - 1, 10), ("read_string", "A", 0x4000_0000, 10),
                       ("read_string", "A", A_BASE, 0), ("read_string", "A", A_BASE + 2, 2 * PAGE_SIZE)])
    assert results[3:6] == [("ok", "hello", []), ("ok", "hell", []), ("ok", "tail", [])]
    assert results[6][0] == "ok" and results[6][1].startswith("!")  # "!" then MMIO bytes up to a NUL
    assert results[7:] == [fault("A", 0x4000_0000, 10, "read", "unmapped"), ("ok", "", []),
                           ("ok", "\ufffd" * (PAGE_SIZE - 5) + "hello", [])]


def test_copy_from_overlapping_and_aliased_ranges_behaves_like_memmove(lab):
    """copy_from within one space, forwards and backwards over itself and through a second
    mapping of the same frames, gives memmove's result on every path."""
    lab.setup(Region("A", A_BASE, 3, "memory", P.RW, frames=(0, 1, 2)),
              Region("A", A_BASE + 4 * PAGE_SIZE, 3, "memory", P.RW, frames=(0, 1, 2)),
              Region("B", B_BASE, 3, "memory", P.RW, frames=(0, 1, 2)), seed=7)
    model = bytearray(lab.worlds["slowmem"].memory().tobytes())
    alias = A_BASE + 4 * PAGE_SIZE
    copies = [("A", A_BASE + 10, A_BASE + 30, 5000), ("A", A_BASE + 4000, A_BASE + 3990, 6000),
              ("A", alias + 100, A_BASE + 150, 8000), ("B", B_BASE + 7, A_BASE + 8, 4096)]
    ops: list[Op] = []
    for src_role, src, dst, n in copies:
        src_off = src - (B_BASE if src_role == "B" else alias if src >= alias else A_BASE)
        model[dst - A_BASE : dst - A_BASE + n] = model[src_off : src_off + n]
        ops.append(("copy_from", "A", src_role, src, dst, n))
    lab.run(ops)
    assert lab.worlds["fastmem"].memory().tobytes() == bytes(model)


def test_search_agrees_on_edges(lab):
    """search/search_value across page boundaries, into holes and MMIO, near the top of the
    address space, with limits and alignments, agree on every path."""
    lab.setup(Region("A", A_BASE, 2, "memory", P.RW), Region("A", A_BASE + 2 * PAGE_SIZE, 1, "mmio", P.RW),
              Region("A", A_BASE + 3 * PAGE_SIZE, 1, "memory", P.R),
              Region("A", TOP - PAGE_SIZE, 1, "memory", P.RW))
    seam = A_BASE + PAGE_SIZE
    setup = [("write", "A", seam - 2, b"NEEDLE"), ("write", "A", A_BASE + 2 * PAGE_SIZE - 3, b"NEE"),
             ("write", "A", TOP - 6, b"NEEDLE"), ("write_int", "A", A_BASE + 8, 4, 0xCAFEF00D)]
    ops = [("search", "A", b"NEEDLE", 0, TOP, 1, 1024), ("search", "A", b"NEEDLE", seam - 2, seam + 4, 1, 5),
           ("search", "A", b"NEEDLE", seam - 2, seam + 3, 1, 5), ("search", "A", b"NEE", 0, TOP, 1, 1024),
           ("search", "A", b"NEEDLE", 0, TOP, 4, 1024), ("search", "A", b"NEEDLE", 0, TOP, 2, 1),
           ("search_value", "A", 0xCAFEF00D, 4, 0, TOP), ("search_value", "A", 0xF00D, 2, 0, TOP),
           ("search", "A", b"NEEDLE", TOP - 6, TOP + 100, 1, 5)]
    results = lab.run(setup + ops)[len(setup):]
    assert results[0] == ("ok", [seam - 2, TOP - 6], [])
    assert results[1:3] == [("ok", [seam - 2], []), ("ok", [], [])]
    assert results[3] == ("ok", [seam - 2, A_BASE + 2 * PAGE_SIZE - 3, TOP - 6], [])
    assert results[4:6] == [("ok", [], []), ("ok", [seam - 2], [])]
    assert results[6] == ("ok", [A_BASE + 8], [])


# ---------------------------------------------------------------------------
# Discrepancies found while writing these tests (each is a minimal reproduction)
# ---------------------------------------------------------------------------
def test_write_batch_with_too_few_values_writes_nothing_on_every_path(lab):
    """A write_batch with fewer values than addresses is a ValueError and writes nothing, on
    every path (the compiled paths check first; slowmem must not write a prefix)."""
    lab.setup(Region("A", A_BASE, 1, "memory", P.RW))
    results = lab.run([("write_batch", "A", [A_BASE, A_BASE + 4], [7], 4), ("read_int", "A", A_BASE, 4)])
    assert results[0] == ("ValueError", [])


def test_search_with_a_negative_start_agrees_on_every_path(lab):
    """search(start=-1) (e.g. a debugger's "addr - n" going below 0) gives the same answer on
    every path: the compiled paths clamp start to 0, slowmem must not slice its table from the end."""
    lab.setup(Region("A", A_BASE, 1, "memory", P.RW))
    results = lab.run([("write", "A", A_BASE + 4, b"NEEDLE"), ("search", "A", b"NEEDLE", -1, TOP, 1, 10),
                       ("search", "A", b"NEEDLE", -PAGE_SIZE, TOP, 1, 10)])
    assert results[1:] == [("ok", [A_BASE + 4], [])] * 2


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("as_type", [np.uint32, np.int64, np.uint64])
def test_numpy_integer_values_are_accepted_by_every_path(lab, path, as_type):
    """write_int with a value taken from a numpy array (np.uint32 etc.) works on every path, as it
    does on the compiled ones, including on the slow path's plain-memory shortcut."""
    lab.setup(Region("A", A_BASE, 1, "memory", P.RW))
    mem = lab.worlds[path].mem("A")
    mem.write_int(A_BASE, 4, as_type(0x1234))
    mem.write_int(A_BASE + PAGE_SIZE - 2, 2, as_type(0x5678))
    assert (mem.read32(A_BASE), mem.read16(A_BASE + PAGE_SIZE - 2)) == (0x1234, 0x5678)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("as_type", [np.uint32, np.int64, np.uint64])
def test_numpy_integer_addresses_still_fault_when_wrapping(lab, path, as_type):
    """read32 at a numpy 0xFFFFFFFE (an address read out of a uint32 array) faults as a wrapping
    access on every path, like the Python int does, instead of overflowing and reading nothing."""
    lab.setup(Region("A", TOP - PAGE_SIZE, 1, "memory", P.RW), Region("A", 0, 1, "memory", P.RW))
    mem = lab.worlds[path].mem("A")
    with pytest.raises(GuestFault):
        mem.read32(0xFFFFFFFE)
    with pytest.raises(GuestFault):
        mem.read32(as_type(0xFFFFFFFE))


@pytest.mark.parametrize("data", [
    pytest.param(np.arange(64, dtype=np.uint8)[::2], id="strided-array"),
    pytest.param(np.arange(32, dtype=np.uint8)[::-1], id="reversed-array"),
    pytest.param(np.arange(64, dtype=np.uint8).reshape(8, 8)[:, :4], id="2d-slice"),
    pytest.param(np.arange(8, dtype=np.uint32), id="uint32-array"),
    pytest.param(bytearray(range(40)), id="bytearray"),
    pytest.param(memoryview(bytes(range(40, 80)))[::3], id="strided-memoryview"),
])
def test_write_takes_any_buffer_and_writes_its_bytes_in_order(lab, data):
    """write() of any bytes-like object or numpy array (including strided and reversed views,
    across a page boundary) stores the same bytes, in logical order, on every path."""
    want = data.view(np.uint8).reshape(-1).tobytes() if isinstance(data, np.ndarray) else bytes(data)
    lab.setup(Region("A", A_BASE, 2, "memory", P.RW))
    addr = A_BASE + PAGE_SIZE - 10
    results = lab.run([("write", "A", addr, data), ("read", "A", addr, len(want))])
    assert results[1] == ("ok", want, [])


def test_batch_addresses_outside_32_bits_wrap_like_scalar_addresses(lab):
    """read_batch/write_batch given Python ints below 0 or above 0xFFFFFFFF treat them modulo
    2**32, as read_int/write_int do, on every path (not an OverflowError on some)."""
    lab.setup(Region("A", TOP - PAGE_SIZE, 1, "memory", P.RW), Region("A", A_BASE, 1, "memory", P.RW))
    addrs = [-4, TOP + A_BASE + 8]
    results = lab.run([("write_batch", "A", addrs, [0x11223344, 0x55667788], 4),
                       ("read_batch", "A", addrs, 4, False),
                       ("read_int", "A", -4, 4), ("read_int", "A", TOP + A_BASE + 8, 4)])
    assert results == [OK_NONE, ("ok", [0x11223344, 0x55667788], []), ("ok", 0x11223344, []),
                       ("ok", 0x55667788, [])]


@pytest.mark.parametrize("limit", [1 << 40, 2**63 - 1])
def test_search_with_an_unbounded_limit(lab, limit):
    """search(limit=sys.maxsize) ("find them all") returns every match on every path: the compiled
    paths must not allocate a result buffer of ``limit`` entries up front."""
    lab.setup(Region("A", A_BASE, 2, "memory", P.RW))
    results = lab.run([("write", "A", A_BASE + PAGE_SIZE - 3, b"NEEDLE"),
                       ("search", "A", b"NEEDLE", 0, TOP, 1, limit)])
    assert results[1] == ("ok", [A_BASE + PAGE_SIZE - 3], [])


def test_write_batch_values_from_a_list_of_python_ints_are_exact(lab):
    """write_batch with values as a Python list mixing small ints and ints >= 2**63 stores every
    value exactly on every path (numpy must not turn the list into float64 and round them)."""
    lab.setup(Region("A", A_BASE, 1, "memory", P.RW))
    big = 0xFFFFFFFFFFFFFC01
    results = lab.run([("write_batch", "A", [A_BASE, A_BASE + 8], [1, big], 8),
                       ("read_batch", "A", [A_BASE, A_BASE + 8], 8, False)])
    assert results == [OK_NONE, ("ok", [1, big], [])]
