"""``constrain``: the nearest plausible hand — repair poses that break a ``JointLimits``.

1. Measure the hand (left hands mirrored, lengths in the limits' unit).
2. Project every joint's (flexion, abduction) onto its polygon (nearest point in the angle plane), clip every
   finger bone's length into its interval, and move each root joint along its root bone so that the root
   bone's length is in its interval.
3. Rebuild the fingers by forward kinematics from the (clipped) palm: the angles and lengths of step 2 hold
   exactly.
4. A palm still outside its intervals (curvature, angular distance, root-bone lengths) is moved along the
   straight line towards the template's palm (scaled to the hand's reference bone and rigidly aligned to its
   palm) just far enough to be inside — found by batched bisection — and the fingers are rebuilt on it by
   forward kinematics again, so they keep their angles and lengths.

After constraining, every constraint holds to rounding error: the total BMC loss (paper weights) of each hand
is at most :data:`LOSS_TOLERANCE`. The palm step needs the template's palm to be feasible under the limits (it is
under the defaults and any limits fitted on hands like it); where it is not, that hand's palm is left as is
and ``ConstrainReport.converged`` is False.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .anatomy import ANGLE_BONES, ROOT_BONES
from .anatomy import bone as anatomy_bone
from .backend import is_torch
from .bounds import LimitArrays, coupling_excess, interval_excess, limit_arrays, to_limit_units
from .errors import UnitsError
from .frames import forward, measure
from .hull import _outside_only, bmc_distance, project
from .limits import JointLimits
from .losses import LossTerms, _terms_from_excess
from .palm import palm_soa
from .sides import left_mask, mirror_where
from .skeleton import HandSkeleton
from .template import flat_hand
from .vec import to_soa

#: Largest total loss (paper weights) a constrained hand may keep.
LOSS_TOLERANCE = 1e-6

_PALM = [0] + [int(b) + 1 for b in ROOT_BONES]
_FINGER_BONES = [int(b) for b in ANGLE_BONES]
_ROOT = [int(b) for b in ROOT_BONES]


class ConstrainReport(NamedTuple):
    """What :func:`constrain` did, per hand."""

    displacement: np.ndarray
    """``(..., 21)`` how far each joint moved, in the skeleton's unit."""
    loss_before: LossTerms
    """Loss terms ``(...)`` before."""
    loss_after: LossTerms
    """Loss terms ``(...)`` after: of the palms, joint angles and finger-bone lengths that forward kinematics
    built the result from (it realises them to rounding error; no second measurement)."""
    palm_repaired: np.ndarray
    """``(...)`` True for hands whose palm had to be moved towards the template's."""
    converged: np.ndarray
    """``(...)`` True where the total loss after is at most :data:`LOSS_TOLERANCE`."""


