"""The paper's biomechanical soft constraints as losses (Eq. 7, 9; supplementary Eq. 3–7).

* bone length  L_BL = 1/20 Σ_i I(‖b_i‖; b_i^min, b_i^max)
* root bones   L_RB = 1/4 Σ_i [I(c_i; c^min, c^max) + I(φ_i; φ^min, φ^max)]
* joint angles L_A  = 1/15 Σ_j D_A(θ_j, H_j)   (supplementary Eq. 3–7, :func:`handkin.hull.bmc_distance`)
* couplings    L_C  = mean over couplings of max(|θ_DIP − r θ_PIP − o| − band, 0)   (beyond the paper)
* total        λ_BL L_BL + λ_RB L_RB + λ_A L_A + λ_C L_C, paper weights λ_BL = λ_RB = 0.1, λ_A = 0.01.

``I(x; a, b) = max(a − x, 0) + max(x − b, 0)``. Constraints a ``JointLimits`` leaves unset contribute 0.
:func:`bmc_terms` is one code path for numpy and torch; :meth:`JointLimits.loss` and :class:`BMCLoss`
(a torch module holding the limits as buffers) call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from .anatomy import Side
from .backend import Array, is_torch, namespace
from .errors import ShapeError, UnitsError
from .frames import measure
from .hull import bmc_distance
from .skeleton import HandSkeleton
from .units import Units, scale_factor

if TYPE_CHECKING:
    from .limits import JointLimits

#: Loss weights of the paper (Eq. 9); the coupling weight is handkin's (couplings are beyond the paper).
DEFAULT_WEIGHTS: dict[str, float] = {"bone_length": 0.1, "root_bone": 0.1, "angle": 0.01, "coupling": 0.01}

Reduction = Literal["none", "mean", "sum"]


class LossTerms(NamedTuple):
    """The loss terms, per hand ``(...)`` with ``reduction="none"``, scalars otherwise."""

    bone_length: Array
    root_bone: Array
    angle: Array
    coupling: Array
    total: Array


class LimitArrays(NamedTuple):
    """A ``JointLimits`` as arrays on one backend, for :func:`bmc_terms`."""

    bones: Array
    """(20, 2) [min, max] per bone; ±inf where unset."""
    curvature: Array
    """(4, 2) per palm pair."""
    palm_angles: Array
    """(4, 2) per palm pair, radians."""
    polygons: Array
    """(15, N, 2) padded joint polygons, radians."""
    couplings: Array
    """(C, 5): PIP index, DIP index, ratio, offset, band."""


def limit_arrays(limits: JointLimits, like: Array | None = None) -> LimitArrays:
    """The limits as arrays with the dtype and device of ``like`` (numpy float64 when ``like`` is None)."""
    coupling = np.array(
        [[c.joints[0], c.joints[1], c.ratio, c.offset, c.band] for c in limits.couplings], dtype=float
    ).reshape(-1, 5)
    arrays = [limits.bone_bounds, limits.curvature_bounds, limits.palm_angle_bounds, limits.polygon_array, coupling]
    if like is None or not is_torch(like):
        dtype = np.float64 if like is None else like.dtype
        return LimitArrays(*(a.astype(dtype) for a in arrays))
    import torch

    return LimitArrays(*(torch.as_tensor(a, dtype=like.dtype, device=like.device) for a in arrays))


def interval_loss(x: Array, bounds: Array) -> Array:
    """``I(x; a, b) = max(a − x, 0) + max(x − b, 0)`` with ``bounds (K, 2)`` against ``x (..., K)``."""
    xp = namespace(x)
    zero = xp.zeros_like(x)
    return xp.maximum(bounds[..., 0] - x, zero) + xp.maximum(x - bounds[..., 1], zero)


def bmc_terms(joints: Array, arrays: LimitArrays, weights: Mapping[str, float] | None = None) -> LossTerms:
    """Per-hand loss terms ``(...)`` of right hands ``(..., 21, 3)`` given in the limits' length unit."""
    xp = namespace(joints)
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    m = measure(joints, with_frames=False)
    bone = xp.mean(interval_loss(m.bone_lengths, arrays.bones), axis=-1)
    root = (
        xp.sum(
            interval_loss(m.palm_curvature, arrays.curvature) + interval_loss(m.palm_angles, arrays.palm_angles),
            axis=-1,
        )
        / 4
    )
    angle = xp.mean(bmc_distance(m.joint_angles, arrays.polygons), axis=-1)
    if arrays.couplings.shape[0] > 0:
        c = arrays.couplings
        pip = xp.astype(c[:, 0], xp.int64)
        dip = xp.astype(c[:, 1], xp.int64)
        flexion = m.joint_angles[..., 0]
        residual = xp.take(flexion, dip, axis=-1) - c[:, 2] * xp.take(flexion, pip, axis=-1) - c[:, 3]
        coupling = xp.mean(xp.maximum(xp.abs(residual) - c[:, 4], xp.zeros_like(residual)), axis=-1)
    else:
        coupling = xp.zeros_like(bone)
    total = w["bone_length"] * bone + w["root_bone"] * root + w["angle"] * angle + w["coupling"] * coupling
    return LossTerms(bone, root, angle, coupling, total)


