"""Texturing: the fourteen formats decoded as tests/gpu/reference.py decodes them, ETC1 and
ETC1A4 blocks made by hand with their colours worked out by hand from the specification, and
textured quads drawn through GX ProcessCommandList on both CPU memory backends, compared with
the reference renderer: every format, every wrap mode, both filters, the LOD choosing between
them, the three units and TexEnv's texture sources."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.gpu import regs as R
from hlemu.gpu import texture
from kernel.services import gx
from tests.gpu import reference
from tests.gpu.picalist import TEXTURED, CommandBuilder, pica_asm
from tests.gpu.test_draw import BACKGROUND, BUF, COLOR, VERTS, Env, H, W

TEX = BUF + 0xC0000  # 256 KiB for textures, after the vertices
NAMES = texture.FORMAT_NAMES
# A quad over pixels x 16..48, y 8..40 (32 x 32) of the 64 x 48 target, as a strip.
CORNERS = [(-0.5, -2 / 3), (0.5, -2 / 3), (-0.5, 2 / 3), (0.5, 2 / 3)]
STRIP = ((0, 1, 2), (2, 1, 3))


def texture_bytes(fmt: int, width: int, height: int, seed: int = 1) -> bytes:
    return np.random.default_rng(seed + fmt).integers(0, 256, width * height * texture.BITS_PER_TEXEL[fmt] // 8,
                                                      dtype=np.uint8).tobytes()


def quad(uv0=(0.0, 0.0), uv1=(1.0, 1.0), w=(1.0, 1.0, 1.0, 1.0)) -> np.ndarray:
    """The quad's vertices (position xyzw, colour rgba, texture coordinate uv); ``w`` per corner
    scales the clip position (the same screen point, a perspective-correct interpolation)."""
    rows = []
    for k, (x, y) in enumerate(CORNERS):
        u = uv1[0] if k & 1 else uv0[0]
        v = uv1[1] if k & 2 else uv0[1]
        rows.append((x * w[k], y * w[k], -0.5 * w[k], w[k], 1, 1, 1, 1, u, v))
    return np.array(rows, np.float64)


def draw(env: Env, vertices: np.ndarray, units, stages=None, shader: str = TEXTURED) -> list[int]:
    """Draw the strip with texture ``units`` [(unit, texture_kwargs)] into an RGBA8 target."""
    env.clear(0)
    env.put(VERTS, vertices.astype(np.float32).tobytes())
    b = CommandBuilder().shader(pica_asm.assemble(shader))
    b.framebuffer(env.pa(COLOR), W, H, 0).viewport(0, 0, W, H)
    mask = 0
    for unit, kw in units:
        b.texture(unit, env.pa(TEX + kw.pop("at", 0)), **kw)
        mask |= 1 << unit
    b.texunits(mask, coord1=False)
    if stages is None:
        b.texenv_replace_texture(units[0][0])
    else:
        stages(b)
    b.attributes(env.pa(VERTS), vertices.shape[1] * 4, [(3, 4), (3, 4), (3, vertices.shape[1] - 8)])
    return env.submit(b.draw_arrays(4, topology=1).finalize())


def want(vertices: np.ndarray, tex: reference.Texture) -> np.ndarray:
    return reference.render(vertices[:, :4], vertices[:, 4:8], STRIP, (0, 0, W, H), (W, H), BACKGROUND,
                            texcoords=vertices[:, 8:10], texture=tex)


def decoded(fmt: int, width: int, height: int, seed: int = 1) -> np.ndarray:
    return reference.decode_texture(np.frombuffer(texture_bytes(fmt, width, height, seed), np.uint8),
                                    width, height, fmt)


# -- decoding, without a draw ------------------------------------------------------------------
@pytest.mark.parametrize("fmt", range(14), ids=NAMES)
def test_every_format_decodes_as_the_reference_does(fmt):
    width, height = 16, 24
    raw = np.frombuffer(texture_bytes(fmt, width, height), np.uint8).copy()
    ref = reference.decode_texture(raw, width, height, fmt)  # row 0 the bottom
    got = np.array([[texture.texel(raw, 0, fmt, width, x, height - 1 - t) for x in range(width)]
                    for t in range(height)])
    assert (got == ref).all()
    assert len({tuple(p) for p in got.reshape(-1, 4)}) > 8  # the random bytes are not read as one colour


def etc1_word(fields: dict[int, int], lsb=(), msb=()) -> int:
    """An ETC1 block's 64 bits from {bit position: value} fields and the texels (4x + y) whose
    pixel index LSB (bits 0-15) or MSB (bits 16-31) is set."""
    word = sum(value << at for at, value in fields.items())
    return word | sum(1 << i for i in lsb) | sum(1 << (16 + i) for i in msb)


# Individual mode, no flip: left half base (F, 0, 8) -> (255, 0, 136), table 0 (2, 8); right
# half base (1, 2, 3) -> (17, 34, 51), table 7 (47, 183).
BLOCK_A = etc1_word({60: 0xF, 56: 0x1, 52: 0x0, 48: 0x2, 44: 0x8, 40: 0x3, 37: 0, 34: 7}, lsb=(9, 12), msb=(7, 12))
BLOCK_A_TEXELS = {
    (0, 0): (255, 2, 138),  # index 0: +a = +2 (red clamps at 255)
    (3, 0): (0, 0, 0),  # texel 12, MSB and LSB: -b = -183, clamped at 0
    (2, 1): (200, 217, 234),  # texel 9, LSB: +b = +183 on the right half's base
    (1, 3): (253, 0, 134),  # texel 7, MSB: -a = -2 (green clamps at 0)
}
# Differential mode, flipped (halves top and bottom): base (10, 20, 31) -> (82, 165, 255),
# deltas (-1, +3, -4) -> (9, 23, 27) -> (74, 189, 222); tables 3 (13, 42) top, 5 (24, 80) bottom.
BLOCK_B = etc1_word({59: 10, 56: 0b111, 51: 20, 48: 0b011, 43: 31, 40: 0b100, 37: 3, 34: 5, 33: 1, 32: 1},
                    lsb=(13, 11), msb=(2, 11))
BLOCK_B_TEXELS = {
    (0, 0): (95, 178, 255),  # top half, index 0: +13 (blue clamps)
    (3, 1): (124, 207, 255),  # texel 13, LSB: +42
    (0, 2): (50, 165, 198),  # bottom half, texel 2, MSB: -24
    (2, 3): (0, 109, 142),  # texel 11, both: -80
}
# ETC1A4's alphas: texel (x, y) in bits 4 * (4x + y)
ALPHAS = (0xF << 0) | (0x3 << 48) | (0xA << 28)
ALPHA_OF = {(0, 0): 255, (3, 0): 51, (2, 1): 0, (1, 3): 170}


def etc_tile(alpha: bool) -> np.ndarray:
    """An 8x8 ETC1 (ETC1A4) texture: BLOCK_A top left, BLOCK_B top right, the bottom blocks 0."""
    blocks = []
    for word in (BLOCK_A, BLOCK_B, 0, 0):
        if alpha:
            blocks.append(ALPHAS.to_bytes(8, "little"))
        blocks.append(word.to_bytes(8, "little"))
    return np.frombuffer(b"".join(blocks), np.uint8).copy()


@pytest.mark.parametrize("fmt", [12, 13], ids=["ETC1", "ETC1A4"])
def test_hand_made_etc1_blocks_give_the_colours_worked_out_by_hand(fmt):
    raw = etc_tile(fmt == 13)
    ref = reference.decode_texture(raw, 8, 8, fmt)[::-1]  # top down, as texel() counts y
    for (x, y), rgb in BLOCK_A_TEXELS.items():
        alpha = ALPHA_OF[(x, y)] if fmt == 13 else 255
        assert texture.texel(raw, 0, fmt, 8, x, y) == (*rgb, alpha)
        assert tuple(ref[y, x]) == (*rgb, alpha)
    for (x, y), rgb in BLOCK_B_TEXELS.items():
        assert texture.texel(raw, 0, fmt, 8, 4 + x, y)[:3] == rgb
        assert tuple(ref[y, 4 + x, :3]) == rgb
    # the all-zero blocks: base 0, table 0, index 0: +2
    assert texture.texel(raw, 0, fmt, 8, 1, 6)[:3] == (2, 2, 2)


# -- drawn -------------------------------------------------------------------------------------
def close(got: np.ndarray, ref: np.ndarray, equal: float = 0.9) -> bool:
    """Linear filtering's tolerance: every channel within one 8-bit step of the reference, more
    than ``equal`` of the pixels the same. The two interpolate texture coordinates with
    different float rounding (hlemu from its biased edge functions), and a weighted sum on a .5
    (or within rounding of one) may round either way."""
    got, ref = got.astype(int), ref.astype(int)
    return bool(np.abs(got - ref).max() <= 1 and (got == ref).all(axis=-1).mean() > equal)


@pytest.mark.parametrize("fmt", range(14), ids=NAMES)
def test_a_textured_quad_in_every_format_matches_the_reference(env, fmt):
    env.put(TEX, texture_bytes(fmt, 16, 16))
    assert draw(env, quad(), [(0, dict(width=16, height=16, fmt=fmt))]) == [gx.P3D]
    got, ref = env.image(0), want(quad(), reference.Texture(decoded(fmt, 16, 16)))
    assert (got != ref).any(axis=2).sum() == 0
    assert (got != BACKGROUND).any(axis=2).sum() >= 32 * 32 - 64  # the quad is there
    record = env.kernel.gsp.gx.pica.lists[-1]
    assert not record.errors and record.draws[0].textures[0].startswith(f"texture 0: 16x16 {NAMES[fmt]}")


@pytest.mark.parametrize("fmt", [12, 13], ids=["ETC1", "ETC1A4"])
def test_hand_made_etc1_blocks_drawn_show_their_hand_worked_colours(env, fmt):
    # the 8x8 texture over 32x32 pixels: texel (x, y from the top) covers pixels 16 + 4x.., 40 - 4y - 4..
    env.put(TEX, etc_tile(fmt == 13).tobytes())
    draw(env, quad(), [(0, dict(width=8, height=8, fmt=fmt))])
    got = env.image(0)
    for (x, y), rgb in BLOCK_A_TEXELS.items():
        px, py = 16 + 4 * x + 1, 40 - 4 * y - 2
        assert tuple(got[py, px]) == (*rgb, ALPHA_OF[(x, y)] if fmt == 13 else 255)
    for (x, y), rgb in BLOCK_B_TEXELS.items():
        assert tuple(got[40 - 4 * y - 2, 16 + 4 * (4 + x) + 1, :3]) == rgb


WRAPS = ["clamp to edge", "clamp to border", "repeat", "mirrored repeat"]


@pytest.mark.parametrize("wrap", range(4), ids=WRAPS)
@pytest.mark.parametrize("linear", [0, 1], ids=["nearest", "linear"])
def test_each_wrap_mode_and_filter_outside_the_texture(env, wrap, linear):
    # u and v from -1 to 2: the texture three times over in each direction, its middle third
    # the texture itself; the border colour is opaque magenta-ish.
    fmt, border = 0, 0xFF8020E0  # r 0xE0, g 0x20, b 0x80, a 0xFF
    env.put(TEX, texture_bytes(fmt, 16, 16))
    v = quad((-1.0, -1.0), (2.0, 2.0))
    draw(env, v, [(0, dict(width=16, height=16, fmt=fmt, wrap_s=wrap, wrap_t=wrap, mag=linear, min=linear,
                           border=border))])
    got = env.image(0).astype(int)
    ref = want(v, reference.Texture(decoded(fmt, 16, 16), wrap, wrap, linear, linear,
                                    border=(0xE0, 0x20, 0x80, 0xFF))).astype(int)
    if linear:
        assert close(got, ref)
    else:
        assert (got == ref).all()
    if wrap == 1:
        assert (got == (0xE0, 0x20, 0x80, 0xFF)).all(axis=2).sum() > 32 * 32 / 2


def test_wrap_s_and_wrap_t_are_separate(env):
    env.put(TEX, texture_bytes(4, 16, 16))
    v = quad((-0.5, -0.5), (1.5, 1.5))
    draw(env, v, [(0, dict(width=16, height=16, fmt=4, wrap_s=2, wrap_t=3))])
    assert (env.image(0) == want(v, reference.Texture(decoded(4, 16, 16), wrap_s=2, wrap_t=3))).all()


@pytest.mark.parametrize("fmt", [0, 5, 12], ids=["RGBA8", "LA8", "ETC1"])
def test_linear_magnification_matches_the_reference_within_one_step(env, fmt):
    env.put(TEX, texture_bytes(fmt, 8, 8))
    draw(env, quad(), [(0, dict(width=8, height=8, fmt=fmt, mag=1))])
    got = env.image(0).astype(int)
    ref = want(quad(), reference.Texture(decoded(fmt, 8, 8), mag=1)).astype(int)
    assert close(got, ref)
    nearest = want(quad(), reference.Texture(decoded(fmt, 8, 8))).astype(int)
    assert (got != nearest).any(axis=2).sum() > 300  # filtered: not the nearest texels


def test_without_mipmaps_the_magnification_filter_is_always_used(env):
    # Three quarters of a 64x64 texture over 32x32 pixels is minified (LOD 0.58), but with max
    # level 0 the LOD clamps to 0 (Azahar's GL renderer): magnification linear, not min nearest.
    env.put(TEX, texture_bytes(0, 64, 64))
    v = quad((0.0, 0.0), (0.75, 0.75))
    tex = decoded(0, 64, 64)
    draw(env, v, [(0, dict(width=64, height=64, fmt=0, mag=1, min=0))])
    got = env.image(0)
    assert close(got, want(v, reference.Texture(tex, mag=1, min=0)))
    assert close(got, want(v, reference.Texture(tex, mag=1, min=1)))  # the same as linear both ways
    assert (got != want(v, reference.Texture(tex))).any(axis=2).sum() > 300  # not nearest


def mip_bytes(fmt: int, width: int, height: int, levels: int) -> bytes:
    return b"".join(texture_bytes(fmt, width >> k, height >> k, seed=20 + k) for k in range(levels))


def test_the_level_of_detail_picks_the_filter_and_the_level_with_mipmaps(env):
    # A 64x64 texture with level 1 (32x32); magnification linear, minification nearest, the
    # nearest mipmap. Minified by 1.5 (LOD 0.58): level ceil(1.08) - 1 = 1, nearest texels.
    env.put(TEX, mip_bytes(0, 64, 64, 2))
    levels = reference.decode_levels(np.frombuffer(mip_bytes(0, 64, 64, 2), np.uint8), 64, 64, 0, 2)
    v = quad((0.0, 0.0), (0.75, 0.75))
    kw = dict(width=64, height=64, fmt=0, mag=1, min=0, lod=1 << 16)  # max level 1
    draw(env, v, [(0, dict(kw))])
    got = env.image(0)
    assert (got == want(v, reference.Texture(levels, mag=1, min=0, max_level=1))).all()
    assert (got == want(v, reference.Texture(levels[1]))).all()  # level 1 itself, nearest
    assert "levels 0-1 nearest" in env.kernel.gsp.gx.pica.lists[-1].draws[0].textures[0]
    # a bias of -2 (1.4.8 fixed point): the LOD clamps to 0, magnified: level 0 filtered
    draw(env, v, [(0, dict(kw, lod=1 << 16 | (-2 * 256) & 0x1FFF))])
    got = env.image(0)
    assert close(got, want(v, reference.Texture(levels, mag=1, min=0, bias=-512, max_level=1)))
    assert close(got, want(v, reference.Texture(levels[0], mag=1)))


# Three levels of one colour each, so the level read shows in every pixel.
LEVEL_COLOURS = [(255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255)]


def flat_levels() -> bytes:
    return b"".join(bytes([a, b, g, r]) * ((32 >> k) ** 2) for k, (r, g, b, a) in enumerate(LEVEL_COLOURS))


@pytest.mark.parametrize(("span", "lod", "mip", "want_colour"), [
    (1.0, 0x02 << 16, 0, LEVEL_COLOURS[0]),  # one texel a pixel: LOD 0, magnified, level 0
    (2.0, 0x02 << 16, 0, LEVEL_COLOURS[1]),  # LOD 1: level ceil(1.5) - 1 = 1
    (4.0, 0x02 << 16, 0, LEVEL_COLOURS[2]),  # LOD 2: level 2
    (3.0, 0x02 << 16, 1, (0, 106, 149, 255)),  # LOD log2 3 = 1.585, linear mipmap: levels 1 and 2
    # mixed 0.415 : 0.585, green 255 * 0.415 = 105.8, blue 255 * 0.585 = 149.2
    (1.0, 0x0202 << 16, 0, LEVEL_COLOURS[2]),  # min level 2: the LOD clamps up to 2
    (4.0, 0x01 << 16, 0, LEVEL_COLOURS[1]),  # max level 1: the LOD clamps down to 1
], ids=["lod0", "lod1", "lod2", "linear-mipmap", "min-level", "max-level"])
def test_mipmap_levels_of_one_colour_each_worked_out_by_hand(env, span, lod, mip, want_colour):
    env.put(TEX, flat_levels())
    v = quad((0.0, 0.0), (span, span))
    draw(env, v, [(0, dict(width=32, height=32, fmt=0, wrap_s=2, wrap_t=2, lod=lod, mip=mip))])
    got = env.image(0)
    inside = (want(quad(), reference.Texture(decoded(0, 16, 16))) != BACKGROUND).any(axis=2)
    assert (got[inside] == want_colour).all()
    levels = [np.tile(np.array(c, np.uint8), (32 >> k, 32 >> k, 1)) for k, c in enumerate(LEVEL_COLOURS)]
    ref = reference.Texture(levels, wrap_s=2, wrap_t=2, min_level=lod >> 24, max_level=(lod >> 16) & 0xF, mip=mip)
    assert (got == want(v, ref)).all()


def test_perspective_correct_texture_coordinates(env):
    # The same screen quad with the right-hand corners at w = 3: u advances faster on the left.
    env.put(TEX, texture_bytes(0, 16, 16))
    v = quad(w=(1.0, 3.0, 1.0, 3.0))
    draw(env, v, [(0, dict(width=16, height=16, fmt=0))])
    got, ref = env.image(0), want(v, reference.Texture(decoded(0, 16, 16)))
    assert (got != ref).any(axis=2).mean() < 0.005  # texel edges through pixel centres may round apart
    assert (got != want(quad(), reference.Texture(decoded(0, 16, 16)))).any(axis=2).sum() > 200


# Texture coordinates 0-2 from v2 (uv), v3 (uv) and v4 (uv).
THREE = """
.out o0 position
.out o1 color
.out o2 texcoord0
.out o3 texcoord1
.out o4 texcoord2
main:
    mov o0, v0
    mov o1, v1
    mov o2, v2
    mov o3, v3
    mov o4, v4
    end
