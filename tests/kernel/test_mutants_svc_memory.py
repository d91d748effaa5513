"""ControlMemory and memory blocks at their edges: cases mutants of kernel/svc/memory.py
(scripts/mutation.py) showed unpinned. The layout of a test program is tests/kernel/asm.py's;
the helpers are tests/kernel/test_memory_svcs.py's."""

from __future__ import annotations

from kernel.objects.memory_block import MemoryBlock
from tests.kernel.asm import (
    HEAP,
    INVALID_ADDRESS,
    INVALID_ADDRESS_STATE,
    INVALID_COMBINATION,
    MISALIGNED_SIZE,
    SUCCESS,
    save,
)
from tests.kernel.test_memory_svcs import (
    COMMIT,
    FREE,
    LINEAR,
    MAP,
    PROTECT,
    QUERY_REGS,
    RW,
    ST_ALIAS,
    ST_ALIASED,
    ST_FREE,
    ST_PRIVATE,
    UNMAP,
    R,
    control,
    create_block,
    map_block,
    query,
)

OUT_OF_HANDLES = 0xD8600413
SHARED_END = 0x14000000
# Fill the handle table with duplicates of the process handle, then close the last one: one slot free.
ONE_FREE_HANDLE = ("fill:\nldr r1, =0xFFFF8001\nsvc 0x27   @ DuplicateHandle(current process)\n"
                   "cmp r0, #0\nmoveq r8, r1\nbeq fill\n"
                   "mov r0, r8\nsvc 0x23   @ CloseHandle(the last duplicate)\n")


def test_size_zero_is_refused_by_every_operation_and_maps_nothing(make_guest):
    # hlemu's choice (Azahar answers a FREE of 0 bytes with success): a size of 0 is MISALIGNED_SIZE,
    # for COMMIT (heap or linear: allocating no frames is not an allocation) as for FREE, PROTECT
    # and MAP; the process keeps running.
    guest = make_guest("semifastmem")
    process = guest.run_one(
        control(COMMIT, HEAP, 0, RW) + save(0, "r0")
        + control(COMMIT | LINEAR, 0, 0, RW) + save(1, "r0")
        + control(COMMIT, HEAP, 0x1000, RW)
        + control(FREE, HEAP, 0, 0) + save(2, "r0")
        + control(PROTECT, HEAP, 0, R) + save(3, "r0")
        + control(MAP, 0x0A000000, 0, RW, addr1=HEAP) + save(4, "r0")
        + query(HEAP) + save(5, *QUERY_REGS)
    )
    assert guest.words(process, 11) == [MISALIGNED_SIZE] * 5 + [SUCCESS, HEAP, 0x1000, RW, ST_PRIVATE, 0]
    assert process.space.query(0x0A000000).state == ST_FREE


def test_a_linear_commit_is_contiguous_even_when_free_memory_is_fragmented(make_guest):
    # Free pages 1 and 3 of a 4-page heap commit: the lowest free frames are two apart, and a
    # 2-page linear allocation must not take them (its virtual - physical offset is constant).
    guest = make_guest("semifastmem")
    process = guest.run_one(
        control(COMMIT, HEAP, 0x4000, RW)
        + control(FREE, HEAP + 0x1000, 0x1000, 0) + control(FREE, HEAP + 0x3000, 0x1000, 0)
        + control(COMMIT | LINEAR, 0, 0x2000, RW) + save(0, "r0", "r1")
    )
    result, linear = guest.words(process, 2)
    assert result == SUCCESS
    for page in (linear, linear + 0x1000):
        assert process.space.translate(page) == page - 0x14000000 + 0x20000000


def test_an_alias_may_end_at_the_end_of_the_mappable_area_but_not_over_memory_in_use(make_guest):
    guest = make_guest("semifastmem")
    last = SHARED_END - 0x1000
    process = guest.run_one(
        control(COMMIT, HEAP, 0x2000, RW) + control(COMMIT, 0x0A000000, 0x1000, RW)
        + control(MAP, 0x0A000000, 0x1000, RW, addr1=HEAP) + save(0, "r0")  # over committed heap
        + control(MAP, last, 0x1000, RW, addr1=HEAP) + save(1, "r0")  # its last page
        + query(last) + save(2, *QUERY_REGS)
    )
    assert guest.words(process, 8) == [INVALID_ADDRESS_STATE, SUCCESS, SUCCESS, last, 0x1000, RW, ST_ALIAS, 0]
    assert process.space.query(0x0A000000).state == ST_PRIVATE


