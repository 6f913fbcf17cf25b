"""A small depth-buffered rasteriser of tapered capsules and triangles seen by pinhole cameras, numpy only.

It knows nothing about hands: primitives in a camera frame (mm) and intrinsics ``K`` in, per-pixel depth, part id
and surface normal out (:func:`rasterize`, :class:`Raster`). Vectorised over (primitive, pixel) pairs and images;
the depth test loops over primitive slots. Pixel centres are at integer coordinates: pixel ``[row, col]`` is at
``(u, v) = (col, row)`` (``CONVENTIONS.md``). :func:`rasterize_sparse` returns only the covered pixels (what a
renderer needs); :func:`pixel_pairs` and :func:`pixel_box` enumerate the pixels of boxes for any 2D shape.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from handkin import camera


class Raster(NamedTuple):
    """What :func:`rasterize` sees at every pixel."""

    depth: np.ndarray
    """``(B, H, W)`` float32 depth Z of the nearest surface, mm; ``inf`` where nothing is drawn."""
    part: np.ndarray
    """``(B, H, W)`` int16 part id of the nearest primitive; −1 where nothing is drawn."""
    normal: np.ndarray
    """``(B, H, W, 3)`` float32 unit surface normal in the camera frame (facing the camera); 0 where empty."""


def pixel_pairs(
    x0: np.ndarray, x1: np.ndarray, y0: np.ndarray, y1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (primitive, pixel) pairs of the inclusive pixel boxes ``[x0, x1] × [y0, y1]`` (one per primitive,
    empty when ``x1 < x0``), primitive-major: the pair count per primitive ``(P,)`` (so per-primitive values
    are spread over the pairs with ``np.repeat(values, count)``, much faster than gathering) and the pairs'
    columns and rows ``(M,)`` float32 (exact integers)."""
    w = np.maximum(x1 - x0 + 1, 0)
    h = np.maximum(y1 - y0 + 1, 0)
    count = w.astype(np.int64) * h
    total = int(count.sum())
    local_dtype = np.float32 if total < 2**24 else np.float64
    start = np.cumsum(count) - count
    local = np.arange(total, dtype=local_dtype) - np.repeat(start.astype(local_dtype), count)
    wf = np.repeat(w.astype(local_dtype), count)
    row = np.floor((local + 0.5) / wf)  # exact: the quotient is at least 0.5 / w away from an integer
    col = local - row * wf
    return count, col + np.repeat(x0.astype(local_dtype), count), row + np.repeat(y0.astype(local_dtype), count)


def pixel_box(lo_u, hi_u, lo_v, hi_v, width: int, height: int):
    """Inclusive pixel index boxes of the float boxes, clipped to the image (empty where invalid)."""
    x0 = np.clip(np.ceil(lo_u), 0, width).astype(np.int32)
    x1 = np.clip(np.floor(hi_u), -1, width - 1).astype(np.int32)
    y0 = np.clip(np.ceil(lo_v), 0, height).astype(np.int32)
    y1 = np.clip(np.floor(hi_v), -1, height - 1).astype(np.int32)
    return x0, x1, y0, y1


