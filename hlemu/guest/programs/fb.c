/*
 * fb - an animated framebuffer demo on HLE gsp::Gpu and hid:USER.
 *
 * Talks to the two services through srv: with the SDK's clients (gspgpu.c, hid.c;
 * every command and memory layout is in their headers and in hlemu/guest/README.md):
 *
 *   gsp::Gpu  AcquireRight (0x00160042), RegisterInterruptRelayQueue (0x00130042) with a
 *             ONESHOT event -> thread index + shared memory, mapped at 0x10002000;
 *             SetBufferSwap (0x00050200) once per screen per frame; at exit
 *             UnregisterInterruptRelayQueue (0x00140000) and ReleaseRight (0x00170000).
 *   hid:USER  GetIPCHandles (0x000A0000) -> shared memory, mapped read-only at 0x10000000;
 *             the pad section is read once per frame as libctru's hidScanInput does.
 *
 * Framebuffers live in VRAM, single-buffered, BGR8 (3 bytes a pixel: blue, green, red),
 * stored as the LCDs scan them: 240 pixels per column from the bottom of the screen up,
 * columns from left to right, so pixel (x, y) (y down from the top) is at byte
 * 3 * (240 * x + 239 - y):
 *
 *   top     400x240  0x1F000000 - 0x1F0464FF  (0x46500 bytes; stride 720)
 *   bottom  320x240  0x1F046500 - 0x1F07E8FF  (0x38400 bytes; stride 720)
 *
 * Each frame: wait for the top screen's VBlank (the event registered with
 * RegisterInterruptRelayQueue; interrupt id 2 in the queue), scan the pad, draw, then
 * SetBufferSwap the top and the bottom screen. START ends the program early (exit 0);
 * otherwise it runs FRAMES (600) frames. A line is printed every 60 frames.
 *
 * What gets written, in 4 KiB pages of VRAM (page n = 0x1F000000 + n * 0x1000); the
 * program counts the distinct pages it writes in every frame and prints the running
 * total, so a test can compare it with the kernel's write-tracking fault counts:
 *
 *   - Before frame 0: both screens are cleared and the square drawn: pages 0-126
 *     (0x1F000000-0x1F07EFFF), 127 pages. Page 70 (0x1F046000) holds the end of the top
 *     framebuffer and the start of the bottom one.
 *   - Every frame: five colour bars sweep across the top screen. The bars are
 *     page-shaped on purpose (a bar is two whole pages, about 11.4 columns, with a
 *     partial column at each end), so that the cost is exact: bar k of frame f covers
 *     top pages s and s+1 with s = (f + 14k) mod 70, and page s-1 (mod 70), which the
 *     bar left, is painted back to the background: 3 pages a bar, 15 pages a frame,
 *     all distinct and all within pages 0-69.
 *   - The 32x32 square on the bottom screen is redrawn only in frames where it moves
 *     (D-pad: 2 pixels a frame; circle pad: up to 3) or while A is held (its colour
 *     cycles) or in the frame A is released. A redraw erases the old square and draws
 *     the new one: the pages between the first and last byte of each (an idle square at
 *     its start position (144,104) covers pages 95-101, 7 pages); a redraw touches at
 *     most 8 pages, all within pages 70-126.
 *   So with no input every frame writes exactly 15 pages, and 600 frames write 9000.
 *
 * Expected output with no input ("bar 0 at page" is where bar 0 starts in the last frame
 * drawn, frame - 1 mod 70):
 *   fb: start
 *   gsp: gsp::Gpu ready, thread index 0 ok
 *   hid: hid:USER ready ok
 *   fb: cleared both screens, 127 pages
 *   fb: frame 60, bar 0 at page 59, square at (144,104), 900 pages written
 *   fb: frame 120, bar 0 at page 49, square at (144,104), 1800 pages written
 *   fb: frame 180, bar 0 at page 39, square at (144,104), 2700 pages written
 *   fb: frame 240, bar 0 at page 29, square at (144,104), 3600 pages written
 *   fb: frame 300, bar 0 at page 19, square at (144,104), 4500 pages written
 *   fb: frame 360, bar 0 at page 9, square at (144,104), 5400 pages written
 *   fb: frame 420, bar 0 at page 69, square at (144,104), 6300 pages written
 *   fb: frame 480, bar 0 at page 59, square at (144,104), 7200 pages written
 *   fb: frame 540, bar 0 at page 49, square at (144,104), 8100 pages written
 *   fb: frame 600, bar 0 at page 39, square at (144,104), 9000 pages written
 *   fb: done
 * (the thread index is whatever RegisterInterruptRelayQueue returned: 0 for the first
 * process that registers). Exit status 0, or 1 when a service is missing or VBlank never
 * comes (within 1 s of guest time).
 */

