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

Bounded gradients near singular poses (values unchanged, :func:`handkin.vec.cut_gradient` with
:data:`~handkin.vec.SINGULAR_TOL` τ = 1e-3): flexion passes no gradient where cos(abduction) ≤ τ (within 0.057° of
±90°, where flexion is undefined); the frame after a bone within τ rad of pointing backwards passes no gradient
through its x and y axes (the minimal rotation is discontinuous there); a bone shorter than τ × the palm scale L
passes no gradient to its angles and to the frames after it; a first-level x axis passes none where the palm
normal it comes from is within sin ≤ τ of the bone. Every gradient is then at most of order
:data:`~handkin.vec.GRADIENT_BOUND` / L (1e6/L; about 1e4 per mm on an adult hand).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import array_api_compat
import numpy as np
from pydantic import model_validator

from . import anatomy
from .anatomy import ANGLE_BONES, NUM_ANGLE_JOINTS, AngleJoint, Side
from .backend import Array, backend_name, is_torch, length_from_squared, namespace, promote_half, take, to_numpy
from .errors import ShapeError
from .palm import Z_HAT, Palm, degenerate_tolerance_sq, long_enough, palm_scale_sq, palm_soa, perpendicular
from .sides import describe, mirror_where
from .tables import format_table
from .validation import HandkinModel
from .vec import (
    SINGULAR_TOL,
    Stacked,
    V,
    _view_as,
    atan2,
    batch_first,
    batched,
    combine,
    const,
    cross,
    cut_gradient,
    dot,
    mask,
    normalize,
    to_soa,
)


class Frame(NamedTuple):
    """The axes of a batch of frames, each a :class:`~handkin.vec.V` with rows (5 fingers, M)."""

    x: V
    y: V
    z: V


def first_level_frames(root_bones: V, palm: Palm) -> Frame:
    """Frames of the five first-level finger bones from the root bones (rows (5, M)) and their palm (Eq. 4)."""
    xp = namespace(root_bones.x)
    guard = SINGULAR_TOL**2
    sq = dot(root_bones, root_bones)
    root_bones = V(cut_gradient(root_bones.a, long_enough(sq, palm_scale_sq(xp, sq))[None]))
    overall = normalize(V(xp.sum(root_bones.a, axis=1, keepdims=True)), Z_HAT, 0.0, guard * xp.sum(sq, axis=0))
    z = normalize(root_bones, overall)  # a zero-length root bone borrows the palm's overall direction
    n = palm.normals  # x = −n_1, −n_2, −(n_2 + n_3), −(n_3 + n_4), −n_4 (normalised below)
    x_raw = -V(xp.concat([n.a[:, 0:2], n.a[:, 1:3] + n.a[:, 2:4], n.a[:, 3:4]], axis=1))
    x_perp = x_raw - z.scale(dot(x_raw, z))
    x = normalize(x_perp, perpendicular(z), degenerate_tolerance_sq(xp, z.x) * dot(x_raw, x_raw), guard)
    return Frame(x, cross(z, x), z)


def rotate(frame: Frame, d: V, direction: V | None = None) -> Frame:
    """``F · R(d)``: each frame rotated by the minimal rotation taking its z onto the unit direction ``d``
    (given in frame coordinates); ``direction`` is the same direction in world coordinates if known.

    With ``w = k (d_x x + d_y y) + z`` and ``k = 1 / (1 + d_z)``: x' = x − d_x w, y' = y − d_y w,
    z' = d_x x + d_y y + d_z z. A direction pointing straight back (d_z = −1) rotates by π about y; within
    SINGULAR_TOL rad of that, x' and y' pass no gradient (the rotation is discontinuous at d_z = −1).
    """
    xp = namespace(d.x)
    eps = float(xp.finfo(d.x.dtype).eps)
    x, y, z = frame
    if direction is None:
        direction = combine(d.x, x, d.y, y, d.z, z)
    one_plus = 1 + d.z
    ahead = mask(xp, one_plus > eps, one_plus)
    k = ahead / xp.maximum(one_plus, eps)
    w = (direction - z.scale(d.z)).scale(k) + z
    new_x = x - w.scale(d.x) - x.scale(2 - 2 * ahead)
    keep = (one_plus > SINGULAR_TOL**2 / 2)[None]  # 1 + cos(π − α) ≈ α²/2
    return Frame(V(cut_gradient(new_x.a, keep)), V(cut_gradient((y - w.scale(d.y)).a, keep)), direction)


