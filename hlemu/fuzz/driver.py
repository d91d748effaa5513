"""One fuzz case in one kernel: driven processes, a bystander, bounded running, the checks.

:class:`SvcDriver` takes over the SVC callback of the processes it drives: each
``svc`` their threads trap on is replaced by an SVC the process's generator picks
(number and r0..r7), which goes through ``Kernel.dispatch_svc`` as any guest SVC
does. A generator sees the kernel (handle tables, mapped regions, sessions) so it
can aim at real objects; its choices come only from its seeded random generator
and that state, so a seed replays its case.

:class:`Case` runs the kernel with a wall-free stall detector (a ``run()`` that
keeps idling without running a guest instruction is reported as a hang instead
of spinning until the parent's timeout), pauses every few hundred SVCs to check
sharing with the processes alive, then ends what is left, checks the bystander,
reaps and checks that everything came back.
"""

from __future__ import annotations

import functools
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from hlemu.cpu import Cpu
from hlemu.fuzz.checks import Baseline, Finding, check_released, check_sharing
from hlemu.fuzz.guest import bystander_image, bystander_problem, driven_program
from kernel.kernel import Kernel, RunResult
from kernel.process import Process
from kernel.thread import Thread

EXIT_PROCESS = 0x03
STALL_STEPS = 5_000  # scheduler steps in a row without a guest instruction: run() is looping idle
INTERNAL_ERROR = "internal error (a bug in hlemu, please report it):"  # kernel.kernel.internal_error_report
MAX_FINDINGS = 6  # per case: the same breach seen at every check is one finding
Op = tuple[int, list[int]]
T = TypeVar("T")


class Generator(Protocol):
    def next(self, thread: Thread) -> Op: ...


@dataclass
class Driven:
    process: Process
    generator: Generator
    left: int  # SVCs still to issue; then every trap is ExitProcess
    recent: deque[Op] = field(default_factory=lambda: deque(maxlen=8))


class SvcDriver:
    def __init__(self, kernel: Kernel, check_every: int = 500) -> None:
        self.kernel = kernel
        self.driven: dict[int, Driven] = {}
        self.svcs = 0
        self.check_every = check_every
        self.check_due = False

    def drive(self, process: Process, generator: Generator, budget: int) -> None:
        self.driven[process.pid] = Driven(process, generator, budget)
        process.cpu.on_svc = self._on_svc

    def _on_svc(self, cpu: Cpu, number: int, args: list[int]) -> None:
        thread = self.kernel.current
        driven = self.driven.get(thread.process.pid) if thread is not None else None
        if driven is None or thread is None:
            self.kernel.dispatch_svc(cpu, number, args)
            return
        if driven.left > 0:
            driven.left -= 1
            number, args = driven.generator.next(thread)
        else:
            number, args = EXIT_PROCESS, [0] * 8
        driven.recent.append((number, list(args)))
        self.svcs += 1
        self.kernel.dispatch_svc(cpu, number, args)
        if self.check_every and self.svcs % self.check_every == 0:
            self.check_due = True
            self.kernel.limit_slice(0)  # back to Case.run before the next block

    def recent(self) -> str:
        """The last SVCs of each driven process, for a failure report."""
        lines = []
        for pid, d in self.driven.items():
            ops = "; ".join(f"{n:#04x}({', '.join(f'{a:#x}' for a in args[:6])})" for n, args in d.recent)
            lines.append(f"pid {pid:#x}: {ops}")
        return "\n".join(lines)


