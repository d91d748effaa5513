"""Ticks, process/system info, resource limits, debug output, Break and unknown SVC numbers
(docs/abi.md "Info SVCs" and "Process memory accounting"; Citra svc.cpp, process.cpp)."""

from __future__ import annotations

import pytest

from tests.kernel.asm import (
    BACKENDS,
    DATA,
    HEAP,
    INPUT,
    INVALID_ENUM_VALUE,
    NOT_IMPLEMENTED,
    SUCCESS,
    save,
    tick,
)

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

# What a test program maps before it commits anything (docs/abi.md "Process memory accounting",
# after Citra process.cpp): its image (tests/kernel/asm.py: 0x4000 code, one 0x1000 data page),
# the main thread's 0x10000-byte stack and one TLS page.
CODE_SIZE, DATA_PAGE, MAIN_STACK, TLS_PAGE = 0x4000, 0x1000, 0x10000, 0x1000
PROGRAM_MEMORY = CODE_SIZE + DATA_PAGE + MAIN_STACK + TLS_PAGE


def commit(size: int) -> str:
    """ControlMemory(COMMIT, HEAP, size, RW)."""
    return f"mov r0, #3\nldr r1, ={HEAP:#x}\nmov r2, #0\nldr r3, ={size:#x}\nmov r4, #3\nsvc 0x01\n"


def process_info(kind: int, handle: int = 0xFFFF8001) -> str:
    """GetProcessInfo(r1 = process, r2 = type) -> r0, r1 low, r2 high."""
    return f"ldr r1, ={handle:#x}\nldr r2, ={kind:#x}\nsvc 0x2B   @ GetProcessInfo\n"


def system_info(kind: int, param: int) -> str:
    """GetSystemInfo(r1 = type, r2 = param) -> r0, r1 low, r2 high."""
    return f"ldr r1, ={kind:#x}\nldr r2, ={param:#x}\nsvc 0x2A   @ GetSystemInfo\n"


def test_system_tick_is_monotonic_and_counts_guest_work(guest):
    process = guest.run_one(tick(0) + tick(2) + "mov r7, #0\nloop:\nadd r7, r7, #1\ncmp r7, #1024\nblt loop\n"
                            + tick(4))
    w = guest.words(process, 6)
    t0, t1, t2 = (w[i] | w[i + 1] << 32 for i in (0, 2, 4))
    assert 0 < t0 < t1 < t2
    assert t2 - t1 >= 3 * 1024  # three instructions an iteration, one tick each


def test_get_process_info_memory_used_follows_commits(guest):
    process = guest.run_one(
        process_info(0) + save(0, "r0", "r1", "r2")
        + commit(0x3000)
        + process_info(0) + save(3, "r0", "r1", "r2")
        + process_info(2) + save(6, "r0", "r1", "r2")
    )
    w = guest.words(process, 9)
    assert w[0] == SUCCESS and w[3] == SUCCESS and w[6] == SUCCESS
    before, after, private = (w[i] | w[i + 1] << 32 for i in (1, 4, 7))
    assert before == PROGRAM_MEMORY
    assert after == private == PROGRAM_MEMORY + 0x3000  # the commit; nothing is shared


def test_get_process_info_other_types(guest):
    process = guest.run_one(
        process_info(20) + save(0, "r0", "r1", "r2")  # linear address - physical address
        + process_info(19) + save(3, "r0")  # not a type hlemu (or Citra) knows
        + process_info(21) + save(4, "r0")  # New 3DS QTM: not implemented
        + process_info(22) + save(5, "r0") + process_info(23) + save(6, "r0")
        + process_info(24) + save(7, "r0")
    )
    w = guest.words(process, 8)
    assert w[0:3] == [SUCCESS, 0x0C000000, 0]  # 0x14000000 linear base, FCRAM at 0x20000000
    assert w[3:8] == [INVALID_ENUM_VALUE, NOT_IMPLEMENTED, NOT_IMPLEMENTED, NOT_IMPLEMENTED, INVALID_ENUM_VALUE]


def test_get_process_info_counts_handles_and_threads(guest):
    """3dbrew's types (Azahar svc.cpp ProcessInfoType): 4 handles in use, 5 the most open at once,
    7 threads; 1, 3 (kernel stacks, handle tables), 6 and 8 are 0 here."""
    dup = "ldr r1, =0xFFFF8001\nsvc 0x27   @ DuplicateHandle(current process)\n"
    child = "ldr r0, =0x30\nldr r1, =child\nmov r2, #0\nldr r3, =0x00200800\nldr r4, =0xFFFFFFFE\nsvc 0x08\n"
    close = "svc 0x23   @ CloseHandle\n"
    body = dup + dup + "mov r9, r1\n" + dup + "mov r10, r1\n" + "mov r0, r9\n" + close + "mov r0, r10\n" + close
    body += child  # a thread (not run yet) and its handle: 2 handles now, 3 at most
    for i, kind in enumerate((4, 5, 7, 1, 3, 6, 8)):
        body += process_info(kind) + save(3 * i, "r0", "r1", "r2")
    process = guest.run_one(body + "b done\nchild:\nsvc 0x09\ndone:\n")
    w = guest.words(process, 21)
    assert [w[3 * i : 3 * i + 3] for i in range(7)] == [
        [SUCCESS, 2, 0], [SUCCESS, 3, 0], [SUCCESS, 2, 0]] + [[SUCCESS, 0, 0]] * 4


