"""Special pages reached by guest code: MMIO handlers and write tracking, on the three CPU backends."""

from __future__ import annotations

import pytest
from keystone import KS_ARCH_ARM, KS_MODE_ARM, Ks

from hlemu.loaders import Image, Segment
from hlemu.memory import MemoryPermission, WriteTracker
from kernel.kernel import Kernel
from kernel.thread import ThreadState

FB, REGS = 0x1F000000, 0x1EC00000

PROGRAM = """
    ldr  r0, =0x1F000000      @ the write-tracked "framebuffer", two pages
    mov  r1, #0x55
    str  r1, [r0]             @ first write to page 0: one write-tracking fault
    str  r1, [r0, #4]         @ page 0 is dirty now: no fault
    add  r2, r0, #0x1000
    str  r1, [r2, #8]         @ first write to page 1
    ldr  r3, =0x1EC00000      @ MMIO registers
    ldr  r4, [r3, #0x10]      @ handler read (4 bytes)
    str  r4, [r3, #0x20]      @ handler write (4 bytes)
    strh r4, [r3, #0x22]      @ handler write (2 bytes)
    ldr  r0, =1000000         @ SleepThread(1 ms): the test rearms the tracker meanwhile
    mov  r1, #0
    svc  #0x0a
    ldr  r0, =0x1F000000
    mov  r1, #0x66
    str  r1, [r0, #0x10]      @ page 0 was rearmed: faults again
    str  r1, [r0, #0x14]
    mov  r0, r4               @ exit status: the value the MMIO read returned
    svc  #3
"""


class Registers:
    def __init__(self):
        self.log = []

    def read(self, space, vaddr, size):
        self.log.append(("read", vaddr, size))
        return 0x42

    def write(self, space, vaddr, size, value):
        self.log.append(("write", vaddr, size, value))


def spawn(kernel):
    code = bytes(Ks(KS_ARCH_ARM, KS_MODE_ARM).asm(PROGRAM, 0x00100000)[0])
    process = kernel.spawn(Image("special", 0x00100000, [Segment(0x00100000, code, 0x1000, MemoryPermission.RX)]))
    space = process.space
    # VRAM is mapped in every process at 0x1F000000 already
    tracker = WriteTracker("fb")
    dirtied = []
    tracker.subscribe(lambda t, vaddr: dirtied.append(vaddr))
    space.track_writes(FB, 0x2000, tracker)
    regs = Registers()
    space.map_mmio(REGS, 0x1000, regs)
    return process, tracker, regs, dirtied


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem", "slowmem", "slowmem-python"])
def test_guest_writes_fault_once_per_clean_page_and_mmio_reaches_the_handler(backend, monkeypatch):
    backend, _, slow_path = backend.partition("-")  # slowmem's compiled slow path, and its Python one
    monkeypatch.setenv("HLEMU_SLOW_PATH", slow_path or "compiled")
    kernel = Kernel(backend=backend, output=lambda p, line: None)
    process, tracker, regs, dirtied = spawn(kernel)
    main = process.threads[0]
    kernel.run(until=lambda: main.state == ThreadState.WAITING)
    space = process.space
    assert process.crash is None
    assert dirtied == [FB, FB + 0x1000]
    assert tracker.dirty_ranges(process.pid) == [(FB, 0x2000)]
    assert space.faults.page(FB)["write_track"] == 1 and space.faults.page(FB + 0x1000)["write_track"] == 1
    assert regs.log == [("read", REGS + 0x10, 4), ("write", REGS + 0x20, 4, 0x42), ("write", REGS + 0x22, 2, 0x42)]
    assert space.faults.page(REGS)["special"] == 3
    assert space.mem.read32(FB) == 0x55 and space.mem.read32(FB + 0x1008) == 0x55

    assert tracker.rearm() == 2
    kernel.run()
    assert process.exit_code == 0x42
    assert space.faults.page(FB)["write_track"] == 2  # faulted again after the rearm...
    assert space.faults.page(FB + 0x1000)["write_track"] == 1  # ...only where it was written
    assert dirtied == [FB, FB + 0x1000, FB]
    assert space.mem.read32(FB + 0x14) == 0x66
    kernel.close()


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem", "slowmem"])
def test_unmapping_a_page_under_the_cpu_takes_effect_at_once(backend):
    """A map change drops stale translations: the next access faults."""
    kernel = Kernel(backend=backend, output=lambda p, line: None)
    process, tracker, regs, _ = spawn(kernel)
    main = process.threads[0]
    kernel.run(until=lambda: main.state == ThreadState.WAITING)
    process.space.untrack(FB, 0x2000)
    process.space.unmap(FB, 0x2000)  # the guest wrote there a moment ago
    kernel.run()
    assert process.crash is not None
    assert "data abort: write of 4 byte(s) at 0x1f000010 (unmapped)" in process.crash
    kernel.close()
