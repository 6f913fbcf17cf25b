"""Pinhole camera, the 2.5D pose representation and Z_root recovery (paper §3.2; Iqbal et al., ECCV 2018).

Camera frame: OpenCV's — x right, y down, z forward; intrinsics ``K (..., 3, 3)`` in pixels
(``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]``). All functions take numpy arrays or torch tensors with any
leading batch shape (``K`` broadcasts against it), are differentiable, and never branch on values.

The 2.5D representation of camera-space joints ``J (..., 21, 3)`` is

* ``uv (..., 21, 2)``: the pixel projections ``K·J / Z``;
* ``z_rel (..., 21)``: depth relative to the root (wrist), divided by the reference-bone length ``s``
  (wrist→middle_mcp by default): ``(Z − Z_root) / s``.

Going back needs ``Z_root``: with rays ``x_n = K⁻¹·(u_n, v_n, 1)`` and ``Ẑ = Z_root / s``, the reference
bone (joints n, m) has normalised length ``C`` (1 for the bone used to normalise), which gives the quadratic

    ‖Ẑ (x_n − x_m) + (z_n x_n − z_m x_m)‖² = C²   →   a Ẑ² + b Ẑ + c = 0,

and ``Ẑ`` is its larger root ``(−b + √(b² − 4ac)) / 2a`` (the hand in front of the camera; Iqbal et al.).
:func:`solve_root_depth` computes it in a cancellation-free form and flags the cases without a valid
solution (see :class:`RootDepth`).

Numerical safety: float16/bfloat16 input is computed in float32 and the results are cast back (squares of rays
and the discriminant overflow float16). :func:`to_25d` divides by ``max(s, τ·ρ)`` with ρ the RMS distance of the
joints from the root and τ = :data:`~handkin.vec.SINGULAR_TOL` (1e-3), so a zero-length or very short reference bone
gives finite relative depths (``|z_rel| ≤ √21/τ``) and gradients ≲ 5/(τρ); all joints at one point give
``z_rel = 0`` with a zero gradient. Where ``s ≥ τρ`` (every real hand) the values are unchanged.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import anatomy
from .backend import Array, length_from_squared, namespace, promote_half, to_numpy
from .errors import CameraError, ShapeError
from .units import DEFAULT_REFERENCE_BONE
from .vec import SINGULAR_TOL

#: Root joint of the 2.5D representation (the wrist).
ROOT = int(anatomy.Joint.wrist)


def _check_points(points: Array, width: int, name: str) -> None:
    shape = tuple(points.shape)
    if len(shape) < 2 or shape[-1] != width:
        raise ShapeError(f"{name} must have shape (..., N, {width}), got {shape}.")


def _check_k(K: Array) -> None:
    if tuple(K.shape[-2:]) != (3, 3):
        raise ShapeError(f"intrinsics K must have shape (..., 3, 3), got {tuple(K.shape)}.")


def check_intrinsics(K: Any) -> None:
    """Raise :class:`~handkin.errors.CameraError` unless every ``K (..., 3, 3)`` is a finite pinhole matrix with
    positive focal lengths and last row ``(0, 0, 1)`` (one host sync for GPU tensors; call it once on loading)."""
    _check_k(K)
    k = np.asarray(to_numpy(K), dtype=float)
    if not np.all(np.isfinite(k)):
        raise CameraError("intrinsics K hold NaN or infinite values.")
    if not (np.all(k[..., 0, 0] > 0) and np.all(k[..., 1, 1] > 0)):
        raise CameraError(
            f"intrinsics K need positive focal lengths fx, fy (got fx={k[..., 0, 0].min()}, fy={k[..., 1, 1].min()})."
        )
    if not (np.allclose(k[..., 2, :2], 0.0) and np.allclose(k[..., 2, 2], 1.0) and np.allclose(k[..., 1, 0], 0.0)):
        raise CameraError(
            "intrinsics K must be [[fx, s, cx], [0, fy, cy], [0, 0, 1]] (a pinhole matrix in pixels; "
            "a transposed K or an OpenGL projection matrix is not one)."
        )


def intrinsics(fx: float, fy: float, cx: float, cy: float, skew: float = 0.0, like: Array | None = None) -> Array:
    """The matrix ``K (3, 3)``, as numpy float64 or with the dtype and device of ``like``."""
    k = np.array([[fx, skew, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    if like is None:
        return k
    xp = namespace(like)
    return xp.asarray(k, dtype=like.dtype, device=getattr(like, "device", None))


@promote_half
def project(points: Array, K: Array) -> Array:
    """Pixels ``(..., N, 2)`` of camera-space points ``(..., N, 3)``: ``(K·X)_{x,y} / Z``.

    Points at or behind the camera plane have no image; their depth is clamped to a tiny positive
    number (finite values and gradients, far outside any image), so check ``Z > 0`` if it matters.
    """
    _check_points(points, 3, "points")
    _check_k(K)
    xp = namespace(points, K)
    z = xp.maximum(points[..., 2], float(xp.finfo(points.dtype).eps))
    x, y = points[..., 0] / z, points[..., 1] / z
    k = K[..., None, :, :]  # broadcast over the N points
    u = k[..., 0, 0] * x + k[..., 0, 1] * y + k[..., 0, 2]
    v = k[..., 1, 1] * y + k[..., 1, 2]
    return xp.stack([u, v], axis=-1)


@promote_half
def rays(uv: Array, K: Array) -> Array:
    """``K⁻¹·(u, v, 1)`` ``(..., N, 3)``: for each pixel the camera-space point at depth 1 that projects onto it."""
    _check_points(uv, 2, "uv")
    _check_k(K)
    xp = namespace(uv, K)
    k = K[..., None, :, :]
    y = (uv[..., 1] - k[..., 1, 2]) / k[..., 1, 1]
    x = (uv[..., 0] - k[..., 0, 2] - k[..., 0, 1] * y) / k[..., 0, 0]
    return xp.stack([x, y, xp.ones_like(x)], axis=-1)


@promote_half
def backproject(uv: Array, depth: Array, K: Array) -> Array:
    """Camera-space points ``(..., N, 3)`` from pixels ``(..., N, 2)`` and their depths Z ``(..., N)``."""
    return rays(uv, K) * depth[..., None]


class Pose25D(NamedTuple):
    """A hand in the 2.5D representation."""

    uv: Array
    """(..., 21, 2) pixel coordinates."""
    z_rel: Array
    """(..., 21) (Z − Z_root) / s, in reference-bone lengths."""
    scale: Array
    """(...) s: the reference-bone length in the input's unit."""
    z_root: Array
    """(...) Z_root, in the input's unit."""


