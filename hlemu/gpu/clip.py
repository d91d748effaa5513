"""Clipping triangles against the PICA's view volume (and the user clip plane) before the
perspective divide.

The PICA's clip space (Azahar ``renderer_software/sw_rasterizer.cpp``, which follows the
hardware; its GL renderer's "fixed PICA clipping plane z <= 0"): a point is inside when
-w <= x <= w, -w <= y <= w and -w <= z <= 0 (citro3d's projections put the near plane at
z = 0 and the far one at z = -w, and its depth map scale -1 turns z / w into 0..1), and w is
above a small epsilon so the divide that follows is safe. With GPUREG_FRAGOP_CLIP (0x047)
bit 0 set, the user plane (coefficients in 0x048-0x04B, float24) also keeps the points whose
dot product with it is not negative.

Each plane cuts the polygon left by the one before (Sutherland-Hodgman, in Azahar's order,
walking each edge from the previous vertex); a new vertex has every output attribute mixed
linearly in clip space; the polygon is drawn as a fan from its first vertex. Triangles wholly
inside every plane, nearly all of them in a frame, are kept as they are without a loop, and a
triangle is cut only by the planes one of its corners is outside of (the others cannot cut it).
"""

from __future__ import annotations

import numpy as np

W_EPSILON = 1e-5  # the smallest w kept (Azahar's w = EPSILON plane)
INSIDE_EPSILON = 1e-8  # a point this far outside a plane still counts as inside (Azahar's EPSILON_Z)
# (coefficients, offset): inside when dot(coefficients, position) + offset >= -INSIDE_EPSILON
PLANES = (
    ((-1.0, 0.0, 0.0, 1.0), 0.0),  # x <= w
    ((1.0, 0.0, 0.0, 1.0), 0.0),  # x >= -w
    ((0.0, -1.0, 0.0, 1.0), 0.0),  # y <= w
    ((0.0, 1.0, 0.0, 1.0), 0.0),  # y >= -w
    ((0.0, 0.0, -1.0, 0.0), 0.0),  # z <= 0
    ((0.0, 0.0, 1.0, 1.0), 0.0),  # z >= -w
    ((0.0, 0.0, 0.0, 1.0), -W_EPSILON),  # w >= epsilon
)


def planes(user: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """The clip planes as rows (a, b, c, d, offset), the user plane last when given."""
    rows = [(*coeffs, offset) for coeffs, offset in PLANES]
    if user is not None:
        rows.append((*user, 0.0))
    return np.array(rows, np.float64)


def clip(vertices: np.ndarray, tris: np.ndarray, user=None) -> tuple[np.ndarray, np.ndarray]:
    """Clip triangles ``tris`` (t, 3) of ``vertices`` (n, k), whose columns 0-3 are the clip
    position and the rest the other outputs. Returns the vertices with the new ones appended
    and the triangles to draw (a clipped triangle's fan takes its place, in order)."""
    table = planes(user)
    distance = vertices[:, :4].astype(np.float64) @ table[:, :4].T + table[:, 4]  # (n, planes)
    inside = distance >= -INSIDE_EPSILON
    whole = inside[tris].all(axis=(1, 2)) if len(tris) else np.zeros(0, bool)
    if whole.all():
        return vertices, tris
    extra: list[np.ndarray] = []
    out: list[np.ndarray] = []
    n = len(vertices)
    kept = 0  # whole triangles before t not yet in out (they stay in order, as one slice)
    for t in np.flatnonzero(~whole).tolist():
        out.append(tris[kept:t])
        kept = t + 1
        tri = tris[t]
        polygon = [vertices[i].astype(np.float64) for i in tri]
        # a plane all three corners are inside cannot cut what the others leave of the triangle
        for row in table[~inside[tri].all(axis=0)]:
            polygon = _cut(polygon, row)
            if len(polygon) < 3:
                break
        if len(polygon) < 3:
            continue
        # the polygon's vertices are new ones (even the original corners: they are copied)
        ids = np.arange(n + len(extra), n + len(extra) + len(polygon))
        extra.extend(polygon)
        out.append(np.stack([np.full(len(polygon) - 2, ids[0]), ids[1:-1], ids[2:]], axis=1))
    out.append(tris[kept:])
    if extra:
        vertices = np.concatenate([vertices, np.array(extra, vertices.dtype)])
    return vertices, (np.concatenate(out).astype(np.int64) if out else np.zeros((0, 3), np.int64))


def _cut(polygon: list[np.ndarray], row: np.ndarray) -> list[np.ndarray]:
    """One Sutherland-Hodgman step: the part of ``polygon`` inside plane ``row``."""
    distances = (np.array([v[:4] for v in polygon]) @ row[:4] + row[4]).tolist()  # one numpy call a cut
    out: list[np.ndarray] = []
    previous, dp = polygon[-1], distances[-1]
    for vertex, d in zip(polygon, distances, strict=True):
        if d >= -INSIDE_EPSILON:
            if dp < -INSIDE_EPSILON:
                out.append(_intersection(vertex, previous, d, dp))
            out.append(vertex)
        elif dp >= -INSIDE_EPSILON:
            out.append(_intersection(vertex, previous, d, dp))
        previous, dp = vertex, d
    return out


def _intersection(v0: np.ndarray, v1: np.ndarray, d0: float, d1: float) -> np.ndarray:
    """The point of edge v0-v1 on the plane (distances d0, d1), every attribute mixed."""
    factor = d1 / (d1 - d0)
    return v0 * factor + v1 * (1 - factor)