#include <stdio.h>

#include "gspgpu.h"
#include "hid.h"
#include "hlemu.h"

#define FRAMES 600
#define REPORT_EVERY 60
#define VBLANK_TIMEOUT_NS 1000000000LL

#define VRAM 0x1F000000u
#define PAGE 0x1000u
#define COLUMN_BYTES (GSP_SCREEN_WIDTH * 3) /* 720: one 240-pixel column */
#define TOP_OFFSET 0x0u
#define TOP_COLUMNS GSP_SCREEN_HEIGHT_TOP       /* 400 */
#define TOP_BYTES (TOP_COLUMNS * COLUMN_BYTES)  /* 0x46500 */
#define BOTTOM_OFFSET TOP_BYTES                  /* 0x46500 */
#define BOTTOM_COLUMNS GSP_SCREEN_HEIGHT_BOTTOM  /* 320 */
#define BOTTOM_BYTES (BOTTOM_COLUMNS * COLUMN_BYTES) /* 0x38400 */
#define VRAM_PAGES_USED ((BOTTOM_OFFSET + BOTTOM_BYTES + PAGE - 1) / PAGE) /* 127 */

#define BAR_TRACK_PAGES 70 /* the whole pages of the top framebuffer: 0-69 */
#define BARS 5
#define BAR_SPACING 14
#define BAR_PAGES 2

#define SQUARE 32
#define SQUARE_START_X 144
#define SQUARE_START_Y 104
#define DPAD_STEP 2
#define CIRCLE_DIVISOR 50 /* +-0x9C -> +-3 pixels a frame */

typedef struct {
    u8 b, g, r;
} Colour;

static const Colour TOP_BACKGROUND = {0x40, 0x20, 0x10};
static const Colour BOTTOM_BACKGROUND = {0x30, 0x30, 0x30};
static const Colour SQUARE_IDLE = {0xF0, 0xF0, 0xF0};
static const Colour PALETTE[6] = {
    {0x00, 0x00, 0xFF}, /* red */
    {0x00, 0x80, 0xFF}, /* orange */
    {0x00, 0xFF, 0xFF}, /* yellow */
    {0x00, 0xFF, 0x00}, /* green */
    {0xFF, 0xFF, 0x00}, /* cyan */
    {0xFF, 0x00, 0xFF}, /* magenta */
};

/* The VRAM pages written in the current frame (bit n: page n), and the running total. */
static u32 touched[(VRAM_PAGES_USED + 31) / 32];
static u32 pages_written;

static void mark_pages(u32 start, u32 end)
{
    for (u32 page = start / PAGE; page <= (end - 1) / PAGE; page++)
        touched[page / 32] |= 1u << (page % 32);
}

/* Count the pages marked since the last call, and clear the marks. */
static u32 take_touched(void)
{
    u32 count = 0;
    for (u32 i = 0; i < sizeof(touched) / sizeof(touched[0]); i++) {
        count += (u32)__builtin_popcount(touched[i]);
        touched[i] = 0;
    }
    return count;
}

/* The byte of colour channel `offset % 3` (blue, green, red). Both framebuffers start at
 * a multiple of 3 from VRAM, so the channel follows from the offset alone. */
