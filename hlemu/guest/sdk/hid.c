/*
 * hid.c - a minimal hid:USER client (see hid.h for the command and memory layout).
 */

#include "hid.h"

#include "ipc.h"
#include "srv.h"

#define HID_EVENTS 5

static Handle hid_session;
static Handle hid_memblock;
static Handle hid_events[HID_EVENTS];
static bool hid_mapped;

static u32 keys_old, keys_held, keys_down, keys_up;
static circlePosition circle;

Result HIDUSER_GetHandles(Handle *outMemHandle, Handle *eventpad0, Handle *eventpad1, Handle *eventaccel,
                          Handle *eventgyro, Handle *eventdebugpad)
{
    u32 *cmdbuf = getThreadCommandBuffer();
    cmdbuf[0] = IPC_MakeHeader(0xA, 0, 0); /* 0x000A0000 */
    Result res = svcSendSyncRequest(hid_session);
    if (R_FAILED(res))
        return res;
    res = (Result)cmdbuf[1];
    if (R_SUCCEEDED(res)) {
        *outMemHandle = cmdbuf[3];
        *eventpad0 = cmdbuf[4];
        *eventpad1 = cmdbuf[5];
        *eventaccel = cmdbuf[6];
        *eventgyro = cmdbuf[7];
        *eventdebugpad = cmdbuf[8];
    }
    return res;
}

Result hidInit(void)
{
    Result res = srvInit();
    if (R_FAILED(res))
        return res;
    res = srvGetServiceHandle(&hid_session, "hid:USER");
    if (R_SUCCEEDED(res))
        res = HIDUSER_GetHandles(&hid_memblock, &hid_events[0], &hid_events[1], &hid_events[2], &hid_events[3],
                                 &hid_events[4]);
    if (R_SUCCEEDED(res)) {
        res = svcMapMemoryBlock(hid_memblock, HID_SHAREDMEM_DEFAULT, MEMPERM_READ, MEMPERM_DONTCARE);
        hid_mapped = R_SUCCEEDED(res);
    }
    keys_old = keys_held = keys_down = keys_up = 0;
    circle = (circlePosition){0, 0};
    if (R_FAILED(res))
        hidExit();
    return res;
}

void hidExit(void)
{
    if (hid_mapped)
        svcUnmapMemoryBlock(hid_memblock, HID_SHAREDMEM_DEFAULT);
    for (int i = 0; i < HID_EVENTS; i++) {
        if (hid_events[i] != 0)
            svcCloseHandle(hid_events[i]);
        hid_events[i] = 0;
    }
    if (hid_memblock != 0)
        svcCloseHandle(hid_memblock);
    if (hid_session != 0)
        svcCloseHandle(hid_session);
    srvExit();
    hid_mapped = false;
    hid_memblock = hid_session = 0;
}

/* libctru's hidCheckSectionUpdateTime: entry 0 is only trusted once its tick moved. */
static bool pad_section_valid(const volatile u32 *pad, u32 newest)
{
    if (newest != 0)
        return true;
    s64 tick = (s64)((u64)pad[0] | ((u64)pad[1] << 32));
    s64 previous = (s64)((u64)pad[2] | ((u64)pad[3] << 32));
    return tick != previous && tick >= 0 && previous >= 0;
}

void hidScanInput(void)
{
    const volatile u32 *pad = (const volatile u32 *)HID_SHAREDMEM_DEFAULT;
    keys_old = keys_held;
    keys_held = 0;
    circle = (circlePosition){0, 0};

    u32 newest = pad[4];
    if (newest > 7)
        newest = 7;
    if (pad_section_valid(pad, newest)) {
        const volatile u32 *entry = &pad[10 + newest * 4]; /* +0x28 + 0x10 * index */
        keys_held = entry[0];
        u32 stick = entry[3];
        circle.dx = (s16)(stick & 0xFFFF);
        circle.dy = (s16)(stick >> 16);
    }
    keys_down = ~keys_old & keys_held;
    keys_up = keys_old & ~keys_held;
}

u32 hidKeysHeld(void)
{
    return keys_held;
}

u32 hidKeysDown(void)
{
    return keys_down;
}

u32 hidKeysUp(void)
{
    return keys_up;
}

void hidCircleRead(circlePosition *pos)
{
    *pos = circle;
}

Handle hidGetPadEvent(void)
{
    return hid_events[0];
}
