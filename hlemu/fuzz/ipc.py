"""The IPC campaign: hostile clients and servers, around a guest server and the HLE services.

The first driven process is a guest server: it registers ``fzs`` with srv: and
serves it from worker threads with ReplyAndReceive, answering with random
replies (results, handles copied and moved back, static and mapped buffer
descriptors); some of its threads receive and never reply, and it closes
sessions and ends threads in the middle of requests. The other processes are
clients: they reach ``fzs`` through srv: and send it, gsp::Gpu, hid:USER and
srv: itself random headers and translate descriptors (handles copied and moved,
static buffers, mapped buffers with random addresses, sizes and permissions),
close their sessions from one thread while another waits for a reply, and
sometimes exit with requests in flight.
"""

from __future__ import annotations

import random

from hlemu.fuzz.driver import Case, CaseResult, Op
from hlemu.fuzz.guest import CODE, SCRATCH
from hlemu.fuzz.svc import SvcGenerator, _r
from hlemu.fuzz.values import name_words, write_command, write_static_buffers
from kernel.ipc_codec import header
from kernel.objects.port import ServerPort
from kernel.objects.session import ClientSession, ServerSession
from kernel.process import Process
from kernel.thread import Thread

SERVICE = "fzs"
GENERIC_SHARE = 0.15  # SVCs of the SVC campaign's mix, so IPC meets memory blocks, threads, events...


class IpcGenerator(SvcGenerator):
    def __init__(self, case: Case, process: Process, rng: random.Random, server: bool) -> None:
        super().__init__(case, process, rng, random_share=0.0)
        self.server = server
        self.mute: set[int] = set()  # tids of server threads that receive and never reply
        self.setup = [self._connect_srv, self._srv_register_client]
        self.setup += [self._register] if server else [lambda t: self._get_service(t, SERVICE)] * 2
        self.setup += [lambda t: self._get_service(t, "gsp::Gpu"), lambda t: self._get_service(t, "hid:USER")]
        self.setup += [self._worker] * (3 if server else 2)

    def _register(self, t: Thread) -> Op:
        return self._srv_send(t, [header(3, 4, 0), *name_words(SERVICE), len(SERVICE), 4])

    def _worker(self, t: Thread) -> Op:
        return 0x08, _r(0x30, CODE, 0, SCRATCH + 0x2000 + 0x400 * self.rng.randrange(8), -2)

    def next(self, thread: Thread) -> Op:
        if self.setup:
            return self.setup.pop(0)(thread)
        if self.rng.random() < GENERIC_SHARE:
            return super().next(thread)
        main = thread is self.process.threads[0]
        if self.server:
            return self._serve(thread, main)
        return self._client(thread, main)

    # -- the server ---------------------------------------------------------------------------
    def _serve(self, t: Thread, main: bool) -> Op:
        rng, p = self.rng, self.pools
        roll = rng.random()
        ports = p.own_handles(ServerPort)
        if main or roll < 0.1:
            if ports and roll < 0.5:
                return 0x4A, _r(0, rng.choice(ports))  # AcceptSession (fails when nothing is pending)
            sessions = p.own_handles(ServerSession)
            if sessions and roll < 0.6:
                return 0x23, _r(rng.choice(sessions))  # close a session, maybe with a request in flight
            return 0x02, _r(0, 0, p.pointer())
        if roll < 0.12:
            return 0x09, _r()  # a worker ends, maybe holding a request
        if roll < 0.14 and t.tid not in self.mute:
            self.mute.add(t.tid)
        return self._reply_and_receive(t, ports)

    def _reply_and_receive(self, t: Thread, ports: list[int]) -> Op:
        rng, p = self.rng, self.pools
        sessions = p.own_handles(ServerSession)
        handles = ports + rng.sample(sessions, min(len(sessions), 6))
        p.write(SCRATCH + 0x900, b"".join(h.to_bytes(4, "little") for h in handles))
        answering = [h for h, o in self.process.handles.items() if isinstance(o, ServerSession) and o.current]
        target = 0
        if answering and t.tid not in self.mute:
            target = rng.choice(answering) if rng.random() < 0.9 else p.handle()
        if rng.random() < 0.2:
            write_static_buffers(p, t)
        write_command(p, t, self.cmd.reply() if rng.random() < 0.8 else [header(0, 1, 0), 0])
        return 0x4F, _r(0, SCRATCH + 0x900, len(handles), target)

    # -- the clients ----------------------------------------------------------------------------
    def _client(self, t: Thread, main: bool) -> Op:
        rng, p = self.rng, self.pools
        sessions = [(h, o) for h, o in self.process.handles.items() if isinstance(o, ClientSession)]
        guest = [(h, o) for h, o in sessions if o.service is None]
        hle = [(h, o) for h, o in sessions if o.service is not None and o.service.name != "srv:"]
        roll = rng.random()
        if main:
            if guest and roll < 0.15:
                return 0x23, _r(rng.choice(guest)[0])  # close while a worker may wait on it
            if roll < 0.2:
                return self._get_service(t, SERVICE)
            if hle:
                chosen = rng.choice(hle)
                write_command(p, t, self.cmd.request(chosen[1]))
                return 0x32, _r(chosen[0])
            return 0x02, _r(0, 0, p.pointer())
        if roll < 0.005:
            return 0x03, _r()  # the whole client goes, requests in flight
        if rng.random() < 0.15:
            write_static_buffers(p, t)
        handle, session = p.handle(), None
        if guest and roll < 0.7:
            handle, session = rng.choice(guest)
        elif sessions:
            handle, session = rng.choice(sessions)
        write_command(p, t, self.cmd.random() if session is None or session.service is None
                      else self.cmd.request(session))
        return 0x32, _r(handle)


def run_ipc_case(seed: int, backend: str = "auto", processes: int = 4, svcs: int = 1500,
                 max_instructions: int = 30_000_000, check_every: int = 1000) -> CaseResult:
    """One case: a guest server and ``processes - 1`` clients, beside the bystander."""
    rng = random.Random(seed)
    case = Case("ipc", seed, backend, check_every)
    for i in range(max(2, processes)):
        sub = random.Random(rng.getrandbits(64))
        case.guarded("spawn", lambda i=i, sub=sub: case.spawn_driven(  # type: ignore[misc]
            lambda p: IpcGenerator(case, p, sub, server=i == 0), svcs, "server" if i == 0 else f"client{i}"))
    case.run(max_instructions)
    return case.finish()
