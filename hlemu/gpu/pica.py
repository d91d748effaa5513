"""The PICA200 command processor: runs command lists, keeps the register file and the shader
unit's memory, and draws.

A list's writes go to the register file in order (:mod:`hlemu.gpu.cmdlist`); some registers
do more when written (3dbrew "GPU/Internal Registers"; behaviour as Azahar's
``pica/pica_core.cpp``):

- FINALIZE: when a byte of it matches IRQ_CMP (0x12345678 after reset) the GPU raises P3D
  and, with IRQ_AUTOSTOP set, stops reading the list (citro3d ends every list so).
- VSH_CODETRANSFER_DATA / VSH_OPDESCS_DATA: a word of shader code / an operand descriptor at
  the offset in VSH_CODETRANSFER_CONFIG / VSH_OPDESCS_CONFIG, which then counts up.
- VSH_FLOATUNIFORM_DATA: three words (float24, four values packed) or four (float32, w first)
  make one uniform, stored at the index in VSH_FLOATUNIFORM_CONFIG, which counts up; writing
  the config register starts a new vector. VSH_BOOLUNIFORM, VSH_INTUNIFORM_I0-3 likewise.
- LIGHTING_LUT_DATA0-7: a word of lighting LUT LIGHTING_LUT_INDEX bits 8-12 at the entry in its
  bits 0-7, which then counts up (:mod:`hlemu.gpu.lighting`).
- FIXEDATTRIB_DATA: three words make an attribute value: the fixed value of attribute
  FIXEDATTRIB_INDEX (which counts up), or in immediate mode (index 0xF) the next attribute
  of a vertex; after VSH_NUM_ATTR + 1 of them the vertex is drawn.
- DRAWARRAYS / DRAWELEMENTS: draw NUMVERTICES vertices from VERTEX_OFFSET, or through the
  index buffer (INDEXBUFFER_CONFIG: offset from the attribute base, bit 31 for 16-bit indices).
- CMDBUF_JUMP0/1: go on with the list at CMDBUF_ADDRi * 8 (CMDBUF_SIZEi * 8 bytes).

A draw: attributes (:mod:`hlemu.gpu.vertex`), the vertex shader (:mod:`hlemu.gpu.shader`),
the output map (SH_OUTMAP_TOTAL, SH_OUTMAP_O0-6: which output component is position, colour,
...), triangles from the topology (PRIMITIVE_CONFIG bits 8-9: list, strip, fan; 3, geometry
shader output, is taken as a list), clipping (:mod:`hlemu.gpu.clip`), the viewport
(VIEWPORT_WIDTH/HEIGHT are half sizes in float24, VIEWPORT_XY the corner) and the rasteriser
(:mod:`hlemu.gpu.raster`) into the colour
buffer (COLORBUFFER_LOC, FRAMEBUFFER_DIM, COLORBUFFER_FORMAT; channels DEPTH_COLOR_MASK bits
8-11 allow). A draw that fails (memory the process does not have, a shader the interpreter
cannot run) is skipped and reported; the list goes on.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from hlemu.gpu import clip, geometry, lighting, proctex, raster, shadow, spans, texture, vertex
from hlemu.gpu import regs as R
from hlemu.gpu.cmdlist import Command, CommandListError, parse
from hlemu.gpu.float24 import f24_value, unpack_vec4
from hlemu.gpu.fragment import lighting_read, proctex_read, textures_read
from hlemu.gpu.memory import GpuFault, GpuMemory
from hlemu.gpu.shader import ShaderError, ShaderSetup, VertexShader, load_inputs
from hlemu.memory import MemoryPermission

TOPOLOGIES = ("list", "strip", "fan", "geometry")
# output semantics u0, v0, u1, v1, u2, v2, w0 (texture coordinates 0-2 and texture coordinate 0's w)
TEXCOORD_SLOTS = [12, 13, 14, 15, 22, 23, 16]
LIGHT_SLOTS = [4, 5, 6, 7, 18, 19, 20]  # the quaternion (x, y, z, w) and the view vector (x, y, z)
DEPTH_BYTES = {0: 2, 2: 3, 3: 4}  # D16, D24, D24S8
KEEP_LISTS = 64  # command lists kept for the debugger and the API
JUMP_LIMIT = 256  # CMDBUF_JUMPs one list may take (a list that jumps to itself is stopped)


@dataclass
class Draw:
    """One draw call, as the debugger shows it."""

    kind: str  # "arrays", "elements" or "immediate"
    vertices: int
    topology: str
    triangles: int = 0
    pixels: int = 0
    color_buffer: int = 0  # physical address
    width: int = 0
    height: int = 0
    format: str = ""
    error: str = ""
    textures: list[str] = field(default_factory=list)  # the units the draw sampled, described


@dataclass
class _Target:
    """A colour buffer held for the draws of one list; bytes ``first:last`` changed."""

    address: int
    buf: np.ndarray
    first: int = 1 << 62
    last: int = -1


@dataclass
class CommandList:
    """A list run by ProcessCommandList: where it was, its commands and what they did."""

    address: int  # the process's virtual address
    size: int
    frame: int = 0
    commands: list[Command] = field(default_factory=list)
    draws: list[Draw] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    p3d: bool = False

    def describe(self) -> list[str]:
        """The decoded list, one line a command."""
        return [f"{c.offset * 4:#06x}  {c.describe()}" for c in self.commands]


class Pica:
    """One PICA200 GPU (the 3DS has one; it serves whichever process submits a list)."""

    def __init__(self) -> None:
        self.regs = R.RegisterFile()
        self.vs = ShaderSetup()
        self.gs = ShaderSetup()  # shader unit 3, run as the geometry shader (hlemu.gpu.geometry)
        self.fixed = np.zeros((16, 4), np.float32)
        self.fog_lut = np.zeros(128, np.uint32)  # FOG_LUT_DATA words, at FOG_LUT_INDEX
        self.light_luts = np.zeros((lighting.LUTS, lighting.LUT_ENTRIES), np.uint32)  # LIGHTING_LUT_DATA words
        self.proctex_luts = np.zeros((proctex.TABLES, proctex.ENTRIES), np.uint32)  # PROCTEX_LUT_DATA words
        self._uniform_words: list[int] = []  # of the vertex unit's uniform being given
        self._gs_uniform_words: list[int] = []  # of the geometry unit's
        self._fixed_words: list[int] = []
        self._immediate: list[np.ndarray] = []  # attributes of the vertex being given
        self._immediate_vertices: list[np.ndarray] = []  # whole immediate vertices not drawn yet
        self.lists: deque[CommandList] = deque(maxlen=KEEP_LISTS)
        self.counts = {"lists": 0, "draws": 0, "triangles": 0, "pixels": 0}
        self._memory: GpuMemory | None = None
        self._current: CommandList | None = None
        self._targets: dict[str, _Target] = {}  # "colour buffer", "depth buffer"
        # Draws whose state hlemu.gpu.spans handles take it (the same pixels, faster); False
        # sends every draw through raster.draw_triangles (the tests compare the two).
        self.span_rasteriser = True

    # -- command lists ---------------------------------------------------------------------
    def run_list(self, memory: GpuMemory, vaddr: int, size: int, frame: int = 0) -> CommandList:
        """Run the list of ``size`` bytes at the process's virtual ``vaddr``. Raises
        :class:`GpuFault` when the list itself cannot be read (nothing was run)."""
        words = np.frombuffer(memory.read_virtual(vaddr, size & ~7, "command list").tobytes(), "<u4")
        return self.run_words(words, memory, CommandList(vaddr, size, frame))

    def run_words(self, words: np.ndarray | list[int], memory: GpuMemory | None = None,
                  record: CommandList | None = None) -> CommandList:
        """Run a list given as words; without ``memory`` a draw or jump fails (and is reported)."""
        record = record or CommandList(0, 4 * len(words))
        self.lists.append(record)
        self.counts["lists"] += 1
        self._memory, self._current = memory, record
        try:
            self._run_words(np.asarray(words, np.uint32), record)
            self._flush_immediate()
        finally:
            self._flush_target()
            self._memory = self._current = None
        return record

    def _buffer(self, address: int, size: int, what: str) -> _Target:
        """A colour or depth buffer's bytes, read once a list (draws into it share them)."""
        target = self._targets.get(what)
        if target is None or target.address != address or len(target.buf) != size:
            self._flush_target(what)
            assert self._memory is not None
            vaddr = self._memory.to_virtual(address, size, MemoryPermission.RW, what)
            target = self._targets[what] = _Target(address, self._memory.read_virtual(vaddr, size, what).copy())
        return target

    def _flush_target(self, what: str | None = None) -> None:
        """Write back the rows of tiles the list's draws changed (through the memory path)."""
        for name in [what] if what else list(self._targets):
            target = self._targets.pop(name, None)
            if target is None or target.last < target.first or self._memory is None:
                continue
            try:
                self._memory.write(target.address + target.first, target.buf[target.first : target.last], name)
            except GpuFault as fault:
                self._error(str(fault))

    def _run_words(self, words: np.ndarray, record: CommandList) -> None:
        for _ in range(JUMP_LIMIT):
            jump = None
            try:
                for command in parse(words):
                    record.commands.append(command)
                    jump = self._execute(command, record)
                    if jump is not None or record.p3d and self.regs[R.IRQ_AUTOSTOP] & 1:
                        break
            except CommandListError as error:
                record.errors.append(str(error))
            if jump is None:
                return
            try:
                if self._memory is None:
                    raise GpuFault("no memory to jump to (a list run without a process)")
                words = np.frombuffer(self._memory.read(*jump, "command buffer jump").tobytes(), "<u4")
            except GpuFault as fault:
                record.errors.append(str(fault))
                return
        record.errors.append(f"more than {JUMP_LIMIT} command buffer jumps: the list was stopped")

    def _execute(self, command: Command, record: CommandList) -> tuple[int, int] | None:
        """Do one command's writes; a (physical address, size) to jump to, or None."""
        for reg, value in command.writes():
            if reg >= R.NUM_REGS:
                record.errors.append(f"write to register {reg:#x}, past the last ({R.NUM_REGS - 1:#x})")
                continue
            if self._immediate_vertices and reg not in R.FIXEDATTRIB_DATA:
                self._flush_immediate()
            new = self.regs.write(reg, value, command.mask)
            handler = _SPECIAL.get(reg)
            if handler is not None:
                jump = handler(self, reg, value, new)
                if jump is not None:
                    return jump
                if record.p3d and self.regs[R.IRQ_AUTOSTOP] & 1:
                    return None
        return None

    # -- special registers -------------------------------------------------------------------
    def _finalize(self, reg: int, value: int, new: int) -> None:
        cmp = self.regs[R.IRQ_CMP]
        if any((new >> s) & 0xFF == (cmp >> s) & 0xFF for s in (0, 8, 16, 24)):
            assert self._current is not None
            self._current.p3d = True

    def _unit(self, reg: int) -> tuple[ShaderSetup, int]:
        """The shader unit a register of 0x280-0x2DF configures, and the offset that turns it
        into the vertex unit's register of the same meaning."""
        return (self.gs, R.GSH_OFFSET) if reg < R.VSH_BOOLUNIFORM else (self.vs, 0)

    def _upload(self, reg: int, value: int, new: int) -> None:
        setup, shift = self._unit(reg)
        if not shift and not self.regs[R.VSH_COM_MODE] & 1:  # the geometry unit takes the vertex unit's code too
            self._store_word(self.gs, reg, value, 0, count=False)
        self._store_word(setup, reg + shift, value, shift)

    def _store_word(self, setup: ShaderSetup, reg: int, value: int, shift: int, count: bool = True) -> None:
        """A code or descriptor word (``reg`` as the vertex unit names it) into ``setup`` at the
        transfer offset of the unit ``shift`` names, which then counts up (unless not ``count``:
        a copy of the vertex unit's upload)."""
        config, store = ((R.VSH_CODETRANSFER_CONFIG, setup.code) if reg in R.VSH_CODETRANSFER_DATA
                         else (R.VSH_OPDESCS_CONFIG, setup.swizzles))
        offset = self.regs[config - shift] & 0xFFF
        if offset < len(store):
            store[offset] = value
            if count:
                self.regs.values[config - shift] = offset + 1
        elif count:
            self._error(f"{R.name(reg - shift)}: offset {offset} is past the {len(store)} words of the shader unit")

    def _uniform_config(self, reg: int, value: int, new: int) -> None:
        if reg == R.GSH_FLOATUNIFORM_CONFIG:
            self._gs_uniform_words = []
        else:
            self._uniform_words = []

    def _uniform_data(self, reg: int, value: int, new: int) -> None:
        setup, shift = self._unit(reg)
        config_reg = R.VSH_FLOATUNIFORM_CONFIG - shift
        config = self.regs[config_reg]
        words = self._gs_uniform_words if shift else self._uniform_words
        words.append(value)
        float32 = bool(config >> 31)
        if len(words) < (4 if float32 else 3):
            return
        vector = words[:]
        words.clear()
        index = config & 0x7F
        if index < 96:  # higher indices are ignored, as on hardware (Azahar)
            if float32:
                setup.floats[index] = np.array(struct.unpack("<4f", struct.pack("<4I", *vector))[::-1], np.float32)
            else:
                setup.floats[index] = unpack_vec4(vector)
            if not shift and self._shares_uniforms():
                self.gs.floats[index] = setup.floats[index]
            self.regs.values[config_reg] = (config & ~0x7F) | (index + 1)

    def _shares_uniforms(self) -> bool:
        """Whether the vertex unit's uniforms and output mask reach the geometry unit too: its
        configuration not exclusive (VSH_COM_MODE bit 0) and the geometry stage not in use."""
        return not self.regs[R.VSH_COM_MODE] & 1 and self.regs[R.GEOSTAGE_CONFIG] & 3 != 2

    def _bool_uniforms(self, reg: int, value: int, new: int) -> None:
        setup, shift = self._unit(reg)
        for unit in (setup, self.gs) if not shift and self._shares_uniforms() else (setup,):
            unit.bools[:] = [(new >> i) & 1 for i in range(16)]

    def _int_uniform(self, reg: int, value: int, new: int) -> None:
        setup, shift = self._unit(reg)
        for unit in (setup, self.gs) if not shift and self._shares_uniforms() else (setup,):
            unit.ints[reg + shift - R.VSH_INTUNIFORM_I0] = [(new >> s) & 0xFF for s in (0, 8, 16, 24)]

    def _output_mask(self, reg: int, value: int, new: int) -> None:
        if self._shares_uniforms():
            self.regs.values[R.GSH_OUTMAP_MASK] = new

    def _fog_data(self, reg: int, value: int, new: int) -> None:
        """A fog LUT word at FOG_LUT_INDEX (modulo 128), which then counts up (Azahar)."""
        index = self.regs[R.FOG_LUT_INDEX] & 0xFFFF
        self.fog_lut[index % 128] = new
        self.regs.values[R.FOG_LUT_INDEX] = (self.regs[R.FOG_LUT_INDEX] & ~0xFFFF) | ((index + 1) & 0xFFFF)

    def _light_lut_data(self, reg: int, value: int, new: int) -> None:
        """A lighting LUT word into table LUT_INDEX bits 8-12 at entry bits 0-7, which then
        counts up, wrapping in its eight bits (Azahar)."""
        config = self.regs[lighting.LUT_INDEX]
        table, index = (config >> 8) & 0x1F, config & 0xFF
        if table < lighting.LUTS:
            self.light_luts[table, index] = new
        else:
            self._error(f"LIGHTING_LUT_INDEX: table {table} does not exist (0-{lighting.LUTS - 1})")
        self.regs.values[lighting.LUT_INDEX] = (config & ~0xFF) | ((index + 1) & 0xFF)

    def _proctex_lut_data(self, reg: int, value: int, new: int) -> None:
        """A procedural texture LUT word into table PROCTEX_LUT bits 8-11 at entry bits 0-7,
        which then counts up, wrapping in its eight bits (Azahar)."""
        config = self.regs[proctex.LUT_INDEX]
        table, index = (config >> 8) & 0xF, config & 0xFF
        if table < proctex.TABLES and table != 1:
            self.proctex_luts[table, index] = new
        else:
            self._error(f"PROCTEX_LUT: table {table} does not exist (0, 2-5)")
        self.regs.values[proctex.LUT_INDEX] = (config & ~0xFF) | ((index + 1) & 0xFF)

    def _fixed_index(self, reg: int, value: int, new: int) -> None:
        self._fixed_words, self._immediate = [], []

    def _fixed_data(self, reg: int, value: int, new: int) -> None:
        self._fixed_words.append(value)
        if len(self._fixed_words) < 3:
            return
        vec, self._fixed_words = unpack_vec4(self._fixed_words), []
        index = self.regs[R.FIXEDATTRIB_INDEX] & 0xF
        if index < 12:
            self.fixed[index] = vec
            self.regs.values[R.FIXEDATTRIB_INDEX] = index + 1
        elif index == 0xF:
            self._immediate.append(vec)
            if len(self._immediate) > (self.regs[R.VSH_NUM_ATTR] & 0xF):
                attrs = np.zeros((16, 4), np.float32)
                attrs[: len(self._immediate)] = self._immediate
                self._immediate_vertices.append(attrs)
                self._immediate = []
        else:
            self._error(f"FIXEDATTRIB_INDEX {index} names no attribute (0-11, or 15 for immediate mode)")

    def _draw_trigger(self, reg: int, value: int, new: int) -> None:
        self._draw("elements" if reg == R.DRAWELEMENTS else "arrays")

    def _jump(self, reg: int, value: int, new: int) -> tuple[int, int]:
        k = reg - R.CMDBUF_JUMP0
        size = (self.regs[R.CMDBUF_SIZE0 + k] & 0xFFFFF) * 8
        return (self.regs[R.CMDBUF_ADDR0 + k] & 0x0FFFFFFF) * 8, size

    def _error(self, message: str) -> None:
        if self._current is not None:
            self._current.errors.append(message)

    # -- drawing -----------------------------------------------------------------------------
    def _flush_immediate(self) -> None:
        if not self._immediate_vertices:
            return
        attrs = np.stack(self._immediate_vertices)
        self._immediate_vertices = []
        self._draw("immediate", attrs)

    def _draw(self, kind: str, immediate: np.ndarray | None = None) -> None:
        assert self._current is not None
        topology = TOPOLOGIES[(self.regs[R.PRIMITIVE_CONFIG] >> 8) & 3]
        count = len(immediate) if immediate is not None else self.regs[R.NUMVERTICES]
        draw = Draw(kind, count, topology)
        self._current.draws.append(draw)
        self.counts["draws"] += 1
        try:
            if self._memory is None:
                raise GpuFault("no memory to draw with (a list run without a process)")
            counts = None
            if immediate is not None:
                attributes = immediate
            else:
                indices = self._indices(kind == "elements", count)
                if geometry.enabled(self.regs) and geometry.mode(self.regs) == geometry.VARIABLE \
                        and kind == "elements":  # the index stream gives each primitive's count first
                    indices, counts = geometry.split_variable(indices)
                unique, inverse = np.unique(indices, return_inverse=True)
                attributes = vertex.load(self.regs, self._memory, unique, self.fixed)[inverse]
            outputs = self._shade(attributes, counts)
            self._rasterize(draw, outputs, topology)
        except (GpuFault, ShaderError) as error:
            draw.error = str(error)
            self._current.errors.append(f"{kind} draw: {error}")

    def _scissor(self) -> np.ndarray:
        """(mode, x1, y1, x2, y2) from SCISSORTEST_MODE/POS/DIM (Azahar: x2, y2 inclusive)."""
        return _scissor_box(self.regs[R.SCISSORTEST_MODE], self.regs[R.SCISSORTEST_POS], self.regs[R.SCISSORTEST_DIM])

    def _indices(self, indexed: bool, count: int) -> np.ndarray:
        if not indexed:
            return np.arange(count, dtype=np.int64) + self.regs[R.VERTEX_OFFSET]
        config = self.regs[R.INDEXBUFFER_CONFIG]
        base = (self.regs[R.ATTRIBBUFFERS_LOC] & 0x1FFFFFFE) << 3
        width = 2 if config >> 31 else 1
        assert self._memory is not None
        raw = self._memory.read(base + (config & 0x0FFFFFFF), max(count * width, 1), "index buffer")
        return raw[: count * width].view("<u2" if width == 2 else np.uint8).astype(np.int64)

    def _shade(self, attributes: np.ndarray, counts: list[int] | None = None) -> np.ndarray:
        """Attributes (n, 16, 4) -> semantic slots (n, 24): position 0-3, colour 8-11, ...; with
        the geometry stage in use, of the vertices its shader emitted (``counts``: the variable
        mode's primitive sizes)."""
        n = len(attributes)
        permutation = self.regs[R.VSH_ATTRIBUTES_PERMUTATION_LOW] | self.regs[R.VSH_ATTRIBUTES_PERMUTATION_HIGH] << 32
        inputs = load_inputs(attributes, permutation, (self.regs[R.VSH_INPUTBUFFER_CONFIG] & 0xF) + 1)
        out = VertexShader(self.vs).run(inputs, self.regs[R.VSH_ENTRYPOINT] & 0xFFFF)
        mask = self.regs[R.VSH_OUTMAP_MASK] & 0xFFFF
        written = out[:, [r for r in range(16) if mask >> r & 1]]
        if geometry.enabled(self.regs):
            written = geometry.run(self.regs, self.gs, written, counts)
            n = len(written)
        slots = np.ones((n, 32), np.float32)
        for k in range(min(self.regs[R.SH_OUTMAP_TOTAL] & 7, written.shape[1])):
            semantics = self.regs[R.SH_OUTMAP_O0 + k]
            for c in range(4):
                slots[:, (semantics >> (8 * c)) & 0x1F] = written[:, k, c]
        return slots

    def _rasterize(self, draw: Draw, slots: np.ndarray, topology: str) -> None:
        assert self._memory is not None
        stages = np.array([[self.regs[base + k] for k in range(5)] for base in R.TEXENV_BASES], np.uint32)
        lit = lighting.enabled(self.regs) and lighting_read(stages, raster.stages_needed(stages))
        # position, colour (taken absolute and clamped before clipping mixes it), texture
        # coordinates, and with lighting the quaternion and view vector
        columns = [slots[:, 0:4], np.clip(np.abs(slots[:, 8:12]), 0, 1), slots[:, TEXCOORD_SLOTS]]
        tris = triangles(len(slots), topology)
        if lit:
            columns.append(slots[:, LIGHT_SLOTS])
        outputs = np.concatenate(columns, axis=1).astype(np.float64)
        if lit:
            outputs, tris = _flip_quaternions(outputs, tris)
        outputs, tris = clip.clip(outputs, tris, self._user_plane())
        pos, color, coords = outputs[:, 0:4], outputs[:, 4:8], outputs[:, 8:15]
        lights = outputs[:, 15:22] if lit else np.zeros((1, 7))
        draw.triangles = len(tris)
        self.counts["triangles"] += len(tris)
        fmt = (self.regs[R.COLORBUFFER_FORMAT] >> 16) & 7
        dim = self.regs[R.FRAMEBUFFER_DIM]
        width, height = dim & 0x7FF, ((dim >> 12) & 0x3FF) + 1
        address = (self.regs[R.COLORBUFFER_LOC] & 0x0FFFFFFF) * 8
        draw.color_buffer, draw.width, draw.height = address, width, height
        draw.format = raster.FORMAT_NAMES[fmt] if fmt < 5 else f"format {fmt}"
        mask = (self.regs[R.DEPTH_COLOR_MASK] >> 8) & 0xF if self.regs[R.COLORBUFFER_WRITE] & 0xF else 0
        depth_work = (self.regs[R.DEPTH_COLOR_MASK] >> 12 & 1 or self.regs[R.STENCIL_TEST] & 1) \
            and self.regs[R.DEPTHBUFFER_WRITE] & 3
        shadow_map = shadow.settings(self.regs)  # a shadow map's writes ignore the masks (Azahar)
        if not len(tris) or not (mask or depth_work or shadow_map[0]):  # nothing a fragment could change
            return
        if fmt > 4 or width % 8 or height % 8 or not width:
            raise GpuFault(f"colour buffer {width}x{height} in format {fmt} cannot be drawn into")
        half_w = f24_value(self.regs[R.VIEWPORT_WIDTH])
        half_h = f24_value(self.regs[R.VIEWPORT_HEIGHT])
        corner = self.regs[R.VIEWPORT_XY]
        cx, cy = _signed10(corner & 0x3FF), _signed10((corner >> 16) & 0x3FF)
        with np.errstate(all="ignore"):
            invw = 1.0 / pos[:, 3]
            fx = np.round(((pos[:, 0] * invw + 1) * half_w + cx) * 16)
            fy = np.round(((pos[:, 1] * invw + 1) * half_h + cy) * 16)
        fx = np.nan_to_num(fx, nan=0.0, posinf=1 << 20, neginf=-(1 << 20)).clip(-(1 << 20), 1 << 20).astype(np.int64)
        fy = np.nan_to_num(fy, nan=0.0, posinf=1 << 20, neginf=-(1 << 20)).clip(-(1 << 20), 1 << 20).astype(np.int64)
        # textures first: reading one may write back a buffer this list drew into; lighting's
        # bump map is sampled though no stage reads it (unit 3 is the procedural texture)
        lit_textures = lighting.textures_read(self.regs) if lit else set()
        used = textures_read(stages, raster.stages_needed(stages)) | sum(1 << t for t in lit_textures if t < 3)
        units, tex_data, sampled = self._textures(draw, used)
        bpp = 4 if shadow_map[0] else raster.BYTES_PER_PIXEL[fmt]
        target = self._buffer(address, width * height * bpp, "colour buffer")
        buf = target.buf
        depth, dfmt, dtarget = self._depth(width, height)
        bc = self.regs[R.TEXENV_BUFFER_COLOR]
        buffer_color = np.array([(bc >> s) & 0xFF for s in (0, 8, 16, 24)], np.int64)
        scissor, update, count = self._scissor(), self.regs[R.TEXENV_UPDATE_BUFFER], raster.stages_needed(stages)
        colors, uvs = color * invw[:, None], coords * invw[:, None]
        cull, blend = self.regs[R.FACECULLING_CONFIG] & 3, bool(self.regs[R.COLOR_OPERATION] >> 8 & 1)
        dbuf = dtarget.buf if dtarget else np.zeros(0, np.uint8)
        stencil = raster.stencil_settings(self.regs[R.STENCIL_TEST], self.regs[R.STENCIL_OP],
                                          bool(self.regs[R.DEPTHBUFFER_WRITE] & 3))
        proc = proctex.enabled(self.regs) and (proctex_read(stages, count) or 3 in lit_textures)
        proc_params = proctex.settings(self.regs) if proc else np.zeros(proctex.SETTINGS)
        proc_luts = proctex.lut_table(self.proctex_luts) if proc else np.zeros((1, 1, 4))
        # (the span rasteriser draws no shadow map and samples no shadow texture)
        if self.span_rasteriser and not shadow_map[0] and not (sampled & 1 and units[0, texture.SHADOW]) \
                and spans.handles(lit, update, int(scissor[0]), units, sampled):
            pixels, low, high, dlow, dhigh = spans.draw(
                tris, fx, fy, invw, colors, buf, width, height, fmt, mask, cull, scissor,
                self.regs[R.FRAGOP_ALPHA_TEST], stages, count, buffer_color, update, blend, self.regs[R.BLEND_FUNC],
                self.regs[R.LOGIC_OP] & 0xF, self.regs[R.BLEND_COLOR], uvs, units, tex_data, sampled,
                pos[:, 2] * invw, depth, dbuf, dfmt, stencil, proc_params, proc_luts)
        else:
            pixels, low, high, dlow, dhigh = raster.draw_triangles(
                tris, fx, fy, invw, colors, buf, width, height, fmt, mask, cull, stages, buffer_color, update, count,
                blend, self.regs[R.BLEND_FUNC], self.regs[R.LOGIC_OP] & 0xF, self.regs[R.BLEND_COLOR],
                self.regs[R.FRAGOP_ALPHA_TEST], scissor, (pos[:, 2] * invw), depth, dbuf, dfmt, uvs, units, tex_data,
                sampled, stencil, *raster.fog_settings(update, self.regs[R.FOG_COLOR], self.fog_lut),
                lit, lights * invw[:, None], lighting.settings(self.regs) if lit else np.zeros(lighting.SETTINGS),
                lighting.lut_table(self.light_luts) if lit else np.zeros((1, 1, 2)),
                proc_params, proc_luts, bool(shadow_map[0]), shadow_map[1], shadow_map[2])
        draw.pixels = int(pixels)
        self.counts["pixels"] += int(pixels)
        # the bytes of the rows of tiles changed (memory rows run top down)
        for t, size, lo, hi in ((target, bpp, low, high), (dtarget, DEPTH_BYTES.get(dfmt, 4), dlow, dhigh)):
            if t is not None and hi >= lo:
                row = width * 8 * size
                t.first = min(t.first, ((height - 1 - hi) >> 3) * row)
                t.last = max(t.last, (((height - 1 - lo) >> 3) + 1) * row)

    def _user_plane(self) -> tuple[float, float, float, float] | None:
        """The user clip plane's coefficients (FRAGOP_CLIP_DATA0-3, float24) when FRAGOP_CLIP
        bit 0 turns it on."""
        if not self.regs[R.FRAGOP_CLIP] & 1:
            return None
        a, b, c, d = (f24_value(self.regs[R.FRAGOP_CLIP_DATA0 + k]) for k in range(4))
        return a, b, c, d

    def _textures(self, draw: Draw, used: int) -> tuple[np.ndarray, np.ndarray, int]:
        """The texture unit table, the texels of the units the TexEnv stages read (one array)
        and which units to sample (a cube map's six faces one after another; a shadow texture's
        texels are compared with the fragment's depth). A unit that is off reads 0, 0, 0, 0; one
        at address 0 black."""
        table = np.zeros((3, texture.CONFIG_FIELDS), np.int64)
        parts: list[np.ndarray] = []
        offset, sampled = 0, 0
        for unit in texture.units(self.regs):
            mode, fixed = texture.OFF, 0
            if used >> unit.index & 1 and unit.enabled and unit.type != 5:
                fixed = 0xFF000000
                if unit.address:
                    faces = unit.faces or [unit.address]
                    parts.append(np.concatenate([self._texels(unit, at) for at in faces]))
                    mode, sampled = texture.SAMPLE, sampled | 1 << unit.index
                    draw.textures.append(unit.describe())
            table[unit.index] = unit.row(offset, mode, fixed)
            offset += len(parts[-1]) if mode == texture.SAMPLE else 0
        data = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
        return table, data, sampled

    def _texels(self, unit: texture.Unit, address: int) -> np.ndarray:
        """``unit``'s texture (all its levels) at ``address``, read through the memory path (after
        writing back a colour or depth buffer of this list that it overlaps: render to texture)."""
        if unit.format >= len(texture.FORMAT_NAMES):
            raise GpuFault(f"texture {unit.index}: format {unit.format} does not exist (0-13)")
        if unit.width < 8 or unit.height < 8 or unit.width % 8 or unit.height % 8:
            raise GpuFault(f"texture {unit.index}: {unit.width}x{unit.height} cannot be sampled "
                           "(sides are multiples of 8, at least 8)")
        for name, target in list(self._targets.items()):
            if target.address < address + unit.size and address < target.address + len(target.buf):
                self._flush_target(name)
        assert self._memory is not None
        return self._memory.read(address, unit.size, f"texture {unit.index}")

    def _depth(self, width: int, height: int) -> tuple[np.ndarray, int, _Target | None]:
        """The depth test's settings (DEPTH_COLOR_MASK bits 0, 4-6, 12; DEPTHMAP_SCALE/OFFSET;
        DEPTHMAP_ENABLE) and the depth buffer, when the draw tests or writes depth."""
        mode = self.regs[R.DEPTH_COLOR_MASK]
        test, write = bool(mode & 1), bool(mode >> 12 & 1) and bool(self.regs[R.DEPTHBUFFER_WRITE] & 3)
        dfmt = self.regs[R.DEPTHBUFFER_FORMAT] & 3
        stencil = bool(self.regs[R.STENCIL_TEST] & 1) and dfmt == 3  # only a D24S8 buffer has stencil
        settings = np.array([test, (mode >> 4) & 7, write, f24_value(self.regs[R.DEPTHMAP_SCALE]),
                             f24_value(self.regs[R.DEPTHMAP_OFFSET]), self.regs[R.DEPTHMAP_ENABLE] & 1],
                            np.float64)
        if not (test or write or stencil):
            return settings, dfmt, None
        if dfmt == 1:
            raise GpuFault("depth buffer format 1 does not exist (0 D16, 2 D24, 3 D24S8)")
        address = (self.regs[R.DEPTHBUFFER_LOC] & 0x0FFFFFFF) * 8
        return settings, dfmt, self._buffer(address, width * height * DEPTH_BYTES[dfmt], "depth buffer")


