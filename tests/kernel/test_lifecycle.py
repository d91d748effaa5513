"""A process that ends while its threads wait: the waits end with it and nothing wakes a dead thread."""

from __future__ import annotations

import pytest

from tests.kernel.asm import BACKENDS, DATA, SUCCESS, create_thread, save, wait1

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

MS = 1_000_000  # ns
SHARED = DATA + 0x80  # main's event handle, for the children


def waiter(label: str, timeout_ns: int) -> str:
    return f"{label}:\nmov r11, #0x200000\nldr r10, ={SHARED:#x}\nldr r10, [r10]\n" + wait1("r10", timeout_ns) + "b .\n"


def test_exit_process_ends_threads_waiting_on_objects(guest):
    """Two children wait on an event nobody signals (one for ever, one with a timeout); main
    ends the process. The run ends (no deadlock), every thread is dead, the kernel holds none of
    them, and the timeout falling due later wakes nothing."""
    process = guest.spawn(
        "mov r1, #0\nsvc 0x17   @ CreateEvent(ONESHOT)\n" + save(0, "r0")
        + f"ldr r0, ={SHARED:#x}\nstr r1, [r0]\n"
        + create_thread("forever", 0x31) + create_thread("timed", 0x31)
        + "ldr r0, =1000000\nmov r1, #0\nsvc 0x0A   @ SleepThread(1 ms): both children block\n"
        + "mov r0, #9\nsvc 0x03   @ ExitProcess(9)\n"
        + waiter("forever", -1) + waiter("timed", 50 * MS)
    )
    other = guest.spawn("ldr r0, =100000000\nmov r1, #0\nsvc 0x0A   @ SleepThread(100 ms)\nmov r0, #4\nsvc 0x03\n",
                        name="bystander")  # keeps guest time running past the child's timeout
    assert guest.run().reason == "all exited"
    assert guest.words(process, 1) == [SUCCESS]
    assert process.exit_code == 9 and process.crash is None
    assert len(process.threads) == 3 and all(not t.alive for t in process.threads)
    assert not [t for t in guest.kernel.threads if t.process is process]
    assert other.exit_code == 4 and other.crash is None

