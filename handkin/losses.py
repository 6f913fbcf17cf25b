"""The paper's biomechanical soft constraints as losses (Eq. 7, 9; supplementary Eq. 3–7).

* bone length  L_BL = 1/20 Σ_i I(‖b_i‖; b_i^min, b_i^max)
* root bones   L_RB = 1/4 Σ_i [I(c_i; c^min, c^max) + I(φ_i; φ^min, φ^max)]
* joint angles L_A  = 1/15 Σ_j D_A(θ_j, H_j)   (supplementary Eq. 3–7, :func:`handkin.hull.bmc_distance`)
* couplings    L_C  = mean over couplings of max(|θ_DIP − r θ_PIP − o| − band, 0)   (beyond the paper)
* total        λ_BL L_BL + λ_RB L_RB + λ_A L_A + λ_C L_C, paper weights λ_BL = λ_RB = 0.1, λ_A = 0.01.

``I(x; a, b) = max(a − x, 0) + max(x − b, 0)``. Constraints a ``JointLimits`` leaves unset contribute 0.
The excess of each constraint, the limit arrays and the unit conversion are :mod:`handkin.bounds`'s (re-exported
here: :class:`LimitArrays`, :func:`limit_arrays`, :func:`interval_loss`, :func:`joints_in_limit_units`); this
module averages and weighs them. :func:`bmc_terms` is one code path for numpy and torch; :meth:`JointLimits.loss`
and :class:`BMCLoss` (a torch module holding the limits as buffers) call it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from .backend import Array, backend_name, is_torch, namespace, single_threaded
from .bounds import (
    LimitArrays,
    coupling_excess,
    interval_excess,
    limit_arrays,
    polygon_excess,
    to_limit_units,
)
from .errors import BackendError, LimitsError
from .frames import measure
from .hull import polygon_edges
from .limits import JointLimits
from .skeleton import HandSkeleton

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


#: ``I(x; a, b)`` of ``x (..., K)`` against ``bounds (K, 2)``: :func:`handkin.bounds.interval_excess`.
interval_loss = interval_excess


def bmc_terms(joints: Array, arrays: LimitArrays, weights: Mapping[str, float] | None = None) -> LossTerms:
    """Per-hand loss terms ``(...)`` of right hands ``(..., 21, 3)`` given in the limits' length unit.

    One :func:`~handkin.frames.measure` (in torch with its fused analytic backward), one interval excess over the
    28 bone, curvature and palm-angle values, one D_A over the 15 joints."""
    with single_threaded(joints):
        return _bmc_terms(joints, arrays, {**DEFAULT_WEIGHTS, **(weights or {})})


def _bmc_terms(joints: Array, arrays: LimitArrays, w: Mapping[str, float]) -> LossTerms:
    xp = namespace(joints)
    m = measure(joints, with_frames=False)
    values = xp.concat([m.bone_lengths, m.palm_curvature, m.palm_angles], axis=-1)
    excess = interval_excess(values, xp.concat([arrays.bones, arrays.curvature, arrays.palm_angles], axis=0))
    angle = polygon_excess(m.joint_angles, arrays.polygons, "bmc", arrays.polygon_edges)
    coupling = coupling_excess(m.joint_angles, arrays.couplings) if arrays.couplings.shape[0] > 0 else None
    return _terms_from_excess(excess[..., :20], excess[..., 20:], angle, coupling, w)


def _terms_from_excess(
    bones: Array, palm: Array, angles: Array, couplings: Array | None, weights: Mapping[str, float] | None = None
) -> LossTerms:
    """The loss terms ``(...)`` from the excess of the 20 bone lengths ``(..., 20)``, of the palm's curvature and
    angular distance ``(..., 8)`` (or their per-pair sum ``(..., 4)``), the 15 joints' D_A ``(..., 15)`` and the
    couplings ``(..., C)`` (None: no couplings); paper weights unless ``weights`` says otherwise."""
    xp = namespace(bones)
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    bone = xp.mean(bones, axis=-1)
    root = xp.sum(palm, axis=-1) / 4  # Σ_i I(c_i) + I(φ_i), over the 4 palm pairs
    angle = xp.mean(angles, axis=-1)
    total = w["bone_length"] * bone + w["root_bone"] * root + w["angle"] * angle
    if couplings is None:
        return LossTerms(bone, root, angle, xp.zeros_like(bone), total)
    coupling = xp.mean(couplings, axis=-1)
    return LossTerms(bone, root, angle, coupling, total + w["coupling"] * coupling)


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
    """Right-hand joints in the limits' length unit (:func:`handkin.bounds.to_limit_units`): skeletons are
    mirrored if left and converted (``ref`` limits normalise by the reference bone); plain arrays are taken as
    right hands already in the limits' unit."""
    return to_limit_units(x, limits).joints


