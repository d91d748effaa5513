"""Image files from RGB arrays (Pillow), in the format the file name's suffix names.

Screenshots are written by the headless runner and the kernel's display, which must not
import Qt. The window's own screenshots go through Qt (``QImage.save``) but check their
path here first, so both refuse the same names with the same words.

>>> import io, numpy as np
>>> out = io.BytesIO()
>>> encode(np.zeros((2, 3, 3), dtype=np.uint8), out, "shot.jpg")
>>> out.getvalue()[:3] == b"\\xff\\xd8\\xff"  # a JPEG's start-of-image marker
True
>>> image_format("x.PNG"), image_format("x.jpeg")
('PNG', 'JPEG')
>>> image_format("x.gif")
Traceback (most recent call last):
  ...
ValueError: x.gif: unknown image type '.gif' (use .png, .jpg, .jpeg or .bmp)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import numpy as np

# suffix -> the format's name, as Pillow and Qt both spell it
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP"}
JPEG_QUALITY = 90  # Pillow's default (75) smears the screens' one-pixel text


def image_format(path: str | Path) -> str:
    """The format ``path``'s suffix names (PNG, JPEG, BMP); ValueError for any other suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(FORMATS)
        named = f"'{suffix}'" if suffix else "(none)"
        raise ValueError(f"{path}: unknown image type {named} "
                         f"(use {known.rsplit(', ', 1)[0]} or {known.rsplit(', ', 1)[1]})")
    return FORMATS[suffix]


def check_writable(path: str | Path) -> str:
    """Refuse, before any work is done, an image path that could not be written: an unknown
    suffix, a folder that does not exist or is not writable, a folder in the file's place.
    Returns the format. (ValueError, with a message that names the path.)"""
    fmt = image_format(path)
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise ValueError(f"{path}: is a folder")
    if not folder.is_dir():
        raise ValueError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise ValueError(f"{path}: not writable")
    return fmt


def encode(rgb: np.ndarray, out: BinaryIO, name: str | Path) -> None:
    """Write an (height, width, 3) uint8 array to ``out`` in the format ``name``'s suffix names."""
    from PIL import Image

    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (h, w, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    fmt = image_format(name)
    options = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {}
    Image.fromarray(np.ascontiguousarray(rgb)).save(out, format=fmt, **options)


def write_image(path: str | Path, rgb: np.ndarray) -> None:
    """Write ``rgb`` to ``path`` as its suffix says (ValueError: unknown suffix; OSError: why
    the file could not be written)."""
    image_format(path)  # before the file is created
    with open(path, "wb") as out:
        encode(rgb, out, path)