def reduce(terms: LossTerms, reduction: Reduction) -> LossTerms:
    """Apply ``"none"``, ``"mean"`` or ``"sum"`` over the batch to every term."""
    if reduction == "none":
        return terms
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}.")
    xp = namespace(terms.total)
    op = xp.mean if reduction == "mean" else xp.sum
    return LossTerms(*(op(t) for t in terms))


def joints_in_limit_units(x: HandSkeleton | Array, limits: JointLimits) -> Array:
    """Right-hand joints in the limits' length unit: skeletons are mirrored if left and converted (``ref`` limits
    normalise by the reference bone); plain arrays are taken as right hands already in the limits' unit."""
    if not isinstance(x, HandSkeleton):
        shape = tuple(x.shape)
        if len(shape) < 2 or shape[-2:] != (21, 3):
            raise ShapeError(f"joints must have shape (..., 21, 3), got {shape}.")
        return x
    sk = x.as_right() if x.side == Side.left else x
    if limits.units == Units.ref:
        return sk.normalized(limits.reference_bone).joints
    if sk.units == Units.ref:
        raise UnitsError(f"limits in {limits.units.value!r} cannot score a 'ref' skeleton; denormalize it first.")
    return sk.joints * scale_factor(sk.units, limits.units) if sk.units != limits.units else sk.joints


def limits_loss(
    limits: JointLimits,
    x: HandSkeleton | Array,
    reduction: Reduction = "mean",
    weights: Mapping[str, float] | None = None,
) -> LossTerms:
    """:meth:`JointLimits.loss` (numpy or torch; converts the limits to the input's backend on each call)."""
    joints = joints_in_limit_units(x, limits)
    return reduce(bmc_terms(joints, limit_arrays(limits, joints), weights), reduction)


def _torch_module_base():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is optional for handkin
        return object
    return torch.nn.Module


class BMCLoss(_torch_module_base()):  # type: ignore[misc]
    """The BMC loss as a torch module: ``BMCLoss(limits)(joints)`` → the weighted total (or :class:`LossTerms`).

    The limits are registered buffers (they move with ``.to(device)``); the loss is computed in float32
    under autocast or for half-precision input (float64 input stays float64, e.g. for gradcheck). The input
    is ``(..., 21, 3)`` right hands in the limits' unit — for ``ref`` limits, normalised by the reference bone
    (the 2.5D representation already is) — or a ``HandSkeleton``, converted as :meth:`JointLimits.loss` does.
    """

    def __init__(
        self,
        limits: JointLimits,
        weights: Mapping[str, float] | None = None,
        reduction: Reduction = "mean",
        return_terms: bool = False,
    ) -> None:
        import torch

        super().__init__()
        self.limits = limits
        self.weights = {**DEFAULT_WEIGHTS, **(weights or {})}
        self.reduction = reduction
        self.return_terms = return_terms
        for name, value in limit_arrays(limits)._asdict().items():
            self.register_buffer(name, torch.as_tensor(value, dtype=torch.float32))

    def arrays(self, like: Array) -> LimitArrays:
        return LimitArrays(*(getattr(self, name).to(like.dtype) for name in LimitArrays._fields))

    def forward(self, joints: Any) -> Any:
        import torch

        if isinstance(joints, HandSkeleton):
            joints = joints_in_limit_units(joints, self.limits)
        if joints.dtype in (torch.float16, torch.bfloat16) or torch.is_autocast_enabled(joints.device.type):
            with torch.autocast(device_type=joints.device.type, enabled=False):
                terms = bmc_terms(joints.float(), self.arrays(joints.float()), self.weights)
        else:
            terms = bmc_terms(joints, self.arrays(joints), self.weights)
        terms = reduce(terms, self.reduction)
        return terms if self.return_terms else terms.total

    def extra_repr(self) -> str:
        return f"limits={self.limits!r}, weights={self.weights}, reduction={self.reduction!r}"


__all__ = [
    "BMCLoss",
    "LossTerms",
    "LimitArrays",
    "DEFAULT_WEIGHTS",
    "bmc_terms",
    "limit_arrays",
    "interval_loss",
    "limits_loss",
    "reduce",
]
