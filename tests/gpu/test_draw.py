"""The draw path end to end: command lists built here (tests/gpu/picalist.py) go through GX
ProcessCommandList in a process's memory on both CPU memory backends, and the colour buffers
they draw are compared with the reference renderer (tests/gpu/reference.py)."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.gpu import regs as R
from hlemu.loaders import Image, Segment
from hlemu.memory import MemoryPermission
from kernel.kernel import Kernel
from kernel.services import gx
from tests.gpu import reference
from tests.gpu.picalist import PASSTHROUGH, TRANSFORM, CommandBuilder, pica_asm
from tests.kernel.asm import assemble
from tests.services.test_gx import ref_decode

BUF = 0x00200000  # 1 MiB: the command list at +0, the colour buffer at +0x40000, vertices at +0x80000
LIST, COLOR, VERTS = BUF, BUF + 0x40000, BUF + 0x80000
W, H = 64, 48
BACKGROUND = (0x20, 0x40, 0x60, 0xFF)
BPP = {0: 4, 1: 3, 2: 2, 3: 2, 4: 2}
FLAT = [(-0.75, -0.5, -0.5, 1.0, 0.8, 0.2, 0.4, 1.0), (0.5, -0.75, -0.5, 1.0, 0.8, 0.2, 0.4, 1.0),
        (0.0, 0.8, -0.5, 1.0, 0.8, 0.2, 0.4, 1.0)]
SMOOTH = [(-0.9, -0.9, -0.5, 1.0, 1.0, 0.0, 0.0, 1.0), (0.9, -0.6, -0.5, 1.0, 0.0, 1.0, 0.0, 1.0),
          (-0.2, 0.95, -0.5, 1.0, 0.0, 0.0, 1.0, 1.0)]


class Env:
    def __init__(self, backend: str) -> None:
        self.lines: list[str] = []
        self.kernel = Kernel(backend=backend, output=lambda _p, line: self.lines.append(line))
        self.process = self.kernel.spawn(Image("gpu", 0x00100000, [
            Segment(0x00100000, assemble("b ."), 0x1000, MemoryPermission.RX),
            Segment(BUF, b"", 0x100000, MemoryPermission.RW)]))
        table = self.process.space.table
        frames = table.frame[BUF >> 12 : (BUF + 0x100000) >> 12]
        assert (np.diff(frames) == 1).all(), "the test buffer is one physical run"
        self.phys = self.process.space.phys.frame_to_phys(int(frames[0]))

    def pa(self, vaddr: int) -> int:
        return self.phys + vaddr - BUF

    def put(self, addr: int, data: bytes) -> None:
        self.process.space.mem.write(addr, data)

    def clear(self, fmt: int) -> None:
        """A GX MemoryFill of the colour buffer with BACKGROUND, as citro3d clears a target."""
        value, width = _fill_value(fmt)
        control = 1 | {4: 0x200, 3: 0x100, 2: 0}[width]
        assert self.gx(2, COLOR, value, COLOR + W * H * BPP[fmt], 0, 0, 0, control) == [gx.PSC0]

    def gx(self, *words: int) -> list[int]:
        return self.kernel.gsp.gx.execute(self.process, list(words) + [0] * (8 - len(words)))

    def submit(self, builder: CommandBuilder) -> list[int]:
        data = builder.data()
        self.put(LIST, data)
        return self.gx(1, LIST, len(data))

    def image(self, fmt: int) -> np.ndarray:
        raw = np.frombuffer(self.process.space.mem.read(COLOR, W * H * BPP[fmt]), np.uint8)
        px = reference.untile(raw, W, H, BPP[fmt])
        return ref_decode(px.reshape(-1), reference.FORMATS[fmt]).reshape(H, W, 4)


def _fill_value(fmt: int) -> tuple[int, int]:
    r, g, b, a = BACKGROUND
    if fmt == 0:
        return r << 24 | g << 16 | b << 8 | a, 4
    if fmt == 1:
        return r << 16 | g << 8 | b, 3
    if fmt == 3:
        return (r >> 3) << 11 | (g >> 2) << 5 | b >> 3, 2
    if fmt == 2:
        return (r >> 3) << 11 | (g >> 3) << 6 | (b >> 3) << 1 | a >> 7, 2
    return (r >> 4) << 12 | (g >> 4) << 8 | (b >> 4) << 4 | a >> 4, 2


def scene(env: Env, fmt: int, vertices, program: str = PASSTHROUGH, uniforms=()) -> CommandBuilder:
    env.put(VERTS, np.array(vertices, np.float32).tobytes())
    b = CommandBuilder().shader(pica_asm.assemble(program))
    for index, values in uniforms:
        b.uniform(index, values)
    b.framebuffer(env.pa(COLOR), W, H, fmt).viewport(0, 0, W, H).texenv_replace_primary()
    return b.attributes(env.pa(VERTS), 32, [(3, 4), (3, 4)])


def expected(fmt: int, vertices, tris=((0, 1, 2),), positions=None) -> np.ndarray:
    v = np.array(vertices, np.float64)
    image = reference.render(v[:, :4] if positions is None else positions, v[:, 4:], tris, (0, 0, W, H), (W, H),
                             BACKGROUND)
    # through the colour buffer's format, as the GPU stores it
    from tests.services.test_gx import ref_encode

    name = reference.FORMATS[fmt]
    return ref_decode(ref_encode(image.reshape(-1, 4), name), name).reshape(H, W, 4)


@pytest.mark.parametrize("fmt", [0, 3])
def test_a_clear_is_the_background_everywhere(env, fmt):
    env.clear(fmt)
    assert (env.image(fmt) == expected(fmt, FLAT, tris=())).all()


@pytest.mark.parametrize("fmt", [0, 3])
def test_a_flat_triangle_matches_the_reference_exactly(env, fmt):
    env.clear(fmt)
    assert env.submit(scene(env, fmt, FLAT).draw_arrays(3).finalize()) == [gx.P3D]
    got, want = env.image(fmt), expected(fmt, FLAT)
    assert (got != want).any(axis=2).sum() == 0
    assert (want != expected(fmt, FLAT, tris=())).any(axis=2).sum() > 500  # the triangle is there


@pytest.mark.parametrize("fmt", [0, 3])
def test_an_interpolated_triangle_matches_the_reference(env, fmt):
    env.clear(fmt)
    env.submit(scene(env, fmt, SMOOTH).draw_arrays(3).finalize())
    got, want = env.image(fmt).astype(int), expected(fmt, SMOOTH).astype(int)
    step = 1 if fmt == 0 else 8  # one 8-bit step, or one step of RGB565's 5-bit channels
    assert np.abs(got - want).max() <= step
    assert (got == want).all(axis=2).mean() > 0.98
    assert len({tuple(p) for p in got.reshape(-1, 4)}) > 200  # a gradient, not a flat fill


def test_a_vertex_shader_with_a_matrix_in_uniforms(env):
    # Scale x by 0.5 and move it right by 0.25: the reference is given the transformed positions.
    matrix = [(0.5, 0, 0, 0.25), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1)]
    env.clear(0)
    env.submit(scene(env, 0, SMOOTH, TRANSFORM, uniforms=list(enumerate(matrix))).draw_arrays(3).finalize())
    v = np.array(SMOOTH, np.float64)
    moved = v[:, :4] @ np.array(matrix).T
    got, want = env.image(0).astype(int), expected(0, SMOOTH, positions=moved).astype(int)
    assert np.abs(got - want).max() <= 1 and (got == want).all(axis=2).mean() > 0.98


def test_immediate_mode_draws_what_the_arrays_draw(env):
    from hlemu.gpu.float24 import pack_vec4

    env.clear(0)
    b = scene(env, 0, FLAT).write(R.PRIMITIVE_CONFIG, 1).write(R.FIXEDATTRIB_INDEX, 0xF)
    for v in FLAT:
        b.write(R.FIXEDATTRIB_DATA[0], *pack_vec4(*v[:4]), *pack_vec4(*v[4:]))
    env.submit(b.finalize())
    assert (env.image(0) == expected(0, FLAT)).all()
    assert env.kernel.gsp.gx.pica.lists[-1].draws[0].kind == "immediate"


def test_a_strip_of_two_triangles(env):
    quad = [(-0.5, -0.5, -0.5, 1, 1, 1, 1, 1), (0.5, -0.5, -0.5, 1, 1, 1, 1, 1), (-0.5, 0.5, -0.5, 1, 1, 1, 1, 1),
            (0.5, 0.5, -0.5, 1, 1, 1, 1, 1)]
    env.clear(0)
    env.submit(scene(env, 0, quad).draw_arrays(4, topology=1).finalize())
    got = env.image(0)
    assert (got == expected(0, quad, tris=((0, 1, 2), (2, 1, 3)))).all()
    assert (got[:, :, 0] == 255).sum() == 32 * 24  # the quad covers its pixels once, no gaps


def test_a_list_without_finalize_raises_no_p3d(env):
    env.clear(0)
    assert env.submit(scene(env, 0, FLAT).draw_arrays(3)) == []


def test_a_wild_attribute_pointer_is_reported_and_the_list_goes_on(env):
    env.clear(0)
    b = scene(env, 0, FLAT).write(R.ATTRIBBUFFERS_LOC, 0x08000000 >> 3).draw_arrays(3).finalize()
    assert env.submit(b) == [gx.P3D]
    record = env.kernel.gsp.gx.pica.lists[-1]
    assert record.draws[0].error and "attribute buffer 0" in record.draws[0].error
    assert any("attribute buffer 0" in line for line in env.lines)
    assert (env.image(0) == expected(0, FLAT, tris=())).all()  # nothing drawn


def test_a_wild_command_list_pointer_is_a_refused_gx_command(env):
    with pytest.raises(gx.GxError, match="command list"):
        env.gx(1, 0x50000000, 0x100)


def test_the_colour_buffer_pages_see_the_write_through_the_memory_path(env):
    # The display's write tracking marks a framebuffer page dirty when the GPU draws on it.
    from hlemu.memory import WriteTracker

    tracker = WriteTracker("test")
    env.process.space.track_writes(COLOR, W * H * 4, tracker)
    env.clear(0)
    tracker.rearm()
    env.submit(scene(env, 0, FLAT).draw_arrays(3).finalize())
    assert tracker.dirty.get(env.process.pid)


def test_texenv_modulate_by_a_constant_and_the_combiner_buffer(env):
    # Stage 0: primary * constant (MODULATE), written to the combiner buffer (TEXENV_UPDATE_BUFFER
    # bits 8 and 12); stage 1 REPLACE with texture 0, which is off (0, 0, 0, 0); stage 2 REPLACE
    # with the buffer, which holds stage 0's output from stage 2 on (Azahar): the output is stage 0's.
    env.clear(0)
    b = scene(env, 0, FLAT)
    b.write(R.TEXENV_BASES[0], 0x00E000E0, 0, 0x00010001,  # sources: primary, constant; MODULATE
            0x80FF4020, 0, consecutive=True)
    b.write(R.TEXENV_BASES[1], 0x00030003, 0, 0, 0, 0, consecutive=True)
    b.write(R.TEXENV_BASES[2], 0x000D000D, 0, 0, 0, 0, consecutive=True)
    b.write(R.TEXENV_UPDATE_BUFFER, 1 << 8 | 1 << 12)
    env.submit(b.draw_arrays(3).finalize())
    got = env.image(0)
    # FLAT's colour (0.8, 0.2, 0.4, 1) -> (204, 51, 102, 255), times (0x20, 0x40, 0xFF, 0x80) / 255
    inside = (got != expected(0, FLAT, tris=())).any(axis=2)
    assert inside.sum() > 500
    assert {tuple(p) for p in got[inside]} == {(204 * 0x20 // 255, 51 * 0x40 // 255, 102, 255 * 0x80 // 255)}


def test_draw_elements_with_16_bit_indices_and_a_fan(env):
    env.clear(0)
    quad = [(-0.5, -0.5, -0.5, 1, 1, 1, 1, 1), (0.5, -0.5, -0.5, 1, 1, 1, 1, 1), (0.5, 0.5, -0.5, 1, 1, 1, 1, 1),
            (-0.5, 0.5, -0.5, 1, 1, 1, 1, 1)]
    b = scene(env, 0, quad)
    env.put(VERTS + 0x1000, np.array([3, 0, 1, 2], "<u2").tobytes())  # a fan around vertex 3
    b.write(R.INDEXBUFFER_CONFIG, 0x1000 | 1 << 31).write(R.PRIMITIVE_CONFIG, 2 << 8)
    b.write(R.NUMVERTICES, 4).write(R.DRAWELEMENTS, 1)
    env.submit(b.finalize())
    got = env.image(0)
    assert (got == expected(0, quad, tris=((3, 0, 1), (3, 1, 2)))).all()
    assert (got[:, :, 0] == 255).sum() == 32 * 24
    assert env.kernel.gsp.gx.pica.lists[-1].draws[0].kind == "elements"


def _pixels_of(fmt: int, vertices) -> np.ndarray:
    """Where a triangle of ``vertices`` covers the target (by the reference)."""
    return (expected(fmt, vertices) != expected(fmt, vertices, tris=())).any(axis=2)


def test_alpha_blending_as_citro3d_sets_it_by_default(env):
    # ADD, ADD; SRC_ALPHA, ONE_MINUS_SRC_ALPHA for colour and alpha (C3D_AlphaBlend's defaults)
    half = [v[:7] + (0.5,) for v in FLAT]
    env.clear(0)
    b = scene(env, 0, half).write(R.COLOR_OPERATION, 0xE40100).write(R.BLEND_FUNC, 0x76760000)
    env.submit(b.draw_arrays(3).finalize())
    src = np.array([204, 51, 102, 128])
    dst = np.array(BACKGROUND)
    want = np.clip((src * 128 + dst * 127) // 255, 0, 255)
    got = env.image(0)
    inside = _pixels_of(0, FLAT)
    assert inside.sum() > 500 and (got[inside] == want).all() and (got[~inside] == BACKGROUND).all()


def test_logic_op_xor_with_blending_off(env):
    env.clear(0)
    env.submit(scene(env, 0, FLAT).write(R.LOGIC_OP, 11).draw_arrays(3).finalize())
    got = env.image(0)
    inside = _pixels_of(0, FLAT)
    assert (got[inside] == np.array([204, 51, 102, 255]) ^ np.array(BACKGROUND)).all()


@pytest.mark.parametrize("mode", [1, 3])
def test_the_scissor_keeps_or_drops_the_box(env, mode):
    x1, y1, x2, y2 = 16, 10, 31, 29  # inclusive corners, in pixels (GPU y up)
    env.clear(0)
    b = scene(env, 0, SMOOTH).write(R.SCISSORTEST_MODE, mode)
    b.write(R.SCISSORTEST_POS, x1 | y1 << 16).write(R.SCISSORTEST_DIM, x2 | y2 << 16)
    env.submit(b.draw_arrays(3).finalize())
    box = np.zeros((H, W), bool)
    box[y1 : y2 + 1, x1 : x2 + 1] = True
    keep = box if mode == 3 else ~box
    full, clear = expected(0, SMOOTH), expected(0, SMOOTH, tris=())
    got = env.image(0).astype(int)
    want = np.where(keep[..., None], full, clear).astype(int)
    assert np.abs(got - want).max() <= 1 and (got[~keep] == clear[~keep]).all()


@pytest.mark.parametrize("func, ref, drawn", [(6, 200, False), (7, 128, True), (2, 127, False), (0, 0, False)])
def test_the_alpha_test_compares_the_fragment_alpha(env, func, ref, drawn):
    half = [v[:7] + (0.5,) for v in FLAT]  # alpha 128
    env.clear(0)
    env.submit(scene(env, 0, half).write(R.FRAGOP_ALPHA_TEST, 1 | func << 4 | ref << 8).draw_arrays(3).finalize())
    changed = (env.image(0) != expected(0, FLAT, tris=())).any(axis=2).sum()
    assert (changed > 500) if drawn else changed == 0


DEPTH = BUF + 0xA0000  # a D16 depth buffer beside the colour buffer


def test_the_depth_test_keeps_the_nearer_triangle_and_writes_d16(env):
    # B (blue, z -0.6) first, then A (red, z -0.3) with GREATER (citro2d's comparison): where they
    # overlap B stays, as if B were drawn last; the depth buffer holds -z * 0xFFFF (z-buffering,
    # DEPTHMAP_SCALE -1, OFFSET 0, as citro3d's C3D_DepthMap default).
    from hlemu.gpu.float24 import f32_to_f24

    a = [(-0.8, -0.8, -0.3, 1, 1, 0, 0, 1), (0.6, -0.7, -0.3, 1, 1, 0, 0, 1), (-0.1, 0.8, -0.3, 1, 1, 0, 0, 1)]
    b = [(-0.6, 0.7, -0.6, 1, 0, 0, 1, 1), (0.0, -0.9, -0.6, 1, 0, 0, 1, 1), (0.9, 0.6, -0.6, 1, 0, 0, 1, 1)]
    env.clear(0)
    env.put(DEPTH, bytes(W * H * 2))
    builder = scene(env, 0, b + a).write(R.DEPTHBUFFER_LOC, env.pa(DEPTH) >> 3).write(R.DEPTHBUFFER_FORMAT, 0)
    builder.write(R.DEPTHBUFFER_WRITE, 0x3).write(R.DEPTHMAP_ENABLE, 1)
    builder.write(R.DEPTHMAP_SCALE, int(f32_to_f24(-1.0))).write(R.DEPTHMAP_OFFSET, 0)
    builder.write(R.DEPTH_COLOR_MASK, 1 | 6 << 4 | 0xF << 8 | 1 << 12)
    env.submit(builder.draw_arrays(6).finalize())
    got = env.image(0)
    assert (got == expected(0, b + a, tris=((3, 4, 5), (0, 1, 2)))).all()
    raw = np.frombuffer(env.process.space.mem.read(DEPTH, W * H * 2), np.uint8)
    depth = reference.untile(raw, W, H, 2).view("<u2")[..., 0]
    blue, red = (got[..., 2] == 255) & (got[..., 0] == 0), (got[..., 0] == 255) & (got[..., 2] == 0)
    assert blue.sum() > 300 and red.sum() > 300
    assert set(depth[blue].tolist()) == {int(np.float32(0.6) * 0xFFFF)}
    assert set(depth[red].tolist()) == {int(np.float32(0.3) * 0xFFFF)}


# -- clipping (the PICA's view volume -w <= x, y <= w, -w <= z <= 0, w > 0; the user plane) ---------
def _clip_expected(vertices, user_plane=None) -> np.ndarray:
    v = np.array(vertices, np.float64)
    return reference.render(v[:, :4], v[:, 4:], [(0, 1, 2)], (0, 0, W, H), (W, H), BACKGROUND, user_plane=user_plane)


def _matches(got: np.ndarray, want: np.ndarray) -> None:
    """Within one 8-bit step; a clipped triangle's new corners round to 1/16 pixel alike in both."""
    diff = np.abs(got.astype(int) - want.astype(int))
    assert diff.max() <= 1 and (diff == 0).all(axis=2).mean() > 0.98


