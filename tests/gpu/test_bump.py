"""Fragment lighting's bump and tangent mapping (LIGHTING_CONFIG0 0x1C3: bits 22-23 the texture,
28-29 the mode, 30 no z recomputed; citro3d's C3D_LightEnvBumpMode/BumpSel): lit draws whose
normal or tangent a texture perturbs, through GX ProcessCommandList on both CPU memory
backends, against values worked out by hand and the independent reference
(tests/gpu/reference_lighting.py), which turns the sampled texels into normals itself.

The bump texture is never read by a TexEnv stage here (the stages REPLACE lighting source 1 or
2), so these draws also show that the unit lighting selects is sampled for it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hlemu.gpu import lighting
from hlemu.gpu import regs as R
from tests.gpu import reference
from tests.gpu.picalist import CommandBuilder, pica_asm
from tests.gpu.test_draw import BACKGROUND, BUF, COLOR, VERTS, Env, H, W
from tests.gpu.test_lighting import FLAT_FACING, LightEnv, close, color10, dome, lut_words
from tests.gpu.test_proctex import map_words, p0, registers

TEX = BUF + 0xC0000
SIZE = 16
# The lighting vectors and texture coordinate 0, given to coordinates 1 and 2 too (units 1's and 2's).
LIT_TEXTURED = """
.out o0 position
.out o1 normalquat
.out o2 view
.out o3 texcoord0
.out o4 texcoord1
.out o5 texcoord2
main:
    mov o0, v0
    mov o1, v1
    mov o2, v2
    mov o3, v3
    mov o4, v3
    mov o5, v3
    end
"""
BUMP, TANGENT = lighting.BUMP_NORMAL << 28, lighting.BUMP_TANGENT << 28
NO_RENORM = 1 << 30


def normal_map(seed: int = 3) -> np.ndarray:
    """A bumpy normal map: a height field of two waves and some noise, its slopes as x and y
    (0..255 for -1..1) and a z that is not the unit normal's (so recomputing it shows)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    dx = 0.6 * np.cos(x * 0.9) + rng.uniform(-0.15, 0.15, (SIZE, SIZE))
    dy = 0.5 * np.sin(y * 0.7 + x * 0.3) + rng.uniform(-0.15, 0.15, (SIZE, SIZE))
    dz = rng.uniform(0.3, 1.0, (SIZE, SIZE))
    return np.clip(np.round((np.stack([dx, dy, dz], axis=-1) + 1) * 127.5), 0, 255).astype(np.int64)


def with_uv(vertices: np.ndarray) -> np.ndarray:
    """The lighting vertices (position, quaternion, view) and a texture coordinate from x, y."""
    x, y = vertices[:, 0] / vertices[:, 3], vertices[:, 1] / vertices[:, 3]
    return np.concatenate([vertices, np.stack([0.5 + 0.55 * x, 0.5 + 0.55 * y], axis=1)], axis=1)


def draw(env: Env, light: LightEnv, vertices: np.ndarray, source: int, textures: dict, units: int = 0,
         setup=None) -> np.ndarray:
    """Draw the fan lit by ``light`` with ``textures`` {unit: RGB8 image} bound (nearest,
    repeated), TexEnv REPLACE lighting ``source``; ``units`` more TEXUNIT_CONFIG bits, ``setup``
    a function writing more of the list."""
    env.put(VERTS, vertices.astype(np.float32).tobytes())
    b = CommandBuilder().shader(pica_asm.assemble(LIT_TEXTURED)).framebuffer(env.pa(COLOR), W, H, 0)
    b.viewport(0, 0, W, H).texenv_replace(source)
    for k, (unit, image) in enumerate(sorted(textures.items())):
        at = TEX + k * 0x1000
        env.put(at, reference.tiled_bytes(image))
        b.texture(unit, env.pa(at), SIZE, SIZE, 1, wrap_s=2, wrap_t=2)
    b.write(R.TEXUNIT_CONFIG, sum(1 << unit for unit in textures) | units)
    if setup is not None:
        setup(b)
    b.attributes(env.pa(VERTS), 56, [(3, 4), (3, 4), (3, 4), (3, 2)])
    light.write(b)
    env.clear(0)
    env.submit(b.draw_arrays(len(vertices), topology=2).finalize())
    assert not env.kernel.gsp.gx.pica.lists[-1].errors
    return env.image(0).astype(int)


