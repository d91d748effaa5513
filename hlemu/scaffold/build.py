"""``hlemu build [DIR]``: compile a program folder (``hlemu.toml``, its sources) with the
hlemu SDK into ``build/NAME.elf`` (with DWARF, for gdb and ``hlemu.inspect``) and
``build/NAME.3dsx`` (the homebrew format, with an SMDH title and icon, and ``romfs/`` as
its RomFS when the folder has one).

The compiler flags, the SDK's parts and the linker script are those the bundled programs
are built with (:mod:`hlemu.guest.toolchain`), except that warnings are not errors, the
optimisation level is the settings', and source paths stay absolute so gdb finds them from
anywhere.
"""

from __future__ import annotations

import subprocess
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from hlemu.guest import toolchain

SETTINGS_FILE = "hlemu.toml"
OUT_DIR = "build"
SOURCE_SUFFIXES = (".c", ".S")
# libgcc's objects carry no .note.GNU-stack, which binutils 2.39+ warns about on every link;
# guests have no such thing as an executable stack to warn about.
LINK_QUIET = ["-Wl,--no-warn-execstack"]


class BuildError(Exception):
    """A build that cannot start (no settings, bad settings, no toolchain): a usage problem."""


class CompileError(BuildError):
    """The compiler or linker failed; ``output`` is what it said."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


@dataclass
class Settings:
    """``hlemu.toml``: every key is optional except ``name``."""

    name: str
    title: str = ""
    description: str = "A guest program for hlemu"
    author: str = ""
    sources: list[str] = field(default_factory=lambda: ["main.c"])
    optimize: str = "0"
    cflags: list[str] = field(default_factory=list)


def read_settings(folder: Path) -> Settings:
    """Parse and check ``folder/hlemu.toml``; BuildError names the file and the key."""
    path = folder / SETTINGS_FILE
    if not path.is_file():
        raise BuildError(f"{folder}: no {SETTINGS_FILE} here (make a program with 'hlemu new NAME', "
                         "or give its folder: 'hlemu build DIR')")
    try:
        raw = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BuildError(f"{path}: {exc}") from None
    known = set(Settings.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise BuildError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(known)})")
    if not isinstance(raw.get("name"), str) or not raw["name"]:
        raise BuildError(f"{path}: 'name' must be set to the program's name")
    for key in ("title", "description", "author", "optimize"):
        if not isinstance(raw.get(key, ""), str):
            raise BuildError(f"{path}: {key!r} must be a string")
    for key in ("sources", "cflags"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BuildError(f"{path}: {key!r} must be a list of strings")
    settings = Settings(**raw)
    if settings.optimize not in ("0", "1", "2", "3", "s", "g"):
        raise BuildError(f"{path}: 'optimize' must be one of 0 1 2 3 s g, not {settings.optimize!r}")
    if not settings.sources:
        raise BuildError(f"{path}: 'sources' is empty")
    for source in settings.sources:
        if not source.endswith(SOURCE_SUFFIXES):
            raise BuildError(f"{path}: source {source!r} is neither .c nor .S")
        if not (folder / source).resolve().is_relative_to(folder):
            raise BuildError(f"{path}: source {source!r} is outside {folder}")
        if not (folder / source).is_file():
            raise BuildError(f"{path}: source {source!r} does not exist")
    return settings


@dataclass
class Built:
    elf: Path
    threedsx: Path
    warnings: str  # what the compiler said about code that still built


def build(folder: Path) -> Built:
    """Build the program in ``folder``; raise BuildError (or CompileError) on any problem."""
    folder = folder.resolve()
    settings = read_settings(folder)
    missing = toolchain.missing_toolchain()
    if missing:
        raise BuildError(missing)
    out = folder / OUT_DIR
    out.mkdir(exist_ok=True)
    sdk = toolchain.SDK_DIR
    flags = toolchain.compile_flags(sdk, prefix_map=None, opt=f"-O{settings.optimize}", werror=False)
    sources = [folder / s for s in settings.sources]
    parts = [sdk / p for p in toolchain.sdk_parts_for(s.read_text() for s in sources)]
    said = []
    with tempfile.TemporaryDirectory(prefix="hlemu-build-") as tmp:
        objects = []
        for i, source in enumerate([*sources, *parts]):
            obj = Path(tmp) / f"{i:02d}_{source.stem}.o"
            ours = source in sources
            # Yours from your folder, the SDK's from its own, each by a relative name: the
            # debug info's file and folder then find every source from anywhere (gas names a
            # .S file by the name it was given, without the folder).
            where = folder if ours else source.parent
            name = str(source.relative_to(where))
            said.append(_tool([toolchain.GCC, *flags, *(settings.cflags if ours else []), "-c", name,
                               "-o", str(obj)], where, f"compiling {name} failed"))
            objects.append(str(obj))
        elf = out / f"{settings.name}.elf"
        said.append(_tool([toolchain.GCC, *toolchain.link_flags(sdk), *LINK_QUIET, *objects, "-o", str(elf)], folder,
                          "linking failed"))
    threedsx = out / f"{settings.name}.3dsx"
    try:
        threedsx.write_bytes(_to_3dsx(elf, settings, folder))
    except ValueError as exc:  # a title too long for the SMDH, a RomFS file that cannot be read...
        raise BuildError(f"{threedsx.name}: {exc}") from None
    return Built(elf, threedsx, "".join(said))


def _tool(cmd: list[str], cwd: Path, failure: str) -> str:
    result = subprocess.run(cmd, cwd=cwd, env=toolchain.build_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise CompileError(failure, result.stdout + result.stderr)
    return result.stdout + result.stderr


def _to_3dsx(elf: Path, settings: Settings, folder: Path) -> bytes:
    from hlemu.loaders.romfs import build_romfs
    from hlemu.loaders.smdh import build_smdh
    from hlemu.loaders.threedsx_writer import elf_to_3dsx

    smdh = build_smdh(settings.title or settings.name, settings.description, settings.author,
                      toolchain.icon(settings.name))
    romfs = build_romfs(folder / "romfs") if (folder / "romfs").is_dir() else None
    return elf_to_3dsx(elf.read_bytes(), smdh=smdh, romfs=romfs, where=str(elf))
