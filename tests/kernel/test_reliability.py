"""Regression tests for lifetime and isolation defects a hostile guest could use.

Each test names the defect it guards against. Guests are tiny ARM programs
(tests/kernel/asm.py); result codes are spelled out as the 3DS returns them
(3dbrew "Error codes"; Citra ``core/hle/kernel/errors.h`` for the kernel's
OS-module "out of <objects>" results, ``0xC8601800 | description``).
"""

from __future__ import annotations

import dataclasses
import signal
import struct

import numpy as np
import pytest

from hlemu.loaders import LoaderError
from kernel.kernel import KEEP_ENDED
from kernel.objects.memory_block import MemoryBlock
from kernel.thread import ThreadState
from tests.kernel.asm import BACKENDS, CODE, DATA, INPUT, INVALID_HANDLE, SUCCESS, create_thread, save

OUT_OF_MEMORY = 0xD86007F3  # kernel memory (thread-local storage) could not be had
OUT_OF_HANDLES = 0xD8600413
INVALID_HEADER = 0xD9001830  # a service's answer to a request whose header is not the documented one
INVALID_BUFFER_DESCRIPTOR = 0xD9001830  # the kernel's: the same value, OS module, WrongArgument
SESSION_CLOSED = 0xC920181A
GSP_OUT_OF_RANGE = 0xE0E02BEC
OUT_OF_EVENTS, OUT_OF_TIMERS, OUT_OF_THREADS = 0xC860180F, 0xC8601810, 0xC860180C
OUT_OF_MUTEXES, OUT_OF_SEMAPHORES, OUT_OF_ARBITERS, OUT_OF_SHARED_MEMS = 0xC860180D, 0xC860180E, 0xC8601833, 0xC860180B

CMDBUF = "mrc p15, 0, r12, c13, c0, 3\nadd r12, r12, #0x80\n"  # r12 = this thread's command buffer
SLEEP_1MS = "ldr r0, =1000000\nmov r1, #0\nsvc 0x0A   @ SleepThread(1 ms)\n"


def request(handle: str, words: list[int], out: int) -> str:
    """Write ``words`` to the command buffer, SendSyncRequest(``handle``), store r0 and the
    first four reply words at result words ``out`` .. ``out + 4`` (clobbers r0, r12)."""
    body = CMDBUF
    for i, word in enumerate(words):
        body += f"ldr r0, ={word & 0xFFFFFFFF:#x}\nstr r0, [r12, #{4 * i}]\n"
    body += f"mov r0, {handle}\nsvc 0x32   @ SendSyncRequest\n" + save(out, "r0") + CMDBUF
    for i in range(4):
        body += f"ldr r0, [r12, #{4 * i}]\n" + save(out + 1 + i, "r0")
    return body


def connect_srv() -> str:
    """ConnectToPort("srv:") -> r9 (the name is at INPUT)."""
    return f"ldr r1, ={INPUT:#x}\nsvc 0x2D   @ ConnectToPort\nmov r9, r1\n"


def name_words(name: str) -> list[int]:
    raw = name.encode().ljust(8, b"\0")
    return list(struct.unpack("<2I", raw))


def busy(label: str, count: int) -> str:
    return f"ldr r7, ={count}\n{label}:\nsubs r7, r7, #1\nbne {label}\n"


# -- 1: a thread woken by its own process's end ------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_thread_blocked_in_its_own_process_never_runs_after_exit_process(make_guest, backend):
    """A worker waits in SendSyncRequest on a session whose server end its own process holds;
    ExitProcess closes that handle, which wakes waiters: the worker must stay dead."""
    guest = make_guest(backend)
    body = ("svc 0x49   @ CreateSession: r1 server, r2 client\n" + save(0, "r2")
            + create_thread("worker", 0x30) + SLEEP_1MS + "b done\n"
            + "worker:\nmov r11, #0x200000\nldr r0, [r11]\nsvc 0x32   @ SendSyncRequest\n"
            + save(2, "r0") + "spin:\nb spin\n"
            + "done:\n")
    process = guest.spawn(body)
    bystander = guest.spawn(busy("work", 200_000) + "mov r0, #5\nsvc 0x03\n", name="bystander")
    result = guest.run()
    assert result.reason == "all exited", guest.text()
    worker = process.threads[1]
    assert worker.state is ThreadState.DEAD and worker not in guest.kernel.threads
    assert guest.words(process, 1, 2) == [0]  # it never ran past its SendSyncRequest
    assert bystander.exit_code == 5
    guest.kernel.reap(process)
    assert process.cpu.closed
    with pytest.raises(RuntimeError, match="reaped"):
        process.cpu.run(10)  # nothing runs on a reaped process's CPU


