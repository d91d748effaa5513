"""The service test programs (apt_lifecycle, sdmc_files, romfs_read, cfg_values), each run
as a .3dsx, as a homebrew launcher starts one (argv[0] = sdmc:/3ds/NAME.3dsx), with an SD
card folder of the test's own; their C sources state the expected output.

The .3dsx is made here from the bundled ELF by hlemu's 3DSX writer (romfs_read's with a RomFS
built from a folder), so the tests do not depend on how the build script packages them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from hlemu.guest import program_path
from hlemu.loaders.romfs import build_romfs
from hlemu.loaders.threedsx_writer import elf_to_3dsx
from kernel.kernel import Kernel
from kernel.services.cfg import MODELS, REGIONS, ConsoleSettings

BACKENDS = ["fastmem", "semifastmem"]
LIMIT = 100_000_000


def make_3dsx(tmp_path: Path, name: str, romfs: Path | None = None) -> Path:
    path = tmp_path / f"{name}.3dsx"
    image = build_romfs(romfs) if romfs is not None else None
    path.write_bytes(elf_to_3dsx(program_path(name).read_bytes(), romfs=image))
    return path


class Run:
    """One kernel with one program; ``steps`` are (frame, action) pairs done at that VBlank."""

    def __init__(self, backend: str, sdmc: Path) -> None:
        self.lines: list[str] = []
        self.kernel = Kernel(backend=backend, output=lambda _p, line: self.lines.append(line), sdmc_root=sdmc)
        self.kernel.fs.free_bytes = 0x12345000  # the same answer on any host disk

    def __call__(self, program: Path, steps: list[tuple[int, Callable[[Kernel], object]]] = ()):
        process = self.kernel.spawn(program)
        for frame, action in steps:
            result = self.kernel.run(max_instructions=LIMIT, until=lambda f=frame: self.kernel.display.frame >= f)
            assert result.reason == "condition met", (result, self.lines)
            action(self.kernel)
        result = self.kernel.run(max_instructions=LIMIT)
        assert result.reason == "all exited", (result, self.lines)
        return process

    def close(self) -> None:
        self.kernel.close()


@pytest.fixture
def run(tmp_path):
    made: list[Run] = []

    def make(backend: str = "semifastmem") -> Run:
        made.append(Run(backend, tmp_path / "sd"))
        return made[-1]

    yield make
    for r in made:
        r.close()


# -- apt_lifecycle ----------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_apt_lifecycle_sees_home_then_a_close_request_and_exits_0(run, tmp_path, backend):
    r = run(backend)
    process = r(make_3dsx(tmp_path, "apt_lifecycle"), steps=[
        (5, lambda k: k.apt.press_home()),
        (10, lambda k: k.apt.request_close()),
    ])
    assert r.lines == [
        "apt_lifecycle: start",
        "aptInit: 0x00000000, app id 0x300, active yes",
        "new 3ds: no",
        "main loop: running",
        "signal: HOMEBUTTON (1)",
        "hook: ONSUSPEND",
        "hook: ONRESTORE",
        "main loop: back from the HOME menu, active yes",
        "signal: ORDERTOCLOSE (11)",
        "main loop: aptMainLoop() returned false (close requested: yes)",
        "hook: ONEXIT",
        "apt_lifecycle: exiting with 0",
    ]
    assert process.exit_code == 0 and process.crash is None
    assert not r.kernel.apt.applets[process.pid].registered  # CloseApplication came


def test_apt_lifecycle_power_goes_through_the_home_menu_to_shutdown(run, tmp_path):
    r = run()
    process = r(make_3dsx(tmp_path, "apt_lifecycle"), steps=[(3, lambda k: k.apt.press_power())])
    assert r.lines[4:] == [
        "signal: POWERBUTTON (8)",
        "hook: ONSUSPEND",
        "hook: ONRESTORE",
        "signal: POWERBUTTON2 (9)",
        "signal: SHUTDOWN (7)",
        "main loop: aptMainLoop() returned false (close requested: yes)",
        "hook: ONEXIT",
        "apt_lifecycle: exiting with 0",
    ]
    assert process.exit_code == 0


def test_apt_lifecycle_keeps_running_until_told(run, tmp_path):
    r = run()
    r.kernel.spawn(make_3dsx(tmp_path, "apt_lifecycle"))
    r.kernel.run(max_instructions=LIMIT, until=lambda: r.kernel.display.frame >= 30)
    assert r.lines[-1] == "main loop: running"  # 30 frames, no notification, still looping


# -- sdmc_files -------------------------------------------------------------------------------

def tree_of(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` (symlinks not followed) -> file bytes, None for the rest."""
    out: dict[str, bytes | None] = {}
    for base, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(base) / name
            rel = str(path.relative_to(folder))
            out[rel] = path.read_bytes() if path.is_file() and not path.is_symlink() else None
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_sdmc_files_does_its_work_inside_the_folder_and_nothing_escapes(run, tmp_path, backend):
    sdmc, outside = tmp_path / "sd", tmp_path / "outside"
    sdmc.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"host file")
    os.symlink(outside, sdmc / "escape_link")
    program = make_3dsx(tmp_path, "sdmc_files")
    before = tree_of(tmp_path)

    r = run(backend)
    process = r(program)
    assert process.exit_code == 0, "\n".join(r.lines)
    assert r.lines[-1] == "sdmc_files: 0 failures"
    assert not [line for line in r.lines if line.endswith("FAILED")]
    for line in [
        "escape: /../outside.txt refused: 0xe0e046be ok",
        "escape: /hlemu_test/../../outside.txt refused: 0xe0e046be ok",
        "escape: outside.txt (not absolute) refused: 0xe0e046be ok",
        "escape: sdmc:/outside.txt (a drive prefix) refused: 0xe0e046be ok",
        "escape: a NUL inside the path refused: 0xe0e046be ok",
        "escape: a 256-unit name refused: 0xe0e046bf ok",
        "escape: a 1098-unit path refused: 0xe0e046bf ok",
        "escape: a binary path refused: 0xe0e046be ok",
        "escape: /etc/hostname is the SD card's, not the host's: 0xc8804478 ok",
        "escape: create through /escape_link refused: 0xe0e046be ok",  # the symlink is out: INVALID_PATH
        "escape: open /escape_link as a directory refused: 0xe0e046be ok",
        "list /: escape_link is not listed ok",
        "free bytes: 298260 KiB ok",
        "closed archive handle refused: 0xc8804465 ok",
    ]:
        assert line in r.lines
    assert r.lines[r.lines.index("listing /:") + 2:r.lines.index("listing /:") + 4] == ["  3ds/", "  hlemu_test/"]

    after = tree_of(tmp_path)
    made = {path: data for path, data in after.items() if path not in before}
    assert made == {
        "sd/3ds": None,
        "sd/3ds/sdmc_files.3dsx": program.read_bytes(),  # where the launcher put it (argv[0])
        "sd/hlemu_test": None,
        "sd/hlemu_test/kept.txt": b"kept\n",
        "sd/hlemu_test/utf16 é.txt": b"utf-16 path\n",
    }
    assert {p: d for p, d in after.items() if p in before} == before  # nothing else changed, outside untouched