def test_a_triangle_through_the_near_plane_is_cut_not_dropped(env):
    # One corner at z = +0.5 (in front of the near plane z = 0): the part with z <= 0 is drawn.
    tri = [(-0.8, -0.8, -0.5, 1, 1, 0, 0, 1), (0.8, -0.8, -0.5, 1, 0, 1, 0, 1), (0.0, 0.8, 0.5, 1, 0, 0, 1, 1)]
    env.clear(0)
    env.submit(scene(env, 0, tri).draw_arrays(3).finalize())
    got, want = env.image(0), _clip_expected(tri)
    _matches(got, want)
    drawn = (want != BACKGROUND).any(axis=2)
    assert 200 < drawn.sum() < (_pixels_of(0, [(*p[:2], -0.5, *p[3:]) for p in tri])).sum()
    rows = np.nonzero(drawn.any(axis=1))[0]
    assert rows.max() <= H // 2 + 1  # cut where z = 0: halfway up
    assert env.kernel.gsp.gx.pica.lists[-1].draws[0].triangles == 2  # a quadrilateral, as a fan


def test_a_corner_behind_the_eye_is_clipped_at_w_epsilon(env):
    # w = -1 at the top corner (behind the eye): hlemu used to drop the triangle; clipped, the part
    # in front of the eye reaches the top edge of the target (the top corner projects through infinity).
    tri = [(-0.6, -0.8, -0.5, 1, 1, 1, 0, 1), (0.6, -0.8, -0.5, 1, 0, 1, 1, 1), (0.0, 0.5, -0.5, -1, 1, 0, 1, 1)]
    env.clear(0)
    env.submit(scene(env, 0, tri).draw_arrays(3).finalize())
    got, want = env.image(0), _clip_expected(tri)
    _matches(got, want)
    assert (want != BACKGROUND).any(axis=2).sum() > 150


