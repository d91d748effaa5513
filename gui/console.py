"""The console dock's interpreter: Python on the scripting API, run on the emulation thread.

Qt-free: the dock sends each typed line here (through ``Session.call``, so it runs
between slices of guest time, on the thread that owns the emulator) and shows
what comes back. The namespace is the REPL's: ``emu`` and the helpers of
:mod:`hlemu.repl`.

>>> from kernel.api import Emulator
>>> emu = Emulator(backend="semifastmem", echo=False)
>>> console = ConsoleInterpreter()
>>> console.push(emu, "p = emu.spawn('hello')")
('', False)
>>> console.push(emu, "for i in range(2):")
('', True)
>>> console.push(emu, "    print(i)")
('', True)
>>> console.push(emu, "")
('0\\n1\\n', False)
>>> console.push(emu, "p.name")
("'hello'\\n", False)
>>> console.complete(emu, "p.na")
['p.name']
>>> emu.close()
"""

from __future__ import annotations

import code
import io
import rlcompleter
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout

from kernel.api import Emulator

BANNER = """\
hlemu console: Python with `emu`, the emulator this window shows (runs between frames).
  emu.processes            emu.process("fb").maps()      p.u32(0x00100000)
  emu.run(frames=60)       p.disasm(p.threads[0].pc, 8)  help(emu)"""


class _Console(code.InteractiveConsole):
    """Tracebacks written to the console's output, never handed to ``sys.excepthook``
    (which a Qt application or a test harness may have replaced)."""

    def showtraceback(self) -> None:
        kind, value, tb = sys.exc_info()
        self.write("".join(traceback.format_exception(kind, value, tb.tb_next if tb else None)))

    def showsyntaxerror(self, filename: str | None = None, **kwargs: object) -> None:
        kind, value, _ = sys.exc_info()
        self.write("".join(traceback.format_exception_only(kind, value)))


class ConsoleInterpreter:
    """An interactive console whose ``emu`` is always the window's current emulator."""

    def __init__(self) -> None:
        self.namespace: dict[str, object] = {"__name__": "__console__"}
        self.console = _Console(self.namespace, filename="<console>")

    def _bind(self, emu: Emulator) -> None:
        from hlemu.repl import namespace_for

        if self.namespace.get("emu") is not emu:
            self.namespace.update(namespace_for(emu))

    def push(self, emu: Emulator, line: str) -> tuple[str, bool]:
        """Run one line; returns (printed text, whether more lines are needed)."""
        self._bind(emu)
        out = io.StringIO()
        with redirect_stdout(out), redirect_stderr(out):
            more = self.console.push(line)
        return out.getvalue(), more

    def complete(self, emu: Emulator, text: str) -> list[str]:
        """Completions of ``text`` (names, and attributes after a dot)."""
        self._bind(emu)
        completer = rlcompleter.Completer(self.namespace)
        found: list[str] = []
        for state in range(200):
            match = completer.complete(text, state)
            if match is None:
                break
            found.append(match.rstrip("("))
        return sorted(set(found))
