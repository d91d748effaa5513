/*
 * hid.h - a minimal client of the input service "hid:USER", after libctru's
 * <3ds/services/hid.h> and source/services/hid.c, with 3dbrew's "HID Services" and
 * "HID Shared Memory" pages.
 *
 * One command:
 *
 *   GetIPCHandles  0x000A0000  -> [1]=result, [2]=0x14000000 (copy 6 handles),
 *                                 [3]=shared memory block, [4]=pad/touch event 1,
 *                                 [5]=pad/touch event 2, [6]=accelerometer event,
 *                                 [7]=gyroscope event, [8]=debug pad event
 *
 * The block is mapped read-only at 0x10000000 (libctru's HID_SHAREDMEM_DEFAULT) with
 * other permission DONTCARE. hidScanInput reads its pad section as libctru does:
 *
 *   +0x00 s64  tick when entry 0 was last written
 *   +0x08 s64  the previous value of that tick
 *   +0x10 u32  index (0-7) of the entry written last
 *   +0x28      8 entries of 0x10 bytes:
 *                +0x0 u32 buttons held (KEY_*), +0x4 u32 newly pressed, +0x8 u32 newly released,
 *                +0xC s16 circle pad x, +0xE s16 circle pad y (about -0x9C..0x9C, up and right > 0)
 *
 * and ignores the pad (reads nothing held) while the newest entry is entry 0 and the two
 * ticks are equal or negative: the section has not been written yet.
 */
#ifndef HLEMU_HID_H
#define HLEMU_HID_H

#include "hlemu.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HID_SHAREDMEM_DEFAULT 0x10000000u

/* Pad bits (libctru PAD_KEY; 3dbrew "HID Shared Memory"). */
#define BIT(n) (1u << (n))
enum {
    KEY_A = BIT(0),
    KEY_B = BIT(1),
    KEY_SELECT = BIT(2),
    KEY_START = BIT(3),
    KEY_DRIGHT = BIT(4),
    KEY_DLEFT = BIT(5),
    KEY_DUP = BIT(6),
    KEY_DDOWN = BIT(7),
    KEY_R = BIT(8),
    KEY_L = BIT(9),
    KEY_X = BIT(10),
    KEY_Y = BIT(11),
    KEY_CPAD_RIGHT = BIT(28),
    KEY_CPAD_LEFT = BIT(29),
    KEY_CPAD_UP = BIT(30),
    KEY_CPAD_DOWN = BIT(31),
};

typedef struct {
    s16 dx, dy;
} circlePosition;

/* hid:USER session, GetIPCHandles, map the shared memory. */
Result hidInit(void);
void hidExit(void);

/* Latch the newest pad entry: held keys, keys down/up since the last scan, circle pad. */
void hidScanInput(void);
u32 hidKeysHeld(void);
u32 hidKeysDown(void);
u32 hidKeysUp(void);
void hidCircleRead(circlePosition *pos);

/* Event 0 of GetIPCHandles: signalled when the pad section is written. */
Handle hidGetPadEvent(void);

Result HIDUSER_GetHandles(Handle *outMemHandle, Handle *eventpad0, Handle *eventpad1, Handle *eventaccel,
                          Handle *eventgyro, Handle *eventdebugpad);

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_HID_H */
