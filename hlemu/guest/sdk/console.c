/*
 * console.c - a text console in an RGB565 framebuffer (see console.h for what it understands).
 *
 * Drawing is plain CPU stores into the framebuffer, a cell (8 columns of 8 pixels) at a time;
 * the screen shows it once the framebuffer is presented (consolePresent) and, after that,
 * whatever the program writes, as the display reads the framebuffer at every VBlank.
 */

#include "console.h"

#include <stdio.h>
#include <string.h>

#include "gspgpu.h"

#define RGB565(r, g, b) ((u16)((((r) >> 3) << 11) | (((g) >> 2) << 5) | ((b) >> 3)))
#define NORMAL 0xAA /* channel level of the 8 normal colours; the bright ones add 0x55 */
#define LOW 0x55
#define FULL 0xFF
#define TAB 4
#define PRINTF_BUFFER 256

/* The usual 16 ANSI colours: 8 normal, then 8 bright. */
const u16 console_palette[16] = {
    RGB565(0, 0, 0),          RGB565(NORMAL, 0, 0),      RGB565(0, NORMAL, 0),    RGB565(NORMAL, NORMAL, 0),
    RGB565(0, 0, NORMAL),     RGB565(NORMAL, 0, NORMAL), RGB565(0, NORMAL, NORMAL), RGB565(NORMAL, NORMAL, NORMAL),
    RGB565(LOW, LOW, LOW),    RGB565(FULL, LOW, LOW),    RGB565(LOW, FULL, LOW),  RGB565(FULL, FULL, LOW),
    RGB565(LOW, LOW, FULL),   RGB565(FULL, LOW, FULL),   RGB565(LOW, FULL, FULL), RGB565(FULL, FULL, FULL),
};

static int screen_columns(u32 screen)
{
    return screen == GSP_SCREEN_TOP ? CONSOLE_TOP_COLUMNS : CONSOLE_BOTTOM_COLUMNS;
}

u32 consoleFramebufferSize(u32 screen)
{
    return (u32)screen_columns(screen) * CONSOLE_CELL * CONSOLE_STRIDE;
}

u16 *consoleAllocFramebuffer(u32 screen)
{
    u32 size = (consoleFramebufferSize(screen) + 0xFFF) & ~0xFFFu;
    u32 addr = 0;
    Result res = svcControlMemory(&addr, 0, 0, size, MEMOP_ALLOC_LINEAR, MEMPERM_READWRITE);
    return R_FAILED(res) ? NULL : (u16 *)addr;
}

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static u16 foreground(const Console *con)
{
    u8 index = con->fg < 8 && con->bright ? con->fg + 8 : con->fg;
    return console_palette[con->reverse ? con->bg : index];
}

static u16 background(const Console *con)
{
    u8 index = con->fg < 8 && con->bright ? con->fg + 8 : con->fg;
    return console_palette[con->reverse ? index : con->bg];
}

/* The framebuffer's u16 at the bottom pixel of cell (cx, cy)'s first column. Pixel (x, y) is
 * at 240 * x + 239 - y; the cell's rows are y = 8 * cy .. 8 * cy + 7, the last one lowest. */
static u16 *cell_base(const Console *con, int cx, int cy)
{
    return con->framebuffer + (u32)(cx * CONSOLE_CELL) * CONSOLE_SCREEN_PIXELS
           + (CONSOLE_SCREEN_PIXELS - 1 - (cy * CONSOLE_CELL + CONSOLE_CELL - 1));
}

static void draw_cell(const Console *con, int cx, int cy, int c)
{
    const u8 *glyph = console_font[c & 0x7F];
    u16 fg = foreground(con), bg = background(con);
    u16 *column = cell_base(con, cx, cy);
    for (int i = 0; i < CONSOLE_CELL; i++, column += CONSOLE_SCREEN_PIXELS) {
        u8 mask = (u8)(0x80 >> i);
        for (int row = 0; row < CONSOLE_CELL; row++)
            column[CONSOLE_CELL - 1 - row] = (glyph[row] & mask) ? fg : bg;
    }
}

/* Cells first..end-1 of row cy, blank in the background colour. */
static void clear_cells(const Console *con, int cy, int first, int end)
{
    for (int cx = first; cx < end; cx++)
        draw_cell(con, cx, cy, ' ');
}

