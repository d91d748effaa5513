"""The span rasteriser (hlemu/gpu/spans.py) draws what the general one (raster.draw_triangles)
draws, byte for byte: random states (colour formats and masks, culling, the scissor, the alpha
test, TexEnv stages, blending and logic ops, textures in every format with every wrap and both
filters, perspective; the depth and stencil tests and writes in every comparison, depth
format and mask over random depth buffers) rasterised both ways, colour and depth buffers
compared; the bench's citro2d-like frame through the command
processor both ways; and the states it must leave to the general path."""

from __future__ import annotations

import numpy as np
import pytest

from hlemu.bench import gpu as bench
from hlemu.gpu import fragment, proctex, raster, spans, texture

W, H = 48, 40
OPERATIONS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
SOURCES = [0, 1, 2, 3, 4, 5, 6, 0xD, 0xE, 0xF]


def _units(rng: np.random.Generator, sampled: int, linear: int) -> tuple[np.ndarray, np.ndarray]:
    """A unit table (as pica._textures builds it) and the texels of the sampled units."""
    table = np.zeros((3, texture.CONFIG_FIELDS), np.int64)
    parts, offset = [], 0
    for unit in range(3):
        table[unit, texture.FIXED] = int(rng.integers(0, 1 << 32))
        if not sampled >> unit & 1:
            continue
        fmt = int(rng.integers(0, 14))
        width, height = 8 * int(rng.integers(1, 5)), 8 * int(rng.integers(1, 5))
        size = width * height * texture.BITS_PER_TEXEL[fmt] // 8
        parts.append(rng.integers(0, 256, size, dtype=np.uint8))
        row = table[unit]
        row[texture.MODE], row[texture.WIDTH], row[texture.HEIGHT], row[texture.FORMAT] = texture.SAMPLE, width, \
            height, fmt
        row[texture.WRAP_S], row[texture.WRAP_T] = rng.integers(0, 8, 2)
        row[texture.MAG] = linear >> unit & 1
        row[texture.MIN] = row[texture.MAG] if rng.integers(0, 2) else 1 - row[texture.MAG]  # (no mipmaps: MAG rules)
        row[texture.BORDER] = int(rng.integers(0, 1 << 32))
        row[texture.OFFSET], row[texture.COORD] = offset, int(rng.integers(0, 3))
        row[texture.PROJECT] = int(rng.integers(0, 4) == 0)
        row[texture.FACE_BYTES] = size
        offset += size
    return table, np.concatenate(parts) if parts else np.zeros(0, np.uint8)


def _stages(rng: np.random.Generator) -> np.ndarray:
    stages = np.zeros((6, 5), np.uint32)
    for i in range(6):
        sources = sum(int(rng.choice(SOURCES)) << (4 * k) for k in range(6))
        operands = sum(int(rng.integers(0, 16)) << (4 * k) for k in range(3)) \
            | sum(int(rng.integers(0, 8)) << (12 + 4 * k) for k in range(3))
        combiner = int(rng.choice(OPERATIONS)) | int(rng.choice(OPERATIONS)) << 16
        scale = int(rng.integers(0, 4)) | int(rng.integers(0, 4)) << 16
        stages[i] = [sources, operands, combiner, int(rng.integers(0, 1 << 32)), scale]
    return stages


DEPTH_BYTES = {0: 2, 2: 3, 3: 4}


