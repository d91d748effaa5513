"""The SVC argument decoders at their edges (registers are u32; s32 and s64 arguments are two's
complement, s64 split low word first as the ARM EABI passes it): cases mutants of
kernel/svc/_args.py (scripts/mutation.py) showed unpinned."""

from __future__ import annotations

import pytest

from kernel.svc._args import s32, s64, split64


@pytest.mark.parametrize(("raw", "value"), [
    (0, 0), (1, 1), (0x7FFFFFFF, 0x7FFFFFFF), (0x80000000, -0x80000000), (0xFFFFFFFF, -1),
    (0xFFFFFFFE, -2), (0x1_0000_0005, 5), (-1, -1),
])
def test_s32(raw, value):
    assert s32(raw) == value


@pytest.mark.parametrize(("lo", "hi", "value"), [
    (0, 0, 0), (5, 0, 5), (0, 1, 1 << 32), (0xFFFFFFFF, 0x7FFFFFFF, (1 << 63) - 1),
    (0, 0x80000000, -(1 << 63)), (0xFFFFFFFF, 0xFFFFFFFF, -1), (0xFFFFFFFE, 0xFFFFFFFF, -2),
    (0x1_0000_0003, 0x1_0000_0000, 3),  # only the low 32 bits of each register count
    (0x89ABCDEF, 0x01234567, 0x0123456789ABCDEF),
])
def test_s64(lo, hi, value):
    assert s64(lo, hi) == value


@pytest.mark.parametrize(("value", "words"), [
    (0, (0, 0)), (0x0123456789ABCDEF, (0x89ABCDEF, 0x01234567)), (-1, (0xFFFFFFFF, 0xFFFFFFFF)),
    (1 << 64, (0, 0)), ((1 << 64) + 7, (7, 0)), (-(1 << 63), (0, 0x80000000)),
])
def test_split64(value, words):
    assert split64(value) == words
    assert s64(*words) == (value + (1 << 63)) % (1 << 64) - (1 << 63)
