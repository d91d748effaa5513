/*
 * console - a text console on the bottom screen, the way libctru's console draws one.
 *
 * libctru's consoleInit(GFX_BOTTOM, NULL) makes the bottom screen's framebuffer RGB565 and
 * single-buffered and prints into it in 8x8 cells, 40 columns by 30 rows; a program then
 * prints with ANSI escapes for colour and cursor placement, scans the pad every frame and
 * leaves on START. This program does the same with the SDK's console (sdk/console.c, its own
 * font in sdk/font8x8.c): the framebuffer is 320x240 RGB565 (0x25800 bytes) in the linear
 * heap, shown with gsp::Gpu SetBufferSwap (format 0x102: RGB565, linear-heap buffer).
 *
 * On the screen (rows and columns 1-based, as ESC[y;xH counts them):
 *   row 1       " hlemu console" in black on white, across the screen
 *   rows 3-5    a greeting in bright green and two lines about the console
 *   rows 7-8    the 8 normal and 8 bright background colours, two cells each
 *   row 10      "frame   N"       N = VBlanks waited, redrawn every frame
 *   row 11      "held    A B ..." the keys held (D-pad as UP/DOWN/LEFT/RIGHT, the circle pad's
 *                                directions as C-UP/...), "-" for none
 *   row 12      "circle  +x,+y"   the circle pad
 *   row 13      "pressed N"       key presses so far
 *   row 28      "Press START to exit." in bright yellow
 *   row 29      "idle: exits in N s"  the countdown below
 *
 * It ends on START (newly pressed), exit status 0, or by itself after IDLE_FRAMES (600, 10 s)
 * frames in a row with nothing held and the circle pad centred, so that a run without input
 * (the default demo, a test) ends. Exit status 1 when a service is missing or no VBlank comes
 * within 1 s of guest time.
 *
 * Its main thread runs one priority level above the one it started with (a smaller number).
 * Alone that changes nothing; in the default demo, beside fb (which presents both screens
 * every frame), it makes the console the first to run after each VBlank, so that a window
 * or a screenshot taken when a frame begins (hlemu run --frames, the GUI) finds the console
 * on the bottom screen and fb's bars on the top one.
 *
 * Expected output with no input:
 *   console: start
 *   gsp: gsp::Gpu ready ok
 *   hid: hid:USER ready ok
 *   console: 40x30 cells on the bottom screen, RGB565
 *   console: 600 frames without input, done
 * and with input, a line for each frame in which keys were newly pressed
 * ("console: frame 12, pressed A START"), then "console: START pressed at frame N".
 */

#include <stdio.h>
#include <string.h>

#include "console.h"
#include "gspgpu.h"
#include "hid.h"
#include "hlemu.h"

#define IDLE_FRAMES 600
#define FRAMES_PER_SECOND 60
#define VBLANK_TIMEOUT_NS 1000000000LL

#define ESC "\x1b"
/* Names of the pad bits (hid.h's KEY_*); the circle pad's directions are C-RIGHT etc. */
static const char *const key_names[32] = {
    [0] = "A", [1] = "B", [2] = "SELECT", [3] = "START", [4] = "RIGHT", [5] = "LEFT", [6] = "UP",
    [7] = "DOWN", [8] = "R", [9] = "L", [10] = "X", [11] = "Y",
    [28] = "C-RIGHT", [29] = "C-LEFT", [30] = "C-UP", [31] = "C-DOWN",
};

/* "A B START" for the keys in `keys`, or "-". */
static void describe_keys(u32 keys, char *out, size_t size)
{
    out[0] = '\0';
    for (int bit = 0; bit < 32; bit++) {
        if ((keys & BIT(bit)) && key_names[bit]) {
            if (out[0])
                strncat(out, " ", size - strlen(out) - 1);
            strncat(out, key_names[bit], size - strlen(out) - 1);
        }
    }
    if (!out[0])
        strncpy(out, "-", size);
}

static void draw_static(Console *con)
{
    consolePuts(con, ESC "[2J" ESC "[1;1H" ESC "[30;47m");
    consolePrintf(con, "%-*s", con->columns, " hlemu console");
    consolePuts(con, ESC "[0m" ESC "[3;1H" ESC "[92mHello from hlemu's console!" ESC "[0m\n");
    consolePuts(con, "8x8 cells, 40x30 on the bottom screen,\n");
    consolePuts(con, "RGB565, drawn by the CPU.\n");
    consolePuts(con, ESC "[7;1Hcolours ");
    for (int i = 0; i < 8; i++)
        consolePrintf(con, ESC "[%dm  ", 40 + i);
    consolePuts(con, ESC "[0m" ESC "[8;1Hbright  ");
    for (int i = 0; i < 8; i++)
        consolePrintf(con, ESC "[%dm  ", 100 + i);
    consolePuts(con, ESC "[0m");
    consolePuts(con, ESC "[10;1Hframe" ESC "[11;1Hheld" ESC "[12;1Hcircle" ESC "[13;1Hpressed");
    consolePuts(con, ESC "[28;1H" ESC "[93mPress START to exit." ESC "[0m");
}

