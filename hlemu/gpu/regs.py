"""The PICA200 register file: 0x300 32-bit registers written by GPU command lists.

Register ids and names are 3dbrew's "GPU/Internal Registers" (libctru spells the same names
``GPUREG_*`` in ``<3ds/gpu/registers.h>``, from which :data:`NAMES` was transcribed; the
``GPUREG_`` prefix is dropped). :class:`RegisterFile` keeps the values; what a write to a
trigger register does (a draw, an uploaded shader word) is :mod:`hlemu.gpu.pica`'s business.
"""

from __future__ import annotations

import numpy as np

NUM_REGS = 0x300

# -- the registers hlemu acts on (3dbrew "GPU/Internal Registers") --------------------------------
FINALIZE = 0x010  # a write whose bytes match IRQ_CMP raises P3D (and stops the list: IRQ_AUTOSTOP)
IRQ_CMP = 0x020
IRQ_AUTOSTOP = 0x034
FACECULLING_CONFIG = 0x040
VIEWPORT_WIDTH, VIEWPORT_INVW, VIEWPORT_HEIGHT, VIEWPORT_INVH = 0x041, 0x042, 0x043, 0x044
FRAGOP_CLIP, FRAGOP_CLIP_DATA0 = 0x047, 0x048  # the user clip plane: bit 0 on; coefficients 0x048-0x04B
DEPTHMAP_SCALE, DEPTHMAP_OFFSET = 0x04D, 0x04E
DEPTHMAP_ENABLE = 0x06D  # bit 0: z-buffering (else W-buffering)
SH_OUTMAP_TOTAL = 0x04F
SH_OUTMAP_O0 = 0x050  # .. 0x056: the semantics of output registers o0-o6
SCISSORTEST_MODE, SCISSORTEST_POS, SCISSORTEST_DIM = 0x065, 0x066, 0x067
VIEWPORT_XY = 0x068
TEXUNIT_CONFIG = 0x080  # units 0-2 on (bits 0-2), unit 3 coordinate (8-9) and on (10), unit 2 on coordinate 1 (13)
TEXENV_BASES = (0x0C0, 0x0C8, 0x0D0, 0x0D8, 0x0F0, 0x0F8)  # source, operand, combiner, color, scale
TEXENV_UPDATE_BUFFER = 0x0E0  # also the fog mode (bits 0-2: 5 fog) and its flip (bit 16)
FOG_COLOR, FOG_LUT_INDEX = 0x0E1, 0x0E6
FOG_LUT_DATA = range(0x0E8, 0x0F0)  # each write: a LUT word at FOG_LUT_INDEX, which counts up
TEXENV_BUFFER_COLOR = 0x0FD
COLOR_OPERATION = 0x100  # bit 8: alpha blending (else the logic op)
BLEND_FUNC, LOGIC_OP, BLEND_COLOR = 0x101, 0x102, 0x103
FRAGOP_ALPHA_TEST = 0x104
STENCIL_TEST, STENCIL_OP = 0x105, 0x106  # the stencil test and its operations (raster.stencil_settings)
DEPTH_COLOR_MASK = 0x107
COLORBUFFER_WRITE = 0x113
DEPTHBUFFER_WRITE = 0x115
DEPTHBUFFER_FORMAT = 0x116
COLORBUFFER_FORMAT = 0x117
DEPTHBUFFER_LOC, COLORBUFFER_LOC, FRAMEBUFFER_DIM = 0x11C, 0x11D, 0x11E
ATTRIBBUFFERS_LOC = 0x200
ATTRIBBUFFERS_FORMAT_LOW, ATTRIBBUFFERS_FORMAT_HIGH = 0x201, 0x202
ATTRIBBUFFER0_OFFSET = 0x203  # 12 buffers of 3 registers: offset, components low, size/components high
INDEXBUFFER_CONFIG = 0x227
NUMVERTICES = 0x228
VERTEX_OFFSET = 0x22A
DRAWARRAYS, DRAWELEMENTS = 0x22E, 0x22F
FIXEDATTRIB_INDEX = 0x232
FIXEDATTRIB_DATA = range(0x233, 0x236)
CMDBUF_SIZE0, CMDBUF_ADDR0, CMDBUF_JUMP0 = 0x238, 0x23A, 0x23C  # two channels each
GEOSTAGE_CONFIG = 0x229  # bits 0-1: 2 = the geometry shader stage in use
VSH_NUM_ATTR = 0x242
VSH_COM_MODE = 0x244  # bit 0: 0 = vertex shader code and descriptor uploads go to the geometry unit too
VSH_OUTMAP_TOTAL1 = 0x24A  # bits 0-3: outputs each vertex gives the geometry stage, minus 1
GSH_MISC0 = 0x252  # bits 0-7 the geometry mode; fixed mode: 8-11 vertices - 1, 12-15 stride - 1, 16-19 first uniform
GSH_MISC1 = 0x254  # variable mode: main vertices - 1
PRIMITIVE_CONFIG = 0x25E
RESTART_PRIMITIVE = 0x25F
VSH_BOOLUNIFORM = 0x2B0
VSH_INTUNIFORM_I0 = 0x2B1  # .. 0x2B4
VSH_INPUTBUFFER_CONFIG = 0x2B9
VSH_ENTRYPOINT = 0x2BA
VSH_ATTRIBUTES_PERMUTATION_LOW, VSH_ATTRIBUTES_PERMUTATION_HIGH = 0x2BB, 0x2BC
VSH_OUTMAP_MASK = 0x2BD
VSH_FLOATUNIFORM_CONFIG = 0x2C0
VSH_FLOATUNIFORM_DATA = range(0x2C1, 0x2C9)
VSH_CODETRANSFER_CONFIG = 0x2CB
VSH_CODETRANSFER_DATA = range(0x2CC, 0x2D4)
VSH_OPDESCS_CONFIG = 0x2D5
VSH_OPDESCS_DATA = range(0x2D6, 0x2DE)
# The geometry shader unit's registers (0x280-0x2AF): the vertex unit's, 0x30 lower.
GSH_OFFSET = 0x30
GSH_BOOLUNIFORM = VSH_BOOLUNIFORM - GSH_OFFSET
GSH_INTUNIFORM_I0 = VSH_INTUNIFORM_I0 - GSH_OFFSET
GSH_INPUTBUFFER_CONFIG = VSH_INPUTBUFFER_CONFIG - GSH_OFFSET
GSH_ENTRYPOINT = VSH_ENTRYPOINT - GSH_OFFSET
GSH_ATTRIBUTES_PERMUTATION_LOW = VSH_ATTRIBUTES_PERMUTATION_LOW - GSH_OFFSET
GSH_ATTRIBUTES_PERMUTATION_HIGH = VSH_ATTRIBUTES_PERMUTATION_HIGH - GSH_OFFSET
GSH_OUTMAP_MASK = VSH_OUTMAP_MASK - GSH_OFFSET
GSH_FLOATUNIFORM_CONFIG = VSH_FLOATUNIFORM_CONFIG - GSH_OFFSET
GSH_FLOATUNIFORM_DATA = range(VSH_FLOATUNIFORM_DATA.start - GSH_OFFSET, VSH_FLOATUNIFORM_DATA.stop - GSH_OFFSET)
GSH_CODETRANSFER_CONFIG = VSH_CODETRANSFER_CONFIG - GSH_OFFSET
GSH_CODETRANSFER_DATA = range(VSH_CODETRANSFER_DATA.start - GSH_OFFSET, VSH_CODETRANSFER_DATA.stop - GSH_OFFSET)
GSH_OPDESCS_CONFIG = VSH_OPDESCS_CONFIG - GSH_OFFSET
GSH_OPDESCS_DATA = range(VSH_OPDESCS_DATA.start - GSH_OFFSET, VSH_OPDESCS_DATA.stop - GSH_OFFSET)

