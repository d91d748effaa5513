"""Where fastmem's memory hook is (hlemu.cpu.coverage), and that faults are reported alike
whether or not the hook saw them: executing a data page, which the hook leaves out, is the
same prefetch abort on every backend; a write to a page that turned write-tracked is still
seen (and counted) after its page left the plain set."""

from __future__ import annotations

import pytest
from keystone import KS_ARCH_ARM, KS_MODE_ARM, Ks

from hlemu.cpu import Cpu, CpuConfig, RegisterFile, Stop
from hlemu.memory import MemoryPermission, MemoryState, MemorySystem, WriteTracker

CODE, DATA, IPC = 0x00100000, 0x00200000, 0x04000000
JUMP = f"""
    ldr r0, ={DATA + 0x10}
    bx  r0
"""
STORES = f"""
    ldr r6, ={DATA}
    mov r0, #7
    str r0, [r6, #0x20]
    add r7, r6, #0x1000
    str r0, [r7, #0x24]
    svc #0x03
    b   .
"""


def _cpu(backend: str, program: str, short_lived: tuple = ()) -> Cpu:
    memory = MemorySystem(backend=backend)
    space = memory.create_space(1, "t")
    space.map(CODE, memory.phys.allocate("APPLICATION", 1), MemoryPermission.RX, MemoryState.CODE)
    space.map(DATA, memory.phys.allocate("APPLICATION", 2), MemoryPermission.RW, MemoryState.PRIVATE)
    space.map(IPC, memory.phys.allocate("APPLICATION", 1), MemoryPermission.RW, MemoryState.SHARED)
    space.poke(CODE, bytes(Ks(KS_ARCH_ARM, KS_MODE_ARM).asm(program, CODE)[0]))

    def on_svc(cpu: Cpu, number: int, args: list[int]) -> None:
        cpu.halt()

    cpu = Cpu(space, CpuConfig(backend=backend, short_lived=short_lived), on_svc)
    cpu.load_thread(RegisterFile.for_thread(CODE, DATA + 0x2000, 0, 0x1FF82000))
    return cpu


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
def test_executing_a_data_page_is_a_prefetch_abort_on_every_backend(backend):
    cpu = _cpu(backend, JUMP)
    try:
        assert cpu.run(blocks=100) is Stop.FAULT
        fault = cpu.fault
        assert (fault.kind, fault.access, fault.address, fault.reason) == \
            ("prefetch abort", "execute", DATA + 0x10, "permission")
        assert cpu.space.faults.totals()["permission"] == 1
    finally:
        cpu.close()


def test_the_hook_leaves_out_plain_pages_only():
    cpu = _cpu("fastmem", STORES, short_lived=((IPC, IPC + 0x1000),))
    try:
        coverage = cpu._coverage
        assert coverage is not None
        data = DATA >> 12
        assert not coverage.covers(data) and not coverage.covers(data + 1)  # plain RW
        assert coverage.covers(CODE >> 12)  # executable
        assert coverage.covers(IPC >> 12)  # short-lived
        assert coverage.covers(0x30000000 >> 12)  # unmapped
        assert coverage.runs == [(data, data + 2)]
        # the second data page becomes write-tracked: it leaves the plain set at once, and the
        # guest's first store to it reaches the hook (a write-tracking fault, the page dirty)
        tracker = WriteTracker("t")
        cpu.space.track_writes(DATA + 0x1000, 0x1000, tracker)
        cpu.sync_deferred()
        assert coverage.covers(data + 1) and coverage.runs == [(data, data + 1)]
        assert cpu.run(blocks=100) is Stop.HALT
        assert tracker.dirty[cpu.space.pid] == {data + 1}
        assert cpu.space.slow.read_int(DATA + 0x1024, 4) == 7 and cpu.space.slow.read_int(DATA + 0x20, 4) == 7
        # unmapping the plain page puts the hook back over it: a store there is reported
        cpu.space.unmap(DATA, 0x1000)
        cpu.sync_deferred()
        assert coverage.covers(data) and coverage.runs == []
    finally:
        cpu.close()


