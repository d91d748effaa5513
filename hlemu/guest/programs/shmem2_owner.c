/*
 * shmem2_owner - share a memory block with another process over IPC.
 *
 * Makes an 8 KiB memory block over a page-aligned heap buffer (CreateMemoryBlock,
 * my and other permissions RW), maps it at 0x10000000, registers the service
 * "hlm:shm" (one session) and accepts shmem2_peer's session. Protocol:
 *
 *   0x0001 GetHandles  req IPC_MakeHeader(1, 0, 0)
 *                      rep IPC_MakeHeader(1, 1, 5): result,
 *                          SharedHandles(1), memory block,
 *                          SharedHandles(2), event "to peer", event "to owner"
 *
 * (handles are copied: both processes keep theirs). The two then take turns on the
 * block for 4 rounds: the owner writes round r's pattern through its 0x10000000 view
 * and signals "to peer"; the peer checks every word through its own mapping
 * (0x10200000), writes its answer (each word inverted, xor r) and signals "to owner";
 * the owner checks the answer through the original heap buffer. When the peer is done
 * it closes its session, which the owner sees as 0xC920181A from ReplyAndReceive.
 *
 * The owner writes round 1 and signals before it sends the GetHandles reply; its
 * ReplyAndReceive then waits on [session, "to owner"] (ReplyAndReceive waits on any
 * waitable object, as Luma3DS's sm does with a semaphore) and wakes on the event.
 *
 * Expected output:
 *   shmem2_owner: start
 *   create: 8192-byte block over a page-aligned heap buffer ok
 *   map: block at 0x10000000 ok
 *   srv: registered hlm:shm ok
 *   accept: the peer connected ok
 *   gethandles: sent the block and 2 events, then the peer answered ok
 *   round 1: peer's answer, 2048 words ok
 *   round 2: peer's answer, 2048 words ok
 *   round 3: peer's answer, 2048 words ok
 *   round 4: peer's answer, 2048 words ok
 *   close: the peer hung up ok
 *   shmem2_owner: 0 failures
 * Exit status: the number of failures.
 */

#include <malloc.h>
#include <stdio.h>

#include "check.h"
#include "hlemu.h"
#include "ipc.h"
#include "srv.h"

#define SERVICE_NAME "hlm:shm"
#define BLOCK_SIZE 0x2000u
#define BLOCK_WORDS (BLOCK_SIZE / 4)
#define OWNER_VIEW 0x10000000u
#define ROUNDS 4
#define ROUND_TIMEOUT_NS 5000000000LL /* 5 s of guest time: only a broken kernel waits that long */

#define NO_REPLY_HEADER 0xFFFF0000u

/* The owner's word i in round r, and the peer's answer to it (shmem2_peer.c has the same). */
static u32 pattern(u32 round, u32 index)
{
    return (round * 0x9E3779B9u) ^ (index * 0x01000193u) ^ 0x5A5A0000u;
}

static u32 answer(u32 round, u32 index)
{
    return ~pattern(round, index) ^ round;
}

static void write_pattern(volatile u32 *view, u32 round)
{
    for (u32 i = 0; i < BLOCK_WORDS; i++)
        view[i] = pattern(round, i);
}

static u32 count_answers(const volatile u32 *view, u32 round)
{
    u32 count = 0;
    for (u32 i = 0; i < BLOCK_WORDS; i++)
        count += view[i] == answer(round, i);
    return count;
}

typedef struct {
    u32 *buffer;
    Handle block, port, session, to_peer, to_owner;
} Owner;

/* Wait on the port until the peer connects, then accept its session. */
static bool accept_peer(Owner *owner)
{
    s32 index = -1;
    getThreadCommandBuffer()[0] = NO_REPLY_HEADER;
    Result res = svcReplyAndReceive(&index, &owner->port, 1, 0);
    if (res == RESULT_SUCCESS && index == 0)
        res = svcAcceptSession(&owner->session, owner->port);
    bool ok = res == RESULT_SUCCESS && index == 0 && owner->session != 0;
    check(ok, "accept: the peer connected");
    return ok;
}

