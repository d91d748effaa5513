"""gsp::Gpu's commands and its shared memory, the handlers called directly (kernel/services/gsp.py).

The facts, from libctru (source/services/gspgpu.c, include/3ds/services/gspgpu.h) and Azahar
(hle/service/gsp/gsp_gpu.cpp, gsp_interrupt.h), 3dbrew "GSP Services" and "GSP Shared Memory":

* RegisterInterruptRelayQueue (0x0013) takes an event and answers a thread index and the 0x1000-byte
  shared memory; a bad handle is the kernel's 0xD8E007F7 (invalid handle).
* the interrupt queue of thread index t is the 0x40 bytes at 0x40 * t: byte 0 the index of the first
  unread entry, byte 1 the count, byte 2 the error flag (1: queue full, Azahar queue_full_error),
  entries from 0xC in a ring of 0x34 (libctru popInterrupt: ``if (cur >= 0x34) cur -= 0x34``); VBlank
  (PDC) ids stop queueing at 0x20 unread (Azahar stop_queuing_pdc_threeshold). Ids: PSC0 0, PSC1 1,
  VBlank0 2, VBlank1 3, PPF 4, P3D 5, DMA 6.
* a presented frame: per thread index t and screen s the block at 0x200 + 0x80 * t + 0x40 * s, byte 0
  the entry to show (0/1), byte 1 the update flag, then two 0x1C-byte FramebufferInfo entries (active,
  left address, right address, stride, format, select, attribute); libctru's gspPresentBuffer sets the
  flag and GSP clears it at the screen's VBlank. Format: the low 3 bits of the mode word (libctru's
  gfx.c ORs in BIT(5), BIT(6) and 1 << 8 or 3 << 8 above them); 0-4 are RGBA8, BGR8, RGB565,
  RGB5A1, RGBA4. A framebuffer GSP cannot show is 0xE0E02BEC (Azahar ResultRegsInvalidSize: GX,
  InvalidArgument, Usage, InvalidSize).
* SetLcdForceBlack (0x000B) takes a bool (Azahar ``rp.Pop<bool>()``: its low byte).
* TriggerCmdReqQueue (0x000C) runs the caller's GX queue (at 0x800 + 0x200 * t) when it holds the
  right (AcquireRight 0x0016, ReleaseRight 0x0017); its interrupts go to the caller's queue.

Written for mutants of kernel/services/gsp.py (scripts/mutation.py)."""

from __future__ import annotations

import struct

import pytest

from hlemu.loaders import Image, Segment
from hlemu.memory import MemoryPermission
from kernel.kernel import Kernel
from kernel.objects.event import Event, ResetType
from kernel.objects.mutex import Mutex
from kernel.services import Request
from kernel.services.gsp import GspGpu
from tests.kernel.asm import assemble

SUCCESS = 0
INVALID_HANDLE = 0xD8E007F7
INVALID_FRAMEBUFFER = 0xE0E02BEC
PSC0, VBLANK0, VBLANK1, PPF = 0, 2, 3, 4
FB = 0x00200000  # read-write memory for framebuffers and GX buffers
FB_SIZE = 0x100000
TOP_STRIDE, BOTTOM_STRIDE = 240 * 3, 240 * 2  # BGR8, RGB565 columns of 240 pixels


class Session:
    """A client session as the handlers see it: something compared by identity."""


@pytest.fixture
def env():
    kernel = Kernel(backend="semifastmem", output=lambda _p, _line: None)
    kernel.spawn(Image("gsp", 0x00100000, [
        Segment(0x00100000, assemble("b ."), 0x1000, MemoryPermission.RX),
        Segment(FB, b"", FB_SIZE, MemoryPermission.RW)]))
    yield kernel, kernel.threads[0]
    kernel.close()


def call(env, command: int, normal: list[int], session: object, handles: list | None = None):
    kernel, thread = env
    request = Request(session, thread, command, normal, handles=handles or [])  # type: ignore[arg-type]
    return GspGpu.commands[command](kernel.gsp, request)


def event(env) -> Event:
    return Event(env[0], ResetType.ONESHOT)


def register(env, session: object, ev: Event | None = None):
    return call(env, 0x0013, [1], session, [ev if ev is not None else event(env)])


