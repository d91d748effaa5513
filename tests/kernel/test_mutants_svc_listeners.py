"""SvcListeners and SvcCall on their own: who hears which SVC, before or after, and the registers
after a call. Written for mutants of kernel/svc/listeners.py (scripts/mutation.py) that survived."""

from __future__ import annotations

from kernel.svc import svc_name
from kernel.svc.listeners import SvcCall, SvcListeners


class FakeThread:
    process = "the process"


def call(number: int) -> SvcCall:
    return SvcCall(FakeThread(), number, svc_name(number), [0, 1, 2, 3, 4, 5, 6, 7])  # type: ignore[arg-type]


def test_listeners_hear_their_number_and_their_side_only():
    heard: list[tuple[str, int]] = []
    listeners = SvcListeners()
    assert not listeners
    every = listeners.add(lambda c: heard.append(("every", c.number)))
    listeners.add(lambda c: heard.append(("0x24 after", c.number)), number=0x24, after=True)
    listeners.add(lambda c: heard.append(("0x0A", c.number)), number=0x0A)
    assert listeners
    listeners.before(call(0x24))
    listeners.after(call(0x24))
    listeners.before(call(0x0A))
    listeners.after(call(0x0A))
    assert heard == [("every", 0x24), ("0x24 after", 0x24), ("every", 0x0A), ("0x0A", 0x0A)]
    listeners.remove(every)
    heard.clear()
    listeners.before(call(0x24))
    listeners.before(call(0x0A))
    assert heard == [("0x0A", 0x0A)]


def test_number_zero_is_a_number_not_every_svc():
    heard = []
    listeners = SvcListeners()
    listeners.add(lambda c: heard.append(c.number), number=0)
    listeners.before(call(1))
    listeners.before(call(0))
    assert heard == [0]


def test_registers_after_write_results_over_the_arguments_as_u32():
    c = call(0x01)
    assert c.registers_after() == [0, 1, 2, 3, 4, 5, 6, 7]
    c.results = {0: -1, 1: 0x1_0000_0002}
    assert c.registers_after() == [0xFFFFFFFF, 2, 2, 3, 4, 5, 6, 7]
    assert c.args == [0, 1, 2, 3, 4, 5, 6, 7]  # the arguments stay as they were
    assert c.process == "the process"
    assert c.name == "ControlMemory"


def test_svc_names_come_from_the_table_and_unknown_ones_are_numbered():
    assert svc_name(0x3D) == "OutputDebugString"
    assert svc_name(0x7E) == "Unknown7E"
    assert svc_name(0x05) == "SetProcessAffinityMask"


class Thread5(FakeThread):
    tid = 5


def held_call(number: int) -> SvcCall:
    return SvcCall(Thread5(), number, svc_name(number), [0] * 8)  # type: ignore[arg-type]


def test_a_holding_listener_makes_the_listeners_hold_until_it_is_removed():
    listeners = SvcListeners()
    holder = listeners.add(lambda c: True, hold=True)
    listeners.add(lambda c: None)  # a plain one after it leaves holding on
    assert listeners.holds is True
    listeners.remove(holder)
    assert listeners.holds is False


def test_hold_asks_holding_listeners_of_that_number_and_serves_a_held_svc_next_time():
    asked: list[tuple[str, int]] = []
    listeners = SvcListeners()
    listeners.add(lambda c: asked.append(("plain", c.number)))  # never asked whether to hold
    listeners.add(lambda c: asked.append(("0x0A", c.number)) or True, number=0x0A, hold=True)
    assert listeners.hold(held_call(0x0B), pc=0x100010) is False  # not its number: nobody holds
    assert asked == [] and listeners.released == {}
    assert listeners.hold(held_call(0x0A), pc=0x100010) is True
    assert asked == [("0x0A", 0x0A)] and listeners.released == {5: 0x100010}
    # The same thread at the same svc again: served without asking (a resumed SVC runs once)
    assert listeners.hold(held_call(0x0A), pc=0x100010) is False
    assert asked == [("0x0A", 0x0A)] and listeners.released == {}
    # ...and the next time it comes, it is asked again
    assert listeners.hold(held_call(0x0A), pc=0x100010) is True
    assert asked == [("0x0A", 0x0A)] * 2


def test_hold_released_at_another_pc_asks_again():
    listeners = SvcListeners()
    listeners.add(lambda c: True, hold=True)  # every number
    assert listeners.hold(held_call(0x24), pc=0x100020) is True
    assert listeners.hold(held_call(0x01), pc=0x100040) is True  # another svc of that thread: asked
    assert listeners.released == {5: 0x100040}


def test_a_holding_listener_that_answers_false_holds_nothing():
    asked = []
    listeners = SvcListeners()
    listeners.add(lambda c: asked.append(c.number), hold=True)  # returns None: go on
    assert listeners.hold(held_call(0x24), pc=0x100020) is False
    assert asked == [0x24] and listeners.released == {}