static void fill_screen(const Console *con, u16 colour)
{
    u32 pair = (u32)colour | (u32)colour << 16;
    u32 *dst = (u32 *)con->framebuffer;
    for (u32 n = consoleFramebufferSize(con->screen) / 4; n; n--)
        *dst++ = pair;
}

/* Everything moves up a row (8 pixels: towards the end of each column), and the last row
 * is cleared. */
static void scroll(const Console *con)
{
    u16 bg = background(con);
    u16 *column = con->framebuffer;
    for (int x = 0; x < con->columns * CONSOLE_CELL; x++, column += CONSOLE_SCREEN_PIXELS) {
        memmove(column + CONSOLE_CELL, column, (CONSOLE_SCREEN_PIXELS - CONSOLE_CELL) * sizeof(u16));
        for (int i = 0; i < CONSOLE_CELL; i++)
            column[i] = bg;
    }
}

static void new_line(Console *con)
{
    con->x = 0;
    if (++con->y >= con->rows) {
        scroll(con);
        con->y = con->rows - 1;
    }
}

void consoleClear(Console *con)
{
    fill_screen(con, background(con));
    con->x = con->y = 0;
}

void consoleInit(Console *con, u32 screen, u16 *framebuffer)
{
    memset(con, 0, sizeof(*con));
    con->framebuffer = framebuffer;
    con->screen = screen;
    con->columns = screen_columns(screen);
    con->rows = CONSOLE_ROWS;
    con->fg = CONSOLE_WHITE;
    con->bg = CONSOLE_BLACK;
    consoleClear(con);
}

Result consolePresent(const Console *con)
{
    u32 mode = GSP_FORMAT_LINEAR | (con->screen == GSP_SCREEN_TOP ? GSP_FORMAT_TOP_2D : 0);
    GSPGPU_FramebufferInfo info = {
        .active_framebuf = 0,
        .framebuf0_vaddr = (u32 *)con->framebuffer,
        .framebuf1_vaddr = (u32 *)con->framebuffer,
        .framebuf_widthbytesize = CONSOLE_STRIDE,
        .format = mode | GSP_RGB565_OES,
        .framebuf_dispselect = 0,
        .unk = 0,
    };
    return GSPGPU_SetBufferSwap(con->screen, &info);
}

/* Parameter i of the escape being run, or `fallback` when it is missing or 0. */
static int arg(const Console *con, int i, int fallback)
{
    return i < con->nargs && i < CONSOLE_MAX_ARGS && con->args[i] ? con->args[i] : fallback;
}

static void set_colours(Console *con)
{
    if (con->nargs == 0) {
        con->nargs = 1; /* ESC[m is ESC[0m */
        con->args[0] = 0;
    }
    for (int i = 0; i < con->nargs && i < CONSOLE_MAX_ARGS; i++) {
        int code = con->args[i];
        if (code == 0) {
            con->fg = CONSOLE_WHITE;
            con->bg = CONSOLE_BLACK;
            con->bright = con->reverse = false;
        } else if (code == 1) {
            con->bright = true;
        } else if (code == 22) {
            con->bright = false;
        } else if (code == 7) {
            con->reverse = true;
        } else if (code == 27) {
            con->reverse = false;
        } else if (code >= 30 && code <= 37) {
            con->fg = (u8)(code - 30);
        } else if (code == 39) {
            con->fg = CONSOLE_WHITE;
        } else if (code >= 40 && code <= 47) {
            con->bg = (u8)(code - 40);
        } else if (code == 49) {
            con->bg = CONSOLE_BLACK;
        } else if (code >= 90 && code <= 97) {
            con->fg = (u8)(code - 90 + CONSOLE_BRIGHT);
        } else if (code >= 100 && code <= 107) {
            con->bg = (u8)(code - 100 + CONSOLE_BRIGHT);
        }
    }
}

static void clear_screen_part(Console *con, int mode)
{
    if (mode == 2) {
        consoleClear(con);
        return;
    }
    int x = clamp(con->x, 0, con->columns - 1);
    if (mode == 0) {
        clear_cells(con, con->y, x, con->columns);
        for (int cy = con->y + 1; cy < con->rows; cy++)
            clear_cells(con, cy, 0, con->columns);
    } else if (mode == 1) {
        for (int cy = 0; cy < con->y; cy++)
            clear_cells(con, cy, 0, con->columns);
        clear_cells(con, con->y, 0, x + 1);
    }
}

