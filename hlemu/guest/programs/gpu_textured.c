/*
 * gpu_textured - the PICA200's texture units: two textured quads from one command list
 * (sdk/gpucmd.h), the vertex shader gpu_textured.pica (assembled by scripts/pica_asm.py into
 * gpu_textured_shbin.h) giving texture coordinates 0 and 1.
 *
 * The render target is 240x400 RGBA8 in VRAM at 0x1F200000, as gpu_triangles'. Textures, in
 * VRAM too, written by the CPU in the 3DS's tiled layout:
 *   - unit 0: 32x32 RGBA4 at 0x1F280000, texel (x, y from the top) = (x / 2, y / 2, 15 on a
 *     4x4-texel checker, 15) in 4-bit channels; linear filtering, repeat;
 *   - unit 1: 8x8 ETC1 at 0x1F281000, four hand-made 4x4 blocks (tests/gpu/test_texture.py
 *     works their colours out); nearest, clamp to border, border colour 10e030ff.
 * Steps:
 *   1. GX MemoryFill clears the target to (0x20, 0x40, 0x60, 0xFF), then PSC0.
 *   2. One list: the shader, the colour buffer, the viewport, both units, TexEnv stage 0
 *      REPLACE texture 0, a strip over pixels x 24..216, y 20..180 with texture coordinates
 *      0..2 (the texture twice in each direction); TexEnv REPLACE texture 1, a strip over
 *      y 220..380 with coordinates -0.25..1.25 (the border around the texture); FINALIZE.
 *      GX_ProcessCommandList, then P3D.
 *   3. The CPU reads back pixels: an ETC1 texel worked out by hand, the border, the repeat.
 *   4. DisplayTransfer to the top framebuffer, SetBufferSwap.
 *
 * Expected output: "gpu_textured: start", one "... ok" line per check, "gpu_textured: 0
 * failures"; the exit status is the number of failures. tests/gpu/test_guest.py compares the
 * render target with its reference renderer.
 */

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gpucmd.h"
#include "gspgpu.h"
#include "hlemu.h"

#include "gpu_textured_shbin.h"

#define WAIT_NS 1000000000LL
#define TARGET ((u32 *)0x1F200000u)
#define SCREEN ((u32 *)0x1F000000u)
#define TEX0 ((u16 *)0x1F280000u)
#define TEX1 ((u64 *)0x1F281000u)
#define TW 240
#define TH 400
#define CLEAR 0x204060FFu  /* RGBA8 word: R G B A */
#define BORDER 0x10E030FFu /* unit 1's border colour */

/* position xyzw, colour rgba, texture coordinate uv: two strips */
static const float vertices[8][10] = {
    {-0.8f, -0.9f, 0.5f, 1.0f, 1, 1, 1, 1, 0.0f, 0.0f},
    {0.8f, -0.9f, 0.5f, 1.0f, 1, 1, 1, 1, 2.0f, 0.0f},
    {-0.8f, -0.1f, 0.5f, 1.0f, 1, 1, 1, 1, 0.0f, 2.0f},
    {0.8f, -0.1f, 0.5f, 1.0f, 1, 1, 1, 1, 2.0f, 2.0f},
    {-0.8f, 0.1f, 0.5f, 1.0f, 1, 1, 1, 1, -0.25f, -0.25f},
    {0.8f, 0.1f, 0.5f, 1.0f, 1, 1, 1, 1, 1.25f, -0.25f},
    {-0.8f, 0.9f, 0.5f, 1.0f, 1, 1, 1, 1, -0.25f, 1.25f},
    {0.8f, 0.9f, 0.5f, 1.0f, 1, 1, 1, 1, 1.25f, 1.25f},
};
/* ETC1 blocks, top left, top right, bottom left, bottom right: individual mode (A), differential
 * and flipped (B), A flipped, B not flipped. Each 64-bit word is stored little-endian. */
static const u64 etc1[4] = {0xF102831C10801200ull, 0x57A3FC7708042800ull, 0xF102831D10801200ull,
                            0x57A3FC7608042800ull};

static u32 morton(u32 x, u32 y)
{
    return (x & 1) | (y & 1) << 1 | (x & 2) << 1 | (y & 2) << 2 | (x & 4) << 2 | (y & 4) << 3;
}

/* The RGBA8 word of the target's pixel (x, y), y up from the bottom. */
static u32 pixel(u32 x, u32 y)
{
    u32 row = TH - 1 - y;
    return TARGET[((row / 8) * (TW / 8) + x / 8) * 64 + morton(x % 8, row % 8)];
}

static bool wait_for(GSPGPU_Event id)
{
    return gspWaitForEvent(id, WAIT_NS) == RESULT_SUCCESS;
}

static void make_textures(void)
{
    for (u32 y = 0; y < 32; y++) /* y: the row in memory, the top of the texture first */
        for (u32 x = 0; x < 32; x++) {
            u32 b = ((x >> 2) ^ (y >> 2)) & 1 ? 15 : 0;
            TEX0[((y / 8) * 4 + x / 8) * 64 + morton(x % 8, y % 8)] = (u16)((x >> 1) << 12 | (y >> 1) << 8 | b << 4 | 15);
        }
    memcpy(TEX1, etc1, sizeof etc1);
}

