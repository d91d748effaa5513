"""What a benchmark said while it ran: workload headings, each followed by its variants."""

from __future__ import annotations


def progress_variants(stderr: str) -> dict[str, list[str]]:
    """``{"copy_64k": ["numpy", "slowmem", ...]}`` from the ``workload`` / ``  variant: figure`` lines."""
    said: dict[str, list[str]] = {}
    workload = ""
    for line in stderr.splitlines():
        if line.startswith("  ") and ": " in line and workload:
            said[workload].append(line.strip().split(":")[0])
        elif line and not line.startswith(" ") and " " not in line:
            workload = line
            said[workload] = []
    return said


def record_variants(records: list[dict]) -> dict[str, list[str]]:
    """The same, from the JSON records, in their order."""
    got: dict[str, list[str]] = {}
    for r in records:
        got.setdefault(r["workload"], []).append(r["variant"])
    return got
