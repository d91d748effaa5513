"""The native side of ``fastmem_trap``: build, load and drive the fault handler of ``trap.c``.

``trap.c`` is compiled with the system C compiler (``cc``, or ``$CC``) on first use into
``$XDG_CACHE_HOME/hlemu/trap-<hash>.so`` (``~/.cache`` by default), keyed by the source's
hash, and loaded with ctypes. Without a compiler :func:`native` raises :class:`TrapUnavailable`
naming it, and the ``fastmem_trap`` backend is unavailable (``auto`` never picks it).

Why C and not a numba ``cfunc``: the handler must be async-signal-safe: it may not take the
GIL, allocate or touch numba's runtime, and it must read a per-thread pointer (``__thread``,
initial-exec model, so no lazy allocation inside the handler). numba has no thread-local
storage and no way to say ``sigaction``'s ``SA_SIGINFO`` signature without ctypes glue that
itself is not signal-safe. Forty lines of C say exactly what runs in the handler.

Each thread that runs armed kernels has a *block*, an int64 array: ``block[0]`` is the arm
flag (the compiled kernels set and clear it themselves, with volatile stores, so an armed
call costs no extra call), ``block[1]`` the count of pages logged and ``block[2:]`` their host
addresses. :func:`thread_block` binds one per thread on first use.
"""

from __future__ import annotations

import ctypes
import faulthandler
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

SOURCE = Path(__file__).with_name("trap.c")
LOG_CAPACITY = 512  # pages a call may trap: a batch kernel stops after 64 elements (2 pages each) trap
ARMED, COUNT, LOG = 0, 1, 2


class TrapUnavailable(RuntimeError):
    """The fault handler cannot be built or installed on this host."""


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "hlemu"


def compiler() -> str | None:
    return shutil.which(os.environ.get("CC", "cc"))


def build(source: Path = SOURCE, out_dir: Path | None = None) -> Path:
    """The shared library for ``source``, compiled now if no cached build of this source exists."""
    text = source.read_bytes()
    out_dir = cache_dir() if out_dir is None else out_dir
    target = out_dir / f"trap-{hashlib.sha256(text).hexdigest()[:16]}.so"
    if target.exists():
        return target
    cc = compiler()
    if cc is None:
        raise TrapUnavailable(f"fastmem_trap needs a C compiler to build its fault handler: "
                              f"{os.environ.get('CC', 'cc')!r} was not found on PATH")
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=out_dir)
    os.close(fd)
    try:
        done = subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", tmp, str(source)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise TrapUnavailable(f"building {source.name} with {cc} failed:\n{done.stderr.strip()}")
        os.replace(tmp, target)  # atomic: a concurrent builder's copy is as good
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


class Native:
    """The loaded library and the process-wide state around it."""

    def __init__(self, path: Path) -> None:
        lib = ctypes.CDLL(str(path))
        lib.trap_ensure.argtypes = [ctypes.c_int64]
        lib.trap_ensure.restype = ctypes.c_int
        lib.trap_bind.argtypes = [ctypes.c_void_p]
        lib.trap_bind.restype = None
        lib.trap_register.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
        lib.trap_register.restype = ctypes.c_int
        lib.trap_unregister.argtypes = [ctypes.c_size_t]
        lib.trap_unregister.restype = ctypes.c_int
        lib.trap_is_current.restype = ctypes.c_int
        self.lib = lib
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self.stale = True  # our handler may not be the current one: check before the next armed call
        self.reinstalls = 0
        self.ensure()

    def ensure(self) -> None:
        """Make our handler the current SIGSEGV/SIGBUS action (the old one becomes its fallback)."""
        with self._lock:
            result = self.lib.trap_ensure(LOG_CAPACITY)
            if result < 0:
                raise TrapUnavailable(f"sigaction refused the fault handler: {os.strerror(ctypes.get_errno())}")
            self.reinstalls += result
            self.stale = False

    def is_current(self) -> bool:
        return bool(self.lib.trap_is_current())

    def thread_block(self) -> np.ndarray:
        """This thread's arm flag, count and log, bound to the handler on first use."""
        block = getattr(self._local, "block", None)
        if block is None:
            block = np.zeros(LOG + LOG_CAPACITY, dtype=np.int64)
            self.lib.trap_bind(block.ctypes.data)
            self._local.block = block  # kept alive as long as the thread is
        return block

    def register(self, base: int, size: int) -> None:
        if self.lib.trap_register(base, size) != 0:
            raise TrapUnavailable("too many slabs registered with the fault handler (1024)")

    def unregister(self, base: int) -> None:
        self.lib.trap_unregister(base)


_native: Native | None = None
_failure: TrapUnavailable | None = None
_original_enable = faulthandler.enable
_original_disable = faulthandler.disable


def _enable_then_mark(*args: object, **kwargs: object) -> None:
    """faulthandler.enable, then note that its handler may now sit above ours."""
    _original_enable(*args, **kwargs)  # type: ignore[arg-type]
    if _native is not None:
        _native.stale = True


def _disable_then_mark() -> None:
    """faulthandler.disable, then note that it may have put back what it found, over ours."""
    _original_disable()
    if _native is not None:
        _native.stale = True


def native() -> Native:
    """The fault handler, built and installed on first call (TrapUnavailable if impossible)."""
    global _native, _failure
    if _native is not None:
        return _native
    if _failure is not None:
        raise _failure
    try:
        _native = Native(build())
    except (TrapUnavailable, OSError) as exc:
        _failure = exc if isinstance(exc, TrapUnavailable) else TrapUnavailable(f"loading the fault handler: {exc}")
        raise _failure from None
    # faulthandler.enable puts its handler above ours and faulthandler.disable puts back the
    # action it found when enabled (pytest does both, per session): mark ours stale so the
    # next armed call asks the kernel and re-installs. A C library calling sigaction itself
    # is not seen; a well-behaved one chains to us, the previous handler, and we still claim.
    faulthandler.enable = _enable_then_mark
    faulthandler.disable = _disable_then_mark
    return _native


def available() -> tuple[bool, str]:
    """Whether fastmem_trap can run here, and why not."""
    try:
        native()
    except TrapUnavailable as exc:
        return False, str(exc)
    return True, "fault handler installed"
