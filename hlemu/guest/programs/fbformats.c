/*
 * fbformats - every framebuffer pixel format on both screens, drawn by the CPU.
 *
 * For each format in turn (RGBA8, BGR8, RGB565, RGB5A1, RGBA4: GSPGPU_FramebufferFormat 0-4)
 * the program draws one test pattern into a framebuffer of that format for the top screen
 * and presents it with SetBufferSwap (0x00050200), then does the same for the bottom screen,
 * and after each present prints one line and waits for a VBlank. Every step has a
 * framebuffer of its own in VRAM, so what a step showed stays in memory afterwards.
 *
 * Framebuffers are stored as the LCDs scan them (3dbrew "GPU/LCD"; libctru gfx.c): 240
 * pixels a column, the bottom of the screen first, columns from the left; the stride is
 * 240 * bytes-per-pixel, so pixel (x, y) (y down from the top) is at
 * base + x * stride + (239 - y) * bpp. Step s (0-9: format s / 2, top when s is even) has
 * its framebuffer at 0x1F000000 + s * 0x80000.
 *
 * The pattern, for a screen `width` pixels wide (x 0..width-1, y 0..239), in 8-bit channels:
 *   red   = x * 255 / (width - 1)        (left black, right full)
 *   green = y * 255 / 239                (top black, bottom full)
 *   blue  = 0xC0 where (x / 16 + y / 16) is odd, else 0x30  (16-pixel checks)
 *   alpha = 0xFF
 *   and a 16x16 white square at the top-left corner (x, y < 16), so any flip shows.
 * Each channel is narrowed to the format by dropping low bits (RGB565: r >> 3, g >> 2,
 * b >> 3; RGB5A1: r, g, b >> 3 and a >> 7; RGBA4: each >> 4). The bytes of each format
 * are the ones 3dbrew "GPU/External Registers" gives: RGBA8 A, B, G, R; BGR8 B, G, R;
 * the 16-bit formats a little-endian halfword, red in the top bits.
 *
 * Expected output:
 *   fbformats: start
 *   gsp: gsp::Gpu ready ok
 *   fbformats: top RGBA8 shown ok
 *   fbformats: bottom RGBA8 shown ok
 *   fbformats: top BGR8 shown ok
 *   ... (and so on for RGB565, RGB5A1, RGBA4)
 *   fbformats: 0 failures
 * A "shown" line fails when SetBufferSwap or the VBlank wait after it fails.
 */

#include <stdio.h>

#include "check.h"
#include "gspgpu.h"
#include "hlemu.h"

#define VRAM 0x1F000000u
#define STEP_BYTES 0x80000u /* the largest, top RGBA8, is 400 * 960 = 0x5DC00 */
#define VBLANK_TIMEOUT_NS 1000000000LL

static const char *const FORMAT_NAMES[5] = {"RGBA8", "BGR8", "RGB565", "RGB5A1", "RGBA4"};
static const u32 BYTES_PER_PIXEL[5] = {4, 3, 2, 2, 2};

static void put_pixel(u8 *at, u32 format, u32 r, u32 g, u32 b, u32 a)
{
    u32 half;
    switch (format) {
    case GSP_RGBA8_OES:
        at[0] = (u8)a, at[1] = (u8)b, at[2] = (u8)g, at[3] = (u8)r;
        return;
    case GSP_BGR8_OES:
        at[0] = (u8)b, at[1] = (u8)g, at[2] = (u8)r;
        return;
    case GSP_RGB565_OES:
        half = (r >> 3) << 11 | (g >> 2) << 5 | b >> 3;
        break;
    case GSP_RGB5_A1_OES:
        half = (r >> 3) << 11 | (g >> 3) << 6 | (b >> 3) << 1 | a >> 7;
        break;
    default: /* GSP_RGBA4_OES */
        half = (r >> 4) << 12 | (g >> 4) << 8 | (b >> 4) << 4 | a >> 4;
        break;
    }
    at[0] = (u8)half, at[1] = (u8)(half >> 8);
}

static void draw(u8 *base, u32 width, u32 format)
{
    u32 bpp = BYTES_PER_PIXEL[format];
    u32 stride = GSP_SCREEN_WIDTH * bpp;
    for (u32 x = 0; x < width; x++) {
        u8 *column = base + x * stride;
        for (u32 y = 0; y < GSP_SCREEN_WIDTH; y++) {
            u32 r = x * 255 / (width - 1), g = y * 255 / 239, b = ((x / 16 + y / 16) & 1) ? 0xC0 : 0x30;
            if (x < 16 && y < 16)
                r = g = b = 0xFF;
            put_pixel(column + (GSP_SCREEN_WIDTH - 1 - y) * bpp, format, r, g, b, 0xFF);
        }
    }
}

static Result present(u32 screen, u8 *base, u32 format)
{
    GSPGPU_FramebufferInfo info = {
        .active_framebuf = 0,
        .framebuf0_vaddr = (u32 *)base,
        .framebuf1_vaddr = (u32 *)base,
        .framebuf_widthbytesize = GSP_SCREEN_WIDTH * BYTES_PER_PIXEL[format],
        .format = format | GSP_FORMAT_VRAM | (screen == GSP_SCREEN_TOP ? GSP_FORMAT_TOP_2D : 0),
        .framebuf_dispselect = 0,
        .unk = 0,
    };
    return GSPGPU_SetBufferSwap(screen, &info);
}

int main(void)
{
    printf("fbformats: start\n");
    Result res = gspGpuInit();
    check(R_SUCCEEDED(res), "gsp: gsp::Gpu ready");
    if (R_FAILED(res))
        return 1;
    for (u32 step = 0; step < 10; step++) {
        u32 format = step / 2, screen = step % 2;
        u32 width = screen == GSP_SCREEN_TOP ? GSP_SCREEN_HEIGHT_TOP : GSP_SCREEN_HEIGHT_BOTTOM;
        u8 *base = (u8 *)(VRAM + step * STEP_BYTES);
        draw(base, width, format);
        res = present(screen, base, format);
        Result waited = R_SUCCEEDED(res) ? gspWaitForVBlank0(VBLANK_TIMEOUT_NS) : res;
        check(R_SUCCEEDED(res) && waited == RESULT_SUCCESS, "fbformats: %s %s shown",
              screen == GSP_SCREEN_TOP ? "top" : "bottom", FORMAT_NAMES[format]);
    }
    gspGpuExit();
    printf("fbformats: %d failures\n", check_failures);
    return check_failures;
}
