"""The bounds math of a ``JointLimits``: its constraints as arrays, a hand and its limits in one unit, and by
how much a measurement exceeds each kind of constraint. One code path for numpy and torch.

* :class:`LimitArrays` / :func:`limit_arrays` — a ``JointLimits`` as arrays on one backend.
* :func:`limit_scale` / :func:`to_limit_units` — the one place that puts hands and limits in one length unit.
* The excess of each kind of constraint (0 where it holds), all ``(...)`` batch-first:

  ============================  =========================================  ==============================
  constraint (``JointLimits``)  excess                                      measured with
  ============================  =========================================  ==============================
  ``bone_lengths``              :func:`interval_excess`                     bone lengths ``(..., 20)``
  ``palm_curvature``            :func:`interval_excess`                     curvature ``(..., 4)``
  ``palm_angles``               :func:`interval_excess`                     angular distance ``(..., 4)``
  ``joint_angles``              :func:`polygon_excess` (D_A or Euclidean)   joint angles ``(..., 15, 2)``
  ``couplings``                 :func:`coupling_excess`                     joint angles ``(..., 15, 2)``
  ============================  =========================================  ==============================

The loss (:mod:`handkin.losses`) averages these per hand with the paper's weights, the report
(:mod:`handkin.report`) scales them to the hand's unit and to degrees. A new kind of limit is one field of
``JointLimits``, one array of :class:`LimitArrays`, one excess function here, one loss term and one report row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np

from .anatomy import AngleJoint, Joint
from .backend import Array, is_torch, namespace
from .errors import ShapeError, UnitsError
from .hull import bmc_distance, distance, polygon_edges
from .limits import Coupling, JointLimits
from .skeleton import HandSkeleton
from .units import Units, scale_factor
from .units import units as parse_units

#: How :func:`polygon_excess` measures the way out of a joint's polygon: the paper's D_A (supplementary
#: Eq. 3–7, the loss) or the Euclidean distance in the (flexion, abduction) plane (radians, the report).
PolygonMetric = Literal["bmc", "euclidean"]


class LimitArrays(NamedTuple):
    """A ``JointLimits`` as arrays on one backend (:func:`limit_arrays`), in the limits' length unit."""

    bones: Array
    """(20, 2) [min, max] per bone; ±inf where unset."""
    curvature: Array
    """(4, 2) per palm pair."""
    palm_angles: Array
    """(4, 2) per palm pair, radians."""
    polygons: Array
    """(15, N, 2) padded joint polygons, radians."""
    couplings: Array
    """(C, 5): PIP index, DIP index, ratio, offset, band (:func:`coupling_array`)."""
    polygon_edges: Array | None = None
    """(15, 11, N) the polygons' edge table (:func:`handkin.hull.polygon_edges`), read by the loss's D_A; None:
    built from ``polygons`` when needed (a ``LimitArrays`` of the five arrays above still works)."""


def coupling_array(couplings: Sequence[Coupling]) -> np.ndarray:
    """DIP–PIP couplings as rows ``(C, 5)``: PIP angle-joint index, DIP angle-joint index, ratio, offset, band."""
    rows = [[c.joints[0], c.joints[1], c.ratio, c.offset, c.band] for c in couplings]
    return np.array(rows, dtype=float).reshape(-1, 5)


def limit_arrays(limits: JointLimits, like: Array | None = None) -> LimitArrays:
    """The limits as arrays with the dtype and device of ``like`` (numpy float64 when ``like`` is None)."""
    arrays = [
        limits.bone_bounds,
        limits.curvature_bounds,
        limits.palm_angle_bounds,
        limits.polygon_array,
        coupling_array(limits.couplings),
    ]
    arrays.append(polygon_edges(arrays[3]))
    if like is None or not is_torch(like):
        dtype = np.float64 if like is None else like.dtype
        return LimitArrays(*(a.astype(dtype) for a in arrays))
    import torch

    return LimitArrays(*(torch.as_tensor(a, dtype=like.dtype, device=like.device) for a in arrays))


# ---------------------------------------------------------------------------------------------- units


def limit_scale(limits: JointLimits, units: Any, reference_length: Array | None = None) -> Array | float:
    """How long one length unit of ``limits`` is in ``units``: hand lengths = limit lengths × scale, hand
    curvature = limit curvature ÷ scale.

    For ``ref`` limits that is each hand's reference-bone length (``reference_length (...)``, in ``units``; a zero
    length counts as 1, as :meth:`HandSkeleton.normalized` leaves such a hand unscaled), also when ``units`` is
    ``ref`` (the hand is normalised by the limits' reference bone). For physical limits it is the unit's factor:
    a float, or an array shaped like ``reference_length`` when that is given. Physical limits cannot take ``ref``
    hands (:class:`~handkin.errors.UnitsError`).
    """
    target = parse_units(units)
    if limits.units == Units.ref:
        if reference_length is None:
            raise UnitsError(f"limits in 'ref' units need the hands' reference_length (in {target.value!r}).")
        length = reference_length if hasattr(reference_length, "shape") else np.asarray(reference_length, float)
        xp = namespace(length)
        return xp.where(length != 0, length, xp.ones_like(length))
    if target == Units.ref:
        raise UnitsError(
            f"limits in {limits.units.value!r} cannot take a 'ref' hand; denormalize it first "
            "(HandSkeleton.denormalized) or use limits in 'ref' units."
        )
    factor = scale_factor(limits.units, target)
    if reference_length is None:
        return factor
    length = reference_length if hasattr(reference_length, "shape") else np.asarray(reference_length, float)
    return namespace(length).ones_like(length) * factor