def want(light: LightEnv, vertices: np.ndarray, which: int, textures: dict) -> np.ndarray:
    fan = [(0, k, k + 1) for k in range(1, len(vertices) - 1)]
    bound = {unit: reference.Texture(decoded(image), wrap_s=2, wrap_t=2) for unit, image in textures.items()}
    return reference.render(vertices[:, :4], np.ones((len(vertices), 4)), fan, (0, 0, W, H), (W, H), BACKGROUND,
                            texcoords=vertices[:, 12:14],
                            lighting=(vertices[:, 4:8], vertices[:, 8:11], light.shade(), which, bound)).astype(int)


def decoded(image: np.ndarray) -> np.ndarray:
    """The texels as the reference decodes the bytes the GPU reads (RGBA, row 0 the bottom)."""
    return reference.decode_texture(np.frombuffer(reference.tiled_bytes(image), np.uint8), SIZE, SIZE, 1)


def differs(got: np.ndarray, other: np.ndarray, by: int) -> float:
    """The share of the drawn pixels where ``other`` is more than ``by`` off in a channel."""
    inside = (got != BACKGROUND).any(axis=2)
    return float((np.abs(got - other) > by).any(axis=2)[inside].mean())


def flat(r: int, g: int, b: int) -> np.ndarray:
    return np.tile(np.array([r, g, b], np.int64), (SIZE, SIZE, 1))


def test_the_encoder_gives_the_reference_decoder_the_image_back():
    image = normal_map()
    assert (decoded(image)[..., :3] == image).all() and (decoded(image)[..., 3] == 255).all()


# -- by hand ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("config0", "expected"), [
    (0, 200),  # no bump mode: N = +z, L.N = 1: diffuse 200
    (BUMP, 154),  # x = 204/127.5 - 1 = 0.6, y = 153/127.5 - 1 = 0.2, z = sqrt(1 - 0.4): 200 * 0.7746
    (BUMP | NO_RENORM, 160),  # z as stored: 230/127.5 - 1 = 0.80392; 200 * 0.80392 = 160.8
    (TANGENT, 200),  # a tangent map leaves the normal +z
    (BUMP | 1 << 22, 199),  # unit 1's texel (128, 128, 255): x = y = 0.5/127.5, z = 0.999985
], ids=["off", "bump", "bump-no-renorm", "tangent", "unit-1"])
def test_a_flat_normal_map_bends_a_facing_surface_by_hand(env, config0, expected):
    light = LightEnv(config0=config0).light(0, position=(0, 0, 1), directional=True, diffuse=color10(200, 200, 200))
    vertices = np.concatenate([FLAT_FACING, np.tile([0.5, 0.5], (4, 1))], axis=1)
    got = draw(env, light, vertices, 1, {0: flat(204, 153, 230), 1: flat(128, 128, 255)})
    inside = (got != BACKGROUND).any(axis=2)
    assert inside.sum() > 1000 and {tuple(p) for p in got[inside]} == {(expected, expected, expected, 255)}


def test_a_normal_map_turns_with_the_quaternion(env):
    # the surface turned 90 degrees about +y (normal +x), a light along +x: a normal map bent
    # to (0.6, 0.2, 0.775) in the surface's frame faces the light by its z: 200 * 0.7746
    q = (0.0, math.sin(math.pi / 4), 0.0, math.cos(math.pi / 4))
    vertices = np.array([(*row[:4], *q, *row[8:], 0.5, 0.5) for row in FLAT_FACING], np.float64)
    light = LightEnv(config0=BUMP).light(0, position=(1, 0, 0), directional=True, diffuse=color10(200, 200, 200))
    got = draw(env, light, vertices, 1, {0: flat(204, 153, 230)})
    inside = (got != BACKGROUND).any(axis=2)
    assert {tuple(p) for p in got[inside]} == {(154, 154, 154, 255)}


