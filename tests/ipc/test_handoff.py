"""The IPC handoff: a request to a server waiting in ReplyAndReceive, and the reply to a
client waiting in SendSyncRequest, open the next slice without the scheduler's full pass
(``Scheduler.hand_off``), and only when that pass would choose the same thread.

Each scenario runs twice, with the handoff and with it switched off, and must give the same
schedule (which thread ran each slice, at which guest tick), results and instruction counts.
"""

from __future__ import annotations

import pytest

from hlemu.bench.ipc import CLIENT_WORDS, SERVER_WORDS, _image
from hlemu.bench.ipc import DATA as BENCH_DATA
from kernel.kernel import Kernel
from kernel.scheduler import Scheduler
from kernel.thread import ThreadState
from tests.kernel.asm import BACKENDS, DATA, Guest, create_thread, log, save

SUCCESS = 0
SESSION_CLOSED_BY_REMOTE = 0xC920181A  # Citra errors.h ERR_SESSION_CLOSED_BY_REMOTE


def _schedule(kernel: Kernel) -> list[tuple[int, int]]:
    """Record (thread id, guest tick) of every slice the scheduler opens from now on."""
    seen: list[tuple[int, int]] = []
    scheduler = kernel.scheduler
    switch = scheduler._switch_to

    def recording(thread):
        seen.append((thread.tid, scheduler.ticks))
        switch(thread)

    scheduler._switch_to = recording  # type: ignore[method-assign]
    return seen


@pytest.fixture
def no_handoff(monkeypatch):
    """Run with the handoff switched off: every slice takes the full pass."""
    def off():
        monkeypatch.setattr(Scheduler, "hand_off", lambda self, thread: None)
    return off


def _bench_pair(backend: str, requests: int, mapped: bool) -> tuple[Kernel, list]:
    kernel = Kernel(backend=backend, output=lambda _p, _line: None)
    server = kernel.spawn(_image("bench_server", SERVER_WORDS))
    client = kernel.spawn(_image("bench_client", CLIENT_WORDS, requests, BENCH_DATA if mapped else 0))
    return kernel, [server, client]


def _bench_outcome(backend: str, mapped: bool, stop_server_after: int | None = None) -> dict:
    kernel, (server, client) = _bench_pair(backend, 50, mapped)
    try:
        schedule = _schedule(kernel)
        sends: list[int] = []
        if stop_server_after is not None:
            kernel.svc_listeners.add(lambda call: sends.append(call.results[0]), number=0x32, after=True)
            kernel.run(max_instructions=stop_server_after)
            kernel.end_process(server, 0)  # mid-conversation: the client's next request finds no server
        result = kernel.run()
        return {"result": result, "schedule": schedule, "handoffs": kernel.scheduler.handoffs,
                "switches": kernel.context_switches, "status": [server.status, client.status],
                "svcs": [dict(p.stats.svc_numbers) for p in (server, client)], "sends": sends}
    finally:
        kernel.close()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mapped", [False, True], ids=["plain", "mapped_4k"])
def test_a_round_trip_hands_off_both_ways_and_changes_nothing(backend, mapped, no_handoff):
    handed = _bench_outcome(backend, mapped)
    assert handed["result"].reason == "all exited"
    # Each request to the waiting server and each reply to the waiting client: two a round trip
    # (the first request is queued before the server, still accepting the session, waits).
    assert handed["handoffs"] >= 2 * 50 - 2
    no_handoff()
    full = _bench_outcome(backend, mapped)
    assert full["handoffs"] == 0
    assert {k: v for k, v in handed.items() if k != "handoffs"} == {k: v for k, v in full.items() if k != "handoffs"}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("after", [300, 313, 320])
def test_a_server_process_ended_mid_conversation_behaves_as_without_handoff(backend, after, no_handoff):
    handed = _bench_outcome(backend, False, stop_server_after=after)
    no_handoff()
    full = _bench_outcome(backend, False, stop_server_after=after)
    assert handed["result"].reason == full["result"].reason == "all exited"
    assert handed["sends"][0] == SUCCESS and handed["sends"][-1] == SESSION_CLOSED_BY_REMOTE
    assert {k: v for k, v in handed.items() if k != "handoffs"} == {k: v for k, v in full.items() if k != "handoffs"}


