"""numba's disk cache, dropped when any compiled module's source changes.

numba keys a cached function on its own source file only. The rasteriser, the display's
column renderer and the CPU's hooks call compiled functions of other modules (inlined
into them), so after an edit to, say, ``hlemu/gpu/texture.py`` the cached rasteriser
still ran the old sampler (seen: a changed sampler's arguments, the draw drawing as
before). :func:`check` runs when ``hlemu`` is imported, before anything compiled loads:
it hashes the compiled modules' sources and, when the hash is not the one recorded at the
last check, deletes their cached code (``__pycache__/*.nbi`` and ``*.nbc``), so the next
use compiles afresh. A fresh clone has no cache, so only an edited or updated checkout pays.
A cache elsewhere (``NUMBA_CACHE_DIR``) is left to whoever set it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPILED = ("hlemu/cpu/hooks.py", "hlemu/cpu/slowcall.py", "hlemu/cpu/svchook.py",
            "hlemu/gpu/clip.py", "hlemu/gpu/fragment.py", "hlemu/gpu/lighting.py", "hlemu/gpu/proctex.py",
            "hlemu/gpu/pixels.py", "hlemu/gpu/raster.py", "hlemu/gpu/shadow.py", "hlemu/gpu/spans.py",
            "hlemu/gpu/texture.py",
            "hlemu/gpu/texture_image.py", "hlemu/gpu/tiling.py",
            "hlemu/inspect/scan.py", "hlemu/memory/kernels.py", "hlemu/memory/kernels_trap.py",
            "kernel/display.py",
            "kernel/services/gx_kernels.py", "hlemu/bench/cpu.py", "hlemu/bench/memory.py",
            # and modules whose constants compiled code freezes in
            "hlemu/memory/constants.py", "hlemu/memory/trap.py", "hlemu/gpu/regs.py", "kernel/layout.py")
STAMP = ROOT / "hlemu" / "__pycache__" / "numba-sources.sha256"


def sources_digest(files: tuple[str, ...] = COMPILED, root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for name in files:
        path = root / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"") + b"\0")
    return digest.hexdigest()


def check(files: tuple[str, ...] = COMPILED, root: Path = ROOT, stamp: Path = STAMP) -> int:
    """Delete the compiled modules' cached code if their sources changed since the last check;
    returns how many cache files went. Never fails an import: a read-only tree is left as is."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return 0
    try:
        digest = sources_digest(files, root)
        if stamp.exists() and stamp.read_text().strip() == digest:
            return 0
        removed = 0
        for name in files:
            path = root / name
            for cached in (path.parent / "__pycache__").glob(f"{path.stem}.*.nb[ic]"):
                cached.unlink(missing_ok=True)
                removed += 1
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(digest + "\n")
        return removed
    except OSError:
        return 0
