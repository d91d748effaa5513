/*
 * shmem - one shared memory block seen through several addresses.
 *
 * A 3DS application makes a memory block from memory it already owns:
 * 3dbrew's "SVC" page lists error 0xD92007EA for svcCreateMemoryBlock with
 * addr = 0 from an application, and libctru's users (mic, ir:user) pass a
 * page-aligned heap buffer from memalign, then keep using that buffer.
 * This program does the same, then maps the block twice into its own
 * shared-memory area (0x10000000 and 0x10100000) and checks that all three
 * addresses are one memory: a write through any of them is read back
 * through the others. Unmapping one view leaves the other (and the
 * original buffer) working.
 *
 * Expected output:
 *   shmem: start
 *   create: 8192-byte block over a page-aligned heap buffer ok
 *   map: view A at 0x10000000 ok
 *   map: view B at 0x10100000 ok
 *   map: misaligned address rejected ok
 *   query: view A is 0x2000 bytes, state 6 (shared), perm 3 (rw) ok
 *   write A, read B and buffer: 2048 words match ok
 *   write B, read A and buffer: 2048 words match ok
 *   write buffer, read A and B: 2048 words match ok
 *   unmap: view A gone, query says state 0 (free) ok
 *   after unmap: write B, read buffer: 2048 words match ok
 *   shmem: 0 failures
 */

#include <malloc.h>
#include <stdio.h>

#include "check.h"
#include "hlemu.h"

#define BLOCK_SIZE 0x2000u
#define BLOCK_WORDS (BLOCK_SIZE / 4)
#define VIEW_A 0x10000000u
#define VIEW_B 0x10100000u

/* A different word at every offset and for every round. */
static u32 pattern(u32 round, u32 index)
{
    return (round * 0x9E3779B9u) ^ (index * 0x01000193u) ^ 0xA5A5A5A5u;
}

static void fill(volatile u32 *view, u32 round)
{
    for (u32 i = 0; i < BLOCK_WORDS; i++)
        view[i] = pattern(round, i);
}

/* Number of words of `view` that hold this round's pattern. */
static u32 matching(const volatile u32 *view, u32 round)
{
    u32 count = 0;
    for (u32 i = 0; i < BLOCK_WORDS; i++)
        count += view[i] == pattern(round, i);
    return count;
}

static u32 min_u32(u32 a, u32 b)
{
    return a < b ? a : b;
}

int main(void)
{
    printf("shmem: start\n");

    u32 *buffer = memalign(HLEMU_PAGE_SIZE, BLOCK_SIZE);
    if (buffer == NULL) {
        printf("memalign failed\n");
        return 1;
    }
    volatile u32 *owner = buffer;
    volatile u32 *view_a = (volatile u32 *)VIEW_A;
    volatile u32 *view_b = (volatile u32 *)VIEW_B;
    fill(owner, 0);

    Handle block = 0;
    Result res = svcCreateMemoryBlock(&block, (u32)buffer, BLOCK_SIZE, MEMPERM_READWRITE, MEMPERM_READWRITE);
    check(R_SUCCEEDED(res), "create: %u-byte block over a page-aligned heap buffer", BLOCK_SIZE);
    if (R_FAILED(res))
        return check_failures;

    /* other_perm must be explicit for a heap-backed block: DONTCARE is only for
       kernel-allocated ones (Citra returns 0xE0E01BEE otherwise). */
    res = svcMapMemoryBlock(block, VIEW_A, MEMPERM_READWRITE, MEMPERM_READWRITE);
    check(R_SUCCEEDED(res), "map: view A at 0x%08x", VIEW_A);
    bool mapped_a = R_SUCCEEDED(res);
    res = svcMapMemoryBlock(block, VIEW_B, MEMPERM_READWRITE, MEMPERM_READWRITE);
    check(R_SUCCEEDED(res), "map: view B at 0x%08x", VIEW_B);
    if (!mapped_a || R_FAILED(res))
        return check_failures;

    res = svcMapMemoryBlock(block, VIEW_B + 0x100010u, MEMPERM_READWRITE, MEMPERM_READWRITE);
    check(R_FAILED(res), "map: misaligned address rejected");

    MemInfo info = {0};
    PageInfo page = {0};
    res = svcQueryMemory(&info, &page, VIEW_A);
    check(R_SUCCEEDED(res) && info.base_addr == VIEW_A && info.size == BLOCK_SIZE &&
              info.state == MEMSTATE_SHARED && info.perm == MEMPERM_READWRITE,
          "query: view A is 0x%lx bytes, state %lu (shared), perm %lu (rw)", (unsigned long)info.size,
          (unsigned long)info.state, (unsigned long)info.perm);

    /* Each round writes a fresh pattern through one address and reads it
     * back through the other two; the count printed is the worse of the two. */
    fill(view_a, 1);
    u32 seen = min_u32(matching(view_b, 1), matching(owner, 1));
    check(seen == BLOCK_WORDS, "write A, read B and buffer: %lu words match", (unsigned long)seen);

    fill(view_b, 2);
    seen = min_u32(matching(view_a, 2), matching(owner, 2));
    check(seen == BLOCK_WORDS, "write B, read A and buffer: %lu words match", (unsigned long)seen);

    fill(owner, 3);
    seen = min_u32(matching(view_a, 3), matching(view_b, 3));
    check(seen == BLOCK_WORDS, "write buffer, read A and B: %lu words match", (unsigned long)seen);

    res = svcUnmapMemoryBlock(block, VIEW_A);
    Result query = svcQueryMemory(&info, &page, VIEW_A);
    check(R_SUCCEEDED(res) && R_SUCCEEDED(query) && info.state == MEMSTATE_FREE,
          "unmap: view A gone, query says state %lu (free)", (unsigned long)info.state);

    fill(view_b, 4);
    seen = matching(owner, 4);
    check(seen == BLOCK_WORDS, "after unmap: write B, read buffer: %lu words match", (unsigned long)seen);

    svcUnmapMemoryBlock(block, VIEW_B);
    svcCloseHandle(block);
    free(buffer);

    printf("shmem: %d failures\n", check_failures);
    return check_failures;
}
