"""Fragment lighting end to end: lists with a light environment (as citro3d's C3D_LightEnv*
writes one) draw a lit dome through GX ProcessCommandList on both CPU memory backends, and the
primary (TexEnv source 1) and secondary (source 2) colours are compared with the independent
numpy reference (tests/gpu/reference_lighting.py), plus values worked out by hand.

The reference and hlemu compute in float64 from the same inputs but in different orders (a
rotation matrix against the cross-product form, vectorised sums) and truncate to 8 bits, so a
value that lands within rounding of an integer may come out one step apart: the comparisons
allow 1 per channel and ask nearly every pixel to be equal."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hlemu.gpu import lighting
from hlemu.gpu import regs as R
from hlemu.gpu.pica import Pica
from tests.gpu import reference
from tests.gpu.picalist import LIT, CommandBuilder, pica_asm
from tests.gpu.reference_lighting import Lighting
from tests.gpu.test_draw import BACKGROUND, COLOR, VERTS, Env, H, W

RING = 8


def quat_for(normal) -> tuple[float, float, float, float]:
    """The rotation taking +z to ``normal``."""
    n = np.asarray(normal, np.float64) / np.linalg.norm(normal)
    axis = np.array([-n[1], n[0], 0.0])
    s = np.linalg.norm(axis)
    if s < 1e-12:
        return (0.0, 0.0, 0.0, 1.0)
    angle = math.acos(max(-1.0, min(1.0, n[2])))
    x, y, z = axis / s * math.sin(angle / 2)
    return (float(x), float(y), float(z), math.cos(angle / 2))


def dome(tilt: float = 1.0, flip: bool = True, size: float = 1.0) -> np.ndarray:
    """A fan: the centre facing the eye, a ring of normals leaning out by ``tilt`` radians, every
    other ring quaternion negated (the same rotation; the GPU turns it back per triangle), w
    from 1 to 2 round the ring (perspective-correct interpolation shows). Rows: position (4),
    quaternion (4), view vector (4)."""
    rows = []
    corners = [(0.0, 0.0)] + [(0.85 * math.cos(2 * math.pi * k / RING), 0.85 * math.sin(2 * math.pi * k / RING))
                              for k in range(RING + 1)]
    for k, (x, y) in enumerate(corners):
        lean = 0.0 if k == 0 else tilt
        normal = (math.sin(lean) * x / 0.85, math.sin(lean) * y / 0.85, math.cos(lean)) if k else (0, 0, 1)
        q = quat_for(normal)
        if flip and k % 2:
            q = tuple(-c for c in q)
        w = 1.0 + (k % RING) / RING if k else 1.0
        view = (-x * 2, -y * 2, 3.0 - (0 if k else 0.5), 0.0)
        rows.append((x * w * size, y * w * size, -0.5 * w, w, *q, *view))
    return np.array(rows, np.float64)


def f16(x: float) -> int:
    return int(np.array([x], np.float16).view(np.uint16)[0])


def f20(x: float) -> int:
    if x == 0:
        return 0
    e = math.floor(math.log2(abs(x)))
    return (x < 0) << 19 | (e + 63) << 12 | round((abs(x) / 2**e - 1) * 4096)


def color10(r: int, g: int, b: int) -> int:
    return r << 20 | g << 10 | b


def lut_words(f, absolute: bool = True) -> list[int]:
    """256 entries of ``f`` over 0..1 (absolute) or -1..1 (signed halves), with differences."""
    xs = [k / 256 for k in range(257)] if absolute else [(k if k < 128 else k - 256) / 128 for k in range(256)]
    words = []
    for k in range(256):
        x = xs[k]
        nxt = xs[k + 1] if absolute else x + 1 / 128
        value = round(4095 * min(max(f(x), 0), 1))
        diff = round(2047 * (min(max(f(nxt), 0), 1) - min(max(f(x), 0), 1)))
        words.append(value | (abs(diff) & 0x7FF) << 12 | (diff < 0) << 23)
    return words


class LightEnv:
    """Lighting registers and LUTs, kept as a dict for the reference and written into a list."""

    def __init__(self, config0: int = 0, config1: int = 0xFFFFFFFF, ambient: int = 0) -> None:
        self.regs = {lighting.ENABLE0: 1, lighting.ENABLE1: 0, lighting.AMBIENT: ambient,
                     lighting.CONFIG0: config0, lighting.CONFIG1: config1, lighting.NUM_LIGHTS: 0,
                     lighting.LUTINPUT_ABS: 0, lighting.LUTINPUT_SELECT: 0, lighting.LUTINPUT_SCALE: 0,
                     lighting.PERMUTATION: 0}
        self.luts = np.zeros((24, 256), np.int64)
        self.count = 0

    def light(self, num: int, *, position, directional: bool = False, diffuse=0, ambient=0, spec0=0, spec1=0,
              spot=(0, 0, 0), two_sided: bool = False, geo0: bool = False, geo1: bool = False,
              bias: float = 0.0, scale: float = 0.0) -> LightEnv:
        base = 0x140 + 16 * num
        x, y, z = position
        sx, sy, sz = (round(c * 2047) & 0x1FFF for c in spot)
        values = [spec0, spec1, diffuse, ambient, f16(x) | f16(y) << 16, f16(z), sx | sy << 16, sz, 0,
                  directional | two_sided << 1 | geo0 << 2 | geo1 << 3, f20(bias), f20(scale)]
        self.regs.update({base + k: v for k, v in enumerate(values)})
        self.regs[lighting.PERMUTATION] |= num << (4 * self.count)
        self.regs[lighting.NUM_LIGHTS] = self.count
        self.count += 1
        return self

    def lut(self, table: int, words, *, kind: int | None = None, select: int = 0, absolute: bool = True,
            scale: int = 0) -> LightEnv:
        self.luts[table] = words
        if kind is not None:
            self.regs[lighting.LUTINPUT_SELECT] |= select << (4 * kind)
            self.regs[lighting.LUTINPUT_ABS] |= (not absolute) << (4 * kind + 1)
            self.regs[lighting.LUTINPUT_SCALE] |= scale << (4 * kind)
        return self

    def write(self, b: CommandBuilder) -> CommandBuilder:
        for reg, value in sorted(self.regs.items()):
            b.write(reg, value)
        for table in range(24):
            if self.luts[table].any():
                b.write(lighting.LUT_INDEX, table << 8)
                for k in range(0, 256, 8):
                    b.write(lighting.LUT_DATA[0], *[int(w) for w in self.luts[table, k : k + 8]])
        return b

    def shade(self) -> Lighting:
        return Lighting(self.regs, self.luts)


def draw(env: Env, light: LightEnv, vertices: np.ndarray, source: int) -> np.ndarray:
    env.put(VERTS, vertices.astype(np.float32).tobytes())
    b = CommandBuilder().shader(pica_asm.assemble(LIT)).framebuffer(env.pa(COLOR), W, H, 0).viewport(0, 0, W, H)
    b.texenv_replace(source).attributes(env.pa(VERTS), 48, [(3, 4)] * 3)
    light.write(b)
    env.clear(0)
    env.submit(b.draw_arrays(len(vertices), topology=2).finalize())
    return env.image(0).astype(int)


def want(light: LightEnv, vertices: np.ndarray, which: int) -> np.ndarray:
    fan = [(0, k, k + 1) for k in range(1, len(vertices) - 1)]
    return reference.render(vertices[:, :4], np.ones((len(vertices), 4)), fan, (0, 0, W, H), (W, H), BACKGROUND,
                            lighting=(vertices[:, 4:8], vertices[:, 8:11], light.shade(), which)).astype(int)


def close(got: np.ndarray, expected: np.ndarray, variety: int = 30) -> None:
    diff = np.abs(got - expected)
    assert diff.max() <= 1, f"{(diff > 1).sum()} channels differ by more than 1"
    assert (diff == 0).all(axis=2).mean() > 0.98
    inside = (expected != BACKGROUND).any(axis=2)
    assert inside.sum() > 1000 and len({tuple(p) for p in got[inside]}) > variety  # shaded, not flat


# -- by hand ------------------------------------------------------------------------------------
FLAT_FACING = np.array([(x, y, -0.5, 1.0, 0, 0, 0, 1, 0, 0, 2, 0) for x, y in
                        ((-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8))], np.float64)


def test_a_surface_facing_a_directional_light_gets_its_diffuse_colour_and_ambients(env):
    # N = L = +z: dot 1, so diffuse (200, 100, 50) + light ambient (10, 20, 30) + global (5, 5, 5)
    light = LightEnv(ambient=color10(5, 5, 5)).light(0, position=(0, 0, 1), directional=True,
                                                     diffuse=color10(200, 100, 50), ambient=color10(10, 20, 30))
    got = draw(env, light, FLAT_FACING, 1)
    inside = (got != BACKGROUND).any(axis=2)
    assert inside.sum() > 1000 and {tuple(p) for p in got[inside]} == {(215, 125, 85, 255)}


def test_specular_is_the_d0_lut_times_specular0(env):
    # D0 constant 2048/4095 over N.H: secondary r = trunc(2048/4095 * 255) = 127, g = trunc(2048/4095 * 64) = 32
    light = LightEnv(config1=~(1 << 16) & 0xFFFFFFFF).light(0, position=(0, 0, 1), directional=True,
                                                            spec0=color10(255, 64, 0))
    light.lut(0, [2048] * 256, kind=lighting.D0, select=0)
    got = draw(env, light, FLAT_FACING, 2)
    inside = (got != BACKGROUND).any(axis=2)
    assert {tuple(p) for p in got[inside]} == {(127, 32, 0, 255)}


def test_lighting_off_reads_zero_for_both_sources(env):
    light = LightEnv(ambient=color10(255, 255, 255)).light(0, position=(0, 0, 1), directional=True,
                                                           diffuse=color10(255, 255, 255))
    light.regs[lighting.ENABLE1] = 1  # citro3d's "no light environment": ENABLE0 0, ENABLE1 1
    light.regs[lighting.ENABLE0] = 0
    for source in (1, 2):
        got = draw(env, light, FLAT_FACING, source)
        inside = (got != BACKGROUND).any(axis=2)
        assert {tuple(p) for p in got[inside]} == {(0, 0, 0, 0)}


def test_the_light_lut_upload_counts_its_index_up_within_eight_bits():
    pica = Pica()
    words = CommandBuilder().write(lighting.LUT_INDEX, 5 << 8 | 254).write(lighting.LUT_DATA[0], 1, 2, 3).words
    assert pica.run_words(words).errors == []
    assert pica.light_luts[5, [254, 255, 0]].tolist() == [1, 2, 3] and pica.regs[lighting.LUT_INDEX] == 5 << 8 | 1
    assert pica.light_luts[6].sum() == 0
    assert R.name(lighting.LUT_DATA[3]) == "LIGHTING_LUT_DATA3"


# -- against the reference ------------------------------------------------------------------------
def test_diffuse_of_a_positional_light_over_a_dome_matches_the_reference(env):
    light = LightEnv(ambient=color10(10, 10, 20)).light(
        3, position=(0.5, 1.0, 0.5), diffuse=color10(230, 180, 120), ambient=color10(5, 0, 0))
    vertices = dome()
    close(draw(env, light, vertices, 1), want(light, vertices, 0))


def test_two_directional_lights_one_two_sided(env):
    light = LightEnv().light(0, position=(1, 0, 0.2), directional=True, diffuse=color10(250, 40, 40))
    light.light(5, position=(-1, -0.5, -0.3), directional=True, diffuse=color10(40, 40, 250), two_sided=True)
    vertices = dome(tilt=1.3)
    close(draw(env, light, vertices, 1), want(light, vertices, 0))


def _specular_env(layer: int, config1: int, clamp: bool = True) -> LightEnv:
    light = LightEnv(config0=layer << 4 | clamp << 27, config1=config1)
    light.light(2, position=(-0.6, 0.8, 1.0), diffuse=color10(100, 100, 100), spec0=color10(255, 240, 200),
                spec1=color10(120, 200, 255), spot=(-0.2, 0.25, 0.947), geo0=True, bias=0.1, scale=0.2)
    light.lut(0, lut_words(lambda x: x**12), kind=lighting.D0, select=0)  # NH
    light.lut(1, lut_words(lambda x: x**3), kind=lighting.D1, select=2, scale=1)  # NV, x2
    light.lut(6, lut_words(lambda x: 0.5 + 0.5 * x, absolute=False), kind=lighting.RR, select=1,
              absolute=False)  # VH, signed
    light.lut(5, lut_words(lambda x: 1 - x), kind=lighting.RG, select=3)  # LN
    light.lut(4, lut_words(lambda x: x * x), kind=lighting.RB, select=0, scale=7)  # NH, x0.5
    light.lut(8 + 2, lut_words(lambda x: x**6, absolute=False), kind=lighting.SP, select=4,
              absolute=False)
    light.lut(16 + 2, lut_words(lambda x: 1 - 0.7 * x))  # distance attenuation
    return light


@pytest.mark.parametrize("layer", [0, 4, 8])
def test_specular_with_d0_d1_reflections_spot_and_distance_matches_the_reference(env, layer):
    # every LUT on (CONFIG1 0: spot and distance attenuation on too); the layer decides which exist
    light = _specular_env(layer, 0)
    vertices = dome()
    close(draw(env, light, vertices, 2), want(light, vertices, 1))
    close(draw(env, light, vertices, 1), want(light, vertices, 0))


def test_clamp_highlights_off_and_geometric_factor_1(env):
    light = _specular_env(4, 0, clamp=False)
    light.regs[0x149 + 0x20] |= 1 << 3  # light 2's geometric factor 1 too
    vertices = dome(tilt=1.4)
    close(draw(env, light, vertices, 2), want(light, vertices, 1))


def test_fresnel_into_both_alphas(env):
    # layer 1 has FR; the last light slot's Fresnel factor (NV, absolute) becomes both alphas
    light = LightEnv(config0=1 << 4 | 3 << 2, config1=0xFFFFFFFF & ~(1 << 19)).light(
        1, position=(0, 0, 1), directional=True, diffuse=color10(200, 200, 200), spec0=color10(50, 50, 50))
    light.lut(3, lut_words(lambda x: 1 - x**2), kind=lighting.FR, select=2)
    vertices = dome(tilt=1.2)
    got = draw(env, light, vertices, 1)
    close(got, want(light, vertices, 0), variety=20)
    alphas = got[(got != BACKGROUND).any(axis=2)][:, 3]
    assert alphas.min() < 60 and alphas.max() > 150


def test_signed_and_two_sided_lut_inputs(env):
    # L.N runs negative on the far side of the dome from each light: D1 reads it signed (entries
    # 128-255 for -1..0), D0 absolute, so |L.N| for the two-sided light and max(L.N, 0) for the other
    light = LightEnv(config0=2 << 4, config1=0xFFFFFFFF & ~(3 << 16))
    light.light(0, position=(1, 0, 0.1), directional=True, spec0=color10(200, 0, 0), spec1=color10(0, 200, 0))
    light.light(1, position=(-0.2, 1, 0.1), directional=True, spec0=color10(0, 0, 200), spec1=color10(90, 0, 90),
                two_sided=True)
    light.lut(0, lut_words(lambda x: x), kind=lighting.D0, select=3)
    light.lut(1, lut_words(lambda x: 0.5 + 0.5 * x, absolute=False), kind=lighting.D1, select=3, absolute=False)
    vertices = dome(tilt=1.4)
    close(draw(env, light, vertices, 2), want(light, vertices, 1))


def test_a_lit_dome_cut_by_the_view_volume(env):
    # 1.6 times as wide as the view: the clipper mixes quaternions and view vectors into new corners
    light = _specular_env(4, 0)
    vertices = dome(size=1.6)
    assert np.abs(vertices[:, 0] / vertices[:, 3]).max() > 1.3
    close(draw(env, light, vertices, 2), want(light, vertices, 1))
    close(draw(env, light, vertices, 1), want(light, vertices, 0))
