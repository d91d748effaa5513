"""The HLE kernel: processes, threads, waits and SVC dispatch.

Who runs when, guest time and device events belong to one :class:`~kernel.scheduler.Scheduler`
(``kernel.scheduler``); the kernel's ``run``, ``step``, ``ticks``, ``make_ready`` and
friends hand over to it, so there is one way guest code runs.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hlemu.cpu import Cpu, CpuConfig, CpuFault
from hlemu.loaders import Image, load_image
from hlemu.memory import GuestFault, MemoryPermission, MemoryState, MemorySystem, OutOfMemory
from kernel import layout
from kernel.display import Display
from kernel.errors import KernelError, Result
from kernel.homebrew import hand_over, with_arguments
from kernel.image_frames import ImageFrames
from kernel.ipc import IPC_MAP_BASE, IPC_MAP_END, Message
from kernel.ipc_trace import IpcTrace
from kernel.lifetime import KEEP_ENDED, KEEP_REAPED, Lifetimes, check_image_layout
from kernel.objects.base import KernelObject
from kernel.objects.port import ClientPort
from kernel.objects.resource_limit import ResourceType
from kernel.objects.timer import Timer
from kernel.process import Process
from kernel.scheduler import SVC_TICKS, RunResult, Scheduler
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
from kernel.svc.listeners import SvcCall, SvcListeners
from kernel.thread import Thread, ThreadState
from kernel.waits import Waits

log = logging.getLogger(__name__)
_DEAD = ThreadState.DEAD  # (a module name: the SVC path asks)

MAIN_THREAD_PRIORITY = 0x30
__all__ = ["KEEP_ENDED", "SVC_TICKS", "Kernel", "RunResult", "host_callback"]

OutputSink = Callable[[Process, str], None]


class Kernel(Waits, Lifetimes):
    """Owns the memory system and every guest process.

    >>> from hlemu.guest import program_path
    >>> k = Kernel(backend="semifastmem", output=lambda p, line: None)
    >>> p = k.spawn(program_path("hello"))
    >>> k.run().reason, p.exit_code, p.output[0]
    ('all exited', 7, 'Hello from hlemu!')
    >>> k.close()
    """

    # Save states (kernel.state): the host side is built anew by the loading kernel's own
    # __init__ and kept; timers / timed_waits are the scheduler's sets under a second name.
    state_transient = ("memory", "cpu_config", "_output_sink", "ipc_listeners", "svc_listeners", "trace_svc",
                       "timers", "timed_waits")

    def after_restore(self) -> None:
        vars(self).update(timers=self.scheduler.timers, timed_waits=self.scheduler.timed_waits)

    def __init__(self, backend: str = "auto", host_page_size: int | None = None,
                 quantum_blocks: int = 20_000, output: OutputSink | None = None,
                 trace_svc: bool = False, sdmc_root: str | Path | None = None, trace_ipc: bool = False) -> None:
        self.memory = MemorySystem(backend=backend, host_page_size=host_page_size)
        # The CPU runs guest code on the memory backend the process's memory uses: under
        # slowmem every guest data access goes through the slow path too (hlemu.cpu.slowpath);
        # under fastmem_trap (the host side's unchecked fastmem) Unicorn maps the slab: fastmem.
        cpu_backend = "fastmem" if self.memory.backend == "fastmem_trap" else self.memory.backend
        self.cpu_config = CpuConfig(backend=cpu_backend, quantum_blocks=quantum_blocks,
                                    short_lived=((IPC_MAP_BASE, IPC_MAP_END),))
        self.processes: dict[int, Process] = {}
        self.reaped: deque[Process] = deque(maxlen=KEEP_REAPED)  # ended processes whose memory went back
        self.threads: list[Thread] = []  # every live thread, in creation order
        self.scheduler = Scheduler(self, quantum_blocks)
        self.timers: set[Timer] = self.scheduler.timers  # timers with a deadline
        self.timed_waits: set[Thread] = self.scheduler.timed_waits  # waiting threads with a deadline
        self._reaped_instructions = 0
        self._reaped_count = 0
        self.image_frames = ImageFrames(self.memory.phys)  # code frames shared by every instance
        self._system_frames = self._make_system_pages()  # config memory and the shared page (BASE)
        self._ended = 0  # ended processes not reaped yet (at most KEEP_ENDED between slices)
        self._output_sink = output or _print_output
        self.trace_svc = trace_svc
        self._next_pid = 0x20  # like the 3DS, application pids start above the system's
        self._next_tid = 1
        self._next_object = 1
        self._seq = 0
        self._refs: dict[int, int] = {}  # object id -> open handles + the kernel's holds
        # (object id, holder) -> how many holds: what of the count is the kernel's own (retain)
        self.holds: Counter[tuple[int, str]] = Counter()
        self.ipc_listeners: list[Callable[[Message], None]] = []  # the IPC recorder, REPL hooks
        self.svc_listeners = SvcListeners()  # before/after every SVC: scripts, the debugger, the GDB stub
        # Asked before a guest fault ends its process (a debugger): true leaves the thread at the
        # faulting instruction (see Scheduler; hold_crash).
        self.crash_holders: list[Callable[[Thread, CpuFault, str], object]] = []
        if trace_ipc:
            self.ipc_listeners.append(IpcTrace(self))
        self.named_ports: dict[str, ClientPort] = {}
        self.display = Display(self)
        self.srv = SrvService(self)
        srv_port = ClientPort(self, None, self.srv.max_sessions, service=self.srv, name="srv:")
        self.named_ports["srv:"] = srv_port
        self.retain(srv_port, "named port")
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
        """A handle to ``obj`` was closed (or a hold given back: :meth:`release_hold`)."""
        left = self._refs.get(obj.object_id, 1) - 1
        self._refs[obj.object_id] = left
        if left <= 0:
            self._refs.pop(obj.object_id, None)
            self.destroy_if_unused(obj)

    def retain(self, obj: KernelObject, holder: str) -> None:
        """Count a reference the kernel itself holds, recorded under ``holder`` (what holds
        it: "named port", "service event", "pending session", "ipc message", ...), so that
        ``_refs`` is exactly handles plus holds (a loaded state is checked for it)."""
        self._refs[obj.object_id] = self._refs.get(obj.object_id, 0) + 1
        self.holds[obj.object_id, holder] += 1

    def release_hold(self, obj: KernelObject, holder: str) -> None:
        """Give back a hold :meth:`retain` counted under ``holder``; at zero the object goes."""
        key = (obj.object_id, holder)
        if self.holds[key] <= 0:
            del self.holds[key]
            raise ValueError(f"{obj.describe()} is not held by {holder!r}")
        self.holds[key] -= 1
        if not self.holds[key]:
            del self.holds[key]
        self.release_reference(obj)

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
        original = program if isinstance(program, Image) else load_image(program)
        check_image_layout(original)
        image = with_arguments(original)
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
        process.source = image.source
        process.image_sha256 = image_digest(original)
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

    # -- scheduling: the Scheduler's ------------------------------------------------------------
    @property
    def ticks(self) -> int:
        """Guest time in system ticks."""
        return self.scheduler.ticks

    @property
    def current(self) -> Thread | None:
        """The running thread, or the one that ran last."""
        return self.scheduler.current

    @property
    def context_switches(self) -> int:
        return self.scheduler.state.context_switches

    def make_ready(self, thread: Thread, front: bool = False) -> None:
        self.scheduler.make_ready(thread, front)

    def limit_slice(self, blocks: int) -> None:
        """Shorten the running slice to at most ``blocks`` more blocks."""
        self.scheduler.shorten_slice(blocks)

    def pick(self) -> Thread | None:
        return self.scheduler.pick()

    def reschedule(self) -> None:
        """From an SVC: end the running thread's slice so the scheduler picks again."""
        self.scheduler.request_switch()

    def preempt_if_needed(self) -> None:
        self.scheduler.preempt_if_needed()

    def schedule(self, tick: int, callback: Callable[[], None]) -> None:
        """Call ``callback`` when guest time reaches ``tick`` (see Scheduler.register_event)."""
        self.scheduler.schedule(tick, callback)

    def any_alive(self) -> bool:
        """Whether any process has not ended (asked by the scheduler before every slice)."""
        for process in self.processes.values():
            if process.exit_code is None:
                return True
        return False

    @property
    def instructions(self) -> int:
        """Guest instructions run so far, by every process (reaped ones included)."""
        return self._reaped_instructions + sum(p.cpu.instructions for p in self.processes.values())

    def run(self, max_instructions: int | None = None, until: Callable[[], bool] | None = None) -> RunResult:
        """Run every process until all have ended (or exactly ``max_instructions`` more, or
        ``until()`` is true, or a breakpoint stops): :meth:`Scheduler.run`."""
        return self.scheduler.run(max_instructions, until)

    def step(self) -> bool:
        """Run one slice. False when no thread can ever run again."""
        return self.scheduler.run_slice()

    def svc_completed(self, thread: Thread, results: dict[int, int]) -> None:
        """A blocked SVC's results reached its thread's registers (it runs again): its *after*."""
        call, thread.pending_svc = thread.pending_svc, None
        if call is not None:
            call.results, call.blocked = dict(results), True
            self.svc_listeners.after(call)

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
            self.reschedule()
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

    def hold_crash(self, thread: Thread, fault: CpuFault, report: str) -> bool:
        """Ask the crash holders whether ``thread``'s fault may wait (a debugger stops there):
        true leaves the process alive, the thread at the faulting instruction, registers as
        they were; running it again runs that instruction again. ``crash_process`` ends it."""
        held = False
        with host_callback():
            for holder in list(self.crash_holders):
                held = bool(holder(thread, fault, report)) or held
        return held

    def crash_process(self, process: Process, report: str, address: int | None = None) -> None:
        """End ``process`` with a crash ``report`` (``address``: the faulting one, if memory was)."""
        process.crash = report
        process.crash_address = address
        self.output(process, report)
        self.end_process(process, -1)

    # -- SVCs -------------------------------------------------------------------------------------
    def dispatch_svc(self, cpu: Cpu, number: int, args: list[int]) -> None:
        """Serve one SVC of the running thread (called from the CPU's interrupt hook), telling
        the SVC listeners before and after. One frame on purpose: this is the SVC round trip."""
        scheduler = self.scheduler
        thread = scheduler.current
        if thread is None or thread.process.cpu is not cpu:
            raise RuntimeError("an SVC arrived from a CPU that is not running the current thread")
        process = thread.process
        listeners = self.svc_listeners
        if listeners.holds and listeners.hold(SvcCall(thread, number, svc_name(number), list(args)), cpu.pc):
            cpu.retry_svc()  # held before anything is charged: the next run executes it again
            return
        now = cpu.instructions  # guest time includes this slice's work so far (Scheduler.charge)
        scheduler.state.ticks += now - scheduler.mark + SVC_TICKS
        scheduler.mark = now
        counts = process.stats.svc_numbers
        counts[number] = counts.get(number, 0) + 1
        call = None
        if listeners.entries:
            call = SvcCall(thread, number, svc_name(number), list(args))
            listeners.before(call)
        entry = SVC_TABLE.get(number)
        if entry is None or entry.handler is None:
            name = svc_name(number)
            log.warning("%s called %s (SVC %#04x), which is not implemented", process.describe(), name, number)
            self.output(process, f"[hlemu] unimplemented SVC {number:#04x} {name}: returning NOT_IMPLEMENTED")
            results: tuple[int, ...] | None = (Result.NOT_IMPLEMENTED,)
        else:
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
        if results is None or process.exit_code is not None or thread.state is _DEAD:
            results = None
        elif call is None:
            cpu.answer_svc(results)  # the last word: the compiled hook writes them on return
            return
        else:
            cpu.write_results(results)  # listeners may look at the registers next
        if call is not None:
            self._svc_done(call, results)

    def _svc_done(self, call: SvcCall, results: tuple[int, ...] | None) -> None:
        """The listeners' *after*: now, or (it blocked) when its thread wakes (svc_completed)."""
        if results is not None:
            call.results = dict(enumerate(results))
            self.svc_listeners.after(call)
        elif call.thread.alive and call.process.alive:
            call.thread.pending_svc = call

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


def image_digest(image: Image) -> str:
    """The program's identity in a save state: a digest of what it loads (entry, segments)."""
    import hashlib

    digest = hashlib.sha256(f"{image.entry:#x}".encode())
    for seg in image.segments:
        digest.update(f"{seg.vaddr:#x}:{seg.size:#x}:{int(seg.perm)}:".encode())
        digest.update(seg.data)
    return digest.hexdigest()


def _print_output(process: Process, line: str) -> None:
    print(f"[{process.name}:{process.pid}] {line}", flush=True)
