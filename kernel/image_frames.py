"""Program code shared in place: the frames of read-only segments, one copy for every user.

A program spawned eight times, or two programs whose read-only segments hold the same
bytes, map the same frames for their code and read-only data, read-only in every
process, as MicroPython runs a static .mpy in place from flash and as Linux shares a
binary's text. Writable segments (data, bss) are never shared: each process gets its
own frames, filled from the image as before.

Segments are keyed by their size and the SHA-256 of their bytes, so sharing needs no
name or path, only equal contents. The cache holds each entry's frames once
(``PhysicalMemory.hold``) and counts its users by pid; when the last user's memory goes
back (``Kernel._release_memory``) the hold is dropped and the frames are freed (zeroed
before they are handed out again) like any others. The frames carry ``phys.image``, so
a debugger's write (``AddressSpace.poke``) or a protect to writable copies the page for
that process first and the other users never see it; a guest store faults on the
read-only permission, as before.

What a process is charged does not change with sharing: its COMMIT resource
(``used_memory``, GetProcessInfo) counts every page it maps privately, shared code
included, as the 3DS charges each process for its code. Only physical memory is spared:
``_make_room`` asks for the frames a spawn really takes, and footprints show the sharing
(PSS divides a shared frame among its users).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hlemu.loaders import Segment
from hlemu.memory import MemoryPermission, PhysicalMemory

Key = tuple[int, bytes]
Allocate = Callable[[str, int], np.ndarray]


@dataclass
class _Entry:
    frames: np.ndarray
    users: set[int] = field(default_factory=set)


def segment_key(seg: Segment) -> Key:
    return seg.size, hashlib.sha256(seg.data).digest()


def shareable(seg: Segment) -> bool:
    """Only segments no one may write: code and read-only data."""
    return not seg.perm & MemoryPermission.W


class ImageFrames:
    """The frames of every read-only program segment some live-or-kept process maps.

    >>> from hlemu.memory import PhysicalMemory
    >>> phys = PhysicalMemory()
    >>> cache = ImageFrames(phys)
    >>> seg = Segment(0x100000, b"\\x1e\\xff\\x2f\\xe1", 0x1000, MemoryPermission.RX)
    >>> a = cache.frames_for(1, seg, phys.allocate)
    >>> b = cache.frames_for(2, seg, phys.allocate)
    >>> a.tolist() == b.tolist(), int(phys.holds[a[0]]), bool(phys.image[a[0]])
    (True, 1, True)
    >>> cache.drop(1), cache.drop(2), bool(phys.is_free(a)[0])
    (0, 1, True)
    """

    def __init__(self, phys: PhysicalMemory) -> None:
        self.phys = phys
        self._entries: dict[Key, _Entry] = {}
        self._keys_of: dict[int, list[Key]] = {}  # pid -> the entries it uses

    def frames_for(self, pid: int, seg: Segment, allocate: Allocate) -> np.ndarray:
        """The frames holding ``seg``'s bytes, filled once; ``pid`` becomes a user of them."""
        key = segment_key(seg)
        entry = self._entries.get(key)
        if entry is not None and not self._intact(entry, seg):
            self._forget(key)  # written behind the cache's back (it should not be): stop sharing it
            entry = None
        if entry is None:
            frames = allocate("APPLICATION", seg.size >> 12)
            flat = self.phys.data.reshape(-1, 4096)
            contents = np.zeros(seg.size, dtype=np.uint8)
            contents[: len(seg.data)] = np.frombuffer(seg.data, dtype=np.uint8)
            flat[frames] = contents.reshape(-1, 4096)
            self.phys.hold(frames)
            self.phys.image[frames] = True
            entry = self._entries[key] = _Entry(frames)
        if pid not in entry.users:
            entry.users.add(pid)
            self._keys_of.setdefault(pid, []).append(key)
        return entry.frames

    def pages_to_allocate(self, segments: list[Segment]) -> int:
        """Frames a spawn of these segments takes: shareable ones already held cost nothing."""
        return sum(seg.size >> 12 for seg in segments
                   if not (shareable(seg) and segment_key(seg) in self._entries))

    def drop(self, pid: int) -> int:
        """``pid``'s memory went back: it stops using its entries; those with no user left give
        their frames back. Returns how many frames were freed."""
        freed = 0
        for key in self._keys_of.pop(pid, []):
            entry = self._entries.get(key)
            if entry is None or pid not in entry.users:
                continue
            entry.users.discard(pid)
            if not entry.users:
                freed += self._forget(key)
        return freed

    def users(self) -> dict[int, list[int]]:
        """For each shared frame, the pids using it (for views and tests)."""
        return {int(f): sorted(e.users) for e in self._entries.values() for f in e.frames}

    def __len__(self) -> int:
        return len(self._entries)

    def _intact(self, entry: _Entry, seg: Segment) -> bool:
        held = self.phys.data.reshape(-1, 4096)[entry.frames].reshape(-1)
        n = len(seg.data)
        return (bool(self.phys.image[entry.frames].all())
                and held[:n].tobytes() == seg.data and not held[n:].any())

    def _forget(self, key: Key) -> int:
        # The frames keep phys.image until they are freed: a process still mapping them must
        # still copy before it writes.
        return self.phys.release(self._entries.pop(key).frames)
