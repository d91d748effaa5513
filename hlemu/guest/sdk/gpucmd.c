/* gpucmd.c - see gpucmd.h. */
#include "gpucmd.h"

#include <string.h>

void gpucmdInit(GpuCmdList *list, u32 *buf, u32 words)
{
    list->buf = buf;
    list->capacity = words;
    list->length = 0;
    list->overflow = false;
}

void gpucmdAdd(GpuCmdList *list, u16 reg, u8 mask, bool consecutive, const u32 *params, u32 count)
{
    u32 need = count + 1 + ((count + 1) & 1);
    if (count == 0 || count > 256 || list->length + need > list->capacity) {
        list->overflow = true;
        return;
    }
    u32 *p = list->buf + list->length;
    p[0] = params[0];
    p[1] = reg | (u32)(mask & 0xF) << 16 | (count - 1) << 20 | (consecutive ? 1u << 31 : 0);
    for (u32 i = 1; i < count; i++)
        p[1 + i] = params[i];
    if ((count + 1) & 1)
        p[count + 1] = 0;
    list->length += need;
}

void gpucmdWrite(GpuCmdList *list, u16 reg, u32 value)
{
    gpucmdAdd(list, reg, 0xF, false, &value, 1);
}

void gpucmdWriteMasked(GpuCmdList *list, u16 reg, u32 value, u8 mask)
{
    gpucmdAdd(list, reg, mask, false, &value, 1);
}

void gpucmdWriteSeq(GpuCmdList *list, u16 reg, const u32 *values, u32 count)
{
    gpucmdAdd(list, reg, 0xF, true, values, count);
}

u32 gpucmdFinalize(GpuCmdList *list)
{
    gpucmdWrite(list, GPUREG_FINALIZE, 0x12345678);
    gpucmdWrite(list, GPUREG_FINALIZE, 0x12345678); /* as citro3d: the list ends 16-byte aligned */
    return list->length * 4;
}

static u32 rd32(const u8 *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24;
}

bool gpuShaderParse(GpuShader *out, const u32 *shbin, u32 words)
{
    if (words < 3 || shbin[0] != 0x424C5644 || shbin[1] < 1) /* "DVLB" */
        return false;
    const u32 *dvlp = shbin + 2 + shbin[1];
    const u32 *dvle = shbin + shbin[2] / 4;
    if (dvlp + 6 > shbin + words || dvle + 16 > shbin + words || dvlp[0] != 0x504C5644 || dvle[0] != 0x454C5644)
        return false;
    out->code = dvlp + dvlp[2] / 4;
    out->code_words = dvlp[3];
    out->opdesc_pairs = dvlp + dvlp[4] / 4;
    out->opdescs = dvlp[5];
    out->main = dvle[2];
    out->constants = (const u8 *)(dvle + dvle[6] / 4);
    out->constant_count = dvle[7];
    out->outputs = (const u8 *)(dvle + dvle[10] / 4);
    out->output_count = dvle[11];
    return out->code_words <= 512 && out->opdescs <= 128;
}

