"""Shadows end to end through GX ProcessCommandList on both CPU memory backends: shadow maps
drawn with COLOR_OPERATION's shadow mode (checked by hand and against the numpy model in
tests/gpu/reference_shadow.py), shadow 2D and shadow cube textures compared with texture
coordinate 0's w (against the same reference, and by hand), and lighting's shadow factor
(by hand and against tests/gpu/reference_lighting.py), then a map drawn and used in one list."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.gpu import lighting, shadow
from hlemu.gpu import regs as R
from hlemu.gpu.float24 import f32_to_f24
from tests.gpu import reference
from tests.gpu import reference_shadow as ref
from tests.gpu.picalist import PASSTHROUGH, CommandBuilder, pica_asm
from tests.gpu.test_bump import draw as draw_lit
from tests.gpu.test_bump import flat, normal_map, with_uv
from tests.gpu.test_bump import want as want_lit
from tests.gpu.test_draw import BACKGROUND, BUF, COLOR, VERTS, Env, H, W
from tests.gpu.test_lighting import LightEnv, close, color10, dome, lut_words
from tests.services.test_gx import ref_decode

TEX = BUF + 0xC0000
# Position, texture coordinate 0 and its w (the depth a shadow texture compares).
SHADOW_TEXTURED = """
.out o0 position
.out o1 texcoord0
.out o2 texcoord0w
main:
    mov o0, v0
    mov o1, v1
    mov o2, v2
    end
"""


def f16(x: float) -> int:
    return int(np.array([x], np.float16).view(np.uint16)[0])


def rect(x0: int, y0: int, x1: int, y1: int, depth: float, green: int) -> np.ndarray:
    """A strip over pixels [x0, x1) x [y0, y1) (edges on pixel boundaries: coverage is exact)
    at ``depth`` (z = -depth, w = 1) whose colour's green is ``green``."""
    return np.array([(x / W * 2 - 1, y / H * 2 - 1, -depth, 1.0, 0.3, green / 255, 0.7, 1.0)
                     for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1))], np.float64)


def read(env: Env, addr: int) -> np.ndarray:
    """The RGBA8 image at ``addr`` (row 0 the bottom)."""
    raw = np.frombuffer(env.process.space.mem.read(addr, W * H * 4), np.uint8)
    return ref_decode(reference.untile(raw, W, H, 4).reshape(-1), "RGBA8").reshape(H, W, 4).astype(np.int64)


def map_list(env: Env, b: CommandBuilder, addr: int, quads, terms=(1.0, 0.0)) -> CommandBuilder:
    """Shadow-map draws of ``quads`` into the RGBA8 target at ``addr``: COLOR_OPERATION mode 3,
    FRAGOP_SHADOW's ``terms``, depth z / w * -1 (DEPTHMAP_SCALE), TexEnv the vertex colour."""
    vertices = np.concatenate(quads).astype(np.float32)
    env.put(VERTS, vertices.tobytes())
    b.shader(pica_asm.assemble(PASSTHROUGH)).framebuffer(env.pa(addr), W, H, 0).viewport(0, 0, W, H)
    b.write(R.COLOR_OPERATION, 0xE40000 | 3).write(shadow.FRAGOP_SHADOW, f16(terms[0]) | f16(terms[1]) << 16)
    b.write(R.DEPTHMAP_ENABLE, 1).write(R.DEPTHMAP_SCALE, int(f32_to_f24(-1.0))).write(R.DEPTHMAP_OFFSET, 0)
    b.texenv_replace_primary().attributes(env.pa(VERTS), 32, [(3, 4), (3, 4)])
    for k in range(len(quads)):
        b.draw_arrays(4, first=4 * k, topology=1)
    return b


