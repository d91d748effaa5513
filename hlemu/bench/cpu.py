"""``hlemu bench cpu``: guest code under the full kernel against bare Unicorn.

Workloads (records ``{workload, variant, value, unit, ...}``):

* ``compute`` (instructions/s): the bundled ``compute`` program under the
  kernel on each CPU backend, and the same ELF on a bare Unicorn (segments
  mapped, no hooks but an SVC stub) in the same run; ``vs_bare_unicorn``.
  ``bare_unicorn_block_hook`` adds only an empty compiled block hook: what
  any per-block instruction counting costs before it counts anything.
  ``slowmem`` (its compiled slow path, the default) runs the whole program;
  ``slowmem_python`` (``HLEMU_SLOW_PATH=python``: the Python slow path) only its
  first ``slow_instructions`` (default 3 M), a few seconds at its ~1 MIPS. Both
  add the data accesses the slow path served and the microseconds one costs (the
  run's time less semifastmem's for the same instructions, per access).
* ``svc_roundtrip`` (us): a loop of GetSystemTick SVCs; the ``bare_unicorn``
  variant is the same loop with an empty Python interrupt hook (the floor).
* ``process_switch`` (us): two processes yielding to each other with
  SleepThread(0); one SVC and one switch to the other process per turn.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable

from elftools.elf.elffile import ELFFile
from numba import cfunc, types
from unicorn import UC_ARCH_ARM, UC_HOOK_BLOCK, UC_HOOK_INTR, UC_MODE_ARM, UC_PROT_ALL, Uc
from unicorn import arm_const as arm
from unicorn.unicorn_py3.unicorn import uclib

from hlemu.bench.records import Record, add_ratios, cpu_backends
from hlemu.guest import program_path
from hlemu.loaders import Image, Segment
from hlemu.memory import MemoryPermission

CODE = 0x00100000


def _words_image(name: str, words: list[int]) -> Image:
    data = b"".join(w.to_bytes(4, "little") for w in words)
    return Image(name, CODE, [Segment(CODE, data, 0x1000, MemoryPermission.RX)])


def svc_loop(count: int) -> Image:
    """``count`` GetSystemTick SVCs, then ExitProcess."""
    return _words_image("svc_loop", [
        0xE59F4010,  # 00: ldr  r4, [pc, #0x10]   ; r4 = count (word at 0x18)
        0xEF000028,  # 04: svc  #0x28             ; GetSystemTick
        0xE2544001,  # 08: subs r4, r4, #1
        0x1AFFFFFC,  # 0c: bne  0x04
        0xE3A00000,  # 10: mov  r0, #0
        0xEF000003,  # 14: svc  #3                ; ExitProcess(0)
        count,       # 18: .word count
    ])


def yield_loop(count: int) -> Image:
    """``count`` SleepThread(0) yields, then ExitProcess."""
    return _words_image("yield_loop", [
        0xE59F4018,  # 00: ldr  r4, [pc, #0x18]   ; r4 = count (word at 0x20)
        0xE3A00000,  # 04: mov  r0, #0            ; r0:r1 = 0 ns: yield
        0xE3A01000,  # 08: mov  r1, #0
        0xEF00000A,  # 0c: svc  #0x0a             ; SleepThread
        0xE2544001,  # 10: subs r4, r4, #1
        0x1AFFFFFA,  # 14: bne  0x04
        0xE3A00000,  # 18: mov  r0, #0
        0xEF000003,  # 1c: svc  #3                ; ExitProcess(0)
        count,       # 20: .word count
    ])


def _kernel_run(backend: str, images: list[Image | str], quantum: int = 20_000,
                limit: int | None = None) -> tuple[float, int]:
    """Seconds and guest instructions to run ``images`` to the end (or to ``limit`` instructions)."""
    seconds, instructions, _ = _kernel_run_counted(backend, images, quantum, limit)
    return seconds, instructions


def _kernel_run_counted(backend: str, images: list[Image | str], quantum: int = 20_000,
                        limit: int | None = None, slow_path: str = "compiled") -> tuple[float, int, int]:
    """:func:`_kernel_run`, and the guest data accesses the slow path served (slowmem)."""
    from kernel.kernel import Kernel

    kernel = Kernel(backend=backend, quantum_blocks=quantum, output=lambda _p, _line: None)
    kernel.cpu_config.slow_path = slow_path
    try:
        for image in images:
            kernel.spawn(image if isinstance(image, Image) else program_path(image))
        t0 = time.perf_counter()
        result = kernel.run() if limit is None else kernel.run(max_instructions=limit)
        seconds = time.perf_counter() - t0
        done = "all exited" if limit is None else "instruction limit"
        if result.reason != done or any(p.crash for p in kernel.processes.values()):
            raise RuntimeError(f"benchmark guest did not finish cleanly on {backend}: {result.reason}")
        accesses = sum(sum(p.cpu.data_accesses) for p in kernel.processes.values())
        return seconds, result.instructions, accesses
    finally:
        kernel.close()


def slowmem_compute(slow_path: str, instructions: int | None, repeats: int) -> Record:
    """A ``compute`` record of the slowmem backend with ``slow_path`` (``compiled``: variant
    ``slowmem``; ``python``: ``slowmem_python``) over its first ``instructions`` (None: all),
    with the data accesses the slow path served and what one costs (against semifastmem's
    time for the same instructions, measured in the same run)."""
    seconds, ran, accesses = min(_kernel_run_counted("slowmem", ["compute"], limit=instructions,
                                                     slow_path=slow_path) for _ in range(repeats))
    fast, _ = min(_kernel_run("semifastmem", ["compute"], limit=instructions) for _ in range(repeats))
    per_access = (seconds - fast) / accesses * 1e6 if accesses else 0.0
    variant = "slowmem" if slow_path == "compiled" else f"slowmem_{slow_path}"
    extra = {"instructions": ran, "seconds": round(seconds, 4), "data_accesses": accesses,
             "us_per_access": round(per_access, 4), "slow_path": slow_path}
    if instructions is not None:
        extra["of"] = "the first instructions of compute"
    return Record("compute", variant, ran / seconds, "instructions/s", extra)


@cfunc(types.void(types.voidptr, types.uint64, types.uint32, types.voidptr), cache=True)
def _empty_block_hook(uc, address, size, user_data):  # pragma: no cover - runs inside Unicorn
    pass


def bare_unicorn_seconds(name: str, block_hook: bool = False) -> float:
    """Run a bundled ELF on a bare Unicorn: plain mem_map, an SVC stub, no other hooks
    (``block_hook``: plus an empty compiled block hook, the floor of block counting)."""
    uc = Uc(UC_ARCH_ARM, UC_MODE_ARM)
    uc.ctl_set_cpu_model(arm.UC_CPU_ARM_11MPCORE)
    if block_hook:
        handle = ctypes.c_size_t()
        uclib.uc_hook_add(uc._uch, ctypes.byref(handle), UC_HOOK_BLOCK, ctypes.c_void_p(_empty_block_hook.address),
                          None, 1, 0)
    with open(program_path(name), "rb") as f:
        elf = ELFFile(f)
        entry = elf.header["e_entry"]
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_LOAD":
                size = (seg["p_memsz"] + 0xFFF) & ~0xFFF
                uc.mem_map(seg["p_vaddr"], size, UC_PROT_ALL)
                uc.mem_write(seg["p_vaddr"], seg.data())
    uc.mem_map(0x08000000, 16 << 20, UC_PROT_ALL)  # the heap, committed up front
    uc.mem_map(0x0FFF0000, 0x10000, UC_PROT_ALL)  # stack
    uc.mem_map(0x1FF80000, 0x3000, UC_PROT_ALL)  # config memory, shared page, TLS
    uc.reg_write(arm.UC_ARM_REG_C1_C0_2, 0x00F00000)
    uc.reg_write(arm.UC_ARM_REG_FPEXC, 0x40000000)
    uc.reg_write(arm.UC_ARM_REG_CPSR, 0x10)
    uc.reg_write(arm.UC_ARM_REG_SP, 0x10000000)
    uc.reg_write(arm.UC_ARM_REG_C13_C0_3, 0x1FF82000)

    def on_svc(uc: Uc, intno: int, _user: object) -> None:
        number = int.from_bytes(uc.mem_read(uc.reg_read(arm.UC_ARM_REG_PC) - 4, 4), "little") & 0xFF
        if number == 0x03:
            uc.emu_stop()
        elif number == 0x01:  # ControlMemory: the heap is already there
            uc.reg_write(arm.UC_ARM_REG_R1, uc.reg_read(arm.UC_ARM_REG_R1))
            uc.reg_write(arm.UC_ARM_REG_R0, 0)
        else:
            uc.reg_write(arm.UC_ARM_REG_R0, 0)

    uc.hook_add(UC_HOOK_INTR, on_svc)
    t0 = time.perf_counter()
    uc.emu_start(entry, 0xFFFFFFFF)
    return time.perf_counter() - t0


def bare_svc_seconds(count: int) -> float:
    """The svc_loop on a bare Unicorn whose interrupt hook does nothing."""
    uc = Uc(UC_ARCH_ARM, UC_MODE_ARM)
    uc.ctl_set_cpu_model(arm.UC_CPU_ARM_11MPCORE)
    image = svc_loop(count)
    uc.mem_map(CODE, 0x1000, UC_PROT_ALL)
    uc.mem_write(CODE, image.segments[0].data)
    uc.hook_add(UC_HOOK_INTR, lambda uc, intno, user: None)
    t0 = time.perf_counter()
    uc.emu_start(CODE, CODE + 0x10)  # stops before the ExitProcess
    return time.perf_counter() - t0


def run(compute_repeats: int = 3, svcs: int = 100_000, switches: int = 50_000, backends: tuple[str, ...] = (),
        progress: Callable[[str], None] | None = None, slow_instructions: int = 3_000_000) -> list[Record]:
    say = progress or (lambda _msg: None)
    backends = backends or cpu_backends()
    records: list[Record] = []

    say("compute")
    instructions = 0
    for backend in backends:
        seconds, instructions = min(_kernel_run(backend, ["compute"]) for _ in range(compute_repeats))
        records.append(Record("compute", backend, instructions / seconds, "instructions/s",
                              {"instructions": instructions, "seconds": round(seconds, 4)}))
        say(f"  {backend}: {instructions / seconds / 1e6:.1f} MIPS")
    for slow_path, limit in (("compiled", None), ("python", slow_instructions)):
        slow = slowmem_compute(slow_path, limit, compute_repeats)
        records.append(slow)
        say(f"  {slow.variant}: {slow.value / 1e6:.2f} MIPS ({slow.extra['data_accesses']:,} data accesses, "
            f"{slow.extra['us_per_access']:.3f} us each)")
    for variant, hooked in (("bare_unicorn", False), ("bare_unicorn_block_hook", True)):
        bare = min(bare_unicorn_seconds("compute", hooked) for _ in range(compute_repeats))
        records.append(Record("compute", variant, instructions / bare, "instructions/s",
                              {"instructions": instructions, "seconds": round(bare, 4)}))
        say(f"  {variant}: {instructions / bare / 1e6:.1f} MIPS")

    say("svc_roundtrip")
    floor = min(bare_svc_seconds(svcs) for _ in range(3))
    records.append(Record("svc_roundtrip", "bare_unicorn", floor / svcs * 1e6, "us", {"count": svcs}))
    say(f"  bare_unicorn: {floor / svcs * 1e6:.1f} us")
    for backend in backends:
        seconds, _ = min(_kernel_run(backend, [svc_loop(svcs)]) for _ in range(3))
        records.append(Record("svc_roundtrip", backend, seconds / svcs * 1e6, "us", {"count": svcs}))
        say(f"  {backend}: {seconds / svcs * 1e6:.1f} us")

    say("process_switch")
    for backend in backends:
        seconds, _ = min(_kernel_run(backend, [yield_loop(switches), yield_loop(switches)]) for _ in range(3))
        turns = 2 * switches
        records.append(Record("process_switch", backend, seconds / turns * 1e6, "us",
                              {"count": turns, "includes": "one SleepThread(0) SVC per switch"}))
        say(f"  {backend}: {seconds / turns * 1e6:.1f} us")

    add_ratios(records, "compute", {"vs_bare_unicorn": "bare_unicorn"})
    add_ratios(records, "svc_roundtrip", {"vs_bare_unicorn": "bare_unicorn"})
    return records