def test_a_triangle_larger_than_the_view_is_clipped_to_it(env):
    big = [(-20, -20, -0.5, 1, 1, 0, 0, 1), (20, -20, -0.5, 1, 0, 1, 0, 1), (0, 20, -0.5, 1, 0, 0, 1, 1)]
    env.clear(0)
    env.submit(scene(env, 0, big).draw_arrays(3).finalize())
    got, want = env.image(0), _clip_expected(big)
    _matches(got, want)
    assert (got != BACKGROUND).any(axis=2).all()  # the whole target, no gaps between the fan's triangles


def test_triangles_past_the_far_plane_or_in_front_of_the_near_one_are_not_drawn(env):
    far = [(p[0], p[1], -1.5, 1.0, *p[4:]) for p in FLAT]
    near = [(p[0], p[1], 0.25, 1.0, *p[4:]) for p in FLAT]
    env.clear(0)
    env.submit(scene(env, 0, far + near).draw_arrays(6).finalize())
    assert (env.image(0) == expected(0, FLAT, tris=())).all()
    assert env.kernel.gsp.gx.pica.lists[-1].draws[0].triangles == 0


def test_the_user_clip_plane_keeps_the_side_its_dot_product_is_positive(env):
    from hlemu.gpu.float24 import f32_to_f24

    plane = (1.0, 0.0, 0.0, -0.25)  # keep x >= 0.25 w
    env.clear(0)
    b = scene(env, 0, SMOOTH).write(R.FRAGOP_CLIP, 1)
    b.write(R.FRAGOP_CLIP_DATA0, *(int(f32_to_f24(c)) for c in plane), consecutive=True)
    env.submit(b.draw_arrays(3).finalize())
    got, want = env.image(0), _clip_expected(SMOOTH, user_plane=plane)
    _matches(got, want)
    drawn = np.nonzero((got != BACKGROUND).any(axis=2))
    assert len(drawn[1]) > 100 and drawn[1].min() >= int((0.25 + 1) * W / 2) - 1
    env.clear(0)
    env.submit(scene(env, 0, SMOOTH).write(R.FRAGOP_CLIP, 0).draw_arrays(3).finalize())  # off: all of it
    assert (env.image(0) != BACKGROUND).any(axis=2).sum() > len(drawn[1])