def queue(env, index: int) -> tuple[int, int, int, bytes]:
    """Thread index ``index``'s interrupt queue: first, count, error flag and the 0x34 entries."""
    data = env[0].gsp.shared.read(0x40 * index, 0x40)
    return data[0], data[1], data[2], data[0xC:0x40]


def shown(env, screen: str):
    fb = env[0].display.screens[screen].framebuffer
    return None if fb is None else (fb.vaddr, fb.format, fb.stride)


def info(left: int, stride: int, mode: int, active: int = 0) -> list[int]:
    return [active, left, 0, stride, mode, active, 0]


# -- RegisterInterruptRelayQueue ------------------------------------------------------------------

def test_registering_gives_thread_indices_from_0_and_the_shared_memory(env):
    kernel, _ = env
    sessions = [Session() for _ in range(4)]
    replies = [register(env, s) for s in sessions]
    assert [(r.result, r.normal) for r in replies] == [(SUCCESS, [i]) for i in range(4)]
    assert all(r.copy_handles == [kernel.gsp.shared] for r in replies)
    assert kernel.gsp.shared.size == 0x1000


def test_a_thread_index_freed_by_unregistering_is_given_again_first(env):
    a, b, c = Session(), Session(), Session()
    register(env, a)
    register(env, b)
    assert call(env, 0x0014, [], a).result == SUCCESS  # UnregisterInterruptRelayQueue
    assert register(env, c).normal == [0]
    assert register(env, Session()).normal == [2]


def test_registering_again_keeps_the_session_s_index_and_takes_the_new_event(env):
    """Azahar gives a session its thread index when it connects (SessionData: GetUnusedThreadId) and
    RegisterInterruptRelayQueue only replaces its event: a second registration is no second queue."""
    kernel, _ = env
    a = Session()
    old, new = event(env), event(env)
    assert register(env, a, old).normal == [0]
    assert register(env, a, new).normal == [0]
    assert register(env, Session()).normal == [1]
    kernel.gsp._on_vblank(1)
    assert new.signaled and not old.signaled
    assert register(env, a, new).normal == [0]  # the same event again: still held, still signalled
    new.clear()
    kernel.gsp._on_vblank(2)
    assert new.signaled


def test_a_fifth_client_gets_no_queue_and_the_four_keep_theirs(env):
    kernel, _ = env
    for _ in range(4):
        register(env, Session())
    kernel.gsp.shared.write(0, bytes(range(0x40)) * 4)
    reply = register(env, Session())
    assert reply.result != SUCCESS and reply.copy_handles == [] and reply.normal == []
    assert kernel.gsp.shared.read(0, 0x100) == bytes(range(0x40)) * 4


def test_registering_clears_only_that_thread_s_queue(env):
    kernel, _ = env
    register(env, Session())
    kernel.gsp.shared.write(0, b"\xAA" * 0x100)
    register(env, Session())  # index 1
    assert kernel.gsp.shared.read(0, 0x40) == b"\xAA" * 0x40
    assert kernel.gsp.shared.read(0x40, 0x40) == bytes(0x40)
    assert kernel.gsp.shared.read(0x80, 0x80) == b"\xAA" * 0x80


@pytest.mark.parametrize("handle", ["none", "mutex"])
def test_registering_without_an_event_is_an_invalid_handle(env, handle):
    kernel, _ = env
    handles = [] if handle == "none" else [Mutex(kernel, None)]
    reply = call(env, 0x0013, [1], Session(), handles)
    assert (reply.result, reply.normal, reply.copy_handles) == (INVALID_HANDLE, [], [])
    assert register(env, Session()).normal == [0]  # no index was taken


def test_registering_starts_the_vblanks(env):
    kernel, _ = env
    assert not kernel.display.running
    register(env, Session())
    assert kernel.display.running


# -- VBlank: interrupts and presented frames ----------------------------------------------------

def test_each_vblank_queues_vblank0_and_vblank1_for_every_client_and_signals_it(env):
    kernel, _ = env
    events = [event(env) for _ in range(2)]
    for ev in events:
        register(env, Session(), ev)
    kernel.gsp._on_vblank(1)
    for index in range(2):
        first, count, error, entries = queue(env, index)
        assert (first, count, error, entries[:3]) == (0, 2, 0, bytes([VBLANK0, VBLANK1, 0]))
    assert all(ev.signaled for ev in events)
    kernel.gsp._on_vblank(2)
    assert queue(env, 0)[1:3] == (4, 0) and queue(env, 0)[3][:4] == bytes([2, 3, 2, 3])


