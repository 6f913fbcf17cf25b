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

from .backend import Array, detached, length_from_squared, namespace, promote_half, take
from .vec import (
    SINGULAR_TOL,
    UnitTape,
    V,
    angle,
    batch_first,
    batched,
    constant,
    csum,
    cut_gradient,
    eps,
    select,
    tiny,
    to_soa,
    unit_adjoint,
    unit_taped,
)

X_HAT = (1.0, 0.0, 0.0)
Z_HAT = (0.0, 0.0, 1.0)


def degenerate_tolerance_sq(xp, like: Array) -> float:
    """Squared relative tolerance below which a cross product counts as zero (eps of the dtype, i.e. (√eps)²)."""
    return eps(xp, like)


def perpendicular(v: V) -> V:
    """Unit vectors perpendicular to ``v``: norm(v × ẑ), or x̂ where v is along z or zero."""
    return V(_perpendicular(namespace(v.a), v.a))


def _perpendicular(xp, v: Array) -> Array:
    """:func:`perpendicular` of vectors ``v (3, ...)`` (components first)."""
    return _perpendicular_taped(xp, v)[0]


def _perpendicular_taped(xp, v: Array) -> tuple[Array, UnitTape]:
    sq = csum(xp, v * v)
    flat = take(v, (1, 0, 2), axis=0) * constant(xp, (1.0, -1.0, 0.0), v)  # v × ẑ = (v_y, −v_x, 0)
    return unit_taped(xp, flat, constant(xp, X_HAT, v), degenerate_tolerance_sq(xp, v) * sq, SINGULAR_TOL**2 * sq)


def _perpendicular_adjoint(xp, tape: UnitTape, g: Array) -> Array:
    """The gradient with respect to ``v`` of :func:`_perpendicular_taped` given the result's gradient ``g``."""
    g_flat = unit_adjoint(xp, tape, g)[0]
    return take(g_flat * constant(xp, (1.0, -1.0, 0.0), g_flat), (1, 0, 2), axis=0)


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
    xp = namespace(r.a)
    sq = csum(xp, r.a * r.a) if length_sq is None else length_sq[None]
    palm = _palm(xp, r.a, sq)
    return palm._replace(curvature=palm.curvature[0], angles=palm.angles[0])


class PalmTape(NamedTuple):
    """The intermediate values of :func:`_palm` that :func:`_palm_adjoint` needs."""

    a: Array
    b: Array
    c: Array
    c_length: Array
    cos_part: Array
    angle_ok: Array
    perp: UnitTape
    palm_normal: UnitTape
    n: UnitTape
    inner: UnitTape
    e_step: Array
    db: Array
    inv_den: Array
    den_free: Array
    curvature: Array


def _palm(xp, r: Array, sq: Array, taped: bool = False) -> Palm | tuple[Palm, PalmTape]:
    """:func:`palm_soa` of root bones ``r (3, 5, M)`` with squared lengths ``sq (1, 5, M)`` (and, with ``taped``,
    its :class:`PalmTape`); curvature and angles are ``(1, 4, M)``. The curvature's floor passes no gradient."""
    tol_sq = degenerate_tolerance_sq(xp, r)
    guard = SINGULAR_TOL**2
    floor_value = tiny(xp, sq)
    scale_sq = xp.mean(sq, axis=1, keepdims=True)  # (1, 1, M)
    r = cut_gradient(r, sq > guard * scale_sq)
    a, b = r[:, 0:4], r[:, 1:5]
    c = xp.linalg.cross(b, a, axis=0)  # b_{i+1} × b_i
    pair_sq = sq[:, :-1] * sq[:, 1:]
    total_sq = xp.sum(pair_sq, axis=1, keepdims=True)
    perp, perp_tape = _perpendicular_taped(xp, r[:, 2:3])
    palm_normal, normal_tape = unit_taped(
        xp, xp.sum(c, axis=1, keepdims=True), perp, tol_sq * total_sq, guard * total_sq
    )
    n, n_tape = unit_taped(xp, c, palm_normal, tol_sq * pair_sq, guard * pair_sq)
    # edge normals e_1 = n_1, e_i = norm(n_i + n_{i-1}), e_5 = n_4
    inner, inner_tape = unit_taped(xp, n[:, 1:4] + n[:, 0:3], palm_normal, 1e-12, guard)
    e = xp.concat([n[:, :1], inner, n[:, 3:]], axis=1)
    e_step = e[:, 1:] - e[:, :-1]
    db = b - a
    db_sq = csum(xp, db * db)
    floor = xp.maximum(guard * detached(scale_sq), floor_value)
    den_free = db_sq > floor
    inv_den = 1 / xp.maximum(db_sq, floor)
    curvature = csum(xp, e_step * db) * inv_den
    # φ = atan2(|a × b|, a·b); a zero-length bone (|a||b| = 0) has φ = atan2(0, 1) = 0
    angle_ok = pair_sq > floor_value
    cos_part = select(xp, angle_ok, csum(xp, a * b), constant(xp, (1.0,), sq))
    c_length = length_from_squared(csum(xp, c * c))
    pair_length = length_from_squared(select(xp, angle_ok, pair_sq, constant(xp, (1.0,), sq)))
    palm = Palm(V(n), V(palm_normal), curvature, angle(xp, c_length, cos_part, pair_length))
    if not taped:
        return palm
    tape = PalmTape(
        a, b, c, c_length, cos_part, angle_ok, perp_tape, normal_tape, n_tape, inner_tape, e_step, db, inv_den,
        den_free, curvature,
    )  # fmt: skip
    return palm, tape