static u32 build(GpuCmdList *list, void *vbo)
{
    static const u8 types[3] = {GPU_FLOAT, GPU_FLOAT, GPU_FLOAT}, sizes[3] = {4, 4, 2};
    GpuShader shader;
    check(gpuShaderParse(&shader, gpu_textured_shbin, sizeof gpu_textured_shbin / 4),
          "shader: SHBIN parsed (%lu code words, %lu descriptors)", (unsigned long)shader.code_words,
          (unsigned long)shader.opdescs);
    gpucmdShader(list, &shader);
    gpucmdColorBuffer(list, gpuVirtToPhys(TARGET), TW, TH, GPU_RB_RGBA8);
    gpucmdViewport(list, 0, 0, TW, TH);
    gpucmdTexture(list, 0, gpuVirtToPhys(TEX0), 32, 32, GPU_RGBA4,
                  GPU_TEXTURE_MAG_FILTER(GPU_LINEAR) | GPU_TEXTURE_MIN_FILTER(GPU_LINEAR) |
                      GPU_TEXTURE_WRAP_S(GPU_REPEAT) | GPU_TEXTURE_WRAP_T(GPU_REPEAT),
                  0);
    gpucmdTexture(list, 1, gpuVirtToPhys(TEX1), 8, 8, GPU_ETC1,
                  GPU_TEXTURE_WRAP_S(GPU_CLAMP_TO_BORDER) | GPU_TEXTURE_WRAP_T(GPU_CLAMP_TO_BORDER), BORDER);
    gpucmdTexUnits(list, 3);
    gpucmdAttributes(list, gpuVirtToPhys(vbo), sizeof vertices[0], 3, types, sizes);
    gpucmdTexEnvTexture(list, 0);
    gpucmdDrawArrays(list, 1, 0, 4);
    gpucmdTexEnvTexture(list, 1);
    gpucmdDrawArrays(list, 1, 4, 4);
    return gpucmdFinalize(list);
}

static void checks(void)
{
    /* Quad 2: 12 texels over 192 pixels across, 160 up; texel s = (x - 24 + 0.5) / 16 - 2, so
     * texel 0 at x 56..71; texel row 7 (the top, memory row 0) at y 340..352. Block A's texel
     * (0, 0): base (F, 0, 8) -> (255, 0, 136), table 0, index 0: +2 -> (255, 2, 138). */
    check(pixel(60, 345) == 0xFF028AFFu, "etc1: block A's first texel at (60, 345): %08lx",
          (unsigned long)pixel(60, 345));
    check(pixel(30, 230) == BORDER && pixel(210, 375) == BORDER, "border: around the ETC1 texture");
    /* Quad 1: the 32-texel texture repeats every 96 pixels across and every 80 up. */
    check(pixel(40, 60) == pixel(136, 60) && pixel(40, 60) == pixel(40, 140) && pixel(40, 60) != CLEAR,
          "repeat: (40, 60) = (136, 60) = (40, 140): %08lx", (unsigned long)pixel(40, 60));
    check(pixel(5, 5) == CLEAR && pixel(235, 395) == CLEAR && pixel(120, 200) == CLEAR,
          "clear: the corners and the gap keep the clear colour");
}

int main(void)
{
    printf("gpu_textured: start\n");
    Result res = gspGpuInit();
    check(R_SUCCEEDED(res), "gsp: gsp::Gpu ready");
    u32 addr = 0;
    if (R_SUCCEEDED(res))
        res = svcControlMemory(&addr, 0, 0, 0x10000, MEMOP_ALLOC_LINEAR, MEMPERM_READWRITE);
    check(R_SUCCEEDED(res), "linear heap: 64 KiB for the list and the vertices");
    if (R_FAILED(res))
        return 1;
    u32 *cmdbuf = (u32 *)addr;
    void *vbo = (u8 *)addr + 0x8000;
    memcpy(vbo, vertices, sizeof vertices);
    make_textures();

    res = GX_MemoryFill(TARGET, CLEAR, TARGET + TW * TH, GX_FILL_TRIGGER | GX_FILL_32BIT_DEPTH, NULL, 0, NULL, 0);
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_PSC0), "clear: MemoryFill of the target, then PSC0");

    GpuCmdList list;
    gpucmdInit(&list, cmdbuf, 0x8000 / 4);
    u32 size = build(&list, vbo);
    check(!list.overflow, "list: %lu bytes", (unsigned long)size);
    res = GX_ProcessCommandList(cmdbuf, size, 0);
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_P3D), "draw: ProcessCommandList, then P3D");
    checks();

    res = GX_DisplayTransfer(TARGET, GX_BUFFER_DIM(TW, TH), SCREEN, GX_BUFFER_DIM(TW, TH),
                             GX_TRANSFER_IN_FORMAT(GX_TRANSFER_FMT_RGBA8) | GX_TRANSFER_OUT_FORMAT(GX_TRANSFER_FMT_RGB8));
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_PPF), "present: DisplayTransfer to the framebuffer, then PPF");
    GSPGPU_FramebufferInfo info = {0, SCREEN, SCREEN, TW * 3, GSP_BGR8_OES | GSP_FORMAT_VRAM | GSP_FORMAT_TOP_2D, 0, 0};
    check(R_SUCCEEDED(GSPGPU_SetBufferSwap(GSP_SCREEN_TOP, &info)) && R_SUCCEEDED(gspWaitForVBlank0(WAIT_NS)),
          "present: on the top screen, a VBlank later");
    gspGpuExit();
    printf("gpu_textured: %d failures\n", check_failures);
    return check_failures;
}
