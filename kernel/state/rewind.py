"""Rewind: a memory-bounded ring of in-memory snapshots, one every K frames.

Going back N frames restores the newest snapshot at or before the target frame and runs
forward to it; that is exact because guest execution is deterministic (same machine,
same input, same instructions). Snapshots are taken between runs only (the emulator's
``run`` stops at each K-th frame, snapshots, and goes on: where a run stops never
changes what the guest computes), never from inside a VBlank.
"""

from __future__ import annotations

from collections import deque

from kernel.state.format import Deferred
from kernel.state.machine import Captured


def snapshot_bytes(snap: Captured) -> int:
    data = snap.frame_data
    size = data.raw if isinstance(data, Deferred) else data.nbytes
    return int(size + sum(a.nbytes for a in snap.blobs))


class RewindRing:
    """Snapshots every ``every`` frames; at most ``keep`` of them and ``max_bytes`` in all
    (the oldest go first)."""

    def __init__(self, every: int = 10, keep: int = 60, max_bytes: int = 256 << 20) -> None:
        if every <= 0 or keep <= 0 or max_bytes <= 0:
            raise ValueError("rewind needs every > 0 frames, keep > 0 snapshots and max_bytes > 0")
        self.every, self.keep, self.max_bytes = every, keep, max_bytes
        self.snapshots: deque[Captured] = deque()
        self.bytes = 0

    def next_mark(self, frame: int) -> int:
        """The next frame (after ``frame``) at which a snapshot is due."""
        return (frame // self.every + 1) * self.every

    def push(self, snap: Captured) -> None:
        if self.snapshots and self.snapshots[-1].meta["frame"] >= snap.meta["frame"]:
            self.drop_after(snap.meta["frame"] - 1)
        self.snapshots.append(snap)
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
