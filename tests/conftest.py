from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from tests.snapshots import OPTION, Snapshots, in_ci

# Qt tests run without a screen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The default SD card folder ($XDG_DATA_HOME/hlemu/sdmc) is a throwaway one, for this process and
# the hlemu commands tests start: running the demo or a 3DSX must not write into the user's.
TEST_DATA_HOME = os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="hlemu-tests-data-")


def pytest_addoption(parser):
    parser.addoption(OPTION, action="store_true", default=False,
                     help="rewrite snapshot files from the current outputs (refused when CI is set)")


def pytest_unconfigure(config):
    shutil.rmtree(TEST_DATA_HOME, ignore_errors=True)


def pytest_configure(config):
    if config.getoption(OPTION) and in_ci():
        raise pytest.UsageError(f"{OPTION} is refused when CI is set: snapshots are updated by hand and reviewed")


@pytest.fixture
def snapshots(request) -> Snapshots:
    """Compares outputs with committed snapshot files; see :mod:`tests.snapshots`."""
    return Snapshots(update=request.config.getoption(OPTION))


@pytest.fixture
def make_guest():
    """A factory of :class:`tests.kernel.asm.Guest` kernels (e.g. with a small quantum), closed
    after the test, pass or fail."""
    from tests.kernel.asm import Guest

    made: list[Guest] = []

    def make(backend: str, quantum_blocks: int = 20_000) -> Guest:
        made.append(Guest(backend, quantum_blocks))
        return made[-1]

    yield make
    for guest in made:
        guest.close()


@pytest.fixture(scope="session")
def memory_system():
    """One physical memory for the session (a 134 MiB memfd); tests unmap what they map."""
    from hlemu.memory import MemorySystem

    system = MemorySystem(backend="fastmem")
    yield system
    system.close()


@pytest.fixture
def spaces(memory_system):
    """A factory of fresh address spaces with slabs, closed (and frames freed) after the test."""
    made = []
    pid = [1000]

    def make(name: str = ""):
        pid[0] += 1
        space = memory_system.create_space(pid[0], name, with_slab=True)
        made.append(space)
        return space

    yield make
    for space in made:
        frames = space.table.frame[space.table.frame >= 0]
        memory_system.destroy_space(space.pid)
        unique = sorted(set(frames.tolist()))
        still_mapped = [f for f in unique if memory_system.phys.map_count[f]]
        memory_system.phys.free([f for f in unique if f not in still_mapped and not memory_system.phys._free[f]])