def higher_priority_bystander() -> str:
    """Main (0x30) sends a request to a server thread (0x31) already waiting for it; a
    bystander (0x30) is ready when main blocks: it outranks the server (and was ready first),
    so it runs before the server gets the request. Order log: 1 main sends, 2 bystander,
    3 server received, 4 main has the reply. Results: CreateSession, SendSyncRequest's r0,
    the server's ReplyAndReceive r0 and index."""
    server = ("server:\nmov r11, #0x200000\n"
              "add r1, r11, #0x80\nmov r2, #1\nmov r3, #0\nsvc 0x4F   @ ReplyAndReceive(session)\n"
              + save(2, "r0", "r1") + log(3)
              + "mrc p15, 0, r6, c13, c0, 3\nldr r0, =0x00010040\nstr r0, [r6, #0x80]\n"
              + "mov r0, #0\nstr r0, [r6, #0x84]\n"
              + "add r1, r11, #0x80\nmov r2, #1\nldr r3, [r11, #0x80]\nsvc 0x4F   @ reply, wait again\nsvc 0x09\n")
    bystander = "bystander:\nmov r11, #0x200000\n" + log(2) + "svc 0x09\n"
    return ("svc 0x49   @ CreateSession -> r1 server, r2 client\n" + save(0, "r0")
            + "str r1, [r11, #0x80]\nmov r10, r2\n"
            + create_thread("server", 0x31, stack_top=DATA + 0x700)
            + "ldr r0, =1000000\nmov r1, #0\nsvc 0x0A   @ SleepThread(1 ms): the server waits meanwhile\n"
            + create_thread("bystander", 0x30, stack_top=DATA + 0x600)
            + log(1)
            + "mrc p15, 0, r6, c13, c0, 3\nldr r0, =0x00010000\nstr r0, [r6, #0x80]\n"
            + "mov r0, r10\nsvc 0x32   @ SendSyncRequest\n" + save(1, "r0") + log(4)
            + "mov r0, r10\nsvc 0x23   @ CloseHandle(client session): the server's wait ends\n"
            + "ldr r0, =1000000\nmov r1, #0\nsvc 0x0A\n"
            + "b done\n" + server + bystander + "done:\n")


def _priority_outcome(backend: str) -> dict:
    guest = Guest(backend)
    try:
        schedule = _schedule(guest.kernel)
        process = guest.run_one(higher_priority_bystander())
        return {"log": guest.log(process), "words": guest.words(process, 4), "schedule": schedule,
                "instructions": guest.kernel.instructions, "ticks": guest.kernel.ticks,
                "handoffs": guest.kernel.scheduler.handoffs}
    finally:
        guest.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_higher_priority_ready_thread_still_runs_before_the_server(backend, no_handoff):
    handed = _priority_outcome(backend)
    assert handed["log"] == [1, 2, 3, 4]
    assert handed["words"] == [SUCCESS, SUCCESS, SUCCESS, 0]
    assert handed["handoffs"] >= 1  # the reply to main still hands off: nobody outranks main then
    no_handoff()
    full = _priority_outcome(backend)
    assert {k: v for k, v in handed.items() if k != "handoffs"} == {k: v for k, v in full.items() if k != "handoffs"}


def test_a_stale_handoff_to_an_ended_thread_takes_the_full_pass():
    kernel, (server, client) = _bench_pair("fastmem", 5, False)
    try:
        kernel.run(max_instructions=2_000)
        thread = server.threads[0]
        kernel.scheduler.hand_off(thread)
        kernel.end_process(server, 0)
        assert thread.state is ThreadState.DEAD
        before = kernel.scheduler.handoffs
        assert kernel.run().reason == "all exited"
        assert client.status.startswith("exited")
        assert kernel.scheduler.handoffs == before  # the client's requests found no server to hand off to
    finally:
        kernel.close()
