"""The HLE kernel: processes, the scheduler, waits, guest time and SVC dispatch.

Scheduling follows Horizon's rules on one core: the highest-priority ready
thread runs (0 is highest, 63 lowest); equal priorities take turns when a
thread's quantum (a count of translated blocks, so deterministic) runs out.
Guest time is counted, never read from the host clock: one tick per guest
instruction plus a fixed cost per SVC, at the 3DS's 268,111,856 Hz. When
every thread waits, time jumps to the next deadline (idle skipping).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hlemu.cpu import Cpu, CpuConfig, Stop
from hlemu.loaders import Image, load_image
from hlemu.memory import GuestFault, MemoryPermission, MemoryState, MemorySystem, OutOfMemory
from kernel import layout
from kernel.crash import crash_report
from kernel.display import Display
from kernel.errors import KernelError, Result
from kernel.homebrew import hand_over
from kernel.ipc import Message
from kernel.ipc_trace import IpcTrace
from kernel.layout import SYSTEM_TICK_HZ
from kernel.lifetime import KEEP_ENDED, KEEP_REAPED, Lifetimes, check_image_layout
from kernel.objects.base import KernelObject
from kernel.objects.port import ClientPort
from kernel.objects.resource_limit import ResourceType
from kernel.objects.timer import Timer
from kernel.process import Process
from kernel.services.ac import Ac
from kernel.services.apt import Apt
from kernel.services.cfg import Config
from kernel.services.fs import Fs
from kernel.services.gsp import GspGpu
from kernel.services.hid import HidUser
from kernel.services.irrst import HidSpvr, IrRst
from kernel.services.ndm import NdmU
from kernel.services.ptm import Ptm
from kernel.services.srv import SrvService
from kernel.svc import SVC_TABLE, svc_name
from kernel.thread import Thread, ThreadState
from kernel.waits import Waits

log = logging.getLogger(__name__)

SVC_TICKS = 200  # guest ticks an SVC costs (so polling loops see time pass)
MAIN_THREAD_PRIORITY = 0x30
# A slice never runs longer than this many blocks, so the host gets control back (Ctrl-C, a
# window's Pause) within milliseconds even when a lone thread loops without SVCs. Where a
# slice ends does not change what the guest computes: counts are per block.
MAX_SLICE_BLOCKS = 1 << 16

OutputSink = Callable[[Process, str], None]


@dataclass
class RunResult:
    """How :meth:`Kernel.run` ended."""

    reason: str  # "all exited", "instruction limit", "deadlock"
    instructions: int
    ticks: int


class Kernel(Waits, Lifetimes):
    """Owns the memory system and every guest process.

    >>> from hlemu.guest import program_path
    >>> k = Kernel(backend="semifastmem", output=lambda p, line: None)
    >>> p = k.spawn(program_path("hello"))
    >>> k.run().reason, p.exit_code, p.output[0]
    ('all exited', 7, 'Hello from hlemu!')
    >>> k.close()
    """

    def __init__(self, backend: str = "auto", host_page_size: int | None = None,
                 quantum_blocks: int = 20_000, output: OutputSink | None = None,
                 trace_svc: bool = False, sdmc_root: str | Path | None = None, trace_ipc: bool = False) -> None:
        self.memory = MemorySystem(backend=backend, host_page_size=host_page_size)
        cpu_backend = "fastmem" if self.memory.backend == "fastmem" else "semifastmem"
        self.cpu_config = CpuConfig(backend=cpu_backend, quantum_blocks=quantum_blocks)
        self.processes: dict[int, Process] = {}
        self.reaped: deque[Process] = deque(maxlen=KEEP_REAPED)  # ended processes whose memory went back
        self.threads: list[Thread] = []  # every live thread, in creation order
        self.timers: set[Timer] = set()
        self.timed_waits: set[Thread] = set()  # waiting threads with a deadline
        self.alarms: list[tuple[int, int, Callable[[], None]]] = []  # (tick, seq, callback) heap
        self._reaped_instructions = 0
        self._reaped_count = 0
        self._system_frames = self._make_system_pages()  # config memory and the shared page (BASE)
        self._ended = 0  # ended processes not reaped yet (at most KEEP_ENDED between slices)
        self._idle_since: int | None = None  # guest tick at which every thread started waiting
        self._deadlock_reported = False
        self.ticks = 0
        self._output_sink = output or _print_output
        self.trace_svc = trace_svc
        self.current: Thread | None = None
        self.context_switches = 0
        self._slice_mark = 0  # the running CPU's instruction count already added to ticks
        self._stop_at: int | None = None  # instruction count at which run() must stop
        self._next_pid = 0x20  # like the 3DS, application pids start above the system's
        self._next_tid = 1
        self._next_object = 1
        self._seq = 0
        self._refs: dict[int, int] = {}  # object id -> open handles
        self.ipc_listeners: list[Callable[[Message], None]] = []  # the IPC recorder, REPL hooks
        if trace_ipc:
            self.ipc_listeners.append(IpcTrace(self))
        self.named_ports: dict[str, ClientPort] = {}
        self.display = Display(self)
        self.srv = SrvService(self)
        srv_port = ClientPort(self, None, self.srv.max_sessions, service=self.srv, name="srv:")
        self.named_ports["srv:"] = srv_port
        self.retain(srv_port)
        self.gsp = GspGpu(self)
        self.hid = HidUser(self)
        self.apt, self.cfg, self.ptm, self.ac = Apt(self), Config(self), Ptm(self), Ac(self)
        self.fs = Fs(self, sdmc_root)  # SDMC at kernel.fs.sdmc_root
        for service in (self.gsp, self.hid, *self.apt.ports, *self.cfg.ports, *self.ptm.ports, *self.ac.ports,
                        NdmU(self), IrRst(self), HidSpvr(self, self.hid), self.fs.port):
            self.srv.register_hle(service)

    def output(self, process: Process, line: str) -> None:
        """A line of ``process``'s output (its own, or the kernel's report about it)."""
        with host_callback():
            self._output_sink(process, line)

    def record_ipc(self, message: Message | None) -> None:
        """Tell the IPC listeners about a message (decoded header, descriptors, result)."""
        if message is not None:
            with host_callback():
                for listener in self.ipc_listeners:
                    listener(message)

    # -- object bookkeeping ---------------------------------------------------------
    def next_object_id(self) -> int:
        self._next_object += 1
        return self._next_object - 1

    def _sequence(self) -> int:
        self._seq += 1
        return self._seq

    def add_handle(self, process: Process, obj: KernelObject, charge: ResourceType | None = None) -> int:
        """A handle to ``obj`` in ``process``; ``charge``: the object is new and counts in the
        process's resource limit of that kind until it is destroyed (see ``reserve``). When the
        table is full, an object nothing else references is destroyed, not leaked."""
        if charge is not None:
            obj.charged_to = (process, charge)
            process.created[charge] = process.created.get(charge, 0) + 1
        try:
            handle = process.handles.add(obj)
        except KernelError:
            self.destroy_if_unused(obj)
            raise
        self._refs[obj.object_id] = self._refs.get(obj.object_id, 0) + 1
        return handle

    def release_reference(self, obj: KernelObject) -> None:
        """A handle to ``obj`` was closed."""
        left = self._refs.get(obj.object_id, 1) - 1
        self._refs[obj.object_id] = left
        if left <= 0:
            self._refs.pop(obj.object_id, None)
            self.destroy_if_unused(obj)

    def retain(self, obj: KernelObject) -> None:
        """Count a reference the kernel itself holds (srv's ports, a pending IPC message)."""
        self._refs[obj.object_id] = self._refs.get(obj.object_id, 0) + 1

    def destroy_if_unused(self, obj: KernelObject) -> None:
        """Let an object release what it holds once nothing references it."""
        if obj.object_id not in self._refs:
            obj.destroy()
            if obj.charged_to is not None and obj.finished():
                owner, kind = obj.charged_to
                owner.created[kind] -= 1
                obj.charged_to = None

    def all_threads(self) -> list[Thread]:
        return self.threads

    # -- processes ------------------------------------------------------------------
    def spawn(self, program: str | Path | Image, name: str | None = None) -> Process:
        """Load a program as a new process with one ready main thread.

        A program that cannot be loaded raises :class:`LoaderError` and leaves
        the kernel as it was (no process, no memory taken).
        """
        image = program if isinstance(program, Image) else load_image(program)
        check_image_layout(image)
        self._make_room(image)
        pid = self._next_pid
        space = self.memory.create_space(pid, name or image.name)
        try:
            cpu = Cpu(space, self.cpu_config, self.dispatch_svc)
        except BaseException:
            self.memory.destroy_space(pid)
            raise
        process = Process(self, pid, name or image.name, space, cpu)
        process.smdh = image.smdh
        try:
            self._map_image(process, image)
            hand_over(self, process, image)  # a 3DSX's argument list, as a homebrew launcher gives it
            self._map_fixed_areas(process)
            stack = layout.STACK_TOP - layout.MAIN_STACK_SIZE  # LOCKED, as Citra maps it
            self.map_new(process, stack, layout.MAIN_STACK_SIZE, MemoryPermission.RW, MemoryState.LOCKED)
            self.processes[pid] = process
            self._next_pid += 1
            self.create_thread(process, image.entry, layout.STACK_TOP, 0, MAIN_THREAD_PRIORITY, name="main")
        except BaseException:
            self.processes.pop(pid, None)
            self.end_process(process, -1)  # a main thread made before the failure never runs
            self._release_memory(process)
            raise
        log.info("spawned %s from %s", process.describe(), image.source or image.name)
        return process

    def create_thread(self, process: Process, entry: int, stack_top: int, arg: int, priority: int,
                      name: str = "") -> Thread:
        tls = process.take_tls_slot()
        if tls is None:
            raise KernelError(Result.OUT_OF_MEMORY, "no thread-local storage left")
        page = tls & ~0xFFF
        if process.space.table.state[page >> 12] == MemoryState.FREE:
            try:
                self.map_new(process, page, 0x1000, MemoryPermission.RW, MemoryState.LOCKED)
            except OutOfMemory as exc:
                process.free_tls_slot(tls)
                raise KernelError(Result.OUT_OF_MEMORY, f"no memory for thread-local storage: {exc}") from None
        else:
            process.space.poke(tls, bytes(layout.TLS_SIZE))
        thread = Thread(self, process, self._next_tid, priority, entry, stack_top, arg, tls,
                        name=name or f"thread {self._next_tid}", fpscr=self.cpu_config.fpscr)
        self._next_tid += 1
        process.threads.append(thread)
        self.threads.append(thread)
        self.make_ready(thread)
        return thread

    # -- scheduling -------------------------------------------------------------------
    def make_ready(self, thread: Thread, front: bool = False) -> None:
        if not thread.alive or not thread.process.alive:
            return  # an ended thread never runs again (closing its process's handles wakes waiters)
        thread.state = ThreadState.READY
        thread.wait = None
        thread.ready_seq = -self._sequence() if front else self._sequence()
        cur = self.current
        if cur is not None and thread is not cur and thread.priority <= cur.priority:
            self.limit_slice(self.cpu_config.quantum_blocks)  # it gets a turn at quantum end

    def limit_slice(self, blocks: int) -> None:
        """Shorten the running slice to at most ``blocks`` more blocks (a thread became
        ready, or a deadline was set, after the slice's budget was chosen)."""
        cur = self.current
        if cur is not None:
            cur.process.cpu.limit_blocks(blocks)

    def pick(self) -> Thread | None:
        """The ready thread of best priority; among equals, the one ready longest."""
        best: Thread | None = None
        for t in self.threads:
            if t.state is ThreadState.READY and (
                    best is None or t.priority < best.priority
                    or (t.priority == best.priority and t.ready_seq < best.ready_seq)):
                best = t
        return best

    def reschedule(self) -> None:
        """From an SVC: stop the running thread's slice so the scheduler picks again."""
        if self.current is not None:
            self.current.process.cpu.request_stop()

    def preempt_if_needed(self) -> None:
        """A thread of higher priority than the running one became ready: switch now."""
        cur = self.current
        if cur is None or cur.state != ThreadState.READY:
            return
        if any(t.state == ThreadState.READY and t.priority < cur.priority for t in self.all_threads()):
            cur.ready_seq = -self._sequence()  # a preempted thread keeps its turn
            self.reschedule()

    def _switch_to(self, thread: Thread) -> None:
        process = thread.process
        if not thread.alive or not process.alive:
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
            self.context_switches += 1
            process.stats.context_switches += 1
        if thread.pending_results:
            cpu.write_results(thread.pending_results)
            thread.pending_results = {}
        self.current = thread

    # -- running ------------------------------------------------------------------------------
    @property
    def instructions(self) -> int:
        """Guest instructions run so far, by every process (reaped ones included)."""
        return self._reaped_instructions + sum(p.cpu.instructions for p in self.processes.values())

    def run(self, max_instructions: int | None = None, until: Callable[[], bool] | None = None) -> RunResult:
        """Run every process until all have ended (or the limit, or ``until()`` is true)."""
        start = self.instructions
        self._stop_at = None if max_instructions is None else start + max_instructions
        while True:
            if not any(p.alive for p in self.processes.values()):
                return self._result("all exited")
            if self._stop_at is not None and self.instructions >= self._stop_at:
                return self._result("instruction limit")
            if until is not None and until():
                return self._result("condition met")
            if not self.step():
                return self._result("deadlock")

    def step(self) -> bool:
        """Run one thread for one slice. False when no thread can ever run again."""
        self._expire()
        thread = self.pick()
        if thread is None:
            deadline = self._next_deadline()
            if deadline is None or self._idle_for_good():
                self._report_deadlock(periodic=deadline is not None)
                return False
            if self._idle_since is None:
                self._idle_since = self.ticks
            self.ticks = max(self.ticks, deadline)  # idle skipping
            return True
        self._idle_since = None
        self._deadlock_reported = False
        self._switch_to(thread)
        cpu = thread.process.cpu
        self._slice_mark = cpu.instructions
        stop = cpu.run(self._budget(thread))
        self.ticks += cpu.instructions - self._slice_mark
        if stop == Stop.FAULT:
            assert cpu.fault is not None
            self.crash_process(thread.process, crash_report(thread, cpu.fault), cpu.fault.address)
        elif stop == Stop.QUANTUM and thread.state == ThreadState.READY:
            thread.ready_seq = self._sequence()  # round robin among equal priorities
        self.current = None if not thread.alive else thread
        if self._ended > KEEP_ENDED:
            self._reap_old()
        return True

    def _budget(self, thread: Thread) -> int:
        """Blocks ``thread`` may run now. A full quantum when another thread of its priority
        waits for a turn; up to the next deadline (each block is at least one tick) when a
        timer or timeout is pending; otherwise until it makes an SVC (no slices to pay for).
        Never past run()'s instruction limit."""
        budget = 1 << 40
        if self._stop_at is not None:  # approach the limit in shrinking slices: blocks vary in size
            budget = max(1, (self._stop_at - self.instructions) // 16)
        if any(t.state is ThreadState.READY and t.priority <= thread.priority and t is not thread
               for t in self.threads):
            return min(budget, self.cpu_config.quantum_blocks)
        deadline = self._next_deadline()
        if deadline is not None:
            budget = max(1, min(deadline - self.ticks, budget))
        return min(budget, MAX_SLICE_BLOCKS)

    def _result(self, reason: str) -> RunResult:
        return RunResult(reason, self.instructions, self.ticks)

    def _idle_for_good(self) -> bool:
        """Every thread waits, and only periodic events (periodic timers, the display's VBlank)
        are pending: once each of them has fired with nobody woken, none ever will, so an idle
        system with a VBlank must not skip time forever. A timed wait or a one-shot timer
        still to come means the system is only sleeping."""
        if self._idle_since is None or self.timed_waits:
            return False
        periods = []
        for timer in self.timers:
            if timer.deadline is not None:
                if not timer.interval:
                    return False
                periods.append(timer.interval)
        return self.ticks - self._idle_since > max([SYSTEM_TICK_HZ, *(2 * p for p in periods)])

    def _report_deadlock(self, periodic: bool = False) -> None:
        if self._deadlock_reported:
            return
        self._deadlock_reported = True
        why = " (only periodic events are pending, and they wake nobody)" if periodic else ""
        for p in self.processes.values():
            if p.alive:
                waits = "; ".join(f"thread {t.tid}: {t.wait.describe() if t.wait else '?'}" for t in p.live_threads())
                self.output(p, f"[hlemu] deadlock: every thread waits forever{why} ({waits})")

    # -- ending ---------------------------------------------------------------------------------
    def _forget_thread(self, thread: Thread) -> None:
        """An ended thread leaves the scheduler's list (handles to it may keep the object)."""
        if thread in self.threads:
            self.threads.remove(thread)

    def exit_thread(self, thread: Thread) -> None:
        self._unwait(thread)
        thread.state = ThreadState.DEAD
        self._forget_thread(thread)
        for mutex in list(thread.held_mutexes):
            mutex.abandon()
        process = thread.process
        if process.loaded is thread:
            process.loaded = None
        thread.wake_waiters()
        if thread is self.current:
            self.reschedule()
        if not process.live_threads() and process.alive:
            self.end_process(process, 0)

    def end_process(self, process: Process, code: int) -> None:
        if not process.alive:
            return
        process.exit_code = code
        for thread in process.threads:
            if thread.alive:
                self._unwait(thread)
                thread.state = ThreadState.DEAD
                self._forget_thread(thread)
                for mutex in list(thread.held_mutexes):
                    mutex.abandon()
                thread.wake_waiters()
        process.loaded = None
        process.handles.close_all()
        process.wake_waiters()
        if self.current is not None and self.current.process is process:
            process.cpu.request_stop()
        log.info("%s ended: %s", process.describe(), process.status)
        self._ended += 1

    def _unwait(self, thread: Thread) -> None:
        """Take a thread out of whatever it waits on (it is exiting)."""
        self.timed_waits.discard(thread)
        if thread.wait is not None:
            for obj in thread.wait.objects:
                if thread in obj.waiters:
                    obj.waiters.remove(thread)
        thread.wait = None

    def crash_process(self, process: Process, report: str, address: int | None = None) -> None:
        """End ``process`` with a crash ``report`` (``address``: the faulting one, if memory was)."""
        process.crash = report
        process.crash_address = address
        self.output(process, report)
        self.end_process(process, -1)

    # -- SVCs -------------------------------------------------------------------------------------
    def dispatch_svc(self, cpu: Cpu, number: int, args: list[int]) -> None:
        """Serve one SVC of the running thread (called from the CPU's interrupt hook)."""
        thread = self.current
        if thread is None or thread.process.cpu is not cpu:
            raise RuntimeError("an SVC arrived from a CPU that is not running the current thread")
        process = thread.process
        now = cpu.instructions  # guest time includes this slice's work so far
        self.ticks += now - self._slice_mark + SVC_TICKS
        self._slice_mark = now
        counts = process.stats.svc_numbers
        counts[number] = counts.get(number, 0) + 1
        entry = SVC_TABLE.get(number)
        if entry is None or entry.handler is None:
            name = svc_name(number)
            log.warning("%s called %s (SVC %#04x), which is not implemented", process.describe(), name, number)
            self.output(process, f"[hlemu] unimplemented SVC {number:#04x} {name}: returning NOT_IMPLEMENTED")
            cpu.write_results((Result.NOT_IMPLEMENTED,))
            return
        try:
            results = entry.handler(self, thread, args)
        except KernelError as err:
            results = (err.code,)
            if self.trace_svc:
                self.output(process, f"[svc] {entry.name} failed: {err}")
        except GuestFault as fault:  # a bad guest pointer handed to the kernel
            results = (Result.INVALID_POINTER,)
            if self.trace_svc:
                self.output(process, f"[svc] {entry.name}: bad pointer: {fault}")
        except OutOfMemory as exc:  # physical memory ran out inside the call
            results = (Result.OUT_OF_MEMORY,)
            if self.trace_svc:
                self.output(process, f"[svc] {entry.name}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a bug in hlemu: it ends this process, nothing else
            if getattr(exc, "from_host_callback", False):
                raise  # the script's own error: it reaches the script
            log.exception("internal error in %s from %s", entry.name, process.describe())
            self.crash_process(process, internal_error_report(thread, entry.name, args[: entry.nargs], exc))
            return
        if self.trace_svc:
            shown = ", ".join(f"{a:#x}" for a in args[: entry.nargs])
            outcome = "blocked" if results is None else ", ".join(f"{r & 0xFFFFFFFF:#x}" for r in results)
            self.output(process, f"[svc] thread {thread.tid}: {entry.name}({shown}) -> {outcome}")
        if results is not None and process.exit_code is None and thread.state is not ThreadState.DEAD:
            cpu.write_results(results)

    # -- teardown ---------------------------------------------------------------------------------
    def close(self) -> None:
        for process in self.processes.values():
            if not process.released:
                process.cpu.close()
        self.processes.clear()
        self.memory.close()


@contextmanager
def host_callback() -> Iterator[None]:
    """Around a call into the host's code (a script's listener, the terminal): an exception
    from there is the script's, so it is marked to pass through the guard that turns the
    kernel's own errors into a crash of the calling process."""
    try:
        yield
    except Exception as exc:
        exc.from_host_callback = True  # type: ignore[attr-defined]
        raise


def internal_error_report(thread: Thread, svc: str, args: list[int], exc: BaseException) -> str:
    """What a process that found a bug in hlemu is told (the traceback goes to the log)."""
    import traceback

    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    place = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
    shown = ", ".join(f"{a:#x}" for a in args)
    return (f"[hlemu] internal error (a bug in hlemu, please report it): {svc}({shown}) from thread "
            f"{thread.tid} raised {type(exc).__name__}: {exc}{place}. This process was ended; the others run on.")


def _print_output(process: Process, line: str) -> None:
    print(f"[{process.name}:{process.pid}] {line}", flush=True)
