"""``gsp::Gpu``: framebuffers, GX commands, GSP interrupts and the GSP shared memory.

Follows libctru's use (3dbrew "GSP Services", "GSP Shared Memory"):
AcquireRight, RegisterInterruptRelayQueue (an event in; a thread index and
the 0x1000-byte shared memory out), SetBufferSwap with a FramebufferInfo,
and the shared-memory way modern libctru presents frames: per thread and
screen a block at 0x200 + 0x80*t (+0x40 for the bottom screen) holding an
index byte, an update flag and two FramebufferInfo entries, applied at the
screen's VBlank. Framebuffers may be in any of the five formats (RGBA8, BGR8,
RGB565, RGB5A1, RGBA4) on either screen.

Interrupts go into a thread's queue at 0x40*t (3dbrew ids: PSC0 0, PSC1 1,
VBlank0 2, VBlank1 3, PPF 4, P3D 5, DMA 6) and signal its event. Each VBlank
pushes 2 and 3 to every registered thread; the others go to the client that
holds the GPU right, the one whose GX commands raised them.

TriggerCmdReqQueue (0x000C) runs the GX command queue at 0x800 + 0x200*t of the
caller, when it holds the right: RequestDma, MemoryFill, DisplayTransfer,
TextureCopy and FlushCacheRegions are memory work done at once in the caller's
address space (:mod:`kernel.services.gx`; pixel loops in
:mod:`kernel.services.gx_kernels`); ProcessCommandList runs a list on the 3D GPU
(:mod:`hlemu.gpu`) and raises P3D when the list writes FINALIZE.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hlemu.memory import MemoryPermission
from kernel.display import Framebuffer
from kernel.objects.event import Event
from kernel.objects.memory_block import MemoryBlock
from kernel.services import Reply, Request, Service, command
from kernel.services.gx import VBLANK0, VBLANK1, GxEngine

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.objects.session import ClientSession
    from kernel.process import Process

SHARED_MEMORY_SIZE = 0x1000
MAX_THREADS = 4  # the shared memory holds four clients' queues (0x800 + 4 * 0x200)
QUEUE_SLOTS = 0x34
PDC_LIMIT = 0x20  # VBlank (PDC) ids stop queueing at 0x20 unread, the others at 0x34
VBLANK_TOP, VBLANK_BOTTOM = VBLANK0, VBLANK1
SCREENS = ("top", "bottom")
INFO_WORDS = 7  # FramebufferInfo: active, left, right, stride, format, select, attribute
MAX_STRIDE = 0x1000  # bytes from one column to the next: 240 pixels of 4 bytes need 960
INVALID_FRAMEBUFFER = 0xE0E02BEC  # GSP "out of range": a screen or framebuffer the LCD cannot show


@dataclass
class Client:
    session: ClientSession
    process: Process
    thread_index: int
    event: Event


class GspGpu(Service):
    name = "gsp::Gpu"
    max_sessions = 4

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.shared = MemoryBlock.for_service(kernel, SHARED_MEMORY_SIZE, MemoryPermission.RW, "gsp shared memory")
        self.clients: dict[int, Client] = {}  # by thread index
        self.right_holder: ClientSession | None = None
        self.lcd_black = False
        self.gx = GxEngine(kernel)
        kernel.display.vblank_listeners.append(self._on_vblank)

    # -- commands ------------------------------------------------------------------------
    @command(0x0016, normal=1, translate=2)
    def acquire_right(self, request: Request) -> Reply:
        self.right_holder = request.session
        return Reply()

    @command(0x0017)
    def release_right(self, request: Request) -> Reply:
        if self.right_holder is request.session:
            self.right_holder = None
        return Reply()

    @command(0x0013, normal=1, translate=2)
    def register_interrupt_relay_queue(self, request: Request) -> Reply:
        event = request.handles[0] if request.handles else None
        if not isinstance(event, Event):
            return Reply(result=0xD8E007F7)  # invalid handle
        # A session keeps its thread index (Azahar gives each session one for its life): registering
        # again replaces the event, and takes no second queue.
        again = [i for i, c in self.clients.items() if c.session is request.session]
        free = again or [i for i in range(MAX_THREADS) if i not in self.clients]
        if not free:
            return Reply(result=0xC8402BFE)  # too many clients (GX "out of resource")
        index = free[0]
        self.kernel.retain(event, "gsp client event")  # before the old one goes: it may be the same event
        self._drop(request.session)
        self.clients[index] = Client(request.session, request.process, index, event)
        self.shared.write(0x40 * index, bytes(0x40))
        self.kernel.display.start()
        # 0, not the 0x2A07 a first registration gets on hardware: the LCD and GPU
        # registers need no initialising here, so libctru skips its WriteHWRegs series.
        return Reply(normal=[index], copy_handles=[self.shared])

    @command(0x0014)
    def unregister_interrupt_relay_queue(self, request: Request) -> Reply:
        self._drop(request.session)
        return Reply()

    @command(0x0005, normal=8)
    def set_buffer_swap(self, request: Request) -> Reply:
        screen = request.normal[0]
        if screen > 1 or not self._apply(SCREENS[screen], request.process, request.normal[1 : 1 + INFO_WORDS]):
            return Reply(result=INVALID_FRAMEBUFFER)
        return Reply()

    @command(0x000B, normal=1)
    def set_lcd_force_black(self, request: Request) -> Reply:
        self.lcd_black = bool(request.normal[0] & 0xFF) if request.normal else False
        return Reply()

    @command(0x000C)
    def trigger_cmd_req_queue(self, request: Request) -> Reply:
        """Run the caller's queued GX commands now; their interrupts go to the caller's queue.
        Always succeeds (as in Citra); a caller without the GPU right or without a queue
        has nothing run."""
        client = next((c for c in self.clients.values() if c.session is request.session), None)
        if client is None:
            return Reply()
        if self.right_holder is not request.session:
            self.gx.refuse(client.process, "TriggerCmdReqQueue from a client without the GPU right: "
                                           "its queue is left as it is")
            return Reply()
        raised = self.gx.run_queue(self.shared, client.thread_index, client.process)
        if raised:
            self._push_interrupts(client.thread_index, tuple(raised))
            client.event.signal()
        return Reply()

    @command(0x0008, normal=2, translate=2)
    def flush_data_cache(self, request: Request) -> Reply:
        return Reply()  # the emulated CPU's writes are in memory already

    @command(0x0009, normal=2, translate=2)
    def invalidate_data_cache(self, request: Request) -> Reply:
        return Reply()

    def session_closed(self, session: ClientSession) -> None:
        self._drop(session)
        if self.right_holder is session:
            self.right_holder = None

    # -- the display's side -----------------------------------------------------------------
    def _drop(self, session: ClientSession) -> None:
        for index, client in list(self.clients.items()):
            if client.session is session:
                del self.clients[index]
                self.kernel.release_hold(client.event, "gsp client event")

    def _apply(self, screen: str, process: Process, info: list[int]) -> bool:
        """Show a FramebufferInfo (active set (0/1), left address, right address, stride,
        format/mode, select, attribute) on ``screen``; False when it cannot be shown. The
        display shows the left (2D) buffer; register sets A/B are the same to us."""
        left, stride, mode = info[1], info[3], info[4]
        if not left or not stride:
            return True  # nothing to show yet: the screen keeps what it had
        width = 400 if screen == "top" else 320
        if stride > MAX_STRIDE or left + stride * width > 1 << 32 or (mode & 7) > 4:
            return False
        self.kernel.display.set_framebuffer(screen, Framebuffer(process, left, mode & 7, stride))
        return True

    def _on_vblank(self, frame: int) -> None:
        for index, client in sorted(self.clients.items()):
            if not client.process.alive:
                continue
            for s, screen in enumerate(SCREENS):
                self._present_from_shared_memory(client, screen, 0x200 + 0x80 * index + 0x40 * s)
            self._push_interrupts(index, (VBLANK_TOP, VBLANK_BOTTOM))
            client.event.signal()

    def _present_from_shared_memory(self, client: Client, screen: str, base: int) -> None:
        head = self.shared.read(base, 4)
        if not head[1] & 1:  # no update requested
            return
        entry = head[0] & 1
        info = list(struct.unpack("<7I", self.shared.read(base + 4 + 0x1C * entry, 0x1C)))
        self._apply(screen, client.process, info)
        self.shared.write(base + 1, b"\x00")

    def _push_interrupts(self, index: int, ids: tuple[int, ...]) -> None:
        base = 0x40 * index
        first, count = self.shared.read(base, 2)
        for interrupt in ids:
            if count >= (PDC_LIMIT if interrupt in (VBLANK_TOP, VBLANK_BOTTOM) else QUEUE_SLOTS):
                self.shared.write(base + 2, b"\x01")  # the queue is full: the client missed this one
                continue
            self.shared.write(base + 0xC + (first + count) % QUEUE_SLOTS, bytes([interrupt]))
            count += 1
        self.shared.write(base + 1, bytes([count]))