def limits_loss(
    limits: JointLimits,
    x: HandSkeleton | Array,
    reduction: Reduction = "mean",
    weights: Mapping[str, float] | None = None,
) -> LossTerms:
    """:meth:`JointLimits.loss` (numpy or torch; converts the limits to the input's backend on each call)."""
    joints = joints_in_limit_units(x, limits)
    return reduce(bmc_terms(joints, limit_arrays(limits, joints), weights), reduction)


class _BMCLossBody:
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

        from .hull import _bmc_autograd

        _bmc_autograd()  # built here, outside any torch.compile trace
        if not isinstance(limits, JointLimits):
            raise LimitsError(
                f"BMCLoss(limits) takes a JointLimits (e.g. JointLimits.default() or JointLimits.load(path)), "
                f"got {type(limits).__name__}; the joints go to the module's call: BMCLoss(limits)(joints)."
            )
        super().__init__()
        self.limits = limits
        self.weights = {**DEFAULT_WEIGHTS, **(weights or {})}
        self.reduction = reduction
        self.return_terms = return_terms
        for name, value in limit_arrays(limits)._asdict().items():
            # the edge table is derived from the polygons: kept off the state dict (checkpoints stay as they were)
            persistent = name != "polygon_edges"
            self.register_buffer(name, torch.as_tensor(value, dtype=torch.float32), persistent=persistent)

    def arrays(self, like: Array) -> LimitArrays:
        """The limit buffers in ``like``'s dtype; in another dtype than the buffers' (float64 for gradcheck) the
        edge table is rebuilt from the converted polygons, so that it matches them exactly."""
        arrays = LimitArrays(*(getattr(self, name).to(like.dtype) for name in LimitArrays._fields))
        if like.dtype != self.polygon_edges.dtype:
            arrays = arrays._replace(polygon_edges=polygon_edges(arrays.polygons))
        return arrays

    def forward(self, joints: Any) -> Any:
        import torch

        if isinstance(joints, HandSkeleton):
            joints = joints_in_limit_units(joints, self.limits)
        self._check_input(joints)
        if joints.dtype in (torch.float16, torch.bfloat16) or _autocast_enabled(joints.device.type):
            with torch.autocast(device_type=joints.device.type, enabled=False):
                terms = bmc_terms(joints.float(), self.arrays(joints.float()), self.weights)
        else:
            terms = bmc_terms(joints, self.arrays(joints), self.weights)
        terms = reduce(terms, self.reduction)
        return terms if self.return_terms else terms.total

    def _check_input(self, joints: Any) -> None:
        """A floating torch tensor on the device of the limits' buffers, else :class:`BackendError`."""
        import torch

        if not is_torch(joints):
            raise BackendError(
                f"BMCLoss is a torch module and takes torch tensors (..., 21, 3), got {backend_name(joints)}: use "
                "torch.as_tensor(joints) (or HandSkeleton.torch()), or JointLimits.loss(joints) for numpy."
            )
        if not torch.is_floating_point(joints):
            raise BackendError(f"BMCLoss needs floating-point joints, got dtype {joints.dtype}: use joints.float().")
        device = self.bones.device
        if joints.device != device:
            raise BackendError(
                f"the joints are on {joints.device} but BMCLoss's limits are on {device}: move the module with "
                f"loss.to({str(joints.device)!r}) (or the joints with .to({str(device)!r}))."
            )

    def extra_repr(self) -> str:
        return f"limits={self.limits!r}, weights={self.weights}, reduction={self.reduction!r}"


@cache
def _bmc_loss_class() -> type:
    """``BMCLoss``: :class:`_BMCLossBody` on ``torch.nn.Module``, built on first use so that importing handkin does
    not import torch (``object`` as the base without torch)."""
    try:
        import torch

        base: type = torch.nn.Module
    except ImportError:  # pragma: no cover - torch is optional for handkin
        base = object
    namespace_ = {"__module__": __name__, "__qualname__": "BMCLoss", "__doc__": _BMCLossBody.__doc__}
    return type("BMCLoss", (_BMCLossBody, base), namespace_)


if TYPE_CHECKING:
    BMCLoss = _BMCLossBody
elif "torch" in sys.modules:  # torch is imported already: nothing to save by waiting
    BMCLoss = _bmc_loss_class()


def __getattr__(name: str) -> Any:
    """``BMCLoss`` on first access (PEP 562), so that ``import handkin`` does not import torch."""
    if name == "BMCLoss":
        cls = _bmc_loss_class()
        globals()["BMCLoss"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _autocast_enabled(device_type: str) -> bool:
    """``torch.is_autocast_enabled(device_type)``; False for device types without autocast (e.g. ``meta``)."""
    import torch

    available = getattr(torch.amp, "is_autocast_available", None)
    if available is not None and not available(device_type):
        return False
    return torch.is_autocast_enabled(device_type)


__all__ = [
    "BMCLoss",
    "LossTerms",
    "LimitArrays",
    "DEFAULT_WEIGHTS",
    "bmc_terms",
    "limit_arrays",
    "interval_loss",
    "joints_in_limit_units",
    "limits_loss",
    "reduce",
]