def test_a_vblank_skips_a_client_whose_process_has_ended(env):
    kernel, _ = env
    ev = event(env)
    register(env, Session(), ev)
    kernel.end_process(kernel.gsp.clients[0].process, 0)
    kernel.gsp._on_vblank(1)
    assert queue(env, 0)[:3] == (0, 0, 0) and not ev.signaled


def test_queued_entries_wrap_around_the_0x34_slot_ring(env):
    kernel, _ = env
    register(env, Session())
    kernel.gsp.shared.write(0, bytes([0x32, 1]))  # one unread entry in slot 0x32
    kernel.gsp._on_vblank(1)
    first, count, error, entries = queue(env, 0)
    assert (first, count, error) == (0x32, 3, 0)
    assert entries[0x33] == VBLANK0 and entries[0] == VBLANK1


def test_vblanks_stop_queueing_at_0x20_unread_and_flag_the_miss(env):
    kernel, _ = env
    register(env, Session())
    kernel.gsp.shared.write(0, bytes([0, 0x1F]))
    kernel.gsp._on_vblank(1)
    first, count, error, entries = queue(env, 0)
    assert (first, count, error) == (0, 0x20, 1)
    assert entries[0x1F] == VBLANK0 and entries[0x20] == 0


def test_other_interrupts_queue_up_to_0x34(env):
    kernel, _ = env
    register(env, Session())
    kernel.gsp.shared.write(0, bytes([0, 0x32]))
    kernel.gsp._push_interrupts(0, (PPF, PPF, PSC0))
    first, count, error, entries = queue(env, 0)
    assert (first, count, error) == (0, 0x34, 1)
    assert entries[0x32:0x34] == bytes([PPF, PPF])
    assert entries[0] == 0


def test_interrupts_go_to_the_queue_of_their_thread_index(env):
    kernel, _ = env
    for _ in range(3):
        register(env, Session())
    kernel.gsp._push_interrupts(2, (PPF,))
    assert [queue(env, i)[1] for i in range(3)] == [0, 0, 1]
    assert queue(env, 2)[3][0] == PPF


def present(env, index: int, screen: int, head: bytes, entries: list[list[int]]) -> int:
    """Write a presentation block as gspPresentBuffer does; its address."""
    block = 0x200 + 0x80 * index + 0x40 * screen
    env[0].gsp.shared.write(block, head + b"".join(struct.pack("<7I", *e) for e in entries))
    return block


def test_a_vblank_shows_the_entry_a_client_presented_and_clears_its_flag(env):
    kernel, _ = env
    register(env, Session())
    register(env, Session())
    top = present(env, 1, 0, bytes([1, 1, 0, 0]), [info(FB + 0x80000, TOP_STRIDE, 0), info(FB, TOP_STRIDE, 1)])
    bottom = present(env, 1, 1, bytes([0, 1, 0, 0]),
                     [info(FB + 0x40000, BOTTOM_STRIDE, 2 | 1 << 6 | 3 << 8), info(FB, 0x100, 4)])
    kernel.gsp._on_vblank(1)
    assert shown(env, "top") == (FB, 1, TOP_STRIDE)
    assert shown(env, "bottom") == (FB + 0x40000, 2, BOTTOM_STRIDE)
    assert kernel.gsp.shared.read(top, 2) == b"\x01\x00" and kernel.gsp.shared.read(bottom, 2) == b"\x00\x00"


def test_a_block_without_its_update_flag_is_not_shown(env):
    kernel, _ = env
    register(env, Session())
    block = present(env, 0, 0, bytes([0, 2, 0, 0]), [info(FB, TOP_STRIDE, 1)])  # bit 0 of the flag clear
    kernel.gsp._on_vblank(1)
    assert shown(env, "top") is None
    assert kernel.gsp.shared.read(block, 2) == b"\x00\x02"


# -- SetBufferSwap --------------------------------------------------------------------------------

