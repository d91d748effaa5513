"""``hlemu bench gpu --quick`` writes well-formed records (figures are the benchmark's, not asserted)."""

from __future__ import annotations

import json

import numpy as np

from hlemu.bench import gpu
from hlemu.cli import main


def test_quick_gpu_benchmark_writes_both_scenes(tmp_path):
    out = tmp_path / "gpu.json"
    assert main(["bench", "gpu", "--quick", "--json", str(out)]) == 0
    records = {(r["workload"], r["variant"]): r for r in json.loads(out.read_text())}
    for scene in ("gpu_quads", "gpu_3d"):
        assert records[(scene, "frame")]["unit"] == "frames/s" and records[(scene, "frame")]["value"] > 0
        assert records[(scene, "fill")]["pixels"] > 0 and records[(scene, "fill")]["vs_numpy"] > 0
        assert records[(scene, "numpy")]["pixels"] > 0
    assert records[("gpu_quads", "fill")]["pixels"] == 50 * 32 * 32  # every quad's pixels, once


def test_the_numpy_quad_fill_blends_each_rectangle():
    target = np.zeros((gpu.TH, gpu.TW, 4), np.uint8)
    texture = np.full((64, 64, 4), 255, np.uint8)
    assert gpu.numpy_quads(target, texture, np.array([[0, 0], [100, 200]])) == 2 * 32 * 32
    assert (target[:32, :32] == 191).all() and (target[200:232, 100:132] == 191).all() and target[40:, :90].max() == 0
