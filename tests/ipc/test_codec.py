"""The command-buffer codec (kernel/ipc_codec.py) against libctru's ``ipc.h`` and 3dbrew "IPC".

The expected words are written out as numbers, from libctru's formulas
(IPC_MakeHeader, IPC_Desc_SharedHandles, IPC_Desc_MoveHandles, IPC_Desc_CurProcessId,
IPC_Desc_StaticBuffer, IPC_Desc_Buffer), so the codec the kernel, the services and the
other tests build messages with is checked on its own.
"""

from __future__ import annotations

import pytest

from kernel import ipc_codec as codec
from kernel.errors import KernelError

COMMAND_TOO_LARGE = 0xC8A01836
INVALID_BUFFER_DESCRIPTOR = 0xD9001830


def test_the_builders_give_libctrus_words():
    assert codec.header(0x0001, 1, 2) == 0x00010042  # IPC_MakeHeader(1, 1, 2)
    assert codec.header(0x4803, 0x3F, 0x3F) == 0x48030FFF
    assert codec.header(0x12345, 0x41, 0x42) == 0x23450042  # each field masked to its bits
    assert codec.copy_handles(1) == 0x00000000 and codec.copy_handles(3) == 0x08000000
    assert codec.move_handles(1) == 0x00000010 and codec.move_handles(2) == 0x04000010
    assert codec.calling_pid() == 0x20
    assert codec.static_buffer(0x100, 2) == 0x00400802 and codec.static_buffer(8, 0x13) == 0x00020C02
    assert codec.mapped_buffer(0x1000, codec.BUFFER_R) == 0x0001000A
    assert codec.mapped_buffer(0x20, codec.BUFFER_R | codec.BUFFER_W) == 0x0000020E
    assert codec.message(0x0802, [7, 8], [codec.calling_pid(), 0]) == [0x08020082, 7, 8, 0x20, 0]


def test_parse_header_and_the_buffer_limit():
    assert codec.parse_header(0x48030FFF) == (0x4803, 0x3F, 0x3F)
    assert codec.message_length([codec.header(9, 60, 3)]) == (9, 60, 3)  # 64 words exactly
    with pytest.raises(KernelError) as err:
        codec.message_length([codec.header(9, 60, 4)])
    assert err.value.code == INVALID_BUFFER_DESCRIPTOR


def test_descriptors_reads_each_kind_with_its_parameters():
    translate = [codec.copy_handles(2), 0x11, 0x12, codec.move_handles(1), 0x13, codec.calling_pid(), 0,
                 codec.static_buffer(0x40, 3), 0x1000, codec.mapped_buffer(0x2000, codec.BUFFER_W), 0x2000]
    words = codec.message(1, [5], translate)
    got = [(d.kind, d.params, d.size, d.sid, d.perm) for d in codec.descriptors(words, 1, len(translate))]
    assert got == [
        ("copy handles", [0x11, 0x12], 0, 0, 0),
        ("move handles", [0x13], 0, 0, 0),
        ("pid", [0], 0, 0, 0),
        ("static buffer", [0x1000], 0x40, 3, 0),
        ("mapped buffer", [0x2000], 0x2000, 0, codec.BUFFER_W),
    ]
    assert [d.address for d in codec.descriptors(words, 1, len(translate))][3:] == [0x1000, 0x2000]


@pytest.mark.parametrize(("translate", "code", "text"), [
    ([codec.copy_handles(2), 1], COMMAND_TOO_LARGE, "runs past the message"),
    ([codec.copy_handles(1)], COMMAND_TOO_LARGE, "runs past the message"),
    ([0x00000100, 1], INVALID_BUFFER_DESCRIPTOR, "descriptor 0x00000100"),
    ([codec.static_buffer(4, 0)], INVALID_BUFFER_DESCRIPTOR, "static buffer without an address"),
    ([codec.mapped_buffer(4, 2)], INVALID_BUFFER_DESCRIPTOR, "mapped buffer without an address"),
    ([codec.mapped_buffer(4, 0), 0x1000], INVALID_BUFFER_DESCRIPTOR, "grants nothing"),
    ([0x00000004, 0x1000], INVALID_BUFFER_DESCRIPTOR, "PXI buffers are unsupported"),
])
def test_a_malformed_descriptor_is_the_senders_error(translate, code, text):
    words = codec.message(1, [], translate)
    with pytest.raises(KernelError) as err:
        list(codec.descriptors(words, 0, len(translate)))
    assert err.value.code == code and text in str(err.value)


def test_a_header_longer_than_the_words_is_refused_before_any_is_read():
    words = codec.message(1, [], [codec.calling_pid(), 0])
    with pytest.raises(KernelError) as err:
        list(codec.descriptors(words, 0, len(words)))  # a count past the end of what is there
    assert err.value.code == INVALID_BUFFER_DESCRIPTOR and "overflow the buffer" in str(err.value)
    assert [d.kind for d in codec.descriptors(words, 0, len(words) - 1)] == ["pid"]  # exactly up to the end


def test_errors_come_when_their_descriptor_is_reached():
    """The descriptors before a bad one are read first (translate acts on each in turn)."""
    translate = [codec.calling_pid(), 0, 0x00000004, 0]
    items = codec.descriptors(codec.message(1, [], translate), 0, len(translate))
    assert next(items).kind == "pid"
    with pytest.raises(KernelError):
        next(items)


def test_a_pid_descriptor_with_other_bits_is_still_a_pid():
    """As the kernel reads it: the pid bit decides before the handle bits are checked."""
    translate = [0x20 | 0x100, 0]
    assert [d.kind for d in codec.descriptors(codec.message(1, [], translate), 0, 2)] == ["pid"]


def test_a_mapped_buffers_rights_are_bits_1_and_2_only():
    """Kinds 0x9, 0xB, 0xD, 0xF are mapped buffers too (bit 3); bit 0 is no right."""
    translate = [codec.mapped_buffer(0x30, codec.BUFFER_W) | 0x1, 0x5000]
    (item,) = codec.descriptors(codec.message(1, [], translate), 0, 2)
    assert (item.kind, item.size, item.perm, item.address) == ("mapped buffer", 0x30, codec.BUFFER_W, 0x5000)
