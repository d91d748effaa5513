"""A builder of tiny guests that talk to services the way libctru does.

:class:`Script` appends ARM source (see tests/kernel/asm.py) and hands out result
slots: each IPC call stores SendSyncRequest's r0 and the reply words it asks for at
the next free words of DATA, and the test reads them back by the name it gave the
call. Register use: r9 the srv: session, r8 the session of the current call, r12
scratch (command buffer / static buffer pointers), r0-r3 SVC arguments.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from kernel.process import Process
from tests.kernel.asm import DATA, INPUT, Guest, save

TLS = "mrc p15, 0, r12, c13, c0, 3\n"
HEAP = 0x08000000
RESULT_WORDS = (INPUT - DATA) // 4  # words 0 .. 0x1FF hold results; INPUT holds "srv:"


def header(command: int, normal: int, translate: int) -> int:
    """IPC_MakeHeader, as libctru spells each request."""
    return command << 16 | normal << 6 | translate


def name_words(name: str) -> list[int]:
    return list(struct.unpack("<2I", name.encode().ljust(8, b"\0")))


@dataclass
class Script:
    body: str = ""
    slots: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (first word, count)
    _next: int = 0

    def slot(self, name: str, count: int) -> int:
        assert name not in self.slots, name
        first = self._next
        self._next += count
        assert self._next <= RESULT_WORDS, "out of result words"
        self.slots[name] = (first, count)
        return first

    def asm(self, source: str) -> Script:
        self.body += source
        return self

    # -- SVCs ---------------------------------------------------------------------------
    def connect_srv(self) -> Script:
        """ConnectToPort("srv:") -> r9, then srv RegisterClient (0x00010002, pid descriptor)."""
        self.asm(f"ldr r1, ={INPUT:#x}\nsvc 0x2D   @ ConnectToPort\nmov r9, r1\n")
        return self.call("register_client", "r9", [header(0x1, 0, 2), 0x20, 0], replies=1)

    def heap(self, size: int = 0x1000) -> Script:
        """ControlMemory(COMMIT, HEAP, size, RW): a buffer for parameters and outputs."""
        return self.asm(f"mov r0, #3\nldr r1, ={HEAP:#x}\nmov r2, #0\nldr r3, ={size:#x}\nmov r4, #3\n"
                        "svc 0x01   @ ControlMemory\n")

    def wait(self, name: str, handle_word: int, timeout_ns: int = -1) -> Script:
        """WaitSynchronization1 on the handle stored at result word ``handle_word``."""
        first = self.slot(name, 1)
        lo, hi = timeout_ns & 0xFFFFFFFF, (timeout_ns >> 32) & 0xFFFFFFFF
        return self.asm(f"ldr r0, [r11, #{4 * handle_word}]\nldr r2, ={lo:#x}\nldr r3, ={hi:#x}\n"
                        "svc 0x24   @ WaitSynchronization1\n" + save(first, "r0"))

    def sleep(self, ns: int) -> Script:
        return self.asm(f"ldr r0, ={ns}\nmov r1, #0\nsvc 0x0A   @ SleepThread\n")

    # -- IPC -----------------------------------------------------------------------------
    def statics(self, buffers: dict[int, tuple[int, int]]) -> Script:
        """Receive static buffers: id -> (size, address) at TLS + 0x180 + 8 * id."""
        self.asm(TLS + "add r12, r12, #0x180\n")
        for sid, (size, address) in buffers.items():
            self.asm(f"ldr r0, ={size << 14 | sid << 10 | 2:#x}\nstr r0, [r12, #{8 * sid}]\n"
                     f"ldr r0, ={address:#x}\nstr r0, [r12, #{8 * sid + 4}]\n")
        return self

    def call(self, name: str, handle: str, words: list[int], replies: int = 4) -> Script:
        """Write ``words``, SendSyncRequest(``handle``); slot ``name`` gets r0 then ``replies``
        command-buffer words (header, result, ...)."""
        first = self.slot(name, 1 + replies)
        self.asm(TLS + "add r12, r12, #0x80\n")
        for i, word in enumerate(words):
            self.asm(f"ldr r0, ={word & 0xFFFFFFFF:#x}\nstr r0, [r12, #{4 * i}]\n")
        self.asm(f"mov r0, {handle}\nsvc 0x32   @ SendSyncRequest\n" + save(first, "r0")
                 + TLS + "add r12, r12, #0x80\n")
        for i in range(replies):
            self.asm(f"ldr r0, [r12, #{4 * i}]\n" + save(first + 1 + i, "r0"))
        return self.pool()

    def pool(self) -> Script:
        """Place the literal pool here (``ldr rX, =value`` reaches 4 KiB at most)."""
        label = f"pool{len(self.slots)}_{len(self.body)}"
        return self.asm(f"b {label}\n.ltorg\n{label}:\n")

    def get_service(self, name: str, service: str) -> Script:
        """srv GetServiceHandle (0x00050100: name, length, flags 0) -> r8."""
        self.call(name, "r9", [header(0x5, 4, 0), *name_words(service), len(service), 0])
        return self.asm(f"ldr r8, [r11, #{4 * (self.word(name, 4))}]\n")

    def close_r8(self) -> Script:
        return self.asm("mov r0, r8\nsvc 0x23   @ CloseHandle\n")

    def word(self, name: str, index: int) -> int:
        """The result word index of reply word ``index - 1`` (index 0: SendSyncRequest's r0)."""
        first, count = self.slots[name]
        assert index < count
        return first + index

    # -- running -------------------------------------------------------------------------
    def run(self, guest: Guest, name: str = "test") -> Process:
        return guest.run_one(self.body, data=b"srv:\0", name=name)

    def spawn(self, guest: Guest, name: str = "test") -> Process:
        return guest.spawn(self.body, data=b"srv:\0", name=name)

    def results(self, guest: Guest, process: Process, name: str) -> list[int]:
        first, count = self.slots[name]
        return guest.words(process, count, first)
