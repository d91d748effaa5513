/*
 * system_font - the shared system font (APT:GetSharedFont) drawn on the top screen.
 *
 * Steps (sdk/font.h has the formats; kernel/services/shared_font.py the block):
 *   1. APT_GetSharedFont twice: both succeed with the same address (0x18000000: SYSTEM + 0 in
 *      the linear heap's view, where NS puts the font) and two different handles.
 *   2. fontEnsureMapped, libctru's way: MapMemoryBlock(handle, 0, READ, DONTCARE). hlemu's
 *      kernel does not yet place a block mapped at address 0 (it answers 0xE0E01BF5, invalid
 *      address), so the program then maps the block at 0x10400000 itself, checks the header
 *      (status 2, region 1, the font's size) and the magic "CFNU", copies the font to its heap
 *      and moves every pointer by the copy's distance from where the font belongs
 *      (fontRebase). Once the kernel maps address 0 there, step 2 succeeds and the same checks
 *      run on the block in place, without the mapping line.
 *   3. Through the second handle at 0x10800000: the same bytes as the first mapping. Then
 *      wrongly: at 0x10800000 again 0xE0A01BF5 (in use: what libctru takes as "already
 *      mapped"), over the code 0xE0E01BF5 (invalid address), read-write 0xE0E01BEE (the block
 *      lets other processes read only).
 *   4. Glyph lookups through the CMAPs: 'A' (direct map), 'e' acute (table), the euro sign
 *      (scan list), U+4E00 (not in the font: the replacement glyph U+FFFD), and the widths.
 *   5. The top framebuffer (BGR8 in VRAM) cleared to BACKGROUND, two lines of text drawn by
 *      the CPU from the A4 glyph sheets, each texel's 4-bit alpha blending the text colour
 *      over what is there: c = (under * (15 - a) + colour * a) / 15; each glyph from
 *      fontCalcGlyphPos at scale 1: its cell's top-left texel is (texcoord.left * sheet
 *      width, (1 - texcoord.top) * sheet height); glyphWidth x cellHeight texels of it go
 *      to (pen + left, baseline - baselinePos), and the pen moves by the advance. Line 1,
 *      white at pen 20, baseline 60: "Hello, 3DS font"; line 2, yellow, lineFeed + 8 lower:
 *      Latin-1 (table), the euro sign and ellipsis (scan) and U+4E00 (the replacement
 *      glyph), the Latin-1 ones on the second sheet. SetBufferSwap, then a VBlank.
 *
 * Expected output: "system_font: start", one "... ok" line per check, "system_font: 0
 * failures"; the exit status is the number of failures. tests/services/test_shared_font.py
 * compares the screen with the same text drawn in Python from the font's bytes.
 */

#include <stdio.h>
#include <malloc.h>
#include <string.h>

#include "apt.h"
#include "check.h"
#include "font.h"
#include "gspgpu.h"
#include "hlemu.h"
#include "srv.h"

#define WAIT_NS 1000000000LL
#define MAPPED 0x10400000u
#define SECOND 0x10800000u
#define THIRD 0x10C00000u
#define VRAM 0x1F000000u
#define SCREEN_W 400
#define SCREEN_H 240
#define BACKGROUND 0x203050u /* RGB */
#define WHITE 0xFFFFFFu
#define YELLOW 0xFFE040u
#define PEN_X 20
#define BASELINE 60

#define RESULT_IN_USE ((Result)0xE0A01BF5)
#define RESULT_INVALID_COMBINATION ((Result)0xE0E01BEE)

static const char *const LINE1 = "Hello, 3DS font";
static const char *const LINE2 = "Gr\xc3\xbc\xc3\x9f" "e, \xc2\xbd \xe2\x82\xac \xe2\x80\xa6 \xc3\xbf \xe4\xb8\x80";

/* The next code point of a UTF-8 string (enough for these literals: up to three bytes). */
static u32 next_code(const char **text)
{
    const u8 *s = (const u8 *)*text;
    u32 code = s[0];
    int extra = code >= 0xE0 ? 2 : code >= 0xC0 ? 1 : 0;
    code &= extra == 2 ? 0x0F : extra == 1 ? 0x1F : 0x7F;
    for (int i = 1; i <= extra; i++)
        code = code << 6 | (s[i] & 0x3F);
    *text += 1 + extra;
    return code;
}

static u8 *pixel(int x, int y)
{
    return (u8 *)VRAM + 3 * (SCREEN_H * x + SCREEN_H - 1 - y);
}