typedef struct {
    u32 held;
    circlePosition circle;
    u32 presses;
    u32 idle_seconds;
    bool drawn;
} Shown;

/* Redraw the live rows that changed (the frame counter always does). */
static void draw_live(Console *con, Shown *shown, u32 frame, u32 idle)
{
    u32 held = hidKeysHeld();
    circlePosition circle;
    hidCircleRead(&circle);
    consolePrintf(con, ESC "[10;9H" ESC "[96m%lu" ESC "[0m", (unsigned long)frame);
    if (!shown->drawn || held != shown->held) {
        char names[80];
        describe_keys(held, names, sizeof(names));
        consolePrintf(con, ESC "[11;9H%s" ESC "[K", names);
    }
    if (!shown->drawn || circle.dx != shown->circle.dx || circle.dy != shown->circle.dy)
        consolePrintf(con, ESC "[12;9H%+d,%+d" ESC "[K", circle.dx, circle.dy);
    u32 presses = shown->presses + (u32)__builtin_popcount(hidKeysDown());
    if (!shown->drawn || presses != shown->presses)
        consolePrintf(con, ESC "[13;9H%lu" ESC "[K", (unsigned long)presses);
    u32 seconds = (IDLE_FRAMES - idle + FRAMES_PER_SECOND - 1) / FRAMES_PER_SECOND;
    if (!shown->drawn || seconds != shown->idle_seconds)
        consolePrintf(con, ESC "[29;1Hidle: exits in %lu s" ESC "[K", (unsigned long)seconds);
    *shown = (Shown){held, circle, presses, seconds, true};
}

static int run(Console *con)
{
    Shown shown = {0};
    u32 idle = 0;
    for (u32 frame = 0;; frame++) {
        if (gspWaitForVBlank0(VBLANK_TIMEOUT_NS) != RESULT_SUCCESS) {
            printf("console: no VBlank within 1 s at frame %lu\n", (unsigned long)frame);
            return 1;
        }
        hidScanInput();
        u32 down = hidKeysDown();
        if (down) {
            char names[80];
            describe_keys(down, names, sizeof(names));
            printf("console: frame %lu, pressed %s\n", (unsigned long)frame, names);
        }
        if (down & KEY_START) {
            printf("console: START pressed at frame %lu\n", (unsigned long)frame);
            return 0;
        }
        circlePosition circle;
        hidCircleRead(&circle);
        idle = (hidKeysHeld() || circle.dx || circle.dy) ? 0 : idle + 1;
        if (idle >= IDLE_FRAMES) {
            printf("console: %d frames without input, done\n", IDLE_FRAMES);
            return 0;
        }
        draw_live(con, &shown, frame, idle);
        consolePresent(con);
    }
}

int main(void)
{
    printf("console: start\n");
    s32 priority = 0;
    svcGetThreadPriority(&priority, CUR_THREAD_HANDLE);
    svcSetThreadPriority(CUR_THREAD_HANDLE, priority - 1); /* see the top of this file */

    Result res = gspGpuInit();
    if (R_FAILED(res)) {
        printf("gsp: init failed 0x%08lx\n", (unsigned long)res);
        return 1;
    }
    printf("gsp: gsp::Gpu ready ok\n");
    res = hidInit();
    if (R_FAILED(res)) {
        printf("hid: init failed 0x%08lx\n", (unsigned long)res);
        gspGpuExit();
        return 1;
    }
    printf("hid: hid:USER ready ok\n");

    int status = 1;
    u16 *framebuffer = consoleAllocFramebuffer(GSP_SCREEN_BOTTOM);
    if (framebuffer == NULL) {
        printf("console: no linear memory for the framebuffer\n");
    } else {
        static Console con;
        consoleInit(&con, GSP_SCREEN_BOTTOM, framebuffer);
        draw_static(&con);
        consolePresent(&con);
        printf("console: %dx%d cells on the bottom screen, RGB565\n", con.columns, con.rows);
        status = run(&con);
    }
    hidExit();
    gspGpuExit();
    return status;
}
