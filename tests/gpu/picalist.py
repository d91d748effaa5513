"""Command lists for the GPU tests, built word by word from the documented registers (as the
guest SDK's gpucmd.h does in C), and a shader assembled by scripts/pica_asm.py."""

from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path

from hlemu.gpu import regs as R
from hlemu.gpu.cmdlist import header
from hlemu.gpu.float24 import f32_to_f24, pack_vec4

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("pica_asm", REPO / "scripts" / "pica_asm.py")
pica_asm = importlib.util.module_from_spec(_spec)
sys.modules["pica_asm"] = pica_asm  # dataclasses look their module up
_spec.loader.exec_module(pica_asm)

PASSTHROUGH = """
.out o0 position
.out o1 color
main:
    mov o0, v0
    mov o1, v1
    end
"""
# The position through a 4x4 matrix in c0-c3 (rows), the colour as it comes.
TRANSFORM = """
.fvec matrix c0
.out o0 position
.out o1 color
main:
    dp4 o0.x, c0, v0
    dp4 o0.y, c1, v0
    dp4 o0.z, c2, v0
    dp4 o0.w, c3, v0
    mov o1, v1
    end
"""
# The position and colour, and texture coordinate 0 from v2.
TEXTURED = """
.out o0 position
.out o1 color
.out o2 texcoord0
main:
    mov o0, v0
    mov o1, v1
    mov o2, v2
    end
"""
# The position, the normal quaternion from v1 and the view vector from v2 (fragment lighting).
LIT = """
.out o0 position
.out o1 normalquat
.out o2 view
main:
    mov o0, v0
    mov o1, v1
    mov o2, v2
    end
"""
# DVLE output type -> SH_OUTMAP word: position, normalquat, color, texcoord0, texcoord0w, texcoord1,
# texcoord2, view (semantics 0-3, 4-7, 8-11, 12-13, 16, 14-15, 22-23, 18-20; 0x1F unused; libctru's
# DVLE_GenerateOutmap)
SEMANTICS = {0: 0x03020100, 1: 0x07060504, 2: 0x0B0A0908, 3: 0x1F1F0D0C, 4: 0x1F1F1F10, 5: 0x1F1F0F0E,
             6: 0x1F1F1716, 8: 0x1F141312}
TEXUNIT_REGS = ((0x081, 0x08E), (0x091, 0x096), (0x099, 0x09E))  # BORDER_COLOR (then DIM, PARAM, LOD, ADDR), TYPE


