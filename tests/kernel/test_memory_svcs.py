"""ControlMemory, QueryMemory and memory blocks (docs/abi.md "Memory"; Citra svc.cpp ControlMemory).

Registers: ControlMemory r0 = op, r1 = addr0, r2 = addr1, r3 = size, r4 = perm
-> r0, r1 = address; QueryMemory r2 = addr -> r0, r1 base, r2 size, r3 perm,
r4 state, r5 page flags.
"""

from __future__ import annotations

import pytest

from tests.kernel.asm import (
    APP_CANNOT_ALLOCATE,
    BACKENDS,
    HEAP,
    INVALID_ADDRESS,
    INVALID_ADDRESS_STATE,
    INVALID_COMBINATION,
    INVALID_HANDLE,
    MISALIGNED_ADDRESS,
    MISALIGNED_SIZE,
    OUT_OF_HEAP_MEMORY,
    SUCCESS,
    WRONG_PERMISSION,
    save,
)

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

FREE, COMMIT, PROTECT, LINEAR = 1, 3, 6, 0x10000
R, W, X, RW = 1, 2, 4, 3
DONTCARE = 0x10000000
ST_FREE, ST_CODE, ST_PRIVATE, ST_SHARED, ST_CONTINUOUS, ST_LOCKED = 0, 4, 5, 6, 7, 11


def control(op: int, addr0: int, size: int, perm: int, addr1: int = 0) -> str:
    """ControlMemory(op, addr0, addr1, size, perm) -> r0 result, r1 address."""
    return (f"ldr r0, ={op:#x}\nldr r1, ={addr0:#x}\nldr r2, ={addr1:#x}\nldr r3, ={size:#x}\n"
            f"ldr r4, ={perm:#x}\nsvc 0x01   @ ControlMemory\n")


def query(addr: int) -> str:
    """QueryMemory(addr) -> r0, r1 base, r2 size, r3 perm, r4 state, r5 flags."""
    return f"ldr r2, ={addr:#x}\nsvc 0x02   @ QueryMemory\n"


QUERY_REGS = ("r0", "r1", "r2", "r3", "r4", "r5")


def test_commit_heap_write_read_and_free(guest):
    process = guest.run_one(
        control(COMMIT, HEAP, 0x2000, RW) + save(0, "r0", "r1")
        + "ldr r1, =0x08001ffc\nldr r0, =0xCAFEF00D\nstr r0, [r1]\n"  # the new page is writable
        + query(HEAP + 0x1000) + save(2, *QUERY_REGS)
        + control(FREE, HEAP, 0x1000, 0) + save(8, "r0", "r1")
        + query(HEAP) + save(10, *QUERY_REGS)
        + query(HEAP + 0x1000) + save(16, *QUERY_REGS)
    )
    w = guest.words(process, 22)
    assert w[0:2] == [SUCCESS, HEAP]
    assert w[2:8] == [SUCCESS, HEAP, 0x2000, RW, ST_PRIVATE, 0]
    assert w[8:10] == [SUCCESS, HEAP]
    assert w[10] == SUCCESS and w[13:15] == [0, ST_FREE] and w[11] <= HEAP < w[11] + w[12]
    assert w[16:22] == [SUCCESS, HEAP + 0x1000, 0x1000, RW, ST_PRIVATE, 0]
    assert process.space.mem.read32(HEAP + 0x1FFC) == 0xCAFEF00D


def test_committed_heap_is_zeroed(guest):
    first = guest.run_one(control(COMMIT, HEAP, 0x1000, RW) + "ldr r1, =0x08000000\nmvn r0, #0\nstr r0, [r1]\n"
                          + control(FREE, HEAP, 0x1000, 0) + control(COMMIT, HEAP, 0x1000, RW)
                          + "ldr r1, =0x08000000\nldr r0, [r1]\n" + save(0, "r0"))
    assert guest.words(first, 1) == [0]


