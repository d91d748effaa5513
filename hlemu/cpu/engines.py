"""The Unicorn engines every :class:`~hlemu.cpu.Cpu` runs on: made one way, and reused.

Making one costs 3-6 ms, nearly all of it Unicorn's lazy machine set-up on the first
register write (measured on the 2-core machine, with the translation buffer below).
Every spawn, every state load and every rewind step built its CPUs from nothing: the
demo's four were a third of its load time. So a closed CPU's engine is
emptied and kept (at most :data:`POOL_LIMIT` of them) for the next CPU.

Emptied means nothing of the old process is left in it: every hook deleted (the callbacks
are the old CPU's methods), every region unmapped (the old slab or physical memory is no
longer reachable through it), the translation cache and TLB flushed, and the registers
(CP15 included) put back to what a new engine has. :func:`retire_engine` checks that no
region is left before it keeps one; an engine that fails any step is closed instead.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterable

from unicorn import UC_ARCH_ARM, UC_MODE_ARM, Uc
from unicorn import arm_const as arm
from unicorn.unicorn_const import UC_CTL_IO_WRITE, UC_CTL_TLB_FLUSH, UC_TLB_VIRTUAL

from hlemu.cpu import libunicorn as lib

CPACR_VFP = 0x00F00000  # cp10/cp11 (VFP) full access, granted once for every thread
POOL_LIMIT = 8  # engines kept per TLB kind: a restore builds its machine before closing the old one
# Translated code per engine. Unicorn's default is 1 GiB, and setting an engine up costs more the
# bigger it is (measured in a fresh process: 6-26 ms an engine at 1 GiB, 3.4-5.9 ms at 32 MiB).
# A 3DS program's code is a few MiB at most; a full buffer is flushed and retranslated, not lost.
TCG_BUFFER = 32 << 20

_lock = threading.Lock()
_pools: dict[bool, list[Uc]] = {False: [], True: []}  # keyed by "Unicorn's virtual TLB" (every CPU's now)
_dead: list[Uc] = []  # the engine a closed CPU's handle points at (see dead_handle)


def new_engine(virtual_tlb: bool = False) -> Uc:
    """An ARM11 MPCore engine with VFP access granted, its machine built, nothing mapped and
    no hooks; ``virtual_tlb``: Unicorn's TLB filled by a hook (semifastmem), else the CPU's own."""
    with _lock:
        pool = _pools[virtual_tlb]
        if pool:
            return pool.pop()
    uc = Uc(UC_ARCH_ARM, UC_MODE_ARM)
    uc.ctl_set_cpu_model(arm.UC_CPU_ARM_11MPCORE)
    uc.ctl_set_tcg_buffer_size(TCG_BUFFER)
    if virtual_tlb:
        uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
    uc.reg_write(arm.UC_ARM_REG_C1_C0_2, CPACR_VFP)
    uc._hlemu_pristine = uc.context_save()
    return uc


def retire_engine(uc: Uc, virtual_tlb: bool, raw_hooks: Iterable[ctypes.c_size_t], reuse: bool = True) -> None:
    """Empty ``uc`` (a closed CPU's) and keep it for :func:`new_engine`, or close it when the
    pool is full or emptying it fails. ``raw_hooks``: the hooks added through the C API (the
    binding's own are in its callback table and are deleted from there). ``reuse=False``
    closes it at once: a slowmem engine, whose 4 GiB slow window Unicorn takes ~1 s to
    unmap (it walks every page of it) and 1.6 ms to close with the engine (measured)."""
    if not reuse:
        _close(uc)
        return
    try:
        _empty(uc, raw_hooks)
    except Exception:  # noqa: BLE001 - an engine in doubt is never reused
        _close(uc)
        return
    with _lock:
        pool = _pools[virtual_tlb]
        if len(pool) < POOL_LIMIT:
            pool.append(uc)
            return
    _close(uc)


def pooled() -> int:
    """Engines kept for reuse now (for tests and the leak soak)."""
    with _lock:
        return sum(len(p) for p in _pools.values())


def _empty(uc: Uc, raw_hooks: Iterable[ctypes.c_size_t]) -> None:
    pristine = getattr(uc, "_hlemu_pristine", None)
    if pristine is None:
        raise RuntimeError("not an engine made by new_engine")
    handle = ctypes.c_void_p(uc._uch.value)
    for hook in raw_hooks:
        if lib.hook_del(handle, hook):
            raise RuntimeError("a hook could not be deleted")
    for hook in list(uc._callbacks):
        uc.hook_del(hook)
    for begin, end, _perms in list(uc.mem_regions()):
        uc.mem_unmap(begin, end - begin + 1)
    uc._mmio_callbacks.clear()  # the binding keeps an MMIO region's callbacks past its unmap
    uc._hook_exception = None
    if list(uc.mem_regions()) or uc._callbacks:
        raise RuntimeError("the engine kept a region or a hook")
    uc.ctl_flush_tb()
    uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)
    uc.context_restore(pristine)


def dead_handle() -> ctypes.c_void_p:
    """The handle a closed CPU keeps: an engine that maps nothing and never runs. A stale
    call through the old handle (an emu_stop from a late callback) must not reach the engine
    now running another process, nor freed memory; here it reaches nothing."""
    with _lock:
        if not _dead:
            _dead.append(Uc(UC_ARCH_ARM, UC_MODE_ARM))
        return ctypes.c_void_p(_dead[0]._uch.value)


def _close(uc: Uc) -> None:
    finalizer = getattr(uc, "_Uc__finalizer", None)  # the binding's uc_close, run once
    if finalizer is not None:
        finalizer()
