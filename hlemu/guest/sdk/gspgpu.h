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
 *   TriggerCmdReqQueue            0x000C0000  -> [1]=result (GSP runs the queued GX commands)
 *
 * The shared memory block is one page; this client maps it at 0x10002000 with
 * (RW, DONTCARE), as libctru's gfx.c did. In it, the interrupt queue of thread
 * index t is at t * 0x40: u8 first, u8 count, u8 error flag, u8 flags, then from
 * +0xC a ring of 0x34 interrupt ids (GSPGPU_Event below). GSP appends the id of each
 * interrupt it relays and signals the registered event.
 *
 * GX commands (libctru <3ds/gpu/gx.h>, source/gpu/gx.c; 3dbrew "GSP Shared Memory") go
 * through the command queue of thread index t at 0x800 + t * 0x200: a header word (byte 0
 * the index of the next command GSP takes, byte 1 how many are queued, byte 2 status: 1
 * stopped, 0x80 a command failed, with its error code in the word after the header), then
 * from +0x20 fifteen 0x20-byte commands. gspSubmitGxCommand copies a command into slot
 * (index + count) % 15, raises the count with ldrex/strex and, when the count it stored is
 * 1 (GSP was idle), sends TriggerCmdReqQueue. Word 0 of a command is 0x01000100 | id
 * (0x00000100 | id for FlushCacheRegions, as libctru). GSP raises PSC0/PSC1 when a memory
 * fill ends, PPF when a display transfer or texture copy ends and DMA when a DMA ends;
 * gspWaitForEvent waits for one of them.
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

/* Wait (at most `timeout_ns` each time the queue is empty) until interrupt `id` has come since
 * the last wait for it. Interrupts of other kinds found in the queue meanwhile are remembered
 * for their own waits (VBlanks too, though gspWaitForVBlank0 does not look at them). Returns
 * RESULT_TIMEOUT when it did not come. */
Result gspWaitForEvent(GSPGPU_Event id, s64 timeout_ns);
/* Add one 8-word GX command to this thread's queue (libctru's gspSubmitGxCommand): -2 when all
 * 15 slots are taken, else 0 or TriggerCmdReqQueue's result. */
Result gspSubmitGxCommand(const u32 gxCommand[8]);

/* ---- GX commands (libctru <3ds/gpu/gx.h>) ---------------------------------------------- */

/* A DisplayTransfer image size (width, height) or a TextureCopy line (width, gap; both in
 * 16-byte units). */
#define GX_BUFFER_DIM(w, h) (((u32)(h) << 16) | ((w) & 0xFFFF))

/* Transfer pixel formats (the framebuffer formats; RGB8 is GSP_BGR8_OES's bytes). */
typedef enum {
    GX_TRANSFER_FMT_RGBA8 = 0,
    GX_TRANSFER_FMT_RGB8 = 1,
    GX_TRANSFER_FMT_RGB565 = 2,
    GX_TRANSFER_FMT_RGB5A1 = 3,
    GX_TRANSFER_FMT_RGBA4 = 4,
} GX_TRANSFER_FORMAT;

/* Downscaling ("anti-aliasing"): 2x1 averages pairs along x, 2x2 squares. */
typedef enum {
    GX_TRANSFER_SCALE_NO = 0,
    GX_TRANSFER_SCALE_X = 1,
    GX_TRANSFER_SCALE_XY = 2,
} GX_TRANSFER_SCALE;

/* MemoryFill control, one 16-bit half per buffer: bit 0 starts it, bits 8-9 the pattern width. */
typedef enum {
    GX_FILL_TRIGGER = 0x001,
    GX_FILL_FINISHED = 0x002,
    GX_FILL_16BIT_DEPTH = 0x000,
    GX_FILL_24BIT_DEPTH = 0x100,
    GX_FILL_32BIT_DEPTH = 0x200,
} GX_FILL_CONTROL;

/* DisplayTransfer flags (3dbrew "GPU/External Registers", Transfer Engine). Bit 1 alone: linear
 * input, tiled output; bits 1 and 5: linear to linear; neither: tiled to linear; bit 5 alone:
 * tiled to tiled. */
#define GX_TRANSFER_FLIP_VERT(x) ((x) << 0)
#define GX_TRANSFER_OUT_TILED(x) ((x) << 1)
#define GX_TRANSFER_RAW_COPY(x) ((x) << 3)
#define GX_TRANSFER_NO_SWIZZLE(x) ((x) << 5) /* hlemu name for bit 5 */
#define GX_TRANSFER_IN_FORMAT(x) ((x) << 8)
#define GX_TRANSFER_OUT_FORMAT(x) ((x) << 12)
#define GX_TRANSFER_SCALING(x) ((x) << 24)

/* The GX commands, as libctru: each builds its 8 words and submits them. Addresses are this
 * process's virtual addresses; all but GX_RequestDma's must be 8-byte aligned. */
Result GX_RequestDma(u32 *src, u32 *dst, u32 length);
Result GX_ProcessCommandList(u32 *buf0a, u32 buf0s, u8 flags);
Result GX_MemoryFill(u32 *buf0a, u32 buf0v, u32 *buf0e, u16 control0, u32 *buf1a, u32 buf1v, u32 *buf1e,
                     u16 control1);
Result GX_DisplayTransfer(u32 *inadr, u32 indim, u32 *outadr, u32 outdim, u32 flags);
Result GX_TextureCopy(u32 *inadr, u32 indim, u32 *outadr, u32 outdim, u32 size, u32 flags);
Result GX_FlushCacheRegions(u32 *buf0a, u32 buf0s, u32 *buf1a, u32 buf1s, u32 *buf2a, u32 buf2s);

Result GSPGPU_TriggerCmdReqQueue(void);
Result GSPGPU_SetBufferSwap(u32 screen, const GSPGPU_FramebufferInfo *info);
Result GSPGPU_RegisterInterruptRelayQueue(Handle event, u32 flags, Handle *outMemHandle, u8 *threadIndex);
Result GSPGPU_UnregisterInterruptRelayQueue(void);
Result GSPGPU_AcquireRight(u8 flags);
Result GSPGPU_ReleaseRight(void);

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_GSPGPU_H */
