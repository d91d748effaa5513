/*
 * gx - the GX commands of gsp::Gpu that are memory work, through libctru's protocol.
 *
 * Each command goes into this thread's GX queue in GSP shared memory (0x800 + 0x200 * t)
 * with gspSubmitGxCommand, which sends TriggerCmdReqQueue (0x000C0000) when the queue was
 * idle; the program then waits for the interrupt the command raises (PSC0 / PSC1 for memory
 * fills, PPF for transfers and copies, DMA for DMA) by draining its interrupt queue, and
 * reads the results back with the CPU. Buffers are in the linear heap (ControlMemory with
 * MEMOP_ALLOC_LINEAR, as libctru's linearAlloc) and in VRAM.
 *
 * Steps (sizes in pixels are width x height; "tiled" is 8x8 tiles in Morton order):
 *   1. MemoryFill of two buffers: 0x100 bytes of the 32-bit 0x11223344 and 0x100 bytes of the
 *      16-bit 0xBEEF, then PSC0 (one interrupt for both); bytes around them untouched.
 *   2. MemoryFill of the second buffer only, 24-bit 0xCCBBAA over 0x30 bytes, then PSC1.
 *   3. RequestDma of 0x1235 bytes between odd addresses, then DMA.
 *   4. DisplayTransfer of a 64x64 linear RGBA8 image (R = x, G = y, B = x ^ y, A = 0xFF) to
 *      tiled, then PPF: every pixel where the Morton order puts it.
 *   5. DisplayTransfer of the tiled image back to linear, as RGB565 and flipped vertically.
 *   6. DisplayTransfer of the tiled image with 2x2 downscaling to 32x32 RGBA8: each pixel the
 *      integer mean of the four it covers.
 *   7. TextureCopy of an 8x16-pixel sub-rectangle (32-byte lines, 224-byte input gaps) into
 *      32-byte lines with 16-byte gaps; the gaps keep their bytes.
 *   8. A frame built by DisplayTransfer on both screens: the fbformats pattern is drawn into
 *      linear RGBA8 render targets (top 240x400; bottom 480x320, twice as fine along the
 *      240-pixel axis, odd rows 0x20 bluer), transferred to tiled ones, then transferred to
 *      the BGR8 framebuffers in VRAM (the bottom one downscaled 2x1, so its blue is the
 *      pattern's plus 0x10) and presented with SetBufferSwap.
 *   9. Refusals: a DisplayTransfer from unmapped memory and a MemoryFill over this program's
 *      own (read-only) code move nothing and raise no PPF / PSC0, and GSP's queue header says
 *      a command failed (byte 2 = 0x80, then the error code 0xE0E02BF5).
 *  10. ProcessCommandList of a list that only writes FINALIZE (0x12345678 to register 0x10)
 *      raises P3D; one at an unmapped address is refused and raises none.
 *
 * Expected output: "gx: start", one "... ok" line per check, "gx: 0 failures"; the exit status
 * is the number of failures.
 */

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gspgpu.h"
#include "hlemu.h"

#define WAIT_NS 1000000000LL
#define LINEAR_SIZE 0x200000u
#define VRAM_TOP 0x1F000000u
#define VRAM_BOTTOM 0x1F100000u

static u8 *linear;

/* Regions of the linear buffer. */
#define FILL (linear + 0x0)
#define DMA_AREA (linear + 0x1000)
#define IMG_LINEAR ((u32 *)(linear + 0x10000)) /* 64x64 RGBA8 */
#define IMG_TILED ((u32 *)(linear + 0x20000))
#define IMG_565 ((u16 *)(linear + 0x30000))
#define IMG_SMALL ((u32 *)(linear + 0x38000)) /* 32x32 */
#define COPY_OUT (linear + 0x3C000)
#define RT_LINEAR ((u32 *)(linear + 0x40000)) /* render targets: up to 480x320 RGBA8 (0x96000) */
#define RT_TILED ((u32 *)(linear + 0x100000))

static u32 morton(u32 x, u32 y)
{
    return (x & 1) | (y & 1) << 1 | (x & 2) << 1 | (y & 2) << 2 | (x & 4) << 2 | (y & 4) << 3;
}

