"""The 3DS process virtual layout (3dbrew "Memory layout")."""

from __future__ import annotations

CODE_BASE = 0x00100000
IMAGE_END = 0x04000000  # program images (code, rodata, data, bss) stay below this
HEAP_BASE = 0x08000000
HEAP_END = 0x10000000
STACK_TOP = 0x10000000  # the main thread's stack ends here
MAIN_STACK_SIZE = 0x10000
SHARED_BASE = 0x10000000  # memory blocks are mapped from here
SHARED_END = 0x14000000
LINEAR_BASE = 0x14000000  # linear heap: vaddr - LINEAR_BASE == phys - FCRAM base
LINEAR_END = 0x1C000000
VRAM_VADDR = 0x1F000000
CONFIG_MEMORY = 0x1FF80000
SHARED_PAGE = 0x1FF81000
TLS_BASE = 0x1FF82000
TLS_SIZE = 0x200  # per thread; the IPC command buffer is at TLS + 0x80
TLS_PER_PAGE = 0x1000 // TLS_SIZE
TLS_PAGES = 32  # up to 256 threads a process

SYSTEM_TICK_HZ = 268_111_856  # GetSystemTick frequency (the ARM11 clock)
CURRENT_THREAD = 0xFFFF8000  # pseudo-handles (libctru CUR_THREAD_HANDLE / CUR_PROCESS_HANDLE)
CURRENT_PROCESS = 0xFFFF8001


def ns_to_ticks(ns: int) -> int:
    return ns * SYSTEM_TICK_HZ // 1_000_000_000
