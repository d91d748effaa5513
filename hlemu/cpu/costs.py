"""What the CPU boundary spends on keeping Unicorn's map in step, counted for measurements
(``scripts/tracked_costs.py``): Unicorn's ``mem_protect``, fastmem's first-write hook
(``Cpu._on_invalid_memory``) and the deferred syncs before guest code runs again
(``Cpu.sync_deferred``). :func:`counting` wraps them for the duration of a ``with`` and takes
the wrappers off again; each wrapped call costs a Python frame more, so it is for
measurements, never for a running emulator's own use."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from unicorn import Uc

from hlemu.cpu.cpu import Cpu

COUNTED = ((Uc, "mem_protect"), (Cpu, "_on_invalid_memory"), (Cpu, "sync_deferred"))


@contextmanager
def counting() -> Iterator[defaultdict[str, float]]:
    """Within the ``with``: ``spent[name]`` seconds and ``spent[name + " calls"]`` calls of
    each of :data:`COUNTED`, over every CPU."""
    spent: defaultdict[str, float] = defaultdict(float)
    originals = [(owner, name, owner.__dict__[name]) for owner, name in COUNTED]

    def wrap(original: Any, name: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t0
                spent[name + " calls"] += 1

        return wrapper

    global _active
    for owner, name, original in originals:
        setattr(owner, name, wrap(original, name))
    _active += 1
    try:
        yield spent
    finally:
        _active -= 1
        for owner, name, original in originals:
            setattr(owner, name, original)


_active = 0  # counting() blocks under way


def active() -> bool:
    """Whether :func:`counting` has its wrappers on now."""
    return _active > 0
