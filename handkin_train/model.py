"""The network of the paper (§3.2, §4, supplementary §8): a ResNet regressing the 2.5D pose from a 128×128
crop, Z_root from the quadratic (:mod:`handkin.camera`), refined by a small MLP (Eq. 8, supplementary Tab. 6).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor, nn

from handkin import camera
from handkin.errors import ShapeError

from .config import ModelConfig
from .errors import CheckpointError

#: ImageNet statistics the torchvision backbones were trained with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


#: Ẑ_root (reference lengths) used for the 3D joints is clamped to this range: 0.5–300 bone lengths ≈ 4 cm–26 m.
Z_ROOT_RANGE = (0.5, 300.0)


def mean_pose_bias() -> Tensor:
    """Head bias (63,) giving a flat open right hand, palm to the camera, fingers up, 60 % of the crop, z_rel 0."""
    import handkin

    joints = torch.as_tensor(handkin.flat_hand(units="mm").joints, dtype=torch.float32)
    uv = torch.stack([-joints[:, 0], -joints[:, 1]], dim=-1)  # palm to the camera: thumb right, fingers up
    uv = uv - (uv.max(0).values + uv.min(0).values) / 2
    uv = uv / (uv.max(0).values - uv.min(0).values).max() * 0.6
    return torch.cat([uv, torch.zeros(21, 1)], dim=-1).flatten()


class Prediction(NamedTuple):
    """The network's output for a batch of B crops (float32)."""

    uv: Tensor
    """(B, 21, 2) joints in crop pixels."""
    z_rel: Tensor
    """(B, 21) depth relative to the wrist, in reference-bone lengths."""
    z_root_computed: Tensor
    """(B,) Ẑ_root from the quadratic, in reference-bone lengths."""
    z_root: Tensor
    """(B,) the refined Ẑ_root (Eq. 8; equal to the computed one without the refiner)."""
    joints: Tensor
    """(B, 21, 3) camera-space joints in reference-bone lengths (× the bone length in mm → mm)."""
    valid: Tensor
    """(B,) bool: the quadratic had a real positive root."""


class RootRefiner(nn.Module):
    """Supplementary Tab. 6: Linear(85, 128) – LeakyReLU(0.01) – BatchNorm – Linear(128, 128) – LeakyReLU(0.01) –
    BatchNorm – Linear(128, 1). Inputs: z_rel (21), K⁻¹·(u, v, 1) (21 × 3) and the computed Ẑ_root (1);
    output: the residual added to Ẑ_root."""

    IN_FEATURES = 21 + 21 * 3 + 1

    def __init__(self, batchnorm: bool = True, hidden: int = 128) -> None:
        super().__init__()

        def norm() -> nn.Module:
            return nn.BatchNorm1d(hidden) if batchnorm else nn.Identity()

        self.layers = nn.Sequential(
            nn.Linear(self.IN_FEATURES, hidden),
            nn.LeakyReLU(0.01),
            norm(),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.01),
            norm(),
            nn.Linear(hidden, 1),
        )
        nn.init.zeros_(self.layers[-1].weight)  # starts as the identity refinement
        nn.init.zeros_(self.layers[-1].bias)

    def forward(self, z_rel: Tensor, rays: Tensor, z_root: Tensor) -> Tensor:
        x = torch.cat([z_rel, rays.flatten(1), z_root[:, None]], dim=1)
        return self.layers(x)[:, 0]


