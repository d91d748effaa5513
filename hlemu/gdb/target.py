"""What the GDB stub asks of the emulator, and nothing else: every call into ``kernel.api``
(and the few into the kernel the API lacks) is made here, so a change of run-control
surface touches this module only.

All-stop: a stop of any thread stops the whole emulator (``Emulator.run`` returns), which
keeps guest execution deterministic. Pids here are the kernel's; the protocol's offset
(gdb's pid 0 means "any") is :mod:`hlemu.gdb.commands`' business.

Threads: ``run``/``resume``/``step`` run on the server's run thread while the client waits;
``interrupt`` is the only call made from another thread (``Emulator.interrupt`` allows it).
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from hlemu.cpu import CpuFault, RegisterFile
from hlemu.gdb.target_xml import REGISTERS
from kernel.api import Emulator, Proc, ThreadView

# gdb's own signal numbers (gdb/signals.def), which the remote protocol uses.
SIGINT, SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGKILL, SIGSTOP = 2, 4, 5, 6, 11, 9, 17
OTHER_THREAD_STEPS = 100_000  # steps of other threads before a step gives up and runs to ours
WATCH_KINDS = {2: "w", 3: "r", 4: "rw"}
WATCH_REASON = {"w": "watch", "r": "rwatch", "rw": "awatch"}


class TargetError(Exception):
    """A request the target refuses (bad address, no such process): an ``E`` reply."""


@dataclass
class StopEvent:
    """Why the emulator stopped, as a stop reply needs it.

    ``kind``: ``signal`` (a thread stopped: ``signal``, ``pid``, ``tid``, optional ``reason``
    and ``value``), ``exited`` (``code``) or ``terminated`` (``signal``)."""

    kind: str
    pid: int
    tid: int = 0
    signal: int = SIGTRAP
    reason: str = ""  # swbreak, watch, rwatch, awatch, syscall_entry, syscall_return
    value: int = 0  # the watched address, or the SVC number
    code: int = 0
    message: str = ""  # text for the gdb console (an 'O' packet)


@dataclass(eq=False)
class _Watch:
    pid: int
    addr: int
    size: int
    on: str
    point: object
    shadow: bytearray = field(default_factory=bytearray)  # the watched bytes before the last write


class Target:
    """The emulator as the stub sees it: processes, threads, registers, memory, breakpoints,
    watchpoints, SVC catching and run control."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.attached: list[int] = []
        self._known: dict[int, Proc] = {}
        self._reported: set[int] = set()  # attached pids whose end was reported
        self._stop: StopEvent | None = None
        self._pending: deque[StopEvent] = deque()
        self._interrupted = False
        self._breakpoints: set[tuple[int, int]] = set()
        self._watches: list[_Watch] = []
        self._muted: tuple[int, int] | None = None  # (pid, tid) stepping over its watch stop
        self._watch_stop: tuple[int, int, int] | None = None  # (pid, tid, pc) of the last watch stop
        self.catch: set[int] | None = None  # SVC numbers to stop on; empty: all; None: off
        self._in_svc = False
        self._svc_hooked = False
        self.ipc_log: deque[str] = deque(maxlen=64)
        self._faults: dict[int, tuple[str, int]] = {}  # pid -> (crash report, fault address) held for gdb
        emu.on_ipc(lambda m: self.ipc_log.append(_describe_message(m)))
        emu.on_crash(self._on_crash)
        for proc in emu.processes:
            self._known[proc.pid] = proc
        first = emu.processes[0].process.source if emu.processes else None
        self.default_program: str | None = str(first) if first else None  # what an empty vRun runs
        self.started: set[int] = set()  # pids gdb's run (vRun) made
        # Called between slices while a 'continue' runs (on the run thread): the window shows
        # its screens meanwhile.
        self.while_running: Callable[[], None] | None = None

    # -- processes and threads -------------------------------------------------------
    def processes(self) -> list[Proc]:
        for proc in self.emu.processes:
            self._known.setdefault(proc.pid, proc)
        return [p for p in self._known.values()]

    def process(self, pid: int) -> Proc:
        self.processes()
        proc = self._known.get(pid)
        if proc is None:
            raise TargetError(f"no process {pid}")
        return proc

    def attach(self, pid: int) -> StopEvent:
        proc = self.process(pid)
        if not proc.alive:
            raise TargetError(f"process {pid} has ended")
        if pid not in self.attached:
            self.attached.append(pid)
        self._reported.discard(pid)
        threads = self.threads(pid)
        return StopEvent("signal", pid, threads[0].tid if threads else 0, SIGSTOP)  # as gdbserver answers vAttach

    def detach(self, pid: int) -> None:
        for key in [k for k in self._breakpoints if k[0] == pid]:
            self.remove_breakpoint(*key)
        for watch in [w for w in self._watches if w.pid == pid]:
            self.remove_watch(watch.pid, watch.addr, watch.size, watch.on)
        if pid in self.attached:
            self.attached.remove(pid)

    def detach_all(self) -> None:
        for pid in list(self.attached):
            self.detach(pid)
        self.catch = None
        self._pending.clear()

    def run_program(self, program: str | None = None) -> StopEvent:
        """gdb's ``run`` (vRun): load ``program`` (a path or a bundled name; None: the last
        one run, else the first process's) as a new process, attached and stopped before
        its first instruction."""
        program = program or self.default_program
        if not program:
            raise TargetError("no program to run: give hlemu gdb one, or 'set remote exec-file'")
        try:
            proc = self.emu.spawn(program)
        except Exception as exc:  # noqa: BLE001 - no such file, not a program, no memory
            raise TargetError(f"cannot run {program}: {exc}") from None
        self._known[proc.pid] = proc
        self.started.add(proc.pid)
        self.default_program = program
        self.attach(proc.pid)
        return StopEvent("signal", proc.pid, self.threads(proc.pid)[0].tid, SIGTRAP)

    def exec_file(self, pid: int) -> str:
        """The ELF gdb should read for process ``pid`` (qXfer:exec-file:read)."""
        from kernel.api.inspect import elf_of  # symbol files are the API's business

        path = elf_of(self.process(pid))
        if path is None:
            raise TargetError(f"process {pid} was not loaded from a file with an ELF")
        return str(path)

    def kill(self, pid: int) -> None:
        proc = self.process(pid)
        if proc.alive:  # the API has no kill: end it as ExitProcess would, status -1
            self.emu.kernel.end_process(proc.process, -1)
        self._reported.add(pid)

    def threads(self, pid: int) -> list[ThreadView]:
        proc = self.process(pid)
        return [t for t in proc.threads if t.state != "dead"] if proc.alive else []

    def live_attached(self) -> list[int]:
        return [pid for pid in self.attached if self.process(pid).alive]

    def thread(self, pid: int, tid: int) -> ThreadView:
        view = self.process(pid).thread(tid, vfp=True)
        if view is None or view.tid != tid:
            raise TargetError(f"no live thread {tid} in process {pid}")
        return view

    def default_thread(self) -> tuple[int, int]:
        """The thread a stop without a better one names: the one that ran last, if it is
        in an attached process, else the first live thread of the first attached process."""
        current = self.emu.current_thread
        if current is not None and current.pid in self.live_attached() and current.state != "dead":
            return current.pid, current.tid
        for pid in self.live_attached():
            threads = self.threads(pid)
            if threads:
                return pid, threads[0].tid
        return (self.attached[0] if self.attached else 0), 0

    # -- registers ---------------------------------------------------------------------
    def registers(self, pid: int, tid: int) -> list[int]:
        """Every register of :data:`REGISTERS`, in order, from the thread's RegisterFile."""
        regs = self._register_file(pid, tid)
        return [regs[r.name] for r in REGISTERS]

    def write_registers(self, pid: int, tid: int, values: dict[int, int]) -> None:
        """Change registers of a stopped thread (``values``: :data:`REGISTERS` index to value;
        any of r0-r15, cpsr, d0-d15, fpscr, fpexc) in one write of its RegisterFile."""
        regs = self._register_file(pid, tid)
        for index, value in values.items():
            regs[REGISTERS[index].name] = value
        try:
            self.process(pid).set_registers(regs, tid)
        except (KeyError, ValueError) as exc:  # the thread ended meanwhile
            raise TargetError(str(exc)) from None

    def _register_file(self, pid: int, tid: int) -> RegisterFile:
        self.thread(pid, tid)  # a live thread, or TargetError
        try:
            return self.process(pid).registers(tid)
        except KeyError as exc:
            raise TargetError(str(exc)) from None

    # -- memory ---------------------------------------------------------------------------
    def read_memory(self, pid: int, addr: int, size: int) -> bytes:
        """Bytes regardless of permission, as far as they are mapped (a short read stops at
        the first unmapped page; none at all is an error)."""
        proc = self.process(pid)
        out = bytearray()
        while size > 0:
            chunk = min(size, 0x1000 - (addr & 0xFFF))
            try:
                out += proc.peek(addr, chunk)
            except Exception:  # noqa: BLE001 - unmapped, or outside the 32-bit space
                break
            addr, size = addr + chunk, size - chunk
        if not out and size > 0:
            raise TargetError(f"{addr:#x} is not mapped in process {pid}")
        return bytes(out)

    def write_memory(self, pid: int, addr: int, data: bytes) -> None:
        proc = self.process(pid)
        try:
            proc.poke(addr, data)
        except Exception as exc:  # noqa: BLE001 - unmapped, MMIO, outside the space
            raise TargetError(str(exc)) from None
        for watch in self._watches:
            if watch.pid == pid:
                _patch(watch.shadow, watch.addr, addr, data)

    # -- breakpoints and watchpoints ---------------------------------------------------
    def add_breakpoint(self, pid: int, addr: int) -> None:
        proc = self.process(pid)
        if not proc.alive:
            raise TargetError(f"process {pid} has ended")

        def hit(p: Proc, view: ThreadView) -> bool:
            if self._stop is None:
                self._stop = StopEvent("signal", p.pid, view.tid, SIGTRAP, "swbreak")
            return True

        self.emu.breakpoint(proc, addr, hit)
        self._breakpoints.add((pid, addr))

    def remove_breakpoint(self, pid: int, addr: int) -> None:
        if (pid, addr) in self._breakpoints:
            self._breakpoints.discard((pid, addr))
            try:
                self.emu.remove_breakpoint(self.process(pid), addr)
            except KeyError:
                pass

    def add_watch(self, pid: int, addr: int, size: int, on: str) -> None:
        proc = self.process(pid)
        self._hook_svcs()
        watch = _Watch(pid, addr, size, on, None)
        try:
            watch.shadow = bytearray(proc.peek(addr, size))
            watch.point = proc.watch(addr, size, lambda hit: self._on_watch(watch, hit), on)
        except Exception as exc:  # noqa: BLE001 - unmapped, executable or already special
            raise TargetError(str(exc)) from None
        self._watches.append(watch)

    def remove_watch(self, pid: int, addr: int, size: int, on: str) -> None:
        for watch in self._watches:
            if (watch.pid, watch.addr, watch.size, watch.on) == (pid, addr, size, on):
                self._watches.remove(watch)
                try:
                    watch.point.remove()  # type: ignore[attr-defined]
                except Exception:  # noqa: BLE001 - the process ended and its memory went
                    pass
                return

    def _on_watch(self, watch: _Watch, hit: object) -> None:
        """A guest access touched a watched range (runs inside the CPU's memory callback).

        The run is stopped at once; Unicorn then leaves the thread at the start of the
        accessing instruction (registers as before it), but a store has already reached
        memory: the watched bytes are put back, so gdb sees the state before the
        instruction, steps over it and compares, as ARM's non-steppable watchpoints want."""
        address, data, kind = hit.address, hit.data, hit.kind  # type: ignore[attr-defined]
        current = self.emu.current_thread
        tid = current.tid if current is not None else 0
        if self._muted == (watch.pid, tid) or self._stop is not None or watch.pid not in self.attached:
            if kind == "write":
                _patch(watch.shadow, watch.addr, address, data)
            return
        where = max(address, watch.addr)
        restore = None
        if kind == "write" and not self._in_svc:
            lo, hi = max(address, watch.addr), min(address + len(data), watch.addr + watch.size)
            restore = (lo, bytes(watch.shadow[lo - watch.addr : hi - watch.addr]))
        if kind == "write":
            _patch(watch.shadow, watch.addr, address, data)
        event = StopEvent("signal", watch.pid, tid, SIGTRAP, WATCH_REASON[watch.on], where)
        event.restore = restore  # type: ignore[attr-defined]
        self._stop = event
        self.emu.stop_now()

    # -- SVCs ---------------------------------------------------------------------------
    def _hook_svcs(self) -> None:
        if not self._svc_hooked:
            self._svc_hooked = True
            self.emu.on_svc(self._svc_catch, hold=True)
            self.emu.on_svc(self._svc_entry)
            self.emu.on_svc(self._svc_return, after=True)

    def catch_svcs(self, numbers: set[int] | None) -> None:
        """Stop on entry to and return from these SVCs (empty: all; None: stop catching)."""
        self._hook_svcs()
        self.catch = numbers

    def _catching(self, proc: Proc | None, number: int) -> bool:
        return (self.catch is not None and proc is not None and proc.pid in self.attached
                and self._stop is None and (not self.catch or number in self.catch))

    def _svc_catch(self, proc: Proc | None, tid: int, number: int, args: list[int]) -> bool:
        """Before the SVC is served: hold it (the run stops with the thread at its svc
        instruction and the arguments untouched) when gdb catches it; resuming serves it."""
        if not self._catching(proc, number):
            return False
        assert proc is not None
        self._stop = StopEvent("signal", proc.pid, tid, SIGTRAP, "syscall_entry", number)
        return True

    def _svc_entry(self, proc: Proc | None, tid: int, number: int, args: list[int]) -> None:
        self._in_svc = True

    def _svc_return(self, proc: Proc | None, tid: int, number: int, args: list[int]) -> None:
        """The SVC has completed (for one that blocked: its thread runs again): stop before
        the instruction after it, with its results in the registers."""
        self._in_svc = False
        if self._catching(proc, number):
            assert proc is not None
            self._stop = StopEvent("signal", proc.pid, tid, SIGTRAP, "syscall_return", number)
            self.emu.pause()

    # -- crashes --------------------------------------------------------------------------
    def _on_crash(self, proc: Proc, view: ThreadView, fault: CpuFault, report: str) -> bool:
        """A fault is about to end an attached process: stop at the faulting instruction
        instead (SIGSEGV for an abort, SIGILL for an undefined instruction, SIGABRT for
        svcBreak), as a signal stops a Linux process. Resuming with that signal (gdb passes
        it on by default) ends the process with the crash report; without one, the
        instruction runs again."""
        if proc.pid not in self.attached or self._stop is not None:
            return False
        sig = SIGILL if fault.kind == "undefined instruction" else SIGABRT if fault.kind == "break" else SIGSEGV
        self._faults[proc.pid] = (report, fault.address)
        self._stop = StopEvent("signal", proc.pid, view.tid, sig)
        return True

    def _deliver_faults(self, signal: int) -> None:
        """Before a resume: a held crash ends its process when gdb passes a signal on."""
        faults, self._faults = self._faults, {}
        if not signal:
            return
        for pid, (report, address) in faults.items():
            proc = self.process(pid)
            if proc.alive:
                self.emu.crash(proc, report, address)

    # -- run control (on the run thread) --------------------------------------------------
    def interrupt(self) -> None:
        """From the server thread: stop a run in progress soon (Ctrl-C)."""
        self._interrupted = True
        self.emu.interrupt()

    def resume(self, step: tuple[int, int] | None = None, signal: int = 0) -> StopEvent:
        """Continue every thread (``step``: until that thread has run one instruction) and
        say why the emulator stopped. All-stop: one stop stops everything. ``signal``: the
        one gdb passes on (only a crash's means anything: it ends the process)."""
        if self._pending:
            return self._pending.popleft()
        self._deliver_faults(signal)
        self._stop, self._interrupted = None, False
        self._step_over_watch(step)
        if self._stop is None and step is not None:
            event = self._step(*step)
        elif self._stop is None:
            event = self._continue()
        else:
            event = self._stop
        return self._finish(event)

    def run_free(self) -> str:
        """With no client: run until every process ends or :meth:`interrupt`."""
        self._stop, self._interrupted = None, False
        while True:
            result = self.emu.run(until=lambda: self._interrupted)
            if result.reason not in ("condition met", "paused") or self._interrupted:
                return result.reason

    def _continue(self) -> StopEvent:
        def stopped() -> bool:
            if self.while_running is not None:
                self.while_running()
            return self._stop is not None or self._interrupted

        while True:
            result = self.emu.run(until=stopped)
            exits = self._exit_events()
            if self._stop is not None:
                self._pending.extend(exits)
                return self._stop
            if exits:
                self._pending.extend(exits[1:])
                return exits[0]
            if self._interrupted:
                pid, tid = self.default_thread()
                return StopEvent("signal", pid, tid, SIGINT)
            if result.reason == "deadlock":
                pid, tid = self.default_thread()
                return StopEvent("signal", pid, tid, SIGSTOP,
                                 message="hlemu: deadlock: every thread waits forever\n")
            if result.reason == "all exited":
                pid = self.attached[0] if self.attached else 0
                return StopEvent("exited", pid, code=0)

    def _step(self, pid: int, tid: int) -> StopEvent:
        """Run instructions (other threads' too, as the scheduler picks them) until thread
        ``tid`` of ``pid`` has run one."""
        def ours_next() -> bool:
            picked = self.emu.kernel.scheduler.pick()  # the API cannot say which thread runs next
            return (picked is not None and picked.tid == tid) or self._stop is not None or self._interrupted

        for n in range(OTHER_THREAD_STEPS + 1):
            if n == OTHER_THREAD_STEPS:  # ours waits for long: let the others run at full speed
                self.emu.run(until=ours_next)
            view = self.emu.step()
            if self._stop is not None:
                return self._stop
            exits = self._exit_events()
            if exits:
                self._pending.extend(exits[1:])
                return exits[0]
            if view is None:
                return StopEvent("signal", pid, tid, SIGSTOP, message="hlemu: deadlock: every thread waits forever\n")
            if (view.pid, view.tid) == (pid, tid) or self._interrupted:
                break
        return StopEvent("signal", pid, tid, SIGTRAP)

    def _step_over_watch(self, step: tuple[int, int] | None) -> None:
        """After a watch stop the thread sits before the accessing instruction: run that
        one instruction with its hit muted, so resuming does not stop on it again."""
        last, self._watch_stop = self._watch_stop, None
        if last is None or not self._watches:
            return
        pid, tid, pc = last
        try:
            if self.thread(pid, tid).pc != pc:
                return
        except TargetError:
            return
        self._muted = (pid, tid)
        try:
            event = self._step(pid, tid)
        finally:
            self._muted = None
        if step is not None and step == (pid, tid) and self._stop is None:
            self._stop = event

    def _finish(self, event: StopEvent) -> StopEvent:
        restore = getattr(event, "restore", None)
        if restore is not None:
            addr, old = restore
            self.process(event.pid).poke(addr, old)
        if event.reason in WATCH_REASON.values():
            try:
                self._watch_stop = (event.pid, event.tid, self.thread(event.pid, event.tid).pc)
            except TargetError:
                self._watch_stop = None
        if event.kind == "signal" and event.tid == 0:
            event.pid, event.tid = self.default_thread()
        return event

    def _exit_events(self) -> list[StopEvent]:
        events = []
        for pid in self.attached:
            proc = self.process(pid)
            if proc.alive or pid in self._reported:
                continue
            self._reported.add(pid)
            crash = proc.crash or ""
            if crash:
                sig = SIGILL if "undefined" in crash else SIGABRT if "Break" in crash else SIGSEGV
                events.append(StopEvent("terminated", pid, signal=sig, message=crash.rstrip("\n") + "\n"))
            else:
                events.append(StopEvent("exited", pid, code=(proc.exit_code or 0) & 0xFF))
        return events

    # -- what monitor commands show ---------------------------------------------------------
    def maps(self, pid: int) -> list[str]:
        lines = []
        for region in self.process(pid).maps():
            phys = "" if region.phys is None else f"  phys {region.phys:#010x}"
            shared = f"  shared with {', '.join(map(str, region.shared_with))}" if region.shared_with else ""
            lines.append(f"{region}{phys}{shared}")
        return lines

    def page(self, pid: int, addr: int) -> str:
        try:
            entry = self.process(pid).page(addr)
        except Exception as exc:  # noqa: BLE001 - outside the space
            raise TargetError(str(exc)) from None
        phys = "unmapped" if entry.phys_addr is None else f"{entry.phys_addr:#010x}"
        faults = ", ".join(f"{k} {v}" for k, v in entry.faults.items() if v) or "none"
        return (f"page {entry.vaddr:#010x}: phys {phys}, frame {entry.frame}, perm {entry.perm.name}, "
                f"state {entry.state.name}, special {entry.special.name}, dirty {entry.dirty}, faults: {faults}")

    def handles(self, pid: int) -> list[str]:
        return [f"{h.handle:#010x}  {h.type:<16} {h.description}  (held by {', '.join(map(str, h.holders))})"
                for h in self.process(pid).handle_info()]

    def faults(self, pid: int) -> list[str]:
        proc = self.process(pid)
        lines = [f"{kind}: {count}" for kind, count in proc.faults.items()]
        pages = proc.fault_pages()
        if pages:
            lines.append("pages with faults: " + " ".join(f"{p:#010x}" for p in pages[:32]))
        if proc.crash:
            lines.append(f"crash: {proc.crash}")
        return lines

    def thread_lines(self) -> list[str]:
        lines = []
        for proc in self.processes():
            for t in proc.threads:
                if t.state == "dead":
                    continue
                wait = f" waiting on {t.waiting_on}" if t.waiting_on else ""
                lines.append(f"pid {proc.pid} {proc.name} thread {t.tid} {t.name!r}: {t.state}, "
                             f"priority {t.priority:#x}, pc {t.pc:#010x}{' (Thumb)' if t.thumb else ''}{wait}")
        return lines

    @property
    def instructions(self) -> int:
        return self.emu.instructions


def _patch(shadow: bytearray, base: int, addr: int, data: bytes) -> None:
    """Copy the part of ``data`` (at ``addr``) that falls in ``shadow`` (at ``base``)."""
    lo, hi = max(addr, base), min(addr + len(data), base + len(shadow))
    if lo < hi:
        shadow[lo - base : hi - base] = data[lo - addr : hi - addr]


def _describe_message(message: object) -> str:
    m = message
    kind = "reply" if m.reply else "request"  # type: ignore[attr-defined]
    name = m.name or f"{m.command:#06x}"  # type: ignore[attr-defined]
    result = "" if m.result is None else f" -> {m.result & 0xFFFFFFFF:#010x}"  # type: ignore[attr-defined]
    words = " ".join(f"{w:#x}" for w in m.normal[:6])  # type: ignore[attr-defined]
    return f"{m.sender} -> {m.receiver} {m.service} {name} {kind} [{words}]{result}"  # type: ignore[attr-defined]


def pack_registers(values: list[int]) -> bytes:
    """The ``g`` reply's bytes: each register little-endian at its size."""
    return b"".join(struct.pack("<Q" if reg.bits == 64 else "<I", v & ((1 << reg.bits) - 1))
                    for reg, v in zip(REGISTERS, values, strict=True))
