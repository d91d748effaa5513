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
inside every plane are kept as they are, and a triangle is cut only by the planes one of its
corners is outside of (the others cannot cut it). Compiled with numba: a citro2d tile map
crossing the screen's edges has a couple of hundred cut a frame (2.3 ms in Python).
"""

from __future__ import annotations

import numpy as np
from numba import njit

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
    tris = np.ascontiguousarray(tris, np.int64)
    wide = np.ascontiguousarray(vertices, np.float64)
    inside = _distances(wide, table) >= -INSIDE_EPSILON  # (n, planes)
    whole = inside[tris].all(axis=(1, 2)) if len(tris) else np.zeros(0, bool)
    if whole.all():
        return vertices, tris
    extra, out = _clip(wide, tris, table, inside, whole)
    if len(extra):
        vertices = np.concatenate([vertices, extra.astype(vertices.dtype)])
    return vertices, out


@njit(cache=True, nogil=True)
def _distance(v, row):
    """How far inside plane ``row`` (a, b, c, d, offset) the point ``v`` (its x, y, z, w) is."""
    return row[0] * v[0] + row[1] * v[1] + row[2] * v[2] + row[3] * v[3] + row[4]


@njit(cache=True, nogil=True)
def _distances(vertices, table):
    out = np.empty((vertices.shape[0], table.shape[0]))
    for i in range(vertices.shape[0]):
        for j in range(table.shape[0]):
            out[i, j] = _distance(vertices[i], table[j])
    return out


@njit(cache=True, nogil=True)
def _clip(vertices, tris, table, inside, whole):
    """The clipped triangles' polygons as new vertices (n, k), and every triangle to draw.
    A convex polygon cut by a plane gains at most one corner: a triangle ends with at most
    3 + planes, drawn as a fan."""
    n, k, planes_ = vertices.shape[0], vertices.shape[1], table.shape[0]
    most = 3 + planes_
    cut = 0
    for t in range(tris.shape[0]):
        cut += not whole[t]
    extra = np.empty((cut * most, k))
    out = np.empty((tris.shape[0] + cut * (most - 2), 3), np.int64)
    polygon, next_polygon, d = np.empty((most, k)), np.empty((most, k)), np.empty(most)
    added = drawn = 0
    for t in range(tris.shape[0]):
        if whole[t]:
            out[drawn] = tris[t]
            drawn += 1
            continue
        for c in range(3):
            polygon[c] = vertices[tris[t, c]]
        m = 3
        for j in range(planes_):
            # a plane all three corners are inside cannot cut what the others leave of the triangle
            if inside[tris[t, 0], j] and inside[tris[t, 1], j] and inside[tris[t, 2], j]:
                continue
            for i in range(m):
                d[i] = _distance(polygon[i], table[j])
            # Sutherland-Hodgman, walking each edge from the previous vertex
            m2, previous = 0, m - 1
            for i in range(m):
                if d[i] >= -INSIDE_EPSILON:
                    if d[previous] < -INSIDE_EPSILON:
                        _intersection(polygon[i], polygon[previous], d[i], d[previous], next_polygon[m2])
                        m2 += 1
                    next_polygon[m2] = polygon[i]
                    m2 += 1
                elif d[previous] >= -INSIDE_EPSILON:
                    _intersection(polygon[i], polygon[previous], d[i], d[previous], next_polygon[m2])
                    m2 += 1
                previous = i
            polygon, next_polygon, m = next_polygon, polygon, m2
            if m < 3:
                break
        if m < 3:
            continue
        # the polygon's vertices are new ones (even the original corners: they are copied)
        for i in range(m):
            extra[added + i] = polygon[i]
        for i in range(1, m - 1):
            out[drawn, 0], out[drawn, 1], out[drawn, 2] = n + added, n + added + i, n + added + i + 1
            drawn += 1
        added += m
    return extra[:added], out[:drawn]


@njit(cache=True, nogil=True)
def _intersection(v0, v1, d0, d1, into):
    """The point of edge v0-v1 on the plane (distances d0, d1), every attribute mixed."""
    factor = d1 / (d1 - d0)
    for c in range(v0.shape[0]):
        into[c] = v0[c] * factor + v1[c] * (1 - factor)
