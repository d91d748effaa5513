"""All three access paths against a reference model written here, not against slowmem.

The differential tests compare the compiled paths with slowmem, so a bug in slowmem itself
(a missing permission check, a partial write before a fault) would pass as long as the
compiled paths copy it. This model is the specification in a few lines: guest memory is a
dict of bytes (zero until written), the page table a dict of page -> permission, and an
access either faults on its first bad page, moving nothing, or reads/writes every byte.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hlemu.memory import PAGE_SIZE, GuestFault
from hlemu.memory import MemoryPermission as P
from hlemu.memory import MemoryState as S

PATHS = ("slowmem", "semifastmem", "fastmem")
BASE = 0x08000000
PAGES = 6  # the window the layouts and accesses cover (accesses also touch one page each side)
PERMS = {"none": P.NONE, "r": P.R, "rw": P.RW}
TOP = 1 << 32

pytestmark = pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")


class Model:
    """Guest memory as the 3DS page table defines it."""

    def __init__(self, layout: dict[int, str]) -> None:
        self.perm = {BASE // PAGE_SIZE + i: PERMS[p] for i, p in layout.items()}  # vpn -> perm; absent: unmapped
        self.bytes: dict[int, int] = {}

    def check(self, vaddr: int, size: int, access: str) -> tuple[str, int] | None:
        """The fault (kind, first bad byte) of an access, or None."""
        if vaddr + size > TOP:
            return ("unmapped", 0)
        need = P.R if access == "read" else P.W
        addr = vaddr
        while addr < vaddr + size:
            vpn = addr // PAGE_SIZE
            if vpn not in self.perm:
                return ("unmapped", addr)
            if not self.perm[vpn] & need:
                return ("permission", addr)
            addr = (vpn + 1) * PAGE_SIZE
        return None

    def read(self, vaddr: int, size: int) -> Any:
        bad = self.check(vaddr, size, "read")
        return ("fault", "read", *bad) if bad else bytes(self.bytes.get(vaddr + i, 0) for i in range(size))

    def write(self, vaddr: int, data: bytes) -> Any:
        bad = self.check(vaddr, len(data), "write")
        if bad:
            return ("fault", "write", *bad)
        for i, b in enumerate(data):
            self.bytes[vaddr + i] = b
        return None


def run(path: Any, op: tuple) -> Any:
    """One operation through a real path, in the model's terms."""
    kind, vaddr, arg = op
    try:
        if kind == "read":
            return path.read(vaddr, arg)
        if kind == "read_int":
            return path.read_int(vaddr, arg).to_bytes(arg, "little")
        if kind == "write":
            return path.write(vaddr, arg)
        size, value = arg
        return path.write_int(vaddr, size, value)
    except GuestFault as fault:
        return ("fault", fault.access, fault.kind, fault.fault_address)


def expect(model: Model, op: tuple) -> Any:
    kind, vaddr, arg = op
    if kind == "read":
        return model.read(vaddr, arg)
    if kind == "read_int":
        return model.read(vaddr, arg)
    if kind == "write":
        return model.write(vaddr, arg)
    size, value = arg
    return model.write(vaddr, value.to_bytes(size, "little"))


layouts = st.dictionaries(st.integers(0, PAGES - 1), st.sampled_from(sorted(PERMS)), min_size=1)
# Near page edges more often than not: that is where permission checks split.
offsets = st.one_of(st.integers(-PAGE_SIZE, (PAGES + 1) * PAGE_SIZE),
                    st.integers(0, PAGES + 1).flatmap(lambda p: st.integers(p * PAGE_SIZE - 9, p * PAGE_SIZE + 1)))
widths = st.sampled_from((1, 2, 4, 8))
operations = st.one_of(
    st.tuples(st.just("read"), offsets, st.integers(0, 24)),
    st.tuples(st.just("read_int"), offsets, widths),
    st.tuples(st.just("write"), offsets, st.binary(min_size=0, max_size=24)),
    st.tuples(st.just("write_int"), offsets,
              widths.flatmap(lambda w: st.tuples(st.just(w), st.integers(0, (1 << (8 * w)) - 1)))),
)


@pytest.fixture(scope="module")
def make_space(memory_system):
    """``make_space(layout)`` -> a space with a slab mapping ``layout``; everything is
    destroyed and freed after the example that made it (see ``fresh``)."""
    made: list[Any] = []

    def make(layout: dict[int, str]) -> Any:
        space = memory_system.create_space(9000 + len(made), "model", with_slab=True)
        made.append(space)
        for page, perm in sorted(layout.items()):
            frames = memory_system.phys.allocate("APPLICATION", 1)
            space.map(BASE + page * PAGE_SIZE, frames, P.RW, S.PRIVATE)
            space.protect(BASE + page * PAGE_SIZE, PAGE_SIZE, PERMS[perm])
        return space

    def clean() -> None:
        while made:
            space = made.pop()
            frames = sorted(set(space.table.frame[space.table.frame >= 0].tolist()))
            memory_system.destroy_space(space.pid)
            memory_system.phys.free([f for f in frames if not memory_system.phys.map_count[f]
                                     and not memory_system.phys._free[f]])

    make.clean = clean  # type: ignore[attr-defined]
    yield make
    clean()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(layout=layouts, ops=st.lists(operations, min_size=1, max_size=30))
def test_every_path_matches_the_reference_model(make_space, layout, ops):
    ops = [(kind, (BASE + off) % TOP, arg) for kind, off, arg in ops]
    try:
        for name in PATHS:
            model = Model(layout)
            path = make_space(layout).path(name)
            for i, op in enumerate(ops):
                want, got = expect(model, op), run(path, op)
                assert got == want, f"{name}, operation {i} {op}: got {got!r}, the model says {want!r}"
            written = sorted(model.bytes)  # every byte a write reached is on a readable (rw) page
            assert [path.read(a, 1)[0] for a in written] == [model.bytes[a] for a in written], name
    finally:
        make_space.clean()


@pytest.mark.parametrize("name", PATHS)
def test_a_write_to_read_only_memory_faults_and_changes_nothing(make_space, name):
    """The hand-worked case the model generalises: page 0 RW, page 1 R."""
    try:
        path = make_space({0: "rw", 1: "r"}).path(name)
        edge = BASE + PAGE_SIZE - 2
        with pytest.raises(GuestFault) as info:
            path.write_int(edge, 4, 0xAABBCCDD)  # crosses into the read-only page
        assert (info.value.kind, info.value.fault_address) == ("permission", BASE + PAGE_SIZE)
        assert path.read(edge, 2) == b"\0\0"  # nothing moved
        with pytest.raises(GuestFault, match="does not allow writes"):
            path.write(BASE + PAGE_SIZE, b"x")
        assert path.read(BASE + PAGE_SIZE, 1) == b"\0"
    finally:
        make_space.clean()