static void clear_line_part(Console *con, int mode)
{
    int x = clamp(con->x, 0, con->columns - 1);
    if (mode == 0)
        clear_cells(con, con->y, x, con->columns);
    else if (mode == 1)
        clear_cells(con, con->y, 0, x + 1);
    else if (mode == 2)
        clear_cells(con, con->y, 0, con->columns);
}

static void run_escape(Console *con, int final)
{
    int last_x = con->columns - 1, last_y = con->rows - 1;
    switch (final) {
    case 'H':
    case 'f':
        con->y = clamp(arg(con, 0, 1) - 1, 0, last_y);
        con->x = clamp(arg(con, 1, 1) - 1, 0, last_x);
        break;
    case 'A':
        con->y = clamp(con->y - arg(con, 0, 1), 0, last_y);
        break;
    case 'B':
        con->y = clamp(con->y + arg(con, 0, 1), 0, last_y);
        break;
    case 'C':
        con->x = clamp(con->x + arg(con, 0, 1), 0, last_x);
        break;
    case 'D':
        con->x = clamp(con->x - arg(con, 0, 1), 0, last_x);
        break;
    case 'J':
        clear_screen_part(con, con->nargs ? con->args[0] : 0);
        break;
    case 'K':
        clear_line_part(con, con->nargs ? con->args[0] : 0);
        break;
    case 's':
        con->saved_x = con->x;
        con->saved_y = con->y;
        break;
    case 'u':
        con->x = con->saved_x;
        con->y = con->saved_y;
        break;
    case 'm':
        set_colours(con);
        break;
    default:
        break; /* not one of ours: skipped */
    }
}

/* A byte inside ESC[ ... : digits and ';' build the parameters, anything else ends it. */
static void escape_byte(Console *con, int c)
{
    if (c >= '0' && c <= '9') {
        if (con->nargs == 0)
            con->nargs = 1;
        if (con->nargs <= CONSOLE_MAX_ARGS && con->args[con->nargs - 1] < 10000)
            con->args[con->nargs - 1] = con->args[con->nargs - 1] * 10 + (c - '0');
        return;
    }
    if (c == ';') {
        if (con->nargs == 0)
            con->nargs = 1; /* an empty first parameter */
        if (con->nargs < CONSOLE_MAX_ARGS)
            con->args[con->nargs] = 0;
        con->nargs++;
        return;
    }
    con->escape = 0;
    run_escape(con, c);
}

static void text_byte(Console *con, int c)
{
    switch (c) {
    case 0x1B:
        con->escape = 1;
        break;
    case '\n':
        new_line(con);
        break;
    case '\r':
        con->x = 0;
        break;
    case '\t':
        do
            text_byte(con, ' ');
        while (con->x % TAB != 0 && con->x < con->columns);
        break;
    case '\b':
        if (con->x > 0) {
            con->x--;
            draw_cell(con, con->x, con->y, ' ');
        }
        break;
    default:
        if (c < 0x20)
            break; /* other control characters do nothing */
        if (con->x >= con->columns)
            new_line(con);
        draw_cell(con, con->x, con->y, c < 0x7F ? c : '?');
        con->x++;
        break;
    }
}

void consolePutChar(Console *con, int c)
{
    c &= 0xFF;
    if (con->escape == 1) {
        if (c == '[') {
            con->escape = 2;
            con->nargs = 0;
            memset(con->args, 0, sizeof(con->args));
        } else {
            con->escape = 0;
        }
    } else if (con->escape == 2) {
        escape_byte(con, c);
    } else {
        text_byte(con, c);
    }
}

void consoleWrite(Console *con, const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++)
        consolePutChar(con, (unsigned char)text[i]);
}

void consolePuts(Console *con, const char *text)
{
    consoleWrite(con, text, strlen(text));
}

int consoleVprintf(Console *con, const char *format, va_list args)
{
    char buffer[PRINTF_BUFFER];
    int n = vsnprintf(buffer, sizeof(buffer), format, args);
    if (n > 0)
        consoleWrite(con, buffer, (size_t)n < sizeof(buffer) ? (size_t)n : sizeof(buffer) - 1);
    return n;
}

int consolePrintf(Console *con, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int n = consoleVprintf(con, format, args);
    va_end(args);
    return n;
}
