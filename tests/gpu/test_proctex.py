"""The procedural texture (texture unit 3, TexEnv source 6) end to end: a quad whose texture
coordinates run past 0..1 drawn through GX ProcessCommandList with the LUTs uploaded through
PROCTEX_LUT / PROCTEX_LUT_DATA, compared with the independent numpy reference
(tests/gpu/reference_proctex.py) at each pixel centre's coordinates: several combiners, every
clamp mode, the shifts, noise on and off, the separate alpha, both colour filters.

hlemu interpolates the coordinates from its biased edge functions and the reference computes
them directly at the pixel centres, so a pixel on a step of a discontinuous function (pulse,
clamp to zero, nearest) may land either side: the comparisons ask nearly every pixel to be
within one 8-bit step."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.gpu import regs as R
from hlemu.gpu.pica import Pica
from kernel.services import gx
from tests.gpu import reference_proctex as ref
from tests.gpu.picalist import TEXTURED, CommandBuilder, pica_asm
from tests.gpu.test_draw import BACKGROUND, COLOR, VERTS, Env, H, W
from tests.gpu.test_texture import quad

U0, V0, U1, V1 = -0.3, -0.2, 1.7, 1.45  # the quad's corner coordinates (absolute values, clamps, shifts)


def map_words(values: np.ndarray) -> list[int]:
    """A 128-entry map table of ``values`` (129 points, 0..1): value and difference to the next."""
    q = np.round(np.clip(values, 0, 1) * 4095).astype(np.int64)
    return [int(q[i]) | ((int(q[i + 1] - q[i]) & 0xFFF) << 12) for i in range(128)]


def color_words(seed: int) -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(seed)
    steps = rng.integers(-12, 13, (256, 4))
    channels = np.clip(np.cumsum(steps, axis=0) + 128, 0, 255)
    words = [int(sum(int(c[ch]) << (8 * ch) for ch in range(4))) for c in channels]
    diffs = []
    for i in range(256):
        nxt = channels[min(i + 1, 255)]
        d = [((int(nxt[ch]) - int(channels[i, ch])) // 2) & 0xFF for ch in range(4)]
        diffs.append(sum(d[ch] << (8 * ch) for ch in range(4)))
    return words, diffs


def luts(seed: int = 3) -> dict[int, list[int]]:
    x = np.linspace(0, 1, 129)
    colors, diffs = color_words(seed)
    return {0: map_words(3 * x * x - 2 * x ** 3), 2: map_words(x), 3: map_words(1 - x), 4: colors, 5: diffs}


def p0(uclamp=1, vclamp=1, ccomb=0, acomb=0, separate=False, noise=False, ushift=0, vshift=0) -> int:
    return (uclamp | vclamp << 3 | ccomb << 6 | acomb << 10 | separate << 14 | noise << 15 | ushift << 16
            | vshift << 18)


def half(x: float) -> int:
    return int(np.float16(x).view(np.uint16))


def registers(word0: int, linear: bool = True, width: int = 128, offset: int = 64) -> dict[int, int]:
    return {0xA8: word0, 0xA9: 0x0600 | half(0.25) << 16, 0xAA: (-0x300 & 0xFFFF) | half(0.5) << 16,
            0xAB: half(1.5) | half(2.0) << 16, 0xAC: int(linear) | width << 11, 0xAD: offset}


def draw(env: Env, regs: dict[int, int], tables: dict[int, list[int]], coord: int = 0,
         on: bool = True) -> np.ndarray:
    env.clear(0)
    vertices = quad((U0, V0), (U1, V1))
    env.put(VERTS, vertices.astype(np.float32).tobytes())
    b = CommandBuilder().shader(pica_asm.assemble(TEXTURED))
    b.framebuffer(env.pa(COLOR), W, H, 0).viewport(0, 0, W, H)
    b.write(R.TEXUNIT_CONFIG, on << 10 | coord << 8)
    for reg, value in regs.items():
        b.write(reg, value)
    for table, words in tables.items():
        b.write(0x0AF, table << 8)
        for k in range(0, len(words), 8):
            b.write(0x0B0, *words[k:k + 8], consecutive=True)
    b.texenv_replace(6)
    b.attributes(env.pa(VERTS), vertices.shape[1] * 4, [(3, 4), (3, 4), (3, vertices.shape[1] - 8)])
    assert env.submit(b.draw_arrays(4, topology=1).finalize()) == [gx.P3D]
    record = env.kernel.gsp.gx.pica.lists[-1]
    assert not record.errors
    return env.image(0)


def want(regs: dict[int, int], tables: dict[int, list[int]]) -> np.ndarray:
    """The reference over the quad (pixels x 16..48, image rows 8..40, v growing with the row)."""
    xs, ys = np.arange(16, 48) + 0.5, np.arange(8, 40) + 0.5
    u = U0 + (xs - 16) / 32 * (U1 - U0)
    v = V0 + (ys - 8) / 32 * (V1 - V0)
    uu, vv = np.meshgrid(u, v)
    return ref.proctex(regs, tables, uu, vv)


def check(got: np.ndarray, expect: np.ndarray, equal: float = 0.97) -> None:
    inside = got[8:40, 16:48].astype(int)
    near = (np.abs(inside - expect.astype(int)) <= 1).all(axis=-1)
    assert near.mean() > equal, f"{near.mean():.3f} of the pixels match"
    assert (got[:8] == BACKGROUND).all()


@pytest.mark.parametrize("ccomb", range(10), ids=["U", "U2", "V", "V2", "ADD", "ADD2", "SQRT2", "MIN", "MAX",
                                                   "RMAX"])
def test_each_colour_combiner_matches_the_reference(env, ccomb):
    regs, tables = registers(p0(uclamp=2, vclamp=3, ccomb=ccomb)), luts()
    check(draw(env, regs, tables), want(regs, tables))


@pytest.mark.parametrize("uclamp", range(5), ids=["zero", "edge", "repeat", "mirror", "pulse"])
def test_each_clamp_mode_matches_the_reference(env, uclamp):
    regs, tables = registers(p0(uclamp=uclamp, vclamp=(uclamp + 2) % 5, ccomb=4)), luts()
    check(draw(env, regs, tables), want(regs, tables))


@pytest.mark.parametrize("ushift,vshift", [(1, 0), (0, 2), (2, 1)])
def test_shifts_match_the_reference(env, ushift, vshift):
    regs, tables = registers(p0(uclamp=2, vclamp=3, ccomb=8, ushift=ushift, vshift=vshift)), luts()
    check(draw(env, regs, tables), want(regs, tables))


@pytest.mark.parametrize("noise", [False, True], ids=["plain", "noise"])
def test_noise_on_and_off_match_the_reference(env, noise):
    regs, tables = registers(p0(uclamp=2, vclamp=2, ccomb=6, noise=noise)), luts()
    got = draw(env, regs, tables)
    check(got, want(regs, tables), equal=0.95)
    if noise:  # noise moves the coordinates: the picture differs from the plain one
        plain = registers(p0(uclamp=2, vclamp=2, ccomb=6))
        assert (want(plain, tables) != want(regs, tables)).any(axis=-1).mean() > 0.2


def test_separate_alpha_uses_its_own_combiner_and_map(env):
    regs, tables = registers(p0(uclamp=2, vclamp=2, ccomb=0, acomb=2, separate=True)), luts()
    got, expect = draw(env, regs, tables), want(regs, tables)
    check(got, expect)
    same = registers(p0(uclamp=2, vclamp=2, ccomb=0))
    assert (want(same, tables)[..., 3] != expect[..., 3]).mean() > 0.5


def test_nearest_colour_filter_and_a_narrow_table(env):
    regs, tables = registers(p0(uclamp=1, vclamp=1, ccomb=7), linear=False, width=16, offset=3), luts(5)
    check(draw(env, regs, tables), want(regs, tables))


def test_unit_3_off_reads_zero(env):
    regs, tables = registers(p0(ccomb=0)), luts()
    got = draw(env, regs, tables, on=False)
    assert (got[8:40, 16:48] == 0).all()


def test_lut_words_land_at_the_index_which_counts_up_and_wraps():
    gpu = Pica()
    b = CommandBuilder().write(0x0AF, 4 << 8 | 254).write(0x0B0, 11, 22, 33, consecutive=True)
    b.write(0x0AF, 1 << 8).write(0x0B0, 44)  # table 1 does not exist: reported, nothing stored
    record = gpu.run_words(np.frombuffer(b.data(), "<u4"))
    assert list(gpu.proctex_luts[4, [254, 255, 0]]) == [11, 22, 33]
    assert gpu.regs[0x0AF] & 0xFF == 1 and any("PROCTEX_LUT" in e for e in map(str, record.errors))
    assert not (gpu.proctex_luts[[0, 2, 3, 5]]).any()
