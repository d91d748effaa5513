"""Where a frame of the demo goes on write-tracked framebuffer pages, per CPU backend.

Runs the demo headless (as ``hlemu run`` does), warms it up, then counts over N frames:
MIPS, Unicorn ``mem_protect`` calls and their time, fastmem's first-write hook
(``Cpu._on_invalid_memory``) and the deferred syncs before each run
(``Cpu.sync_deferred``), each per frame; and what a ``run()`` call costs of its own (the
same frames run one ``run(frames=1)`` at a time against one call, the fastest of three
each). Wall times on a shared machine move: compare backends within one run, and counts
across runs::

    python3 scripts/tracked_costs.py --frames 480
"""

from __future__ import annotations

import argparse
import time

from hlemu.cpu.costs import counting
from hlemu.run import DEMO, resolve
from kernel.api import Emulator


def _demo(backend: str, warm: int) -> Emulator:
    emu = Emulator(backend=backend, echo=False)
    for program in DEMO:
        emu.spawn(str(resolve(program)))
    emu.run(frames=warm)
    return emu


def measure(backend: str, frames: int, warm: int) -> dict[str, float]:
    """Per-frame figures of one backend (microseconds, calls, MIPS)."""
    with counting() as spent:
        emu = _demo(backend, warm)
        spent.clear()
        i0, t0 = emu.instructions, time.perf_counter()
        emu.run(frames=frames)
        wall = time.perf_counter() - t0
        ran = emu.instructions - i0
        emu.close()
    out = {"MIPS": ran / wall / 1e6, "frame us": wall / frames * 1e6}
    for name in ("mem_protect", "_on_invalid_memory", "sync_deferred"):
        out[f"{name} calls"] = spent[name + " calls"] / frames
        out[f"{name} us"] = spent[name] / frames * 1e6
    # one run() a frame, against the same frames in one call (instructions are the same): the
    # fastest of three of each, taken in turn, as the difference is a few percent of the time
    one = many = float("inf")
    for _ in range(3):
        whole, sliced = _demo(backend, warm), _demo(backend, warm)
        t0 = time.perf_counter()
        whole.run(frames=frames)
        one = min(one, time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(frames):
            sliced.run(frames=1)
        many = min(many, time.perf_counter() - t0)
        if whole.instructions != sliced.instructions:
            raise AssertionError("a run cut at every frame ran other instructions")
        whole.close()
        sliced.close()
    out["run() call us"] = (many - one) / frames * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=480, help="frames measured (default 480)")
    parser.add_argument("--warm", type=int, default=120, help="frames run first (default 120)")
    parser.add_argument("--backend", action="append", choices=["fastmem", "semifastmem"],
                        help="a backend to measure (default: both)")
    args = parser.parse_args()
    if args.frames < 1 or args.warm < 0:
        parser.error("--frames must be at least 1 and --warm at least 0")
    for backend in args.backend or ["fastmem", "semifastmem"]:
        figures = measure(backend, args.frames, args.warm)
        print(f"{backend}: " + ", ".join(f"{key} {value:.1f}" for key, value in figures.items()), flush=True)


if __name__ == "__main__":
    main()