"""


def three_coords(v: np.ndarray) -> np.ndarray:
    """``v`` with texture coordinates 1 (v mirrored) and 2 (u and v swapped) added."""
    uv = v[:, 8:10]
    return np.hstack([v, np.column_stack([uv[:, 0], 1 - uv[:, 1]]), uv[:, ::-1]])


def _three(env: Env, v: np.ndarray, unit: int, coord1: bool = False):
    env.clear(0)
    env.put(VERTS, v.astype(np.float32).tobytes())
    for k in range(3):
        env.put(TEX + 0x4000 * k, texture_bytes(k, 16, 16, seed=10))
    b = CommandBuilder().shader(pica_asm.assemble(THREE))
    b.framebuffer(env.pa(COLOR), W, H, 0).viewport(0, 0, W, H)
    for k in range(3):
        b.texture(k, env.pa(TEX + 0x4000 * k), 16, 16, k)
    b.texunits(7, coord1=coord1).texenv_replace_texture(unit)
    b.attributes(env.pa(VERTS), 14 * 4, [(3, 4), (3, 4), (3, 2), (3, 2), (3, 2)])
    env.submit(b.draw_arrays(4, topology=1).finalize())
    assert not env.kernel.gsp.gx.pica.lists[-1].errors
    return env.image(0)


@pytest.mark.parametrize("unit", [0, 1, 2])
def test_each_unit_reads_its_own_texture_through_its_own_coordinates(env, unit):
    v = three_coords(quad())
    got = _three(env, v, unit)
    coords = v[:, 8 + 2 * unit : 10 + 2 * unit]
    ref = reference.render(v[:, :4], v[:, 4:8], STRIP, (0, 0, W, H), (W, H), BACKGROUND, texcoords=coords,
                           texture=reference.Texture(decoded(unit, 16, 16, seed=10)))
    assert (got == ref).all()


def test_unit_2_on_texture_coordinate_1(env):
    v = three_coords(quad())
    got = _three(env, v, 2, coord1=True)
    ref = reference.render(v[:, :4], v[:, 4:8], STRIP, (0, 0, W, H), (W, H), BACKGROUND, texcoords=v[:, 10:12],
                           texture=reference.Texture(decoded(2, 16, 16, seed=10)))
    assert (got == ref).all()


def test_texenv_modulates_a_texture_by_the_primary_colour(env):
    # Stage 0: texture 0 * primary colour (MODULATE, sources 3 and 0), the quad's colour (1, 0.5, 0.25, 1)
    env.put(TEX, texture_bytes(0, 16, 16))
    v = quad()
    v[:, 4:8] = (1.0, 0.5, 0.25, 1.0)

    def stages(b: CommandBuilder) -> None:
        b.write(R.TEXENV_BASES[0], 0x00030003, 0, 0x00010001, 0, 0, consecutive=True)
        for base in R.TEXENV_BASES[1:]:
            b.write(base, 0x000F000F, 0, 0, 0, 0, consecutive=True)

    draw(env, v, [(0, dict(width=16, height=16, fmt=0))], stages=stages)
    tex = want(v, reference.Texture(decoded(0, 16, 16))).astype(int)
    inside = (tex != BACKGROUND).any(axis=2)
    primary = np.array([255, 128, 64, 255])  # 0.5 * 255 = 127.5 rounds to 128, 0.25 * 255 to 64
    assert (env.image(0)[inside] == tex[inside] * primary // 255).all()


def test_a_unit_at_address_zero_reads_black_and_a_unit_that_is_off_zero(env):
    inside = (want(quad(), reference.Texture(decoded(0, 16, 16))) != BACKGROUND).any(axis=2)
    for units_on, colour in ((1, (0, 0, 0, 255)), (0, (0, 0, 0, 0))):
        env.clear(0)
        env.put(VERTS, quad().astype(np.float32).tobytes())
        b = CommandBuilder().shader(pica_asm.assemble(TEXTURED)).framebuffer(env.pa(COLOR), W, H, 0)
        b.viewport(0, 0, W, H).texture(0, 0, 16, 16, 0).texunits(units_on).texenv_replace_texture(0)
        b.attributes(env.pa(VERTS), 40, [(3, 4), (3, 4), (3, 2)]).draw_arrays(4, topology=1)
        env.submit(b.finalize())
        assert (env.image(0)[inside] == colour).all()
        assert not env.kernel.gsp.gx.pica.lists[-1].draws[0].textures  # nothing was sampled


def test_a_texture_the_process_does_not_have_skips_the_draw_and_is_reported(env):
    env.clear(0)
    env.put(VERTS, quad().astype(np.float32).tobytes())
    b = CommandBuilder().shader(pica_asm.assemble(TEXTURED)).framebuffer(env.pa(COLOR), W, H, 0)
    b.viewport(0, 0, W, H).texture(0, 0x08000000, 16, 16, 0).texunits(1).texenv_replace_texture(0)
    b.attributes(env.pa(VERTS), 40, [(3, 4), (3, 4), (3, 2)]).draw_arrays(4, topology=1)
    assert env.submit(b.finalize()) == [gx.P3D]
    record = env.kernel.gsp.gx.pica.lists[-1]
    assert "texture 0" in record.draws[0].error and any("texture 0" in line for line in env.lines)
    assert (env.image(0) == BACKGROUND).all()


def test_render_to_texture_in_one_list_reads_what_the_list_drew(env):
    # Draw 1 fills the colour buffer (64x48 RGBA8, itself a texture's layout) with the texture;
    # draw 2, into a second target, samples the first target as a texture.
    env.put(TEX, texture_bytes(0, 16, 16))
    second = COLOR + 0x10000
    env.clear(0)
    env.put(VERTS, quad().astype(np.float32).tobytes())
    b = CommandBuilder().shader(pica_asm.assemble(TEXTURED)).framebuffer(env.pa(COLOR), W, H, 0)
    b.viewport(0, 0, W, H).texture(0, env.pa(TEX), 16, 16, 0).texunits(1).texenv_replace_texture(0)
    b.attributes(env.pa(VERTS), 40, [(3, 4), (3, 4), (3, 2)]).draw_arrays(4, topology=1)
    b.framebuffer(env.pa(second), W, H, 0).texture(0, env.pa(COLOR), 64, 48, 0)
    env.put(VERTS + 0x1000, quad((0.0, 0.0), (0.75, 1.0)).astype(np.float32).tobytes())  # 1.5 texels a pixel
    b.attributes(env.pa(VERTS + 0x1000), 40, [(3, 4), (3, 4), (3, 2)]).draw_arrays(4, topology=1)
    env.submit(b.finalize())
    first = env.image(0)
    raw = np.frombuffer(env.process.space.mem.read(second, W * H * 4), np.uint8)
    from tests.services.test_gx import ref_decode

    got = ref_decode(reference.untile(raw, W, H, 4).reshape(-1), "RGBA8").reshape(H, W, 4)
    ref = want(quad((0.0, 0.0), (0.75, 1.0)), reference.Texture(first))
    inside = (want(quad(), reference.Texture(decoded(0, 16, 16))) != BACKGROUND).any(axis=2)  # the quad
    assert inside.sum() > 900 and (got[inside] == ref[inside]).all()
    assert (ref[inside] != BACKGROUND).any(axis=1).sum() > 300  # draw 1's texels, not only the clear colour


# Texture coordinate 0 (u q, v q) and its w (q) from v2 (x, y, z).
PROJECTED = """
.out o0 position
.out o1 color
.out o2 texcoord0
.out o3 texcoord0w
main:
    mov o0, v0
    mov o1, v1
    mov o2, v2
    mov o3, v2.zzzz
    end
