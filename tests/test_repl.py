"""``hlemu repl`` and ``hlemu run --script`` driven as a user drives them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hlemu.guest import programs
from tests.processes import interrupt, running
from tests.tiny_elf import SPIN, write_elf


def hlemu(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hlemu", *args], input=stdin, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("plain", [False, True], ids=["ipython", "plain"])
def test_repl_has_emu_ready_with_the_programs_spawned(plain):
    session = "p = emu.process('hello')\nr = emu.run()\nprint('RESULT', r.reason, p.exit_code, p.output[0])\n"
    result = hlemu("repl", "hello", *(["--plain"] if plain else []), stdin=session)
    assert result.returncode == 0, result.stderr
    assert "`emu` is the emulator" in result.stdout + result.stderr  # the banner
    assert "p.disasm(p.threads[0].pc, 8)" in result.stdout + result.stderr
    assert "RESULT all exited 7 Hello from hlemu!" in result.stdout


def test_the_banner_explains_each_example_from_one_column():
    from hlemu import __version__
    from hlemu.repl import banner
    from kernel.api import Emulator

    for names in ([], ["ipc_client"], ["hello", "fb"]):
        emu = Emulator(backend="semifastmem", echo=False)
        try:
            for name in names:
                emu.spawn(name)
            lines = banner(emu).splitlines()
        finally:
            emu.close()
        first = names[0] if names else "hello"
        assert lines[0] == f"hlemu {__version__}: `emu` is the emulator; memory backend semifastmem (requested)"
        assert lines[1] == "processes: " + (", ".join(f"{name} ({32 + i})" for i, name in enumerate(names))
                                            or "none yet (emu.spawn('hello'))")
        examples = [line for line in lines if line.startswith("  ")]
        assert f'  p = emu.process("{first}")' in examples[1]
        columns = {line.index(what) for line, what in zip(examples, ("run 60", "a process", "disassemble",
                                                                     "pause when", "print every"), strict=True)}
        assert len(columns) == 1, lines  # every explanation starts in the same column
        assert all(line[min(columns) - 3:min(columns)] == "   " for line in examples)


def test_repl_without_ipython_says_how_to_get_it_and_exits_2():
    """As on a run-only install: IPython's import fails, so the shell says what to install."""
    blocked = ("import sys; sys.modules['IPython'] = None; sys.argv = ['hlemu', 'repl', 'hello']; "
               "from hlemu.cli import main; sys.exit(main())")
    result = subprocess.run([sys.executable, "-c", blocked], input="print('SHELL RAN')\n", capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("hlemu repl: IPython is not installed; python3 -m pip install -e '")
    assert lines[0].endswith("[repl]' installs it (or `hlemu repl --plain` gives Python's own shell)")
    assert "SHELL RAN" not in result.stdout and "`emu` is the emulator" not in result.stdout
    plain = subprocess.run([sys.executable, "-c", blocked.replace("'hello'", "'hello', '--plain'")],
                           input="print('SHELL RAN')\n", capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0 and "SHELL RAN" in plain.stdout, plain.stderr


def test_script_runs_with_emu_in_its_globals(tmp_path):
    script = tmp_path / "frames.py"
    script.write_text("emu.run(frames=30)\n"
                      "fb = emu.process('fb')\n"
                      "print('frame', emu.frame, 'write_track', fb.faults['write_track'])\n")
    result = hlemu("run", "--script", str(script), "fb")
    assert result.returncode == 0, result.stderr
    assert "frame 30 write_track 450" in result.stdout


def test_a_failing_script_shows_its_traceback_and_exits_1(tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("emu.process('nobody')\n")
    result = hlemu("run", "--script", str(script), "hello")
    assert result.returncode == 1
    assert "KeyError" in result.stderr and "nobody" in result.stderr


def test_a_program_that_does_not_exist_is_one_line_and_exit_2():
    result = hlemu("repl", "--plain", "nosuch", stdin="print('SHELL RAN')\n")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hlemu: nosuch: no such file, and not a bundled program (")
    assert all(name in lines[0] for name in programs())  # the names it would take
    assert "SHELL RAN" not in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--script", "nofile.py", "hello"], "hlemu: --script nofile.py: no such file"),
    (["run", "--script", ".", "hello"], "hlemu: --script .: is a folder"),
    (["run", "--script", "{script}", "nosuch"], "hlemu: nosuch: no such file, and not a bundled program"),
    (["run", "--script", "{script}", "--frames", "5", "--stats"],
     "hlemu: --script cannot be combined with --stats, --frames"),
])
def test_script_problems_are_one_line_and_exit_2(tmp_path, args, message):
    script = tmp_path / "ok.py"
    script.write_text("print('SCRIPT RAN')\n")
    result = hlemu(*(a.format(script=script) for a in args))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert "SCRIPT RAN" not in result.stdout


def test_ctrl_c_interrupts_emu_run_in_the_repl_and_the_shell_goes_on(tmp_path):
    path = write_elf(tmp_path / "spin.elf", SPIN)
    with running(["repl", "--plain", str(path)], "`emu` is the emulator") as (proc, lines):
        assert proc.stdin is not None
        proc.stdin.write("emu.run()\n")
        proc.stdin.flush()
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if "[spin:32] spinning" in line:
                break
        interrupted_at = len(lines)
        proc.stdin.write("print('AFTER', emu.paused, emu.process('spin').status, emu.instructions > 1000)\n"
                         "print('AGAIN', emu.run(instructions=5000).reason)\n")
        proc.stdin.close()
        interrupt(proc, lines, "AGAIN instruction limit")
    out = "".join(lines)
    assert proc.returncode == 0, out
    assert "KeyboardInterrupt: guest stopped cleanly" in "".join(lines[interrupted_at:])
    assert "AFTER True running True" in out


def test_ctrl_c_ends_a_script_with_exit_130(tmp_path):
    path = write_elf(tmp_path / "spin.elf", SPIN)
    script = tmp_path / "forever.py"
    script.write_text("emu.run()\nprint('NOT REACHED')\n")
    with running(["run", "--script", str(script), str(path)], "[spin:32] spinning") as (proc, lines):
        interrupt(proc, lines, "hlemu: interrupted: guest stopped cleanly")
    out = "".join(lines)
    assert proc.returncode == 130, out
    assert "NOT REACHED" not in out and "Traceback" not in out


SHOW_CONSOLE = "print('SDMC', emu.kernel.fs.sdmc_root); print('CFG', emu.cfg)\n"


def test_script_runs_on_the_sdmc_folder_and_console_settings_given(tmp_path):
    script = tmp_path / "console.py"
    script.write_text(SHOW_CONSOLE)
    card = tmp_path / "card"
    result = hlemu("run", "--script", str(script), "--sdmc", str(card), "--cfg", "language=fr", "--cfg",
                   "region=EUR", "--cfg", "birthday=12-25", "hello")
    assert result.returncode == 0, result.stderr
    assert f"SDMC {card}" in result.stdout
    assert "CFG <cfg language=fr region=EUR model=3DS username=hlemu birthday=12-25>" in result.stdout


def test_repl_runs_on_the_sdmc_folder_and_console_settings_given(tmp_path):
    card = tmp_path / "card"
    result = hlemu("repl", "--plain", "--sdmc", str(card), "--cfg", "model=N3DSXL", "--cfg", "username=Ada",
                   stdin=SHOW_CONSOLE)
    assert result.returncode == 0, result.stderr
    assert f"SDMC {card}" in result.stdout
    assert "CFG <cfg language=en region=USA model=N3DSXL username=Ada birthday=01-01>" in result.stdout


def test_a_bad_setting_from_python_is_one_line_and_exit_2(capsys):
    from hlemu.repl import run_script, start_repl

    assert start_repl(["hello"], "semifastmem", plain=True, cfg={"region": "Mars"}) == 2
    assert run_script(__file__, ["hello"], "semifastmem", cfg={"volume": 11}) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["hlemu: region: unknown value 'Mars' (accepted: JPN, USA, EUR, AUS, CHN, KOR, TWN)",
                     "hlemu: unknown setting 'volume' (accepted: language, region, model, username, birthday)"]