def test_query_memory_merges_equal_neighbours_and_splits_on_protect(guest):
    process = guest.run_one(
        control(COMMIT, HEAP, 0x1000, RW) + control(COMMIT, HEAP + 0x1000, 0x1000, RW)
        + query(HEAP) + save(0, *QUERY_REGS)  # two commits, one region
        + control(PROTECT, HEAP + 0x1000, 0x1000, R) + save(6, "r0")
        + query(HEAP) + save(7, *QUERY_REGS)
        + query(HEAP + 0x1000) + save(13, *QUERY_REGS)
        + control(PROTECT, HEAP + 0x1000, 0x1000, RW)
        + query(HEAP + 0x1800) + save(19, *QUERY_REGS)  # merged again
    )
    w = guest.words(process, 25)
    assert w[0:6] == [SUCCESS, HEAP, 0x2000, RW, ST_PRIVATE, 0]
    assert w[6] == SUCCESS
    assert w[7:13] == [SUCCESS, HEAP, 0x1000, RW, ST_PRIVATE, 0]
    assert w[13:19] == [SUCCESS, HEAP + 0x1000, 0x1000, R, ST_PRIVATE, 0]
    assert w[19:25] == [SUCCESS, HEAP, 0x2000, RW, ST_PRIVATE, 0]


def test_protected_read_only_heap_faults_on_write(guest):
    process = guest.spawn(control(COMMIT, HEAP, 0x1000, RW) + control(PROTECT, HEAP, 0x1000, R)
                          + "ldr r1, =0x08000010\nldr r0, [r1]\nstr r0, [r1]\n")  # the store faults
    guest.run()
    assert process.crash is not None
    assert "data abort: write of 4 byte(s) at 0x08000010 (permission)" in process.crash


def test_query_memory_reports_the_image_stack_and_tls(guest):
    process = guest.run_one(
        query(0x00100000) + save(0, *QUERY_REGS)
        + query(0x00200000) + save(6, *QUERY_REGS)
        + "sub r2, sp, #4\nsvc 0x02\n" + save(12, *QUERY_REGS)  # the main stack
        + "mrc p15, 0, r2, c13, c0, 3\nsvc 0x02\n" + save(18, *QUERY_REGS)  # TLS
    )
    w = guest.words(process, 24)
    assert w[0:6] == [SUCCESS, 0x00100000, 0x4000, 5, ST_CODE, 0]  # R-X code
    assert w[6:12] == [SUCCESS, 0x00200000, 0x1000, RW, ST_PRIVATE, 0]
    assert w[12:16] == [SUCCESS, 0x10000000 - 0x10000, 0x10000, RW] and w[16] == ST_LOCKED
    assert w[18] == SUCCESS and w[19] == 0x1FF82000 and w[21:23] == [RW, ST_LOCKED]


def test_linear_commit_maps_physical_memory_at_a_constant_offset(guest):
    process = guest.run_one(
        control(COMMIT | LINEAR, 0, 0x3000, RW) + save(0, "r0", "r1")
        + "mov r10, r1\nldr r0, =0x12345678\nadd r12, r10, #0x1000\nstr r0, [r12, #0x10]\n"
        + "mov r2, r10\nsvc 0x02\n" + save(2, *QUERY_REGS)
        + "ldr r0, =0x1\nmov r1, r10\nmov r2, #0\nmov r3, #0x1000\nmov r4, #0\nsvc 0x01\n" + save(8, "r0", "r1")
        + "mov r2, r10\nsvc 0x02\n" + save(10, *QUERY_REGS)
        + "ldr r0, =0x6\nadd r1, r10, #0x2000\nmov r2, #0\nmov r3, #0x1000\nmov r4, #1\nsvc 0x01\n"  # PROTECT R
        + "add r2, r10, #0x2000\nsvc 0x02\n" + save(16, *QUERY_REGS)
    )
    w = guest.words(process, 22)
    linear = w[1]
    assert w[0] == SUCCESS and 0x14000000 <= linear < 0x1C000000 and linear % 0x1000 == 0
    assert w[2:8] == [SUCCESS, linear, 0x3000, RW, ST_CONTINUOUS, 0]
    assert w[8:10] == [SUCCESS, linear]  # LINEAR free of the first page
    assert w[13:15] == [0, ST_FREE]
    assert w[16:22] == [SUCCESS, linear + 0x2000, 0x1000, R, ST_CONTINUOUS, 0]
    # Virtual - 0x14000000 == physical - FCRAM base (0x20000000), page by page.
    for page in (linear + 0x1000, linear + 0x2000):
        assert process.space.translate(page) == page - 0x14000000 + 0x20000000
    assert process.space.translate(linear) is None  # the freed page
    phys = guest.kernel.memory.phys  # what the guest wrote is at that physical address
    address = process.space.translate(linear + 0x1010)
    offset = (phys.phys_to_frame(address & ~0xFFF) << 12) | (address & 0xFFF)
    assert int.from_bytes(bytes(phys.data[offset : offset + 4]), "little") == 0x12345678