"""


def test_projection_2d_divides_by_texture_coordinate_0_w(env):
    # Unit 0's type 3 samples at (u q / q, v q / q) of the interpolated values: projective
    # mapping, which the reference draws as perspective-correct interpolation with w = 1 / q.
    q = np.array([1.0, 3.0, 1.0, 3.0])
    v = quad()
    projected = np.hstack([v[:, :8], v[:, 8:10] * q[:, None], q[:, None]])
    env.put(TEX, texture_bytes(0, 16, 16))
    draw(env, projected, [(0, dict(width=16, height=16, fmt=0, kind=3))], shader=PROJECTED)
    got = env.image(0)
    as_w = v.copy()
    as_w[:, :4] /= q[:, None]
    ref = want(as_w, reference.Texture(decoded(0, 16, 16)))
    assert (got != ref).any(axis=2).mean() < 0.005  # texel edges through pixel centres may round apart
    assert (got != want(v, reference.Texture(decoded(0, 16, 16)))).any(axis=2).sum() > 200
    draw(env, projected, [(0, dict(width=16, height=16, fmt=0, kind=0))], shader=PROJECTED)  # 2D: no division
    assert (env.image(0) != got).any(axis=2).sum() > 200


@pytest.mark.parametrize(("mode", "inside", "negative", "beyond"), [
    (4, "texel", "repeat", "clamp"),  # clamp to edge 2: negative coordinates repeat (Azahar)
    (5, "texel", "repeat", "border"),  # clamp to border 2: beyond the texture the border, negative repeat
    (6, "texel", "repeat", "repeat"),
    (7, "texel", "repeat", "repeat"),
])
def test_the_undocumented_wrap_modes_4_to_7_as_azahar_reads_them(mode, inside, negative, beyond):
    # An 8x8 L8 texture whose texel (s, t up) holds s + 8 t; the border 0xFF.
    size = 8
    image = np.zeros(size * size, np.uint8)
    for t in range(size):
        for s in range(size):
            m = sum(((s >> k) & 1) << (2 * k) | (((size - 1 - t) >> k) & 1) << (2 * k + 1) for k in range(3))
            image[m] = s + 8 * t
    cfg = np.zeros((3, texture.CONFIG_FIELDS), np.int64)
    cfg[0, [texture.MODE, texture.WIDTH, texture.HEIGHT, texture.FORMAT]] = (texture.SAMPLE, size, size, 7)
    cfg[0, [texture.WRAP_S, texture.WRAP_T, texture.BORDER]] = (mode, 0, 0xFFFFFFFF)
    rgba = np.zeros(4, np.int64)

    def at(s: int) -> int:
        texture.fetch(image, cfg, 0, 0, s, 2, rgba)  # level 0
        return int(rgba[0])

    expect = {"texel": 3 + 16, "repeat": (-3 % size) + 16, "clamp": 7 + 16, "border": 0xFF}
    assert at(3) == expect[inside]
    assert at(-3) == expect[negative]
    if beyond == "repeat":
        assert at(size + 3) == 3 + 16
    else:
        assert at(size + 3) == expect[beyond]


def test_a_unit_no_stage_reads_is_not_sampled_even_with_a_wild_address(env):
    # Unit 0 on at an address the process does not have, named as source 2 of a REPLACE of the
    # primary colour (which reads source 1 only): the draw goes on without touching it.
    env.clear(0)
    v = quad()
    v[:, 4:8] = (1.0, 0.0, 0.0, 1.0)
    env.put(VERTS, v.astype(np.float32).tobytes())
    b = CommandBuilder().shader(pica_asm.assemble(TEXTURED)).framebuffer(env.pa(COLOR), W, H, 0)
    b.viewport(0, 0, W, H).texture(0, 0x08000000, 16, 16, 0).texunits(1)
    b.write(R.TEXENV_BASES[0], 0x00300030, 0, 0, 0, 0, consecutive=True)  # sources primary, texture 0
    for base in R.TEXENV_BASES[1:]:
        b.write(base, 0x000F000F, 0, 0, 0, 0, consecutive=True)
    b.attributes(env.pa(VERTS), 40, [(3, 4), (3, 4), (3, 2)]).draw_arrays(4, topology=1)
    env.submit(b.finalize())
    record = env.kernel.gsp.gx.pica.lists[-1]
    assert not record.errors and not record.draws[0].textures
    assert (env.image(0) == (255, 0, 0, 255)).all(axis=2).sum() >= 32 * 32 - 64


# -- cube maps ----------------------------------------------------------------------------------
def azahar_cube(u: float, v: float, w: float) -> tuple[int, float, float]:
    """Azahar's ConvertCubeCoord (renderer_software/sw_clipper.cpp), as it reads: the face
    (0-5: +X, -X, +Y, -Y, +Z, -Z) and the point on it."""
    if abs(u) > abs(v) and abs(u) > abs(w):
        face, x, y, z = (0, -w, -v, u) if u > 0 else (1, -w, v, u)
    elif abs(v) > abs(w):
        face, x, y, z = (2, u, w, v) if v > 0 else (3, -u, w, v)
    else:
        face, x, y, z = (4, u, -v, w) if w > 0 else (5, u, v, w)
    return face, x / z * 0.5 + 0.5, y / z * 0.5 + 0.5


def gradient_faces(size: int = 16) -> np.ndarray:
    """Six LA8 faces; texel (s, t up) of face f has L = s + 16 t and A = 40 f."""
    faces = np.zeros((6, size * size * 2), np.uint8)
    for f in range(6):
        for t in range(size):
            for s in range(size):
                y = size - 1 - t  # memory's first row is the top
                tile = (y >> 3) * (size >> 3) + (s >> 3)
                m = sum(((s >> k) & 1) << (2 * k) | ((y >> k) & 1) << (2 * k + 1) for k in range(3))
                at = 2 * (64 * tile + m)
                faces[f, at], faces[f, at + 1] = 40 * f, s + 16 * t  # LA8: A, then L
    return faces


@pytest.mark.parametrize("direction", [
    (1.0, 0.5, -0.25),  # +X: y = -v, x = -w, z = u: (0.625, 0.25), texel (10, 4)
    (-1.0, 0.5, -0.25),  # -X: y = v, x = -w, z = u = -1: (0.375, 0.25), texel (6, 4)
    (0.3, 0.9, 0.2), (-0.3, -0.9, 0.6), (0.1, -0.4, 0.8), (0.7, 0.2, -0.75), (0.5, 0.5, 0.5),
])
def test_a_cube_map_direction_reads_the_face_and_texel_azahar_converts_it_to(direction):
    size = 16
    faces = gradient_faces(size)
    cfg = np.zeros((3, texture.CONFIG_FIELDS), np.int64)
    cfg[0, [texture.MODE, texture.WIDTH, texture.HEIGHT, texture.FORMAT]] = (texture.SAMPLE, size, size, 5)
    cfg[0, [texture.CUBE, texture.FACE_BYTES]] = (1, faces.shape[1])
    uv = np.array([direction[0], direction[1], 0, 0, 0, 0, direction[2]], np.float64)
    out = np.zeros((4, 4), np.int64)
    texture.sample(faces.reshape(-1), cfg, 0, uv, uv.copy(), uv.copy(), np.zeros(4, np.int64),
                   np.zeros(4, np.float64), out, 3)
    face, fu, fv = azahar_cube(*direction)
    s, t = int(np.floor(fu * size)), int(np.floor(fv * size))
    assert (int(out[3, 3]) // 40, int(out[3, 0])) == (face, min(s, size - 1) + 16 * min(t, size - 1))
    if direction[:2] == (1.0, 0.5):
        assert int(out[3, 0]) == 10 + 16 * 4  # worked out by hand above
    if direction[:2] == (-1.0, 0.5):
        assert int(out[3, 0]) == 6 + 16 * 4


CUBE_COLOURS = [(200, 0, 0, 255), (0, 200, 0, 255), (0, 0, 200, 255), (200, 200, 0, 255), (0, 200, 200, 255),
                (200, 0, 200, 255)]


def test_a_drawn_cube_map_shows_the_face_each_direction_points_at(env):
    # Six one-colour 8x8 RGBA8 faces at TEX + 0x100 * f; ADDR2-6 carry junk above bit 21, which
    # the GPU ignores (those bits come from ADDR1). A quad whose four corners share one
    # direction is that face's colour throughout.
    for f, colour in enumerate(CUBE_COLOURS):
        env.put(TEX + 0x100 * f, bytes(colour[::-1]) * 64)  # RGBA8 is stored A, B, G, R
    directions = [(1, 0.2, 0.1), (-1, 0.2, 0.1), (0.2, 1, 0.1), (0.2, -1, 0.1), (0.2, 0.1, 1), (0.2, 0.1, -1)]
    for f, d in enumerate(directions):
        v = quad()
        cube = np.hstack([v[:, :8], np.tile([d[0], d[1]], (4, 1)), np.full((4, 1), d[2])])
        env.clear(0)
        env.put(VERTS, cube.astype(np.float32).tobytes())
        b = CommandBuilder().shader(pica_asm.assemble(PROJECTED))
        b.framebuffer(env.pa(COLOR), W, H, 0).viewport(0, 0, W, H)
        b.texture(0, env.pa(TEX), width=8, height=8, fmt=0, kind=1)
        b.cube_faces([env.pa(TEX + 0x100 * k) for k in range(1, 6)], high=0xF)
        b.texunits(1).texenv_replace_texture(0)
        b.attributes(env.pa(VERTS), cube.shape[1] * 4, [(3, 4), (3, 4), (3, 3)])
        env.submit(b.draw_arrays(4, topology=1).finalize())
        assert env.kernel.gsp.gx.pica.lists[-1].errors == []
        image = env.image(0)
        assert tuple(image[24, 32]) == CUBE_COLOURS[f], f  # the quad's middle
        inside = image[10:38, 18:46].reshape(-1, 4)
        assert (inside == CUBE_COLOURS[f]).all(), f


@pytest.mark.parametrize("size", [8, 16, 24, 64, 40])
def test_repeat_wraps_are_the_floor_modulo_for_power_of_two_sizes_and_others(size):
    """texture._wrap masks power-of-two sizes: the same indices as Python's modulo, negative
    ones included, for repeat (2, 6, 7, and 4 and 5 below 0) and mirrored repeat (3)."""
    for i in range(-3 * size - 5, 3 * size + 5):
        for mode in (2, 6, 7):
            assert texture._wrap(mode, i, size) == i % size
        if i < 0:
            assert texture._wrap(4, i, size) == texture._wrap(5, i, size) == i % size
        m = i % (2 * size)
        assert texture._wrap(3, i, size) == (2 * size - 1 - m if m >= size else m)
