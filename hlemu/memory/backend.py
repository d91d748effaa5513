"""Choosing the memory backend: fastmem where the host allows, else semifastmem.

fastmem needs every 4 KiB guest page to be mappable on its own at
``slab + vaddr``, so the host page size must be 4 KiB too (x86-64 Linux:
yes; 16 KiB Apple silicon or 64 KiB arm64 kernels: no), and the host must
grant a 4 GiB address reservation per process. Otherwise ``auto`` picks
semifastmem and says why. Set ``HLEMU_HOST_PAGE_SIZE`` (or pass
``host_page_size``) to decide as if the host had another page size.

``fastmem_trap`` is fastmem without the compiled per-page check: protected slab
pages trap in the host MMU and a native fault handler (:mod:`hlemu.memory.trap`,
built with the system C compiler on first use) lets the access finish so the
operation is redone through slowmem. It needs what fastmem needs plus that
handler; ``auto`` never picks it. It is a host-side path: a process's CPU
(Unicorn) maps slab pages as under fastmem and is not changed by it.
"""

from __future__ import annotations

import logging
import mmap
import os
from collections.abc import Callable
from dataclasses import dataclass

from hlemu.memory.constants import PAGE_SIZE

log = logging.getLogger(__name__)

BACKENDS = ("fastmem", "fastmem_trap", "semifastmem", "slowmem")
CHOICES = ("auto", *BACKENDS)


class BackendError(ValueError):
    """An explicit backend request this host cannot honour."""


@dataclass(frozen=True)
class BackendChoice:
    name: str  # fastmem, fastmem_trap, semifastmem or slowmem
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
    >>> try:
    ...     choose_backend("fastmem_trap", page_size=16384)
    ... except BackendError as exc:
    ...     print(str(exc)[:40])
    fastmem_trap is impossible here: host pa
    """
    if requested not in CHOICES:
        raise BackendError(f"unknown backend {requested!r}; choose one of {', '.join(CHOICES)}")
    size = host_page_size() if page_size is None else page_size
    if requested in ("semifastmem", "slowmem"):
        return BackendChoice(requested, "requested", size)
    if size != PAGE_SIZE:
        why = (f"host pages are {size // 1024} KiB, guest pages {PAGE_SIZE // 1024} KiB: "
               "the host MMU cannot map single guest pages")
        if requested != "auto":
            raise BackendError(f"{requested} is impossible here: {why}")
        log.info("memory backend: semifastmem, because %s", why)
        return BackendChoice("semifastmem", why, size)
    ok, why = (can_reserve or _try_reservation)()
    if not ok:
        if requested != "auto":
            raise BackendError(f"{requested} is impossible here: {why}")
        log.info("memory backend: semifastmem, because %s", why)
        return BackendChoice("semifastmem", why, size)
    if requested == "fastmem_trap":
        from hlemu.memory.trap import available

        ok, why = available()
        if not ok:
            raise BackendError(f"fastmem_trap is impossible here: {why}")
        return BackendChoice("fastmem_trap", "requested", size)
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
