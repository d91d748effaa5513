"""``fs:USER``: archives, files and directories (3dbrew "Filesystem services").

What libctru needs of it: ``fsInit`` (Initialize with the pid descriptor), ``sdmcInit`` /
``archiveMountSdmc`` (OpenArchive(SDMC, empty path)), and through ``sdmc:/`` the file
and directory commands of ``archive_dev.c``. The request words are libctru's
``source/services/fs.c``; a path is (type, size) in the normal words and its data in a
static buffer (id 0; RenameFile/RenameDirectory: source id 1, target id 2;
OpenFileDirectly: archive path id 2, file path id 0). The reply layouts and results
follow Citra/Azahar ``hle/service/fs/fs_user.cpp`` and ``archive.cpp``.

The SDMC archive (id 9) is a host folder, ``kernel.fs.sdmc_root`` (default
``$XDG_DATA_HOME/hlemu/sdmc``, else ``~/.local/share/hlemu/sdmc``, made on first use).
The RomFS archive (id 3) holds one read-only file, opened with OpenFileDirectly: the
calling program's RomFS, for a 3DSX the RomFS part of its file (``Process.romfs``).
Other archives (SaveData 4, ExtData 6, ...) answer Citra's NOT_FOUND and say so in the
process's log. Archive handles are 64-bit, kept per process: another process
cannot use them. Paths are checked as :mod:`kernel.services.fs_paths` says.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kernel.objects.session import ClientSession
from kernel.services import Reply, Request, Service, command
from kernel.services.fs_archive import OPEN_READ, OPEN_WRITE, DirectorySession, FileSession, RomFsFile, SdmcArchive
from kernel.services.fs_paths import (
    INVALID_ARCHIVE_HANDLE,
    NOT_FOUND,
    HostRoot,
    components,
    path_text,
)

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.process import Process

ARCHIVE_SDMC = 0x9
ARCHIVE_ROMFS = 0x3  # the program's own RomFS (libctru ARCHIVE_ROMFS)
ARCHIVE_NAMES = {0x3: "RomFS", 0x4: "SaveData", 0x6: "ExtSaveData", 0x7: "Shared ExtSaveData",
                 0x8: "SystemSaveData", 0xA: "SDMC write-only", 0x12345678: "BOSS ExtSaveData"}
SECTOR_SIZE, CLUSTER_SIZE = 512, 0x4000  # GetSdmcArchiveResource, as Citra answers


def default_sdmc_root() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "hlemu" / "sdmc"


@dataclass
class OpenArchive:
    process: Process
    archive: SdmcArchive


class Fs:
    """The filesystem state (``kernel.fs``): where SDMC lives and the open archives.

    ``free_bytes`` / ``capacity_bytes``: what GetFreeBytes and GetSdmcArchiveResource
    say, None for the host disk's under ``sdmc_root`` (set numbers for repeatable runs)."""

    def __init__(self, kernel: Kernel, sdmc_root: Path | str | None = None) -> None:
        self.kernel = kernel
        self.sdmc_root = Path(sdmc_root) if sdmc_root is not None else default_sdmc_root()
        self.free_bytes: int | None = None
        self.capacity_bytes: int | None = None
        self.sdmc_detected = True
        self.archives: dict[int, OpenArchive] = {}
        self._next_handle = 1
        self.port = FsUser(kernel, self)

    def host_free_bytes(self) -> int:
        if self.free_bytes is not None:
            return self.free_bytes
        try:
            return shutil.disk_usage(HostRoot(self.sdmc_root).real_root()).free
        except OSError:
            return 0

    def open_sdmc(self, process: Process) -> int:
        """A new SDMC archive handle for ``process``."""
        for handle, entry in list(self.archives.items()):
            if not entry.process.alive:
                del self.archives[handle]
        handle, self._next_handle = self._next_handle, self._next_handle + 1
        self.archives[handle] = OpenArchive(process, SdmcArchive(HostRoot(self.sdmc_root), self.host_free_bytes))
        return handle

    def archive(self, process: Process, handle: int) -> SdmcArchive | None:
        entry = self.archives.get(handle)
        return entry.archive if entry is not None and entry.process is process else None


def _handle(words: list[int], at: int) -> int:
    return words[at] | words[at + 1] << 32


