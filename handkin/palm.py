"""The palm (paper §3.1, Eq. 1–3): root-bone normals, edge normals, curvature, angular distance.

Inputs are the five root bones b_1..b_5 (wrist → thumb_cmc, index_mcp, middle_mcp, ring_mcp,
little_mcp) as ``(..., 5, 3)``; every function works on numpy and torch with any batch shape.

Degenerate palms (documented fallbacks, all finite with finite gradients):

* a pair of collinear (or zero-length) neighbouring root bones has no plane: its normal n_i
  falls back to the palm normal N̂ = norm(Σ_i b_{i+1} × b_i);
* if every pair is degenerate (all root bones collinear), N̂ falls back to a unit vector
  perpendicular to the middle root bone, norm(b_3 × ẑ) (or x̂ if b_3 is along z or zero);
* two opposite normals (edge normal undefined) fall back to N̂ as well;
* two identical root bones (‖b_{i+1} − b_i‖ = 0) have curvature 0;
* the angular distance of a zero-length bone to its neighbour is 0.

"Collinear" means sin(angle) ≤ √eps of the dtype (1.5e-8 in float64, 3.5e-4 in float32).
"""

from __future__ import annotations

import array_api_compat

from .backend import Array, cross, dot, namespace, promote_half, safe_atan2, safe_norm, safe_normalize


def degenerate_tolerance(xp, dtype) -> float:
    """Relative tolerance below which a cross product counts as zero (√eps of the dtype)."""
    return float(xp.finfo(dtype).eps) ** 0.5


def unit_axis(xp, like: Array, axis: int) -> Array:
    """The unit vector along ``axis`` (0, 1, 2) with the dtype and device of ``like``."""
    values = [0.0, 0.0, 0.0]
    values[axis] = 1.0
    return xp.asarray(values, dtype=like.dtype, device=array_api_compat.device(like))


def perpendicular(v: Array) -> Array:
    """A unit vector perpendicular to ``v`` (..., 3): norm(v × ẑ), or x̂ when v is along z or zero."""
    xp = namespace(v)
    tol = degenerate_tolerance(xp, v.dtype)
    return safe_normalize(cross(v, unit_axis(xp, v, 2)), unit_axis(xp, v, 0), tol * safe_norm(v, keepdims=True))


def palm_normal(root_bones: Array) -> Array:
    """The palm's normal N̂ = norm(Σ_i b_{i+1} × b_i), ``(..., 3)``; the fallback for degenerate pairs."""
    xp = namespace(root_bones)
    b = root_bones
    c = cross(b[..., 1:, :], b[..., :-1, :])
    scale = xp.sum(safe_norm(b[..., 1:, :]) * safe_norm(b[..., :-1, :]), axis=-1)[..., None]
    tol = degenerate_tolerance(xp, b.dtype)
    return safe_normalize(xp.sum(c, axis=-2), perpendicular(b[..., 2, :]), tol * scale)


def root_bone_normals(root_bones: Array) -> Array:
    """Eq. 2: n_i = norm(b_{i+1} × b_i) for the four neighbouring pairs, ``(..., 4, 3)``."""
    xp = namespace(root_bones)
    b = root_bones
    c = cross(b[..., 1:, :], b[..., :-1, :])
    tol = degenerate_tolerance(xp, b.dtype)
    scale = (safe_norm(b[..., 1:, :]) * safe_norm(b[..., :-1, :]))[..., None]
    return safe_normalize(c, palm_normal(b)[..., None, :], tol * scale)


def edge_normals(normals: Array, fallback: Array) -> Array:
    """Eq. 2: e_1 = n_1, e_i = norm(n_i + n_{i−1}) (i = 2, 3, 4), e_5 = n_4, ``(..., 5, 3)``.

    ``fallback`` (..., 3) is used where two neighbouring normals cancel.
    """
    xp = namespace(normals)
    inner = safe_normalize(normals[..., 1:, :] + normals[..., :-1, :], fallback[..., None, :], 1e-6)
    return xp.concat([normals[..., :1, :], inner, normals[..., 3:, :]], axis=-2)


@promote_half
def palm_curvature(root_bones: Array) -> Array:
    """Eq. 1: c_i = (e_{i+1} − e_i)·(b_{i+1} − b_i) / ‖b_{i+1} − b_i‖², ``(..., 4)``, in 1/length units."""
    xp = namespace(root_bones)
    b = root_bones
    e = edge_normals(root_bone_normals(b), palm_normal(b))
    db = b[..., 1:, :] - b[..., :-1, :]
    den = dot(db, db)
    return dot(e[..., 1:, :] - e[..., :-1, :], db) / xp.where(den > 0, den, xp.ones_like(den))


@promote_half
def palm_angles(root_bones: Array) -> Array:
    """Eq. 3: φ_i = angle(b_i, b_{i+1}) ∈ [0, π], radians, ``(..., 4)`` — atan2(‖b_i × b_{i+1}‖, b_i·b_{i+1})."""
    b = root_bones
    return safe_atan2(safe_norm(cross(b[..., :-1, :], b[..., 1:, :])), dot(b[..., :-1, :], b[..., 1:, :]))


__all__ = ["palm_normal", "root_bone_normals", "edge_normals", "palm_curvature", "palm_angles", "perpendicular"]