def _local_angles(xp, bone: V, frame: Frame) -> tuple[Array, Array, V, V]:
    """Flexion, abduction (rows (5, M)) of bones seen in ``frame``, and their unit direction in frame and in world
    coordinates. Flexion passes no gradient where cos(abduction) ≤ SINGULAR_TOL."""
    x, y, z = frame
    lx, ly, lz = dot(bone, x), dot(bone, y), dot(bone, z)
    h_sq = lx * lx + lz * lz
    r_sq = h_sq + ly * ly
    h = length_from_squared(h_sq)
    r = length_from_squared(r_sq)
    flexion = cut_gradient(atan2(xp, lx, lz, h), h_sq > SINGULAR_TOL**2 * r_sq)
    abduction = atan2(xp, ly, h, r, x_nonnegative=True)
    floor = float(xp.finfo(r_sq.dtype).smallest_normal)
    ok = mask(xp, r_sq > floor, r_sq)
    inv = ok / xp.sqrt(xp.maximum(r_sq, floor))
    zero = 1 - ok  # a zero-length bone points along the frame's z
    return flexion, abduction, V.stack(lx * inv, ly * inv, lz * inv + zero), bone.scale(inv) + z.scale(zero)


def _rows_first(xp, a: Array) -> Array:
    """``(M, ...)`` → ``(..., M)`` (a view)."""
    return xp.permute_dims(a, (*range(1, a.ndim), 0))


def _measure_flat(joints: Array, mirror: bool, with_frames: bool) -> tuple[Array, ...]:
    """The structure-of-arrays core of :func:`measure` on a flat batch ``(M, 21, 3)``."""
    xp = namespace(joints)
    j = to_soa(joints)
    mirror_x = const(xp, (-1.0, 1.0, 1.0), j)
    if mirror:
        j = V(j.a * mirror_x.a)
    m = joints.shape[0]
    fingers = xp.reshape(j.a[:, 1:], (3, 5, 4, m))  # joints by finger and level, base first
    bones = [V(fingers[:, :, 0] - j.a[:, 0:1])]  # level 0: the root bones
    bones += [V(fingers[:, :, level] - fingers[:, :, level - 1]) for level in (1, 2, 3)]
    length_sq = [dot(b, b) for b in bones]
    lengths = Stacked([length_from_squared(sq) for sq in length_sq])  # (finger, level, M) = Bone order
    palm = palm_soa(bones[0], length_sq[0])
    frame = first_level_frames(bones[0], palm)
    scale_sq = palm_scale_sq(xp, length_sq[0])
    angles, frames = [], []
    for level in (1, 2, 3):
        bone = V(cut_gradient(bones[level].a, long_enough(length_sq[level], scale_sq)[None]))  # too short: no gradient
        flexion, abduction, d, direction = _local_angles(xp, bone, frame)
        angles.append((flexion, abduction))
        frames.append(frame)
        if level < 3:
            frame = rotate(frame, d, direction)
    # outputs keep the batch last (structure of arrays); measure() turns them into batch-first views
    out = [lengths, palm.curvature, palm.angles]
    out.append(Stacked([a for level in angles for a in level]))  # (finger, level·2, M)
    if with_frames:
        if mirror:  # back into the left hand's coordinates
            frames = [Frame(*(V(a.a * mirror_x.a) for a in f)) for f in frames]
        # matrix element (row = component, column = axis): (finger, level·component·axis, M)
        out.append(Stacked([axis.a[c] for f in frames for c in range(3) for axis in f]))
    return tuple(out)