# -- 2, 3: frames held by kernel objects -------------------------------------------------------------
HEAP = 0x08000000


def commit_heap(size: int) -> str:
    """ControlMemory(COMMIT, HEAP, 0, size, RW) -> r0 result, r1 address."""
    return f"mov r0, #3\nldr r1, ={HEAP:#x}\nmov r2, #0\nldr r3, ={size:#x}\nmov r4, #3\nsvc 0x01\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_memory_block_keeps_its_frames_after_its_creator_is_reaped(make_guest, backend):
    guest = make_guest(backend)
    kernel = guest.kernel
    creator = guest.spawn(commit_heap(0x2000) + f"ldr r0, =0xA5A5A5A5\nldr r1, ={HEAP:#x}\nstr r0, [r1]\n"
                          + f"mov r0, #3\nldr r1, ={HEAP:#x}\nmov r2, #0x2000\nmov r3, #3\n"
                          + "svc 0x1E   @ CreateMemoryBlock(other RW, heap, 8 KiB, mine RW)\n"
                          + save(0, "r0", "r1") + SLEEP_1MS, name="creator")
    mapper = guest.spawn(SLEEP_1MS * 20  # the test hands it the block meanwhile (as IPC would)
                         + "ldr r0, [r11]\nldr r1, =0x10000000\nmov r2, #3\nmov r3, #3\n"
                         + "svc 0x1F   @ MapMemoryBlock(block, 0x10000000, RW, RW)\n" + save(1, "r0")
                         + "ldr r1, =0x10000000\nldr r0, [r1]\n" + save(2, "r0")
                         + "ldr r0, =0x5A5A5A5A\nstr r0, [r1]\n", name="mapper")
    assert kernel.run(until=lambda: guest.words(creator, 1, 1)[0] != 0).reason == "condition met"
    assert guest.words(creator, 1) == [SUCCESS]
    block = creator.handles.get(guest.words(creator, 1, 1)[0], MemoryBlock)
    mapper.space.mem.write32(DATA, kernel.add_handle(mapper, block))
    assert kernel.run(until=lambda: not creator.alive).reason == "condition met"
    kernel.reap(creator)
    phys = kernel.memory.phys
    assert not phys.is_free(block.frames).any()
    # Another process takes every free frame and fills it: none of them is the block's.
    free = phys.free_frames("APPLICATION")
    taken = phys.allocate("APPLICATION", free)
    assert not np.isin(taken, block.frames).any()
    for frame in taken.tolist():
        phys.data[frame << 12 : (frame + 1) << 12] = 0xCC
    assert guest.run().reason == "all exited", guest.text()
    assert guest.words(mapper, 2, 1) == [SUCCESS, 0xA5A5A5A5]  # the creator's data, not the other's
    assert all(phys.data[taken[i] << 12 : (taken[i] + 1) << 12].min() == 0xCC for i in range(len(taken)))
    # The last owner gone, the frames come back (zeroed when handed out again).
    kernel.reap(mapper)
    assert phys.is_free(block.frames).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_service_shared_memory_survives_its_clients(make_guest, backend):
    from hlemu.guest import program_path

    guest = make_guest(backend)
    kernel = guest.kernel
    fb = kernel.spawn(program_path("fb"))
    kernel.run(until=lambda: kernel.display.frame >= 3)
    kernel.end_process(fb, 0)
    kernel.reap(fb)
    phys = kernel.memory.phys
    for service in (kernel.gsp, kernel.hid):
        assert not phys.is_free(service.shared.frames).any(), service.name
    other = kernel.spawn(program_path("hello"))
    mapped = other.space.table.frame[other.space.table.frame >= 0]
    assert not np.isin(mapped, np.concatenate([kernel.gsp.shared.frames, kernel.hid.shared.frames])).any()


