"""Tiny guest programs for kernel tests: ARM source -> Image -> process -> results.

A test writes the ARM body of a program; :meth:`Guest.spawn` assembles it
(keystone, ARM mode, at 0x00100000) between a fixed prologue and epilogue:

    mov r11, #0x00200000   @ r11 = DATA, a RW page the body stores results in
    <body>
    mov r0, #0             @ falling off the end exits with code 0
    svc 0x03               @ ExitProcess (hlemu keeps r0 as the exit code)
    <literal pool>         @ `ldr rX, =value` constants land here

so a body reads an SVC's outputs by storing them: ``str r0, [r11, #0]`` puts
r0 in word 0, which the test reads with :meth:`Guest.words`. The ARM11 is
ARMv6K: no ``movw``/``movt``; load wide constants with ``ldr rX, =value``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from hlemu.loaders import Image, Segment
from hlemu.memory import MemoryPermission
from kernel.kernel import Kernel, RunResult
from kernel.process import Process

BACKENDS = ["fastmem", "semifastmem"]
CODE = 0x00100000  # where the 3DS loads application code
DATA = 0x00200000  # results (r11 points here)
INPUT = DATA + 0x800  # the data= bytes of spawn(), e.g. strings and handle arrays
DATA_SIZE = 0x1000
HEAP = 0x08000000
CUR_THREAD = 0xFFFF8000  # pseudo-handles (libctru CUR_THREAD_HANDLE / CUR_PROCESS_HANDLE)
CUR_PROCESS = 0xFFFF8001
RUN_LIMIT = 5_000_000  # instructions: a runaway test program ends instead of hanging the suite

# Result codes as 3dbrew/Citra give them (docs/abi.md "Result codes"; Citra
# src/core/hle/kernel/errors.h), spelled out rather than imported from
# kernel.errors, so a wrong constant in the kernel fails a test.
SUCCESS = 0x00000000
TIMEOUT = 0x09401BFE
INVALID_HANDLE = 0xD8E007F7
INVALID_POINTER = 0xD8E007F6
OUT_OF_RANGE = 0xE0E01BFD
OUT_OF_RANGE_KERNEL = 0xD8E007FD
NOT_AUTHORIZED = 0xD9001BEA
MISALIGNED_ADDRESS = 0xE0E01BF1
MISALIGNED_SIZE = 0xE0E01BF2
INVALID_ADDRESS = 0xE0E01BF5
INVALID_ADDRESS_STATE = 0xE0A01BF5
INVALID_COMBINATION = 0xE0E01BEE
INVALID_COMBINATION_KERNEL = 0xD90007EE
WRONG_PERMISSION = 0xD900182E
APP_CANNOT_ALLOCATE = 0xD92007EA
OUT_OF_HEAP_MEMORY = 0xC860180A
NOT_IMPLEMENTED = 0xE0E01BF4
INVALID_ENUM_VALUE = 0xD8E007ED
INVALID_ENUM_VALUE_FND = 0xD8E093ED
WRONG_LOCKING_THREAD = 0xD8E0041F

PROLOGUE = f"mov r11, #{DATA:#x}\n"
EPILOGUE = "\nmov r0, #0\nsvc 0x03\nb .\n"


def save(index: int, *regs: str) -> str:
    """Store ``regs`` to result words ``index``, ``index + 1``, ...: ``str rX, [r11, #4 * i]``."""
    return "\n".join(f"str {reg}, [r11, #{4 * (index + i)}]" for i, reg in enumerate(regs)) + "\n"


LOG = 0x600  # byte offset in DATA of an order log (its entry count is the word before it)


def log(value: int) -> str:
    """Append ``value`` to the order log (clobbers r5, r6, r12; needs r11 = DATA)."""
    return (f"mov r12, #{value}\n"
            f"ldr r5, [r11, #{LOG - 4:#x}]\n"
            f"add r6, r11, #{LOG:#x}\n"
            "str r12, [r6, r5, lsl #2]\n"
            "add r5, r5, #1\n"
            f"str r5, [r11, #{LOG - 4:#x}]\n")


def create_thread(entry: str, priority: int, arg: int = 0, stack_top: int = DATA + 0x800,
                  processor: int = -2) -> str:
    """CreateThread(r0 = priority, r1 = entry, r2 = arg, r3 = stack top, r4 = processor) -> r1 handle.

    A thread starts with zeroed registers: its code must set r11 = DATA itself.
    """
    return (f"ldr r0, ={priority:#x}\nldr r1, ={entry}\nldr r2, ={arg & 0xFFFFFFFF:#x}\n"
            f"ldr r3, ={stack_top:#x}\nldr r4, ={processor & 0xFFFFFFFF:#x}\nsvc 0x08   @ CreateThread\n")


def wait1(handle_reg: str, timeout_ns: int = -1) -> str:
    """WaitSynchronization1(r0 = handle, r2:r3 = timeout in ns) -> r0."""
    lo, hi = timeout_ns & 0xFFFFFFFF, (timeout_ns >> 32) & 0xFFFFFFFF
    return f"mov r0, {handle_reg}\nldr r2, ={lo:#x}\nldr r3, ={hi:#x}\nsvc 0x24   @ WaitSynchronization1\n"


def tick(index: int) -> str:
    """GetSystemTick -> result words index (low), index + 1 (high)."""
    return "svc 0x28   @ GetSystemTick\n" + save(index, "r0", "r1")


@cache
def _assembler() -> object:
    import keystone

    return keystone.Ks(keystone.KS_ARCH_ARM, keystone.KS_MODE_ARM)


def assemble(source: str, address: int = CODE) -> bytes:
    """ARM machine code for ``source`` placed at ``address``."""
    encoding, _ = _assembler().asm(source, address)  # type: ignore[attr-defined]
    return bytes(encoding or b"")


def program(body: str, data: bytes = b"", name: str = "test") -> Image:
    """An image: code (RX) at CODE running ``body``, a RW page at DATA with ``data`` at INPUT."""
    code = assemble(PROLOGUE + body + EPILOGUE)
    assert len(code) <= 0x4000, "test program too large"
    assert len(data) <= DATA_SIZE - (INPUT - DATA)
    page = bytes(INPUT - DATA) + data
    return Image(name, CODE, segments=[
        Segment(vaddr=CODE, data=code, size=0x4000, perm=MemoryPermission.RX),
        Segment(vaddr=DATA, data=page, size=DATA_SIZE, perm=MemoryPermission.RW),
    ])


@dataclass
class Guest:
    """One kernel plus the lines every process printed (``(pid, line)``)."""

    backend: str
    quantum_blocks: int = 20_000
    lines: list[tuple[int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.kernel = Kernel(backend=self.backend, quantum_blocks=self.quantum_blocks,
                             output=lambda process, line: self.lines.append((process.pid, line)))

    def spawn(self, body: str, data: bytes = b"", name: str = "test") -> Process:
        return self.kernel.spawn(program(body, data, name))

    def run(self, max_instructions: int = RUN_LIMIT) -> RunResult:
        return self.kernel.run(max_instructions=max_instructions)

    def run_one(self, body: str, data: bytes = b"", name: str = "test") -> Process:
        """Spawn ``body``, run to the end, insist the process exited (not crashed)."""
        process = self.spawn(body, data, name)
        result = self.run()
        assert result.reason == "all exited", (result, self.text())
        assert process.crash is None, process.crash
        return process

    def words(self, process: Process, count: int, index: int = 0) -> list[int]:
        """``count`` result words from DATA + 4 * index."""
        return [process.space.mem.read32(DATA + 4 * (index + i)) for i in range(count)]

    def log(self, process: Process) -> list[int]:
        """The values :func:`log` appended, in order."""
        count = process.space.mem.read32(DATA + LOG - 4)
        return [process.space.mem.read32(DATA + LOG + 4 * i) for i in range(count)]

    def text(self, pid: int | None = None) -> str:
        return "\n".join(line for p, line in self.lines if pid is None or p == pid)

    def close(self) -> None:
        self.kernel.close()
