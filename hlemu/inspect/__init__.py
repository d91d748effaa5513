"""Memory as the program sees it: symbols, DWARF types and values, frames, heaps,
footprints and a memory scanner, over one process's address space.

The core half of issue 13: everything here reads an ELF (pyelftools) and an
:class:`~hlemu.memory.space.AddressSpace`; nothing imports the kernel. The scripting
API puts it on ``Proc`` (kernel/api/inspect.py).
"""

from __future__ import annotations

from hlemu.inspect.errors import InspectError, UnreadableMemory

__all__ = ["InspectError", "UnreadableMemory"]