def _slot_major(a: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(B, S, ...)`` primitives → ``(S·B, ...)`` in slot-major order, and the matching ``K (S·B, 3, 3)``."""
    B, S = a.shape[:2]
    flat = np.ascontiguousarray(np.swapaxes(a, 0, 1)).reshape(S * B, *a.shape[2:])
    return flat, np.broadcast_to(K[None], (S, B, 3, 3)).reshape(S * B, 3, 3)


def _fragment_pixels(count: np.ndarray, hit: np.ndarray, px, py, B: int, size: tuple[int, int]):
    """Slot ids ``(M,)`` int32 and flat pixel indices ``(b·H + v)·W + u`` ``(M,)`` int64 of the hit pairs of
    slot-major primitives (``count`` pairs each); ``px``, ``py`` are the hit pairs' float32 columns and rows."""
    height, width = size
    prim = np.arange(len(count))
    slot = np.repeat((prim // B).astype(np.int32), count)[hit]
    base = np.repeat((prim % B) * (height * width), count)[hit]
    return slot, base + (py * width + px).astype(np.int64)  # exact in float32 below 2**24 pixels per image


def _capsule_fragments(capsules, radii, K, size):
    """Fragments of tapered capsules: (slot, pixel index, depth, normal (M, 3)) of the covered pixels."""
    B = capsules.shape[0]
    height, width = size
    ends, k = _slot_major(capsules, K)  # slot-major: each slot's fragments are contiguous
    r, _ = _slot_major(radii, K)
    z = ends[..., 2]
    valid = np.all(z > 1e-3, axis=1) & np.any(r > 0, axis=1)
    zs = np.where(valid[:, None], z, 1.0)
    uv = camera.project(np.where(valid[:, None, None], ends, np.array([0.0, 0.0, 1.0])), k)  # (CB, 2, 2)
    rho = np.sqrt(k[:, 0, 0] * k[:, 1, 1])[:, None] * r / zs
    lo, hi = (uv - rho[..., None]).min(axis=1), (uv + rho[..., None]).max(axis=1)
    x0, x1, y0, y1 = pixel_box(lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1], width, height)
    count, px, py = pixel_pairs(x0, np.where(valid, x1, -1), y0, y1)

    def spread(values: np.ndarray) -> np.ndarray:
        return np.repeat(values.astype(np.float32), count)

    e = uv[:, 1] - uv[:, 0]
    ee = np.sum(e * e, axis=-1)
    ax, ay = px - spread(uv[:, 0, 0]), py - spread(uv[:, 0, 1])
    eu, ev = spread(e[:, 0]), spread(e[:, 1])
    t = np.clip((ax * eu + ay * ev) * spread(np.where(ee > 1e-12, 1.0 / np.maximum(ee, 1e-12), 0.0)), 0.0, 1.0)
    dx, dy = ax - t * eu, ay - t * ev
    d2 = dx * dx + dy * dy
    rho_t = spread(rho[:, 0]) + t * spread(rho[:, 1] - rho[:, 0])
    hit = np.flatnonzero(d2 < rho_t * rho_t)
    t, dx, dy, d2, rho_t = (a[hit] for a in (t, dx, dy, d2, rho_t))

    iz0, iz1 = spread(1.0 / zs[:, 0])[hit], spread(1.0 / zs[:, 1])[hit]
    inv_z = iz0 + t * (iz1 - iz0)  # 1/Z is linear in the image: perspective-correct
    t3 = t * iz1 / inv_z  # the parameter along the 3D axis
    radius = spread(r[:, 0])[hit] + t3 * spread(r[:, 1] - r[:, 0])[hit]
    inv_rho = 1.0 / rho_t
    across = np.sqrt(np.maximum(1.0 - d2 * inv_rho * inv_rho, 0.0))
    depth = 1.0 / inv_z - radius * across
    normal = np.stack([dx * inv_rho, dy * inv_rho, -across], axis=-1)  # unit: d²/ρ² + across² = 1
    slot, pixel = _fragment_pixels(count, hit, px[hit], py[hit], B, size)
    return slot, pixel, depth, normal


def _triangle_fragments(triangles, vertex_normals, K, size):
    """Fragments of one-sided triangles (back faces culled): (slot, pixel index, depth, normal (M, 3))."""
    B = triangles.shape[0]
    height, width = size
    tri, k = _slot_major(triangles, K)
    nrm, _ = _slot_major(vertex_normals, K)
    z = tri[..., 2]
    face = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    front = np.einsum("ij,ij->i", face, tri[:, 0]) < 0  # the camera sits on the outer side
    valid = np.all(z > 1e-3, axis=1) & front
    zs = np.where(valid[:, None], z, 1.0)
    uv = camera.project(np.where(valid[:, None, None], tri, np.array([0.0, 0.0, 1.0])), k)  # (TB, 3, 2)
    e1, e2 = uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    valid &= np.abs(area) > 1e-9
    lo, hi = uv.min(axis=1), uv.max(axis=1)
    x0, x1, y0, y1 = pixel_box(lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1], width, height)
    count, px, py = pixel_pairs(x0, np.where(valid, x1, -1), y0, y1)

    def spread(values: np.ndarray) -> np.ndarray:
        return np.repeat(values.astype(np.float32), count)

    inv_area = np.where(valid, 1.0 / np.where(valid, area, 1.0), 0.0)
    ax, ay = px - spread(uv[:, 0, 0]), py - spread(uv[:, 0, 1])
    l1 = ax * spread(e2[:, 1] * inv_area) - ay * spread(e2[:, 0] * inv_area)
    l2 = ay * spread(e1[:, 0] * inv_area) - ax * spread(e1[:, 1] * inv_area)
    tol = -1e-4  # closes cracks between neighbouring triangles
    hit = np.flatnonzero((l1 >= tol) & (l2 >= tol) & (l1 + l2 <= 1.0 - tol))
    l1, l2 = l1[hit], l2[hit]

    slot, pixel = _fragment_pixels(count, hit, px[hit], py[hit], B, size)
    prim = slot * B + pixel // (height * width)
    w = np.stack([1.0 - l1 - l2, l1, l2], axis=-1) * (1.0 / zs).astype(np.float32)[prim]
    inv_z = w.sum(axis=-1)
    depth = 1.0 / inv_z
    n = nrm.astype(np.float32)[prim]
    normal = w[:, 0:1] * n[:, 0] + w[:, 1:2] * n[:, 1] + w[:, 2:3] * n[:, 2]
    # face the camera: interpolated normals may point away from the viewing ray at grazing angles
    kb = k.astype(np.float32)[prim]
    ray_x = (px[hit] - kb[:, 0, 2]) / kb[:, 0, 0]
    ray_y = (py[hit] - kb[:, 1, 2]) / kb[:, 1, 1]
    away = normal[:, 0] * ray_x + normal[:, 1] * ray_y + normal[:, 2] > 0
    normal[away] *= -1.0
    normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-12)
    return slot, pixel, depth, normal


