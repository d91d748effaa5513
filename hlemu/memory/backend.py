"""Choosing the memory backend: fastmem where the host allows, else semifastmem.

fastmem needs every 4 KiB guest page to be mappable on its own at
``slab + vaddr``, so the host page size must be 4 KiB too (x86-64 Linux:
yes; 16 KiB Apple silicon or 64 KiB arm64 kernels: no), and the host must
grant a 4 GiB address reservation per process. Otherwise ``auto`` picks
semifastmem and says why. Set ``HLEMU_HOST_PAGE_SIZE`` (or pass
``host_page_size``) to decide as if the host had another page size.
"""

from __future__ import annotations

import logging
import mmap
import os
from collections.abc import Callable
from dataclasses import dataclass

from hlemu.memory.constants import PAGE_SIZE

log = logging.getLogger(__name__)

BACKENDS = ("fastmem", "semifastmem", "slowmem")
CHOICES = ("auto", *BACKENDS)


class BackendError(ValueError):
    """An explicit backend request this host cannot honour."""


@dataclass(frozen=True)
class BackendChoice:
    name: str  # fastmem, semifastmem or slowmem
    reason: str
    host_page_size: int

    def __str__(self) -> str:
        return f"{self.name} ({self.reason})"


def host_page_size() -> int:
    """The real host page size, unless ``HLEMU_HOST_PAGE_SIZE`` overrides it."""
    forced = os.environ.get("HLEMU_HOST_PAGE_SIZE")
    if forced:
        try:
            return int(forced, 0)
        except ValueError:
            raise BackendError(f"HLEMU_HOST_PAGE_SIZE={forced!r} is not a number") from None
    return mmap.PAGESIZE


def choose_backend(requested: str = "auto", page_size: int | None = None,
                   can_reserve: Callable[[], tuple[bool, str]] | None = None) -> BackendChoice:
    """Decide which path a process's ``mem`` uses.

    ``can_reserve`` tries a slab reservation (the default makes a real one
    and releases it).

    >>> choose_backend("auto", page_size=16384).name
    'semifastmem'
    >>> choose_backend("auto", page_size=16384).reason
    'host pages are 16 KiB, guest pages 4 KiB: the host MMU cannot map single guest pages'
    """
    if requested not in CHOICES:
        raise BackendError(f"unknown backend {requested!r}; choose one of {', '.join(CHOICES)}")
    size = host_page_size() if page_size is None else page_size
    if requested in ("semifastmem", "slowmem"):
        return BackendChoice(requested, "requested", size)
    if size != PAGE_SIZE:
        why = (f"host pages are {size // 1024} KiB, guest pages {PAGE_SIZE // 1024} KiB: "
               "the host MMU cannot map single guest pages")
        if requested == "fastmem":
            raise BackendError(f"fastmem is impossible here: {why}")
        log.info("memory backend: semifastmem, because %s", why)
        return BackendChoice("semifastmem", why, size)
    ok, why = (can_reserve or _try_reservation)()
    if not ok:
        if requested == "fastmem":
            raise BackendError(f"fastmem is impossible here: {why}")
        log.info("memory backend: semifastmem, because %s", why)
        return BackendChoice("semifastmem", why, size)
    reason = "requested" if requested == "fastmem" else "host pages are 4 KiB and a 4 GiB slab was reserved"
    log.info("memory backend: fastmem (%s)", reason)
    return BackendChoice("fastmem", reason, size)


def _try_reservation() -> tuple[bool, str]:
    from hlemu.memory.slab import try_reserve

    fd = os.memfd_create("hlemu-probe", os.MFD_CLOEXEC)
    try:
        slab, why = try_reserve(fd)
        if slab is not None:
            slab.close()
        return slab is not None, why
    finally:
        os.close(fd)
