"""Vertex attribute loading: the attribute buffers and the fixed (default) attributes.

Registers (3dbrew "GPU/Internal Registers"; Azahar ``pica/vertex_loader.cpp``):

- ATTRIBBUFFERS_LOC: the base physical address of all arrays, divided by 8.
- ATTRIBBUFFERS_FORMAT_LOW/HIGH: for attributes 0-11 two bits of type (0 s8, 1 u8, 2 s16,
  3 float) and two bits of component count minus one; HIGH bits 16-27 mark attributes that
  come from the fixed values instead, bits 28-31 the attribute count minus one.
- Twelve buffers (ATTRIBBUFFERi_OFFSET, _CONFIG1, _CONFIG2): the buffer's offset from the
  base; up to 12 components (4 bits each: an attribute 0-11, or 12-15 for 4, 8, 12 or 16
  bytes of padding); bits 16-23 of CONFIG2 the bytes from one vertex to the next, 28-31 the
  component count. Each attribute sits at the next offset aligned to its element size.
- FIXEDATTRIB_INDEX / FIXEDATTRIB_DATA0-2: an index 0-11 sets that attribute's fixed value
  from the next three words (four float24); index 0xF is immediate mode (see pica.py).

Missing components read as 0, a missing w as 1.
"""

from __future__ import annotations

import numpy as np

from hlemu.gpu import regs as R
from hlemu.gpu.memory import GpuMemory

TYPES = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype("<i2"), np.dtype("<f4"))


def attribute_count(reg: R.RegisterFile) -> int:
    return (reg[R.ATTRIBBUFFERS_FORMAT_HIGH] >> 28) + 1


def load(reg: R.RegisterFile, memory: GpuMemory, vertices: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """The attributes (n, 16, 4) of the vertices with indices ``vertices`` (n,)."""
    n = len(vertices)
    out = np.zeros((n, 16, 4), np.float32)
    out[:, :, 3] = 1
    out[:] = fixed  # the fixed values, for every attribute the arrays leave alone
    formats = reg[R.ATTRIBBUFFERS_FORMAT_LOW] | (reg[R.ATTRIBBUFFERS_FORMAT_HIGH] & 0xFFFF) << 32
    fixed_mask = (reg[R.ATTRIBBUFFERS_FORMAT_HIGH] >> 16) & 0xFFF
    count = attribute_count(reg)
    base = (reg[R.ATTRIBBUFFERS_LOC] & 0x1FFFFFFE) << 3
    if n == 0:
        return out
    top = int(vertices.max())
    for j in range(12):
        offset_reg = R.ATTRIBBUFFER0_OFFSET + 3 * j
        config = reg[offset_reg + 1] | reg[offset_reg + 2] << 32
        stride, components = (config >> 48) & 0xFF, (config >> 60) & 0xF
        data_offset = reg[offset_reg] & 0x0FFFFFFF
        layout, at = [], 0
        for c in range(min(components, 12)):
            attr = (config >> (4 * c)) & 0xF
            if attr >= 12:
                at = (at + 3) & ~3
                at += (attr - 11) * 4
                continue
            dtype = TYPES[(formats >> (4 * attr)) & 3]
            elements = ((formats >> (4 * attr + 2)) & 3) + 1
            at = (at + dtype.itemsize - 1) & ~(dtype.itemsize - 1)
            layout.append((attr, at, dtype, elements))
            at += dtype.itemsize * elements
        wanted = [e for e in layout if e[0] < count and not fixed_mask >> e[0] & 1]
        if not wanted:
            continue
        span = stride * top + max(a + d.itemsize * k for _, a, d, k in wanted)
        data = memory.read(base + data_offset, span, f"attribute buffer {j}")
        for attr, at, dtype, elements in wanted:
            starts = vertices.astype(np.int64) * stride + at
            raw = data[starts[:, None] + np.arange(elements * dtype.itemsize)]
            values = raw.reshape(n * elements * dtype.itemsize).view(dtype).reshape(n, elements)
            out[:, attr, :elements] = values
            out[:, attr, elements:] = 0
            if elements < 4:
                out[:, attr, 3] = 1
    return out
