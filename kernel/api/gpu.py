"""``emu.gpu``: what the PICA200 was given and what it drew, for scripts and the debugger.

>>> from kernel.api import Emulator
>>> emu = Emulator(backend="semifastmem", echo=False)
>>> _ = emu.spawn("gpu_triangles")
>>> _ = emu.run()
>>> [(d.kind, d.vertices, d.triangles, d.format) for d in emu.gpu.draws()]
[('arrays', 3, 1, 'RGBA8'), ('arrays', 3, 1, 'RGBA8')]
>>> emu.gpu.lines()[0]
'0x0000  VSH_CODETRANSFER_CONFIG = 0x00000000'
>>> emu.gpu.register("FRAMEBUFFER_DIM") == 240 | 399 << 12 | 1 << 24
True
>>> emu.gpu.shader()[0]
'0x000  08020000  dp4 o0.x, c0, v0  ; main'
>>> emu.gpu.frame_counts()["draws"], emu.gpu.counts["draws"] >= 2
(2, True)
>>> emu.gpu.textures()  # gpu_triangles samples no texture
[]
>>> emu.close()

Textures come decoded to RGBA (row 0 the top of the texture), read from memory when asked:

>>> emu = Emulator(backend="semifastmem", echo=False)
>>> _ = emu.spawn("gpu_textured")
>>> _ = emu.run()
>>> [(t.unit, hex(t.address), t.width, t.height, t.format, t.rgba.shape) for t in emu.gpu.textures(draw=0)]
[(0, '0x18280000', 32, 32, 'RGBA4', (32, 32, 4))]
>>> emu.gpu.textures()[0].format  # the last draw's
'ETC1'
>>> emu.close()
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hlemu.gpu import CommandList, Draw, geometry
from hlemu.gpu import regs as R
from hlemu.gpu.disasm import Instruction, disassemble
from hlemu.gpu.shader import ShaderSetup
from hlemu.gpu.texture import FORMAT_NAMES
from hlemu.gpu.texture_image import decode_texture, texture_bytes

if TYPE_CHECKING:
    from kernel.kernel import Kernel


# What Unit.describe() says of a sampled unit (hlemu/gpu/texture.py), as Draw.textures keeps it.
_UNIT = re.compile(r"texture (\d): (\d+)x(\d+) (\w+) at (0x[0-9a-fA-F]+)")


@dataclass
class Texture:
    """A texture a draw sampled: its unit, physical address, size, format and level 0 as
    RGBA (``rgba``: (height, width, 4) uint8, row 0 the top), decoded when asked for."""

    unit: int
    address: int
    width: int
    height: int
    format: str
    rgba: np.ndarray
    description: str  # the unit's settings (wraps, filters, mipmaps) as the draw saw them


class GpuView:
    """The GPU's recent command lists (the last 64), its draws, registers and counts."""

    def __init__(self, kernel: Kernel) -> None:
        self._pica = kernel.gsp.gx.pica
        self._phys = kernel.memory.phys

    def lists(self, frame: int | None = None) -> list[CommandList]:
        """The command lists submitted in ``frame`` (a display frame number), by default in
        the last frame that had any."""
        kept = list(self._pica.lists)
        if not kept:
            return []
        wanted = kept[-1].frame if frame is None else frame
        return [c for c in kept if c.frame == wanted]

    def draws(self, frame: int | None = None) -> list[Draw]:
        """The draw calls of those lists, in order."""
        return [d for c in self.lists(frame) for d in c.draws]

    def lines(self, frame: int | None = None) -> list[str]:
        """The lists decoded, one line a command: byte offset, register name, values."""
        return [line for c in self.lists(frame) for line in c.describe()]

    def register(self, reg: int | str) -> int:
        """A register's current value, by id or documented name (``"COLORBUFFER_FORMAT"``)."""
        if isinstance(reg, str):
            ids = [i for i, (name, _) in R.NAMES.items() if name == reg.upper().removeprefix("GPUREG_")]
            if not ids:
                raise KeyError(f"no PICA register named {reg!r}")
            reg = ids[0]
        return self._pica.regs[reg]

    @property
    def counts(self) -> dict[str, int]:
        """Lists, draws, triangles and pixels since the start (:meth:`frame_counts`: one frame's)."""
        return dict(self._pica.counts)

    def frame_counts(self, frame: int | None = None) -> dict[str, int]:
        """The frame's (by default the last with lists) lists, draws, triangles and pixels."""
        lists = self.lists(frame)
        draws = [d for c in lists for d in c.draws]
        return {"frame": lists[0].frame if lists else (frame or 0), "lists": len(lists), "draws": len(draws),
                "triangles": sum(d.triangles for d in draws), "pixels": sum(d.pixels for d in draws)}

    def textures(self, draw: int = -1, frame: int | None = None) -> list[Texture]:
        """The textures draw number ``draw`` of the frame's draws (default the last) sampled,
        decoded. The texels are read now, from physical memory: a program that rewrote a
        texture since the draw shows its new contents. IndexError for a draw that is not there."""
        draws = self.draws(frame)
        if not draws:
            return []
        return [self.texture(text) for text in draws[draw].textures]

    def texture(self, description: str) -> Texture:
        """The texture an entry of ``Draw.textures`` describes, decoded (ValueError when the
        text does not describe a texture unit)."""
        m = _UNIT.match(description)
        if m is None:
            raise ValueError(f"cannot read the texture unit from {description!r}")
        unit, width, height, name, address = int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5], 16)
        fmt = FORMAT_NAMES.index(name)
        data = self.physical(address, texture_bytes(fmt, width, height))
        return Texture(unit, address, width, height, name, decode_texture(data, fmt, width, height), description)

    def physical(self, address: int, size: int) -> np.ndarray:
        """``size`` bytes of guest physical memory at ``address`` (a copy); ValueError when the
        range is not inside one region of guest memory (FCRAM's, VRAM)."""
        phys = self._phys
        try:
            first = phys.phys_to_frame(address)
            last = phys.phys_to_frame(address + max(size, 1) - 1)
        except ValueError:
            raise ValueError(f"physical {address:#010x}+{size:#x} is not all guest memory") from None
        if last != first + ((address & 0xFFF) + max(size, 1) - 1) // 4096:
            raise ValueError(f"physical {address:#010x}+{size:#x} crosses the end of its region")
        start = first * 4096 + (address & 0xFFF)
        return phys.data[start : start + size].copy()

    def instructions(self, unit: str = "vertex") -> list[Instruction]:
        """The program of the ``unit`` shader unit ("vertex", or "geometry": unit 3 as the
        geometry shader), to its last non-zero word, disassembled."""
        setup = self._setup(unit)
        return disassemble(setup.code, setup.swizzles)

    def shader(self, unit: str = "vertex") -> list[str]:
        """A shader unit's program (as :meth:`instructions`), one line an instruction: word
        offset, the word, the instruction in the assembler's syntax (hlemu/gpu/disasm.py); the
        entry point is marked ``; main``."""
        entry = self._pica.regs[R.VSH_ENTRYPOINT if unit == "vertex" else R.GSH_ENTRYPOINT] & 0xFFFF
        return [i.line(entry) for i in self.instructions(unit)]

    @property
    def geometry_in_use(self) -> bool:
        """Whether the geometry shader stage is on (GEOSTAGE_CONFIG): draws go through unit 3."""
        return geometry.enabled(self._pica.regs)

    def _setup(self, unit: str) -> ShaderSetup:
        if unit == "vertex":
            return self._pica.vs
        if unit == "geometry":
            return self._pica.gs
        raise ValueError(f"no shader unit {unit!r} (vertex or geometry)")