class Covered(NamedTuple):
    """The visible fragment of every covered pixel, sorted by pixel."""

    pixel: np.ndarray  # (M,) int64 flat index (b·H + v)·W + u
    depth: np.ndarray  # (M,) float32 mm
    part: np.ndarray  # (M,) int64
    normal: np.ndarray  # (M, 3) float32


def rasterize_sparse(
    K, size, capsules=None, radii=None, capsule_part=None, triangles=None, vertex_normals=None, triangle_part=None
) -> Covered:
    """:func:`rasterize`, returning only the covered pixels."""
    K = np.asarray(K, dtype=np.float64)
    B = K.shape[0]
    height, width = size
    slots, pixels, depths, normals, parts = [], [], [], [], []
    n_caps = 0
    if capsules is not None:
        capsules = np.asarray(capsules, dtype=np.float64)
        n_caps = capsules.shape[1]
        if radii is None or np.shape(radii) != capsules.shape[:3]:
            raise ValueError(f"radii must have shape {capsules.shape[:3]} (B, C, 2), got {np.shape(radii)}.")
        part = np.arange(n_caps) if capsule_part is None else np.broadcast_to(np.asarray(capsule_part), (n_caps,))
        s, p, d, n = _capsule_fragments(capsules, np.asarray(radii, dtype=np.float64), K, size)
        slots.append(s)
        pixels.append(p)
        depths.append(d)
        normals.append(n)
        parts.append(part[s])
    if triangles is not None:
        triangles = np.asarray(triangles, dtype=np.float64)
        n_tri = triangles.shape[1]
        if vertex_normals is None:
            face = np.cross(triangles[:, :, 1] - triangles[:, :, 0], triangles[:, :, 2] - triangles[:, :, 0])
            face /= np.maximum(np.linalg.norm(face, axis=-1, keepdims=True), 1e-12)
            vertex_normals = np.repeat(face[:, :, None], 3, axis=2)
        part = (
            n_caps + np.arange(n_tri) if triangle_part is None else np.broadcast_to(np.asarray(triangle_part), (n_tri,))
        )
        s, p, d, n = _triangle_fragments(triangles, np.asarray(vertex_normals, dtype=np.float64), K, size)
        slots.append(s + n_caps)
        pixels.append(p)
        depths.append(d)
        normals.append(n)
        parts.append(part[s])
    if not slots:
        return Covered(np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros((0, 3)))
    slot, pixel, depth = np.concatenate(slots), np.concatenate(pixels), np.concatenate(depths)

    # depth test, one primitive slot at a time over all images: fragments are slot-major and a slot covers each
    # pixel of an image at most once, so a slot's pixels are unique and a gather-compare-scatter is exact
    zbuf = np.full(B * height * width, np.inf, dtype=np.float32)
    winner = np.full(B * height * width, -1, dtype=np.int64)
    bounds = np.searchsorted(slot, np.arange(int(slot[-1]) + 2)) if len(slot) else np.zeros(1, np.int64)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if a == b:
            continue
        p, d = pixel[a:b], depth[a:b]
        nearer = np.flatnonzero(d < zbuf[p])
        p = p[nearer]
        zbuf[p] = d[nearer]
        winner[p] = a + nearer
    covered = np.flatnonzero(winner >= 0)
    chosen = winner[covered]
    return Covered(covered, zbuf[covered], np.concatenate(parts)[chosen], np.concatenate(normals)[chosen])