# -- 4: malformed HLE requests ----------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_malformed_service_requests_get_the_documented_error_and_the_emulator_runs_on(make_guest, backend):
    guest = make_guest(backend)
    gsp = name_words("gsp::Gpu")
    body = (connect_srv()
            + request("r9", [0x00050040, gsp[0]], 0)  # GetServiceHandle with one normal word
            + request("r9", [0x00030000], 5)  # RegisterService with none
            + request("r9", [0x00040040, 0], 10)  # UnregisterService with one
            + request("r9", [0x00050100, *gsp, 8, 0], 15)  # a good GetServiceHandle("gsp::Gpu")
            + "ldr r8, [r11, #76]\n"  # its session handle (reply word 3)
            + request("r8", [0x00050000], 20)  # SetBufferSwap with no words
            + request("r8", [0x00050200, 0, 0, 0xFFFFF000, 0, 720, 1, 0, 0], 25)  # framebuffer at 0xFFFFF000
            + request("r8", [0x00050200, 0, 0, 0x18000000, 0, 0xFFFFFFFF, 1, 0, 0], 30))  # stride 0xFFFFFFFF
    process = guest.run_one(body, data=b"srv:\0")
    w = guest.words(process, 35)
    for at in (0, 5, 10, 20):
        assert w[at : at + 3] == [SUCCESS, 0x00000040, INVALID_HEADER], (at, [hex(x) for x in w[at : at + 3]])
    assert w[15:18] == [SUCCESS, 0x00050042, SUCCESS]  # the session came back as a moved handle
    for at in (25, 30):
        assert w[at : at + 3] == [SUCCESS, 0x00050040, GSP_OUT_OF_RANGE]
    assert "with header 0x00050040, not 0x00050100: refused" in guest.text()


def test_an_internal_error_in_an_svc_ends_only_the_calling_process(make_guest, monkeypatch):
    from kernel.svc import SVC_TABLE

    guest = make_guest("semifastmem")
    entry = SVC_TABLE[0x28]  # GetSystemTick, made to fail as a bug in the kernel would

    def broken(k, t, a):
        raise IndexError("a bug")

    monkeypatch.setitem(SVC_TABLE, 0x28, dataclasses.replace(entry, handler=broken))
    victim = guest.spawn("svc 0x28\n", name="victim")
    bystander = guest.spawn(busy("work", 20_000) + "mov r0, #9\nsvc 0x03\n", name="bystander")
    victim_pid = victim.pid
    assert guest.run().reason == "all exited"
    assert victim.status == "crashed" and bystander.exit_code == 9
    assert "internal error (a bug in hlemu" in victim.crash and "IndexError: a bug" in victim.crash
    assert "GetSystemTick" in guest.text(victim_pid)


# -- 5, 10: CreateThread's failures -----------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_create_thread_without_memory_for_its_tls_page_returns_out_of_memory(make_guest, backend):
    guest = make_guest(backend)
    kernel = guest.kernel
    body = ""
    for i in range(8):  # the first TLS page holds 8 threads (main + 7): the 8th new one needs a page
        body += create_thread("idle", 0x3F) + save(i, "r0")
    body += "b done\nidle:\nb idle\ndone:\n"
    process = guest.spawn(body)
    hog = kernel.memory.phys.allocate("APPLICATION", kernel.memory.phys.free_frames("APPLICATION"))
    assert guest.run().reason == "all exited", guest.text()
    assert guest.words(process, 8) == [SUCCESS] * 7 + [OUT_OF_MEMORY]
    assert len(process.threads) == 8  # main + 7
    kernel.memory.phys.free(hog)


