/*
 * gspgpu.h - a minimal client of the GPU service "gsp::Gpu", after libctru's
 * <3ds/services/gspgpu.h> and source/services/gspgpu.c (and the older gfx.c that
 * presented framebuffers with SetBufferSwap), with 3dbrew's "GSP Services" and
 * "GSP Shared Memory" pages.
 *
 * Commands used (request -> reply, word indices in the command buffer):
 *
 *   SetBufferSwap                 0x00050200  [1]=screen, [2..8]=GSPGPU_FramebufferInfo
 *                                              -> [1]=result
 *   RegisterInterruptRelayQueue   0x00130042  [1]=flags (1), [2]=0 (copy 1 handle), [3]=event
 *                                              -> [1]=result (0x2A07 for the first process to
 *                                              register: success), [2]=thread index,
 *                                              [3]=0 (copy 1 handle), [4]=shared memory block
 *   UnregisterInterruptRelayQueue 0x00140000  -> [1]=result
 *   AcquireRight                  0x00160042  [1]=flags (0), [2]=0 (copy 1 handle),
 *                                              [3]=0xFFFF8001 (this process) -> [1]=result
 *   ReleaseRight                  0x00170000  -> [1]=result
 *
 * The shared memory block is one page; this client maps it at 0x10002000 with
 * (RW, DONTCARE), as libctru's gfx.c did. In it, the interrupt queue of thread
 * index t is at t * 0x40: u8 first, u8 count, u8 error flag, u8 flags, then from
 * +0xC a ring of 0x34 interrupt ids (GSPGPU_Event below). GSP appends the id of each
 * interrupt it relays and signals the registered event.
 */
#ifndef HLEMU_GSPGPU_H
#define HLEMU_GSPGPU_H

#include "hlemu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where gspGpuInit maps GSP's shared memory (libctru gfx.c's choice). */
#define GSP_SHAREDMEM_ADDR 0x10002000u
#define GSP_SHAREDMEM_SIZE 0x1000u

/* Screens for SetBufferSwap. */
#define GSP_SCREEN_TOP 0
#define GSP_SCREEN_BOTTOM 1

/* Screen sizes as the LCDs see them: the framebuffers are stored rotated, 240 pixels
 * per column (bottom of the screen first), columns left to right. */
#define GSP_SCREEN_WIDTH 240
#define GSP_SCREEN_HEIGHT_TOP 400
#define GSP_SCREEN_HEIGHT_BOTTOM 320

/* Framebuffer pixel formats (low 3 bits of the format field). */
typedef enum {
    GSP_RGBA8_OES = 0,
    GSP_BGR8_OES = 1, /* 3 bytes a pixel: blue, green, red */
    GSP_RGB565_OES = 2,
    GSP_RGB5_A1_OES = 3,
    GSP_RGBA4_OES = 4,
} GSPGPU_FramebufferFormat;

/* Mode bits libctru's gfx.c adds to the format word (it becomes the LCD's framebuffer format
 * register): bit 6 for the top screen in 2D (bit 5 in 3D, neither for 800-pixel wide mode),
 * and 3 << 8 for framebuffers in VRAM (1 << 8 for the linear heap). */
#define GSP_FORMAT_TOP_2D (1u << 6)
#define GSP_FORMAT_TOP_3D (1u << 5)
#define GSP_FORMAT_VRAM (3u << 8)
#define GSP_FORMAT_LINEAR (1u << 8)

/* Interrupts GSP relays through the queue. */
typedef enum {
    GSPGPU_EVENT_PSC0 = 0,
    GSPGPU_EVENT_PSC1 = 1,
    GSPGPU_EVENT_VBlank0 = 2, /* top screen */
    GSPGPU_EVENT_VBlank1 = 3, /* bottom screen */
    GSPGPU_EVENT_PPF = 4,
    GSPGPU_EVENT_P3D = 5,
    GSPGPU_EVENT_DMA = 6,
    GSPGPU_EVENT_MAX = 7,
} GSPGPU_Event;

/* One screen's framebuffer setup, 7 words (libctru GSPGPU_FramebufferInfo). */
typedef struct {
    u32 active_framebuf;        /* which of the two addresses to show (0 or 1) */
    u32 *framebuf0_vaddr;       /* framebuffer 0 (top screen: left eye) */
    u32 *framebuf1_vaddr;       /* framebuffer 1 (top screen: right eye, or = framebuf0) */
    u32 framebuf_widthbytesize; /* stride: bytes per 240-pixel column */
    u32 format;                 /* GSPGPU_FramebufferFormat | LCD mode bits */
    u32 framebuf_dispselect;    /* = active_framebuf */
    u32 unk;                    /* 0 */
} GSPGPU_FramebufferInfo;

/* gsp::Gpu session, rights, interrupt queue and shared memory, as libctru's gspInit. */
Result gspGpuInit(void);
/* Undo gspGpuInit: unmap, unregister, release the rights, close the handles. */
void gspGpuExit(void);

/* The values gspGpuInit obtained. */
Handle gspGpuGetSessionHandle(void);
Handle gspGpuGetInterruptEvent(void);
u8 gspGpuGetThreadIndex(void);
volatile u8 *gspGpuGetSharedMemory(void);

/* Wait (at most `timeout_ns`) until GSP relays the top screen's VBlank. Drains the
 * interrupt queue; a wake-up with an empty queue also counts as a VBlank, so a kernel that
 * only signals the event still paces the program. Returns RESULT_TIMEOUT when none came. */
Result gspWaitForVBlank0(s64 timeout_ns);
/* Next interrupt id from this thread's queue, or -1 when it is empty. */
int gspPopInterrupt(void);

Result GSPGPU_SetBufferSwap(u32 screen, const GSPGPU_FramebufferInfo *info);
Result GSPGPU_RegisterInterruptRelayQueue(Handle event, u32 flags, Handle *outMemHandle, u8 *threadIndex);
Result GSPGPU_UnregisterInterruptRelayQueue(void);
Result GSPGPU_AcquireRight(u8 flags);
Result GSPGPU_ReleaseRight(void);

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_GSPGPU_H */
