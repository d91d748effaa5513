/*
 * gpu_lit - the PICA200's fragment lighting, as citro3d's C3D_LightEnv* sets it up: a dome (a
 * fan of 17 vertices whose normals lean out from the centre) lit by a positional warm light
 * and a directional blue one, with a specular highlight from a D0 LUT.
 *
 * The vertex shader (gpu_lit.pica -> gpu_lit_shbin.h) passes the position, the normal as a
 * quaternion and the view vector on; the SDK's output map knows neither semantic, so the
 * program writes SH_OUTMAP_O1/O2 itself (libctru's DVLE_GenerateOutmap: normalquat 4-7, view
 * 18-20). Steps:
 *   1. GX MemoryFill clears the 240x400 RGBA8 target at 0x1F200000, then PSC0.
 *   2. The vertices and the D0 LUT (N.H to the 16th power, value and difference) are built in
 *      the linear heap; one command list: the shader, the target, the viewport, TexEnv stage 0
 *      colour = primary + secondary fragment colour (sources 1 and 2, ADD), alpha = primary;
 *      the light environment (lights 0 and 1, layer config 0, clamped highlights, D0 on N.H
 *      absolute, distance and spot attenuation off, the global ambient), the LUT upload, the
 *      fan; FINALIZE. GX_ProcessCommandList, then P3D.
 *   3. Pixels read back: the dome's centre lit, the highlight near white, the corners clear.
 *   4. DisplayTransfer to the top framebuffer, SetBufferSwap.
 *
 * Expected output: "gpu_lit: start", one "... ok" line per check, "gpu_lit: 0 failures".
 * tests/gpu/test_guest.py compares the target with the reference renderer's lighting.
 */

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gpucmd.h"
#include "gspgpu.h"
#include "hlemu.h"

#include "gpu_lit_shbin.h"

#define WAIT_NS 1000000000LL
#define TARGET ((u32 *)0x1F200000u)
#define SCREEN ((u32 *)0x1F000000u)
#define TW 240
#define TH 400
#define CLEAR 0x204060FFu

#define RING 16
#define RADIUS 0.85f
#define SIN_HALF_TILT 0.564642473f /* the ring's normals lean 1.2 radians out: sin(0.6), cos(0.6) */
#define COS_HALF_TILT 0.825335615f

#define REG_LIGHTING_ENABLE0 0x008F
#define REG_LIGHT0 0x0140 /* 16 registers a light */
#define REG_LIGHTING_AMBIENT 0x01C0
#define REG_LIGHTING_NUM_LIGHTS 0x01C2
#define REG_LIGHTING_CONFIG0 0x01C3
#define REG_LIGHTING_CONFIG1 0x01C4
#define REG_LIGHTING_LUT_INDEX 0x01C5
#define REG_LIGHTING_ENABLE1 0x01C6
#define REG_LIGHTING_LUT_DATA0 0x01C8
#define REG_LIGHTING_LUTINPUT_ABS 0x01D0
#define REG_LIGHTING_LIGHT_PERMUTATION 0x01D9
#define COLOR10(r, g, b) ((u32)(r) << 20 | (u32)(g) << 10 | (u32)(b))

/* cos and sin of k * 22.5 degrees, k = 0..16 (the ring closes on itself) */
static const float ring[RING + 1][2] = {
    {1.000000000f, 0.000000000f},   {0.923879533f, 0.382683432f},   {0.707106781f, 0.707106781f},
    {0.382683432f, 0.923879533f},   {0.000000000f, 1.000000000f},   {-0.382683432f, 0.923879533f},
    {-0.707106781f, 0.707106781f},  {-0.923879533f, 0.382683432f},  {-1.000000000f, 0.000000000f},
    {-0.923879533f, -0.382683432f}, {-0.707106781f, -0.707106781f}, {-0.382683432f, -0.923879533f},
    {0.000000000f, -1.000000000f},  {0.382683432f, -0.923879533f},  {0.707106781f, -0.707106781f},
    {0.923879533f, -0.382683432f},  {1.000000000f, 0.000000000f},
};

