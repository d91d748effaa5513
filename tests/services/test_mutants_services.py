"""The HLE service framework (kernel/services/__init__.py) at the IPC boundary: what a handler is
given for each kind of translate descriptor and what the client's command buffer holds after a
reply with every kind of descriptor, as 3dbrew "IPC" lays them out (libctru ipc.h:
IPC_Desc_SharedHandles / _MoveHandles / _CurProcessHandle, IPC_Desc_StaticBuffer,
IPC_Desc_Buffer). A probe service registered with srv: records the requests it gets and answers
with the reply a test gives it. Written for mutants of kernel/services/__init__.py
(scripts/mutation.py)."""

from __future__ import annotations

from kernel.objects.event import Event, ResetType
from kernel.services import PENDING, Reply, Request, Service, command
from tests.kernel.asm import SUCCESS
from tests.services.script import HEAP, Script, header

INVALID_BUFFER_DESCRIPTOR = 0xD9001830  # a static buffer the client did not set up, or too small
INVALID_COMMAND, INVALID_HEADER = 0xD900182F, 0xD9001830  # Luma3DS sysmodules: unknown command, wrong header
STATIC_OUT = HEAP + 0x210  # where the guest receives static buffer 1 (an address whose low byte is not 0)


def copy_handles(n: int) -> int:
    return (n - 1) << 26  # IPC_Desc_SharedHandles(n)


def move_handles(n: int) -> int:
    return (n - 1) << 26 | 0x10  # IPC_Desc_MoveHandles(n)


def static_buffer(size: int, sid: int) -> int:
    return size << 14 | sid << 10 | 0x2  # IPC_Desc_StaticBuffer(size, id)


def mapped_buffer(size: int, perm: int) -> int:
    return size << 4 | 0x8 | perm  # IPC_Desc_Buffer(size, rights): IPC_BUFFER_R 2, IPC_BUFFER_W 4


class Probe(Service):
    """Keeps each request; answers with ``self.reply`` (a Reply, or a function of the request)."""

    name = "hlm:prb"

    def __init__(self, kernel) -> None:
        super().__init__(kernel)
        self.requests: list[Request] = []
        self.reply = Reply()

    def _answer(self, request: Request) -> Reply:
        self.requests.append(request)
        return self.reply(request) if callable(self.reply) else self.reply

    @command(0x0001, normal=2, translate=11)
    def everything(self, request: Request) -> Reply:
        return self._answer(request)

    @command(0x0002)
    def answer(self, request: Request) -> Reply:
        return self._answer(request)

    @command(0x0003, translate=5)
    def two_handle_lists(self, request: Request) -> Reply:
        return self._answer(request)

    @command(0x0004)
    def later(self, request: Request) -> None:
        self.requests.append(request)
        return PENDING

    @command(0x0005, translate=4)
    def handles(self, request: Request) -> Reply:
        return self._answer(request)

    @command(0x0006, translate=2)
    def one_buffer(self, request: Request) -> Reply:
        return self._answer(request)


def probe(make_guest, backend: str = "semifastmem"):
    guest = make_guest(backend)
    service = Probe(guest.kernel)
    guest.kernel.srv.register_hle(service)
    s = Script().connect_srv().heap()
    s.get_service("srv_probe", Probe.name)
    return guest, service, s


def test_a_handler_gets_each_descriptor_decoded(make_guest):
    """Normal words as sent; the calling process id (IPC_Desc_CurProcessHandle, the kernel writes
    the pid); two shared handles, one of them null; a static buffer's bytes by its id; a mapped
    buffer as (client address, size, permission)."""
    guest, service, s = probe(make_guest)
    s.asm(f"ldr r1, ={HEAP:#x}\nldr r0, =0x6c6c6568\nstr r0, [r1]\nmov r0, #0x6f\nstrb r0, [r1, #4]\n")  # "hello"
    words = [header(0x1, 2, 11), 0xFFFFFFFF, 0x12345678,
             0x20, 0,  # the calling process id
             copy_handles(2), "r8", 0,
             static_buffer(5, 3), HEAP,
             mapped_buffer(0x100, 4), HEAP + 0x1000 - 0x100,
             mapped_buffer(0x30, 2), HEAP + 0x10]
    before = len(s.body)
    s.call("everything", "r8", [w if isinstance(w, int) else 0 for w in words], replies=2)
    # the probe session's own handle (r8) as the first shared handle, cmdbuf[6]
    tail = s.body[before:].replace("ldr r0, =0x0\nstr r0, [r12, #24]\n", "str r8, [r12, #24]\n", 1)
    assert tail != s.body[before:]
    s.body = s.body[:before] + tail
    process = s.run(guest)
    assert s.results(guest, process, "everything") == [SUCCESS, header(0x1, 1, 0), SUCCESS]
    [request] = service.requests
    assert request.command == 0x1
    assert request.normal == [0xFFFFFFFF, 0x12345678]
    assert request.pid == process.pid
    assert len(request.handles) == 2 and request.handles[0] is request.session and request.handles[1] is None
    assert request.static_buffers == {3: b"hello"}
    assert request.mapped_buffers == [(HEAP + 0xF00, 0x100, 4), (HEAP + 0x10, 0x30, 2)]


