"""A Qt-free sample of the GPU for the GPU dock, as :mod:`gui.inspect_state` is for the
inspection docks: built on the emulation thread (the dock asks through ``Session.call``)
from ``emu.gpu`` (kernel/api/gpu.py), handed to the UI as plain copies.

>>> from kernel.api import Emulator
>>> emu = Emulator(backend="semifastmem", echo=False)
>>> gpu_sample(emu).empty  # nothing submitted yet
True
>>> _ = emu.spawn("gpu_triangles")
>>> _ = emu.run()
>>> sample = gpu_sample(emu)
>>> [(c.register, c.draw) for c in sample.commands if c.draw is not None]
[('DRAWARRAYS', 0), ('DRAWARRAYS', 1)]
>>> sample.draws[0].kind, sample.draws[0].target
('arrays', '240x400 RGBA8 at 0x18200000')
>>> sample.shader[0]
'0x000  08020000  dp4 o0.x, c0, v0  ; main'
>>> emu.close()
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hlemu.gpu import CommandList
from hlemu.gpu import regs as R
from kernel.api import Emulator
from kernel.api.gpu import Texture

DRAW_TRIGGERS = (R.DRAWARRAYS, R.DRAWELEMENTS)


@dataclass(frozen=True)
class CommandRow:
    """One command of a list: which list, its byte offset, register and values; ``draw`` is
    the frame's draw number it triggered (None: not a draw)."""

    list_index: int
    list_address: int
    offset: int
    register: str
    mask: int
    consecutive: bool
    values: tuple[int, ...]
    draw: int | None = None
    draw_summary: str = ""


@dataclass(frozen=True)
class DrawRow:
    number: int  # in the frame
    list_index: int
    kind: str
    vertices: int
    topology: str
    triangles: int
    pixels: int
    target: str  # "240x400 RGBA8 at 0x18200000"
    textures: tuple[str, ...]  # "0: 32x32 RGBA4"
    error: str


@dataclass
class TextureImage(Texture):
    """A texture the frame's draws sampled (``emu.gpu``'s Texture), and which draws."""

    draws: list[int] = field(default_factory=list)


@dataclass
class GpuSample:
    frame: int
    commands: list[CommandRow]
    draws: list[DrawRow]
    textures: list[TextureImage]
    shader: list[str]
    counts: dict[str, int]  # the frame's
    totals: dict[str, int]  # since the start
    errors: list[str]

    @property
    def empty(self) -> bool:
        """No command list has been run yet."""
        return self.totals.get("lists", 0) == 0


def _short(description: str) -> str:
    """``texture 0: 32x32 RGBA4 at 0x18280000, wrap ...`` -> ``0: 32x32 RGBA4``."""
    head = description.removeprefix("texture ").split(",")[0]
    return head.split(" at ")[0]


def draw_marks(record: CommandList) -> dict[int, int]:
    """Which command (by index in ``record.commands``) made which draw (by index in
    ``record.draws``): DRAWARRAYS / DRAWELEMENTS, and for an immediate-mode batch the last
    FIXEDATTRIB_DATA command before it was drawn (the PICA draws it at the next write to
    another register, or at the end of the list). A draw whose kind does not match is left
    unmarked rather than marked wrongly."""
    marks: dict[int, int] = {}
    n, pending, immediate = 0, None, False

    def mark(i: int, kind_immediate: bool) -> None:
        nonlocal n
        if n < len(record.draws) and (record.draws[n].kind == "immediate") == kind_immediate:
            marks[i] = n
            n += 1

    for i, c in enumerate(record.commands):
        for reg, value in c.writes():
            if pending is not None and reg not in R.FIXEDATTRIB_DATA:
                mark(pending, True)
                pending = None
            if reg == R.FIXEDATTRIB_INDEX:
                immediate = value & 0xF == 0xF
            elif reg in R.FIXEDATTRIB_DATA and immediate:
                pending = i
            elif reg in DRAW_TRIGGERS:
                mark(i, False)
    if pending is not None:
        mark(pending, True)
    return marks


def gpu_sample(emu: Emulator) -> GpuSample:
    """The last frame's lists, draws, textures; the shader and the counts (emulation thread)."""
    gpu = emu.gpu
    lists = gpu.lists()
    commands: list[CommandRow] = []
    draws: list[DrawRow] = []
    textures: dict[str, TextureImage] = {}
    errors: list[str] = []
    for li, record in enumerate(lists):
        first = len(draws)
        for k, d in enumerate(record.draws):
            target = f"{d.width}x{d.height} {d.format} at {d.color_buffer:#010x}" if d.format else ""
            draws.append(DrawRow(first + k, li, d.kind, d.vertices, d.topology, d.triangles, d.pixels, target,
                                 tuple(_short(t) for t in d.textures), d.error))
            for text in d.textures:
                key = text.split(", wrap")[0]  # the same memory read the same way
                if key not in textures:
                    try:
                        t = gpu.texture(text)
                    except ValueError as error:
                        errors.append(f"{text}: {error}")
                        continue
                    textures[key] = TextureImage(t.unit, t.address, t.width, t.height, t.format, t.rgba, text)
                textures[key].draws.append(first + k)
        marks = draw_marks(record)
        for i, c in enumerate(record.commands):
            draw, summary = None, ""
            if i in marks:
                d = record.draws[marks[i]]
                draw = first + marks[i]
                summary = f"draw {draw}: {d.kind}, {d.vertices} vertices, {d.triangles} triangles"
            commands.append(CommandRow(li, record.address, c.offset * 4, R.name(c.reg), c.mask, c.consecutive,
                                       c.values, draw, summary))
        errors += [f"list {li} at {record.address:#010x}: {e}" for e in record.errors]
    shader = gpu.shader()
    if gpu.geometry_in_use:  # unit 3 runs as the geometry shader: its program follows
        shader += ["", "; geometry shader (unit 3)", *gpu.shader("geometry")]
    return GpuSample(gpu.frame_counts()["frame"], commands, draws, list(textures.values()), shader,
                     gpu.frame_counts(), gpu.counts, errors)