@pytest.mark.parametrize("backend", BACKENDS)
def test_create_thread_that_gets_no_handle_never_runs(make_guest, backend):
    guest = make_guest(backend)
    body = ("fill:\nldr r1, =0xFFFF8001\nsvc 0x27   @ DuplicateHandle(current process)\ncmp r0, #0\nbeq fill\n"
            + save(0, "r0") + create_thread("marker", 0x18) + save(1, "r0") + SLEEP_1MS
            + "b done\nmarker:\nmov r11, #0x200000\nmov r0, #1\nstr r0, [r11, #8]\nsvc 0x09\ndone:\n")
    process = guest.run_one(body)
    assert guest.words(process, 3) == [OUT_OF_HANDLES, OUT_OF_HANDLES, 0]
    assert len(process.threads) == 1


# -- 6: run limits bound idle skipping --------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_an_idle_system_with_only_a_periodic_timer_returns(make_guest, backend):
    guest = make_guest(backend)
    body = ("mov r1, #1\nsvc 0x1A   @ CreateTimer(STICKY)\nmov r8, r1\n"
            "mov r0, r8\nldr r1, =1000000\nmov r2, #0\nldr r3, =1000000\nmov r4, #0\n"
            "svc 0x1B   @ SetTimer(1 ms, then every 1 ms)\n"
            "mov r1, #0\nsvc 0x17   @ CreateEvent\nmov r0, r1\nmvn r2, #0\nmvn r3, #0\n"
            "svc 0x24   @ WaitSynchronization1(an event nobody signals, forever)\n")
    process = guest.spawn(body)

    def hung(*_):
        raise TimeoutError("run(instructions=N) did not return")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        result = guest.kernel.run(max_instructions=10**6)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert result.reason == "deadlock"
    assert process.alive
    report = guest.text(process.pid)
    assert "only periodic events are pending" in report and "any of" not in report
    assert "event #" in report


# -- 8: spawn failures -------------------------------------------------------------------------------
def test_the_semifastmem_trap_frame_goes_back_when_a_process_is_reaped(make_guest):
    guest = make_guest("semifastmem")
    phys = guest.kernel.memory.phys
    guest.kernel.reap(guest.run_one("mov r0, #0\n"))  # the first process also sets up config memory
    before = phys.in_use("BASE")
    process = guest.run_one("mov r0, #0\n")
    assert phys.in_use("BASE") == before + 1
    guest.kernel.reap(process)
    assert phys.in_use("BASE") == before


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_cpu_leaves_no_address_space_behind(make_guest, monkeypatch, backend):
    import kernel.kernel as kernel_module

    guest = make_guest(backend)
    real = kernel_module.Cpu

    def failing(*args, **kwargs):
        raise MemoryError("no Unicorn today")

    monkeypatch.setattr(kernel_module, "Cpu", failing)
    with pytest.raises(MemoryError):
        guest.spawn("mov r0, #0\n")
    monkeypatch.setattr(kernel_module, "Cpu", real)
    assert guest.run_one("mov r0, #4\nsvc 0x03\n").exit_code == 4


def test_a_program_larger_than_free_memory_is_a_loader_error_naming_the_shortfall(make_guest):
    from hlemu.guest import program_path

    guest = make_guest("semifastmem")
    phys = guest.kernel.memory.phys
    in_use = phys.in_use()
    hog = phys.allocate("APPLICATION", phys.free_frames("APPLICATION") - 4)
    with pytest.raises(LoaderError, match=r"hello\.elf: needs \d+ KiB of application memory, 16 KiB are free"):
        guest.kernel.spawn(program_path("hello"))
    assert not guest.kernel.processes
    phys.free(hog)
    assert phys.in_use() == in_use


# -- 9: srv: sessions on a full handle table ---------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_connect_to_port_with_a_full_handle_table_takes_no_session(make_guest, backend):
    guest = make_guest(backend)
    srv = guest.kernel.named_ports["srv:"]
    before = srv.active_sessions
    body = ("fill:\nldr r1, =0xFFFF8001\nsvc 0x27   @ DuplicateHandle\ncmp r0, #0\nbeq fill\n"
            + connect_srv() + save(0, "r0"))
    for _ in range(3):
        process = guest.run_one(body, data=b"srv:\0")
        assert guest.words(process, 1) == [OUT_OF_HANDLES]
        assert srv.active_sessions == before