/* Texel (x, y), y down from the sheet's top, of an A4 sheet: 8x8 tiles, Morton order. */
static int alpha_at(const u8 *sheet, int width, int x, int y)
{
    int tile = (y >> 3) * (width >> 3) + (x >> 3);
    int fx = x & 7, fy = y & 7, m = 0;
    for (int b = 0; b < 3; b++)
        m |= ((fx >> b) & 1) << (2 * b) | ((fy >> b) & 1) << (2 * b + 1);
    u8 pair = sheet[tile * 32 + m / 2];
    return m & 1 ? pair >> 4 : pair & 15;
}

static void blend(int x, int y, u32 colour, int a)
{
    if (x < 0 || x >= SCREEN_W || y < 0 || y >= SCREEN_H || a == 0)
        return;
    u8 *p = pixel(x, y); /* blue, green, red */
    for (int c = 0; c < 3; c++) {
        int want = (colour >> (8 * c)) & 0xFF;
        p[c] = (u8)((p[c] * (15 - a) + want * a) / 15);
    }
}

static int draw_text(CFNT_s *font, const char *text, int pen, int baseline, u32 colour)
{
    TGLP_s *tglp = font->finf.tglp;
    int glyphs = 0;
    while (*text) {
        int index = fontGlyphIndexFromCodePoint(font, next_code(&text));
        fontGlyphPos_s pos;
        fontCalcGlyphPos(&pos, font, index, 0, 1.0f, 1.0f);
        const u8 *sheet = fontGetGlyphSheetTex(font, pos.sheetIndex);
        int tx = (int)(pos.texcoord.left * tglp->sheetWidth + 0.5f);
        int ty = (int)((1.0f - pos.texcoord.top) * tglp->sheetHeight + 0.5f);
        int x0 = pen + (int)pos.xOffset, y0 = baseline - tglp->baselinePos;
        for (int y = 0; y < tglp->cellHeight; y++)
            for (int x = 0; x < (int)pos.width; x++)
                blend(x0 + x, y0 + y, colour, alpha_at(sheet, tglp->sheetWidth, tx + x, ty + y));
        pen += (int)pos.xAdvance;
        glyphs++;
    }
    return glyphs;
}

/* The block where it is mapped: its header and the font's magic. */
static bool check_block(u32 where)
{
    const u32 *header = (const u32 *)where;
    const CFNT_s *font = (const CFNT_s *)(where + 0x80);
    check(header[0] == 2 && header[1] == 1 && header[2] == font->fileSize,
          "header: status %lu, region %lu, font size %lu", (unsigned long)header[0], (unsigned long)header[1],
          (unsigned long)header[2]);
    bool ok = memcmp(&font->signature, "CFNU", 4) == 0 && font->finf.signature == 0x464E4946u;
    check(ok, "font: CFNU, then FINF");
    return ok;
}

/* fontEnsureMapped failed: map the block ourselves and use a copy moved to where it lies. */
static CFNT_s *map_and_copy(Handle handle, u32 addr)
{
    Result res = svcMapMemoryBlock(handle, MAPPED, MEMPERM_READ, MEMPERM_DONTCARE);
    check(R_SUCCEEDED(res), "map: the block at 0x%08lx, read-only", (unsigned long)MAPPED);
    if (R_FAILED(res) || !check_block(MAPPED))
        return NULL;
    const CFNT_s *font = (const CFNT_s *)(MAPPED + 0x80);
    CFNT_s *copy = memalign(0x80, font->fileSize);
    if (copy == NULL)
        return NULL;
    memcpy(copy, font, font->fileSize);
    fontRebase(copy, (s32)((u32)copy - (addr + 0x80)));
    fontUseSharedFont(copy);
    return copy;
}

/* The second handle mapped at SECOND (the same bytes as the block at `where`), then wrongly. */
static void wrong_mappings(Handle second, u32 where)
{
    Result res = svcMapMemoryBlock(second, SECOND, MEMPERM_READ, MEMPERM_DONTCARE);
    const u32 *first = (const u32 *)where;
    bool same = R_SUCCEEDED(res) && memcmp((const void *)SECOND, first, 0x80 + first[2]) == 0;
    check(same, "the second handle at 0x%08lx: the same bytes", (unsigned long)SECOND);
    res = svcMapMemoryBlock(second, SECOND, MEMPERM_READ, MEMPERM_DONTCARE);
    check(res == RESULT_IN_USE, "map again at 0x%08lx: 0x%08lx", (unsigned long)SECOND, (unsigned long)res);
    res = svcMapMemoryBlock(second, 0x00100000, MEMPERM_READ, MEMPERM_DONTCARE);
    check(res == RESULT_INVALID_ADDRESS, "map over the code: 0x%08lx", (unsigned long)res);
    res = svcMapMemoryBlock(second, THIRD, MEMPERM_READWRITE, MEMPERM_DONTCARE);
    check(res == RESULT_INVALID_COMBINATION, "map read-write: 0x%08lx", (unsigned long)res);
    svcUnmapMemoryBlock(second, SECOND);
}

