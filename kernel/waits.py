"""Waiting: how threads block on objects, wake, time out, and inherit priority.

Part of :class:`kernel.kernel.Kernel` (a mixin, split out to keep each concept in
one place): a wait names its objects, an optional deadline in guest ticks and
the results to hand back; objects call :meth:`recheck_waiters` when they change.
Deadlines (timeouts, timers, device events) are the scheduler's: it ends waits
whose deadline has passed, between slices (:meth:`kernel.scheduler.Scheduler.expire`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.errors import Result
from kernel.thread import Thread, ThreadState, Wait

if TYPE_CHECKING:
    from kernel.objects.base import WaitObject
    from kernel.scheduler import Scheduler

_WAITING = ThreadState.WAITING


class Waits:
    if TYPE_CHECKING:  # provided by Kernel
        timed_waits: set[Thread]
        scheduler: Scheduler
        _seq: int

    def update_priority(self, thread: Thread) -> None:
        """Recompute ``thread``'s effective priority (mutex priority inheritance), and pass a
        change on to the owner of a mutex it waits for."""
        from kernel.objects.mutex import Mutex

        seen: set[int] = set()
        current: Thread | None = thread
        while current is not None and current.tid not in seen:
            seen.add(current.tid)
            best = current.base_priority
            for mutex in current.held_mutexes:
                for waiter in mutex.waiters:
                    best = min(best, waiter.priority)
            if best == current.priority and current is not thread:
                break
            current.priority = best
            wait = current.wait
            owners = [o.owner for o in wait.objects if isinstance(o, Mutex) and o.owner is not None] \
                if wait is not None and current.state is ThreadState.WAITING else []
            current = owners[0] if owners else None

    # -- waiting ---------------------------------------------------------------------------
    def block(self, thread: Thread, wait: Wait) -> None:
        """Put ``thread`` to sleep on ``wait``; its SVC's result comes when it wakes."""
        self._seq += 1  # (Kernel._sequence, inline: every blocking SVC passes here)
        wait.since = self._seq
        thread.state = _WAITING
        thread.wait = wait
        if wait.deadline is not None:
            self.timed_waits.add(thread)
        for obj in wait.objects:
            obj.waiters.append(thread)
            owner = getattr(obj, "owner", None)
            if owner is not None:
                self.update_priority(owner)
        scheduler = self.scheduler
        if thread is scheduler.current:
            scheduler.request_switch()

    def wake(self, thread: Thread, results: dict[int, int]) -> None:
        self.timed_waits.discard(thread)
        if thread.wait is not None:
            for obj in thread.wait.objects:
                if thread in obj.waiters:
                    obj.waiters.remove(thread)
                    owner = getattr(obj, "owner", None)
                    if owner is not None and owner is not thread:
                        self.update_priority(owner)
        thread.pending_results.update(results)
        self.scheduler.make_ready(thread)

    def try_complete(self, thread: Thread, wait: Wait) -> tuple[int, int] | None:
        """If ``wait`` is satisfied now, take the objects; returns (index or -1 for all, result).

        Each object is settled (:meth:`~kernel.objects.base.WaitObject.settle`) just before
        it is asked whether to wait, in the order the wait names them.

        The result is SUCCESS unless the object that ended the wait says otherwise (a
        server session whose client has gone ends a ReplyAndReceive with SESSION_CLOSED).
        """
        objs = wait.objects
        if wait.wait_all:
            for o in objs:  # settled one by one, in order, up to the first that waits
                o.settle(thread)
                if o.should_wait(thread):
                    return None
            for o in objs:
                o.acquire(thread)
            return -1, Result.SUCCESS
        for i, o in enumerate(objs):
            o.settle(thread)
            if not o.should_wait(thread):
                code = o.acquire(thread)
                return i, Result.SUCCESS if code is None else code
        return None

    def recheck_waiters(self, obj: WaitObject) -> None:
        """Something changed in ``obj``: complete the waits it can end, best priority first."""
        waiters = obj.waiters
        if not waiters:
            return
        if len(waiters) > 1:
            waiters = sorted(waiters, key=lambda t: (t.priority, t.wait.since if t.wait else 0))
        for thread in list(waiters):
            if thread.wait is None or thread.state != ThreadState.WAITING:
                continue
            done = self.try_complete(thread, thread.wait)
            if done is not None:
                index, code = done
                self.wake(thread, {0: code, 1: index & 0xFFFFFFFF if index >= 0 else 0})
        self.scheduler.preempt_if_needed()