def _depth_state(rng: np.random.Generator, n: int, invw: np.ndarray) -> dict:
    """Random depth and stencil settings over a random depth buffer in D16, D24 or D24S8 (one
    state in five without a depth buffer); z / w spread over and past 0..1 (clamped)."""
    dfmt = int(rng.choice([0, 2, 3]))
    on = rng.integers(0, 5) > 0
    depth = np.array([rng.integers(0, 4) > 0, rng.integers(0, 8), rng.integers(0, 3) > 0,
                      rng.choice([-1.0, 1.0, rng.uniform(-1.5, 1.5)]), rng.choice([0.0, 1.0, rng.uniform(-0.5, 1.5)]),
                      rng.integers(0, 2)], np.float64)
    ref = int(rng.choice([0, 0x80, int(rng.integers(0, 256))]))
    test = int(rng.integers(0, 4) > 0) | int(rng.integers(0, 8)) << 4 | int(rng.integers(0, 256)) << 8 \
        | ref << 16 | int(rng.choice([0xFF, int(rng.integers(0, 256))])) << 24
    op = int(rng.integers(0, 8)) | int(rng.integers(0, 8)) << 4 | int(rng.integers(0, 8)) << 8
    dbuf = rng.integers(0, 256, W * H * DEPTH_BYTES[dfmt], dtype=np.uint8) if on else np.zeros(0, np.uint8)
    if on and rng.integers(0, 3) == 0:  # stencil values near the reference, so every comparison sees both outcomes
        if dfmt == 3:
            dbuf[3::4] = rng.integers(0x7E, 0x82, W * H)
    return dict(z=rng.uniform(-0.3, 1.3, n) * invw, depth=depth, dbuf=dbuf, dfmt=dfmt,
                stencil=raster.stencil_settings(test, op, bool(rng.integers(0, 4) > 0)))


