"""hlemu: a 3DS-style multi-process guest OS emulator.

The core package holds the memory system (:mod:`hlemu.memory`), the CPU
binding, loaders, the CLI and benchmarks. The HLE kernel lives in the
top-level ``kernel`` package and the Qt window in ``gui``; the core imports
neither.
"""

__version__ = "0.1.0"
