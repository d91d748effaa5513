/*
 * gpu_font - the shared system font drawn by the GPU, its glyph sheets used in place as A4
 * textures, as citro2d draws text (one textured quad a glyph).
 *
 * Steps:
 *   1. APT_GetSharedFont, then fontEnsureMapped (libctru's MapMemoryBlock at address 0). hlemu's
 *      kernel refuses address 0 for now (0xE0E01BF5), so, as system_font does, the block is
 *      mapped at 0x10400000 and a copy of the font with its pointers moved serves the lookups;
 *      the texture addresses are the font's own (its sheet pointers are addresses in the linear
 *      heap's view, 0x18000100 on), turned physical by gpuVirtToPhys as osConvertVirtToPhys
 *      would: the GPU reads the sheets where the block lies.
 *   2. GX MemoryFill clears the 240x400 RGBA8 target in VRAM (0x1F200000) to BACKGROUND.
 *   3. One command list: gpu_textured's pass-through shader (gpu_textured_shbin.h), the colour
 *      buffer, the viewport, TexEnv stage 0 colour = primary colour, alpha = primary alpha x
 *      texture 0 alpha (MODULATE), blending src alpha / one minus src alpha; per glyph the unit
 *      0 texture (the glyph's sheet: 256x256 A4, nearest, clamp to edge) and a 4-vertex strip
 *      at fontCalcGlyphPos's vertex coordinates (GLYPH_POS_CALC_VTXCOORD | AT_BASELINE, scale
 *      1) with its texture coordinates. The two lines are system_font's: "Hello, 3DS font" in
 *      white at pen 20, baseline 60, and Latin-1, the euro sign, the ellipsis and U+4E00 in
 *      yellow lineFeed + 8 lower. Screen (x right, y down) becomes the target's window
 *      coordinates rotated, as the top screen scans the target: window x = 240 - y, window y =
 *      400 - x.
 *   4. P3D, then a DisplayTransfer to the top framebuffer, SetBufferSwap, a VBlank.
 *
 * Expected output: "gpu_font: start", one "... ok" line per check, "gpu_font: 0 failures";
 * the exit status is the number of failures. tests/services/test_shared_font.py compares the
 * screen with system_font's CPU drawing of the same lines (within one 8-bit step: the GPU
 * blends with 8-bit alphas).
 */

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "apt.h"
#include "check.h"
#include "font.h"
#include "gpucmd.h"
#include "gspgpu.h"
#include "hlemu.h"
#include "srv.h"

#include "gpu_textured_shbin.h"

#define WAIT_NS 1000000000LL
#define MAPPED 0x10400000u
#define TARGET ((u32 *)0x1F200000u)
#define SCREEN ((u32 *)0x1F000000u)
#define TW 240
#define TH 400
#define CLEAR 0x203050FFu /* RGBA8 word: R G B A */
#define PEN_X 20
#define BASELINE 60
#define MAX_GLYPHS 64

#define GPUREG_TEXENV0_OPERAND 0x00C1
#define GPUREG_TEXENV0_COMBINER 0x00C2

typedef struct {
    float pos[4], colour[4], uv[2];
} Vertex;

static const char *const LINE1 = "Hello, 3DS font";
static const char *const LINE2 = "Gr\xc3\xbc\xc3\x9f" "e, \xc2\xbd \xe2\x82\xac \xe2\x80\xa6 \xc3\xbf \xe4\xb8\x80";
static const float WHITE[4] = {1, 1, 1, 1}, YELLOW[4] = {1, 224 / 255.0f, 64 / 255.0f, 1};

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

static bool wait_for(GSPGPU_Event id)
{
    return gspWaitForEvent(id, WAIT_NS) == RESULT_SUCCESS;
}

/* The font's lookups (a moved copy when the block could not be mapped where it belongs) and
 * how far the copy's pointers are from the font's own (0: the block itself). */
