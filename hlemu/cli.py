"""The ``hlemu`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from hlemu import __version__
from hlemu.options import (
    CFG_HELP,
    MEMORY_BACKENDS,
    SDMC_HELP,
    cfg_setting,
    count,
    host_page_size,
    sdmc_folder,
)

FIRST_STEPS = """\
first steps:
  hlemu run               the demo in the terminal: four guest processes, their output
  hlemu gui               the demo in the window (F1: the pad's keys)
  hlemu run hello         one bundled program ('hlemu run --help' lists them and the exit statuses)
  hlemu new NAME          a program of your own in C; then 'hlemu build NAME'
  hlemu gdb PROGRAM       debug a program with gdb-multiarch

Run 'hlemu COMMAND --help' for a command's options; README.md and docs/ for the rest."""

BACKEND_HELP = ("memory backend (default: auto = fastmem when the host allows it); fastmem_trap: the "
                "kernel's host-side accesses run fastmem with no per-page check, protected pages trap in "
                "the host MMU (needs cc; guest code on the CPU runs fastmem)")


def _add_memory_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", default="auto", choices=MEMORY_BACKENDS, help=BACKEND_HELP)
    parser.add_argument("--host-page-size", type=host_page_size, default=None, metavar="BYTES",
                        help="decide the backend as if the host page size were BYTES (e.g. 16384)")


def _add_console_options(parser: argparse.ArgumentParser) -> None:
    """The console the guests run on: its SD card and its settings (run, repl and gui alike)."""
    parser.add_argument("--sdmc", type=sdmc_folder, metavar="DIR", help=SDMC_HELP)
    parser.add_argument("--cfg", type=cfg_setting, action="append", default=[], metavar="KEY=VALUE", help=CFG_HELP)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hlemu", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run Nintendo 3DS homebrew and programs of your own on an emulated 3DS-style system\n"
                    "(its kernel rewritten in Python), in a window that is also a debugger, or in the terminal.",
        epilog=FIRST_STEPS)
    parser.add_argument("--version", action="version", version=f"hlemu {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the emulator decides")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = sub.add_parser("info", help="show the host, the memory backend decision and physical memory; "
                                       "or what a program file holds",
                          description="With no PROGRAM: the host page size, the memory backend decision and "
                                      "physical memory. With PROGRAM (an ELF or .3dsx file, or a bundled "
                                      "program's name): its format, entry point and segments (and for a 3DSX "
                                      "its relocations, SMDH title and RomFS).")
    info.add_argument("program", nargs="?", metavar="PROGRAM")
    _add_memory_options(info)

    from hlemu.run import DEMO, EXIT_CODES_HELP

    run = sub.add_parser(
        "run", help="run guest programs as processes until they end",
        description="Load each PROGRAM (a 3DS homebrew .3dsx, an ARM ELF, or the name of a bundled program) as its own "
                    f"process and run them all to completion. With no PROGRAM: the demo ({', '.join(DEMO)}).",
        epilog=f"{_bundled_programs_help()}\n\n{EXIT_CODES_HELP}", formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("programs", nargs="*", metavar="PROGRAM")
    _add_memory_options(run)
    run.add_argument("--max-instructions", type=count, metavar="N", help="stop after N guest instructions in all")
    run.add_argument("--trace-svc", action="store_true", help="print every SVC with its arguments and results")
    run.add_argument("--trace-ipc", action="store_true",
                     help="print each IPC request as 'service command-name(args) -> result'")
    run.add_argument("--maps", action="store_true", help="print each process's memory map at exit")
    run.add_argument("--stats", action="store_true",
                     help="print instructions, SVCs, context switches and faults per process")
    run.add_argument("--quantum", type=count, default=20_000, metavar="BLOCKS",
                     help="translated blocks a thread runs before equal-priority threads get a turn")
    run.add_argument("--script", metavar="FILE.py",
                     help="run a Python script with `emu` (the scripting API) instead of running to the end")
    run.add_argument("--frames", type=count, metavar="N", help="stop after N displayed frames (60 per guest second)")
    run.add_argument("--screenshot", metavar="FILE",
                     help="write both screens to FILE when the run stops (.png, .jpg or .bmp)")
    _add_console_options(run)
    run.add_argument("--input", metavar="FILE",
                     help="replay pad presses: lines 'FRAME KEY[+KEY...]' (A B X Y L R START SELECT "
                          "UP DOWN LEFT RIGHT, CPAD=x,y, none), and answer the software keyboard: "
                          "'FRAME TEXT \"...\" [LEFT|MIDDLE|RIGHT]' (OK by default) or 'FRAME CANCEL', "
                          "queued at FRAME and taken in order (none queued: the keyboard is cancelled, "
                          "or a one-button one confirms its initial text); FILE may name a bundled script (pad.txt)")

    run.add_argument("--save-state", metavar="FILE",
                     help="write the whole machine to FILE where the run stops (end of --frames, "
                          "--max-instructions, or the guests' end); docs/save-states.md")
    run.add_argument("--load-state", metavar="FILE",
                     help="start from a saved state instead of spawning programs (PROGRAMs, if named, must be "
                          "the state's); --frames and --max-instructions count from there, the state's "
                          "--quantum applies. A damaged or foreign FILE exits 2")

    run.add_argument("--record", metavar="FILE",
                     help="write an input movie: the pad, circle pad and touch point at every frame (with "
                          "--input or --replay feeding them); replay it with --replay")
    run.add_argument("--replay", metavar="FILE",
                     help="play an input movie into the run (bit-exact; from power-on, or with --load-state "
                          "from the state it was recorded from); other programs or another state exit 2")

    repl = sub.add_parser("repl", help="a Python shell with the emulator as `emu` and the programs spawned")
    repl.add_argument("programs", nargs="*", metavar="PROGRAM")
    _add_memory_options(repl)
    _add_console_options(repl)
    repl.add_argument("--plain", action="store_true", help="use the standard Python shell, not IPython")

    gui = sub.add_parser(
        "gui", help="the window: screens, input, and the debugger (processes, memory maps, page tables...)",
        description="Open the emulator window on each PROGRAM (a .3dsx, an ARM ELF or a bundled program's name); "
                    f"with no PROGRAM, the demo ({', '.join(DEMO)}). Keys: F5 run, F6 pause, F10 step, "
                    "F1 the pad's key map.")
    gui.add_argument("programs", nargs="*", metavar="PROGRAM")
    _add_memory_options(gui)
    _add_console_options(gui)
    gui.add_argument("--keymap", metavar="FILE.json",
                     help="button -> Qt key name, e.g. {\"A\": \"Key_X\"} (default: ~/.config/hlemu/keys.json "
                          "if present, else the built-in map; F1 shows it)")
    gui.add_argument("--frames", type=count, metavar="N", help="run N frames first (with --screenshot: then capture)")
    gui.add_argument("--screenshot", metavar="FILE",
                     help="headless: run --frames N (default 60) unthrottled, save the whole window to FILE "
                          "(.png, .jpg or .bmp), quit")
    gui.add_argument("--paused", action="store_true", help="open paused (F5 runs)")
    gui.add_argument("--record", metavar="FILE", help="write an input movie of the session to FILE when the "
                     "window closes (rewinding and loading states are off meanwhile); docs/save-states.md")
    gui.add_argument("--replay", metavar="FILE", help="play an input movie (recorded from power-on, with these "
                     "programs) into the session; an unreadable one exits 2, one of other programs is "
                     "refused in the window")
    gui.add_argument("--unthrottled", action="store_true", help="do not limit to 60 frames per second")
    gui.add_argument("--scale", type=int, default=0, choices=(0, 1, 2, 3),
                     help="screen scale (0: the largest that fits, the default)")

    # Your own programs (hlemu/scaffold): `hlemu new NAME`, `hlemu build [DIR]`.
    new = sub.add_parser("new", help="make a folder with a guest program of your own, ready to build",
                         description="Make the folder NAME (its last part is the program's name) with main.c, "
                                     "hlemu.toml (the build settings), a README and a .gitignore; then "
                                     "'hlemu build NAME' builds it (docs/guest-programs.md).")
    new.add_argument("folder", metavar="NAME")
    build = sub.add_parser("build", help="compile a program folder with the hlemu SDK (an ELF and a .3dsx)",
                           description="Compile the program in DIR (default: here), as its hlemu.toml says, with "
                                       "Debian's arm-none-eabi-gcc and newlib and the hlemu SDK into "
                                       "DIR/build/NAME.elf (with debug info) and DIR/build/NAME.3dsx.",
                           epilog="exit status: 0 built; 1 the compiler or linker failed (its messages are shown); "
                                  "2 no hlemu.toml, a bad setting, or no toolchain (the message names the packages)")
    build.add_argument("folder", nargs="?", default=".", metavar="DIR")

    bench = sub.add_parser("bench", help="run a benchmark (JSON records, ratios to a same-run baseline)")
    bench_sub = bench.add_subparsers(dest="suite", metavar="SUITE", required=True)
    mem = bench_sub.add_parser("memory", help="slowmem, semifastmem, fastmem and fastmem_trap against raw numpy")
    mem.add_argument("--json", metavar="FILE", help="also write the records to FILE")
    mem.add_argument("--reads", type=count, default=4_000_000, help="random reads per timed run (default 4M)")
    mem.add_argument("--copies", type=count, default=2_000, help="64 KiB copies per timed run (default 2000)")
    mem.add_argument("--repeats", type=count, default=5, help="timed runs per figure; the best counts")
    mem.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    mem.add_argument("--cold-start", action="store_true",
                     help="also time the first compiled access in fresh interpreters, "
                          "with an empty numba cache and then with the cache")
    ipc = bench_sub.add_parser("ipc", help="request/reply round trips between two guest processes")
    ipc.add_argument("--json", metavar="FILE", help="also write the records to FILE")
    ipc.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    cpu = bench_sub.add_parser("cpu", help="guest code under the kernel against bare Unicorn; SVC and switch costs")
    cpu.add_argument("--json", metavar="FILE", help="also write the records to FILE")
    cpu.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    state_bench = bench_sub.add_parser("state", help="save/load time and size: the demo and 64 MiB of heap, "
                                                     "against copying and compressing the same frames")
    state_bench.add_argument("--json", metavar="FILE", help="also write the records to FILE")
    state_bench.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke test")
    state_bench.add_argument("--backend", choices=("auto", "fastmem", "semifastmem"), default="auto")
    gpu_bench = bench_sub.add_parser("gpu", help="PICA200 frames and pixels per second (textured quads, a 3D "
                                                 "scene) against a numpy fill of the same pixels")
    gpu_bench.add_argument("--json", metavar="FILE", help="also write the records to FILE")
    gpu_bench.add_argument("--quick", action="store_true", help="a small scene and one repeat, for a smoke test")
    gpu_bench.add_argument("--quads", type=count, default=500, help="textured 32x32 quads a frame (default 500)")
    gpu_bench.add_argument("--backend", choices=("auto", "fastmem", "semifastmem"), default="auto")
    gui_bench = bench_sub.add_parser("gui", help="debugger refresh costs with 8 processes x 64 MiB mapped; the "
                                     "demo's MIPS in the window against headless")
    gui_bench.add_argument("--json", metavar="FILE", help="also write the records to FILE")
    gui_bench.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke test")
    all_bench = bench_sub.add_parser("all", help="every suite above in turn, with its defaults; one JSON of all "
                                                 "their records (each with its suite)")
    all_bench.add_argument("--json", metavar="FILE", help="also write every suite's records to FILE")
    all_bench.add_argument("--quick", action="store_true", help="each suite's small sizes, for a smoke test")

    from hlemu.fuzz.cli import add_parser as add_fuzz_parser

    add_fuzz_parser(sub)
    # The GDB stub (hlemu/gdb): `hlemu gdb PROGRAM...` and `hlemu run --gdb PORT`.
    from hlemu.gdb.cli import add_parser as add_gdb_parser

    add_gdb_parser(sub)
    run.add_argument("--gdb", type=int, metavar="PORT",
                     help="also serve the GDB remote protocol on 127.0.0.1:PORT while the guests run (docs/gdb.md)")
    return parser


def _bundled_programs_help() -> str:
    """The bundled programs, wrapped, for ``hlemu run --help``."""
    import textwrap

    from hlemu.guest import programs

    names = ", ".join(programs())
    return "bundled programs (each also as NAME.3dsx):\n" + textwrap.fill(
        names, width=100, initial_indent="  ", subsequent_indent="  ")


def cmd_new(args: argparse.Namespace) -> int:
    """``hlemu new NAME``: a program folder from the templates."""
    from pathlib import Path

    from hlemu.scaffold import ScaffoldError, create

    try:
        folder = create(Path(args.folder))
    except ScaffoldError as exc:
        print(f"hlemu new: {exc}", file=sys.stderr)
        return 2
    print(f"made {folder}/ (main.c, hlemu.toml, README.md); next: hlemu build {folder}")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """``hlemu build [DIR]``: compile it; the compiler's own messages when it fails."""
    from pathlib import Path

    from hlemu.scaffold.build import BuildError, CompileError, build

    try:
        built = build(Path(args.folder))
    except CompileError as exc:
        print(f"{exc.output.rstrip()}\nhlemu build: {exc}", file=sys.stderr)
        return 1
    except BuildError as exc:
        print(f"hlemu build: {exc}", file=sys.stderr)
        return 2
    if built.warnings:
        print(built.warnings.rstrip(), file=sys.stderr)
    for path in (built.elf, built.threedsx):
        print(f"built {_shown(path)} ({path.stat().st_size:,} bytes)")
    return 0


def _shown(path: object) -> str:
    """A path relative to the current folder when it is inside it."""
    from pathlib import Path

    try:
        return str(Path(str(path)).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def cmd_program_info(name: str) -> int:
    """``hlemu info PROGRAM``: what the loader makes of a file."""
    from hlemu.loaders import LoaderError, load_image
    from hlemu.loaders.threedsx import describe_3dsx
    from hlemu.run import resolve

    try:
        path = resolve(name)
        image = load_image(path)
        if image.format == "3dsx":
            print(describe_3dsx(path))
            return 0
    except LoaderError as exc:
        print(f"hlemu: {exc}", file=sys.stderr)
        return 2
    print(f"{path.name}: {image.format.upper()}, {path.stat().st_size} bytes, entry {image.entry:#010x}"
          + (" (Thumb)" if image.entry & 1 else ""))
    for seg in image.segments:
        perm = "".join(c if seg.perm & bit else "-" for c, bit in (("r", 1), ("w", 2), ("x", 4)))
        print(f"  {seg.vaddr:#010x}  {seg.size:#08x}  {perm}  {len(seg.data):#x} bytes from the file")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    import mmap

    from hlemu.memory import BackendError, MemorySystem

    if args.program:
        return cmd_program_info(args.program)

    try:
        system = MemorySystem(backend=args.backend, host_page_size=args.host_page_size)
    except BackendError as exc:
        print(f"hlemu: {exc}", file=sys.stderr)
        return 2
    print(f"host page size:   {mmap.PAGESIZE} bytes"
          + (f" (deciding as if {args.host_page_size})" if args.host_page_size else ""))
    print(f"memory backend:   {system.choice}")
    print("physical memory:")
    for region in system.phys.regions.values():
        print(f"  {region.name:<12} {region.phys_base:#010x}  {region.size >> 20:>3} MiB"
              f"  {system.phys.free_frames(region.name):>6} frames free")
    system.close()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from hlemu.memory import BackendError
    from hlemu.run import EXIT_USAGE, RunOptions, run_programs

    if args.gdb is not None:
        from hlemu.gdb.cli import run_with_gdb

        return run_with_gdb(args)
    if args.script:
        from hlemu.repl import run_script

        ignored = [option for option, value in (
            ("--max-instructions", args.max_instructions), ("--trace-svc", args.trace_svc),
            ("--trace-ipc", args.trace_ipc), ("--maps", args.maps),
            ("--stats", args.stats), ("--quantum", args.quantum != 20_000), ("--frames", args.frames),
            ("--screenshot", args.screenshot), ("--input", args.input)) if value]
        if ignored:  # the script decides how far to run and what to save
            print(f"hlemu: --script cannot be combined with {', '.join(ignored)} (the script runs the guests: "
                  "emu.run(frames=N), emu.screenshot(PATH), emu.set_input(...), emu.on_ipc(print))",
                  file=sys.stderr)
            return 2
        return run_script(args.script, args.programs, args.backend, args.host_page_size, sdmc=args.sdmc,
                          cfg=dict(args.cfg))
    opts = RunOptions(programs=args.programs, backend=args.backend, host_page_size=args.host_page_size,
                      max_instructions=args.max_instructions, trace_svc=args.trace_svc, maps=args.maps,
                      stats=args.stats, quantum_blocks=args.quantum, frames=args.frames,
                      screenshot=args.screenshot, input_script=args.input, sdmc=args.sdmc,
                      trace_ipc=args.trace_ipc, cfg=dict(args.cfg), save_state=args.save_state,
                      load_state=args.load_state, record=args.record, replay=args.replay)
    try:
        return run_programs(opts)
    except (BackendError, ValueError, OSError) as exc:
        print(f"hlemu: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _report(records: list, json_path: str | None) -> int:
    """Print a benchmark's table; write its JSON records when asked."""
    from hlemu.bench.records import format_table, write_json

    print(format_table(records))
    if json_path:
        write_json(records, json_path)
        print(f"wrote {len(records)} records to {json_path}", file=sys.stderr)
    return 0


def _say(msg: str) -> None:
    print(msg, file=sys.stderr)


def cmd_bench(args: argparse.Namespace) -> int:
    """One suite, or (``all``) each in turn: its table as it finishes, then every record in one JSON,
    each record naming its suite."""
    from hlemu.bench.suites import BENCH_SUITES

    if args.suite != "all":
        return _report(BENCH_SUITES[args.suite](args, _say), args.json)
    from hlemu.bench.records import write_json

    everything = []
    for name, run in BENCH_SUITES.items():
        _say(f"== bench {name}")
        records = run(args, _say)
        for record in records:
            record.extra["suite"] = name
        _report(records, None)
        everything += records
    if args.json:
        write_json(everything, args.json)
        print(f"wrote {len(everything)} records of {len(BENCH_SUITES)} suites to {args.json}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The ``hlemu`` command; its exit status. Ctrl-C outside a guest run (while numba compiles,
    say; runs handle it themselves) ends it with status 130 and one line, not a traceback."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("hlemu: interrupted (Ctrl-C)", file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command == "info":
        return cmd_info(args)
    if args.command == "run":
        return cmd_run(args)
    if args.command == "repl":
        from hlemu.repl import start_repl

        return start_repl(args.programs, args.backend, args.host_page_size, plain=args.plain, sdmc=args.sdmc,
                          cfg=dict(args.cfg))
    if args.command == "gui":
        from gui.app import GuiOptions, run_gui

        return run_gui(GuiOptions(args.programs, args.backend, args.host_page_size, args.keymap, args.frames,
                                  args.screenshot, args.paused, args.unthrottled, args.scale, sdmc=args.sdmc,
                                  cfg=dict(args.cfg), record=args.record, replay=args.replay))
    if args.command == "new":
        return cmd_new(args)
    if args.command == "build":
        return cmd_build(args)
    if args.command == "gdb":
        from hlemu.gdb.cli import run as run_gdb

        return run_gdb(args)
    if args.command == "fuzz":
        from hlemu.fuzz.cli import run as run_fuzz

        return run_fuzz(args)
    if args.command == "bench":
        return cmd_bench(args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