static u8 channel(Colour c, u32 offset)
{
    u32 k = offset % 3;
    return k == 0 ? c.b : k == 1 ? c.g : c.r;
}

/* Fill [start, end) of VRAM (offsets, multiples of 4) with one colour, a word at a time. */
static void fill_words(u32 start, u32 end, Colour c)
{
    u32 words[3];
    for (u32 phase = 0; phase < 3; phase++) {
        u32 w = 0;
        for (u32 k = 0; k < 4; k++)
            w |= (u32)channel(c, phase + k) << (8 * k);
        words[phase] = w; /* the word whose first byte has channel `phase` */
    }
    volatile u32 *dst = (volatile u32 *)(VRAM + start);
    u32 phase = start % 3;
    for (u32 offset = start; offset < end; offset += 4) {
        *dst++ = words[phase];
        phase = (phase + 1) % 3; /* 4 bytes later the channel has advanced by one */
    }
    mark_pages(start, end);
}

static void fill_page(u32 page, Colour c)
{
    fill_words(page * PAGE, (page + 1) * PAGE, c);
}

/* The colour of bar k in frame f: the palette turns every second, the brightness pulses. */
static Colour bar_colour(u32 bar, u32 frame)
{
    Colour base = PALETTE[(bar + frame / 60) % 6];
    u32 t = frame % 64;
    u32 level = 128 + 4 * (t < 32 ? t : 63 - t); /* 128..252 */
    return (Colour){(u8)(base.b * level / 256), (u8)(base.g * level / 256), (u8)(base.r * level / 256)};
}

static u32 bar_start(u32 bar, u32 frame)
{
    return (frame + BAR_SPACING * bar) % BAR_TRACK_PAGES;
}

static void draw_bars(u32 frame)
{
    for (u32 bar = 0; bar < BARS; bar++) {
        u32 start = bar_start(bar, frame);
        fill_page((start + BAR_TRACK_PAGES - 1) % BAR_TRACK_PAGES, TOP_BACKGROUND);
        Colour c = bar_colour(bar, frame);
        for (u32 i = 0; i < BAR_PAGES; i++)
            fill_page((start + i) % BAR_TRACK_PAGES, c);
    }
}

/* The square's pixels on the bottom screen, column by column (96 bytes each). */
static void draw_square(int x, int y, Colour c)
{
    u32 first = BOTTOM_OFFSET + (u32)x * COLUMN_BYTES + 3u * (u32)(GSP_SCREEN_WIDTH - 1 - (y + SQUARE - 1));
    for (int column = 0; column < SQUARE; column++) {
        volatile u8 *dst = (volatile u8 *)(VRAM + first + (u32)column * COLUMN_BYTES);
        for (int row = 0; row < SQUARE; row++) {
            dst[3 * row + 0] = c.b;
            dst[3 * row + 1] = c.g;
            dst[3 * row + 2] = c.r;
        }
    }
    mark_pages(first, first + (SQUARE - 1) * COLUMN_BYTES + 3 * SQUARE);
}

typedef struct {
    int x, y;
    Colour colour;
} Square;

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Move and recolour the square from this frame's input; redraw only when it changed. */
static void update_square(Square *square, u32 frame)
{
    u32 held = hidKeysHeld();
    circlePosition circle;
    hidCircleRead(&circle);
    int dx = circle.dx / CIRCLE_DIVISOR;
    int dy = -circle.dy / CIRCLE_DIVISOR; /* the circle pad's y grows upwards */
    if (held & KEY_DLEFT)
        dx -= DPAD_STEP;
    if (held & KEY_DRIGHT)
        dx += DPAD_STEP;
    if (held & KEY_DUP)
        dy -= DPAD_STEP;
    if (held & KEY_DDOWN)
        dy += DPAD_STEP;

    Square next = {
        clamp(square->x + dx, 0, BOTTOM_COLUMNS - SQUARE),
        clamp(square->y + dy, 0, GSP_SCREEN_WIDTH - SQUARE),
        (held & KEY_A) ? PALETTE[(frame / 4) % 6] : SQUARE_IDLE,
    };
    bool moved = next.x != square->x || next.y != square->y;
    bool recoloured = (held & KEY_A) || (hidKeysUp() & KEY_A);
    if (!moved && !recoloured)
        return;
    draw_square(square->x, square->y, BOTTOM_BACKGROUND);
    draw_square(next.x, next.y, next.colour);
    *square = next;
}

