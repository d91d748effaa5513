"""What an IPC round trip costs, for comparing two trees on a shared, noisy machine.

Runs the ``hlemu bench ipc`` guests (a server and a client process, N round trips, plain
or with a 4 KiB mapped buffer) and prints, per backend, the CPU time per round trip (min
and spread over several runs, plain and mapped, and their ratio), or with ``--calls`` the
Python calls per round trip (cProfile: deterministic, so two trees compare exactly).
``--no-handoff`` switches the scheduler's IPC handoff off (every slice takes the full pass).

Run it from the tree to measure, alternating trees a few times::

    PYTHONPATH=. python scripts/ipc_cost.py --backend fastmem --count 1000 --repeats 4
    PYTHONPATH=. python scripts/ipc_cost.py --calls

CPU time (``time.process_time``) moves less than wall time when other jobs share the cores,
but still moves: compare only figures taken alternately in the same session.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from hlemu.bench.ipc import CLIENT_WORDS, DATA, SERVER_WORDS, _image
from kernel.kernel import Kernel


def _kernel(backend: str, count: int, mapped: bool) -> Kernel:
    kernel = Kernel(backend=backend, output=lambda _p, _line: None)
    kernel.spawn(_image("bench_server", SERVER_WORDS))
    kernel.spawn(_image("bench_client", CLIENT_WORDS, count, DATA if mapped else 0))
    return kernel


def cpu_us(backend: str, count: int, mapped: bool) -> float:
    """CPU time per round trip, in microseconds, of one run of ``count`` round trips."""
    kernel = _kernel(backend, count, mapped)
    try:
        start = time.process_time()
        kernel.run()
        return (time.process_time() - start) / count * 1e6
    finally:
        kernel.close()


def calls(backend: str, count: int, mapped: bool) -> float:
    """Python calls per round trip (cProfile's count over the run)."""
    kernel = _kernel(backend, count, mapped)
    try:
        profile = cProfile.Profile()
        profile.enable()
        kernel.run()
        profile.disable()
        return pstats.Stats(profile).total_calls / count  # type: ignore[attr-defined]
    finally:
        kernel.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=["fastmem", "semifastmem"])
    parser.add_argument("--count", type=int, default=1000, help="round trips a run")
    parser.add_argument("--repeats", type=int, default=4, help="runs of each (after one warm-up)")
    parser.add_argument("--calls", action="store_true", help="Python calls per round trip instead")
    parser.add_argument("--no-handoff", action="store_true", help="switch the IPC handoff off")
    args = parser.parse_args()
    if args.no_handoff:
        from kernel.scheduler import Scheduler

        Scheduler.hand_off = lambda self, thread: None  # type: ignore[method-assign]
    for backend in args.backend or ["fastmem", "semifastmem"]:
        if args.calls:
            plain, mapped = calls(backend, args.count, False), calls(backend, args.count, True)
            print(f"{backend}: {plain:.1f} Python calls a plain round trip, {mapped:.1f} a mapped one")
            continue
        cpu_us(backend, 100, False), cpu_us(backend, 100, True)  # warm-up: compiled hooks, caches
        runs: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeats):
            for with_buffer in (False, True):
                runs[with_buffer].append(cpu_us(backend, args.count, with_buffer))
        p, m = runs[False], runs[True]
        print(f"{backend}: plain {min(p):.1f} us (up to {max(p):.1f}), mapped_4k {min(m):.1f} us "
              f"(up to {max(m):.1f}), mapped/plain {min(m) / min(p):.2f} (CPU time, min of {args.repeats})")


if __name__ == "__main__":
    main()
