"""Bone frames, joint angles and forward kinematics (paper §3.1, Eq. 4–6; supplementary Eq. 1–2).

Every finger bone below the root bones gets a right-handed frame F = (x, y, z):

* **first level** (the bones of thumb_mcp, index_pip, middle_pip, ring_pip, little_pip):
  z = norm(parent root bone); x = −n_1 (thumb), −n_2 (index), −norm(n_3 + n_2) (middle),
  −norm(n_4 + n_3) (ring), −n_4 (little) with the palm normals n_i of :mod:`handkin.palm`;
  y = z × x (Eq. 4);
* **next levels**: the child frame is the parent frame rotated by the minimal rotation taking its
  z onto the parent bone's direction d (Eq. 6). In the parent frame's own coordinates that
  rotation is ``R(d) = I + [v]× + [v]×² / (1 + d_z)`` with ``v = ẑ × d``, so ``F_child = F · R(d)``.

A bone b seen in its frame, ``(b_x, b_y, b_z) = Fᵀ b``, has flexion ``θf = atan2(b_x, b_z)`` ∈ [−π, π]
and abduction ``θa = atan2(b_y, hypot(b_x, b_z))`` ∈ [−π/2, π/2] — the paper's α() with its octant
lookup, without arccos. Forward kinematics inverts this: ``d = (sin θf cos θa, sin θa, cos θf cos θa)``
and ``b = length · F d``. For a right hand, flexion towards the palm and abduction towards the
thumb side are positive; a flat hand has all angles 0.

Degenerate cases (finite values and gradients throughout): a zero-length bone has angles (0, 0)
and passes its frame on unchanged; a bone pointing exactly backwards (d_z = −1, flexion ±π) is
treated as flexion by π about the frame's y axis, so the next frame stays right-handed; palm
fallbacks are listed in :mod:`handkin.palm`; a zero-length root bone takes the direction of the sum
of the root bones (or +z) as its z axis.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import array_api_compat
import numpy as np
from pydantic import model_validator

from . import anatomy
from .anatomy import ANGLE_BONES, NUM_ANGLE_JOINTS, AngleJoint, Side
from .backend import Array, cross, dot, namespace, promote_half, safe_atan2, safe_norm, safe_normalize, to_numpy
from .errors import ShapeError
from .palm import degenerate_tolerance, palm_normal, perpendicular, root_bone_normals, unit_axis
from .validation import HandkinModel

#: Eq. 4 as a matrix: finger f's first-level x axis is −norm(Σ_i X_MIX[f, i] n_i).
X_MIX = np.array(
    [[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1]],
    dtype=np.float64,
)


class Axes(NamedTuple):
    """The three axes of a batch of frames, each ``(..., 3)``."""

    x: Array
    y: Array
    z: Array


def first_level_frames(root_bones: Array) -> Axes:
    """Frames of the five first-level finger bones from the root bones ``(..., 5, 3)`` (Eq. 4); axes ``(..., 5, 3)``."""
    xp = namespace(root_bones)
    b = root_bones
    tol = degenerate_tolerance(xp, b.dtype)
    n = root_bone_normals(b)
    mix = xp.asarray(X_MIX, dtype=b.dtype, device=array_api_compat.device(b))
    overall = safe_normalize(xp.sum(b, axis=-2), unit_axis(xp, b, 2))
    z = safe_normalize(b, overall[..., None, :])
    x_raw = safe_normalize(-xp.matmul(mix, n), -palm_normal(b)[..., None, :], 1e-6)
    x = safe_normalize(x_raw - dot(x_raw, z)[..., None] * z, perpendicular(z), tol)
    return Axes(x, cross(z, x), z)


def _rotate(frame: Axes, d: Array) -> Axes:
    """``F · R(d)``: the frame rotated by the minimal rotation taking its z onto the unit direction ``d`` (frame coords)."""
    xp = namespace(d)
    dx, dy, dz = d[..., 0:1], d[..., 1:2], d[..., 2:3]
    one_plus = 1 + dz
    backwards = one_plus <= float(xp.finfo(d.dtype).eps)
    k = 1 / xp.where(backwards, xp.ones_like(one_plus), one_plus)
    kxy = -k * dx * dy
    x, y, z = frame
    new_x = (1 - k * dx * dx) * x + kxy * y - dx * z
    new_y = kxy * x + (1 - k * dy * dy) * y - dy * z
    new_z = dx * x + dy * y + dz * z
    # exactly backwards: flexion by π about y, i.e. x → −x, z → −z
    new_x = xp.where(backwards, -x, new_x)
    new_y = xp.where(backwards, y, new_y)
    return Axes(new_x, new_y, new_z)


def angles_from_local(local: Array) -> Array:
    """(flexion, abduction) ``(..., 2)`` of bones given in frame coordinates ``(..., 3)``."""
    xp = namespace(local)
    bx, by, bz = local[..., 0], local[..., 1], local[..., 2]
    hyp = safe_norm(xp.stack([bx, bz], axis=-1))
    return xp.stack([safe_atan2(bx, bz), safe_atan2(by, hyp)], axis=-1)


def direction_from_angles(angles: Array) -> Array:
    """Unit direction ``(..., 3)`` in frame coordinates of (flexion, abduction) ``(..., 2)``."""
    xp = namespace(angles)
    f, a = angles[..., 0], angles[..., 1]
    ca = xp.cos(a)
    return xp.stack([xp.sin(f) * ca, xp.sin(a), xp.cos(f) * ca], axis=-1)


def _finger_chains(joints: Array) -> Array:
    """Joints 1..20 as ``(..., 5, 4, 3)``: five fingers, four joints each from the base outwards."""
    xp = namespace(joints)
    return xp.reshape(joints[..., 1:, :], (*joints.shape[:-2], 5, 4, 3))


@promote_half
def measure(joints: Array) -> tuple[Array, Array]:
    """Joint angles ``(..., 15, 2)`` and frames ``(..., 15, 3, 3)`` (columns x, y, z) of right hands ``(..., 21, 3)``."""
    xp = namespace(joints)
    chains = _finger_chains(joints)
    frame = first_level_frames(chains[..., 0, :] - joints[..., None, 0, :])
    ez = unit_axis(xp, joints, 2)
    angles, frames = [], []
    for level in range(3):
        x, y, z = frame
        frames.append(xp.stack(frame, axis=-1))
        bone = chains[..., level + 1, :] - chains[..., level, :]
        local = xp.stack([dot(bone, x), dot(bone, y), dot(bone, z)], axis=-1)
        angles.append(angles_from_local(local))
        if level < 2:
            frame = _rotate(frame, safe_normalize(local, ez))
    batch = tuple(joints.shape[:-2])
    # (..., 5 fingers, 3 levels, ...) → finger-major (..., 15, ...)
    angle_arr = xp.reshape(xp.stack(angles, axis=-2), (*batch, NUM_ANGLE_JOINTS, 2))
    frame_arr = xp.reshape(xp.stack(frames, axis=-3), (*batch, NUM_ANGLE_JOINTS, 3, 3))
    return angle_arr, frame_arr


@promote_half
def forward(palm: Array, angles: Array, lengths: Array) -> Array:
    """Joints ``(..., 21, 3)`` of a right hand from its palm, 15 angle pairs and 15 finger-bone lengths.

    ``palm`` is ``(..., 6, 3)``: the wrist, then thumb_cmc, index_mcp, middle_mcp, ring_mcp,
    little_mcp. ``angles`` ``(..., 15, 2)`` and ``lengths`` ``(..., 15)`` are in angle-joint order.
    Batch shapes broadcast.
    """
    xp = namespace(palm, angles, lengths)
    batch = np.broadcast_shapes(tuple(palm.shape[:-2]), tuple(angles.shape[:-2]), tuple(lengths.shape[:-1]))
    wrist = palm[..., :1, :]
    frame = first_level_frames(palm[..., 1:, :] - wrist)
    ang = xp.reshape(angles, (*angles.shape[:-2], 5, 3, 2))
    length = xp.reshape(lengths, (*lengths.shape[:-1], 5, 3))
    position = palm[..., 1:, :]
    chain = [xp.broadcast_to(position, (*batch, 5, 3))]
    for level in range(3):
        d = direction_from_angles(ang[..., level, :])
        x, y, z = frame
        bone = length[..., level, None] * (d[..., 0:1] * x + d[..., 1:2] * y + d[..., 2:3] * z)
        position = position + bone
        chain.append(xp.broadcast_to(position, (*batch, 5, 3)))
        if level < 2:
            frame = _rotate(frame, d)
    fingers = xp.reshape(xp.stack(chain, axis=-2), (*batch, 20, 3))
    return xp.concat([xp.broadcast_to(wrist, (*batch, 1, 3)), fingers], axis=-2)


class AnglePair(NamedTuple):
    """Flexion and abduction of one joint, radians, each ``(...)``."""

    flexion: Array
    abduction: Array


class JointAngles:
    """A named view of joint angles ``(..., 15, 2)``: ``angles["index_pip"].flexion``, ``angles.degrees()``."""

    def __init__(self, values: Array) -> None:
        if tuple(values.shape[-2:]) != (NUM_ANGLE_JOINTS, 2):
            raise ShapeError(f"joint angles must have shape (..., 15, 2), got {tuple(values.shape)}.")
        self.values = values

    @property
    def flexion(self) -> Array:
        """Flexion of the 15 angle joints ``(..., 15)``, radians (towards the palm positive)."""
        return self.values[..., 0]

    @property
    def abduction(self) -> Array:
        """Abduction of the 15 angle joints ``(..., 15)``, radians (towards the thumb side positive)."""
        return self.values[..., 1]

    def __getitem__(self, name: Any) -> AnglePair:
        a = int(anatomy.angle_joint(name))
        return AnglePair(self.values[..., a, 0], self.values[..., a, 1])

    def degrees(self) -> Array:
        """The values in degrees ``(..., 15, 2)`` (for reports and pictures)."""
        return self.values * (180.0 / np.pi)

    def table(self, index: Any = ()) -> str:
        """A plain-text table (degrees) of one hand of the batch (``index`` into the batch)."""
        deg = np.asarray(to_numpy(self.degrees()))[index]
        if deg.ndim != 2:
            raise ShapeError("table() shows one hand: pass the batch index of the hand to show.")
        lines = [f"{'joint':<12} {'flexion°':>9} {'abduction°':>11}"]
        lines += [f"{a.name:<12} {deg[a, 0]:9.1f} {deg[a, 1]:11.1f}" for a in AngleJoint]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"JointAngles(shape={tuple(self.values.shape)})"


class BoneFrame(HandkinModel):
    """The frames of the 15 finger bones: rotation matrices ``(..., 15, 3, 3)`` with columns x, y, z.

    Frame ``k`` sits at angle joint ``k`` (thumb_cmc … little_dip, the joint where the rotation
    happens) and is the frame in which that joint's angles are measured; its z axis is the
    direction of the parent bone. Look frames up by angle-joint name (``frames["index_mcp"]``) or
    by the bone they measure (``frames.of_bone("index_pip")``, the same frame). ``origins`` are the
    joint positions ``(..., 15, 3)``. Frames of a left hand are those of its mirror image, mirrored
    back (so they are left-handed and the axes keep their anatomical meaning).
    """

    matrices: Any
    origins: Any = None
    side: Side = Side.right

    @model_validator(mode="after")
    def _check(self) -> BoneFrame:
        shape = tuple(self.matrices.shape)
        if shape[-3:] != (NUM_ANGLE_JOINTS, 3, 3):
            raise ShapeError(f"BoneFrame matrices must have shape (..., 15, 3, 3), got {shape}.")
        if self.origins is not None and tuple(self.origins.shape) != shape[:-1]:
            raise ShapeError(f"BoneFrame origins must have shape {shape[:-1]}, got {tuple(self.origins.shape)}.")
        return self

    @property
    def x(self) -> Array:
        """x axes ``(..., 15, 3)`` (towards the palm for a flat hand)."""
        return self.matrices[..., 0]

    @property
    def y(self) -> Array:
        """y axes ``(..., 15, 3)`` (towards the thumb side)."""
        return self.matrices[..., 1]

    @property
    def z(self) -> Array:
        """z axes ``(..., 15, 3)`` (along the parent bone)."""
        return self.matrices[..., 2]

    def __getitem__(self, name: Any) -> Array:
        """The frame ``(..., 3, 3)`` at an angle joint, e.g. ``frames["index_mcp"]``."""
        return self.matrices[..., int(anatomy.angle_joint(name)), :, :]

    def of_bone(self, name: Any) -> Array:
        """The frame ``(..., 3, 3)`` in which a bone is measured, e.g. ``of_bone("index_pip")``."""
        b = anatomy.bone(name)
        if b not in ANGLE_BONES:
            raise ShapeError(f"bone {b.name!r} is a root bone: it has no frame (the palm is measured instead).")
        return self.matrices[..., ANGLE_BONES.index(b), :, :]

    def __repr__(self) -> str:
        return f"BoneFrame(shape={tuple(self.matrices.shape)}, side={self.side.value!r})"

    __str__ = __repr__


__all__ = [
    "Axes",
    "BoneFrame",
    "JointAngles",
    "AnglePair",
    "X_MIX",
    "first_level_frames",
    "measure",
    "forward",
    "angles_from_local",
    "direction_from_angles",
]
