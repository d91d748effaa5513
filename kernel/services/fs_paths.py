"""FS paths and results: what a guest's LowPath says, and where on the host it may lead.

A LowPath is (type, size, data) with the data in a static buffer (3dbrew "Filesystem
services#PathType"; libctru ``FS_PathType``): 0 INVALID, 1 EMPTY, 2 BINARY, 3 ASCII
("CHAR", 8-bit, NUL-terminated, the size counts the NUL) and 4 UTF-16 ("WCHAR", the size
counts the 16-bit NUL). Text paths are parsed as Citra/Azahar ``file_sys/path_parser.cpp``
does: absolute, split on ``/``, empty and ``.`` components dropped, ``..`` allowed only
while it stays inside the archive, and the characters ``< > \\ | : " * ?`` refused.

The SDMC archive is a host folder (:class:`HostRoot`). Nothing may lead out of it: a
``..`` that climbs above the root, a NUL inside a name, a name longer than a FAT long
name (255 UTF-16 units; a directory entry holds 0x106 units with the NUL) or a path
longer than libctru's PATH_MAX (1024 units) is refused before the host is touched, and
the host path is resolved (symlinks followed) and must still be inside the root. The
guest cannot make symlinks, so any symlink is the host user's: one that points inside
the root works, one that points out of it is refused as an invalid path.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path


def _result(description: int, summary: int, level: int) -> int:
    """An FS (module 17) result: description | module << 10 | summary << 21 | level << 27."""
    return description | 17 << 10 | summary << 21 | level << 27


# Citra/Azahar file_sys/errors.h (ErrCodes, ErrorSummary, ErrorLevel of hle/result.h).
NOT_FOUND = _result(120, 4, 25)  # 0xC8804478: no such file / directory / archive id
PATH_NOT_FOUND = _result(113, 4, 25)  # 0xC8804471
INVALID_ARCHIVE_HANDLE = _result(101, 4, 25)  # 0xC8804465: archive not mounted
ALREADY_EXISTS = _result(190, 1, 25)  # 0xC82044BE: libctru's mkdir() maps it to EEXIST
FILE_ALREADY_EXISTS = _result(180, 1, 25)  # 0xC82044B4
DIRECTORY_ALREADY_EXISTS = _result(185, 1, 25)  # 0xC82044B9
INSUFFICIENT_SPACE = _result(210, 3, 25)  # 0xC86044D2: disk full
INVALID_OPEN_FLAGS = _result(230, 9, 25)  # 0xC92044E6: no mode, create without write, ...
DIRECTORY_NOT_EMPTY = _result(240, 9, 25)  # 0xC92044F0
NOT_A_FILE = _result(250, 9, 25)  # 0xC92044FA: Citra's SDMC "unexpected file or directory"
COMMAND_NOT_ALLOWED = _result(630, 8, 27)  # 0xD9004676: the host refused (permission, read-only)
INVALID_PATH = _result(702, 7, 28)  # 0xE0E046BE: libctru maps it to EINVAL
PATH_TOO_LONG = _result(703, 7, 28)  # 0xE0E046BF: libctru archive_dev.c maps it to ENAMETOOLONG
UNSUPPORTED_OPEN_FLAGS = _result(760, 6, 28)  # 0xE0C046F8
WRITE_BEYOND_END = _result(705, 7, 28)  # 0xE0E046C1

PATH_INVALID, PATH_EMPTY, PATH_BINARY, PATH_ASCII, PATH_UTF16 = range(5)
NAME_MAX = 255  # UTF-16 units of one name (a FAT long name)
PATH_MAX = 1024  # UTF-16 units of a whole path (libctru PATH_MAX, what archive_dev.c sends at most)
INVALID_CHARACTERS = frozenset('<>\\|:"*?')


def path_text(path_type: int, data: bytes) -> str | int:
    """The text of an ASCII or UTF-16 LowPath, or the result that refuses it."""
    if path_type == PATH_ASCII:
        text = data.decode("latin-1")
    elif path_type == PATH_UTF16:
        if len(data) % 2:
            return INVALID_PATH
        try:
            text = data.decode("utf-16-le")
        except UnicodeDecodeError:  # a lone surrogate: no host name can hold it
            return INVALID_PATH
    else:
        return INVALID_PATH  # SDMC takes text paths only (Citra PathParser)
    text = text.rstrip("\0")
    if "\0" in text:
        return INVALID_PATH
    return text


def components(text: str) -> list[str] | int:
    """The names ``text`` leads through inside an archive (``[]``: the root), or the result
    that refuses it."""
    if len(text.encode("utf-16-le")) // 2 > PATH_MAX:
        return PATH_TOO_LONG
    if not text.startswith("/") or INVALID_CHARACTERS.intersection(text):
        return INVALID_PATH
    names: list[str] = []
    for name in text.split("/"):
        if name in ("", "."):
            continue
        if name == "..":
            if not names:
                return INVALID_PATH  # above the archive's root
            names.pop()
        elif len(name.encode("utf-16-le")) // 2 > NAME_MAX:
            return PATH_TOO_LONG
        else:
            names.append(name)
    return names


def host_error(err: BaseException) -> int:
    """The FS result for a host failure (never a host exception to the guest)."""
    code = getattr(err, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return INSUFFICIENT_SPACE
    if code in (errno.ENOENT, errno.ENOTDIR):
        return NOT_FOUND
    if code == errno.EEXIST:
        return ALREADY_EXISTS
    if code == errno.ENOTEMPTY:
        return DIRECTORY_NOT_EMPTY
    if code == errno.ENAMETOOLONG:
        return PATH_TOO_LONG
    if code in (errno.EINVAL, errno.ELOOP) or isinstance(err, (OverflowError, ValueError)):
        return INVALID_PATH
    return COMMAND_NOT_ALLOWED  # EACCES, EPERM, EROFS, EIO, ...


class HostRoot:
    """A host folder that an archive's paths resolve into, and never out of."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def real_root(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)  # made on first use
        return Path(os.path.realpath(self.root))

    def resolve(self, names: list[str]) -> Path | int:
        """The host path of ``names`` (symlinks resolved) or INVALID_PATH if it lies outside."""
        root = self.real_root()
        real = Path(os.path.realpath(root.joinpath(*names)))
        if real != root and root not in real.parents:
            return INVALID_PATH
        return real

    def contains(self, path: Path) -> bool:
        root = self.real_root()
        real = Path(os.path.realpath(path))
        return real == root or root in real.parents
