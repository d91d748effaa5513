"""The scripting API: one object, ``Emulator``, over the kernel, its processes and memory.

It is what ``hlemu repl`` puts in the shell as ``emu``, what ``hlemu run
--script`` runs against, and what the GUI uses; there is no second path into
the kernel.

>>> emu = Emulator(backend="semifastmem", echo=False)
>>> p = emu.spawn("hello")
>>> p.pid, p.name
(32, 'hello')
>>> emu.run().reason, p.exit_code, p.output[0]
('all exited', 7, 'Hello from hlemu!')
>>> [str(r) for r in p.maps()][:2]
['00100000-00103fff r-x code', '00104000-00104fff r-- code']
>>> p.disasm(0x00100000, 2)[0].split(":")[0]
'00100000'
>>> emu.close()
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unicorn import UC_HOOK_CODE
from unicorn import arm_const as arm

from hlemu.cpu import CPSR_T, Stop
from hlemu.cpu.decode import Instruction, disassemble
from hlemu.loaders import Image
from hlemu.memory import FaultKind, MemoryInfo, MemoryPermission, MemoryState, WatchHit, Watchpoint
from kernel.crash import crash_report
from kernel.ipc import Message
from kernel.kernel import Kernel, RunResult
from kernel.process import Process
from kernel.thread import Thread

_REGS = [f"r{i}" for i in range(13)] + ["sp", "lr", "pc"]
_VFP_REGS = [f"d{i}" for i in range(16)] + ["fpscr"]
_REG_IDS = {name: getattr(arm, f"UC_ARM_REG_{name.upper()}") for name in _REGS + ["cpsr"] + _VFP_REGS}


@dataclass
class Region:
    """A QueryMemory region, with the physical range and who else maps it."""

    base: int
    size: int
    perm: MemoryPermission
    state: MemoryState
    phys: int | None
    shared_with: list[int]

    def __str__(self) -> str:
        return str(MemoryInfo(self.base, self.size, self.perm, self.state))


@dataclass
class MapSnapshot:
    """The regions of a process at one moment; ``diff`` says what changed since."""

    pid: int
    regions: list[MemoryInfo]

    def diff(self, later: MapSnapshot) -> list[str]:
        """Lines ``+ region`` (new), ``- region`` (gone) between this snapshot and ``later``."""
        before, after = set(map(str, self.regions)), set(map(str, later.regions))
        return [f"- {r}" for r in sorted(before - after)] + [f"+ {r}" for r in sorted(after - before)]


@dataclass
class ThreadView:
    tid: int
    name: str
    state: str
    priority: int
    waiting_on: str
    registers: dict[str, int] = field(default_factory=dict)  # r0-r12, sp, lr, pc, cpsr
    vfp: dict[str, int] = field(default_factory=dict)  # d0-d15 (raw 64-bit), fpscr; when asked for

    @property
    def pc(self) -> int:
        return self.registers.get("pc", 0)

    @property
    def thumb(self) -> bool:
        return bool(self.registers.get("cpsr", 0) & CPSR_T)


@dataclass
class HandleInfo:
    """One handle of a process: what it names and which processes hold the same object."""

    handle: int
    type: str
    description: str
    object_id: int
    holders: list[int]  # pids of every process with a handle to the object (this one included)


class Proc:
    """One guest process, as a script sees it."""

    def __init__(self, emu: Emulator, process: Process) -> None:
        self._emu = emu
        self.process = process

    # identity and state
    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def name(self) -> str:
        return self.process.name

    @property
    def status(self) -> str:
        return self.process.status

    @property
    def exit_code(self) -> int | None:
        return self.process.exit_code

    @property
    def crash(self) -> str | None:
        return self.process.crash

    @property
    def output(self) -> list[str]:
        """Lines the guest printed (OutputDebugString)."""
        return self.process.output

    def __repr__(self) -> str:
        return f"<Proc {self.pid} {self.name!r} {self.status}>"

    # memory
    @property
    def space(self):  # noqa: ANN201 - the AddressSpace
        return self.process.space

    @property
    def page_table(self):  # noqa: ANN201 - the PageTable (numpy arrays; .query(), .regions())
        return self.process.space.table

    def page(self, addr: int):  # noqa: ANN201 - a PageEntry
        """One page: frame, physical address, permission, state, special kind, faults."""
        return self.process.space.page(addr)

    def maps(self) -> list[Region]:
        """Regions as QueryMemory reports them, with physical addresses and sharers."""
        space = self.process.space
        infos = space.regions()
        sharers = self._emu.kernel.memory.sharers(space, [info.base for info in infos])
        return [Region(info.base, info.size, info.perm, info.state, space.translate(info.base), others)
                for info, others in zip(infos, sharers, strict=True)]

    def snapshot_maps(self) -> MapSnapshot:
        return MapSnapshot(self.pid, self.process.space.regions())

    def read(self, addr: int, size: int) -> bytes:
        """Guest bytes (permissions and faults apply as for the guest; watchpoints stay quiet)."""
        with self._quiet():
            return self.process.space.mem.read(addr, size)

    def write(self, addr: int, data: bytes) -> None:
        with self._quiet():
            self.process.space.mem.write(addr, data)

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        space = self.process.space
        space.watch_muted = True
        try:
            yield
        finally:
            space.watch_muted = False

    def peek(self, addr: int, size: int) -> bytes:
        """Bytes regardless of permission (code, read-only data)."""
        return self.process.space.peek(addr, size)

    def poke(self, addr: int, data: bytes) -> None:
        """Write regardless of permission (patch code; cached translations are dropped)."""
        self.process.space.poke(addr, data)

    def u8(self, addr: int, value: int | None = None) -> int:
        return self._int(addr, 1, value)

    def u16(self, addr: int, value: int | None = None) -> int:
        return self._int(addr, 2, value)

    def u32(self, addr: int, value: int | None = None) -> int:
        return self._int(addr, 4, value)

    def u64(self, addr: int, value: int | None = None) -> int:
        return self._int(addr, 8, value)

    def _int(self, addr: int, size: int, value: int | None) -> int:
        mem = self.process.space.mem
        with self._quiet():
            if value is not None:
                mem.write_int(addr, size, value)
                return value
            return mem.read_int(addr, size)

    def string(self, addr: int, max_len: int = 4096) -> str:
        with self._quiet():
            return self.process.space.mem.read_string(addr, max_len)

    def struct(self, addr: int, fmt: str) -> tuple:
        """``struct.unpack(fmt, ...)`` of guest memory (little-endian unless ``fmt`` says)."""
        fmt = fmt if fmt[:1] in "<>!=@" else "<" + fmt
        return struct.unpack(fmt, self.read(addr, struct.calcsize(fmt)))

    def search(self, pattern: bytes | int, width: int = 4) -> list[int]:
        mem = self.process.space.mem
        return mem.search_value(pattern, width) if isinstance(pattern, int) else mem.search(pattern)

    def disasm(self, addr: int, count: int = 10, thumb: bool | None = None) -> list[str]:
        """``count`` instructions from ``addr`` as text (ARM or Thumb; default: the main thread's mode)."""
        return [str(insn) for insn in self.instructions(addr, count, thumb)]

    def instructions(self, addr: int, count: int = 10, thumb: bool | None = None) -> list[Instruction]:
        """``count`` instructions from ``addr`` (address, bytes, text); unmapped ones say so."""
        if thumb is None:
            thumb = bool(self.process.cpu.cpsr & CPSR_T) if self.process.alive else False
        return disassemble(self.process.space, addr, count, thumb)

    # faults, handles, threads
    @property
    def faults(self) -> dict[str, int]:
        """Fault counts by kind over all pages (unmapped, permission, special, write_track, tlb_fill)."""
        return self.process.space.faults.totals()

    def fault_pages(self, kind: str | None = None) -> list[int]:
        fk = None if kind is None else FaultKind[kind.upper()]
        return [v << 12 for v in self.process.space.faults.pages_with_faults(fk).tolist()]

    @property
    def crash_address(self) -> int | None:
        """The address whose access crashed the process (None if it did not crash on memory)."""
        return self.process.crash_address

    @property
    def handles(self) -> list[tuple[int, str]]:
        return [(h, obj.describe()) for h, obj in self.process.handles.items()]

    def handle_info(self) -> list[HandleInfo]:
        """Handles with their object's type and every process holding that object."""
        others = [p for p in self._emu.kernel.processes.values() if p.alive]
        return [HandleInfo(h, obj.type_name, obj.describe(), obj.object_id,
                           [p.pid for p in others if p.handles.holds(obj)])
                for h, obj in self.process.handles.items()]

    @property
    def threads(self) -> list[ThreadView]:
        return [self._emu.thread_view(t) for t in self.process.threads]

    # watchpoints
    def watch(self, addr: int, size: int = 4, callback: Callable[[WatchHit], None] | None = None,
              on: str = "w") -> Watchpoint:
        """Call ``callback(hit)`` on every guest access of ``[addr, addr+size)`` (``on``: r, w, rw).

        Without a callback the hit is recorded in ``emu.watch_hits`` and the run pauses.
        """
        def default(hit: WatchHit) -> None:
            self._emu.watch_hits.append(hit)
            self._emu.pause()

        return self.process.space.watch(addr, size, callback or default, on)


class Emulator:
    """The kernel and its processes. Programs are paths or bundled names (``"hello"``)."""

    def __init__(self, backend: str = "auto", host_page_size: int | None = None, quantum_blocks: int = 20_000,
                 echo: bool = True) -> None:
        self.echo = echo
        self._output_listeners: list[Callable[[Proc, str], None]] = []
        self.kernel = Kernel(backend=backend, host_page_size=host_page_size, quantum_blocks=quantum_blocks,
                             output=self._output)
        self.watch_hits: list[WatchHit] = []
        self._paused = False
        self._svc_hooks: list[tuple[int | None, bool, Callable[..., object]]] = []
        self._breakpoints: dict[tuple[int, int], int] = {}  # (pid, address) -> Unicorn hook handle
        self._skip_break: tuple[int, int] | None = None
        self._install_svc_hooks()

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
        regs: dict[str, int] = {}
        fp: dict[str, int] = {}
        cpu = t.process.cpu
        source: Any = None  # what registers are read from: the Unicorn engine or a saved context
        if t.alive and t.process.loaded is t:
            regs = dict(zip(_REGS, cpu.read_registers(), strict=True))
            regs["cpsr"] = cpu.cpsr
            source = cpu.uc
        elif t.context is not None and t.alive:
            source = t.context
            regs = {name: int(source.reg_read(_REG_IDS[name])) for name in _REGS + ["cpsr"]}
        elif t.alive:
            regs = {"pc": t.entry, "sp": t.stack_top, "r0": t.arg, "cpsr": 0x10 | (CPSR_T if t.entry & 1 else 0)}
        if vfp and source is not None:
            fp = {name: int(source.reg_read(_REG_IDS[name])) for name in _VFP_REGS}
        return ThreadView(t.tid, t.name, t.state.value, t.priority,
                          t.wait.describe() if t.wait else "", regs, fp)

    # running
    def run(self, instructions: int | None = None, frames: int | None = None,
            until: Callable[[], bool] | None = None) -> RunResult:
        """Run until every process ends, or ``instructions`` more, ``frames`` more, ``until()``, or a pause."""
        self._paused = False
        target = None if frames is None else self.kernel.display.frame + frames

        def stop() -> bool:
            return (self._paused or (target is not None and self.kernel.display.frame >= target)
                    or (until is not None and bool(until())))

        return self.kernel.run(max_instructions=instructions, until=stop)

    def step(self) -> ThreadView | None:
        """Run exactly one guest instruction of the thread that would run next. When every
        thread waits, guest time first moves on to the next timer or VBlank that wakes one;
        None when nothing ever can."""
        kernel = self.kernel
        while True:
            kernel._expire()
            thread = kernel.pick()
            if thread is not None:
                break
            deadline = kernel._next_deadline()
            if deadline is None:
                return None
            kernel.ticks = max(kernel.ticks, deadline)  # idle until it, as a run would
        kernel._switch_to(thread)
        cpu = thread.process.cpu
        key = (thread.process.pid, cpu.pc)
        if key in self._breakpoints:
            self._skip_break = key  # stepping onto a breakpoint runs the instruction
        before = cpu.instructions
        stop = cpu.run_one()
        kernel.ticks += max(cpu.instructions - before, 1)
        if stop == Stop.FAULT and cpu.fault is not None:  # the stepped instruction faulted: as in a run
            kernel.crash_process(thread.process, crash_report(thread, cpu.fault), cpu.fault.address)
        return self.thread_view(thread)

    def pause(self) -> None:
        """From a callback: stop ``run()`` before the next translated block of guest code
        starts. The access or instruction that called back completes first, and so do the
        rest of its block's instructions (a block ends at the next branch or SVC); a
        breakpoint, by contrast, stops before its instruction."""
        self._paused = True
        self.kernel.limit_slice(0)

    def interrupt(self) -> None:
        """From another thread (a window's Pause): make a ``run()`` in progress return soon.

        The only call that may come from a thread other than the one running the emulator:
        it sets a flag the run loop checks and asks the running CPU to stop (Unicorn's
        ``emu_stop`` is meant for that)."""
        self._paused = True
        thread = self.kernel.current
        if thread is not None:
            thread.process.cpu.request_stop()

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

    # hooks
    def on_svc(self, callback: Callable[..., object], number: int | None = None, after: bool = False) -> None:
        """``callback(proc, thread_id, number, args)`` before (or after) every SVC (or just ``number``)."""
        self._svc_hooks.append((number, after, callback))

    def on_ipc(self, callback: Callable[[Message], None]) -> None:
        """``callback(message)`` for every IPC request and reply, decoded."""
        self.kernel.ipc_listeners.append(callback)

    def breakpoint(self, proc: Proc, addr: int, callback: Callable[[Proc, ThreadView], object] | None = None) -> None:
        """Pause when ``proc`` is about to run the instruction at ``addr`` (or call ``callback``;
        it pauses if the callback returns true)."""
        key = (proc.pid, addr)
        if key in self._breakpoints:
            self.remove_breakpoint(proc, addr)
        cpu = proc.process.cpu

        def hit(uc: object, address: int, size: int, user: object) -> None:
            if self._skip_break == key:
                self._skip_break = None
                return
            thread = self.kernel.current
            if callback is not None and not callback(proc, self.thread_view(thread)) if thread else False:
                return
            self._skip_break = key  # resume past it next time
            self._paused = True
            if thread is not None:
                thread.process.cpu.request_stop()  # before the instruction runs

        self._breakpoints[key] = cpu.uc.hook_add(UC_HOOK_CODE, hit, begin=addr, end=addr)
        cpu.uc.ctl_remove_cache(addr, addr + 4)  # code already translated gets the hook too

    def remove_breakpoint(self, proc: Proc, addr: int) -> None:
        """Forget the breakpoint at ``addr`` of ``proc`` (KeyError if there is none)."""
        handle = self._breakpoints.pop((proc.pid, addr))
        cpu = proc.process.cpu
        if proc.process.alive:
            cpu.uc.hook_del(handle)
            cpu.uc.ctl_remove_cache(addr, addr + 4)
        if self._skip_break == (proc.pid, addr):
            self._skip_break = None

    @property
    def breakpoints(self) -> list[tuple[int, int]]:
        """``(pid, address)`` of every breakpoint, sorted."""
        return sorted(self._breakpoints)

    def _install_svc_hooks(self) -> None:
        kernel = self.kernel
        dispatch = kernel.dispatch_svc

        def hooked(cpu, number: int, args: list[int]) -> None:  # noqa: ANN001
            if not self._svc_hooks:
                return dispatch(cpu, number, args)
            thread = kernel.current
            proc = Proc(self, thread.process) if thread else None
            tid = thread.tid if thread else -1
            for want, after, cb in self._svc_hooks:
                if not after and (want is None or want == number):
                    cb(proc, tid, number, args)
            dispatch(cpu, number, args)
            for want, after, cb in self._svc_hooks:
                if after and (want is None or want == number):
                    cb(proc, tid, number, cpu.read_args())
            return None

        kernel.dispatch_svc = hooked  # type: ignore[method-assign]
        for process in kernel.processes.values():
            process.cpu.on_svc = hooked

    def close(self) -> None:
        self.kernel.close()
