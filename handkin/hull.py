"""Convex polygons in the joint-angle plane: the joint-angle limits of BMC (Spurr et al., ECCV 2020).

The supplementary material (§1) of the paper bounds each joint's (flexion, abduction) angle pair,
in radians, by a convex polygon fitted to the angles seen in the data:

1. the convex hull of the data points,
2. Ramer–Douglas–Peucker simplification of the hull (here with a tiny tolerance, so only nearly
   collinear vertices go),
3. greedy vertex removal down to ``N`` vertices: each step drops the vertex whose removal keeps the
   most data points inside (ties: the one that loses the least area).

:func:`fit_polygon` does exactly this with ``method="bmc"``. Its default, ``method="cover"``, skips RDP and
stops cutting once the points cut off would exceed a small share (:data:`MAX_OUTSIDE`); it then takes edges
off by extending their neighbours, which loses no point. Real angle data crowd on curved boundaries (STB's
clamped joints: the paper's procedure leaves up to 30 % of a joint's points just outside, the default 0.1 %).

A point is inside a counter-clockwise convex polygon when the 2-D cross product of every edge with
the vector from the edge's start to the point is non-negative (supplementary Eq. 4).

Conventions: a polygon is an ``(N, 2)`` array of (flexion, abduction) vertices in radians, in
counter-clockwise order and convex. Collinear consecutive vertices are allowed, and so are repeated
consecutive vertices (the padding :func:`pad_polygon` adds to reach a fixed ``N``).

:func:`contains` and :func:`distance` run on numpy arrays and torch tensors alike (one code path,
any leading batch axes; :func:`distance` is differentiable). Everything else is numpy only.
"""

from __future__ import annotations

import heapq
import math
import sys
from typing import Any, Literal

import numpy as np

from .backend import Array, as_float_array, is_torch, length_from_squared, namespace, to_torch
from .errors import HandkinError, LimitsError, NonFiniteError, ShapeError
from .vec import batched, constant

#: Default Ramer–Douglas–Peucker tolerance of :func:`fit_polygon`, as a fraction of the hull's diameter.
RDP_FRACTION = 1e-3

#: Default tolerance of :func:`contains`: how far (radians, perpendicular to an edge) a point may lie outside.
CONTAINS_TOL = 1e-9

# Inputs larger than this are thinned (exactly) before qhull.
_FAST_PATH_POINTS = 50_000
#: Hands per chunk when :func:`distance`, :func:`project` and :func:`bmc_distance` run on large numpy batches
#: (through :func:`handkin.vec.batched`): their (J, N, M) per-edge temporaries dominate the time otherwise.
POLYGON_CHUNK = 2048
# Relative tolerance of the orientation tests (times the squared diameter).
_REL_TOL = 1e-12


# ---------------------------------------------------------------------------------------------- small helpers


def _cross(ax: Any, ay: Any, bx: Any, by: Any) -> Any:
    """2-D cross product ``a × b`` of component arrays."""
    return ax * by - ay * bx