CALLER = f"""
    ldr r4, ={CODE + 0x800}
    blx r4
    mov r5, r0
    svc #0x28
    blx r4
    add r0, r0, r5, lsl #8
    svc #0x03
    b   .
"""


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
def test_code_replaced_from_inside_an_svc_runs_as_the_new_code(backend):
    # The callee's page is unmapped and mapped again, with other code, by an SVC in the middle
    # of a run: the second call must run the new code, not the first one's translation.
    memory = MemorySystem(backend=backend)
    space = memory.create_space(1, "t")
    ks = Ks(KS_ARCH_ARM, KS_MODE_ARM)
    space.map(CODE, memory.phys.allocate("APPLICATION", 1), MemoryPermission.RX, MemoryState.CODE)
    space.map(DATA, memory.phys.allocate("APPLICATION", 2), MemoryPermission.RW, MemoryState.PRIVATE)
    space.poke(CODE, bytes(ks.asm(CALLER, CODE)[0]) + bytes(0x800 - len(ks.asm(CALLER, CODE)[0]))
               + bytes(ks.asm("mov r0, #1\nbx lr", CODE + 0x800)[0]))

    exited: list[int] = []

    def on_svc(cpu: Cpu, number: int, args: list[int]) -> None:
        if number == 0x28:
            space.unmap(CODE, 0x1000)
            space.map(CODE, memory.phys.allocate("APPLICATION", 1), MemoryPermission.RX, MemoryState.CODE)
            caller = bytes(ks.asm(CALLER, CODE)[0])
            space.poke(CODE, caller + bytes(0x800 - len(caller)) + bytes(ks.asm("mov r0, #2\nbx lr", CODE + 0x800)[0]))
        else:
            exited.append(number)
            cpu.halt()

    cpu = Cpu(space, CpuConfig(backend=backend), on_svc)
    cpu.load_thread(RegisterFile.for_thread(CODE, DATA + 0x2000, 0, 0x1FF82000))
    try:
        for _ in range(4):  # (fastmem ends the run after the SVC, to drop what it translated)
            if not exited:
                cpu.run(blocks=100)
        assert exited and cpu.registers()["r0"] == 0x102
    finally:
        cpu.close()
        memory.close()


GROW = f"""
    ldr r6, ={DATA + 0x3000}
    svc #0x28
    mov r0, #9
    str r0, [r6]
    add r7, r6, #0x2000
    ldr r1, [r7]
    svc #0x03
    b   .
"""


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
def test_memory_mapped_by_an_svc_mid_run_is_plain_and_its_neighbour_still_faults(backend):
    # The SVC maps a page in the middle of a run: fastmem moves its hook off it from inside
    # the SVC's own hook; the store to it lands, and the read past it is the fault it was.
    cpu = _cpu(backend, GROW)
    memory = cpu.space.phys

    def on_svc(cpu_: Cpu, number: int, args: list[int]) -> None:
        if number == 0x28:
            cpu.space.map(DATA + 0x3000, memory.allocate("APPLICATION", 1), MemoryPermission.RW,
                          MemoryState.PRIVATE)
        else:
            cpu_.halt()

    cpu.on_svc = on_svc
    try:
        assert cpu.run(blocks=100) is Stop.FAULT
        assert (cpu.fault.kind, cpu.fault.access, cpu.fault.address, cpu.fault.reason) == \
            ("data abort", "read", DATA + 0x5000, "unmapped")
        assert cpu.space.slow.read_int(DATA + 0x3000, 4) == 9
        if backend == "fastmem":
            assert not cpu._coverage.covers((DATA + 0x3000) >> 12) and cpu._coverage.covers((DATA + 0x5000) >> 12)
    finally:
        cpu.close()
