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
>>> emu.close()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hlemu.gpu import CommandList, Draw
from hlemu.gpu import regs as R

if TYPE_CHECKING:
    from kernel.kernel import Kernel


class GpuView:
    """The GPU's recent command lists (the last 64), its draws, registers and counts."""

    def __init__(self, kernel: Kernel) -> None:
        self._pica = kernel.gsp.gx.pica

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
        """Lists, draws, triangles and pixels since the start."""
        return dict(self._pica.counts)
