"""``hlemu repl`` and ``hlemu run --script``: the scripting API with ``emu`` ready.

The shell is IPython (tab completion on the API comes with it), from the
``repl`` extra; ``--plain`` gives the standard library's ``code.interact``.
Without IPython and without ``--plain``, ``hlemu repl`` says how to get it and
exits with 2, as for any other setup problem, before anything is built.
"""

from __future__ import annotations

import code
import runpy
import sys
import traceback
from pathlib import Path
from typing import Any

# (what to type, what it does); {first} is the first process's name
BANNER_EXAMPLES = [
    ("emu.run(frames=60)", "run 60 frames (or instructions=N, until=lambda: ...)"),
    ('p = emu.process("{first}")', "a process: p.maps(), p.threads, p.faults, p.handles"),
    ("p.disasm(p.threads[0].pc, 8)", "disassemble where a thread is"),
    ("p.watch(0x08000000, 4)", "pause when the guest writes there (see emu.watch_hits)"),
    ("emu.on_ipc(print)", "print every IPC message, decoded"),
]


EXIT_USAGE, EXIT_INTERRUPTED = 2, 130  # as ``hlemu run`` has them


def make_emulator(programs: list[str], backend: str, host_page_size: int | None, echo: bool = True,
                  sdmc: str | None = None, cfg: dict[str, object] | None = None) -> Any:
    """An emulator with ``programs`` spawned, on the SD card folder ``sdmc`` with console
    settings ``cfg`` (as ``Emulator`` takes them). The programs are found first, so a bad name
    costs no emulator; LoaderError, BackendError or ValueError (a setting) say what is wrong."""
    from hlemu.run import resolve
    from kernel.api import Emulator

    paths = [resolve(p) for p in programs]
    emu = Emulator(backend=backend, host_page_size=host_page_size, echo=echo, sdmc=sdmc, cfg=cfg)
    try:
        for path in paths:
            emu.spawn(path)
    except BaseException:
        emu.close()
        raise
    return emu


def _emulator_or_usage_error(programs: list[str], backend: str, host_page_size: int | None,
                             sdmc: str | None = None, cfg: dict[str, object] | None = None) -> Any:
    """``make_emulator``, or None after one line on stderr (a program that will not load, a
    backend the host cannot have, a console setting that does not exist)."""
    from hlemu.loaders import LoaderError
    from hlemu.memory import BackendError

    try:
        return make_emulator(programs, backend, host_page_size, sdmc=sdmc, cfg=cfg)
    except (LoaderError, BackendError, OSError, ValueError) as exc:
        print(f"hlemu: {exc}", file=sys.stderr)
        return None


def namespace_for(emu: Any) -> dict[str, Any]:
    """What a shell on ``emu`` starts with (the REPL, ``--script`` and the GUI console alike)."""
    from kernel.api import Emulator

    return {"emu": emu, "Emulator": Emulator}


def banner(emu: Any) -> str:
    """What the shell says first: the emulator, its processes, and examples whose
    explanations start in one column whatever the first process is called."""
    from hlemu import __version__

    procs = ", ".join(f"{p.name} ({p.pid})" for p in emu.processes) or "none yet (emu.spawn('hello'))"
    first = emu.processes[0].name if emu.processes else "hello"
    examples = [(typed.format(first=first), what) for typed, what in BANNER_EXAMPLES]
    width = max(len(typed) for typed, _ in examples) + 3
    return "\n".join([f"hlemu {__version__}: `emu` is the emulator; memory backend {emu.kernel.memory.choice}",
                      f"processes: {procs}",
                      *(f"  {typed:<{width}}{what}" for typed, what in examples),
                      "help(emu) and help(p) list everything; docs/scripting.md has worked examples."])


def ipython_missing() -> str | None:
    """Why IPython cannot be had, with the command that installs it (None when it can)."""
    try:
        import IPython  # noqa: F401
    except ImportError:
        from hlemu import __file__ as package

        checkout = Path(package).resolve().parents[1]
        install = (f"python3 -m pip install -e '{checkout}[repl]'" if (checkout / "pyproject.toml").is_file()
                   else "python3 -m pip install 'ipython>=8'")
        return (f"IPython is not installed; {install} installs it "
                "(or `hlemu repl --plain` gives Python's own shell)")
    return None


def start_repl(programs: list[str], backend: str = "auto", host_page_size: int | None = None,
               plain: bool = False, sdmc: str | None = None, cfg: dict[str, object] | None = None) -> int:
    missing = None if plain else ipython_missing()
    if missing:
        print(f"hlemu repl: {missing}", file=sys.stderr)
        return EXIT_USAGE
    emu = _emulator_or_usage_error(programs, backend, host_page_size, sdmc, cfg)
    if emu is None:
        return EXIT_USAGE
    namespace = namespace_for(emu)
    try:
        if plain:
            code.interact(banner=banner(emu), local=namespace, exitmsg="")
        else:
            import IPython

            print(banner(emu))
            IPython.start_ipython(argv=["--no-banner", "--no-confirm-exit", "--colors=NoColor"],
                                  user_ns=namespace)
    finally:
        emu.close()
    return 0


def run_script(path: str, programs: list[str], backend: str = "auto", host_page_size: int | None = None,
               sdmc: str | None = None, cfg: dict[str, object] | None = None) -> int:
    """Run ``path`` with ``emu`` in its globals; 0 unless it raises (1), a guest crashed (3),
    or Ctrl-C stopped it (130). A script that cannot be read is a usage error (2), found
    before any emulator is made."""
    problem = _unreadable(path)
    if problem:
        print(f"hlemu: --script {path}: {problem}", file=sys.stderr)
        return EXIT_USAGE
    emu = _emulator_or_usage_error(programs, backend, host_page_size, sdmc, cfg)
    if emu is None:
        return EXIT_USAGE
    try:
        try:
            runpy.run_path(path, init_globals=namespace_for(emu), run_name="__main__")
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 0
        except KeyboardInterrupt as exc:  # emu.run() stopped the guest cleanly first
            print(f"hlemu: interrupted{': ' + str(exc) if str(exc) else ''}", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception:  # noqa: BLE001 - the script's error is the user's to read
            traceback.print_exc()
            return 1
        return 3 if any(p.crash for p in emu.processes) else 0
    finally:
        emu.close()
        sys.stdout.flush()


def _unreadable(path: str) -> str | None:
    """Why ``path`` cannot be run as a script, or None."""
    file = Path(path)
    if not file.exists():
        return "no such file"
    if file.is_dir():
        return "is a folder"
    try:
        file.read_bytes()
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    return None
