"""The slowmem CPU backend (issue 15): guest data accesses go through ``space.slow``, and a
guest program leaves the same machine as under fastmem and semifastmem.

Its default slow path is compiled (:mod:`hlemu.cpu.slowcall`, ~40 MIPS); the Python one
(``HLEMU_SLOW_PATH=python``) runs ~1 MIPS, so the programs here are the short ones."""

from __future__ import annotations

import io

import pytest

from hlemu.gdb.target import Target
from hlemu.guest import program_path
from hlemu.loaders import Image, Segment
from hlemu.memory import MemoryPermission
from kernel.api import Emulator
from kernel.kernel import Kernel
from tests.kernel.asm import DATA, Guest
from tests.kernel.test_run_control import machine
from tests.state.test_roundtrip import split_run

BACKENDS = ["fastmem", "semifastmem", "slowmem"]


def _faults(kernel: Kernel) -> dict:
    """Every process's fault counters but the TLB fills (which only the TLB backends have)."""
    return {p.pid: {k: v for k, v in p.space.faults.totals().items() if k != "tlb_fill"}
            for p in kernel.processes.values()}


def _run(backend: str, programs: tuple[str, ...], quantum: int = 20_000) -> tuple[dict, dict, Kernel]:
    kernel = Kernel(backend=backend, quantum_blocks=quantum, output=lambda p, line: None)
    for name in programs:
        kernel.spawn(program_path(name))
    kernel.run(max_instructions=5_000_000)
    return machine(kernel), _faults(kernel), kernel


@pytest.mark.parametrize(("programs", "quantum"), [
    (("hello",), 20_000), (("threads",), 200), (("shmem",), 20_000), (("ipc_server", "ipc_client"), 20_000),
])
def test_a_program_leaves_the_same_machine_on_all_three_backends(programs, quantum):
    """Output, exit codes, instruction and block counts, every thread's registers, every mapped
    page's contents and the fault counters: equal on the three backends."""
    seen = {}
    for backend in BACKENDS:
        got, faults, kernel = _run(backend, programs, quantum)
        seen[backend] = (got, faults)
        accesses = [p.cpu.data_accesses for p in kernel.processes.values()]
        if backend == "slowmem":
            assert all(reads > 1000 and writes > 100 for reads, writes in accesses), accesses
        else:
            assert all(a == (0, 0) for a in accesses)  # no slow path for plain memory
        kernel.close()
    assert seen["slowmem"] == seen["semifastmem"] == seen["fastmem"]


LOOP = """
    mov r1, #0
loop:
    ldr r2, [r11]
    add r2, r2, #3
    str r2, [r11]
    strb r2, [r11, #5]
    add r1, r1, #1
    cmp r1, #100
    bne loop
"""


@pytest.mark.parametrize("slow_path", ["compiled", "python"])
def test_the_python_slow_path_leaves_the_machine_the_compiled_one_does(monkeypatch, slow_path):
    """The compiled checks (the default) and the Python slow path they stand for: the same
    machine, counters and slow-path call counts as semifastmem's run (threads: mutexes,
    events, ldrex/strex; many pages)."""
    monkeypatch.setenv("HLEMU_SLOW_PATH", slow_path)
    got, faults, kernel = _run("slowmem", ("threads",), 200)
    assert kernel.cpu_config.slow_path == slow_path
    assert [p.cpu.data_accesses for p in kernel.processes.values()] == [(25962, 22269)]
    kernel.close()
    want, want_faults, kernel = _run("semifastmem", ("threads",), 200)
    kernel.close()
    assert (got, faults) == (want, want_faults)


@pytest.mark.parametrize("slow_path", ["compiled", "python"])
def test_each_guest_load_and_store_is_one_slow_path_call(monkeypatch, slow_path):
    """100 rounds of a word load, a word store and a byte store: exactly 100 reads and 200
    writes reach the slow path (the prologue and epilogue load no literal)."""
    monkeypatch.setenv("HLEMU_SLOW_PATH", slow_path)
    guest = Guest("slowmem")
    process = guest.run_one(LOOP)
    assert process.exit_code == 0
    assert process.cpu.data_accesses == (100, 200)
    assert process.space.slow.read32(DATA) == 300 and process.space.slow.read8(DATA + 5) == 300 & 0xFF
    guest.kernel.close()


def _fault_of(backend: str, source: str, data_perm: MemoryPermission) -> tuple:
    from keystone import KS_ARCH_ARM, KS_MODE_ARM, Ks

    code = bytes(Ks(KS_ARCH_ARM, KS_MODE_ARM).asm(source, 0x00100000)[0])
    image = Image("fault", 0x00100000, [Segment(0x00100000, code, 0x1000, MemoryPermission.RX),
                                        Segment(DATA, b"\x11" * 16, 0x1000, data_perm)])
    kernel = Kernel(backend=backend, output=lambda p, line: None)
    process = kernel.spawn(image)
    seen: list = []
    kernel.crash_holders.append(lambda thread, fault, report: seen.append(fault) and False)
    kernel.run(max_instructions=1_000_000)
    fault = seen[0]
    got = (fault.kind, fault.access, fault.address, fault.size, fault.reason, fault.pc, fault.registers[:13],
           process.crash.splitlines()[1:], _faults(kernel)[process.pid])
    kernel.close()
    return got


