"""fastmem: a write-tracked page is a Unicorn region of its own.

Its first write makes it writable again from inside Unicorn's memory hook. A region shared
with other pages would be split there, under the store Unicorn is doing, which then writes
through the freed region: the host crashed (SIGSEGV in helper_le_stw_mmu) about every other
run of a libctru program whose display tracked a double buffer in one call.
"""

from __future__ import annotations

import numpy as np
import pytest
from keystone import KS_ARCH_ARM, KS_MODE_ARM, Ks

from hlemu.loaders import Image, Segment
from hlemu.memory import MemoryPermission, WriteTracker
from kernel.kernel import Kernel

FB, PAGES, ROUNDS = 0x1F000000, 12, 40
READ, WRITE = 1, 2  # Unicorn's protection bits, as Cpu.mapped_regions gives them

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


# Sleep (the host writes the tracked pages meanwhile), store twice into page 0, sleep, exit.
AFTER_HOST = f"""
    mov  r0, #0x10000
    mov  r1, #0
    svc  #0x0a
    ldr  r0, ={FB:#x}
    ldr  r1, =0x11223344
    str  r1, [r0, #8]
    str  r1, [r0, #12]
    mov  r0, #0x10000
    mov  r1, #0
    svc  #0x0a
    mov  r0, #0
    svc  #3
"""


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem", "slowmem"])
def test_a_page_the_host_dirtied_stays_read_only_in_unicorn_until_guest_code_writes_it(backend):
    """A host write (the GX engine's DisplayTransfer) dirties a tracked page without opening it
    in Unicorn (pagemap: a mem_protect to open and one to re-arm, every frame, for no guest
    store); guest code's store then lands through the memory hook, which opens the page, and
    the counters are those of the other backends: one write-tracking fault, the host's."""
    kernel = Kernel(backend=backend, output=lambda p, line: None)
    code = bytes(Ks(KS_ARCH_ARM, KS_MODE_ARM).asm(AFTER_HOST, 0x00100000)[0])
    process = kernel.spawn(Image("tracked", 0x00100000, [Segment(0x00100000, code, 0x1000, MemoryPermission.RX)]))
    tracker = WriteTracker("fb")
    process.space.track_writes(FB, 2 << 12, tracker)
    fast = backend == "fastmem"

    def page0_prot() -> int:
        return next(prot for lo, _hi, prot in process.cpu.mapped_regions() if lo == FB)

    sleeps: list[int] = []
    seen_at: set[int] = set()  # a sleep is told each time the scheduler looks, once is enough

    def at_sleep() -> bool:
        at = process.cpu.instructions
        if process.alive and process.threads[0].state.name == "WAITING" and at not in seen_at:
            seen_at.add(at)
            sleeps.append(page0_prot() if fast else 0)
            if len(seen_at) == 1:
                process.space.mem.write(FB, np.arange(16, dtype=np.uint8))  # the host's write
                sleeps.append(page0_prot() if fast else 0)
        return not process.alive

    kernel.run(max_instructions=1_000_000, until=at_sleep)
    assert process.exit_code == 0, process.crash
    assert process.space.mem.read(FB, 16) == bytes(range(8)) + bytes.fromhex("4433221144332211")
    assert tracker.dirty_ranges(process.pid) == [(FB, 0x1000)]
    assert process.space.faults.page(FB)["write_track"] == 1  # the host's; the guest's store is not another
    if fast:
        before, after_host, after_guest = sleeps
        assert before == after_host == READ  # the host's write opened nothing
        assert after_guest == READ | WRITE  # the guest's store did
    kernel.close()


def test_a_framebuffer_page_written_every_frame_costs_one_unicorn_sync_and_no_host_call(monkeypatch):
    """Guest code's first store to a clean tracked page each frame (PROGRAM, re-armed between
    rounds): its map change waits for the hook's own sync of the page (one, not two), and the
    lazy slab, once the pages have been opened a first time, makes no mprotect to close them at
    the re-arm or open them at the next store (Slab.protect)."""
    from hlemu.cpu.cpu import Cpu
    from hlemu.memory.slab import Slab

    host_calls: list[int] = []
    syncs: list[int] = []
    real_mprotect, real_sync = Slab._mprotect, Cpu._sync_fastmem
    monkeypatch.setattr(Slab, "_mprotect", lambda self, vpn, count, prot: (host_calls.append(vpn),
                                                                           real_mprotect(self, vpn, count, prot)))

    def counted_sync(self, lo, hi, open_tracked=False):  # noqa: ANN001
        if FB >> 12 <= lo < (FB >> 12) + PAGES:
            syncs.append(lo)
        real_sync(self, lo, hi, open_tracked)

    monkeypatch.setattr(Cpu, "_sync_fastmem", counted_sync)
    kernel = Kernel(backend="fastmem", output=lambda p, line: None)
    code = bytes(Ks(KS_ARCH_ARM, KS_MODE_ARM).asm(PROGRAM, 0x00100000)[0])
    process = kernel.spawn(Image("tracked", 0x00100000, [Segment(0x00100000, code, 0x1000, MemoryPermission.RX)]))
    tracker = WriteTracker("fb")
    process.space.track_writes(FB, PAGES << 12, tracker)
    rounds: list[tuple[int, int]] = []  # (host calls, syncs) so far at each re-arm

    def rearm() -> bool:
        if process.alive and tracker.dirty.get(process.pid):
            tracker.rearm()
            rounds.append((len(host_calls), len(syncs)))
        return not process.alive

    kernel.run(max_instructions=10_000_000, until=rearm)
    assert process.exit_code == 0, process.crash
    assert len(rounds) == ROUNDS
    assert process.space.faults.page(FB)["write_track"] == ROUNDS  # every frame's first store still faulted
    fb_calls = [vpn for vpn in host_calls if FB >> 12 <= vpn < (FB >> 12) + PAGES]
    assert sorted(fb_calls) == list(range(FB >> 12, (FB >> 12) + PAGES))  # each page opened once, ever
    # per round after the first: each page's store syncs that page once, and the re-arm of the
    # whole run of pages is one sync (deferred to the next run)
    per_round = [b[1] - a[1] for a, b in zip(rounds, rounds[1:], strict=False)]
    assert per_round == [PAGES + 1] * (ROUNDS - 1)
    kernel.close()
