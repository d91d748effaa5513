/*
 * faults - read from an unmapped address; the kernel must stop the process.
 *
 * Address 0x00000004 lies below the code region (0x00100000), which nothing
 * maps on the 3DS (3dbrew "Memory layout"), so the load raises a data abort.
 * hlemu's kernel turns it into a guest fault (process, address, access
 * kind = read) and terminates the process; the line below is printed, and
 * flushed, first so a test can see how far the program got.
 *
 * Expected output, then a read fault at 0x00000004:
 *   reading unmapped
 * If the read ever returns, the program says so and exits with status 1.
 */

#include <stdio.h>

#include "hlemu.h"

#define UNMAPPED_ADDRESS 0x00000004u

int main(void)
{
    printf("reading unmapped\n");
    fflush(stdout);

    /* Pass the address through an empty asm so gcc cannot see the constant:
     * it would otherwise reject the access as a null-pointer dereference. */
    u32 address = UNMAPPED_ADDRESS;
    __asm__("" : "+r"(address));
    u32 value = *(volatile const u32 *)address;

    printf("ERROR: read of 0x%08x returned 0x%08lx instead of faulting\n", UNMAPPED_ADDRESS,
           (unsigned long)value);
    return 1;
}
