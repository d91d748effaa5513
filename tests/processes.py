"""The ``hlemu`` command as a live process: read its output as it comes, send it Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def running(args: list[str], marker: str, timeout: float = 120) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``python -m hlemu ARGS`` (unbuffered), its output read until a line has ``marker``;
    killed if the test fails before it ends."""
    with subprocess.Popen([sys.executable, "-u", "-m", "hlemu", *args], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1) as proc:
        try:
            lines: list[str] = []
            deadline = time.monotonic() + timeout
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                if marker in line or time.monotonic() > deadline:
                    break
            assert any(marker in line for line in lines), "".join(lines)
            yield proc, lines
        finally:
            if proc.poll() is None:
                proc.kill()


def interrupt(proc: subprocess.Popen[str], lines: list[str], summary: str) -> float:
    """SIGINT ``proc``; seconds until its output shows ``summary`` (the rest goes into ``lines``)."""
    assert proc.stdout is not None
    time.sleep(0.3)  # well inside the guest's loop
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    took = None
    for line in proc.stdout:
        lines.append(line)
        if took is None and summary in line:
            took = time.monotonic() - sent
    proc.wait(timeout=60)
    assert took is not None, "".join(lines)
    return took
