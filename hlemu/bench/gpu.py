"""``hlemu bench gpu``: frames and pixels a second of the PICA200 path, against numpy.

Two scenes, each a frame of one GX MemoryFill (the clear) and one ProcessCommandList run
through gsp::Gpu in a guest process's memory (the path a program takes: the list read, the
vertex shader, clipping, the rasteriser, the colour buffer read and written back through
the process's memory path):

- ``gpu_quads``: a citro2d-like frame, N textured quads (32x32 pixels each, a 64x64 RGBA8
  texture, nearest, modulated by the vertex colour, alpha blended as C2D does) in one draw
  into a 240x400 RGBA8 target;
- ``gpu_3d``: a small 3D scene, a grid of cubes (12 triangles each) through a perspective
  matrix in the vertex shader, colours interpolated, a D24S8 depth buffer tested and
  written, some cubes cut by the near plane.

Each scene records ``frame`` (frames/s) and ``fill`` (pixels/s: the pixels the GPU wrote over
the frame time), and a same-run ``numpy`` baseline of the same fill: for the quads, each
quad's texels blended into its rectangle of the target with numpy slices; for the 3D scene
each triangle's bounding box rasterised with numpy (edge functions, interpolated colour, a
depth compare). ``vs_numpy`` is hlemu's pixel rate over numpy's.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np

from hlemu.bench.records import Record, add_ratios, best_of
from hlemu.gpu import regs as R
from hlemu.gpu.cmdlist import header
from hlemu.gpu.float24 import f32_to_f24, pack_vec4

TW, TH = 240, 400  # the top screen's target, stored the 3DS way
BUF = 0x00200000  # 2 MiB: list +0, colour +0x40000, depth +0xA0000, texture +0x100000, vertices +0x110000
LIST, COLOR, DEPTH, TEX, VERTS = BUF, BUF + 0x40000, BUF + 0xA0000, BUF + 0x100000, BUF + 0x110000
BUF_SIZE = 0x200000
QUAD = 32  # quad side, pixels
NEAR = 2.6  # the 3D scene's near plane
MOV_DESC = 0xF | 0x1B << 5 | 0x1B << 14  # mask xyzw, both swizzles identity


class _Builder:
    """Register writes as a command list (3dbrew "GPU/Internal Registers" command format)."""

    def __init__(self) -> None:
        self.words: list[int] = []

    def write(self, reg: int, *values: int, consecutive: bool = False) -> _Builder:
        self.words += [values[0] & 0xFFFFFFFF, header(reg, len(values) - 1, 0xF, consecutive)]
        self.words += [v & 0xFFFFFFFF for v in values[1:]]
        if len(self.words) % 2:
            self.words.append(0)
        return self

    def data(self) -> bytes:
        return struct.pack(f"<{len(self.words)}I", *self.words)


def _shader(b: _Builder, code: list[int], descs: list[int], outputs: list[int]) -> None:
    b.write(R.VSH_CODETRANSFER_CONFIG, 0).write(R.VSH_CODETRANSFER_DATA[0], *code)
    b.write(R.VSH_OPDESCS_CONFIG, 0).write(R.VSH_OPDESCS_DATA[0], *descs)
    b.write(R.VSH_ENTRYPOINT, 0x7FFF0000)
    b.write(R.VSH_OUTMAP_MASK, (1 << len(outputs)) - 1).write(R.SH_OUTMAP_TOTAL, len(outputs))
    for k, semantics in enumerate(outputs):
        b.write(R.SH_OUTMAP_O0 + k, semantics)


def _common(b: _Builder, pa: Callable[[int], int], attributes: list[tuple[int, int]], stride: int) -> None:
    b.write(R.COLORBUFFER_LOC, pa(COLOR) >> 3).write(R.FRAMEBUFFER_DIM, TW | (TH - 1) << 12 | 1 << 24)
    b.write(R.COLORBUFFER_FORMAT, 2).write(R.COLORBUFFER_WRITE, 0xF)
    half_w, half_h = int(f32_to_f24(TW / 2)), int(f32_to_f24(TH / 2))
    b.write(R.VIEWPORT_WIDTH, half_w).write(R.VIEWPORT_HEIGHT, half_h).write(R.VIEWPORT_XY, 0)
    low = sum((t | (n - 1) << 2) << (4 * i) for i, (t, n) in enumerate(attributes))
    count = len(attributes)
    b.write(R.ATTRIBBUFFERS_LOC, pa(VERTS) >> 3)
    b.write(R.ATTRIBBUFFERS_FORMAT_LOW, low & 0xFFFFFFFF, (count - 1) << 28 | (low >> 32) & 0xFFFF, consecutive=True)
    b.write(R.ATTRIBBUFFER0_OFFSET, 0, sum(i << (4 * i) for i in range(count)), stride << 16 | count << 28,
            consecutive=True)
    b.write(R.VSH_INPUTBUFFER_CONFIG, 0xA0000000 | (count - 1)).write(R.VSH_NUM_ATTR, count - 1)
    b.write(R.VSH_ATTRIBUTES_PERMUTATION_LOW, 0x76543210, 0xFEDCBA98, consecutive=True)


def _texenv(b: _Builder, sources: int, combiner: int) -> None:
    b.write(R.TEXENV_BASES[0], sources, 0, combiner, 0xFFFFFFFF, 0, consecutive=True)
    for base in R.TEXENV_BASES[1:]:
        b.write(base, 0x000F000F, 0, 0, 0xFFFFFFFF, 0, consecutive=True)


# -- the scenes -------------------------------------------------------------------------------
def quads_vertices(count: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``count`` quads as a triangle list (position, colour, uv: 10 floats a vertex) and their
    pixel rectangles (x, y) of QUAD x QUAD, on pixel boundaries so nearest sampling maps one
    texel to one pixel."""
    rng = np.random.default_rng(seed)
    corners = np.stack([rng.integers(0, (TW - QUAD) // 2, count) * 2, rng.integers(0, (TH - QUAD) // 2, count) * 2], 1)
    rows = []
    for x, y in corners:
        colour = (1.0, 1.0, 1.0, 0.75)
        quad = []
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            px, py = x + dx * QUAD, y + dy * QUAD
            quad.append((px / TW * 2 - 1, py / TH * 2 - 1, -0.5, 1.0, *colour, dx * 0.5, dy * 0.5))
        rows += [quad[0], quad[1], quad[2], quad[2], quad[1], quad[3]]
    return np.array(rows, np.float32), corners


def _quads_list(pa: Callable[[int], int], count: int) -> bytes:
    b = _Builder()
    code = [0x13 << 26 | k << 21 | k << 12 for k in range(3)] + [0x22 << 26]  # mov o0-o2, v0-v2; end
    _shader(b, code, [MOV_DESC], [0x03020100, 0x0B0A0908, 0x1F1F0D0C])
    _common(b, pa, [(3, 4), (3, 4), (3, 2)], 40)
    b.write(R.DEPTH_COLOR_MASK, 0xF << 8).write(R.COLOR_OPERATION, 0xE40100).write(R.BLEND_FUNC, 0x76760000)
    # texture 0: 64x64 RGBA8, nearest, clamp to edge (C3D_TexBind), TexEnv MODULATE texture 0 x primary
    b.write(0x081, 0, 64 | 64 << 16, 0, 0, pa(TEX) >> 3, consecutive=True).write(0x08E, 0)
    b.write(R.TEXUNIT_CONFIG, 1)
    _texenv(b, 0x00030003, 0x00010001)
    b.write(R.PRIMITIVE_CONFIG, 1).write(R.NUMVERTICES, 6 * count).write(R.VERTEX_OFFSET, 0)
    return b.write(R.DRAWARRAYS, 1).write(R.FINALIZE, 0x12345678).data()


def perspective(fovy: float, aspect: float, near: float, far: float) -> np.ndarray:
    """A projection into the PICA's clip space for a right-handed view looking down -z: the
    near plane to z = -w and the far one to z = 0, so with the depth map scale -1 depth is 1
    near and 0 far (citro3d's convention, tested with GREATER)."""
    f = 1 / np.tan(fovy / 2)
    return np.array([[f / aspect, 0, 0, 0], [0, f, 0, 0],
                     [0, 0, -near / (far - near), -near * far / (far - near)], [0, 0, -1, 0]], np.float64)


def cube_vertices(grid: int = 4) -> np.ndarray:
    """A grid x grid of unit cubes in front of the eye, each row farther away (the first one
    reaching through the near plane at 2.6), 36 vertices each (position xyz1, colour rgba)."""
    faces = [((0, 0, 1), (1, 0, 0), (0, 1, 0)), ((0, 0, -1), (0, 1, 0), (1, 0, 0)), ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
             ((-1, 0, 0), (0, 0, 1), (0, 1, 0)), ((0, 1, 0), (0, 0, 1), (1, 0, 0)), ((0, -1, 0), (1, 0, 0), (0, 0, 1))]
    rows = []
    for i in range(grid):
        for j in range(grid):
            centre = np.array([(i - (grid - 1) / 2) * 1.2, (j - (grid - 1) / 2) * 0.9, -3.0 - 1.2 * j], np.float64)
            for k, face in enumerate(faces):
                n, u, v = (np.array(axis, np.float64) * 0.5 for axis in face)
                colour = ((k + 1) % 2, (k // 2 + i) % 2 * 0.8 + 0.2, (k + j) % 3 / 2, 1.0)
                c = [centre + n + su * u + sv * v for su, sv in ((-1, -1), (1, -1), (-1, 1), (1, 1))]
                for a in (0, 1, 2, 2, 1, 3):
                    rows.append((*c[a], 1.0, *colour))
    return np.array(rows, np.float32)


def _scene_list(pa: Callable[[int], int], vertices: int, matrix: np.ndarray) -> bytes:
    b = _Builder()
    descs = [(8 >> c) | 0x1B << 5 | 0x1B << 14 for c in range(4)] + [MOV_DESC]
    code = [0x02 << 26 | 0 << 21 | (0x20 + c) << 12 | 0 << 7 | c for c in range(4)]  # dp4 o0.c, c<c>, v0
    code += [0x13 << 26 | 1 << 21 | 1 << 12 | 4, 0x22 << 26]  # mov o1, v1; end
    _shader(b, code, descs, [0x03020100, 0x0B0A0908])
    for row in range(4):
        b.write(R.VSH_FLOATUNIFORM_CONFIG, row).write(R.VSH_FLOATUNIFORM_DATA[0], *pack_vec4(*matrix[row]))
    _common(b, pa, [(3, 4), (3, 4)], 32)
    b.write(R.DEPTHBUFFER_LOC, pa(DEPTH) >> 3).write(R.DEPTHBUFFER_FORMAT, 3).write(R.DEPTHBUFFER_WRITE, 3)
    b.write(R.DEPTHMAP_ENABLE, 1).write(R.DEPTHMAP_SCALE, int(f32_to_f24(-1.0))).write(R.DEPTHMAP_OFFSET, 0)
    b.write(R.DEPTH_COLOR_MASK, 1 | 6 << 4 | 0xF << 8 | 1 << 12)  # GREATER (near is 1), writes on
    b.write(R.LOGIC_OP, 3).write(R.FACECULLING_CONFIG, 0)
    _texenv(b, 0, 0)  # REPLACE primary
    b.write(R.PRIMITIVE_CONFIG, 1).write(R.NUMVERTICES, vertices).write(R.VERTEX_OFFSET, 0)
    return b.write(R.DRAWARRAYS, 1).write(R.FINALIZE, 0x12345678).data()


# -- the numpy baselines -------------------------------------------------------------------------
def numpy_quads(target: np.ndarray, texture: np.ndarray, corners: np.ndarray) -> int:
    """Each quad's texels (the texture's top left 32x32, times alpha 0.75) blended into its rectangle."""
    src = texture[:QUAD, :QUAD].astype(np.int32)
    alpha = src[..., 3:4] * 191 // 255
    for x, y in corners:
        dst = target[y : y + QUAD, x : x + QUAD].astype(np.int32)
        target[y : y + QUAD, x : x + QUAD] = (src * alpha + dst * (255 - alpha)) // 255
    return len(corners) * QUAD * QUAD


def numpy_triangles(colour: np.ndarray, depth: np.ndarray, screen: np.ndarray, z: np.ndarray,
                    rgba: np.ndarray) -> int:
    """Rasterise screen-space triangles (t, 3, 2) with numpy over each one's bounding box:
    edge functions, the colour interpolated, a depth test against ``depth`` and its update."""
    height, width = depth.shape
    written = 0
    for tri, zs, cs in zip(screen, z, rgba, strict=True):
        x0, y0 = np.floor(tri.min(axis=0)).astype(int).clip(0, [width, height])
        x1, y1 = np.ceil(tri.max(axis=0)).astype(int).clip(0, [width, height])
        if x1 <= x0 or y1 <= y0:
            continue
        py, px = np.mgrid[y0:y1, x0:x1] + 0.5
        (ax, ay), (bx, by), (cx, cy) = tri
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if area == 0:
            continue
        w0 = ((bx - px) * (cy - py) - (by - py) * (cx - px)) / area
        w1 = ((cx - px) * (ay - py) - (cy - py) * (ax - px)) / area
        w2 = 1 - w0 - w1
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        d = w0 * zs[0] + w1 * zs[1] + w2 * zs[2]
        view = depth[y0:y1, x0:x1]
        keep = inside & (d > view)
        view[keep] = d[keep]
        col = (w0[..., None] * cs[0] + w1[..., None] * cs[1] + w2[..., None] * cs[2]) * 255
        colour[y0:y1, x0:x1][keep] = col[keep].astype(np.uint8)
        written += int(keep.sum())
    return written


# -- running -------------------------------------------------------------------------------------
class _Machine:
    """A kernel with one process whose BUF_SIZE buffer is one physical run (the GPU's addresses)."""

    def __init__(self, backend: str) -> None:
        from hlemu.loaders import Image, Segment
        from hlemu.memory import MemoryPermission
        from kernel.kernel import Kernel

        self.kernel = Kernel(backend=backend, output=lambda _p, _line: None)
        self.process = self.kernel.spawn(Image("gpu_bench", 0x00100000, [
            Segment(0x00100000, (0xEAFFFFFE).to_bytes(4, "little"), 0x1000, MemoryPermission.RX),  # b .
            Segment(BUF, b"", BUF_SIZE, MemoryPermission.RW)]))
        frames = self.process.space.table.frame[BUF >> 12 : (BUF + BUF_SIZE) >> 12]
        if not (np.diff(frames) == 1).all():
            raise RuntimeError("the benchmark buffer is not one physical run")
        self.phys = self.process.space.phys.frame_to_phys(int(frames[0]))

    def pa(self, vaddr: int) -> int:
        return self.phys + vaddr - BUF

    def put(self, vaddr: int, data: bytes) -> None:
        self.process.space.mem.write(vaddr, data)

    def frame(self, list_bytes: int, depth: bool) -> int:
        """One frame: clear (and clear depth), run the list; the pixels the GPU wrote."""
        gx = self.kernel.gsp.gx
        fill = [2, COLOR, 0x204060FF, COLOR + TW * TH * 4, 0, 0, 0, 0x201]
        if depth:
            fill[4:7] = [DEPTH, 0, DEPTH + TW * TH * 4]
            fill[7] |= 0x2010000
        gx.execute(self.process, fill)
        gx.execute(self.process, [1, LIST, list_bytes, 0, 0, 0, 0, 0])
        record = gx.pica.lists[-1]
        if record.errors:
            raise RuntimeError(f"the benchmark list failed: {record.errors}")
        return sum(d.pixels for d in record.draws)

    def close(self) -> None:
        self.kernel.close()


def _measure(name: str, machine: _Machine, list_bytes: int, depth: bool, repeats: int, frames: int,
             baseline: Callable[[], int], extra: dict) -> list[Record]:
    pixels = machine.frame(list_bytes, depth)  # compiles and warms up
    seconds = best_of(repeats, lambda: [machine.frame(list_bytes, depth) for _ in range(frames)]) / frames
    base_pixels = baseline()
    base_seconds = best_of(repeats, baseline)
    records = [Record(name, "frame", 1 / seconds, "frames/s", {**extra, "pixels": pixels}),
               Record(name, "fill", pixels / seconds, "pixels/s", {**extra, "pixels": pixels}),
               Record(name, "numpy", base_pixels / base_seconds, "pixels/s", {**extra, "pixels": base_pixels})]
    add_ratios(records, name, {"vs_numpy": "numpy"})
    records[0].extra.pop("vs_numpy", None)  # frames/s against pixels/s is no ratio
    return records


def run(quads: int = 500, grid: int = 4, repeats: int = 3, frames: int = 5, backend: str = "auto",
        progress: Callable[[str], None] | None = None) -> list[Record]:
    say = progress or (lambda _msg: None)
    machine = _Machine(backend)
    try:
        backend = machine.kernel.memory.backend
        records = []
        rng = np.random.default_rng(3)
        texture = rng.integers(0, 256, (64, 64, 4), dtype=np.uint8)
        machine.put(TEX, texture.tobytes())  # texel order does not matter to the timing
        vertices, corners = quads_vertices(quads)
        machine.put(VERTS, vertices.tobytes())
        data = _quads_list(machine.pa, quads)
        machine.put(LIST, data)
        say("gpu_quads")
        target = np.zeros((TH, TW, 4), np.uint8)
        records += _measure("gpu_quads", machine, len(data), False, repeats, frames,
                            lambda: numpy_quads(target, texture, corners), {"quads": quads, "backend": backend})
        _say_records(say, records[-3:])

        cubes = cube_vertices(grid)
        matrix = perspective(np.radians(60), TW / TH, NEAR, 20.0)
        machine.put(VERTS, cubes.tobytes())
        data = _scene_list(machine.pa, len(cubes), matrix)
        machine.put(LIST, data)
        clip = cubes[:, :4].astype(np.float64) @ matrix.T
        tris = clip.reshape(-1, 3, 4)
        front = (tris[..., 3] > NEAR).all(axis=1)  # the numpy baseline draws the triangles wholly in front
        ndc = tris[front, :, :3] / tris[front, :, 3:4]
        screen = np.stack([(ndc[..., 0] + 1) * TW / 2, (ndc[..., 1] + 1) * TH / 2], -1)
        colours = cubes[:, 4:].reshape(-1, 3, 4)[front]

        def numpy_scene() -> int:
            colour = np.zeros((TH, TW, 4), np.uint8)
            depth = np.zeros((TH, TW), np.float64)
            return numpy_triangles(colour, depth, screen, -ndc[..., 2], colours)

        say("gpu_3d")
        records += _measure("gpu_3d", machine, len(data), True, repeats, frames, numpy_scene,
                            {"triangles": len(cubes) // 3, "backend": backend})
        _say_records(say, records[-3:])
        return records
    finally:
        machine.close()


def _say_records(say: Callable[[str], None], records: list[Record]) -> None:
    for r in records:
        say(f"  {r.variant}: {r.value:,.0f} {r.unit}")
