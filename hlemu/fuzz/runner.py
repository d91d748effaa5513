"""Run a campaign's cases in child processes, so that a host crash or a hang is a finding.

The parent hands one seed at a time to a child (``multiprocessing`` with the
``spawn`` context: a fresh interpreter, nothing inherited from the parent's
state) and waits at most ``timeout`` seconds for its result. A child that dies
(SIGSEGV in Unicorn or in a numba kernel, an abort) is a *host crash*; one that
does not answer in time is killed and its case is a *hang*. Either way a new
child takes over from the next seed. Many cases share one child, which is also
replaced once its resident memory passes ``max_rss_mb`` (ended processes that
the kernel keeps would otherwise grow it without bound).

Case ``i`` of a campaign started with ``--seed S`` has the seed ``S + i`` and
depends on nothing else, so ``--seed S+i --count 1`` replays it.
"""

from __future__ import annotations

import faulthandler
import logging
import multiprocessing
import os
import signal
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

START_TIMEOUT = 120.0  # seconds for a fresh child to import everything (numba caches may be cold)
CAMPAIGNS = ("svc", "elf", "ipc")


def case_function(campaign: str) -> Callable[..., Any]:
    if campaign == "svc":
        from hlemu.fuzz.svc import run_svc_case

        return run_svc_case
    if campaign == "elf":
        from hlemu.fuzz.elf import run_elf_case

        return run_elf_case
    if campaign == "ipc":
        from hlemu.fuzz.ipc import run_ipc_case

        return run_ipc_case
    raise ValueError(f"no campaign {campaign!r}; have {', '.join(CAMPAIGNS)}")


def rss_mb(kind: str = "VmRSS") -> float:
    """Resident memory in MiB: all of it (``VmRSS``), or one part (``RssAnon``: what the
    process committed privately; ``RssFile``: library code paged in as it is first used)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{kind}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _child(conn: Connection, campaign: str, options: dict[str, Any], crash_log: str) -> None:
    """The child's loop: a seed in, a result dict out; None ends it."""
    with open(crash_log, "w") as log_file:
        faulthandler.enable(file=log_file)
        logging.disable(logging.WARNING)  # unimplemented SVCs and commands are the campaign's daily bread
        run = case_function(campaign)
        conn.send("ready")
        while True:
            seed = conn.recv()
            if seed is None:
                return
            try:
                result = run(seed, **options).as_dict()
            except Exception:  # noqa: BLE001 - outside the case's own guards: still the seed's finding
                trace = traceback.format_exc()
                result = _failed(campaign, seed, "escaped", f"the case raised: {trace.strip().splitlines()[-1]}",
                                 trace)
            result["rss_mb"] = rss_mb()
            conn.send(result)


@dataclass
class Child:
    campaign: str
    options: dict[str, Any]
    max_rss_mb: float
    process: Any = None
    conn: Connection | None = None
    crash_log: str = ""
    seed: int | None = None  # the case it is running
    since: float = 0.0
    cases: int = 0

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        fd, self.crash_log = tempfile.mkstemp(prefix="hlemu-fuzz-", suffix=".log")
        os.close(fd)
        self.process = context.Process(target=_child, args=(child, self.campaign, self.options, self.crash_log),
                                       daemon=True)
        self.process.start()
        child.close()
        self.conn = parent
        if not parent.poll(START_TIMEOUT) or parent.recv() != "ready":
            self.stop()
            raise RuntimeError(f"the fuzz worker did not start within {START_TIMEOUT:.0f} s")
        self.cases = 0

    def submit(self, seed: int) -> None:
        assert self.conn is not None
        self.seed, self.since = seed, time.perf_counter()
        self.conn.send(seed)

    def collect(self) -> dict[str, Any]:
        """The running case's result (after :func:`wait` said the pipe is readable)."""
        assert self.conn is not None and self.seed is not None
        seed, self.seed = self.seed, None
        try:
            result: dict[str, Any] = self.conn.recv()
        except (EOFError, ConnectionError, OSError):
            return self._died(seed)
        self.cases += 1
        if result.get("rss_mb", 0) > self.max_rss_mb:
            self.restart()
        return result

    def _died(self, seed: int) -> dict[str, Any]:
        self.process.join(5)
        code = self.process.exitcode
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        trace = self._crash_trace()
        self.restart()
        return _failed(self.campaign, seed, "crash", f"the emulator process died with {how}", trace)

    def expire(self) -> dict[str, Any]:
        """The running case took too long: kill the child, report a hang, start another."""
        assert self.seed is not None
        seed, self.seed = self.seed, None
        waited = time.perf_counter() - self.since
        self.restart()
        return _failed(self.campaign, seed, "hang", f"no result after {waited:.0f} s (the wall-time budget)")

    def _crash_trace(self) -> str:
        try:
            with open(self.crash_log) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.conn is not None:
            try:
                if self.process.is_alive() and self.seed is None:
                    self.conn.send(None)
            except OSError:
                pass
            self.conn.close()
            self.conn = None
        if self.process is not None:
            self.process.join(2)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(5)
            self.process = None
        if self.crash_log:
            try:
                os.unlink(self.crash_log)
            except OSError:
                pass
            self.crash_log = ""