static void lookups(CFNT_s *font)
{
    int a = fontGlyphIndexFromCodePoint(font, 'A');
    int e = fontGlyphIndexFromCodePoint(font, 0xE9);
    int euro = fontGlyphIndexFromCodePoint(font, 0x20AC);
    int none = fontGlyphIndexFromCodePoint(font, 0x4E00);
    check(a == 'A' - 0x20 && e == 95 + 0xE9 - 0xA0 && euro == 196,
          "cmap: 'A' glyph %d, e acute %d, euro %d", a, e, euro);
    check(none == font->finf.alterCharIndex && none == fontGlyphIndexFromCodePoint(font, 0xFFFD),
          "cmap: U+4E00 is the replacement glyph %d", none);
    charWidthInfo_s *w = fontGetCharWidthInfo(font, a);
    printf("cwdh: 'A' left %d, width %u, advance %u\n", w->left, w->glyphWidth, w->charWidth);
    TGLP_s *t = font->finf.tglp;
    printf("tglp: %u sheets of %ux%u, format 0x%x, cells %ux%u, baseline %u\n", t->nSheets, t->sheetWidth,
           t->sheetHeight, t->sheetFmt, t->cellWidth, t->cellHeight, t->baselinePos);
}

static void draw(CFNT_s *font)
{
    for (int x = 0; x < SCREEN_W; x++)
        for (int y = 0; y < SCREEN_H; y++) {
            u8 *p = pixel(x, y);
            p[0] = BACKGROUND & 0xFF, p[1] = (BACKGROUND >> 8) & 0xFF, p[2] = BACKGROUND >> 16;
        }
    int n = draw_text(font, LINE1, PEN_X, BASELINE, WHITE);
    n += draw_text(font, LINE2, PEN_X, BASELINE + font->finf.lineFeed + 8, YELLOW);
    GSPGPU_FramebufferInfo info = {0, (u32 *)VRAM, (u32 *)VRAM, SCREEN_H * 3, GSP_BGR8_OES | GSP_FORMAT_VRAM | GSP_FORMAT_TOP_2D,
                                   0, 0};
    check(R_SUCCEEDED(GSPGPU_SetBufferSwap(GSP_SCREEN_TOP, &info)) && R_SUCCEEDED(gspWaitForVBlank0(WAIT_NS)),
          "draw: %d glyphs on the top screen, a VBlank later", n);
}

int main(void)
{
    printf("system_font: start\n");
    check(R_SUCCEEDED(srvInit()) && R_SUCCEEDED(aptInit()), "srvInit, aptInit"); /* libctru's start-up */
    Handle first = 0, second = 0;
    u32 addr = 0, again = 0;
    Result res = APT_GetSharedFont(&first, &addr);
    check(R_SUCCEEDED(res) && first != 0, "GetSharedFont: 0x%08lx, address 0x%08lx", (unsigned long)res,
          (unsigned long)addr);
    res = APT_GetSharedFont(&second, &again);
    check(R_SUCCEEDED(res) && again == addr && second != first && second != 0,
          "GetSharedFont again: the same address, another handle");
    if (first == 0 || second == 0)
        return 1;

    res = fontEnsureMapped();
    printf("fontEnsureMapped (MapMemoryBlock at address 0): 0x%08lx\n", (unsigned long)res);
    bool in_place = R_SUCCEEDED(res) && check_block(addr);
    CFNT_s *font = in_place ? fontGetSystemFont() : map_and_copy(first, addr);
    check(font != NULL, "font: ready");
    if (font == NULL)
        return 1;
    wrong_mappings(second, in_place ? addr : MAPPED);
    lookups(font);
    check(R_SUCCEEDED(gspGpuInit()), "gsp: gsp::Gpu ready");
    draw(font);
    gspGpuExit();
    aptExit();
    printf("system_font: %d failures\n", check_failures);
    return check_failures;
}
