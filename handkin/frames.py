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
from .backend import (
    Array,
    backend_name,
    compiling,
    is_torch,
    length_from_squared,
    namespace,
    promote_half,
    single_threaded,
    take,
    to_numpy,
)
from .errors import ShapeError
from .palm import (
    Z_HAT,
    Palm,
    PalmTape,
    _palm,
    _palm_adjoint,
    _perpendicular_adjoint,
    _perpendicular_taped,
    degenerate_tolerance_sq,
)
from .sides import describe, mirror_where
from .tables import format_table
from .validation import HandkinModel
from .vec import (
    SINGULAR_TOL,
    UnitTape,
    V,
    _view_as,
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


class Frame(NamedTuple):
    """The axes of a batch of frames, each a :class:`~handkin.vec.V` with rows (5 fingers, M)."""

    x: V
    y: V
    z: V


def first_level_frames(root_bones: V, palm: Palm) -> Frame:
    """Frames of the five first-level finger bones from the root bones (rows (5, M)) and their palm (Eq. 4)."""
    xp = namespace(root_bones.a)
    x, y, z, _ = _first_frames(xp, root_bones.a, csum(xp, root_bones.a * root_bones.a), palm)
    return Frame(V(x), V(y), V(z))


class FirstFrameTape(NamedTuple):
    """The intermediate values of :func:`_first_frames` that :func:`_first_frames_adjoint` needs."""

    overall: UnitTape
    z: UnitTape
    x_raw: Array
    projection: Array
    perpendicular: UnitTape
    x: UnitTape
    y_axis: Array


def _first_frames(xp, root: Array, sq: Array, palm: Palm) -> tuple[Array, Array, Array, FirstFrameTape]:
    """The axes x, y, z ``(3, 5, M)`` of the first-level frames (:func:`first_level_frames`) of root bones
    ``root (3, 5, M)`` with squared lengths ``sq (1, 5, M)``, and the :class:`FirstFrameTape`."""
    guard = SINGULAR_TOL**2
    root = cut_gradient(root, sq > guard * xp.mean(sq, axis=1, keepdims=True))
    total_sq = xp.sum(sq, axis=1, keepdims=True)
    overall, overall_tape = unit_taped(
        xp, xp.sum(root, axis=1, keepdims=True), constant(xp, Z_HAT, root), 0.0, guard * total_sq
    )
    z, z_tape = unit_taped(xp, root, overall)  # a zero-length root bone borrows the palm's overall direction
    n = palm.normals.a  # x = −n_1, −n_2, −(n_2 + n_3), −(n_3 + n_4), −n_4 (normalised below)
    x_raw = -xp.concat([n[:, 0:2], n[:, 1:3] + n[:, 2:4], n[:, 3:4]], axis=1)
    projection = csum(xp, x_raw * z)
    perp, perp_tape = _perpendicular_taped(xp, z)
    threshold = degenerate_tolerance_sq(xp, z) * csum(xp, x_raw * x_raw)
    x, x_tape = unit_taped(xp, x_raw - z * projection, perp, threshold, guard)
    y = xp.linalg.cross(z, x, axis=0)
    return x, y, z, FirstFrameTape(overall_tape, z_tape, x_raw, projection, perp_tape, x_tape, y)


def _first_frames_adjoint(xp, t: FirstFrameTape, g_x: Array, g_y: Array, g_z: Array) -> tuple[Array, Array]:
    """Gradients with respect to the root bones ``(3, 5, M)`` (before the caller's gradient cut) and the palm
    normals ``(3, 4, M)`` of :func:`_first_frames`'s axes, given theirs."""
    x, z = t.x.u, t.z.u
    g_z = g_z + xp.linalg.cross(x, g_y, axis=0)  # y = z × x
    g_x = g_x + xp.linalg.cross(g_y, z, axis=0)
    g_perp_in, g_perp = unit_adjoint(xp, t.x, g_x)
    g_z = g_z + _perpendicular_adjoint(xp, t.perpendicular, g_perp)
    along = csum(xp, g_perp_in * z)  # x_perp = x_raw − z (x_raw·z)
    g_raw = g_perp_in - z * along
    g_z = g_z - g_perp_in * t.projection - t.x_raw * along
    g_n = -xp.concat([g_raw[:, 0:1], g_raw[:, 1:3] + g_raw[:, 2:4], g_raw[:, 3:4] + g_raw[:, 4:5]], axis=1)
    g_root, g_overall = unit_adjoint(xp, t.z, g_z)
    g_sum = unit_adjoint(xp, t.overall, xp.sum(g_overall, axis=1, keepdims=True))[0]
    return g_root + g_sum, g_n


def rotate(frame: Frame, d: V, direction: V | None = None) -> Frame:
    """``F · R(d)``: each frame rotated by the minimal rotation taking its z onto the unit direction ``d``
    (given in frame coordinates); ``direction`` is the same direction in world coordinates if known
    (:func:`_transport`)."""
    xp = namespace(d.a)
    axes = xp.stack([frame.x.a, frame.y.a], axis=1)
    if direction is None:
        direction = V(xp.sum(axes * d.a[None, 0:2], axis=1) + frame.z.a * d.a[2:3])
    moved, _ = _transport(xp, axes, frame.z.a, direction.a)
    return Frame(V(moved[:, 0]), V(moved[:, 1]), direction)


class TransportTape(NamedTuple):
    """The intermediate values of :func:`_transport` that :func:`_transport_adjoint` needs."""

    axes: Array
    u_a: Array
    u_b: Array
    w: Array
    along: Array
    inv: Array
    ahead: Array
    keep: Array


def _transport(xp, axes: Array, u_a: Array, u_b: Array) -> tuple[Array, TransportTape]:
    """The x and y axes ``axes (3, 2, ...)`` of frames whose z is ``u_a (3, ...)``, carried by the minimal rotation
    taking ``u_a`` onto the unit vector ``u_b`` (paper Eq. 6), and the :class:`TransportTape`.

    ``v' = v − (v·u_b) w`` with ``w = (u_a + u_b) / (1 + u_a·u_b)``. A direction pointing straight back
    (1 + u_a·u_b ≤ eps) rotates by π about y (w = u_a, x' = −x − (x·u_b) u_a); within SINGULAR_TOL rad of that,
    x' and y' pass no gradient (the rotation is discontinuous there).
    """
    epsilon = eps(xp, u_a)
    one_plus = 1 + csum(xp, u_a * u_b)
    ahead = one_plus > epsilon
    inv = 1 / xp.maximum(one_plus, epsilon)
    w = select(xp, ahead, (u_a + u_b) * inv, u_a)
    along = csum(xp, axes * u_b[:, None])  # (v·u_b) for v = x, y: (1, 2, ...)
    moved = axes - w[:, None] * along
    flip = constant(xp, (-2.0, 0.0), axes, axis=1)
    moved = moved + axes * (flip * xp.astype(~ahead, axes.dtype)[:, None])  # straight back: x' = −x − (x·u_b) u_a
    keep = (one_plus > SINGULAR_TOL**2 / 2)[:, None]  # 1 + cos(π − α) ≈ α²/2
    moved = cut_gradient(moved, keep)
    return moved, TransportTape(axes, u_a, u_b, w, along, inv, ahead, keep)


def _transport_adjoint(xp, t: TransportTape, g: Array) -> tuple[Array, Array, Array]:
    """Gradients ``(axes, u_a, u_b)`` of :func:`_transport` given the carried axes' gradient ``g (3, 2, ...)``."""
    zero = constant(xp, (0.0,), g)
    g = xp.where(t.keep, g, zero)
    flip = constant(xp, (-2.0, 0.0), t.axes, axis=1)
    g_axes = xp.where(t.ahead[:, None], g, g + g * flip)
    g_along = -csum(xp, t.w[:, None] * g)
    g_w = -xp.sum(g * t.along, axis=1)
    g_axes = g_axes + t.u_b[:, None] * g_along
    g_u_b = xp.sum(t.axes * g_along, axis=1)
    g_s = g_w * t.inv  # w = (u_a + u_b) / q, q = 1 + u_a·u_b
    g_q = -csum(xp, g_w * t.w) * t.inv
    g_u_a = xp.where(t.ahead, g_s + t.u_b * g_q, g_w)
    g_u_b = g_u_b + xp.where(t.ahead, g_s + t.u_a * g_q, zero[0])
    return g_axes, g_u_a, g_u_b


class AngleTape(NamedTuple):
    """The intermediate values of :func:`_angles` that :func:`_angles_adjoint` needs."""

    frames: Array
    bone: Array
    local: Array
    nonzero: Array
    h_sq: Array
    h: Array
    flexion_passes: Array


def _angles(xp, frames: Array, bone: Array) -> tuple[Array, AngleTape]:
    """Flexion and abduction ``(2, 5, L, M)`` of bones ``bone (3, 5, L, M)`` in frames
    ``frames (3 components, 3 axes, 5, L, M)``, and the :class:`AngleTape`.

    Flexion passes no gradient where cos(abduction) ≤ SINGULAR_TOL; a zero-length bone has angles (0, 0)."""
    floor = tiny(xp, bone)
    local = csum(xp, frames * bone[:, None])[0]  # (b·x, b·y, b·z)
    r_sq = csum(xp, local * local)
    nonzero = r_sq > floor
    local = select(xp, nonzero, local, constant(xp, Z_HAT, local))
    in_plane = local[0::2]  # (b·x, b·z)
    h_sq = csum(xp, in_plane * in_plane)
    r_sq = select(xp, nonzero, r_sq, constant(xp, (1.0,), r_sq))
    flexion_passes = h_sq > SINGULAR_TOL**2 * r_sq
    in_plane = cut_gradient(in_plane, flexion_passes)
    h = xp.sqrt(xp.maximum(h_sq, floor))
    if is_torch(local):  # one atan2 for flexion and abduction
        angles = xp.atan2(xp.concat([in_plane[0:1], local[1:2]], axis=0), xp.concat([in_plane[1:2], h], axis=0))
    else:
        flexion = angle(xp, in_plane[0:1], in_plane[1:2], h)
        angles = xp.concat([flexion, angle(xp, local[1:2], h, xp.sqrt(r_sq), x_nonnegative=True)], axis=0)
    return angles, AngleTape(frames, bone, local, nonzero, h_sq, h, flexion_passes)


def _angles_adjoint(xp, t: AngleTape, g: Array) -> tuple[Array, Array]:
    """Gradients ``(frames, bone)`` of :func:`_angles` given the angles' gradient ``g (2, 5, L, M)``."""
    floor, zero = tiny(xp, t.h), constant(xp, (0.0,), t.h)
    lx, ly, lz = t.local[0:1], t.local[1:2], t.local[2:3]
    g_f = xp.where(t.flexion_passes, g[0:1] / xp.maximum(t.h_sq, floor), zero)  # flexion = atan2(lx, lz)
    r_sq = ly * ly + t.h * t.h
    g_h = xp.where(t.h_sq > floor, -g[1:2] * ly / (r_sq * t.h), zero)  # abduction = atan2(ly, h)
    g_local = xp.concat([g_f * lz + g_h * lx, g[1:2] * t.h / r_sq, g_h * lz - g_f * lx], axis=0)
    g_local = xp.where(t.nonzero, g_local, zero)[None]
    return t.bone[:, None] * g_local, xp.sum(t.frames * g_local, axis=1)


def _rows_first(xp, a: Array) -> Array:
    """``(M, ...)`` → ``(..., M)`` (a view)."""
    return xp.permute_dims(a, (*range(1, a.ndim), 0))


class MeasureTape(NamedTuple):
    """Everything :func:`_measure_adjoint` needs of one :func:`_measure_core` call."""

    bones: Array
    lengths: Array
    keep: Array
    palm: PalmTape
    first: FirstFrameTape
    direction_1: UnitTape
    direction_2: UnitTape
    transport_1: TransportTape
    transport_2: TransportTape
    angles: AngleTape


def _measure_core(xp, j: Array, with_frames: bool) -> tuple[tuple[Array, ...], MeasureTape]:
    """The geometry of right hands ``j (3, 21, M)`` (structure of arrays): bone lengths (5 fingers, 4 levels, M),
    palm curvature and angles (1, 4, M), joint angles (2, 5, 3 levels, M), with ``with_frames`` the frames
    (3 components, 3 axes, 5, 3 levels, M); and the :class:`MeasureTape` for :func:`_measure_adjoint`.

    Bones are unit directions u (a zero-length bone takes its parent's); each level's frame is the previous one
    carried by the minimal rotation from its z onto the parent bone's u (:func:`_transport`), all in world
    coordinates; the angles of the three levels are then measured at once."""
    m = j.shape[-1]
    fingers = xp.reshape(j[:, 1:], (3, 5, 4, m))  # joints by finger and level, base first
    parents = xp.concat([xp.broadcast_to(j[:, 0:1, None], (3, 5, 1, m)), fingers[:, :, :3]], axis=2)
    bones = fingers - parents  # (3, 5, 4 levels, M); level 0: the root bones
    sq = csum(xp, bones * bones)  # (1, 5, 4, M)
    lengths = length_from_squared(sq)
    root_sq = sq[:, :, 0]
    keep = sq > SINGULAR_TOL**2 * xp.mean(root_sq, axis=1, keepdims=True)[:, :, None]  # too short: no gradient
    cut = cut_gradient(bones, keep)
    palm, palm_tape = _palm(xp, cut[:, :, 0], root_sq, taped=True)
    x, y, z, first_tape = _first_frames(xp, cut[:, :, 0], root_sq, palm)
    u_1, direction_1 = unit_taped(xp, cut[:, :, 1], z)  # a zero-length bone passes its frame on
    u_2, direction_2 = unit_taped(xp, cut[:, :, 2], u_1)
    axes_1 = xp.stack([x, y], axis=1)
    axes_2, transport_1 = _transport(xp, axes_1, z, u_1)
    axes_3, transport_2 = _transport(xp, axes_2, u_1, u_2)
    frames = xp.stack(  # (3 components, 3 axes, 5, 3 levels, M)
        [xp.concat([a, u[:, None]], axis=1) for a, u in ((axes_1, z), (axes_2, u_1), (axes_3, u_2))], axis=3
    )
    angles, angle_tape = _angles(xp, frames, cut[:, :, 1:])
    out = (lengths[0], palm.curvature, palm.angles, angles)
    if with_frames:
        out += (frames,)
    tape = MeasureTape(
        bones, lengths, keep, palm_tape, first_tape, direction_1, direction_2, transport_1, transport_2, angle_tape
    )
    return out, tape


def _measure_adjoint(xp, t: MeasureTape, g_lengths: Array, g_curvature: Array, g_palm: Array, g_angles: Array) -> Array:
    """The gradient ``(3, 21, M)`` with respect to the joints of :func:`_measure_core`'s outputs given theirs
    (the analytic backward of ``MeasureFunction``; the same gradient cuts as autograd through the forward)."""
    g_frames, g_bone = _angles_adjoint(xp, t.angles, g_angles)
    g_axes = g_frames[:, 0:2]
    g_u = [g_frames[:, 2, :, 0], g_frames[:, 2, :, 1], g_frames[:, 2, :, 2]]
    g_carried = g_axes[:, :, :, 2]
    for level, tape in ((1, t.transport_2), (0, t.transport_1)):  # the frames' chain, backwards
        g_prev, g_from, g_to = _transport_adjoint(xp, tape, g_carried)
        g_carried = g_axes[:, :, :, level] + g_prev
        g_u[level] = g_u[level] + g_from
        g_u[level + 1] = g_u[level + 1] + g_to
    g_b2, g_parent = unit_adjoint(xp, t.direction_2, g_u[2])
    g_b1, g_root_z = unit_adjoint(xp, t.direction_1, g_u[1] + g_parent)
    g_root, g_normals = _first_frames_adjoint(xp, t.first, g_carried[:, 0], g_carried[:, 1], g_u[0] + g_root_z)
    g_root = g_root + _palm_adjoint(xp, t.palm, g_curvature, g_palm, g_normals)
    g_levels = xp.concat(
        [g_bone[:, :, 0:1] + g_b1[:, :, None], g_bone[:, :, 1:2] + g_b2[:, :, None], g_bone[:, :, 2:]], axis=2
    )
    g_cut = xp.concat([g_root[:, :, None], g_levels], axis=2)
    floor = tiny(xp, t.lengths) ** 0.5
    g_bones = xp.where(t.keep, g_cut, constant(xp, (0.0,), g_cut))
    g_bones = g_bones + t.bones * (g_lengths[None] / xp.maximum(t.lengths, floor))
    zero = xp.zeros_like(g_bones[:, :, :1])
    g_fingers = g_bones - xp.concat([g_bones[:, :, 1:], zero], axis=2)  # bones = fingers − parents
    g_wrist = -xp.sum(g_bones[:, :, 0], axis=1, keepdims=True)
    return xp.concat([g_wrist, xp.reshape(g_fingers, (3, 20, g_bones.shape[-1]))], axis=1)


def _measure_autograd() -> Any:
    """``_MeasureFunction``: :func:`_measure_core` as one ``torch.autograd.Function`` with the analytic backward
    :func:`_measure_adjoint` (built once, as :func:`handkin.hull._bmc_autograd`): a few hundred operations per
    forward and backward instead of autograd's thousand-odd small ones. First derivatives only."""
    global _MEASURE_FUNCTION
    if _MEASURE_FUNCTION is not None:
        return _MEASURE_FUNCTION
    import torch

    class MeasureFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, j: Any) -> Any:
            out, ctx.tape = _measure_core(namespace(j), j, with_frames=False)
            return out

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx: Any, *grads: Any) -> Any:
            with single_threaded(grads[0]):
                return _measure_adjoint(namespace(grads[0]), ctx.tape, *grads)

    _MEASURE_FUNCTION = MeasureFunction
    return MeasureFunction


