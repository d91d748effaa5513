"""``hlemu fuzz svc|elf|ipc``: run a campaign, show progress, print the summary table."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from hlemu.fuzz.report import Progress, Tally
from hlemu.fuzz.runner import CAMPAIGNS, Campaign, run_campaign
from hlemu.options import count, non_negative, positive_number

EXIT_FAILURES = 1


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """The ``fuzz`` subcommand, added to the ``hlemu`` command's subparsers."""
    fuzz = sub.add_parser(
        "fuzz", help="fuzz the kernel: hostile SVCs, malformed ELFs, hostile IPC (host crashes, hangs, leaks...)",
        description="Run COUNT fuzz cases from SEED, each in a fresh kernel inside a child process, so a host "
                    "crash or a hang is reported with the seed that reproduces it. Case i has seed SEED+i: "
                    "--seed SEED+i --count 1 replays it. Exit status 1 when any case failed.")
    fuzz.add_argument("campaign", choices=CAMPAIGNS,
                      help="svc: random and structured SVCs from several processes; elf: mutated bundled ELFs; "
                           "ipc: hostile requests, replies, descriptors and servers")
    fuzz.add_argument("--count", type=count, default=100, metavar="N", help="cases to run (default 100)")
    fuzz.add_argument("--seed", type=non_negative, default=None, metavar="S",
                      help="seed of the first case (default: a random one, printed)")
    fuzz.add_argument("--backend", default="auto", choices=("auto", "fastmem", "semifastmem"),
                      help="memory backend of the fuzzed kernel (default auto)")
    fuzz.add_argument("--processes", type=count, default=4, metavar="P",
                      help="fuzzed guest processes per case, beside the bystander (svc, ipc; default 4)")
    fuzz.add_argument("--svcs", type=count, default=1500, metavar="N",
                      help="SVCs each fuzzed process issues (svc, ipc; default 1500)")
    fuzz.add_argument("--timeout", type=positive_number, default=60.0, metavar="SECONDS",
                      help="wall-time budget of one case before it counts as a hang (default 60)")
    fuzz.add_argument("--jobs", type=count, default=1, metavar="J", help="child processes running cases at once")
    fuzz.add_argument("--max-rss", type=positive_number, default=2048.0, metavar="MB",
                      help="replace a child once its resident memory passes MB (default 2048)")
    fuzz.add_argument("--json", metavar="FILE", help="also write a machine-readable summary to FILE")
    fuzz.add_argument("--quiet", action="store_true", help="no progress bar")
    return fuzz


def case_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"backend": args.backend}
    if args.campaign in ("svc", "ipc"):
        options.update(processes=args.processes, svcs=args.svcs)
    return options


def replay_command(args: argparse.Namespace) -> str:
    parts = ["hlemu fuzz", args.campaign]
    if args.backend != "auto":
        parts.append(f"--backend {args.backend}")
    if args.campaign in ("svc", "ipc"):
        parts.append(f"--processes {args.processes} --svcs {args.svcs}")
    return " ".join(parts)


def run(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    if args.count < 1:
        print("hlemu fuzz: --count must be at least 1", file=sys.stderr)
        return 2
    options = case_options(args)
    tally = Tally(args.campaign, replay=replay_command(args))
    progress = Progress(args.count, enabled=not args.quiet)
    progress.say(f"fuzz {args.campaign}: {args.count} cases from seed {seed} ({tally.replay_line(seed)} "
                 "replays the first)")

    def on_result(result: dict[str, Any]) -> None:
        for new in tally.add(result):
            progress.say(f"FAIL [{new.kind}] seed {result['seed']}: {new.message}\n"
                         f"     replay: {tally.replay_line(result['seed'])}")
        progress.update(tally)

    plan = Campaign(args.campaign, seed, args.count, options, timeout=args.timeout, jobs=args.jobs,
                    max_rss_mb=args.max_rss)
    try:
        run_campaign(plan, on_result)
    except KeyboardInterrupt:
        progress.say("interrupted: the summary covers the cases that finished")
    progress.close(tally)
    print(tally.table())
    if args.json:
        tally.write_json(args.json, {**options, "seed": seed, "count": args.count, "timeout": args.timeout})
        print(f"wrote the summary to {args.json}", file=sys.stderr)
    return EXIT_FAILURES if tally.failed else 0
