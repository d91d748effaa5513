"""Guest faults and the per-page fault counters."""

from __future__ import annotations

import numpy as np

from hlemu.memory.constants import NUM_FAULT_KINDS, NUM_PAGES, PAGE_SHIFT, FaultKind
from hlemu.memory.lazy import lazy_zeros


class GuestFault(Exception):
    """A guest access the guest's page table does not allow.

    Raised by every memory path with the same fields, so a caller (the
    kernel, a test, the REPL) can tell what happened without knowing which
    path ran. ``address`` is the first byte of the access that hit the bad
    page; ``kind`` is ``"unmapped"`` or ``"permission"``.
    """

    def __init__(self, pid: int, address: int, size: int, access: str, kind: str,
                 fault_address: int | None = None) -> None:
        self.pid = pid
        self.address = address
        self.size = size
        self.access = access
        self.kind = kind
        self.fault_address = address if fault_address is None else fault_address
        what = "is unmapped" if kind == "unmapped" else f"does not allow {access}s"
        super().__init__(
            f"process {pid}: {access} of {size} byte{'s' if size != 1 else ''} at {address:#010x}: "
            f"page {self.fault_address & ~0xFFF:#010x} {what}"
        )

    def key(self) -> tuple[int, int, int, str, str, int]:
        """Everything that identifies the fault, for comparing paths."""
        return (self.pid, self.address, self.size, self.access, self.kind, self.fault_address)


class FaultCounters:
    """Per-page counters, one row per :class:`FaultKind`.

    The array is 5 x 1M ``uint32`` allocated zeroed (:func:`lazy_zeros`), so the
    host commits only the pages of counters that were ever bumped. The compiled CPU hooks
    can bump ``array`` directly; Python code uses :meth:`bump`.
    """

    def __init__(self) -> None:
        self.array = lazy_zeros((NUM_FAULT_KINDS, NUM_PAGES), np.uint32)

    def bump(self, kind: FaultKind, vaddr: int, n: int = 1) -> None:
        self.array[kind, (vaddr & 0xFFFFFFFF) >> PAGE_SHIFT] += n

    def totals(self) -> dict[str, int]:
        """Sum over all pages, by kind name (``{"unmapped": 3, ...}``)."""
        sums = self.array.sum(axis=1, dtype=np.uint64)
        return {kind.name.lower(): int(sums[kind]) for kind in FaultKind}

    def page(self, vaddr: int) -> dict[str, int]:
        column = self.array[:, (vaddr & 0xFFFFFFFF) >> PAGE_SHIFT]
        return {kind.name.lower(): int(column[kind]) for kind in FaultKind}

    def pages_with_faults(self, kind: FaultKind | None = None) -> np.ndarray:
        """Page numbers with any count (of ``kind``, or of any kind)."""
        rows = self.array if kind is None else self.array[kind : kind + 1]
        return np.flatnonzero(rows.any(axis=0))

    def reset(self) -> None:
        self.array[:] = 0

    def frozen(self) -> FaultCounters:
        """The same counts in a compact array covering only the pages that have any (for an
        ended process: its 20 MiB mapping goes, the numbers stay)."""
        pages = self.pages_with_faults()
        return _FrozenFaults(pages, self.array[:, pages].copy())


class _FrozenFaults(FaultCounters):
    """Read-only counters of a closed address space: ``array`` holds only ``pages``' columns."""

    def __init__(self, pages: np.ndarray, columns: np.ndarray) -> None:
        self._pages = pages
        self.array = columns
        self.array.flags.writeable = False

    def bump(self, kind: FaultKind, vaddr: int, n: int = 1) -> None:
        """A stale path touching a closed space faults, but its counts are final."""

    def page(self, vaddr: int) -> dict[str, int]:
        at = np.searchsorted(self._pages, (vaddr & 0xFFFFFFFF) >> PAGE_SHIFT)
        hit = at < len(self._pages) and self._pages[at] == (vaddr & 0xFFFFFFFF) >> PAGE_SHIFT
        return {kind.name.lower(): int(self.array[kind, at]) if hit else 0 for kind in FaultKind}

    def pages_with_faults(self, kind: FaultKind | None = None) -> np.ndarray:
        rows = self.array if kind is None else self.array[kind : kind + 1]
        return self._pages[rows.any(axis=0)]

    def reset(self) -> None:
        raise ValueError("the address space is closed: its fault counts are final")