_MEASURE_FUNCTION: Any = None
#: Whether torch tensors needing a gradient go through the fused :class:`_MeasureFunction` (False: plain autograd
#: through the same forward; the tests compare the two).
FUSED_BACKWARD = True


def _fused(j: Array, with_frames: bool) -> bool:
    if with_frames or not FUSED_BACKWARD or not is_torch(j) or not j.requires_grad:
        return False
    import torch

    return torch.is_grad_enabled() and not compiling()


def _measure_flat(joints: Array, mirror: bool, with_frames: bool) -> tuple[Array, ...]:
    """The structure-of-arrays core of :func:`measure` on a flat batch ``(M, 21, 3)``: bone lengths (5 fingers,
    4 levels, M), palm curvature and angles (4, M), joint angles (5, 3 levels, 2, M), frames (5, 3, 3, 3, M)."""
    xp = namespace(joints)
    j = to_soa(joints).a  # (3, 21, M)
    mirror_x = constant(xp, (-1.0, 1.0, 1.0), j)
    if mirror:
        j = j * mirror_x
    if _fused(j, with_frames):
        out = (_MEASURE_FUNCTION or _measure_autograd()).apply(j)
    else:
        out = _measure_core(xp, j, with_frames)[0]
    # outputs keep the batch last (structure of arrays); measure() turns them into batch-first views
    result = [out[0], out[1], out[2], xp.permute_dims(out[3], (1, 2, 0, 3))]
    if with_frames:
        frames = out[4]
        if mirror:  # back into the left hand's coordinates
            frames = frames * constant(xp, (-1.0, 1.0, 1.0), frames)
        result.append(xp.permute_dims(frames, (2, 3, 0, 1, 4)))  # (finger, level, component, axis, M)
    return tuple(result)


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
    """Frames of a :func:`_measure_flat` chunk ``(5, 3, 3, 3, m)`` (finger, level, component, axis) with their
    x components multiplied by ``sign (m,)`` (±1)."""
    xp = namespace(frames)
    return xp.concat([frames[:, :, :1] * sign, frames[:, :, 1:]], axis=2)


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
    wrist, position = p.a[:, 0:1], p.a[:, 1:6]
    root = position - wrist
    root_sq = csum(xp, root * root)
    x, y, z, _ = _first_frames(xp, root, root_sq, _palm(xp, root, root_sq))
    axes = xp.stack([x, y], axis=1)
    chain = [position]
    for level in range(3):
        flexion, abduction = ang[:, level, 0], ang[:, level, 1]
        ca = xp.cos(abduction)
        d = xp.stack([xp.sin(flexion) * ca, xp.sin(abduction), xp.cos(flexion) * ca], axis=0)
        direction = xp.sum(axes * d[None, 0:2], axis=1) + z * d[2:3]
        position = position + direction * length[None, :, level]
        chain.append(position)
        if level < 2:
            axes, _ = _transport(xp, axes, z, direction)
            z = direction
    fingers = xp.reshape(xp.stack(chain, axis=2), (3, 20, m))
    joints = xp.concat([wrist, fingers], axis=1)  # (3, 21 joints, M)
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
