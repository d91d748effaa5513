"""The block hook's common case in a few machine instructions, in front of :func:`hooks.count_blocks`.

Unicorn calls the block hook before every translated block: 10.8 million times in the 70 M
instructions of the ``compute`` benchmark. On bare Unicorn running that ELF,
:func:`hooks.count_blocks` (numba) took it 176-182 ms against 158-162 ms with an empty numba
hook: its ``cfunc`` wrapper calls the compiled body through a pointer, and the body saves six
registers on every call because its rare paths call Unicorn (``uc_emu_stop``, and
``uc_reg_read`` for a block's first count). With this function in front: 153 ms.

This function, written in LLVM IR and compiled once a process with llvmlite (which numba
brings), does the case almost every block is: the block's count is in the cache, nothing
asked for a halt, the run is not resuming inside a block, the block fits the instruction
limit and the budget allows it. It then charges the block exactly as ``count_blocks`` would.
Any other case it hands, untouched, to ``count_blocks`` itself with a tail call, which
decides everything again from the start: the two cannot disagree, because this one only
ever takes a path ``count_blocks`` takes in the same state, and changes nothing before
handing over.
"""

from __future__ import annotations

import functools

import llvmlite.binding as llvm
import llvmlite.ir as ir

from hlemu.cpu import hooks


def _module(slow_address: int) -> ir.Module:
    i32, i64 = ir.IntType(32), ir.IntType(64)
    voidptr = ir.IntType(8).as_pointer()
    hook_type = ir.FunctionType(ir.VoidType(), [voidptr, i64, i32, voidptr])
    module = ir.Module(name="hlemu_block_hook")
    fn = ir.Function(module, hook_type, name="hlemu_block_hook")
    uc, address, size, user = fn.args
    entry, hit, check, charge, slow = (fn.append_basic_block(n) for n in ("entry", "hit", "check", "charge", "slow"))

    b = ir.IRBuilder(entry)
    control = b.bitcast(user, i64.as_pointer())

    def slot(index: int) -> ir.Value:
        return b.gep(control, [i64(index)])

    # count_blocks' cache: slot = 2 * (((address >> 1) ^ (address >> 15)) & (COUNT_CACHE - 1)),
    # key = address << 16 | size
    cache = b.inttoptr(b.load(slot(hooks.CB_COUNT_CACHE)), i64.as_pointer())
    index = b.shl(b.and_(b.xor(b.lshr(address, i64(1)), b.lshr(address, i64(15))), i64(hooks.COUNT_CACHE - 1)),
                  i64(1))
    size64 = b.zext(size, i64)
    key = b.or_(b.shl(address, i64(16)), size64)
    b.cbranch(b.icmp_unsigned("==", b.load(b.gep(cache, [index])), key), hit, slow)

    b = ir.IRBuilder(hit)
    words = b.load(b.gep(cache, [b.add(index, i64(1))]))
    # A halt asked for, or the rest of a block already charged: count_blocks' business.
    waiting = b.or_(b.load(slot(hooks.CB_HALT)), b.load(slot(hooks.CB_RESUME)))
    b.cbranch(b.icmp_signed("==", waiting, i64(0)), check, slow)

    b = ir.IRBuilder(check)
    instructions = b.add(b.load(slot(hooks.CB_INSTRUCTIONS)), words)
    fits = b.icmp_signed("<=", instructions, b.load(slot(hooks.CB_INSN_LIMIT)))
    budget = b.load(slot(hooks.CB_BUDGET))
    b.cbranch(b.and_(fits, b.icmp_signed(">", budget, i64(0))), charge, slow)

    b = ir.IRBuilder(charge)
    b.store(b.sub(budget, i64(1)), slot(hooks.CB_BUDGET))
    b.store(b.add(b.load(slot(hooks.CB_BLOCKS)), i64(1)), slot(hooks.CB_BLOCKS))
    b.store(instructions, slot(hooks.CB_INSTRUCTIONS))
    b.store(address, slot(hooks.CB_BLOCK_START))
    b.store(size64, slot(hooks.CB_BLOCK_SIZE))
    b.ret_void()

    b = ir.IRBuilder(slow)
    full = b.inttoptr(i64(slow_address), hook_type.as_pointer())
    b.call(full, [uc, address, size, user], tail="musttail")
    b.ret_void()
    return module


@functools.cache
def compiled(slow_address: int) -> tuple[object, int]:
    """The fast path in front of the hook at ``slow_address``: (the execution engine, which must
    live as long as the function is used; the function's address). Compiling takes ~6 ms."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    machine = llvm.Target.from_default_triple().create_target_machine(opt=3)
    module = llvm.parse_assembly(str(_module(slow_address)))
    module.verify()
    engine = llvm.create_mcjit_compiler(module, machine)
    engine.finalize_object()
    return engine, engine.get_function_address("hlemu_block_hook")


def address() -> int:
    """The host address of the block hook (a ``uc_cb_hookcode_t``; its user data is the CPU's
    control block, as for :func:`hooks.count_blocks`)."""
    return compiled(hooks.count_blocks.address)[1]


__all__ = ["address", "compiled"]
