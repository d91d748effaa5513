"""IPC between guest processes, srv:, the HLE display and input services."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from keystone import KS_ARCH_ARM, KS_MODE_ARM, Ks

from hlemu.guest import program_path
from hlemu.loaders import Image, Segment
from hlemu.memory import MemoryPermission
from kernel.kernel import Kernel

BACKENDS = ["fastmem", "semifastmem"]
HERE = Path(__file__).parent


def run(names, backend, frames=None, listeners=()):
    kernel = Kernel(backend=backend, output=lambda p, line: None)
    kernel.ipc_listeners.extend(listeners)
    processes = [kernel.spawn(program_path(n)) for n in names]
    until = (lambda: kernel.display.frame >= frames) if frames else None
    result = kernel.run(max_instructions=400_000_000, until=until)
    return kernel, processes, result


def summary(processes, result):
    return {"reason": result.reason, "instructions": result.instructions,
            "processes": {p.name: {"status": p.status, "output": p.output} for p in processes}}


@pytest.mark.parametrize("backend", BACKENDS)
def test_server_and_client_agree_on_every_command(backend, snapshots):
    kernel, (server, client), result = run(["ipc_server", "ipc_client"], backend)
    assert client.output[-1] == "ipc_client: 0 failures", client.output
    assert server.output[-1] == "ipc_server: 0 failures", server.output
    assert (server.exit_code, client.exit_code) == (0, 0)
    snapshots.json(HERE / "reference" / "ipc_pair.json", summary([server, client], result))
    kernel.close()


def test_client_may_start_before_the_server_registers():
    """GetServiceHandle waits until the name is registered."""
    kernel, (client, server), _ = run(["ipc_client", "ipc_server"], "fastmem")
    assert client.output[-1] == "ipc_client: 0 failures"
    assert server.exit_code == 0
    kernel.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_memory_block_handle_travels_over_ipc(backend):
    kernel, (owner, peer), _ = run(["shmem2_owner", "shmem2_peer"], backend)
    assert owner.output[-1] == "shmem2_owner: 0 failures"
    assert peer.output[-1] == "shmem2_peer: 0 failures"
    kernel.close()


def test_the_recorder_sees_requests_and_replies_decoded():
    messages = []
    kernel, (server, client), _ = run(["ipc_server", "ipc_client"], "fastmem", listeners=[messages.append])
    to_server = [m for m in messages if m.receiver == server.pid and not m.reply]
    assert {m.command for m in to_server} >= {0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x00FF}
    adds = [m.normal for m in to_server if m.command == 0x0001 and m.sender == client.pid]
    assert [7, 35] in adds
    kinds = {d.kind for m in messages for d in m.descriptors}
    assert {"static buffer", "mapped buffer", "move handles", "pid"} <= kinds
    srv = [m for m in messages if m.service == "srv:"]
    assert any(m.command == 0x0003 for m in srv) and any(m.command == 0x0005 for m in srv)
    kernel.close()


HOSTILE = """
    ldr  r1, =name_srv
    svc  #0x2d                  @ ConnectToPort("srv:")
    mov  r4, r1
    mrc  p15, 0, r6, c13, c0, 3
    add  r6, r6, #0x80          @ command buffer
    ldr  r0, =0x00050100        @ srv:GetServiceHandle("hlm:test", 8, 0)
    str  r0, [r6]
    ldr  r0, =0x3a6d6c68        @ "hlm:"
    str  r0, [r6, #4]
    ldr  r0, =0x74736574        @ "test"
    str  r0, [r6, #8]
    mov  r0, #8
    str  r0, [r6, #12]
    mov  r0, #0
    str  r0, [r6, #16]
    mov  r0, r4
    svc  #0x32
    ldr  r5, [r6, #12]          @ the session to hlm:test
    ldr  r11, =0x00200000       @ results
    ldr  r0, =0x00010fff        @ 1: 63 normal + 63 translate words: larger than the buffer
    str  r0, [r6]
    mov  r0, r5
    svc  #0x32
    str  r0, [r11, #0]
    ldr  r0, =0x00010002        @ 2: copy one handle that does not exist
    str  r0, [r6]
    mov  r0, #0
    str  r0, [r6, #4]
    ldr  r0, =0xdead0000
    str  r0, [r6, #8]
    mov  r0, r5
    svc  #0x32
    str  r0, [r11, #4]
    ldr  r0, =0x00010002        @ 3: a PXI buffer descriptor
    str  r0, [r6]
    ldr  r0, =0x00001004
    str  r0, [r6, #4]
    mov  r0, r5
    svc  #0x32
    str  r0, [r11, #8]
    ldr  r0, =0x00010002        @ 4: a mapped buffer granting nothing
    str  r0, [r6]
    ldr  r0, =0x00001008
    str  r0, [r6, #4]
    ldr  r0, =0x00200100
    str  r0, [r6, #8]
    mov  r0, r5
    svc  #0x32
    str  r0, [r11, #12]
    ldr  r0, =0x00010080        @ 5: a good Add(7, 35): the server is still there
    str  r0, [r6]
    mov  r0, #7
    str  r0, [r6, #4]
    mov  r0, #35
    str  r0, [r6, #8]
    mov  r0, r5
    svc  #0x32
    str  r0, [r11, #16]
    ldr  r0, [r6, #8]
    str  r0, [r11, #20]
    ldr  r0, =0x00ff0000        @ Quit
    str  r0, [r6]
    mov  r0, r5
    svc  #0x32
    mov  r0, r5
    svc  #0x23
    mov  r0, #0
    svc  #3
name_srv:
    .asciz "srv:"
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_hostile_descriptors_get_errors_and_the_server_runs_on(backend):
    code = bytes(Ks(KS_ARCH_ARM, KS_MODE_ARM).asm(HOSTILE, 0x00100000)[0])
    kernel = Kernel(backend=backend, output=lambda p, line: None)
    server = kernel.spawn(program_path("ipc_server"))
    hostile = kernel.spawn(Image("hostile", 0x00100000, [Segment(0x00100000, code, 0x1000, MemoryPermission.RX),
                                                        Segment(0x00200000, b"", 0x1000, MemoryPermission.RW)]))
    kernel.run(max_instructions=50_000_000)
    words = np.frombuffer(hostile.space.peek(0x00200000, 24), "<u4").tolist()
    assert words[:4] == [0xD9001830, 0xD8E007F7, 0xD9001830, 0xD9001830]
    assert words[4:] == [0, 42]
    assert hostile.exit_code == 0 and server.exit_code == 0 and server.crash is None
    kernel.close()


FB_FRAMES = (60, 120)


def _png_pixels(path):
    from PyQt6.QtGui import QImage

    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    rows = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].copy()  # the QImage owns the memory


@pytest.mark.parametrize("backend", BACKENDS)
def test_framebuffer_demo_matches_reference_frames(backend, tmp_path, snapshots):
    kernel = Kernel(backend=backend, output=lambda p, line: None)
    fb = kernel.spawn(program_path("fb"))
    for frame in FB_FRAMES:
        kernel.run(until=lambda f=frame: kernel.display.frame >= f)
        assert kernel.display.frame == frame
        shot = tmp_path / f"fb_{frame}.png"
        kernel.display.screenshot(str(shot))
        snapshots.file(HERE / "reference" / f"fb_frame{frame}.png", shot,
                       lambda got, want: np.array_equal(_png_pixels(got), _png_pixels(want)))
    # Write tracking saw exactly the pages the demo drew: 15 a frame once it runs, every
    # fault in some frame (the open one included), and as many as the demo counted itself.
    display = kernel.display
    faults = fb.space.faults.totals()["write_track"]
    open_frame = len(display.tracker.dirty.get(fb.pid, ()))
    assert faults == sum(display.frame_pages) + open_frame
    assert set(display.frame_pages[2:]) == {15}
    reported = int([line for line in fb.output if "pages written" in line][-1].split(", ")[-1].split()[0])
    assert reported == faults  # fb prints its count after drawing the frame now open
    kernel.close()


def test_pad_input_moves_the_square(tmp_path):
    kernel = Kernel(backend="semifastmem", output=lambda p, line: None)
    kernel.spawn(program_path("fb"))
    kernel.run(until=lambda: kernel.display.frame >= 10)
    before = kernel.display.render("bottom")
    kernel.hid.pad.buttons = 1 << 4  # RIGHT
    kernel.run(until=lambda: kernel.display.frame >= 40)
    after = kernel.display.render("bottom")
    def square_x(image):
        bright = np.argwhere(image.sum(axis=2) > 600)
        return bright[:, 1].mean()
    assert square_x(after) > square_x(before) + 20
    kernel.close()