def rasterize(
    K: np.ndarray,
    size: tuple[int, int],
    capsules: np.ndarray | None = None,
    radii: np.ndarray | None = None,
    capsule_part: Any = None,
    triangles: np.ndarray | None = None,
    vertex_normals: np.ndarray | None = None,
    triangle_part: Any = None,
) -> Raster:
    """Depth-buffered rasterisation of tapered capsules and triangles seen through pinhole cameras ``K (B, 3, 3)``.

    ``capsules (B, C, 2, 3)`` are segment end points in the camera frame (mm) with ``radii (B, C, 2)`` mm at the
    two ends (a cone-sphere: the silhouette's pixel radius is interpolated between ``f·r/Z`` at the two ends,
    the surface a sphere across the axis); ``triangles (B, T, 3, 3)`` are one-sided, outward by the right-hand
    rule ((v1 − v0) × (v2 − v0)); faces seen from behind are culled. ``vertex_normals (B, T, 3, 3)`` are
    interpolated (perspective-correct) for smooth shading; without them the face normal is used.
    ``capsule_part`` / ``triangle_part`` ((C,) / (T,) ints, default the primitive index and C + index) label the
    primitives in :attr:`Raster.part`. ``size = (H, W)``. Primitives with a zero radius or a vertex at Z <= 0 are
    skipped. Vectorised over pixels × primitives × images; the depth test loops over the primitive slots.
    """
    K = np.asarray(K, dtype=np.float64)
    B = K.shape[0]
    height, width = size
    hits = rasterize_sparse(K, size, capsules, radii, capsule_part, triangles, vertex_normals, triangle_part)
    total = B * height * width
    depth = np.full(total, np.inf, dtype=np.float32)
    part = np.full(total, -1, dtype=np.int16)
    normal = np.zeros((total, 3), dtype=np.float32)
    depth[hits.pixel], part[hits.pixel], normal[hits.pixel] = hits.depth, hits.part, hits.normal
    return Raster(depth.reshape(B, height, width), part.reshape(B, height, width), normal.reshape(B, height, width, 3))


__all__ = ["Raster", "rasterize", "Covered", "rasterize_sparse", "pixel_pairs", "pixel_box"]
