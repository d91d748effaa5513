"""hid:SPVR (hidInit's fallback name for hid:USER) and ir:rst (irrstInit on a New 3DS)."""

from __future__ import annotations

import pytest

from tests.kernel.asm import BACKENDS, SUCCESS
from tests.services.script import Script, header

MAP_AT = 0x10000000  # where the guest maps the shared memory blocks


@pytest.mark.parametrize("backend", BACKENDS)
def test_hid_spvr_is_hid_user_under_another_name(make_guest, backend):
    guest = make_guest(backend)
    s = Script().connect_srv()
    s.get_service("srv_hid", "hid:SPVR")
    s.call("handles", "r8", [header(0xA, 0, 0)], replies=8)
    s.asm(f"ldr r0, [r11, #{4 * s.word('handles', 4)}]\nldr r1, ={MAP_AT:#x}\nmov r2, #1\nldr r3, =0x10000000\n"
          "svc 0x1F   @ MapMemoryBlock(hid shared memory, R)\n" + f"str r0, [r11, #{4 * 0x1FE}]\n")
    s.call("accelerometer", "r8", [header(0x11, 0, 0)], replies=2)
    process = s.run(guest)
    handles = s.results(guest, process, "handles")
    assert handles[:4] == [SUCCESS, header(0xA, 1, 7), SUCCESS, 5 << 26]  # memory and five events
    assert guest.words(process, 1, 0x1FE) == [SUCCESS]
    assert process.space.table.frame[MAP_AT >> 12] == guest.kernel.hid.shared.frames[0]  # hid:USER's memory
    assert s.results(guest, process, "accelerometer")[2] == SUCCESS


def test_ir_rst_get_handles_initialize_shutdown(make_guest):
    guest = make_guest("semifastmem")
    s = Script().connect_srv()
    s.get_service("srv_ir", "ir:rst")
    s.call("handles", "r8", [header(0x1, 0, 0)], replies=5)
    s.asm(f"ldr r0, [r11, #{4 * s.word('handles', 4)}]\nldr r1, ={MAP_AT:#x}\nmov r2, #1\nldr r3, =0x10000000\n"
          "svc 0x1F   @ MapMemoryBlock(ir:rst shared memory, R)\n" + f"str r0, [r11, #{4 * 0x1FE}]\n")
    s.call("init", "r8", [header(0x2, 2, 0), 10, 0], replies=2)
    s.call("shutdown", "r8", [header(0x3, 0, 0)], replies=2)
    process = s.run(guest)
    handles = s.results(guest, process, "handles")
    assert handles[:4] == [SUCCESS, header(0x1, 1, 3), SUCCESS, 1 << 26 | 0x10] and handles[4] and handles[5]
    assert guest.words(process, 1, 0x1FE) == [SUCCESS]
    assert s.results(guest, process, "init")[2] == SUCCESS and s.results(guest, process, "shutdown")[2] == SUCCESS
