"""The SVC campaign: random and structured SVCs from several processes in one kernel.

Each case boots a kernel, spawns the bystander and ``processes`` driven
processes, and lets each issue ``svcs`` SVCs: a quarter with a uniformly random
number in 0x00-0x7F and random registers, the rest built from the schema of
the SVC (which registers are handles, pointers, sizes, permissions, timeouts),
with command buffers for SendSyncRequest and ReplyAndReceive. The first few
SVCs of each process set up something to aim at: a srv: session, sessions to
gsp::Gpu and hid:USER, a named port of its own, heap.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from hlemu.fuzz.driver import Case, CaseResult, Op
from hlemu.fuzz.guest import CODE, CODE_SIZE, SCRATCH
from hlemu.fuzz.values import CommandBuffers, Pools, name_words, write_command, write_static_buffers
from kernel import layout
from kernel.ipc_codec import header
from kernel.objects.memory_block import MemoryBlock
from kernel.objects.port import ServerPort
from kernel.objects.session import ClientSession, ServerSession
from kernel.objects.timer import Timer
from kernel.process import Process
from kernel.thread import Thread

SRV_GET_SERVICE_HANDLE = 0x0005
ENDERS = (0x03, 0x09, 0x3C)  # ExitProcess, ExitThread, Break: weighted low in SCHEMA instead
# Calls that may wait for ever (sleep, waits, arbiters, IPC), and ExitThread: not from a main thread.
BLOCKERS = (0x03, 0x09, 0x0A, 0x22, 0x24, 0x25, 0x32, 0x3C, 0x4F)
MEMOPS = (1, 3, 3, 3, 4, 5, 6, 0x10003, 0x10001, 2, 7, 0x103)
Builder = Callable[["SvcGenerator", Thread], list[int]]


def _r(*values: int) -> list[int]:
    return [v & 0xFFFFFFFF for v in values] + [0] * (8 - len(values))


class SvcGenerator:
    """The SVCs of one driven process."""

    def __init__(self, case: Case, process: Process, rng: random.Random, random_share: float = 0.25) -> None:
        self.kernel = case.kernel
        self.process = process
        self.rng = rng
        self.pools = Pools(case.kernel, process, rng)
        self.cmd = CommandBuffers(self.pools)
        self.random_share = random_share
        self.setup = self._setup_script()
        self.weights = [w for _, w in SCHEMA.values()]
        self.numbers = list(SCHEMA)

    def _setup_script(self) -> list[Callable[[Thread], Op]]:
        steps: list[Callable[[Thread], Op]] = [self._connect_srv, self._srv_register_client]
        steps += [lambda t, n=n: self._get_service(t, n) for n in ("gsp::Gpu", "hid:USER")]  # type: ignore[misc]
        steps += [self._named_port, self._commit_heap, self._worker, self._worker]
        return [s for s in steps if self.rng.random() < 0.8]

    def next(self, thread: Thread) -> Op:
        if self.setup:
            return self.setup.pop(0)(thread)
        rng = self.rng
        main = thread is self.process.threads[0]
        if rng.random() < self.random_share:  # any number but the three that end a thread or process
            number = rng.randrange(0x80)
            if number in ENDERS or (main and number in BLOCKERS):
                number = 0x7F
            return number, [self.pools.word() for _ in range(8)]
        number = rng.choices(self.numbers, self.weights)[0]
        if main and number in BLOCKERS:  # the main thread keeps the case going: it never waits forever
            return self._main_thread_safe(thread, number)
        return number, SCHEMA[number][0](self, thread)

    def _main_thread_safe(self, t: Thread, number: int) -> Op:
        """What the main thread issues instead of a call that may block it for good."""
        if number == 0x32:
            sessions = [(h, o) for h, o in self.process.handles.items()
                        if isinstance(o, ClientSession) and o.service is not None and o.service.name != "srv:"]
            if sessions:
                handle, session = self.rng.choice(sessions)
                write_command(self.pools, t, self.cmd.request(session))
                return 0x32, _r(handle)
        if number in (0x24, 0x0A):
            return number, _r(self.pools.handle(), 0, self.rng.randrange(0, 100_000), 0) if number == 0x24 else \
                _r(self.rng.randrange(0, 100_000), 0)
        return 0x02, _r(0, 0, self.pools.pointer())  # QueryMemory: never blocks

    # -- setup --------------------------------------------------------------------------
    def _connect_srv(self, t: Thread) -> Op:
        return 0x2D, _r(0, self.pools.string("srv:"))

    def _srv_send(self, t: Thread, words: list[int]) -> Op:
        sessions = [h for h, o in self.process.handles.items() if getattr(getattr(o, "service", None), "name", "")
                    == "srv:"]
        write_command(self.pools, t, words)
        return 0x32, _r(sessions[0] if sessions else self.pools.handle())

    def _srv_register_client(self, t: Thread) -> Op:
        return self._srv_send(t, [header(1, 0, 2), 0x20, 0])

    def _get_service(self, t: Thread, name: str) -> Op:
        return self._srv_send(t, [header(SRV_GET_SERVICE_HANDLE, 4, 0), *name_words(name), len(name), 0])

    def _named_port(self, t: Thread) -> Op:
        return 0x47, _r(0, 0, self.pools.string(f"fz{self.process.pid & 3}"), self.rng.choice((1, 4)))

    def _worker(self, t: Thread) -> Op:
        stack = SCRATCH + 0x2000 + 0x400 * self.rng.randrange(8)
        return 0x08, _r(0x30, CODE, 0, stack, -2)

    def _commit_heap(self, t: Thread) -> Op:
        return 0x01, _r(3, layout.HEAP_BASE, 0, 0x1000 * self.rng.choice((1, 4, 16)), 3)

    # -- argument builders ----------------------------------------------------------------
    def control_memory(self, t: Thread) -> list[int]:
        p, rng = self.pools, self.rng
        op = rng.choice(MEMOPS) if rng.random() < 0.9 else p.word()
        addr0 = 0 if op & 0x10000 and rng.random() < 0.8 else p.page()
        return _r(op, addr0, p.page(), p.size(pages=True), rng.choice((0, 1, 2, 3, 3, 3, 4, 7, 0x10000000)))

    def create_thread(self, t: Thread) -> list[int]:
        p, rng = self.pools, self.rng
        entry = CODE + 4 * rng.randrange(CODE_SIZE // 4) if rng.random() < 0.97 else p.pointer() | rng.randrange(2)
        stack = SCRATCH + 0x1000 + 0x100 * rng.randrange(0x20) if rng.random() < 0.8 else p.pointer()
        priority = rng.randrange(0x18, 0x40) if rng.random() < 0.85 else p.small(0x50)
        return _r(priority, entry, p.word(), stack, rng.choice((-2, -2, -1, 0, 1, 4)) & 0xFFFFFFFF)

    def sleep(self, t: Thread) -> list[int]:
        lo, hi = self.pools.timeout()
        return _r(lo, hi)

    def wait1(self, t: Thread) -> list[int]:
        lo, hi = self.pools.timeout()
        return _r(self.pools.handle(), 0, lo, hi)

    def wait_n(self, t: Thread) -> list[int]:
        p, rng = self.pools, self.rng
        lo, hi = p.timeout()
        count = rng.randrange(0, 5) if rng.random() < 0.9 else p.word()
        return _r(lo, p.handle_array(count), count, rng.randrange(2), hi)

    def set_timer(self, t: Thread) -> list[int]:
        p, rng = self.pools, self.rng
        initial = rng.choice((0, 1000, 100_000, -1)) & ((1 << 64) - 1)
        interval = rng.choice((0, 0, 50_000, 1_000_000, -5)) & ((1 << 64) - 1)
        return _r(p.handle(Timer), interval & 0xFFFFFFFF, initial & 0xFFFFFFFF, initial >> 32, interval >> 32)

    def create_memory_block(self, t: Thread) -> list[int]:
        p, rng = self.pools, self.rng
        perms = (0, 1, 2, 3, 3, 0x10000000, 7)
        return _r(rng.choice(perms), p.page(), p.size(pages=True), rng.choice(perms))

    def map_memory_block(self, t: Thread) -> list[int]:
        p, rng = self.pools, self.rng
        address = layout.SHARED_BASE + 0x10000 * rng.randrange(16) if rng.random() < 0.7 else p.page()
        return _r(p.handle(MemoryBlock), address, rng.choice((1, 2, 3, 0x10000000, 0)),
                  rng.choice((1, 3, 0x10000000, 0)))

    def arbitrate(self, t: Thread) -> list[int]:
        p, rng = self.pools, self.rng
        lo, hi = p.timeout()
        return _r(p.handle(), p.pointer(), rng.randrange(6), rng.choice((0, 1, -1, 5)), lo, hi)

    def connect_to_port(self, t: Thread) -> list[int]:
        from hlemu.fuzz.values import PORT_NAMES

        return _r(0, self.pools.string(self.rng.choice(PORT_NAMES)))

    def send_request(self, t: Thread) -> list[int]:
        handle, session = self.pools.session()
        if self.rng.random() < 0.1:
            write_static_buffers(self.pools, t)
        write_command(self.pools, t, self.cmd.request(session))
        return _r(handle)

    def reply_and_receive(self, t: Thread) -> list[int]:
        p, rng = self.pools, self.rng
        waitables = p.own_handles((ServerSession, ServerPort))
        handles = rng.sample(waitables, min(len(waitables), rng.randrange(1, 4))) if waitables else []
        where = SCRATCH + 0x900
        p.write(where, b"".join(h.to_bytes(4, "little") for h in handles))
        replying = [h for h, o in self.process.handles.items() if isinstance(o, ServerSession) and o.current]
        target = rng.choice(replying) if replying and rng.random() < 0.7 else rng.choice((0, p.handle()))
        write_command(p, t, self.cmd.reply())
        return _r(0, where if rng.random() < 0.9 else p.pointer(), len(handles), target)

    def create_port(self, t: Thread) -> list[int]:
        from hlemu.fuzz.values import PORT_NAMES

        p, rng = self.pools, self.rng
        name = 0 if rng.random() < 0.3 else p.string(rng.choice(PORT_NAMES))
        return _r(0, 0, name, rng.choice((1, 2, 0, -1)))

    def output(self, t: Thread) -> list[int]:
        p, rng = self.pools, self.rng
        return _r(p.pointer(), rng.choice((0, 1, 16, 0x100, -1)) if rng.random() < 0.9 else p.word())

    def handle_only(self, t: Thread) -> list[int]:
        return _r(self.pools.handle())

    def out_and_handle(self, t: Thread) -> list[int]:
        return _r(0, self.pools.handle())

    def limit_values(self, t: Thread) -> list[int]:
        p = self.pools
        return _r(p.pointer(), p.handle(), p.pointer(), p.small(12))

    def info(self, t: Thread) -> list[int]:
        p = self.pools
        return _r(0, p.handle(), p.small(30), p.small(30))

    def words(self, t: Thread) -> list[int]:
        return [self.pools.word() for _ in range(8)]


def _small_args(*kinds: str) -> Builder:
    def build(gen: SvcGenerator, t: Thread) -> list[int]:
        p = gen.pools
        values: dict[str, Callable[[], int]] = {"h": p.handle, "i": p.small, "w": p.word, "p": p.pointer,
                                                "z": lambda: 0}
        return _r(*(values[k]() for k in kinds))

    return build


# number -> (argument builder, weight). Calls that end a thread or the process weigh little:
# they end the case's interesting part early.
SCHEMA: dict[int, tuple[Builder, float]] = {
    0x01: (SvcGenerator.control_memory, 8), 0x02: (_small_args("z", "z", "p"), 2),
    0x03: (_small_args("i"), 0.05), 0x08: (SvcGenerator.create_thread, 3), 0x09: (_small_args(), 0.4),
    0x0A: (SvcGenerator.sleep, 2), 0x0B: (SvcGenerator.out_and_handle, 1), 0x0C: (_small_args("h", "w"), 1),
    0x13: (_small_args("z", "i"), 2), 0x14: (SvcGenerator.handle_only, 2), 0x15: (_small_args("z", "i", "i"), 2),
    0x16: (_small_args("z", "h", "i"), 2), 0x17: (_small_args("z", "i"), 2), 0x18: (SvcGenerator.handle_only, 2),
    0x19: (SvcGenerator.handle_only, 1), 0x1A: (_small_args("z", "i"), 2), 0x1B: (SvcGenerator.set_timer, 2),
    0x1C: (SvcGenerator.handle_only, 1), 0x1D: (SvcGenerator.handle_only, 1),
    0x1E: (SvcGenerator.create_memory_block, 4), 0x1F: (SvcGenerator.map_memory_block, 4),
    0x20: (_small_args("h", "p"), 2), 0x21: (_small_args(), 1), 0x22: (SvcGenerator.arbitrate, 2),
    0x23: (SvcGenerator.handle_only, 4), 0x24: (SvcGenerator.wait1, 3), 0x25: (SvcGenerator.wait_n, 2),
    0x27: (SvcGenerator.out_and_handle, 2), 0x28: (_small_args(), 0.5), 0x29: (SvcGenerator.info, 1),
    0x2A: (SvcGenerator.info, 1), 0x2B: (SvcGenerator.info, 1), 0x2D: (SvcGenerator.connect_to_port, 3),
    0x32: (SvcGenerator.send_request, 10), 0x35: (SvcGenerator.out_and_handle, 1),
    0x36: (SvcGenerator.out_and_handle, 0.5), 0x37: (SvcGenerator.out_and_handle, 1),
    0x38: (SvcGenerator.out_and_handle, 1), 0x39: (SvcGenerator.limit_values, 1),
    0x3A: (SvcGenerator.limit_values, 1), 0x3C: (_small_args("i"), 0.05), 0x3D: (SvcGenerator.output, 1),
    0x47: (SvcGenerator.create_port, 2), 0x48: (SvcGenerator.out_and_handle, 2), 0x49: (_small_args(), 2),
    0x4A: (SvcGenerator.out_and_handle, 2), 0x4F: (SvcGenerator.reply_and_receive, 4),
}


def run_svc_case(seed: int, backend: str = "auto", processes: int = 4, svcs: int = 1500,
                 max_instructions: int = 30_000_000, check_every: int = 1000) -> CaseResult:
    """One case: ``processes`` driven processes issuing ``svcs`` SVCs each, beside the bystander."""
    rng = random.Random(seed)
    case = Case("svc", seed, backend, check_every)
    for i in range(processes):
        sub = random.Random(rng.getrandbits(64))
        case.guarded("spawn", lambda i=i, sub=sub: case.spawn_driven(  # type: ignore[misc]
            lambda p: SvcGenerator(case, p, sub), svcs, f"fuzz{i}"))
    case.run(max_instructions)
    return case.finish()