def test_the_clipper_keeps_whole_triangles_as_they_are():
    from hlemu.gpu import clip

    v = np.array([p[:4] for p in FLAT] + [(0, 0, 0.5, 1)] * 3, np.float64)
    out, tris = clip.clip(v, np.array([[0, 1, 2], [3, 4, 5]]))
    assert tris.tolist() == [[0, 1, 2]] and len(out) == 6  # the second is in front of the near plane


@pytest.mark.parametrize("seed", range(6))
def test_the_clipper_cuts_random_triangles_as_the_reference_does(seed):
    """Triangles over and across every plane (and a user plane on odd seeds): the same
    polygons, corners and attributes as tests/gpu/reference.py's clipper, fans in order."""
    from hlemu.gpu import clip

    rng = np.random.default_rng(seed)
    n = 3 * 40
    pos = np.column_stack([rng.uniform(-2, 2, (n, 2)), rng.uniform(-1.5, 0.5, n), rng.uniform(-0.2, 1.5, n)])
    pos[:30] = np.column_stack([rng.uniform(-0.5, 0.5, (30, 2)), rng.uniform(-0.5, -0.1, 30), np.ones(30)])
    att = rng.uniform(-1, 1, (n, 3))
    user = tuple(rng.uniform(-1, 1, 4)) if seed % 2 else None
    tris = np.arange(n).reshape(-1, 3)
    vertices, out = clip.clip(np.concatenate([pos, att], axis=1), tris, user)
    want_pos, want_att, want_tris = reference.clipped(pos, att, tris.tolist(), user)
    whole = [t for t in range(len(tris)) if (out == tris[t]).all(axis=1).any()]
    assert 0 < len(whole) < len(tris) and len(out) > len(tris) // 2  # some whole, some cut, some gone
    got = np.concatenate([vertices[tri] for tri in out]) if len(out) else np.zeros((0, 7))
    want = np.concatenate([np.concatenate([want_pos, want_att], axis=1)[list(tri)] for tri in want_tris])
    assert got.shape == want.shape
    assert np.allclose(got, want, rtol=0, atol=1e-12)


