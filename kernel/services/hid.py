"""``hid:USER``: the pad (and touch screen) in shared memory, updated every frame.

Layout as 3dbrew "HID Shared Memory" and libctru's hidScanInput read it: the
pad section at 0x00 (tick, previous tick, index of the latest entry, current
state, then 8 entries of buttons / pressed / released / circle pad at 0x28),
the touch section at 0xA8 (ticks, index, 8 entries of x, y, valid at 0xC8).
GetIPCHandles hands out the memory and five one-shot events (PAD0, PAD1,
accelerometer, gyroscope, debug pad); PAD0 and PAD1 are signalled on each
update.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hlemu.memory import MemoryPermission
from kernel.objects.event import Event, ResetType
from kernel.objects.memory_block import MemoryBlock
from kernel.services import Reply, Request, Service, command

if TYPE_CHECKING:
    from kernel.kernel import Kernel

SHARED_MEMORY_SIZE = 0x1000
KEYS = {"A": 1 << 0, "B": 1 << 1, "SELECT": 1 << 2, "START": 1 << 3, "RIGHT": 1 << 4, "LEFT": 1 << 5,
        "UP": 1 << 6, "DOWN": 1 << 7, "R": 1 << 8, "L": 1 << 9, "X": 1 << 10, "Y": 1 << 11}


@dataclass
class PadState:
    """What the user holds: button bits (libctru KEY_*), circle pad, touch point or None."""

    buttons: int = 0
    circle: tuple[int, int] = (0, 0)
    touch: tuple[int, int] | None = None


class HidUser(Service):
    name = "hid:USER"
    max_sessions = 6

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.shared = MemoryBlock.for_service(kernel, SHARED_MEMORY_SIZE, MemoryPermission.R, "hid shared memory")
        self.events = [Event(kernel, ResetType.ONESHOT, name=n)
                       for n in ("PAD0", "PAD1", "accelerometer", "gyroscope", "debug pad")]
        for event in self.events:
            kernel.retain(event, "service event")
        self.pad = PadState()
        self._previous = 0
        self._index = -1
        self._touch_index = -1
        kernel.display.vblank_listeners.append(self._on_vblank)

    @command(0x000A)
    def get_ipc_handles(self, request: Request) -> Reply:
        self.kernel.display.start()
        return Reply(copy_handles=[self.shared, *self.events])

    # Sensors are not emulated; enabling them succeeds so libctru's calls do.
    @command(0x0011)
    def enable_accelerometer(self, request: Request) -> Reply:
        self.stubbed(request)
        return Reply()

    @command(0x0012)
    def disable_accelerometer(self, request: Request) -> Reply:
        self.stubbed(request)
        return Reply()

    @command(0x0013)
    def enable_gyroscope(self, request: Request) -> Reply:
        self.stubbed(request)
        return Reply()

    @command(0x0014)
    def disable_gyroscope(self, request: Request) -> Reply:
        self.stubbed(request)
        return Reply()

    def _on_vblank(self, frame: int) -> None:
        self.update(self.kernel.ticks)

    def update(self, tick: int) -> None:
        """Write one pad entry and one touch entry, as the HID module does each sample."""
        pad = self.pad
        buttons = pad.buttons | _circle_bits(*pad.circle)
        self._index = (self._index + 1) % 8
        self._write_ticks(0x00, self._index, tick)
        pressed, released = buttons & ~self._previous, self._previous & ~buttons
        self.shared.write(0x10, struct.pack("<I", self._index))
        self.shared.write(0x1C, struct.pack("<I", buttons))
        self.shared.write(0x28 + 0x10 * self._index,
                          struct.pack("<IIIhh", buttons, pressed, released, pad.circle[0], pad.circle[1]))
        self._previous = buttons
        self._touch_index = (self._touch_index + 1) % 8
        self._write_ticks(0xA8, self._touch_index, tick)
        self.shared.write(0xB8, struct.pack("<I", self._touch_index))
        x, y = pad.touch or (0, 0)
        self.shared.write(0xC8 + 8 * self._touch_index, struct.pack("<HHI", x, y, 1 if pad.touch else 0))
        for event in self.events[:2]:
            event.signal()

    def _write_ticks(self, base: int, index: int, tick: int) -> None:
        # libctru takes a section as stale while its index is 0 and the two ticks are
        # equal: store a fresh tick (and keep the old one) whenever the ring wraps.
        if index == 0:
            current = struct.unpack("<q", self.shared.read(base, 8))[0]
            self.shared.write(base, struct.pack("<qq", max(tick, current + 1), current))


def _circle_bits(x: int, y: int) -> int:
    """The circle-pad direction bits (28-31) libctru's KEY_CPAD_* test."""
    bits = 0
    if x >= 41:
        bits |= 1 << 28
    if x <= -41:
        bits |= 1 << 29
    if y >= 41:
        bits |= 1 << 30
    if y <= -41:
        bits |= 1 << 31
    return bits
