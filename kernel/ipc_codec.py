"""The command buffer's format, in one place (3dbrew "IPC"; libctru's ``ipc.h``).

A message is a header word ``command_id << 16 | normal_words << 6 | translate_words``,
the normal words, then the translate words: descriptors, each followed by its
parameters. The kernel's translation (:mod:`kernel.ipc`), the HLE services' decoding
and replies (:mod:`kernel.services`), the recorder and the tests all read and build
messages through these functions, so a descriptor's layout is written down once.

:func:`descriptors` walks the translate words and checks each descriptor's shape as it
is reached (so a caller that acts on each in turn raises the same error at the same
point as a whole-message check would, after the same earlier descriptors).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from kernel.errors import KernelError, Result

CMDBUF_OFFSET = 0x80  # the command buffer in a thread's TLS
STATIC_BUFFERS_OFFSET = 0x180  # a receiver's static buffer descriptor pairs: TLS + 0x180 + 8 * id
CMDBUF_WORDS = 64
BUFFER_R, BUFFER_W = 0x2, 0x4  # a mapped buffer's rights (IPC_BUFFER_R, IPC_BUFFER_W)

# Descriptor kinds, as the recorder names them.
COPY_HANDLES, MOVE_HANDLES, PID = "copy handles", "move handles", "pid"
STATIC_BUFFER, MAPPED_BUFFER = "static buffer", "mapped buffer"


# -- building ---------------------------------------------------------------------------------
def header(command: int, normal: int, translate: int) -> int:
    return ((command & 0xFFFF) << 16) | ((normal & 0x3F) << 6) | (translate & 0x3F)


def copy_handles(count: int) -> int:
    """``count`` handles the receiver gets copies of (IPC_Desc_SharedHandles)."""
    return (count - 1) << 26


def move_handles(count: int) -> int:
    """``count`` handles moved to the receiver, closed in the sender (IPC_Desc_MoveHandles)."""
    return ((count - 1) << 26) | 0x10


def calling_pid() -> int:
    """The kernel writes the sender's process id in the next word (IPC_Desc_CurProcessId)."""
    return 0x20


def static_buffer(size: int, sid: int) -> int:
    """``size`` bytes copied into the receiver's static buffer ``sid`` (IPC_Desc_StaticBuffer)."""
    return (size << 14) | ((sid & 0xF) << 10) | 0x2


def mapped_buffer(size: int, perm: int) -> int:
    """``size`` bytes of the sender's mapped into the receiver (IPC_Desc_Buffer; ``perm``
    of :data:`BUFFER_R` and :data:`BUFFER_W`)."""
    return (size << 4) | 0x8 | perm


def message(command: int, normal: list[int], translate: list[int] | None = None) -> list[int]:
    """A whole message's words: its header, ``normal``, then the ``translate`` words."""
    translate = translate or []
    return [header(command, len(normal), len(translate)), *normal, *translate]


# -- reading ----------------------------------------------------------------------------------
def parse_header(word: int) -> tuple[int, int, int]:
    """(command id, normal words, translate words)."""
    return word >> 16, (word >> 6) & 0x3F, word & 0x3F


def message_length(words: list[int]) -> tuple[int, int, int]:
    """:func:`parse_header` of ``words[0]``, refusing a message longer than the buffer."""
    command, normal, translate = parse_header(words[0])
    if 1 + normal + translate > CMDBUF_WORDS:
        raise KernelError(Result.INVALID_BUFFER_DESCRIPTOR, f"{normal}+{translate} words overflow the buffer")
    return command, normal, translate


@dataclass(slots=True)
class Translate:
    """One translate descriptor and its parameters."""

    kind: str  # COPY_HANDLES, MOVE_HANDLES, PID, STATIC_BUFFER or MAPPED_BUFFER
    word: int  # the descriptor word itself
    params: list[int] = field(default_factory=list)  # the handles, the pid slots, or [address]
    size: int = 0  # a buffer's bytes
    sid: int = 0  # a static buffer's id
    perm: int = 0  # a mapped buffer's rights

    @property
    def address(self) -> int:
        """A buffer's address (its one parameter)."""
        return self.params[0]


