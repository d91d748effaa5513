"""The SDMC archive on a host folder, and the file and directory sessions it hands out.

Behaviour follows Citra/Azahar ``file_sys/archive_sdmc.cpp`` (which result each case
gets) and ``hle/service/fs/file.cpp`` / ``directory.cpp`` (the File and Directory
command sets, their own ids on their own sessions: 3dbrew "File service", "Directory
service"). Every host call is wrapped: a host failure becomes an FS result
(:func:`~kernel.services.fs_paths.host_error`), never an exception.

A file or directory session is a new client session whose HLE service is one
:class:`FileSession` / :class:`DirectorySession` object (one host file descriptor or
one directory listing); closing the handle without Close releases it too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from hlemu.memory import GuestFault, MemoryPermission
from kernel.errors import Result
from kernel.ipc import has_memory
from kernel.ipc_codec import BUFFER_R
from kernel.services import Reply, Request, Service, command
from kernel.services.buffers import write_mapped
from kernel.services.fs_paths import (
    ALREADY_EXISTS,
    INSUFFICIENT_SPACE,
    INVALID_OPEN_FLAGS,
    INVALID_PATH,
    NAME_MAX,
    NOT_A_FILE,
    NOT_FOUND,
    HostRoot,
    host_error,
)

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.objects.session import ClientSession

OPEN_READ, OPEN_WRITE, OPEN_CREATE = 0x1, 0x2, 0x4  # libctru FS_OPEN_*
ATTR_DIRECTORY, ATTR_HIDDEN, ATTR_ARCHIVE = 0x1, 0x100, 0x10000  # libctru FS_ATTRIBUTE_*
ENTRY_SIZE = 0x228  # libctru FS_DirectoryEntry
CLOSED = Result.INVALID_HANDLE  # a command on a file session after its Close (hlemu's choice)


class SdmcArchive:
    """The SD card: ``root`` on the host. Methods take parsed names (fs_paths.components)
    and return a result, or (result, value). A name that is a host symlink (into the root)
    stands for what it points to: deleting it deletes the target, which is inside too;
    the root itself, however reached, is never deleted or renamed."""

    def __init__(self, root: HostRoot, free_bytes: Callable[[], int]) -> None:
        self.root = root
        self.free_bytes = free_bytes

    def _where(self, names: list[str]) -> Path | int:
        path = self.root.resolve(names)
        if isinstance(path, int):
            return path
        if names and not path.parent.is_dir():
            return NOT_FOUND  # a missing (or non-directory) parent, as Citra's PathNotFound/FileInPath
        return path

    def open_file(self, names: list[str], flags: int) -> tuple[int, int | None]:
        """(result, host fd). SDMC always opens for reading too (Citra)."""
        if flags & 0x7 == 0 or flags & OPEN_CREATE and not flags & OPEN_WRITE:
            return INVALID_OPEN_FLAGS, None
        path = self._where(names)
        if isinstance(path, int):
            return path, None
        if path.is_dir():
            return NOT_A_FILE, None
        if not path.exists() and not flags & OPEN_CREATE:
            return NOT_FOUND, None
        mode = (os.O_RDWR | (os.O_CREAT if flags & OPEN_CREATE else 0)) if flags & OPEN_WRITE else os.O_RDONLY
        try:
            return Result.SUCCESS, os.open(path, mode | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as err:
            return host_error(err), None

    def create_file(self, names: list[str], size: int) -> int:
        path = self._where(names)
        if isinstance(path, int):
            return path
        if path.is_dir():
            return NOT_A_FILE
        if path.exists():
            return ALREADY_EXISTS
        if size > self.free_bytes():
            return INSUFFICIENT_SPACE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as err:
            return host_error(err)
        try:
            os.ftruncate(fd, size)
        except (OSError, OverflowError) as err:
            with contextlib.suppress(OSError):
                os.unlink(path)  # no half-made file stays behind
            return host_error(err)
        finally:
            os.close(fd)
        return Result.SUCCESS

    def delete_file(self, names: list[str]) -> int:
        path = self._where(names)
        if isinstance(path, int):
            return path
        if path.is_dir():
            return NOT_A_FILE
        if not path.exists():
            return NOT_FOUND
        return self._host(os.unlink, path)

    def create_directory(self, names: list[str]) -> int:
        path = self._where(names)
        if isinstance(path, int):
            return path
        if path.exists():
            return ALREADY_EXISTS  # what libctru's mkdir() tests for (0xC82044BE)
        return self._host(os.mkdir, path)

    def delete_directory(self, names: list[str], recursive: bool) -> int:
        if not names:
            return INVALID_OPEN_FLAGS  # the root itself (Citra)
        path = self._where(names)
        if isinstance(path, int):
            return path
        if path == self.root.real_root():
            return INVALID_OPEN_FLAGS  # the root through a symlink to it: never deleted
        if not path.exists():
            return NOT_FOUND
        if not path.is_dir():
            return NOT_A_FILE
        if not recursive and self._has_children(path):
            return NOT_A_FILE  # Citra's SDMC answer for a directory that is not empty
        # rmtree removes symlinks inside, never what they point to
        return self._host(shutil.rmtree if recursive else os.rmdir, path)

    def rename(self, source: list[str], target: list[str], directory: bool) -> int:
        src, dst = self._where(source), self._where(target)
        if isinstance(src, int):
            return src
        if isinstance(dst, int):
            return dst
        if not src.exists():
            return NOT_FOUND
        if src.is_dir() != directory or src == self.root.real_root():
            return NOT_A_FILE  # libctru's rename() tries RenameFile, then RenameDirectory
        if dst.exists():
            return ALREADY_EXISTS
        if directory and (dst == src or src in dst.parents):
            return INVALID_PATH  # into itself
        return self._host(os.rename, src, dst)

    def list_directory(self, names: list[str]) -> tuple[int, list[bytes]]:
        path = self._where(names)
        if isinstance(path, int):
            return path, []
        if not path.is_dir():
            return NOT_FOUND, []
        try:
            with os.scandir(path) as listing:
                children = sorted(listing, key=lambda e: e.name)
            return Result.SUCCESS, [e for e in map(self._entry, children) if e is not None]
        except OSError as err:
            return host_error(err), []

    def _entry(self, child: os.DirEntry) -> bytes | None:
        """An FS_DirectoryEntry, or None for what the guest may not see (a symlink leading
        out of the root, a name no 3DS entry can hold)."""
        if not self.root.contains(Path(child.path)):
            return None
        try:
            name = child.name.encode("utf-16-le")
            is_dir = child.is_dir()
            size = 0 if is_dir else child.stat().st_size
        except (UnicodeEncodeError, OSError):
            return None
        if len(name) // 2 > NAME_MAX:
            return None
        stem, dot, ext = child.name.rpartition(".")
        if not dot or not stem:
            stem, ext = child.name, ""
        short = stem.upper().encode("ascii", "replace")[:8]  # 8.3 names are upper case (FAT)
        attributes = (ATTR_DIRECTORY if is_dir else ATTR_ARCHIVE) | (ATTR_HIDDEN if child.name[0] == "." else 0)
        return struct.pack("<524s10s4sBBIQ", name, short, ext.upper().encode("ascii", "replace")[:3],
                           1, 0, attributes, size)

    @staticmethod
    def _has_children(path: Path) -> bool:
        try:
            with os.scandir(path) as children:
                return next(children, None) is not None
        except OSError:
            return False

    @staticmethod
    def _host(fn: Callable[..., object], *args: object) -> int:
        try:
            fn(*args)
        except OSError as err:
            return host_error(err)
        return Result.SUCCESS


def read_client(request: Request, index: int, size: int) -> bytes | int:
    """``size`` bytes of mapped buffer ``index`` (cut to its size) from the client's memory,
    or INVALID_BUFFER_DESCRIPTOR for a buffer it may not give to be read."""
    if index >= len(request.mapped_buffers):
        return Result.INVALID_BUFFER_DESCRIPTOR
    address, length, perm = request.mapped_buffers[index]
    size = min(size, length)
    if not perm & BUFFER_R or not has_memory(request.process.space.table, address, size, MemoryPermission.R):
        return Result.INVALID_BUFFER_DESCRIPTOR
    try:
        return request.process.space.mem.read(address, size) if size else b""
    except GuestFault:
        return Result.INVALID_BUFFER_DESCRIPTOR


class FileSession(Service):
    """One open file (3dbrew "File service"): one host descriptor."""

    name = "fs:USER file"

    def __init__(self, kernel: Kernel, fd: int, writable: bool, archive: SdmcArchive, path: str) -> None:
        super().__init__(kernel)
        self.fd: int | None = fd
        self.writable = writable
        self.archive = archive
        self.path = path

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    state_transient = ("fd",)  # a host descriptor: a save state keeps the file's host path

    def state_extra(self) -> dict[str, object]:
        host = os.readlink(f"/proc/self/fd/{self.fd}") if self.fd is not None else None
        return {"host_file": host}

    def after_restore(self) -> None:
        host = getattr(self, "host_file", None)
        self.fd = None
        if isinstance(host, str):
            mode = os.O_RDWR if self.writable else os.O_RDONLY
            self.fd = os.open(host, mode | os.O_CLOEXEC)  # OSError: the file went; the load fails

    def session_closed(self, session: ClientSession) -> None:
        self.close()

    def _size(self) -> int:
        assert self.fd is not None
        return os.fstat(self.fd).st_size

    @command(0x0802, normal=3, translate=2)
    def read(self, request: Request) -> Reply:
        """offset (u64), size, a writable buffer -> bytes read, the buffer given back."""
        offset, size = request.normal[0] | request.normal[1] << 32, request.normal[2]
        if self.fd is None:
            return Reply(result=CLOSED, normal=[0], mapped_buffers=request.mapped_buffers)
        room = request.mapped_buffers[0][1] if request.mapped_buffers else 0
        try:
            data = os.pread(self.fd, min(size, room), offset)
        except (OSError, OverflowError) as err:
            return Reply(result=host_error(err), normal=[0], mapped_buffers=request.mapped_buffers)
        result = write_mapped(request, 0, data)
        return Reply(result=result, normal=[len(data) if result == Result.SUCCESS else 0],
                     mapped_buffers=request.mapped_buffers)

    @command(0x0803, normal=4, translate=2)
    def write(self, request: Request) -> Reply:
        """offset (u64), size, flags (FS_WRITE_FLUSH...), a readable buffer -> bytes written."""
        offset, size, flags = request.normal[0] | request.normal[1] << 32, request.normal[2], request.normal[3]
        given = request.mapped_buffers
        if self.fd is None:
            return Reply(result=CLOSED, normal=[0], mapped_buffers=given)
        if not self.writable:
            return Reply(result=INVALID_OPEN_FLAGS, normal=[0], mapped_buffers=given)
        data = read_client(request, 0, size)
        if isinstance(data, int):
            return Reply(result=data, normal=[0], mapped_buffers=given)
        try:
            if offset + len(data) - self._size() > self.archive.free_bytes():  # growth, zeros and all
                return Reply(result=INSUFFICIENT_SPACE, normal=[0], mapped_buffers=given)
            written = os.pwrite(self.fd, data, offset)
            if flags & 0xFF:
                os.fsync(self.fd)
        except (OSError, OverflowError) as err:
            return Reply(result=host_error(err), normal=[0], mapped_buffers=given)
        return Reply(normal=[written], mapped_buffers=given)

    @command(0x0804)
    def get_size(self, request: Request) -> Reply:
        if self.fd is None:
            return Reply(result=CLOSED, normal=[0, 0])
        size = self._size()
        return Reply(normal=[size & 0xFFFFFFFF, size >> 32])

    @command(0x0805, normal=2)
    def set_size(self, request: Request) -> Reply:
        size = request.normal[0] | request.normal[1] << 32
        if self.fd is None:
            return Reply(result=CLOSED)
        if not self.writable:
            return Reply(result=INVALID_OPEN_FLAGS)
        if size - self._size() > self.archive.free_bytes():
            return Reply(result=INSUFFICIENT_SPACE)
        try:
            os.ftruncate(self.fd, size)
        except (OSError, OverflowError) as err:
            return Reply(result=host_error(err))
        return Reply()

    @command(0x0808)
    def close_file(self, request: Request) -> Reply:
        self.close()  # libctru then closes the handle
        return Reply()

    @command(0x0809)
    def flush(self, request: Request) -> Reply:
        if self.fd is None:
            return Reply(result=CLOSED)
        try:
            os.fsync(self.fd)
        except OSError as err:
            return Reply(result=host_error(err))
        return Reply()


class RomFsFile(FileSession):
    """The RomFS archive's one file (archive 3 with an empty path and a 12-byte binary file
    path, libctru's romfsMountFromCurrentProcess): the program's own RomFS, read-only. For a
    3DSX it is the RomFS part of the launched file, as Citra serves it, so libctru's
    romfsInit finds it also when it does not take the homebrew path (``__service_ptr`` is 0:
    envIsHomebrew() is false and romfsMountSelf asks for archive 3)."""

    name = "fs:USER file"

    def __init__(self, kernel: Kernel, fd: int, base: int, size: int, path: str) -> None:
        super().__init__(kernel, fd, False, None, path)  # type: ignore[arg-type]
        self.base, self.size = base, size

    def _size(self) -> int:
        return self.size

    @command(0x0802, normal=3, translate=2)
    def read(self, request: Request) -> Reply:
        offset, size = request.normal[0] | request.normal[1] << 32, request.normal[2]
        if self.fd is None:
            return Reply(result=CLOSED, normal=[0], mapped_buffers=request.mapped_buffers)
        room = request.mapped_buffers[0][1] if request.mapped_buffers else 0
        count = max(0, min(size, room, self.size - offset))
        try:
            data = os.pread(self.fd, count, self.base + offset) if count else b""
        except (OSError, OverflowError) as err:
            return Reply(result=host_error(err), normal=[0], mapped_buffers=request.mapped_buffers)
        result = write_mapped(request, 0, data)
        return Reply(result=result, normal=[len(data) if result == Result.SUCCESS else 0],
                     mapped_buffers=request.mapped_buffers)


class DirectorySession(Service):
    """One open directory (3dbrew "Directory service"): its entries, listed when opened
    (sorted by name, so a listing is deterministic)."""

    name = "fs:USER directory"

    def __init__(self, kernel: Kernel, entries: list[bytes]) -> None:
        super().__init__(kernel)
        self.entries = entries
        self.next = 0

    @command(0x0801, normal=1, translate=2)
    def read(self, request: Request) -> Reply:
        """count, a writable buffer -> entries read (0 at the end), the buffer given back."""
        room = request.mapped_buffers[0][1] // ENTRY_SIZE if request.mapped_buffers else 0
        batch = self.entries[self.next : self.next + min(request.normal[0], room)]
        result = write_mapped(request, 0, b"".join(batch))
        if result == Result.SUCCESS:
            self.next += len(batch)
        return Reply(result=result, normal=[len(batch) if result == Result.SUCCESS else 0],
                     mapped_buffers=request.mapped_buffers)

    @command(0x0802)
    def close_directory(self, request: Request) -> Reply:
        self.entries, self.next = [], 0
        return Reply()
