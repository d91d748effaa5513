/*
 * gpucmd.h - PICA200 command lists and shader binaries for the guest test programs, after
 * libctru's <3ds/gpu/gpu.h> (GPUCMD_*) and <3ds/gpu/shbin.h> (DVLB_ParseFile), with 3dbrew's
 * "GPU/Internal Registers" and "SHBIN" pages.
 *
 * A command is a parameter word, then a header word: register id in bits 0-15, byte-enable
 * mask in 16-19, the number of extra parameters in 20-27, bit 31 for consecutive writing
 * (parameter k to register id + k; clear, all to the same register). Each command starts on
 * an 8-byte boundary. A list handed to GX_ProcessCommandList ends with a write of 0x12345678
 * to GPUREG_FINALIZE, which raises P3D.
 *
 * Registers hold physical addresses divided by 8; gpuVirtToPhys converts the linear heap's
 * and VRAM's addresses as libctru's osConvertVirtToPhys does.
 */
#ifndef HLEMU_GPUCMD_H
#define HLEMU_GPUCMD_H

#include "hlemu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Register ids (3dbrew "GPU/Internal Registers"; libctru's GPUREG_* names). */
#define GPUREG_FINALIZE 0x0010
#define GPUREG_FACECULLING_CONFIG 0x0040
#define GPUREG_VIEWPORT_WIDTH 0x0041
#define GPUREG_VIEWPORT_HEIGHT 0x0043
#define GPUREG_SH_OUTMAP_TOTAL 0x004F
#define GPUREG_SH_OUTMAP_O0 0x0050
#define GPUREG_VIEWPORT_XY 0x0068
#define GPUREG_TEXUNIT_CONFIG 0x0080
#define GPUREG_TEXUNIT0_BORDER_COLOR 0x0081 /* then DIM, PARAM, LOD, ADDR1 */
#define GPUREG_TEXUNIT0_TYPE 0x008E
#define GPUREG_TEXUNIT1_BORDER_COLOR 0x0091
#define GPUREG_TEXUNIT1_TYPE 0x0096
#define GPUREG_TEXUNIT2_BORDER_COLOR 0x0099
#define GPUREG_TEXUNIT2_TYPE 0x009E
#define GPUREG_TEXENV0_SOURCE 0x00C0
#define GPUREG_TEXENV1_SOURCE 0x00C8
#define GPUREG_TEXENV2_SOURCE 0x00D0
#define GPUREG_TEXENV3_SOURCE 0x00D8
#define GPUREG_TEXENV4_SOURCE 0x00F0
#define GPUREG_TEXENV5_SOURCE 0x00F8
#define GPUREG_COLOR_OPERATION 0x0100
#define GPUREG_BLEND_FUNC 0x0101
#define GPUREG_LOGIC_OP 0x0102
#define GPUREG_DEPTH_COLOR_MASK 0x0107
#define GPUREG_COLORBUFFER_WRITE 0x0113
#define GPUREG_COLORBUFFER_FORMAT 0x0117
#define GPUREG_COLORBUFFER_LOC 0x011D
#define GPUREG_FRAMEBUFFER_DIM 0x011E
#define GPUREG_ATTRIBBUFFERS_LOC 0x0200
#define GPUREG_ATTRIBBUFFERS_FORMAT_LOW 0x0201
#define GPUREG_ATTRIBBUFFER0_OFFSET 0x0203
#define GPUREG_NUMVERTICES 0x0228
#define GPUREG_VERTEX_OFFSET 0x022A
#define GPUREG_DRAWARRAYS 0x022E
#define GPUREG_VSH_NUM_ATTR 0x0242
#define GPUREG_PRIMITIVE_CONFIG 0x025E
#define GPUREG_VSH_INPUTBUFFER_CONFIG 0x02B9
#define GPUREG_VSH_ENTRYPOINT 0x02BA
#define GPUREG_VSH_ATTRIBUTES_PERMUTATION_LOW 0x02BB
#define GPUREG_VSH_OUTMAP_MASK 0x02BD
#define GPUREG_VSH_FLOATUNIFORM_CONFIG 0x02C0
#define GPUREG_VSH_FLOATUNIFORM_DATA 0x02C1
#define GPUREG_VSH_CODETRANSFER_CONFIG 0x02CB
#define GPUREG_VSH_CODETRANSFER_DATA 0x02CC
#define GPUREG_VSH_OPDESCS_CONFIG 0x02D5
#define GPUREG_VSH_OPDESCS_DATA 0x02D6

/* Colour buffer formats (GPUREG_COLORBUFFER_FORMAT bits 16-18). */
#define GPU_RB_RGBA8 0
#define GPU_RB_RGB8 1
#define GPU_RB_RGBA5551 2
#define GPU_RB_RGB565 3
#define GPU_RB_RGBA4 4

/* Texture formats (GPUREG_TEXUNITi_TYPE; libctru's GPU_TEXCOLOR). */
#define GPU_RGBA8 0x0
#define GPU_RGB8 0x1
#define GPU_RGBA5551 0x2
#define GPU_RGB565 0x3
#define GPU_RGBA4 0x4
#define GPU_LA8 0x5
#define GPU_HILO8 0x6
#define GPU_L8 0x7
#define GPU_A8 0x8
#define GPU_LA4 0x9
#define GPU_L4 0xA
#define GPU_A4 0xB
#define GPU_ETC1 0xC
#define GPU_ETC1A4 0xD

