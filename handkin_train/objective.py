"""The training loss of the paper (Eq. 10): masked L1 terms on whichever labels a sample has, plus BMC.

    L = λ_2D L1(uv) + λ_zr L1(z_rel) + λ_Zroot L1(Ẑ_root) + λ_BL L_BL + λ_RB L_RB + λ_A L_A

The L1 terms average over the samples that carry the label (``has_2d`` for uv, ``has_3d`` for z_rel and
Z_root; per-joint ``uv_visible`` when a dataset gives it), so 2D-only samples train the 2D term and BMC
only. BMC (handkin's :class:`~handkin.BMCLoss`) scores the predicted camera-space joints of every sample,
in reference-bone lengths, against limits in ``ref`` units; by default those joints are rebuilt with the
quadratic's Ẑ_root and its gradient (``LossConfig.bmc_root``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from handkin import BMCLoss, JointLimits, camera
from handkin.bounds import limit_scale
from handkin.handsize import ADULT_REFERENCE_MM
from handkin.units import Units

from .config import LossConfig
from .model import Z_ROOT_RANGE, Prediction


class LossBreakdown(NamedTuple):
    """Every term of Eq. 10 (scalars): weighted ``total`` and the unweighted terms."""

    total: Tensor
    uv: Tensor
    z_rel: Tensor
    z_root: Tensor
    bone_length: Tensor
    root_bone: Tensor
    angle: Tensor


def training_limits(config: LossConfig) -> JointLimits:
    """The BMC limits in ``ref`` units: the configured JSON file, or handkin's literature defaults."""
    limits = JointLimits.load(config.limits) if config.limits is not None else JointLimits.default(units="ref")
    if limits.units != Units.ref:
        # physical limits: lengths over an adult wrist→middle_mcp range (handkin's default hand sizes)
        mm = limit_scale(limits, "mm")  # one length unit of the limits, in mm
        limits = limits.to_units("ref", reference_length=(ADULT_REFERENCE_MM[0] / mm, ADULT_REFERENCE_MM[1] / mm))
    return limits


def masked_mean(per_sample: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``per_sample (B,)`` over ``mask (B,)`` samples; 0 (with a zero gradient) when none is set."""
    m = mask.to(per_sample.dtype)
    return (per_sample * m).sum() / m.sum().clamp(min=1.0)


class Objective(nn.Module):
    """Eq. 10 as a module: ``Objective(config)(prediction, batch) → LossBreakdown``.

    ``batch`` holds ``uv (B, 21, 2)``, ``z_rel (B, 21)``, ``z_root (B,)`` (reference lengths), ``has_2d (B,)``,
    ``has_3d (B,)`` and optionally ``uv_visible (B, 21)``. 2D errors are in units of ``config.uv_scale`` pixels
    (default: the crop size ``image_size``).
    """

    def __init__(
        self, config: LossConfig | None = None, limits: JointLimits | None = None, image_size: int = 128
    ) -> None:
        super().__init__()
        self.config = config or LossConfig()
        c = self.config
        self.uv_scale = float(c.uv_scale if c.uv_scale is not None else image_size)
        self.bmc = BMCLoss(
            limits if limits is not None else training_limits(c),
            weights={"bone_length": c.bone_length, "root_bone": c.root_bone, "angle": c.angle, "coupling": 0.0},
            reduction="mean",
            return_terms=True,
        )

    def forward(self, pred: Prediction, batch: dict[str, Tensor]) -> LossBreakdown:
        c = self.config
        uv_error = (pred.uv - batch["uv"]).abs().sum(-1) / self.uv_scale  # (B, 21) L1 over u and v
        if "uv_visible" in batch:
            vis = batch["uv_visible"].to(uv_error.dtype)
            uv_per_sample = (uv_error * vis).sum(-1) / vis.sum(-1).clamp(min=1.0)
        else:
            uv_per_sample = uv_error.mean(-1)
        l_uv = masked_mean(uv_per_sample, batch["has_2d"])
        has_3d = batch["has_3d"]
        l_zrel = masked_mean((pred.z_rel - batch["z_rel"]).abs().mean(-1), has_3d)
        l_zroot = masked_mean((pred.z_root - batch["z_root"]).abs(), has_3d)
        bmc = self.bmc(self.bmc_joints(pred, batch))
        total = c.uv * l_uv + c.z_rel * l_zrel + c.z_root * l_zroot + bmc.total
        return LossBreakdown(total, l_uv, l_zrel, l_zroot, bmc.bone_length, bmc.root_bone, bmc.angle)

    def bmc_joints(self, pred: Prediction, batch: dict[str, Tensor]) -> Tensor:
        """The (B, 21, 3) joints BMC scores, in reference-bone lengths (see ``LossConfig.bmc_root``)."""
        if self.config.bmc_root == "refined":
            return pred.joints
        if "K" not in batch:
            raise KeyError("the BMC term with loss.bmc_root = 'quadratic' needs the batch's intrinsics 'K'.")
        dtype = torch.promote_types(pred.uv.dtype, torch.float32)  # half precision → float32; float64 stays
        uv, z_rel, K = pred.uv.to(dtype), pred.z_rel.to(dtype), batch["K"].to(dtype)
        z_root = camera.solve_root_depth(uv, z_rel, K).z_root
        return camera.from_25d(uv, z_rel, K, z_root.clamp(*Z_ROOT_RANGE))


__all__ = ["Objective", "LossBreakdown", "masked_mean", "training_limits"]
