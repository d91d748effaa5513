"""fastmem: a write-tracked page is a Unicorn region of its own.

Its first write makes it writable again from inside Unicorn's memory hook. A region shared
with other pages would be split there, under the store Unicorn is doing, which then writes
through the freed region: the host crashed (SIGSEGV in helper_le_stw_mmu) about every other
run of a libctru program whose display tracked a double buffer in one call.
"""

from __future__ import annotations

from keystone import KS_ARCH_ARM, KS_MODE_ARM, Ks

from hlemu.loaders import Image, Segment
from hlemu.memory import MemoryPermission, WriteTracker
from kernel.kernel import Kernel

FB, PAGES, ROUNDS = 0x1F000000, 12, 40

# Write a word into each page of the tracked range, sleep (the test rearms the tracker), again.
PROGRAM = f"""
    mov  r6, #{ROUNDS}
round:
    ldr  r0, ={FB:#x}
    mov  r2, #{PAGES}
page:
    strh r6, [r0, #2]
    add  r0, r0, #0x1000
    subs r2, r2, #1
    bne  page
    mov  r0, #0x10000
    mov  r1, #0
    svc  #0x0a
    subs r6, r6, #1
    bne  round
    mov  r0, #0
    svc  #3
"""


def test_each_tracked_page_is_its_own_region_and_writes_keep_landing():
    kernel = Kernel(backend="fastmem", output=lambda p, line: None)
    code = bytes(Ks(KS_ARCH_ARM, KS_MODE_ARM).asm(PROGRAM, 0x00100000)[0])
    process = kernel.spawn(Image("tracked", 0x00100000, [Segment(0x00100000, code, 0x1000, MemoryPermission.RX)]))
    tracker = WriteTracker("fb")
    dirtied = []
    tracker.subscribe(lambda t, vaddr: dirtied.append(vaddr))
    process.space.track_writes(FB, PAGES << 12, tracker)  # one call over the whole range
    seen: list[list[tuple[int, int]]] = []
    values: list[int] = []

    def rearm():
        if process.alive:
            seen.append([(lo, hi) for lo, hi, _ in process.cpu.mapped_regions() if FB <= lo < FB + (PAGES << 12)])
            values.append(int.from_bytes(process.space.mem.read(FB + 2, 2), "little"))
            tracker.rearm()
        return not process.alive

    result = kernel.run(max_instructions=10_000_000, until=rearm)
    assert process.exit_code == 0, (result, process.crash)
    one_page_each = [(FB + (i << 12), FB + (i << 12) + 0xFFF) for i in range(PAGES)]
    assert seen and all(regions == one_page_each for regions in seen)
    assert sorted(set(dirtied)) == [FB + (i << 12) for i in range(PAGES)]
    assert len(dirtied) >= PAGES * 2  # rearmed between rounds: the pages fault again
    assert 1 in values  # the last round's store landed
    kernel.close()