class FsUser(Service):
    name = "fs:USER"
    max_sessions = 30

    def __init__(self, kernel: Kernel, fs: Fs) -> None:
        super().__init__(kernel)
        self.fs = fs

    # -- helpers ---------------------------------------------------------------------------
    def _path(self, request: Request, type_at: int, sid: int) -> list[str] | int:
        path_type, size = request.normal[type_at], request.normal[type_at + 1]
        text = path_text(path_type, request.static_buffers.get(sid, b"")[:size])
        return text if isinstance(text, int) else components(text)

    def _target(self, request: Request, handle_at: int, type_at: int, sid: int
                ) -> tuple[SdmcArchive, list[str]] | int:
        archive = self.fs.archive(request.process, _handle(request.normal, handle_at))
        if archive is None:
            return INVALID_ARCHIVE_HANDLE
        names = self._path(request, type_at, sid)
        return names if isinstance(names, int) else (archive, names)

    def _session(self, service: Service) -> ClientSession:
        return ClientSession(self.kernel, None, service=service, name=service.name)

    def _unsupported(self, request: Request, archive_id: int) -> int:
        label = ARCHIVE_NAMES.get(archive_id, "unknown")
        self.kernel.output(request.process, f"[hlemu] fs:USER: archive {archive_id:#x} ({label}) is not "
                                            "implemented: answered NOT_FOUND")
        return NOT_FOUND

    def _open_romfs(self, request: Request) -> Reply:
        """Archive 3's file: the calling program's RomFS (its 3DSX's), read-only; NOT_FOUND
        for a program without one, and for an open with write or create flags."""
        where = request.process.romfs
        if where is None or request.normal[6] & ~OPEN_READ:
            self.kernel.output(request.process, "[hlemu] fs:USER: RomFS (archive 0x3): "
                                                + ("the program has no RomFS" if where is None else
                                                   "the RomFS is read-only") + ": answered NOT_FOUND")
            return Reply(result=NOT_FOUND, move_handles=[None])
        path, base, size = where
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError as err:
            self.kernel.output(request.process, f"[hlemu] fs:USER: RomFS: cannot read {path}: {err.strerror}")
            return Reply(result=NOT_FOUND, move_handles=[None])
        return Reply(move_handles=[self._session(RomFsFile(self.kernel, fd, base, size, "romfs:/"))])

    def _open_file(self, request: Request, archive: SdmcArchive, names: list[str] | int, flags: int) -> Reply:
        if isinstance(names, int):
            return Reply(result=names, move_handles=[None])
        result, fd = archive.open_file(names, flags)
        if fd is None:
            return Reply(result=result, move_handles=[None])
        path = "/" + "/".join(names)
        file = FileSession(self.kernel, fd, bool(flags & OPEN_WRITE), archive, path)
        return Reply(move_handles=[self._session(file)])

    # -- commands --------------------------------------------------------------------------
    @command(0x0801, translate=2)
    def initialize(self, request: Request) -> Reply:
        return Reply()

    @command(0x0861, normal=1, translate=2)
    def initialize_with_sdk_version(self, request: Request) -> Reply:
        return Reply()

    @command(0x0802, normal=7, translate=2)
    def open_file(self, request: Request) -> Reply:
        """transaction, archive (u64), path type, size, flags, attributes, path -> move + file."""
        target = self._target(request, 1, 3, 0)
        if isinstance(target, int):
            return Reply(result=target, move_handles=[None])
        return self._open_file(request, target[0], target[1], request.normal[5])

    @command(0x0803, normal=8, translate=4)
    def open_file_directly(self, request: Request) -> Reply:
        """transaction, archive id, archive path type/size, file path type/size, flags,
        attributes, archive path (static 2), file path (static 0) -> move + file."""
        archive_id = request.normal[1]
        if archive_id == ARCHIVE_ROMFS:
            return self._open_romfs(request)
        if archive_id != ARCHIVE_SDMC:
            return Reply(result=self._unsupported(request, archive_id), move_handles=[None])
        archive = SdmcArchive(HostRoot(self.fs.sdmc_root), self.fs.host_free_bytes)
        return self._open_file(request, archive, self._path(request, 4, 0), request.normal[6])

    def _simple(self, request: Request, handle_at: int, type_at: int,
                action: Callable[[SdmcArchive, list[str]], int]) -> Reply:
        target = self._target(request, handle_at, type_at, 0)
        return Reply(result=target if isinstance(target, int) else action(*target))

    @command(0x0804, normal=5, translate=2)
    def delete_file(self, request: Request) -> Reply:
        return self._simple(request, 1, 3, SdmcArchive.delete_file)

    def _rename(self, request: Request, directory: bool) -> Reply:
        source, target = self._target(request, 1, 3, 1), self._target(request, 5, 7, 2)
        for side in (source, target):
            if isinstance(side, int):
                return Reply(result=side)
        assert not isinstance(source, int) and not isinstance(target, int)
        if source[0] is not target[0] and source[0].root.root != target[0].root.root:
            return Reply(result=INVALID_ARCHIVE_HANDLE)
        return Reply(result=source[0].rename(source[1], target[1], directory))

    @command(0x0805, normal=9, translate=4)
    def rename_file(self, request: Request) -> Reply:
        return self._rename(request, directory=False)

    @command(0x0806, normal=5, translate=2)
    def delete_directory(self, request: Request) -> Reply:
        return self._simple(request, 1, 3, lambda a, n: a.delete_directory(n, recursive=False))

    @command(0x0807, normal=5, translate=2)
    def delete_directory_recursively(self, request: Request) -> Reply:
        return self._simple(request, 1, 3, lambda a, n: a.delete_directory(n, recursive=True))

    @command(0x0808, normal=8, translate=2)
    def create_file(self, request: Request) -> Reply:
        """transaction, archive, path type/size, attributes, size (u64), path."""
        size = _handle(request.normal, 6)
        return self._simple(request, 1, 3, lambda a, n: a.create_file(n, size))

    @command(0x0809, normal=6, translate=2)
    def create_directory(self, request: Request) -> Reply:
        return self._simple(request, 1, 3, SdmcArchive.create_directory)

    @command(0x080A, normal=9, translate=4)
    def rename_directory(self, request: Request) -> Reply:
        return self._rename(request, directory=True)

    @command(0x080B, normal=4, translate=2)
    def open_directory(self, request: Request) -> Reply:
        """archive (u64), path type, size, path -> move + directory."""
        target = self._target(request, 0, 2, 0)
        if isinstance(target, int):
            return Reply(result=target, move_handles=[None])
        result, entries = target[0].list_directory(target[1])
        if result:
            return Reply(result=result, move_handles=[None])
        return Reply(move_handles=[self._session(DirectorySession(self.kernel, entries))])

    @command(0x080C, normal=3, translate=2)
    def open_archive(self, request: Request) -> Reply:
        """archive id, path type, size, path -> archive handle (u64). SDMC takes any path (Citra)."""
        archive_id = request.normal[0]
        if archive_id != ARCHIVE_SDMC:
            return Reply(result=self._unsupported(request, archive_id), normal=[0, 0])
        try:
            HostRoot(self.fs.sdmc_root).real_root()
        except OSError:
            self.kernel.output(request.process, f"[hlemu] fs:USER: SDMC folder {self.fs.sdmc_root} "
                                                "cannot be made: answered NOT_FOUND")
            return Reply(result=NOT_FOUND, normal=[0, 0])
        handle = self.fs.open_sdmc(request.process)
        return Reply(normal=[handle & 0xFFFFFFFF, handle >> 32])

    @command(0x080E, normal=2)
    def close_archive(self, request: Request) -> Reply:
        handle = _handle(request.normal, 0)
        if self.fs.archive(request.process, handle) is None:
            return Reply(result=INVALID_ARCHIVE_HANDLE)
        del self.fs.archives[handle]
        return Reply()

    @command(0x0812, normal=2)
    def get_free_bytes(self, request: Request) -> Reply:
        if self.fs.archive(request.process, _handle(request.normal, 0)) is None:
            return Reply(result=INVALID_ARCHIVE_HANDLE, normal=[0, 0])
        free = self.fs.host_free_bytes()
        return Reply(normal=[free & 0xFFFFFFFF, (free >> 32) & 0xFFFFFFFF])

    @command(0x0814)
    def get_sdmc_archive_resource(self, request: Request) -> Reply:
        """sector size, cluster size, total clusters, free clusters (libctru FS_ArchiveResource)."""
        total = self.fs.capacity_bytes
        if total is None:
            try:
                total = shutil.disk_usage(HostRoot(self.fs.sdmc_root).real_root()).total
            except OSError:
                total = 0
        free = self.fs.host_free_bytes()
        clusters = [min(n // CLUSTER_SIZE, 0xFFFFFFFF) for n in (max(total, free), free)]
        return Reply(normal=[SECTOR_SIZE, CLUSTER_SIZE, *clusters])

    @command(0x0817)
    def is_sdmc_detected(self, request: Request) -> Reply:
        return Reply(normal=[int(self.fs.sdmc_detected)])

    @command(0x0818)
    def is_sdmc_writable(self, request: Request) -> Reply:
        return Reply(normal=[int(self.fs.sdmc_detected)])

