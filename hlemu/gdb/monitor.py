"""``monitor`` commands (gdb's ``qRcmd``): what the window's debugger shows, as text.

Each command reads the process of gdb's current thread. The reply is the output
hex-encoded, which gdb prints as it is (the GDB manual, "qRcmd").
"""

from __future__ import annotations

from collections.abc import Callable

from hlemu.gdb.target import Target, TargetError

HELP = """hlemu monitor commands (for the current process unless said):
  maps            memory regions: range, permission, state, physical address, sharers
  pagetable ADDR  the page table entry of one page (frame, permission, state, special, faults)
  handles         the handle table: handle, object type, what it is, which processes hold it
  faults          fault counts by kind, the pages that faulted, the crash report if any
  threads         every live thread of every process: state, priority, pc, what it waits on
  ipc [N]         the last N (default 16) IPC messages recorded, every process
  help            this text"""


def _maps(target: Target, pid: int, args: list[str]) -> list[str]:
    return target.maps(pid)


def _pagetable(target: Target, pid: int, args: list[str]) -> list[str]:
    if not args:
        return ["usage: monitor pagetable ADDR"]
    try:
        addr = int(args[0], 0)
    except ValueError:
        return [f"not an address: {args[0]}"]
    if not 0 <= addr <= 0xFFFFFFFF:
        return [f"{addr:#x} is outside the 32-bit address space"]
    return [target.page(pid, addr)]


def _handles(target: Target, pid: int, args: list[str]) -> list[str]:
    return target.handles(pid) or ["no handles"]


def _faults(target: Target, pid: int, args: list[str]) -> list[str]:
    return target.faults(pid)


def _threads(target: Target, pid: int, args: list[str]) -> list[str]:
    return target.thread_lines() or ["no live threads"]


def _ipc(target: Target, pid: int, args: list[str]) -> list[str]:
    count = int(args[0]) if args and args[0].isdigit() else 16
    messages = list(target.ipc_log)[-count:]
    return messages or ["no IPC messages recorded yet"]


COMMANDS: dict[str, Callable[[Target, int, list[str]], list[str]]] = {
    "maps": _maps, "pagetable": _pagetable, "handles": _handles, "faults": _faults,
    "threads": _threads, "ipc": _ipc,
}


def run(target: Target, pid: int, command: str) -> str:
    """The reply to ``qRcmd``: the command's output, hex-encoded."""
    words = command.split()
    if not words or words[0] == "help":
        text = HELP
    elif words[0] not in COMMANDS:
        text = f"unknown monitor command {words[0]!r}\n{HELP}"
    else:
        try:
            text = "\n".join(COMMANDS[words[0]](target, pid, words[1:]))
        except TargetError as exc:
            text = f"error: {exc}"
    return (text + "\n").encode().hex()