# -- the stencil test and its operations (D24S8's fourth byte) -----------------------------------
BIG = [(-1, -1, -0.5, 1, 0, 1, 0, 1), (1, -1, -0.5, 1, 0, 1, 0, 1), (-1, 1, -0.5, 1, 0, 1, 0, 1),
       (1, 1, -0.5, 1, 0, 1, 0, 1)]  # a green quad over the whole target (a strip)


def _depth_stencil(env: Env, builder: CommandBuilder, fmt: int = 3, fill: int = 0) -> CommandBuilder:
    """A depth buffer at DEPTH, every pixel's word ``fill`` (D24S8: stencil in the top byte)."""
    size = {0: 2, 2: 3, 3: 4}[fmt]
    env.put(DEPTH, fill.to_bytes(4, "little")[:size] * (W * H))
    builder.write(R.DEPTHBUFFER_LOC, env.pa(DEPTH) >> 3).write(R.DEPTHBUFFER_FORMAT, fmt)
    return builder.write(R.DEPTHBUFFER_WRITE, 0x3)


def _stencil_of(env: Env) -> np.ndarray:
    raw = np.frombuffer(env.process.space.mem.read(DEPTH, W * H * 4), np.uint8)
    return reference.untile(raw, W, H, 4)


def _stencil(test_on=1, func=1, write_mask=0xFF, ref=0, input_mask=0xFF) -> int:
    return test_on | func << 4 | write_mask << 8 | ref << 16 | input_mask << 24


