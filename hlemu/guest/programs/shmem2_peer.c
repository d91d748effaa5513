/*
 * shmem2_peer - the other side of shmem2_owner: map a block another process made.
 *
 * Gets a session to "hlm:shm" (srvGetServiceHandle waits until shmem2_owner has
 * registered it, so either may start first), sends GetHandles (0x0001) and receives
 * the memory block and two events as copied handles. It maps the block at
 * 0x10200000, a different address from the owner's 0x10000000, with my and other
 * permissions RW (the block is heap-backed, so DONTCARE is not allowed: Citra's
 * SharedMemory::Map), and then, for 4 rounds, waits for "to peer", checks the
 * owner's pattern word by word, writes its answer and signals "to owner". Finally
 * it unmaps the block and closes every handle, the session last. The protocol is in
 * shmem2_owner.c and hlemu/guest/README.md.
 *
 * Expected output:
 *   shmem2_peer: start
 *   srv: got a session to hlm:shm ok
 *   gethandles: a memory block and 2 events ok
 *   map: block at 0x10200000 ok
 *   round 1: owner's pattern, 2048 words ok
 *   round 2: owner's pattern, 2048 words ok
 *   round 3: owner's pattern, 2048 words ok
 *   round 4: owner's pattern, 2048 words ok
 *   unmap: block gone from 0x10200000 ok
 *   shmem2_peer: 0 failures
 * Exit status: the number of failures.
 */

#include <stdio.h>

#include "check.h"
#include "hlemu.h"
#include "ipc.h"
#include "srv.h"

#define SERVICE_NAME "hlm:shm"
#define BLOCK_SIZE 0x2000u
#define BLOCK_WORDS (BLOCK_SIZE / 4)
#define PEER_VIEW 0x10200000u
#define ROUNDS 4
#define ROUND_TIMEOUT_NS 5000000000LL

/* Must match shmem2_owner.c. */
static u32 pattern(u32 round, u32 index)
{
    return (round * 0x9E3779B9u) ^ (index * 0x01000193u) ^ 0x5A5A0000u;
}

static u32 answer(u32 round, u32 index)
{
    return ~pattern(round, index) ^ round;
}

typedef struct {
    Handle session, block, to_peer, to_owner;
    bool mapped;
} Peer;

static bool get_handles(Peer *peer)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x1, 0, 0);
    Result res = svcSendSyncRequest(peer->session);
    bool ok = R_SUCCEEDED(res) && cmdbuf[0] == IPC_MakeHeader(0x1, 1, 5) && cmdbuf[1] == RESULT_SUCCESS &&
              cmdbuf[2] == IPC_Desc_SharedHandles(1) && cmdbuf[4] == IPC_Desc_SharedHandles(2);
    if (ok) {
        peer->block = cmdbuf[3];
        peer->to_peer = cmdbuf[5];
        peer->to_owner = cmdbuf[6];
        ok = peer->block != 0 && peer->to_peer != 0 && peer->to_owner != 0;
    }
    check(ok, "gethandles: a memory block and 2 events");
    return ok;
}

static bool map_block(Peer *peer)
{
    Result res = svcMapMemoryBlock(peer->block, PEER_VIEW, MEMPERM_READWRITE, MEMPERM_READWRITE);
    peer->mapped = R_SUCCEEDED(res);
    check(peer->mapped, "map: block at 0x%08x", PEER_VIEW);
    return peer->mapped;
}

static void run_rounds(Peer *peer)
{
    volatile u32 *view = (volatile u32 *)PEER_VIEW;
    for (u32 round = 1; round <= ROUNDS; round++) {
        Result res = svcWaitSynchronization(peer->to_peer, ROUND_TIMEOUT_NS);
        if (res != RESULT_SUCCESS) {
            check(false, "round %lu: no pattern (0x%08lx)", (unsigned long)round, (unsigned long)res);
            return;
        }
        u32 seen = 0;
        for (u32 i = 0; i < BLOCK_WORDS; i++)
            seen += view[i] == pattern(round, i);
        check(seen == BLOCK_WORDS, "round %lu: owner's pattern, %lu words", (unsigned long)round, (unsigned long)seen);
        for (u32 i = 0; i < BLOCK_WORDS; i++)
            view[i] = answer(round, i);
        svcSignalEvent(peer->to_owner);
    }
}

static void teardown(Peer *peer)
{
    if (peer->mapped) {
        Result res = svcUnmapMemoryBlock(peer->block, PEER_VIEW);
        MemInfo info = {0};
        PageInfo page = {0};
        Result query = svcQueryMemory(&info, &page, PEER_VIEW);
        check(R_SUCCEEDED(res) && R_SUCCEEDED(query) && info.state == MEMSTATE_FREE, "unmap: block gone from 0x%08x",
              PEER_VIEW);
    }
    Handle handles[] = {peer->block, peer->to_peer, peer->to_owner, peer->session};
    for (unsigned i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
        if (handles[i] != 0)
            svcCloseHandle(handles[i]);
    }
    srvExit();
}

int main(void)
{
    printf("shmem2_peer: start\n");
    Peer peer = {0};
    Result res = srvInit();
    if (R_SUCCEEDED(res))
        res = srvGetServiceHandle(&peer.session, SERVICE_NAME);
    check(R_SUCCEEDED(res) && peer.session != 0, "srv: got a session to %s", SERVICE_NAME);
    if (R_SUCCEEDED(res) && get_handles(&peer) && map_block(&peer))
        run_rounds(&peer);
    teardown(&peer);
    printf("shmem2_peer: %d failures\n", check_failures);
    return check_failures;
}