def _project_palm_lengths(joints: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Wrist + root joints ``(M, 6, 3)`` with every root bone's length clipped into its interval."""
    wrist = joints[:, :1]
    roots = joints[:, _PALM[1:]]
    vec = roots - wrist
    length = np.linalg.norm(vec, axis=-1)
    clipped = np.clip(length, bounds[_ROOT, 0], bounds[_ROOT, 1])
    scale = np.divide(clipped, length, out=np.ones_like(length), where=length > 0)
    return np.concatenate([wrist, wrist + vec * scale[..., None]], axis=1)


def _pair_excess(curvature: np.ndarray, angles: np.ndarray, arrays: LimitArrays) -> np.ndarray:
    """Curvature plus angular-distance excess per palm pair ``(M, 4)`` (what the root-bone loss term sums)."""
    return interval_excess(curvature, arrays.curvature) + interval_excess(angles, arrays.palm_angles)


def _palm_excess(palm: np.ndarray, arrays: LimitArrays) -> tuple[np.ndarray, np.ndarray]:
    """Interval excess of palms ``(M, 6, 3)``: of the root-bone lengths ``(M, 5)`` and per palm pair ``(M, 4)``."""
    rb = palm[:, 1:] - palm[:, :1]
    p = palm_soa(to_soa(rb))  # rows (4, M)
    root = interval_excess(np.linalg.norm(rb, axis=-1), arrays.bones[_ROOT])
    return root, _pair_excess(p.curvature.T, p.angles.T, arrays)


def _worst(root_excess: np.ndarray, pair_excess: np.ndarray) -> np.ndarray:
    """``(M,)``, positive where a palm breaks a limit (curvature, angular distance, root-bone lengths)."""
    return np.max(np.concatenate([root_excess, pair_excess], axis=-1), axis=-1)


def _palm_violation(palm: np.ndarray, arrays: LimitArrays) -> np.ndarray:
    """``(M,)``, positive where palms ``(M, 6, 3)`` break a limit."""
    return _worst(*_palm_excess(palm, arrays))


def _terms(bone_excess: np.ndarray, pair_excess: np.ndarray, angles: np.ndarray, arrays: LimitArrays) -> LossTerms:
    """The loss terms ``(M,)`` (``handkin.losses._terms_from_excess``) from the excess of the 20 bone lengths
    ``(M, 20)``, of the palm pairs ``(M, 4)`` and the joint angles ``(M, 15, 2)`` (D_A computed only for the
    joints outside their polygons)."""
    outside = _outside_only(bmc_distance, angles, arrays.polygons, np.zeros(angles.shape[:-1]))
    couplings = coupling_excess(angles, arrays.couplings) if arrays.couplings.shape[0] > 0 else None
    return _terms_from_excess(bone_excess, pair_excess, outside, couplings)


def _with_reference_length(palm: np.ndarray, ref_index: int, length: np.ndarray) -> np.ndarray:
    """Palms with the reference root joint moved along its bone so the reference bone has ``length``."""
    out = palm.copy()
    vec = palm[:, ref_index] - palm[:, 0]
    norm = np.linalg.norm(vec, axis=-1, keepdims=True)
    out[:, ref_index] = palm[:, 0] + np.divide(vec, norm, out=np.zeros_like(vec), where=norm > 0) * length[:, None]
    return out


def _aligned_template_palm(palm: np.ndarray, limits: JointLimits) -> np.ndarray:
    """The template's palm ``(M, 6, 3)`` scaled to each hand's reference bone and rigidly aligned (Kabsch) to it."""
    template = np.asarray(flat_hand(units="ref").joints)[_PALM]
    ref_index = _PALM.index(int(anatomy_bone(limits.reference_bone)) + 1)
    ref_len = np.linalg.norm(palm[:, ref_index] - palm[:, 0], axis=-1)
    tmpl = template[None] * ref_len[:, None, None] / np.linalg.norm(template[ref_index] - template[0])
    tc, pc = tmpl - tmpl.mean(1, keepdims=True), palm - palm.mean(1, keepdims=True)
    u, _, vt = np.linalg.svd(np.swapaxes(tc, 1, 2) @ pc)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.ones((len(palm), 3))
    fix[:, 2] = d
    rot = (u * fix[:, None, :]) @ vt  # rotation taking template offsets onto palm offsets (row vectors)
    return tc @ rot + palm.mean(1, keepdims=True)


def _repair_palm(
    palm: np.ndarray, limits: JointLimits, arrays: LimitArrays, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Move infeasible palms the shortest way along the line towards the aligned template palm until feasible
    (bisection, ``steps`` halvings), keeping the reference bone's length (so lengths in ``ref`` units stay
    valid). Returns the palms and a mask of those that are feasible at the end."""
    ref_index = _PALM.index(int(anatomy_bone(limits.reference_bone)) + 1)
    ref_length = np.linalg.norm(palm[:, ref_index] - palm[:, 0], axis=-1)
    target = _aligned_template_palm(palm, limits)

    def at(alpha: np.ndarray) -> np.ndarray:
        return _with_reference_length(palm + (target - palm) * alpha[:, None, None], ref_index, ref_length)

    feasible_target = _palm_violation(at(np.ones(len(palm))), arrays) <= 0
    lo, hi = np.zeros(len(palm)), np.ones(len(palm))
    for _ in range(steps):
        mid = (lo + hi) / 2
        ok = _palm_violation(at(mid), arrays) <= 0
        hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
    repaired = np.where(feasible_target[:, None, None], at(hi), palm)
    return repaired, feasible_target


def constrain(
    skeleton: HandSkeleton,
    limits: JointLimits,
    *,
    palm_steps: int = 16,
) -> tuple[HandSkeleton, ConstrainReport]:
    """The nearest plausible skeleton under ``limits`` and a report of what moved (see the module docs).

    Batched over any leading shape; returns a ``HandSkeleton`` in the input's unit, side, backend, dtype and
    device (the repair runs in float64 numpy: a torch result carries no gradient). The report is numpy.
    """
    if not isinstance(skeleton, HandSkeleton):
        raise UnitsError(
            f"constrain takes a HandSkeleton, got {type(skeleton).__name__}: wrap the joints with their unit, "
            "e.g. constrain(HandSkeleton(joints, units='mm'), limits)."
        )
    sk = skeleton.numpy()
    batch = sk.batch_shape
    in_float64 = HandSkeleton.unchecked(np.asarray(sk.joints, dtype=np.float64), units=sk.units, side=sk.side)
    joints, scale = to_limit_units(in_float64, limits)
    joints, scale = joints.reshape(-1, 21, 3), scale.reshape(-1)
    arrays = limit_arrays(limits)
    m = measure(joints, with_frames=False)  # the one measurement: the loss before and the targets below
    lengths_before = np.asarray(m.bone_lengths)
    pairs_before = _pair_excess(np.asarray(m.palm_curvature), np.asarray(m.palm_angles), arrays)
    before = _terms(interval_excess(lengths_before, arrays.bones), pairs_before, np.asarray(m.joint_angles), arrays)
    angles = project(np.asarray(m.joint_angles), arrays.polygons)
    lengths = np.clip(lengths_before[:, _FINGER_BONES], arrays.bones[_FINGER_BONES, 0], arrays.bones[_FINGER_BONES, 1])
    palm = _project_palm_lengths(joints, arrays.bones)
    out = forward(palm, angles, lengths)
    root_excess, pairs_after = _palm_excess(palm, arrays)
    needs = _worst(root_excess, pairs_after) > 0
    if np.any(needs):
        palm[needs], _ = _repair_palm(palm[needs], limits, arrays, palm_steps)
        out[needs] = forward(palm[needs], angles[needs], lengths[needs])
        root_excess[needs], pairs_after[needs] = _palm_excess(palm[needs], arrays)
    # the loss after, of what forward kinematics built: these palms, angles and finger-bone lengths (which it
    # realises to rounding error), not of a second measurement
    bone_after = np.empty_like(lengths_before)
    bone_after[:, _ROOT] = root_excess
    bone_after[:, _FINGER_BONES] = interval_excess(lengths, arrays.bones[_FINGER_BONES])
    after = _terms(bone_after, pairs_after, angles, arrays)
    result = out * scale[:, None, None]
    result = mirror_where(result.reshape(*batch, 21, 3), left_mask(sk.side))
    moved = np.linalg.norm(result - np.asarray(sk.joints), axis=-1)

    def shaped(terms: LossTerms) -> LossTerms:
        return LossTerms(*(np.asarray(t).reshape(batch) for t in terms))

    report = ConstrainReport(
        displacement=moved,
        loss_before=shaped(before),
        loss_after=shaped(after),
        palm_repaired=needs.reshape(batch),
        converged=(np.asarray(after.total) <= LOSS_TOLERANCE).reshape(batch),
    )
    return _like(skeleton, HandSkeleton.unchecked(result, units=sk.units, side=sk.side)), report


def _like(original: HandSkeleton, result: HandSkeleton) -> HandSkeleton:
    """``result`` (numpy float64) on ``original``'s backend, dtype and device."""
    if is_torch(original.joints):
        return result.torch(device=original.joints.device, dtype=original.joints.dtype)
    return HandSkeleton.unchecked(
        np.asarray(result.joints, dtype=original.joints.dtype), units=result.units, side=result.side
    )


__all__ = ["constrain", "ConstrainReport", "LOSS_TOLERANCE"]
