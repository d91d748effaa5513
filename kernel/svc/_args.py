"""Argument decoding shared by the SVC families."""

from __future__ import annotations


def s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def s64(lo: int, hi: int) -> int:
    value = ((hi & 0xFFFFFFFF) << 32) | (lo & 0xFFFFFFFF)
    return value - (1 << 64) if value >> 63 else value


def split64(value: int) -> tuple[int, int]:
    value &= (1 << 64) - 1
    return value & 0xFFFFFFFF, value >> 32