void gpucmdShader(GpuCmdList *list, const GpuShader *shader)
{
    u32 zero = 0;
    gpucmdWrite(list, GPUREG_VSH_CODETRANSFER_CONFIG, zero);
    for (u32 i = 0; i < shader->code_words; i += 8) {
        u32 n = shader->code_words - i < 8 ? shader->code_words - i : 8;
        gpucmdAdd(list, GPUREG_VSH_CODETRANSFER_DATA, 0xF, false, shader->code + i, n);
    }
    gpucmdWrite(list, GPUREG_VSH_OPDESCS_CONFIG, zero);
    for (u32 i = 0; i < shader->opdescs; i++)
        gpucmdWrite(list, GPUREG_VSH_OPDESCS_DATA, shader->opdesc_pairs[2 * i]);
    gpucmdWrite(list, GPUREG_VSH_ENTRYPOINT, 0x7FFF0000 | shader->main);
    /* Output map: one entry per output register, in register order (DVLE_GenerateOutmap). */
    u32 mask = 0, map[16];
    for (u32 r = 0; r < 16; r++)
        map[r] = 0x1F1F1F1F;
    for (u32 i = 0; i < shader->output_count; i++) {
        const u8 *e = shader->outputs + 8 * i;
        u32 type = e[0] | e[1] << 8, reg = (e[2] | e[3] << 8) & 0xF;
        mask |= 1u << reg;
        if (type == 0)
            map[reg] = 0x03020100; /* position x y z w */
        else if (type == 2)
            map[reg] = 0x0B0A0908; /* colour r g b a */
        else if (type == 3)
            map[reg] = 0x1F1F0D0C; /* texcoord0 u v */
        else if (type == 4)
            map[reg] = 0x1F1F1F10; /* texcoord0 w */
        else if (type == 5)
            map[reg] = 0x1F1F0F0E; /* texcoord1 u v */
        else if (type == 6)
            map[reg] = 0x1F1F1716; /* texcoord2 u v */
    }
    gpucmdWrite(list, GPUREG_VSH_OUTMAP_MASK, mask);
    u32 total = 0;
    for (u32 r = 0; r < 16; r++)
        if (mask >> r & 1)
            gpucmdWrite(list, GPUREG_SH_OUTMAP_O0 + total++, map[r]);
    gpucmdWrite(list, GPUREG_SH_OUTMAP_TOTAL, total);
    for (u32 i = 0; i < shader->constant_count; i++) {
        const u8 *e = shader->constants + 20 * i;
        if ((e[0] | e[1] << 8) != 2) /* float24 vectors only */
            continue;
        u32 x = rd32(e + 4), y = rd32(e + 8), z = rd32(e + 12), w = rd32(e + 16);
        u32 packed[3] = {w << 8 | z >> 16, (z & 0xFFFF) << 16 | y >> 8, (y & 0xFF) << 24 | x};
        gpucmdWrite(list, GPUREG_VSH_FLOATUNIFORM_CONFIG, (u32)(e[2] | e[3] << 8) & 0x7F);
        gpucmdAdd(list, GPUREG_VSH_FLOATUNIFORM_DATA, 0xF, false, packed, 3);
    }
}

void gpucmdUniform(GpuCmdList *list, u8 index, const float value[4])
{
    u32 words[4];
    for (int i = 0; i < 4; i++) /* float32 mode: w first */
        memcpy(&words[i], &value[3 - i], 4);
    gpucmdWrite(list, GPUREG_VSH_FLOATUNIFORM_CONFIG, 0x80000000u | index);
    gpucmdAdd(list, GPUREG_VSH_FLOATUNIFORM_DATA, 0xF, false, words, 4);
}

void gpucmdColorBuffer(GpuCmdList *list, u32 paddr, u32 width, u32 height, u32 format)
{
    gpucmdWrite(list, GPUREG_COLORBUFFER_LOC, paddr >> 3);
    gpucmdWrite(list, GPUREG_FRAMEBUFFER_DIM, width | (height - 1) << 12 | 1u << 24);
    gpucmdWrite(list, GPUREG_COLORBUFFER_FORMAT, format << 16 | (format == GPU_RB_RGBA8 ? 2 : 0));
    gpucmdWrite(list, GPUREG_COLORBUFFER_WRITE, 0xF);
    gpucmdWrite(list, GPUREG_DEPTH_COLOR_MASK, 0xF << 8);
    gpucmdWrite(list, GPUREG_LOGIC_OP, 3); /* COPY, with blending off: fragments replace pixels */
}

/* A whole number n (0 < n < 65536) divided by 2, as a float24: no floating point needed. */
static u32 half_f24(u32 n)
{
    u32 e = 31 - __builtin_clz(n); /* n = 1.m * 2^e; n / 2 = 1.m * 2^(e - 1) */
    u32 mant = e ? ((n << (32 - e)) >> 16) & 0xFFFF : 0;
    return (e - 1 + 63) << 16 | mant;
}

void gpucmdViewport(GpuCmdList *list, u32 x, u32 y, u32 width, u32 height)
{
    gpucmdWrite(list, GPUREG_VIEWPORT_WIDTH, half_f24(width));
    gpucmdWrite(list, GPUREG_VIEWPORT_HEIGHT, half_f24(height));
    gpucmdWrite(list, GPUREG_VIEWPORT_XY, (x & 0x3FF) | (y & 0x3FF) << 16);
}

