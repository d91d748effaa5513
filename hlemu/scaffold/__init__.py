"""Your own guest programs: ``hlemu new NAME`` makes a folder ready to build, ``hlemu build``
compiles it with the hlemu SDK (:mod:`hlemu.scaffold.build`).

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     folder = create(Path(tmp) / "hello")
...     sorted(p.name for p in folder.iterdir())
['.gitignore', 'README.md', 'hlemu.toml', 'main.c']
>>> create(Path("no good"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
  ...
hlemu.scaffold.ScaffoldError: 'no good' is not a usable program name (letters, digits, '_' and '-', ...
"""

from __future__ import annotations

import re
from pathlib import Path

from hlemu.scaffold.templates import FILES

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


class ScaffoldError(ValueError):
    """A name or folder ``hlemu new`` cannot use; the message says why."""


def create(folder: Path) -> Path:
    """Make ``folder`` (its last part is the program's name) with a ``main.c`` using the SDK,
    ``hlemu.toml``, a README and a ``.gitignore``. An existing folder must be empty."""
    name = folder.name
    if not NAME.fullmatch(name):
        raise ScaffoldError(f"{name!r} is not a usable program name (letters, digits, '_' and '-', "
                            "starting with a letter)")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ScaffoldError(f"{folder} already exists and is not an empty folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for file, text in FILES.items():
            (folder / file).write_text(text.replace("{name}", name))
    except OSError as exc:
        raise ScaffoldError(f"cannot make {folder}: {exc.strerror or exc}") from None
    return folder
