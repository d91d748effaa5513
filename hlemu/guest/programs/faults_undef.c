/*
 * faults_undef - execute an undefined instruction; the kernel must stop the process.
 *
 * 0xE7F000F0 is in the ARM encoding space that is permanently undefined on
 * every architecture version (ARMv7 names it UDF; ARMv6K has no mnemonic
 * for it, hence the raw word). The CPU takes the undefined-instruction
 * exception; hlemu's kernel reports it and terminates the process. The
 * line is printed, and flushed, first.
 *
 * Expected output, then an undefined-instruction fault:
 *   executing undefined instruction
 * If execution ever continues, the program says so and exits with status 1.
 */

#include <stdio.h>

#include "hlemu.h"

int main(void)
{
    printf("executing undefined instruction\n");
    fflush(stdout);

    __asm__ volatile(".inst 0xe7f000f0" ::: "memory");

    printf("ERROR: undefined instruction did not fault\n");
    return 1;
}
