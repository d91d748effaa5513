"""``hlemu bench all``: every suite in turn, one JSON of all their records, each naming its suite."""

from __future__ import annotations

import json

from hlemu.bench import suites
from hlemu.bench.records import Record
from hlemu.cli import main


def test_bench_all_runs_every_suite_and_writes_one_json(tmp_path, monkeypatch, capsys):
    ran = []

    def fake(name):
        def run(args, say):
            ran.append((name, args.quick))
            return [Record(f"{name}_work", "variant", 1.5, "us")]
        return run

    # ipc runs for real (quick: a second): the others are stand-ins, so the test stays short
    for name in [n for n in suites.BENCH_SUITES if n != "ipc"]:
        monkeypatch.setitem(suites.BENCH_SUITES, name, fake(name))
    out = tmp_path / "all.json"
    assert main(["bench", "all", "--quick", "--json", str(out)]) == 0
    assert [name for name, _ in ran] == [n for n in suites.BENCH_SUITES if n != "ipc"]
    assert all(quick for _, quick in ran)
    records = json.loads(out.read_text())
    seen = {r["suite"] for r in records}
    assert seen == set(suites.BENCH_SUITES)
    real = [r for r in records if r["suite"] == "ipc"]
    assert {(r["workload"], r["variant"]) for r in real} >= {("ipc_roundtrip", "semifastmem")}
    shown = capsys.readouterr()
    assert "== bench memory" in shown.err and "ipc_roundtrip" in shown.out


def test_one_suite_still_writes_its_own_records_only(tmp_path, monkeypatch):
    monkeypatch.setitem(suites.BENCH_SUITES, "gpu", lambda args, say: [Record("gpu_quads", "x", 2.0, "frames/s")])
    out = tmp_path / "gpu.json"
    assert main(["bench", "gpu", "--quick", "--json", str(out)]) == 0
    assert [r["workload"] for r in json.loads(out.read_text())] == ["gpu_quads"]
