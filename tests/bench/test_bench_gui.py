"""``hlemu bench gui --quick`` writes well-formed records over the world it promises."""

from __future__ import annotations

import json

from gui.bench import MAPPED, PROCESSES, build_world
from hlemu.cli import main


def test_the_benchmark_world_is_8_processes_each_mapping_64_mib():
    emu, procs = build_world()
    try:
        assert len(procs) == PROCESSES
        for proc in procs:
            shared = [r for r in proc.maps() if r.state.name == "SHARED" and r.base >= 0x30000000]
            assert sum(r.size for r in shared) == MAPPED and len(shared) == MAPPED // (4 << 20)
            assert proc.faults["permission"] > 0
        assert sorted(shared[0].shared_with) == sorted(p.pid for p in procs if p is not procs[-1])
    finally:
        emu.close()


def test_quick_gui_benchmark_writes_every_workload(tmp_path):
    out = tmp_path / "gui.json"
    assert main(["bench", "gui", "--quick", "--json", str(out)]) == 0
    records = {(r["workload"], r["variant"]): r for r in json.loads(out.read_text())}
    assert records[("page_snapshot", "numpy copy (baseline)")]["vs_numpy"] == 1.0
    assert records[("page_model", "all pages")]["rows"] == 1 << 20
    assert records[("page_model", "mapped")]["rows"] > MAPPED // 4096  # the 64 MiB and the program
    for key in (("page_scroll", "mapped"), ("address_strip", "4 GiB"), ("full_snapshot", "8 processes"),
                ("fault_plot", "add + paint (full history)"), ("frame_limiter", "30 frames, limiter on"),
                ("frame_limiter", "30 frames, limiter off")):
        assert records[key]["unit"] == "ms" and records[key]["value"] > 0
    window = {variant: r for (workload, variant), r in records.items() if workload == "window_mips"}
    assert sorted(window) == ["headless (baseline)", "window, rewind ring off", "window, rewind ring on"]
    assert all(r["unit"] == "MIPS" and r["value"] > 0 and r["frames"] == 30 for r in window.values())
    assert window["headless (baseline)"]["vs_headless"] == 1.0
    for variant in ("window, rewind ring off", "window, rewind ring on"):
        shares = {k: v for k, v in window[variant].items() if k.startswith("cpu_")}
        assert sorted(shares) == ["cpu_guest", "cpu_gui_thread", "cpu_screens", "cpu_snapshots"]
        assert 0 < shares["cpu_guest"] <= 1.05 and all(0 <= v <= 1.05 for v in shares.values())
    assert len(window["headless (baseline)"]["runs"]) == 2
