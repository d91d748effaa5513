"""GX commands: the work gsp::Gpu's TriggerCmdReqQueue takes from a client's command queue.

The queue (3dbrew "GSP Shared Memory"; libctru ``gspSubmitGxCommand``) is in GSP shared
memory at 0x800 + 0x200 * t for thread index t: a header word (byte 0 the index of the
next command, byte 1 how many are queued, byte 2 the status: 1 stopped, 0x80 a command
failed; byte 3 non-zero asks GSP to stop), at +4 the error code of the last command that
failed, and from +0x20 fifteen 0x20-byte commands. GSP takes a command, advances the index
(mod 15) and lowers the count *before* running it, so a client that finds the count 0
after adding one knows it must trigger again (libctru triggers when its add made it 1).

Commands (word 0 low byte; words 1-7 as 3dbrew "GSP Shared Memory" and libctru ``gx.c``):

====  ==================  ===========================================  =============
id    command             does                                         raises
====  ==================  ===========================================  =============
0x00  RequestDma          copies ``size`` bytes, src -> dst             DMA (6)
0x01  ProcessCommandList  the 3D GPU (PICA200) runs it: hlemu.gpu      P3D (5)
0x02  MemoryFill          up to two fills of 16/24/32-bit patterns      PSC0 / PSC1
0x03  DisplayTransfer     tile/untile, convert formats, flip, downscale  PPF (4)
0x04  TextureCopy         raw copy in lines with input/output gaps     PPF (4)
0x05  FlushCacheRegions   nothing to do: memory is coherent here        nothing
====  ==================  ===========================================  =============

Addresses are the calling process's virtual addresses (GSP converts them to physical
ones). Every buffer is checked against the process's page table before a byte moves:
all of it must be mapped memory (not MMIO) with read permission for sources and write
permission for destinations. A bad command moves nothing, raises nothing, marks the queue
header (status 0x80, the error code at +4) and is reported in the process's log; the
queue goes on with the next command. The transfer engine takes addresses in 8-byte units
(its registers hold ``address >> 3``), so MemoryFill, DisplayTransfer and TextureCopy
ignore the low 3 bits of theirs, as the hardware does.

Interrupts are raised when the command finishes, which here is at once: GSP runs the whole
queue inside TriggerCmdReqQueue, so results are in memory when the reply arrives.
libctru's waits (``gspWaitForPPF`` and the like) wait first and clear after, so they see an
interrupt that came early.
"""

from __future__ import annotations

import logging
import struct
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hlemu.gpu import GpuFault, GpuMemory, Pica
from hlemu.memory import GuestFault, MemoryPermission, SpecialKind
from kernel.ipc import has_memory
from kernel.services import gx_kernels as px

if TYPE_CHECKING:
    from kernel.kernel import Kernel
    from kernel.objects.memory_block import MemoryBlock
    from kernel.process import Process

log = logging.getLogger(__name__)

QUEUE_BASE, QUEUE_STRIDE = 0x800, 0x200
QUEUE_SLOTS = 15
COMMAND_SIZE = 0x20
STATUS_STOPPED, STATUS_FAILED = 0x01, 0x80
PSC0, PSC1, VBLANK0, VBLANK1, PPF, P3D, DMA = range(7)  # 3dbrew interrupt ids

# GX-module results (level Usage, summary InvalidArgument, module GX = 10), written to the
# queue header for a refused command. Which code the real GSP writes is not documented;
# these carry the kernel's descriptions for the same faults.
GX_INVALID_ADDRESS = 0xE0E02BF5
GX_INVALID_SIZE = 0xE0E02BEC
GX_INVALID_ENUM = 0xE0E02BED
GX_NOT_IMPLEMENTED = 0xE0E02BF4

COMMAND_NAMES = {0: "RequestDma", 1: "ProcessCommandList", 2: "MemoryFill", 3: "DisplayTransfer",
                 4: "TextureCopy", 5: "FlushCacheRegions"}


