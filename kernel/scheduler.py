"""The scheduler: who runs, for how long, and guest time. One object, one loop.

Horizon's rules on one core: the highest-priority ready thread runs (0 is highest,
63 lowest); equal priorities take turns when a thread's quantum (a count of
translated blocks, so deterministic) runs out. Guest time is counted, never read
from the host clock: one tick per guest instruction (ARM or Thumb) plus ``SVC_TICKS`` per SVC,
at the 3DS's 268,111,856 Hz. When every thread waits, time jumps to the next
deadline (idle skipping).

A *slice* is one thread's turn on its CPU with a block budget. It ends when the
budget is spent (at a block boundary), when an SVC asks for a switch, or on a fault;
timers, timeouts and device events fire, and the next thread is picked, only between
slices. A slice interrupted by anything else (an exact instruction limit, a step, a
breakpoint, a pause) stays open and goes on where it stopped, with what is left of
its budget. :meth:`Scheduler.run` (``Kernel.run``), :meth:`Scheduler.step`
(``Emulator.step``, the GDB stub) therefore drive the same machine: N steps and a
run of N instructions charge the same ticks and switch at the same places.

An IPC round trip names the thread its SVC woke (:meth:`Scheduler.hand_off`): the next
slice opens without the full pass (expire, pick, budget) when that pass is shown, by one
look at the threads and the next deadline, to choose the same thread with the same budget.

Everything that says where the schedule is sits in :class:`SchedulerState`, plain
data for save states; device events are *named* (registered once with their
callback), so the state holds names and ticks, never callables.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hlemu.cpu import Cpu, RegisterFile, Stop
from kernel.crash import crash_report
from kernel.layout import SYSTEM_TICK_HZ
from kernel.lifetime import KEEP_ENDED
from kernel.thread import Thread, ThreadState

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.objects.timer import Timer

log = logging.getLogger(__name__)
# The states as module names: the switch path tests them often, and an enum member's
# lookup through its class costs ~0.1 us each (measured).
_READY, _WAITING, _DEAD = ThreadState.READY, ThreadState.WAITING, ThreadState.DEAD

SVC_TICKS = 200  # guest ticks an SVC costs (so polling loops see time pass)
# A slice never runs longer than this many blocks, so the host gets control back (Ctrl-C, a
# window's Pause) within milliseconds even when a lone thread loops without SVCs. Where a
# slice ends does not change what the guest computes: counts are per block.
MAX_SLICE_BLOCKS = 1 << 16
UNBOUNDED = 1 << 40


@dataclass
class RunResult:
    """How :meth:`Scheduler.run` ended."""

    reason: str  # "all exited", "instruction limit", "condition met", "breakpoint", "deadlock", "fault held"
    instructions: int
    ticks: int


@dataclass
class SchedulerState:
    """Where the schedule is, as plain data (what a save state keeps of the scheduler).

    ``ticks``: guest time. ``events``: each named device event's due tick and the sequence
    number it was scheduled with (ties fire in that order), or None when not pending.
    ``slice_tid``: the thread whose slice is open (None between slices); ``slice_left``:
    blocks its budget has left; ``switch_requested``: an SVC asked to end it.
    ``current_tid``: the thread that ran last. ``idle_since`` / ``deadlock_reported``:
    idle skipping's bookkeeping. ``event_sequence`` orders events scheduled at one tick.
    Threads' own registers are their :class:`~hlemu.cpu.RegisterFile` (``Thread.context``);
    a CPU stopped inside a block says so in ``Cpu.mid_block``.
    """

    ticks: int = 0
    events: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    event_sequence: int = 0
    slice_tid: int | None = None
    slice_left: int = 0
    switch_requested: bool = False
    current_tid: int | None = None
    context_switches: int = 0
    idle_since: int | None = None
    deadlock_reported: bool = False


class Scheduler:
    """Ready selection, slice budgets, guest time and events for one kernel."""

    def __init__(self, kernel: Kernel, quantum_blocks: int) -> None:
        self.kernel = kernel
        self.quantum_blocks = quantum_blocks
        self.state = SchedulerState()
        self.timers: set[Timer] = set()  # timers with a deadline (kernel.timers)
        self.timed_waits: set[Thread] = set()  # waiting threads with a deadline (kernel.timed_waits)
        self.current: Thread | None = None  # the running thread, or the one that ran last
        self._slice: Thread | None = None  # the thread whose slice is open
        self._running: Cpu | None = None  # the CPU inside run()/step() right now
        self.mark = 0  # the running CPU's instruction count already in ticks (the SVC path adds on)
        self._callbacks: dict[str, Callable[[], None]] = {}
        self._last_stop: Stop | None = None
        self._halt_pending = False  # halt() between runs: the next run of the slice returns at once
        self._fault_held = False  # the last slice faulted and a crash holder kept the process
        self._handoff: Thread | None = None  # who an IPC SVC expects to run next (hand_off)
        self.handoffs = 0  # slices opened by a handoff, without the full pass (a statistic)

    # A state is saved between runs: no CPU runs. A handoff is only a hint that the next
    # slice's opening checks (a loaded state takes the full pass once: the same choice).
    state_transient = ("_running", "_handoff", "handoffs")

    def after_restore(self) -> None:
        self._running = None
        self._handoff = None
        self.handoffs = 0

    # -- guest time and events -------------------------------------------------------------
    @property
    def ticks(self) -> int:
        return self.state.ticks

    def register_event(self, name: str, callback: Callable[[], None]) -> None:
        """Name a device event (once, when the device is made): ``callback()`` runs, between
        slices, each time the event comes due."""
        if name in self._callbacks and self._callbacks[name] is not callback:
            raise ValueError(f"event {name!r} is registered already")
        self._callbacks[name] = callback
        self.state.events.setdefault(name, None)

    def schedule_event(self, name: str, tick: int) -> None:
        """Make ``name`` come due at guest time ``tick`` (replacing a pending time)."""
        if name not in self._callbacks:
            raise KeyError(f"no event {name!r}; register_event() it first")
        self.state.event_sequence += 1
        self.state.events[name] = (tick, self.state.event_sequence)
        self.shorten_slice(max(1, tick - self.state.ticks))

    def cancel_event(self, name: str) -> None:
        self.state.events[name] = None

    def schedule(self, tick: int, callback: Callable[[], None]) -> None:
        """``callback()`` at ``tick``: the older interface, kept for devices not yet naming their
        events; the event is named after the callback (a bound method: ``Class.method``)."""
        name = getattr(callback, "__qualname__", repr(callback))
        if name in self._callbacks and self._callbacks[name] != callback:  # bound methods compare by owner
            raise ValueError(f"two callbacks named {name!r}: register_event() them under names of their own")
        self._callbacks[name] = callback
        self.schedule_event(name, tick)

    def charge(self, cpu: Cpu, extra: int = 0) -> None:
        """Add the running CPU's instructions since the last charge (and ``extra`` ticks) to
        guest time. SVCs call it on entry (with SVC_TICKS), so GetSystemTick sees their work."""
        now = cpu.instructions
        self.state.ticks += now - self.mark + extra
        self.mark = now

    def expire(self) -> None:
        """Fire due events and timers and end waits whose deadline has passed."""
        st = self.state
        while True:
            due = [(when, name) for name, when in st.events.items() if when is not None and when[0] <= st.ticks]
            if not due:
                break
            _, name = min(due)
            st.events[name] = None
            self._callbacks[name]()
        if not self.timers and not self.timed_waits:
            return
        for timer in sorted((t for t in self.timers if t.deadline is not None and t.deadline <= st.ticks),
                            key=lambda t: (t.deadline, t.object_id)):
            timer.fire(st.ticks)
        for thread in sorted(self.timed_waits, key=lambda t: t.tid):
            w = thread.wait
            if thread.state == _WAITING and w is not None and w.deadline is not None \
                    and w.deadline <= st.ticks:
                results = {0: w.timeout_result, 1: 0xFFFFFFFF} if w.kind == "sync" else {0: w.timeout_result}
                self.kernel.wake(thread, results)

    def next_deadline(self) -> int | None:
        deadlines = [when[0] for when in self.state.events.values() if when is not None]
        if self.timers:  # (asked at every slice: most have no timers and no timed waits)
            deadlines += [t.deadline for t in self.timers if t.deadline is not None]
        if self.timed_waits:
            deadlines += [t.wait.deadline for t in self.timed_waits
                          if t.state == _WAITING and t.wait and t.wait.deadline is not None]
        return min(deadlines) if deadlines else None

    # -- who runs -----------------------------------------------------------------------------
    def make_ready(self, thread: Thread, front: bool = False) -> None:
        if thread.state is _DEAD or thread.process.exit_code is not None:
            return  # an ended thread never runs again (closing its process's handles wakes waiters)
        thread.state = _READY
        thread.wait = None
        kernel = self.kernel
        kernel._seq += 1  # (Kernel._sequence, inline: every wake passes here)
        seq = kernel._seq
        thread.ready_seq = -seq if front else seq
        cur = self.current
        if cur is not None and thread is not cur and thread.priority <= cur.priority:
            self.shorten_slice(self.quantum_blocks)  # it gets a turn at quantum end

    def pick(self) -> Thread | None:
        """The ready thread of best priority; among equals, the one ready longest."""
        best: Thread | None = None
        for t in self.kernel.threads:
            if t.state is _READY and (
                    best is None or t.priority < best.priority
                    or (t.priority == best.priority and t.ready_seq < best.ready_seq)):
                best = t
        return best

    def shorten_slice(self, blocks: int) -> None:
        """Let the open slice run at most ``blocks`` more blocks (a thread became ready, or a
        deadline was set, after the slice's budget was chosen)."""
        if self._slice is None:
            return
        if blocks < 0:  # (compares, not min/max: a wake during IPC passes here)
            blocks = 0
        st = self.state
        if blocks < st.slice_left:
            st.slice_left = blocks
        running = self._running
        if running is not None:
            running.limit_blocks(blocks)

    def request_switch(self) -> None:
        """From an SVC: end the open slice after this SVC, so the scheduler picks again."""
        if self._slice is not None:
            self.state.switch_requested = True
            self._slice.process.cpu.halt()

    def preempt_if_needed(self) -> None:
        """A thread of higher priority than the running one became ready: switch now."""
        cur = self.current
        if cur is None or cur.state != _READY:
            return
        if any(t.state == _READY and t.priority < cur.priority for t in self.kernel.threads):
            cur.ready_seq = -self.kernel._sequence()  # a preempted thread keeps its turn
            self.request_switch()

    def halt(self) -> None:
        """Stop the running CPU before its next block; the slice stays open (a pause). The one
        call another host thread may make (Unicorn's stop, through Cpu.halt, is meant for it)."""
        if self._running is not None:
            self._running.halt()
        else:
            self._halt_pending = True  # e.g. from a listener told between slices

    def stop_here(self) -> None:
        """From a memory callback on the emulation thread (a watchpoint): stop the running CPU
        before the accessing instruction completes (:meth:`Cpu.stop_here`); the slice stays
        open, as for :meth:`halt`."""
        if self._running is not None:
            self._running.stop_here()
        else:
            self._halt_pending = True

    # -- registers --------------------------------------------------------------------------------
    def registers(self, thread: Thread) -> RegisterFile | None:
        """A live thread's registers (a copy): the CPU's if it is loaded, else its saved ones."""
        if not thread.alive or thread.context is None:
            return None
        if thread.process.loaded is thread:
            return thread.process.cpu.registers()
        return thread.context.copy()

    def set_registers(self, thread: Thread, regs: RegisterFile) -> None:
        """Give a live thread new registers (a debugger's write), loaded or saved."""
        if not thread.alive or thread.context is None:
            raise ValueError(f"{thread.describe()} has ended: it has no registers")
        if thread.process.loaded is thread:
            thread.process.cpu.set_registers(regs)
        else:
            thread.context.raw[:] = regs.raw

    def _switch_to(self, thread: Thread) -> None:
        process = thread.process
        if thread.state is _DEAD or process.exit_code is not None:
            raise RuntimeError(f"scheduling {thread.describe()}, which has ended")
        cpu = process.cpu
        if process.loaded is not thread:
            previous = process.loaded
            if previous is not None and previous.alive and previous.context is not None:
                cpu.save_registers(previous.context)
            if thread.context is None:
                raise RuntimeError(f"scheduling {thread.describe()}, whose registers are gone")
            cpu.load_thread(thread.context)
            process.loaded = thread
        if self.current is not thread:
            self.state.context_switches += 1
            process.stats.context_switches += 1
        if thread.pending_results:
            cpu.write_results(thread.pending_results)
            results, thread.pending_results = thread.pending_results, {}
            if thread.pending_svc is not None:  # its listeners wait to see it complete
                self.kernel.svc_completed(thread, results)
        self.current = thread
        self.state.current_tid = thread.tid

    # -- slices ------------------------------------------------------------------------------------
    def _budget(self, thread: Thread) -> int:
        """Blocks ``thread`` may run now. A full quantum when another thread of its priority
        waits for a turn; up to the next deadline (each block is at least one tick) when a
        timer or timeout is pending; otherwise until it makes an SVC (no slices to pay for)."""
        priority = thread.priority
        for t in self.kernel.threads:
            if t.state is _READY and t.priority <= priority and t is not thread:
                return self.quantum_blocks
        budget = UNBOUNDED
        deadline = self.next_deadline()
        if deadline is not None:
            budget = max(1, min(deadline - self.state.ticks, budget))
        return min(budget, MAX_SLICE_BLOCKS)

    def hand_off(self, thread: Thread) -> None:
        """From an IPC SVC whose thread blocked after making ``thread`` ready (a request
        received by a waiting server, a reply that wakes its client): ``thread`` should run
        next. The next slice then opens without the full pass if :meth:`_handoff_budget` shows
        the full pass would choose the same."""
        self._handoff = thread

    def _handoff_budget(self, thread: Thread) -> int | None:
        """The budget the full pass (expire, pick, budget) would give ``thread``, or None if
        it might do anything else. It would pick ``thread`` and do nothing else when nothing is
        due (expire has no work: every deadline is later), ``thread`` is ready and no other
        ready thread has its priority or better (so pick() finds no one before it: a
        higher-priority or older equal-priority thread still runs first) and the budget is
        the one without a quantum."""
        if thread.state is not _READY:
            return None
        priority = thread.priority
        for t in self.kernel.threads:
            if t.state is _READY and t.priority <= priority and t is not thread:
                return None
        deadline = self.next_deadline()
        if deadline is None:
            return MAX_SLICE_BLOCKS
        if deadline <= self.state.ticks:
            return None
        return min(deadline - self.state.ticks, MAX_SLICE_BLOCKS)

    def _open_slice(self) -> bool | None:
        """Expire what is due, pick a thread and open its slice. True: opened; None: every
        thread waits and time moved on to the next deadline; False: nothing can ever run."""
        st = self.state
        thread = self._handoff
        if thread is not None:  # an IPC handoff: the same choice, without the full pass
            self._handoff = None
            budget = self._handoff_budget(thread)
            if budget is not None:
                self.handoffs += 1
                self._begin(thread, budget)
                return True
        self.expire()
        thread = self.pick()
        if thread is None:
            deadline = self.next_deadline()
            if deadline is None or self._idle_for_good():
                self._report_deadlock(periodic=deadline is not None)
                return False
            if st.idle_since is None:
                st.idle_since = st.ticks
            st.ticks = max(st.ticks, deadline)  # idle skipping
            return None
        self._begin(thread, None)
        return True

    def _begin(self, thread: Thread, budget: int | None) -> None:
        """Open ``thread``'s slice with ``budget`` (None: :meth:`_budget`, asked after the switch,
        as the full pass always has: the switch tells SVC listeners, which may change it)."""
        st = self.state
        st.idle_since = None
        st.deadlock_reported = False
        listened = thread.pending_svc is not None
        self._switch_to(thread)
        self._slice = thread
        st.slice_tid = thread.tid
        st.slice_left = self._budget(thread) if budget is None or listened else budget
        st.switch_requested = False

    def _close_slice(self, thread: Thread, stop: Stop | None) -> None:
        if stop is Stop.QUANTUM and thread.state is _READY:
            thread.ready_seq = self.kernel._sequence()  # round robin among equal priorities
        self._slice = None
        self.state.slice_tid = None
        self.state.switch_requested = False
        alive = thread.state is not _DEAD
        self.current = thread if alive else None
        self.state.current_tid = thread.tid if alive else None
        if self.kernel._ended > KEEP_ENDED:
            self.kernel._reap_old()

    def _run_open(self, instructions: int | None, step: bool) -> Stop:
        """Run the open slice: up to ``instructions`` more instructions, or (``step``) one instruction."""
        thread = self._slice
        assert thread is not None
        cpu = thread.process.cpu
        st = self.state
        if self._halt_pending:
            self._halt_pending = False
            self._last_stop = Stop.HALT
            return Stop.HALT
        self.mark = cpu.instructions
        self._running = cpu
        try:
            stop = cpu.step(st.slice_left) if step else cpu.run(st.slice_left, instructions)
        finally:
            self._running = None
            now = cpu.instructions  # charge(cpu), inline: this runs once a slice
            st.ticks += now - self.mark  # (SVCs moved the mark on: they charged their part)
            self.mark = now
            left = cpu.blocks_left
            if left < st.slice_left:
                st.slice_left = left
        self._last_stop = stop
        if stop is Stop.FAULT:
            assert cpu.fault is not None
            report = crash_report(thread, cpu.fault)
            if self.kernel.crash_holders and self.kernel.hold_crash(thread, cpu.fault, report):
                self._fault_held = True  # a debugger's stop at the fault: the slice stays open
                return stop
            self.kernel.crash_process(thread.process, report, cpu.fault.address)
        if (stop is Stop.QUANTUM or stop is Stop.FAULT or st.switch_requested or thread.state is not _READY
                or thread.process.exit_code is not None):  # (not READY covers an ended thread)
            self._close_slice(thread, stop)
        return stop

    def _ready_to_run(self) -> bool | None:
        """An open slice to run: True; None: not yet (time moved, or a slice just closed); False: never."""
        current = self._slice
        if current is None:
            return self._open_slice()
        if self.state.switch_requested or current.state is not _READY:  # (not READY covers an ended thread)
            self._close_slice(current, None)
            return None
        return True

    # -- the two ways to drive it -----------------------------------------------------------------
    def run(self, max_instructions: int | None = None, until: Callable[[], bool] | None = None) -> RunResult:
        """Run every process until all have ended, ``max_instructions`` more instructions have
        run (exactly), ``until()`` is true (checked between slices and after pauses), a breakpoint
        stops, or nothing can ever run again."""
        kernel = self.kernel
        stop_at = None if max_instructions is None else kernel.instructions + max_instructions
        self._last_stop = None
        self._fault_held = False
        while True:
            if not kernel.any_alive():
                return self._result("all exited")
            if stop_at is not None and kernel.instructions >= stop_at:
                return self._result("instruction limit")
            if until is not None and until():
                return self._result("condition met")
            if self._last_stop is Stop.BREAKPOINT:
                self._last_stop = None
                return self._result("breakpoint")
            if self._fault_held:
                self._fault_held = False
                return self._result("fault held")
            ready = self._ready_to_run()
            if ready is False:
                return self._result("deadlock")
            if ready:
                self._run_open(None if stop_at is None else stop_at - kernel.instructions, step=False)

    def run_slice(self) -> bool:
        """Run one slice (or what is left of the open one). False when no thread can ever run again."""
        ready = self._ready_to_run()
        if ready:
            self._run_open(None, step=False)
        return ready is not False

    def step(self) -> Thread | None:
        """Run exactly one guest instruction of the thread that would run next, as a run would
        run it (the same slices, budgets and ticks); when every thread waits, guest time first
        moves on to what wakes one. The thread that ran it, or None when nothing ever can."""
        while self.kernel.any_alive():
            ready = self._ready_to_run()
            if ready is False:
                return None
            if ready:
                thread = self._slice
                if self._run_open(None, step=True) in (Stop.STEPPED, Stop.FAULT):
                    return thread
        return None

    def _result(self, reason: str) -> RunResult:
        return RunResult(reason, self.kernel.instructions, self.state.ticks)

    # -- idling ------------------------------------------------------------------------------------
    def _idle_for_good(self) -> bool:
        """Every thread waits, and only periodic events (periodic timers, the display's VBlank)
        are pending: once each of them has fired with nobody woken, none ever will, so an idle
        system with a VBlank must not skip time forever. A timed wait or a one-shot timer
        still to come means the system is only sleeping."""
        st = self.state
        if st.idle_since is None or self.timed_waits:
            return False
        periods = []
        for timer in self.timers:
            if timer.deadline is not None:
                if not timer.interval:
                    return False
                periods.append(timer.interval)
        return st.ticks - st.idle_since > max([SYSTEM_TICK_HZ, *(2 * p for p in periods)])

    def _report_deadlock(self, periodic: bool = False) -> None:
        if self.state.deadlock_reported:
            return
        self.state.deadlock_reported = True
        why = " (only periodic events are pending, and they wake nobody)" if periodic else ""
        for p in self.kernel.processes.values():
            if p.alive:
                waits = "; ".join(f"thread {t.tid}: {t.wait.describe() if t.wait else '?'}" for t in p.live_threads())
                self.kernel.output(p, f"[hlemu] deadlock: every thread waits forever{why} ({waits})")
