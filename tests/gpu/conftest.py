"""The GPU draw tests' machine: a process with a command list, colour buffer and vertex area
(tests/gpu/test_draw.Env), on each CPU memory backend."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["fastmem", "semifastmem"])
def env(request):
    from tests.gpu.test_draw import Env

    made = Env(request.param)
    yield made
    made.kernel.close()