# The byte-enable mask of a command header (bit i enables byte i) as a word mask.
BYTE_MASKS = tuple(sum(0xFF << (8 * i) for i in range(4) if m >> i & 1) for m in range(16))


def name(reg: int) -> str:
    """The documented name of register ``reg``, or its id in hex for an undocumented one.

    >>> name(0x22E), name(0x001)
    ('DRAWARRAYS', 'GPUREG_0001')
    """
    entry = NAMES.get(reg)
    return entry[0] if entry else f"GPUREG_{reg:04X}"


class RegisterFile:
    """The 0x300 registers, as one uint32 array (so views and tests read the same data)."""

    def __init__(self) -> None:
        self.values = np.zeros(NUM_REGS, np.uint32)
        self.values[IRQ_CMP] = 0x12345678  # the reset values Azahar starts from
        self.values[IRQ_AUTOSTOP] = 1

    def __getitem__(self, reg: int) -> int:
        return int(self.values[reg])

    def write(self, reg: int, value: int, mask: int = 0xF) -> int:
        """Write the bytes of ``value`` that ``mask`` (a 4-bit byte enable) selects; the new value."""
        keep = BYTE_MASKS[mask]
        new = (int(self.values[reg]) & ~keep | value & keep) & 0xFFFFFFFF
        self.values[reg] = new
        return new


