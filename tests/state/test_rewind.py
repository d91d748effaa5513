"""Rewind goes back exactly: after rewind(N) the machine equals a straight run to that frame."""

from __future__ import annotations

from tests.state.conftest import DEMO, fingerprint, make


def test_rewind_equals_a_straight_run_to_that_frame():
    straight = make(DEMO, "semifastmem")
    straight.run(frames=7)
    want = fingerprint(straight)
    straight.close()
    emu = make(DEMO, "semifastmem")
    emu.enable_rewind(every_frames=3, keep=10)
    emu.run(frames=12)
    assert emu.frame == 12
    assert emu.rewind(frames=5) == 7
    got = fingerprint(emu)
    for key in want:
        assert got[key] == want[key], key
    # and going on from there is the straight run going on
    emu.run(frames=2)
    again = make(DEMO, "semifastmem")
    again.run(frames=9)
    assert fingerprint(emu) == fingerprint(again)
    emu.close()
    again.close()


def test_rewinding_with_rewind_on_changes_nothing_computed():
    plain = make(DEMO, "semifastmem")
    plain.run(frames=8)
    emu = make(DEMO, "semifastmem")
    emu.enable_rewind(every_frames=2, keep=3)
    emu.run(frames=8)
    assert fingerprint(emu) == fingerprint(plain)
    assert len(emu._rewind.snapshots) == 3  # memory-bounded ring
    plain.close()
    emu.close()


def test_a_snapshot_that_cannot_be_taken_turns_rewind_off_not_the_run():
    """A debugger's crash hook is a host callback a state does not keep: at the next mark
    rewind turns itself off, the run goes on to its frames, and rewind says why."""
    import pytest

    from kernel.state import StateError

    emu = make(DEMO, "semifastmem")
    emu.enable_rewind(every_frames=5)
    emu.on_crash(lambda *args: False)
    assert emu.run(frames=12).reason == "frames done" and emu.frame == 12
    with pytest.raises(StateError, match="turned itself off: cannot save"):
        emu.rewind(frames=3)
    emu.close()


def test_a_pause_asked_while_a_rewind_snapshot_is_taken_stops_the_run():
    """A window's Pause may arrive between two pieces of a run (while the ring's snapshot is
    taken): the run stops there and says "paused", not the piece's "frames done", and the pause
    is not lost to the next piece."""
    emu = make(("fb",), "semifastmem")
    emu.enable_rewind(every_frames=10, keep=4)
    take = emu._rewind_snapshot

    def snapshot_then_pause(ring):
        taken = take(ring)
        emu.interrupt()  # as Session.pause does, from the GUI thread
        return taken

    emu._rewind_snapshot = snapshot_then_pause
    result = emu.run(frames=10**9)
    assert (result.reason, emu.frame) == ("paused", 10)
    emu._rewind_snapshot = take
    assert emu.run(frames=5).reason == "frames done" and emu.frame == 15  # the next run is not paused
    emu.close()


def test_marks_sooner_than_min_seconds_pass_without_a_snapshot_and_rewind_is_still_exact():
    """The window's ring (``min_seconds``): a mark reached before that much wall time has
    passed since the last snapshot takes none, and rewind runs forward from an older one to
    the same machine. The clock here is the test's: it moves only when told."""
    now = [0.0]
    emu = make(DEMO, "semifastmem")
    emu.enable_rewind(every_frames=3, keep=10, min_seconds=0.5)
    ring = emu._rewind
    ring.clock = lambda: now[0]
    ring._taken_at = 0.0  # (the snapshot enable_rewind took, on the test's clock)
    emu.run(frames=9)  # marks at 3, 6, 9: the clock has not moved
    assert [s.meta["frame"] for s in ring.snapshots] == [0] and ring.skipped == 3
    now[0] = 0.5
    emu.run(frames=3)  # the mark at 12 is due
    now[0] = 0.7
    emu.run(frames=6)  # 15 and 18 are not
    assert [s.meta["frame"] for s in ring.snapshots] == [0, 12] and ring.skipped == 5
    assert emu.rewind(frames=8) == 10  # from frame 0's snapshot, run forward to 10
    straight = make(DEMO, "semifastmem")
    straight.run(frames=10)
    assert fingerprint(emu) == fingerprint(straight)
    assert [s.meta["frame"] for s in ring.snapshots] == [0]  # 12 is the future now
    emu.close()
    straight.close()


def test_min_seconds_must_not_be_negative():
    import pytest

    from kernel.state.rewind import RewindRing

    with pytest.raises(ValueError, match="min_seconds >= 0"):
        RewindRing(min_seconds=-1)
    with pytest.raises(ValueError, match="min_seconds >= 0"):
        RewindRing(min_seconds=float("nan"))
