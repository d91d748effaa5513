"""The vertex shader interpreter, instruction by instruction, on programs assembled by
scripts/pica_asm.py (arithmetic) or encoded here by hand (flow control, from 3dbrew
"GPU/Shader Instruction Set" formats 2 and 3), against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.gpu import regs as R
from hlemu.gpu.pica import Pica
from hlemu.gpu.shader import ShaderError, ShaderSetup, VertexShader
from tests.gpu.picalist import CommandBuilder, pica_asm

V0 = np.array([[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 0.0, 2.0]], np.float32)
V1 = np.array([[0.5, -2.0, 4.0, 0.25], [3.0, 3.0, -3.0, 1.0]], np.float32)


def run(source: str, uniforms: dict[int, tuple] = (), v0=V0, v1=V1, setup: ShaderSetup | None = None):
    prog = pica_asm.assemble(source)
    setup = setup or ShaderSetup()
    setup.code[: len(prog.code)] = prog.code
    setup.swizzles[: len(prog.opdescs)] = prog.opdescs
    for reg, values in dict(uniforms).items():
        setup.floats[reg] = values
    inputs = np.zeros((len(v0), 16, 4), np.float32)
    inputs[:, 0], inputs[:, 1] = v0, v1
    return VertexShader(setup).run(inputs, prog.main)


def test_mov_copies_and_the_dest_mask_keeps_other_components():
    out = run("mov o0, v0\nmov o1.xz, v1\nend")
    assert out[:, 0].tolist() == V0.tolist()
    assert out[:, 1].tolist() == [[0.5, 0, 4.0, 0], [3.0, 0, -3.0, 0]]


def test_swizzles_and_negation():
    out = run("mov o0, -v0.wzyx\nmov o1, v0.y\nend")
    assert out[0, 0].tolist() == [-4, -3, -2, -1]
    assert out[0, 1].tolist() == [2, 2, 2, 2]


def test_add_mul_max_min():
    out = run("add o0, v0, v1\nmul o1, v0, v1\nmax o2, v0, v1\nmin o3, v0, v1\nend")
    assert out[:, 0].tolist() == (V0 + V1).tolist()
    assert out[:, 1].tolist() == (V0 * V1).tolist()
    assert out[:, 2].tolist() == np.maximum(V0, V1).tolist()
    assert out[:, 3].tolist() == np.minimum(V0, V1).tolist()


def test_zero_times_infinity_is_zero_on_the_pica():
    v1 = np.array([[np.inf, 1, 1, 1], [np.inf, 1, 1, 1]], np.float32)
    v0 = np.array([[0, 2, 2, 2], [3, 2, 2, 2]], np.float32)
    out = run("mul o0, v0, v1\ndp4 o1, v0, v1\nend", v0=v0, v1=v1)
    assert out[0, 0, 0] == 0 and np.isinf(out[1, 0, 0])
    assert out[0, 1].tolist() == [6, 6, 6, 6]


def test_dot_products_broadcast_to_every_component():
    out = run("dp3 o0, v0, v1\ndp4 o1, v0, v1\nend")
    assert out[0, 0].tolist() == [8.5] * 4  # 0.5 - 4 + 12
    assert out[0, 1].tolist() == [9.5] * 4  # + 1
    assert out[1, 1].tolist() == [0.5] * 4  # -3 + 1.5 + 0 + 2


def test_rcp_and_rsq_take_the_first_selected_component():
    out = run("rcp o0, v0.w\nrsq o1, v0.w\nrcp o2, v0\nend")
    assert out[0, 0].tolist() == [0.25] * 4
    assert out[0, 1].tolist() == [0.5] * 4
    assert out[0, 2].tolist() == [1.0] * 4


def test_float_uniforms_and_the_out_of_range_ones():
    out = run("mul o0, c5, v0\nend", uniforms={5: (2, 2, 2, 2)})
    assert out[0, 0].tolist() == [2, 4, 6, 8]


def test_mova_and_relative_uniform_addressing():
    # a0.x = trunc(v1.x): 0 for vertex 0 (0.5), 3 for vertex 1; c10[a0.x] reads c10 or c13.
    uniforms = {10: (1, 1, 1, 1), 13: (7, 7, 7, 7)}
    out = run("mova a0.x, v1\nmov o0, c10[a0.x]\nend", uniforms=uniforms)
    assert out[:, 0].tolist() == [[1] * 4, [7] * 4]
    # an index past c95 reads ones
    v1 = np.array([[90, 0, 0, 0], [0, 0, 0, 0]], np.float32)
    out = run("mova a0.x, v1\nmov o0, c10[a0.x]\nend", uniforms={10: (5, 5, 5, 5)}, v1=v1)
    assert out[:, 0].tolist() == [[1] * 4, [5] * 4]


def test_sge_slt_flr():
    out = run("sge o0, v0, v1\nslt o1, v0, v1\nflr o2, v1\nend")
    assert out[0, 0].tolist() == [1, 1, 0, 1]
    assert out[0, 1].tolist() == [0, 0, 1, 0]
    assert out[0, 2].tolist() == [0, -2, 4, 0]


def flow(opcode: int, dest: int, num: int, bool_id: int = 0) -> int:
    return opcode << 26 | bool_id << 22 | dest << 10 | num


def mov_const(dest_o: int, const: int) -> int:
    """mov o<dest_o>, c<const> with operand descriptor 0 (see setup below)."""
    return 0x13 << 26 | dest_o << 21 | (0x20 + const) << 12


def flow_setup(words: list[int]) -> ShaderSetup:
    setup = ShaderSetup()
    setup.code[: len(words)] = words
    setup.swizzles[0] = 0xF | 0b00011011 << 5  # mask xyzw, identity swizzle
    setup.floats[0], setup.floats[1] = (1, 1, 1, 1), (2, 2, 2, 2)
    return setup


def run_words(setup: ShaderSetup, v0=V0) -> np.ndarray:
    inputs = np.zeros((len(v0), 16, 4), np.float32)
    inputs[:, 0] = v0
    return VertexShader(setup).run(inputs, 0)


@pytest.mark.parametrize("b0, expected", [(True, 1), (False, 2)])
def test_ifu_runs_one_branch_by_a_bool_uniform(b0, expected):
    # 0: ifu b0, else at 2 (1 instruction)  1: mov o0, c0  2: mov o0, c1  3: end
    setup = flow_setup([flow(0x27, 2, 1), mov_const(0, 0), mov_const(0, 1), 0x22 << 26])
    setup.bools[0] = b0
    assert run_words(setup)[:, 0, 0].tolist() == [expected] * 2


def test_loop_repeats_count_plus_one_times_with_al_counting():
    # 0: loop i0, body ends at 1   1: add o0, o0?  -> use r0 += c0: add r0, r0, c0 ; then mov o0, r0
    add = 0x00 << 26 | 0x10 << 21 | (0x20 + 0) << 12 | 0x10 << 7  # add r0, c0, r0
    mov = 0x13 << 26 | 0 << 21 | 0x10 << 12  # mov o0, r0
    setup = flow_setup([flow(0x29, 1, 0), add, mov, 0x22 << 26])
    setup.ints[0] = (4, 0, 1, 0)  # five iterations
    assert run_words(setup)[:, 0].tolist() == [[5] * 4] * 2


def test_callu_and_jmpu():
    # 0: callu b1 -> 4 (1 instr)  1: jmpu b2 -> 3  2: mov o1, c0  3: end  4: mov o0, c1
    setup = flow_setup([flow(0x26, 4, 1, 1), flow(0x2D, 3, 0, 2), mov_const(1, 0), 0x22 << 26, mov_const(0, 1)])
    setup.bools[1] = setup.bools[2] = True
    out = run_words(setup)
    assert out[:, 0, 0].tolist() == [2, 2] and out[:, 1, 0].tolist() == [0, 0]


def test_ifc_splits_the_batch_where_vertices_disagree():
    prog = pica_asm.assemble("cmp c0, lt, lt, v0\nend")  # 1 < x ?
    cmp = prog.code[0]
    # 0: cmp  1: ifc (x flag) else at 3 (1 instr)  2: mov o0, c1  3: mov o0, c0  4: end
    ifc = 0x28 << 26 | 1 << 25 | 2 << 22 | 3 << 10 | 1
    setup = flow_setup([cmp, ifc, mov_const(0, 1), mov_const(0, 0), 0x22 << 26])
    setup.swizzles[1] = prog.opdescs[0]
    setup.code[0] = (cmp & ~0x7F) | 1
    v0 = np.array([[2, 0, 0, 0], [0, 0, 0, 0], [5, 0, 0, 0]], np.float32)
    assert run_words(setup, v0)[:, 0, 0].tolist() == [2, 1, 2]


def test_an_unimplemented_instruction_and_a_runaway_loop_are_errors():
    with pytest.raises(ShaderError, match="EMIT"):
        run_words(flow_setup([0x2A << 26]))
    with pytest.raises(ShaderError, match="instructions"):
        run_words(flow_setup([flow(0x2D, 0, 1, 0)]))  # jmpu b0 (false, inverted) -> 0 forever


def test_uniform_uploads_through_registers_float24_and_float32():
    pica = Pica()
    words = CommandBuilder().uniform(3, (1.0, 2.0, -3.0, 0.5)).uniform(4, (0.25, 8.0, 1.0, -1.0), float32=True).words
    assert pica.run_words(words).errors == []
    assert pica.vs.floats[3].tolist() == [1.0, 2.0, -3.0, 0.5]
    assert pica.vs.floats[4].tolist() == [0.25, 8.0, 1.0, -1.0]
    assert pica.regs[R.VSH_FLOATUNIFORM_CONFIG] & 0x7F == 5


# -- the rest of the instruction set: values worked out by hand from V0 and V1 ---------------------
def test_mad_multiplies_and_adds_with_the_uniform_in_src2_or_src3():
    # v0 * v1 + v0; v0 * c5 + v1 (MAD, the uniform in src2); v0 * v1 + c5 (MADI, in src3)
    out = run("mad o0, v0, v1, v0\nmad o1, v0, c5, v1\nmad o2, v0, v1, c5\nmad o3.xz, -v0.wzyx, v1.x, v0\nend",
              uniforms={5: (2, 2, 2, 2)})
    assert out[:, 0].tolist() == [[1.5, -2, 15, 5], [-4, 2, 0, 4]]
    assert out[:, 1].tolist() == [[2.5, 2, 10, 8.25], [1, 4, -3, 5]]
    assert out[:, 2].tolist() == [[2.5, -2, 14, 3], [-1, 3.5, 2, 4]]
    # -(4, 3, 2, 1) * 0.5 + (1, 2, 3, 4), x and z only; vertex 1: -(2, 0, 0.5, -1) * 3 + (-1, 0.5, 0, 2)
    assert out[:, 3].tolist() == [[-1, 0, 2, 0], [-7, 0, -1.5, 0]]
    prog = pica_asm.assemble("mad o0, v0, c5, v1\nmad o0, v0, v1, c5\nend")
    assert prog.code[0] >> 29 == 7 and prog.code[1] >> 29 == 6  # MAD 0x38-0x3F, MADI 0x30-0x37


def test_mad_and_madi_address_their_uniform_through_a0():
    # a0.x = trunc(v1.x): 0 for vertex 0, 3 for vertex 1; c5[a0.x] is c5 (2) or c8 (10)
    uniforms = {5: (2, 2, 2, 2), 8: (10, 10, 10, 10)}
    out = run("mova a0.x, v1\nmad o0, v0, c5[a0.x], v1\nmad o1, v0, v1, c5[a0.x]\nend", uniforms=uniforms)
    assert out[:, 0].tolist() == [[2.5, 2, 10, 8.25], [-7, 8, -3, 21]]
    assert out[:, 1].tolist() == [[2.5, -2, 14, 3], [7, 11.5, 10, 12]]


def test_dst_and_dsti():
    # (1, a.y * b.y, a.z, b.w); DSTI with the uniform c5 = (2, 2, 2, 2) as src2
    out = run("dst o0, v0, v1\ndst o1, v0, c5\nend", uniforms={5: (2, 2, 2, 2)})
    assert out[:, 0].tolist() == [[1, -4, 3, 0.25], [1, 1.5, 0, 1]]
    assert out[:, 1].tolist() == [[1, 4, 3, 2], [1, 1, 0, 2]]
    assert pica_asm.assemble("dst o1, v0, c5\nend").code[0] >> 26 == 0x19


def test_inverted_forms_sgei_slti_dphi():
    out = run("sge o0, v0, c5\nslt o1, v0, c5\ndph o2, v0, c6\nend", uniforms={5: (2, 2, 2, 2), 6: (1, 1, 1, 1)})
    assert out[:, 0].tolist() == [[0, 1, 1, 1], [0, 0, 0, 1]]
    assert out[:, 1].tolist() == [[1, 0, 0, 0], [1, 1, 1, 0]]
    assert out[:, 2].tolist() == [[7] * 4, [0.5] * 4]  # x + y + z + 1
    assert [w >> 26 for w in pica_asm.assemble("sge o0, v0, c5\nslt o1, v0, c5\ndph o2, v0, c6").code[:3]] == [
        0x1A, 0x1B, 0x18]


def test_ex2_and_lg2_take_the_first_selected_component():
    out = run("ex2 o0, v0.w\nlg2 o1, v0.w\nex2 o2, -v0.x\nend")
    assert out[0, 0].tolist() == [16] * 4 and out[0, 1].tolist() == [2] * 4 and out[0, 2].tolist() == [0.5] * 4
    assert out[1, 0].tolist() == [4] * 4 and out[1, 1].tolist() == [1] * 4 and out[1, 2].tolist() == [2] * 4


def program(source: str, patches: dict[int, int]) -> ShaderSetup:
    """``source`` assembled, with the words at ``patches`` (placeholders: nop) replaced by
    hand-encoded flow-control words."""
    prog = pica_asm.assemble(source)
    setup = ShaderSetup()
    setup.code[: len(prog.code)] = prog.code
    setup.swizzles[: len(prog.opdescs)] = prog.opdescs
    for at, word in patches.items():
        setup.code[at] = word
    setup.floats[0] = (1, 1, 1, 1)
    return setup


def breakc(refx: int, refy: int, op: int) -> int:
    return 0x23 << 26 | refx << 25 | refy << 24 | op << 22


def test_litp_clamps_and_sets_the_flags_from_x_and_w():
    v0 = np.array([[0.5, -2, 4, 0.25], [-1, 200, 5, -3], [2, -300, 1, -1]], np.float32)
    out = run("litp o0, v0\nend", v0=v0, v1=v0)
    assert out[:, 0].tolist() == [[0.5, -2, 0, 0.25], [0, np.float32(127.9961), 0, 0],
                                  [2, -np.float32(127.9961), 0, 0]]
    # the flags: o1.x = 1 where x >= 0 (IFC on x), o1.y = 1 where w >= 0 (IFC on y)
    # 0 litp r0, v0  1 ifc x -> else 3 (0)  2 mov o1.x, c0  3 ifc y -> else 5 (0)  4 mov o1.y, c0  5 end
    ifc_x = 0x28 << 26 | 1 << 25 | 2 << 22 | 3 << 10
    ifc_y = 0x28 << 26 | 1 << 24 | 3 << 22 | 5 << 10
    setup = program("litp r0, v0\nnop\nmov o1.x, c0\nnop\nmov o1.y, c0\nend", {1: ifc_x, 3: ifc_y})
    flags = run_words(setup, v0)[:, 1, :2].tolist()
    assert flags == [[1, 1], [0, 0], [1, 0]]


@pytest.mark.parametrize("breaks, total", [(True, 1), (False, 5)])
def test_break_leaves_the_loop(breaks, total):
    # 0 loop i0 (body to 2)  1 add r0, c0, r0  2 break / nop  3 mov o0, r0  4 end
    setup = program("nop\nadd r0, c0, r0\nnop\nmov o0, r0\nend",
                    {0: flow(0x29, 2, 0), 2: 0x20 << 26 if breaks else 0x21 << 26})
    setup.ints[0] = (4, 0, 1, 0)
    assert run_words(setup)[:, 0, 0].tolist() == [total] * 2


def test_breakc_splits_the_batch_and_each_vertex_leaves_when_its_count_is_reached():
    # r0 += 1 until r0.x >= v0.x (at most 11 times): 0 loop i0 (body to 3)  1 add  2 cmp  3 breakc x
    setup = program("nop\nadd r0, c0, r0\ncmp r0, ge, ge, v0\nnop\nmov o0, r0\nend",
                    {0: flow(0x29, 3, 0), 3: breakc(1, 0, 2)})
    setup.ints[0] = (10, 0, 1, 0)
    v0 = np.array([[2, 0, 0, 0], [0, 0, 0, 0], [4, 0, 0, 0], [50, 0, 0, 0]], np.float32)
    assert run_words(setup, v0)[:, 0, 0].tolist() == [2, 1, 4, 11]


def test_loop_al_counts_from_the_int_uniform_and_keeps_its_last_step():
    # i0 = (count 2, start 3, step 2): the body reads c3, c5, c7 through aL; after the loop aL is 9
    # (the step is added at the end of the last pass too, as Azahar does), so c0[aL] reads c9.
    setup = program("nop\nadd r0, c0[al], r0\nmov o0, r0\nmov o1, c0[al]\nend", {0: flow(0x29, 1, 0)})
    setup.ints[0] = (2, 3, 2, 0)
    for k, v in ((3, 1), (5, 10), (7, 100), (9, 1000)):
        setup.floats[k] = (v, v, v, v)
    out = run_words(setup)
    assert out[:, 0, 0].tolist() == [111] * 2 and out[:, 1, 0].tolist() == [1000] * 2


def test_a_nested_loop_gives_al_back_to_the_outer_one():
    # outer i1 (count 1, start 0, step 1: aL 0, 1); inner i0 (count 0, start 5, step 1: aL 5).
    # 0 loop i1 (body to 3)  1 loop i0 (body to 2)  2 add r0, c0[al], r0  3 add r1, c0[al], r1
    # inner: c5 twice; outer's own add reads c0 then c1 (aL given back after the inner loop)
    setup = program("nop\nnop\nadd r0, c0[al], r0\nadd r1, c0[al], r1\nmov o0, r0\nmov o1, r1\nend",
                    {0: flow(0x29, 3, 0, 1), 1: flow(0x29, 2, 0)})
    setup.ints[1] = (1, 0, 1, 0)
    setup.ints[0] = (0, 5, 1, 0)
    setup.floats[0], setup.floats[1], setup.floats[5] = (1, 1, 1, 1), (10, 10, 10, 10), (100, 100, 100, 100)
    out = run_words(setup)
    assert out[:, 0, 0].tolist() == [200] * 2 and out[:, 1, 0].tolist() == [11] * 2


# -- flow control through the assembler (hlemu.gpu.disasm's syntax, labels or offsets) -------------
def test_the_assembler_encodes_flow_control_as_the_hand_made_words():
    prog = pica_asm.assemble("""
        loop i0, to last
        add r0, c0, r0
        cmp r0, ge, ge, v0
    last:
        breakc cmp.x
        ifu b1, else other, 1
        callu b3, fn, 2
        jmpu !b2, 0x004
        ifc cmp.x && !cmp.y, else 8, 1
        call fn, 4
        jmpc !cmp.x || cmp.y, last
    other:
        end
    fn:
        nop""")
    assert prog.code[0] == flow(0x29, 3, 0) and prog.code[3] == breakc(1, 0, 2)
    assert prog.code[4] == flow(0x27, 10, 1, 1) and prog.code[5] == flow(0x26, 11, 2, 3)
    assert prog.code[6] == flow(0x2D, 4, 1, 2)  # the low bit of num inverts JMPU
    assert prog.code[7] == 0x28 << 26 | 1 << 25 | 1 << 22 | 8 << 10 | 1
    assert prog.code[8] == flow(0x24, 11, 4) and prog.code[9] == 0x2C << 26 | 1 << 24 | 0 << 22 | 3 << 10
    with pytest.raises(pica_asm.AsmError, match="no label"):
        pica_asm.assemble("call nowhere, 1\nend")


def test_an_assembled_loop_with_breakc_runs_as_the_hand_encoded_one():
    setup = ShaderSetup()
    prog = pica_asm.assemble("""
    main:
        loop i0, to last
        add r0, c0, r0
        cmp r0, ge, ge, v0
    last:
        breakc cmp.x
        mov o0, r0
        end""")
    setup.code[: len(prog.code)] = prog.code
    setup.swizzles[: len(prog.opdescs)] = prog.opdescs
    setup.floats[0], setup.ints[0] = (1, 1, 1, 1), (10, 0, 1, 0)
    v0 = np.array([[2, 0, 0, 0], [0, 0, 0, 0], [4, 0, 0, 0], [50, 0, 0, 0]], np.float32)
    assert run_words(setup, v0)[:, 0, 0].tolist() == [2, 1, 4, 11]


def test_a_run_of_the_same_program_uniforms_and_inputs_is_kept_and_nothing_else_is(monkeypatch):
    """Small batches' outputs are kept by everything they depend on (immediate-mode draws shade
    the same vertices each frame): the same run again executes nothing and gives the same
    outputs and step count; a changed uniform, input, entry point or descriptor runs again."""
    from hlemu.gpu import shader

    shader._kept.clear()
    executed = []
    real = VertexShader._execute
    monkeypatch.setattr(VertexShader, "_execute", lambda self, *a: executed.append(1) or real(self, *a))
    prog = pica_asm.assemble("mul r0, v0, c0\nadd o0, r0, v1\nend")
    setup = ShaderSetup()
    setup.code[: len(prog.code)] = prog.code
    setup.swizzles[: len(prog.opdescs)] = prog.opdescs
    setup.floats[0] = (2, 2, 2, 2)
    inputs = np.zeros((2, 16, 4), np.float32)
    inputs[:, 0], inputs[:, 1] = V0, V1
    first = VertexShader(setup)
    out = first.run(inputs, prog.main)
    again = VertexShader(setup)
    assert np.array_equal(again.run(inputs.copy(), prog.main), out) and again.steps == first.steps == 3
    assert len(executed) == 1
    again.run(inputs, prog.main)[:] = 0  # a caller's writes do not reach what is kept
    assert np.array_equal(VertexShader(setup).run(inputs, prog.main), out)
    setup.floats[0] = (3, 3, 3, 3)
    assert VertexShader(setup).run(inputs, prog.main)[:, 0].tolist() == (V0 * 3 + V1).tolist()
    moved = inputs.copy()
    moved[0, 1, 0] += 1
    assert VertexShader(setup).run(moved, prog.main)[0, 0, 0] == V0[0, 0] * 3 + V1[0, 0] + 1
    setup.swizzles[0] ^= 1 << 4  # src1 negated
    VertexShader(setup).run(inputs, prog.main)
    assert len(executed) == 4
