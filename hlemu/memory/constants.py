"""Guest memory constants: page geometry and the 3DS memory enums.

MemoryState and MemoryPermission carry the values of the 3DS kernel, as
3dbrew ("SVC", "Memory Management") and libctru's ``svc.h`` document them,
so that QueryMemory can hand them to guest code unchanged.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT  # the ARM11 small page the 3DS kernel maps with
PAGE_MASK = PAGE_SIZE - 1
ADDRESS_SPACE_SIZE = 1 << 32
NUM_PAGES = ADDRESS_SPACE_SIZE >> PAGE_SHIFT  # 1,048,576 page-table entries


class MemoryState(IntEnum):
    """3DS ``MemoryState`` (libctru ``MemState``)."""

    FREE = 0
    RESERVED = 1
    IO = 2
    STATIC = 3
    CODE = 4
    PRIVATE = 5
    SHARED = 6
    CONTINUOUS = 7
    ALIASED = 8
    ALIAS = 9
    ALIAS_CODE = 10
    LOCKED = 11


class MemoryPermission(IntFlag):
    """3DS ``MemoryPermission`` (libctru ``MemPerm``); DONTCARE is 0x10000000."""

    NONE = 0
    R = 1
    W = 2
    X = 4
    RW = 3
    RX = 5
    RWX = 7


class SpecialKind(IntEnum):
    """Why a page must take the slow path.

    NONE pages are plain memory. MMIO pages have no backing; every access
    calls the page's handler. TRACKED pages are memory whose writes someone
    must see (GPU-synced framebuffers): the first write after each rearm is
    a write-tracking fault that marks the page dirty; later writes run fast.
    WATCH pages are memory with watchpoints: every access takes the slow
    path, which calls the watchpoints it touches (other pages pay nothing).
    """

    NONE = 0
    MMIO = 1
    TRACKED = 2
    WATCH = 3  # memory with watchpoints: every access goes through slowmem, which calls them


class FaultKind(IntEnum):
    """Rows of the per-page fault counters."""

    UNMAPPED = 0  # access to a FREE page
    PERMISSION = 1  # access the page's permission forbids
    SPECIAL = 2  # access served by a special page's handler (slowmem)
    WRITE_TRACK = 3  # first write to a clean write-tracked page
    TLB_FILL = 4  # translation filled for the CPU (counted by the CPU backend)


NUM_FAULT_KINDS = len(FaultKind)

# The same numbers as plain ints, for Python that tests them page by page (fault hooks, a few
# pages' map changes): on Python 3.11 looking up an enum member costs more than the test.
STATE_FREE = int(MemoryState.FREE)
PERM_R, PERM_W, PERM_X = int(MemoryPermission.R), int(MemoryPermission.W), int(MemoryPermission.X)
SPECIAL_NONE, SPECIAL_MMIO = int(SpecialKind.NONE), int(SpecialKind.MMIO)
SPECIAL_TRACKED, SPECIAL_WATCH = int(SpecialKind.TRACKED), int(SpecialKind.WATCH)
FAULT_WRITE_TRACK = int(FaultKind.WRITE_TRACK)

# Bits of the compiled paths' per-page entries. A page gets a bit only when
# that access may run with no Python at all.
FAST_READ = 1
FAST_WRITE = 2
FAST_EXEC = 4  # only in ``fast`` entries: the CPU's TLB fill may map the page executable
