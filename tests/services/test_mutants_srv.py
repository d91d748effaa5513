"""srv:'s service-name decoding at its edges: a name is 1 to 8 bytes in two request words, no NUL
inside (3dbrew "SRV:"; result codes as Citra's srv.cpp spells them, ERR_INVALID_NAME_SIZE and
ERR_NAME_CONTAINS_NUL); the notification semaphore EnableNotification hands out, and the session
limit a RegisterService caller sets. Written for mutants of kernel/services/srv.py
(scripts/mutation.py)."""

from __future__ import annotations

import pytest

from kernel.errors import KernelError
from kernel.services.srv import service_name
from tests.kernel.asm import OUT_OF_RANGE_KERNEL, SUCCESS, TIMEOUT, save
from tests.services.script import Script, header, name_words

INVALID_NAME_SIZE = 0xD9006405
NAME_CONTAINS_NUL = 0xD9006407
MAX_CONNECTIONS_REACHED = 0xD0401834  # Citra/Azahar kernel errors.h ERR_MAX_CONNECTIONS_REACHED


def words(name: bytes) -> list[int]:
    raw = name.ljust(8, b"\0")
    return [int.from_bytes(raw[:4], "little"), int.from_bytes(raw[4:], "little")]


@pytest.mark.parametrize(("name", "length"), [(b"a", 1), (b"fs:USER", 7), (b"hlm:test", 8), (b"gsp::Gpu", 8)])
def test_names_of_one_to_eight_bytes(name, length):
    assert service_name(words(name), length) == name.decode()


def test_only_length_bytes_count():
    assert service_name(words(b"fs:USERX"), 7) == "fs:USER"


@pytest.mark.parametrize("length", [0, 9, -1, 0xFFFFFFFF])
def test_other_lengths_are_refused(length):
    with pytest.raises(KernelError) as info:
        service_name(words(b"hlm:test"), length)
    assert info.value.code == INVALID_NAME_SIZE


def test_a_nul_inside_the_length_is_refused():
    with pytest.raises(KernelError) as info:
        service_name(words(b"ab"), 3)
    assert info.value.code == NAME_CONTAINS_NUL


def test_the_notification_semaphore_starts_empty_and_holds_sixteen(make_guest):
    """EnableNotification copies a semaphore created with count 0 and maximum 0x10 (Luma3DS
    sysmodules/sm/source/processes.c: svcCreateSemaphore(&notificationSemaphore, 0, 0x10); Azahar
    srv.cpp: CreateSemaphore(0, MAX_PENDING_NOTIFICATIONS = 16)): a wait on it times out, 16
    releases fit and the 17th is out of range."""
    guest = make_guest("semifastmem")
    s = Script().connect_srv()
    s.call("enable", "r9", [header(0x2, 0, 0)], replies=4)
    handle = 4 * s.word("enable", 4)
    first = s.slot("svcs", 5)
    s.asm(f"ldr r0, [r11, #{handle}]\nmov r2, #0\nmov r3, #0\nsvc 0x24   @ WaitSynchronization1(0 ns)\n"
          + save(first, "r0")
          + f"ldr r1, [r11, #{handle}]\nmov r2, #16\nsvc 0x16   @ ReleaseSemaphore(16)\n" + save(first + 1, "r0", "r1")
          + f"ldr r1, [r11, #{handle}]\nmov r2, #1\nsvc 0x16   @ ReleaseSemaphore(1) past the maximum\n"
          + save(first + 3, "r0", "r1"))
    process = s.run(guest)
    assert s.results(guest, process, "enable")[:4] == [SUCCESS, header(0x2, 1, 2), SUCCESS, 0]
    assert s.results(guest, process, "svcs")[:4] == [TIMEOUT, SUCCESS, 0, OUT_OF_RANGE_KERNEL]


def test_a_service_registered_for_one_session_refuses_a_second(make_guest):
    """RegisterService's word 4 is the port's session limit (Azahar srv.cpp: max_sessions, given to
    CreatePortPair): with 1, a second GetServiceHandle (flags bit 0: do not wait, Luma3DS sm
    srv.c) gets MAX_CONNECTIONS_REACHED while the first session is open."""
    guest = make_guest("semifastmem")
    s = Script().connect_srv()
    s.call("register", "r9", [header(0x3, 4, 0), *name_words("hlm:one"), 7, 1], replies=4)
    s.call("first", "r9", [header(0x5, 4, 0), *name_words("hlm:one"), 7, 1], replies=4)
    s.call("second", "r9", [header(0x5, 4, 0), *name_words("hlm:one"), 7, 1], replies=2)
    process = s.run(guest)
    assert s.results(guest, process, "register")[:3] == [SUCCESS, header(0x3, 1, 2), SUCCESS]
    assert s.results(guest, process, "first")[:3] == [SUCCESS, header(0x5, 1, 2), SUCCESS]
    assert s.results(guest, process, "second")[2] == MAX_CONNECTIONS_REACHED
