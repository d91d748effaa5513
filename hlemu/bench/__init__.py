"""Benchmarks: each writes JSON records ``{workload, variant, value, unit, ...}``
with ratios against a baseline measured in the same run."""