class MeasuredArrays(NamedTuple):
    """Raw outputs of :func:`measure`, batch first (views of structure-of-arrays storage, batch last)."""

    bone_lengths: Array
    """``(..., 20)``"""
    palm_curvature: Array
    """``(..., 4)``"""
    palm_angles: Array
    """``(..., 4)``"""
    joint_angles: Array
    """``(..., 15, 2)``"""
    frames: Array | None
    """``(..., 15, 3, 3)`` (columns x, y, z), or None"""
    origins: Array | None = None
    """``(..., 15, 3)`` the angle joints' positions (the frames' origins), or None"""

    @classmethod
    def empty(
        cls, batch_shape: Any, like: Array, with_frames: bool = True, with_origins: bool = True
    ) -> MeasuredArrays:
        """Uninitialised outputs for ``measure(..., out=...)`` for hands of batch shape ``batch_shape``, with the
        dtype and device of ``like`` (numpy array or torch tensor); laid out as :func:`measure` lays out its own
        (batch last underneath), so that its chunks are written with contiguous stores.

        Reuse them for repeated calls on equally large batches: no fresh pages to fault in each time.
        """
        xp = namespace(like)
        batch = (int(batch_shape),) if np.ndim(batch_shape) == 0 else tuple(int(b) for b in batch_shape)
        m = math.prod(batch)

        def alloc(item: tuple[int, ...]) -> Array:
            if is_torch(like):
                import torch

                storage = torch.empty((*item, m), dtype=like.dtype, device=like.device)
            else:
                storage = np.empty((*item, m), dtype=like.dtype)
            return batch_first(_flat_items(xp, storage), batch, item)

        return cls(
            alloc((20,)),
            alloc((4,)),
            alloc((4,)),
            alloc((NUM_ANGLE_JOINTS, 2)),
            alloc((NUM_ANGLE_JOINTS, 3, 3)) if with_frames else None,
            alloc((NUM_ANGLE_JOINTS, 3)) if with_origins else None,
        )


def _flat_items(xp, a: Array) -> Array:
    """``(*item_axes, M)`` → ``(K, M)`` (a view; also for M = 0)."""
    return xp.reshape(a, (math.prod(a.shape[:-1]), a.shape[-1]))


_ANGLE_JOINT_INDEX = tuple(int(a.joint) for a in AngleJoint)


def _flip_x(frames: Any, sign: Array) -> Any:
    """Frames of a :func:`_measure_flat` chunk (Stacked parts ``(5, m)`` or an array ``(5, 27, m)``, leading axes
    (angle joint, component, axis) in C order) with their x components multiplied by ``sign (m,)`` (±1)."""
    if isinstance(frames, Stacked):  # part i holds component (i % 9) // 3
        return Stacked([p * sign if (i % 9) < 3 else p for i, p in enumerate(frames.parts)])
    xp = namespace(frames)
    m = frames.shape[-1]
    f = xp.reshape(frames, (NUM_ANGLE_JOINTS, 3, 3, m))
    return xp.reshape(xp.concat([f[:, :1] * sign, f[:, 1:]], axis=1), frames.shape)


def _batch_last_view(a: Array, batch_ndim: int, item_shape: tuple[int, ...], name: str) -> Array:
    """An ``out=`` array ``(*batch, *item_shape)`` as ``(*item_shape, M)`` without a copy (writes reach ``a``)."""
    if tuple(a.shape[batch_ndim:]) != item_shape:
        raise ShapeError(f"out.{name} must have shape (..., {', '.join(map(str, item_shape))}), got {tuple(a.shape)}.")
    xp = namespace(a)
    moved = xp.permute_dims(a, (*range(batch_ndim, a.ndim), *range(batch_ndim)))
    return _view_as(moved, (*item_shape, math.prod(a.shape[:batch_ndim])))