def test_handle_lists_one_after_another_are_all_decoded(make_guest):
    guest, service, s = probe(make_guest)
    s.call("two", "r8", [header(0x3, 0, 5), copy_handles(1), 0, copy_handles(2), 0, 0], replies=2)
    s.call("session", "r8", [header(0x3, 0, 5), copy_handles(2), 0, 0, copy_handles(1), 0], replies=2)
    process = s.run(guest)
    assert s.results(guest, process, "two") == [SUCCESS, header(0x3, 1, 0), SUCCESS]
    assert s.results(guest, process, "session") == [SUCCESS, header(0x3, 1, 0), SUCCESS]
    assert [r.handles for r in service.requests] == [[None, None, None], [None, None, None]]
    assert all(r.pid is None and not r.static_buffers and not r.mapped_buffers for r in service.requests)


def test_a_reply_with_every_descriptor_reaches_the_client_as_3dbrew_lays_it_out(make_guest):
    guest, service, s = probe(make_guest)
    event = Event(guest.kernel, ResetType.ONESHOT, name="probe event")
    service.reply = lambda request: Reply(normal=[0x11, 0xFFFFFFFF], copy_handles=[request.session, None],
                                          move_handles=[event], static_buffers=[(1, b"abcdef")],
                                          mapped_buffers=[(HEAP + 0x40, 0x100, 4)])
    s.statics({1: (0x20, STATIC_OUT), 2: (0x20, HEAP + 0x300)})  # the one after it set up too
    s.call("reply", "r8", [header(0x2, 0, 0)], replies=13)
    first = s.slot("static", 2)
    s.asm(f"ldr r1, ={STATIC_OUT:#x}\nldr r0, [r1]\nstr r0, [r11, #{4 * first}]\n"
          f"ldr r0, [r1, #4]\nstr r0, [r11, #{4 * first + 4}]\n")
    process = s.run(guest)
    r = s.results(guest, process, "reply")
    assert r[:5] == [SUCCESS, header(0x2, 3, 9), SUCCESS, 0x11, 0xFFFFFFFF]
    assert r[5] == copy_handles(2) and r[6] != 0 and r[7] == 0
    assert r[8] == move_handles(1) and r[9] not in (0, r[6])
    assert r[10:] == [static_buffer(6, 1), STATIC_OUT, mapped_buffer(0x100, 4), HEAP + 0x40]
    assert s.results(guest, process, "static") == [int.from_bytes(b"abcd", "little"), int.from_bytes(b"ef\0\0",
                                                                                                   "little")]


def test_a_reply_may_name_another_command_in_its_header(make_guest):
    guest, service, s = probe(make_guest)
    service.reply = Reply(result=0xC8A0CFEF, normal=[7], command=0x55)
    s.call("other", "r8", [header(0x2, 0, 0)], replies=3)
    process = s.run(guest)
    assert s.results(guest, process, "other") == [SUCCESS, header(0x55, 2, 0), 0xC8A0CFEF, 7]


