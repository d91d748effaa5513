"""Resource-limit value lists at their edges and GetSystemInfo's regions: cases mutants of
kernel/svc/process.py (scripts/mutation.py) showed unpinned. The layout of a test program is
tests/kernel/asm.py's; the helpers are tests/kernel/test_info_svcs.py's."""

from __future__ import annotations

from kernel.objects.resource_limit import ResourceType
from tests.kernel.asm import DATA, DATA_SIZE, OUT_OF_RANGE, SUCCESS, save
from tests.kernel.test_info_svcs import system_info

VALUES = DATA + 0x100  # 10 s64 values: 0x50 bytes
GET_LIMIT = "ldr r1, =0xFFFF8001\nsvc 0x38   @ GetResourceLimit(CUR_PROCESS) -> r1\nmov r10, r1\n"


def limit_values(names: int, count: int) -> str:
    """GetResourceLimitLimitValues: r0 = values, r1 = limit (r10), r2 = names, r3 = count."""
    return f"ldr r0, ={VALUES:#x}\nmov r1, r10\nldr r2, ={names:#x}\nldr r3, ={count & 0xFFFFFFFF:#x}\nsvc 0x39\n"


def test_limit_values_for_no_names_and_for_every_name(make_guest):
    # The names array ends at the end of its page: exactly count names are read, no more.
    guest = make_guest("semifastmem")
    every = len(ResourceType)
    names = b"".join(int(kind).to_bytes(4, "little") for kind in ResourceType)
    at = DATA + DATA_SIZE - len(names)
    data = bytes(at - (DATA + 0x800)) + names
    process = guest.run_one(GET_LIMIT + limit_values(at, 0) + save(0, "r0")
                            + limit_values(at, every) + save(1, "r0")
                            + limit_values(at, every + 1) + save(2, "r0")
                            + limit_values(at, -1) + save(3, "r0"), data=data)
    assert guest.words(process, 4) == [SUCCESS, SUCCESS, OUT_OF_RANGE, OUT_OF_RANGE]
    values = [process.space.mem.read64(VALUES + 8 * i) for i in range(every)]
    # Citra resource_limit.cpp, APPLICATION: priority, commit, thread, event, mutex, semaphore, timer,
    # shared memory, address arbiter, CPU time
    assert values == [0x18, 0x4000000, 0x20, 0x20, 0x20, 8, 8, 0x10, 2, 0x1E]


def test_system_info_memory_of_each_region_and_zero_for_other_types(make_guest):
    # GetSystemInfo(0, region): 1 APPLICATION, 2 SYSTEM, 3 BASE (Azahar svc.cpp GetSystemInfo);
    # another type (2, the kernel's allocated pages) is 0 here.
    guest = make_guest("semifastmem")
    process = guest.run_one(system_info(0, 2) + save(0, "r0", "r1") + system_info(0, 3) + save(2, "r0", "r1")
                            + system_info(2, 0) + save(4, "r0", "r1", "r2"))
    phys = guest.kernel.memory.phys
    used = {name: phys.regions[name].size - (phys.free_frames(name) << 12) for name in ("SYSTEM", "BASE")}
    assert guest.words(process, 7) == [SUCCESS, used["SYSTEM"], SUCCESS, used["BASE"], SUCCESS, 0, 0]