/* Receive GetHandles, write round 1, signal, reply; wake when the peer has answered round 1. */
static bool hand_over(Owner *owner)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    s32 index = -1;
    cmdbuf[0] = NO_REPLY_HEADER;
    Result res = svcReplyAndReceive(&index, &owner->session, 1, 0);
    if (res != RESULT_SUCCESS || index != 0 || cmdbuf[0] != IPC_MakeHeader(0x1, 0, 0)) {
        check(false, "gethandles: request 0x%08lx, result 0x%08lx", (unsigned long)cmdbuf[0], (unsigned long)res);
        return false;
    }
    write_pattern((volatile u32 *)OWNER_VIEW, 1);
    svcSignalEvent(owner->to_peer);

    cmdbuf[0] = IPC_MakeHeader(0x1, 1, 5);
    cmdbuf[1] = RESULT_SUCCESS;
    cmdbuf[2] = IPC_Desc_SharedHandles(1);
    cmdbuf[3] = owner->block;
    cmdbuf[4] = IPC_Desc_SharedHandles(2);
    cmdbuf[5] = owner->to_peer;
    cmdbuf[6] = owner->to_owner;
    Handle waits[2] = {owner->session, owner->to_owner};
    index = -1;
    res = svcReplyAndReceive(&index, waits, 2, owner->session);
    bool ok = res == RESULT_SUCCESS && index == 1;
    check(ok, "gethandles: sent the block and 2 events, then the peer answered");
    return ok;
}

/* Round r's answer is in the block: check it through the heap buffer, start the next round. */
static bool run_rounds(Owner *owner)
{
    for (u32 round = 1; round <= ROUNDS; round++) {
        if (round > 1) {
            write_pattern((volatile u32 *)OWNER_VIEW, round);
            svcSignalEvent(owner->to_peer);
            Result res = svcWaitSynchronization(owner->to_owner, ROUND_TIMEOUT_NS);
            if (res != RESULT_SUCCESS) {
                check(false, "round %lu: no answer (0x%08lx)", (unsigned long)round, (unsigned long)res);
                return false;
            }
        }
        u32 seen = count_answers(owner->buffer, round);
        check(seen == BLOCK_WORDS, "round %lu: peer's answer, %lu words", (unsigned long)round, (unsigned long)seen);
    }
    return true;
}

/* The peer closes its session when done: ReplyAndReceive reports it with index 0. */
static void wait_hang_up(Owner *owner)
{
    s32 index = -1;
    getThreadCommandBuffer()[0] = NO_REPLY_HEADER;
    Result res = svcReplyAndReceive(&index, &owner->session, 1, 0);
    check(res == RESULT_SESSION_CLOSED && index == 0, "close: the peer hung up");
}

static bool setup(Owner *owner)
{
    owner->buffer = memalign(HLEMU_PAGE_SIZE, BLOCK_SIZE);
    if (owner->buffer == NULL) {
        check(false, "memalign");
        return false;
    }
    Result res = svcCreateMemoryBlock(&owner->block, (u32)owner->buffer, BLOCK_SIZE, MEMPERM_READWRITE,
                                      MEMPERM_READWRITE);
    check(R_SUCCEEDED(res), "create: %u-byte block over a page-aligned heap buffer", BLOCK_SIZE);
    if (R_FAILED(res))
        return false;
    res = svcMapMemoryBlock(owner->block, OWNER_VIEW, MEMPERM_READWRITE, MEMPERM_READWRITE);
    check(R_SUCCEEDED(res), "map: block at 0x%08x", OWNER_VIEW);
    if (R_FAILED(res))
        return false;
    if (R_FAILED(svcCreateEvent(&owner->to_peer, RESET_ONESHOT)) ||
        R_FAILED(svcCreateEvent(&owner->to_owner, RESET_ONESHOT))) {
        check(false, "events");
        return false;
    }
    res = srvInit();
    if (R_SUCCEEDED(res))
        res = srvRegisterService(&owner->port, SERVICE_NAME, 1);
    check(R_SUCCEEDED(res), "srv: registered %s", SERVICE_NAME);
    return R_SUCCEEDED(res);
}

static void teardown(Owner *owner)
{
    Handle handles[] = {owner->session, owner->port, owner->to_peer, owner->to_owner};
    for (unsigned i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
        if (handles[i] != 0)
            svcCloseHandle(handles[i]);
    }
    if (owner->port != 0)
        srvUnregisterService(SERVICE_NAME);
    srvExit();
    if (owner->block != 0) {
        svcUnmapMemoryBlock(owner->block, OWNER_VIEW);
        svcCloseHandle(owner->block);
    }
    free(owner->buffer);
}

int main(void)
{
    printf("shmem2_owner: start\n");
    Owner owner = {0};
    if (setup(&owner) && accept_peer(&owner) && hand_over(&owner) && run_rounds(&owner))
        wait_hang_up(&owner);
    teardown(&owner);
    printf("shmem2_owner: %d failures\n", check_failures);
    return check_failures;
}
