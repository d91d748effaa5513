"""The benchmark suites ``hlemu bench`` runs: each takes the command line's arguments (``bench
all`` passes its own, without a suite's options: their defaults) and a progress callback, and
returns its records."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable

from hlemu.bench.records import Record, cpu_backends

Progress = Callable[[str], None]
_COLD_START = "from hlemu.bench.memory import cold_start_seconds; print(cold_start_seconds())"


def bench_memory(args: argparse.Namespace, say: Progress) -> list[Record]:
    from hlemu.bench import memory

    # (``bench all`` has none of the suite's own options: their defaults)
    reads, copies = getattr(args, "reads", 4_000_000), getattr(args, "copies", 2_000)
    repeats = getattr(args, "repeats", 5)
    if args.quick:
        reads, copies, repeats = 200_000, 100, 2
    records = memory.run(reads=reads, slow_reads=min(100_000, reads), copies=copies, repeats=repeats, progress=say)
    if getattr(args, "cold_start", False):
        cold, warm = _cold_start()
        records.append(Record("numba_start", "cold", cold, "s", {"cache": "empty"}))
        records.append(Record("numba_start", "warm", warm, "s", {"cache": "filled"}))
    return records


def bench_cpu(args: argparse.Namespace, say: Progress) -> list[Record]:
    from hlemu.bench import cpu

    if args.quick:
        return cpu.run(compute_repeats=1, svcs=5_000, switches=2_000, progress=say, slow_instructions=300_000)
    return cpu.run(progress=say)


def bench_ipc(args: argparse.Namespace, say: Progress) -> list[Record]:
    from hlemu.bench import ipc
    return ipc.run(count=500 if args.quick else 20_000, repeats=1 if args.quick else 3,
                   backends=cpu_backends(), progress=say)


def bench_state(args: argparse.Namespace, say: Progress) -> list[Record]:
    from hlemu.bench import state as state_bench

    return state_bench.run(repeats=2 if args.quick else 5, backend=getattr(args, "backend", "auto"),
                           heap_mib=8 if args.quick else state_bench.HEAP_MIB, progress=say)


def bench_gpu(args: argparse.Namespace, say: Progress) -> list[Record]:
    from hlemu.bench import gpu as gpu_bench

    backend = getattr(args, "backend", "auto")
    if args.quick:
        return gpu_bench.run(quads=50, grid=2, repeats=1, frames=1, backend=backend, progress=say)
    return gpu_bench.run(quads=getattr(args, "quads", 500), backend=backend, progress=say)


def bench_gui(args: argparse.Namespace, say: Progress) -> list[Record]:
    from gui import bench as gui_bench

    return gui_bench.run(repeats=2 if args.quick else 5, progress=say,
                         window_frames=30 if args.quick else gui_bench.WINDOW_FRAMES)


def _cold_start() -> tuple[float, float]:
    """Seconds to first compiled access: empty numba cache, then the filled one."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        times = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", _COLD_START], env=env, check=True,
                                 capture_output=True, text=True)
            times.append(float(out.stdout.strip().splitlines()[-1]))
    return times[0], times[1]


BENCH_SUITES: dict[str, Callable[[argparse.Namespace, Progress], list[Record]]] = {
    "memory": bench_memory, "cpu": bench_cpu, "ipc": bench_ipc, "state": bench_state, "gpu": bench_gpu,
    "gui": bench_gui}
