from __future__ import annotations

import pytest

from tests.kernel.asm import Guest


@pytest.fixture
def make_guest():
    """A factory of :class:`Guest` kernels, closed after the test."""
    made: list[Guest] = []

    def make(backend: str) -> Guest:
        made.append(Guest(backend))
        return made[-1]

    yield make
    for guest in made:
        guest.close()
