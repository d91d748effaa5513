"""Run control is one machine: stepping, running with an instruction limit, running in pieces and
running to the end leave the same registers, memory, guest ticks and output (issue 12).

Before the scheduler owned guest time, ``Emulator.step`` charged ticks of its own: 4,292 steps
of ``hello`` gave 6,811 ticks where running the same instructions gave 4,894.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from hlemu.guest import program_path
from kernel.api import Emulator
from kernel.kernel import Kernel

BACKENDS = ["fastmem", "semifastmem"]


def make(backend: str, programs: tuple[str, ...], quantum: int = 20_000) -> Kernel:
    kernel = Kernel(backend=backend, quantum_blocks=quantum, output=lambda p, line: None)
    for name in programs:
        kernel.spawn(program_path(name))
    return kernel


def registers(kernel: Kernel, thread) -> list[int] | None:  # noqa: ANN001
    regs = kernel.scheduler.registers(thread)
    return None if regs is None else regs.raw.tolist()


def machine(kernel: Kernel) -> dict:
    """Everything a guest or a script can see of the machine."""
    seen: dict = {"ticks": kernel.ticks, "instructions": kernel.instructions,
                  "switches": kernel.context_switches}
    for p in kernel.processes.values():
        memory = hashlib.sha256()
        for region in p.space.regions():
            memory.update(p.space.peek(region.base, region.size))
        threads = {t.tid: (t.state.value, registers(kernel, t)) for t in p.threads}
        seen[p.pid] = (p.output[:], p.exit_code, p.cpu.instructions, p.cpu.blocks, threads, memory.hexdigest())
    return seen


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("programs", "quantum", "n"), [
    (("hello",), 20_000, 4_292),  # the measurement
    (("threads",), 200, 20_000),  # sleeps, wakes and round robin between equal priorities
    (("ipc_server", "ipc_client"), 20_000, 30_000),  # two processes, sessions, replies
])
def test_n_steps_are_run_instructions_n(backend, programs, quantum, n):
    stepped, ran = make(backend, programs, quantum), make(backend, programs, quantum)
    try:
        for _ in range(n):
            assert stepped.scheduler.step() is not None
        result = ran.run(max_instructions=n)
        assert result.reason == "instruction limit" and result.instructions == n
        assert machine(stepped) == machine(ran)
        assert stepped.run().ticks == ran.run().ticks  # and they go on alike
        assert machine(stepped) == machine(ran)
    finally:
        stepped.close()
        ran.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_running_in_pieces_is_running_to_the_end(backend):
    """Exact limits, steps and breakpoints anywhere: the same schedule, ticks and output as one run."""
    whole, pieces = make(backend, ("threads",), 200), make(backend, ("threads",), 200)
    try:
        whole.run()
        process = next(iter(pieces.processes.values()))
        stops = {int(a) for a in np.random.default_rng(3).integers(0x00100100, 0x00101000, 12) & ~3}
        process.cpu.on_breakpoint = lambda cpu, address: True
        for address in stops:
            process.cpu.add_breakpoint(address)
        rng = np.random.default_rng(12)
        reasons = set()
        while any(p.alive for p in pieces.processes.values()):
            if rng.integers(4) == 0:
                for _ in range(int(rng.integers(1, 20))):
                    pieces.scheduler.step()
            else:
                reasons.add(pieces.run(max_instructions=int(rng.integers(1, 5_000))).reason)
        assert "breakpoint" in reasons and "instruction limit" in reasons
        assert machine(pieces) == machine(whole)
    finally:
        whole.close()
        pieces.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_emulator_step_charges_what_run_charges(backend):
    stepped, ran = Emulator(backend=backend, echo=False), Emulator(backend=backend, echo=False)
    try:
        stepped.spawn("hello")
        ran.spawn("hello")
        for _ in range(4_292):
            stepped.step()
        ran.run(instructions=4_292)
        assert (stepped.instructions, stepped.ticks) == (ran.instructions, ran.ticks) == (4_292, 4_892)
        assert stepped.current_thread == ran.current_thread
    finally:
        stepped.close()
        ran.close()


def test_named_events_are_plain_state():
    kernel = make("semifastmem", ())
    try:
        fired = []
        kernel.scheduler.register_event("probe", lambda: fired.append(kernel.ticks))
        kernel.scheduler.schedule_event("probe", 1_000)
        assert kernel.scheduler.state.events["probe"] == (1_000, kernel.scheduler.state.event_sequence)
        assert kernel.scheduler.next_deadline() == 1_000
        kernel.scheduler.state.ticks = 1_000
        kernel.scheduler.expire()
        assert fired == [1_000] and kernel.scheduler.state.events["probe"] is None
        with pytest.raises(ValueError, match="registered already"):
            kernel.scheduler.register_event("probe", lambda: None)
    finally:
        kernel.close()


# -- SVC listeners ------------------------------------------------------------------------------

SLEEP_THREAD, WAIT_SYNCHRONIZATION_N, EXIT_PROCESS = 0x0A, 0x25, 0x03


@pytest.mark.parametrize("backend", BACKENDS)
def test_svc_listeners_see_blocking_svcs_complete_when_their_thread_runs_again(backend):
    kernel = make(backend, ("threads",))
    try:
        events = []
        kernel.svc_listeners.add(lambda call: events.append(("before", call.thread.tid, call.number, kernel.ticks)))
        kernel.svc_listeners.add(lambda call: events.append(("after", call.thread.tid, call.number, kernel.ticks,
                                                              call.blocked, call.results)), after=True)
        assert kernel.run().reason == "all exited"
        sleeps = [e for e in events if e[2] == SLEEP_THREAD]
        assert sleeps and len(sleeps) % 2 == 0
        for before in [e for e in sleeps if e[0] == "before"]:
            after = next(e for e in events[events.index(before) + 1:] if e[0] == "after" and e[1] == before[1])
            assert after[2] == SLEEP_THREAD and after[4] and after[5] == {0: 0} and after[3] > before[3]
        assert not [e for e in events if e[0] == "after" and e[2] == EXIT_PROCESS]  # it never completes
    finally:
        kernel.close()


def test_svc_listeners_cost_nothing_when_removed_and_filter_by_number():
    kernel = make("semifastmem", ("hello",))
    try:
        seen = []
        listener = kernel.svc_listeners.add(lambda call: seen.append(call.number), number=0x3D)
        kernel.run(max_instructions=200_000)
        kernel.svc_listeners.remove(listener)
        assert not kernel.svc_listeners and seen and set(seen) == {0x3D}
    finally:
        kernel.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_proc_registers_read_and_write_through_the_register_file(backend):
    emu = Emulator(backend=backend, echo=False)
    try:
        hello = emu.spawn("hello")
        emu.run(instructions=1_000)
        regs = hello.registers()
        assert regs.pc == hello.threads[0].pc and regs.tpidruro == 0x1FF82000 and regs.fpexc & 0x40000000
        regs["r7"] = 0x1234
        regs["d1"] = 0x4000000000000000  # 2.0
        hello.set_registers(regs)
        again = hello.registers()
        assert again == regs and again is not regs
        assert hello.thread(vfp=True).vfp["d1"] == 0x4000000000000000
    finally:
        emu.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_watchpoint_stop_inside_a_block_resumes_as_one_run(backend):
    """emu.stop_now() from a watch callback pauses before the writing instruction completes
    (its PC is the thread's); resuming runs it and the rest of its block, so the whole run's
    instructions, ticks and output are those of a run nobody watched."""
    def finish(watch: bool) -> tuple:
        emu = Emulator(backend=backend, echo=False)
        p = emu.spawn("inspect")
        stops: list[int] = []
        if watch:
            def hit(_hit: object) -> None:
                pc = p.thread().pc
                if stops and stops[-1] == pc:
                    stops.append(-1)  # the resumed store itself: let it complete
                    return
                stops.append(pc)
                emu.stop_now()

            p.watch(p.address_of("counter"), 4, hit, on="w")
        for _ in range(1000):
            if emu.run(instructions=50_000_000).reason == "all exited":
                break
        seen = (emu.instructions, emu.ticks, p.output[:], p.exit_code)
        emu.close()
        return seen, [pc for pc in stops if pc >= 0]

    (plain, _), (watched, pcs) = finish(False), finish(True)
    assert watched == plain
    assert len(pcs) >= 3