def _reference_joints(reference: Any) -> tuple[int, int]:
    b = anatomy.bone(reference)
    return int(b.child), int(b.parent)


@promote_half
def to_25d(joints: Array, K: Array, reference: Any = DEFAULT_REFERENCE_BONE) -> Pose25D:
    """The 2.5D representation of camera-space joints ``(..., 21, 3)`` (canonical order) seen through ``K``.

    ``reference`` names the bone whose length normalises depth (by its child joint; default wrist→middle_mcp).
    """
    if tuple(joints.shape[-2:]) != (21, 3):
        raise ShapeError(f"joints must have shape (..., 21, 3), got {tuple(joints.shape)}.")
    xp = namespace(joints, K)
    child, parent = _reference_joints(reference)
    bone = joints[..., child, :] - joints[..., parent, :]
    s = length_from_squared(xp.sum(bone * bone, axis=-1))
    z_root = joints[..., ROOT, 2]
    spread = joints - joints[..., ROOT : ROOT + 1, :]
    # a stand-in for a (near) zero-length reference bone: τ × the RMS distance ρ of the joints from the root
    den = xp.maximum(s, SINGULAR_TOL * length_from_squared(xp.mean(xp.sum(spread * spread, axis=-1), axis=-1)))
    floor = float(xp.finfo(s.dtype).smallest_normal)
    ok = xp.astype(den > floor, s.dtype)[..., None]  # all joints at one point: z_rel = 0, zero gradient
    z_rel = (joints[..., 2] - z_root[..., None]) * ok / xp.maximum(den, floor)[..., None]
    return Pose25D(project(joints, K), z_rel, s, z_root)


