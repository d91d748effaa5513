/*
 * faults_ro - write to the program's own code; the kernel must stop the process.
 *
 * The loader maps .text read + execute only (the first PT_LOAD of every
 * SDK program, see sdk/link.ld), so a store into main's first word raises a
 * permission fault: hlemu's kernel reports a write fault at that address
 * and terminates the process. The line is printed, and flushed, first.
 *
 * Expected output, then a write fault at main's address in .text:
 *   writing to read-only .text
 * If the write ever succeeds, the program says so and exits with status 1.
 */

#include <stdio.h>

#include "hlemu.h"

int main(void)
{
    printf("writing to read-only .text\n");
    fflush(stdout);

    volatile u32 *code = (volatile u32 *)(u32)&main;
    *code = 0xE7F000F0u; /* an undefined instruction, were the write to land */

    printf("ERROR: write to .text did not fault\n");
    return 1;
}