def test_linear_allocations_are_physically_contiguous_and_distinct(guest):
    process = guest.run_one(
        control(COMMIT | LINEAR, 0, 0x2000, RW) + save(0, "r0", "r1")
        + control(COMMIT | LINEAR, 0, 0x4000, RW) + save(2, "r0", "r1")
    )
    w = guest.words(process, 4)
    assert w[0] == w[2] == SUCCESS
    a, b = w[1], w[3]
    assert a + 0x2000 <= b or b + 0x4000 <= a
    phys = [process.space.translate(b + i * 0x1000) for i in range(4)]
    assert phys == [phys[0] + i * 0x1000 for i in range(4)]


@pytest.mark.parametrize(("op", "addr0", "size", "perm", "expected"), [
    (COMMIT, HEAP, 0x1000, X, INVALID_COMBINATION),  # execute is never granted
    (COMMIT, HEAP, 0x1000, RW | X, INVALID_COMBINATION),
    (COMMIT, HEAP, 0x1000, DONTCARE, INVALID_COMBINATION),
    (COMMIT | LINEAR, 0, 0x1000, 5, INVALID_COMBINATION),
    (COMMIT, HEAP + 0x800, 0x1000, RW, MISALIGNED_ADDRESS),
    (COMMIT, HEAP, 0x800, RW, MISALIGNED_SIZE),
    (COMMIT, HEAP - 0x1000, 0x1000, RW, INVALID_ADDRESS),  # below the heap area
    (COMMIT, 0x0FFFF000, 0x2000, RW, INVALID_ADDRESS),  # runs past its end
    (COMMIT, 0x00100000, 0x1000, RW, INVALID_ADDRESS),  # the code
    (FREE, HEAP, 0x1000, 0, INVALID_ADDRESS_STATE),  # nothing committed there
    (FREE, HEAP + 4, 0x1000, 0, MISALIGNED_ADDRESS),
    (PROTECT, HEAP, 0x1000, RW, INVALID_ADDRESS_STATE),  # free pages cannot be protected
    (PROTECT, 0x00200000, 0x1000, X, INVALID_COMBINATION),
    (2, HEAP, 0x1000, RW, INVALID_COMBINATION),  # RESERVE is refused
    (7, HEAP, 0x1000, RW, INVALID_COMBINATION),  # no such operation
], ids=lambda v: f"{v:#x}")
def test_control_memory_errors(guest, op, addr0, size, perm, expected):
    process = guest.run_one(control(op, addr0, size, perm) + save(0, "r0"))
    assert guest.words(process, 1) == [expected]
    assert process.space.query(HEAP).state == ST_FREE  # nothing was committed


def test_commit_over_committed_heap_is_invalid_state(guest):
    process = guest.run_one(control(COMMIT, HEAP, 0x2000, RW) + control(COMMIT, HEAP + 0x1000, 0x1000, RW)
                            + save(0, "r0"))
    assert guest.words(process, 1) == [INVALID_ADDRESS_STATE]


def test_control_memory_free_outside_heap_and_linear_is_invalid_address(guest):
    """Citra: FREE of an address in neither the heap nor the linear area -> 0xE0E01BF5 (docs/abi.md "Memory")."""
    process = guest.run_one(control(FREE, 0x00200000, 0x1000, 0) + save(0, "r0"))
    assert guest.words(process, 1) == [INVALID_ADDRESS]
    assert process.space.query(0x00200000).state == ST_PRIVATE


