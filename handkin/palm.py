"""The palm (paper §3.1, Eq. 1–3): root-bone normals, edge normals, curvature, angular distance.

The public functions take the five root bones b_1..b_5 (wrist → thumb_cmc, index_mcp,
middle_mcp, ring_mcp, little_mcp) as ``(..., 5, 3)`` numpy arrays or torch tensors; the work is
done by :func:`palm_soa` on structure-of-arrays vectors (:mod:`handkin.vec`), which
:mod:`handkin.frames` reuses.

Degenerate palms (documented fallbacks, all finite with finite gradients):

* a pair of collinear (or zero-length) neighbouring root bones has no plane: its normal n_i
  falls back to the palm normal N̂ = norm(Σ_i b_{i+1} × b_i);
* if every pair is degenerate (all root bones collinear), N̂ falls back to a unit vector
  perpendicular to the middle root bone, norm(b_3 × ẑ) (or x̂ if b_3 is along z or zero);
* two opposite normals (edge normal undefined) fall back to N̂ as well;
* two identical root bones (‖b_{i+1} − b_i‖ = 0) have curvature 0;
* the angular distance of a zero-length bone to its neighbour is 0.

"Collinear" means sin(angle) ≤ √eps of the dtype (1.5e-8 in float64, 3.5e-4 in float32).

Bounded gradients near these cases (values unchanged; :data:`~handkin.vec.SINGULAR_TOL` τ = 1e-3, L the palm
scale = RMS root-bone length): a root bone shorter than τ·L passes no gradient; a normal n_i (or N̂, or an edge
normal, or ``perpendicular``) passes none where its pair is within sin(angle) ≤ τ of collinear; the curvature's
denominator is ``max(‖b_{i+1} − b_i‖², (τL)²)``, so two root joints closer than τ·L (0.08 mm on an adult palm) have
a curvature shrunk towards 0 (``|c_i| ≤ 2/(τL)``), continuous, with gradients ≲ 1/(τL)² — the only place the
value changes.
"""

from __future__ import annotations

from typing import NamedTuple

from .backend import Array, length_from_squared, namespace, promote_half
from .vec import SINGULAR_TOL, V, atan2, batch_first, batched, cross, cut_gradient, dot, normalize, to_soa

X_HAT = (1.0, 0.0, 0.0)
Z_HAT = (0.0, 0.0, 1.0)


def degenerate_tolerance_sq(xp, like: Array) -> float:
    """Squared relative tolerance below which a cross product counts as zero (eps of the dtype, i.e. (√eps)²)."""
    return float(xp.finfo(like.dtype).eps)


def perpendicular(v: V) -> V:
    """Unit vectors perpendicular to ``v``: norm(v × ẑ), or x̂ where v is along z or zero."""
    xp = namespace(v.x)
    sq = dot(v, v)
    return normalize(V.stack(v.y, -v.x, 0.0 * v.x), X_HAT, degenerate_tolerance_sq(xp, v.x) * sq, SINGULAR_TOL**2 * sq)


def palm_scale_sq(xp, root_length_sq: Array) -> Array:
    """The squared palm scale L² = mean squared root-bone length, rows (1, M), from root lengths² (5, M)."""
    return xp.mean(root_length_sq, axis=0, keepdims=True)


def long_enough(length_sq: Array, scale_sq: Array) -> Array:
    """Bool (k, M): the bones not shorter than SINGULAR_TOL × the palm scale. A bone that short passes no gradient
    to its direction (angles, normals, frames; its gradient goes as 1/length); its length output keeps its own."""
    return length_sq > SINGULAR_TOL**2 * scale_sq


class Palm(NamedTuple):
    """The palm quantities of a batch in structure-of-arrays form (rows × batch)."""

    normals: V
    """n_1..n_4, rows (4, M) (Eq. 2)."""
    palm_normal: V
    """N̂, rows (1, M): the fallback for degenerate pairs."""
    curvature: Array
    """c_1..c_4 ``(4, M)`` (Eq. 1)."""
    angles: Array
    """φ_1..φ_4 ``(4, M)`` (Eq. 3)."""