# -- 11: requests that pass the dry run are delivered whole -------------------------------------------
def server_and_client(client_body: str, server_after: str = "") -> str:
    """Main thread: the server (ReplyAndReceive on a session it created); a second thread the
    client, which runs ``client_body`` with r9 = the client session and r10 = an event, then
    closes its session. Result words: 0 server session, 1 client, 2 event, 3.. the bodies'."""
    return ("svc 0x49   @ CreateSession\n" + save(0, "r1", "r2")
            + "mov r1, #0\nsvc 0x17   @ CreateEvent\n" + save(2, "r1")
            + create_thread("client", 0x31)
            + "add r1, r11, #0\nmov r2, #1\nmov r3, #0\nsvc 0x4F   @ ReplyAndReceive([server], 1, no reply)\n"
            + save(3, "r0") + server_after
            + SLEEP_1MS + "b done\n"
            + "client:\nmov r11, #0x200000\nldr r9, [r11, #4]\nldr r10, [r11, #8]\n" + client_body
            + "mov r0, r9\nsvc 0x23   @ CloseHandle(client session)\nsvc 0x09\n"
            + "done:\n")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_request_moving_one_handle_twice_fails_for_the_client_and_never_reaches_the_server(make_guest, backend):
    guest = make_guest(backend)
    move_twice = ((2 - 1) << 26) | 0x10
    client = (CMDBUF + f"ldr r0, =0x00010003\nstr r0, [r12]\nldr r0, ={move_twice:#x}\nstr r0, [r12, #4]\n"
              + "str r10, [r12, #8]\nstr r10, [r12, #12]\nmov r0, r9\nsvc 0x32\n" + save(4, "r0")
              + "mov r0, r10\nsvc 0x23   @ CloseHandle(the event)\n" + save(5, "r0"))
    process = guest.run_one(server_and_client(client))
    w = guest.words(process, 6)
    assert w[4] == INVALID_HANDLE
    assert w[3] == SESSION_CLOSED  # the server only ever saw the session close
    assert w[5] == SUCCESS  # the event was not moved away: its handle was still open


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reply_into_a_read_only_receive_buffer_ends_the_request_with_an_error(make_guest, backend):
    guest = make_guest(backend)
    # The client sets static buffer 0 to its own code (read-only), then asks.
    client = ("mrc p15, 0, r12, c13, c0, 3\nadd r12, r12, #0x180\n"
              + f"ldr r0, ={(4 << 14) | 2:#x}\nstr r0, [r12]\nldr r0, ={CODE:#x}\nstr r0, [r12, #4]\n"
              + CMDBUF + "ldr r0, =0x00010000\nstr r0, [r12]\nmov r0, r9\nsvc 0x32\n" + save(4, "r0"))
    # The server answers with 4 bytes for that buffer.
    reply = (CMDBUF + "ldr r0, =0x00010042\nstr r0, [r12]\nmov r0, #0\nstr r0, [r12, #4]\n"
             + f"ldr r0, ={(4 << 14) | 2:#x}\nstr r0, [r12, #8]\nldr r0, ={DATA:#x}\nstr r0, [r12, #12]\n"
             + "add r1, r11, #0\nmov r2, #0\nldr r3, [r11]\nsvc 0x4F   @ ReplyAndReceive([], 0, reply)\n"
             + save(5, "r0"))
    process = guest.run_one(server_and_client(client, reply))
    w = guest.words(process, 6)
    assert w[3] == SUCCESS  # the request arrived
    assert w[4] == INVALID_BUFFER_DESCRIPTOR  # the client is told, not left waiting
    assert w[5] == INVALID_BUFFER_DESCRIPTOR  # and so is the server (run_one: nobody waits forever)


