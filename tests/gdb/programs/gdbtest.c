/*
 * gdbtest - a program for the GDB stub's tests: named functions, locals, globals that are
 * written and read at known lines, a second thread, a Thumb function and a few SVCs.
 *
 * Built with debug info by scripts/build_debug_guest.py (tests/gdb/conftest.py).
 * Expected output:
 *   gdbtest: start
 *   total = 55
 *   thumb: 42
 *   table: 55555555
 *   worker done
 *   gdbtest: end
 */

#include <stdio.h>

#include "hlemu.h"

volatile u32 counter;       /* written by bump(): the watchpoint's target */
volatile u32 seen;          /* read by peek_counter(): the read watchpoint's */
u32 table[4] = {0x11111111, 0x22222222, 0x33333333, 0x44444444};
static u32 worker_stack[256] __attribute__((aligned(8)));
static volatile u32 worker_done;

void bump(u32 by)
{
    counter = counter + by;
}

u32 peek_counter(void)
{
    u32 value = counter;
    seen = value;
    return value;
}

u32 sum_to(u32 n)
{
    u32 total = 0;
    for (u32 i = 1; i <= n; i++) {
        total += i;
    }
    return total;
}

/* Thumb code (gcc cannot build Thumb-1 with the hard-float ABI, so it is written out). */
u32 thumb_add(u32 a, u32 b);
__asm__(".section .text.thumb_add, \"ax\", %progbits\n"
        ".syntax unified\n.thumb\n.thumb_func\n.global thumb_add\n.type thumb_add, %function\n"
        "thumb_add:\n"
        "    movs r2, r0\n"
        "    adds r0, r2, r1\n"
        "    bx lr\n"
        ".size thumb_add, . - thumb_add\n.arm\n.text\n");

static void worker(void *arg)
{
    u32 n = (u32)arg;
    bump(n);
    worker_done = 1;
    svcExitThread();
}

int main(void)
{
    printf("gdbtest: start\n");
    u32 total = sum_to(10);
    printf("total = %lu\n", (unsigned long)total);
    bump(5);
    bump(7);
    peek_counter();
    printf("thumb: %lu\n", (unsigned long)thumb_add(40, 2));
    printf("table: %lx\n", (unsigned long)(table[0] ^ table[3]));
    Handle thread;
    svcCreateThread(&thread, worker, 3, worker_stack + 256, 0x31, 0);
    svcWaitSynchronization(thread, -1);
    svcCloseHandle(thread);
    printf("worker done\n");
    svcSleepThread(1000);
    printf("gdbtest: end\n");
    return 0;
}