class GxError(Exception):
    """A GX command refused before it moved anything."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Transfer:
    """A DisplayTransfer's decoded registers (3dbrew "GPU/External Registers", Transfer Engine)."""

    in_width: int
    in_height: int
    out_width: int  # the register's values; the image written is downscaled from them
    out_height: int
    flags: int

    flip = property(lambda self: bool(self.flags & 0x1))  # rows written bottom-up
    linear_in = property(lambda self: bool(self.flags & 0x2))  # input linear (output tiled...)
    crop = property(lambda self: bool(self.flags & 0x4))
    raw_copy = property(lambda self: bool(self.flags & 0x8))  # TextureCopy mode
    no_swizzle = property(lambda self: bool(self.flags & 0x20))  # ...unless this is set too
    in_format = property(lambda self: (self.flags >> 8) & 0x7)
    out_format = property(lambda self: (self.flags >> 12) & 0x7)
    block32 = property(lambda self: bool(self.flags & 0x10000))  # 32x32 tiles
    scaling = property(lambda self: (self.flags >> 24) & 0x3)  # 0 none, 1 2x1, 2 2x2

    @property
    def in_tiled(self) -> bool:
        return not self.linear_in

    @property
    def out_tiled(self) -> bool:
        return self.linear_in != self.no_swizzle


