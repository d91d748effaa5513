"""Per-process host virtual slab: guest vaddr ``v`` lives at ``slab.base + v``.

A slab is a 4 GiB host reservation (``PROT_NONE``, ``MAP_NORESERVE``: no
memory committed). Each mapped guest page is mapped over it, ``MAP_FIXED``,
from the physical-memory ``memfd`` at the page's frame, so the host MMU does
the guest's address translation and two slabs mapping one frame share it.
Pages the guest may not touch directly (unmapped, MMIO, clean write-tracked
pages for writes) keep a host protection that forbids that access.

This only works when the host page size equals the 4 KiB guest page size;
:mod:`hlemu.memory.backend` decides.
"""

from __future__ import annotations

import ctypes
import mmap
import os

import numpy as np

from hlemu.memory.constants import ADDRESS_SPACE_SIZE, PAGE_SHIFT

_MAP_NORESERVE = 0x4000  # Linux value; Python's mmap module does not export it
_MAP_FIXED = 0x10
_MAP_FAILED = ctypes.c_void_p(-1).value

PROT_NONE = 0
PROT_READ = mmap.PROT_READ
PROT_RW = mmap.PROT_READ | mmap.PROT_WRITE
PARK_PAGES = 4  # releases of up to this many pages park them (see Slab.release)
PARK_LIMIT = 64  # pages a slab keeps parked at most
LAZY_PAGES = 64  # protections of up to this many pages at once may be lazy (see Slab.protect)
LOOSE_LIMIT = 1024  # pages a lazy slab keeps records of host protection for


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                          ctypes.c_long]
    libc.munmap.restype = ctypes.c_int
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mprotect.restype = ctypes.c_int
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return libc


_LIBC = _libc()


class SlabError(OSError):
    """The host refused a slab reservation or mapping."""


def _check(result: int | None, what: str) -> int:
    if result is None or result == _MAP_FAILED:
        err = ctypes.get_errno()
        raise SlabError(err, f"{what}: {os.strerror(err)}")
    return result


