"""Save states: a whole machine to a file or a snapshot in memory, and back.

``emu.save_state(path_or_file)`` / ``Emulator.load_state(path_or_file)`` and
``emu.snapshot()`` / ``emu.restore(snap)`` (:mod:`kernel.api.emulator`) are built on
:func:`save`, :func:`load`, :func:`snapshot` and :func:`restore_into` here. The file
format is :mod:`kernel.state.format` (docs/save-states.md); the object graph codec,
which never unpickles, is :mod:`kernel.state.graph`; host resources (physical frames,
page tables, CPUs) are :mod:`kernel.state.machine`.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from kernel.state import format as state_format
from kernel.state.check import check_graph
from kernel.state.errors import StateError
from kernel.state.format import Section
from kernel.state.machine import Captured, capture, from_sections, rebuild, to_sections

if TYPE_CHECKING:
    from kernel.kernel import Kernel

__all__ = ["Captured", "StateError", "load", "read_header", "read_thumbnail", "restore_into", "save", "snapshot"]

MAX_STATE_FILE = 1 << 31


def snapshot(kernel: Kernel) -> Captured:
    """The machine now, in memory (nothing compressed, nothing written)."""
    return capture(kernel)


THUMBNAIL_SCALE = 4  # the thumbnail is the top screen at a quarter of its size: 100x60 for 400x240


def save(kernel: Kernel, target: str | os.PathLike[str] | BinaryIO) -> int:
    """Write the machine to ``target`` (a path, written whole or not at all, or a binary file);
    returns the bytes written. The file also holds a thumbnail of the top screen
    (:func:`read_thumbnail`), which loading ignores."""
    captured = capture(kernel)
    sections = to_sections(captured)
    picture = thumbnail(kernel)
    meta = {**captured.meta, "thumbnail": [picture.shape[1], picture.shape[0]]}
    sections.append(Section("thumbnail", picture.tobytes()))
    if not isinstance(target, (str, os.PathLike)):
        return state_format.write(target, sections, meta)
    path = Path(target)
    temporary = path.with_name(path.name + ".partial")
    with open(temporary, "wb") as out:
        size = state_format.write(out, sections, meta)
    os.replace(temporary, path)
    return size


def thumbnail(kernel: Kernel) -> np.ndarray:
    """The top screen as a (60, 100, 3) RGB picture: each pixel the mean of a 4x4 block."""
    top = kernel.display.render("top").astype(np.uint16)
    h, w = top.shape[0] // THUMBNAIL_SCALE, top.shape[1] // THUMBNAIL_SCALE
    blocks = top[:h * THUMBNAIL_SCALE, :w * THUMBNAIL_SCALE].reshape(h, THUMBNAIL_SCALE, w, THUMBNAIL_SCALE, 3)
    return (blocks.sum(axis=(1, 3)) // (THUMBNAIL_SCALE * THUMBNAIL_SCALE)).astype(np.uint8)


def read_thumbnail(source: str | os.PathLike[str] | bytes) -> tuple[dict[str, Any], np.ndarray | None]:
    """A state's header facts and its thumbnail, (height, width, 3) RGB (None: a state saved
    without one); the file is checked as a load checks it (StateError), nothing is built."""
    data = source if isinstance(source, (bytes, bytearray)) else _read_file(source)
    header, sections = state_format.read(bytes(data), defer=("frames",))
    size, raw = header.get("thumbnail"), sections.get("thumbnail")
    if not isinstance(raw, bytes) or not isinstance(size, list) or len(size) != 2 \
            or not all(isinstance(n, int) and 0 < n <= 400 for n in size) or len(raw) != size[0] * size[1] * 3:
        return header, None
    return header, np.frombuffer(raw, dtype=np.uint8).reshape(size[1], size[0], 3)


def read(source: str | os.PathLike[str] | BinaryIO | bytes) -> Captured:
    """Read and check a state file (StateError when it is damaged, truncated, newer, foreign)."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read()
    else:
        data = _read_file(source)
    header, sections = state_format.read(data, defer=("frames",))
    return from_sections(header, sections)


def _read_file(source: str | os.PathLike[str]) -> bytes:
    try:
        with open(source, "rb") as f:
            return f.read(MAX_STATE_FILE + 1)
    except OSError as exc:
        raise StateError(f"cannot read the state {source}: {exc.strerror}") from None


def read_header(source: str | os.PathLike[str] | bytes) -> dict[str, Any]:
    """The facts in a state's header (programs, options, counters), checked."""
    return read(source).meta


def restore_into(kernel: Kernel, captured: Captured) -> None:
    """Make a fresh ``kernel`` the machine ``captured`` holds, then check its object graph.
    Any failure is a StateError (the caller closes the kernel: nothing half-loaded runs)."""
    collecting = gc.isenabled()
    gc.disable()  # the graph makes thousands of objects, none of them garbage: no collections meanwhile
    try:
        objects = rebuild(kernel, captured)
        check_graph(kernel, objects)
    except StateError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OSError) as exc:
        raise StateError(f"the state does not describe a machine: {type(exc).__name__}: {exc}") from None
    finally:
        if collecting:  # off already (the window's emulation thread): left off
            gc.enable()


def load(source: str | os.PathLike[str] | BinaryIO | bytes, kernel: Kernel) -> Captured:
    captured = read(source)
    restore_into(kernel, captured)
    return captured