@pytest.mark.parametrize(("source", "perm"), [
    ("ldr r0, =0x00300004\nmov r5, #9\nldr r1, [r0]\nmov r6, #1", MemoryPermission.RW),  # unmapped read
    ("ldr r0, =0x00200008\nmov r5, #9\nstrh r5, [r0]\nmov r6, #1", MemoryPermission.R),  # read-only write
    ("ldr r0, =0x00200000\nmov r5, #9\nldr r1, [r0]\nmov r6, #1", MemoryPermission.NONE),  # no-access read
    ("ldr r0, =0x00200000\nmov r5, #9\nbx r0", MemoryPermission.RW),  # executing data
])
def test_a_guest_fault_is_the_same_cpu_fault_and_report_on_all_three_backends(source, perm):
    faults = {backend: _fault_of(backend, source, perm) for backend in BACKENDS}
    assert faults["slowmem"] == faults["semifastmem"] == faults["fastmem"]
    assert faults["slowmem"][6][5] == 9 and faults["slowmem"][6][6] == 0  # stopped at the faulting instruction


def test_a_state_saved_under_slowmem_loads_under_slowmem_and_under_semifastmem():
    for load_backend in ("slowmem", "semifastmem"):
        want, got = split_run(("threads",), "slowmem", load_backend, 40_000, 60_000)
        for key in want:
            assert got[key] == want[key], (key, load_backend)


def test_the_slow_path_counts_survive_a_state():
    emu = Emulator(backend="slowmem", echo=False)
    emu.spawn("hello")
    emu.run(instructions=50_000)
    buf = io.BytesIO()
    emu.save_state(buf)
    before = emu.kernel.processes[emu.processes[0].pid].cpu.data_accesses
    emu.close()
    loaded = Emulator.load_state(buf.getvalue(), backend="slowmem", echo=False)
    assert loaded.kernel.processes[loaded.processes[0].pid].cpu.data_accesses == before != (0, 0)
    loaded.close()


def test_gdb_steps_under_slowmem_match_semifastmem():
    """Ten single steps as the GDB stub does them: the same registers after each."""
    seen = {}
    for backend in ("semifastmem", "slowmem"):
        emu = Emulator(backend=backend, echo=False)
        emu.spawn("hello")
        target = Target(emu)
        pid = emu.processes[0].pid
        target.attach(pid)
        tid = target.default_thread()[1]
        steps = []
        for _ in range(10):
            event = target.resume(step=(pid, tid))
            steps.append((event.kind, event.reason, target.registers(pid, tid)))
        emu.close()
        seen[backend] = steps
    assert seen["slowmem"] == seen["semifastmem"]
    assert len({tuple(regs) for _k, _r, regs in seen["slowmem"]}) == 10  # each step moved the machine


SELF_MODIFYING = """
    mov r4, #0
    mov r6, #0
again:
    bl f
    add r6, r6, r0
    add r4, r4, #1
    cmp r4, #1
    bne done
    ldr r1, =0xE3A00005   @ mov r0, #5: f's first instruction from now on
    adr r2, f
    str r1, [r2]
    b again
done:
    mov r0, r6            @ exit status 1 + 5 = 6 (2 if f ran as first translated)
    svc #3
f:
    mov r0, #1
    bx lr
"""


@pytest.mark.parametrize("slow_path", ["compiled", "python"])
def test_code_the_guest_rewrites_runs_rewritten(monkeypatch, slow_path):
    """Unicorn does not see a store to the slow window: the slow path drops the code translated
    from an executable page it writes, so f runs as rewritten, as under the TLB backends (before
    this the process exited with 2), with the same instruction count and registers."""
    from keystone import KS_ARCH_ARM, KS_MODE_ARM, Ks

    monkeypatch.setenv("HLEMU_SLOW_PATH", slow_path)
    code = bytes(Ks(KS_ARCH_ARM, KS_MODE_ARM).asm(SELF_MODIFYING, 0x00100000)[0])
    seen = {}
    for backend in BACKENDS:
        kernel = Kernel(backend=backend, output=lambda p, line: None)
        process = kernel.spawn(Image("smc", 0x00100000, [Segment(0x00100000, code, 0x1000, MemoryPermission.RWX)]))
        kernel.run(max_instructions=100_000)
        assert process.exit_code == 6, backend
        seen[backend] = machine(kernel)
        kernel.close()
    assert seen["slowmem"] == seen["semifastmem"] == seen["fastmem"]