def test_a_stencil_mask_limits_a_later_draw_to_the_first_triangle(env):
    # Draw 1: FLAT with colour writes off, stencil ALWAYS, REPLACE with 1 on pass. Draw 2: the big
    # quad with stencil EQUAL 1: green only where FLAT was, the background elsewhere.
    env.clear(0)
    env.put(VERTS + 0x1000, np.array(BIG, np.float32).tobytes())
    b = _depth_stencil(env, scene(env, 0, FLAT))
    b.write(R.DEPTH_COLOR_MASK, 0).write(R.STENCIL_TEST, _stencil(func=1, ref=1)).write(R.STENCIL_OP, 2 << 8)
    b.draw_arrays(3)
    b.write(R.ATTRIBBUFFER0_OFFSET, 0x1000).write(R.DEPTH_COLOR_MASK, 0xF << 8)
    b.write(R.STENCIL_TEST, _stencil(func=2, ref=1)).write(R.STENCIL_OP, 0)
    env.submit(b.draw_arrays(4, topology=1).finalize())
    inside = _pixels_of(0, FLAT)
    got = env.image(0)
    assert inside.sum() > 500
    assert (got[inside] == (0, 255, 0, 255)).all() and (got[~inside] == BACKGROUND).all()
    stored = _stencil_of(env)
    assert (stored[..., 3][inside] == 1).all() and (stored[..., 3][~inside] == 0).all()
    assert (stored[..., :3] == 0).all()  # depth writes were off: the depth bytes are as filled


@pytest.mark.parametrize("action, old, ref, write_mask, new", [
    (0, 0x5A, 0, 0xFF, 0x5A),  # keep
    (1, 0x5A, 0, 0xFF, 0x00),  # zero
    (2, 0x5A, 0x33, 0xFF, 0x33),  # replace
    (3, 0xFF, 0, 0xFF, 0xFF), (3, 0x10, 0, 0xFF, 0x11),  # increment, saturating
    (4, 0x00, 0, 0xFF, 0x00), (4, 0x10, 0, 0xFF, 0x0F),  # decrement, saturating
    (5, 0x5A, 0, 0xFF, 0xA5),  # invert
    (6, 0xFF, 0, 0xFF, 0x00),  # increment, wrapping
    (7, 0x00, 0, 0xFF, 0xFF),  # decrement, wrapping
    (5, 0x5A, 0, 0x0F, 0x55),  # invert through the write mask: only the low four bits change
])
def test_each_stencil_operation_on_pass(env, action, old, ref, write_mask, new):
    env.clear(0)
    b = _depth_stencil(env, scene(env, 0, FLAT), fill=old << 24 | 0x123456)
    b.write(R.STENCIL_TEST, _stencil(func=1, ref=ref, write_mask=write_mask)).write(R.STENCIL_OP, action << 8)
    env.submit(b.draw_arrays(3).finalize())
    inside = _pixels_of(0, FLAT)
    stored = _stencil_of(env)
    assert set(stored[..., 3][inside].tolist()) == {new} and set(stored[..., 3][~inside].tolist()) == {old}
    assert (stored[..., 0] == 0x56).all() and (stored[..., 2] == 0x12).all()  # depth kept (no depth write)


@pytest.mark.parametrize("func, ref, input_mask, passes", [
    (2, 0x12, 0xFF, True), (2, 0x13, 0xFF, False), (2, 0x13, 0xF0, True),  # = (through the input mask)
    (4, 0x11, 0xFF, True), (4, 0x12, 0xFF, False),  # ref < stored
    (6, 0x13, 0xFF, True), (0, 0, 0, False), (3, 0x12, 0xFF, False)])  # ref > stored, never, !=
def test_the_stencil_comparison_is_ref_against_stored_through_the_input_mask(env, func, ref, input_mask, passes):
    # Stored stencil 0x12; fail: REPLACE (ref), pass: INVERT; colour drawn only on pass.
    env.clear(0)
    b = _depth_stencil(env, scene(env, 0, FLAT), fill=0x12 << 24)
    b.write(R.STENCIL_TEST, _stencil(func=func, ref=ref, input_mask=input_mask)).write(R.STENCIL_OP, 2 | 5 << 8)
    env.submit(b.draw_arrays(3).finalize())
    inside = _pixels_of(0, FLAT)
    got, stored = env.image(0), _stencil_of(env)[..., 3]
    assert (got[inside] != BACKGROUND).any(axis=1).all() == passes
    assert set(stored[inside].tolist()) == {0xED if passes else ref}


