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

/* ---- GX commands through the shared-memory queue ------------------------------------------ */

/* Interrupts popped while waiting for another one: bit i set when id i came and nobody has
 * waited for it yet. */
static u32 gsp_seen;

Result gspWaitForEvent(GSPGPU_Event id, s64 timeout_ns)
{
    u32 bit = 1u << id;
    for (;;) {
        for (int popped = gspPopInterrupt(); popped >= 0; popped = gspPopInterrupt())
            if (popped < GSPGPU_EVENT_MAX)
                gsp_seen |= 1u << popped;
        if (gsp_seen & bit) {
            gsp_seen &= ~bit;
            return RESULT_SUCCESS;
        }
        Result res = svcWaitSynchronization(gsp_event, timeout_ns);
        if (res != RESULT_SUCCESS)
            return res;
    }
}

Result GSPGPU_TriggerCmdReqQueue(void)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0xC, 0, 0); /* 0x000C0000 */
    return gsp_call(cmdbuf);
}

#define GX_QUEUE_OFFSET 0x800
#define GX_QUEUE_STRIDE 0x200
#define GX_QUEUE_SLOTS 15

Result gspSubmitGxCommand(const u32 gxCommand[8])
{
    volatile u32 *queue = (volatile u32 *)(gspGpuGetSharedMemory() + GX_QUEUE_OFFSET
                                           + gsp_thread_index * GX_QUEUE_STRIDE);
    u32 header = load_exclusive(queue);
    u32 first = header & 0xFF;
    u32 count = (header >> 8) & 0xFF;
    if (count >= GX_QUEUE_SLOTS) {
        clear_exclusive();
        return -2; /* libctru's answer for a full queue */
    }
    /* The slot after the last queued command; GSP only reads slots it has been told about. */
    volatile u32 *slot = queue + 8 * (1 + (first + count) % GX_QUEUE_SLOTS);
    for (int i = 0; i < 8; i++)
        slot[i] = gxCommand[i];
    __asm__ __volatile__("mcr p15, 0, %0, c7, c10, 4" ::"r"(0) : "memory"); /* dsb: command before count */
    /* Raise the count by one; if GSP took a command meanwhile, start again from its header. */
    while (store_exclusive(queue, (header & 0xFFFF00FFu) | ((count + 1) << 8)) != 0) {
        header = load_exclusive(queue);
        count = (header >> 8) & 0xFF;
    }
    return count + 1 == 1 ? GSPGPU_TriggerCmdReqQueue() : RESULT_SUCCESS;
}

Result GX_RequestDma(u32 *src, u32 *dst, u32 length)
{
    u32 cmd[8] = {0x01000100 | 0x00, (u32)src, (u32)dst, length, 0, 0, 0, 0};
    return gspSubmitGxCommand(cmd);
}

Result GX_ProcessCommandList(u32 *buf0a, u32 buf0s, u8 flags)
{
    /* word 3 bit 0: update gas results; word 7: flush the buffer from the data cache first */
    u32 cmd[8] = {0x01000100 | 0x01, (u32)buf0a, buf0s, flags & 1u, 0, 0, 0, (flags >> 1) & 1u};
    return gspSubmitGxCommand(cmd);
}

Result GX_MemoryFill(u32 *buf0a, u32 buf0v, u32 *buf0e, u16 control0, u32 *buf1a, u32 buf1v, u32 *buf1e,
                     u16 control1)
{
    u32 cmd[8] = {0x01000100 | 0x02, (u32)buf0a, buf0v, (u32)buf0e, (u32)buf1a, buf1v, (u32)buf1e,
                  (u32)control0 | ((u32)control1 << 16)};
    return gspSubmitGxCommand(cmd);
}

Result GX_DisplayTransfer(u32 *inadr, u32 indim, u32 *outadr, u32 outdim, u32 flags)
{
    u32 cmd[8] = {0x01000100 | 0x03, (u32)inadr, (u32)outadr, indim, outdim, flags, 0, 0};
    return gspSubmitGxCommand(cmd);
}

Result GX_TextureCopy(u32 *inadr, u32 indim, u32 *outadr, u32 outdim, u32 size, u32 flags)
{
    u32 cmd[8] = {0x01000100 | 0x04, (u32)inadr, (u32)outadr, size, indim, outdim, flags, 0};
    return gspSubmitGxCommand(cmd);
}

Result GX_FlushCacheRegions(u32 *buf0a, u32 buf0s, u32 *buf1a, u32 buf1s, u32 *buf2a, u32 buf2s)
{
    u32 cmd[8] = {0x00000100 | 0x05, (u32)buf0a, buf0s, (u32)buf1a, buf1s, (u32)buf2a, buf2s, 0};
    return gspSubmitGxCommand(cmd);
}
