"""GDB remote packets on the wire: ``$payload#cs``, acks, escapes, Ctrl-C.

The GDB manual's "Overview" of the remote protocol: a packet is ``$``, the payload, ``#`` and
two hex digits, the sum of the payload's bytes modulo 256. The receiver answers ``+`` (good)
or ``-`` (resend) unless no-ack mode was agreed (``QStartNoAckMode``). ``}`` escapes the next
byte (XOR 0x20) in binary data (``X``, ``qXfer`` replies); ``*`` starts run-length encoding,
which gdb never sends in packets to a stub, so it is refused in input and never produced.
A lone 0x03 outside a packet is an interrupt (Ctrl-C).

:class:`PacketReader` takes bytes as they arrive and hands back :class:`Event` records; it
never raises on bad input (a bad checksum, an oversized or garbled packet become events).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PACKET = 0x4000  # the PacketSize we announce: payload bytes we accept in one packet
_ESCAPED = frozenset(b"#$}*")


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def frame(payload: bytes | str) -> bytes:
    """One packet, escaped where the protocol needs it (``#``, ``$``, ``}``, ``*``)."""
    raw = payload.encode("latin-1") if isinstance(payload, str) else payload
    body = escape(raw)
    return b"$" + body + b"#" + b"%02x" % checksum(body)


def escape(data: bytes) -> bytes:
    if not any(b in _ESCAPED for b in data):
        return data
    out = bytearray()
    for b in data:
        if b in _ESCAPED:
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    """The binary data of an ``X`` packet (``}`` escapes; a trailing ``}`` is dropped)."""
    if b"}" not in data:
        return data
    out = bytearray()
    it = iter(data)
    for b in it:
        if b == 0x7D:
            nxt = next(it, None)
            if nxt is not None:
                out.append(nxt ^ 0x20)
        else:
            out.append(b)
    return bytes(out)


@dataclass(frozen=True)
class Event:
    """What :class:`PacketReader` found: ``packet`` (``data`` is the raw payload, still
    escaped), ``interrupt``, ``ack``, ``nak``, ``bad`` (checksum or size; ``data`` says why)."""

    kind: str
    data: bytes = b""


class PacketReader:
    """Splits a byte stream into events. Bytes between packets other than ``+``, ``-`` and
    0x03 are line noise and are skipped, as gdb's own reader does."""

    def __init__(self, max_packet: int = MAX_PACKET) -> None:
        self.max_packet = max_packet
        self._buf = bytearray()
        self._in_packet = False
        self._overflow = False

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        for b in data:
            if not self._in_packet:
                if b == 0x24:  # $
                    self._in_packet, self._overflow = True, False
                    self._buf.clear()
                elif b == 0x03:
                    events.append(Event("interrupt"))
                elif b == 0x2B:
                    events.append(Event("ack"))
                elif b == 0x2D:
                    events.append(Event("nak"))
                continue
            self._buf.append(b)
            end = self._buf.find(b"#")
            if end >= 0 and len(self._buf) == end + 3:
                events.append(self._finish(end))
            elif end < 0 and len(self._buf) > self.max_packet + 3:
                self._overflow = True  # keep scanning for the end, but drop what was read
                del self._buf[:-1]
            elif end < 0 and b == 0x24:  # a new packet started before this one ended
                self._buf.clear()
                events.append(Event("bad", b"packet interrupted by '$'"))
        return events

    def _finish(self, end: int) -> Event:
        payload, digits = bytes(self._buf[:end]), bytes(self._buf[end + 1 : end + 3])
        self._in_packet = False
        self._buf.clear()
        if self._overflow:
            return Event("bad", b"packet longer than PacketSize")
        try:
            want = int(digits, 16)
        except ValueError:
            return Event("bad", b"checksum is not hex")
        if want != checksum(payload):
            return Event("bad", b"checksum mismatch")
        return Event("packet", payload)