/* Light registers from SPECULAR0 to ATTENUATION_SCALE: specular 0, specular 1, diffuse,
 * ambient, position x | y << 16 and z (float16), spot direction, -, config, bias, scale. */
static const u32 light0[12] = {COLOR10(255, 250, 230), 0, COLOR10(210, 130, 60), COLOR10(20, 10, 5),
                               0xBC00u | 0x3E00u << 16, 0x3C00u, 0, 0, 0, 0 /* positional */, 0, 0};
static const u32 light1[12] = {COLOR10(90, 100, 140), 0, COLOR10(40, 60, 170), 0,
                               0x3A66u | 0xB4CDu << 16, 0x3800u, 0, 0, 0, 1 /* directional */, 0, 0};

static u32 morton(u32 x, u32 y)
{
    return (x & 1) | (y & 1) << 1 | (x & 2) << 1 | (y & 2) << 2 | (x & 4) << 2 | (y & 4) << 3;
}

static u32 pixel(u32 x, u32 y)
{
    u32 row = TH - 1 - y;
    return TARGET[((row / 8) * (TW / 8) + x / 8) * 64 + morton(x % 8, row % 8)];
}

static bool wait_for(GSPGPU_Event id)
{
    return gspWaitForEvent(id, WAIT_NS) == RESULT_SUCCESS;
}

/* The fan: the centre, then the ring. Rows: position xyzw, quaternion xyzw, view xyz0. */
static void build_vertices(float (*v)[12])
{
    const float centre[12] = {0, 0, -0.5f, 1, 0, 0, 0, 1, 0, 0, 2.5f, 0};
    memcpy(v[0], centre, sizeof centre);
    for (int k = 0; k <= RING; k++) {
        float c = ring[k][0], s = ring[k][1], x = RADIUS * c, y = RADIUS * s;
        /* the rotation taking +z to the leaning normal: about (-s, c, 0) by 1.2 radians */
        const float row[12] = {x, y, -0.5f, 1, -s * SIN_HALF_TILT, c * SIN_HALF_TILT, 0, COS_HALF_TILT,
                               -2 * x, -2 * y, 3, 0};
        memcpy(v[k + 1], row, sizeof row);
    }
}

static float power16(float x)
{
    for (int i = 0; i < 4; i++)
        x *= x;
    return x;
}

/* 256 entries over N.H in 0..1: the value in 4095ths, the difference to the next in 2047ths. */
static void build_lut(u32 *lut)
{
    for (int k = 0; k < 256; k++) {
        float f = power16(k / 256.0f), next = power16((k + 1) / 256.0f);
        u32 value = (u32)(f * 4095 + 0.5f), diff = (u32)((next - f) * 2047 + 0.5f);
        lut[k] = value | (diff & 0x7FF) << 12;
    }
}

