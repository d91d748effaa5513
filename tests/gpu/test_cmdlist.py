"""Command-list parsing (3dbrew "GPU/Internal Registers", command lists) and the register
file's byte-enable writes, from hand-made words."""

from __future__ import annotations

import pytest

from hlemu.gpu import regs as R
from hlemu.gpu.cmdlist import Command, CommandListError, header, parse


def test_the_header_fields_are_where_3dbrew_puts_them():
    assert header(0x0123) == 0x000F0123
    assert header(0x0123, extra=2, mask=0x3, consecutive=True) == 0x80230123
    assert header(0x0123, extra=255) == 0x0FFF0123


def test_a_single_write_is_the_parameter_word_then_its_header():
    (command,) = parse([0xDEADBEEF, header(0x22E)])
    assert command == Command(0, 0x22E, 0xF, False, (0xDEADBEEF,))
    assert list(command.writes()) == [(0x22E, 0xDEADBEEF)]


def test_incremental_writes_go_to_one_register_consecutive_ones_to_the_next():
    same = [1, header(0x2CC, extra=2), 2, 3]
    (command,) = parse(same)
    assert list(command.writes()) == [(0x2CC, 1), (0x2CC, 2), (0x2CC, 3)]
    (command,) = parse([1, header(0x2CC, extra=2, consecutive=True), 2, 3])
    assert list(command.writes()) == [(0x2CC, 1), (0x2CD, 2), (0x2CE, 3)]


def test_commands_are_padded_to_eight_bytes():
    words = [7, header(0x100, extra=1), 8, 0xFFFFFFFF, 9, header(0x101)]  # one padding word
    commands = list(parse(words))
    assert [(c.offset, c.reg, c.values) for c in commands] == [(0, 0x100, (7, 8)), (4, 0x101, (9,))]


def test_a_list_cut_inside_a_command_yields_what_came_before_then_fails():
    words = [1, header(0x100), 2, header(0x101, extra=3), 3]
    it = parse(words)
    assert next(it).reg == 0x100
    with pytest.raises(CommandListError, match="needs 3 extra parameters"):
        next(it)


def test_a_trailing_odd_word_is_ignored():
    assert [c.reg for c in parse([1, header(0x100), 5])] == [0x100]


@pytest.mark.parametrize("mask, expected", [(0xF, 0xAABBCCDD), (0x1, 0x112233DD), (0x6, 0x11BBCC44),
                                            (0x8, 0xAA223344), (0x0, 0x11223344)])
def test_the_byte_enable_mask_writes_only_its_bytes(mask, expected):
    regs = R.RegisterFile()
    regs.write(0x100, 0x11223344)
    assert regs.write(0x100, 0xAABBCCDD, mask) == expected
    assert regs[0x100] == expected


def test_register_names_are_the_documented_ones():
    assert R.name(0x010) == "FINALIZE"
    assert R.name(0x117) == "COLORBUFFER_FORMAT"
    assert R.name(0x2C0) == "VSH_FLOATUNIFORM_CONFIG"
    assert R.name(0x0C0) == "TEXENV0_SOURCE"
    assert R.name(0x011) == "GPUREG_0011"
    assert Command(0, 0x041, 0x3, False, (0x1234,)).describe() == "VIEWPORT_WIDTH (bytes 0x3) = 0x00001234"
