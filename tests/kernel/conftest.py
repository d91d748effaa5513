from __future__ import annotations

import pytest

from tests.kernel.asm import Guest


@pytest.fixture
def make_guest():
    """A factory of :class:`Guest` kernels (e.g. with a small quantum), closed after the test."""
    made: list[Guest] = []

    def make(backend: str, quantum_blocks: int = 20_000) -> Guest:
        made.append(Guest(backend, quantum_blocks))
        return made[-1]

    yield make
    for guest in made:
        guest.close()


@pytest.fixture
def guest(backend, make_guest):
    """A kernel on the ``backend`` the test is parametrized with."""
    return make_guest(backend)
