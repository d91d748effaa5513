"""Handles: pseudo-handles, DuplicateHandle/CloseHandle, and what every SVC does with a bad handle.

3DS facts (docs/abi.md "Handles"; libctru svc.h, Citra svc.cpp): 0xFFFF8000 is the current
thread, 0xFFFF8001 the current process; CloseHandle refuses both with
INVALID_HANDLE (0xD8E007F7), as it refuses 0, unknown and closed handles.
"""

from __future__ import annotations

import pytest

from tests.kernel.asm import BACKENDS, INVALID_HANDLE, SUCCESS, save

pytestmark = pytest.mark.parametrize("backend", BACKENDS)


def test_pseudo_handles_name_the_current_thread_and_process(guest):
    process = guest.run_one(
        "ldr r1, =0xFFFF8000\n"
        "svc 0x37\n"  # GetThreadId(CUR_THREAD) -> r0, r1 = tid
        + save(0, "r0", "r1") +
        "ldr r1, =0xFFFF8001\n"
        "svc 0x35\n"  # GetProcessId(CUR_PROCESS) -> r0, r1 = pid
        + save(2, "r0", "r1") +
        "ldr r1, =0xFFFF8000\n"
        "svc 0x0B\n"  # GetThreadPriority(CUR_THREAD) -> r0, r1 = priority
        + save(4, "r0", "r1")
    )
    main = process.threads[0]
    assert guest.words(process, 6) == [SUCCESS, main.tid, SUCCESS, process.pid, SUCCESS, 0x30]


def test_pseudo_handles_in_the_wrong_role_are_invalid(guest):
    process = guest.run_one(
        "ldr r1, =0xFFFF8001\n"
        "svc 0x37\n"  # GetThreadId(CUR_PROCESS): a process is not a thread
        + save(0, "r0") +
        "ldr r1, =0xFFFF8000\n"
        "svc 0x35\n"  # GetProcessId(CUR_THREAD): a thread is not a process
        + save(1, "r0")
    )
    assert guest.words(process, 2) == [INVALID_HANDLE, INVALID_HANDLE]


def test_close_handle_refuses_pseudo_handles(guest):
    process = guest.run_one(
        "ldr r0, =0xFFFF8000\n"
        "svc 0x23\n"  # CloseHandle(CUR_THREAD)
        + save(0, "r0") +
        "ldr r0, =0xFFFF8001\n"
        "svc 0x23\n"  # CloseHandle(CUR_PROCESS)
        + save(1, "r0") +
        "ldr r1, =0xFFFF8000\n"
        "svc 0x37\n"  # GetThreadId(CUR_THREAD): still works afterwards
        + save(2, "r0")
    )
    assert guest.words(process, 3) == [INVALID_HANDLE, INVALID_HANDLE, SUCCESS]


def test_duplicate_handle_of_pseudo_handles_gives_real_handles(guest):
    process = guest.run_one(
        "ldr r1, =0xFFFF8001\n"
        "svc 0x27\n"  # DuplicateHandle(CUR_PROCESS) -> r1 = a real process handle
        + save(0, "r0", "r1") +
        "mov r10, r1\n"
        "svc 0x35\n"  # GetProcessId(r1 = that handle)
        + save(2, "r0", "r1") +
        "ldr r1, =0xFFFF8000\n"
        "svc 0x27\n"  # DuplicateHandle(CUR_THREAD) -> r1 = a real thread handle
        + save(4, "r0", "r1") +
        "mov r9, r1\n"
        "svc 0x37\n"  # GetThreadId(that handle)
        + save(6, "r0", "r1") +
        "mov r1, r9\n"
        "svc 0x0B\n"  # GetThreadPriority(that handle)
        + save(8, "r0", "r1") +
        "mov r0, r10\n"
        "svc 0x23\n"  # CloseHandle(process handle) -> 0
        + save(10, "r0") +
        "mov r0, r10\n"
        "svc 0x23\n"  # CloseHandle again -> INVALID_HANDLE
        + save(11, "r0") +
        "mov r1, r10\n"
        "svc 0x35\n"  # GetProcessId(closed handle) -> INVALID_HANDLE
        + save(12, "r0")
    )
    w = guest.words(process, 13)
    proc_handle, thread_handle = w[1], w[5]
    assert w[0] == SUCCESS and w[4] == SUCCESS
    assert proc_handle not in (0, 0xFFFF8000, 0xFFFF8001) and thread_handle not in (0, proc_handle)
    assert w[2:4] == [SUCCESS, process.pid]
    assert w[6:8] == [SUCCESS, process.threads[0].tid]
    assert w[8:10] == [SUCCESS, 0x30]
    assert w[10:13] == [SUCCESS, INVALID_HANDLE, INVALID_HANDLE]
    assert len(process.handles) == 0  # end_process closed the thread handle too