class RootDepth(NamedTuple):
    """The root depth recovered by :func:`solve_root_depth`, in reference-bone lengths (multiply by ``s``)."""

    z_root: Array
    """(...) Ẑ_root = Z_root / s."""
    valid: Array
    """(...) bool: a real, positive solution exists. Where not, ``z_root`` is a finite stand-in:
    a negative discriminant is clamped to 0 (the closest the rays come to the bone length),
    a degenerate ``a`` (both joints on one pixel ray) uses ``a = eps``."""
    discriminant: Array
    """(...) b² − 4ac before clamping (in units of a²; negative means no real solution)."""
    ambiguous: Array
    """(...) bool: both roots are positive (c > 0, the reference bone points steeply along the viewing ray), so
    the hand could also sit at the smaller depth; the larger root is returned, which is wrong when the bone
    points towards the camera from a deeper root. Such hands are rare in images of open hands."""


@promote_half
def solve_root_depth(
    uv: Array, z_rel: Array, K: Array, reference: Any = DEFAULT_REFERENCE_BONE, reference_length: float = 1.0
) -> RootDepth:
    """Ẑ_root from 2.5D joints: the larger root of the reference bone's length quadratic (see the module docs).

    ``uv (..., 21, 2)`` pixels, ``z_rel (..., 21)`` relative depths in reference lengths, ``K (..., 3, 3)``;
    ``reference_length`` is the reference bone's normalised length C (1 when it is the normalising bone).
    Values and gradients are finite everywhere, including the flagged cases.
    """
    _check_points(uv, 2, "uv")
    xp = namespace(uv, z_rel, K)
    child, parent = _reference_joints(reference)
    x = rays(uv[..., [child, parent], :], K)  # (..., 2, 3)
    zn, zm = z_rel[..., child, None], z_rel[..., parent, None]
    d = x[..., 0, :] - x[..., 1, :]  # x_n − x_m (its z is 0)
    e = zn * x[..., 0, :] - zm * x[..., 1, :]  # z_n x_n − z_m x_m
    eps = float(xp.finfo(uv.dtype).eps)
    tiny = float(xp.finfo(uv.dtype).smallest_normal)
    a_raw = xp.sum(d * d, axis=-1)
    ok_a = a_raw > eps * eps
    a = xp.maximum(a_raw, eps * eps)
    half_b = xp.sum(d * e, axis=-1)  # b / 2
    c = xp.sum(e * e, axis=-1) - reference_length**2
    disc = half_b * half_b - a * c  # (b² − 4ac) / 4
    root = xp.sqrt(xp.maximum(disc, (eps * half_b) ** 2 + tiny))
    # the larger root (−b + √D) / 2a without cancellation: q / a for b ≤ 0, c / q' otherwise
    q_minus = root - half_b  # > 0 where b ≤ 0
    q_plus = -(root + half_b)  # < 0 where b > 0
    negative_b = half_b <= 0
    z_root = xp.where(negative_b, q_minus / a, c / xp.where(negative_b, -xp.ones_like(q_plus), q_plus))
    valid = ok_a & (disc >= 0) & (z_root > 0)
    ambiguous = valid & (c > 0) & negative_b
    return RootDepth(z_root, valid, 4 * disc / (a * a), ambiguous)


@promote_half
def from_25d(uv: Array, z_rel: Array, K: Array, z_root: Array, scale: Any = 1.0) -> Array:
    """Camera-space joints ``(..., 21, 3)`` from 2.5D joints and a root depth ``z_root (...)`` given in reference
    lengths (as :func:`solve_root_depth` returns it); ``scale`` (scalar or ``(...)``) is the reference-bone
    length in the output unit (1 → ``ref`` units)."""
    depth = z_root[..., None] + z_rel
    return backproject(uv, depth * (scale if isinstance(scale, (int, float)) else scale[..., None]), K)


__all__ = [
    "ROOT",
    "Pose25D",
    "RootDepth",
    "check_intrinsics",
    "intrinsics",
    "project",
    "rays",
    "backproject",
    "to_25d",
    "solve_root_depth",
    "from_25d",
]
