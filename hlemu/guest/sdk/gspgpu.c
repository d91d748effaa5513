/*
 * gspgpu.c - a minimal gsp::Gpu client (see gspgpu.h for the command layouts).
 *
 * Unlike libctru this starts no event thread: a program waits for VBlank itself
 * with gspWaitForVBlank0, which drains the interrupt queue in shared memory.
 */

#include "gspgpu.h"

#include "ipc.h"
#include "srv.h"

static Handle gsp_session;
static Handle gsp_event;
static Handle gsp_memblock;
static u8 gsp_thread_index;
static bool gsp_mapped;
static bool gsp_registered;
static bool gsp_has_right;

/* Exclusive load/store, as libctru's __ldrex/__strex: GSP writes the queue header
 * concurrently, so the header is updated with a load-linked/store-conditional pair. */
static inline u32 load_exclusive(volatile u32 *addr)
{
    u32 value;
    __asm__ __volatile__("ldrex %0, [%1]" : "=&r"(value) : "r"(addr) : "memory");
    return value;
}

/* 0 when the store happened, 1 when another write got in between. */
static inline u32 store_exclusive(volatile u32 *addr, u32 value)
{
    u32 failed;
    __asm__ __volatile__("strex %0, %2, [%1]" : "=&r"(failed) : "r"(addr), "r"(value) : "memory");
    return failed;
}

static inline void clear_exclusive(void)
{
    __asm__ __volatile__("clrex" ::: "memory");
}

static Result gsp_call(u32 *cmdbuf)
{
    Result res = svcSendSyncRequest(gsp_session);
    return R_FAILED(res) ? res : (Result)cmdbuf[1];
}

Result GSPGPU_SetBufferSwap(u32 screen, const GSPGPU_FramebufferInfo *info)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x5, 8, 0); /* 0x00050200 */
    cmdbuf[1] = screen;
    cmdbuf[2] = info->active_framebuf;
    cmdbuf[3] = (u32)info->framebuf0_vaddr;
    cmdbuf[4] = (u32)info->framebuf1_vaddr;
    cmdbuf[5] = info->framebuf_widthbytesize;
    cmdbuf[6] = info->format;
    cmdbuf[7] = info->framebuf_dispselect;
    cmdbuf[8] = info->unk;
    return gsp_call(cmdbuf);
}

Result GSPGPU_RegisterInterruptRelayQueue(Handle event, u32 flags, Handle *outMemHandle, u8 *threadIndex)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x13, 1, 2); /* 0x00130042 */
    cmdbuf[1] = flags;
    cmdbuf[2] = IPC_Desc_SharedHandles(1);
    cmdbuf[3] = event;
    Result res = gsp_call(cmdbuf);
    if (R_SUCCEEDED(res)) {
        *threadIndex = (u8)(cmdbuf[2] & 0xFF);
        *outMemHandle = cmdbuf[4];
    }
    return res;
}

Result GSPGPU_UnregisterInterruptRelayQueue(void)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x14, 0, 0); /* 0x00140000 */
    return gsp_call(cmdbuf);
}

Result GSPGPU_AcquireRight(u8 flags)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x16, 1, 2); /* 0x00160042 */
    cmdbuf[1] = flags;
    cmdbuf[2] = IPC_Desc_SharedHandles(1);
    cmdbuf[3] = CUR_PROCESS_HANDLE; /* the kernel gives GSP a real handle to this process */
    return gsp_call(cmdbuf);
}

Result GSPGPU_ReleaseRight(void)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0x17, 0, 0); /* 0x00170000 */
    return gsp_call(cmdbuf);
}

Result gspGpuInit(void)
{
    Result res = srvInit();
    if (R_FAILED(res))
        return res;
    res = srvGetServiceHandle(&gsp_session, "gsp::Gpu");
    if (R_SUCCEEDED(res)) {
        res = GSPGPU_AcquireRight(0);
        gsp_has_right = R_SUCCEEDED(res);
    }
    if (R_SUCCEEDED(res))
        res = svcCreateEvent(&gsp_event, RESET_ONESHOT);
    if (R_SUCCEEDED(res)) {
        /* flags 1, as libctru; 0x2A07 (first registration) is a success code. */
        res = GSPGPU_RegisterInterruptRelayQueue(gsp_event, 0x1, &gsp_memblock, &gsp_thread_index);
        gsp_registered = R_SUCCEEDED(res);
    }
    if (R_SUCCEEDED(res)) {
        /* GSP made this block, so the other permission is DONTCARE (libctru). */
        res = svcMapMemoryBlock(gsp_memblock, GSP_SHAREDMEM_ADDR, MEMPERM_READWRITE, MEMPERM_DONTCARE);
        gsp_mapped = R_SUCCEEDED(res);
    }
    if (R_FAILED(res))
        gspGpuExit();
    return res;
}

void gspGpuExit(void)
{
    if (gsp_mapped)
        svcUnmapMemoryBlock(gsp_memblock, GSP_SHAREDMEM_ADDR);
    if (gsp_registered)
        GSPGPU_UnregisterInterruptRelayQueue();
    if (gsp_has_right)
        GSPGPU_ReleaseRight();
    if (gsp_memblock != 0)
        svcCloseHandle(gsp_memblock);
    if (gsp_event != 0)
        svcCloseHandle(gsp_event);
    if (gsp_session != 0)
        svcCloseHandle(gsp_session);
    srvExit();
    gsp_mapped = gsp_registered = gsp_has_right = false;
    gsp_memblock = gsp_event = gsp_session = 0;
}

Handle gspGpuGetSessionHandle(void)
{
    return gsp_session;
}

Handle gspGpuGetInterruptEvent(void)
{
    return gsp_event;
}

u8 gspGpuGetThreadIndex(void)
{
    return gsp_thread_index;
}

volatile u8 *gspGpuGetSharedMemory(void)
{
    return (volatile u8 *)GSP_SHAREDMEM_ADDR;
}

/* The ring holds 0x34 entries after a 0xC-byte header (3dbrew "GSP Shared Memory"). */
#define GSP_QUEUE_ENTRIES 0x34
#define GSP_QUEUE_IDS_OFFSET 0xC

int gspPopInterrupt(void)
{
    volatile u8 *queue = gspGpuGetSharedMemory() + gsp_thread_index * 0x40;
    volatile u32 *header = (volatile u32 *)queue;
    for (;;) {
        u32 word = load_exclusive(header);
        u32 first = word & 0xFF;
        u32 count = (word >> 8) & 0xFF;
        if (count == 0) {
            clear_exclusive();
            return -1;
        }
        int id = queue[GSP_QUEUE_IDS_OFFSET + first % GSP_QUEUE_ENTRIES];
        first = (first + 1) % GSP_QUEUE_ENTRIES;
        count--;
        /* Byte 2 is the error (overflow) flag; cleared with the pop, as libctru does. */
        word = (word & 0xFF000000u) | (count << 8) | first;
        if (store_exclusive(header, word) == 0)
            return id;
    }
}

Result gspWaitForVBlank0(s64 timeout_ns)
{
    for (;;) {
        Result res = svcWaitSynchronization(gsp_event, timeout_ns);
        if (res != RESULT_SUCCESS)
            return res;
        bool any = false;
        bool vblank = false;
        for (int id = gspPopInterrupt(); id >= 0; id = gspPopInterrupt()) {
            any = true;
            vblank |= id == GSPGPU_EVENT_VBlank0;
        }
        if (vblank || !any)
            return RESULT_SUCCESS;
    }
}