def _flip_quaternions(outputs: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each triangle's own corners, the second and third quaternion (columns 15-18) negated
    when it points away from the first's (Azahar's FlipQuaternionIfOpposite, before clipping):
    q and -q are the same rotation, but mixed they would pass through zero."""
    corners = outputs[tris.reshape(-1)].reshape(len(tris), 3, -1)
    q = corners[:, :, 15:19]
    opposite = (q[:, 1:] * q[:, :1]).sum(axis=2) < 0
    q[:, 1:] = np.where(opposite[:, :, None], -q[:, 1:], q[:, 1:])
    corners[:, :, 15:19] = q
    return corners.reshape(len(tris) * 3, -1), np.arange(len(tris) * 3, dtype=np.int64).reshape(-1, 3)


def _scissor_box(mode: int, pos: int, dim: int) -> np.ndarray:
    return np.array([mode & 3, pos & 0x3FF, (pos >> 16) & 0x3FF, dim & 0x3FF, (dim >> 16) & 0x3FF], np.int64)


def _signed10(v: int) -> int:
    return v - 0x400 if v & 0x200 else v


def triangles(n: int, topology: str) -> np.ndarray:
    """Vertex index triples of ``n`` vertices assembled as ``topology``, as the hardware's
    two-entry vertex buffer gives them (Azahar ``primitive_assembly.cpp``): a strip's new
    vertex replaces the older of the two, a fan's always the second.

    >>> triangles(5, "strip").tolist()
    [[0, 1, 2], [2, 1, 3], [2, 3, 4]]
    >>> triangles(4, "fan").tolist()
    [[0, 1, 2], [0, 2, 3]]
    """
    if topology in ("list", "geometry"):
        return np.arange(n - n % 3, dtype=np.int64).reshape(-1, 3)
    out = []
    buffer, index, ready = [0, 0], 0, False
    for v in range(n):
        if ready:
            out.append((buffer[0], buffer[1], v))
        buffer[index] = v
        ready |= index == 1
        index = (1 - index) if topology == "strip" else 1
    return np.array(out, dtype=np.int64).reshape(-1, 3)


_SPECIAL = {R.FINALIZE: Pica._finalize, R.VSH_FLOATUNIFORM_CONFIG: Pica._uniform_config,
            R.VSH_BOOLUNIFORM: Pica._bool_uniforms, R.FIXEDATTRIB_INDEX: Pica._fixed_index,
            R.DRAWARRAYS: Pica._draw_trigger, R.DRAWELEMENTS: Pica._draw_trigger,
            R.CMDBUF_JUMP0: Pica._jump, R.CMDBUF_JUMP0 + 1: Pica._jump}
_SPECIAL.update({reg: Pica._upload for reg in (*R.VSH_CODETRANSFER_DATA, *R.VSH_OPDESCS_DATA,
                                                 *R.GSH_CODETRANSFER_DATA, *R.GSH_OPDESCS_DATA)})
_SPECIAL.update({reg: Pica._uniform_data for reg in (*R.VSH_FLOATUNIFORM_DATA, *R.GSH_FLOATUNIFORM_DATA)})
_SPECIAL.update({R.VSH_INTUNIFORM_I0 + k: Pica._int_uniform for k in range(4)})
_SPECIAL.update({R.GSH_INTUNIFORM_I0 + k: Pica._int_uniform for k in range(4)})
_SPECIAL.update({R.GSH_FLOATUNIFORM_CONFIG: Pica._uniform_config, R.GSH_BOOLUNIFORM: Pica._bool_uniforms,
                 R.VSH_OUTMAP_MASK: Pica._output_mask})
_SPECIAL.update({reg: Pica._fixed_data for reg in R.FIXEDATTRIB_DATA})
_SPECIAL.update({reg: Pica._fog_data for reg in R.FOG_LUT_DATA})
_SPECIAL.update({reg: Pica._light_lut_data for reg in lighting.LUT_DATA})
_SPECIAL.update({reg: Pica._proctex_lut_data for reg in proctex.LUT_DATA})