# -- romfs_read -------------------------------------------------------------------------------

ROMFS_FOLDER = Path(__file__).resolve().parents[2] / "hlemu" / "guest" / "programs" / "romfs_read.romfs"


@pytest.fixture
def romfs_dir() -> Path:
    """The folder romfs_read.c expects as its RomFS (committed; the bundled twin carries it)."""
    assert sorted(str(p.relative_to(ROMFS_FOLDER)) for p in ROMFS_FOLDER.rglob("*")) == [
        "data.bin", "dir", "dir/deeper", "dir/deeper/empty.bin", "dir/nested.txt", "hello.txt", "ünïcøde.txt"]
    assert (ROMFS_FOLDER / "data.bin").read_bytes() == bytes((i * 7 + 3) & 0xFF for i in range(5000))
    return ROMFS_FOLDER


def test_the_bundled_romfs_read_3dsx_carries_that_romfs_and_reads_it(run):
    from hlemu.loaders import load_image

    bundled = program_path("romfs_read").with_suffix(".3dsx")
    image = load_image(bundled)
    assert image.romfs_size == len(build_romfs(ROMFS_FOLDER))
    r = run("fastmem")
    process = r(bundled)
    assert process.exit_code == 0, "\n".join(r.lines)
    assert r.lines[-1] == "romfs_read: 0 failures"