static CFNT_s *open_font(s32 *delta)
{
    Handle handle = 0;
    u32 addr = 0;
    Result res = APT_GetSharedFont(&handle, &addr);
    check(R_SUCCEEDED(res), "GetSharedFont: address 0x%08lx", (unsigned long)addr);
    if (R_FAILED(res))
        return NULL;
    *delta = 0;
    res = fontEnsureMapped();
    printf("fontEnsureMapped (MapMemoryBlock at address 0): 0x%08lx\n", (unsigned long)res);
    if (R_SUCCEEDED(res))
        return fontGetSystemFont();
    res = svcMapMemoryBlock(handle, MAPPED, MEMPERM_READ, MEMPERM_DONTCARE);
    check(R_SUCCEEDED(res), "map: the block at 0x%08lx, a moved copy for the lookups", (unsigned long)MAPPED);
    if (R_FAILED(res))
        return NULL;
    const CFNT_s *font = (const CFNT_s *)(MAPPED + 0x80);
    CFNT_s *copy = memalign(0x80, font->fileSize);
    if (copy == NULL)
        return NULL;
    memcpy(copy, font, font->fileSize);
    *delta = (s32)((u32)copy - (addr + 0x80));
    fontRebase(copy, *delta);
    return copy;
}

/* A glyph's quad (screen x right, y down) as a strip in the target's clip space. */
static void quad(Vertex *v, float x0, float y0, float x1, float y1, const fontGlyphPos_s *pos, const float *colour)
{
    const float sx[4] = {x0, x1, x0, x1}, sy[4] = {y0, y0, y1, y1};
    const float u[4] = {pos->texcoord.left, pos->texcoord.right, pos->texcoord.left, pos->texcoord.right};
    const float t[4] = {pos->texcoord.top, pos->texcoord.top, pos->texcoord.bottom, pos->texcoord.bottom};
    for (int i = 0; i < 4; i++) {
        v[i] = (Vertex){{(TW - sy[i]) / (TW / 2.0f) - 1, (TH - sx[i]) / (TH / 2.0f) - 1, -0.5f, 1}, {0}, {u[i], t[i]}};
        memcpy(v[i].colour, colour, sizeof v[i].colour);
    }
}

/* TexEnv stage 0: colour the primary colour, alpha primary x texture 0; the others pass on. */
static void texenv_text(GpuCmdList *list)
{
    static const u16 stages[6] = {GPUREG_TEXENV0_SOURCE, GPUREG_TEXENV1_SOURCE, GPUREG_TEXENV2_SOURCE,
                                  GPUREG_TEXENV3_SOURCE, GPUREG_TEXENV4_SOURCE, GPUREG_TEXENV5_SOURCE};
    for (int i = 0; i < 6; i++) {
        /* sources: colour (0 primary), alpha (0 primary, 3 texture 0); previous 0xF later */
        u32 words[5] = {i ? 0x000F000Fu : 0x00300000u, 0, i ? 0 : 1u << 16 /* alpha MODULATE */, 0xFFFFFFFFu, 0};
        gpucmdWriteSeq(list, stages[i], words, 5);
    }
}

static int add_line(GpuCmdList *list, CFNT_s *font, s32 delta, Vertex *v, int first, const char *text, float pen,
                    float baseline, const float *colour)
{
    TGLP_s *tglp = font->finf.tglp;
    int n = first;
    while (*text && n < MAX_GLYPHS) {
        fontGlyphPos_s pos;
        fontCalcGlyphPos(&pos, font, fontGlyphIndexFromCodePoint(font, next_code(&text)),
                         GLYPH_POS_CALC_VTXCOORD | GLYPH_POS_AT_BASELINE, 1.0f, 1.0f);
        if (pos.width > 0) {
            quad(&v[4 * n], pen + pos.vtxcoord.left, baseline + pos.vtxcoord.top, pen + pos.vtxcoord.right,
                 baseline + pos.vtxcoord.bottom, &pos, colour);
            u8 *sheet = (u8 *)fontGetGlyphSheetTex(font, pos.sheetIndex) - delta; /* the font's own address */
            gpucmdTexture(list, 0, gpuVirtToPhys(sheet), tglp->sheetWidth, tglp->sheetHeight, tglp->sheetFmt,
                          GPU_TEXTURE_WRAP_S(GPU_CLAMP_TO_EDGE) | GPU_TEXTURE_WRAP_T(GPU_CLAMP_TO_EDGE), 0);
            gpucmdDrawArrays(list, 1, 4 * n, 4);
            n++;
        }
        pen += pos.xAdvance;
    }
    return n;
}