# Objects a program makes before trying bad handles on an SVC:
# r10 = an event, r9 = an unlocked mutex, r7 = an address arbiter, r8 = a handle already closed.
_OBJECTS = """
mov r1, #0
svc 0x17          @ CreateEvent(ONESHOT) -> r1
mov r10, r1
mov r1, #0
svc 0x13          @ CreateMutex(unlocked) -> r1
mov r9, r1
svc 0x21          @ CreateAddressArbiter -> r1
mov r7, r1
mov r1, #1
svc 0x17          @ CreateEvent(STICKY) -> r1 ...
mov r8, r1
mov r0, r1
svc 0x23          @ ... CloseHandle(it): r8 is now a stale handle
"""

# (SVC, number, register holding the handle, other arguments, a handle of the wrong type or None)
HANDLE_SVCS = [
    ("GetThreadId", 0x37, "r1", "", "r10"),
    ("GetProcessId", 0x35, "r1", "", "r10"),
    ("GetThreadPriority", 0x0B, "r1", "", "r10"),
    ("SetThreadPriority", 0x0C, "r0", "mov r1, #0x30", "r10"),
    ("DuplicateHandle", 0x27, "r1", "", None),
    ("CloseHandle", 0x23, "r0", "", None),
    ("ReleaseMutex", 0x14, "r0", "", "r10"),  # an event is not a mutex
    ("ReleaseSemaphore", 0x16, "r1", "mov r2, #1", "r9"),
    ("SignalEvent", 0x18, "r0", "", "r9"),
    ("ClearEvent", 0x19, "r0", "", "r9"),
    ("SetTimer", 0x1B, "r0", "mov r1, #0\nmov r2, #0\nmov r3, #0\nmov r4, #0", "r10"),
    ("CancelTimer", 0x1C, "r0", "", "r10"),
    ("ClearTimer", 0x1D, "r0", "", "r10"),
    ("WaitSynchronization1", 0x24, "r0", "mov r2, #0\nmov r3, #0", "r7"),  # an arbiter is not waitable
    ("ArbitrateAddress", 0x22, "r0", "ldr r1, =0x00200100\nmov r2, #0\nmov r3, #1", "r10"),
    ("MapMemoryBlock", 0x1F, "r0", "ldr r1, =0x10000000\nmov r2, #1\nmov r3, #1", "r10"),
    ("UnmapMemoryBlock", 0x20, "r0", "ldr r1, =0x10000000", "r10"),
    ("GetProcessInfo", 0x2B, "r1", "mov r2, #0", "r10"),
    ("GetResourceLimit", 0x38, "r1", "", "r10"),
    ("GetResourceLimitLimitValues", 0x39, "r1",
     "ldr r0, =0x00200100\nldr r2, =0x00200800\nmov r3, #1", "r10"),
]


@pytest.mark.parametrize(("name", "number", "reg", "setup", "wrong"), HANDLE_SVCS, ids=[s[0] for s in HANDLE_SVCS])
def test_bad_handles_are_invalid_handle(guest, name, number, reg, setup, wrong):
    handles = [f"mov {reg}, #0", f"ldr {reg}, =0xDEADBEEF", f"mov {reg}, r8"]  # 0, garbage, closed
    if wrong:
        handles.append(f"mov {reg}, {wrong}")  # an object of another type
    body = _OBJECTS
    for i, load in enumerate(handles):
        body += f"{setup}\n{load}\nsvc {number:#x}   @ {name}(bad handle #{i})\n" + save(i, "r0")
    process = guest.run_one(body)
    assert guest.words(process, len(handles)) == [INVALID_HANDLE] * len(handles)


def test_wait_synchronization_n_with_a_bad_handle_in_the_array(guest):
    process = guest.run_one(
        "mov r1, #0\n"
        "svc 0x17\n"  # CreateEvent(ONESHOT) -> r1
        "str r1, [r11, #0x40]\n"  # handles[0] = event
        "ldr r1, =0xDEADBEEF\n"
        "str r1, [r11, #0x44]\n"  # handles[1] = garbage
        "mov r0, #0\n"  # timeout low (poll)
        "add r1, r11, #0x40\n"  # handle array
        "mov r2, #2\n"  # count
        "mov r3, #0\n"  # wait any
        "mov r4, #0\n"  # timeout high
        "svc 0x25\n"  # WaitSynchronizationN
        + save(0, "r0")
    )
    assert guest.words(process, 1) == [INVALID_HANDLE]