/* Index of pixel (x, y) in a tiled image `width` pixels wide. */
static u32 tiled_index(u32 x, u32 y, u32 width)
{
    return ((y / 8) * (width / 8) + x / 8) * 64 + morton(x % 8, y % 8);
}

static u32 rgba8(u32 r, u32 g, u32 b, u32 a)
{
    return r << 24 | g << 16 | b << 8 | a;
}

static bool wait_for(GSPGPU_Event id)
{
    return gspWaitForEvent(id, WAIT_NS) == RESULT_SUCCESS;
}

static void memory_fills(void)
{
    memset(FILL, 0xEE, 0x1000);
    Result res = GX_MemoryFill((u32 *)FILL, 0x11223344, (u32 *)(FILL + 0x100), GX_FILL_TRIGGER | GX_FILL_32BIT_DEPTH,
                               (u32 *)(FILL + 0x200), 0xBEEF, (u32 *)(FILL + 0x300), GX_FILL_TRIGGER);
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_PSC0), "fill: two buffers, then PSC0");
    bool ok = true;
    for (u32 i = 0; i < 0x100; i += 4)
        ok &= *(u32 *)(FILL + i) == 0x11223344;
    for (u32 i = 0x200; i < 0x300; i += 2)
        ok &= *(u16 *)(FILL + i) == 0xBEEF;
    for (u32 i = 0x100; i < 0x200; i++)
        ok &= FILL[i] == 0xEE;
    check(ok && FILL[0x300] == 0xEE, "fill: 32-bit and 16-bit patterns, nothing past either end");

    res = GX_MemoryFill(NULL, 0, NULL, 0, (u32 *)(FILL + 0x400), 0xCCBBAA, (u32 *)(FILL + 0x430),
                        GX_FILL_TRIGGER | GX_FILL_24BIT_DEPTH);
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_PSC1), "fill: second buffer alone, then PSC1");
    ok = FILL[0x430] == 0xEE;
    for (u32 i = 0; i < 0x30; i++)
        ok &= FILL[0x400 + i] == (u8[]){0xAA, 0xBB, 0xCC}[i % 3];
    check(ok, "fill: 24-bit pattern AA BB CC");
}

static void request_dma(void)
{
    u8 *src = DMA_AREA + 3, *dst = DMA_AREA + 0x3001;
    for (u32 i = 0; i < 0x1235; i++)
        src[i] = (u8)(i * 7 + 3);
    Result res = GX_RequestDma((u32 *)src, (u32 *)dst, 0x1235);
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_DMA), "dma: 0x1235 bytes, then DMA");
    check(memcmp(src, dst, 0x1235) == 0 && dst[0x1235] == 0, "dma: the copy matches");
}