def swap(env, screen: int, words: list[int]):
    return call(env, 0x0005, [screen, *words], Session())


def test_set_buffer_swap_shows_the_framebuffer_on_the_screen_it_names(env):
    assert swap(env, 0, info(FB, TOP_STRIDE, 1 | 1 << 6)).result == SUCCESS
    assert swap(env, 1, info(FB + 0x40000, BOTTOM_STRIDE, 2)).result == SUCCESS
    assert shown(env, "top") == (FB, 1, TOP_STRIDE)
    assert shown(env, "bottom") == (FB + 0x40000, 2, BOTTOM_STRIDE)


def test_set_buffer_swap_to_a_third_screen_is_refused(env):
    assert swap(env, 2, info(FB, TOP_STRIDE, 1)).result == INVALID_FRAMEBUFFER
    assert shown(env, "top") is None and shown(env, "bottom") is None


@pytest.mark.parametrize("missing", ["address", "stride"])
def test_no_address_or_no_stride_keeps_what_the_screen_showed(env, missing):
    swap(env, 0, info(FB, TOP_STRIDE, 1))
    words = info(0, TOP_STRIDE, 2) if missing == "address" else info(FB + 0x1000, 0, 2)
    assert swap(env, 0, words).result == SUCCESS
    assert shown(env, "top") == (FB, 1, TOP_STRIDE)


@pytest.mark.parametrize("fmt", range(5))
def test_every_format_0_to_4_is_shown_and_5_to_7_refused(env, fmt):
    assert swap(env, 1, info(FB, 0x3C0, fmt)).result == SUCCESS
    assert shown(env, "bottom") == (FB, fmt, 0x3C0)
    for bad in (5, 6, 7):
        assert swap(env, 1, info(FB + 0x1000, 0x3C0, bad | 1 << 6)).result == INVALID_FRAMEBUFFER
    assert shown(env, "bottom") == (FB, fmt, 0x3C0)


def test_a_stride_up_to_0x1000_is_shown_and_a_longer_one_refused(env):
    assert swap(env, 1, info(FB, 0x1000, 0)).result == SUCCESS
    assert swap(env, 1, info(FB, 0x1001, 0)).result == INVALID_FRAMEBUFFER
    assert shown(env, "bottom") == (FB, 0, 0x1000)


@pytest.mark.parametrize(("screen", "width"), [(0, 400), (1, 320)])
def test_a_framebuffer_must_end_within_the_32_bit_address_space(env, screen, width):
    """Its last column ends at left + stride * width (400 columns on the top screen, 320 below)."""
    stride = 0x1000
    assert swap(env, screen, info((1 << 32) - stride * width, stride, 0)).result == SUCCESS
    assert swap(env, screen, info((1 << 32) - stride * width + 0x10, stride, 0)).result == INVALID_FRAMEBUFFER
    assert shown(env, ("top", "bottom")[screen]) == ((1 << 32) - stride * width, 0, stride)


# -- SetLcdForceBlack -----------------------------------------------------------------------------

def test_set_lcd_force_black_blacks_out_both_screens_until_it_is_cleared(env):
    """libctru's gfxExit calls SetLcdForceBlack(1) and gfxInit SetLcdForceBlack(0) (gfx.c); Azahar
    fills both LCDs with the colour fill while it is set."""
    kernel, thread = env
    thread.process.space.mem.write(FB, bytes(range(1, 256)) * 0x600)  # no black pixel in the first 0x5FA00
    swap(env, 0, info(FB, TOP_STRIDE, 1))
    swap(env, 1, info(FB, BOTTOM_STRIDE, 2))
    before = {screen: kernel.display.render(screen) for screen in ("top", "bottom")}
    assert all((image.any(axis=2)).all() for image in before.values())  # a fresh GSP shows the frames
    call(env, 0x000B, [1], Session())
    assert not any(kernel.display.render(screen).any() for screen in ("top", "bottom"))
    assert not kernel.display.render_columns("top", 10, 20).any()
    call(env, 0x000B, [0], Session())
    assert all((kernel.display.render(screen) == before[screen]).all() for screen in ("top", "bottom"))


