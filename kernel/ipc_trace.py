"""``--trace-ipc``: one line per answered request, ``service command-name(args) -> result``.

An IPC listener (like the recorder's) that waits for replies: a reply's record carries its
request, so the line shows the request's words and descriptors beside the result, the
reply's own words and the service's note (unimplemented, stubbed, refused). Lines go to the
client process's output, as ``--trace-svc`` lines do::

    [ipc] srv: GetServiceHandle("APT:U", 0x0) -> ok, moves handle 0x12
    [ipc] APT:U GetLockHandle(0x0) -> ok: 0x0, 0x0, 0x0, copies handle 0x13
    [ipc] fs:USER GetSdmcCtrRootPath(0x40) -> 0xd900182f (unimplemented)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel.errors import Result

if TYPE_CHECKING:
    from kernel.ipc import Message
    from kernel.kernel import Kernel

SERVICE_NAME_COMMANDS = {0x0003, 0x0004, 0x0005}  # srv: RegisterService, UnregisterService, GetServiceHandle


def result_text(code: int | None) -> str:
    """``ok``, or the raw code: the kernel's names (kernel/errors.py) are not the services'
    (0xD9001830 is a kernel's bad descriptor and a service's bad header)."""
    if code is None:
        return "?"
    code &= 0xFFFFFFFF
    return "ok" if code == Result.SUCCESS else f"{code:#010x}"


def request_text(message: Message | None) -> str:
    """``Name(arg, ...)`` for a request record."""
    if message is None:
        return "(?)"
    words = list(message.normal)
    args: list[str] = []
    if message.service == "srv:" and message.command in SERVICE_NAME_COMMANDS and len(words) >= 3:
        raw = b"".join(w.to_bytes(4, "little") for w in words[:2])[: max(0, min(words[2], 8))]
        args.append('"' + raw.decode("ascii", errors="replace").rstrip("\0") + '"')
        words = words[3:]
    args += [f"{w & 0xFFFFFFFF:#x}" for w in words]
    args += [str(d) for d in message.descriptors]
    return f"{message.name or f'command {message.command:#06x}'}({', '.join(args)})"


def reply_text(message: Message) -> str:
    """``-> result: words, descriptors (note)`` for a reply record."""
    rest = [f"{w & 0xFFFFFFFF:#x}" for w in message.normal[1:]]
    rest += [str(d) for d in message.descriptors]
    text = f"-> {result_text(message.result)}"
    if rest:
        text += ": " + ", ".join(rest)
    if message.status:
        text += f" ({message.status})"
    return text


class IpcTrace:
    """The listener ``Kernel(trace_ipc=True)`` adds."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def __call__(self, message: Message) -> None:
        if not message.reply:
            return
        process = self.kernel.processes.get(message.receiver)
        if process is None:
            return
        service = message.service or (message.request.service if message.request else "") or "(unnamed session)"
        line = f"[ipc] {service} {request_text(message.request)} {reply_text(message)}"
        self.kernel.output(process, line)
