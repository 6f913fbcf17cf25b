"""Impossible twins: implausible hands made from real ones, for testing plausibility detectors.

Every generator takes right-hand joints ``(..., 21, 3)`` (numpy or torch, any length unit; left hands are
mirrored first, e.g. with :meth:`handkin.HandSkeleton.as_right`) and returns an array of the same shape, dtype
and backend. They are vectorised: a per-hand choice (which finger, which joint, which sign) is an integer or
float array broadcast over the batch, so a benchmark can draw one random choice per hand without a loop.

* :func:`depth_flip` — the classic monocular ambiguity: every joint's depth reflected about the wrist's depth
  along its own camera ray, so the pinhole projection ``(x/z, y/z)`` is kept exactly. Bone lengths are kept
  only to first order in (hand depth / distance to the camera).
* :func:`finger_depth_flip` — the same for one finger's outer joints, reflected about the depth of the finger's
  first joint after the palm (index…little: the MCP; thumb: the CMC, see the function).
* :func:`bend_back` — one angle joint's flexion set to −60° (hyperextension), the hand rebuilt by forward
  kinematics from its own palm, bone lengths and other angles (:func:`handkin.frames.forward`): bone lengths and
  every other angle are kept to rounding error.
* :func:`twist` — abduction added at one hinge (PIP, DIP or the thumb's IP), rebuilt the same way.
* :func:`to_virtual_camera` — puts hands stored in a wrist-local frame in front of a virtual pinhole camera,
  so that the depth flips apply to them.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import array_api_compat
import numpy as np

from . import anatomy
from .anatomy import NUM_ANGLE_JOINTS, NUM_JOINTS, AngleJoint, Finger, Joint
from .backend import Array, namespace
from .errors import CameraError, ShapeError, UnknownNameError
from .frames import forward, measure
from .units import scale_factor
from .units import units as parse_units

#: Angle joints that are hinges: where :func:`twist` may add abduction.
HINGE_JOINTS: tuple[AngleJoint, ...] = (AngleJoint.thumb_ip,) + tuple(
    AngleJoint[f"{f.name}_{part}"] for f in list(Finger)[1:] for part in ("pip", "dip")
)

#: A reflected depth must stay above this fraction of the pivot's depth (else :class:`CameraError`).
MIN_DEPTH_RATIO = 1e-3

_PALM_JOINTS = (0,) + tuple(1 + 4 * f for f in range(5))  # wrist, thumb_cmc, index_mcp, …, little_mcp
_ANGLE_BONE_INDEX = tuple(int(a.bone) for a in AngleJoint)


def _device(x: Array) -> Any:
    return array_api_compat.device(x)


def _check_joints(joints: Array) -> None:
    shape = tuple(joints.shape)
    if len(shape) < 2 or shape[-2:] != (NUM_JOINTS, 3):
        raise ShapeError(f"joints must have shape (..., 21, 3) (right hands, MP21 order), got {shape}.")


def _choice(value: Any, lookup, allowed: tuple[int, ...], what: str, batch: tuple[int, ...]) -> np.ndarray:
    """A name, index or integer array of per-hand choices as an int64 array broadcast to ``batch``."""
    if isinstance(value, str) or (np.ndim(value) == 0 and not hasattr(value, "shape")):
        idx = np.asarray(int(lookup(value)))
    else:
        arr = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
        if arr.dtype.kind not in "iu":
            raise UnknownNameError(f"a per-hand {what} array must hold integer indices, got dtype {arr.dtype}.")
        idx = arr.astype(np.int64)
    bad = ~np.isin(idx, np.asarray(allowed))
    if bad.any():
        first = int(idx[bad].ravel()[0])
        raise UnknownNameError(
            f"{what} {first} is not one of the allowed indices {list(allowed)} ({bad.sum()} bad entr(y/ies))."
        )
    try:
        return np.broadcast_to(idx, batch)
    except ValueError as exc:
        raise ShapeError(f"per-hand {what} of shape {idx.shape} does not broadcast to the batch {batch}.") from exc


def _angle_joint(value: Any, allowed: tuple[int, ...], what: str, batch: tuple[int, ...]) -> np.ndarray:
    def lookup(v):
        a = anatomy.angle_joint(v)
        if int(a) not in allowed:
            names = ", ".join(AngleJoint(i).name for i in allowed)
            raise UnknownNameError(f"{what} needs one of {names}; got {a.name!r}.")
        return a

    return _choice(value, lookup, allowed, what, batch)


def _reflect(xp, joints: Array, pivot_depth: Array, moved: Array) -> Array:
    """Joints with depth ``z`` where ``moved`` (..., 21) reflected to ``z' = 2·pivot_depth − z`` along their rays."""
    z = joints[..., 2]
    if bool(xp.any(z <= 0)):
        raise CameraError(
            "depth flips need hands in a camera frame with every joint in front of the camera (z > 0); "
            f"{int(xp.sum(xp.astype(xp.any(z <= 0, axis=-1), xp.int64)))} hand(s) have z <= 0. For hands in a "
            "wrist-local frame call handkin.twins.to_virtual_camera(joints) first."
        )
    pivot = pivot_depth[..., None]
    flipped = 2 * pivot - z
    too_close = moved & (flipped <= MIN_DEPTH_RATIO * pivot)
    if bool(xp.any(too_close)):
        n = int(xp.sum(xp.astype(xp.any(too_close, axis=-1), xp.int64)))
        raise CameraError(
            f"{n} hand(s) are too deep for a depth flip: a joint would land at or behind the camera "
            f"(reflected depth <= {MIN_DEPTH_RATIO} × the pivot's depth). Move the hands further from the camera, "
            "e.g. with to_virtual_camera(joints, distance_mm=...)."
        )
    ratio = xp.where(moved, flipped / z, xp.ones_like(z))
    return joints * ratio[..., None]