def _failed(campaign: str, seed: int, kind: str, message: str, detail: str = "") -> dict[str, Any]:
    return {"campaign": campaign, "seed": seed, "failures": [{"kind": kind, "message": message, "detail": detail}],
            "svcs": 0, "instructions": 0, "guest_crashes": 0, "refused": False, "seconds": 0.0, "note": ""}


@dataclass
class Campaign:
    """What to run: ``count`` cases from ``seed``, ``jobs`` children at a time."""

    campaign: str
    seed: int
    count: int
    options: dict[str, Any] = field(default_factory=dict)
    timeout: float = 60.0
    jobs: int = 1
    max_rss_mb: float = 2048.0


def run_campaign(plan: Campaign, on_result: Callable[[dict[str, Any]], None]) -> None:
    """Run every case of ``plan``; ``on_result`` gets each case's result dict as it ends."""
    seeds = iter(range(plan.seed, plan.seed + plan.count))
    children = [Child(plan.campaign, plan.options, plan.max_rss_mb) for _ in range(max(1, min(plan.jobs, plan.count)))]
    try:
        for child in children:
            child.start()
        busy: list[Child] = []
        for child in children:
            seed = next(seeds, None)
            if seed is not None:
                child.submit(seed)
                busy.append(child)
        while busy:
            now = time.perf_counter()
            deadline = min(c.since for c in busy) + plan.timeout
            ready = wait([c.conn for c in busy if c.conn is not None], timeout=max(0.0, deadline - now))
            for child in list(busy):
                if child.conn in ready:
                    on_result(child.collect())
                elif time.perf_counter() - child.since >= plan.timeout:
                    on_result(child.expire())
                else:
                    continue
                seed = next(seeds, None)
                if seed is None:
                    busy.remove(child)
                else:
                    child.submit(seed)
    finally:
        for child in children:
            child.stop()


def _call(conn: Connection, target: str, kwargs: dict[str, Any]) -> None:
    import importlib

    faulthandler.enable()
    module, name = target.split(":")
    conn.send(getattr(importlib.import_module(module), name)(**kwargs))


def call_isolated(target: str, timeout: float, **kwargs: Any) -> dict[str, Any]:
    """``module:function(**kwargs)`` in a fresh child; its dict, or ``{"crash": ...}`` / ``{"hang": ...}``."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_call, args=(child, target, kwargs), daemon=True)
    process.start()
    child.close()
    try:
        if not parent.poll(timeout):
            return {"hang": f"{target} gave no result within {timeout:.0f} s"}
        try:
            result: dict[str, Any] = parent.recv()
            return result
        except EOFError:
            process.join(5)
            code = process.exitcode
            how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
            return {"crash": f"{target} died with {how}"}
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        parent.close()