def _out_targets(out: MeasuredArrays, joints: Array, batch: tuple[int, ...], fields: list[str]) -> list:
    """The ``out=`` arrays for the outputs ``fields``, checked (shape, dtype, backend) and viewed batch last."""
    if not isinstance(out, MeasuredArrays):
        kind = type(out).__name__
        raise ShapeError(f"out must be a MeasuredArrays (MeasuredArrays.empty(batch_shape, like=joints)), got {kind}.")
    targets = []
    for name in fields:
        a = getattr(out, name)
        if a is None:
            targets.append(None)
            continue
        if is_torch(a) != is_torch(joints) or a.dtype != joints.dtype:
            raise ShapeError(
                f"out.{name} is {backend_name(a)} {a.dtype} but the joints are {backend_name(joints)} {joints.dtype}: "
                "allocate the outputs with MeasuredArrays.empty(batch_shape, like=joints)."
            )
        if is_torch(a) and a.device != joints.device:
            raise ShapeError(f"out.{name} is on {a.device} but the joints are on {joints.device}.")
        if tuple(a.shape[: len(batch)]) != batch:
            raise ShapeError(f"out.{name} has shape {tuple(a.shape)}; the hands' batch shape is {batch}.")
        targets.append(_batch_last_view(a, len(batch), _ITEM_SHAPES[name], name))
    return targets


_ITEM_SHAPES = {
    "bone_lengths": (20,),
    "palm_curvature": (4,),
    "palm_angles": (4,),
    "joint_angles": (NUM_ANGLE_JOINTS, 2),
    "frames": (NUM_ANGLE_JOINTS, 3, 3),
    "origins": (NUM_ANGLE_JOINTS, 3),
}


@promote_half
def measure(
    joints: Array,
    mirror: Any = False,
    with_frames: bool = True,
    *,
    with_origins: bool | None = None,
    out: MeasuredArrays | None = None,
) -> MeasuredArrays:
    """Bone lengths ``(..., 20)``, palm curvature and angles ``(..., 4)``, joint angles ``(..., 15, 2)`` and
    frames ``(..., 15, 3, 3)`` (columns x, y, z) of hands ``(..., 21, 3)``, and the frames' origins ``(..., 15, 3)``
    (the angle joints' positions; ``with_origins`` defaults to ``with_frames``).

    ``mirror=True`` measures the mirror image (for left hands) and mirrors the frames back; ``mirror`` may also be
    a per-hand bool array (broadcast over the batch shape ``(...)``): those hands are mirrored (chunk by chunk).

    ``out``: a :class:`MeasuredArrays` of arrays to write the results into (shapes as above, the joints' dtype,
    backend and device; :meth:`MeasuredArrays.empty` makes them) — they are returned; a None field is
    allocated. Large batches are measured in chunks (:func:`handkin.vec.batched`; torch too, unless autograd
    needs the whole graph), each written straight into the outputs.
    """
    xp = namespace(joints)
    batch = tuple(joints.shape[:-2])
    flat = xp.reshape(joints, (-1, 21, 3))
    with_origins = with_frames if with_origins is None else with_origins
    flip = None
    if not isinstance(mirror, (bool, np.bool_)):
        flip = np.broadcast_to(np.asarray(to_numpy(mirror), dtype=bool), batch).reshape(-1)
        mirror = False

    def one_chunk(j: Array, *flip_chunk: Array) -> tuple[Any, ...]:
        sign = None
        if flip_chunk:
            j_measured = mirror_where(j, flip_chunk[0])
            sign = xp.asarray(1.0 - 2.0 * flip_chunk[0], dtype=j.dtype, device=array_api_compat.device(j))
        else:
            j_measured = j
        res = _measure_flat(j_measured, mirror, with_frames)
        if sign is not None and with_frames:  # the mirrored hands' frames back in their own coordinates
            res = (*res[:4], _flip_x(res[4], sign))
        if with_origins:
            res = (*res, xp.permute_dims(take(j, _ANGLE_JOINT_INDEX, axis=1), (1, 2, 0)))  # (15, 3, m)
        return res

    fields = ["bone_lengths", "palm_curvature", "palm_angles", "joint_angles"]
    fields += ["frames"] * with_frames + ["origins"] * with_origins
    targets = None if out is None else _out_targets(out, joints, batch, fields)
    inputs = (flat,) if flip is None else (flat, flip)
    res = batched(one_chunk, *inputs, out=targets)
    values = {}
    for name, r in zip(fields, res, strict=True):
        given = None if out is None else getattr(out, name)
        values[name] = given if given is not None else batch_first(_flat_items(xp, r), batch, _ITEM_SHAPES[name])
    return MeasuredArrays(**{name: values.get(name) for name in MeasuredArrays._fields})


