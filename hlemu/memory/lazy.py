"""Large zeroed arrays whose untouched pages cost no memory.

Per-page tables over the 4 GiB guest space (fault counters, the CPU's MMIO
slots) are mostly zero: only the pages of the array that are written are
ever committed by the host. ``np.zeros`` gives that through calloc, but
numpy asks for transparent huge pages on large arrays, so one bumped counter
commits 2 MiB; over hundreds of processes that is gigabytes. These arrays
come from an anonymous mapping marked MADV_NOHUGEPAGE instead.

>>> a = lazy_zeros((5, 1 << 20), np.uint32)
>>> a[3, 12345] += 1
>>> int(a.sum()), a.shape, a.dtype.name
(1, (5, 1048576), 'uint32')
"""

from __future__ import annotations

import mmap

import numpy as np


def lazy_zeros(shape: int | tuple[int, ...], dtype: type | np.dtype) -> np.ndarray:
    """A zeroed, writable array backed by its own anonymous mapping (4 KiB pages, committed
    when first written). The mapping goes when the last view of the array does."""
    dt = np.dtype(dtype)
    count = int(np.prod(shape))
    size = max(count * dt.itemsize, 1)
    region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if hasattr(region, "madvise") and hasattr(mmap, "MADV_NOHUGEPAGE"):
        region.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(region, dtype=dt, count=count).reshape(shape)
