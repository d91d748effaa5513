"""A campaign's tally: totals, distinct failures with the seed that reproduces each, rates.

>>> t = Tally("svc", replay="hlemu fuzz svc")
>>> _ = t.add({"seed": 5, "svcs": 10, "seconds": 0.5, "failures": [{"kind": "leak", "message": "3 frames at 0x10"}]})
>>> _ = t.add({"seed": 6, "svcs": 10, "seconds": 0.5, "failures": [{"kind": "leak", "message": "4 frames at 0x20"}]})
>>> t.counts["leaks"], len(t.distinct), t.distinct[0].first_seed, t.distinct[0].count
(2, 1, 5, 2)
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

KINDS = {"crash": "host crashes", "escaped": "escaped exceptions", "hang": "hangs", "breach": "breaches",
         "leak": "leaks", "bystander": "bystanders harmed"}
COLUMNS = ("cases", *KINDS.values())
_NUMBER = re.compile(r"0x[0-9a-fA-F]+|\d+")


def signature(kind: str, message: str) -> str:
    """A failure with its numbers taken out: the same defect at other addresses is one entry."""
    return f"{kind}: {_NUMBER.sub('N', message)}"


@dataclass
class Distinct:
    kind: str
    message: str
    first_seed: int
    detail: str
    count: int = 1
    seeds: list[int] = field(default_factory=list)


class Tally:
    def __init__(self, campaign: str, replay: str = "") -> None:
        self.campaign = campaign
        self.replay = replay  # the command line that replays one seed, without --seed/--count
        self.counts = dict.fromkeys(COLUMNS, 0)
        self.refused = 0
        self.svcs = 0
        self.guest_crashes = 0
        self.case_seconds = 0.0
        self.started = time.perf_counter()
        self.distinct: list[Distinct] = []
        self._by_signature: dict[str, Distinct] = {}
        self.failures: list[dict[str, Any]] = []

    def add(self, result: dict[str, Any]) -> list[Distinct]:
        """Count a case; returns the failures never seen before (worth printing at once)."""
        self.counts["cases"] += 1
        self.refused += bool(result.get("refused"))
        self.svcs += int(result.get("svcs", 0))
        self.guest_crashes += int(result.get("guest_crashes", 0))
        self.case_seconds += float(result.get("seconds", 0.0))
        new = []
        for failure in result.get("failures", []):
            kind, message = failure["kind"], failure["message"]
            self.counts[KINDS[kind]] += 1
            self.failures.append({"seed": result["seed"], **failure})
            key = signature(kind, message)
            seen = self._by_signature.get(key)
            if seen is None:
                seen = Distinct(kind, message, result["seed"], failure.get("detail", ""))
                self._by_signature[key] = seen
                self.distinct.append(seen)
                new.append(seen)
            else:
                seen.count += 1
            if len(seen.seeds) < 10:
                seen.seeds.append(result["seed"])
        return new

    @property
    def failed(self) -> bool:
        return any(self.counts[k] for k in KINDS.values())

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def rates(self) -> dict[str, float]:
        wall = max(self.seconds, 1e-9)
        return {"cases_per_s": self.counts["cases"] / wall, "svcs_per_s": self.svcs / wall, "seconds": wall}

    def replay_line(self, seed: int) -> str:
        return f"{self.replay} --seed {seed} --count 1".strip()

    def table(self) -> str:
        rates = self.rates()
        head = " ".join(f"{c:>{max(len(c), 6)}}" for c in COLUMNS)
        row = " ".join(f"{self.counts[c]:>{max(len(c), 6)}}" for c in COLUMNS)
        lines = [f"{self.campaign} campaign: {rates['seconds']:.1f} s, {rates['cases_per_s']:.1f} cases/s"
                 + (f", {self.svcs} SVCs ({rates['svcs_per_s']:.0f}/s)" if self.svcs else "")
                 + (f", {self.refused} refused by the loader" if self.refused else "")
                 + f", {self.guest_crashes} guest crashes (expected: hostile guests fault)", head, row]
        if self.distinct:
            lines.append(f"{len(self.distinct)} distinct failures (first seed; replay: {self.replay} --seed SEED "
                         "--count 1):")
            for d in self.distinct:
                lines.append(f"  [{d.kind}] x{d.count} seed {d.first_seed}: {d.message}")
        return "\n".join(lines)

    def as_json(self, options: dict[str, Any]) -> dict[str, Any]:
        return {"campaign": self.campaign, "options": options, "totals": dict(self.counts), "refused": self.refused,
                "svcs": self.svcs, "guest_crashes": self.guest_crashes, "rates": self.rates(),
                "distinct": [{"kind": d.kind, "message": d.message, "first_seed": d.first_seed, "count": d.count,
                              "seeds": d.seeds, "replay": self.replay_line(d.first_seed), "detail": d.detail}
                             for d in self.distinct],
                "failures": self.failures[:1000]}

    def write_json(self, path: str, options: dict[str, Any]) -> None:
        with open(path, "w") as f:
            json.dump(self.as_json(options), f, indent=2)
            f.write("\n")


class Progress:
    """A one-line progress bar on stderr (rewritten in place on a terminal, a line now and then elsewhere)."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self._last = 0.0
        self._last_percent = -1

    def update(self, tally: Tally, force: bool = False) -> None:
        if not self.enabled:
            return
        done = tally.counts["cases"]
        now = time.perf_counter()
        percent = 100 * done // max(self.total, 1)
        if self.tty and not force and now - self._last < 0.1 and done < self.total:
            return
        if not self.tty and not force and percent < self._last_percent + 10 and now - self._last < 30:
            return
        self._last, self._last_percent = now, percent
        filled = self.WIDTH * done // max(self.total, 1)
        rates = tally.rates()
        bad = " ".join(f"{k.split()[0]} {tally.counts[k]}" for k in KINDS.values() if tally.counts[k])
        line = (f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{self.total} "
                f"{rates['cases_per_s']:.1f} cases/s" + (f" {rates['svcs_per_s']:.0f} SVCs/s" if tally.svcs else "")
                + (f" | {bad}" if bad else ""))
        self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        self.stream.flush()

    def say(self, text: str) -> None:
        """A line above the bar (a new failure)."""
        if self.tty and self.enabled:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self, tally: Tally) -> None:
        self.update(tally, force=True)
        if self.tty and self.enabled:
            self.stream.write("\n")