def test_control_memory_checks_permission_before_the_operation(guest):
    """Citra checks perm (only R/W bits) before dispatching any operation, FREE included (docs/abi.md "Memory")."""
    process = guest.run_one(control(COMMIT, HEAP, 0x1000, RW) + control(FREE, HEAP, 0x1000, X) + save(0, "r0"))
    assert guest.words(process, 1) == [INVALID_COMBINATION]


def test_out_of_heap_memory(guest):
    # 63 MiB more than the 64 MiB APPLICATION region can give after the image.
    process = guest.run_one(control(COMMIT, HEAP, 0x04000000, RW) + save(0, "r0"))
    assert guest.words(process, 1) == [OUT_OF_HEAP_MEMORY]  # Citra errors.h ERR_OUT_OF_HEAP_MEMORY


# -- memory blocks -------------------------------------------------------------------------------
def create_block(addr: int, size: int, mine: int, other: int) -> str:
    """CreateMemoryBlock: r0 = other_perm, r1 = addr, r2 = size, r3 = my_perm -> r1 handle."""
    return (f"ldr r0, ={other:#x}\nldr r1, ={addr:#x}\nldr r2, ={size:#x}\nldr r3, ={mine:#x}\n"
            "svc 0x1E   @ CreateMemoryBlock\n")


def map_block(handle_reg: str, addr: int, mine: int, other: int) -> str:
    """MapMemoryBlock: r0 = handle, r1 = addr, r2 = my_perm, r3 = other_perm."""
    return (f"mov r0, {handle_reg}\nldr r1, ={addr:#x}\nldr r2, ={mine:#x}\nldr r3, ={other:#x}\n"
            "svc 0x1F   @ MapMemoryBlock\n")


def test_memory_block_from_heap_maps_the_same_memory(guest):
    process = guest.run_one(
        control(COMMIT, HEAP, 0x2000, RW)
        + create_block(HEAP, 0x2000, RW, R) + save(0, "r0", "r1") + "mov r10, r1\n"
        + query(HEAP) + save(2, *QUERY_REGS)  # the heap behind the block is LOCKED
        + map_block("r10", 0x10000000, RW, RW) + save(8, "r0")
        + query(0x10000000) + save(9, *QUERY_REGS)
        + "ldr r1, =0x10001008\nldr r0, =0xA5A5A5A5\nstr r0, [r1]\n"  # write through the mapping ...
        + "ldr r1, =0x08001008\nldr r0, [r1]\n" + save(15, "r0")  # ... read through the heap
        + "mov r0, r10\nldr r1, =0x10000000\nsvc 0x20   @ UnmapMemoryBlock\n" + save(16, "r0")
        + query(0x10000000) + save(17, *QUERY_REGS)
        + "mov r0, r10\nsvc 0x23   @ CloseHandle(block)\n" + save(23, "r0")
        + query(HEAP) + save(24, *QUERY_REGS)  # the heap is private RW again
    )
    w = guest.words(process, 30)
    assert w[0] == SUCCESS  # w[1], the handle, is the one MapMemoryBlock (w[8]) and CloseHandle (w[23]) took
    assert w[2:8] == [SUCCESS, HEAP, 0x2000, RW, ST_LOCKED, 0]
    assert w[8] == SUCCESS
    assert w[9:15] == [SUCCESS, 0x10000000, 0x2000, RW, ST_SHARED, 0]
    assert w[15] == 0xA5A5A5A5
    assert w[16] == SUCCESS and w[20] == ST_FREE
    assert w[23] == SUCCESS
    assert w[24:30] == [SUCCESS, HEAP, 0x2000, RW, ST_PRIVATE, 0]


