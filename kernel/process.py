"""Guest processes: an address space, a CPU, a handle table, threads and their output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hlemu.cpu import Cpu
from hlemu.memory import AddressSpace, MemoryInfo
from kernel.handles import HandleTable
from kernel.layout import TLS_BASE, TLS_PAGES, TLS_PER_PAGE, TLS_SIZE
from kernel.objects.base import WaitObject
from kernel.objects.memory_block import MemoryBlock
from kernel.objects.resource_limit import ResourceType
from kernel.thread import Thread

if TYPE_CHECKING:
    from hlemu.loaders.smdh import Smdh
    from kernel.kernel import Kernel


class OutputLines(list):
    """The last ``max_lines`` lines a process printed, each kept up to ``max_chars``.

    A guest can print without end; what the process keeps for the debugger and
    the API is bounded (listeners and the terminal still get every line whole).
    ``dropped`` counts the lines let go from the front.

    >>> lines = OutputLines(max_lines=3, max_chars=8)
    >>> for i in range(5):
    ...     lines.append(f"line {i}")
    >>> lines, lines.dropped
    (['line 2', 'line 3', 'line 4'], 2)
    >>> lines.append("x" * 20); lines[-1]
    'xxxxxxxx... (12 more characters)'
    """

    def __init__(self, max_lines: int = 10_000, max_chars: int = 4096) -> None:
        super().__init__()
        self.max_lines = max_lines
        self.max_chars = max_chars
        self.dropped = 0

    def state_extra(self) -> dict[str, object]:
        return {"lines": list(self)}  # a save state keeps the lines themselves, not just the limits

    def after_restore(self) -> None:
        lines = self.__dict__.pop("lines", [])
        list.__init__(self, [str(line) for line in lines])

    def append(self, line: str) -> None:
        if len(line) > self.max_chars:
            line = f"{line[: self.max_chars]}... ({len(line) - self.max_chars} more characters)"
        super().append(line)
        if len(self) > self.max_lines:
            extra = len(self) - self.max_lines
            del self[:extra]
            self.dropped += extra


@dataclass
class ProcessStats:
    context_switches: int = 0  # times one of this process's threads was switched in
    svc_numbers: dict[int, int] = field(default_factory=dict)  # SVC number -> calls

    @property
    def svcs(self) -> int:
        return sum(self.svc_numbers.values())

    def svc_counts(self) -> dict[str, int]:
        """Calls by SVC name."""
        from kernel.svc import svc_name

        return {svc_name(n): c for n, c in sorted(self.svc_numbers.items())}


class Process(WaitObject):
    """As a wait object a process is signaled once it has ended."""

    type_name = "process"

    def __init__(self, kernel: Kernel, pid: int, name: str, space: AddressSpace, cpu: Cpu) -> None:
        super().__init__(kernel, name)
        self.pid = pid
        self.space = space
        self.cpu = cpu
        self.handles = HandleTable(self)
        self.threads: list[Thread] = []
        self.output = OutputLines()
        self.exit_code: int | None = None
        self.crash: str | None = None  # the crash report, when a guest fault ended the process
        self.crash_address: int | None = None  # the address a faulting access touched
        self.stats = ProcessStats()
        self.loaded: Thread | None = None  # the thread whose registers are in the CPU
        self.final_regions: list[MemoryInfo] | None = None  # the map when its memory was reaped
        self.released = False  # reaped: memory, CPU and slab given back
        self.mapped_blocks: set[MemoryBlock] = set()  # memory blocks this process has mapped
        self.created: dict[ResourceType, int] = {}  # objects it created that still exist, by resource
        self._tls_used = [False] * (TLS_PAGES * TLS_PER_PAGE)
        self.smdh: Smdh | None = None  # a 3DSX's titles and icon (set by spawn), for the window and the API
        self.source = ""  # the file it was loaded from ("" for an image made in memory)
        self.image_sha256 = ""  # the program's identity (Kernel.spawn), which save states name
        self.romfs: tuple[str, int, int] | None = None  # (file, offset, size) of its RomFS: fs:USER archive 3

    @property
    def alive(self) -> bool:
        return self.exit_code is None

    @property
    def status(self) -> str:
        if self.alive:
            return "running"
        return "crashed" if self.crash else f"exited ({self.exit_code})"

    def should_wait(self, thread: Thread) -> bool:
        return self.alive

    def live_threads(self) -> list[Thread]:
        return [t for t in self.threads if t.alive]

    def take_tls_slot(self) -> int | None:
        """A free thread-local-storage address, or None when all are taken."""
        for i, used in enumerate(self._tls_used):
            if not used:
                self._tls_used[i] = True
                return TLS_BASE + i * TLS_SIZE
        return None

    def free_tls_slot(self, address: int) -> None:
        self._tls_used[(address - TLS_BASE) // TLS_SIZE] = False

    def describe(self) -> str:
        return f"process {self.pid} {self.name!r}"