# -- 12: the exit page -------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_reading_the_exit_page_is_a_data_abort_on_every_backend(make_guest, backend):
    guest = make_guest(backend)
    process = guest.spawn("ldr r0, =0xFFFFF000\nldr r1, [r0]\n" + save(0, "r1"))
    assert guest.run().reason == "all exited"
    assert process.status == "crashed" and "data abort" in process.crash
    assert process.crash_address == 0xFFFFF000


# -- 13: a buffer freed while a server holds it -------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_heap_page_freed_during_a_request_goes_back_after_the_reply(make_guest, backend):
    guest = make_guest(backend)
    phys = guest.kernel.memory.phys
    mapped = (0x1000 << 4) | 0x8 | 0x2  # mapped buffer, 4 KiB, read
    client = (commit_heap(0x1000) + CMDBUF + "ldr r0, =0x00010002\nstr r0, [r12]\n"
              + f"ldr r0, ={mapped:#x}\nstr r0, [r12, #4]\nldr r0, ={HEAP:#x}\nstr r0, [r12, #8]\n"
              + "mov r0, r9\nsvc 0x32\n" + save(4, "r0"))
    # The server frees the heap page (it is the same process) while it holds the buffer, then replies.
    server = (f"mov r0, #1\nldr r1, ={HEAP:#x}\nmov r2, #0\nmov r3, #0x1000\nmov r4, #0\nsvc 0x01   @ FREE\n"
              + save(5, "r0") + CMDBUF + "ldr r0, =0x00010040\nstr r0, [r12]\nmov r0, #0\nstr r0, [r12, #4]\n"
              + "add r1, r11, #0\nmov r2, #0\nldr r3, [r11]\nsvc 0x4F   @ reply\n")
    process = guest.spawn(server_and_client(client, server))
    before = phys.in_use("APPLICATION")
    assert guest.run().reason == "all exited", guest.text()
    assert guest.words(process, 6)[3:] == [SUCCESS, SUCCESS, SUCCESS]
    assert phys.in_use("APPLICATION") == before  # the heap page came back after the reply


# -- 14: bounded output -------------------------------------------------------------------------------
def test_a_process_keeps_a_bounded_tail_of_its_output(make_guest):
    guest = make_guest("semifastmem")
    long_line = 0x10000
    body = (f"ldr r8, =12000\nagain:\nldr r0, ={INPUT:#x}\nmov r1, #5\nsvc 0x3D\nsubs r8, r8, #1\nbne again\n"
            f"ldr r0, =0x08000000\nldr r1, ={long_line:#x}\nsvc 0x3D   @ 64 KiB from the heap\n")
    process = guest.run_one(commit_heap(0x10000) + body, data=b"line!")
    assert len(process.output) == 10_000 and process.output.dropped == 12_001 - 10_000
    assert len(process.output[-1]) < 4200 and process.output[-1].endswith("more characters)")
    assert sum(1 for _, line in guest.lines if line == "line!") == 12_000  # listeners heard every line


# -- 15: resource limits ------------------------------------------------------------------------------
def create_until_refused(svc: str, count: int) -> str:
    """Call ``svc`` (which leaves a handle in r1) ``count`` times; result word i = r0 of call i."""
    return "".join(f"{svc}\n" + save(i, "r0") for i in range(count))


@pytest.mark.parametrize(("what", "call", "limit", "refused"), [
    ("event", "mov r1, #0\nsvc 0x17", 32, OUT_OF_EVENTS),
    ("timer", "mov r1, #0\nsvc 0x1A", 8, OUT_OF_TIMERS),
    ("mutex", "mov r1, #0\nsvc 0x13", 32, OUT_OF_MUTEXES),
    ("semaphore", "mov r1, #0\nmov r2, #1\nsvc 0x15", 8, OUT_OF_SEMAPHORES),
    ("arbiter", "svc 0x21", 2, OUT_OF_ARBITERS),
], ids=["event", "timer", "mutex", "semaphore", "arbiter"])
def test_resource_limits_are_enforced_per_process(make_guest, what, call, limit, refused):
    guest = make_guest("semifastmem")
    process = guest.run_one(create_until_refused(call, limit + 1))
    assert guest.words(process, limit + 1) == [SUCCESS] * limit + [refused], what
    other = guest.run_one(create_until_refused(call, 1))  # another process has limits of its own
    assert guest.words(other, 1) == [SUCCESS]


