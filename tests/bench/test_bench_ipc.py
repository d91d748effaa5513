"""``hlemu bench ipc --quick`` writes well-formed records (figures are the benchmark's, not asserted)."""

from __future__ import annotations

import json

from hlemu.cli import main


def test_quick_ipc_benchmark_writes_both_workloads(tmp_path):
    out = tmp_path / "ipc.json"
    assert main(["bench", "ipc", "--quick", "--json", str(out)]) == 0
    records = {(r["workload"], r["variant"]): r for r in json.loads(out.read_text())}
    for workload in ("ipc_roundtrip", "ipc_roundtrip_mapped_4k"):
        for variant in ("fastmem", "semifastmem"):
            assert records[(workload, variant)]["unit"] == "us"
            assert records[(workload, variant)]["value"] > 0