class Slab:
    """A 4 GiB host address reservation mirroring one guest address space.

    ``view`` is a ``uint8`` array over the whole reservation: indexing it at
    a page whose host protection forbids the access kills the host process,
    so only code that has checked the page (the compiled fastmem path, or
    Unicorn, which maps exactly the accessible pages) may touch it.
    """

    def __init__(self, backing_fd: int) -> None:
        self._fd = backing_fd
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE
        self.base: int = _check(_LIBC.mmap(None, ADDRESS_SPACE_SIZE, PROT_NONE, flags, -1, 0),
                                "reserving a 4 GiB slab")
        array_type = ctypes.c_uint8 * ADDRESS_SPACE_SIZE
        self.view: np.ndarray = np.ctypeslib.as_array(array_type.from_address(self.base))
        self.mappings = 0  # host mmap calls made, for the debugger and benchmarks
        self.parks = self.unparks = 0  # releases that parked pages, and maps that took them back
        # page -> (frame, host protection), for pages mapped a few at a time (parkable)
        self._small: dict[int, tuple[int, int]] = {}
        self._parked: dict[int, int] = {}  # page -> frame still mapped there with no access, oldest first
        # Parked pages whose host protection is still what it was when they were mapped (page ->
        # that protection): see release(). Only while ``lazy``; settle() protects them.
        self._open: dict[int, int] = {}
        # Pages protected a few at a time while ``lazy``: page -> (host protection, protection
        # the table gives). The host's may allow more (see protect()); settle() makes them equal.
        self._lax: dict[int, tuple[int, int]] = {}
        self.lazy = True

    def map_frames(self, vpn: int, first_frame: int, count: int, prot: int) -> None:
        """Map ``count`` consecutive frames at guest page ``vpn``."""
        self._require_open()
        parked = self._parked
        if count <= PARK_PAGES and parked and all(parked.get(vpn + i) == first_frame + i for i in range(count)):
            # The same frames, parked there by the last release: only the access comes back,
            # and costs nothing when the page never lost it (a lazy park, see release()).
            opened = self._open
            if not all(opened.get(vpn + i) == prot for i in range(count)):
                self._mprotect(vpn, count, prot)
            for i in range(count):
                opened.pop(vpn + i, None)
                self._lax.pop(vpn + i, None)
                self._small[vpn + i] = (parked.pop(vpn + i), prot)
            self.unparks += 1
            return
        self._forget(vpn, count)
        _check(_LIBC.mmap(self.base + (vpn << PAGE_SHIFT), count << PAGE_SHIFT, prot, mmap.MAP_SHARED | _MAP_FIXED,
                          self._fd, first_frame << PAGE_SHIFT), f"mapping guest page {vpn:#x} into the slab")
        if count <= PARK_PAGES:
            self._small.update((vpn + i, (first_frame + i, prot)) for i in range(count))
        self.mappings += 1

    def release(self, vpn: int, count: int) -> None:
        """Take guest pages away (no access). A few pages mapped together by :meth:`map_frames`
        are *parked*: protected to no access but left mapped to their frames, so that mapping
        the same frames there again (an IPC buffer mapped for every request and unmapped by
        every reply) costs one ``mprotect`` instead of two ``mmap``\\ s. At most
        :data:`PARK_LIMIT` pages stay parked (the oldest are released for good), so a long
        session does not grow the host's mappings. Everything else returns to the bare
        reservation (no backing, no access).

        While the slab is ``lazy`` a parked page even keeps its host protection (no
        ``mprotect`` at all, ~4.5 us each on this machine, two per IPC request with a mapped
        buffer): the page table says the page is unmapped, and every reader of a lazy slab
        checks the table first (the checked fastmem kernels read the access byte; Unicorn has
        its own protection, which :mod:`hlemu.cpu.pagemap` takes away). Only fastmem_trap
        relies on the host protection alone: its path calls :meth:`settle` and clears ``lazy``
        before its first access, and from then on parking protects at once."""
        self._require_open()
        small = self._small
        if count <= PARK_PAGES and all(vpn + i in small for i in range(count)):
            lazy = self.lazy
            if not lazy:
                self._mprotect(vpn, count, PROT_NONE)
            for i in range(count):
                frame, prot = small.pop(vpn + i)
                self._lax.pop(vpn + i, None)
                self._parked[vpn + i] = frame
                if lazy:
                    self._open[vpn + i] = prot
            self.parks += 1
            while len(self._parked) > PARK_LIMIT:  # the oldest goes back to the reservation
                oldest = next(iter(self._parked))
                del self._parked[oldest]
                self._open.pop(oldest, None)
                self._bare(oldest, 1)
            return
        self._forget(vpn, count)
        self._bare(vpn, count)

    def _bare(self, vpn: int, count: int) -> None:
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_NORESERVE | _MAP_FIXED
        _check(_LIBC.mmap(self.base + (vpn << PAGE_SHIFT), count << PAGE_SHIFT, PROT_NONE, flags, -1, 0),
               f"releasing guest page {vpn:#x} in the slab")
        self.mappings += 1

    def _forget(self, vpn: int, count: int) -> None:
        """Pages ``vpn .. vpn+count-1`` get a new mapping: what was known of them goes."""
        if count > len(self._small) + len(self._parked):  # a big range: look through the records instead
            for table in (self._small, self._parked, self._open, self._lax):
                for page in [v for v in table if vpn <= v < vpn + count]:
                    del table[page]
            return
        for page in range(vpn, vpn + count):
            self._small.pop(page, None)
            self._parked.pop(page, None)
            self._open.pop(page, None)
            self._lax.pop(page, None)

    @property
    def parked(self) -> int:
        """Pages parked (mapped to a frame with no access) by :meth:`release`."""
        return len(self._parked)

    @property
    def open_parked(self) -> dict[int, int]:
        """Parked pages still holding their host protection (page -> protection): a lazy
        slab's (see :meth:`release`). A copy."""
        return dict(self._open)

    @property
    def loose(self) -> dict[int, tuple[int, int]]:
        """Pages whose host protection allows more than the page table does, a lazy slab's (see
        :meth:`protect`): page -> (host protection, the table's). A copy."""
        return {page: rec for page, rec in self._lax.items() if rec[0] != rec[1]}

    def settle(self) -> None:
        """Give every lazily parked page no host access and every loose page the protection the
        table gives it: the slab's protection then mirrors the page table exactly."""
        self._require_open()
        for vpn in sorted(self._open):
            self._mprotect(vpn, 1, PROT_NONE)
        self._open.clear()
        for vpn, (host, want) in sorted(self._lax.items()):
            if host != want:
                self._mprotect(vpn, 1, want)
                small = self._small.get(vpn)
                if small is not None:
                    self._small[vpn] = (small[0], want)
        self._lax.clear()

    def protect(self, vpn: int, count: int, prot: int) -> None:
        """Give ``count`` pages from ``vpn`` host protection ``prot``.

        While the slab is ``lazy``, pages (up to :data:`LAZY_PAGES` at once) that lose access
        keep the host protection they have (no ``mprotect``), and regain it later for nothing:
        a write-tracked framebuffer page is opened by its first write each frame and closed
        again at VBlank, two ``mprotect``\\ s a page a frame otherwise. The host may then allow
        more than the table: as for a lazy park (see :meth:`release`), every reader of a lazy
        slab checks the table or has its own protection, never more than the table's."""
        self._require_open()
        small, opened, lax = self._small, self._open, self._lax
        if self.lazy and count <= LAZY_PAGES:
            start = -1  # the run of pages whose host protection must change, being gathered
            for page in range(vpn, vpn + count):
                rec = lax.get(page)
                mine = small.get(page)
                host = rec[0] if rec is not None else opened.get(page, mine[1] if mine is not None else None)
                if host is None or prot & ~host:  # (PROT_NONE < PROT_READ < PROT_RW as bits)
                    host = prot
                    if start < 0:
                        start = page
                elif start >= 0:
                    self._mprotect(start, page - start, prot)
                    start = -1
                opened.pop(page, None)  # (a parked page protected explicitly is no longer open)
                lax[page] = (host, prot)
                if mine is not None:
                    small[page] = (mine[0], host)
            if start >= 0:
                self._mprotect(start, vpn + count - start, prot)
            if len(lax) > LOOSE_LIMIT:  # a long session keeps no more records than this
                self.settle()
            return
        self._mprotect(vpn, count, prot)
        if count <= PARK_PAGES:
            pages: range | list[int] = range(vpn, vpn + count)
        else:  # a big range: look through the records instead
            pages = [v for v in (*small, *opened, *lax) if vpn <= v < vpn + count]
        for page in pages:
            opened.pop(page, None)  # (a parked page protected explicitly is no longer open)
            lax.pop(page, None)
            if page in small:
                small[page] = (small[page][0], prot)

    def _mprotect(self, vpn: int, count: int, prot: int) -> None:
        res = _LIBC.mprotect(self.base + (vpn << PAGE_SHIFT), count << PAGE_SHIFT, prot)
        if res != 0:
            err = ctypes.get_errno()
            raise SlabError(err, f"protecting guest page {vpn:#x}: {os.strerror(err)}")

    def host_address(self, vaddr: int) -> int:
        return self.base + vaddr

    @property
    def closed(self) -> bool:
        return self.base == 0

    def _require_open(self) -> None:
        if self.closed:
            raise SlabError(0, "the slab is closed")

    def close(self) -> None:
        """Unmap the whole reservation. ``view`` becomes an empty array."""
        if self.base:
            self.view = np.zeros(0, dtype=np.uint8)
            _LIBC.munmap(self.base, ADDRESS_SPACE_SIZE)
            self.base = 0

    def __del__(self) -> None:
        self.close()


def try_reserve(backing_fd: int) -> tuple[Slab | None, str]:
    """Reserve a slab, or say why the host would not."""
    try:
        return Slab(backing_fd), "slab reserved"
    except SlabError as exc:
        return None, f"cannot reserve a 4 GiB slab: {exc.strerror}"