def _forward_flat(palm: Array, angles: Array, lengths: Array) -> tuple[Array]:
    """The structure-of-arrays core of :func:`forward` on flat batches ``(M, 6, 3)``, ``(M, 15, 2)``, ``(M, 15)``."""
    xp = namespace(palm, angles, lengths)
    m = palm.shape[0]
    p = to_soa(palm)
    ang = xp.reshape(_rows_first(xp, angles), (5, 3, 2, m))
    length = xp.reshape(_rows_first(xp, lengths), (5, 3, m))
    wrist, position = p.rows(slice(0, 1)), p.rows(slice(1, 6))
    root = position - wrist
    frame = first_level_frames(root, palm_soa(root))
    chain = [position]
    for level in range(3):
        flexion, abduction = ang[:, level, 0], ang[:, level, 1]
        ca = xp.cos(abduction)
        d = V.stack(xp.sin(flexion) * ca, xp.sin(abduction), xp.cos(flexion) * ca)
        position = position + combine(d.x, frame.x, d.y, frame.y, d.z, frame.z).scale(length[:, level])
        chain.append(position)
        if level < 2:
            frame = rotate(frame, d)
    fingers = xp.reshape(xp.stack([c.a for c in chain], axis=2), (3, 20, m))
    joints = xp.concat([wrist.a, fingers], axis=1)  # (3, 21 joints, M)
    return (xp.permute_dims(joints, (1, 0, 2)),)  # (21 joints, 3, M)


@promote_half
def forward(palm: Array, angles: Array, lengths: Array) -> Array:
    """Joints ``(..., 21, 3)`` of a right hand from its palm, 15 angle pairs and 15 finger-bone lengths.

    ``palm`` is ``(..., 6, 3)``: the wrist, then thumb_cmc, index_mcp, middle_mcp, ring_mcp,
    little_mcp. ``angles`` ``(..., 15, 2)`` and ``lengths`` ``(..., 15)`` are in angle-joint order.
    Batch shapes broadcast.
    """
    xp = namespace(palm, angles, lengths)
    batch = np.broadcast_shapes(tuple(palm.shape[:-2]), tuple(angles.shape[:-2]), tuple(lengths.shape[:-1]))
    flat = [
        xp.reshape(xp.broadcast_to(a, (*batch, *a.shape[-k:])), (-1, *a.shape[-k:]))
        for a, k in ((palm, 2), (angles, 2), (lengths, 1))
    ]
    (joints,) = batched(_forward_flat, *flat)
    return batch_first(joints, batch, (21, 3))


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
        deg = np.round(np.asarray(to_numpy(self.degrees()))[index], 1) + 0.0  # + 0.0 turns −0.0 into 0.0
        if deg.ndim != 2:
            raise ShapeError("table() shows one hand: pass the batch index of the hand to show.")
        rows = [[a.name, f"{deg[a, 0]:.1f}", f"{deg[a, 1]:.1f}"] for a in AngleJoint]
        return format_table(["joint", "flexion°", "abduction°"], rows, markdown=False)

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
    side: Any = Side.right
    """One :class:`Side`, or per hand an array of names (as :attr:`HandSkeleton.side`)."""

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
        return f"BoneFrame(shape={tuple(self.matrices.shape)}, side={describe(self.side)!r})"

    __str__ = __repr__


__all__ = [
    "Frame",
    "MeasuredArrays",
    "BoneFrame",
    "JointAngles",
    "AnglePair",
    "first_level_frames",
    "rotate",
    "measure",
    "forward",
]