def test_selector_3_is_the_procedural_texture(env):
    # unit 3 on (TEXUNIT_CONFIG bit 10) with one colour in its colour LUT, (204, 153, 230): the
    # normal of the "bump" case above, 200 * 0.7746; no TexEnv stage reads the procedural texture
    colour = 204 | 153 << 8 | 230 << 16 | 255 << 24
    ramp = map_words(np.linspace(0, 1, 129))
    tables = {0: ramp, 2: ramp, 3: ramp, 4: [colour] * 256, 5: [0] * 256}

    def proctex(b: CommandBuilder) -> None:
        for reg, value in registers(p0()).items():
            b.write(reg, value)
        for table, words in tables.items():
            b.write(0x0AF, table << 8)
            for k in range(0, len(words), 8):
                b.write(0x0B0, *words[k : k + 8], consecutive=True)

    light = LightEnv(config0=BUMP | 3 << 22).light(0, position=(0, 0, 1), directional=True,
                                                  diffuse=color10(200, 200, 200))
    vertices = np.concatenate([FLAT_FACING, np.tile([0.5, 0.5], (4, 1))], axis=1)
    got = draw(env, light, vertices, 1, {}, units=1 << 10, setup=proctex)
    inside = (got != BACKGROUND).any(axis=2)
    assert inside.sum() > 1000 and {tuple(p) for p in got[inside]} == {(154, 154, 154, 255)}


# -- against the reference --------------------------------------------------------------------
def _bumped_env(config0: int) -> LightEnv:
    """A positional light's diffuse and a D0 highlight over N.H, distance attenuated."""
    light = LightEnv(config0=config0 | 4 << 4, config1=~(1 << 16) & 0xFFFFFFFF, ambient=color10(10, 10, 20))
    light.light(1, position=(-0.6, 0.8, 1.0), diffuse=color10(220, 190, 150), spec0=color10(255, 240, 200),
                ambient=color10(5, 5, 0))
    light.lut(0, lut_words(lambda x: x**10), kind=lighting.D0, select=0)
    return light


@pytest.mark.parametrize("renorm", [True, False], ids=["z-recomputed", "z-as-stored"])
def test_a_normal_map_over_a_dome_matches_the_reference(env, renorm):
    light = _bumped_env(BUMP | (0 if renorm else NO_RENORM))
    vertices, textures = with_uv(dome(tilt=0.8)), {0: normal_map()}
    for source in (1, 2):
        got = draw(env, light, vertices, source, textures)
        close(got, want(light, vertices, source - 1, textures))
    # the bump shows: the same draw without it, or with the other renormalisation, differs
    plain = want(_bumped_env(0), vertices, 1, textures)
    other = want(_bumped_env(BUMP | (NO_RENORM if renorm else 0)), vertices, 1, textures)
    assert differs(got, plain, 8) > 0.4
    assert differs(got, other, 4) > 0.3


def test_a_tangent_map_drives_the_tangent_lut_input_as_the_reference_does(env):
    # layer config 8 (value 8) gives D0 the half vector's projection on the tangent (input 5,
    # signed): the tangent map's colours turn that tangent about the surface
    light = LightEnv(config0=TANGENT | 8 << 4, config1=~(1 << 16) & 0xFFFFFFFF)
    light.light(0, position=(-0.5, 0.4, 1.0), spec0=color10(250, 220, 180), diffuse=color10(60, 60, 60))
    light.lut(0, lut_words(lambda x: 0.5 + 0.5 * x, absolute=False), kind=lighting.D0, select=5, absolute=False)
    vertices, textures = with_uv(dome(tilt=1.0)), {0: normal_map(seed=5)}
    got = draw(env, light, vertices, 2, textures)
    close(got, want(light, vertices, 1, textures))
    light.regs[lighting.CONFIG0] &= ~TANGENT
    untangled = want(light, vertices, 1, textures)
    assert differs(got, untangled, 8) > 0.7
    # the diffuse colour (L.N) does not see a tangent map
    light.regs[lighting.CONFIG0] |= TANGENT
    close(draw(env, light, vertices, 1, textures), want(light, vertices, 0, {}), variety=10)


def test_the_bump_selector_picks_unit_2_of_three_bound_units(env):
    light = _bumped_env(BUMP | 2 << 22)
    vertices = with_uv(dome(tilt=0.6))
    textures = {0: flat(128, 128, 255), 1: flat(30, 220, 128), 2: normal_map(seed=7)}
    got = draw(env, light, vertices, 1, textures)
    close(got, want(light, vertices, 0, textures))
    assert differs(got, want(light, vertices, 0, {2: textures[0]}), 8) > 0.7
