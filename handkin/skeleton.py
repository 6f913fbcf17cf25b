"""``HandSkeleton``: a validated batch of 21-joint hands, stored in canonical MP21 order.

The joints are a numpy array or a torch tensor of shape ``(..., 21, 3)`` — any leading batch
shape; dtype, device and autograd follow the input and are never changed silently. Every method
is one code path for both backends (:mod:`handkin.backend`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
from pydantic import field_serializer, model_validator

from . import anatomy
from . import sides as _sides
from .anatomy import (
    ANGLE_BONES,
    BONE_CHILD_INDEX,
    BONE_PARENT_INDEX,
    FINGER_JOINTS,
    NUM_JOINTS,
    ROOT_BONES,
    Joint,
    Side,
)
from .backend import (
    Array,
    all_finite,
    as_float_array,
    backend_name,
    is_torch,
    namespace,
    safe_divide,
    safe_norm,
    take,
    to_numpy,
    to_torch,
)
from .errors import NonFiniteError, ShapeError, SideError, UnitsError
from .frames import BoneFrame, JointAngles, MeasuredArrays, forward, measure
from .orders import MP21, get_order, split_two_hands
from .palm import palm_angles, palm_curvature
from .units import DEFAULT_REFERENCE_BONE, Units, plausible_reference_range, scale_factor
from .units import units as parse_units
from .validation import HandkinModel

_PARENT = tuple(BONE_PARENT_INDEX.tolist())
assert BONE_CHILD_INDEX.tolist() == list(range(1, NUM_JOINTS))  # children of bones 0..19 are joints 1..20
_ROOT_BONES = tuple(int(b) for b in ROOT_BONES)
_PALM_JOINTS = (0,) + tuple(int(b) + 1 for b in ROOT_BONES)  # wrist + the first joint of each finger
_ANGLE_BONE_INDEX = tuple(int(b) for b in ANGLE_BONES)


class Measurements(NamedTuple):
    """Everything :meth:`HandSkeleton.measure` computes in one pass (left hands measured mirrored)."""

    bone_lengths: Array
    """``(..., 20)`` in the skeleton's units."""
    palm_curvature: Array
    """``(..., 4)`` in 1/length units (Eq. 1)."""
    palm_angles: Array
    """``(..., 4)`` radians (Eq. 3)."""
    joint_angles: Array
    """``(..., 15, 2)`` (flexion, abduction) radians (Eq. 5)."""
    frames: BoneFrame | None
    """The 15 bone frames (Eq. 4, 6); ``None`` when measured with ``frames=False``."""


class TwoHands(NamedTuple):
    """The two skeletons of a two-hand array."""

    right: HandSkeleton
    left: HandSkeleton


def _check_shape(joints: Array) -> None:
    shape = tuple(joints.shape)
    if len(shape) >= 2 and shape[-2] == 2 * NUM_JOINTS and shape[-1] == 3:
        raise ShapeError(
            f"joints have shape {shape}: 42 joints are two hands, not one. Use "
            "HandSkeleton.from_two_hands(array, order=..., units=...) to split them."
        )
    if len(shape) < 2 or shape[-2:] != (NUM_JOINTS, 3):
        raise ShapeError(f"joints must have shape (..., 21, 3), got {shape}.")


def _check_finite(joints: Array) -> None:
    if not all_finite(joints):
        bad = np.argwhere(~np.isfinite(to_numpy(joints)).all(axis=-1))
        first = tuple(int(i) for i in bad[0])
        raise NonFiniteError(
            f"joints hold NaN or infinite values ({len(bad)} joint(s); first at index {first}, joint "
            f"{Joint(first[-1]).name!r}). Drop or fill missing joints before building a HandSkeleton."
        )