def covered(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    out = np.zeros((H, W), bool)
    out[y0:y1, x0:x1] = True
    return out


# -- drawing a shadow map ------------------------------------------------------------------------
QUADS = [  # (rectangle, depth, green): opaque occluders, then translucent ones over them
    ((0, 0, 40, 48), 0.5, 0),
    ((20, 10, 60, 30), 0.25, 0),
    ((10, 20, 64, 40), 0.75, 200),  # behind the occluders, in front of the cleared map
    ((30, 0, 50, 48), 0.125, 100),  # nearer than everything
    ((0, 40, 20, 48), 0.5, 50),  # as deep as the first occluder: not nearer, no change
]


def test_a_shadow_map_keeps_the_nearest_depth_and_the_lowest_intensity(env):
    env.put(COLOR, b"\xff" * (W * H * 4))
    terms = (0.5, 1.0)
    quads = [rect(*r, depth, green) for r, depth, green in QUADS]
    b = map_list(env, CommandBuilder(), COLOR, quads, terms)
    # what a normal draw has that a shadow draw skips: an alpha test failing everything,
    # blending, a colour write mask of nothing
    b.write(R.FRAGOP_ALPHA_TEST, 1).write(R.DEPTH_COLOR_MASK, 0).write(R.COLOR_OPERATION, 0xE40100 | 3)
    env.submit(b.finalize())
    record = env.kernel.gsp.gx.pica.lists[-1]
    assert not record.errors and [d.pixels > 0 for d in record.draws] == [True] * 4 + [False]  # (pixels changed)
    got = read(env, COLOR)
    want = ref.pack(np.full((H, W), ref.MAX), np.full((H, W), 255))
    for (r, depth, green) in QUADS:
        want = ref.draw(want, covered(*r), int(depth * ref.MAX), green, *terms)
    assert (got == want).all()
    # by hand (terms 0.5 + 1.0 x): the first occluder alone (depth 0.5), the second over it
    # (0.25); the third over the cleared map: 200 / (0.5 + 0.75) = 160; the fourth over the
    # first: 100 / (0.5 + 0.125 / 0.5) = 133, over the second: 100 / (0.5 + 0.5) = 100, over
    # the cleared map 100 / 0.625 = 160, over the third's 160 that too: no lower, unchanged
    assert tuple(got[5, 5]) == tuple(ref.pack(8388607, 255)) and tuple(got[45, 5]) == tuple(ref.pack(8388607, 255))
    assert tuple(got[15, 25]) == tuple(ref.pack(4194303, 255))
    assert tuple(got[35, 62]) == tuple(ref.pack(ref.MAX, 160))
    assert tuple(got[45, 35]) == tuple(ref.pack(8388607, 133))
    assert tuple(got[15, 35]) == tuple(ref.pack(4194303, 100))
    assert tuple(got[45, 45]) == tuple(ref.pack(ref.MAX, 160)) and tuple(got[35, 45]) == tuple(ref.pack(ref.MAX, 160))


def test_a_sloped_occluder_stores_the_interpolated_depth(env):
    env.put(COLOR, b"\xff" * (W * H * 4))
    quad = rect(8, 8, 56, 40, 0.5, 0)
    quad[:, 2] = [-0.25, -0.75, -0.25, -0.75]  # depth 0.25 at x = 8 to 0.75 at x = 56
    env.submit(map_list(env, CommandBuilder(), COLOR, [quad]).finalize())
    got = ref.depth_of(read(env, COLOR))
    xs = np.arange(8, 56) + 0.5
    expect = ((0.25 + 0.5 * (xs - 8) / 48) * ref.MAX).astype(np.int64)
    # (the rasteriser's edge weights carry the fill rule's -1 on right and bottom edges, as
    # Azahar's do: 1 in twice the triangle's area, 393216 here, tilts the depth by up to ~21)
    assert np.abs(got[8:40, 8:56] - expect[None, :]).max() <= 32
    assert (got[:8] == ref.MAX).all() and (got[:, 56:] == ref.MAX).all()


# -- shadow textures -----------------------------------------------------------------------------
def shadow_texels(seed: int = 11, size: int = 16) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ref.pack(rng.integers(0, ref.MAX + 1, (size, size)), rng.integers(0, 256, (size, size)))


CORNERS = [(-0.5, -2 / 3), (0.5, -2 / 3), (-0.5, 2 / 3), (0.5, 2 / 3)]  # pixels 16..48 x 8..40


def sample_quad(env: Env, uvw, texture_kw: dict, shadow_reg: int = 0) -> np.ndarray:
    """A quad over pixels 16..48 x 8..40 with texture coordinates and w ``uvw`` at its corners,
    unit 0 a shadow texture at TEX, TexEnv REPLACE texture 0."""
    rows = [(x, y, -0.5, 1.0, *uvw[k]) for k, (x, y) in enumerate(CORNERS)]
    env.put(VERTS, np.array(rows, np.float32).tobytes())
    b = CommandBuilder().shader(pica_asm.assemble(SHADOW_TEXTURED)).framebuffer(env.pa(COLOR), W, H, 0)
    b.viewport(0, 0, W, H).texture(0, env.pa(TEX), **texture_kw).texunits(1).texenv_replace_texture(0)
    b.write(shadow.TEXUNIT0_SHADOW, shadow_reg).attributes(env.pa(VERTS), 28, [(3, 4), (3, 2), (3, 1)])
    env.clear(0)
    env.submit(b.draw_arrays(4, topology=1).finalize())
    assert not env.kernel.gsp.gx.pica.lists[-1].errors
    return env.image(0).astype(np.int64)[8:40, 16:48]


def centres(uvw) -> tuple[np.ndarray, ...]:
    """u, v, w at the quad's pixel centres (w = 1: linear on the screen)."""
    xs, ys = (np.arange(32) + 0.5) / 32, (np.arange(32) + 0.5) / 32
    fx, fy = np.meshgrid(xs, ys)
    c = np.asarray(uvw, np.float64)
    return tuple(c[0, i] + (c[1, i] - c[0, i]) * fx + (c[2, i] - c[0, i]) * fy for i in range(3))


@pytest.mark.parametrize(("orthographic", "linear", "bias"), [(True, False, 0), (False, False, 0),
                                                              (True, True, 0), (True, False, 0x200000)],
                         ids=["orthographic", "perspective", "linear", "bias"])
def test_a_shadow_2d_texture_compares_its_texels_with_w_as_the_reference(env, orthographic, linear, bias):
    texels = shadow_texels()
    env.put(TEX, reference.tiled_bytes(texels))
    # w from 0.3 to 0.9 across and down: about half the random texel depths pass
    uvw = [(-0.1, -0.05, 0.3), (1.1, -0.05, 0.6), (-0.1, 1.05, 0.6), (1.1, 1.05, 0.9)]
    if not orthographic:  # perspective: (u w, v w, w) divides back to about 0..1 (affine on the quad)
        uvw = [(u * w, v * w, w) for u, v, w in uvw[:3]]
        uvw.append(tuple(uvw[1][i] + uvw[2][i] - uvw[0][i] for i in range(3)))
    kw = dict(width=16, height=16, fmt=0, mag=int(linear), kind=2)
    got = sample_quad(env, uvw, kw, shadow_reg=int(orthographic) | bias)
    u, v, w = centres(uvw)
    want = ref.sample(texels, u, v, w, bias, orthographic, linear)
    assert (got == want[..., None]).all(axis=2).mean() > (0.97 if linear else 0.99)
    assert np.abs(got - want[..., None]).max() <= (1 if linear else 255)
    assert (got[..., 0] == 0).mean() > 0.2 and (got[..., 0] > 0).mean() > 0.2  # both outcomes occur
    assert (got == got[..., :1]).all()  # the intensity on all four channels


@pytest.mark.parametrize(("stored", "bias", "expect"), [(0x400000, 0, 0), (0x400000, 0x10, 90), (0x400001, 0, 90)],
                         ids=["behind", "biased-forward", "as-deep"])
def test_a_texel_as_deep_as_the_fragment_passes_and_the_bias_moves_the_fragment_forward(env, stored, bias, expect):
    # every texel at depth ``stored``, intensity 90; the fragment at w = 0.2500001 (float32) is
    # 0x400001 deep: behind 0x400000 until a bias of 16 (0x10: 8 in bits 1-23) moves it forward
    env.put(TEX, reference.tiled_bytes(np.tile(ref.pack(stored, 90), (8, 8, 1))))
    uvw = [(0.5, 0.5, 0.2500001)] * 4
    assert (sample_quad(env, uvw, dict(width=8, height=8, fmt=0, kind=2), 1 | bias) == expect).all()


CUBE_FACES = [(0xA00000, 11), (0x200000, 22), (0xA00000, 33), (0x200000, 44), (0xA00000, 55), (0x200000, 66)]


@pytest.mark.parametrize(("direction", "face"), [((0.5, 0.1, -0.2), 0), ((-0.5, 0.2, 0.1), 1), ((0.1, 0.5, 0.3), 2),
                                                 ((0.2, -0.5, 0.1), 3), ((0.1, 0.2, 0.5), 4), ((-0.3, 0.1, -0.5), 5)])
def test_a_shadow_cube_compares_the_face_the_direction_points_at(env, direction, face):
    # each face one texel: depths 0xA00000 (+X, +Y, +Z: deeper than the fragment's 0.5 * MAX,
    # their intensity shows) and 0x200000 (-X, -Y, -Z: nearer, 0)
    for k, (depth, intensity) in enumerate(CUBE_FACES):
        env.put(TEX + k * 0x100, reference.tiled_bytes(np.tile(ref.pack(depth, intensity), (8, 8, 1))))
    rows = [(x, y, -0.5, 1.0, *direction) for x, y in CORNERS]
    env.put(VERTS, np.array(rows, np.float32).tobytes())
    b = CommandBuilder().shader(pica_asm.assemble(SHADOW_TEXTURED)).framebuffer(env.pa(COLOR), W, H, 0)
    b.viewport(0, 0, W, H).texture(0, env.pa(TEX), 8, 8, 0, kind=4).texunits(1).texenv_replace_texture(0)
    b.cube_faces([env.pa(TEX + k * 0x100) for k in range(1, 6)])
    b.attributes(env.pa(VERTS), 28, [(3, 4), (3, 2), (3, 1)])
    env.clear(0)
    env.submit(b.draw_arrays(4, topology=1).finalize())
    depth, intensity = CUBE_FACES[face]
    expect = intensity if depth >= int(0.5 * ref.MAX) else 0
    assert (env.image(0)[8:40, 16:48] == expect).all()
    assert "shadow cube map" in env.kernel.gsp.gx.pica.lists[-1].draws[0].textures[0]


# -- lighting's shadow factor --------------------------------------------------------------------
SHADOW_ON, PRIMARY, SECONDARY, INVERT, ALPHA = 1, 1 << 16, 1 << 17, 1 << 18, 1 << 19
FACING = np.array([(x, y, -0.5, 1.0, 0, 0, 0, 1, 0, 0, 2, 0, 0.5, 0.5) for x, y in
                   ((-0.8, -0.8), (0.8, -0.8), (-0.8, 0.8), (0.8, 0.8))], np.float64)


def _fan(vertices: np.ndarray) -> np.ndarray:
    return vertices[[0, 1, 3, 2]]  # the strip's corners round the quad, for the fan draw_lit makes


@pytest.mark.parametrize(("config0", "config1", "primary", "secondary"), [
    (0, 0, (220, 120, 70), (100, 100, 100)),  # off: diffuse 200, 100, 50 + ambients 20; specular 100
    (SHADOW_ON | PRIMARY, 0, (20 + 100, 20 + 25, 20 + 50), (100, 100, 100)),  # x (128, 64, 255) / 255
    (SHADOW_ON | SECONDARY, 0, (220, 120, 70), (50, 25, 100)),
    (SHADOW_ON | PRIMARY | INVERT, 0, (20 + 99, 20 + 74, 20), (100, 100, 100)),  # x (127, 191, 0) / 255
    (SHADOW_ON | PRIMARY | SECONDARY, 1 << 4, (220, 120, 70), (100, 100, 100)),  # light 4 unshadowed
    (PRIMARY | SECONDARY, 0, (220, 120, 70), (100, 100, 100)),  # bit 0 off: no shadow factor
], ids=["off", "primary", "secondary", "inverted", "light-off", "bit0-off"])
def test_the_shadow_factor_scales_the_diffuse_and_specular_terms_by_hand(env, config0, config1, primary, secondary):
    # a directional light on the normal: L.N = 1; D0 off (1): specular 0 whole; the shadow
    # "texture" an RGB8 colour (128, 64, 255) on unit 1 (selector 1)
    light = LightEnv(config0=config0 | 1 << 24, config1=config1 | 0xFFFF0000 | 0xFF << 8, ambient=color10(10, 10, 10))
    light.light(4, position=(0, 0, 1), directional=True, diffuse=color10(200, 100, 50), ambient=color10(10, 10, 10),
                spec0=color10(100, 100, 100))
    textures = {1: flat(128, 64, 255), 0: flat(10, 10, 10)}
    for source, colour in ((1, primary), (2, secondary)):
        got = draw_lit(env, light, _fan(FACING), source, textures)
        inside = (got != BACKGROUND).any(axis=2)
        values = {tuple(p) for p in got[inside]}
        assert all(max(abs(a - b) for a, b in zip(p[:3], colour, strict=True)) <= 1 for p in values), values
        assert len(values) == 1


def test_the_shadow_alpha_scales_the_fresnel_alphas(env):
    # CONFIG0 bits 2-3 (both alphas) with no Fresnel table: the alphas are 1, times the shadow
    # texture's alpha 100/255 with bit 19: 100; without bit 19 they stay 255
    tex = np.tile(np.array([255, 255, 255, 100]), (16, 16, 1))
    for config0, alpha in ((SHADOW_ON | ALPHA | 3 << 2, 100), (SHADOW_ON | 3 << 2, 255), (SHADOW_ON | ALPHA, 255)):
        light = LightEnv(config0=config0).light(0, position=(0, 0, 1), directional=True,
                                                diffuse=color10(200, 200, 200))

        def rgba(b: CommandBuilder) -> None:  # unit 0 as RGBA8 (test_bump's draw binds RGB8)
            env.put(TEX + 0x8000, reference.tiled_bytes(tex))
            b.texture(0, env.pa(TEX + 0x8000), 16, 16, 0)

        for source in (1, 2):
            got = draw_lit(env, light, _fan(FACING), source, {}, units=1, setup=rgba)
            inside = (got != BACKGROUND).any(axis=2)
            assert {int(a) for a in got[inside][:, 3]} == {alpha}


def test_shadowed_lights_over_a_dome_match_the_reference(env):
    # two lights, the second unshadowed (CONFIG1 bit 6), the shadow inverted on both colours,
    # a patterned texture as the shadow
    light = LightEnv(config0=SHADOW_ON | PRIMARY | SECONDARY | INVERT | 2 << 24 | 4 << 4,
                     config1=~(1 << 16) & 0xFFFFFFFF & ~0xFF | 1 << 6, ambient=color10(5, 5, 10))
    light.light(2, position=(-0.6, 0.8, 1.0), diffuse=color10(220, 190, 150), spec0=color10(255, 240, 200),
                ambient=color10(20, 10, 0))
    light.light(6, position=(1.0, -0.2, 0.5), directional=True, diffuse=color10(40, 60, 120))
    light.lut(0, lut_words(lambda x: x**8), kind=lighting.D0, select=0)
    vertices, textures = with_uv(dome(tilt=0.8)), {2: normal_map(seed=9)}
    for source in (1, 2):
        close(draw_lit(env, light, vertices, source, textures), want_lit(light, vertices, source - 1, textures))


# -- a map drawn, then used ----------------------------------------------------------------------
LIT_SHADOWED = """
.out o0 position
.out o1 normalquat
.out o2 view
.out o3 texcoord0
.out o4 texcoord0w
main:
    mov o0, v0
    mov o1, v1
    mov o2, v2
    mov o3, v3
    mov o4, v4
    end
"""


def test_a_shadow_map_drawn_in_a_list_shadows_the_lit_draw_after_it(env):
    # pass 1: an occluder (intensity 0, depth 0.25) over pixels 16..40 x 12..30 of a map cleared
    # to the far plane; pass 2: a lit surface at depth 0.5 over the whole target, the map as a
    # shadow 2D texture (orthographic, each pixel reading its own texel): shadowed, only the
    # ambient (30); lit, diffuse 200 + ambient
    env.put(TEX, b"\xff" * (W * H * 4))
    b = map_list(env, CommandBuilder(), TEX, [rect(16, 12, 40, 30, 0.25, 0)])
    b.write(R.COLOR_OPERATION, 0xE40000)  # back to normal fragment operations
    rows = [(x, y, -0.5, 1.0, 0, 0, 0, 1, 0, 0, 2, 0, (x + 1) / 2, (y + 1) / 2, 0.5)
            for x, y in ((-1, -1), (1, -1), (-1, 1), (1, 1))]
    env.put(VERTS + 0x1000, np.array(rows, np.float32).tobytes())
    b.shader(pica_asm.assemble(LIT_SHADOWED)).framebuffer(env.pa(COLOR), W, H, 0).viewport(0, 0, W, H)
    b.texture(0, env.pa(TEX), W, H, 0, kind=2).texunits(1).write(shadow.TEXUNIT0_SHADOW, 1).texenv_replace(1)
    b.attributes(env.pa(VERTS + 0x1000), 60, [(3, 4), (3, 4), (3, 4), (3, 2), (3, 1)])
    light = LightEnv(config0=SHADOW_ON | PRIMARY, config1=0xFFFFFF00)  # (CONFIG1 bits 0-7 clear: shadowed)
    light.light(0, position=(0, 0, 1), directional=True, diffuse=color10(200, 200, 200), ambient=color10(30, 30, 30))
    light.write(b)
    env.clear(0)
    env.submit(b.draw_arrays(4, topology=1).finalize())
    assert not env.kernel.gsp.gx.pica.lists[-1].errors
    got = env.image(0)[..., 0].astype(int)
    assert (got[12:30, 16:40] == 30).all()
    outside = ~covered(16, 12, 40, 30)
    assert (got[outside] == 230).all()
