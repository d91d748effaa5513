"""OutputDebugString's length and Break's report, exactly: cases mutants of kernel/svc/debug.py
(scripts/mutation.py) showed unpinned. The layout of a test program is tests/kernel/asm.py's: the
prologue's one instruction at CODE, then the body."""

from __future__ import annotations

from tests.kernel.asm import CODE, INPUT, Guest


def test_output_debug_string_prints_exactly_length_bytes_and_nothing_for_zero_or_less():
    guest = Guest("semifastmem")
    try:
        def out(length: int) -> str:
            return f"ldr r0, ={INPUT:#x}\nldr r1, ={length & 0xFFFFFFFF:#x}\nsvc 0x3D\n"

        guest.run_one(out(1) + out(0) + out(-1) + out(4) + out(8), data=b"hi\nthere\n")
        assert [line for _pid, line in guest.lines] == ["h", "hi", "t", "hi", "there"]  # each line of the text
    finally:
        guest.close()


def test_break_reports_the_svc_instruction_and_the_reason_in_r0():
    guest = Guest("semifastmem")
    try:
        # r0 = 1 (USERBREAK_ASSERT), r1 = 0: the reason is r0's
        broken = guest.spawn("mov r0, #1\nmov r1, #0\nsvc 0x3C   @ Break\n", name="breaker")
        odd = guest.spawn("mov r0, #9\nsvc 0x3C\n", name="odd")
        guest.run()
        svc_at = CODE + 12  # prologue, two movs, then the svc
        assert broken.crash_address == svc_at
        # The crash line names the break once (ecc1b13): "svcBreak(<reason>) at <the svc>"
        assert f"\nsvcBreak(assert) at {svc_at:#010x}\n" in broken.crash
        assert f"\nsvcBreak(reason 9) at {CODE + 8:#010x}\n" in odd.crash
    finally:
        guest.close()