def depth_flip(joints: Array) -> Array:
    """Every joint's depth reflected about the wrist's depth along its camera ray: ``p' = p · z'/z`` with
    ``z' = 2·z_wrist − z``. Joints ``(..., 21, 3)`` in a camera frame (z > 0, any unit) → same shape.

    The projection ``(x/z, y/z)`` is kept exactly and ``depth_flip(depth_flip(j)) == j``; bone lengths are kept to
    first order in the hand's depth over its distance. :class:`~handkin.errors.CameraError` when a joint has
    ``z <= 0`` or would be reflected to ``z' <= MIN_DEPTH_RATIO · z_wrist``.
    """
    _check_joints(joints)
    xp = namespace(joints)
    moved = xp.ones_like(joints[..., 2]) > 0
    return _reflect(xp, joints, joints[..., int(Joint.wrist), 2], moved)


def finger_depth_flip(joints: Array, finger: Any) -> Array:
    """One finger's outer joints reflected in depth about its first joint after the palm, along their rays.

    ``finger`` is a name (``"index"``, ``"pinky"``…), an index 0–4 (thumb…little) or an integer array broadcast
    over the batch (one finger per hand). For index…little the PIP, DIP and tip are reflected about the MCP's
    depth; for the thumb the MCP, IP and tip about the CMC's depth (the thumb's CMC is where handkin measures the
    angles that the MCP carries on the other fingers, so each finger has its three angle joints changed).
    Joints ``(..., 21, 3)`` in a camera frame (z > 0) → same shape; projection kept exactly; errors as
    :func:`depth_flip`.
    """
    _check_joints(joints)
    xp = namespace(joints)
    batch = tuple(joints.shape[:-2])
    f = _choice(finger, anatomy.finger, tuple(range(5)), "finger", batch)
    base = 1 + 4 * f  # thumb_cmc, index_mcp, …, little_mcp
    k = np.arange(NUM_JOINTS)
    moved_np = (k > base[..., None]) & (k <= base[..., None] + 3)  # (..., 21)
    pivot_np = k == base[..., None]
    moved = xp.asarray(moved_np, device=_device(joints))
    pivot = xp.asarray(pivot_np, dtype=joints.dtype, device=_device(joints))
    pivot_depth = xp.sum(joints[..., 2] * pivot, axis=-1)
    return _reflect(xp, joints, pivot_depth, moved)


def _rebuild(joints: Array, joint: np.ndarray, flexion: Any = None, abduction_add: Any = None) -> Array:
    """Forward kinematics of ``joints`` with the angles at angle joint ``joint`` (per hand) changed."""
    xp = namespace(joints)
    m = measure(joints, with_frames=False)
    angles = m.joint_angles  # (..., 15, 2)
    lengths = m.bone_lengths[..., list(_ANGLE_BONE_INDEX)]
    hit = xp.asarray(np.arange(NUM_ANGLE_JOINTS) == joint[..., None], device=_device(joints))  # (..., 15)
    flex, abd = angles[..., 0], angles[..., 1]
    if flexion is not None:
        value = xp.asarray(np.radians(np.asarray(flexion, dtype=float)), dtype=joints.dtype, device=_device(joints))
        flex = xp.where(hit, value[..., None] if value.ndim else value, flex)
    if abduction_add is not None:
        delta = xp.asarray(
            np.radians(np.asarray(abduction_add, dtype=float)), dtype=joints.dtype, device=_device(joints)
        )
        abd = xp.where(hit, abd + (delta[..., None] if delta.ndim else delta), abd)
    palm = joints[..., list(_PALM_JOINTS), :]
    return forward(palm, xp.stack([flex, abd], axis=-1), lengths)


