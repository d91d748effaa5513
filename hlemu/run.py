"""``hlemu run``: load programs as processes, run them to the end, report.

The kernel lives in the top-level ``kernel`` package; this module is the
command's glue and is imported only when the command runs.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from hlemu.guest import BIN_DIR, input_path, inputs, program_path, programs
from hlemu.text import counted

if TYPE_CHECKING:
    from kernel.kernel import Kernel, RunResult
    from kernel.process import Process

# A service, its client, the framebuffer demo and the text console (as a 3DSX, the homebrew
# format); all exit 0. The console runs first after each VBlank (a higher priority than fb's),
# so a frame's picture has fb's bars on the top screen and the console on the bottom one.
DEMO = ("ipc_server", "ipc_client", "fb", "console.3dsx")

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_CRASH, EXIT_DEADLOCK, EXIT_LIMIT = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command Ctrl-C ended
# hlemu's own statuses. A single program's status passes through, except one that would read
# as one of these: that comes out as 1 (the summary line names the real one), so 2-5 and 130
# always mean hlemu's verdict, never a guest's exit(3).
HLEMU_STATUSES = frozenset({EXIT_USAGE, EXIT_CRASH, EXIT_DEADLOCK, EXIT_LIMIT, EXIT_INTERRUPTED})
EXIT_CODES_HELP = """\
exit status (2-5 and 130 are hlemu's own; a guest's status never reads as one of them):
  0    every guest exited with status 0, or --frames N was reached with no guest crashed
  N    with one program: its exit status (mod 256), unless that is 2, 3, 4, 5 or 130: then 1
  1    a guest exited with a non-zero status (with several programs: any of them); the
       last line ("hlemu: all exited; NAME: exited (N), ...") has every process's status
  2    usage error, or a program that cannot be loaded
  3    a guest crashed (data/prefetch abort, undefined instruction, svcBreak)
  4    deadlock: every remaining thread waits forever
  5    --max-instructions reached before the guests ended
  130  stopped by Ctrl-C (the summary, --stats, --maps and --screenshot still come)"""


def resolve(name: str) -> Path:
    """A file path, or the name of a bundled program: ``hello`` (its ELF), ``hello.elf`` or
    ``hello.3dsx`` (its 3DSX twin)."""
    path = Path(name)
    if path.exists():
        return path
    twin = BIN_DIR / name
    if name.endswith(".3dsx") and "/" not in name and twin.is_file():
        return twin
    try:
        return program_path(name)
    except FileNotFoundError:
        from hlemu.loaders import LoaderError  # (here: the loaders pull in numba, and the CLI's help must not)

        raise LoaderError(f"{name}: no such file, and not a bundled program ({', '.join(programs())}, "
                          f"or NAME.3dsx)") from None


def resolve_input(name: str) -> Path:
    """An input script's path, or the name of a bundled one (``pad.txt``, ``pad``)."""
    path = Path(name)
    if path.is_file():
        return path
    if path.is_dir():
        raise ValueError(f"--input {name}: is a folder")
    try:
        return input_path(name)
    except FileNotFoundError:
        raise ValueError(f"--input {name}: no such file, and not a bundled input script "
                         f"({', '.join(inputs())})") from None


def _read_input_script(name: str) -> str:
    path = resolve_input(name)
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"--input {name}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def load_input_script(name: str) -> list[tuple[int, int, tuple[int, int]]]:
    """Find, read and parse ``--input``'s pad lines; any problem is a ValueError naming the
    option and file."""
    return load_input(name)[0]


def load_input(name: str) -> tuple[list[tuple[int, int, tuple[int, int]]], list[tuple[int, Any]]]:
    """``--input``'s pad presses and software-keyboard answers (:func:`parse_keyboard_answers`)."""
    text = _read_input_script(name)
    try:
        return parse_input_script(text), parse_keyboard_answers(text)
    except ValueError as exc:
        raise ValueError(f"--input {name}: {exc}") from None


# A keyboard line: a frame, then TEXT or CANCEL (any case), then the rest.
_KEYBOARD_LINE = re.compile(r"(\S+)\s+(TEXT|CANCEL)(.*)$", re.IGNORECASE)


def _keyboard_line(line: str) -> re.Match[str] | None:
    return _KEYBOARD_LINE.match(line)


