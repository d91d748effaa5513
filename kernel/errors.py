"""3DS result codes the HLE kernel returns, named, with their raw value.

A result is a 32-bit word: description (bits 0-9), module (10-17), summary
(21-26), level (27-31); negative (bit 31 set) means failure. Values follow
3dbrew "Error codes" and Citra's kernel ``errors.h``.
"""

from __future__ import annotations

from enum import IntEnum

RESULT_SUCCESS = 0x00000000


class KernelError(Exception):
    """Raised inside an SVC handler to return ``code`` to the guest."""

    def __init__(self, code: int, why: str = "") -> None:
        self.code = code & 0xFFFFFFFF
        self.why = why
        super().__init__(f"{describe(code)}{': ' + why if why else ''}")


class Result(IntEnum):
    SUCCESS = 0x00000000
    TIMEOUT = 0x09401BFE  # WaitSynchronization* / ArbitrateAddress timed out
    INVALID_HANDLE = 0xD8E007F7
    OUT_OF_RANGE = 0xE0E01BFD  # an argument outside its documented range
    OUT_OF_RANGE_KERNEL = 0xD8E007FD
    MISALIGNED_ADDRESS = 0xE0E01BF1
    MISALIGNED_SIZE = 0xE0E01BF2
    INVALID_ADDRESS = 0xE0E01BF5
    INVALID_ADDRESS_STATE = 0xE0A01BF5
    INVALID_COMBINATION = 0xE0E01BEE
    INVALID_COMBINATION_KERNEL = 0xD90007EE
    WRONG_PERMISSION = 0xD900182E  # MapMemoryBlock: the creator's permission exceeds other_perm
    OUT_OF_MEMORY = 0xD86007F3  # kernel memory (thread-local storage)
    OUT_OF_HEAP_MEMORY = 0xC860180A  # ControlMemory: the region has no free memory
    NOT_IMPLEMENTED = 0xE0E01BF4
    INVALID_POINTER = 0xD8E007F6
    INVALID_ENUM_VALUE = 0xD8E007ED
    INVALID_ENUM_VALUE_FND = 0xD8E093ED  # ArbitrateAddress with an unknown type (module FND)
    WRONG_LOCKING_THREAD = 0xD8E0041F  # ReleaseMutex by a thread that does not own it
    APP_CANNOT_ALLOCATE = 0xD92007EA  # CreateMemoryBlock with address 0 from an application
    NOT_FOUND = 0xD88007FA
    OUT_OF_HANDLES = 0xD8600413
    NOT_AUTHORIZED = 0xD9001BEA  # e.g. a thread priority above the process's limit (0x18)
    SESSION_CLOSED_BY_REMOTE = 0xC920181A
    PORT_NAME_TOO_LONG = 0xE0E0181E
    MAX_CONNECTIONS_REACHED = 0xD0401834
    NO_PENDING_SESSIONS = 0xD8401823
    INVALID_BUFFER_DESCRIPTOR = 0xD9001830
    COMMAND_TOO_LARGE = 0xC8A01836  # a translate descriptor's parameters run past the message (Citra ipc.cpp)


def describe(code: int) -> str:
    """``'INVALID_HANDLE (0xD8E007F7)'`` or the raw fields of an unnamed code.

    >>> describe(0xD8E007F7)
    'INVALID_HANDLE (0xd8e007f7)'
    >>> describe(0xC8804478)
    '0xc8804478 (level 25, summary 4, module 17, description 120)'
    """
    code &= 0xFFFFFFFF
    try:
        return f"{Result(code).name} ({code:#010x})"
    except ValueError:
        return (f"{code:#010x} (level {code >> 27}, summary {(code >> 21) & 0x3F}, "
                f"module {(code >> 10) & 0xFF}, description {code & 0x3FF})")