def bend_back(joints: Array, joint: Any, flexion_deg: Any = -60.0) -> Array:
    """One angle joint's flexion set to ``flexion_deg`` (default −60°, bent backwards), its abduction kept.

    ``joint`` is an angle-joint name (``"index_pip"``), an index 0–14 or an integer array broadcast over the
    batch; ``flexion_deg`` a number or an array broadcast over the batch. Right hands ``(..., 21, 3)`` (any unit)
    → same shape, rebuilt by forward kinematics from the hand's palm (wrist and the five finger bases), its bone
    lengths and every other angle, all kept to rounding error.
    """
    _check_joints(joints)
    j = _angle_joint(joint, tuple(range(NUM_ANGLE_JOINTS)), "bend_back", tuple(joints.shape[:-2]))
    return _rebuild(joints, j, flexion=flexion_deg)


def twist(joints: Array, joint: Any, abduction_deg: Any = 40.0) -> Array:
    """``abduction_deg`` (default +40°; a number or an array broadcast over the batch, e.g. ±40) added to the
    abduction at one hinge joint — a PIP, a DIP or ``thumb_ip`` (:data:`HINGE_JOINTS`) — flexion kept.

    ``joint`` is a name, an angle-joint index or an integer array broadcast over the batch. Right hands
    ``(..., 21, 3)`` (any unit) → same shape, rebuilt like :func:`bend_back`. The measured abduction is the old
    one plus ``abduction_deg`` while that stays within ±90°.
    """
    _check_joints(joints)
    allowed = tuple(int(a) for a in HINGE_JOINTS)
    j = _angle_joint(joint, allowed, "twist", tuple(joints.shape[:-2]))
    return _rebuild(joints, j, abduction_add=abduction_deg)


def to_virtual_camera(
    joints: Array, distance_mm: float = 500.0, *, units: Any = "mm", view: Literal["palm", "z"] = "palm"
) -> Array:
    """Hands in a wrist-local (or any) frame placed in front of a virtual pinhole camera (OpenCV axes, z forward).

    ``view="palm"`` (default) rotates each hand so that the camera looks at the back of the hand along the palm
    normal (``(index_mcp − wrist) × (little_mcp − wrist)``, which points to the palm side of a right hand) with
    wrist→middle_mcp pointing up the image (−y); ``view="z"`` keeps the stored axes (the camera looks along the
    stored frame's +z, e.g. MediaPipe world landmarks, whose axes follow the image). Either way the wrist is put
    at ``(0, 0, distance)`` — ``distance_mm`` converted to ``units``, the joints' length unit. A rigid motion: every
    measurement of the hands is unchanged. ``(..., 21, 3)`` → same shape.
    """
    _check_joints(joints)
    xp = namespace(joints)
    wrist = joints[..., :1, :]
    local = joints - wrist
    if view == "palm":

        def unit(v):
            return v / xp.maximum(xp.sqrt(xp.sum(v * v, axis=-1, keepdims=True)), 1e-30)

        index, little = local[..., int(Joint.index_mcp), :], local[..., int(Joint.little_mcp), :]
        z_axis = unit(xp.linalg.cross(index, little))  # towards the palm side (where the fingers flex)
        up = local[..., int(Joint.middle_mcp), :]
        y_axis = -unit(up - z_axis * xp.sum(up * z_axis, axis=-1, keepdims=True))  # image −y = towards the fingers
        x_axis = xp.linalg.cross(y_axis, z_axis)
        rot = xp.stack([x_axis, y_axis, z_axis], axis=-2)  # rows: camera axes in the stored frame
        local = xp.matmul(local, xp.permute_dims(rot, (*range(rot.ndim - 2), rot.ndim - 1, rot.ndim - 2)))
    elif view != "z":
        raise ShapeError(f"view must be 'palm' or 'z', got {view!r}.")
    distance = float(distance_mm) * scale_factor(parse_units("mm"), parse_units(units))
    if not math.isfinite(distance) or distance <= 0:
        raise CameraError(f"distance_mm must be a positive number, got {distance_mm!r}.")
    offset = xp.asarray([0.0, 0.0, distance], dtype=joints.dtype, device=_device(joints))
    return local + offset


__all__ = [
    "HINGE_JOINTS",
    "MIN_DEPTH_RATIO",
    "depth_flip",
    "finger_depth_flip",
    "bend_back",
    "twist",
    "to_virtual_camera",
]
