"""The rewind ring's own bookkeeping, on made-up snapshots: what it keeps, what it drops, and
that its byte count is exactly what it holds (a long session in the window must not grow)."""

from __future__ import annotations

import numpy as np
import pytest

from kernel.state.format import Deferred
from kernel.state.machine import Captured
from kernel.state.rewind import RewindRing, snapshot_bytes


def snap(frame: int, frame_bytes: int = 10, blob_bytes: tuple[int, ...] = ()) -> Captured:
    return Captured({"frame": frame}, {}, [np.zeros(n, np.uint8) for n in blob_bytes],
                    np.zeros(0, np.int64), np.zeros(frame_bytes, np.uint8))


def frames(ring: RewindRing) -> list[int]:
    return [s.meta["frame"] for s in ring.snapshots]


def test_a_snapshot_counts_its_frames_and_its_blobs():
    assert snapshot_bytes(snap(0, 100, (7, 3))) == 110
    deferred = Captured({"frame": 0}, {}, [np.zeros(5, np.uint8)], np.zeros(0, np.int64),
                        Deferred("frames", memoryview(b"x"), 4096))
    assert snapshot_bytes(deferred) == 4101  # a state read from a file: its frames' raw size


@pytest.mark.parametrize("args", [{"every": 0}, {"keep": 0}, {"max_bytes": 0}, {"every": -1}])
def test_a_ring_needs_positive_sizes(args):
    with pytest.raises(ValueError, match="rewind needs"):
        RewindRing(**args)


def test_the_smallest_ring_is_allowed():
    ring = RewindRing(every=1, keep=1, max_bytes=1, min_seconds=0)
    ring.push(snap(0))
    ring.push(snap(1))
    assert frames(ring) == [1]  # one kept, over max_bytes or not: the newest
    assert ring.next_mark(5) == 6


def test_keep_bounds_the_count_and_the_oldest_go_first():
    ring = RewindRing(every=10, keep=3)
    for f in (10, 20, 30):
        ring.push(snap(f))
    assert frames(ring) == [10, 20, 30] and ring.bytes == 30 and ring.oldest_frame == 10
    ring.push(snap(40))
    assert frames(ring) == [20, 30, 40] and ring.bytes == 30 and ring.oldest_frame == 20


@pytest.mark.parametrize(("max_bytes", "kept"), [(30, [10, 20, 30]), (29, [20, 30]), (31, [10, 20, 30]),
                                                 (15, [30])])
def test_max_bytes_bounds_what_is_held(max_bytes, kept):
    ring = RewindRing(every=10, keep=60, max_bytes=max_bytes)
    for f in (10, 20, 30):
        ring.push(snap(f))
    assert frames(ring) == kept
    assert ring.bytes == 10 * len(kept)


def test_the_byte_count_follows_pushes_drops_and_rewinds():
    ring = RewindRing(every=10, keep=60)
    ring.push(snap(10, 100, (5,)))
    ring.push(snap(20, 200))
    ring.push(snap(30, 300, (1, 2)))
    assert ring.bytes == 105 + 200 + 303
    ring.drop_after(20)
    assert frames(ring) == [10, 20] and ring.bytes == 305
    ring.drop_after(20)  # nothing after 20 any more
    assert ring.bytes == 305
    ring.drop_after(9)
    assert frames(ring) == [] and ring.bytes == 0 and ring.oldest_frame is None


def test_a_snapshot_at_or_before_the_newest_replaces_the_future():
    """After a rewind the ring is pushed a frame it already holds, or an earlier one: the
    snapshots from that frame on were a future that no longer happens."""
    ring = RewindRing(every=10, keep=60)
    for f in (10, 20, 21):
        ring.push(snap(f))
    ring.push(snap(21, 50))
    assert frames(ring) == [10, 20, 21] and ring.bytes == 10 + 10 + 50
    ring.push(snap(15))
    assert frames(ring) == [10, 15] and ring.bytes == 20


def test_at_or_before_finds_the_newest_not_after_the_frame():
    ring = RewindRing(every=10, keep=60)
    for f in (10, 20):
        ring.push(snap(f))
    assert ring.at_or_before(20).meta["frame"] == 20
    assert ring.at_or_before(19).meta["frame"] == 10
    assert ring.at_or_before(10).meta["frame"] == 10
    assert ring.at_or_before(9) is None


def test_due_waits_min_seconds_after_the_last_snapshot():
    now = [100.0]
    ring = RewindRing(every=10, keep=60, min_seconds=0.5, clock=lambda: now[0])
    assert ring.due()  # nothing taken yet
    ring.push(snap(10))
    now[0] = 100.4
    assert not ring.due() and ring.skipped == 1
    now[0] = 100.5
    assert ring.due() and ring.skipped == 1
    never = RewindRing(every=10, keep=60, clock=lambda: now[0])  # min_seconds 0: every mark
    never.push(snap(10))
    assert never.due() and never.skipped == 0
