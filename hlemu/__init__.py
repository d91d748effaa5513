"""hlemu: a 3DS-style multi-process guest OS emulator.

The core package holds the memory system (:mod:`hlemu.memory`), the CPU
binding, loaders, the CLI and benchmarks. The HLE kernel lives in the
top-level ``kernel`` package and the Qt window in ``gui``; the core imports
neither.
"""

__version__ = "0.1.0"

from hlemu import numba_cache as _numba_cache

_numba_cache.check()  # before any compiled module loads its cache (see hlemu.numba_cache)