def _check_scale(joints: Array, u: Units) -> None:
    """Catch unit mix-ups (metres passed as millimetres, …) from the median reference-bone length."""
    ref = np.linalg.norm(to_numpy(joints[..., Joint.middle_mcp, :] - joints[..., Joint.wrist, :]), axis=-1).ravel()
    ref = ref[ref > 0]
    if ref.size == 0:
        return
    median = float(np.median(ref))
    lo, hi = plausible_reference_range(u)
    if lo <= median <= hi:
        return
    hint = ""
    if u != Units.ref:
        for guess in (Units.m, Units.cm, Units.mm):
            g_lo, g_hi = plausible_reference_range(guess)
            if guess != u and g_lo <= median <= g_hi:
                hint = f" The numbers look like {guess.value!r}: pass units={guess.value!r}."
                break
    raise UnitsError(
        f"the wrist→middle_mcp bone is {median:.4g} {u.value} long (median over the batch), outside the "
        f"plausible {lo:.4g}–{hi:.4g} {u.value} for a hand.{hint} If the data really are this size, build it "
        "with HandSkeleton.unchecked()."
    )


def _mirror_x(points: Array, mask: Any = True) -> Array:
    """Points ``(..., K, 3)`` mirrored x → −x, for every hand (``mask=True``) or where a per-hand bool ``(...)``."""
    if isinstance(mask, np.ndarray):
        return _sides.mirror_where(points, mask)
    if not mask:
        return points
    xp = namespace(points)
    return xp.concat([-points[..., :1], points[..., 1:]], axis=-1)


def _numpy_key(key: Any) -> Any:
    """A batch index for the numpy side array (torch index tensors → numpy)."""
    return to_numpy(key) if is_torch(key) else key