static void display_transfers(void)
{
    for (u32 y = 0; y < 64; y++)
        for (u32 x = 0; x < 64; x++)
            IMG_LINEAR[y * 64 + x] = rgba8(x, y, x ^ y, 0xFF);
    u32 fmt8 = GX_TRANSFER_IN_FORMAT(GX_TRANSFER_FMT_RGBA8);
    Result res = GX_DisplayTransfer(IMG_LINEAR, GX_BUFFER_DIM(64, 64), IMG_TILED, GX_BUFFER_DIM(64, 64),
                                    fmt8 | GX_TRANSFER_OUT_FORMAT(GX_TRANSFER_FMT_RGBA8) | GX_TRANSFER_OUT_TILED(1));
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_PPF), "transfer: linear to tiled, then PPF");
    u32 bad = 0;
    for (u32 y = 0; y < 64; y++)
        for (u32 x = 0; x < 64; x++)
            bad += IMG_TILED[tiled_index(x, y, 64)] != rgba8(x, y, x ^ y, 0xFF);
    check(bad == 0, "transfer: 4096 pixels in Morton order (%lu wrong)", (unsigned long)bad);

    res = GX_DisplayTransfer(IMG_TILED, GX_BUFFER_DIM(64, 64), (u32 *)IMG_565, GX_BUFFER_DIM(64, 64),
                             fmt8 | GX_TRANSFER_OUT_FORMAT(GX_TRANSFER_FMT_RGB565) | GX_TRANSFER_FLIP_VERT(1));
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_PPF), "transfer: tiled to linear RGB565 flipped, then PPF");
    bad = 0;
    for (u32 y = 0; y < 64; y++)
        for (u32 x = 0; x < 64; x++)
            bad += IMG_565[(63 - y) * 64 + x] != (u16)((x >> 3) << 11 | (y >> 2) << 5 | (x ^ y) >> 3);
    check(bad == 0, "transfer: 4096 RGB565 pixels, rows reversed (%lu wrong)", (unsigned long)bad);

    res = GX_DisplayTransfer(IMG_TILED, GX_BUFFER_DIM(64, 64), IMG_SMALL, GX_BUFFER_DIM(64, 64),
                             fmt8 | GX_TRANSFER_OUT_FORMAT(GX_TRANSFER_FMT_RGBA8) |
                                 GX_TRANSFER_SCALING(GX_TRANSFER_SCALE_XY));
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_PPF), "transfer: 2x2 downscale, then PPF");
    bad = 0;
    for (u32 y = 0; y < 32; y++)
        for (u32 x = 0; x < 32; x++) {
            u32 b = ((2 * x) ^ (2 * y)) + ((2 * x + 1) ^ (2 * y)) + ((2 * x) ^ (2 * y + 1)) + ((2 * x + 1) ^ (2 * y + 1));
            bad += IMG_SMALL[y * 32 + x] != rgba8(2 * x, 2 * y, b / 4, 0xFF);
        }
    check(bad == 0, "transfer: 1024 pixels, each the mean of four (%lu wrong)", (unsigned long)bad);
}

static void texture_copy(void)
{
    memset(COPY_OUT, 0xEE, 0x400);
    u32 *from = IMG_LINEAR + 4 * 64 + 8; /* pixel (8, 4) */
    Result res = GX_TextureCopy(from, GX_BUFFER_DIM(32 >> 4, (256 - 32) >> 4), (u32 *)COPY_OUT,
                                GX_BUFFER_DIM(32 >> 4, 16 >> 4), 32 * 16, GX_TRANSFER_RAW_COPY(1) | 4);
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_PPF), "copy: 16 lines of 32 bytes, then PPF");
    bool ok = true;
    for (u32 line = 0; line < 16; line++) {
        ok &= memcmp(COPY_OUT + 48 * line, from + 64 * line, 32) == 0;
        for (u32 i = 32; i < 48; i++)
            ok &= COPY_OUT[48 * line + i] == 0xEE;
    }
    check(ok, "copy: the sub-rectangle, gaps untouched");
}

/* fbformats' pattern at screen pixel (x, y) of a screen `width` wide, as an RGBA8 word. */
static u32 pattern(u32 x, u32 y, u32 width, u32 extra_blue)
{
    u32 r = x * 255 / (width - 1), g = y * 255 / 239, b = ((x / 16 + y / 16) & 1) ? 0xC0 : 0x30;
    if (x < 16 && y < 16)
        r = g = b = 0xFF;
    return rgba8(r, g, b + extra_blue > 0xFF ? 0xFF : b + extra_blue, 0xFF);
}

static Result present(u32 screen, u32 vram)
{
    GSPGPU_FramebufferInfo info = {0, (u32 *)vram, (u32 *)vram, 240 * 3,
                                   GSP_BGR8_OES | GSP_FORMAT_VRAM | (screen ? 0 : GSP_FORMAT_TOP_2D), 0, 0};
    return GSPGPU_SetBufferSwap(screen, &info);
}