/* GPUREG_TEXUNITi_PARAM fields (libctru's GPU_TEXTURE_* macros). */
#define GPU_TEXTURE_MAG_FILTER(v) (((v) & 1) << 1) /* 0 nearest, 1 linear */
#define GPU_TEXTURE_MIN_FILTER(v) (((v) & 1) << 2)
#define GPU_TEXTURE_WRAP_T(v) (((v) & 7) << 8)
#define GPU_TEXTURE_WRAP_S(v) (((v) & 7) << 12)
#define GPU_NEAREST 0
#define GPU_LINEAR 1
#define GPU_CLAMP_TO_EDGE 0
#define GPU_CLAMP_TO_BORDER 1
#define GPU_REPEAT 2
#define GPU_MIRRORED_REPEAT 3

/* Vertex attribute types. */
#define GPU_BYTE 0
#define GPU_UNSIGNED_BYTE 1
#define GPU_SHORT 2
#define GPU_FLOAT 3

typedef struct {
    u32 *buf;
    u32 capacity; /* words */
    u32 length;   /* words used */
    bool overflow;
} GpuCmdList;

void gpucmdInit(GpuCmdList *list, u32 *buf, u32 words);
/* One command: `count` parameters to `reg` (count >= 1), all to it or consecutive ones. */
void gpucmdAdd(GpuCmdList *list, u16 reg, u8 mask, bool consecutive, const u32 *params, u32 count);
void gpucmdWrite(GpuCmdList *list, u16 reg, u32 value);
void gpucmdWriteMasked(GpuCmdList *list, u16 reg, u32 value, u8 mask);
void gpucmdWriteSeq(GpuCmdList *list, u16 reg, const u32 *values, u32 count);
/* FINALIZE, as citro3d ends a list; the size in bytes to give GX_ProcessCommandList. */
u32 gpucmdFinalize(GpuCmdList *list);

/* A shader binary's first DVLE (a vertex shader), as libctru's DVLB_ParseFile reads it. */
typedef struct {
    const u32 *code;
    u32 code_words;
    const u32 *opdesc_pairs; /* (descriptor, 0xF) pairs */
    u32 opdescs;
    u32 main;
    const u8 *constants; /* 20-byte entries: u16 type, u16 id, four float24 words */
    u32 constant_count;
    const u8 *outputs; /* 8-byte entries: u16 type, u16 register, u8 mask */
    u32 output_count;
} GpuShader;

bool gpuShaderParse(GpuShader *out, const u32 *shbin, u32 words);
/* Upload the code and descriptors, the output map (libctru DVLE_GenerateOutmap's rules for
 * position, colour, texcoord0, texcoord0w, texcoord1 and texcoord2) and the constants. */
void gpucmdShader(GpuCmdList *list, const GpuShader *shader);
/* A float uniform in float32 mode: value x, y, z, w. */
void gpucmdUniform(GpuCmdList *list, u8 index, const float value[4]);
/* Colour buffer at physical `paddr`, `width` x `height`, all channels written, logic op COPY. */
void gpucmdColorBuffer(GpuCmdList *list, u32 paddr, u32 width, u32 height, u32 format);
/* The viewport covering (x, y, width, height) (half sizes in float24, the corner). */
void gpucmdViewport(GpuCmdList *list, u32 x, u32 y, u32 width, u32 height);
/* TexEnv stage 0 REPLACE primary colour, stages 1-5 pass the previous stage on. */
void gpucmdTexEnvPrimary(GpuCmdList *list);
/* Texture unit `unit` (0-2): the texture at physical `paddr`, `width` x `height` (multiples of
 * 8) in `format` (GPU_RGBA8 ...), `param` from the GPU_TEXTURE_* macros, the border colour as
 * an RGBA8 word (R in the top byte, as the colour buffer's words). */
void gpucmdTexture(GpuCmdList *list, u32 unit, u32 paddr, u32 width, u32 height, u32 format, u32 param,
                   u32 border);
/* GPUREG_TEXUNIT_CONFIG: units on (bit i: unit i), as citro3d's C3D_TexBind leaves it. */
void gpucmdTexUnits(GpuCmdList *list, u32 units);
/* TexEnv stage 0 REPLACE texture `unit`'s colour and alpha, stages 1-5 pass the previous on. */
void gpucmdTexEnvTexture(GpuCmdList *list, u32 unit);
/* One array at physical `paddr` of `count` interleaved attributes of `types`/`sizes`. */
void gpucmdAttributes(GpuCmdList *list, u32 paddr, u32 stride, u32 count, const u8 *types, const u8 *sizes);
/* Draw `count` vertices from `first` as a triangle list (topology 0), strip (1) or fan (2). */
void gpucmdDrawArrays(GpuCmdList *list, u32 topology, u32 first, u32 count);

/* The physical address of a linear-heap or VRAM address (0 for others). */
u32 gpuVirtToPhys(const void *addr);

#ifdef __cplusplus
}
#endif

#endif /* HLEMU_GPUCMD_H */