@pytest.mark.parametrize("backend", BACKENDS)
def test_romfs_read_finds_its_own_romfs_through_argv0(run, tmp_path, romfs_dir, backend):
    r = run(backend)
    process = r(make_3dsx(tmp_path, "romfs_read", romfs=romfs_dir))
    assert process.exit_code == 0, "\n".join(r.lines)
    assert r.lines[:4] == ["romfs_read: start, argc 1", "argv[0]: sdmc:/3ds/romfs_read.3dsx", "fsInit ok",
                           "romfsMountSelf: 0x00000000 ok"]
    tree = r.lines[r.lines.index("tree:") + 1:r.lines.index("tree:") + 8]
    assert tree == ["  /data.bin (5000 bytes)", "  /hello.txt (22 bytes)", "  /ünïcøde.txt (13 bytes)", "  /dir/",
                    "  /dir/nested.txt (12 bytes)", "  /dir/deeper/", "  /dir/deeper/empty.bin (0 bytes)"]
    assert 'read /hello.txt: 22 bytes "Hello from the RomFS!\\n" ok' in r.lines
    assert "read /data.bin in 3 parts: 5000 bytes, 0 wrong ok" in r.lines
    assert r.lines[-1] == "romfs_read: 0 failures"


def test_romfs_read_without_a_romfs_says_so(run, tmp_path):
    r = run()
    process = r(make_3dsx(tmp_path, "romfs_read"))
    assert process.exit_code == 1
    assert r.lines[-1] == "romfsMountSelf: 0xf88197fa FAILED"  # libctru's RomFS "not found" result


def test_romfs_read_as_an_elf_has_no_argv(run):
    r = run()
    process = r(program_path("romfs_read"))
    assert r.lines == ["romfs_read: start, argc 0", "no argv[0]: not started as a .3dsx by a launcher"]
    assert process.exit_code == 1


# -- cfg_values -------------------------------------------------------------------------------

DEFAULTS = [
    "cfg_values: start",
    "language: 1 (en)",
    "region: 1 (USA)",
    "model: 0 (3DS), 2DS flag 1",
    "username: hlemu",
    "birthday: 1/1",
    "country: 49 (US), state 2, Canada/USA 1",
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_cfg_values_prints_the_default_console(run, tmp_path, backend):
    r = run(backend)
    process = r(make_3dsx(tmp_path, "cfg_values"))
    assert process.exit_code == 0
    assert r.lines[:len(DEFAULTS)] == DEFAULTS
    assert r.lines[len(DEFAULTS) + 1:] == [
        "birthday block with size 1: 0xd90103ec",  # cfg's INVALID_SIZE
        "battery level: 5 of 5",
        "charging: 0",
        "adapter: 0",
        "shell open: 1",
        "pedometer: counting 0, 0 steps",
        "ConfigureNew3DSCPU(0): 0x00000000",
        "new 3ds: no",
        "cfg_values: 0 failures",
    ]


def test_cfg_values_shows_settings_made_from_python(run, tmp_path):
    r = run()
    k = r.kernel
    k.cfg.settings = ConsoleSettings(language=2, region=REGIONS["EUR"], model=MODELS["New 3DS XL"],
                                     username="Tester", birthday=(12, 25), country=77, state=5)
    k.ptm.state.battery_level, k.ptm.state.charging, k.ptm.state.adapter = 2, True, True
    k.ptm.state.shell_open, k.ptm.state.pedometer_counting, k.ptm.state.total_steps = False, True, 1234
    k.apt.new_3ds = True
    process = r(make_3dsx(tmp_path, "cfg_values"))
    assert process.exit_code == 0
    assert r.lines[1:7] == [
        "language: 2 (fr)",
        "region: 2 (EUR)",
        "model: 4 (New 3DS XL), 2DS flag 1",
        "username: Tester",
        "birthday: 12/25",
        "country: 77 (FR), state 5, Canada/USA 0",
    ]
    assert r.lines[r.lines.index("battery level: 2 of 5"):] == [
        "battery level: 2 of 5",
        "charging: 1",
        "adapter: 1",
        "shell open: 0",
        "pedometer: counting 1, 1234 steps",
        "ConfigureNew3DSCPU(0): 0x00000000",
        "new 3ds: yes",
        "cfg_values: 0 failures",
    ]


def test_cfg_values_console_hash_follows_the_console_id(run, tmp_path):
    program = make_3dsx(tmp_path, "cfg_values")
    hashes = []
    for console_id in (0x0123456789ABCDEF, 0x1111):
        r = run()
        r.kernel.cfg.settings.console_id = console_id
        r(program)
        hashes += [line for line in r.lines if line.startswith("console hash")]
    assert len(hashes) == 2 and hashes[0] != hashes[1]
