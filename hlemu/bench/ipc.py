"""``hlemu bench ipc``: request/reply round trips between two guest processes.

A server process creates the port "hlm:bench" and answers every request; a
client connects and sends N requests, each one SendSyncRequest that the
server receives with ReplyAndReceive and answers. ``ipc_roundtrip`` sends
no parameters; ``ipc_roundtrip_mapped_4k`` maps a 4 KiB buffer of the
client into the server (zero-copy) for every request. Figures are the run
time divided by N, so they include both processes' SVCs and both switches.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hlemu.bench.ipc_guests import CLIENT_WORDS, SERVER_WORDS
from hlemu.bench.records import Record
from hlemu.loaders import Image, Segment
from hlemu.memory import MemoryPermission

CODE, DATA = 0x00100000, 0x00200000
PORT_NAME = b"hlm:bench\0"


def _image(name: str, words: list[int], count: int = 0, buffer: int = 0) -> Image:
    code = bytearray(b"".join(w.to_bytes(4, "little") for w in words))
    code += bytes(0x400 - len(code)) + PORT_NAME
    code += bytes(0x410 - len(code)) + count.to_bytes(4, "little") + buffer.to_bytes(4, "little")
    return Image(name, CODE, [Segment(CODE, bytes(code), 0x1000, MemoryPermission.RX),
                              Segment(DATA, b"", 0x1000, MemoryPermission.RW)])


def roundtrip_us(backend: str, count: int, mapped: bool) -> float:
    """Microseconds per request/reply, measured over ``count`` requests."""
    from kernel.kernel import Kernel

    kernel = Kernel(backend=backend, output=lambda _p, _line: None)
    try:
        kernel.spawn(_image("bench_server", SERVER_WORDS))
        client = kernel.spawn(_image("bench_client", CLIENT_WORDS, count, DATA if mapped else 0))
        t0 = time.perf_counter()
        result = kernel.run()
        seconds = time.perf_counter() - t0
        if result.reason != "all exited" or any(p.crash or p.exit_code for p in kernel.processes.values()):
            raise RuntimeError(f"IPC benchmark guests failed: {result.reason}, "
                               + ", ".join(f"{p.name} {p.status}" for p in kernel.processes.values()))
        del client
        return seconds / count * 1e6
    finally:
        kernel.close()


def run(count: int = 20_000, repeats: int = 3, backends: tuple[str, ...] = ("fastmem", "semifastmem"),
        progress: Callable[[str], None] | None = None) -> list[Record]:
    say = progress or (lambda _msg: None)
    records = []
    for workload, mapped in (("ipc_roundtrip", False), ("ipc_roundtrip_mapped_4k", True)):
        say(workload)
        for backend in backends:
            us = min(roundtrip_us(backend, count, mapped) for _ in range(repeats))
            records.append(Record(workload, backend, us, "us", {"count": count}))
            say(f"  {backend}: {us:.1f} us")
    return records