def test_unmap_needs_the_alias_and_its_source_not_either_twice(make_guest):
    # UNMAP(addr0 = alias, addr1 = source); the same pages as both (they map the same frames) are
    # refused, and the alias and its source stay as they were.
    guest = make_guest("semifastmem")
    alias = 0x0A000000
    process = guest.run_one(
        control(COMMIT, HEAP, 0x1000, RW) + control(MAP, alias, 0x1000, RW, addr1=HEAP)
        + control(UNMAP, HEAP, 0x1000, RW, addr1=HEAP) + save(0, "r0")
        + control(UNMAP, alias, 0x1000, RW, addr1=alias) + save(1, "r0")
    )
    assert guest.words(process, 2) == [INVALID_ADDRESS_STATE, INVALID_ADDRESS_STATE]
    assert process.space.query(HEAP).state == ST_ALIASED
    assert process.space.query(alias).state == ST_ALIAS


def test_create_memory_block_needs_rw_private_memory_in_range_of_some_size(make_guest):
    guest = make_guest("semifastmem")
    process = guest.run_one(
        control(COMMIT, HEAP, 0x2000, RW) + control(PROTECT, HEAP + 0x1000, 0x1000, R)
        + create_block(HEAP + 0x1000, 0x1000, R, R) + save(0, "r0")  # private but read-only
        + create_block(0x1F000000, 0x1000, RW, RW) + save(1, "r0")  # VRAM: past the shared area (Azahar)
        + create_block(HEAP, 0, RW, RW) + save(2, "r0")  # no memory at all
        + create_block(HEAP, 0x1000, RW, RW) + save(3, "r0")
    )
    assert guest.words(process, 4) == [INVALID_ADDRESS_STATE, INVALID_ADDRESS, INVALID_ADDRESS, SUCCESS]


def test_create_memory_block_takes_the_last_free_handle_slot(make_guest):
    guest = make_guest("semifastmem")
    process = guest.run_one(
        control(COMMIT, HEAP, 0x2000, RW) + ONE_FREE_HANDLE
        + create_block(HEAP, 0x1000, RW, RW) + save(0, "r0")
        + create_block(HEAP + 0x1000, 0x1000, RW, RW) + save(1, "r0")
    )
    assert guest.words(process, 2) == [SUCCESS, OUT_OF_HANDLES]
    assert process.space.query(HEAP + 0x1000).state == ST_PRIVATE  # the refused one locked nothing


def test_another_process_maps_a_block_within_its_other_permission(make_guest):
    # other_perm R: another process may map it R, not RW; other_perm DONTCARE lets it map RW.
    guest = make_guest("semifastmem")
    kernel = guest.kernel
    sleep = "ldr r0, =1000000\nmov r1, #0\nsvc 0x0A   @ SleepThread(1 ms)\n"
    creator = guest.spawn(control(COMMIT, HEAP, 0x2000, RW)
                          + create_block(HEAP, 0x1000, RW, R) + save(0, "r0", "r1")
                          + create_block(HEAP + 0x1000, 0x1000, RW, 0x10000000) + save(2, "r0", "r1")
                          + sleep * 5, name="creator")
    mapper = guest.spawn(sleep * 2  # the test hands it the blocks meanwhile (as IPC would)
                         + "ldr r9, [r11]\nldr r10, [r11, #4]\n"
                         + map_block("r9", 0x10000000, RW, RW) + save(2, "r0")
                         + map_block("r9", 0x10000000, R, RW) + save(3, "r0")
                         + map_block("r10", 0x10002000, RW, RW) + save(4, "r0"), name="mapper")
    assert kernel.run(until=lambda: guest.words(creator, 1, 3)[0] != 0).reason == "condition met"
    assert guest.words(creator, 1) + guest.words(creator, 1, 2) == [SUCCESS, SUCCESS]
    for i, index in enumerate((1, 3)):
        block = creator.handles.get(guest.words(creator, 1, index)[0], MemoryBlock)
        mapper.space.mem.write32(0x00200000 + 4 * i, kernel.add_handle(mapper, block))
    assert guest.run().reason == "all exited", guest.text()
    assert guest.words(mapper, 3, 2) == [INVALID_COMBINATION, SUCCESS, SUCCESS]