def _proctex(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random procedural texture registers (unit 3 on, every clamp, combiner, shift and filter,
    noise on or off with amplitudes, phases and frequencies as float16 words) and LUT words."""
    regs = {0x080: 1 << proctex.CONFIG_BIT | int(rng.integers(0, 3)) << proctex.COORD_SHIFT,
            proctex.PROCTEX0: int(rng.integers(0, 5)) | int(rng.integers(0, 5)) << 3 | int(rng.integers(0, 10)) << 6
            | int(rng.integers(0, 10)) << 10 | int(rng.integers(0, 4)) << 14 | int(rng.integers(0, 3)) << 16
            | int(rng.integers(0, 3)) << 18}
    half = lambda: int(np.float16(rng.uniform(-2, 2)).view(np.uint16))  # noqa: E731
    regs[proctex.NOISE_U] = int(rng.integers(0, 1 << 16)) | half() << 16
    regs[proctex.NOISE_V] = int(rng.integers(0, 1 << 16)) | half() << 16
    regs[proctex.FREQUENCY] = half() | half() << 16
    regs[proctex.LUT_CONFIG] = int(rng.integers(0, 6)) | int(rng.integers(0, 256)) << 11
    regs[proctex.LUT_OFFSET] = int(rng.integers(0, 256))
    words = rng.integers(0, 1 << 32, (proctex.TABLES, proctex.ENTRIES), dtype=np.uint64).astype(np.uint32)
    return proctex.settings(regs), proctex.lut_table(words)


def _state(seed: int, with_depth: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    n = 3 * int(rng.integers(1, 9))
    fmt = int(rng.integers(0, 5))
    w = rng.uniform(0.3, 3.0, n) if rng.integers(0, 2) else np.ones(n)
    invw = 1.0 / w
    colors = rng.uniform(0, 1, (n, 4))
    if rng.integers(0, 2):  # flat: one colour a triangle, as citro2d's sprites have
        colors = np.repeat(colors[::3], 3, axis=0)
    sampled = int(rng.integers(0, 8))
    units, tex_data = _units(rng, sampled, int(rng.integers(0, 8)))
    smode = int(rng.choice([0, 2, 3]))
    x1, y1 = int(rng.integers(0, W // 2)), int(rng.integers(0, H // 2))
    extra = _depth_state(rng, n, invw) if with_depth else dict(
        z=np.zeros(n), depth=np.zeros(6), dbuf=np.zeros(0, np.uint8), dfmt=3,
        stencil=raster.stencil_settings(0, 0, False))
    proc_params, proc_luts = _proctex(rng) if rng.integers(0, 2) else (np.zeros(proctex.SETTINGS),
                                                                        np.zeros((1, 1, 4)))
    return dict(
        **extra, proc_params=proc_params, proc_luts=proc_luts,
        tris=rng.permutation(n).reshape(-1, 3).astype(np.int64),
        fx=rng.integers(-64, (W + 4) * 16, n).astype(np.int64), fy=rng.integers(-64, (H + 4) * 16, n).astype(np.int64),
        invw=invw, colors=colors * invw[:, None],
        buf=rng.integers(0, 256, W * H * raster.BYTES_PER_PIXEL[fmt], dtype=np.uint8),
        width=W, height=H, fmt=fmt, mask=int(rng.choice([0xF, 0xF, int(rng.integers(0, 16))])),
        cull=int(rng.integers(0, 3)),
        scissor=np.array([smode, x1, y1, x1 + int(rng.integers(0, W // 2)), y1 + int(rng.integers(0, H // 2))],
                         np.int64),
        alpha_test=int(rng.choice([0, 1 | int(rng.integers(0, 8)) << 4 | int(rng.integers(0, 256)) << 8])),
        stages=_stages(rng), count=int(rng.integers(0, 7)),
        buffer_color=rng.integers(0, 256, 4).astype(np.int64), update=int(rng.integers(0, 1 << 16)),
        blend=bool(rng.integers(0, 2)), func=int(rng.integers(0, 1 << 32)) & 0xFFFF0707,
        logic=int(rng.integers(0, 16)), blend_color=int(rng.integers(0, 1 << 32)),
        uvs=rng.uniform(-1.5, 2.5, (n, 7)) * invw[:, None], units=units, tex_data=tex_data, sampled=sampled)


def _general(s: dict) -> tuple[np.ndarray, tuple]:
    buf, got, _dbuf = _general_depth(s)
    return buf, got


def _general_depth(s: dict) -> tuple[np.ndarray, tuple, np.ndarray]:
    buf, dbuf = s["buf"].copy(), s["dbuf"].copy()
    fog, fog_lut = raster.fog_settings(0, 0, np.zeros(128, np.uint32))
    got = raster.draw_triangles(
        s["tris"], s["fx"], s["fy"], s["invw"], s["colors"], buf, W, H, s["fmt"], s["mask"], s["cull"], s["stages"],
        s["buffer_color"], s["update"], s["count"], s["blend"], s["func"], s["logic"], s["blend_color"],
        s["alpha_test"], s["scissor"], s["z"], s["depth"], dbuf, s["dfmt"], s["uvs"], s["units"],
        s["tex_data"], s["sampled"], s["stencil"], fog, fog_lut, False, np.zeros((1, 7)),
        np.zeros(1), np.zeros((1, 1, 2)), s["proc_params"], s["proc_luts"])
    return buf, got, dbuf


def _spans(s: dict) -> tuple[np.ndarray, tuple]:
    buf, got, _dbuf = _spans_depth(s)
    return buf, got[:3]


def _spans_depth(s: dict) -> tuple[np.ndarray, tuple, np.ndarray]:
    buf, dbuf = s["buf"].copy(), s["dbuf"].copy()
    got = spans.draw(s["tris"], s["fx"], s["fy"], s["invw"], s["colors"], buf, W, H, s["fmt"], s["mask"], s["cull"],
                     s["scissor"], s["alpha_test"], s["stages"], s["count"], s["buffer_color"], s["update"],
                     s["blend"], s["func"], s["logic"], s["blend_color"], s["uvs"], s["units"], s["tex_data"],
                     s["sampled"], s["z"], s["depth"], dbuf, s["dfmt"], s["stencil"], s["proc_params"],
                     s["proc_luts"])
    return buf, got, dbuf


@pytest.mark.parametrize("seed", range(60))
def test_random_states_draw_the_same_bytes_both_ways(seed):
    s = _state(seed)
    assert spans.handles(False, 0, int(s["scissor"][0]), s["units"], s["sampled"])
    want, (pixels, low, high, _dlow, _dhigh) = _general(s)
    got, counts = _spans(s)
    assert counts == (pixels, low, high)
    assert np.array_equal(got, want), f"{int((got != want).sum())} bytes differ"


@pytest.mark.parametrize("seed", range(100, 190))
def test_random_depth_and_stencil_states_draw_the_same_bytes_both_ways(seed):
    """Colour buffer, depth buffer (stencil bytes included) and the row counts all equal."""
    s = _state(seed, with_depth=True)
    want, counts, want_depth = _general_depth(s)
    got, got_counts, got_depth = _spans_depth(s)
    assert got_counts == counts
    assert np.array_equal(got_depth, want_depth), f"{int((got_depth != want_depth).sum())} depth bytes differ"
    assert np.array_equal(got, want), f"{int((got != want).sum())} bytes differ"


def test_the_depth_states_cover_every_function_and_format_and_both_outcomes():
    """The comparison above is not empty: every depth function and format is tested,
    depth is written, stencil values change, and some fragments fail the tests (fewer pixels
    written than with the tests off) while others pass."""
    states = [_state(seed, with_depth=True) for seed in range(100, 190)]
    funcs, formats, wrote_depth, stencil_changed, some_failed = set(), set(), 0, 0, 0
    for s in states:
        buf, (pixels, *_rest), dbuf = _general_depth(s)
        if not len(s["dbuf"]):
            continue
        if s["depth"][0] and s["tris"].size:
            funcs.add(int(s["depth"][1]))
        formats.add(s["dfmt"])
        changed = dbuf != s["dbuf"]
        if s["dfmt"] == 3:
            stencil_changed += bool(changed[3::4].any())
            wrote_depth += bool(changed.reshape(-1, 4)[:, :3].any())
        else:
            wrote_depth += bool(changed.any())
        off = dict(s, dbuf=np.zeros(0, np.uint8))
        some_failed += _general_depth(off)[1][0] > pixels > 0
    assert funcs == set(range(8)) and formats == {0, 2, 3}
    assert wrote_depth >= 10 and stencil_changed >= 5 and some_failed >= 10


def test_the_random_states_draw_pixels_and_cover_the_features():
    """The comparison above is not empty: most states write pixels, and between them they
    sample linearly, blend, run TexEnv stages and pass fragments through the alpha test."""
    states = [_state(seed) for seed in range(60)]
    written = [_general(s)[1][0] for s in states]
    assert sum(p > 0 for p in written) >= 30 and sum(written) > 10_000
    assert any(s["alpha_test"] and p for s, p in zip(states, written, strict=True))
    assert any(s["sampled"] and s["units"][:, texture.MAG].any() for s in states)
    assert any(s["blend"] for s in states) and any(not s["blend"] for s in states)
    assert any(s["count"] >= 3 for s in states)
    # the procedural texture on in some, and what it gives changes their pixels
    proc = [s for s, p in zip(states, written, strict=True) if s["proc_params"][proctex.S_ON] and p]
    off = [dict(s, proc_params=np.zeros(proctex.SETTINGS), proc_luts=np.zeros((1, 1, 4))) for s in proc]
    assert sum(not np.array_equal(_general(a)[0], _general(b)[0]) for a, b in zip(proc, off, strict=True)) >= 3


def test_a_quad_covers_each_pixel_once_and_only_its_pixels():
    """Two triangles sharing a diagonal: every pixel of the 16x8 box written exactly once
    (logic op AND with 0 would show a second write as nothing; here a pixel count does)."""
    s = _state(0)
    s.update(tris=np.array([[0, 1, 2], [2, 1, 3]], np.int64), fx=np.array([64, 320, 64, 320], np.int64),
             fy=np.array([80, 80, 208, 208], np.int64), invw=np.ones(4), colors=np.ones((4, 4)), cull=0,
             scissor=np.zeros(5, np.int64), alpha_test=0, count=0, blend=False, logic=3, sampled=0, mask=0xF, fmt=0,
             buf=np.zeros(W * H * 4, np.uint8), uvs=np.zeros((4, 7)))
    got, (pixels, low, high) = _spans(s)
    assert (pixels, low, high) == (16 * 8, 5, 12)
    assert int((got == 255).sum()) == 16 * 8 * 4


@pytest.mark.parametrize("change, taken", [
    ({}, True), ({"lit": True}, False), ({"update_buffer": 5}, False),
    ({"update_buffer": 0x105}, False), ({"update_buffer": 0xF00}, True), ({"scissor_mode": 1}, False),
    ({"scissor_mode": 3}, True)])
def test_states_the_span_path_leaves_to_the_general_one(change, taken):
    args = dict(lit=False, update_buffer=0, scissor_mode=0,
                units=np.zeros((3, texture.CONFIG_FIELDS), np.int64), sampled=0)
    args.update(change)
    assert spans.handles(**args) is taken


@pytest.mark.parametrize("column, value, taken", [
    (None, 0, True), (texture.MAG, 1, True), (texture.MAX_LEVEL, 2, False), (texture.CUBE, 1, False)])
def test_textures_with_mipmaps_or_cube_maps_take_the_general_path_and_two_filters_do_not(column, value, taken):
    units = np.zeros((3, texture.CONFIG_FIELDS), np.int64)
    if column is not None:
        units[1, column] = value
    assert spans.handles(False, 0, 0, units, 0b010) is taken
    assert spans.handles(False, 0, 0, units, 0b101)  # unit 1 not sampled: its settings do not matter


@pytest.mark.parametrize("backend", ["fastmem", "semifastmem"])
def test_the_bench_frame_is_the_same_through_both_rasterisers(backend):
    """The citro2d-like frame (textured, modulated, blended quads) through GX and the command
    processor, once on each path: the same pixels in guest memory, the same pixel count."""
    machine = bench._Machine(backend)
    try:
        rng = np.random.default_rng(3)
        machine.put(bench.TEX, rng.integers(0, 256, 64 * 64 * 4, dtype=np.uint8).tobytes())
        vertices, _corners = bench.quads_vertices(40)
        machine.put(bench.VERTS, vertices.tobytes())
        data = bench._quads_list(machine.pa, 40)
        machine.put(bench.LIST, data)
        frames = []
        for fast in (True, False):
            machine.kernel.gsp.gx.pica.span_rasteriser = fast
            pixels = machine.frame(len(data), False)
            frames.append((pixels, machine.process.space.mem.read(bench.COLOR, bench.TW * bench.TH * 4)))
        assert frames[0][0] == frames[1][0] == 40 * 32 * 32
        assert frames[0][1] == frames[1][1]
    finally:
        machine.close()


@pytest.mark.parametrize("value, flat", [(0.75, True), (127.5 / 255, False), (1.0, True), (0.0, True)])
def test_one_colour_a_triangle_only_away_from_a_rounding_boundary(value, flat):
    """A flat triangle's colour is computed once only when 255 c / j is clear of a .5 (127.5
    is on one: each pixel is computed); either way the bytes are the general path's."""
    colors = np.full((3, 4), value)
    src = np.zeros((spans.ROWS, 4), np.int64)
    assert spans._flat_color(colors, 0, 1, 2, 1.0, 1.0, 1.0, 1000, src) is flat
    if flat:
        assert (src[0] == int(np.floor(255 * value + 0.5))).all()
    s = _state(1)
    s.update(tris=np.array([[0, 1, 2]], np.int64), fx=np.array([8, 700, 40], np.int64),
             fy=np.array([4, 90, 600], np.int64), invw=np.ones(3), colors=colors, cull=0, count=0, blend=False,
             logic=3, sampled=0, alpha_test=0, mask=0xF, scissor=np.zeros(5, np.int64), uvs=np.zeros((3, 7)))
    want, counts = _general(s)
    got, (pixels, _low, _high) = _spans(s)
    assert pixels == counts[0] > 500 and np.array_equal(got, want)