class CommandBuilder:
    def __init__(self) -> None:
        self.words: list[int] = []

    def write(self, reg: int, *values: int, mask: int = 0xF, consecutive: bool = False) -> CommandBuilder:
        self.words += [values[0] & 0xFFFFFFFF, header(reg, len(values) - 1, mask, consecutive)]
        self.words += [v & 0xFFFFFFFF for v in values[1:]]
        if len(self.words) % 2:
            self.words.append(0)
        return self

    def shader(self, program) -> CommandBuilder:
        """Upload ``program`` (pica_asm.Program) and set its output map, as citro3d's
        shaderProgramUse and libctru's DVLE_GenerateOutmap do."""
        self._program(program, 0)
        for reg, values in program.constants:
            self.uniform(reg, values)
        return self

    def _program(self, program, shift: int) -> None:
        """Upload ``program`` to the shader unit whose registers are the vertex unit's minus
        ``shift`` (0x30: the geometry unit), its entry point and output mask, and set the output
        map from its outputs."""
        self.write(R.VSH_CODETRANSFER_CONFIG - shift, 0)
        for i in range(0, len(program.code), 8):
            self.write(R.VSH_CODETRANSFER_DATA[0] - shift, *program.code[i : i + 8])
        self.write(R.VSH_OPDESCS_CONFIG - shift, 0)
        for i in range(0, len(program.opdescs), 8):
            self.write(R.VSH_OPDESCS_DATA[0] - shift, *program.opdescs[i : i + 8])
        self.write(R.VSH_ENTRYPOINT - shift, 0x7FFF0000 | program.main)
        mask = 0
        for _, reg, _ in program.outputs:
            mask |= 1 << reg
        self.write(R.VSH_OUTMAP_MASK - shift, mask)
        self.write(R.SH_OUTMAP_TOTAL, len(program.outputs))
        for k, (kind, _reg, _) in enumerate(sorted(program.outputs, key=lambda o: o[1])):
            self.write(R.SH_OUTMAP_O0 + k, SEMANTICS[kind])

    def geometry_shader(self, program, vs_outputs: int, inputs: int = 0, mode: int = 0, fixed: tuple[int, int] = (0, 1),
                        main_vertices: int = 1) -> CommandBuilder:
        """Put the geometry stage in use with ``program`` (pica_asm.Program) on shader unit 3, its
        own configuration (VSH_COM_MODE 1): each vertex gives it ``vs_outputs`` outputs; point
        mode (0) takes ``inputs`` of them an invocation, fixed mode (2) ``fixed`` = (first
        uniform, vertices), variable mode (1) ``main_vertices``. Its outputs set the output map."""
        self.write(R.GEOSTAGE_CONFIG, 2).write(R.VSH_COM_MODE, 1)
        self._program(program, R.GSH_OFFSET)
        to_uniforms = 1 if mode else 0
        self.write(R.GSH_INPUTBUFFER_CONFIG, 0x08000000 | to_uniforms << 8 | max(inputs - 1, 0))
        self.write(R.GSH_ATTRIBUTES_PERMUTATION_LOW, 0x76543210, 0xFEDCBA98, consecutive=True)
        self.write(R.VSH_OUTMAP_TOTAL1, vs_outputs - 1).write(0x251, vs_outputs - 1)
        start, vertices = fixed
        self.write(R.GSH_MISC0, mode | (vertices - 1) << 8 | (vs_outputs - 1) << 12 | start << 16)
        self.write(R.GSH_MISC1, main_vertices - 1)
        for reg, values in program.constants:
            self.write(R.GSH_FLOATUNIFORM_CONFIG, reg).write(R.GSH_FLOATUNIFORM_DATA[0], *pack_vec4(*values))
        return self

    def uniform(self, index: int, values, float32: bool = False) -> CommandBuilder:
        if float32:
            words = struct.unpack("<4I", struct.pack("<4f", *values[::-1]))
            return self.write(R.VSH_FLOATUNIFORM_CONFIG, 1 << 31 | index).write(R.VSH_FLOATUNIFORM_DATA[0], *words)
        return self.write(R.VSH_FLOATUNIFORM_CONFIG, index).write(R.VSH_FLOATUNIFORM_DATA[0], *pack_vec4(*values))

    def framebuffer(self, paddr: int, width: int, height: int, fmt: int) -> CommandBuilder:
        self.write(R.COLORBUFFER_LOC, paddr >> 3)
        self.write(R.FRAMEBUFFER_DIM, width | (height - 1) << 12 | 1 << 24)
        self.write(R.COLORBUFFER_FORMAT, fmt << 16 | (2 if fmt == 0 else 0))
        self.write(R.COLORBUFFER_WRITE, 0xF)
        self.write(R.DEPTH_COLOR_MASK, 0xF << 8)
        return self.write(R.LOGIC_OP, 3)  # COPY: fragments replace pixels (blending off)

    def viewport(self, x: int, y: int, width: int, height: int) -> CommandBuilder:
        half_w, half_h = (int(f32_to_f24(v / 2)) for v in (width, height))
        self.write(R.VIEWPORT_WIDTH, half_w).write(R.VIEWPORT_HEIGHT, half_h)
        return self.write(R.VIEWPORT_XY, (x & 0x3FF) | (y & 0x3FF) << 16)

    def texenv_replace_primary(self) -> CommandBuilder:
        """Stage 0: REPLACE with the primary colour (colour and alpha); stages 1-5 pass the previous."""
        self.write(R.TEXENV_BASES[0], 0x00000000, 0, 0, 0xFFFFFFFF, 0, consecutive=True)
        for base in R.TEXENV_BASES[1:]:
            self.write(base, 0x000F000F, 0, 0, 0xFFFFFFFF, 0, consecutive=True)
        return self

    def texture(self, unit: int, paddr: int, width: int, height: int, fmt: int, *, wrap_s: int = 0,
                wrap_t: int = 0, mag: int = 0, min: int = 0, border: int = 0, lod: int = 0,
                kind: int = 0, mip: int = 0) -> CommandBuilder:
        """Texture unit ``unit``'s registers (3dbrew GPUREG_TEXUNITi_*), as citro3d's C3D_TexBind."""
        base, type_reg = TEXUNIT_REGS[unit]
        param = mag << 1 | min << 2 | wrap_t << 8 | wrap_s << 12 | mip << 24 | kind << 28
        self.write(base, border, height | width << 16, param, lod, paddr >> 3, consecutive=True)
        return self.write(type_reg, fmt)

    def cube_faces(self, paddrs: list[int], high: int = 0) -> CommandBuilder:
        """TEXUNIT0_ADDR2-6 (0x086-0x08A): cube faces -X, +Y, -Y, +Z, -Z, each address / 8 in
        bits 0-21 (``high``: what a careless writer leaves above them, which the GPU ignores)."""
        return self.write(0x086, *((pa >> 3) & 0x3FFFFF | high << 22 for pa in paddrs), consecutive=True)

    def texunits(self, mask: int, coord1: bool = False) -> CommandBuilder:
        """TEXUNIT_CONFIG: units on (bits 0-2), unit 2 on texture coordinate 1 (bit 13)."""
        return self.write(R.TEXUNIT_CONFIG, mask | coord1 << 13)

    def texenv_replace(self, source: int) -> CommandBuilder:
        """Stage 0: REPLACE with TexEnv ``source`` (colour and alpha); stages 1-5 pass the previous."""
        self.write(R.TEXENV_BASES[0], source | source << 16, 0, 0, 0xFFFFFFFF, 0, consecutive=True)
        for base in R.TEXENV_BASES[1:]:
            self.write(base, 0x000F000F, 0, 0, 0xFFFFFFFF, 0, consecutive=True)
        return self

    def texenv_replace_texture(self, unit: int = 0) -> CommandBuilder:
        """Stage 0: REPLACE with texture ``unit`` (colour and alpha); stages 1-5 pass the previous."""
        source = 3 + unit
        self.write(R.TEXENV_BASES[0], source | source << 16, 0, 0, 0xFFFFFFFF, 0, consecutive=True)
        for base in R.TEXENV_BASES[1:]:
            self.write(base, 0x000F000F, 0, 0, 0xFFFFFFFF, 0, consecutive=True)
        return self

    def attributes(self, paddr: int, stride: int, formats: list[tuple[int, int]]) -> CommandBuilder:
        """One array of interleaved attributes (type, components) at physical ``paddr``."""
        low = sum((t | (n - 1) << 2) << (4 * i) for i, (t, n) in enumerate(formats))
        count = len(formats)
        self.write(R.ATTRIBBUFFERS_LOC, paddr >> 3)
        self.write(R.ATTRIBBUFFERS_FORMAT_LOW, low & 0xFFFFFFFF, (count - 1) << 28 | (low >> 32) & 0xFFFF,
                   consecutive=True)
        components = sum(i << (4 * i) for i in range(count))
        self.write(R.ATTRIBBUFFER0_OFFSET, 0, components, stride << 16 | count << 28, consecutive=True)
        self.write(R.VSH_INPUTBUFFER_CONFIG, 0xA0000000 | (count - 1))
        self.write(R.VSH_NUM_ATTR, count - 1)
        self.write(R.VSH_ATTRIBUTES_PERMUTATION_LOW, 0x76543210, 0xFEDCBA98, consecutive=True)
        return self

    def draw_arrays(self, count: int, first: int = 0, topology: int = 0) -> CommandBuilder:
        self.write(R.PRIMITIVE_CONFIG, topology << 8 | 1)
        self.write(R.NUMVERTICES, count).write(R.VERTEX_OFFSET, first)
        return self.write(R.DRAWARRAYS, 1)

    def finalize(self) -> CommandBuilder:
        return self.write(R.FINALIZE, 0x12345678)

    def data(self) -> bytes:
        return struct.pack(f"<{len(self.words)}I", *self.words)