def test_a_failing_depth_test_runs_the_depth_fail_operation_and_depth_writes_keep_the_stencil(env):
    # Depth test LESS against a buffer of depth 0: every fragment fails it (zfail: INCR). Then a
    # second draw with the depth test GEQUAL and writes on passes: zpass DECR_WRAP, and the depth
    # bytes hold the fragment's depth while the stencil byte keeps its own value.
    from hlemu.gpu.float24 import f32_to_f24

    env.clear(0)
    b = _depth_stencil(env, scene(env, 0, FLAT), fill=0x40 << 24)
    b.write(R.DEPTHMAP_ENABLE, 1).write(R.DEPTHMAP_SCALE, int(f32_to_f24(-1.0))).write(R.DEPTHMAP_OFFSET, 0)
    b.write(R.STENCIL_TEST, _stencil(func=1)).write(R.STENCIL_OP, 1 | 3 << 4 | 1 << 8)
    b.write(R.DEPTH_COLOR_MASK, 1 | 4 << 4 | 0xF << 8 | 1 << 12)
    b.draw_arrays(3)
    env.submit(b.finalize())
    inside = _pixels_of(0, FLAT)
    stored = _stencil_of(env)
    assert set(stored[..., 3][inside].tolist()) == {0x41} and (env.image(0) == BACKGROUND).all()
    b = CommandBuilder().write(R.STENCIL_OP, 7 << 8).write(R.DEPTH_COLOR_MASK, 1 | 7 << 4 | 0xF << 8 | 1 << 12)
    env.submit(b.draw_arrays(3).finalize())
    stored = _stencil_of(env)
    depth = stored[..., 0].astype(int) | stored[..., 1].astype(int) << 8 | stored[..., 2].astype(int) << 16
    assert set(stored[..., 3][inside].tolist()) == {0x40}
    assert set(depth[inside].tolist()) == {int(np.float32(0.5) * 0xFFFFFF)} and (depth[~inside] == 0).all()


def test_the_stencil_test_needs_a_d24s8_buffer_and_depthbuffer_write(env):
    # On D24 (no stencil byte) the test is off: the fragments are drawn even with NEVER.
    env.clear(0)
    b = _depth_stencil(env, scene(env, 0, FLAT), fmt=2)
    env.submit(b.write(R.STENCIL_TEST, _stencil(func=0)).draw_arrays(3).finalize())
    assert (env.image(0) == expected(0, FLAT)).all()
    # On D24S8 with DEPTHBUFFER_WRITE 0 the test runs but writes nothing.
    env.clear(0)
    b = _depth_stencil(env, scene(env, 0, FLAT), fill=0x07 << 24).write(R.DEPTHBUFFER_WRITE, 0)
    env.submit(b.write(R.STENCIL_TEST, _stencil(func=1)).write(R.STENCIL_OP, 1 << 8).draw_arrays(3).finalize())
    assert (env.image(0) == expected(0, FLAT)).all() and (_stencil_of(env)[..., 3] == 7).all()


# -- fog (TEXENV_UPDATE_BUFFER's fog mode, FOG_COLOR, the 128-entry LUT) ---------------------------
FOG = (0x10, 0x80, 0xF0)


def _fog(builder: CommandBuilder, lut: list[int], flip: bool = False) -> CommandBuilder:
    from hlemu.gpu.float24 import f32_to_f24

    builder.write(R.DEPTHMAP_ENABLE, 1).write(R.DEPTHMAP_SCALE, int(f32_to_f24(-1.0))).write(R.DEPTHMAP_OFFSET, 0)
    builder.write(R.TEXENV_UPDATE_BUFFER, 5 | flip << 16).write(R.FOG_COLOR, FOG[0] | FOG[1] << 8 | FOG[2] << 16)
    return builder.write(R.FOG_LUT_INDEX, 0).write(R.FOG_LUT_DATA[0], *lut)


def _entry(value: int, diff: int = 0) -> int:
    return value << 13 | (diff & 0x1FFF)


def _at_depth(depth: float):
    return [(p[0], p[1], -depth, 1.0, *p[4:]) for p in FLAT]


@pytest.mark.parametrize("value, colour", [(2047, (204, 51, 102)), (0, FOG), (1024, (110, 89, 170))])
def test_fog_mixes_the_fog_colour_by_the_lut_factor(env, value, colour):
    # factor = value / 2047; colour = trunc(f * (204, 51, 102) + (1 - f) * FOG), worked out by hand
    env.clear(0)
    env.submit(_fog(scene(env, 0, FLAT), [_entry(value)] * 128).draw_arrays(3).finalize())
    inside = _pixels_of(0, FLAT)
    got = env.image(0)
    assert {tuple(p) for p in got[inside]} == {(*colour, 255)} and (got[~inside] == BACKGROUND).all()


