"""GDB remote packets in, replies out: one method per packet family (the GDB manual's
"Packets", "General Query Packets", "Stop Reply Packets" and "Host I/O"-free subset).

:class:`Session` never touches the socket: :meth:`Session.handle` turns one packet payload
into a reply string, ``None`` (no reply) or a :class:`Resume` request, which the server
runs on its run thread and answers with :meth:`Session.stop_reply`. Unknown packets get the
empty reply, which tells gdb "not supported". Bad arguments get ``E01``, addresses the
process does not map ``E14`` (EFAULT), and no exception leaves :meth:`handle`.

Process ids: gdb treats pid 0 as "any process", so, as real 3DS stubs do, the protocol's
pid is the kernel's pid + 1 (:func:`gdb_pid`). Thread ids are the kernel's (they start at 1
and are unique across processes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from xml.sax.saxutils import escape as xml_escape

from hlemu.gdb import monitor
from hlemu.gdb.framing import MAX_PACKET, unescape
from hlemu.gdb.target import SIGKILL, WATCH_KINDS, StopEvent, Target, TargetError, pack_registers
from hlemu.gdb.target_xml import DOCUMENTS, REGISTERS

log = logging.getLogger(__name__)

SUPPORTED = ";".join([
    f"PacketSize={MAX_PACKET:x}", "qXfer:features:read+", "qXfer:threads:read+", "qXfer:osdata:read+",
    "multiprocess+", "swbreak+", "vContSupported+", "QStartNoAckMode+", "QCatchSyscalls+",
    "qXfer:exec-file:read+",
])
E_ARGS, E_NOENT, E_FAULT = "E01", "E02", "E14"
MAX_READ = (MAX_PACKET - 8) // 2  # hex doubles the bytes of an 'm' reply


def gdb_pid(pid: int) -> int:
    return pid + 1


def kernel_pid(pid: int) -> int:
    return pid - 1


@dataclass
class Resume:
    """A packet that runs the guest: continue all, or step ``step`` = (pid, tid); ``signal``:
    the one gdb passes on (0: none), which ends a process stopped by its crash."""

    step: tuple[int, int] | None = None
    signal: int = 0


class BadPacket(ValueError):
    pass


class Session:
    """One gdb connection's state: selected threads, no-ack mode, the last stop."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.no_ack = False
        self.extended = False
        self.g_thread: tuple[int, int] = (0, 0)  # (kernel pid, tid) for g/G/p/P/m/M/Z
        self.c_thread: tuple[int, int] = (0, 0)  # what c/s name (tid 0 / -1: any)
        self.last_stop: StopEvent | None = None
        self.killed = False
        self.detached = False

    # -- entry --------------------------------------------------------------------------
    def handle(self, payload: bytes) -> str | Resume | None:
        try:
            text = payload.decode("latin-1")
            return self._dispatch(text, payload)
        except (BadPacket, ValueError, IndexError, KeyError) as exc:
            log.debug("bad packet %r: %s", payload[:60], exc)
            return E_ARGS
        except TargetError as exc:
            log.debug("refused %r: %s", payload[:60], exc)
            return E_FAULT if payload[:1] in (b"m", b"M", b"X") else E_NOENT
        except Exception:  # noqa: BLE001 - a bug here must not end the session
            log.exception("internal error on packet %r", payload[:60])
            return E_ARGS

    def _dispatch(self, text: str, raw: bytes) -> str | Resume | None:
        if not text:
            return ""
        head = text[0]
        simple = {"?": self._why, "g": self._read_all, "G": self._write_all, "p": self._read_one,
                  "P": self._write_one, "m": self._read_mem, "M": self._write_mem, "H": self._select,
                  "T": self._alive, "Z": self._insert, "z": self._remove, "D": self._detach}
        if head in simple:
            return simple[head](text[1:])
        if head == "X":
            return self._write_binary(raw[1:])
        if head in "cCsS":
            return self._resume_simple(head, text[1:])
        if head == "k":
            self._kill_all()
            return None  # 'k' has no reply
        if head == "!":
            self.extended = True
            return "OK"
        if head == "q":
            return self._query(text[1:])
        if head == "Q":
            return self._set(text[1:])
        if head == "v":
            return self._v(text[1:])
        return ""

    # -- stops --------------------------------------------------------------------------
    def stop_reply(self, event: StopEvent) -> str:
        self.last_stop = event
        if event.kind == "exited":
            return f"W{event.code & 0xFF:02x};process:{gdb_pid(event.pid):x}"
        if event.kind == "terminated":
            return f"X{event.signal:02x};process:{gdb_pid(event.pid):x}"
        self.g_thread = self.c_thread = (event.pid, event.tid)
        parts = [f"T{event.signal:02x}"]
        if event.reason in ("watch", "rwatch", "awatch"):
            parts.append(f"{event.reason}:{event.value:08x};")
        elif event.reason in ("syscall_entry", "syscall_return"):
            parts.append(f"{event.reason}:{event.value:x};")
        elif event.reason == "swbreak":
            parts.append("swbreak:;")
        parts.append(f"thread:{self._thread_id(event.pid, event.tid)};")
        return "".join(parts)

    def _why(self, _: str) -> str:
        if self.last_stop is None:
            return "W00"
        return self.stop_reply(self.last_stop)

    # -- threads ------------------------------------------------------------------------
    @staticmethod
    def _thread_id(pid: int, tid: int) -> str:
        return f"p{gdb_pid(pid):x}.{tid:x}"

    def _parse_thread(self, text: str) -> tuple[int, int]:
        """``pPID.TID``, ``pPID``, ``TID``, with -1 (all) and 0 (any) -> (kernel pid, tid);
        an unnamed pid or tid becomes 0."""
        pid = self.g_thread[0]
        if text.startswith("p"):
            pid_text, _, tid_text = text[1:].partition(".")
            pid = -1 if pid_text == "-1" else kernel_pid(int(pid_text, 16)) if int(pid_text, 16) else 0
            text = tid_text or "0"
        tid = -1 if text == "-1" else int(text, 16)
        if pid in (0, -1):
            pid = self.g_thread[0] if self.g_thread[0] else (self.target.attached[0] if self.target.attached else 0)
        return pid, tid

    def _resolve(self, pid: int, tid: int) -> tuple[int, int]:
        """A concrete live thread for (pid, tid), where tid may be 0 or -1."""
        if tid > 0:
            return pid, tid
        threads = self.target.threads(pid)
        if not threads:
            raise TargetError(f"process {pid} has no live threads")
        return pid, threads[0].tid

    def _select(self, args: str) -> str:
        which, thread = args[:1], args[1:]
        if which not in "gc" or not thread:
            return E_ARGS
        pid, tid = self._parse_thread(thread)
        if tid > 0:
            self.target.thread(pid, tid)  # must exist
        if which == "g":
            self.g_thread = self._resolve(pid, tid)
        else:
            self.c_thread = (pid, tid)
        return "OK"

    def _alive(self, args: str) -> str:
        pid, tid = self._parse_thread(args)
        try:
            self.target.thread(pid, tid)
        except TargetError:
            return E_NOENT
        return "OK"

    def _thread_list(self) -> list[tuple[int, int, str]]:
        return [(pid, t.tid, t.name) for pid in self.target.live_attached() for t in self.target.threads(pid)]

    # -- registers ------------------------------------------------------------------------
    def _current(self) -> tuple[int, int]:
        return self._resolve(*self.g_thread)

    def _read_all(self, _: str) -> str:
        return pack_registers(self.target.registers(*self._current())).hex()

    def _write_all(self, args: str) -> str:
        data = bytes.fromhex(args)
        pid, tid = self._current()
        old = self.target.registers(pid, tid)
        changed, offset = {}, 0
        for index, reg in enumerate(REGISTERS):
            size = reg.bits // 8
            if offset + size > len(data):
                break
            value = int.from_bytes(data[offset : offset + size], "little")
            if value != old[index]:
                changed[index] = value
            offset += size
        if changed:
            self.target.write_registers(pid, tid, changed)
        return "OK"

    def _read_one(self, args: str) -> str:
        index = int(args, 16)
        if not 0 <= index < len(REGISTERS):
            return E_ARGS
        value = self.target.registers(*self._current())[index]
        return value.to_bytes(REGISTERS[index].bits // 8, "little").hex()

    def _write_one(self, args: str) -> str:
        number, _, value = args.partition("=")
        index = int(number, 16)
        if not 0 <= index < len(REGISTERS) or len(value) != REGISTERS[index].bits // 4:
            return E_ARGS
        self.target.write_registers(*self._current(), {index: int.from_bytes(bytes.fromhex(value), "little")})
        return "OK"

    # -- memory ---------------------------------------------------------------------------
    @staticmethod
    def _addr_len(text: str) -> tuple[int, int]:
        addr_text, _, len_text = text.partition(",")
        addr, length = int(addr_text, 16), int(len_text, 16)
        if addr < 0 or length < 0 or addr > 0xFFFFFFFF:
            raise BadPacket("address out of range")
        return addr, length

    def _read_mem(self, args: str) -> str:
        addr, length = self._addr_len(args)
        if length == 0:
            return ""
        return self.target.read_memory(self._current()[0], addr, min(length, MAX_READ)).hex()

    def _write_mem(self, args: str) -> str:
        where, _, data_hex = args.partition(":")
        addr, length = self._addr_len(where)
        data = bytes.fromhex(data_hex)
        if len(data) != length:
            return E_ARGS
        if length:
            self.target.write_memory(self._current()[0], addr, data)
        return "OK"

    def _write_binary(self, raw: bytes) -> str:
        where, sep, body = raw.partition(b":")
        if not sep:
            return E_ARGS
        addr, length = self._addr_len(where.decode("latin-1"))
        data = unescape(body)
        if len(data) != length:
            return E_ARGS
        if length:
            self.target.write_memory(self._current()[0], addr, data)
        return "OK"

    # -- breakpoints -------------------------------------------------------------------------
    def _z_args(self, args: str) -> tuple[int, int, int]:
        kind_text, addr_text, size_text = args.split(";")[0].split(",")[:3]
        return int(kind_text), int(addr_text, 16), int(size_text, 16)

    def _insert(self, args: str) -> str:
        kind, addr, size = self._z_args(args)
        pid = self._current()[0]
        if kind in (0, 1):
            self.target.add_breakpoint(pid, addr)
        elif kind in WATCH_KINDS and size > 0:
            self.target.add_watch(pid, addr, size, WATCH_KINDS[kind])
        else:
            return ""
        return "OK"

    def _remove(self, args: str) -> str:
        kind, addr, size = self._z_args(args)
        pid = self._current()[0]
        if kind in (0, 1):
            self.target.remove_breakpoint(pid, addr)
        elif kind in WATCH_KINDS:
            self.target.remove_watch(pid, addr, size, WATCH_KINDS[kind])
        else:
            return ""
        return "OK"

    # -- running ------------------------------------------------------------------------------
    def _resume_simple(self, head: str, args: str) -> Resume:
        if args.split(";")[0] and not args.startswith(";"):  # 'c ADDR' / 'C sig;ADDR': resume at an address
            pass  # gdb never sends an address on ARM; ignored rather than refused
        signal = int(args.split(";")[0], 16) if head in "CS" and args.split(";")[0] else 0
        if head in "sS":
            return Resume(step=self._resolve(*self.c_thread) if self.c_thread[0] else self._current(),
                          signal=signal)
        return Resume(signal=signal)

    def _vcont(self, args: str) -> Resume | str:
        step, signal = None, 0
        for action in args.split(";"):
            if not action:
                continue
            verb, _, thread = action.partition(":")
            if verb[:1] in ("C", "S") and not signal:
                signal = int(verb[1:], 16)
            if verb[:1] in ("s", "S"):
                pid, tid = self._parse_thread(thread) if thread else self.c_thread
                step = self._resolve(pid, tid) if step is None else step
            elif verb[:1] not in ("c", "C", "t"):
                return E_ARGS
        return Resume(step=step, signal=signal)

    def _kill_all(self) -> None:
        for pid in list(self.target.attached):
            self.target.kill(pid)
        self.killed = True

    def _detach(self, args: str) -> str:
        if args.startswith(";"):
            pid = kernel_pid(int(args[1:], 16))
            self.target.detach(pid)
            if self.target.attached:
                return "OK"
        else:
            self.target.detach_all()
        self.detached = True
        return "OK"

    # -- v packets ------------------------------------------------------------------------------
    def _v(self, text: str) -> str | Resume | None:
        if text == "Cont?":
            return "vCont;c;C;s;S;t"
        if text.startswith("Cont;"):
            return self._vcont(text[5:])
        if text.startswith("Attach;"):
            pid = kernel_pid(int(text[7:], 16))
            return self.stop_reply(self.target.attach(pid))
        if text.startswith("Kill;"):
            pid = kernel_pid(int(text[5:], 16))
            self.target.kill(pid)
            if not self.target.live_attached() and not self.extended:
                self.killed = True  # extended-remote stays connected: gdb may 'run' again
            return "OK"
        if text.startswith("Run;") and self.extended:
            fields = text[4:].split(";")
            program = bytes.fromhex(fields[0]).decode("utf-8") if fields[0] else None
            return self.stop_reply(self.target.run_program(program))  # arguments: guests take none
        if text == "MustReplyEmpty":
            return ""
        return ""

    # -- queries ----------------------------------------------------------------------------------
    def _query(self, text: str) -> str:
        name, _, args = text.partition(":")
        if name == "Supported":
            return SUPPORTED
        if text == "fThreadInfo":
            threads = self._thread_list()
            return "m" + ",".join(self._thread_id(pid, tid) for pid, tid, _ in threads) if threads else "l"
        if text == "sThreadInfo":
            return "l"
        if text == "C":
            pid, tid = self._current() if self.g_thread[0] else self.target.default_thread()
            return f"QC{self._thread_id(pid, tid)}"
        if name == "Attached":  # 0: gdb made it (vRun), so quitting kills it; 1: it was there
            pid = kernel_pid(int(args, 16)) if args else self.target.default_thread()[0]
            return "0" if pid in self.target.started else "1"
        if text.startswith("ThreadExtraInfo,"):
            pid, tid = self._parse_thread(text.split(",", 1)[1])
            view = self.target.thread(pid, tid)
            info = f"{self.target.process(pid).name}: {view.name}, {view.state}"
            return info.encode().hex()
        if name == "Xfer":
            return self._xfer(args)
        if text.startswith("Rcmd,"):
            return self._monitor(text[5:])
        if text.startswith("Symbol"):
            return "OK"
        return ""

    def _set(self, text: str) -> str:
        if text == "StartNoAckMode":
            self.no_ack = True
            return "OK"
        if text.startswith("CatchSyscalls:"):
            spec = text[len("CatchSyscalls:"):]
            if spec == "0":
                self.target.catch_svcs(None)
                return "OK"
            if not spec.startswith("1"):
                return E_ARGS
            numbers = {int(n, 16) for n in spec[1:].split(";") if n}
            self.target.catch_svcs(numbers)
            return "OK"
        return ""

    def _xfer(self, args: str) -> str:
        obj, op, annex, span = (args.split(":", 3) + ["", "", ""])[:4]
        if op != "read":
            return ""
        offset_text, _, length_text = span.partition(",")
        offset, length = int(offset_text, 16), int(length_text, 16)
        if obj == "features":
            document = DOCUMENTS.get(annex)
            if document is None:
                return E_NOENT
        elif obj == "threads":
            document = self._threads_xml()
        elif obj == "osdata":
            document = self._osdata(annex)
        elif obj == "exec-file":
            pid = kernel_pid(int(annex, 16)) if annex else (
                self._current()[0] if self.g_thread[0] else self.target.default_thread()[0])
            document = self.target.exec_file(pid)
        else:
            return ""
        data = document.encode()
        chunk = data[offset : offset + min(length, MAX_PACKET - 16)]
        return ("l" if offset + len(chunk) >= len(data) else "m") + chunk.decode("latin-1")

    def _threads_xml(self) -> str:
        items = [f'<thread id="{self._thread_id(pid, tid)}" name="{xml_escape(name, {chr(34): "&quot;"})}"/>'
                 for pid, tid, name in self._thread_list()]
        return '<?xml version="1.0"?>\n<threads>\n' + "\n".join(items) + "\n</threads>\n"

    def _osdata(self, annex: str) -> str:
        head = '<?xml version="1.0"?>\n<!DOCTYPE target SYSTEM "osdata.dtd">\n'
        if annex == "processes":
            rows = []
            for proc in self.target.processes():
                if not proc.alive:
                    continue
                attached = "attached" if proc.pid in self.target.attached else ""
                rows.append(f'<item><column name="pid">{gdb_pid(proc.pid)}</column>'
                            f'<column name="user">hlemu</column>'
                            f'<column name="command">{xml_escape(proc.name)}</column>'
                            f'<column name="hlemu pid">{proc.pid}</column>'
                            f'<column name="state">{xml_escape(proc.status)} {attached}</column></item>')
            return head + '<osdata type="processes">\n' + "\n".join(rows) + "\n</osdata>\n"
        if annex == "":
            return (head + '<osdata type="types">\n<item><column name="Type">processes</column>'
                    '<column name="Description">Listing of all processes</column>'
                    '<column name="Title">Processes</column></item>\n</osdata>\n')
        raise TargetError(f"no osdata {annex!r}")

    def _monitor(self, hex_command: str) -> str:
        command = bytes.fromhex(hex_command).decode("utf-8", "replace")
        pid = self._current()[0] if self.g_thread[0] else self.target.default_thread()[0]
        return monitor.run(self.target, pid, command)

    @property
    def ended(self) -> bool:
        """The client asked to kill or detach: the server ends this connection."""
        return self.killed or self.detached


KILLED = StopEvent("terminated", 0, signal=SIGKILL)
