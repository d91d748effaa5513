/*
 * compute - a CPU-bound workload for benchmarks: no SVCs in the hot loop.
 *
 * Each round refills a 64 KiB buffer (16 pages) from a linear congruential
 * generator, then runs a table-driven CRC-32 over it: a mix of loads,
 * stores, table lookups and arithmetic that crosses page boundaries, so it
 * exercises the memory fast path as well as the CPU. A byte sieve of
 * Eratosthenes at the end adds a store-heavy pass. With the default
 * ROUNDS the program executes roughly 70 million guest instructions
 * (measured under plain Unicorn; see hlemu/guest/README.md).
 *
 * Expected output:
 *   compute: 128 rounds over 65536 bytes
 *   crc32 of last round: 0xd7e3d884
 *   primes below 65536: 6542
 *   checksum: 0x56e6a094
 */

#include <stdio.h>

#include "hlemu.h"

#ifndef ROUNDS
#define ROUNDS 128
#endif
#define BUFFER_BYTES 65536u
#define BUFFER_WORDS (BUFFER_BYTES / 4)
#define SIEVE_LIMIT 65536u

static u32 buffer[BUFFER_WORDS];
static u32 crc_table[256];
static u8 composite[SIEVE_LIMIT];

/* The reflected CRC-32 polynomial (IEEE 802.3, as zlib uses). */
static void make_crc_table(void)
{
    for (u32 n = 0; n < 256; n++) {
        u32 c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static u32 crc32(const u8 *data, u32 len)
{
    u32 c = 0xFFFFFFFFu;
    for (u32 i = 0; i < len; i++)
        c = crc_table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* Numerical Recipes' LCG constants; the state carries over between rounds. */
static u32 lcg_fill(u32 state)
{
    for (u32 i = 0; i < BUFFER_WORDS; i++) {
        state = state * 1664525u + 1013904223u;
        buffer[i] = state ^ (state >> 16);
    }
    return state;
}

static u32 count_primes(void)
{
    u32 count = 0;
    for (u32 n = 2; n < SIEVE_LIMIT; n++) {
        if (composite[n])
            continue;
        count++;
        for (u32 m = n * n; m < SIEVE_LIMIT; m += n)
            composite[m] = 1;
    }
    return count;
}

int main(void)
{
    printf("compute: %d rounds over %u bytes\n", ROUNDS, BUFFER_BYTES);

    make_crc_table();
    u32 state = 12345;
    u32 checksum = 0;
    u32 crc = 0;
    for (int round = 0; round < ROUNDS; round++) {
        state = lcg_fill(state);
        crc = crc32((const u8 *)buffer, BUFFER_BYTES);
        checksum = (checksum << 5 | checksum >> 27) ^ crc;
    }
    u32 primes = count_primes();
    checksum ^= primes;

    printf("crc32 of last round: 0x%08lx\n", (unsigned long)crc);
    printf("primes below %u: %lu\n", SIEVE_LIMIT, (unsigned long)primes);
    printf("checksum: 0x%08lx\n", (unsigned long)checksum);
    return 0;
}