def test_a_static_reply_fits_the_client_buffer_exactly_or_is_refused(make_guest):
    """The reply's static buffer goes where the client's receive descriptor at TLS + 0x180 + 8 * id
    says, if it is a static buffer descriptor no smaller than the data."""
    guest, service, s = probe(make_guest)
    sizes = iter([0x20, 0x21, 4])
    service.reply = lambda request: Reply(static_buffers=[(1 if request.command == 2 else 2, b"\x5A" * next(sizes))])
    s.statics({1: (0x20, STATIC_OUT)})
    s.call("exact", "r8", [header(0x2, 0, 0)], replies=4)
    s.call("too_big", "r8", [header(0x2, 0, 0)], replies=1)
    s.asm("mov r0, #0\n" + "mrc p15, 0, r12, c13, c0, 3\nadd r12, r12, #0x180\nstr r0, [r12, #16]\n")  # no id 2
    s.call("no_descriptor", "r8", [header(0x3, 0, 5), copy_handles(1), 0, copy_handles(2), 0, 0], replies=1)
    process = s.run(guest)
    assert s.results(guest, process, "exact") == [SUCCESS, header(0x2, 1, 2), SUCCESS, static_buffer(0x20, 1),
                                                  STATIC_OUT]
    assert s.results(guest, process, "too_big")[0] == INVALID_BUFFER_DESCRIPTOR
    assert s.results(guest, process, "no_descriptor")[0] == INVALID_BUFFER_DESCRIPTOR
    assert process.space.mem.read(STATIC_OUT, 0x21) == b"\x5A" * 0x20 + b"\0"


def test_a_reply_made_later_wakes_the_client_with_success_and_its_words(make_guest):
    """A handler may answer later (srv:'s GetServiceHandle for a name not registered yet): the
    client stays in SendSyncRequest until then, and then gets r0 = 0 and the reply."""
    guest = make_guest("semifastmem")
    s = Script().connect_srv()
    s.get_service("late", Probe.name)
    s.call("probe", "r8", [header(0x2, 0, 0)], replies=2)
    process = s.spawn(guest)
    assert guest.run().reason == "deadlock"
    assert process.threads[0].wait is not None
    guest.kernel.srv.register_hle(Probe(guest.kernel))
    assert guest.run().reason == "all exited", guest.text()
    late = s.results(guest, process, "late")
    assert late[:4] == [SUCCESS, header(0x5, 1, 2), SUCCESS, move_handles(1)] and late[4] != 0
    assert s.results(guest, process, "probe") == [SUCCESS, header(0x2, 1, 0), SUCCESS]


def test_the_recorder_sees_the_request_and_the_reply_of_an_hle_service(make_guest):
    """An HLE service has no process: the request goes to receiver -1 and the reply comes from
    sender -1; the reply carries the result first, then its words, its descriptors, the
    command's name (the handler's, in CamelCase, for a service with no documented names) and
    the request it answers."""
    guest, service, s = probe(make_guest)
    messages = []
    guest.kernel.ipc_listeners.append(messages.append)
    service.reply = lambda request: Reply(normal=[5], copy_handles=[request.session])
    s.call("answer", "r8", [header(0x2, 0, 0)], replies=2)
    process = s.run(guest)
    [reply] = [m for m in messages if m.service == Probe.name and m.reply]
    [request] = [m for m in messages if m.service == Probe.name and not m.reply]
    assert (request.sender, request.receiver, request.command, request.name) == (process.pid, -1, 0x2, "Answer")
    assert (reply.sender, reply.receiver, reply.command, reply.name) == (-1, process.pid, 0x2, "Answer")
    assert (reply.normal, reply.result, reply.status) == ([SUCCESS, 5], SUCCESS, "")
    assert [d.kind for d in reply.descriptors] == ["copy handles"]
    assert reply.request is request


def test_unknown_commands_and_wrong_headers_are_answered_without_the_handler(make_guest):
    """An unknown command gets INVALID_COMMAND under its own id; a known one with another header
    INVALID_HEADER under the reply header 0x40 (command 0, one word), as Luma3DS's system modules
    answer; neither reaches the handler, and neither keeps the handles it carried."""
    guest, service, s = probe(make_guest)
    s.call("unknown", "r8", [header(0x9, 0, 2), copy_handles(1), 0], replies=2)
    s.call("wrong", "r8", [header(0x2, 0, 2), copy_handles(1), 0], replies=2)
    before = len(s.body)
    s.call("unknown_with_session", "r8", [header(0x9, 0, 2), copy_handles(1), 0], replies=2)
    s.call("wrong_with_session", "r8", [header(0x2, 0, 2), copy_handles(1), 0], replies=2)
    s.body = s.body[:before] + s.body[before:].replace("ldr r0, =0x0\nstr r0, [r12, #8]\n", "str r8, [r12, #8]\n")
    process = s.run(guest)
    assert s.results(guest, process, "unknown") == [SUCCESS, header(0x9, 1, 0), INVALID_COMMAND]
    assert s.results(guest, process, "wrong") == [SUCCESS, 0x40, INVALID_HEADER]
    assert s.results(guest, process, "unknown_with_session") == [SUCCESS, header(0x9, 1, 0), INVALID_COMMAND]
    assert s.results(guest, process, "wrong_with_session") == [SUCCESS, 0x40, INVALID_HEADER]
    assert service.requests == []
    assert not [key for key, count in guest.kernel.holds.items() if key[1] == "ipc message" and count]