def test_closing_a_handle_gives_its_object_back_to_the_limit(make_guest):
    guest = make_guest("semifastmem")
    body = "".join("mov r1, #0\nsvc 0x1A\n" for _ in range(8))  # 8 timers, r1 = the last
    body += "mov r0, r1\nsvc 0x23   @ CloseHandle\n" + create_until_refused("mov r1, #0\nsvc 0x1A", 2)
    process = guest.run_one(body)
    assert guest.words(process, 2) == [SUCCESS, OUT_OF_TIMERS]


def test_threads_and_memory_blocks_are_limited(make_guest):
    guest = make_guest("semifastmem")
    threads = "".join(create_thread("idle", 0x3F) + save(i, "r0") for i in range(32))
    process = guest.run_one(threads + "b done\nidle:\nsvc 0x09\ndone:\n")
    assert guest.words(process, 32) == [SUCCESS] * 31 + [OUT_OF_THREADS]  # main + 31 = the limit of 32
    blocks = commit_heap(0x11000) + "".join(
        f"mov r0, #3\nldr r1, ={HEAP + 0x1000 * i:#x}\nmov r2, #0x1000\nmov r3, #3\nsvc 0x1E\n" + save(i, "r0")
        for i in range(17))
    process = guest.run_one(blocks)
    assert guest.words(process, 17) == [SUCCESS] * 16 + [OUT_OF_SHARED_MEMS]


# -- 7: long sessions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_ended_processes_beyond_the_last_few_are_reaped_and_release_everything(make_guest, backend):
    guest = make_guest(backend)
    kernel = guest.kernel
    phys = kernel.memory.phys
    in_use = phys.in_use("APPLICATION")
    for i in range(KEEP_ENDED + 12):
        guest.spawn(busy("w", 100) + f"mov r0, #{i}\nsvc 0x03\n", name=f"p{i}")
        assert guest.run().reason == "all exited"
    assert len(kernel.processes) <= KEEP_ENDED + 1
    assert len(kernel.memory.spaces) == len(kernel.processes)
    assert not kernel.threads and all(p.released for p in kernel.reaped)
    kernel.reap()
    assert phys.in_use("APPLICATION") == in_use  # every frame is back


# -- found by hlemu fuzz ------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_malformed_request_to_a_service_retains_none_of_its_handles(make_guest, backend):
    """hlemu fuzz svc --seed 20260118: a request to an HLE service copying a memory block and
    then a bad handle failed half-way, after the block had been retained for the service, so
    the block (and its frames) outlived every handle to it."""
    guest = make_guest(backend)
    phys = guest.kernel.memory.phys
    before = phys.in_use("APPLICATION")
    copy_two = (2 - 1) << 26
    body = (commit_heap(0x1000)
            + f"mov r0, #3\nldr r1, ={HEAP:#x}\nmov r2, #0x1000\nmov r3, #3\nsvc 0x1E   @ CreateMemoryBlock\n"
            + "mov r10, r1\n" + connect_srv()
            + CMDBUF + f"ldr r0, =0x00010003\nstr r0, [r12]\nldr r0, ={copy_two:#x}\nstr r0, [r12, #4]\n"
            + "str r10, [r12, #8]\nldr r0, =0xDEAD0001\nstr r0, [r12, #12]\n"
            + "mov r0, r9\nsvc 0x32   @ SendSyncRequest to srv: with [block, a bad handle]\n" + save(0, "r0")
            + "mov r0, r10\nsvc 0x23   @ CloseHandle(block)\n" + save(1, "r0")
            + f"mov r0, #1\nldr r1, ={HEAP:#x}\nmov r2, #0\nmov r3, #0x1000\nmov r4, #0\nsvc 0x01   @ FREE\n"
            + save(2, "r0"))
    process = guest.run_one(body, data=b"srv:\0")
    assert guest.words(process, 3) == [INVALID_HANDLE, SUCCESS, SUCCESS]
    guest.kernel.reap(process)
    assert phys.in_use("APPLICATION") == before