class HandSkeleton(HandkinModel):
    """A batch of hands: joints ``(..., 21, 3)`` in canonical MP21 order, with units and side.

    Build it with ``HandSkeleton(joints=..., order="mp21", units="mm", side="right")``: the joints
    may be in any registered order (:mod:`handkin.orders`) and are reordered into MP21 on the way
    in. Validation checks the shape, finiteness and a plausible scale for the stated units; use
    :meth:`unchecked` in hot loops where the input is known to be good.

    ``side`` is ``"right"``/``"left"`` for every hand, an array of them broadcast over the batch (joints
    ``(N, 2, 21, 3)`` with ``side=["right", "left"]``: two-hand arrays), or ``"auto"``: each hand's side read
    from its geometry (:mod:`handkin.sides`; ambiguous flat hands stay right). :attr:`side` is one
    :class:`Side` when all hands agree, else an array of names of the batch shape (:attr:`sides` is always
    that array). A declared side that most hands' geometry clearly contradicts gives one
    :class:`~handkin.errors.HandednessWarning`.
    """

    joints: Any
    """``(..., 21, 3)`` numpy array or torch tensor in canonical MP21 order."""
    units: Units
    """Length unit of the joints."""
    side: Any = Side.right
    """Handedness: one :class:`Side`, or (hands of both sides) an array of ``"right"``/``"left"`` of the batch shape."""
    order: Literal["mp21"] = "mp21"
    """The order of :attr:`joints` — always canonical once built."""
    source_order: str = "mp21"
    """The order the joints were given in (provenance only)."""

    def __init__(
        self, joints: Any = None, *, units: Any = None, side: Any = "right", order: Any = "mp21", **provenance: Any
    ) -> None:
        super().__init__(joints=joints, units=units, side=side, order=order, **provenance)

    @model_validator(mode="before")
    @classmethod
    def _validate(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ShapeError(f"build a HandSkeleton from keywords (joints=..., units=...), not {type(data).__name__}.")
        unknown = set(data) - {"joints", "units", "side", "order", "source_order"}
        if unknown:
            raise TypeError(f"HandSkeleton got unexpected keyword(s): {', '.join(sorted(unknown))}.")
        if data.get("joints") is None:
            raise ShapeError("joints are missing: pass joints=array of shape (..., 21, 3).")
        if data.get("units") is None:
            raise UnitsError("units are missing: say which unit the joints are in, units='m', 'cm', 'mm' or 'ref'.")
        u = parse_units(data["units"])
        o = get_order(data.get("order", MP21))
        if "source_order" in data and o is MP21:  # re-validation of a dumped skeleton keeps its provenance
            source = get_order(data["source_order"]).name
        else:
            source = o.name
        j = as_float_array(data["joints"])
        _check_shape(j)
        if o is not MP21:
            j = o.to_canonical(j)
        _check_finite(j)
        _check_scale(j, u)
        s = _sides.resolve(j, data.get("side", Side.right), check=True)
        return {"joints": j, "units": u, "side": s, "order": "mp21", "source_order": source}

    @field_serializer("joints", when_used="json")
    def _joints_to_lists(self, joints: Array) -> list:
        return to_numpy(joints).tolist()

    @field_serializer("side")
    def _side_out(self, side: Any) -> Any:
        return side.tolist() if isinstance(side, np.ndarray) else side

    # ----------------------------------------------------------------- construction
    @classmethod
    def unchecked(cls, joints: Array, *, units: Any = "ref", side: Any = "right", order: Any = "mp21") -> HandSkeleton:
        """Build without the value checks (finiteness, scale): for hot training loops. The shape is still checked."""
        _check_shape(joints)
        o = get_order(order)
        j = joints if o is MP21 else o.to_canonical(joints)
        s = _sides.resolve(j, side, check=False)
        return cls.model_construct(joints=j, units=parse_units(units), side=s, source_order=o.name)

    @classmethod
    def from_two_hands(cls, joints: Any, *, order: Any, units: Any, sides: Sequence[str] | None = None) -> TwoHands:
        """Split a ``(..., 42, 3)`` two-hand array (e.g. RHD: left then right; InterHand: right then left) into two
        skeletons. For one skeleton of both hands, stack them: ``HandSkeleton(joints=np.stack([right, left], -3),
        side=["right", "left"], ...)`` (joints ``(..., 2, 21, 3)``)."""
        arr = as_float_array(joints)
        halves = split_two_hands(arr, order, sides)
        return TwoHands(**{s.value: cls(joints=h, order=order, units=units, side=s) for s, h in halves.items()})

    @classmethod
    def concatenate(cls, skeletons: Sequence[HandSkeleton], axis: int = 0) -> HandSkeleton:
        """Join skeletons of equal units along batch axis ``axis`` (their sides are kept per hand)."""
        if not skeletons:
            raise ShapeError("concatenate needs at least one skeleton.")
        first = skeletons[0]
        for s in skeletons[1:]:
            if s.units != first.units:
                raise UnitsError(
                    f"cannot concatenate skeletons in {first.units.value} and {s.units.value}; convert with "
                    "to_units() first."
                )
        arrays = [s.joints for s in skeletons]
        xp = namespace(*arrays)
        if any(a.ndim < 3 for a in arrays):
            raise ShapeError("concatenate needs batched skeletons (..., 21, 3) with at least one batch axis.")
        joints = xp.concat(arrays, axis=axis - 2 if axis < 0 else axis)
        if all(not isinstance(s.side, np.ndarray) and s.side == first.side for s in skeletons):
            return first._replace(joints)
        side = np.concatenate([s.sides for s in skeletons], axis=axis)
        return first._replace(joints, side=_sides.normalize(side))

    def _replace(self, joints: Array, **changes: Any) -> HandSkeleton:
        """A copy with new joints (already canonical and valid) — no re-validation."""
        fields = {"units": self.units, "side": self.side, "source_order": self.source_order, **changes}
        return type(self).model_construct(joints=joints, **fields)

    # ----------------------------------------------------------------- basic facts
    @property
    def batch_shape(self) -> tuple[int, ...]:
        """The leading batch shape (``()`` for a single hand)."""
        return tuple(self.joints.shape[:-2])

    @property
    def sides(self) -> np.ndarray:
        """The side of every hand, an array of ``"right"``/``"left"`` of the batch shape."""
        return _sides.full(self.side, self.batch_shape)

    @property
    def _left(self) -> Any:
        """``True``/``False`` for one side, else a bool array ``(...)`` marking the left hands."""
        return _sides.left_mask(self.side)

    @property
    def backend(self) -> str:
        """``"numpy"`` or ``"torch"``."""
        return backend_name(self.joints)

    @property
    def dtype(self):
        """The dtype of the joints."""
        return self.joints.dtype

    @property
    def device(self) -> str:
        """Where the joints live (``"cpu"`` for numpy)."""
        return str(self.joints.device) if is_torch(self.joints) else "cpu"

    def __len__(self) -> int:
        if not self.batch_shape:
            raise TypeError("len() of a single hand (no batch axis).")
        return self.batch_shape[0]

    def __iter__(self) -> Iterator[HandSkeleton]:  # type: ignore[override]
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        arr = to_numpy(self.joints)
        return arr.astype(dtype) if dtype is not None else arr

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HandSkeleton):
            return NotImplemented
        if (self.units, self.backend) != (other.units, other.backend):
            return False
        if self.joints.shape != other.joints.shape or not np.array_equal(self.sides, other.sides):
            return False
        return bool(namespace(self.joints, other.joints).all(self.joints == other.joints))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        extra = ""
        if is_torch(self.joints):
            extra = f", device={self.device}" + (", requires_grad=True" if self.joints.requires_grad else "")
        src = "" if self.source_order == "mp21" else f", from order {self.source_order!r}"
        dtype = str(self.dtype).replace("torch.", "")
        return (
            f"HandSkeleton(batch_shape={self.batch_shape}, units={self.units.value!r}, side={_sides.describe(self.side)!r}, "
            f"{self.backend} {dtype}{extra}{src})"
        )

    __str__ = __repr__

    # ----------------------------------------------------------------- access by name and batch
    def __getitem__(self, key: Any):
        """``sk["index_tip"]`` → that joint ``(..., 3)``; ``sk[0]``, ``sk[2:5]``, ``sk[mask]`` → a sub-batch."""
        if isinstance(key, (str, Joint)):
            return self.joint(key)
        sub = self.joints[key]
        if tuple(sub.shape[-2:]) != (NUM_JOINTS, 3):
            raise ShapeError(
                f"index {key!r} reaches into the joint axes; index the batch only (got shape {tuple(sub.shape)})."
            )
        if not isinstance(self.side, np.ndarray):
            return self._replace(sub)
        side_key = tuple(map(_numpy_key, key)) if isinstance(key, tuple) else _numpy_key(key)
        return self._replace(sub, side=_sides.normalize(self.side[side_key]))

    def joint(self, name: Any) -> Array:
        """Position of one joint, ``(..., 3)``: ``sk.joint("index_tip")``."""
        return self.joints[..., int(anatomy.joint(name)), :]

    def finger(self, name: Any) -> Array:
        """The four joints of a finger from its base to its tip, ``(..., 4, 3)``: ``sk.finger("index")``."""
        first = int(FINGER_JOINTS[anatomy.finger(name)][0])
        return self.joints[..., first : first + 4, :]

    def bone(self, name: Any) -> Array:
        """One bone vector, parent → child joint, ``(..., 3)``; bones are named after their child joint."""
        b = anatomy.bone(name)
        return self.joints[..., int(b.child), :] - self.joints[..., int(b.parent), :]

    @property
    def bones(self) -> Array:
        """All 20 bone vectors ``(..., 20, 3)``: ``bones[..., k, :] = J[k+1] − J[parent[k+1]]`` (:class:`~handkin.Bone` order)."""
        return self.joints[..., 1:, :] - take(self.joints, _PARENT, axis=-2)

    @property
    def bone_lengths(self) -> Array:
        """Lengths of the 20 bones ``(..., 20)``, in :attr:`units` (zero-length bones give 0 and a zero gradient)."""
        return safe_norm(self.bones)

    @property
    def root_bones(self) -> Array:
        """The five root bones b_1..b_5 (wrist → thumb_cmc, index_mcp, …, little_mcp), ``(..., 5, 3)``."""
        return take(self.bones, _ROOT_BONES, axis=-2)

    def reference_length(self, reference: Any = DEFAULT_REFERENCE_BONE) -> Array:
        """Length of the reference bone ``(...,)`` (default ``middle_mcp`` = wrist→middle_mcp)."""
        return safe_norm(self.bone(reference))

    # ----------------------------------------------------------------- measurements (paper §3.1)
    @property
    def palm_curvature(self) -> Array:
        """Curvature c_i of the four neighbouring root-bone pairs ``(..., 4)`` (Eq. 1–2), 1/length units."""
        return palm_curvature(self.as_right().root_bones)

    @property
    def palm_angles(self) -> Array:
        """Angular distance φ_i between neighbouring root bones ``(..., 4)`` (Eq. 3), radians."""
        return palm_angles(self.as_right().root_bones)

    @property
    def joint_angles(self) -> Array:
        """(flexion, abduction) of the 15 angle joints ``(..., 15, 2)``, radians, finger-major (Eq. 4–6)."""
        return measure(self.joints, mirror=self._left, with_frames=False).joint_angles

    @property
    def angles(self) -> JointAngles:
        """The joint angles as a named view: ``sk.angles["index_pip"].flexion``, ``sk.angles.degrees()``."""
        return JointAngles(self.joint_angles)

    @property
    def frames(self) -> BoneFrame:
        """The 15 bone frames (Eq. 4, 6) with their origins at the angle joints."""
        return self.measure().frames

    def measure(self, frames: bool = True, out: MeasuredArrays | None = None) -> Measurements:
        """Bone lengths, palm curvature and angles, joint angles and (unless ``frames=False``) frames with their
        origins, in one pass.

        Left hands are measured as their mirror image; their frames are mirrored back. ``out``: arrays to write
        into, reused across calls (``MeasuredArrays.empty(sk.batch_shape, like=sk.joints)``; see
        :func:`handkin.frames.measure`).
        """
        raw = measure(self.joints, mirror=self._left, with_frames=frames, with_origins=frames, out=out)
        bone_frames = None
        if frames:
            bone_frames = BoneFrame.model_construct(matrices=raw.frames, origins=raw.origins, side=self.side)
        return Measurements(raw.bone_lengths, raw.palm_curvature, raw.palm_angles, raw.joint_angles, bone_frames)

    @classmethod
    def from_angles(
        cls,
        angles: Any,
        bone_lengths: Array,
        palm: Any,
        *,
        units: Any = None,
        side: Any = None,
    ) -> HandSkeleton:
        """Forward kinematics: joints from a palm, 15 (flexion, abduction) pairs and finger-bone lengths.

        ``angles`` ``(..., 15, 2)`` radians (or a :class:`JointAngles`); ``bone_lengths`` ``(..., 15)`` in
        angle-joint order, or all 20 bone lengths ``(..., 20)``; ``palm`` a ``HandSkeleton`` (its wrist
        and five root joints, units and side are used), or an array ``(..., 6, 3)`` (wrist, thumb_cmc,
        index_mcp, middle_mcp, ring_mcp, little_mcp) or ``(..., 21, 3)``. Batch shapes broadcast.
        Inverts :attr:`joint_angles` exactly; differentiable in torch.
        """
        values = angles.values if isinstance(angles, JointAngles) else angles
        if isinstance(palm, HandSkeleton):
            units = palm.units if units is None else units
            side = palm.side if side is None else side
            palm_joints = palm.joints
        else:
            palm_joints = as_float_array(palm)
        if units is None:
            raise UnitsError("from_angles needs units=... (or a HandSkeleton as palm, whose units are used).")
        shape = tuple(palm_joints.shape)
        if len(shape) >= 2 and shape[-2:] == (NUM_JOINTS, 3):
            palm_joints = take(palm_joints, _PALM_JOINTS, axis=-2)
        elif len(shape) < 2 or shape[-2:] != (6, 3):
            raise ShapeError(f"palm must have shape (..., 6, 3) or (..., 21, 3), got {shape}.")
        if tuple(values.shape[-2:]) != (15, 2):
            raise ShapeError(f"angles must have shape (..., 15, 2), got {tuple(values.shape)}.")
        if bone_lengths.shape[-1] == 20:
            bone_lengths = take(bone_lengths, _ANGLE_BONE_INDEX, axis=-1)
        elif bone_lengths.shape[-1] != 15:
            raise ShapeError(f"bone_lengths must have shape (..., 15) or (..., 20), got {tuple(bone_lengths.shape)}.")
        batch = np.broadcast_shapes(
            tuple(palm_joints.shape[:-2]), tuple(values.shape[:-2]), tuple(bone_lengths.shape[:-1])
        )
        hand_side = _sides.parse("right" if side is None else side, batch)
        if isinstance(hand_side, str) and not isinstance(hand_side, Side):  # "auto": there is no geometry yet
            raise SideError("from_angles builds hands of a stated side: give side='right', 'left' or one per hand.")
        mirror = _sides.left_mask(hand_side)
        if isinstance(mirror, np.ndarray):
            xp = namespace(palm_joints)
            palm_joints = xp.broadcast_to(palm_joints, (*batch, 6, 3))
        palm_joints = _mirror_x(palm_joints, mirror)
        joints = _mirror_x(forward(palm_joints, values, bone_lengths), mirror)
        return cls.unchecked(joints, units=units, side=hand_side)

    def to_order(self, order: Any) -> Array:
        """The joints as an array ``(..., 21, 3)`` in another registered order (e.g. ``"rhd"``)."""
        return get_order(order).from_canonical(self.joints)

    # ----------------------------------------------------------------- conversions
    def to_units(self, units: Any, reference: Any = DEFAULT_REFERENCE_BONE) -> HandSkeleton:
        """The same hands in another unit; ``"ref"`` normalises by the reference bone (see :meth:`normalized`)."""
        target = parse_units(units)
        if target == self.units:
            return self
        if target == Units.ref:
            return self.normalized(reference)
        return self._replace(self.joints * scale_factor(self.units, target), units=target)

    def normalized(self, reference: Any = DEFAULT_REFERENCE_BONE) -> HandSkeleton:
        """Scale each hand so its reference bone has length 1 (units ``"ref"``).

        A hand whose reference bone has length 0 is left unscaled (finite values and gradients).
        """
        length = self.reference_length(reference)
        return self._replace(safe_divide(self.joints, length[..., None, None]), units=Units.ref)

    def denormalized(self, reference_length: Any, units: Any) -> HandSkeleton:
        """Undo :meth:`normalized`: multiply a ``ref`` skeleton by ``reference_length`` (scalar or ``(...,)``) in ``units``."""
        if self.units != Units.ref:
            raise UnitsError(f"denormalized() needs a 'ref' skeleton; this one is in {self.units.value!r}.")
        target = parse_units(units)
        if target == Units.ref:
            raise UnitsError("denormalized() needs a physical unit ('m', 'cm' or 'mm').")
        xp = namespace(self.joints)
        length = reference_length
        if not isinstance(length, (int, float)):
            length = xp.asarray(length, dtype=self.joints.dtype)[..., None, None]
        return self._replace(self.joints * length, units=target)

    def centered(self, joint: Any = "wrist") -> HandSkeleton:
        """Translate each hand so that ``joint`` (default the wrist) is at the origin."""
        return self._replace(self.joints - self.joint(joint)[..., None, :])

    def mirror(self) -> HandSkeleton:
        """Mirror x → −x and swap the side (right ↔ left). ``mirror().mirror()`` is the identity."""
        return self._replace(_mirror_x(self.joints), side=_sides.swapped(self.side))

    def as_right(self) -> HandSkeleton:
        """This skeleton as right hands: left hands are mirrored, right hands returned as they are."""
        if isinstance(self.side, np.ndarray):
            return self._replace(_mirror_x(self.joints, self._left), side=Side.right)
        return self if self.side == Side.right else self.mirror()

    def numpy(self) -> HandSkeleton:
        """The same skeleton on the numpy backend (detached from autograd, on the CPU)."""
        return self if not is_torch(self.joints) else self._replace(to_numpy(self.joints))

    def torch(self, device: Any = None, dtype: Any = None) -> HandSkeleton:
        """The same skeleton as a torch tensor on ``device`` (default: where it is; numpy → CPU)."""
        return self._replace(to_torch(self.joints, device=device, dtype=dtype))


__all__ = ["HandSkeleton", "TwoHands", "Measurements"]