static void texenv_replace(GpuCmdList *list, u32 source)
{
    static const u16 stages[6] = {GPUREG_TEXENV0_SOURCE, GPUREG_TEXENV1_SOURCE, GPUREG_TEXENV2_SOURCE,
                                  GPUREG_TEXENV3_SOURCE, GPUREG_TEXENV4_SOURCE, GPUREG_TEXENV5_SOURCE};
    for (int i = 0; i < 6; i++) {
        /* source (stage 0's / previous 0xF) for colour and alpha, operands, REPLACE, constant, scale 1x */
        u32 words[5] = {i ? 0x000F000Fu : source | source << 16, 0, 0, 0xFFFFFFFFu, 0};
        gpucmdWriteSeq(list, stages[i], words, 5);
    }
}

void gpucmdTexEnvPrimary(GpuCmdList *list)
{
    texenv_replace(list, 0); /* primary colour */
}

void gpucmdTexEnvTexture(GpuCmdList *list, u32 unit)
{
    texenv_replace(list, 3 + unit); /* texture 0-2 are sources 3-5 */
}

void gpucmdTexture(GpuCmdList *list, u32 unit, u32 paddr, u32 width, u32 height, u32 format, u32 param,
                   u32 border)
{
    static const u16 bases[3] = {GPUREG_TEXUNIT0_BORDER_COLOR, GPUREG_TEXUNIT1_BORDER_COLOR,
                                 GPUREG_TEXUNIT2_BORDER_COLOR};
    static const u16 types[3] = {GPUREG_TEXUNIT0_TYPE, GPUREG_TEXUNIT1_TYPE, GPUREG_TEXUNIT2_TYPE};
    if (unit > 2)
        return;
    /* the border register holds r in bits 0-7: the RGBA8 word's bytes the other way round */
    u32 words[5] = {__builtin_bswap32(border), height | width << 16, param, 0, paddr >> 3};
    gpucmdWriteSeq(list, bases[unit], words, 5);
    gpucmdWrite(list, types[unit], format);
}

void gpucmdTexUnits(GpuCmdList *list, u32 units)
{
    gpucmdWrite(list, GPUREG_TEXUNIT_CONFIG, units & 7);
}

void gpucmdAttributes(GpuCmdList *list, u32 paddr, u32 stride, u32 count, const u8 *types, const u8 *sizes)
{
    u64 formats = 0;
    u32 components = 0;
    for (u32 i = 0; i < count; i++) {
        formats |= (u64)(types[i] | (sizes[i] - 1) << 2) << (4 * i);
        components |= i << (4 * i);
    }
    u32 fmt[2] = {(u32)formats, (count - 1) << 28 | (u32)(formats >> 32)};
    u32 buffer[3] = {0, components, stride << 16 | count << 28};
    u32 permutation[2] = {0x76543210, 0xFEDCBA98};
    gpucmdWrite(list, GPUREG_ATTRIBBUFFERS_LOC, paddr >> 3);
    gpucmdWriteSeq(list, GPUREG_ATTRIBBUFFERS_FORMAT_LOW, fmt, 2);
    gpucmdWriteSeq(list, GPUREG_ATTRIBBUFFER0_OFFSET, buffer, 3);
    gpucmdWrite(list, GPUREG_VSH_INPUTBUFFER_CONFIG, 0xA0000000u | (count - 1));
    gpucmdWrite(list, GPUREG_VSH_NUM_ATTR, count - 1);
    gpucmdWriteSeq(list, GPUREG_VSH_ATTRIBUTES_PERMUTATION_LOW, permutation, 2);
}

void gpucmdDrawArrays(GpuCmdList *list, u32 topology, u32 first, u32 count)
{
    gpucmdWriteMasked(list, GPUREG_PRIMITIVE_CONFIG, topology << 8 | 1, 0x2);
    gpucmdWrite(list, GPUREG_NUMVERTICES, count);
    gpucmdWrite(list, GPUREG_VERTEX_OFFSET, first);
    gpucmdWrite(list, GPUREG_DRAWARRAYS, 1);
}

u32 gpuVirtToPhys(const void *addr)
{
    u32 a = (u32)addr;
    if (a >= 0x14000000u && a < 0x1C000000u)
        return a - 0x14000000u + 0x20000000u;
    if (a >= 0x1F000000u && a < 0x1F600000u)
        return a - 0x1F000000u + 0x18000000u;
    return 0;
}
