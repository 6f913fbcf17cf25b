"""A built-in adult right hand of plausible proportions, for examples, tests and demos.

The template lies flat in its own frame: wrist at the origin, fingers pointing along +y, the palm
facing −z (so the back of the hand faces +z) and the thumb on the −x side. Every finger continues
straight along its root bone, so by the paper's definitions all joint angles are 0 and the palm
is flat (zero curvature).

The bone lengths are round adult values in millimetres. Normalised by the wrist→middle_mcp bone
they lie inside the bone-length ranges published with the public Hand-BMC reimplementation
(computed from RHD and GANerated hands); a test checks this against ``../shared/data``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .anatomy import ANGLE_BONES, FINGER_JOINTS, NUM_ANGLE_JOINTS, AngleJoint, Bone, Finger, Joint, angle_joint
from .backend import as_float_array, compiling, is_torch, namespace, to_numpy, to_torch
from .errors import ShapeError, UnitsError
from .handsize import BONE_LENGTHS_MM
from .skeleton import HandSkeleton
from .units import scale_factor

#: Adult bone lengths in millimetres, per bone (named after its child joint): :data:`handsize.BONE_LENGTHS_MM`.
ADULT_BONE_LENGTHS_MM: dict[Bone, float] = dict(zip(Bone, BONE_LENGTHS_MM, strict=True))

#: Direction of each finger's root bone in the flat template: degrees from +y, positive towards the thumb (−x).
ROOT_SPREAD_DEG: dict[Finger, float] = {
    Finger.thumb: 45.0, Finger.index: 10.0, Finger.middle: 0.0, Finger.ring: -10.0, Finger.little: -20.0,
}  # fmt: skip


def flat_hand(units: str = "mm", dtype=np.float64) -> HandSkeleton:
    """The flat adult right-hand template as a single ``HandSkeleton`` (numpy)."""
    joints = np.zeros((21, 3), dtype=np.float64)
    for f in Finger:
        a = math.radians(ROOT_SPREAD_DEG[f])
        direction = np.array([-math.sin(a), math.cos(a), 0.0])
        position = np.zeros(3)
        for j in FINGER_JOINTS[f]:
            position = position + ADULT_BONE_LENGTHS_MM[Bone(int(j) - 1)] * direction
            joints[int(j)] = position
    assert joints[Joint.wrist].tolist() == [0.0, 0.0, 0.0]
    scale = 1.0 if units == "ref" else scale_factor("mm", units)
    if units == "ref":
        joints = joints / ADULT_BONE_LENGTHS_MM[Bone.middle_mcp]
    return HandSkeleton(joints=(joints * scale).astype(dtype), units=units, side="right")


def posed_hand(
    angles: Any = None,
    *,
    degrees: bool = False,
    units: str = "mm",
    side: str = "right",
) -> HandSkeleton:
    """The template hand posed with joint angles, by forward kinematics (palm and bone lengths of :func:`flat_hand`).

    ``angles`` is ``None`` (flat), a mapping ``{"index_pip": (flexion, abduction), ...}`` (other joints
    stay 0; each value a pair: a lone number is refused, as it could mean flexion or both), or an array
    ``(..., 15, 2)`` (numpy or torch; a batch gives a batch). Radians unless ``degrees=True``; every angle within
    ±π (±180°), the range joint angles are measured in (:class:`UnitsError` otherwise: 90 means degrees, not
    radians). A left hand is the mirror image of the right one.
    """
    template = flat_hand(units=units)
    if angles is None or isinstance(angles, Mapping):
        values = np.zeros((NUM_ANGLE_JOINTS, 2))
        for name, pair in (angles or {}).items():
            values[int(angle_joint(name))] = _angle_pair(name, pair)
    else:
        values = as_float_array(angles)
    _check_range(values, degrees)
    if degrees:
        values = values * (math.pi / 180.0)
    palm = template.joints
    lengths = np.asarray(template.bone_lengths)[[int(b) for b in ANGLE_BONES]]
    if is_torch(values):  # palm and lengths follow the angles' dtype and device
        palm, lengths = (to_torch(a, device=values.device, dtype=values.dtype) for a in (palm, lengths))
    else:
        palm, lengths = palm.astype(values.dtype), lengths.astype(values.dtype)
    return HandSkeleton.from_angles(values, lengths, palm, units=units, side=side)


def _angle_pair(name: Any, pair: Any) -> np.ndarray:
    """One joint's ``(flexion, abduction)`` of a :func:`posed_hand` mapping as a float array ``(2,)``."""
    example = f"{{{str(name)!r}: (flexion, abduction)}}, e.g. {{{str(name)!r}: (90, 0)}} with degrees=True"
    try:
        arr = np.asarray(pair, dtype=np.float64)
    except (TypeError, ValueError):
        raise ShapeError(f"posed_hand: angles[{name!r}] = {pair!r} is not a pair of numbers; give {example}.") from None
    if arr.shape != (2,):
        what = "a single number (flexion? both?)" if arr.ndim == 0 else f"of shape {arr.shape}"
        raise ShapeError(f"posed_hand: angles[{name!r}] = {pair!r} is {what}; give {example}.")
    return arr


def _check_range(values: Any, degrees: bool) -> None:
    """:class:`UnitsError` unless every angle of ``values`` ``(..., 15, 2)`` is within ±π (±180° with ``degrees``):
    the range measured angles come back in, so a larger one is a unit mix-up or a typo, not a pose."""
    if is_torch(values) and (values.device.type == "meta" or compiling()):
        return  # no values to look at (meta), or a data-dependent branch torch.compile should not trace
    limit = 180.0 if degrees else math.pi
    xp = namespace(values)
    bad = xp.abs(values) > limit * (1 + 1e-6)
    if not bool(xp.any(bad)):
        return
    index = np.argwhere(to_numpy(bad))[0]
    value = float(to_numpy(values)[tuple(index)])
    where = (
        f"{AngleJoint(int(index[-2])).name} {('flexion', 'abduction')[int(index[-1])]}"
        if values.ndim >= 2
        else "an angle"
    )
    if degrees:
        raise UnitsError(f"posed_hand: {where} is {value:g}°, outside ±180°; joint angles lie within ±180°.")
    raise UnitsError(
        f"posed_hand: {where} is {value:g} rad ({math.degrees(value):.0f}°), outside ±π; angles are radians unless "
        f"degrees=True: if you meant {value:g}°, pass degrees=True."
    )


__all__ = ["flat_hand", "posed_hand", "ADULT_BONE_LENGTHS_MM", "ROOT_SPREAD_DEG"]
