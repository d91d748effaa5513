"""``hlemu bench memory`` writes well-formed records (figures are the benchmark's, not asserted)."""

from __future__ import annotations

import json

from hlemu.cli import main
from hlemu.memory.trap import available
from tests.bench.progress import progress_variants, record_variants

TRAP = ("fastmem_trap",) if available()[0] else ()


def test_quick_memory_benchmark_writes_every_workload_and_variant(tmp_path, capsys):
    out = tmp_path / "mem.json"
    assert main(["bench", "memory", "--quick", "--json", str(out)]) == 0
    records = json.loads(out.read_text())
    got = {(r["workload"], r["variant"]): r for r in records}
    for workload, unit in (("random_read32", "ops/s"), ("copy_64k", "bytes/s"), ("read32_scalar", "ns")):
        for variant in ("numpy", "slowmem", "semifastmem", "fastmem") + TRAP:
            rec = got[(workload, variant)]
            assert rec["unit"] == unit and rec["value"] > 0
            assert rec["vs_numpy"] > 0 and rec["vs_slowmem"] > 0 and rec["vs_fastmem"] > 0
        assert got[(workload, "numpy")]["vs_numpy"] == 1.0 and got[(workload, "fastmem")]["vs_fastmem"] == 1.0
    if TRAP:  # what the check costs a read, and what a trap costs a fault
        assert isinstance(got[("random_read32", "fastmem_trap")]["check_ns"], float)
        trapped = got[("trap_fault", "fastmem_trap")]
        assert trapped["unit"] == "us" and trapped["handler_restore_us"] > 0
        assert trapped["trap_us"] == round(trapped["value"] - got[("trap_fault", "fastmem")]["value"], 3)
    printed = capsys.readouterr()
    assert "random_read32" in printed.out and "vs_numpy" in printed.out
    # while it runs, each workload is a heading with a line for every variant it measured
    assert progress_variants(printed.err) == record_variants(records)


def test_cli_help_and_info(capsys):
    assert main([]) == 0
    assert "bench" in capsys.readouterr().out
    assert main(["info", "--host-page-size", "65536"]) == 0
    assert "semifastmem (host pages are 64 KiB" in capsys.readouterr().out
    assert main(["info", "--backend", "fastmem", "--host-page-size", "16384"]) == 2
    assert "fastmem is impossible here" in capsys.readouterr().err
