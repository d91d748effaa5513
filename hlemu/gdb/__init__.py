"""A GDB remote stub over the scripting API (``hlemu gdb``): gdb-multiarch debugs guest
processes, all-stop, several processes at once (the multiprocess extensions).

One module per concern: :mod:`framing` (packets on the wire), :mod:`target_xml` (the
register layout gdb is told), :mod:`target` (every call into the emulator), :mod:`commands`
(packet in, reply out), :mod:`monitor` (``monitor ...`` commands), :mod:`server` (the socket,
the run thread, Ctrl-C). See docs/gdb.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hlemu.gdb.server import GdbServer

__all__ = ["GdbServer"]


def __getattr__(name: str) -> Any:
    # The server (and the CPU and kernel under it) loads only when used: ``hlemu --help``
    # builds the gdb subcommand's parser from hlemu.gdb.cli, which must not pay for them.
    if name == "GdbServer":
        from hlemu.gdb.server import GdbServer

        return GdbServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