class Stall:
    """``until`` for Kernel.run: true once the scheduler stepped STALL_STEPS times without guest code."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.mark = -1
        self.steps = 0
        self.stalled = False

    def __call__(self) -> bool:
        now = self.kernel.instructions
        if now != self.mark:
            self.mark, self.steps = now, 0
            return False
        self.steps += 1
        self.stalled = self.steps >= STALL_STEPS
        return self.stalled


def where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    inner = [f for f in frames if "/hlemu/fuzz/" not in f.filename] or frames
    shown = " <- ".join(f"{f.filename.rsplit('/', 2)[-2]}/{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}"
                        for f in reversed(inner[-3:]))
    return f"{type(exc).__name__}: {str(exc)[:200]} at {shown}"


@dataclass
class CaseResult:
    campaign: str
    seed: int
    failures: list[dict[str, str]] = field(default_factory=list)
    svcs: int = 0
    instructions: int = 0
    guest_crashes: int = 0
    refused: bool = False  # elf: the loader said no (a clean LoaderError)
    seconds: float = 0.0
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return dict(vars(self))


class Case:
    """A fresh kernel for one case, with the bystander already spawned."""

    def __init__(self, campaign: str, seed: int, backend: str, check_every: int = 500,
                 bystander: bool = True) -> None:
        self.started = time.perf_counter()
        self.result = CaseResult(campaign, seed)
        self.kernel = Kernel(backend=backend, output=lambda process, line: None)
        self.baseline = Baseline.of(self.kernel)
        self.driver = SvcDriver(self.kernel, check_every)
        self.bystander = self.kernel.spawn(bystander_image(), name="bystander") if bystander else None
        self._seen: set[str] = set()
        self.broken = False  # an exception escaped: the kernel's state is suspect

    def fail(self, kind: str, message: str, detail: str = "") -> None:
        if message in self._seen or len(self.result.failures) >= MAX_FINDINGS:
            return
        self._seen.add(message)
        self.result.failures.append({"kind": kind, "message": message, "detail": detail})

    def _findings(self, findings: list[Finding]) -> None:
        for f in findings:
            self.fail(f.kind, f.message, self.driver.recent())

    def guarded(self, phase: str, fn: Callable[[], T]) -> T | None:
        """Run ``fn``; an exception escaping it is a finding (and the kernel is not trusted after)."""
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - anything escaping the kernel is what we look for
            self.fail("escaped", f"{phase}: {where(exc)}", self.driver.recent() + "\n" + traceback.format_exc())
            self.broken = True
            return None

    def spawn_driven(self, generator_for: Callable[[Process], Generator], budget: int, name: str) -> Process:
        process = self.kernel.spawn(driven_program(name))
        self.driver.drive(process, generator_for(process), budget)
        return process

    def run(self, max_instructions: int) -> RunResult | None:
        """Run to the end (or the limit, or a stall), checking sharing every few hundred SVCs."""
        kernel = self.kernel
        stall = Stall(kernel)
        limit = kernel.instructions + max_instructions
        result: RunResult | None = None
        while not self.broken:
            left = limit - kernel.instructions
            if left <= 0:
                break
            result = self.guarded("Kernel.run", functools.partial(
                kernel.run, max_instructions=left, until=lambda: self.driver.check_due or stall()))
            if result is None or result.reason != "condition met":
                break
            if stall.stalled:
                self.fail("hang", f"Kernel.run(max_instructions={max_instructions}) kept idling: {STALL_STEPS} "
                                  "scheduler steps in a row ran no guest instruction", self.driver.recent())
                break
            self.driver.check_due = False
            self.guarded("Kernel.reap", kernel.reap)  # as a system would: ended processes give memory back
            if not self.broken:
                self.guarded("check", lambda: self._findings(check_sharing(kernel)))
        return result

    def _internal_errors(self, processes: list[Process]) -> None:
        """A Python exception the kernel caught in an SVC handler (ending only the caller) is still
        an exception that escaped the handler: a finding."""
        for process in processes:
            report = process.crash or ""
            at = report.find(INTERNAL_ERROR)
            if at >= 0:
                line = report[at:].splitlines()[0]
                self.fail("escaped", f"contained in {process.name}: {line[len(INTERNAL_ERROR):].strip()[:300]}",
                          self.driver.recent() + "\n" + report)

    def finish(self) -> CaseResult:
        """End what still runs, check the bystander, sharing, the reaping and the frames."""
        kernel = self.kernel
        if not self.broken:
            self.guarded("check", lambda: self._findings(check_sharing(kernel)))
        if self.bystander is not None and not self.broken:
            problem = bystander_problem(self.bystander)
            if problem:
                self.fail("bystander", problem, self.driver.recent())
        processes = list(kernel.processes.values())
        self._internal_errors([*kernel.reaped, *processes])
        self.result.guest_crashes = sum(1 for p in [*kernel.reaped, *processes] if p.crash and p is not self.bystander)
        for process in processes:
            if process.alive and not self.broken:
                self.guarded("end_process", lambda p=process: kernel.end_process(p, -1))  # type: ignore[misc]
        if not self.broken:
            self.guarded("Kernel.reap", kernel.reap)
        if not self.broken:
            self.guarded("check", lambda: self._findings(check_released(kernel, self.baseline)))
        self.result.svcs = self.driver.svcs
        self.result.instructions = kernel.instructions
        try:
            kernel.close()
        except Exception as exc:  # noqa: BLE001
            self.fail("escaped", f"Kernel.close: {where(exc)}")
        self.result.seconds = time.perf_counter() - self.started
        return self.result
