"""The block hook's fast path (hlemu.cpu.blockhook) against the hook it stands in front of
(hooks.count_blocks): from any control block, calling either leaves the same control block,
the same count cache and the same stop reason. Both are called directly, as Unicorn calls
them, on copies of one state; a real engine stands behind them for the calls count_blocks
makes (uc_emu_stop, uc_reg_read of CPSR)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unicorn import UC_ARCH_ARM, UC_MODE_ARM, Uc
from unicorn import arm_const as arm

from hlemu.cpu import blockhook, hooks

HOOK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_void_p)
FAST, FULL = HOOK(blockhook.address()), HOOK(hooks.count_blocks.address)


@pytest.fixture(scope="module")
def engine() -> Uc:
    uc = Uc(UC_ARCH_ARM, UC_MODE_ARM)
    uc.reg_write(arm.UC_ARM_REG_CPSR, 0x10)  # ARM state: a cache miss counts size / 4
    return uc


def _state(budget: int, instructions: int, limit: int, halt: int, resume: int, cached: int | None,
           address: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    control = np.zeros(hooks.CB_SIZE, dtype=np.int64)
    cache = np.zeros(2 * hooks.COUNT_CACHE, dtype=np.int64)
    control[hooks.CB_COUNT_CACHE] = cache.ctypes.data
    control[hooks.CB_SELF] = control.ctypes.data
    control[hooks.CB_BUDGET], control[hooks.CB_INSTRUCTIONS] = budget, instructions
    control[hooks.CB_INSN_LIMIT], control[hooks.CB_HALT], control[hooks.CB_RESUME] = limit, halt, resume
    control[hooks.CB_BLOCKS], control[hooks.CB_BLOCK_START], control[hooks.CB_BLOCK_SIZE] = 77, 0x1234, 8
    if cached is not None:  # the slot count_blocks would look in, holding this block's count
        slot = 2 * (((address >> 1) ^ (address >> 15)) & (hooks.COUNT_CACHE - 1))
        cache[slot], cache[slot + 1] = (address << 16) | size, cached
    return control, cache


def _after(hook: object, engine: Uc, state: tuple) -> tuple[list[int], list[int]]:
    control, cache = _state(*state)
    hook(engine._uch, state[-2], state[-1], control.ctypes.data)  # type: ignore[operator]
    keep = control.copy()
    keep[hooks.CB_COUNT_CACHE] = keep[hooks.CB_SELF] = 0  # (addresses of this copy's arrays)
    return keep.tolist(), cache.tolist()


@settings(max_examples=300, deadline=None)
@given(budget=st.sampled_from([-1, 0, 1, 2, 1 << 40]), instructions=st.sampled_from([0, 5, 1 << 33]),
       headroom=st.integers(-3, 3), halt=st.sampled_from([0, 1]), resume=st.sampled_from([0, 1]),
       cached=st.sampled_from([None, 0, 1, 3, 9]), address=st.integers(0, 0xFFFFFFFC).map(lambda a: a & ~3),
       words=st.integers(1, 40))
def test_the_fast_path_leaves_what_count_blocks_leaves(engine, budget, instructions, headroom, halt, resume,
                                                        cached, address, words):
    size = 4 * words
    counted = words if cached is None else cached
    limit = instructions + counted + headroom  # the block fits exactly at headroom 0
    state = (budget, instructions, limit, halt, resume, cached, address, size)
    assert _after(FAST, engine, state) == _after(FULL, engine, state)


def test_the_common_case_charges_the_block(engine):
    control, cache = _state(budget=3, instructions=100, limit=1000, halt=0, resume=0, cached=6,
                            address=0x00100040, size=24)
    FAST(engine._uch, 0x00100040, 24, control.ctypes.data)
    assert (control[hooks.CB_BUDGET], control[hooks.CB_INSTRUCTIONS], control[hooks.CB_BLOCKS]) == (2, 106, 78)
    assert (control[hooks.CB_BLOCK_START], control[hooks.CB_BLOCK_SIZE], control[hooks.CB_STOPPED]) == \
        (0x00100040, 24, 0)
    # and the rest (a miss, a halt, a full budget) is count_blocks': a halt stops the run
    control[hooks.CB_HALT] = 1
    FAST(engine._uch, 0x00100040, 24, control.ctypes.data)
    assert (control[hooks.CB_STOPPED], control[hooks.CB_INSTRUCTIONS]) == (hooks.STOPPED_HALT, 106)


def test_only_the_rare_cases_reach_count_blocks(engine):
    # The fast path compiled in front of a recorder of its own (which then runs count_blocks):
    # the common case, up to a block that fills the limit exactly, never reaches it; a miss, a
    # halt, a resume, an empty budget and a block past the limit each do, once.
    reached: list[int] = []

    def record(uc, address, size, user):  # noqa: ANN001, ANN202 - a C callback
        reached.append(address)
        FULL(uc, address, size, user)

    slow = HOOK(record)
    fast = HOOK(blockhook.compiled(ctypes.cast(slow, ctypes.c_void_p).value)[1])
    # (0x8040 hashes to an odd slot: a wrong slot mask would miss it)
    common = dict(budget=5, instructions=10, limit=16, halt=0, resume=0, cached=6, address=0x8040, size=24)
    for case, rare in ((common, False), ({**common, "cached": None}, True), ({**common, "halt": 1}, True),
                       ({**common, "resume": 1}, True), ({**common, "budget": 0}, True),
                       ({**common, "limit": 15}, True)):
        reached.clear()
        control, cache = _state(**case)
        fast(engine._uch, 0x8040, 24, control.ctypes.data)
        assert reached == ([0x8040] if rare else []), case
        if not rare:
            assert control[hooks.CB_INSTRUCTIONS] == 16
