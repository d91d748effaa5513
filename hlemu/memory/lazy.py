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
import os
import threading

import numpy as np

_templates: dict[tuple[int, int], int] = {}  # (size, byte) -> a memfd holding size bytes of byte
_templates_lock = threading.Lock()


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


def lazy_filled(shape: int | tuple[int, ...], dtype: type | np.dtype, byte: int) -> np.ndarray:
    """A writable array with every byte ``byte`` (0xFF: -1 in every signed integer), costing
    no memory until written: a private copy-on-write mapping of one shared file of those bytes
    (made once per size). Each page table's frame column is 4 MiB of -1; ``np.full`` wrote
    all of it for every process and every state load (about 0.5 ms and 4 MiB each)."""
    dt = np.dtype(dtype)
    count = int(np.prod(shape))
    size = max(count * dt.itemsize, 1)
    with _templates_lock:
        fd = _templates.get((size, byte))
        if fd is None:
            fd = os.memfd_create(f"hlemu-fill-{byte:02x}", os.MFD_CLOEXEC)
            os.ftruncate(fd, size)
            with mmap.mmap(fd, size) as out:
                out.write(bytes([byte]) * size)
            _templates[(size, byte)] = fd
    region = mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    if hasattr(region, "madvise") and hasattr(mmap, "MADV_NOHUGEPAGE"):
        region.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(region, dtype=dt, count=count).reshape(shape)
