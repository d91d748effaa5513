from __future__ import annotations

import faulthandler
import os
import sys
import threading

import pytest

from kernel.api import Emulator

# A test here takes a second or two. One that spins (a guest instruction retried forever inside
# Unicorn) would hang the whole suite; after this long the watchdog prints the test's name and every
# thread's traceback, and ends the test process.
WATCHDOG_SECONDS = float(os.environ.get("HLEMU_API_TEST_WATCHDOG", "60"))


@pytest.fixture(autouse=True)
def watchdog(request):
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def expire() -> None:
        if capture is not None:
            capture.suspend_global_capture(in_=True)  # the real stderr again
        sys.stderr.write(f"\n\n{request.node.nodeid} is still running after {WATCHDOG_SECONDS:g} s; stopping.\n")
        sys.stderr.flush()
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stderr.flush()
        os._exit(1)

    timer = threading.Timer(WATCHDOG_SECONDS, expire)
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()


@pytest.fixture
def emulator():
    """A factory of quiet emulators (``echo=False``), all closed after the test."""
    made: list[Emulator] = []

    def make(backend: str = "auto", **kwargs) -> Emulator:
        made.append(Emulator(backend=backend, echo=False, **kwargs))
        return made[-1]

    yield make
    for emu in made:
        emu.close()