def span(size: int, width: int, gap: int) -> int:
    """Bytes from the first to the last byte of ``size`` bytes laid out ``width`` a line with
    ``gap`` bytes between lines (no gap after the last line)."""
    return size + gap * ((size - 1) // width)


class GxEngine:
    """Runs GX commands for gsp::Gpu; counts them by name and keeps the last errors."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []  # the most recent refusals, newest last
        self.pica = Pica()  # the 3D GPU that ProcessCommandList feeds

    # -- the queue -------------------------------------------------------------------------
    def run_queue(self, shared: MemoryBlock, index: int, process: Process) -> list[int]:
        """Run every queued command of thread index ``index``; the interrupts they raise."""
        base = QUEUE_BASE + QUEUE_STRIDE * index
        head = bytearray(shared.read(base, 4))
        raised: list[int] = []
        while head[1] and head[2] != STATUS_STOPPED:
            if head[3]:  # the client asked GSP to stop
                head[2] = STATUS_STOPPED
                break
            slot = head[0] % QUEUE_SLOTS
            words = list(struct.unpack("<8I", shared.read(base + COMMAND_SIZE * (1 + slot), COMMAND_SIZE)))
            head[0], head[1] = (slot + 1) % QUEUE_SLOTS, head[1] - 1
            try:
                raised += self.execute(process, words)
            except GxError as error:
                head[2] = STATUS_FAILED
                shared.write(base + 4, struct.pack("<I", error.code))
                self.refuse(process, str(error))
            if (words[0] >> 16) & 0xFF:  # this command asked to stop the queue after it
                head[2] = STATUS_STOPPED
        shared.write(base, bytes(head))
        return raised

    def execute(self, process: Process, words: list[int]) -> list[int]:
        """Run one command (eight words) in ``process``'s memory; the interrupts it raises.
        Raises :class:`GxError` (having moved nothing) when the command is refused."""
        cid = words[0] & 0xFF
        name = COMMAND_NAMES.get(cid)
        if name is None:
            raise GxError(GX_INVALID_ENUM, f"GX command {cid:#04x} does not exist (word 0 = {words[0]:#010x})")
        self.counts[name] += 1
        try:
            return _HANDLERS[cid](self, process, words)
        except GxError as error:
            raise GxError(error.code, f"GX {name}: {error}") from None

    def refuse(self, process: Process, message: str) -> None:
        """Say in ``process``'s log (and the host log) why GX work was refused or skipped."""
        log.warning("gsp::Gpu: %s (%s)", message, process.describe())
        self.errors = [*self.errors[-99:], message]
        self.kernel.output(process, f"[hlemu] gsp::Gpu: {message}")

    # -- commands --------------------------------------------------------------------------
    def request_dma(self, process: Process, w: list[int]) -> list[int]:
        src, dst, size = w[1], w[2], w[3]
        if size:
            data = read(process, src, size, "source")
            write(process, dst, data, "destination")
        return [DMA]

    def process_command_list(self, process: Process, w: list[int]) -> list[int]:
        """Run a PICA200 command list (hlemu.gpu); P3D when it wrote FINALIZE. Problems inside
        the list (a bad draw, a cut-short command) are reported; the list itself unreadable is
        refused."""
        addr, size = w[1], w[2]
        if not size:
            return []
        check(process, addr, size & ~7 or 8, MemoryPermission.R, "command list")
        try:
            record = self.pica.run_list(GpuMemory(process.space), addr, size, self.kernel.display.frame)
        except GpuFault as fault:
            raise GxError(GX_INVALID_ADDRESS, str(fault)) from None
        for message in record.errors[:4]:
            self.refuse(process, f"GX ProcessCommandList at {addr:#010x}: {message}")
        return [P3D] if record.p3d else []

    def memory_fill(self, process: Process, w: list[int]) -> list[int]:
        fills = []
        for i, (start, value, end, control) in enumerate(((w[1], w[2], w[3], w[7] & 0xFFFF),
                                                          (w[4], w[5], w[6], w[7] >> 16))):
            start, end = start & ~7, end & ~7
            if not start or not control & 1:  # no buffer, or its start bit is clear
                continue
            if end <= start:
                raise GxError(GX_INVALID_SIZE, f"buffer {i} ends at {end:#010x}, not after its start {start:#010x}")
            check(process, start, end - start, MemoryPermission.W, f"buffer {i}")
            width = 3 if control & 0x100 else 4 if control & 0x200 else 2
            fills.append((i, start, end - start, value, width))
        for _, start, size, value, width in fills:
            buf = np.empty(size, np.uint8)
            px.memory_fill(buf, np.int64(value), width)
            write(process, start, buf, "fill")
        # Each fill raises its own interrupt, but with both buffers given GSP raises PSC0 only
        # (3dbrew), when the second is done (Citra).
        if w[1] & ~7 and w[4] & ~7:
            return [PSC0 for i, *_ in fills if i == 1]
        return [(PSC0, PSC1)[i] for i, *_ in fills]

    def display_transfer(self, process: Process, w: list[int]) -> list[int]:
        t = Transfer(w[3] & 0xFFFF, w[3] >> 16, w[4] & 0xFFFF, w[4] >> 16, w[5])
        sx, sy = int(t.scaling in (1, 2)), int(t.scaling == 2)
        out_w, out_h = t.out_width >> sx, t.out_height >> sy
        _check_transfer(t, out_w, out_h, sx, sy)
        ibpp, obpp = px.BYTES_PER_PIXEL[t.in_format], px.BYTES_PER_PIXEL[t.out_format]
        src, dst = w[1] & ~7, w[2] & ~7
        if t.flip and t.crop:  # the hardware skews a flipped, cropped image (Citra sw_blitter)
            dst += (t.in_width - t.out_width) * (t.out_height - 1) * obpp
        check(process, dst, out_w * out_h * obpp, MemoryPermission.W, "output")
        image = read(process, src, t.in_width * t.in_height * ibpp, "input")
        out = np.empty(out_w * out_h * obpp, np.uint8)
        px.display_transfer(image, out, t.in_width, out_w, out_h, t.in_format, t.out_format,
                            t.in_tiled, t.out_tiled, t.flip, sx, sy)
        write(process, dst, out, "output")
        return [PPF]

    def texture_copy(self, process: Process, w: list[int]) -> list[int]:
        size = w[3] & ~0xF  # the engine counts in 16-byte units
        if not size:
            raise GxError(GX_INVALID_SIZE, f"size {w[3]:#x} is under 16 bytes (the hardware hangs)")
        (in_w, in_gap), (out_w, out_gap) = _lines(w[4], size, "input"), _lines(w[5], size, "output")
        src, dst = w[1] & ~7, w[2] & ~7
        in_span, out_span = span(size, in_w, in_gap), span(size, out_w, out_gap)
        check(process, dst, out_span, MemoryPermission.W, "output")
        data = read(process, src, in_span, "input")
        # The gaps in the output keep their bytes: read them back in (one read, one write).
        out = read(process, dst, out_span, "output").copy() if out_gap else np.empty(out_span, np.uint8)
        px.texture_copy(data, out, size, in_w, in_gap, out_w, out_gap)
        write(process, dst, out, "output")
        return [PPF]

    def flush_cache_regions(self, process: Process, w: list[int]) -> list[int]:
        return []  # the emulated CPU has no caches: memory is what every reader sees


_HANDLERS = {0: GxEngine.request_dma, 1: GxEngine.process_command_list, 2: GxEngine.memory_fill,
             3: GxEngine.display_transfer, 4: GxEngine.texture_copy, 5: GxEngine.flush_cache_regions}


def _check_transfer(t: Transfer, out_w: int, out_h: int, sx: int, sy: int) -> None:
    """Refuse what the transfer engine cannot do, or what hlemu does not do (yet)."""
    if t.raw_copy:
        raise GxError(GX_INVALID_ENUM, "flags bit 3 (TextureCopy mode) set: use GX command 4 (TextureCopy)")
    if t.in_format > 4 or t.out_format > 4:
        raise GxError(GX_INVALID_ENUM, f"pixel format {t.in_format} -> {t.out_format} (0-4 exist)")
    if t.scaling == 3:
        raise GxError(GX_INVALID_ENUM, "scaling mode 3 does not exist")
    if t.block32:
        raise GxError(GX_NOT_IMPLEMENTED, "32x32 block tiling (flags bit 16) is not implemented")
    if t.scaling and not t.in_tiled:
        raise GxError(GX_NOT_IMPLEMENTED, "downscaling a linear input is not implemented")
    if not (t.in_width and t.in_height and out_w and out_h):
        raise GxError(GX_INVALID_SIZE, f"empty image: input {t.in_width}x{t.in_height}, output "
                                       f"{t.out_width}x{t.out_height}")
    if out_w << sx > t.in_width or out_h << sy > t.in_height:
        raise GxError(GX_INVALID_SIZE, f"output {t.out_width}x{t.out_height} needs more than the input "
                                       f"{t.in_width}x{t.in_height}")
    for side, (w, h), tiled in (("input", (t.in_width, t.in_height), t.in_tiled), ("output", (out_w, out_h),
                                                                                   t.out_tiled)):
        if tiled and (w % 8 or h % 8):
            raise GxError(GX_INVALID_SIZE, f"tiled {side} {w}x{h} is not whole 8x8 tiles")


def _lines(dim: int, size: int, side: str) -> tuple[int, int]:
    """A TextureCopy line register (width, gap in 16-byte units) as bytes; gap 0 is one line."""
    width, gap = (dim & 0xFFFF) * 16, (dim >> 16) * 16
    if not gap:
        return size, 0
    if not width:
        raise GxError(GX_INVALID_SIZE, f"{side} line width 0 with a gap (the hardware hangs)")
    return width, gap


# -- guest memory, checked ---------------------------------------------------------------------
def check(process: Process, addr: int, size: int, need: MemoryPermission, what: str) -> None:
    """Refuse unless ``[addr, addr + size)`` is all mapped memory of ``process`` with ``need``."""
    table = process.space.table
    end = addr + size
    if size <= 0 or end > 1 << 32:
        raise GxError(GX_INVALID_SIZE, f"{what} {addr:#010x}+{size:#x} leaves the 32-bit address space")
    if not has_memory(table, addr, size, need):
        kind = "readable" if need == MemoryPermission.R else "writable"
        raise GxError(GX_INVALID_ADDRESS, f"{what} {addr:#010x}+{size:#x} is not {kind} memory of the process")
    if (table.special[addr >> 12 : (end + 0xFFF) >> 12] == SpecialKind.MMIO).any():
        raise GxError(GX_INVALID_ADDRESS, f"{what} {addr:#010x}+{size:#x} covers device registers")


def read(process: Process, addr: int, size: int, what: str) -> np.ndarray:
    """``size`` bytes of ``process``'s memory at ``addr`` (read-only array), checked first."""
    check(process, addr, size, MemoryPermission.R, what)
    try:
        return np.frombuffer(process.space.mem.read(addr, size), np.uint8)
    except GuestFault as fault:  # the checks above should make this impossible
        raise GxError(GX_INVALID_ADDRESS, f"{what}: {fault}") from None


def write(process: Process, addr: int, data: np.ndarray, what: str) -> None:
    """Write ``data`` at ``addr`` through the process's memory path (so the display's write
    tracking sees framebuffer pages change), checked first."""
    check(process, addr, len(data), MemoryPermission.W, what)
    try:
        process.space.mem.write(addr, data)
    except GuestFault as fault:
        raise GxError(GX_INVALID_ADDRESS, f"{what}: {fault}") from None