def descriptors(words: list[int], normal: int, count: int) -> Iterator[Translate]:
    """The translate descriptors in ``words[1 + normal : 1 + normal + count]``, each checked
    for its shape (its parameters inside the message, a known kind, rights on a mapped
    buffer) when it is reached: a :class:`KernelError` for the sender otherwise."""
    i = 1 + normal
    end = 1 + normal + count
    if end > len(words):  # (message_length's refusal, for callers that did not ask it first)
        raise KernelError(Result.INVALID_BUFFER_DESCRIPTOR, f"{normal}+{count} words overflow the buffer")
    while i < end:
        desc = words[i] & 0xFFFFFFFF
        kind = desc & 0xF
        if kind == 0:  # handles, or the calling process id
            n = (desc >> 26) + 1
            if i + n >= end:  # its n parameters are words i+1 .. i+n
                raise KernelError(Result.COMMAND_TOO_LARGE, "handle descriptor runs past the message")
            params = [w & 0xFFFFFFFF for w in words[i + 1 : i + 1 + n]]
            if desc & 0x20:
                yield Translate(PID, desc, params)
            elif desc & ~0xFC000010:
                raise KernelError(Result.INVALID_BUFFER_DESCRIPTOR, f"descriptor {desc:#010x}")
            else:
                yield Translate(MOVE_HANDLES if desc & 0x10 else COPY_HANDLES, desc, params)
            i += 1 + n
        elif kind == 0x2:
            if i + 1 >= end:
                raise KernelError(Result.INVALID_BUFFER_DESCRIPTOR, "static buffer without an address")
            yield Translate(STATIC_BUFFER, desc, [words[i + 1] & 0xFFFFFFFF], size=desc >> 14, sid=(desc >> 10) & 0xF)
            i += 2
        elif kind & 0x8:
            if i + 1 >= end:
                raise KernelError(Result.INVALID_BUFFER_DESCRIPTOR, "mapped buffer without an address")
            if desc & 0x6 == 0:
                raise KernelError(Result.INVALID_BUFFER_DESCRIPTOR, f"mapped buffer {desc:#010x} grants nothing")
            yield Translate(MAPPED_BUFFER, desc, [words[i + 1] & 0xFFFFFFFF], size=desc >> 4, perm=desc & 0x6)
            i += 2
        else:
            raise KernelError(Result.INVALID_BUFFER_DESCRIPTOR,
                              f"descriptor {desc:#010x} (PXI buffers are unsupported)")


# -- the usual shapes, told apart without walking the descriptors (kernel.ipc's shortcuts) ---------
def one_mapped_buffer(words: list[int]) -> int:
    """Where the descriptor is in a message of normal words and one well-formed mapped buffer
    (the usual shape of a request with a buffer: :func:`descriptors` would yield that one
    buffer and nothing else), or 0 for any other shape."""
    head = words[0]
    i = 1 + ((head >> 6) & 0x3F)
    if head & 0x3F != 2 or i + 2 > CMDBUF_WORDS:
        return 0
    desc = words[i]
    return i if desc & 0x8 and desc & 0x6 else 0


def mapped_buffers_only(words: list[int]) -> bool:
    """Whether ``words`` are normal words and well-formed mapped buffers only (what
    :func:`descriptors` would yield without an error, every item a mapped buffer): a reply of
    that shape translates to itself, each buffer's descriptor carried back unchanged."""
    _, normal, count = parse_header(words[0])
    i, end = 1 + normal, 1 + normal + count
    if end > CMDBUF_WORDS:
        return False
    while i < end:
        desc = words[i]
        if not desc & 0x8 or not desc & 0x6 or i + 1 >= end:  # (descriptors()' mapped-buffer rules)
            return False
        i += 2
    return True