@pytest.mark.parametrize(("mine", "other", "map_mine", "map_other", "expected"), [
    (R, RW, RW, RW, INVALID_COMBINATION),  # the creator asks more than its my_perm
    (R, RW, R, RW, SUCCESS),
    (RW, RW, 0, RW, INVALID_COMBINATION),  # my_perm 0 is refused
    (RW, RW, X, RW, INVALID_COMBINATION),
    (RW, R, RW, R, WRONG_PERMISSION),  # creator's RW is not within other_perm R
    (RW, RW, RW, DONTCARE, INVALID_COMBINATION),  # DONTCARE is for kernel-allocated blocks only
], ids=lambda v: f"{v:#x}")
def test_map_memory_block_permissions(guest, mine, other, map_mine, map_other, expected):
    process = guest.run_one(control(COMMIT, HEAP, 0x1000, RW) + create_block(HEAP, 0x1000, mine, other)
                            + save(0, "r0") + "mov r10, r1\n"
                            + map_block("r10", 0x10000000, map_mine, map_other) + save(1, "r0"))
    assert guest.words(process, 2) == [SUCCESS, expected]
    assert process.space.query(0x10000000).state == (ST_SHARED if expected == SUCCESS else ST_FREE)


def test_memory_block_argument_errors(guest):
    process = guest.run_one(
        control(COMMIT, HEAP, 0x2000, RW)
        + create_block(0, 0x1000, RW, RW) + save(0, "r0")  # address 0: only system processes
        + create_block(HEAP, 0x800, RW, RW) + save(1, "r0")  # size not page aligned
        + create_block(HEAP, 0x1000, RW | X, RW) + save(2, "r0")  # execute
        + create_block(0x0A000000, 0x1000, RW, RW) + save(3, "r0")  # not committed
        + create_block(HEAP, 0x1000, RW, RW) + save(4, "r0") + "mov r10, r1\n"
        + map_block("r10", 0x10000800, RW, RW) + save(5, "r0")  # misaligned target
        + map_block("r10", 0x00100000, RW, RW) + save(6, "r0")  # outside the mappable area
        + map_block("r10", 0x10000000, RW, RW) + save(7, "r0")
        + map_block("r10", 0x10000000, RW, RW) + save(8, "r0")  # already mapped there
        + "mov r0, r10\nldr r1, =0x10001000\nsvc 0x20\n" + save(9, "r0")  # unmap where it is not
        + "mov r0, r10\nldr r1, =0x10000800\nsvc 0x20\n" + save(10, "r0")  # unmap misaligned
    )
    assert guest.words(process, 11) == [
        APP_CANNOT_ALLOCATE, MISALIGNED_SIZE, INVALID_COMBINATION, INVALID_ADDRESS_STATE, SUCCESS,
        MISALIGNED_ADDRESS, INVALID_ADDRESS, SUCCESS, INVALID_ADDRESS_STATE, INVALID_ADDRESS_STATE,
        MISALIGNED_ADDRESS,
    ]


def test_a_process_block_is_not_placed_for_address_0(guest):
    """Address 0 places only a kernel-allocated block (the shared font's), at its linear-heap
    address (Azahar's SharedMemory::Map); a block made from a process's heap stays refused there."""
    process = guest.run_one(control(COMMIT, HEAP, 0x1000, RW) + create_block(HEAP, 0x1000, RW, RW)
                            + save(0, "r0") + "mov r10, r1\n"
                            + map_block("r10", 0, R, DONTCARE) + save(1, "r0")
                            + map_block("r10", 0, RW, RW) + save(2, "r0"))
    assert guest.words(process, 3) == [SUCCESS, INVALID_COMBINATION, INVALID_ADDRESS]


MAP, UNMAP = 4, 5
ST_ALIASED, ST_ALIAS = 8, 9


