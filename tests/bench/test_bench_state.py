"""``hlemu bench state --quick`` writes well-formed records (figures are the benchmark's, not asserted)."""

from __future__ import annotations

import json

from hlemu.cli import main


def test_quick_state_benchmark_writes_both_cases(tmp_path):
    out = tmp_path / "state.json"
    assert main(["bench", "state", "--quick", "--json", str(out)]) == 0
    records = {(r["workload"], r["variant"]): r for r in json.loads(out.read_text())}
    for case in ("state_demo", "state_heap8"):
        for variant in ("save", "load", "baseline_save", "baseline_load"):
            assert records[(case, variant)]["unit"] == "s" and records[(case, variant)]["value"] > 0
        assert records[(case, "size")]["value"] > 0
        assert records[(case, "save")]["vs_baseline"] > 0
