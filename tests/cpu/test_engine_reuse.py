"""A closed CPU's Unicorn engine is emptied and reused (hlemu.cpu.engines).

Reuse must leave nothing of the old process: no region (its memory), no hook (its
callbacks), no translated code, no register. And a new CPU's map, made in one pass
(pagemap.map_new), must be exactly what the general map sync makes.
"""

from __future__ import annotations

import numpy as np
import pytest
from keystone import KS_ARCH_ARM, KS_MODE_ARM, Ks
from unicorn import UC_HOOK_CODE
from unicorn import arm_const as arm

from hlemu.cpu import engines
from hlemu.cpu.cpu import Cpu
from hlemu.cpu.pagemap import KIND_MMIO, sync_unicorn_map
from hlemu.loaders import Image, Segment
from hlemu.memory import MemoryPermission
from hlemu.memory.constants import NUM_PAGES, PERM_W, PERM_X, SPECIAL_TRACKED
from hlemu.memory.lazy import lazy_zeros
from kernel.kernel import Kernel

SECRET_AT, SECRET = 0x00200000, 0x5EC2E7A5


def _image(name: str, source: str, data: bytes | None = None) -> Image:
    code = bytes(Ks(KS_ARCH_ARM, KS_MODE_ARM).asm(source, 0x00100000)[0])
    segments = [Segment(0x00100000, code, 0x1000, MemoryPermission.RX)]
    if data is not None:
        segments.append(Segment(SECRET_AT, data, 0x1000, MemoryPermission.RW))
    return Image(name, 0x00100000, segments)


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
def test_a_reused_engine_reaches_none_of_the_old_process_memory(backend):
    kernel = Kernel(backend=backend, output=lambda p, line: None)
    owner = kernel.spawn(_image("owner", f"ldr r0, ={SECRET_AT:#x}\nldr r1, [r0]\nmov r0, #0\nsvc #3",
                                SECRET.to_bytes(4, "little")))
    engine = owner.cpu.uc
    kernel.run(max_instructions=1_000_000, until=lambda: not owner.alive)
    assert owner.exit_code == 0
    kernel.reap(owner)  # memory, CPU and slab given back
    assert owner.cpu.closed
    # The next CPU gets the engine the owner's CPU gave back, and reads the owner's address.
    reader = kernel.spawn(_image("reader", f"ldr r0, ={SECRET_AT:#x}\nldr r1, [r0]\nmov r0, #0\nsvc #3"))
    assert reader.cpu.uc is engine
    assert all(not (lo <= SECRET_AT <= hi) for lo, hi, _ in reader.cpu.mapped_regions()) \
        if backend == "fastmem" else True
    kernel.run(max_instructions=1_000_000, until=lambda: not reader.alive)
    assert reader.crash is not None
    assert "unmapped" in str(reader.crash) and f"{SECRET_AT:#010x}" in str(reader.crash)
    kernel.close()


def test_an_emptied_engine_has_no_region_hook_or_register_left():
    uc = engines.new_engine()
    uc.mem_map(0x10000, 0x1000)
    uc.mem_write(0x10000, bytes(Ks(KS_ARCH_ARM, KS_MODE_ARM).asm("mov r5, #7\nmov r6, #8", 0x10000)[0]))
    calls: list[int] = []
    uc.hook_add(UC_HOOK_CODE, lambda *a: calls.append(a[1]))
    uc.emu_start(0x10000, 0x10008)
    assert uc.reg_read(arm.UC_ARM_REG_R5) == 7 and calls == [0x10000, 0x10004]
    uc.reg_write(arm.UC_ARM_REG_C13_C0_3, 0x1FF82000)  # a thread's TLS pointer (CP15)
    engines.retire_engine(uc, False, [])
    again = engines.new_engine()
    assert again is uc
    assert list(again.mem_regions()) == []
    assert again.reg_read(arm.UC_ARM_REG_R5) == 0 and again.reg_read(arm.UC_ARM_REG_C13_C0_3) == 0
    assert again.reg_read(arm.UC_ARM_REG_C1_C0_2) == engines.CPACR_VFP  # as new_engine makes one
    # Same address, different code: the old translation is gone and the old hook is not called.
    again.mem_map(0x10000, 0x1000)
    again.mem_write(0x10000, bytes(Ks(KS_ARCH_ARM, KS_MODE_ARM).asm("mov r5, #9\nmov r6, #10", 0x10000)[0]))
    again.emu_start(0x10000, 0x10008)
    assert again.reg_read(arm.UC_ARM_REG_R5) == 9 and calls == [0x10000, 0x10004]
    engines.retire_engine(again, False, [])


def test_the_pool_is_bounded():
    made = [engines.new_engine(virtual_tlb=True) for _ in range(engines.POOL_LIMIT + 3)]
    for uc in made:
        engines.retire_engine(uc, True, [])
    kept = [engines.new_engine(virtual_tlb=True) for _ in range(engines.POOL_LIMIT + 3)]
    assert sum(any(k is m for m in made) for k in kept) == engines.POOL_LIMIT
    for uc in kept:
        engines.retire_engine(uc, True, [])


def test_a_new_cpus_map_is_what_the_general_sync_makes():
    from hlemu.run import DEMO
    from kernel.api import Emulator

    emu = Emulator(backend="fastmem", echo=False)
    for name in DEMO:
        emu.spawn(name)
    emu.run(frames=6)  # framebuffers tracked, some pages dirty
    kernel = emu.kernel
    checked, kinds = 0, set()
    for process in list(kernel.processes.values()):
        if not process.alive:
            continue
        t = process.space.table
        data = np.flatnonzero((t.state != 0) & (t.special == 0) & ((t.perm & PERM_X) == 0) & ((t.perm & PERM_W) != 0))
        process.space.watch(int(data[0]) << 12, 4, lambda *a: None)  # a watched page: an MMIO region
        cpu = Cpu(process.space, kernel.cpu_config, kernel.dispatch_svc)  # pagemap.map_new
        uc = engines.new_engine()
        mapped = lazy_zeros(NUM_PAGES, np.uint8)
        sync_unicorn_map(uc, process.space, mapped, 0, NUM_PAGES, cpu._region_read, cpu._region_write)
        assert list(cpu.mapped_regions()) == list(uc.mem_regions()), process.name
        assert np.array_equal(cpu._mapped, mapped), process.name
        checked += 1
        kinds |= set(np.unique(mapped).tolist())
        kinds |= {"tracked"} if (process.space.table.special == SPECIAL_TRACKED).any() else set()
        engines.retire_engine(uc, False, [])
        cpu.close()
    assert checked >= 2 and {"tracked", KIND_MMIO} <= kinds, (checked, kinds)
    emu.close()
