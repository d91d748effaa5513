"""Save states: a whole machine to a file or a snapshot in memory, and back.

``emu.save_state(path_or_file)`` / ``Emulator.load_state(path_or_file)`` and
``emu.snapshot()`` / ``emu.restore(snap)`` (:mod:`kernel.api.emulator`) are built on
:func:`save`, :func:`load`, :func:`snapshot` and :func:`restore_into` here. The file
format is :mod:`kernel.state.format` (docs/save-states.md); the object graph codec,
which never unpickles, is :mod:`kernel.state.graph`; host resources (physical frames,
page tables, CPUs) are :mod:`kernel.state.machine`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from kernel.state import format as state_format
from kernel.state.check import check_graph
from kernel.state.errors import StateError
from kernel.state.machine import Captured, capture, from_sections, rebuild, to_sections

if TYPE_CHECKING:
    from kernel.kernel import Kernel

__all__ = ["Captured", "StateError", "load", "read_header", "restore_into", "save", "snapshot"]

MAX_STATE_FILE = 1 << 31


def snapshot(kernel: Kernel) -> Captured:
    """The machine now, in memory (nothing compressed, nothing written)."""
    return capture(kernel)


def save(kernel: Kernel, target: str | os.PathLike[str] | BinaryIO) -> int:
    """Write the machine to ``target`` (a path, written whole or not at all, or a binary file);
    returns the bytes written."""
    captured = capture(kernel)
    sections = to_sections(captured)
    if not isinstance(target, (str, os.PathLike)):
        return state_format.write(target, sections, captured.meta)
    path = Path(target)
    temporary = path.with_name(path.name + ".partial")
    with open(temporary, "wb") as out:
        size = state_format.write(out, sections, captured.meta)
    os.replace(temporary, path)
    return size


def read(source: str | os.PathLike[str] | BinaryIO | bytes) -> Captured:
    """Read and check a state file (StateError when it is damaged, truncated, newer, foreign)."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read()
    else:
        try:
            with open(source, "rb") as f:
                data = f.read(MAX_STATE_FILE + 1)
        except OSError as exc:
            raise StateError(f"cannot read the state {source}: {exc.strerror}") from None
    header, sections = state_format.read(data, defer=("frames",))
    return from_sections(header, sections)


def read_header(source: str | os.PathLike[str] | bytes) -> dict[str, Any]:
    """The facts in a state's header (programs, options, counters), checked."""
    return read(source).meta


def restore_into(kernel: Kernel, captured: Captured) -> None:
    """Make a fresh ``kernel`` the machine ``captured`` holds, then check its object graph.
    Any failure is a StateError (the caller closes the kernel: nothing half-loaded runs)."""
    try:
        objects = rebuild(kernel, captured)
    except StateError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OSError) as exc:
        raise StateError(f"the state does not describe a machine: {type(exc).__name__}: {exc}") from None
    check_graph(kernel, objects)


def load(source: str | os.PathLike[str] | BinaryIO | bytes, kernel: Kernel) -> Captured:
    captured = read(source)
    restore_into(kernel, captured)
    return captured
