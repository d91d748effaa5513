"""``hlemu bench cpu --quick`` writes well-formed records (figures are the benchmark's, not asserted)."""

from __future__ import annotations

import json

from hlemu.cli import main
from tests.bench.progress import progress_variants, record_variants


def test_quick_cpu_benchmark_writes_every_workload(tmp_path, capsys):
    out = tmp_path / "cpu.json"
    assert main(["bench", "cpu", "--quick", "--json", str(out)]) == 0
    records = {(r["workload"], r["variant"]): r for r in json.loads(out.read_text())}
    assert progress_variants(capsys.readouterr().err) == record_variants(json.loads(out.read_text()))
    for variant in ("bare_unicorn", "fastmem", "semifastmem"):
        assert records[("compute", variant)]["unit"] == "instructions/s"
        assert records[("compute", variant)]["value"] > 0
        assert records[("svc_roundtrip", variant)]["unit"] == "us"
    assert records[("compute", "fastmem")]["instructions"] == records[("compute", "semifastmem")]["instructions"]
    assert records[("compute", "bare_unicorn")]["vs_bare_unicorn"] == 1.0
    for variant in ("fastmem", "semifastmem"):
        assert records[("process_switch", variant)]["value"] > 0
    compiled, python = records[("compute", "slowmem")], records[("compute", "slowmem_python")]
    assert compiled["instructions"] == records[("compute", "semifastmem")]["instructions"]  # all of it
    assert python["instructions"] == 300_000  # --quick: the first 300,000
    for slow, path in ((compiled, "compiled"), (python, "python")):
        assert slow["unit"] == "instructions/s" and slow["value"] > 0 and slow["slow_path"] == path
        assert slow["data_accesses"] > 10_000
        assert slow["vs_bare_unicorn"] < records[("compute", "semifastmem")]["vs_bare_unicorn"]
