"""``Emulator``: the kernel and its processes, run control, breakpoints and hooks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

from hlemu.cpu import Cpu, CpuFault
from hlemu.loaders import Image
from hlemu.memory import WatchHit
from hlemu.text import counted
from kernel.api.console import ConsoleConfig
from kernel.api.gpu import GpuView
from kernel.api.proc import Proc
from kernel.api.sigint import stop_on_sigint
from kernel.api.views import Breakpoint, ThreadView, read_thread
from kernel.applets.swkbd import KeyboardAnswer, KeyboardRequest
from kernel.display import Display
from kernel.ipc import Message
from kernel.kernel import Kernel, RunResult
from kernel.process import Process
from kernel.services.cfg import settings_from
from kernel.state.movie import Movie, MoviePlayer, MovieRecorder
from kernel.state.rewind import RewindRing
from kernel.svc.listeners import SvcCall
from kernel.thread import Thread


class Emulator:
    """The kernel and its processes. Programs are paths or bundled names (``"hello"``)."""

    def __init__(self, backend: str = "auto", host_page_size: int | None = None, quantum_blocks: int = 20_000,
                 echo: bool = True, sdmc: str | Path | None = None,
                 cfg: Mapping[str, object] | None = None) -> None:
        """``sdmc``: the host folder that is the SD card (default: a per-user data folder).
        ``cfg``: console settings, as ``hlemu run --cfg`` takes them (``{"language": "fr",
        "region": "EUR", "model": "N3DS", "username": "Ada", "birthday": "12-25"}``); a bad
        key or value is a ValueError before anything is built. Change them later with ``emu.cfg``."""
        settings = settings_from(cfg or {})
        self._options: dict[str, object] = {"backend": backend, "host_page_size": host_page_size,
                                            "quantum_blocks": quantum_blocks, "sdmc": sdmc}
        self.echo = echo
        self._output_listeners: list[Callable[[Proc, str], None]] = []
        self._rewind: RewindRing | None = None
        self.rewind_off: str | None = None  # why rewind turned itself off (a snapshot could not be taken)
        self._recorder: MovieRecorder | None = None
        self.kernel = Kernel(backend=backend, host_page_size=host_page_size, quantum_blocks=quantum_blocks,
                             output=self._output, sdmc_root=sdmc)
        self.kernel.cfg.settings = settings
        self.watch_hits: list[WatchHit] = []
        self._paused = False
        self._last_reason: str | None = None  # how the last run() ended, for the summary
        # (pid, address) -> the callback deciding whether to pause (None: always)
        self._breakpoints: dict[tuple[int, int], Callable[[Proc, ThreadView], object] | None] = {}

    def __repr__(self) -> str:
        """One line: ``<Emulator fastmem, 2 processes (1 running, 1 exited), frame 60,
        1,234,567 instructions, last run: frames done>``."""
        kinds: dict[str, int] = {}
        for p in self.kernel.processes.values():
            kind = p.status.split(" ")[0]  # "exited (7)" counts as exited
            kinds[kind] = kinds.get(kind, 0) + 1
        procs = counted(len(self.kernel.processes), "process", "processes")
        if kinds:
            procs += " (" + ", ".join(f"{n} {kind}" for kind, n in kinds.items()) + ")"
        last = f"last run: {self._last_reason}" if self._last_reason else "not run yet"
        return (f"<Emulator {self.backend}, {procs}, frame {self.frame}, "
                f"{counted(self.instructions, 'instruction', 'instructions')}, {last}>")

    def _output(self, process: Process, line: str) -> None:
        if self.echo:
            print(f"[{process.name}:{process.pid}] {line}", flush=True)
        for listener in self._output_listeners:
            listener(Proc(self, process), line)

    def on_output(self, callback: Callable[[Proc, str], None]) -> None:
        """``callback(proc, line)`` for every line a guest prints and every kernel report
        about a process (crashes, deadlocks, unimplemented SVCs)."""
        self._output_listeners.append(callback)

    def on_keyboard(self, frontend: Callable[[KeyboardRequest], KeyboardAnswer | None] | None) -> None:
        """``frontend(request)`` answers the software keyboard when no scripted answer is queued
        (``kernel.apt.keyboard``; None: the keyboard's default). It is called on the emulation
        thread while the guest waits: no guest time passes until it returns. Kept by :meth:`restore`."""
        self.kernel.apt.keyboard.frontend = frontend

    # processes
    def spawn(self, program: str | Path | Image, name: str | None = None) -> Proc:
        from hlemu.run import resolve

        target = program if isinstance(program, Image) else resolve(str(program))
        return Proc(self, self.kernel.spawn(target, name))

    @property
    def processes(self) -> list[Proc]:
        return [Proc(self, p) for p in self.kernel.processes.values()]

    def process(self, key: int | str) -> Proc:
        for p in self.kernel.processes.values():
            if p.pid == key or p.name == key:
                return Proc(self, p)
        raise KeyError(f"no process {key!r}")

    def thread_view(self, t: Thread, vfp: bool = False) -> ThreadView:
        """A thread's state and registers (its saved context when another thread is loaded);
        ``vfp`` adds d0-d15 and FPSCR."""
        return read_thread(t, vfp)

    # running
    def run(self, instructions: int | None = None, frames: int | None = None,
            until: Callable[[], bool] | None = None) -> RunResult:
        """Run until every process ends, or ``instructions`` more, ``frames`` more, ``until()``, or a pause.

        The result's ``reason`` says which, in words: ``"all exited"``, ``"instruction limit"``,
        ``"frames done"``, ``"condition met"`` (``until()``), ``"paused"`` (a breakpoint, a
        watchpoint, ``pause()`` or ``interrupt()``) or ``"deadlock"``.

        Ctrl-C (on the main thread) stops the guest at a clean point, between two slices, and
        then raises KeyboardInterrupt here: the emulator stays consistent and ``run()`` resumes."""
        if self._rewind is not None:
            return self._run_with_rewind(instructions, frames, until)
        return self._run(instructions, frames, until)

    def _run(self, instructions: int | None = None, frames: int | None = None,
             until: Callable[[], bool] | None = None, fresh: bool = True) -> RunResult:
        if fresh:  # a run's later pieces (between rewind marks) keep a pause asked meanwhile
            self._paused = False
        target = None if frames is None else self.kernel.display.frame + frames

        def stop() -> bool:
            return (self._paused or (target is not None and self.kernel.display.frame >= target)
                    or (until is not None and bool(until())))

        with stop_on_sigint(self.interrupt) as ctrl_c:
            result = self.kernel.run(max_instructions=instructions, until=stop)
        if result.reason == "condition met":  # the kernel's word for "stop() said so": say which
            if self._paused:
                result.reason = "paused"
            elif target is not None and self.kernel.display.frame >= target:
                result.reason = "frames done"
        self._last_reason = result.reason
        if ctrl_c.interrupted:
            raise KeyboardInterrupt(f"guest stopped cleanly after {result.instructions:,} instructions "
                                    f"(frame {self.frame}); emu.run() goes on from there")
        return result

    def step(self) -> ThreadView | None:
        """Run exactly one guest instruction of the thread that would run next, accounted as
        ``run()`` accounts it (N steps and ``run(instructions=N)`` leave the same machine and
        the same ticks). When every thread waits, guest time first moves on to the next timer
        or VBlank that wakes one; None when nothing ever can. A breakpoint on the instruction
        does not stop a step. A step onto an SVC that a holding listener holds (``on_svc(...,
        hold=True)``) or a fault a crash holder holds (``on_crash``) returns with that
        instruction not done: the thread is still before it."""
        thread = self.kernel.scheduler.step()
        return None if thread is None else self.thread_view(thread)

    def pause(self) -> None:
        """From a callback: stop ``run()`` before the next translated block of guest code
        starts. The access or instruction that called back completes first, and so do the
        rest of its block's instructions (a block ends at the next branch or SVC); a
        breakpoint, by contrast, stops before its instruction."""
        self._paused = True
        self.kernel.scheduler.halt()

    def interrupt(self) -> None:
        """From another thread (a window's Pause): make a ``run()`` in progress return soon.

        The only call that may come from a thread other than the one running the emulator:
        it sets a flag the run loop checks and asks the running CPU to stop (Unicorn's
        ``emu_stop`` is meant for that)."""
        self._paused = True
        self.kernel.scheduler.halt()

    def stop_now(self) -> None:
        """From a callback on the emulation thread inside a run (a watchpoint's handler):
        pause with the accessing instruction not yet done, its PC the thread's PC (as a
        debugger's watchpoint stop wants). Other threads use :meth:`interrupt`."""
        self._paused = True
        self.kernel.scheduler.stop_here()

    @property
    def instructions(self) -> int:
        """Guest instructions run so far by every process."""
        return self.kernel.instructions

    @property
    def ticks(self) -> int:
        """Guest time in system ticks (268,111,856 a second)."""
        return self.kernel.ticks

    @property
    def display(self) -> Display:
        """The two screens: framebuffers, dirty pages per frame, ``render`` / ``render_columns``."""
        return self.kernel.display

    def on_frame(self, callback: Callable[[int], None]) -> None:
        """``callback(frame)`` at every VBlank, after the frame's dirty pages are recorded."""
        self.kernel.display.vblank_listeners.append(callback)

    @property
    def current_thread(self) -> ThreadView | None:
        """The thread that ran last (the one a breakpoint or watchpoint stopped), or None."""
        thread = self.kernel.current
        return None if thread is None else self.thread_view(thread)

    @property
    def paused(self) -> bool:
        """True when the last ``run()`` ended because of a pause (breakpoint, watchpoint, callback)."""
        return self._paused

    @property
    def frame(self) -> int:
        return self.kernel.display.frame

    @property
    def backend(self) -> str:
        """The memory backend in use: fastmem, semifastmem or slowmem."""
        return self.kernel.memory.choice.name

    def set_input(self, buttons: int | Iterable[str] = 0, circle: tuple[int, int] = (0, 0),
                  touch: tuple[int, int] | None = None) -> None:
        """What the user holds from now on: pad buttons (bits or names such as ``["A", "UP"]``),
        circle pad position (-156..156 each way), a bottom-screen touch point or None."""
        from kernel.services.hid import KEYS

        if not isinstance(buttons, int):
            bits = 0
            for name in buttons:
                if name.upper() not in KEYS:
                    raise ValueError(f"unknown key {name!r} (have {', '.join(KEYS)})")
                bits |= KEYS[name.upper()]
            buttons = bits
        pad = self.kernel.hid.pad
        pad.buttons = buttons
        pad.circle = (max(-156, min(156, circle[0])), max(-156, min(156, circle[1])))
        pad.touch = None if touch is None else (max(0, min(319, touch[0])), max(0, min(239, touch[1])))

    def screenshot(self, path: str) -> None:
        self.kernel.display.screenshot(path)

    @property
    def gpu(self) -> GpuView:
        """The PICA200: recent command lists decoded, draw calls, registers (kernel/api/gpu.py)."""
        return GpuView(self.kernel)

    # the console
    @property
    def cfg(self) -> ConsoleConfig:
        """The console's settings (language, region, model, username, birthday): read them,
        or set them by name (``emu.cfg.language = "fr"``), checked as ``--cfg`` checks them."""
        return ConsoleConfig(self.kernel)

    def press_home(self, proc: Proc | None = None) -> int:
        """Press HOME (APT's HOMEBUTTON notification) for ``proc``, or every application that
        registered with APT; how many got it (0: none called aptInit). libctru's event thread
        takes it at the application's next ``aptMainLoop()``."""
        if self._recorder is not None:  # a movie is recorded: the press goes in at the next VBlank
            self._recorder.press("home", None if proc is None else proc.pid)
            return self._registered_apps(proc)
        return self.kernel.apt.press_home(None if proc is None else proc.process)

    def press_power(self, proc: Proc | None = None) -> int:
        """Press POWER and choose "power off": ``aptMainLoop()`` then returns false, so a
        libctru application ends itself; how many applications got it."""
        if self._recorder is not None:
            self._recorder.press("power", None if proc is None else proc.pid)
            return self._registered_apps(proc)
        return self.kernel.apt.press_power(None if proc is None else proc.process)

    def _registered_apps(self, proc: Proc | None) -> int:
        return sum(1 for s in self.kernel.apt.applets.values()
                   if s.registered and (proc is None or s.process is proc.process))

    # input movies (kernel.state.movie)
    def record_movie(self, start_state: str | Path | None = None) -> MovieRecorder:
        """Record the input of every frame from now on (pad, circle pad, touch, HOME/POWER:
        while recording, a press is delivered at the next VBlank so that a replay is exact).
        ``start_state``: the state file this session was loaded from (the movie names it).
        ``stop_movie()`` returns the :class:`~kernel.state.movie.Movie`."""
        from kernel.state.movie import MovieRecorder, file_sha256

        start = {"kind": "power-on"} if start_state is None else {"kind": "state", "sha256": file_sha256(start_state)}
        self._recorder = MovieRecorder(self.kernel, start)
        return self._recorder

    def stop_movie(self) -> Movie:
        from kernel.state import StateError

        if self._recorder is None:
            raise StateError("no movie is being recorded")
        movie, self._recorder = self._recorder.stop(), None
        return movie

    def replay_movie(self, movie: Movie | str | Path, start_state: str | Path | None = None) -> MoviePlayer:
        """Play a movie's input into the guests as they run (StateError if it was recorded
        with other programs, from another state, or with another quantum)."""
        from kernel.state.movie import Movie, MoviePlayer, file_sha256

        if not isinstance(movie, Movie):
            movie = Movie.load(movie)
        return MoviePlayer(self.kernel, movie, None if start_state is None else file_sha256(start_state))

    # hooks
    def on_svc(self, callback: Callable[..., object], number: int | None = None, after: bool = False,
               hold: bool = False) -> None:
        """``callback(proc, thread_id, number, args)`` before (or after) every SVC (or just ``number``).

        Before: ``args`` are r0..r7 as the SVC found them. After: r0..r7 once it has completed,
        which for an SVC that blocks (a wait, a sleep, a request to a service) is when its
        thread wakes and runs again; an SVC that never completes (ExitProcess) has no after.
        ``hold``: asked before the SVC is served; a true return pauses ``run()`` with the SVC
        not yet served, the thread at its svc instruction, and the next run serves it (once,
        without asking again), with the same instruction counts and ticks as if never held.
        The kernel's own listeners (``emu.kernel.svc_listeners``) get an ``SvcCall``."""

        def listener(call: SvcCall) -> object:
            args = call.registers_after() if after else call.args
            return callback(Proc(self, call.process), call.thread.tid, call.number, args)

        def holder(call: SvcCall) -> bool:
            held = bool(listener(call))
            self._paused = self._paused or held
            return held

        self.kernel.svc_listeners.add(holder if hold else listener, number, after, hold)

    def on_crash(self, callback: Callable[[Proc, ThreadView, CpuFault, str], object]) -> None:
        """``callback(proc, thread, fault, report)`` when a guest fault is about to end ``proc``
        (``report``: the crash report it would print). A true return holds the crash: ``run()``
        pauses with the thread at the faulting instruction and the process alive; running on
        runs that instruction again (and faults again, unless registers or memory changed);
        :meth:`crash` ends the process with the report."""

        def holder(thread: Thread, fault: CpuFault, report: str) -> bool:
            held = bool(callback(Proc(self, thread.process), self.thread_view(thread), fault, report))
            self._paused = self._paused or held
            return held

        self.kernel.crash_holders.append(holder)

    def crash(self, proc: Proc, report: str, address: int | None = None) -> None:
        """End ``proc`` as a guest fault does: ``report`` printed and kept as ``proc.crash``."""
        self.kernel.crash_process(proc.process, report, address)

    def on_ipc(self, callback: Callable[[Message], None]) -> None:
        """``callback(message)`` for every IPC request and reply, decoded."""
        self.kernel.ipc_listeners.append(callback)

    def breakpoint(self, proc: Proc, addr: int | str, callback: Callable[[Proc, ThreadView], object] | None = None,
                   ) -> None:
        """Pause when ``proc`` is about to run the instruction at ``addr`` (an address, or a
        function's name from the program's symbols: ``emu.breakpoint(p, "bump")``), or call
        ``callback``; it pauses if the callback returns true."""
        if isinstance(addr, str):
            from kernel.api.inspect import address_of

            addr = address_of(proc, addr)
        self._breakpoints[(proc.pid, addr)] = callback
        cpu = proc.process.cpu
        cpu.on_breakpoint = self._on_breakpoint
        cpu.add_breakpoint(addr)

    def remove_breakpoint(self, proc: Proc, addr: int) -> None:
        """Forget the breakpoint at ``addr`` of ``proc`` (KeyError if there is none)."""
        del self._breakpoints[(proc.pid, addr)]
        if not proc.process.released:
            proc.process.cpu.remove_breakpoint(addr)

    def _on_breakpoint(self, cpu: Cpu, address: int) -> bool:
        """A thread is about to run a breakpoint's instruction: pause, unless its callback says no."""
        thread = self.kernel.current
        if thread is None:
            return True
        callback = self._breakpoints.get((thread.process.pid, address))
        if callback is not None and not callback(Proc(self, thread.process), self.thread_view(thread)):
            return False
        self._paused = True
        return True

    @property
    def breakpoints(self) -> list[Breakpoint]:
        """``(pid, address)`` of every breakpoint, sorted."""
        return [Breakpoint(pid, address) for pid, address in sorted(self._breakpoints)]

    # save states (kernel.state; the format: docs/save-states.md)
    def save_state(self, target: str | Path | BinaryIO) -> int:
        """Write the whole machine to ``target`` (a path or a binary file) between runs; the
        bytes written. What it holds and what it leaves out: docs/save-states.md. A
        StateError when the machine cannot be saved (a watchpoint is set)."""
        from kernel import state

        return state.save(self.kernel, target)

    @classmethod
    def load_state(cls, source: str | Path | BinaryIO | bytes, backend: str = "auto",
                   host_page_size: int | None = None, echo: bool = True,
                   sdmc: str | Path | None = None) -> Emulator:
        """A new emulator running exactly where the saved one was, on any backend (the
        state is backend-independent). StateError when the file is damaged, truncated, of a
        newer format or not a state; nothing half-loaded is left. ``sdmc``: the SD card's
        host folder (default: the one the state was saved with)."""
        from kernel import state

        captured = state.read(source)
        return cls._from_captured(captured, backend, host_page_size, echo, sdmc)

    @classmethod
    def _from_captured(cls, captured: object, backend: str, host_page_size: int | None, echo: bool,
                       sdmc: str | Path | None) -> Emulator:
        from kernel import state

        meta = captured.meta  # type: ignore[attr-defined]
        quantum = meta.get("quantum_blocks")
        if not isinstance(quantum, int) or quantum <= 0:
            raise state.StateError("the state does not say its scheduling quantum")
        emu = cls(backend=backend, host_page_size=host_page_size, quantum_blocks=quantum, echo=echo, sdmc=sdmc)
        try:
            keep_sdmc = emu.kernel.fs.sdmc_root
            state.restore_into(emu.kernel, captured)  # type: ignore[arg-type]
            if sdmc is not None:
                emu.kernel.fs.sdmc_root = keep_sdmc
        except BaseException:
            emu.close()
            raise
        return emu

    def snapshot(self) -> object:
        """The machine now, kept in memory (uncompressed) for :meth:`restore`."""
        from kernel import state

        return state.snapshot(self.kernel)

    def restore(self, snap: object) -> None:
        """Go back to ``snap`` (from :meth:`snapshot`, of this emulator or another). Host
        hooks stay: ``on_output``, ``on_frame``, ``on_svc``/``on_ipc`` listeners, breakpoints
        (on processes that exist in the snapshot)."""
        from kernel import state

        old = self.kernel
        opts = self._options
        fresh = Kernel(backend=str(opts["backend"]), host_page_size=opts["host_page_size"],  # type: ignore[arg-type]
                       quantum_blocks=snap.meta["quantum_blocks"], output=self._output,  # type: ignore[attr-defined]
                       sdmc_root=opts["sdmc"])  # type: ignore[arg-type]
        try:
            state.restore_into(fresh, snap)  # type: ignore[arg-type]
        except BaseException:
            fresh.close()
            raise
        from kernel.services import Service

        fresh.svc_listeners, fresh.ipc_listeners = old.svc_listeners, old.ipc_listeners
        fresh.apt.keyboard.frontend = old.apt.keyboard.frontend
        host = [f for f in old.display.vblank_listeners if not isinstance(getattr(f, "__self__", None), Service)]
        fresh.display.vblank_listeners[:0] = host
        self.kernel = fresh
        old.close()
        for (pid, addr) in self._breakpoints:
            process = fresh.processes.get(pid)
            if process is not None and not process.released:
                process.cpu.on_breakpoint = self._on_breakpoint
                process.cpu.add_breakpoint(addr)
        self._paused = False

    # rewind (kernel.state.rewind)
    def enable_rewind(self, every_frames: int = 10, keep: int = 60, max_bytes: int = 256 << 20,
                      min_seconds: float = 0.0) -> None:
        """Keep an in-memory snapshot every ``every_frames`` frames (at most ``keep`` of them,
        ``max_bytes`` in all, the oldest dropped first) so :meth:`rewind` can go back; one is
        taken now. ``run()`` then stops at each such frame to take it, which changes nothing
        the guests compute. With ``min_seconds``, a mark less than that many seconds of wall
        time after the last snapshot is passed without one (the window's ring: unthrottled,
        the demo would otherwise spend a third of its time on snapshots); rewind still
        reaches exactly the frame asked for."""
        from kernel.state.rewind import RewindRing

        self._rewind = RewindRing(every_frames, keep, max_bytes, min_seconds)
        self.rewind_off = None
        self._rewind.push(self.snapshot())  # type: ignore[arg-type]

    def disable_rewind(self) -> None:
        self._rewind = None

    def _rewind_snapshot(self, ring: object) -> bool:
        """Take a rewind mark's snapshot; one that cannot be taken (a debugger's watchpoint or
        crash hook is set) turns rewind off, and says why, rather than fail the run."""
        from kernel.state import StateError

        try:
            ring.push(self.snapshot())  # type: ignore[attr-defined]
        except StateError as exc:
            self._rewind = None
            self.rewind_off = str(exc)
            return False
        return True

    def rewind(self, frames: int) -> int:
        """Go back ``frames`` frames (needs :meth:`enable_rewind`): restore the newest snapshot
        at or before that frame and run forward to it (exact: execution is deterministic).
        Returns the frame reached; not further back than the oldest snapshot kept."""
        from kernel.state import StateError

        if self._rewind is None:
            why = self.rewind_off
            raise StateError(f"rewind turned itself off: {why}" if why else
                             "rewind is not enabled: call emu.enable_rewind() first")
        target = max(0, self.frame - max(0, frames))
        snap = self._rewind.at_or_before(target)
        if snap is None:
            snap = self._rewind.snapshots[0]
            target = snap.meta["frame"]
        self._rewind.drop_after(snap.meta["frame"])
        self.restore(snap)
        if self.frame < target:
            self._run_with_rewind(None, target - self.frame, None)
        return self.frame

    def _run_with_rewind(self, instructions: int | None, frames: int | None,
                         until: Callable[[], bool] | None) -> RunResult:
        """``run()`` cut at every rewind mark, with a snapshot taken between the pieces."""
        ring = self._rewind
        assert ring is not None
        start = self.instructions
        target = None if frames is None else self.frame + frames
        fresh = True
        while True:
            mark = ring.next_mark(self.frame)
            goal = mark if target is None else min(mark, target)
            left = None if instructions is None else instructions - (self.instructions - start)
            result = self._run(left, goal - self.frame, until, fresh)
            fresh = False
            at_mark = self.frame >= mark
            taken = not at_mark or not ring.due() or self._rewind_snapshot(ring)
            piece_done = result.reason in ("condition met", "frames done")  # this piece's goal, not the run's
            if piece_done and self._paused:  # asked from another thread while the piece ended
                result.reason = "paused"
                return result
            done = (not piece_done or (until is not None and until())
                    or (target is not None and self.frame >= target) or not at_mark)
            if done:
                return result
            if not taken:  # rewind turned itself off: the rest of the run is a plain one
                left = None if instructions is None else instructions - (self.instructions - start)
                return self._run(left, None if target is None else target - self.frame, until, fresh=False)

    def close(self) -> None:
        self.kernel.close()