/* Render target rows are screen columns; a row's first pixel is the screen's bottom row. */
static bool build_and_present(u32 screen)
{
    u32 columns = screen ? 320 : 400, scale = screen ? 2 : 1, row = 240 * scale;
    for (u32 x = 0; x < columns; x++)
        for (u32 i = 0; i < row; i++)
            RT_LINEAR[x * row + i] = pattern(x, 239 - i / scale, columns, screen && (i & 1) ? 0x20 : 0);
    u32 fmt8 = GX_TRANSFER_IN_FORMAT(GX_TRANSFER_FMT_RGBA8);
    Result res = GX_DisplayTransfer(RT_LINEAR, GX_BUFFER_DIM(row, columns), RT_TILED, GX_BUFFER_DIM(row, columns),
                                    fmt8 | GX_TRANSFER_OUT_FORMAT(GX_TRANSFER_FMT_RGBA8) | GX_TRANSFER_OUT_TILED(1));
    bool ok = R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_PPF);
    u32 vram = screen ? VRAM_BOTTOM : VRAM_TOP;
    res = GX_DisplayTransfer(RT_TILED, GX_BUFFER_DIM(row, columns), (u32 *)vram, GX_BUFFER_DIM(row, columns),
                             fmt8 | GX_TRANSFER_OUT_FORMAT(GX_TRANSFER_FMT_RGB8) |
                                 GX_TRANSFER_SCALING(screen ? GX_TRANSFER_SCALE_X : GX_TRANSFER_SCALE_NO));
    ok &= R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_PPF);
    return ok && R_SUCCEEDED(present(screen, vram));
}

static void refusals(void)
{
    volatile u8 *header = gspGpuGetSharedMemory() + 0x800 + gspGpuGetThreadIndex() * 0x200;
    Result res = GX_DisplayTransfer((u32 *)0x50000000, GX_BUFFER_DIM(64, 64), IMG_TILED, GX_BUFFER_DIM(64, 64), 0);
    check(R_SUCCEEDED(res) && gspWaitForEvent(GSPGPU_EVENT_PPF, 0) == RESULT_TIMEOUT,
          "refused: transfer from unmapped memory, no PPF");
    check(header[2] == 0x80 && *(volatile u32 *)(header + 4) == 0xE0E02BF5 && header[1] == 0,
          "refused: queue header says failed, 0xE0E02BF5");
    u32 first_word = *(volatile u32 *)0x00100000;
    res = GX_MemoryFill((u32 *)0x00100000, 0, (u32 *)0x00100100, GX_FILL_TRIGGER | GX_FILL_32BIT_DEPTH, NULL, 0,
                        NULL, 0);
    check(R_SUCCEEDED(res) && gspWaitForEvent(GSPGPU_EVENT_PSC0, 0) == RESULT_TIMEOUT &&
              *(volatile u32 *)0x00100000 == first_word,
          "refused: fill over read-only code, no PSC0, code intact");
}

static void command_lists(void)
{
    u32 *list = (u32 *)COPY_OUT; /* 16 bytes: FINALIZE twice, as citro3d pads a list */
    list[0] = list[2] = 0x12345678;
    list[1] = list[3] = 0x000F0010;
    Result res = GX_ProcessCommandList(list, 16, 0);
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_P3D), "command list: FINALIZE, then P3D");
    res = GX_ProcessCommandList((u32 *)0x50000000, 0x100, 0);
    check(R_SUCCEEDED(res) && gspWaitForEvent(GSPGPU_EVENT_P3D, 0) == RESULT_TIMEOUT,
          "command list: at an unmapped address refused, no P3D");
}

int main(void)
{
    printf("gx: start\n");
    Result res = gspGpuInit();
    check(R_SUCCEEDED(res), "gsp: gsp::Gpu ready");
    u32 addr = 0;
    if (R_SUCCEEDED(res))
        res = svcControlMemory(&addr, 0, 0, LINEAR_SIZE, MEMOP_ALLOC_LINEAR, MEMPERM_READWRITE);
    check(R_SUCCEEDED(res) && addr >= 0x14000000 && addr < 0x1C000000, "linear heap: 2 MiB");
    if (R_FAILED(res))
        return 1;
    linear = (u8 *)addr;
    memory_fills();
    request_dma();
    display_transfers();
    texture_copy();
    check(build_and_present(GSP_SCREEN_TOP), "frame: top built by DisplayTransfer and presented");
    check(build_and_present(GSP_SCREEN_BOTTOM), "frame: bottom built by DisplayTransfer and presented");
    check(R_SUCCEEDED(gspWaitForVBlank0(WAIT_NS)), "frame: a VBlank later");
    refusals();
    command_lists();
    gspGpuExit();
    printf("gx: %d failures\n", check_failures);
    return check_failures;
}
