"""The geometry shader stage (hlemu/gpu/geometry.py) end to end: command lists that put shader
unit 3 in use go through GX ProcessCommandList, and what it emits is compared with the
reference renderer drawing the same triangles directly (tests/gpu/reference.py)."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.gpu import regs as R
from tests.gpu.picalist import PASSTHROUGH, CommandBuilder, pica_asm
from tests.gpu.test_draw import COLOR, VERTS, H, W, expected

# Each point (v0 position, v1 colour) becomes a square of half side c0.x: corners A B C D
# (lower left, lower right, upper left, upper right), drawn as A B C and then, with vertex 0
# replaced by D, as B D C (setemit 0 prim inv: vertices 1, 0, 2 of the buffer D B C).
SQUARE = """
.constf c0 (0.25, 0.0, 0.0, 0.0)
.out o0 position
.out o1 color
main:
    mov r1, v0
    add r1.x, -c0.x, v0.x
    add r1.y, -c0.x, v0.y
    mov o0, r1
    mov o1, v1
    setemit 0
    emit
    add r1.x, c0.x, v0.x
    mov o0, r1
    setemit 1
    emit
    add r1.x, -c0.x, v0.x
    add r1.y, c0.x, v0.y
    mov o0, r1
    setemit 2 prim
    emit
    add r1.x, c0.x, v0.x
    mov o0, r1
    setemit 0 prim{winding}
    emit
    end
"""
POINTS = [(-0.5, -0.4, -0.5, 1.0, 1.0, 0.0, 0.0, 1.0), (0.3, -0.2, -0.5, 1.0, 0.0, 1.0, 0.0, 1.0),
          (0.0, 0.55, -0.5, 1.0, 0.0, 0.0, 1.0, 1.0)]
HALF = 0.25


def squares(points, colours=None) -> tuple[list[tuple[float, ...]], list[tuple[int, int, int]]]:
    """The corners and triangles SQUARE draws for ``points`` (colours: one per point, else theirs)."""
    corners, tris = [], []
    for k, p in enumerate(points):
        x, y, z, w = p[:4]
        colour = tuple(colours[k]) if colours else tuple(p[4:])
        base = len(corners)
        corners += [(x + dx, y + dy, z, w, *colour) for dx, dy in ((-HALF, -HALF), (HALF, -HALF), (-HALF, HALF),
                                                                  (HALF, HALF))]
        tris += [(base, base + 1, base + 2), (base + 1, base + 3, base + 2)]
    return corners, tris


def point_scene(env, program: str, points=POINTS, cull: int = 0) -> CommandBuilder:
    env.put(VERTS, np.array(points, np.float32).tobytes())
    b = CommandBuilder().shader(pica_asm.assemble(PASSTHROUGH))
    b.geometry_shader(pica_asm.assemble(program), vs_outputs=2, inputs=2)
    b.framebuffer(env.pa(COLOR), W, H, 0).viewport(0, 0, W, H).texenv_replace_primary()
    b.write(R.FACECULLING_CONFIG, cull)
    return b.attributes(env.pa(VERTS), 32, [(3, 4), (3, 4)])


def test_point_mode_draws_what_each_invocation_emits(env):
    env.clear(0)
    env.submit(point_scene(env, SQUARE.format(winding=" inv")).draw_arrays(len(POINTS), topology=3).finalize())
    draw = env.kernel.gsp.gx.pica.lists[-1].draws[0]
    assert draw.error == "" and draw.triangles == 2 * len(POINTS)
    corners, tris = squares(POINTS)
    assert (env.image(0) == expected(0, corners, tris)).all()


@pytest.mark.parametrize("winding, kept", [(" inv", 2), ("", 1)])
def test_inv_reverses_the_winding_so_culling_keeps_both_halves(env, winding, kept):
    """setemit's inv draws the buffer as vertices 1, 0, 2: the square's second half winds as the
    first does. Without it the second half winds the other way, and culling drops it."""
    env.clear(0)
    env.submit(point_scene(env, SQUARE.format(winding=winding), POINTS[:1], cull=2).draw_arrays(1, topology=3)
               .finalize())
    corners, tris = squares(POINTS[:1])
    assert env.kernel.gsp.gx.pica.lists[-1].draws[0].error == ""
    assert (env.image(0) == expected(0, corners, tris[:kept])).all()


# b15 reads false in the first invocation (as the program set it) and true in every later one.
FIRST_RED = SQUARE.replace("    mov o1, v1\n", "    ifu b15, else first, 1\n    mov o1, c2\n    jmpu b15, on\n"
                           "first:\n    mov o1, c1\non:\n").replace(
    ".constf c0 (0.25, 0.0, 0.0, 0.0)\n",
    ".constf c0 (0.25, 0.0, 0.0, 0.0)\n.constf c1 (1.0, 0.0, 0.0, 1.0)\n.constf c2 (0.0, 1.0, 0.0, 1.0)\n")


def test_b15_is_false_only_in_the_first_invocation_after_the_program_clears_it(env):
    env.clear(0)
    program = FIRST_RED.format(winding=" inv")
    red, green = (1.0, 0.0, 0.0, 1.0), (0.0, 1.0, 0.0, 1.0)
    b = point_scene(env, program).write(R.GSH_BOOLUNIFORM, 0x7FFF0000)  # b15 (and b0-b14) false
    env.submit(b.draw_arrays(len(POINTS), topology=3).finalize())
    corners, tris = squares(POINTS, [red, green, green])
    assert (env.image(0) == expected(0, corners, tris)).all()
    # b15 stays set: a second draw that does not clear it has no first invocation
    env.clear(0)
    env.submit(CommandBuilder().draw_arrays(len(POINTS), topology=3).finalize())
    corners, tris = squares(POINTS, [green] * 3)
    assert (env.image(0) == expected(0, corners, tris)).all()


# Fixed primitive mode: each vertex's one output (its position) into c0, c1, c2; one triangle
# an invocation, in the constant colour c5.
FROM_UNIFORMS = """
.constf c5 (0.2, 0.6, 1.0, 1.0)
.out o0 position
.out o1 color
main:
    mov o1, c5
    mov o0, c0
    setemit 0
    emit
    mov o0, c1
    setemit 1
    emit
    mov o0, c2
    setemit 2 prim
    emit
    end