def _palm_adjoint(xp, t: PalmTape, g_curvature: Array, g_angles: Array, g_normals: Array) -> Array:
    """The gradient ``(3, 5, M)`` with respect to the root bones given to :func:`_palm` (before its gradient cut,
    which the caller applies) of the curvature ``(1, 4, M)``, angles ``(1, 4, M)`` and normals ``(3, 4, M)``,
    given their gradients."""
    zero, nothing = xp.zeros_like(t.a[:, :1]), constant(xp, (0.0,), t.a)
    # φ = atan2(|c|, a·b)
    den = t.c_length * t.c_length + t.cos_part * t.cos_part
    g_length = g_angles * t.cos_part / den
    g_cos = xp.where(t.angle_ok, -g_angles * t.c_length / den, nothing)
    g_c = t.c * (g_length / xp.maximum(t.c_length, tiny(xp, den) ** 0.5))
    g_a, g_b = t.b * g_cos, t.a * g_cos
    # κ = (e_{i+1} − e_i)·db / max(|db|², floor)
    g_num = g_curvature * t.inv_den
    g_step = t.db * g_num
    g_db = t.e_step * g_num - t.db * xp.where(t.den_free, 2 * g_curvature * t.curvature * t.inv_den, nothing)
    g_e = xp.concat([zero, g_step], axis=1) - xp.concat([g_step, zero], axis=1)  # e_step = e[1:] − e[:-1]
    # e = (n_1, inner_1..3, n_4); inner_i = unit(n_{i+1} + n_i, N̂)
    g_sum, g_fallback = unit_adjoint(xp, t.inner, g_e[:, 1:4])
    g_n = g_normals + xp.concat(
        [g_e[:, :1] + g_sum[:, :1], g_sum[:, 1:] + g_sum[:, :-1], g_e[:, 4:] + g_sum[:, 2:]], axis=1
    )
    g_normal = xp.sum(g_fallback, axis=1, keepdims=True)
    # n = unit(c, N̂); N̂ = unit(Σ c, perpendicular(b_3))
    g_c_n, g_fallback = unit_adjoint(xp, t.n, g_n)
    g_total, g_perp = unit_adjoint(xp, t.palm_normal, g_normal + xp.sum(g_fallback, axis=1, keepdims=True))
    g_c = g_c + g_c_n + g_total
    # c = b × a, db = b − a
    g_a = g_a + xp.linalg.cross(g_c, t.b, axis=0) - g_db
    g_b = g_b + xp.linalg.cross(t.a, g_c, axis=0) + g_db
    g_middle = _perpendicular_adjoint(xp, t.perp, g_perp)
    middle = g_a[:, 1:] + g_b[:, :3] + xp.concat([zero, g_middle, zero], axis=1)  # root bones 2–4 are in a and b
    return xp.concat([g_a[:, :1], middle, g_b[:, 3:]], axis=1)


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