def test_set_lcd_force_black_takes_the_low_byte_of_its_bool(env):
    kernel, _ = env
    for word, black in [(1, True), (0, False), (0xFF, True), (0x100, False), (0x80, True)]:
        assert call(env, 0x000B, [word], Session()).result == SUCCESS
        assert kernel.gsp.lcd_black is black, hex(word)


# -- the GPU right and TriggerCmdReqQueue -------------------------------------------------------

QUEUE = 0x800  # thread index t's GX command queue at 0x800 + 0x200 * t


def queue_fill(env, index: int, value: int) -> None:
    """One GX MemoryFill of FB .. FB + 8 with ``value`` in thread index ``index``'s command queue."""
    base = QUEUE + 0x200 * index
    env[0].gsp.shared.write(base, bytes([0, 1, 0, 0]))
    env[0].gsp.shared.write(base + 0x20, struct.pack("<8I", 0x01000102, FB, value, FB + 8, 0, 0, 0, 0x201))


def fb_word(env) -> int:
    return env[0].processes[min(env[0].processes)].space.mem.read32(FB)


def test_the_right_holder_s_queue_runs_and_its_interrupts_reach_its_thread_index(env):
    kernel, _ = env
    a, b = Session(), Session()
    register(env, a)
    ev = event(env)
    register(env, b, ev)  # index 1
    call(env, 0x0016, [0], b)  # AcquireRight
    queue_fill(env, 1, 0x1234)
    assert call(env, 0x000C, [], b).result == SUCCESS
    assert fb_word(env) == 0x1234
    assert queue(env, 1)[:3] == (0, 1, 0) and queue(env, 1)[3][0] == PSC0
    assert queue(env, 0)[1] == 0
    assert ev.signaled


def test_without_the_right_the_queue_is_left_as_it_is(env):
    kernel, _ = env
    a, b = Session(), Session()
    register(env, a)
    ev = event(env)
    register(env, b, ev)
    call(env, 0x0016, [0], a)
    queue_fill(env, 1, 0x1234)
    assert call(env, 0x000C, [], b).result == SUCCESS
    assert fb_word(env) == 0
    assert kernel.gsp.shared.read(QUEUE + 0x200, 4) == bytes([0, 1, 0, 0])
    assert queue(env, 1)[1] == 0 and not ev.signaled


def test_a_client_without_a_queue_has_nothing_run(env):
    kernel, _ = env
    a = Session()
    call(env, 0x0016, [0], a)
    queue_fill(env, 0, 0x1234)
    assert call(env, 0x000C, [], a).result == SUCCESS
    assert fb_word(env) == 0


def test_a_queue_that_raises_nothing_signals_nothing(env):
    kernel, _ = env
    a = Session()
    ev = event(env)
    register(env, a, ev)
    call(env, 0x0016, [0], a)
    kernel.gsp.shared.write(QUEUE, bytes([0, 1, 0, 0]))
    kernel.gsp.shared.write(QUEUE + 0x20, struct.pack("<8I", 5, FB, 0x100, 0, 0, 0, 0, 0))  # FlushCacheRegions
    assert call(env, 0x000C, [], a).result == SUCCESS
    assert queue(env, 0)[1] == 0 and not ev.signaled


def test_release_right_by_another_client_leaves_the_holder_its_right(env):
    a, b = Session(), Session()
    register(env, a)
    call(env, 0x0016, [0], a)
    assert call(env, 0x0017, [], b).result == SUCCESS
    queue_fill(env, 0, 0x55)
    call(env, 0x000C, [], a)
    assert fb_word(env) == 0x55


def test_release_right_by_the_holder_gives_it_up(env):
    a = Session()
    register(env, a)
    call(env, 0x0016, [0], a)
    call(env, 0x0017, [], a)
    queue_fill(env, 0, 0x55)
    call(env, 0x000C, [], a)
    assert fb_word(env) == 0


def test_a_closed_session_loses_its_queue_and_its_right(env):
    kernel, _ = env
    a, b = Session(), Session()
    register(env, a)
    call(env, 0x0016, [0], a)
    kernel.gsp.session_closed(b)  # another session's close changes nothing
    queue_fill(env, 0, 0x66)
    call(env, 0x000C, [], a)
    assert fb_word(env) == 0x66
    kernel.gsp.session_closed(a)
    assert register(env, Session()).normal == [0]
    assert kernel.gsp.right_holder is None
