"""The PICA200, the 3DS's GPU: command lists in, pixels in guest memory out.

One module per stage: :mod:`~hlemu.gpu.cmdlist` (the command list format),
:mod:`~hlemu.gpu.regs` (the register file and its documented names),
:mod:`~hlemu.gpu.pica` (the command processor and the draw path),
:mod:`~hlemu.gpu.vertex` (attribute loading), :mod:`~hlemu.gpu.shader` (the vertex shader
interpreter), :mod:`~hlemu.gpu.clip` (clipping to the view volume and the user plane),
:mod:`~hlemu.gpu.raster` (rasterisation, fog, stencil and depth tests, the buffers, numba),
:mod:`~hlemu.gpu.spans` (the same pixels for citro2d's common state, by row spans, faster),
:mod:`~hlemu.gpu.fragment` (TexEnv, alpha test, blending and logic ops, numba),
:mod:`~hlemu.gpu.texture` (texture units, formats, wrapping and filtering, numba),
:mod:`~hlemu.gpu.pixels` (the colour pixel codec GX's transfers share) and
:mod:`~hlemu.gpu.memory` (physical addresses through a process's memory path). The kernel's
GX ProcessCommandList (kernel/services/gx.py) feeds it. What is and is not implemented:
docs/gpu.md.
"""

from __future__ import annotations

from hlemu.gpu.memory import GpuFault, GpuMemory
from hlemu.gpu.pica import CommandList, Draw, Pica

__all__ = ["CommandList", "Draw", "GpuFault", "GpuMemory", "Pica"]
