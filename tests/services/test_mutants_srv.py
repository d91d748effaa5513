"""srv:'s service-name decoding at its edges: a name is 1 to 8 bytes in two request words, no NUL
inside (3dbrew "SRV:"; result codes as Citra's srv.cpp spells them, ERR_INVALID_NAME_SIZE and
ERR_NAME_CONTAINS_NUL). Written for mutants of kernel/services/srv.py (scripts/mutation.py)."""

from __future__ import annotations

import pytest

from kernel.errors import KernelError
from kernel.services.srv import service_name

INVALID_NAME_SIZE = 0xD9006405
NAME_CONTAINS_NUL = 0xD9006407


def words(name: bytes) -> list[int]:
    raw = name.ljust(8, b"\0")
    return [int.from_bytes(raw[:4], "little"), int.from_bytes(raw[4:], "little")]


@pytest.mark.parametrize(("name", "length"), [(b"a", 1), (b"fs:USER", 7), (b"hlm:test", 8), (b"gsp::Gpu", 8)])
def test_names_of_one_to_eight_bytes(name, length):
    assert service_name(words(name), length) == name.decode()


def test_only_length_bytes_count():
    assert service_name(words(b"fs:USERX"), 7) == "fs:USER"


@pytest.mark.parametrize("length", [0, 9, -1, 0xFFFFFFFF])
def test_other_lengths_are_refused(length):
    with pytest.raises(KernelError) as info:
        service_name(words(b"hlm:test"), length)
    assert info.value.code == INVALID_NAME_SIZE


def test_a_nul_inside_the_length_is_refused():
    with pytest.raises(KernelError) as info:
        service_name(words(b"ab"), 3)
    assert info.value.code == NAME_CONTAINS_NUL
