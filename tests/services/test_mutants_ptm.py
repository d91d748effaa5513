"""ptm:u's step history and ptm:sysm's software-closed flag, as Azahar service/ptm/ptm.cpp answers
them: GetStepHistory writes one u16 (Settings steps_per_hour, a u16) per hour asked, at most as
many as the mapped buffer takes; GetSoftwareClosedFlag is false. Written for mutants of
kernel/services/ptm.py (scripts/mutation.py)."""

from __future__ import annotations

import struct

from tests.kernel.asm import SUCCESS
from tests.services.script import HEAP, Script, header

W = 0x4  # IPC_BUFFER_W


def step_history(s: Script, name: str, hours: int, start: int, size: int, at: int) -> Script:
    return s.call(name, "r8", [header(0xB, 3, 2), hours, start, 0, size << 4 | 0x8 | W, at], replies=4)


def test_step_history_writes_one_u16_per_hour_asked(make_guest):
    guest = make_guest("semifastmem")
    guest.kernel.ptm.state.steps_per_hour = 0x1_2345  # only its low 16 bits are a step count
    s = Script().connect_srv().heap()
    s.get_service("srv_ptm", "ptm:u")
    step_history(s, "short", 16, 0x20, 0x40, HEAP)  # 16 hours in a 64-byte buffer; start word 0x20
    step_history(s, "cut", 8, 0, 6, HEAP + 0x100)  # 8 hours, a buffer of 3 entries
    process = s.run(guest)
    assert s.results(guest, process, "short") == [SUCCESS, header(0xB, 1, 2), SUCCESS, 0x40 << 4 | 0xC, HEAP]
    assert process.space.mem.read(HEAP, 0x40) == struct.pack("<H", 0x2345) * 16 + bytes(0x20)
    assert s.results(guest, process, "cut")[2] == SUCCESS
    assert process.space.mem.read(HEAP + 0x100, 8) == struct.pack("<H", 0x2345) * 3 + bytes(2)


def test_step_history_of_more_than_65536_hours_is_written_whole(make_guest):
    """Azahar loops over every hour asked; 0x10001 hours fill a 0x20002-byte buffer to its end."""
    guest = make_guest("semifastmem")
    guest.kernel.ptm.state.steps_per_hour = 7
    size = 2 * 0x10001
    s = Script().connect_srv().heap(0x21000)
    s.get_service("srv_ptm", "ptm:u")
    step_history(s, "long", 0x10001, 0, size, HEAP)
    process = s.run(guest)
    assert s.results(guest, process, "long")[2] == SUCCESS
    assert struct.unpack("<3H", process.space.mem.read(HEAP + size - 4, 6)) == (7, 7, 0)


def test_the_software_closed_flag_is_false(make_guest):
    guest = make_guest("semifastmem")
    s = Script().connect_srv()
    s.get_service("srv_sysm", "ptm:sysm")
    s.call("closed", "r8", [header(0x80F, 0, 0)], replies=3)
    process = s.run(guest)
    assert s.results(guest, process, "closed") == [SUCCESS, header(0x80F, 2, 0), SUCCESS, 0]