def test_a_request_with_a_bad_descriptor_moves_nothing(make_guest):
    """Every descriptor is checked before any is acted on: a moved handle ahead of a descriptor
    the kernel refuses (type 0x4, a PXI buffer) stays the client's."""
    guest, service, s = probe(make_guest)
    first = s.slot("event", 4)
    s.asm("mov r1, #0\nsvc 0x17   @ CreateEvent(ONESHOT)\n" + f"str r1, [r11, #{4 * first}]\n")
    before = len(s.body)
    s.call("bad", "r8", [header(0x5, 0, 4), move_handles(1), 0, 0x4, HEAP], replies=1)
    s.body = s.body[:before] + s.body[before:].replace(
        "ldr r0, =0x0\nstr r0, [r12, #8]\n", f"ldr r0, [r11, #{4 * first}]\nstr r0, [r12, #8]\n", 1)
    s.asm(f"ldr r0, [r11, #{4 * first}]\nsvc 0x18   @ SignalEvent\nstr r0, [r11, #{4 * (first + 1)}]\n"
          f"ldr r0, [r11, #{4 * first}]\nsvc 0x23   @ CloseHandle\nstr r0, [r11, #{4 * (first + 2)}]\n")
    process = s.run(guest)
    assert s.results(guest, process, "bad")[0] == INVALID_BUFFER_DESCRIPTOR
    assert s.results(guest, process, "event")[1:3] == [SUCCESS, SUCCESS]  # the handle is still there
    assert service.requests == []
    assert not [key for key, count in guest.kernel.holds.items() if key[1] == "ipc message" and count]


def test_a_later_reply_that_cannot_reach_the_client_wakes_it_with_the_error(make_guest):
    guest, service, s = probe(make_guest)
    s.call("later", "r8", [header(0x4, 0, 0)], replies=1)
    process = s.spawn(guest)
    assert guest.run().reason == "deadlock"
    [request] = service.requests
    service.complete(request, Reply(static_buffers=[(5, b"xyz")]))  # the client set up no static buffer 5
    assert guest.run().reason == "all exited", guest.text()
    assert s.results(guest, process, "later")[0] == INVALID_BUFFER_DESCRIPTOR



def test_a_mapped_buffer_s_permission_is_bits_1_and_2_of_its_descriptor(make_guest):
    """libctru ipc.h: IPC_Desc_Buffer(size, rights) = size << 4 | 8 | rights, the rights
    IPC_BUFFER_R = BIT(1) and IPC_BUFFER_W = BIT(2); bit 0 is none of them."""
    guest, service, s = probe(make_guest)
    s.call("odd", "r8", [header(0x6, 0, 2), mapped_buffer(0x20, 2) | 1, HEAP], replies=2)
    process = s.run(guest)
    assert s.results(guest, process, "odd")[2] == SUCCESS
    assert service.requests[0].mapped_buffers == [(HEAP, 0x20, 2)]


def test_each_handle_is_the_object_it_names(make_guest):
    guest, service, s = probe(make_guest)
    before = len(s.body)
    s.call("two", "r8", [header(0x5, 0, 4), copy_handles(1), 0, copy_handles(1), 0], replies=2)
    tail = s.body[before:].replace("ldr r0, =0x0\nstr r0, [r12, #8]\n", "str r9, [r12, #8]\n", 1)
    s.body = s.body[:before] + tail.replace("ldr r0, =0x0\nstr r0, [r12, #16]\n", "str r8, [r12, #16]\n", 1)
    process = s.run(guest)
    assert s.results(guest, process, "two")[2] == SUCCESS
    [request] = service.requests
    assert request.handles[1] is request.session  # r8, the probe's session
    assert request.handles[0] is not request.session and request.handles[0] is not None  # r9, srv:'s