static u32 build(GpuCmdList *list, void *vbo, const u32 *lut)
{
    static const u8 types[3] = {GPU_FLOAT, GPU_FLOAT, GPU_FLOAT}, sizes[3] = {4, 4, 4};
    GpuShader shader;
    check(gpuShaderParse(&shader, gpu_lit_shbin, sizeof gpu_lit_shbin / 4), "shader: SHBIN parsed (%lu outputs)",
          (unsigned long)shader.output_count);
    gpucmdShader(list, &shader);
    gpucmdWrite(list, GPUREG_SH_OUTMAP_O0 + 1, 0x07060504); /* o1: normalquat x y z w */
    gpucmdWrite(list, GPUREG_SH_OUTMAP_O0 + 2, 0x1F141312); /* o2: view x y z */
    gpucmdColorBuffer(list, gpuVirtToPhys(TARGET), TW, TH, GPU_RB_RGBA8);
    gpucmdViewport(list, 0, 0, TW, TH);
    gpucmdTexEnvPrimary(list);
    /* stage 0: colour ADD(primary fragment, secondary fragment), alpha REPLACE(primary fragment) */
    const u32 stage0[5] = {1 | 2 << 4 | 1 << 16, 0, 2, 0xFFFFFFFFu, 0};
    gpucmdWriteSeq(list, GPUREG_TEXENV0_SOURCE, stage0, 5);

    gpucmdWrite(list, REG_LIGHTING_ENABLE0, 1);
    gpucmdWrite(list, REG_LIGHTING_ENABLE1, 0);
    gpucmdWriteSeq(list, REG_LIGHT0, light0, 12);
    gpucmdWriteSeq(list, REG_LIGHT0 + 0x10, light1, 12);
    gpucmdWrite(list, REG_LIGHTING_AMBIENT, COLOR10(12, 10, 24));
    gpucmdWrite(list, REG_LIGHTING_NUM_LIGHTS, 1); /* two lights */
    gpucmdWrite(list, REG_LIGHTING_CONFIG0, 1u << 27); /* layer config 0, clamp highlights */
    gpucmdWrite(list, REG_LIGHTING_CONFIG1, 0xFFFFFFFFu & ~(1u << 16)); /* only D0; no spot, no distance */
    const u32 inputs[3] = {0, 0, 0}; /* every LUT absolute, D0 on N.H, scale 1 */
    gpucmdWriteSeq(list, REG_LIGHTING_LUTINPUT_ABS, inputs, 3);
    gpucmdWrite(list, REG_LIGHTING_LIGHT_PERMUTATION, 0 | 1 << 4);
    gpucmdWrite(list, REG_LIGHTING_LUT_INDEX, 0 << 8); /* table D0, entry 0 */
    for (int k = 0; k < 256; k += 8)
        gpucmdAdd(list, REG_LIGHTING_LUT_DATA0, 0xF, false, lut + k, 8);

    gpucmdAttributes(list, gpuVirtToPhys(vbo), 48, 3, types, sizes);
    gpucmdDrawArrays(list, 2, 0, RING + 2);
    return gpucmdFinalize(list);
}

static void checks(void)
{
    u32 centre = pixel(120, 200);
    check(centre != CLEAR && (centre & 0xFF) == 0xFF, "dome: lit at its centre: %08lx", (unsigned long)centre);
    check(pixel(2, 2) == CLEAR && pixel(237, 397) == CLEAR, "clear: the corners keep the clear colour");
    u32 brightest = 0;
    for (u32 y = 40; y < 360; y += 2)
        for (u32 x = 20; x < 220; x += 2) {
            u32 p = pixel(x, y), sum = (p >> 24) + (p >> 16 & 0xFF) + (p >> 8 & 0xFF);
            brightest = sum > brightest ? sum : brightest;
        }
    check(brightest > 700, "highlight: the brightest pixel sums %lu", (unsigned long)brightest);
}

int main(void)
{
    printf("gpu_lit: start\n");
    Result res = gspGpuInit();
    check(R_SUCCEEDED(res), "gsp: gsp::Gpu ready");
    u32 addr = 0;
    if (R_SUCCEEDED(res))
        res = svcControlMemory(&addr, 0, 0, 0x10000, MEMOP_ALLOC_LINEAR, MEMPERM_READWRITE);
    check(R_SUCCEEDED(res), "linear heap: 64 KiB for the list, the vertices and the LUT");
    if (R_FAILED(res))
        return 1;
    u32 *cmdbuf = (u32 *)addr;
    float(*vbo)[12] = (float(*)[12])((u8 *)addr + 0x8000);
    u32 *lut = (u32 *)((u8 *)addr + 0x9000);
    build_vertices(vbo);
    build_lut(lut);

    res = GX_MemoryFill(TARGET, CLEAR, TARGET + TW * TH, GX_FILL_TRIGGER | GX_FILL_32BIT_DEPTH, NULL, 0, NULL, 0);
    check(R_SUCCEEDED(res) && wait_for(GSPGPU_EVENT_PSC0), "clear: MemoryFill of the target, then PSC0");

    GpuCmdList list;
    gpucmdInit(&list, cmdbuf, 0x8000 / 4);
    u32 size = build(&list, vbo, lut);
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
    printf("gpu_lit: %d failures\n", check_failures);
    return check_failures;
}