def parse_keyboard_answers(text: str) -> list[tuple[int, Any]]:
    r"""Software-keyboard answers by frame: ``FRAME TEXT "..." [LEFT|MIDDLE|RIGHT]`` (the text is
    a JSON string: ``\"`` and ``\\`` escaped, ``\n``, ``\uXXXX``; it is submitted with the
    RIGHT (OK) button unless another is named) and ``FRAME CANCEL`` (the left button, no text).
    Each is queued at the start of its frame; keyboards take queued answers in order. ``#``
    starts a comment outside the quotes. Sorted by frame (stable).

    >>> [(f, a.text, a.button) for f, a in parse_keyboard_answers('0 TEXT "Ada"\n5 CANCEL # no\n9 TEXT "#1" MIDDLE')]
    [(0, 'Ada', 2), (5, '', 0), (9, '#1', 1)]
    """
    import json

    from kernel.applets.swkbd import LEFT, MIDDLE, RIGHT, KeyboardAnswer

    buttons = {"LEFT": LEFT, "MIDDLE": MIDDLE, "RIGHT": RIGHT}
    answers = []
    for number, raw in enumerate(text.splitlines(), 1):
        match = _keyboard_line(raw.strip())
        if match is None:
            continue
        frame_word, word, rest = match.groups()
        rest = rest.strip()
        try:
            frame = int(frame_word)
        except ValueError:
            raise ValueError(f"input script line {number}: {frame_word!r} is not a frame number") from None
        if word.upper() == "CANCEL":
            if rest.split("#", 1)[0].strip():
                raise ValueError(f"input script line {number}: CANCEL takes nothing after it")
            answers.append((frame, KeyboardAnswer.cancel()))
            continue
        try:
            typed, end = json.JSONDecoder().raw_decode(rest)
        except json.JSONDecodeError:
            typed, end = None, 0
        if not isinstance(typed, str):
            raise ValueError(f'input script line {number}: TEXT wants a quoted string, e.g. TEXT "hello"')
        tail = rest[end:].split("#", 1)[0].split()
        if len(tail) > 1 or (tail and tail[0].upper() not in buttons):
            raise ValueError(f"input script line {number}: after TEXT's string only LEFT, MIDDLE or RIGHT")
        answers.append((frame, KeyboardAnswer(typed, buttons[tail[0].upper()] if tail else RIGHT)))
    return sorted(answers, key=lambda a: a[0])


def parse_input_script(text: str) -> list[tuple[int, int, tuple[int, int]]]:
    r"""Pad presses by frame: lines ``FRAME KEY[+KEY...]`` (``none`` releases everything,
    ``CPAD=x,y`` moves the circle pad), ``#`` comments. Sorted by frame. Keyboard lines
    (``FRAME TEXT ...``, ``FRAME CANCEL``) are :func:`parse_keyboard_answers`'s and skipped here.

    >>> parse_input_script("0 A\n30 RIGHT+B  # run\n60 none")
    [(0, 1, (0, 0)), (30, 18, (0, 0)), (60, 0, (0, 0))]
    """
    from kernel.services.hid import KEYS

    events = []
    for number, line in enumerate(text.splitlines(), 1):
        if _keyboard_line(line.strip()):
            continue
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 1)
        try:
            frame = int(parts[0])
        except ValueError:
            raise ValueError(f"input script line {number}: {parts[0]!r} is not a frame number") from None
        buttons, circle = 0, (0, 0)
        for key in (parts[1] if len(parts) > 1 else "none").upper().replace(" ", "").split("+"):
            if key == "NONE":
                continue
            if key.startswith("CPAD="):
                try:
                    x, y = (int(v) for v in key[5:].split(","))
                except ValueError:
                    raise ValueError(f"input script line {number}: CPAD=x,y expected") from None
                circle = (max(-156, min(156, x)), max(-156, min(156, y)))
            elif key in KEYS:
                buttons |= KEYS[key]
            else:
                raise ValueError(f"input script line {number}: unknown key {key!r} (have {', '.join(KEYS)})")
        events.append((frame, buttons, circle))
    return sorted(events, key=lambda e: e[0])


@dataclass
class RunOptions:
    programs: list[str]
    backend: str = "auto"
    host_page_size: int | None = None
    max_instructions: int | None = None
    trace_svc: bool = False
    maps: bool = False
    stats: bool = False
    quantum_blocks: int = 20_000
    frames: int | None = None
    screenshot: str | None = None
    input_script: str | None = None
    sdmc: str | None = None  # the host folder that is the SD card (None: the per-user default)
    trace_ipc: bool = False  # print each IPC request and its reply as the kernel decodes them
    save_state: str | None = None  # write the machine here where the run stops
    load_state: str | None = None  # start from this state instead of spawning (programs, if named, must match)
    record: str | None = None  # write an input movie of this run here
    replay: str | None = None  # play this input movie into the run
    cfg: dict[str, object] = field(default_factory=dict)  # console settings, as --cfg KEY=VALUE gives them