def test_a_weight_sum_of_zero_or_unequal_corners_computes_each_pixel():
    colors = np.full((3, 4), 0.75)
    src = np.zeros((spans.ROWS, 4), np.int64)
    assert not spans._flat_color(colors, 0, 1, 2, 1.0, 1.0, 1.0, 0, src)
    assert not spans._flat_color(colors, 0, 1, 2, 1.0, 0.5, 1.0, 1000, src)
    colors[2, 1] = 0.5
    assert not spans._flat_color(colors, 0, 1, 2, 1.0, 1.0, 1.0, 1000, src)


def test_the_depth_tested_3d_bench_frame_takes_the_span_path_and_is_the_same_both_ways(monkeypatch):
    """The bench's cubes (D24S8, GREATER, depth written) through the command processor: the
    span path draws them (its calls counted), with the general path's colour and depth bytes."""
    calls = []
    draw = spans.draw
    monkeypatch.setattr(spans, "draw", lambda *args: calls.append(1) or draw(*args))
    machine = bench._Machine("fastmem")
    try:
        cubes = bench.cube_vertices(4)
        machine.put(bench.VERTS, cubes.tobytes())
        data = bench._scene_list(machine.pa, len(cubes), bench.perspective(np.radians(60), bench.TW / bench.TH,
                                                                           bench.NEAR, 20.0))
        machine.put(bench.LIST, data)
        frames = []
        for fast in (True, False):
            machine.kernel.gsp.gx.pica.span_rasteriser = fast
            pixels = machine.frame(len(data), True)
            mem = machine.process.space.mem
            frames.append((pixels, mem.read(bench.COLOR, bench.TW * bench.TH * 4),
                           mem.read(bench.DEPTH, bench.TW * bench.TH * 4)))
        assert calls and frames[0][0] == frames[1][0] > 50_000
        assert frames[0][1] == frames[1][1] and frames[0][2] == frames[1][2]
        assert len(set(frames[0][2][::4])) > 100  # the depth buffer holds the scene's depths, not a clear value
    finally:
        machine.close()