def test_control_memory_map_aliases_heap_and_unmap_undoes_it(guest):
    target = 0x0A000000
    process = guest.run_one(
        control(COMMIT, HEAP, 0x2000, RW)
        + control(MAP, target, 0x2000, RW, addr1=HEAP) + save(0, "r0", "r1")  # addr0 = target, addr1 = source
        + query(HEAP) + save(2, *QUERY_REGS)
        + query(target) + save(8, *QUERY_REGS)
        + f"ldr r1, ={target + 0x1004:#x}\nldr r0, =0x600DCAFE\nstr r0, [r1]\n"  # write through the alias
        + f"ldr r1, ={HEAP + 0x1004:#x}\nldr r0, [r1]\n" + save(14, "r0")  # read through the source
        + control(FREE, HEAP, 0x2000, 0) + save(15, "r0")  # an aliased source cannot be freed
        + control(UNMAP, target, 0x2000, RW, addr1=HEAP) + save(16, "r0")
        + query(target) + save(17, *QUERY_REGS)
        + query(HEAP) + save(23, *QUERY_REGS)
    )
    w = guest.words(process, 29)
    assert w[0] == SUCCESS
    assert w[2:8] == [SUCCESS, HEAP, 0x2000, RW, ST_ALIASED, 0]
    assert w[8:14] == [SUCCESS, target, 0x2000, RW, ST_ALIAS, 0]
    assert w[14] == 0x600DCAFE
    assert w[15] == INVALID_ADDRESS_STATE
    assert w[16] == SUCCESS
    assert w[20] == ST_FREE
    assert w[23:29] == [SUCCESS, HEAP, 0x2000, RW, ST_PRIVATE, 0]


def test_control_memory_map_source_must_be_heap(guest):
    """Citra: MAP's source must lie in the heap area 0x08000000-0x10000000, else 0xE0E01BF5 (docs/abi.md "Memory");
    the image's .data is private memory but not heap."""
    process = guest.run_one(control(MAP, 0x0A000000, 0x1000, RW, addr1=0x00200000) + save(0, "r0"))
    assert guest.words(process, 1) == [INVALID_ADDRESS]
    assert process.space.query(0x00200000).state == ST_PRIVATE


@pytest.mark.parametrize("what", ["freed heap", "unmapped block"])
def test_memory_taken_away_faults_at_once(guest, what):
    # Touch the page (so the CPU has a translation for it), take it away, touch it again.
    if what == "freed heap":
        body = (control(COMMIT, HEAP, 0x1000, RW) + "ldr r1, =0x08000040\nstr r1, [r1]\n"
                + control(FREE, HEAP, 0x1000, 0) + "ldr r1, =0x08000040\nldr r0, [r1]\n")
        address = 0x08000040
    else:
        body = (control(COMMIT, HEAP, 0x1000, RW) + create_block(HEAP, 0x1000, RW, RW) + "mov r10, r1\n"
                + map_block("r10", 0x10000000, RW, RW) + "ldr r1, =0x10000040\nstr r1, [r1]\n"
                + "mov r0, r10\nldr r1, =0x10000000\nsvc 0x20\n" + "ldr r1, =0x10000040\nldr r0, [r1]\n")
        address = 0x10000040
    process = guest.spawn(body + "mov r0, #1\nsvc 0x03\n")
    assert guest.run().reason == "all exited"
    assert process.crash is not None, "the access after the unmap did not fault"
    assert f"data abort: read of 4 byte(s) at {address:#010x} (unmapped)" in process.crash


def test_query_process_memory_answers_for_the_process_handle(guest):
    """QueryProcessMemory (SVC 0x7D): r2 = process handle, r3 = addr; the same answer as
    QueryMemory for the caller's own pseudo-handle, INVALID_HANDLE for a handle it lacks."""
    process = guest.run_one(
        "ldr r2, =0xFFFF8001\nldr r3, =0x00100000\nsvc 0x7D\n" + save(0, *QUERY_REGS)
        + "ldr r2, =0xFFFF8001\nsub r3, sp, #4\nsvc 0x7D\n" + save(6, *QUERY_REGS)
        + "ldr r2, =0x1234\nldr r3, =0x00100000\nsvc 0x7D\n" + save(12, "r0")
    )
    w = guest.words(process, 13)
    assert w[0:6] == [SUCCESS, 0x00100000, 0x4000, 5, ST_CODE, 0]
    assert w[6:10] == [SUCCESS, 0x10000000 - 0x10000, 0x10000, RW] and w[10] == ST_LOCKED
    assert w[12] == INVALID_HANDLE