def check_files(opts: RunOptions) -> tuple[list[Path], list[tuple[int, int, tuple[int, int]]],
                                           list[tuple[int, Any]]]:
    """Everything about files that can fail, before any guest runs: the programs exist, the
    input script reads and parses (pad presses, keyboard answers), the screenshot can be
    written. ValueError (LoaderError
    for programs) with a message that names the option."""
    from hlemu.images import check_writable

    named = opts.programs or ([] if opts.load_state else list(DEMO))
    paths = [resolve(n) for n in named]
    events, answers = load_input(opts.input_script) if opts.input_script else ([], [])
    if opts.screenshot:
        try:
            check_writable(opts.screenshot)
        except ValueError as exc:
            raise ValueError(f"--screenshot {exc}") from None
    return paths, events, answers


def run_programs(opts: RunOptions, out: TextIO | None = None) -> int:
    from hlemu.loaders import LoaderError
    from kernel.api.sigint import stop_on_sigint
    from kernel.kernel import Kernel

    out = out or sys.stdout  # looked up now: a caller (or pytest) may have replaced it
    try:
        paths, events, answers = check_files(opts)
    except ValueError as exc:
        print(f"hlemu: {exc}", file=sys.stderr)
        return EXIT_USAGE

    def emit(process: Process, line: str) -> None:
        print(f"[{process.name}:{process.pid}] {line}", file=out, flush=True)

    from kernel.services.cfg import settings_from

    try:
        settings = settings_from(opts.cfg)
    except ValueError as exc:
        print(f"hlemu: --cfg {exc}", file=sys.stderr)
        return EXIT_USAGE
    from kernel import state

    loaded = None
    if opts.load_state:
        try:
            loaded = state.read(opts.load_state)
        except state.StateError as exc:
            print(f"hlemu: --load-state {opts.load_state}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    quantum = opts.quantum_blocks if loaded is None else int(loaded.meta.get("quantum_blocks") or 0) or 20_000
    kernel = Kernel(backend=opts.backend, host_page_size=opts.host_page_size, quantum_blocks=quantum,
                    output=emit, trace_svc=opts.trace_svc, sdmc_root=opts.sdmc, trace_ipc=opts.trace_ipc)
    kernel.cfg.settings = settings
    try:
        if loaded is not None:
            try:
                _check_programs(loaded.meta, paths)
                state.restore_into(kernel, loaded)
            except state.StateError as exc:
                print(f"hlemu: --load-state {opts.load_state}: {exc}", file=sys.stderr)
                return EXIT_USAGE
        for path in paths if loaded is None else []:
            try:
                kernel.spawn(path)
            except LoaderError as exc:
                print(f"hlemu: {exc}", file=sys.stderr)
                return EXIT_USAGE
        recorder = None
        try:
            from kernel.state.movie import Movie, MoviePlayer, MovieRecorder, file_sha256

            start_sha = None if opts.load_state is None else file_sha256(opts.load_state)
            if opts.record:  # installed first: a player (and --input) go before it, it sees what they set
                recorder = MovieRecorder(kernel, {"kind": "power-on"} if start_sha is None
                                         else {"kind": "state", "sha256": start_sha})
            if opts.replay:
                MoviePlayer(kernel, Movie.load(opts.replay), start_sha)  # a VBlank listener from now on
        except state.StateError as exc:
            print(f"hlemu: --replay {opts.replay}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if events:
            _replay_input(kernel, events)
        if answers:
            queue_keyboard_answers(kernel, answers)
        display = kernel.display
        frames = None if opts.frames is None else display.frame + opts.frames  # counted from this run's start
        started = time.perf_counter()
        with stop_on_sigint(lambda: _stop_running(kernel)) as ctrl_c:
            def until() -> bool:
                return ctrl_c.interrupted or (frames is not None and display.frame >= frames)

            result = kernel.run(max_instructions=opts.max_instructions, until=until)
        seconds = time.perf_counter() - started
        if ctrl_c.interrupted:
            result.reason = "interrupted (Ctrl-C)"
        elif result.reason == "condition met":  # the only condition here is --frames
            result.reason = "frames done"
        if opts.screenshot:
            display.screenshot(opts.screenshot)
            print(f"hlemu: frame {display.frame} written to {opts.screenshot}", file=out)
        if opts.maps:
            print_maps(kernel, out)
        if opts.stats:
            print_stats(kernel, result, seconds, out)
        if recorder is not None:
            recorder.stop().save(str(opts.record))
            print(f"hlemu: input movie written to {opts.record} (frames up to {display.frame})", file=out)
        if opts.save_state:
            try:
                size = state.save(kernel, opts.save_state)
            except (state.StateError, OSError) as exc:
                print(f"hlemu: --save-state {opts.save_state}: {exc}", file=sys.stderr)
                return EXIT_USAGE
            print(f"hlemu: state saved to {opts.save_state} ({size:,} bytes; frame {display.frame}, "
                  f"{kernel.instructions:,} instructions)", file=out)
        status = exit_status(kernel, result, out)  # prints the summary line
        return EXIT_INTERRUPTED if ctrl_c.interrupted else status
    finally:
        kernel.close()


def _check_programs(meta: dict, paths: list[Path]) -> None:
    """With --load-state, programs named on the command line must be the state's (by image)."""
    if not paths:
        return
    from hlemu.loaders import load_image
    from kernel.kernel import image_digest
    from kernel.state import StateError

    have = sorted(p.get("image_sha256", "") for p in meta.get("programs", []) if isinstance(p, dict))
    want = sorted(image_digest(load_image(path)) for path in paths)
    if have != want:
        names = ", ".join(str(p.get("name")) for p in meta.get("programs", []) if isinstance(p, dict))
        raise StateError(f"the state is of other programs ({names}), not of {', '.join(p.name for p in paths)}")


def _stop_running(kernel: Kernel) -> None:
    """From the Ctrl-C watcher thread: halt the running CPU before its next block (the one
    scheduler call another thread may make); the run loop then sees the flag and returns."""
    kernel.scheduler.halt()


def _replay_input(kernel: Kernel, events: list[tuple[int, int, tuple[int, int]]]) -> None:
    """Set the pad from the script at the start of each frame it names."""
    pending = list(events)

    def apply(frame: int) -> None:
        while pending and pending[0][0] <= frame:
            _, buttons, circle = pending.pop(0)
            kernel.hid.pad.buttons, kernel.hid.pad.circle = buttons, circle

    apply(0)
    kernel.display.vblank_listeners.insert(0, apply)  # before hid samples the pad


def queue_keyboard_answers(kernel: Kernel, answers: list[tuple[int, Any]]) -> None:
    """Queue each software-keyboard answer for the keyboard (``kernel.apt.keyboard``) at the
    start of the frame it names."""
    pending = list(answers)

    def apply(frame: int) -> None:
        while pending and pending[0][0] <= frame:
            kernel.apt.keyboard.queue(pending.pop(0)[1])

    apply(0)
    kernel.display.vblank_listeners.insert(0, apply)


def exit_status(kernel: Kernel, result: RunResult, out: TextIO) -> int:
    processes = list(kernel.processes.values())
    summary = ", ".join(f"{p.name}: {p.status}" for p in processes)
    print(f"hlemu: {result.reason}; {summary}", file=out)
    if any(p.crash for p in processes):
        return EXIT_CRASH
    if result.reason == "deadlock":
        return EXIT_DEADLOCK
    if result.reason == "instruction limit":
        return EXIT_LIMIT
    if result.reason == "frames done":  # --frames reached: the guests were fine
        return EXIT_OK
    codes = [p.exit_code or 0 for p in processes]
    if len(codes) == 1:
        code = codes[0] & 0xFF
        return EXIT_SOME_FAILED if code in HLEMU_STATUSES else code
    return EXIT_SOME_FAILED if any(codes) else EXIT_OK


def print_maps(kernel: Kernel, out: TextIO) -> None:
    for process in kernel.processes.values():
        print(f"memory map of {process.describe()} (as QueryMemory reports it):", file=out)
        for info in process.space.regions():
            print(f"  {info}  ({info.size // 1024} KiB)", file=out)


def print_stats(kernel: Kernel, result: RunResult, seconds: float, out: TextIO) -> None:
    header = f"{'pid':>4}  {'name':<10} {'status':<12} {'instructions':>13} {'svcs':>7} {'switches':>8}  faults"
    print(header, file=out)
    for p in kernel.processes.values():
        faults = ", ".join(f"{k} {v}" for k, v in p.space.faults.totals().items() if v) or "none"
        print(f"{p.pid:>4}  {p.name:<10} {p.status:<12} {p.cpu.instructions:>13,} {p.stats.svcs:>7,} "
              f"{p.stats.context_switches:>8,}  {faults}", file=out)
    mips = result.instructions / seconds / 1e6 if seconds > 0 else 0.0
    print(f"total: {result.instructions:,} instructions, {result.ticks:,} guest ticks, "
          f"{counted(kernel.context_switches, 'context switch', 'context switches')}, {seconds:.3f} s "
          f"({mips:.1f} MIPS), "
          f"backend {kernel.memory.choice}", file=out)
    if kernel.cpu_config.backend == "slowmem":  # every guest data access was a slow-path call
        reads = sum(p.cpu.data_accesses[0] for p in kernel.processes.values())
        writes = sum(p.cpu.data_accesses[1] for p in kernel.processes.values())
        rate = (reads + writes) / seconds / 1e6 if seconds > 0 else 0.0
        print(f"slowmem data accesses: {reads:,} reads, {writes:,} writes through the "
              f"{kernel.cpu_config.slow_path} slow path ({rate:.2f} M/s)", file=out)
