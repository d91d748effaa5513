"""Rewind: a memory-bounded ring of in-memory snapshots, one every K frames.

Going back N frames restores the newest snapshot at or before the target frame and runs
forward to it; that is exact because guest execution is deterministic (same machine,
same input, same instructions). Snapshots are taken between runs only (the emulator's
``run`` stops at each K-th frame, snapshots, and goes on: where a run stops never
changes what the guest computes), never from inside a VBlank.

With ``min_seconds`` a mark comes due only once that much wall time has passed since the
last snapshot: a guest running unthrottled (hundreds of frames a second) would otherwise
spend a third of its time on snapshots, where at 60 frames a second every mark is taken.
Which marks are skipped depends on the host's speed, never what rewind reaches: it runs
forward from whichever snapshot is newest, so a sparser ring only costs a longer run forward
(at most about ``min_seconds`` of emulation).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from kernel.state.format import Deferred
from kernel.state.machine import Captured


def snapshot_bytes(snap: Captured) -> int:
    data = snap.frame_data
    size = data.raw if isinstance(data, Deferred) else data.nbytes
    return int(size + sum(a.nbytes for a in snap.blobs))


class RewindRing:
    """Snapshots every ``every`` frames; at most ``keep`` of them and ``max_bytes`` in all
    (the oldest go first); with ``min_seconds``, none sooner than that after the last
    (``clock``: seconds, monotonic)."""

    def __init__(self, every: int = 10, keep: int = 60, max_bytes: int = 256 << 20, min_seconds: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if every <= 0 or keep <= 0 or max_bytes <= 0 or not min_seconds >= 0:
            raise ValueError("rewind needs every > 0 frames, keep > 0 snapshots, max_bytes > 0 "
                             "and min_seconds >= 0")
        self.every, self.keep, self.max_bytes, self.min_seconds = every, keep, max_bytes, min_seconds
        self.clock = clock
        self.snapshots: deque[Captured] = deque()
        self.bytes = 0
        self.skipped = 0  # marks passed without a snapshot (min_seconds had not passed)
        self._taken_at = float("-inf")  # clock() at the last snapshot

    def due(self) -> bool:
        """Whether the mark just reached takes its snapshot (False counts it as skipped)."""
        if self.min_seconds and self.clock() - self._taken_at < self.min_seconds:
            self.skipped += 1
            return False
        return True

    def next_mark(self, frame: int) -> int:
        """The next frame (after ``frame``) at which a snapshot is due."""
        return (frame // self.every + 1) * self.every

    def push(self, snap: Captured) -> None:
        if self.snapshots and self.snapshots[-1].meta["frame"] >= snap.meta["frame"]:
            self.drop_after(snap.meta["frame"] - 1)
        self.snapshots.append(snap)
        self._taken_at = self.clock()
        self.bytes += snapshot_bytes(snap)
        while len(self.snapshots) > 1 and (len(self.snapshots) > self.keep or self.bytes > self.max_bytes):
            self.bytes -= snapshot_bytes(self.snapshots.popleft())

    def at_or_before(self, frame: int) -> Captured | None:
        for snap in reversed(self.snapshots):
            if snap.meta["frame"] <= frame:
                return snap
        return None

    def drop_after(self, frame: int) -> None:
        """Forget snapshots of frames after ``frame`` (a rewind made them the future)."""
        while self.snapshots and self.snapshots[-1].meta["frame"] > frame:
            self.bytes -= snapshot_bytes(self.snapshots.pop())

    @property
    def oldest_frame(self) -> int | None:
        return self.snapshots[0].meta["frame"] if self.snapshots else None
