"""Benchmark records, timing and the table printer shared by every benchmark."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Record:
    workload: str
    variant: str
    value: float
    unit: str
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(out.pop("extra"))
        return out


def cpu_backends() -> tuple[str, ...]:
    """The CPU backends this host can compare: both where fastmem works, else semifastmem."""
    from hlemu.memory import MemorySystem

    probe = MemorySystem(backend="auto")
    try:
        return ("fastmem", "semifastmem") if probe.backend == "fastmem" else ("semifastmem",)
    finally:
        probe.close()


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """Fastest wall time of ``repeats`` calls, in seconds (the least disturbed run)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def best_interleaved(repeats: int, fns: dict[str, Callable[[], object]],
                     once: frozenset[str] = frozenset()) -> dict[str, float]:
    """Fastest wall time of each of ``fns`` over ``repeats`` rounds that call them in turn (those
    in ``once`` only in the first round). Variants compared with each other take their turns
    side by side, so a change of machine load during the benchmark falls on all of them, not
    on whichever ran its repeats then."""
    best = dict.fromkeys(fns, float("inf"))
    for round_ in range(repeats):
        for name, fn in fns.items():
            if round_ and name in once:
                continue
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def add_ratios(records: list[Record], workload: str, baselines: dict[str, str]) -> None:
    """Add ``vs_<variant>`` ratios (higher is better) to each record of ``workload``.

    Works for throughputs (ops/s, bytes/s) and, inverted, for times (ns, us).
    """
    by_variant = {r.variant: r for r in records if r.workload == workload}
    for rec in by_variant.values():
        for key, base_variant in baselines.items():
            base = by_variant.get(base_variant)
            if base is None or rec.value == 0 or base.value == 0:
                continue
            ratio = rec.value / base.value
            if rec.unit in ("ns", "us", "s"):
                ratio = 1 / ratio
            rec.extra[key] = round(ratio, 4)


def host_info() -> dict[str, str]:
    return {"python": platform.python_version(), "machine": platform.machine(), "system": platform.system()}


def write_json(records: list[Record], path: str | Path) -> None:
    Path(path).write_text(json.dumps([r.as_json() for r in records], indent=2) + "\n")


def _shown(value: float) -> str:
    """A value with its significant digits: 0.0482 (seconds), 158.3 (MIPS), 49,032 (bytes)."""
    if value == 0 or abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def format_table(records: list[Record]) -> str:
    ratio_keys = sorted({k for r in records for k in r.extra if k.startswith("vs_")})
    header = ["workload", "variant", "value", "unit", *ratio_keys]
    rows = [header]
    for r in records:
        value = _shown(r.value)
        rows.append([r.workload, r.variant, value, r.unit,
                     *(f"{r.extra[k]:.3f}x" if k in r.extra else "" for k in ratio_keys)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths,
             strict=True))) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
