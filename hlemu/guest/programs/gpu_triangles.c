/*
 * gpu_triangles - the PICA200 draws: a clear, a flat triangle and an interpolated one, from a
 * command list built by hand (sdk/gpucmd.h) with a vertex shader assembled by
 * scripts/pica_asm.py (gpu_triangles.pica -> gpu_triangles_shbin.h).
 *
 * The render target is 240x400 RGBA8 in VRAM at 0x1F200000 (the top screen's size, stored
 * as citro3d's targets are: tiled, bottom row first). Steps:
 *   1. GX MemoryFill clears it to (0x20, 0x40, 0x60, 0xFF), then PSC0.
 *   2. One command list: the shader, the colour buffer, the viewport, TexEnv stage 0 REPLACE
 *      primary colour, an array of 6 vertices (position xyzw, colour rgba, floats); the matrix
 *      uniform c0-c3 the identity, draw vertices 0-2 (the flat triangle); c0 = (0.5, 0, 0,
 *      0.25) (x halved and moved right), draw vertices 3-5 (red, green and blue corners);
 *      FINALIZE. GX_ProcessCommandList, then P3D.
 *   3. The CPU reads back pixels: inside the flat triangle its colour, outside the clear
 *      colour, inside the second a mixture.
 *   4. DisplayTransfer to the top framebuffer (BGR8 in VRAM at 0x1F000000), SetBufferSwap.
 *
 * Expected output: "gpu_triangles: start", one "... ok" line per check, "gpu_triangles: 0
 * failures"; the exit status is the number of failures. tests/gpu/test_guest.py compares the
 * render target with its reference renderer.
 */

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gpucmd.h"
#include "gspgpu.h"
#include "hlemu.h"

#include "gpu_triangles_shbin.h"

#define WAIT_NS 1000000000LL
#define TARGET ((u32 *)0x1F200000u)
#define SCREEN ((u32 *)0x1F000000u)
#define TW 240
#define TH 400
#define CLEAR 0x204060FFu /* RGBA8 word: R G B A */

static const float vertices[6][8] = {
    {-0.8f, -0.9f, -0.5f, 1.0f, 0.8f, 0.2f, 0.4f, 1.0f}, /* flat */
    {0.8f, -0.9f, -0.5f, 1.0f, 0.8f, 0.2f, 0.4f, 1.0f},
    {0.0f, -0.1f, -0.5f, 1.0f, 0.8f, 0.2f, 0.4f, 1.0f},
    {-0.9f, 0.1f, -0.5f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f}, /* interpolated */
    {0.9f, 0.2f, -0.5f, 1.0f, 0.0f, 1.0f, 0.0f, 1.0f},
    {0.0f, 0.95f, -0.5f, 1.0f, 0.0f, 0.0f, 1.0f, 1.0f},
};
static const float identity[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
static const float squeeze[4] = {0.5f, 0, 0, 0.25f};

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

static u32 build(GpuCmdList *list, void *vbo)
{
    static const u8 types[2] = {GPU_FLOAT, GPU_FLOAT}, sizes[2] = {4, 4};
    GpuShader shader;
    check(gpuShaderParse(&shader, gpu_triangles_shbin, sizeof gpu_triangles_shbin / 4),
          "shader: SHBIN parsed (%lu code words, %lu descriptors)", (unsigned long)shader.code_words,
          (unsigned long)shader.opdescs);
    gpucmdShader(list, &shader);
    for (int i = 0; i < 4; i++)
        gpucmdUniform(list, i, identity[i]);
    gpucmdColorBuffer(list, gpuVirtToPhys(TARGET), TW, TH, GPU_RB_RGBA8);
    gpucmdViewport(list, 0, 0, TW, TH);
    gpucmdTexEnvPrimary(list);
    gpucmdAttributes(list, gpuVirtToPhys(vbo), sizeof vertices[0], 2, types, sizes);
    gpucmdDrawArrays(list, 0, 0, 3);
    gpucmdUniform(list, 0, squeeze);
    gpucmdDrawArrays(list, 0, 3, 3);
    return gpucmdFinalize(list);
}

static void checks(void)
{
    check(pixel(120, 100) == 0xCC3366FFu, "flat: its colour at (120, 100): %08lx", (unsigned long)pixel(120, 100));
    check(pixel(5, 5) == CLEAR && pixel(235, 395) == CLEAR, "clear: the corners keep the clear colour");
    u32 p = pixel(150, 260);
    u32 r = p >> 24, g = (p >> 16) & 0xFF, b = (p >> 8) & 0xFF;
    check(r && g && b && r + g + b >= 250 && r + g + b <= 260, "interpolated: a mixture at (150, 260): %08lx",
          (unsigned long)p);
    check(pixel(60, 240) == CLEAR, "interpolated: x halved, so (60, 240) is outside it");
}

int main(void)
{
    printf("gpu_triangles: start\n");
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
    printf("gpu_triangles: %d failures\n", check_failures);
    return check_failures;
}
