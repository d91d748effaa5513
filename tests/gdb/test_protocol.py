"""The stub at the packet level, with a raw socket: framing, bad input, Ctrl-C, clients that
come and go. Nothing here may raise out of the server or hang it."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from hlemu.gdb.framing import PacketReader, checksum, escape, frame, unescape

_OPEN: list[Client] = []  # every client of the running test, closed when it ends


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """A test that fails before its own close() leaves no socket behind to fail the next one
    with a ResourceWarning."""
    yield
    while _OPEN:
        _OPEN.pop().close()


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        _OPEN.append(self)
        self.reader = PacketReader(max_packet=1 << 20)
        self.events: list = []

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def next_event(self):
        while not self.events:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.events += self.reader.feed(data)
        return self.events.pop(0)

    def packet(self) -> str:
        while True:
            event = self.next_event()
            assert event is not None, "connection closed"
            if event.kind == "packet":
                return event.data.decode("latin-1")

    def ask(self, payload: str) -> str:
        self.send_raw(frame(payload))
        return self.packet()

    def close(self) -> None:
        self.sock.close()


def test_framing_round_trip_and_escapes():
    assert frame("OK") == b"$OK#9a"
    assert escape(b"a#b$c}d*") == b"a}\x03b}\x04c}]d}\x0a"
    assert unescape(escape(bytes(range(256)))) == bytes(range(256))
    reader = PacketReader(max_packet=16)
    events = reader.feed(b"+-\x03junk$m0,4#fd$abc#00$" + b"x" * 40 + b"#00")
    kinds = [e.kind for e in events]
    assert kinds == ["ack", "nak", "interrupt", "packet", "bad", "bad"], events
    assert events[3].data == b"m0,4" and checksum(b"m0,4") == 0xFD


def test_bad_input_gets_naks_errors_and_empty_replies(stub_factory):
    stub = stub_factory(["hello"])
    c = Client(stub.port)
    c.send_raw(b"$qSupported#00")  # bad checksum: '-'
    assert c.next_event().kind == "nak"
    c.send_raw(b"$g#zz")  # checksum not hex
    assert c.next_event().kind == "nak"
    c.send_raw(b"$" + b"m" * 0x5000 + b"#00")  # longer than PacketSize
    assert c.next_event().kind == "nak"
    assert "PacketSize=4000" in c.ask("qSupported:multiprocess+;swbreak+")
    assert c.ask("qSomethingNobodyKnows") == ""
    assert c.ask("vNoSuchThing") == ""
    assert c.ask("m") == "E01" and c.ask("mzz,4") == "E01" and c.ask("m100000") == "E01"
    assert c.ask("m0,4") == "E14"  # page 0 is not mapped
    assert c.ask("mffffffff,10") == "E14"
    assert c.ask("m1ffffffff,4") == "E01"  # past 32 bits
    assert c.ask("M0,2:0000") == "E14" and c.ask("M100000,4:00") == "E01"
    assert c.ask("X0,1:a") == "E14"
    assert c.ask("Z0,0,4;junk") in ("OK", "E02")
    assert c.ask("Z9,0,4") == "" and c.ask("p99") == "E01" and c.ask("Hx") == "E01"
    assert c.ask("Hgp21.99") in ("E02", "E01") and c.ask("Tp21.99") == "E02"
    assert c.ask("vAttach;999") == "E02" and c.ask("QCatchSyscalls:2") == "E01"
    assert c.ask("qXfer:features:read:nosuch.xml:0,100") == "E02"
    assert c.ask("m100000,4") == "0e0000ea" or len(c.ask("m100000,4")) == 8  # still answering
    c.send_raw(b"-")  # a nak: the last packet again
    assert len(c.packet()) == 8
    c.close()


def test_no_ack_mode_registers_and_target_xml(stub_factory):
    stub = stub_factory(["hello"])
    c = Client(stub.port)
    assert c.ask("QStartNoAckMode") == "OK"
    c.send_raw(frame("?"))
    assert c.packet().startswith("T05thread:p21.1;")  # and no '+' before it
    regs = c.ask("g")
    assert len(regs) == (17 * 4 + 16 * 8 + 2 * 4) * 2
    assert regs[15 * 8 : 16 * 8] == "00001000"  # pc = 0x00100000, little-endian
    assert c.ask("p10") == "10000000"  # cpsr: user mode, ARM
    xml = c.ask("qXfer:features:read:target.xml:0,3000")
    assert xml.startswith("l") and "org.gnu.gdb.arm.core" in xml and "org.gnu.gdb.arm.vfp" in xml
    assert '"d15"' in xml and '"fpscr"' in xml and '"fpexc"' in xml and '"d16"' not in xml
    part = c.ask("qXfer:features:read:target.xml:0,10")
    assert part.startswith("m") and len(part) == 1 + 0x10  # the length is hex
    assert c.ask("p22") == "00000040"  # fpexc from the thread's register file: EN
    assert c.ask("P0=2a000000") == "OK" and c.ask("p0") == "2a000000"  # r0 = 42
    assert c.ask("P11=0100000000000080") == "OK" and c.ask("p11") == "0100000000000080"  # d0, 64 bits
    assert c.ask("P0=2a") == "E01"  # a value of the wrong width
    regs = c.ask("g")
    assert c.ask("G" + "07000000" + regs[8:]) == "OK" and c.ask("p0") == "07000000"
    assert c.ask("g")[8:] == regs[8:]  # the others as they were
    assert c.ask("qfThreadInfo") == "mp21.1" and c.ask("qsThreadInfo") == "l"
    assert c.ask("qAttached:21") == "1" and c.ask("vCont?") == "vCont;c;C;s;S;t"
    assert "<column name=\"command\">hello</column>" in c.ask("qXfer:osdata:read:processes:0,1000")
    c.close()


def test_ctrl_c_interrupts_a_running_guest(stub_factory):
    # fb runs 600 frames, about a second of host time on a fast machine: the guest is
    # interrupted twice within its first 0.15 s, far from its exit (0.3 s + 0.2 s once raced it).
    stub = stub_factory(["fb"])
    c = Client(stub.port)
    c.ask("QStartNoAckMode")
    c.send_raw(frame("vCont;c"))
    time.sleep(0.1)
    c.send_raw(b"\x03")
    reply = c.packet()
    assert reply.startswith("T02thread:p21.1;"), reply
    assert stub.target.process(32).alive and stub.emu.instructions > 0
    c.send_raw(frame("c"))  # and it goes on from there
    time.sleep(0.05)
    c.send_raw(b"\x03")
    assert c.packet().startswith("T02")
    assert stub.target.process(32).alive
    c.close()


def test_second_client_is_refused_and_first_keeps_working(stub_factory):
    stub = stub_factory(["hello"])
    first = Client(stub.port)
    assert first.ask("?").startswith("T05")
    second = Client(stub.port)
    assert "another gdb is already connected" in second.packet()
    assert second.sock.recv(100) == b""  # and closed
    second.close()
    assert first.ask("qC") == "QCp21.1"
    first.close()


def test_disconnect_while_running_stops_cleanly_under_hlemu_gdb(stub_factory):
    stub = stub_factory(["fb"])  # about a second of host time: still running after 0.1 s
    c = Client(stub.port)
    c.ask("QStartNoAckMode")
    c.send_raw(frame("c"))
    time.sleep(0.1)
    c.close()
    stub.thread.join(30)
    assert stub.result == ["disconnected"]
    assert stub.target.process(32).alive  # stopped, not ended


def test_disconnect_while_running_lets_the_guests_run_on_under_run_gdb(stub_factory):
    stub = stub_factory(["hello"], on_disconnect="run", start_running=True)
    c = Client(stub.port)
    assert c.ask("?")[:1] in ("T", "W")
    c.send_raw(frame("c"))
    c.close()
    stub.thread.join(60)
    assert stub.result == ["all exited"]
    assert stub.target.process(32).exit_code == 7


def test_exit_reply_names_the_process(stub_factory):
    stub = stub_factory(["hello"])
    c = Client(stub.port)
    assert c.ask("vCont;c") == "W07;process:21"
    c.close()


def test_vrun_and_exec_file_over_the_wire(stub_factory):
    from hlemu.guest import program_path

    stub = stub_factory([], start_running=False)  # hlemu gdb with no program: gdb's run starts one
    c = Client(stub.port)
    assert c.ask("?") == "W00"  # nothing to debug yet
    assert c.ask("vRun;") == ""  # not in extended mode: not supported
    assert c.ask("!") == "OK"
    assert c.ask("vRun;").startswith("E")  # no program named, none to run again
    assert c.ask("vRun;" + b"no-such-program".hex()).startswith("E")
    assert c.ask("vRun;" + b"hello".hex() + ";" + b"arg".hex()) == "T05thread:p21.1;"
    assert c.ask("qAttached:21") == "0"  # gdb made it: quitting gdb kills it
    assert c.ask("p0f") == "00001000"  # stopped before its first instruction
    name = c.ask("qXfer:exec-file:read:21:0,1000")
    assert name == "l" + str(program_path("hello").resolve()), name
    assert c.ask("qXfer:exec-file:read::0,1000") == name  # no annex: the current process
    assert c.ask("qXfer:exec-file:read:99:0,1000") == "E02"
    assert c.ask("vRun;") == "T05thread:p22.2;"  # empty: the last program again, a new process
    assert c.ask("vKill;21") == "OK" and c.ask("vKill;22") == "OK"
    assert c.ask("vRun;" + b"hello".hex()) == "T05thread:p23.3;"
    c.close()