static void present(void)
{
    GSPGPU_FramebufferInfo top = {
        .active_framebuf = 0,
        .framebuf0_vaddr = (u32 *)(VRAM + TOP_OFFSET),
        .framebuf1_vaddr = (u32 *)(VRAM + TOP_OFFSET), /* right eye = left eye: 3D off */
        .framebuf_widthbytesize = COLUMN_BYTES,
        .format = GSP_FORMAT_VRAM | GSP_FORMAT_TOP_2D | GSP_BGR8_OES, /* 0x341 */
        .framebuf_dispselect = 0,
        .unk = 0,
    };
    GSPGPU_FramebufferInfo bottom = {
        .active_framebuf = 0,
        .framebuf0_vaddr = (u32 *)(VRAM + BOTTOM_OFFSET),
        .framebuf1_vaddr = (u32 *)(VRAM + BOTTOM_OFFSET),
        .framebuf_widthbytesize = COLUMN_BYTES,
        .format = GSP_FORMAT_VRAM | GSP_BGR8_OES, /* 0x301 */
        .framebuf_dispselect = 0,
        .unk = 0,
    };
    GSPGPU_SetBufferSwap(GSP_SCREEN_TOP, &top);
    GSPGPU_SetBufferSwap(GSP_SCREEN_BOTTOM, &bottom);
}

static int run(void)
{
    Square square = {SQUARE_START_X, SQUARE_START_Y, SQUARE_IDLE};
    fill_words(TOP_OFFSET, TOP_OFFSET + TOP_BYTES, TOP_BACKGROUND);
    fill_words(BOTTOM_OFFSET, BOTTOM_OFFSET + BOTTOM_BYTES, BOTTOM_BACKGROUND);
    draw_square(square.x, square.y, square.colour);
    printf("fb: cleared both screens, %lu pages\n", (unsigned long)take_touched());
    present();

    for (u32 frame = 0; frame < FRAMES; frame++) {
        if (gspWaitForVBlank0(VBLANK_TIMEOUT_NS) != RESULT_SUCCESS) {
            printf("fb: no VBlank within 1 s at frame %lu\n", (unsigned long)frame);
            return 1;
        }
        hidScanInput();
        if (hidKeysDown() & KEY_START) {
            printf("fb: START pressed at frame %lu, %lu pages written\n", (unsigned long)frame,
                   (unsigned long)pages_written);
            return 0;
        }
        draw_bars(frame);
        update_square(&square, frame);
        pages_written += take_touched();
        present();
        if ((frame + 1) % REPORT_EVERY == 0)
            printf("fb: frame %lu, bar 0 at page %lu, square at (%d,%d), %lu pages written\n",
                   (unsigned long)(frame + 1), (unsigned long)bar_start(0, frame), square.x, square.y,
                   (unsigned long)pages_written);
    }
    printf("fb: done\n");
    return 0;
}

int main(void)
{
    printf("fb: start\n");
    Result res = gspGpuInit();
    if (R_FAILED(res)) {
        printf("gsp: init failed 0x%08lx\n", (unsigned long)res);
        return 1;
    }
    printf("gsp: gsp::Gpu ready, thread index %u ok\n", (unsigned)gspGpuGetThreadIndex());
    res = hidInit();
    if (R_FAILED(res)) {
        printf("hid: init failed 0x%08lx\n", (unsigned long)res);
        gspGpuExit();
        return 1;
    }
    printf("hid: hid:USER ready ok\n");

    int status = run();

    hidExit();
    gspGpuExit();
    return status;
}
