"""Fitting ``JointLimits`` to data: limits that contain the given hands (:meth:`JointLimits.fit`).

Intervals come from the data's range (or robust percentiles), each joint's polygon from the paper's
procedure (:func:`handkin.hull.fit_polygon`: convex hull → Ramer–Douglas–Peucker → greedy removal,
supplementary §1), optionally grown outwards by an angle margin.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from .anatomy import AngleJoint, Bone, Side
from .errors import LimitsError, ShapeError, UnitsError
from .hull import box_polygon, fit_polygon, polygon_area
from .limits import PALM_PAIRS, AnglePolygon, Interval, JointLimits, Provenance
from .skeleton import HandSkeleton
from .units import DEFAULT_REFERENCE_BONE, Units
from .units import units as parse_units

#: Half-width (radians) of the box fitted around a joint whose data span no area (e.g. a single pose).
MIN_POLYGON_HALF_WIDTH = 1e-3


def fit_limits(
    skeletons: HandSkeleton | Iterable[HandSkeleton],
    hull_points: int = 10,
    *,
    units: Any = None,
    percentiles: tuple[float, float] | None = None,
    margin: float = 0.0,
    angle_margin: float = 0.0,
    bone_tolerance: float = 0.0,
    curvature_tolerance: float = 0.0,
    rdp_epsilon: float | None = None,
    base: JointLimits | None = None,
    merge: Literal["union", "replace"] = "union",
    provenance: Provenance | Mapping[str, Any] | None = None,
) -> JointLimits:
    """:meth:`JointLimits.fit` (see there): limits that contain the given hands (left hands mirrored)."""
    _check_widths(
        margin=margin, angle_margin=angle_margin, bone_tolerance=bone_tolerance, curvature_tolerance=curvature_tolerance
    )
    sk = _as_one_skeleton(skeletons)
    target = sk.units if units is None else parse_units(units)
    sk = sk.to_units(target) if target != sk.units else sk
    m = sk.numpy().measure(frames=False)
    n = int(np.prod(sk.batch_shape, dtype=np.int64))
    if n == 0:
        raise ShapeError("fit needs at least one hand.")
    lengths = np.asarray(m.bone_lengths).reshape(n, 20)
    curvature = np.asarray(m.palm_curvature).reshape(n, 4)
    phi = np.asarray(m.palm_angles).reshape(n, 4)
    angles = np.asarray(m.joint_angles).reshape(n, 15, 2)

    def intervals(values: np.ndarray, names: Sequence[str], lower=-np.inf, upper=np.inf, absolute=0.0, relative=0.0):
        """Robust range widened by ``margin`` × its width, and at least by ``absolute`` and ``relative`` × |bound|."""
        lo, hi = robust_range(values, percentiles)
        width = hi - lo
        pad_lo = np.maximum(margin * width, np.maximum(absolute, relative * np.abs(lo)))
        pad_hi = np.maximum(margin * width, np.maximum(absolute, relative * np.abs(hi)))
        lo, hi = np.maximum(lo - pad_lo, lower), np.minimum(hi + pad_hi, upper)
        return {name: Interval(min=float(a), max=float(b)) for name, a, b in zip(names, lo, hi, strict=True)}

    polygons = {}
    for a in AngleJoint:
        poly = fit_joint_polygon(
            angles[:, a],
            hull_points,
            percentiles=percentiles,
            margin=margin,
            angle_margin=angle_margin,
            rdp_epsilon=rdp_epsilon,
        )
        polygons[a.name] = AnglePolygon(points=poly)
    bone_lengths = intervals(lengths, [b.name for b in Bone], lower=0.0, relative=bone_tolerance)
    if target == Units.ref:  # the reference bone is 1 by definition: no interval (and no kink at 1 in the loss)
        bone_lengths.pop(DEFAULT_REFERENCE_BONE)
    fitted = JointLimits(
        units=target,
        bone_lengths=bone_lengths,
        palm_curvature=intervals(curvature, PALM_PAIRS, absolute=curvature_tolerance),
        palm_angles=intervals(phi, PALM_PAIRS, lower=0.0, upper=math.pi, absolute=angle_margin),
        joint_angles=polygons,
        provenance=_provenance(provenance, source="fit", notes=f"fitted on {n} hands"),
    )
    return fitted if base is None else base.merge(fitted, rule=merge, hull_points=hull_points)


def fit_joint_polygon(
    points: np.ndarray,
    hull_points: int = 10,
    *,
    percentiles: tuple[float, float] | None = None,
    margin: float = 0.0,
    angle_margin: float = 0.0,
    rdp_epsilon: float | None = None,
) -> np.ndarray:
    """One joint's polygon ``(≤ hull_points, 2)`` around its (flexion, abduction) samples ``(n, 2)``, radians.

    Fitted to the points within the ``percentiles`` of both angles (all points when None), that range widened by
    ``margin`` × its width as the intervals are (so only outliers beyond the widened range are left out), then
    grown outwards by ``angle_margin``; points spanning no area get a box around them ± max(``angle_margin``,
    :data:`MIN_POLYGON_HALF_WIDTH`).
    """
    pts = points
    if percentiles is not None:
        lo, hi = robust_range(pts, percentiles)
        lo, hi = lo - margin * (hi - lo), hi + margin * (hi - lo)
        pts = pts[np.all((pts >= lo) & (pts <= hi), axis=1)]
    poly = fit_polygon(pts, hull_points, rdp_epsilon=rdp_epsilon)
    if polygon_area(poly) <= 1e-12:  # the data span no area (e.g. one pose): a small box around them
        pad = max(angle_margin, MIN_POLYGON_HALF_WIDTH)
        lo, hi = pts.min(axis=0) - pad, pts.max(axis=0) + pad
        return box_polygon(lo[0], hi[0], lo[1], hi[1], hull_points)
    return grow_polygon(poly, angle_margin) if angle_margin > 0 else poly


def robust_range(values: np.ndarray, percentiles: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray]:
    """Per column of ``values (n, ...)``: (min, max), or the (lo, hi) ``percentiles`` (0 <= lo < hi <= 100)."""
    if percentiles is None:
        return values.min(axis=0), values.max(axis=0)
    lo, hi = percentiles
    if not 0 <= lo < hi <= 100:
        raise LimitsError(f"percentiles must satisfy 0 <= lo < hi <= 100, got {percentiles}.")
    return np.percentile(values, lo, axis=0), np.percentile(values, hi, axis=0)


def grow_polygon(polygon: np.ndarray, margin: float) -> np.ndarray:
    """A CCW convex polygon ``(N, 2)`` with each vertex moved outwards so every edge shifts by ``margin`` (stays convex)."""
    prev_edge = polygon - np.roll(polygon, 1, axis=0)
    next_edge = np.roll(polygon, -1, axis=0) - polygon

    def outward(e: np.ndarray) -> np.ndarray:
        n = np.stack([e[:, 1], -e[:, 0]], axis=1)  # right-hand normal = outside for CCW
        length = np.linalg.norm(n, axis=1, keepdims=True)
        return np.divide(n, length, out=np.zeros_like(n), where=length > 0)

    n1, n2 = outward(prev_edge), outward(next_edge)
    bisector = n1 + n2
    cos_half = np.clip(np.sum(bisector * n1, axis=1, keepdims=True), 1e-6, None)
    length = np.linalg.norm(bisector, axis=1, keepdims=True)
    direction = np.divide(bisector, length, out=n1.copy(), where=length > 1e-12)
    # distance along the bisector so that both adjacent edges move by `margin`
    scale = np.where(length > 1e-12, margin * length / cos_half, margin)
    return polygon + direction * scale


def _check_widths(**values: Any) -> None:
    """A :class:`LimitsError` naming the first of ``values`` that is not a finite number >= 0."""
    for name, value in values.items():
        number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        if not (number and math.isfinite(value) and value >= 0):
            raise LimitsError(f"{name} must be a finite number >= 0; got {value!r}.")


def _as_one_skeleton(skeletons: HandSkeleton | Iterable[HandSkeleton]) -> HandSkeleton:
    """One right-hand skeleton from one skeleton or several (flattened and concatenated; all in one unit)."""
    if isinstance(skeletons, HandSkeleton):
        sk = skeletons
    else:
        items = list(skeletons)
        if not items:
            raise ShapeError("fit needs at least one HandSkeleton.")
        rights = [s.as_right() for s in items]
        units = {s.units for s in rights}
        if len(units) > 1:
            raise UnitsError(
                f"fit got skeletons in several units ({', '.join(u.value for u in units)}); convert them first."
            )
        flat = [HandSkeleton.unchecked(np.asarray(s.numpy().joints).reshape(-1, 21, 3), units=s.units) for s in rights]
        sk = HandSkeleton.concatenate(flat)
    return sk.as_right() if sk.side == Side.left else sk


def _provenance(value: Provenance | Mapping[str, Any] | None, **defaults: Any) -> Provenance:
    if isinstance(value, Provenance):
        return value
    return Provenance(**{**defaults, **(dict(value) if value else {})})


__all__ = ["fit_limits", "fit_joint_polygon", "robust_range", "grow_polygon", "MIN_POLYGON_HALF_WIDTH"]
