"""The save-state file format, version 1: the one module that reads and writes it.

Layout (little-endian; docs/save-states.md says the same)::

    magic        8 bytes   b"HLEMUST\\x00"
    version      u32       FORMAT_VERSION (a reader refuses a bigger one)
    header size  u32       n
    header       n bytes   JSON: {"hlemu": version, "sections": [{"name", "size", "raw",
                           "sha256", "codec"}, ...], ...}
    header crc   u32       zlib.crc32 of the header bytes
    sections               each ``size`` bytes, in the header's order, nothing after

A section's bytes are compressed with ``codec`` ("zstd" or "none"); ``raw`` is the size
once decompressed and ``sha256`` the digest of the stored bytes, so a damaged section is
found before it is decompressed. Every size is checked against the file's length first,
so a truncated file is refused by name of the section it cuts.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO

import zstandard

from kernel.state.errors import StateError

MAGIC = b"HLEMUST\x00"
FORMAT_VERSION = 1
_FIXED = struct.Struct("<8sII")
_CRC = struct.Struct("<I")
MAX_HEADER = 1 << 20
MAX_SECTION_RAW = 8 << 30  # a section never decompresses to more (physical memory is 134 MiB)
ZSTD_LEVEL = 3


@dataclass
class Section:
    name: str
    data: bytes  # uncompressed
    compress: bool = True


def compressor() -> zstandard.ZstdCompressor:
    """The compressor states use (the bench's baseline uses the same one)."""
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL)


def write(out: BinaryIO, sections: list[Section], meta: dict[str, Any]) -> int:
    """Write a state file; returns its size."""
    cctx = compressor()
    stored: list[bytes] = []
    entries = []
    for s in sections:
        raw = memoryview(s.data).cast("B")
        body = cctx.compress(raw) if s.compress else bytes(raw)
        stored.append(body)
        entries.append({"name": s.name, "size": len(body), "raw": raw.nbytes,
                        "sha256": hashlib.sha256(body).hexdigest(), "codec": "zstd" if s.compress else "none"})
    header = json.dumps({**meta, "sections": entries}, sort_keys=True).encode()
    out.write(_FIXED.pack(MAGIC, FORMAT_VERSION, len(header)))
    out.write(header)
    out.write(_CRC.pack(zlib.crc32(header)))
    for body in stored:
        out.write(body)
    return _FIXED.size + len(header) + _CRC.size + sum(map(len, stored))


@dataclass
class Deferred:
    """A checked (sha256) compressed section, decompressed later straight to where its
    bytes go (a state's memory frames: no second copy of them); ``raw`` is its size."""

    name: str
    body: memoryview
    raw: int

    def reader(self) -> Any:
        return zstandard.ZstdDecompressor().stream_reader(self.body, read_across_frames=True)


def read(data: bytes, defer: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check and unpack a state file: its header and each section's bytes (decompressed;
    the compressed sections named in ``defer`` come as :class:`Deferred`, checked but not
    yet decompressed). Anything wrong is a StateError naming it."""
    if len(data) < _FIXED.size:
        raise StateError(f"not a save state: {len(data)} bytes, too short for the header")
    magic, version, size = _FIXED.unpack_from(data)
    if magic != MAGIC:
        raise StateError("not an hlemu save state (wrong magic bytes)")
    if version > FORMAT_VERSION:
        raise StateError(f"the state has format version {version}; this hlemu reads up to {FORMAT_VERSION}: "
                         "load it with a newer hlemu")
    if version < 1:
        raise StateError(f"bad format version {version}")
    end = _FIXED.size + size
    if size > MAX_HEADER or end + _CRC.size > len(data):
        raise StateError("the state is truncated (in its header)")
    header_bytes = data[_FIXED.size:end]
    (crc,) = _CRC.unpack_from(data, end)
    if zlib.crc32(header_bytes) != crc:
        raise StateError("the state's header is damaged (checksum mismatch)")
    try:
        header = json.loads(header_bytes)
    except ValueError:
        raise StateError("the state's header is not readable") from None
    entries = header.get("sections") if isinstance(header, dict) else None
    if not isinstance(entries, list):
        raise StateError("the state's header lists no sections")
    offset = end + _CRC.size
    sections: dict[str, Any] = {}
    spans = []
    for entry in entries:
        name, stored, raw, digest, codec = _entry(entry)
        if offset + stored > len(data):
            raise StateError(f"the state is truncated (in section {name!r})")
        spans.append((name, offset, stored, raw, digest, codec))
        offset += stored
    if offset != len(data):
        raise StateError(f"the state has {len(data) - offset} bytes after its last section")
    dctx = zstandard.ZstdDecompressor()
    view = memoryview(data)
    for name, start, stored, raw, digest, codec in spans:
        body: bytes | memoryview = view[start:start + stored]
        if hashlib.sha256(body).hexdigest() != digest:
            raise StateError(f"section {name!r} of the state is damaged (checksum mismatch)")
        if name in sections:
            raise StateError(f"section {name!r} appears twice")
        if codec == "zstd" and name in defer:
            sections[name] = Deferred(name, view[start:start + stored], raw)
            continue
        if codec == "zstd":
            try:
                body = dctx.decompress(body, max_output_size=raw)
            except zstandard.ZstdError as exc:
                raise StateError(f"section {name!r} does not decompress: {exc}") from None
        if len(body) != raw:
            raise StateError(f"section {name!r} has {len(body)} bytes, the header says {raw}")
        if name in sections:
            raise StateError(f"section {name!r} appears twice")
        sections[name] = bytes(body) if isinstance(body, memoryview) else body
    return header, sections


def _entry(entry: Any) -> tuple[str, int, int, str, str]:
    if not isinstance(entry, dict):
        raise StateError("a section entry of the header is not a table")
    name, stored, raw = entry.get("name"), entry.get("size"), entry.get("raw")
    digest, codec = entry.get("sha256"), entry.get("codec")
    if not isinstance(name, str) or not isinstance(stored, int) or not isinstance(raw, int) \
            or not isinstance(digest, str) or codec not in ("zstd", "none"):
        raise StateError(f"bad section entry {str(entry)[:80]} in the header")
    if stored < 0 or not 0 <= raw <= MAX_SECTION_RAW or (codec == "none" and raw != stored):
        raise StateError(f"section {name!r} has impossible sizes")
    return name, stored, raw, digest, codec


def section_bounds(data: bytes) -> list[tuple[str, int, int]]:
    """(name, offset, size) of each section of a well-formed file: for tests that damage one."""
    _, _, size = _FIXED.unpack_from(data)
    header = json.loads(data[_FIXED.size:_FIXED.size + size])
    offset = _FIXED.size + size + _CRC.size
    bounds = [("header", 0, offset)]
    for entry in header["sections"]:
        bounds.append((entry["name"], offset, entry["size"]))
        offset += entry["size"]
    return bounds
