"""``Emulator``: the kernel and its processes, run control, breakpoints and hooks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from hlemu.cpu import Cpu
from hlemu.loaders import Image
from hlemu.memory import WatchHit
from kernel.api.console import ConsoleConfig
from kernel.api.gpu import GpuView
from kernel.api.proc import Proc
from kernel.api.sigint import stop_on_sigint
from kernel.api.views import ThreadView, read_thread
from kernel.display import Display
from kernel.ipc import Message
from kernel.kernel import Kernel, RunResult
from kernel.process import Process
from kernel.services.cfg import settings_from
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
        self.echo = echo
        self._output_listeners: list[Callable[[Proc, str], None]] = []
        self.kernel = Kernel(backend=backend, host_page_size=host_page_size, quantum_blocks=quantum_blocks,
                             output=self._output, sdmc_root=sdmc)
        self.kernel.cfg.settings = settings
        self.watch_hits: list[WatchHit] = []
        self._paused = False
        # (pid, address) -> the callback deciding whether to pause (None: always)
        self._breakpoints: dict[tuple[int, int], Callable[[Proc, ThreadView], object] | None] = {}

    def _output(self, process: Process, line: str) -> None:
        if self.echo:
            print(f"[{process.name}:{process.pid}] {line}", flush=True)
        for listener in self._output_listeners:
            listener(Proc(self, process), line)

    def on_output(self, callback: Callable[[Proc, str], None]) -> None:
        """``callback(proc, line)`` for every line a guest prints and every kernel report
        about a process (crashes, deadlocks, unimplemented SVCs)."""
        self._output_listeners.append(callback)

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

        Ctrl-C (on the main thread) stops the guest at a clean point, between two slices, and
        then raises KeyboardInterrupt here: the emulator stays consistent and ``run()`` resumes."""
        self._paused = False
        target = None if frames is None else self.kernel.display.frame + frames

        def stop() -> bool:
            return (self._paused or (target is not None and self.kernel.display.frame >= target)
                    or (until is not None and bool(until())))

        with stop_on_sigint(self.interrupt) as ctrl_c:
            result = self.kernel.run(max_instructions=instructions, until=stop)
        if ctrl_c.interrupted:
            raise KeyboardInterrupt(f"guest stopped cleanly after {result.instructions:,} instructions "
                                    f"(frame {self.frame}); emu.run() goes on from there")
        return result

    def step(self) -> ThreadView | None:
        """Run exactly one guest instruction of the thread that would run next, accounted as
        ``run()`` accounts it (N steps and ``run(instructions=N)`` leave the same machine and
        the same ticks). When every thread waits, guest time first moves on to the next timer
        or VBlank that wakes one; None when nothing ever can. A breakpoint on the instruction
        does not stop a step."""
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
        return self.kernel.apt.press_home(None if proc is None else proc.process)

    def press_power(self, proc: Proc | None = None) -> int:
        """Press POWER and choose "power off": ``aptMainLoop()`` then returns false, so a
        libctru application ends itself; how many applications got it."""
        return self.kernel.apt.press_power(None if proc is None else proc.process)

    # hooks
    def on_svc(self, callback: Callable[..., object], number: int | None = None, after: bool = False) -> None:
        """``callback(proc, thread_id, number, args)`` before (or after) every SVC (or just ``number``).

        Before: ``args`` are r0..r7 as the SVC found them. After: r0..r7 once it has completed,
        which for an SVC that blocks (a wait, a sleep, a request to a service) is when its
        thread wakes and runs again; an SVC that never completes (ExitProcess) has no after.
        The kernel's own listeners (``emu.kernel.svc_listeners``) get an ``SvcCall``."""

        def listener(call: SvcCall) -> None:
            args = call.registers_after() if after else call.args
            callback(Proc(self, call.process), call.thread.tid, call.number, args)

        self.kernel.svc_listeners.add(listener, number, after)

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
    def breakpoints(self) -> list[tuple[int, int]]:
        """``(pid, address)`` of every breakpoint, sorted."""
        return sorted(self._breakpoints)

    def close(self) -> None:
        self.kernel.close()