# 3dbrew's names with libctru's one-line descriptions; ids not listed are undocumented.
NAMES: dict[int, tuple[str, str]] = {
    0x010: ("FINALIZE", "Used to finalize GPU drawing."),
    0x040: ("FACECULLING_CONFIG", "Face culling configuration."),
    0x041: ("VIEWPORT_WIDTH", "Viewport width."),
    0x042: ("VIEWPORT_INVW", "Inverted viewport width."),
    0x043: ("VIEWPORT_HEIGHT", "Viewport height."),
    0x044: ("VIEWPORT_INVH", "Inverted viewport height."),
    0x047: ("FRAGOP_CLIP", "Unknown"),
    0x048: ("FRAGOP_CLIP_DATA0", "Unknown"),
    0x049: ("FRAGOP_CLIP_DATA1", "Unknown"),
    0x04A: ("FRAGOP_CLIP_DATA2", "Unknown"),
    0x04B: ("FRAGOP_CLIP_DATA3", "Unknown"),
    0x04D: ("DEPTHMAP_SCALE", "Depth map scale."),
    0x04E: ("DEPTHMAP_OFFSET", "Depth map offset."),
    0x04F: ("SH_OUTMAP_TOTAL", "Shader output map total."),
    0x050: ("SH_OUTMAP_O0", "Shader output map 0."),
    0x051: ("SH_OUTMAP_O1", "Shader output map 1."),
    0x052: ("SH_OUTMAP_O2", "Shader output map 2."),
    0x053: ("SH_OUTMAP_O3", "Shader output map 3."),
    0x054: ("SH_OUTMAP_O4", "Shader output map 4."),
    0x055: ("SH_OUTMAP_O5", "Shader output map 5."),
    0x056: ("SH_OUTMAP_O6", "Shader output map 6."),
    0x061: ("EARLYDEPTH_FUNC", "Unknown"),
    0x062: ("EARLYDEPTH_TEST1", "Unknown"),
    0x063: ("EARLYDEPTH_CLEAR", "Unknown"),
    0x064: ("SH_OUTATTR_MODE", "Shader output attributes mode."),
    0x065: ("SCISSORTEST_MODE", "Scissor test mode."),
    0x066: ("SCISSORTEST_POS", "Scissor test position."),
    0x067: ("SCISSORTEST_DIM", "Scissor text dimensions."),
    0x068: ("VIEWPORT_XY", "Viewport X and Y."),
    0x06A: ("EARLYDEPTH_DATA", "Unknown"),
    0x06D: ("DEPTHMAP_ENABLE", "Depth map enable."),
    0x06E: ("RENDERBUF_DIM", "Renderbuffer dimensions."),
    0x06F: ("SH_OUTATTR_CLOCK", "Shader output attributes clock enable."),
    0x080: ("TEXUNIT_CONFIG", "Texture unit configuration."),
    0x081: ("TEXUNIT0_BORDER_COLOR", "Texture unit 0 border color."),
    0x082: ("TEXUNIT0_DIM", "Texture unit 0 dimensions."),
    0x083: ("TEXUNIT0_PARAM", "Texture unit 0 parameters."),
    0x084: ("TEXUNIT0_LOD", "Texture unit 0 LOD."),
    0x085: ("TEXUNIT0_ADDR1", "Texture unit 0 address."),
    0x086: ("TEXUNIT0_ADDR2", "Unknown."),
    0x087: ("TEXUNIT0_ADDR3", "Unknown."),
    0x088: ("TEXUNIT0_ADDR4", "Unknown."),
    0x089: ("TEXUNIT0_ADDR5", "Unknown."),
    0x08A: ("TEXUNIT0_ADDR6", "Unknown."),
    0x08B: ("TEXUNIT0_SHADOW", "Unknown."),
    0x08E: ("TEXUNIT0_TYPE", "Texture unit 0 type."),
    0x08F: ("LIGHTING_ENABLE0", "Lighting toggle."),
    0x091: ("TEXUNIT1_BORDER_COLOR", "Texture unit 1 border color."),
    0x092: ("TEXUNIT1_DIM", "Texture unit 1 dimensions."),
    0x093: ("TEXUNIT1_PARAM", "Texture unit 1 parameters."),
    0x094: ("TEXUNIT1_LOD", "Texture unit 1 LOD."),
    0x095: ("TEXUNIT1_ADDR", "Texture unit 1 address."),
    0x096: ("TEXUNIT1_TYPE", "Texture unit 1 type."),
    0x099: ("TEXUNIT2_BORDER_COLOR", "Texture unit 2 border color."),
    0x09A: ("TEXUNIT2_DIM", "Texture unit 2 dimensions."),
    0x09B: ("TEXUNIT2_PARAM", "Texture unit 2 parameters."),
    0x09C: ("TEXUNIT2_LOD", "Texture unit 2 LOD."),
    0x09D: ("TEXUNIT2_ADDR", "Texture unit 2 address."),
    0x09E: ("TEXUNIT2_TYPE", "Texture unit 2 type."),
    0x0A8: ("TEXUNIT3_PROCTEX0", "Clamps u/v 0-2/3-5, combiners 6-9/10-13, separate alpha 14, noise 15, shifts 16-19."),
    0x0A9: ("TEXUNIT3_PROCTEX1", "Noise u: amplitude (bits 0-15, signed, in 4095ths), phase (16-31, float16)."),
    0x0AA: ("TEXUNIT3_PROCTEX2", "Noise v: amplitude (bits 0-15, signed, in 4095ths), phase (16-31, float16)."),
    0x0AB: ("TEXUNIT3_PROCTEX3", "Noise frequency u (bits 0-15), v (16-31), float16."),
    0x0AC: ("TEXUNIT3_PROCTEX4", "Colour LUT filter (bits 0-2), LOD min/max (3-6, 7-10), width (11-18)."),
    0x0AD: ("TEXUNIT3_PROCTEX5", "Colour LUT offsets of levels 0-3 (bytes)."),
    0x0AF: ("PROCTEX_LUT", "Proctex LUT entry (bits 0-7), table (8-11: noise 0, maps 2-3, colour 4, diff 5)."),
    0x0B0: ("PROCTEX_LUT_DATA0", "A proctex LUT word at PROCTEX_LUT, which counts up."),
    0x0B1: ("PROCTEX_LUT_DATA1", "A proctex LUT word at PROCTEX_LUT, which counts up."),
    0x0B2: ("PROCTEX_LUT_DATA2", "A proctex LUT word at PROCTEX_LUT, which counts up."),
    0x0B3: ("PROCTEX_LUT_DATA3", "A proctex LUT word at PROCTEX_LUT, which counts up."),
    0x0B4: ("PROCTEX_LUT_DATA4", "A proctex LUT word at PROCTEX_LUT, which counts up."),
    0x0B5: ("PROCTEX_LUT_DATA5", "A proctex LUT word at PROCTEX_LUT, which counts up."),
    0x0B6: ("PROCTEX_LUT_DATA6", "A proctex LUT word at PROCTEX_LUT, which counts up."),
    0x0B7: ("PROCTEX_LUT_DATA7", "A proctex LUT word at PROCTEX_LUT, which counts up."),
    0x0C0: ("TEXENV0_SOURCE", "Texture env 0 source."),
    0x0C1: ("TEXENV0_OPERAND", "Texture env 0 operand."),
    0x0C2: ("TEXENV0_COMBINER", "Texture env 0 combiner."),
    0x0C3: ("TEXENV0_COLOR", "Texture env 0 color."),
    0x0C4: ("TEXENV0_SCALE", "Texture env 0 scale."),
    0x0C8: ("TEXENV1_SOURCE", "Texture env 1 source."),
    0x0C9: ("TEXENV1_OPERAND", "Texture env 1 operand."),
    0x0CA: ("TEXENV1_COMBINER", "Texture env 1 combiner."),
    0x0CB: ("TEXENV1_COLOR", "Texture env 1 color."),
    0x0CC: ("TEXENV1_SCALE", "Texture env 1 scale."),
    0x0D0: ("TEXENV2_SOURCE", "Texture env 2 source."),
    0x0D1: ("TEXENV2_OPERAND", "Texture env 2 operand."),
    0x0D2: ("TEXENV2_COMBINER", "Texture env 2 combiner."),
    0x0D3: ("TEXENV2_COLOR", "Texture env 2 color."),
    0x0D4: ("TEXENV2_SCALE", "Texture env 2 scale."),
    0x0D8: ("TEXENV3_SOURCE", "Texture env 3 source."),
    0x0D9: ("TEXENV3_OPERAND", "Texture env 3 operand."),
    0x0DA: ("TEXENV3_COMBINER", "Texture env 3 combiner."),
    0x0DB: ("TEXENV3_COLOR", "Texture env 3 color."),
    0x0DC: ("TEXENV3_SCALE", "Texture env 3 scale."),
    0x0E0: ("TEXENV_UPDATE_BUFFER", "Texture env buffer update flag."),
    0x0E1: ("FOG_COLOR", "Unknown."),
    0x0E4: ("GAS_ATTENUATION", "Unknown."),
    0x0E5: ("GAS_ACCMAX", "Unknown."),
    0x0E6: ("FOG_LUT_INDEX", "Unknown."),
    0x0E8: ("FOG_LUT_DATA0", "Unknown."),
    0x0E9: ("FOG_LUT_DATA1", "Unknown."),
    0x0EA: ("FOG_LUT_DATA2", "Unknown."),
    0x0EB: ("FOG_LUT_DATA3", "Unknown."),
    0x0EC: ("FOG_LUT_DATA4", "Unknown."),
    0x0ED: ("FOG_LUT_DATA5", "Unknown."),
    0x0EE: ("FOG_LUT_DATA6", "Unknown."),
    0x0EF: ("FOG_LUT_DATA7", "Unknown."),
    0x0F0: ("TEXENV4_SOURCE", "Texture env 4 source."),
    0x0F1: ("TEXENV4_OPERAND", "Texture env 4 operand."),
    0x0F2: ("TEXENV4_COMBINER", "Texture env 4 combiner."),
    0x0F3: ("TEXENV4_COLOR", "Texture env 4 color."),
    0x0F4: ("TEXENV4_SCALE", "Texture env 4 scale."),
    0x0F8: ("TEXENV5_SOURCE", "Texture env 5 source."),
    0x0F9: ("TEXENV5_OPERAND", "Texture env 5 operand."),
    0x0FA: ("TEXENV5_COMBINER", "Texture env 5 combiner."),
    0x0FB: ("TEXENV5_COLOR", "Texture env 5 color."),
    0x0FC: ("TEXENV5_SCALE", "Texture env 5 scale."),
    0x0FD: ("TEXENV_BUFFER_COLOR", "Texture env buffer color."),
    0x100: ("COLOR_OPERATION", "Configures fragment operation and blend mode."),
    0x101: ("BLEND_FUNC", "Blend function configuration."),
    0x102: ("LOGIC_OP", "Logical operator configuration."),
    0x103: ("BLEND_COLOR", "Blend color."),
    0x104: ("FRAGOP_ALPHA_TEST", "Alpha test configuration."),
    0x105: ("STENCIL_TEST", "Stencil test configuration."),
    0x106: ("STENCIL_OP", "Stencil test operation."),
    0x107: ("DEPTH_COLOR_MASK", "Depth test and color mask configuration."),
    0x110: ("FRAMEBUFFER_INVALIDATE", "Invalidates the frame buffer."),
    0x111: ("FRAMEBUFFER_FLUSH", "Flushes the frame buffer."),
    0x112: ("COLORBUFFER_READ", "Reads from the color buffer."),
    0x113: ("COLORBUFFER_WRITE", "Writes to the color buffer."),
    0x114: ("DEPTHBUFFER_READ", "Reads from the depth buffer."),
    0x115: ("DEPTHBUFFER_WRITE", "Writes to the depth buffer."),
    0x116: ("DEPTHBUFFER_FORMAT", "Depth buffer format."),
    0x117: ("COLORBUFFER_FORMAT", "Color buffer format."),
    0x118: ("EARLYDEPTH_TEST2", "Unknown."),
    0x11B: ("FRAMEBUFFER_BLOCK32", "Frame buffer block 32."),
    0x11C: ("DEPTHBUFFER_LOC", "Depth buffer location."),
    0x11D: ("COLORBUFFER_LOC", "Color buffer location."),
    0x11E: ("FRAMEBUFFER_DIM", "Frame buffer dimensions."),
    0x120: ("GAS_LIGHT_XY", "Unknown."),
    0x121: ("GAS_LIGHT_Z", "Unknown."),
    0x122: ("GAS_LIGHT_Z_COLOR", "Unknown."),
    0x123: ("GAS_LUT_INDEX", "Unknown."),
    0x124: ("GAS_LUT_DATA", "Unknown."),
    0x125: ("GAS_ACCMAX_FEEDBACK", "Unknown."),
    0x126: ("GAS_DELTAZ_DEPTH", "Unknown."),
    0x130: ("FRAGOP_SHADOW", "Unknown."),
    0x140: ("LIGHT0_SPECULAR0", "Light 0 specular lighting."),
    0x141: ("LIGHT0_SPECULAR1", "Light 0 specular lighting."),
    0x142: ("LIGHT0_DIFFUSE", "Light 0 diffuse lighting."),
    0x143: ("LIGHT0_AMBIENT", "Light 0 ambient lighting."),
    0x144: ("LIGHT0_XY", "Light 0 X and Y."),
    0x145: ("LIGHT0_Z", "Light 0 Z."),
    0x146: ("LIGHT0_SPOTDIR_XY", "Light 0 spotlight direction X and Y."),
    0x147: ("LIGHT0_SPOTDIR_Z", "Light 0 spotlight direction Z."),
    0x149: ("LIGHT0_CONFIG", "Light 0 configuration."),
    0x14A: ("LIGHT0_ATTENUATION_BIAS", "Light 0 attenuation bias."),
    0x14B: ("LIGHT0_ATTENUATION_SCALE", "Light 0 attenuation scale."),
    0x150: ("LIGHT1_SPECULAR0", "Light 1 specular lighting."),
    0x151: ("LIGHT1_SPECULAR1", "Light 1 specular lighting."),
    0x152: ("LIGHT1_DIFFUSE", "Light 1 diffuse lighting."),
    0x153: ("LIGHT1_AMBIENT", "Light 1 ambient lighting."),
    0x154: ("LIGHT1_XY", "Light 1 X and Y."),
    0x155: ("LIGHT1_Z", "Light 1 Z."),
    0x156: ("LIGHT1_SPOTDIR_XY", "Light 1 spotlight direction X and Y."),
    0x157: ("LIGHT1_SPOTDIR_Z", "Light 1 spotlight direction Z."),
    0x159: ("LIGHT1_CONFIG", "Light 1 configuration."),
    0x15A: ("LIGHT1_ATTENUATION_BIAS", "Light 1 attenuation bias."),
    0x15B: ("LIGHT1_ATTENUATION_SCALE", "Light 1 attenuation scale."),
    0x160: ("LIGHT2_SPECULAR0", "Light 2 specular lighting."),
    0x161: ("LIGHT2_SPECULAR1", "Light 2 specular lighting."),
    0x162: ("LIGHT2_DIFFUSE", "Light 2 diffuse lighting."),
    0x163: ("LIGHT2_AMBIENT", "Light 2 ambient lighting."),
    0x164: ("LIGHT2_XY", "Light 2 X and Y."),
    0x165: ("LIGHT2_Z", "Light 2 Z."),
    0x166: ("LIGHT2_SPOTDIR_XY", "Light 2 spotlight direction X and Y."),
    0x167: ("LIGHT2_SPOTDIR_Z", "Light 2 spotlight direction Z."),
    0x169: ("LIGHT2_CONFIG", "Light 2 configuration."),
    0x16A: ("LIGHT2_ATTENUATION_BIAS", "Light 2 attenuation bias."),
    0x16B: ("LIGHT2_ATTENUATION_SCALE", "Light 2 attenuation scale."),
    0x170: ("LIGHT3_SPECULAR0", "Light 3 specular lighting."),
    0x171: ("LIGHT3_SPECULAR1", "Light 3 specular lighting."),
    0x172: ("LIGHT3_DIFFUSE", "Light 3 diffuse lighting."),
    0x173: ("LIGHT3_AMBIENT", "Light 3 ambient lighting."),
    0x174: ("LIGHT3_XY", "Light 3 X and Y."),
    0x175: ("LIGHT3_Z", "Light 3 Z."),
    0x176: ("LIGHT3_SPOTDIR_XY", "Light 3 spotlight direction X and Y."),
    0x177: ("LIGHT3_SPOTDIR_Z", "Light 3 spotlight direction Z."),
    0x179: ("LIGHT3_CONFIG", "Light 3 configuration."),
    0x17A: ("LIGHT3_ATTENUATION_BIAS", "Light 3 attenuation bias."),
    0x17B: ("LIGHT3_ATTENUATION_SCALE", "Light 3 attenuation scale."),
    0x180: ("LIGHT4_SPECULAR0", "Light 4 specular lighting."),
    0x181: ("LIGHT4_SPECULAR1", "Light 4 specular lighting."),
    0x182: ("LIGHT4_DIFFUSE", "Light 4 diffuse lighting."),
    0x183: ("LIGHT4_AMBIENT", "Light 4 ambient lighting."),
    0x184: ("LIGHT4_XY", "Light 4 X and Y."),
    0x185: ("LIGHT4_Z", "Light 4 Z."),
    0x186: ("LIGHT4_SPOTDIR_XY", "Light 4 spotlight direction X and Y."),
    0x187: ("LIGHT4_SPOTDIR_Z", "Light 4 spotlight direction Z."),
    0x189: ("LIGHT4_CONFIG", "Light 4 configuration."),
    0x18A: ("LIGHT4_ATTENUATION_BIAS", "Light 4 attenuation bias."),
    0x18B: ("LIGHT4_ATTENUATION_SCALE", "Light 4 attenuation scale."),
    0x190: ("LIGHT5_SPECULAR0", "Light 5 specular lighting."),
    0x191: ("LIGHT5_SPECULAR1", "Light 5 specular lighting."),
    0x192: ("LIGHT5_DIFFUSE", "Light 5 diffuse lighting."),
    0x193: ("LIGHT5_AMBIENT", "Light 5 ambient lighting."),
    0x194: ("LIGHT5_XY", "Light 5 X and Y."),
    0x195: ("LIGHT5_Z", "Light 5 Z."),
    0x196: ("LIGHT5_SPOTDIR_XY", "Light 5 spotlight direction X and Y."),
    0x197: ("LIGHT5_SPOTDIR_Z", "Light 5 spotlight direction Z."),
    0x199: ("LIGHT5_CONFIG", "Light 5 configuration."),
    0x19A: ("LIGHT5_ATTENUATION_BIAS", "Light 5 attenuation bias."),
    0x19B: ("LIGHT5_ATTENUATION_SCALE", "Light 5 attenuation scale."),
    0x1A0: ("LIGHT6_SPECULAR0", "Light 6 specular lighting."),
    0x1A1: ("LIGHT6_SPECULAR1", "Light 6 specular lighting."),
    0x1A2: ("LIGHT6_DIFFUSE", "Light 6 diffuse lighting."),
    0x1A3: ("LIGHT6_AMBIENT", "Light 6 ambient lighting."),
    0x1A4: ("LIGHT6_XY", "Light 6 X and Y."),
    0x1A5: ("LIGHT6_Z", "Light 6 Z."),
    0x1A6: ("LIGHT6_SPOTDIR_XY", "Light 6 spotlight direction X and Y."),
    0x1A7: ("LIGHT6_SPOTDIR_Z", "Light 6 spotlight direction Z."),
    0x1A9: ("LIGHT6_CONFIG", "Light 6 configuration."),
    0x1AA: ("LIGHT6_ATTENUATION_BIAS", "Light 6 attenuation bias."),
    0x1AB: ("LIGHT6_ATTENUATION_SCALE", "Light 6 attenuation scale."),
    0x1B0: ("LIGHT7_SPECULAR0", "Light 7 specular lighting."),
    0x1B1: ("LIGHT7_SPECULAR1", "Light 7 specular lighting."),
    0x1B2: ("LIGHT7_DIFFUSE", "Light 7 diffuse lighting."),
    0x1B3: ("LIGHT7_AMBIENT", "Light 7 ambient lighting."),
    0x1B4: ("LIGHT7_XY", "Light 7 X and Y."),
    0x1B5: ("LIGHT7_Z", "Light 7 Z."),
    0x1B6: ("LIGHT7_SPOTDIR_XY", "Light 7 spotlight direction X and Y."),
    0x1B7: ("LIGHT7_SPOTDIR_Z", "Light 7 spotlight direction Z."),
    0x1B9: ("LIGHT7_CONFIG", "Light 7 configuration."),
    0x1BA: ("LIGHT7_ATTENUATION_BIAS", "Light 7 attenuation bias."),
    0x1BB: ("LIGHT7_ATTENUATION_SCALE", "Light 7 attenuation scale."),
    0x1C0: ("LIGHTING_AMBIENT", "Ambient lighting."),
    0x1C2: ("LIGHTING_NUM_LIGHTS", "Number of lights."),
    0x1C3: ("LIGHTING_CONFIG0", "Lighting configuration."),
    0x1C4: ("LIGHTING_CONFIG1", "Lighting configuration."),
    0x1C5: ("LIGHTING_LUT_INDEX", "LUT index."),
    0x1C6: ("LIGHTING_ENABLE1", "Lighting toggle."),
    0x1C8: ("LIGHTING_LUT_DATA0", "LUT data 0."),
    0x1C9: ("LIGHTING_LUT_DATA1", "LUT data 1."),
    0x1CA: ("LIGHTING_LUT_DATA2", "LUT data 2."),
    0x1CB: ("LIGHTING_LUT_DATA3", "LUT data 3."),
    0x1CC: ("LIGHTING_LUT_DATA4", "LUT data 4."),
    0x1CD: ("LIGHTING_LUT_DATA5", "LUT data 5."),
    0x1CE: ("LIGHTING_LUT_DATA6", "LUT data 6."),
    0x1CF: ("LIGHTING_LUT_DATA7", "LUT data 7."),
    0x1D0: ("LIGHTING_LUTINPUT_ABS", "LUT input abs."),
    0x1D1: ("LIGHTING_LUTINPUT_SELECT", "LUT input selector."),
    0x1D2: ("LIGHTING_LUTINPUT_SCALE", "LUT input scale."),
    0x1D9: ("LIGHTING_LIGHT_PERMUTATION", "Light permutation."),
    0x200: ("ATTRIBBUFFERS_LOC", "Attribute buffers location."),
    0x201: ("ATTRIBBUFFERS_FORMAT_LOW", "Attribute buffers format low."),
    0x202: ("ATTRIBBUFFERS_FORMAT_HIGH", "Attribute buffers format high."),
    0x203: ("ATTRIBBUFFER0_OFFSET", "Attribute buffers 0 offset."),
    0x204: ("ATTRIBBUFFER0_CONFIG1", "Attribute buffers 0 configuration."),
    0x205: ("ATTRIBBUFFER0_CONFIG2", "Attribute buffers 0 configuration."),
    0x206: ("ATTRIBBUFFER1_OFFSET", "Attribute buffers 1 offset."),
    0x207: ("ATTRIBBUFFER1_CONFIG1", "Attribute buffers 1 configuration."),
    0x208: ("ATTRIBBUFFER1_CONFIG2", "Attribute buffers 1 configuration."),
    0x209: ("ATTRIBBUFFER2_OFFSET", "Attribute buffers 2 offset."),
    0x20A: ("ATTRIBBUFFER2_CONFIG1", "Attribute buffers 2 configuration."),
    0x20B: ("ATTRIBBUFFER2_CONFIG2", "Attribute buffers 2 configuration."),
    0x20C: ("ATTRIBBUFFER3_OFFSET", "Attribute buffers 3 offset."),
    0x20D: ("ATTRIBBUFFER3_CONFIG1", "Attribute buffers 3 configuration."),
    0x20E: ("ATTRIBBUFFER3_CONFIG2", "Attribute buffers 3 configuration."),
    0x20F: ("ATTRIBBUFFER4_OFFSET", "Attribute buffers 4 offset."),
    0x210: ("ATTRIBBUFFER4_CONFIG1", "Attribute buffers 4 configuration."),
    0x211: ("ATTRIBBUFFER4_CONFIG2", "Attribute buffers 4 configuration."),
    0x212: ("ATTRIBBUFFER5_OFFSET", "Attribute buffers 5 offset."),
    0x213: ("ATTRIBBUFFER5_CONFIG1", "Attribute buffers 5 configuration."),
    0x214: ("ATTRIBBUFFER5_CONFIG2", "Attribute buffers 5 configuration."),
    0x215: ("ATTRIBBUFFER6_OFFSET", "Attribute buffers 6 offset."),
    0x216: ("ATTRIBBUFFER6_CONFIG1", "Attribute buffers 6 configuration."),
    0x217: ("ATTRIBBUFFER6_CONFIG2", "Attribute buffers 6 configuration."),
    0x218: ("ATTRIBBUFFER7_OFFSET", "Attribute buffers 7 offset."),
    0x219: ("ATTRIBBUFFER7_CONFIG1", "Attribute buffers 7 configuration."),
    0x21A: ("ATTRIBBUFFER7_CONFIG2", "Attribute buffers 7 configuration."),
    0x21B: ("ATTRIBBUFFER8_OFFSET", "Attribute buffers 8 offset."),
    0x21C: ("ATTRIBBUFFER8_CONFIG1", "Attribute buffers 8 configuration."),
    0x21D: ("ATTRIBBUFFER8_CONFIG2", "Attribute buffers 8 configuration."),
    0x21E: ("ATTRIBBUFFER9_OFFSET", "Attribute buffers 9 offset."),
    0x21F: ("ATTRIBBUFFER9_CONFIG1", "Attribute buffers 9 configuration."),
    0x220: ("ATTRIBBUFFER9_CONFIG2", "Attribute buffers 9 configuration."),
    0x221: ("ATTRIBBUFFERA_OFFSET", "Attribute buffers A offset."),
    0x222: ("ATTRIBBUFFERA_CONFIG1", "Attribute buffers A configuration."),
    0x223: ("ATTRIBBUFFERA_CONFIG2", "Attribute buffers A configuration."),
    0x224: ("ATTRIBBUFFERB_OFFSET", "Attribute buffers B offset."),
    0x225: ("ATTRIBBUFFERB_CONFIG1", "Attribute buffers B configuration."),
    0x226: ("ATTRIBBUFFERB_CONFIG2", "Attribute buffers B configuration."),
    0x227: ("INDEXBUFFER_CONFIG", "Index buffer configuration."),
    0x228: ("NUMVERTICES", "Number of vertices."),
    0x229: ("GEOSTAGE_CONFIG", "Geometry stage configuration."),
    0x22A: ("VERTEX_OFFSET", "Vertex offset."),
    0x22D: ("POST_VERTEX_CACHE_NUM", "Unknown."),
    0x22E: ("DRAWARRAYS", "Draw arrays trigger."),
    0x22F: ("DRAWELEMENTS", "Draw arrays elements."),
    0x231: ("VTX_FUNC", "Unknown."),
    0x232: ("FIXEDATTRIB_INDEX", "Fixed attribute index."),
    0x233: ("FIXEDATTRIB_DATA0", "Fixed attribute data 0."),
    0x234: ("FIXEDATTRIB_DATA1", "Fixed attribute data 1."),
    0x235: ("FIXEDATTRIB_DATA2", "Fixed attribute data 2."),
    0x238: ("CMDBUF_SIZE0", "Command buffer size 0."),
    0x239: ("CMDBUF_SIZE1", "Command buffer size 1."),
    0x23A: ("CMDBUF_ADDR0", "Command buffer address 0."),
    0x23B: ("CMDBUF_ADDR1", "Command buffer address 1."),
    0x23C: ("CMDBUF_JUMP0", "Command buffer jump 0."),
    0x23D: ("CMDBUF_JUMP1", "Command buffer jump 1."),
    0x242: ("VSH_NUM_ATTR", "Unknown."),
    0x244: ("VSH_COM_MODE", "Bit 0: 0 = vertex shader code and descriptor uploads also reach the geometry unit."),
    0x245: ("START_DRAW_FUNC0", "Unknown."),
    0x24A: ("VSH_OUTMAP_TOTAL1", "Outputs each vertex gives the geometry stage, minus 1."),
    0x251: ("VSH_OUTMAP_TOTAL2", "Unknown."),
    0x252: ("GSH_MISC0", "Geometry shader mode (point, variable, fixed primitive) and fixed-mode layout."),
    0x253: ("GEOSTAGE_CONFIG2", "Unknown."),
    0x254: ("GSH_MISC1", "Geometry shader variable mode: main vertices minus 1."),
    0x25E: ("PRIMITIVE_CONFIG", "Primitive configuration."),
    0x25F: ("RESTART_PRIMITIVE", "Restart primitive flag."),
    0x280: ("GSH_BOOLUNIFORM", "Geometry shader bool uniforms."),
    0x281: ("GSH_INTUNIFORM_I0", "Geometry shader integer uniform 0."),
    0x282: ("GSH_INTUNIFORM_I1", "Geometry shader integer uniform 1."),
    0x283: ("GSH_INTUNIFORM_I2", "Geometry shader integer uniform 2."),
    0x284: ("GSH_INTUNIFORM_I3", "Geometry shader integer uniform 3."),
    0x289: ("GSH_INPUTBUFFER_CONFIG", "Geometry shader input buffer configuration."),
    0x28A: ("GSH_ENTRYPOINT", "Geometry shader entry point."),
    0x28B: ("GSH_ATTRIBUTES_PERMUTATION_LOW", "Geometry shader attribute permutations low."),
    0x28C: ("GSH_ATTRIBUTES_PERMUTATION_HIGH", "Geometry shader attribute permutations high."),
    0x28D: ("GSH_OUTMAP_MASK", "Geometry shader output map mask."),
    0x28F: ("GSH_CODETRANSFER_END", "Geometry shader code transfer end trigger."),
    0x290: ("GSH_FLOATUNIFORM_CONFIG", "Geometry shader float uniform configuration."),
    0x291: ("GSH_FLOATUNIFORM_DATA", "Geometry shader float uniform data."),
    0x29B: ("GSH_CODETRANSFER_CONFIG", "Geometry shader code transfer configuration."),
    0x29C: ("GSH_CODETRANSFER_DATA", "Geometry shader code transfer data."),
    0x2A5: ("GSH_OPDESCS_CONFIG", "Geometry shader operand description configuration."),
    0x2A6: ("GSH_OPDESCS_DATA", "Geometry shader operand description data."),
    0x2B0: ("VSH_BOOLUNIFORM", "Vertex shader bool uniforms."),
    0x2B1: ("VSH_INTUNIFORM_I0", "Vertex shader integer uniform 0."),
    0x2B2: ("VSH_INTUNIFORM_I1", "Vertex shader integer uniform 1."),
    0x2B3: ("VSH_INTUNIFORM_I2", "Vertex shader integer uniform 2."),
    0x2B4: ("VSH_INTUNIFORM_I3", "Vertex shader integer uniform 3."),
    0x2B9: ("VSH_INPUTBUFFER_CONFIG", "Vertex shader input buffer configuration."),
    0x2BA: ("VSH_ENTRYPOINT", "Vertex shader entry point."),
    0x2BB: ("VSH_ATTRIBUTES_PERMUTATION_LOW", "Vertex shader attribute permutations low."),
    0x2BC: ("VSH_ATTRIBUTES_PERMUTATION_HIGH", "Vertex shader attribute permutations high."),
    0x2BD: ("VSH_OUTMAP_MASK", "Vertex shader output map mask."),
    0x2BF: ("VSH_CODETRANSFER_END", "Vertex shader code transfer end trigger."),
    0x2C0: ("VSH_FLOATUNIFORM_CONFIG", "Vertex shader float uniform configuration."),
    0x2C1: ("VSH_FLOATUNIFORM_DATA", "Vertex shader float uniform data."),
    0x2CB: ("VSH_CODETRANSFER_CONFIG", "Vertex shader code transfer configuration."),
    0x2CC: ("VSH_CODETRANSFER_DATA", "Vertex shader code transfer data."),
    0x2D5: ("VSH_OPDESCS_CONFIG", "Vertex shader operand description configuration."),
    0x2D6: ("VSH_OPDESCS_DATA", "Vertex shader operand description data."),
}