static u32 build(GpuCmdList *list, CFNT_s *font, s32 delta, Vertex *vbo, int *glyphs)
{
    static const u8 types[3] = {GPU_FLOAT, GPU_FLOAT, GPU_FLOAT}, sizes[3] = {4, 4, 2};
    GpuShader shader;
    gpuShaderParse(&shader, gpu_textured_shbin, sizeof gpu_textured_shbin / 4);
    gpucmdShader(list, &shader);
    gpucmdColorBuffer(list, gpuVirtToPhys(TARGET), TW, TH, GPU_RB_RGBA8);
    gpucmdViewport(list, 0, 0, TW, TH);
    gpucmdWrite(list, GPUREG_COLOR_OPERATION, 0x00E40100u); /* blending on */
    /* add, add; colour src alpha, one minus src alpha; alpha one, zero */
    gpucmdWrite(list, GPUREG_BLEND_FUNC, 6u << 16 | 7u << 20 | 1u << 24 | 0u << 28);
    gpucmdTexUnits(list, 1);
    gpucmdAttributes(list, gpuVirtToPhys(vbo), sizeof(Vertex), 3, types, sizes);
    texenv_text(list);
    int n = add_line(list, font, delta, vbo, 0, LINE1, PEN_X, BASELINE, WHITE);
    *glyphs = add_line(list, font, delta, vbo, n, LINE2, PEN_X, BASELINE + font->finf.lineFeed + 8, YELLOW);
    return gpucmdFinalize(list);
}

int main(void)
{
    printf("gpu_font: start\n");
    check(R_SUCCEEDED(srvInit()) && R_SUCCEEDED(aptInit()), "srvInit, aptInit");
    s32 delta = 0;
    CFNT_s *font = open_font(&delta);
    check(font != NULL && font->finf.tglp->sheetFmt == GPU_A4, "font: ready, A4 sheets");
    Result res = gspGpuInit();
    check(R_SUCCEEDED(res), "gsp: gsp::Gpu ready");
    u32 addr = 0;
    if (R_SUCCEEDED(res))
        res = svcControlMemory(&addr, 0, 0, 0x10000, MEMOP_ALLOC_LINEAR, MEMPERM_READWRITE);
    check(R_SUCCEEDED(res), "linear heap: 64 KiB for the list and the vertices");
    if (font == NULL || R_FAILED(res))
        return 1;
    u32 *cmdbuf = (u32 *)addr;
    Vertex *vbo = (Vertex *)((u8 *)addr + 0x8000);

    res = GX_MemoryFill(TARGET, CLEAR, TARGET + TW * TH, GX_FILL_TRIGGER | GX_FILL_32BIT_DEPTH, NULL, 0, NULL, 0);
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_PSC0), "clear: MemoryFill of the target, then PSC0");
    GpuCmdList list;
    gpucmdInit(&list, cmdbuf, 0x8000 / 4);
    int glyphs = 0;
    u32 size = build(&list, font, delta, vbo, &glyphs);
    check(!list.overflow, "list: %d glyph quads, %lu bytes", glyphs, (unsigned long)size);
    res = GX_ProcessCommandList(cmdbuf, size, 0);
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_P3D), "draw: ProcessCommandList, then P3D");

    res = GX_DisplayTransfer(TARGET, GX_BUFFER_DIM(TW, TH), SCREEN, GX_BUFFER_DIM(TW, TH),
                             GX_TRANSFER_IN_FORMAT(GX_TRANSFER_FMT_RGBA8) | GX_TRANSFER_OUT_FORMAT(GX_TRANSFER_FMT_RGB8));
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_PPF), "present: DisplayTransfer to the framebuffer, then PPF");
    GSPGPU_FramebufferInfo info = {0, SCREEN, SCREEN, TW * 3, GSP_BGR8_OES | GSP_FORMAT_VRAM | GSP_FORMAT_TOP_2D, 0, 0};
    check(R_SUCCEEDED(GSPGPU_SetBufferSwap(GSP_SCREEN_TOP, &info)) && R_SUCCEEDED(gspWaitForVBlank0(WAIT_NS)),
          "present: on the top screen, a VBlank later");
    gspGpuExit();
    aptExit();
    printf("gpu_font: %d failures\n", check_failures);
    return check_failures;
}
