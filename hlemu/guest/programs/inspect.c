/*
 * inspect - a program to look at from outside (hlemu.inspect, tests/inspect).
 *
 * It holds what a debugger's typed reads, heap walk and memory scanner must
 * understand, and prints the values a test compares them with:
 *   - globals of nested struct types: arrays of structs, a char array, a
 *     pointer to another struct, a pointer to a string, a 64-bit and a
 *     float member, a union and an enum;
 *   - five mallocs and two frees, each printed ("malloc N at 0x...",
 *     "free 0x..."), so a heap walk can be checked against them;
 *   - a counter that goes up by 3 each round, printed each round, with
 *     checkpoint() called after each print: a breakpoint there stops the
 *     program at a known value, inside walk(), whose locals are in frames.
 *
 * Expected output (the addresses are fixed by the layout):
 *   hero Ada hp 120 pos 10,-20 score 0x0000001cbe991a14
 *   item 0 sword 1 flags 3
 *   ...
 *   counter 3
 *   ...
 *   exiting with 0
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hlemu.h"

#define ROUNDS 40

enum mood { CALM = 1, ANGRY = 2, SLEEPY = 7 };

struct vec2 {
    int x;
    int y;
};

struct item {
    char name[12];
    unsigned short count;
    unsigned char flags;
};

union tag {
    unsigned int word;
    unsigned char bytes[4];
};

struct player {
    char name[16];
    struct vec2 pos;
    int hp;
    struct item inventory[3];
    struct player *rival;
    const char *motto;
    unsigned long long score;
    float speed;
    enum mood mood;
    union tag tag;
};

struct player hero = {
    .name = "Ada",
    .pos = {10, -20},
    .hp = 120,
    .inventory = {{"sword", 1, 3}, {"potion", 5, 1}, {"map", 1, 0}},
    .motto = "onwards",
    .score = 123456789012ull,
    .speed = 1.5f,
    .mood = CALM,
    .tag = {.word = 0x11223344u},
};

struct player villain = {
    .name = "Moriarty",
    .pos = {-7, 99},
    .hp = 666,
    .motto = "chaos",
    .mood = ANGRY,
};

int grid[3][4] = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};
volatile unsigned int counter;
void *blocks[5];

/* A breakpoint here stops the program right after "counter N" is printed. */
void __attribute__((noinline)) checkpoint(unsigned int value)
{
    __asm__ volatile("" : : "r"(value) : "memory");
}

/* Keeps a few locals alive across the call to checkpoint(), for frame-local reads. */
static unsigned int __attribute__((noinline)) walk(struct player *who, unsigned int rounds)
{
    unsigned int total = 0;
    for (unsigned int round = 1; round <= rounds; round++) {
        counter += 3;
        total += (unsigned int)who->hp;
        printf("counter %u\n", counter);
        checkpoint(counter);
    }
    return total;
}

static void show(const struct player *who)
{
    /* newlib nano's printf has no %llu: the score in two 32-bit halves */
    printf("%s %s hp %d pos %d,%d score 0x%08lx%08lx\n", who == &hero ? "hero" : "villain", who->name,
           who->hp, who->pos.x, who->pos.y, (unsigned long)(who->score >> 32), (unsigned long)who->score);
    for (int i = 0; i < 3; i++)
        if (who->inventory[i].name[0])
            printf("item %d %s %u flags %u\n", i, who->inventory[i].name, who->inventory[i].count,
                   who->inventory[i].flags);
}

int main(void)
{
    hero.rival = &villain;
    show(&hero);
    show(&villain);
    int sum = 0;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            sum += grid[r][c] * (r + 1);
    printf("grid %d\n", sum);

    static const unsigned int sizes[5] = {100, 200, 300, 40, 1000};
    for (int i = 0; i < 5; i++) {
        blocks[i] = malloc(sizes[i]);
        memset(blocks[i], 0x40 + i, sizes[i]);
        printf("malloc %u at 0x%08lx\n", sizes[i], (unsigned long)blocks[i]);
    }
    /* Free two blocks that are not neighbours, so the free list has two entries. */
    for (int i = 1; i < 5; i += 2) {
        printf("free 0x%08lx\n", (unsigned long)blocks[i]);
        free(blocks[i]);
    }

    unsigned int total = walk(&hero, ROUNDS);
    printf("total %u\n", total);
    printf("exiting with 0\n");
    return 0;
}