def lift_25d(uv: Tensor, z_rel: Tensor, K: Tensor, refiner: RootRefiner | None = None) -> Prediction:
    """The network head after the 2.5D regression: ``uv (B, 21, 2)`` px and ``z_rel (B, 21)`` → :class:`Prediction`.

    Ẑ_root from the quadratic (:func:`handkin.camera.solve_root_depth`), plus the ``refiner``'s residual
    (Eq. 8) when given; the 3D joints use Ẑ_root clamped to [:data:`Z_ROOT_RANGE`] reference lengths. No
    gradient flows through Ẑ_root: the quadratic and the refiner see ``uv`` and ``z_rel`` detached, so
    the refiner learns from L_Zroot alone and the joints pass gradients to ``uv`` and ``z_rel`` only.
    Any regressor of the 2.5D pose can share it (:class:`HandPoseNet` does; so does the lifting network
    of ``benchmarks/weak_supervision.py``).
    """
    root = camera.solve_root_depth(uv.detach(), z_rel.detach(), K)
    z_root = root.z_root
    if refiner is not None:
        z_root = z_root + refiner(z_rel.detach(), camera.rays(uv.detach(), K), root.z_root)
    joints = camera.from_25d(uv, z_rel, K, z_root.clamp(*Z_ROOT_RANGE))
    return Prediction(uv, z_rel, root.z_root, z_root, joints, root.valid)


def _backbone(name: str) -> nn.Module:
    import torchvision

    return getattr(torchvision.models, name)(weights=None)


def load_backbone_weights(backbone: nn.Module, path: Path) -> None:
    """Load an ImageNet state dict from a local file into ``backbone`` (its classifier ``fc`` is skipped)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"backbone weights file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling problem means an unreadable file
        raise CheckpointError(f"cannot read backbone weights {path}: {exc}") from exc
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = backbone.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("fc.")]
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not fit the backbone: missing keys {missing[:5]}, unexpected {unexpected[:5]}"
        )


class HandPoseNet(nn.Module):
    """ResNet → 21 × (u, v, z_rel) → Z_root by the quadratic → refined Z_root → camera-space joints.

    ``forward(images, K)``: images ``(B, 3, H, W)``, uint8 or float in [0, 1] (normalised here with the
    ImageNet statistics); ``K (B, 3, 3)`` the crop's intrinsics in pixels. Returns a :class:`Prediction`.
    The camera and refiner run in float32 even under autocast.

    Gradients: the quadratic's Ẑ_root is sensitive to small 2D errors (paper §3.2), so no gradient flows
    back through it: the refiner sees its inputs detached and L_Zroot trains the refiner only; the 2D,
    relative-depth and BMC terms train the backbone. The 3D joints use Ẑ_root clamped to
    [:data:`Z_ROOT_RANGE`] reference lengths, so a wild early prediction cannot blow up the BMC loss.
    The head starts at the mean pose: a flat open hand filling 60 % of the crop, all relative depths 0.
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or ModelConfig()
        self.backbone = _backbone(self.config.backbone)
        if self.config.weights is not None:
            load_backbone_weights(self.backbone, self.config.weights)
        features = self.backbone.fc.in_features
        self.backbone.fc = nn.Linear(features, 21 * 3)
        nn.init.normal_(self.backbone.fc.weight, std=1e-3)
        with torch.no_grad():
            self.backbone.fc.bias.copy_(mean_pose_bias())
        self.refiner = RootRefiner(self.config.refiner_batchnorm) if self.config.refine_root else None
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def normalise(self, images: Tensor) -> Tensor:
        """uint8 or [0, 1] images → ImageNet-normalised float32 (elementwise: keeps channels_last)."""
        x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
        return (x - self.mean) / self.std

    def forward(self, images: Tensor, K: Tensor) -> Prediction:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ShapeError(f"images must have shape (B, 3, H, W), got {tuple(images.shape)}.")
        out = self.backbone(self.normalise(images))
        with torch.autocast(device_type=images.device.type, enabled=False):
            out = out.float().view(-1, 21, 3)
            uv = (out[..., :2] + 0.5) * self.config.image_size  # head output 0 = the crop centre
            return lift_25d(uv, out[..., 2], K.float(), self.refiner)


__all__ = ["HandPoseNet", "RootRefiner", "Prediction", "CheckpointError", "load_backbone_weights", "lift_25d"]
