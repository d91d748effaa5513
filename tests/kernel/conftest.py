from __future__ import annotations

import pytest


@pytest.fixture
def guest(backend, make_guest):
    """A kernel on the ``backend`` the test is parametrized with."""
    return make_guest(backend)