"""
POSITION_ONLY = """
.out o0 position
main:
    mov o0, v0
    end
"""
TRIANGLES = [(-0.9, -0.9, -0.5, 1.0), (-0.1, -0.9, -0.5, 1.0), (-0.5, -0.1, -0.5, 1.0),
             (0.1, 0.1, -0.5, 1.0), (0.9, 0.1, -0.5, 1.0), (0.5, 0.9, -0.5, 1.0)]


def uniform_scene(env, mode: int, **kwargs) -> CommandBuilder:
    env.put(VERTS, np.array(TRIANGLES, np.float32).tobytes())
    b = CommandBuilder().shader(pica_asm.assemble(POSITION_ONLY))
    b.geometry_shader(pica_asm.assemble(FROM_UNIFORMS), vs_outputs=1, mode=mode, **kwargs)
    b.framebuffer(env.pa(COLOR), W, H, 0).viewport(0, 0, W, H).texenv_replace_primary()
    return b.attributes(env.pa(VERTS), 16, [(3, 4)])


def test_fixed_primitive_mode_puts_three_vertices_in_the_uniforms_of_each_invocation(env):
    env.clear(0)
    env.submit(uniform_scene(env, 2, fixed=(0, 3)).draw_arrays(6, topology=3).finalize())
    assert env.kernel.gsp.gx.pica.lists[-1].draws[0].triangles == 2
    colour = (0.2, 0.6, 1.0, 1.0)
    assert (env.image(0) == expected(0, [(*p, *colour) for p in TRIANGLES], ((0, 1, 2), (3, 4, 5)))).all()


def test_variable_primitive_mode_takes_each_count_from_the_index_stream(env):
    """Index stream 3, 0 1 2, 3, 3 4 5: c0 gets the count, c1 on the vertices. The program here
    reads c1-c3, so with FROM_UNIFORMS shifted by one it draws both triangles."""
    env.clear(0)
    shifted = FROM_UNIFORMS.replace("c2\n", "c3\n").replace("c1\n", "c2\n").replace("mov o0, c0", "mov o0, c1")
    b = CommandBuilder().shader(pica_asm.assemble(POSITION_ONLY))
    env.put(VERTS, np.array(TRIANGLES, np.float32).tobytes())
    b.geometry_shader(pica_asm.assemble(shifted), vs_outputs=1, mode=1, main_vertices=3)
    b.framebuffer(env.pa(COLOR), W, H, 0).viewport(0, 0, W, H).texenv_replace_primary()
    b.attributes(env.pa(VERTS), 16, [(3, 4)])
    indices = VERTS + 0x1000
    env.put(indices, bytes([3, 0, 1, 2, 3, 3, 4, 5]))
    b.write(R.PRIMITIVE_CONFIG, 3 << 8 | 1).write(R.INDEXBUFFER_CONFIG, indices - VERTS)
    b.write(R.NUMVERTICES, 8).write(R.DRAWELEMENTS, 1)
    env.submit(b.finalize())
    draw = env.kernel.gsp.gx.pica.lists[-1].draws[0]
    assert draw.error == "" and draw.triangles == 2
    colour = (0.2, 0.6, 1.0, 1.0)
    assert (env.image(0) == expected(0, [(*p, *colour) for p in TRIANGLES], ((0, 1, 2), (3, 4, 5)))).all()
    assert env.kernel.gsp.gx.pica.gs.floats[0].tolist() == [3.0] * 4  # the last count


def test_code_uploaded_to_the_vertex_unit_reaches_the_geometry_unit_when_shared(env):
    """VSH_COM_MODE bit 0 clear: the vertex unit's code uploads also fill unit 3 (Azahar), so
    one upload of a program holding both shaders serves both (the geometry one at its entry)."""
    pica = env.kernel.gsp.gx.pica
    both = pica_asm.assemble(PASSTHROUGH + SQUARE.format(winding=" inv").replace("main:", "geometry:")
                             .replace(".out o0 position\n.out o1 color\n", "").replace(".constf c0", ".constf c9"))
    b = CommandBuilder().write(R.VSH_COM_MODE, 0).shader(both).write(R.VSH_COM_MODE, 1)
    env.submit(b.finalize())
    assert pica.gs.code[: len(both.code)].tolist() == both.code
    b = CommandBuilder().write(R.VSH_COM_MODE, 1).write(R.VSH_CODETRANSFER_CONFIG, 0)
    b.write(R.VSH_CODETRANSFER_DATA[0], 0xDEADBEEF)
    env.submit(b.finalize())
    assert pica.vs.code[0] == 0xDEADBEEF and pica.gs.code[0] == both.code[0]  # exclusive again


def test_emit_in_a_vertex_shader_is_reported_and_the_list_goes_on(env):
    env.clear(0)
    program = ".out o0 position\n.out o1 color\nmain:\n    mov o0, v0\n    mov o1, v1\n    emit\n    end\n"
    env.put(VERTS, np.array(POINTS, np.float32).tobytes())
    b = CommandBuilder().shader(pica_asm.assemble(program))
    b.framebuffer(env.pa(COLOR), W, H, 0).viewport(0, 0, W, H).texenv_replace_primary()
    b.attributes(env.pa(VERTS), 32, [(3, 4), (3, 4)]).draw_arrays(3).finalize()
    assert env.submit(b)  # the list still ends (P3D)
    draw = env.kernel.gsp.gx.pica.lists[-1].draws[0]
    assert "EMIT" in draw.error and "vertex shader" in draw.error


def test_the_api_disassembles_the_geometry_unit_and_says_it_is_in_use(env):
    from kernel.api.gpu import GpuView

    view = GpuView(env.kernel)
    assert not view.geometry_in_use
    env.clear(0)
    env.submit(point_scene(env, SQUARE.format(winding=" inv")).draw_arrays(len(POINTS), topology=3).finalize())
    assert view.geometry_in_use
    lines = view.shader("geometry")
    assert lines[0].endswith("; main") and any("setemit 0 prim inv" in line for line in lines)
    assert sum("emit" in line.split("  ")[-1].split(";")[0] for line in lines) >= 4
    assert not any("setemit" in line for line in view.shader())  # the vertex unit's is the passthrough
    with pytest.raises(ValueError, match="no shader unit"):
        view.shader("pixel")


def test_the_gpu_dock_sample_lists_the_geometry_shader_after_the_vertex_shader(env):
    from gui.gpu_state import gpu_sample

    class Emu:  # what gpu_sample reads of the Emulator: its gpu view
        gpu = None

    from kernel.api.gpu import GpuView

    emu = Emu()
    emu.gpu = GpuView(env.kernel)
    env.clear(0)
    env.submit(point_scene(env, SQUARE.format(winding=" inv")).draw_arrays(len(POINTS), topology=3).finalize())
    shader = gpu_sample(emu).shader  # type: ignore[arg-type]
    vertex = emu.gpu.shader()
    assert shader[: len(vertex)] == vertex
    assert shader[len(vertex) : len(vertex) + 2] == ["", "; geometry shader (unit 3)"]
    assert shader[len(vertex) + 2 :] == emu.gpu.shader("geometry")
