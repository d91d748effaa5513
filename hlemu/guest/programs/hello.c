/*
 * hello - the first program a new kernel should run.
 *
 * Needs only three SVCs: ControlMemory (the heap behind malloc and the
 * stdout buffer), OutputDebugString (printf, and one direct call) and
 * ExitProcess (exit status 7, so a test can tell "ran to the end" from
 * "exited early with 0").
 *
 * Expected output:
 *   Hello from hlemu!
 *   heap: 65536 bytes in the heap region
 *   checksum: 0x1c984dc5
 *   direct: svcOutputDebugString
 *   exiting with 7
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hlemu.h"

#define BUFFER_SIZE (64 * 1024)

/* FNV-1a, 32-bit: a checksum that any wrong byte changes. */
static u32 fnv1a(const u8 *data, size_t len)
{
    u32 hash = 0x811C9DC5u;
    for (size_t i = 0; i < len; i++) {
        hash ^= data[i];
        hash *= 0x01000193u;
    }
    return hash;
}

int main(void)
{
    printf("Hello from hlemu!\n");

    /* 64 KiB is more than newlib keeps in its first heap pages, so _sbrk
     * must commit fresh pages with svcControlMemory. */
    u8 *buffer = malloc(BUFFER_SIZE);
    if (buffer == NULL) {
        printf("malloc failed\n");
        return 1;
    }
    u32 where = (u32)buffer;
    int in_heap = where >= HLEMU_HEAP_BASE && where + BUFFER_SIZE <= HLEMU_MAIN_STACK_TOP;
    printf("heap: %d bytes %s\n", BUFFER_SIZE, in_heap ? "in the heap region" : "OUTSIDE the heap region");

    for (u32 i = 0; i < BUFFER_SIZE; i++)
        buffer[i] = (u8)(i * 7u + (i >> 8));
    printf("checksum: 0x%08lx\n", (unsigned long)fnv1a(buffer, BUFFER_SIZE));
    free(buffer);

    /* The same output path without newlib in between. printf's line above
     * was flushed at its newline (stdout is line-buffered), so the order holds. */
    static const char direct[] = "direct: svcOutputDebugString\n";
    svcOutputDebugString(direct, (s32)strlen(direct));

    printf("exiting with 7\n");
    return 7;
}