def test_get_system_info_application_memory_used(guest):
    process = guest.run_one(
        system_info(0, 1) + save(0, "r0", "r1", "r2")
        + commit(0x5000)
        + system_info(0, 1) + save(3, "r0", "r1", "r2")
        + system_info(0, 0) + save(6, "r0", "r1", "r2")  # all regions
    )
    w = guest.words(process, 9)
    assert w[0] == w[3] == w[6] == SUCCESS
    before, after, everything = w[1], w[4], w[7]
    assert after - before == 0x5000
    phys = guest.kernel.memory.phys
    assert after == phys.regions["APPLICATION"].size - (phys.free_frames("APPLICATION") << 12)
    assert everything >= after


def test_resource_limit_values(guest):
    names = b"".join(n.to_bytes(4, "little") for n in (0, 1, 2, 9))  # PRIORITY, COMMIT, THREAD, CPU_TIME
    values = DATA + 0x100

    def limits(number: int) -> str:
        """r0 = s64 values out, r1 = limit handle, r2 = names, r3 = count."""
        return f"ldr r0, ={values:#x}\nmov r1, r10\nldr r2, ={INPUT:#x}\nmov r3, #4\nsvc {number:#x}\n"

    process = guest.run_one(
        "ldr r1, =0xFFFF8001\nsvc 0x38   @ GetResourceLimit(CUR_PROCESS) -> r1\n" + save(0, "r0") + "mov r10, r1\n"
        + limits(0x39) + save(1, "r0")  # GetResourceLimitLimitValues
        + "ldr r0, [r11, #0x100]\nstr r0, [r11, #0x10]\nldr r0, [r11, #0x108]\nstr r0, [r11, #0x14]\n"
        + "ldr r0, [r11, #0x110]\nstr r0, [r11, #0x18]\nldr r0, [r11, #0x118]\nstr r0, [r11, #0x1c]\n"
        + limits(0x3A) + save(2, "r0")  # GetResourceLimitCurrentValues
        + f"ldr r0, ={values:#x}\nmov r1, r10\nldr r2, ={INPUT + 16:#x}\nmov r3, #1\nsvc 0x39\n"  # name 10
        + save(3, "r0"),
        data=names + (10).to_bytes(4, "little"),
    )
    w = guest.words(process, 8)
    assert w[0:3] == [SUCCESS, SUCCESS, SUCCESS]
    assert w[4:8] == [0x18, 0x4000000, 0x20, 0x1E]  # Citra's APPLICATION limits
    current = [process.space.mem.read64(values + 8 * i) for i in range(4)]
    assert current[2] == 1  # one thread
    assert current[1] == PROGRAM_MEMORY  # COMMIT in use: nothing committed on top of the program
    assert w[3] == INVALID_ENUM_VALUE


@pytest.mark.parametrize("number", [0x7F, 0x26, 0x04, 0x2E, 0xFF])  # unknown, SignalAndWait, ..., StopPoint
def test_unimplemented_svc_returns_not_implemented_and_the_process_goes_on(guest, number):
    process = guest.run_one(f"mov r0, #0x55\nsvc {number:#x}\n" + save(0, "r0") + "mov r0, #6\nsvc 0x03\n")
    assert guest.words(process, 1) == [NOT_IMPLEMENTED]
    assert process.exit_code == 6
    assert f"unimplemented SVC {number:#04x}" in guest.text(process.pid)


def test_output_debug_string(guest):
    text = b"first line\nsecond line\n"
    process = guest.run_one(f"ldr r0, ={INPUT:#x}\nmov r1, #{len(text)}\nsvc 0x3D\n"
                            f"ldr r0, ={INPUT:#x}\nmov r1, #5\nsvc 0x3D\n", data=text)  # a prefix
    assert process.output == ["first line", "second line", "first"]
    assert guest.text(process.pid).splitlines() == process.output


@pytest.mark.parametrize(("pointer", "length"), [
    (0xDEADBEEF, 16), (0, 4), (INPUT + 0x7F0, 0x100),  # unmapped, null, running off the mapping
    (INPUT, 0x7FFFFFFF), (INPUT, 0xFFFFFFFF),  # huge, negative
])
def test_output_debug_string_with_a_wild_pointer_leaves_the_process_running(guest, pointer, length):
    process = guest.run_one(f"ldr r0, ={pointer:#x}\nldr r1, ={length:#x}\nsvc 0x3D\nmov r0, #2\nsvc 0x03\n",
                            data=b"x" * 16)
    assert process.exit_code == 2 and process.crash is None


def test_break_ends_only_the_calling_process_with_a_report(guest):
    broken = guest.spawn("mov r0, #2\nsvc 0x3C   @ Break(USER)\nmov r0, #1\nsvc 0x03\n", name="breaker")
    other = guest.spawn("mov r0, #5\nsvc 0x03\n", name="other")
    assert guest.run().reason == "all exited"
    assert broken.crash is not None and "svcBreak" in broken.crash
    assert other.exit_code == 5 and other.crash is None