def test_a_heap_committed_page_by_page_stays_a_few_unicorn_regions(make_guest):
    """hlemu fuzz elf --seed 20261587: one Unicorn region per committed page made every later
    map rebuild a longer map (minutes for a 64 MiB heap): new pages join their neighbour."""
    guest = make_guest("fastmem")
    body = (f"ldr r8, =1024\nldr r9, ={HEAP:#x}\nagain:\nmov r0, #3\nmov r1, r9\nmov r2, #0\nmov r3, #0x1000\n"
            "mov r4, #3\nsvc 0x01\nstr r0, [r9]\nadd r9, r9, #0x1000\nsubs r8, r8, #1\nbne again\n")
    process = guest.run_one(body)  # ended, not reaped: its CPU still has the map
    heap = [(lo, hi) for lo, hi, _ in process.cpu.mapped_regions() if HEAP <= lo < HEAP + 0x400000]
    assert sum(hi + 1 - lo for lo, hi in heap) == 0x400000  # all 4 MiB mapped
    assert len(heap) <= 0x400000 // (512 << 12) + 1  # one region per 2 MiB window, not per page


# -- config memory and the shared page ----------------------------------------------------------------
def test_config_memory_and_the_shared_page_are_one_read_only_base_frame_for_everyone(make_guest):
    """As on hardware, and so that libctru's heap sizing (limit - current COMMIT) is right:
    these pages are not the application's memory."""
    from kernel.layout import CONFIG_MEMORY, SHARED_PAGE

    guest = make_guest("semifastmem")
    kernel = guest.kernel
    body = (f"ldr r1, ={CONFIG_MEMORY:#x}\nldr r0, [r1]\n" + save(0, "r0")
            + f"ldr r1, ={CONFIG_MEMORY + 0x40:#x}\nldr r0, [r1]\n" + save(1, "r0")
            + f"ldr r1, ={SHARED_PAGE:#x}\nmov r0, #1\nstr r0, [r1]   @ read-only: a data abort\n")
    a = guest.spawn(body, name="a")
    b = guest.spawn(body, name="b")
    assert guest.run().reason == "all exited"
    base = kernel.memory.phys.regions["BASE"]
    for vaddr in (CONFIG_MEMORY, SHARED_PAGE):
        frame_a, frame_b = a.space.table.frame[vaddr >> 12], b.space.table.frame[vaddr >> 12]
        assert frame_a == frame_b and base.contains_frame(int(frame_a))
    assert guest.words(a, 2) == guest.words(b, 2) == [0x022E0000, 64 << 20]  # kernel 2.46.0, APPMEMALLOC
    assert a.status == b.status == "crashed" and a.crash_address == SHARED_PAGE


@pytest.mark.parametrize("backend", BACKENDS)
def test_vblanks_after_a_framebuffer_owner_is_reaped_touch_nothing_of_it(make_guest, backend):
    """hlemu fuzz ipc --seed 8000028: the display rearmed the write-tracked framebuffer pages of
    a reaped process, whose page table is gone (ValueError out of Kernel.run)."""
    from hlemu.guest import program_path

    guest = make_guest(backend)
    kernel = guest.kernel
    fb = kernel.spawn(program_path("fb"))
    kernel.run(until=lambda: kernel.display.frame >= 3)
    sleeper = guest.spawn(SLEEP_1MS * 100, name="sleeper")  # keeps VBlanks coming for 100 ms
    kernel.run(until=lambda: kernel.display.screens["top"].last_dirty != set())
    kernel.end_process(fb, 0)
    kernel.reap(fb)
    assert guest.run().reason == "all exited"
    assert sleeper.exit_code == 0 and kernel.display.frame > 6
    assert kernel.display.render("top").max() == 0  # a reaped process shows nothing
