"""A GDB remote stub over the scripting API (``hlemu gdb``): gdb-multiarch debugs guest
processes, all-stop, several processes at once (the multiprocess extensions).

One module per concern: :mod:`framing` (packets on the wire), :mod:`target_xml` (the
register layout gdb is told), :mod:`target` (every call into the emulator), :mod:`commands`
(packet in, reply out), :mod:`monitor` (``monitor ...`` commands), :mod:`server` (the socket,
the run thread, Ctrl-C). See docs/gdb.md.
"""

from hlemu.gdb.server import GdbServer

__all__ = ["GdbServer"]