def test_a_block_mapped_twice_stays_mapped_by_the_process_until_both_are_unmapped(make_guest):
    # The process's mapped blocks are what its end lets go of: with one mapping left the block is
    # still one of them, and when the process is reaped the block's frames come back.
    guest = make_guest("semifastmem")
    unmap = "mov r0, r10\nldr r1, ={:#x}\nsvc 0x20   @ UnmapMemoryBlock\n"
    process = guest.spawn(
        control(COMMIT, HEAP, 0x1000, RW) + create_block(HEAP, 0x1000, RW, RW) + "mov r10, r1\n"
        + map_block("r10", 0x10000000, RW, RW) + map_block("r10", 0x10002000, RW, RW)
        + unmap.format(0x10000000) + save(0, "r0") + "mov r0, #1\n" + save(1, "r0")
        + "ldr r0, =1000000\nmov r1, #0\nsvc 0x0A   @ SleepThread(1 ms): the test looks meanwhile\n")
    kernel = guest.kernel
    assert kernel.run(until=lambda: guest.words(process, 1, 1) == [1]).reason == "condition met"
    assert guest.words(process, 1) == [SUCCESS]
    (block,) = process.mapped_blocks
    frames = block.frames.copy()
    assert list(block.mappings) == [(process.pid, 0x10002000)]
    assert guest.run().reason == "all exited"
    kernel.reap(process)
    assert kernel.memory.phys.is_free(frames).all()


def _kernel_block(guest, pages: int, contiguous: bool = True) -> MemoryBlock:
    """A block the kernel allocated, as APT's shared font is (no source address)."""
    from hlemu.memory import MemoryPermission

    k = guest.kernel
    if contiguous:
        frames = k.memory.phys.allocate("SYSTEM", pages, contiguous=True)
    else:  # every other frame of a run: not one linear range
        run = k.memory.phys.allocate("SYSTEM", 2 * pages, contiguous=True)
        frames, spare = run[::2].copy(), run[1::2].copy()
        k.memory.phys.collect(spare)
    block = MemoryBlock(k, frames, MemoryPermission.RW, MemoryPermission.R, owned=True, creator_pid=0,
                        name="test block")
    block.write(0, bytes(range(256)) * (pages * 16))
    return block


def test_a_kernel_block_mapped_at_address_0_lands_at_its_linear_address(make_guest):
    """MapMemoryBlock(handle, 0, ...) of a kernel-allocated block maps it where the linear heap's
    view shows its frames (Azahar SharedMemory::Map), as libctru's fontEnsureMapped expects; the
    same block at an address of the caller's choice goes there; a block whose frames are not one
    run has no such place (INVALID_ADDRESS)."""
    from hlemu.memory.physical import FCRAM_BASE
    from kernel import layout
    from tests.kernel.asm import DATA

    guest = make_guest("semifastmem")
    linear, scattered, placed = _kernel_block(guest, 2), _kernel_block(guest, 2, contiguous=False), \
        _kernel_block(guest, 1)
    body = "".join(f"ldr r10, ={DATA + 0x100 + 4 * i:#x}\nldr r10, [r10]\n" + mapping + save(i, "r0")
                   for i, mapping in enumerate([map_block("r10", 0, R, 0x10000000),
                                                map_block("r10", 0, R, 0x10000000),
                                                map_block("r10", 0x10000000, R, 0x10000000)]))
    process = guest.spawn(body)
    for i, block in enumerate((linear, scattered, placed)):
        process.space.poke(DATA + 0x100 + 4 * i, process.handles.add(block).to_bytes(4, "little"))
    assert guest.run().reason == "all exited" and process.crash is None, guest.text()
    assert guest.words(process, 3) == [SUCCESS, INVALID_ADDRESS, SUCCESS]
    at = layout.LINEAR_BASE + guest.kernel.memory.phys.frame_to_phys(int(linear.frames[0])) - FCRAM_BASE
    assert process.space.peek(at, 0x2000) == bytes(range(256)) * 32
    assert process.space.query(at).size == 0x2000 and process.space.query(at - 0x1000).state == ST_FREE
    assert process.space.peek(0x10000000, 0x1000) == bytes(range(256)) * 16