@pytest.mark.parametrize("flip", [False, True])
def test_fog_reads_the_lut_entry_of_the_depth(env, flip):
    # entries 0-63 keep the colour, 64-127 are all fog: depth 0.3 (index 38) is clear, 0.7 (89)
    # fogged; flipped the index is (1 - depth) * 128, so the other way round.
    lut = [_entry(2047)] * 64 + [_entry(0)] * 64
    for depth, near in ((0.3, True), (0.7, False)):
        env.clear(0)
        env.submit(_fog(scene(env, 0, _at_depth(depth)), lut, flip).draw_arrays(3).finalize())
        colours = {tuple(p) for p in env.image(0)[_pixels_of(0, FLAT)]}
        assert colours == {((204, 51, 102, 255) if near != flip else (*FOG, 255))}


@pytest.mark.parametrize("entry, colour", [(_entry(0, 1023), (62, 108, 205)), (_entry(2047, -1023), (157, 70, 136))])
def test_fog_interpolates_an_entry_by_its_difference(env, entry, colour):
    # depth 129/256: index 64.5, factor value/2047 + diff/2047 * 0.5 (about 0.2499 and 0.7501)
    lut = [_entry(2047)] * 128
    lut[64] = entry
    env.clear(0)
    env.submit(_fog(scene(env, 0, _at_depth(129 / 256)), lut).draw_arrays(3).finalize())
    assert {tuple(p) for p in env.image(0)[_pixels_of(0, FLAT)]} == {(*colour, 255)}


def test_the_fog_lut_upload_counts_its_index_up_and_wraps():
    from hlemu.gpu.pica import Pica

    pica = Pica()
    words = CommandBuilder().write(R.FOG_LUT_INDEX, 126).write(R.FOG_LUT_DATA[0], 1, 2, 3, 4).words
    assert pica.run_words(words).errors == []
    assert pica.fog_lut[[126, 127, 0, 1]].tolist() == [1, 2, 3, 4] and pica.regs[R.FOG_LUT_INDEX] == 130


def test_fog_over_a_depth_gradient_matches_the_reference(env):
    # Depth runs 0.1 to 0.9 across the triangle; a LUT falling from 1 to 0 with its differences,
    # flipped and not: every pixel's entry and fraction differ, checked against the reference.
    lut = [_entry(round(2047 * (1 - k / 128)), round(-2047 / 128)) for k in range(128)]
    tri = [(-0.9, -0.9, -0.1, 1.0, 1.0, 0.6, 0.2, 1.0), (0.9, -0.7, -0.5, 1.0, 0.2, 1.0, 0.6, 1.0),
           (0.0, 0.9, -0.9, 1.0, 0.6, 0.2, 1.0, 1.0)]
    for flip in (False, True):
        env.clear(0)
        env.submit(_fog(scene(env, 0, tri), lut, flip).draw_arrays(3).finalize())
        v = np.array(tri, np.float64)
        want = reference.render(v[:, :4], v[:, 4:], [(0, 1, 2)], (0, 0, W, H), (W, H), BACKGROUND,
                                fog=(lut, FOG, flip)).astype(int)
        got = env.image(0).astype(int)
        diff = np.abs(got - want)
        assert diff.max() <= 1 and (diff == 0).all(axis=2).mean() > 0.97
        assert len({tuple(p) for p in got.reshape(-1, 4)}) > 200


def test_stencil_counting_overlaps_matches_the_reference(env):
    # Three triangles, each INCR_WRAP on pass (ALWAYS) with colour writes off, count how many
    # cover a pixel; then the big quad with EQUAL 2 through input mask 0x3 (stored 0x40 | count)
    # and INVERT on fail, write mask 0x0F: the reference's stencil model follows draw by draw.
    tris = [FLAT, SMOOTH, [(-0.2, -0.95, -0.5, 1, 1, 1, 1, 1), (0.95, 0.3, -0.5, 1, 1, 1, 1, 1),
                           (-0.6, 0.9, -0.5, 1, 1, 1, 1, 1)]]
    env.clear(0)
    env.put(VERTS + 0x1000, np.array(BIG, np.float32).tobytes())
    b = _depth_stencil(env, scene(env, 0, [v for t in tris for v in t]), fill=0x40 << 24)
    b.write(R.DEPTH_COLOR_MASK, 0).write(R.STENCIL_TEST, _stencil(func=1)).write(R.STENCIL_OP, 6 << 8)
    b.draw_arrays(9)
    b.write(R.ATTRIBBUFFER0_OFFSET, 0x1000).write(R.DEPTH_COLOR_MASK, 0xF << 8)
    b.write(R.STENCIL_TEST, _stencil(func=2, ref=2, input_mask=0x3, write_mask=0x0F)).write(R.STENCIL_OP, 5)
    env.submit(b.draw_arrays(4, topology=1).finalize())
    stencil = np.full((H, W), 0x40, np.int64)
    for t in tris:
        stencil, _ = reference.stencil_draw(stencil, _pixels_of(0, t), 1, 0, 0xFF, 0xFF, 0, 6)
    assert set(np.unique(stencil).tolist()) == {0x40, 0x41, 0x42, 0x43}
    stencil, passed = reference.stencil_draw(stencil, np.ones((H, W), bool), 2, 2, 0x3, 0x0F, 5, 0)
    got = env.image(0)
    assert (_stencil_of(env)[..., 3] == stencil).all()
    assert passed.sum() > 200 and (got[passed] == (0, 255, 0, 255)).all() and (got[~passed] == BACKGROUND).all()
