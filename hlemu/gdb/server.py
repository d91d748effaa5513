"""The GDB server: a TCP socket, one client at a time, and a run thread for the guests.

The server thread owns the socket and never runs guest code: ``c``/``s``/``vCont`` start
:meth:`Target.resume` on a run thread, and the server keeps reading the socket meanwhile, so
a Ctrl-C (0x03) reaches :meth:`Target.interrupt` at once. When the run ends, the run thread
wakes the server through a socket pair and the stop reply goes out. A second client is told
no and closed; a client that goes away mid-run ends the run cleanly (``hlemu gdb``), or the
guests run on (``on_disconnect="run"``, as ``hlemu run --gdb`` does). Nothing a client sends
raises out of :meth:`GdbServer.serve`.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from collections import deque
from collections.abc import Callable

from hlemu.gdb.commands import Resume, Session
from hlemu.gdb.framing import PacketReader, frame
from hlemu.gdb.target import SIGINT, StopEvent, Target

log = logging.getLogger(__name__)

BUSY = "E.hlemu: another gdb is already connected (one client at a time)"
SEND_TIMEOUT = 10.0


class GdbServer:
    """Serve ``target`` on ``host:port`` (port 0: any free port; see :attr:`port`).

    ``on_disconnect``: ``"stop"`` ends :meth:`serve` when the client leaves (after a
    detach the guests first run to their end), ``"run"`` lets the guests run on and waits
    for the next client until every process has ended, ``"wait"`` runs nothing and waits
    for the next client (the window: its own Run and Pause own the guests meanwhile). ``start_running``: the guests run
    before any client connects (a client that connects stops them)."""

    def __init__(self, target: Target, host: str = "127.0.0.1", port: int = 0, on_disconnect: str = "stop",
                 start_running: bool = False, say: Callable[[str], None] | None = None) -> None:
        self.target = target
        self.on_disconnect = on_disconnect
        self.start_running = start_running
        self.say = say or (lambda text: None)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(4)
        self.host, self.port = self.listener.getsockname()[:2]
        self._wake_r, self._wake_w = socket.socketpair()
        self._client: socket.socket | None = None
        self._reader = PacketReader()
        self._session: Session | None = None
        self._last_sent = b""
        self._run: threading.Thread | None = None
        self._run_result: tuple[str, object] | None = None
        self._waiting_reply = False  # the client sent a resume and waits for its stop reply
        self._queued: deque[bytes] = deque()
        self._free_reason: str | None = None  # why the last client-less run ended
        self._stopping = False
        self.closed = False

    @property
    def client_stopped(self) -> bool:
        """A client is connected and the guests are stopped for it (its prompt): running them
        behind its back would leave it stale, since all-stop gdb hears of stops it asked for."""
        return self._client is not None and not self._running and not self._waiting_reply

    @property
    def client_running(self) -> bool:
        """A client's continue or step is under way."""
        return self._client is not None and self._waiting_reply

    def interrupt(self) -> None:
        """From any thread: stop a client's continue as its Ctrl-C would (it sees SIGINT)."""
        if self._running and self._waiting_reply:
            self.target.interrupt()

    # -- the loop --------------------------------------------------------------------
    def serve(self) -> str:
        """Serve until the session ends; why it ended: ``all exited``, ``deadlock``,
        ``killed``, ``disconnected``, ``detached`` or ``closed``."""
        try:
            if self.start_running:
                self._start_free_run()
            while not self.closed:
                reason = self._turn()
                if reason:
                    return reason
            return "closed"
        finally:
            self._shutdown()

    def close(self) -> None:
        """From another thread: end :meth:`serve` (the guests stop at a clean point)."""
        self.closed = True
        self._stopping = True
        if self._running:
            self.target.interrupt()
        self._wake()

    def _turn(self) -> str | None:
        sockets = [self.listener, self._wake_r] + ([self._client] if self._client else [])
        try:
            readable, _, _ = select.select(sockets, [], [], 0.5)
        except (OSError, ValueError):  # a socket closed under us
            readable = []
        if self._running and self._stopping:
            self.target.interrupt()  # a stop may land before the run starts: repeat it
        if self._wake_r in readable:
            reason = self._run_ended()
            if reason:
                return reason
        if self.listener in readable:
            self._accept()
        if self._client is not None and self._client in readable:
            return self._read_client()
        return None

    @property
    def _running(self) -> bool:
        return self._run is not None and self._run.is_alive()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    # -- the run thread ------------------------------------------------------------------
    def _start(self, kind: str, work: Callable[[], object]) -> None:
        def body() -> None:
            try:
                self._run_result = (kind, work())
            except BaseException as exc:  # noqa: BLE001 - reported by the server thread
                log.exception("the guest run failed")
                self._run_result = ("error", exc)
            self._wake()

        self._run_result = None
        self._run = threading.Thread(target=body, name="hlemu-gdb-run", daemon=True)
        self._run.start()

    def _start_free_run(self) -> None:
        self._stopping = False
        self._start("free", self.target.run_free)

    def _wait_run(self) -> None:
        if self._run is not None:
            while self._run.is_alive():
                self.target.interrupt()
                self._run.join(0.05)
            self._run = None
        try:
            while self._wake_r.recv(64, socket.MSG_DONTWAIT):
                pass
        except OSError:
            pass

    def _run_ended(self) -> str | None:
        try:
            self._wake_r.recv(64)
        except OSError:
            pass
        if self._run_result is None:  # set before the wake-up byte is sent
            return None
        if self._run is not None:
            self._run.join()  # it has finished its work: only the thread's exit is left
        self._run = None
        kind, result = self._run_result
        self._run_result = None
        if kind == "resume" and isinstance(result, StopEvent):
            return self._deliver_stop(result)
        if kind == "error":
            if self._session is not None and self._waiting_reply:
                self._waiting_reply = False
                self._send(f"O{('hlemu: internal error: ' + str(result) + chr(10)).encode().hex()}")
                pid, tid = self.target.default_thread()
                self._send(self._session.stop_reply(StopEvent("signal", pid, tid, SIGINT)))
            return None if self._client is not None else "error"
        # a client-less run ended
        self._free_reason = str(result)
        if self._client is not None:  # stopped for the client that connected
            self._greet_stopped()
            return None
        if result in ("all exited", "deadlock") or self._stopping:
            return str(result) if not self._stopping else "closed"
        return None

    def _deliver_stop(self, event: StopEvent) -> str | None:
        session = self._session
        if session is None or not self._waiting_reply:
            return None
        self._waiting_reply = False
        if event.message:
            self._send("O" + event.message.encode().hex())
        self._send(session.stop_reply(event))
        while self._queued and not self._waiting_reply and self._client is not None:
            reason = self._packet(self._queued.popleft())
            if reason:
                return reason
        return None

    # -- clients ---------------------------------------------------------------------------
    def _accept(self) -> None:
        try:
            conn, peer = self.listener.accept()
        except OSError:
            return
        if self._client is not None:
            log.info("refused a second gdb from %s", peer)
            try:
                conn.settimeout(1.0)
                conn.sendall(frame(BUSY))
            except OSError:
                pass
            conn.close()
            return
        conn.settimeout(SEND_TIMEOUT)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client, self._reader = conn, PacketReader()
        self._session = Session(self.target)
        self._queued.clear()
        self._last_sent = b""
        self.say(f"hlemu gdb: client connected from {peer[0]}:{peer[1]}")
        if self._running:  # the guests run free: stop them for the client
            self.target.interrupt()
        else:
            self._greet_stopped()

    def _greet_stopped(self) -> None:
        """The emulator is stopped and a client is here: make sure something is attached
        and that '?' has a stop to report."""
        target, session = self.target, self._session
        if session is None:
            return
        if not target.live_attached():
            live = [p.pid for p in target.processes() if p.alive]
            if live:
                target.attach(live[0])
        pid, tid = target.default_thread()
        if target.live_attached():
            session.last_stop = session.last_stop or StopEvent("signal", pid, tid, SIGINT if self._free_reason else 5)
            session.g_thread = session.c_thread = (pid, tid)
        while self._queued and not self._waiting_reply:
            self._packet(self._queued.popleft())

    def _read_client(self) -> str | None:
        assert self._client is not None
        try:
            data = self._client.recv(65536)
        except OSError:
            data = b""
        if not data:
            return self._client_gone()
        for event in self._reader.feed(data):
            if event.kind == "interrupt":
                if self._running:
                    self.target.interrupt()
            elif event.kind == "nak":
                if self._last_sent:
                    self._raw_send(self._last_sent)
            elif event.kind == "bad":
                log.info("gdb packet refused: %s", event.data.decode())
                if not (self._session and self._session.no_ack):
                    self._raw_send(b"-")
            elif event.kind == "packet":
                if not (self._session and self._session.no_ack):
                    self._raw_send(b"+")
                if self._running or self._waiting_reply:
                    self._queued.append(event.data)  # all-stop: answered once the guests stop
                else:
                    reason = self._packet(event.data)
                    if reason:
                        return reason
            if self._client is None:
                break
        return None

    def _packet(self, payload: bytes) -> str | None:
        session = self._session
        if session is None:
            return None
        reply = session.handle(payload)
        if isinstance(reply, Resume):
            self._waiting_reply = True
            step, signal = reply.step, reply.signal
            self._start("resume", lambda: self.target.resume(step, signal))
        elif reply is not None:
            self._send(reply)
        if session.ended:
            return self._session_ended(session)
        return None

    def _session_ended(self, session: Session) -> str | None:
        killed = session.killed
        self._drop_client()
        if killed:
            self.say("hlemu gdb: the client killed the debugged processes")
            if self.on_disconnect == "stop" or (self.on_disconnect == "run"
                                                and not any(p.alive for p in self.target.processes())):
                return "killed"
        elif self.on_disconnect != "wait":
            self.say("hlemu gdb: the client detached; the guests run on")
        if self.on_disconnect != "wait":
            self._start_free_run()
        return None

    def _client_gone(self) -> str | None:
        was_running = self._running
        self._drop_client()
        if was_running:
            self._wait_run()
        self.target.detach_all()
        self.say("hlemu gdb: the client disconnected" + (" while the guests ran" if was_running else ""))
        if self.on_disconnect == "stop":
            return "disconnected"
        if self.on_disconnect == "wait":
            return None
        if any(p.alive for p in self.target.processes()):
            self._start_free_run()
            return None
        return "all exited"

    def _drop_client(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except OSError:
                pass
        self._client, self._session = None, None
        self._waiting_reply = False
        self._queued.clear()
        if not self._running:
            self.target.detach_all()

    def _send(self, reply: str) -> None:
        self._raw_send(frame(reply))

    def _raw_send(self, data: bytes) -> None:
        if self._client is None:
            return
        if data not in (b"+", b"-"):
            self._last_sent = data
        try:
            self._client.sendall(data)
        except OSError:  # the next read sees the end and cleans up
            log.info("gdb client went away while we sent")
            try:
                self._client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _shutdown(self) -> None:
        if self._running:
            self._stopping = True
            self._wait_run()
        for sock in (self._client, self.listener, self._wake_r, self._wake_w):
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass
        self._client = None
