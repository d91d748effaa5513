"""scripts/tracked_costs.py: where a demo frame goes on write-tracked pages, per backend."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from hlemu.cpu import costs
from hlemu.memory import MemorySystem

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "tracked_costs.py"


def _module():
    spec = importlib.util.spec_from_file_location("tracked_costs", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tracked_costs = _module()


def _fastmem_here() -> bool:
    probe = MemorySystem(backend="auto")
    try:
        return probe.backend == "fastmem"
    finally:
        probe.close()


def test_semifastmem_never_reprotects_unicorn_and_the_patches_come_off():
    figures = tracked_costs.measure("semifastmem", frames=3, warm=2)
    assert not costs.active()  # the counting wrappers are off again
    assert figures["MIPS"] > 0 and figures["frame us"] > 0
    assert figures["mem_protect calls"] == 0 and figures["_on_invalid_memory calls"] == 0
    assert figures["sync_deferred calls"] >= 1  # one a run before guest code goes on


@pytest.mark.skipif(not _fastmem_here(), reason="fastmem needs host pages of the guest's size")
def test_fastmem_opens_and_closes_the_framebuffer_pages_it_writes():
    figures = tracked_costs.measure("fastmem", frames=3, warm=2)
    assert figures["_on_invalid_memory calls"] > 0  # the first write to a tracked page
    assert figures["mem_protect calls"] >= figures["_on_invalid_memory calls"]  # opened, and closed at VBlank


def test_counting_takes_its_wrappers_off_even_after_an_error():
    with pytest.raises(RuntimeError, match="inside"):
        with costs.counting() as spent:
            assert costs.active() and spent == {}
            raise RuntimeError("inside")
    assert not costs.active()


def test_bad_sizes_are_refused():
    done = subprocess.run([sys.executable, str(SCRIPT), "--frames", "0"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--frames must be at least 1" in done.stderr
