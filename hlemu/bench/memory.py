"""``hlemu bench memory``: the access paths against raw numpy.

Workloads (records ``{workload, variant, value, unit, vs_slowmem, vs_numpy, vs_fastmem}``;
``fastmem_trap`` where its fault handler builds, ``vs_fastmem`` is against checked fastmem):

* ``random_read32`` (ops/s): batched random aligned 32-bit reads over a
  64 MiB mapped range; the ``numpy`` baseline gathers the same offsets from
  the flat physical array (``np.take``), and ``gather_prefetched`` does the same in a
  compiled loop with the hint the paths give (:data:`hlemu.memory.kernels.PREFETCH_AHEAD`
  reads ahead): the paths without their translation. Its ``vs_numpy`` is the prefetch's
  own gain, and a path's ratio to it what translating costs.
* ``copy_64k`` (bytes/s): 64 KiB copies from one process into another at
  random offsets; the ``numpy`` baseline copies the same bytes between flat
  arrays.
* ``read32_scalar`` (ns): one 32-bit read called from Python.
* ``trap_fault`` (us): one read32 of an MMIO page, which both fastmem variants hand to
  slowmem: checked fastmem sees the access byte, fastmem_trap takes a host fault first.
  The fastmem_trap record's ``trap_us`` is the difference (what a trap costs per fault)
  and ``handler_restore_us`` the trap alone (handler, scratch mapping, restoring the page).
  The random_read32 fastmem_trap record's ``check_ns`` is what the per-page check costs a
  read (checked fastmem's time per read minus fastmem_trap's).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from numba import njit

from hlemu.bench.records import Record, add_ratios, best_interleaved, best_of
from hlemu.memory import AddressSpace, MemoryPath, MemoryPermission, MemoryState, MemorySystem
from hlemu.memory.kernels import PREFETCH_AHEAD, _prefetch
from hlemu.memory.trap import available as trap_available

READ_BASE = 0x08000000
READ_SIZE = 64 << 20
COPY_SIZE = 64 << 10
COPY_SPAN = 16 << 20  # each side of the copies
BASELINES = {"vs_slowmem": "slowmem", "vs_numpy": "numpy", "vs_fastmem": "fastmem"}
MMIO_PAGE = 0x1EC00000


def _setup(seed: int) -> tuple[MemorySystem, AddressSpace, AddressSpace]:
    system = MemorySystem(backend="auto")
    slab = system.backend == "fastmem"
    reader = system.create_space(1, "reader", with_slab=slab)
    frames = system.phys.allocate("APPLICATION", READ_SIZE >> 12, contiguous=True)
    reader.map(READ_BASE, frames, MemoryPermission.RW, MemoryState.PRIVATE)
    rng = np.random.default_rng(seed)
    lo = int(frames[0]) << 12
    system.phys.data[lo : lo + READ_SIZE] = rng.integers(0, 256, READ_SIZE, dtype=np.uint8)
    writer = system.create_space(2, "writer", with_slab=slab)
    writer.map(READ_BASE, system.phys.allocate("SYSTEM", COPY_SPAN >> 12, contiguous=True),
               MemoryPermission.RW, MemoryState.PRIVATE)
    return system, reader, writer


def run(reads: int = 4_000_000, slow_reads: int = 100_000, copies: int = 2_000, repeats: int = 5,
        seed: int = 1, progress: Callable[[str], None] | None = None) -> list[Record]:
    """Measure every workload; returns the records (ratios filled in)."""
    say = progress or (lambda _msg: None)
    system, reader, writer = _setup(seed)
    paths = ["slowmem", "semifastmem"] + (["fastmem"] if reader.fast is not None else [])
    if reader.fast is not None and trap_available()[0]:
        paths.append("fastmem_trap")
    rng = np.random.default_rng(seed + 1)
    records: list[Record] = []
    flat = system.phys.data[int(reader.table.frame[READ_BASE >> 12]) << 12:][:READ_SIZE]
    flat32 = flat.view(np.uint32)
    meta = {"backend_auto": system.backend, "host_page_size": system.choice.host_page_size}

    say("random_read32")
    addrs = (READ_BASE + 4 * rng.integers(0, READ_SIZE // 4, reads)).astype(np.uint32)
    idx = ((addrs - READ_BASE) >> 2).astype(np.intp)
    expected = flat32[idx]
    counts = {"numpy": reads, **{name: slow_reads if name == "slowmem" else reads for name in paths}}
    outs = {name: np.empty(n, dtype=np.uint32) for name, n in counts.items()}
    outs["gather_prefetched"] = np.empty(reads, dtype=np.uint32)
    counts["gather_prefetched"] = reads
    _gather_prefetched(flat32, idx[:1000], outs["gather_prefetched"][:1000])  # compile / warm
    runs: dict[str, Callable[[], object]] = {
        "numpy": lambda: np.take(flat32, idx, out=outs["numpy"]),
        "gather_prefetched": lambda: _gather_prefetched(flat32, idx, outs["gather_prefetched"])}
    for name in paths:
        path = reader.path(name)
        path.read_batch(addrs[:1000], out=outs[name][:1000])  # compile / warm

        def batch(p: MemoryPath = path, n: int = counts[name], o: np.ndarray = outs[name]) -> None:
            p.read_batch(addrs[:n], out=o)

        runs[name] = batch
    times = best_interleaved(repeats, runs, once=frozenset({"slowmem"}))
    for name, t in times.items():
        n = counts[name]
        if not np.array_equal(outs[name], expected[:n]):
            raise AssertionError(f"{name} read wrong values")
        records.append(Record("random_read32", name, n / t, "ops/s", {"count": n, **meta}))
        say(f"  {name}: {n / t / 1e6:.1f} M reads/s")

    say("copy_64k")
    src_addrs = (READ_BASE + 16 * rng.integers(0, (COPY_SPAN - COPY_SIZE) // 16, copies)).tolist()
    dst_addrs = (READ_BASE + 16 * rng.integers(0, (COPY_SPAN - COPY_SIZE) // 16, copies)).tolist()
    dst_flat = system.phys.data[int(writer.table.frame[READ_BASE >> 12]) << 12:][:COPY_SPAN]

    def numpy_copies() -> None:
        for s, d in zip(src_addrs, dst_addrs, strict=True):
            dst_flat[d - READ_BASE : d - READ_BASE + COPY_SIZE] = flat[s - READ_BASE : s - READ_BASE + COPY_SIZE]

    copy_runs: dict[str, Callable[[], object]] = {"numpy": numpy_copies}
    copy_counts = {"numpy": copies}
    for name in paths:
        path = writer.path(name)
        n = copy_counts[name] = max(copies // 20, 10) if name == "slowmem" else copies

        def path_copies(p: MemoryPath = path, n: int = n) -> None:
            for s, d in zip(src_addrs[:n], dst_addrs[:n], strict=True):
                p.copy_from(reader, s, d, COPY_SIZE)

        path_copies(n=2)
        copy_runs[name] = path_copies
    for name, t in best_interleaved(repeats, copy_runs, once=frozenset({"slowmem"})).items():
        n = copy_counts[name]
        records.append(Record("copy_64k", name, n * COPY_SIZE / t, "bytes/s", {"count": n, **meta}))
        say(f"  {name}: {n * COPY_SIZE / t / 1e9:.2f} GB/s")

    say("read32_scalar")
    calls = 100_000
    scalar_addrs = addrs[:calls].tolist()
    scalar_idx = idx[:calls].tolist()

    def numpy_scalar() -> None:
        for i in scalar_idx:
            flat32[i]

    t = best_of(repeats, numpy_scalar)
    records.append(Record("read32_scalar", "numpy", t / calls * 1e9, "ns", {"count": calls, **meta}))
    say(f"  numpy: {t / calls * 1e9:.0f} ns a read")
    for name in paths:
        read32 = reader.path(name).read32

        def scalar(read32=read32) -> None:
            for a in scalar_addrs:
                read32(a)

        t = best_of(repeats, scalar)
        records.append(Record("read32_scalar", name, t / calls * 1e9, "ns", {"count": calls, **meta}))
        say(f"  {name}: {t / calls * 1e9:.0f} ns a read")

    if "fastmem_trap" in paths:
        records += _trap_fault(reader, repeats, say, meta)
    for workload in ("random_read32", "copy_64k", "read32_scalar", "trap_fault"):
        add_ratios(records, workload, BASELINES)
    reads_of = {r.variant: r for r in records if r.workload == "random_read32"}
    if "fastmem_trap" in reads_of and "fastmem" in reads_of:
        reads_of["fastmem_trap"].extra["check_ns"] = round(
            1e9 / reads_of["fastmem"].value - 1e9 / reads_of["fastmem_trap"].value, 3)
    system.close()
    return records


@njit(cache=True, nogil=True)
def _gather_prefetched(words, idx, out):  # noqa: ANN001, ANN201 - numba
    """``out[i] = words[idx[i]]``, hinting the read PREFETCH_AHEAD on."""
    n = idx.shape[0]
    for i in range(n):
        if i + PREFETCH_AHEAD < n:
            _prefetch(words, idx[i + PREFETCH_AHEAD])
        out[i] = words[idx[i]]


class _Register:
    """An MMIO register that reads 0 (the benchmark's special page)."""

    def read(self, space: AddressSpace, vaddr: int, size: int) -> int:
        return 0

    def write(self, space: AddressSpace, vaddr: int, size: int, value: int) -> None:
        pass


def _trap_fault(space: AddressSpace, repeats: int, say: Callable[[str], None],
                meta: dict[str, object]) -> list[Record]:
    """Per-fault cost of an access that must leave the compiled path, with and without a trap."""
    from hlemu.memory import kernels_trap
    from hlemu.memory.paths_trap import FastTrapMem

    say("trap_fault")
    space.map_mmio(MMIO_PAGE, 4096, _Register())
    calls = 2_000
    records = []
    for name in ("fastmem", "fastmem_trap"):
        read32 = space.path(name).read32

        def faults(read32: Callable[[int], int] = read32) -> None:
            for _ in range(calls):
                read32(MMIO_PAGE)

        faults()
        t = best_of(repeats, faults)
        records.append(Record("trap_fault", name, t / calls * 1e6, "us", {"count": calls, **meta}))
    trap_path = space.path("fastmem_trap")
    assert isinstance(trap_path, FastTrapMem)
    table, mem = trap_path._ttable, trap_path._mem

    def traps_alone() -> None:
        for _ in range(calls):
            block = trap_path._block()
            kernels_trap.load(table, mem, MMIO_PAGE, 4, block)
            trap_path._restore(block)

    t = best_of(repeats, traps_alone)
    rec = records[1]
    rec.extra["trap_us"] = round(rec.value - records[0].value, 3)
    rec.extra["handler_restore_us"] = round(t / calls * 1e6, 3)
    say(f"  fastmem: {records[0].value:.2f} us a fault")
    say(f"  fastmem_trap: {rec.value:.2f} us a fault, of which the trap alone (handler, scratch page, "
        f"restore) {t / calls * 1e6:.2f} us")
    space.unmap(MMIO_PAGE, 4096)
    return records


def cold_start_seconds() -> float:
    """Time to first compiled access in a fresh interpreter (uses the numba cache if present)."""
    t0 = time.perf_counter()
    system = MemorySystem(backend="semifastmem")
    space = system.create_space(1)
    space.map(READ_BASE, system.phys.allocate("APPLICATION", 1), MemoryPermission.RW, MemoryState.PRIVATE)
    space.semifast.read32(READ_BASE)
    space.semifast.read_batch(np.array([READ_BASE], dtype=np.uint32))
    return time.perf_counter() - t0
