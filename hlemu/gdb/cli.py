"""``hlemu gdb`` and ``hlemu run --gdb PORT``: the command-line faces of the GDB stub."""

from __future__ import annotations

import argparse
import sys

DEFAULT_PORT = 2345


def add_parser(sub: argparse._SubParsersAction) -> None:
    from hlemu.options import CFG_HELP, SDMC_HELP, cfg_setting, sdmc_folder

    gdb = sub.add_parser(
        "gdb", help="load programs stopped before their first instruction and serve gdb (remote protocol)",
        description="Load each PROGRAM (an ELF or .3dsx file, or a bundled program's name) as a process, "
                    "stopped before its first instruction, and serve the GDB remote protocol on HOST:PORT "
                    "(one client at a time). Connect with gdb-multiarch: 'target extended-remote :PORT'. "
                    "The first process is attached; the others can be attached with 'attach PID' "
                    "(pids as 'info os processes' lists them); gdb's 'run' starts a program again as a new "
                    "process (with no PROGRAM, after 'set remote exec-file PROGRAM'). All-stop: when one "
                    "thread stops, every process stops. See docs/gdb.md.")
    gdb.add_argument("programs", nargs="*", metavar="PROGRAM")
    gdb.add_argument("--port", type=int, default=DEFAULT_PORT,
                     help=f"TCP port (default {DEFAULT_PORT}; 0: any free one)")
    gdb.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, loopback only)")
    gdb.add_argument("--backend", default="auto", choices=("auto", "fastmem", "semifastmem", "slowmem"),
                     help="memory backend (default: auto)")
    gdb.add_argument("--sdmc", type=sdmc_folder, metavar="DIR", help=SDMC_HELP)
    gdb.add_argument("--cfg", type=cfg_setting, action="append", default=[], metavar="KEY=VALUE", help=CFG_HELP)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _emulator(programs: list[str], backend: str, sdmc: object, cfg: dict, quantum: int = 20_000):  # noqa: ANN202
    from kernel.api import Emulator

    emu = Emulator(backend=backend, sdmc=sdmc, cfg=cfg, quantum_blocks=quantum)  # type: ignore[arg-type]
    try:
        for program in programs:
            emu.spawn(program)
    except BaseException:
        emu.close()
        raise
    return emu


def _serve(emu: object, host: str, port: int, on_disconnect: str, start_running: bool) -> int:
    from hlemu.gdb.server import GdbServer
    from hlemu.gdb.target import Target

    target = Target(emu)  # type: ignore[arg-type]
    procs = target.processes()
    if not start_running and procs:
        target.attach(procs[0].pid)
    try:
        server = GdbServer(target, host, port, on_disconnect=on_disconnect, start_running=start_running, say=_say)
    except OSError as exc:
        _say(f"hlemu: cannot listen on {host}:{port}: {exc.strerror or exc}")
        return 2
    listing = ", ".join(f"{p.name} (gdb pid {p.pid + 1})" for p in procs) or "none yet (gdb's run starts one)"
    _say(f"hlemu gdb: listening on {server.host}:{server.port} for gdb-multiarch "
         f"('target extended-remote {server.host}:{server.port}'); processes: {listing}")
    reason = server.serve()
    _say(f"hlemu gdb: {reason}")
    ended = [p for p in target.processes() if not p.alive]
    if reason in ("all exited", "detached") and len(ended) == len(procs):
        if any(p.crash for p in procs):
            return 3
        codes = [p.exit_code or 0 for p in procs]
        return codes[0] & 0xFF if len(codes) == 1 else (0 if not any(codes) else 1)
    return 0


def run(args: argparse.Namespace) -> int:
    """``hlemu gdb``: serve until the client kills, detaches (then the guests run to their end)
    or disconnects (the guests stay stopped and the command ends)."""
    from hlemu.loaders import LoaderError

    try:
        emu = _emulator(args.programs, args.backend, args.sdmc, dict(args.cfg))
    except (LoaderError, ValueError, OSError) as exc:
        _say(f"hlemu: {exc}")
        return 2
    try:
        return _serve(emu, args.host, args.port, "stop", start_running=False)
    finally:
        emu.close()


def run_with_gdb(args: argparse.Namespace) -> int:
    """``hlemu run --gdb PORT``: the guests run at once; gdb may connect at any time (the
    guests stop for it), and they run on when it disconnects, until every process ends."""
    from hlemu.loaders import LoaderError
    from hlemu.run import DEMO

    try:
        emu = _emulator(list(args.programs) or list(DEMO), args.backend, args.sdmc, dict(args.cfg), args.quantum)
    except (LoaderError, ValueError, OSError) as exc:
        _say(f"hlemu: {exc}")
        return 2
    try:
        return _serve(emu, "127.0.0.1", args.gdb, "run", start_running=True)
    finally:
        emu.close()