def test_div255_is_floor_division_by_255_over_every_sum_of_products_the_fragments_divide():
    """fragment._div255 (a multiply and a shift) against ``//``: every value up to 2^20 (the
    combiners' and blend equations' sums of 8-bit products stay below 2 * 255 * 255 + 255) and
    random ones up to 2^31."""
    x = np.concatenate([np.arange(1 << 20, dtype=np.int64),
                        np.random.default_rng(1).integers(0, 1 << 31, 100_000, dtype=np.int64), [(1 << 31) - 1]])
    assert np.array_equal(fragment._div255(x), x // 255)


@pytest.mark.parametrize("seed", range(200, 240))
def test_one_plain_stage_draws_the_same_bytes_both_ways(seed):
    """citro2d's usual TexEnv, one stage of REPLACE or MODULATE over own channels at scale 1
    (the span path's shortcut), from random sources, the previous colour, the buffer and the
    constant among them, with and without depth: the same colour and depth bytes both ways."""
    s = _state(seed, with_depth=bool(seed % 2))
    rng = np.random.default_rng(seed)
    sources = sum(int(rng.choice(SOURCES)) << (4 * k) for k in (0, 1, 4, 5))
    s["stages"][0, :3] = [sources, 0, int(rng.integers(0, 2)) | int(rng.integers(0, 2)) << 16]
    s["stages"][0, 4], s["count"] = 0, 1
    assert spans.texenv_table(s["stages"])[0, 16] == 1
    want, counts, want_depth = _general_depth(s)
    got, got_counts, got_depth = _spans_depth(s)
    assert got_counts == counts
    assert np.array_equal(got_depth, want_depth) and np.array_equal(got, want), f"{int((got != want).sum())} differ"


@pytest.mark.parametrize("seed", range(12))
def test_trailing_stages_that_give_the_previous_colour_are_left_out_without_changing_a_byte(seed):
    """citro2d's last stage fades towards its fade colour by that colour's alpha; with no fade
    (alpha 0) it gives the previous colour exactly, and stages_needed leaves it (and the other
    stages that do) out: the general path draws the same bytes with all six stages."""
    s = _state(seed)
    rng = np.random.default_rng(seed)
    keep = int(rng.integers(1, 5))
    stages = s["stages"].copy()
    for i in range(keep, 6):
        kind = int(rng.integers(0, 3))
        colour = int(rng.integers(0, 1 << 24))  # alpha 0: the fade factor (1 - alpha) is full
        if kind == 0:  # INTERPOLATE(previous, constant, constant) by 1 - constant alpha, as citro2d's
            stages[i] = [0x000F0EEF, 0x300, 0x4, colour, 0]
        elif kind == 1:  # MODULATE previous by a white constant, alpha by 1 - its alpha
            stages[i] = [0xF | 0xE << 4 | 0xF << 16 | 0xE << 20, 1 << 16, 0x10001, 0x00FFFFFF, 0]
        else:  # plain pass-through
            stages[i] = [0x000F000F, 0, 0, colour, 0]
    s.update(stages=stages, count=6)
    assert fragment.stages_needed(stages) <= keep
    trimmed = dict(s, count=fragment.stages_needed(stages))
    assert np.array_equal(_general(s)[0], _general(trimmed)[0])
    assert np.array_equal(_spans(s)[0], _spans(trimmed)[0])
    # a fade colour with alpha is a real fade: the stage stays
    stages[5] = [0x000F0EEF, 0x300, 0x4, 0x80000000 | colour, 0]
    assert fragment.stages_needed(stages) == 6


def test_a_replace_that_takes_one_minus_alpha_is_not_a_pass_through():
    """TEXENV_OPERAND's alpha operands sit at bits 12-14, 16-18, 20-22: a REPLACE whose first
    alpha operand is 1 (one minus alpha) changes the alpha, so it is neither a trailing pass-
    through nor, in stage 0, the primary colour itself; an operand the REPLACE does not read
    (the second) changes nothing."""
    passthrough = np.array([[0, 0, 0, 0, 0]] + [[0x000F000F, 0, 0, 0, 0]] * 5, np.uint32)
    assert fragment.stages_needed(passthrough) == 0
    inverted = passthrough.copy()
    inverted[5, 1] = 1 << 12  # the last stage's alpha: 255 - previous alpha
    assert fragment.stages_needed(inverted) == 6
    inverted = passthrough.copy()
    inverted[0, 1] = 1 << 12  # stage 0: primary colour, alpha inverted
    assert fragment.stages_needed(inverted) == 1
    unread = passthrough.copy()
    unread[5, 1] = unread[0, 1] = 1 << 16  # the second alpha operand: REPLACE reads only the first
    assert fragment.stages_needed(unread) == 0


@pytest.mark.parametrize("seed", [*range(20), *range(100, 120)])
def test_a_draw_split_between_two_threads_draws_the_same_bytes(seed, monkeypatch):
    """Every draw split at the row halving its pixels (SPLIT_PIXELS 0): the bytes, depth and stencil
    included, and the counts are those of one thread over every row."""
    s = _state(seed, with_depth=seed >= 100)
    want, counts, want_depth = _spans_depth(s)
    monkeypatch.setattr(spans, "threads", lambda: 2)
    monkeypatch.setattr(spans, "SPLIT_PIXELS", 0)
    splits = []
    monkeypatch.setattr(spans, "_split_row", lambda *a, real=spans._split_row: splits.append(real(*a)) or splits[-1])
    got, got_counts, got_depth = _spans_depth(s)
    covered = spans.row_pixels(s["tris"], s["fx"], s["fy"], W, H, s["cull"], s["scissor"]).sum()
    assert splits and (splits[0] is not None) == (covered > 0)
    assert got_counts == counts
    assert np.array_equal(got_depth, want_depth)
    assert np.array_equal(got, want), f"{int((got != want).sum())} bytes differ"


def test_the_split_row_halves_the_pixels_the_draw_covers(monkeypatch):
    monkeypatch.setattr(spans, "threads", lambda: 2)
    # two boxes (a quad each, two triangles): rows 0-99 50 pixels wide, rows 100-199 150 wide
    fx = np.array([0, 50, 0, 50, 0, 150, 0, 150], np.int64) * 16
    fy = np.array([0, 0, 100, 100, 100, 100, 200, 200], np.int64) * 16
    tris = np.array([[0, 1, 3], [0, 3, 2], [4, 5, 7], [4, 7, 6]], np.int64)
    off = np.zeros(5, np.int64)
    counts = spans.row_pixels(tris, fx, fy, 240, 240, 0, off)
    assert counts[:100].tolist() == [50] * 100 and counts[100:200].tolist() == [150] * 100 and not counts[200:].any()
    monkeypatch.setattr(spans, "SPLIT_PIXELS", 20_000)
    assert spans._split_row(tris, fx, fy, 240, 240, 0, off) == 134  # 5,000 + 15,000: half 34 rows into the second
    monkeypatch.setattr(spans, "SPLIT_PIXELS", 20_001)  # too few pixels for a second thread
    assert spans._split_row(tris, fx, fy, 240, 240, 0, off) is None
    monkeypatch.setattr(spans, "SPLIT_PIXELS", 0)
    monkeypatch.setattr(spans, "threads", lambda: 1)  # one core: never
    assert spans._split_row(tris, fx, fy, 240, 240, 0, off) is None


def test_hlemu_gpu_threads_1_keeps_the_rasteriser_on_one_thread(monkeypatch):
    monkeypatch.setenv("HLEMU_GPU_THREADS", "1")
    assert spans.threads() == 1
    monkeypatch.delenv("HLEMU_GPU_THREADS")
    monkeypatch.setattr(spans.os, "sched_getaffinity", lambda _pid: {0, 1})
    assert spans.threads() == 2
    monkeypatch.setattr(spans.os, "sched_getaffinity", lambda _pid: {0})
    assert spans.threads() == 1
    monkeypatch.delattr(spans.os, "sched_getaffinity")  # not Linux: the machine's core count
    monkeypatch.setattr(spans.os, "cpu_count", lambda: 4)
    assert spans.threads() == 2


def test_decoded_textures_are_kept_while_their_bytes_stay_the_same(monkeypatch):
    s = _state(3)
    while not s["sampled"]:
        s = _state(int(np.random.default_rng(len(s)).integers(1000)))
    tex = spans.texture_table(s["units"], s["sampled"])
    decodes = []
    real = spans.decode_textures
    monkeypatch.setattr(spans, "decode_textures", lambda *a: decodes.append(1) or real(*a))
    spans._decoded_cache.clear()
    first = spans._decoded(s["tex_data"], s["units"], tex, s["sampled"])
    assert spans._decoded(s["tex_data"].copy(), s["units"], tex, s["sampled"]) is first and len(decodes) == 1
    changed = s["tex_data"].copy()
    changed[: len(changed) // 2] ^= 0x5A  # rewritten in place: decoded again, to its new colours
    again = spans._decoded(changed, s["units"], tex, s["sampled"])
    assert len(decodes) == 2 and np.array_equal(again, real(changed, s["units"], tex, s["sampled"]))
    assert not np.array_equal(again, first)


def test_a_texture_rewritten_between_two_draws_draws_its_new_texels():
    """Through draw(): the same state twice, the texture's bytes changed in between, each
    frame byte for byte what the general path draws from those bytes."""
    for seed in range(40):
        s = _state(seed)
        if s["sampled"] and s["count"] and _spans(s)[1][0]:
            break
    spans._decoded_cache.clear()
    _spans(s)
    s["tex_data"] = (s["tex_data"] ^ 0xA5).astype(np.uint8)
    got, counts = _spans(s)
    want, (pixels, low, high, _dl, _dh) = _general(s)
    assert counts == (pixels, low, high) and np.array_equal(got, want)


def test_texenv_tables_are_kept_by_the_registers_they_come_from():
    stages = _stages(np.random.default_rng(9))
    units = np.zeros((3, texture.CONFIG_FIELDS), np.int64)
    spans._tables_cache.clear()
    env, rows = spans._tables(stages, units)
    assert spans._tables(stages.copy(), units.copy())[0] is env
    assert np.array_equal(env, spans.texenv_table(stages)) and np.array_equal(rows, spans.source_rows(stages, units))
    other = stages.copy()
    other[0, 3] ^= 0xFF  # stage 0's constant colour
    assert not np.array_equal(spans._tables(other, units)[1], rows)


def test_a_band_that_fails_still_waits_for_the_other_before_the_draw_returns(monkeypatch):
    import threading

    s = _state(2)
    monkeypatch.setattr(spans, "threads", lambda: 2)
    monkeypatch.setattr(spans, "SPLIT_PIXELS", 0)
    monkeypatch.setattr(spans, "_split_row", lambda *a: 20)
    finished, started = [], threading.Event()

    def band(*args):
        if args[-2] == 0:  # the upper band, on the helper thread: slow
            started.set()
            threading.Event().wait(0.2)
            finished.append(True)
            return (0, H, -1, H, -1)
        started.wait(5)
        raise RuntimeError("the lower band failed")

    monkeypatch.setattr(spans, "draw_spans", band)
    with pytest.raises(RuntimeError, match="lower band"):
        _spans_depth(s)
    assert finished == [True]