class InLimitUnits(NamedTuple):
    """Hands in their limits' length unit (:func:`to_limit_units`)."""

    joints: Array
    """``(..., 21, 3)`` right hands in the limits' unit."""
    scale: Array
    """``(...)`` the length, in the hand's unit, of one unit of the limits (:func:`limit_scale`)."""


def to_limit_units(hand: HandSkeleton | Array, limits: JointLimits) -> InLimitUnits:
    """Right-hand joints in the limits' length unit, and the per-hand scale back to the hand's unit.

    A ``HandSkeleton`` is mirrored if left and converted: ``ref`` limits normalise each hand by the limits'
    reference bone, physical limits convert the unit. A plain array ``(..., 21, 3)`` is taken as right hands
    already in the limits' unit (scale 1). numpy or torch (differentiable).
    """
    if not isinstance(hand, HandSkeleton):
        shape = tuple(hand.shape)
        if len(shape) < 2 or shape[-2:] != (21, 3):
            raise ShapeError(f"joints must have shape (..., 21, 3), got {shape}.")
        return InLimitUnits(hand, namespace(hand).ones_like(hand[..., 0, 0]))
    right = hand.as_right()
    if limits.units == Units.ref:
        scale = limit_scale(limits, right.units, right.reference_length(limits.reference_bone))
        return InLimitUnits(right.joints / scale[..., None, None], scale)
    ones = namespace(right.joints).ones_like(right.joints[..., 0, 0])
    scale = limit_scale(limits, right.units, ones)
    if right.units == limits.units:
        return InLimitUnits(right.joints, scale)
    return InLimitUnits(right.joints * scale_factor(right.units, limits.units), scale)


# ---------------------------------------------------------------------------------------------- excess per kind


def interval_excess(x: Array, bounds: Array) -> Array:
    """``I(x; a, b) = max(a − x, 0) + max(x − b, 0)`` of ``x (..., K)`` against ``bounds (K, 2)`` → ``(..., K)``:
    bone lengths, palm curvature and palm angles (paper Eq. 7)."""
    xp = namespace(x)
    return xp.clip(bounds[..., 0] - x, min=0.0) + xp.clip(x - bounds[..., 1], min=0.0)


def polygon_excess(angles: Array, polygons: Array, metric: PolygonMetric = "bmc", edges: Array | None = None) -> Array:
    """How far each joint's (flexion, abduction) ``angles (..., 15, 2)`` lies outside its polygon
    ``(15, N, 2)`` → ``(..., 15)``; 0 inside. ``metric="bmc"``: the paper's D_A (:func:`handkin.hull.bmc_distance`,
    differentiable with an analytic gradient); ``"euclidean"``: the distance in radians
    (:func:`handkin.hull.distance`). ``edges``: the polygons' edge table if built already (``LimitArrays``)."""
    if metric == "bmc":
        return bmc_distance(angles, polygons, edges)
    if metric == "euclidean":
        return distance(angles, polygons)
    raise ValueError(f"metric must be 'bmc' or 'euclidean', got {metric!r}.")


def coupling_excess(angles: Array, couplings: Array) -> Array:
    """``max(|θ_DIP − r θ_PIP − o| − band, 0)`` per DIP–PIP coupling (rows of :func:`coupling_array`,
    ``(C, 5)``) of joint angles ``(..., 15, 2)`` → ``(..., C)``, radians (beyond the paper)."""
    xp = namespace(angles)
    pip = xp.astype(couplings[:, 0], xp.int64)
    dip = xp.astype(couplings[:, 1], xp.int64)
    flexion = angles[..., 0]
    residual = xp.take(flexion, dip, axis=-1) - couplings[:, 2] * xp.take(flexion, pip, axis=-1) - couplings[:, 3]
    return xp.maximum(xp.abs(residual) - couplings[:, 4], xp.zeros_like(residual))


def excess_at_joints(joint_angles: np.ndarray, couplings: np.ndarray, coupling_fingers: Sequence[str]) -> np.ndarray:
    """Per skeleton joint ``(..., 21)`` (numpy): each angle joint's polygon excess ``joint_angles (..., 15)`` at its
    joint, raised to each coupling's excess ``couplings (..., C)`` (of the fingers ``coupling_fingers``) at the
    coupled DIP; 0 at the wrist and the tips. For drawing where a hand breaks its limits."""
    joint_angles = np.asarray(joint_angles, dtype=float)
    out = np.zeros(joint_angles.shape[:-1] + (len(Joint),))
    out[..., [int(a.joint) for a in AngleJoint]] = joint_angles
    couplings = np.asarray(couplings, dtype=float)
    for k, finger in enumerate(coupling_fingers):
        dip = int(Coupling(finger=finger).joints[1].joint)
        out[..., dip] = np.maximum(out[..., dip], couplings[..., k])
    return out


__all__ = [
    "LimitArrays",
    "limit_arrays",
    "coupling_array",
    "limit_scale",
    "InLimitUnits",
    "to_limit_units",
    "interval_excess",
    "polygon_excess",
    "coupling_excess",
    "excess_at_joints",
    "PolygonMetric",
]