def palm_soa(r: V, length_sq: Array | None = None) -> Palm:
    """Palm quantities from root bones ``r`` (rows (5, M)); ``length_sq`` (5, M) = their squared lengths if known."""
    xp = namespace(r.x)
    tol_sq = degenerate_tolerance_sq(xp, r.x)
    sq = dot(r, r) if length_sq is None else length_sq
    guard = SINGULAR_TOL**2
    scale_sq = palm_scale_sq(xp, sq)
    long = long_enough(sq, scale_sq)
    r, sq = V(cut_gradient(r.a, long[None])), cut_gradient(sq, long)
    a, b = r.rows(slice(0, 4)), r.rows(slice(1, 5))
    c = cross(b, a)  # b_{i+1} × b_i
    pair_sq = sq[:-1] * sq[1:]
    total = V(xp.sum(c.a, axis=1, keepdims=True))
    total_sq = xp.sum(pair_sq, axis=0, keepdims=True)
    palm_normal = normalize(total, perpendicular(r.rows(slice(2, 3))), tol_sq * total_sq, guard * total_sq)
    n = normalize(c, palm_normal, tol_sq * pair_sq, guard * pair_sq)
    # edge normals e_1 = n_1, e_i = norm(n_i + n_{i-1}), e_5 = n_4
    inner = normalize(n.rows(slice(1, 4)) + n.rows(slice(0, 3)), palm_normal, 1e-12, guard)
    e = V(xp.concat([n.a[:, :1], inner.a, n.a[:, 3:]], axis=1))
    db = b - a
    floor = xp.maximum(guard * scale_sq, float(xp.finfo(sq.dtype).smallest_normal))
    curvature = dot(e.rows(slice(1, 5)) - e.rows(slice(0, 4)), db) / xp.maximum(dot(db, db), floor)
    angles = atan2(xp, length_from_squared(dot(c, c)), dot(a, b), length_from_squared(pair_sq))
    return Palm(n, palm_normal, curvature, angles)


def _per_hand(root_bones: Array, pick) -> Array:
    xp = namespace(root_bones)
    batch = tuple(root_bones.shape[:-2])
    flat = xp.reshape(root_bones, (-1, 5, 3))

    (result,) = batched(lambda rb: (pick(palm_soa(to_soa(rb))),), flat)
    return batch_first(result, batch, (4,))


@promote_half
def palm_curvature(root_bones: Array) -> Array:
    """Eq. 1: c_i = (e_{i+1} − e_i)·(b_{i+1} − b_i) / ‖b_{i+1} − b_i‖², ``(..., 4)``, in 1/length units."""
    return _per_hand(root_bones, lambda p: p.curvature)


@promote_half
def palm_angles(root_bones: Array) -> Array:
    """Eq. 3: φ_i = angle(b_i, b_{i+1}) ∈ [0, π], radians, ``(..., 4)`` — atan2(‖b_i × b_{i+1}‖, b_i·b_{i+1})."""
    return _per_hand(root_bones, lambda p: p.angles)


def root_bone_normals(root_bones: Array) -> Array:
    """Eq. 2: n_i = norm(b_{i+1} × b_i) for the four neighbouring pairs, ``(..., 4, 3)``."""
    xp = namespace(root_bones)
    batch = tuple(root_bones.shape[:-2])
    n = palm_soa(to_soa(xp.reshape(root_bones, (-1, 5, 3)))).normals
    return xp.reshape(xp.permute_dims(n.a, (2, 1, 0)), (*batch, 4, 3))


__all__ = ["Palm", "palm_soa", "palm_curvature", "palm_angles", "root_bone_normals", "perpendicular", "X_HAT", "Z_HAT"]