def _as_points(points: Any, name: str = "points") -> np.ndarray:
    """``points`` as a float64 ``(M, 2)`` numpy array with M >= 1 and finite values, or a handkin error."""
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ShapeError(f"{name} must be a numeric (M, 2) array: {exc}") from exc
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise ShapeError(f"{name} must have shape (M, 2) with M >= 1 (flexion, abduction pairs); got {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr).all(axis=1)))
        raise NonFiniteError(f"{name} holds NaN or infinite values ({bad} of {arr.shape[0]} points); drop them first.")
    return arr


def _diameter(vertices: np.ndarray) -> float:
    """About the diameter of the convex polygon ``vertices`` (K, 2): the largest width over 90 directions (every 2°),
    at most 0.02 % short. Of a huge polygon only every ⌈K / 4096⌉-th vertex is used."""
    angles = np.arange(90) * (np.pi / 90)
    proj = vertices[:: -(-len(vertices) // 4096)] @ np.stack([np.cos(angles), np.sin(angles)])
    return float(np.max(np.ptp(proj, axis=0)))


def polygon_area(polygon: np.ndarray) -> float:
    """Signed area (rad²) of a polygon ``(N, 2)`` by the shoelace formula: positive when counter-clockwise."""
    p = np.asarray(polygon, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ShapeError(f"polygon must have shape (N, 2); got {p.shape}.")
    if len(p) < 3:
        return 0.0
    q = np.roll(p, -1, axis=0)
    return 0.5 * float(np.sum(p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]))


# ---------------------------------------------------------------------------------------------- convex hull


def _degenerate_extremes(points: np.ndarray) -> np.ndarray:
    """The two lexicographic extremes of (nearly) collinear points: the segment's ends, or one point."""
    order = np.lexsort((points[:, 1], points[:, 0]))
    first, last = points[order[0]], points[order[-1]]
    if np.array_equal(first, last):
        return first[None].copy()
    return np.stack([first, last])


def _akl_toussaint(points: np.ndarray) -> np.ndarray:
    """Drop the points strictly inside the hull of the extremes in 8 directions (they cannot be hull vertices)."""
    x, y = points[:, 0], points[:, 1]
    idx = [arg(key) for key in (x, y, x + y, x - y) for arg in (np.argmin, np.argmax)]
    corners = convex_hull(points[idx])
    if len(corners) < 3:
        return points
    scale = float(np.max(np.ptp(corners, axis=0)))
    return points[~_strictly_inside(points, corners, 1e-9 * scale)]


def _strictly_inside(points: np.ndarray, polygon: np.ndarray, margin: float) -> np.ndarray:
    """Mask of ``points`` (M, 2) more than ``margin`` (radians) inside every edge of the CCW convex ``polygon``."""
    x, y = np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1])
    nxt = np.roll(polygon, -1, axis=0)
    inside = np.ones(len(points), dtype=bool)
    for (vx, vy), (wx, wy) in zip(polygon, nxt, strict=True):
        ex, ey = wx - vx, wy - vy
        # cross(e, p - v) > margin·|e|, as ex·y - ey·x > ex·vy - ey·vx + margin·|e|
        inside &= ex * y - ey * x > ex * vy - ey * vx + margin * math.hypot(ex, ey)
    return inside


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise convex-hull vertices ``(K, 2)`` of ``points`` ``(M, 2)`` (radians in, radians out).

    Degenerate input does not raise: all points equal → that one point ``(1, 2)``; all points
    (nearly) collinear → the segment's two end points ``(2, 2)``. Raises :class:`ShapeError` for a
    wrong shape or no points and :class:`NonFiniteError` for NaN/inf.
    """
    from scipy.spatial import ConvexHull, QhullError  # here: scipy.spatial takes a second to import

    pts = _as_points(points)
    work = _akl_toussaint(pts) if len(pts) > _FAST_PATH_POINTS else pts
    try:
        hull = ConvexHull(work)
    except QhullError:  # fewer than 3 distinct points, or all collinear
        return _degenerate_extremes(work)
    verts = work[hull.vertices]
    if polygon_area(verts) < 0:  # qhull gives counter-clockwise order in 2-D; make sure of it
        verts = verts[::-1]
    return np.ascontiguousarray(verts)


# ---------------------------------------------------------------------------------------------- RDP


def _segment_distances(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances of ``points`` (M, 2) to the segment a–b (a point if a == b)."""
    v = b - a
    w = points - a
    vv = float(v @ v)
    t = np.clip((w @ v) / vv, 0.0, 1.0) if vv > 0 else np.zeros(len(points))
    return np.hypot(w[:, 0] - t * v[0], w[:, 1] - t * v[1])


def _rdp_chain(chain: np.ndarray, epsilon: float) -> np.ndarray:
    """Keep-mask of the open polyline ``chain`` (L, 2) under Ramer–Douglas–Peucker (iterative, ends kept)."""
    keep = np.zeros(len(chain), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(chain) - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        dist = _segment_distances(chain[i + 1 : j], chain[i], chain[j])
        k = int(np.argmax(dist))
        if dist[k] > epsilon:
            k += i + 1
            keep[k] = True
            stack.append((i, k))
            stack.append((k, j))
    return keep


def rdp(polygon: np.ndarray, epsilon: float) -> np.ndarray:
    """Ramer–Douglas–Peucker simplification of the closed polygon ``(K, 2)`` with tolerance ``epsilon`` (radians).

    The ring is split at two far-apart corners (the vertex farthest from vertex 0, and the vertex
    farthest from that one) and each chain is simplified; the result is a subset of the input
    vertices in the same (counter-clockwise) order. A polygon of nonzero area is never reduced to a
    segment: if only the two split vertices survive, the vertex farthest from them is kept too.
    """
    poly = np.asarray(polygon, dtype=np.float64)
    if poly.ndim != 2 or poly.shape[1] != 2:
        raise ShapeError(f"polygon must have shape (K, 2); got {poly.shape}.")
    if not np.all(np.isfinite(poly)):
        raise NonFiniteError("polygon holds NaN or infinite values.")
    if not (epsilon >= 0):
        raise HandkinError(f"epsilon must be a number >= 0 (radians); got {epsilon}.")
    n = len(poly)
    if n < 3:
        return poly.copy()
    # Split the ring at two far-apart corners: a, the vertex farthest from vertex 0, and b, the one farthest from a.
    # (The farthest vertex from any point is a true corner, never a point inside an edge.)
    far = np.hypot(*(poly - poly[0]).T)
    a = int(np.argmax(far))
    if far[a] == 0:
        return poly[:1].copy()
    b = int(np.argmax(np.hypot(*(poly - poly[a]).T)))
    i, j = min(a, b), max(a, b)
    keep = np.zeros(n, dtype=bool)
    keep[i : j + 1] = _rdp_chain(poly[i : j + 1], epsilon)
    wrap = np.r_[j:n, 0 : i + 1]  # the other chain, j → … → n - 1 → 0 → … → i
    keep[wrap] |= _rdp_chain(poly[wrap], epsilon)
    if np.count_nonzero(keep) < 3:
        dist = _segment_distances(poly, poly[i], poly[j])
        k = int(np.argmax(dist))
        if dist[k] > 0:
            keep[k] = True
    return poly[keep]


# ---------------------------------------------------------------------------------------------- padding


def pad_polygon(polygon: np.ndarray, n_points: int) -> np.ndarray:
    """The polygon ``(K, 2)`` with midpoints inserted on its longest edges until it has exactly ``n_points``.

    The region is unchanged (new points lie on edges). A 1-point polygon is repeated, a 2-point one
    (a segment) gets points on the segment. Raises :class:`ShapeError` if ``K > n_points`` or ``K == 0``.
    Linear in ``n_points`` (vectorised; the result of bisecting the longest piece, first one on ties, until
    there are ``n_points`` vertices).
    """
    poly = np.asarray(polygon, dtype=np.float64)
    if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) == 0:
        raise ShapeError(f"polygon must have shape (K, 2) with K >= 1; got {poly.shape}.")
    k, extra = len(poly), int(n_points) - len(poly)
    if extra < 0:
        raise ShapeError(f"polygon has {len(poly)} vertices, more than n_points={n_points}; cannot pad it.")
    if extra == 0:
        return poly.copy()
    step = np.roll(poly, -1, axis=0) - poly
    splits = _bisections(np.hypot(step[:, 0], step[:, 1]), extra)
    pieces = splits + 1  # per edge
    level = np.frexp(pieces)[1] - 1  # floor(log2(pieces)): levels bisected completely
    halved = pieces - 2**level  # pieces of that level bisected once more (the first ones along the edge)
    edge = np.repeat(np.arange(k), pieces)
    q = np.arange(n_points) - np.repeat(np.cumsum(pieces) - pieces, pieces)  # vertex index along its edge
    lv, hv = level[edge], halved[edge]
    t = np.where(q < 2 * hv, q / 2.0 ** (lv + 1), (q - hv) / 2.0**lv)  # where the vertex sits on its edge, [0, 1)
    return poly[edge] + t[:, None] * step[edge]


def _bisections(lengths: np.ndarray, extra: int) -> np.ndarray:
    """How often each edge ``(K,)`` is bisected when the longest piece (the first one on ties) is bisected
    ``extra`` times: an edge of length L bisected level by level has 2^l pieces of length L / 2^l at level l, so
    the bisections are the ``extra`` longest (level, edge) pieces, ties in polygon order."""
    k = len(lengths)
    levels = np.arange(extra.bit_length())  # 2^l <= extra: enough pieces on any one edge
    piece = (lengths[:, None] / 2.0**levels).ravel()  # (K·L,) edge-major
    edge = np.repeat(np.arange(k), len(levels))
    level = np.tile(levels, k)
    order = np.lexsort((level, edge, -piece))
    count = 2 ** level[order]
    before = np.cumsum(count) - count
    taken = np.clip(extra - before, 0, count)
    return np.bincount(edge[order], weights=taken, minlength=k).astype(np.int64)


def box_polygon(fmin: float, fmax: float, amin: float, amax: float, n_points: int = 10) -> np.ndarray:
    """The min/max box of flexion ``[fmin, fmax]`` × abduction ``[amin, amax]`` (radians) as a counter-clockwise
    polygon ``(n_points, 2)`` (supplementary Fig. 1), padded with :func:`pad_polygon`."""
    values = np.array([fmin, fmax, amin, amax], dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise LimitsError(f"box limits must be finite; got flexion [{fmin}, {fmax}], abduction [{amin}, {amax}].")
    if fmin > fmax or amin > amax:
        raise LimitsError(f"box limits need min <= max; got flexion [{fmin}, {fmax}], abduction [{amin}, {amax}].")
    if n_points < 4:
        raise ShapeError(f"a box needs n_points >= 4; got {n_points}.")
    box = np.array([[fmin, amin], [fmax, amin], [fmax, amax], [fmin, amax]], dtype=np.float64)
    return pad_polygon(box, n_points)


# ---------------------------------------------------------------------------------------------- validation


def validate_polygon(polygon: Any) -> None:
    """Raise :class:`LimitsError` unless ``polygon`` is an ``(N, 2)`` array, N >= 3, finite, counter-clockwise,
    convex and of nonzero area. Collinear and repeated consecutive vertices are allowed."""
    try:
        p = np.asarray(polygon, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise LimitsError(f"polygon must be a numeric (N, 2) array: {exc}") from exc
    if p.ndim != 2 or p.shape[1] != 2:
        raise LimitsError(f"polygon must have shape (N, 2) (flexion, abduction vertices); got {p.shape}.")
    if len(p) < 3:
        raise LimitsError(f"polygon needs at least 3 vertices; got {len(p)}.")
    if not np.all(np.isfinite(p)):
        raise LimitsError("polygon holds NaN or infinite values.")
    scale = float(np.max(np.ptp(p, axis=0)))
    area = polygon_area(p)
    area_tol = _REL_TOL * scale * scale
    if area < -area_tol:
        raise LimitsError(
            f"polygon is clockwise (signed area {area:.3g} rad²); give its vertices counter-clockwise, e.g. polygon[::-1]."
        )
    if area <= area_tol:
        raise LimitsError(f"polygon has zero area (all {len(p)} vertices collinear or equal); it bounds no region.")
    edges = np.roll(p, -1, axis=0) - p
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    real = np.flatnonzero(lengths > _REL_TOL * scale)  # skip repeated (padding) vertices
    e_in = edges[real]
    e_out = np.roll(e_in, -1, axis=0)
    cross = _cross(e_in[:, 0], e_in[:, 1], e_out[:, 0], e_out[:, 1])
    dot = np.sum(e_in * e_out, axis=1)
    norms = lengths[real] * np.roll(lengths[real], -1)
    vertex = (real + 1) % len(p)  # the vertex where e_in ends
    right = cross < -1e-9 * norms
    if np.any(right):
        i = int(vertex[np.argmax(right)])
        raise LimitsError(f"polygon is not convex: it turns clockwise (right) at vertex {i} {p[i].tolist()}.")
    back = (np.abs(cross) <= 1e-9 * norms) & (dot < 0)
    if np.any(back):
        i = int(vertex[np.argmax(back)])
        raise LimitsError(f"polygon is not convex: it doubles back on itself at vertex {i} {p[i].tolist()}.")
    turning = float(np.sum(np.arctan2(cross, dot)))
    if abs(turning - 2 * np.pi) > 1e-6:
        raise LimitsError(
            f"polygon is not convex: it winds {turning / (2 * np.pi):.3g} times round its interior instead of once."
        )


# ---------------------------------------------------------------------------------------------- greedy removal

#: Default share of the data points :func:`fit_polygon` (``method="cover"``) may leave outside the polygon.
MAX_OUTSIDE = 5e-4

# Hulls with more vertices than this are simplified by RDP before the ("cover") greedy step, which costs some
# tens of microseconds per vertex (real joint-angle hulls have up to ~600 vertices; 20,000 points on a circle, 20,000).
_LARGE_HULL = 1000

_CUT, _GROW = 0, 1


class _Greedy:
    """Greedy simplification of a convex CCW polygon ``verts`` (K, 2) around data ``points`` (M, 2).

    Two moves each take one vertex off:

    * a **cut** removes vertex v (neighbours a, b): it loses the live points strictly right of the chord a→b
      inside the closed triangle (a, v, b), and the triangle's area;
    * a **grow** move (``grow=True``) removes the edge a→b (neighbours p → a → b → q) by extending p→a and q→b
      until they meet at a new vertex w: it loses no point and adds the triangle (a, w, b). Only possible where
      the extensions meet ahead of both edges.

    Each step takes, in this order of preference: the cut losing the fewest points (ties: the least area, then the
    lowest index) while the points lost so far stay within ``budget``; else the grow move adding the least area;
    else the cut losing the fewest points. With ``grow=False`` and an unlimited budget this is the paper's greedy
    step. The points are sorted by their angle about the vertex mean c; when c is strictly left of a chord a→b, the
    points that chord can lose lie in the angular wedge from a to b, a contiguous slice (else all are tested).
    """

    def __init__(self, verts: np.ndarray, points: np.ndarray, tol: float, budget: float = math.inf, grow: bool = False):
        k = len(verts)
        cap = 2 * k if grow else k  # every grow move adds one vertex
        self.v = [(float(x), float(y)) for x, y in verts]  # Python floats: the per-move arithmetic is scalar
        self.tol = tol
        self.budget = budget
        self.grow = grow
        c = verts.mean(axis=0)
        self.c = (float(c[0]), float(c[1]))
        ang = np.arctan2(points[:, 1] - c[1], points[:, 0] - c[0])
        order = np.argsort(ang, kind="stable")
        self.ang = ang[order]
        self.x = px = np.ascontiguousarray(points[order, 0])
        self.y = py = np.ascontiguousarray(points[order, 1])
        self.alive = _inside_by_sector(px, py, self.ang, verts, c, tol)  # live points: inside (or on) the polygon
        self.prev = np.zeros(cap, dtype=np.int64)
        self.next = np.zeros(cap, dtype=np.int64)
        self.prev[:k], self.next[:k] = np.roll(np.arange(k), 1), np.roll(np.arange(k), -1)
        self.active = np.zeros(cap, dtype=bool)
        self.active[:k] = True
        self.count = k
        self.lost_so_far = len(px) - int(np.count_nonzero(self.alive))  # e.g. points RDP left outside
        self.stamp = np.zeros((2, cap), dtype=np.int64)
        self.heap: list[tuple] = []
        for i in range(k):
            self._update(_CUT, i)
            if grow:
                self._update(_GROW, i)

    def _wedge(self, a: int, b: int) -> list[slice]:
        """Slices of the sorted points that can lie right of the chord a→b inside the polygon."""
        (ax, ay), (bx, by), (cx, cy) = self.v[a], self.v[b], self.c
        if not (bx - ax) * (cy - ay) - (by - ay) * (cx - ax) > self.tol:  # c not strictly left: test every point
            return [slice(0, len(self.x))]
        lo = int(self.ang.searchsorted(math.atan2(ay - cy, ax - cx) - 1e-9, side="left"))
        hi = int(self.ang.searchsorted(math.atan2(by - cy, bx - cx) + 1e-9, side="right"))
        if lo <= hi:
            return [slice(lo, hi)]
        return [slice(lo, len(self.x)), slice(0, hi)]

    def lost(self, i: int) -> list[tuple[slice, np.ndarray]]:
        """The live points cutting vertex i would lose, as (slice, mask within the slice) pairs."""
        a, b = int(self.prev[i]), int(self.next[i])
        va, vv, vb = self.v[a], self.v[i], self.v[b]
        out = []
        for s in self._wedge(a, b):
            px, py = self.x[s], self.y[s]
            chord = _cross(vb[0] - va[0], vb[1] - va[1], px - va[0], py - va[1]) < -self.tol
            side1 = _cross(vv[0] - va[0], vv[1] - va[1], px - va[0], py - va[1]) >= -self.tol
            side2 = _cross(vb[0] - vv[0], vb[1] - vv[1], px - vv[0], py - vv[1]) >= -self.tol
            out.append((s, chord & side1 & side2 & self.alive[s]))
        return out

    def _meet(self, a: int) -> tuple[float, float] | None:
        """Where p→a and q→b extended meet, for the edge a→b (None when they do not meet ahead of both)."""
        b = int(self.next[a])
        p, q = int(self.prev[a]), int(self.next[b])
        if p == b or q == a or self.count <= 3:
            return None
        (ax, ay), (bx, by), (px, py), (qx, qy) = self.v[a], self.v[b], self.v[p], self.v[q]
        d1x, d1y, d2x, d2y, abx, aby = ax - px, ay - py, bx - qx, by - qy, bx - ax, by - ay
        det = d1x * d2y - d1y * d2x
        if not abs(det) > 1e-12 * math.hypot(d1x, d1y) * math.hypot(d2x, d2y):
            return None
        t = (abx * d2y - aby * d2x) / det  # a + t·d1 = b + s·d2
        s = (abx * d1y - aby * d1x) / det
        if t < 0 or s < 0:
            return None
        return ax + t * d1x, ay + t * d1y

    def _update(self, kind: int, i: int) -> None:
        self.stamp[kind, i] += 1
        stamp = int(self.stamp[kind, i])
        if kind == _CUT:
            (ax, ay), (vx, vy), (bx, by) = self.v[self.prev[i]], self.v[i], self.v[self.next[i]]
            count = sum(int(np.count_nonzero(m)) for _, m in self.lost(i))
            area = 0.5 * ((vx - ax) * (by - ay) - (vy - ay) * (bx - ax))
            rank = 0 if self.lost_so_far + count <= self.budget else 2
            heapq.heappush(self.heap, (rank, count, area, i, kind, stamp))
            return
        w = self._meet(i)
        if w is not None:
            (ax, ay), (bx, by) = self.v[i], self.v[self.next[i]]
            area = 0.5 * ((bx - ax) * (w[1] - ay) - (by - ay) * (w[0] - ax))
            heapq.heappush(self.heap, (1, 0, -area, i, kind, stamp))

    def step(self) -> None:
        """Take the best move (see the class docs) and update the moves it changed."""
        while True:
            entry = heapq.heappop(self.heap)
            rank, count, _, i, kind, stamp = entry
            if not (self.active[i] and stamp == self.stamp[kind, i]):
                continue  # stale: made by an update since
            if rank == 0 and self.lost_so_far + count > self.budget:  # the budget shrank since it was pushed
                heapq.heappush(self.heap, (2, *entry[1:]))
                continue
            break
        if kind == _CUT:
            for s, m in self.lost(i):
                self.alive[s] &= ~m
                self.lost_so_far += int(np.count_nonzero(m))
            a, b = int(self.prev[i]), int(self.next[i])
            self.next[a], self.prev[b] = b, a
            self.active[i] = False
            self.count -= 1
            for j in (a, b):
                self._update(_CUT, j)
            if self.grow:
                for j in (int(self.prev[a]), a, b):
                    self._update(_GROW, j)
            return
        a = i
        b = int(self.next[a])
        p, q = int(self.prev[a]), int(self.next[b])
        w = len(self.v)
        self.v.append(self._meet(a))
        self.active[a] = self.active[b] = False
        self.active[w] = True
        self.next[p], self.prev[w], self.next[w], self.prev[q] = w, p, q, w
        self.count -= 1
        for j in (p, w, q):
            self._update(_CUT, j)
        for j in (int(self.prev[p]), p, w, q):
            self._update(_GROW, j)

    def polygon(self) -> np.ndarray:
        """The current vertices in CCW order, starting at the lowest-numbered surviving original vertex (or the
        first vertex a grow move made)."""
        start = int(np.flatnonzero(self.active)[0])
        out, i = [start], int(self.next[start])
        while i != start:
            out.append(i)
            i = int(self.next[i])
        return np.array([self.v[j] for j in out], dtype=np.float64)


def _inside_by_sector(x: np.ndarray, y: np.ndarray, ang: np.ndarray, verts: np.ndarray, c: np.ndarray, tol: float):
    """Mask of the points (x, y) (M,) inside (within ``tol``) the CCW convex polygon ``verts`` (K, 2) around c.

    Each point is tested against the edge of its sector as seen from c (its angle ``ang`` about c locates it among
    the vertices' angles), O(M log K); all K edges when the vertices' angles do not increase round c.
    """
    k = len(verts)
    vang = np.arctan2(verts[:, 1] - c[1], verts[:, 0] - c[0])
    r = int(np.argmin(vang))
    rolled = np.roll(vang, -r)
    e = np.roll(verts, -1, axis=0) - verts
    if not np.all(np.diff(rolled) > 0):
        inside = np.ones(len(x), dtype=bool)
        for (ex, ey), (vx, vy) in zip(e, verts, strict=True):
            inside &= _cross(ex, ey, x - vx, y - vy) >= -tol
        return inside
    sector = (np.searchsorted(rolled, ang, side="right") - 1 + r) % k
    return _cross(e[sector, 0], e[sector, 1], x - verts[sector, 0], y - verts[sector, 1]) >= -tol


def _greedy(verts: np.ndarray, points: np.ndarray, n_points: int, tol: float, **kwargs: Any) -> np.ndarray:
    """The ``n_points`` vertices (CCW) greedy simplification of ``verts`` (K, 2) around ``points`` (M, 2) leaves."""
    g = _Greedy(verts, points, tol, **kwargs)
    while g.count > n_points:
        g.step()
    return g.polygon()


def fit_polygon(
    points: np.ndarray,
    n_points: int = 10,
    rdp_epsilon: float | None = None,
    *,
    method: Literal["cover", "bmc"] = "cover",
    max_outside: float = MAX_OUTSIDE,
) -> np.ndarray:
    """A joint-limit polygon around angle samples ``points`` (M, 2) (radians): exactly ``n_points`` CCW convex vertices.

    Both methods start from the convex hull and take vertices off greedily until ``n_points`` remain:

    * ``"bmc"`` — the paper's procedure (supplementary §1): Ramer–Douglas–Peucker (``rdp_epsilon``, default
      :data:`RDP_FRACTION` of the hull's diameter), then greedy removal of the vertex whose removal keeps the most
      points inside (ties: the least area lost). The polygon only shrinks; every vertex is a data point. On data
      crowded on a curved boundary (e.g. STB's clamped angles) it leaves many points just outside: each chord
      cuts off the points on its arc, and RDP drops hull vertices that carry clusters of points.
    * ``"cover"`` (default) — the same greedy cuts (no RDP unless ``rdp_epsilon`` is given) while the points cut
      off stay within ``max_outside`` (a share of M, default :data:`MAX_OUTSIDE`); then edges are taken off by
      extending their two neighbouring edges until they meet (the least area added first), which loses no point.
      The polygon holds at least ``1 - max_outside`` of the points and reaches at most a little beyond the hull
      (new vertices are not data points); cuts resume only where no edge can be extended (e.g. a triangle).
      ``max_outside=1`` without RDP is the paper's greedy step. A hull of more than 1000 vertices (points on a
      smooth curve) is first simplified by RDP, whose losses count against ``max_outside``.

    If the hull has at most ``n_points`` vertices the result is the hull, padded by :func:`pad_polygon` (the same
    region). Degenerate data (one point, or collinear points) gives a padded point or segment.
    """
    if int(n_points) != n_points or n_points < 3:
        raise ShapeError(f"n_points must be an integer >= 3; got {n_points}.")
    if method not in ("cover", "bmc"):
        raise HandkinError(f"unknown polygon fitting method {method!r}; use 'cover' or 'bmc'.")
    if not 0 <= max_outside <= 1:
        raise HandkinError(f"max_outside must be a share of the points in [0, 1]; got {max_outside}.")
    n_points = int(n_points)
    pts = _as_points(points)
    hull = convex_hull(pts)
    if len(hull) <= n_points:
        return pad_polygon(hull, n_points)
    diameter = _diameter(hull)
    verts = hull
    if method == "bmc" or rdp_epsilon is not None or len(hull) > _LARGE_HULL:
        eps = RDP_FRACTION * diameter if rdp_epsilon is None else float(rdp_epsilon)
        verts = rdp(hull, eps)
        if len(verts) <= n_points:
            return pad_polygon(verts, n_points)
    tol = _REL_TOL * diameter * diameter
    if method == "bmc":
        return np.ascontiguousarray(_greedy(verts, pts, n_points, tol))
    budget = math.floor(max_outside * len(pts) + 1e-9)
    return np.ascontiguousarray(_greedy(verts, pts, n_points, tol, budget=budget, grow=True))


# ---------------------------------------------------------------------------------------------- numpy + torch


def _prepare(points: Any, polygons: Any) -> tuple[Any, Any, Any, bool]:
    """Points and polygons on one backend and dtype, with a joint axis; shape checks."""
    points = as_float_array(points)
    if is_torch(points) and not is_torch(polygons):
        polygons = to_torch(np.asarray(polygons), device=points.device, dtype=points.dtype)
    else:
        polygons = as_float_array(polygons)
    xp = namespace(points, polygons)
    if polygons.dtype != points.dtype:
        polygons = xp.astype(polygons, points.dtype)
    single = polygons.ndim == 2
    if single:
        polygons = polygons[None, ...]
        if points.ndim < 1 or points.shape[-1] != 2:
            raise ShapeError(f"points must have shape (..., 2) for one polygon (N, 2); got {tuple(points.shape)}.")
        points = points[..., None, :]
    if polygons.ndim != 3 or polygons.shape[-1] != 2 or polygons.shape[1] < 1:
        raise ShapeError(f"polygons must have shape (J, N, 2) or (N, 2); got {tuple(polygons.shape)}.")
    if points.ndim < 2 or points.shape[-1] != 2 or points.shape[-2] != polygons.shape[0]:
        raise ShapeError(
            f"points must have shape (..., J, 2) with J={polygons.shape[0]} as in polygons {tuple(polygons.shape)}; "
            f"got {tuple(points.shape)}."
        )
    return xp, points, polygons, single


# The per-edge arrays are laid out (J, N, M) — joint, polygon edge, hand — with the M hands last and contiguous,
# so that the reductions over the short edge axis are vectorised across hands (torch.compile emits SIMD code for
# this layout on the CPU). Points enter as (..., J, 2) and results leave as (..., J) or (..., J, 2).


def _batch_last(xp: Any, points: Any) -> Any:
    """(..., J, 2) → (J, 2, M) with M the number of hands."""
    return xp.permute_dims(xp.reshape(points, (-1, *points.shape[-2:])), (1, 2, 0))


def _batch_first(xp: Any, values: Any, points: Any, single: bool) -> Any:
    """(J, M) → (..., J) or (J, 2, M) → (..., J, 2), the leading axes those of ``points``; the joint axis
    :func:`_prepare` added for a single polygon is dropped."""
    order = (1, 0) if values.ndim == 2 else (2, 0, 1)
    out = xp.reshape(xp.permute_dims(values, order), (*points.shape[:-2], *values.shape[:-1]))
    if not single:
        return out
    return out[..., 0] if values.ndim == 2 else out[..., 0, :]


def _parts(xp: Any, pts: Any, polygons: Any):
    """Point minus edge start (wx, wy) (J, N, M) and edge vectors (ex, ey) (J, N, 1) for points ``pts`` (J, 2, M)."""
    vx, vy = polygons[..., 0:1], polygons[..., 1:2]  # (J, N, 1)
    ex = xp.concat([vx[:, 1:], vx[:, :1]], axis=1) - vx
    ey = xp.concat([vy[:, 1:], vy[:, :1]], axis=1) - vy
    return pts[:, 0:1] - vx, pts[:, 1:2] - vy, ex, ey


def _inside(xp: Any, pts: Any, polygons: Any, wx: Any, wy: Any, ex: Any, ey: Any, tol: float) -> Any:
    """(J, M) mask: on the left of (or on) every edge, within ``tol`` radians, and inside the bounding box."""
    cross = _cross(ex, ey, wx, wy)
    if tol > 0:
        ok = xp.all(cross >= -tol * xp.sqrt(ex * ex + ey * ey), axis=1)
    else:
        ok = xp.all(cross >= 0, axis=1)
    # The box test makes degenerate (point / segment) polygons, whose edges span no half-planes, exact.
    lo, hi = xp.min(polygons, axis=1)[..., None], xp.max(polygons, axis=1)[..., None]  # (J, 2, 1)
    return ok & xp.all((pts >= lo - tol) & (pts <= hi + tol), axis=1)


def _large_numpy(points: Any) -> bool:
    return not is_torch(points) and points.ndim > 2 and math.prod(points.shape[:-2]) > POLYGON_CHUNK


def _in_chunks(fn: Any, points: np.ndarray, polygons: np.ndarray, single: bool) -> np.ndarray:
    """``fn`` over a large numpy batch in chunks of :data:`POLYGON_CHUNK` hands (:func:`handkin.vec.batched`)."""
    flat = points.reshape(-1, *points.shape[-2:])
    (out,) = batched(lambda chunk: (fn(chunk, polygons),), flat, chunk=POLYGON_CHUNK, batch_axis=0)
    out = out.reshape(*points.shape[:-2], *out.shape[1:])
    return np.take(out, 0, axis=points.ndim - 2) if single else out  # drop the joint axis _prepare added


def contains(points: Array, polygons: Array, tol: float = CONTAINS_TOL) -> Array:
    """True where a point is inside or on the boundary of its joint's polygon (supplementary Eq. 4).

    ``points`` (..., J, 2) and ``polygons`` (J, N, 2) (CCW convex, padding allowed; numpy polygons are
    converted to a torch ``points``' backend) → bool (..., J). ``tol`` (radians) is how far outside an edge a
    point may lie. A single polygon (N, 2) with points (..., 2) gives (...).
    """
    xp, points, polygons, single = _prepare(points, polygons)
    if _large_numpy(points):
        return _in_chunks(lambda p, q: contains(p, q, tol), points, polygons, single)
    pts = _batch_last(xp, points)
    wx, wy, ex, ey = _parts(xp, pts, polygons)
    return _batch_first(xp, _inside(xp, pts, polygons, wx, wy, ex, ey, tol), points, single)


#: numpy batches of more hands than this compute :func:`distance` and :func:`project` (and constrain the D_A)
#: only at the points outside their polygons (:func:`_outside_only`); smaller ones in one dense pass.
_OUTSIDE_FIRST = 64


def _outside_only(fn: Any, points: np.ndarray, polygons: np.ndarray, inside_value: np.ndarray) -> np.ndarray:
    """``fn(points, polygons)`` (numpy ``(M, J, 2)``, ``(J, N, 2)``; 0 or the point itself inside its polygon; dense:
    computed at every point) evaluated only at the points outside: :func:`contains` (tolerance 0, the inside test
    ``fn`` applies) first, then ``fn`` joint by joint on that joint's outside points. ``inside_value`` ``(M, J)``
    or ``(M, J, 2)`` holds ``fn``'s value for inside points and receives the others (it is returned). The same
    values as ``fn`` on every point: each (joint, edge, point) element is computed by the same operations.
    Batches of at most :data:`_OUTSIDE_FIRST` hands go through ``fn`` at once (cheaper)."""
    if len(points) <= _OUTSIDE_FIRST:
        return fn(points, polygons)
    outside = ~contains(points, polygons, tol=0.0)
    for j in range(polygons.shape[0]):
        rows = np.flatnonzero(outside[:, j])
        if rows.size:
            inside_value[rows, j] = fn(points[rows, j][:, None], polygons[j : j + 1])[:, 0]
    return inside_value


def _outside_first(points: Any) -> bool:
    return not is_torch(points) and points.ndim > 2 and math.prod(points.shape[:-2]) > _OUTSIDE_FIRST


def _edge_parameter(xp: Any, wx: Any, wy: Any, ex: Any, ey: Any) -> Any:
    """``t = clip(w·e / |e|², 0, 1)``: where on each edge the point nearest to the query lies (supplementary Eq. 5);
    0 on zero-length (padding) edges."""
    ee = ex * ex + ey * ey
    t = (wx * ex + wy * ey) / xp.where(ee > 0, ee, xp.ones_like(ee))
    return xp.minimum(xp.maximum(t, xp.zeros_like(t)), xp.ones_like(t))


def _offsets_from_edges(xp: Any, pts: Any, polygons: Any) -> tuple[Any, Any, Any]:
    """Offsets (dx, dy) (J, N, M) from each edge's nearest point to the point, and the inside mask (J, M)."""
    wx, wy, ex, ey = _parts(xp, pts, polygons)
    t = _edge_parameter(xp, wx, wy, ex, ey)
    return wx - t * ex, wy - t * ey, _inside(xp, pts, polygons, wx, wy, ex, ey, 0.0)


def _first_argmin(xp: Any, d: Any, smallest: Any = None) -> Any:
    """Index of the first minimum over the edge axis, (J, N, M) → (J, 1, M), as two min-reductions (which
    torch.compile vectorises on the CPU; its fused argmin runs scalar and is several times slower, and eager
    torch's argmin over a middle axis ~6× slower). ``smallest``: ``min(d, axis=1, keepdims=True)`` if known."""
    n = d.shape[1]
    index = constant(xp, tuple(float(k) for k in range(n)), d, axis=1)
    smallest = xp.min(d, axis=1, keepdims=True) if smallest is None else smallest
    first = xp.min(xp.where(d <= smallest, index, constant(xp, (float(n - 1),), index)), axis=1)
    return xp.astype(first, xp.int64)[:, None]


def _pick(xp: Any, a: Any, nearest: Any) -> Any:
    """Entries of ``a`` (J, N, 1) or (J, N, M) at the edges ``nearest`` (J, 1, M) → (J, 1, M)."""
    return xp.take_along_axis(xp.broadcast_to(a, (*a.shape[:2], nearest.shape[2])), nearest, axis=1)


def distance(points: Array, polygons: Array) -> Array:
    """Euclidean distance (radians) in the angle plane from each point to its joint's polygon; 0 inside or on it.

    ``points`` (..., J, 2), ``polygons`` (J, N, 2) → (..., J) in the points' dtype (a single polygon (N, 2) with
    points (..., 2) gives (...)). The minimum over edges of the distance to the segment; zero-length
    (padding) edges are safe. Differentiable in torch with finite gradients everywhere (zero inside). Large numpy
    batches compute it only at the points outside their polygons.
    """
    xp, points, polygons, single = _prepare(points, polygons)
    if _outside_first(points):
        flat = points.reshape(-1, *points.shape[-2:])
        out = _outside_only(_dense_distance, flat, polygons, np.zeros(flat.shape[:-1], dtype=flat.dtype))
        out = out.reshape(points.shape[:-1])
        return out[..., 0] if single else out
    return _dense_distance(points, polygons, single)


def _dense_distance(points: Any, polygons: Any, single: bool = False) -> Any:
    """:func:`distance` at every point (``points`` (..., J, 2) and ``polygons`` (J, N, 2) prepared)."""
    if _large_numpy(points):
        return _in_chunks(_dense_distance, points, polygons, single)
    xp = namespace(points, polygons)
    dx, dy, inside = _offsets_from_edges(xp, _batch_last(xp, points), polygons)
    dist = length_from_squared(xp.min(dx * dx + dy * dy, axis=1))
    return _batch_first(xp, xp.where(inside, xp.zeros_like(dist), dist), points, single)


def project(points: Array, polygons: Array) -> Array:
    """The nearest point of each joint's polygon (Euclidean, in the angle plane): points inside or on the
    polygon are returned unchanged. ``points`` (..., J, 2), ``polygons`` (J, N, 2) → (..., J, 2); numpy or torch.
    Large numpy batches compute it only at the points outside their polygons."""
    xp, points, polygons, single = _prepare(points, polygons)
    if _outside_first(points):
        flat = points.reshape(-1, *points.shape[-2:])
        out = _outside_only(_dense_project, flat, polygons, flat.copy())
        out = out.reshape(points.shape)
        return out[..., 0, :] if single else out
    return _dense_project(points, polygons, single)


def _dense_project(points: Any, polygons: Any, single: bool = False) -> Any:
    """:func:`project` at every point (``points`` (..., J, 2) and ``polygons`` (J, N, 2) prepared)."""
    if _large_numpy(points):
        return _in_chunks(_dense_project, points, polygons, single)
    xp = namespace(points, polygons)
    pts = _batch_last(xp, points)
    dx, dy, inside = _offsets_from_edges(xp, pts, polygons)
    nearest = _first_argmin(xp, dx * dx + dy * dy)  # (J, 1, M)
    nearest_point = xp.concat([_pick(xp, pts[:, 0:1] - dx, nearest), _pick(xp, pts[:, 1:2] - dy, nearest)], axis=1)
    return _batch_first(xp, xp.where(inside[:, None], pts, nearest_point), points, single)


def polygon_edges(polygons: Array) -> Array:
    """The edge table ``(J, 11, N)`` of padded polygons ``(J, N, 2)`` that :func:`bmc_distance` reads: per edge its
    start (x, y), vector (x, y), ``1 / |e|²`` (0 for the zero-length padding edges), inward normal
    ``(−e_y, e_x)``, and the polygon's bounding box (min x, min y, max x, max y, the same for every edge).
    Built once per limits (:func:`handkin.bounds.limit_arrays`); numpy or torch."""
    xp = namespace(polygons)
    start = xp.permute_dims(polygons, (0, 2, 1))  # (J, 2, N)
    edge = xp.concat([start[:, :, 1:], start[:, :, :1]], axis=2) - start
    ee = xp.sum(edge * edge, axis=1, keepdims=True)
    inv_ee = xp.where(ee > 0, 1 / xp.where(ee > 0, ee, 1.0), 0.0)
    normal = xp.stack([-edge[:, 1], edge[:, 0]], axis=1)
    n = polygons.shape[1]
    box = xp.concat([xp.min(start, axis=2, keepdims=True), xp.max(start, axis=2, keepdims=True)], axis=1)
    return xp.concat([start, edge, inv_ee, normal, xp.broadcast_to(box, (box.shape[0], 4, n))], axis=1)


def _bmc_value_and_gradient(xp: Any, pts: Any, edges: Any, with_gradient: bool = True) -> tuple[Any, Any]:
    """D_A (J, M) of points ``pts`` (J, 2, M) given the polygons' edge table ``edges`` (J, 11, N)
    (:func:`polygon_edges`), and its analytic gradient with respect to the points (J, 2, M), or None.

    Per edge, p = s + t e with t = clip((θ − s)·e / |e|², 0, 1) and D = Σ_k |cos θ_k − cos p_k| + |sin θ_k − sin p_k|;
    D_A is the smallest D, 0 inside. On that edge ∂D/∂θ_k = −σc_k sin θ_k + σs_k cos θ_k, ∂D/∂p_k =
    σc_k sin p_k − σs_k cos p_k (σ the signs of the cosine and sine differences), and θ moves p by e (e·∂D/∂p) / |e|²
    while 0 < t < 1 (zero on a vertex, zero inside).
    """
    start, edge, normal = edges[:, 0:2, :, None], edges[:, 2:4, :, None], edges[:, 5:7, :, None]  # (J, 2, N, 1)
    inv_ee = edges[:, 4:5, :, None]  # (J, 1, N, 1)
    theta = pts[:, :, None]  # (J, 2, 1, M)
    w = theta - start  # (J, 2, N, M)
    t = xp.clip(xp.sum(w * edge, axis=1, keepdims=True) * inv_ee, 0.0, 1.0)  # (J, 1, N, M)
    p = start + t * edge
    cos_t, sin_t, cos_p, sin_p = xp.cos(theta), xp.sin(theta), xp.cos(p), xp.sin(p)
    per_edge = xp.sum(xp.abs(cos_t - cos_p) + xp.abs(sin_t - sin_p), axis=1)  # (J, N, M)
    box = edges[:, 7:11, 0:1]  # (J, 4, 1)
    inside = xp.all(xp.sum(w * normal, axis=1) >= 0, axis=1) & xp.all(
        (pts >= box[:, 0:2]) & (pts <= box[:, 2:4]), axis=1
    )
    zero = constant(xp, (0.0,), per_edge)[0]
    smallest = xp.min(per_edge, axis=1, keepdims=True)
    value = xp.where(inside, zero, smallest[:, 0])
    if not with_gradient:
        return value, None
    m = pts.shape[-1]
    nearest = _first_argmin(xp, per_edge, smallest)[:, None]  # (J, 1, 1, M)
    table = xp.broadcast_to(edges[:, 0:5, :, None], (*edges.shape[:1], 5, edges.shape[2], m))
    near = xp.take_along_axis(table, xp.broadcast_to(nearest, (nearest.shape[0], 5, 1, m)), axis=2)
    t_near = xp.take_along_axis(t, nearest, axis=2)  # (J, 1, 1, M)
    e, inv = near[:, 2:4], near[:, 4:5]
    p_near = near[:, 0:2] + t_near * e
    cp, sp = xp.cos(p_near), xp.sin(p_near)
    sc, ss = xp.sign(cos_t - cp), xp.sign(sin_t - sp)
    grad_p = sc * sp - ss * cp
    slide = xp.where((t_near > 0) & (t_near < 1), xp.sum(e * grad_p, axis=1, keepdims=True) * inv, zero)
    grad = (ss * cos_t - sc * sin_t + slide * e)[:, :, 0]  # (J, 2, M)
    return value, xp.where(inside[:, None], zero, grad)


def _bmc_autograd() -> Any:
    """A ``torch.autograd.Function`` applying D_A with its analytic gradient (built once, on first use).

    A class defined while ``torch.compile`` traces would break the graph, so it is built at import when torch
    is already imported, and otherwise by ``BMCLoss(...)`` or the first eager call on a tensor needing a gradient.
    handkin itself never imports torch at import time (``handkin --help`` stays fast). Kept in a module global,
    not a functools cache: dynamo traces through caches, and would define the class while tracing."""
    global _BMC_DISTANCE
    if _BMC_DISTANCE is not None:
        return _BMC_DISTANCE
    import torch

    class BMCDistance(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, pts: Any, edges: Any) -> Any:
            value, grad = _bmc_value_and_gradient(namespace(pts), pts, edges)
            ctx.save_for_backward(grad)
            return value

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx: Any, grad_value: Any) -> tuple[Any, None]:
            (grad,) = ctx.saved_tensors
            return grad_value[:, None] * grad, None

    _BMC_DISTANCE = BMCDistance
    return BMCDistance


_BMC_DISTANCE: Any = None
if "torch" in sys.modules:  # a tensor can only exist once torch is imported
    _bmc_autograd()


def bmc_distance(points: Array, polygons: Array, edges: Array | None = None) -> Array:
    """The paper's angle-limit distance D_A (supplementary Eq. 3–7); 0 inside or on the polygon.

    Outside, the minimum over edges of ``Σ_k |cos θ_k − cos p_k| + |sin θ_k − sin p_k|`` with ``p`` the point of
    the edge nearest to θ (clamped projection, Eq. 5) and the sum over the two angles (flexion, abduction).
    ``points`` (..., J, 2), ``polygons`` (J, N, 2) → (..., J); numpy or torch, differentiable, no loops. ``edges``:
    the polygons' :func:`polygon_edges` if already built (the loss keeps them with its limits).

    In torch the gradient with respect to the points is the analytic one of the nearest edge (a custom autograd
    function: the backward pass is one multiplication; first derivatives only). Polygons that require a
    gradient take the plain autograd path instead.
    """
    xp, points, polygons, single = _prepare(points, polygons)
    if _large_numpy(points):
        return _in_chunks(lambda chunk, poly: bmc_distance(chunk, poly, edges), points, polygons, single)
    if edges is None or (is_torch(polygons) and polygons.requires_grad):
        edges = polygon_edges(polygons)
    elif edges.dtype != points.dtype:
        edges = xp.astype(edges, points.dtype)
    pts = _batch_last(xp, points)
    if is_torch(pts) and pts.requires_grad and not polygons.requires_grad:
        value = (_BMC_DISTANCE or _bmc_autograd()).apply(pts, edges)
    else:  # no gradient, or the polygons need one too: plain autograd through the value
        value = _bmc_value_and_gradient(xp, pts, edges, with_gradient=False)[0]
    return _batch_first(xp, value, points, single)


__all__ = [
    "bmc_distance",
    "polygon_edges",
    "project",
    "RDP_FRACTION",
    "MAX_OUTSIDE",
    "CONTAINS_TOL",
    "POLYGON_CHUNK",
    "convex_hull",
    "rdp",
    "fit_polygon",
    "pad_polygon",
    "validate_polygon",
    "contains",
    "distance",
    "polygon_area",
    "box_polygon",
    "clip_convex",
]


# ---------------------------------------------------------------------------------------------- clipping


def clip_convex(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """The intersection of two convex counter-clockwise polygons ``subject`` ``(N, 2)`` and ``clip`` ``(M, 2)``.

    Sutherland–Hodgman: ``subject`` is cut by each edge of ``clip`` in turn. Returns the vertices ``(K, 2)``
    (counter-clockwise, in the input's units; K may exceed N and M) or ``(0, 2)`` when the polygons do not
    overlap. Points on a ``clip`` edge count as inside, so touching polygons give a degenerate (zero-area)
    polygon; measure it with :func:`polygon_area`. numpy only.
    """
    out = np.asarray(subject, dtype=np.float64).reshape(-1, 2)
    clip = np.asarray(clip, dtype=np.float64).reshape(-1, 2)
    for i in range(len(clip)):
        if len(out) == 0:
            break
        a, b = clip[i], clip[(i + 1) % len(clip)]
        edge = b - a
        side = edge[0] * (out[:, 1] - a[1]) - edge[1] * (out[:, 0] - a[0])  # >= 0: inside (left of a CCW edge)
        new = []
        for k in range(len(out)):
            p, q = out[k], out[(k + 1) % len(out)]
            sp, sq = side[k], side[(k + 1) % len(out)]
            if sp >= 0:
                new.append(p)
            if (sp >= 0) != (sq >= 0):
                new.append(p + (q - p) * (sp / (sp - sq)))
        out = np.asarray(new).reshape(-1, 2)
    return out
