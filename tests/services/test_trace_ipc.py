"""What a service did with each request, by name: --trace-ipc lines, the recorder's notes
(unimplemented, stubbed, refused) and srv:'s answer for system services hlemu lacks."""

from __future__ import annotations

import pytest

from hlemu.guest import program_path
from kernel.ipc_trace import IpcTrace
from kernel.kernel import Kernel
from kernel.service_names import SYSTEM_SERVICES, command_name
from kernel.services.srv import NOT_ALLOWED
from tests.kernel.asm import SUCCESS
from tests.services.script import Script, header, name_words

INVALID_COMMAND = 0xD900182F


def traced(guest):
    messages = []
    guest.kernel.ipc_listeners += [IpcTrace(guest.kernel), messages.append]
    return messages


def trace_lines(guest):
    return [line for _, line in guest.lines if line.startswith("[ipc]")]


def test_each_answered_request_is_one_line_with_names_arguments_and_result(make_guest):
    guest = make_guest("semifastmem")
    traced(guest)
    s = Script().connect_srv()
    s.get_service("srv_apt", "APT:U")
    s.call("lock", "r8", [header(0x1, 1, 0), 0], replies=6)  # GetLockHandle(0)
    s.call("notify", "r8", [header(0x43, 1, 0), 0x300], replies=2)  # NotifyToWait(app id): stubbed
    s.call("unknown", "r8", [header(0x42, 2, 0), 1, 30], replies=3)  # SleepSystem: not implemented
    s.call("bad_header", "r8", [header(0x1, 0, 0)], replies=3)  # GetLockHandle without its word
    s.run(guest)
    lines = trace_lines(guest)
    assert lines[0] == "[ipc] srv: RegisterClient(pid 0x20) -> ok"
    assert lines[1].startswith('[ipc] srv: GetServiceHandle("APT:U", 0x0) -> ok: move handles 0x')
    assert lines[2].startswith("[ipc] APT:U GetLockHandle(0x0) -> ok: ")
    assert lines[3] == "[ipc] APT:U NotifyToWait(0x300) -> ok (stubbed)"
    assert lines[4] == "[ipc] APT:U SleepSystem(0x1, 0x1e) -> 0xd900182f (unimplemented)"
    assert lines[5] == "[ipc] APT:U GetLockHandle() -> 0xd9001830 (refused: header 0x00010000)"
    assert "[hlemu] APT:U: SleepSystem (0x0042) unimplemented" in guest.text()


def test_the_recorder_marks_replies_with_the_command_name_and_what_was_not_done(make_guest):
    guest = make_guest("fastmem")
    messages = []
    guest.kernel.ipc_listeners.append(messages.append)
    s = Script().connect_srv()
    s.get_service("srv_apt", "APT:A")
    s.call("notify", "r8", [header(0x43, 1, 0), 0x300], replies=2)  # NotifyToWait: stubbed
    s.call("unknown", "r8", [header(0x58, 0, 0)], replies=2)  # GetProgramID: not implemented
    s.run(guest)
    replies = [m for m in messages if m.reply and m.service == "APT:A"]
    assert [(m.name, m.status, m.result) for m in replies] == [
        ("NotifyToWait", "stubbed", SUCCESS), ("GetProgramID", "unimplemented", INVALID_COMMAND)]
    assert all(m.request is not None and m.request.command == m.command for m in replies)


@pytest.mark.parametrize("name", ["soc:U", "csnd:SND", "am:u"])
def test_a_system_service_hlemu_lacks_is_refused_at_once_not_waited_for(make_guest, name):
    assert name in SYSTEM_SERVICES
    guest = make_guest("semifastmem")
    traced(guest)
    s = Script().connect_srv()
    s.call("get", "r9", [header(0x5, 4, 0), *name_words(name), len(name), 0], replies=2)
    process = s.run(guest)  # ends: nothing waits forever
    assert s.results(guest, process, "get") == [SUCCESS, header(0x5, 1, 0), NOT_ALLOWED]
    assert f"GetServiceHandle({name!r}): a 3DS system service hlemu does not provide" in guest.text()
    assert trace_lines(guest)[-1] == (f'[ipc] srv: GetServiceHandle("{name}", 0x0) -> 0xd8e06406 '
                                      "(not provided by hlemu)")


def test_a_name_no_system_module_has_still_waits_for_its_registration(make_guest):
    guest = make_guest("fastmem")
    s = Script().connect_srv()
    s.call("get", "r9", [header(0x5, 4, 0), *name_words("my:svc"), 6, 0], replies=2)
    process = s.spawn(guest)
    result = guest.run()
    assert result.reason == "deadlock"
    assert process.threads[0].wait is not None
    assert "GetServiceHandle('my:svc')" in process.threads[0].wait.note


def test_guest_to_guest_requests_are_traced_under_the_registered_name():
    lines = []
    kernel = Kernel(output=lambda p, line: lines.append(line), trace_ipc=True)
    for name in ("ipc_server", "ipc_client"):
        kernel.spawn(program_path(name))
    kernel.run(max_instructions=50_000_000)
    assert "[ipc] hlm:test command 0x0001(0x4d2, 0x10e1) -> ok: 0x15b3" in lines
    assert any(line.startswith('[ipc] srv: RegisterService("hlm:test", 0x4) -> ok: move handles') for line in lines)
    kernel.close()


def test_command_names_cover_every_implemented_command_with_a_documented_name():
    assert command_name("APT:S", 0x0102) == "CheckNew3DS"
    assert command_name("fs:USER file", 0x0802) == "Read"
    assert command_name("fs:USER directory", 0x0801) == "Read"
    assert command_name("ptm:sysm", 0x0007) == "GetBatteryLevel"  # ptm:sysm offers ptm:u's commands
    assert command_name("ptm:sysm", 0x0818) == "ConfigureNew3DSCPU"
    assert command_name("no:such", 0x12) == "command 0x0012"
