"""The settings of the random augmentation of hand crops (drawn by :mod:`.crops`, applied by :mod:`.cache`).

Part of the run configuration (``data.train.augment``; re-exported by :mod:`handkin_train.config`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..schema import Section


class AugmentConfig(Section):
    """Random augmentation of hand crops, drawn per sample (paper-style: scale, rotation, translation, colour).

    Geometry keeps every label consistent: the crop is rotated about the camera's optical axis (the 3D joints
    rotate with it), scaled and shifted (the crop intrinsics ``K`` follow), so ``uv = project(joints, K)`` holds
    exactly after augmentation.
    """

    enabled: bool = True
    scale: tuple[float, float] = (0.85, 1.15)
    """Factor on the hand's size in the crop (1: the prepared crop's size; the box side × ``pad`` fills it)."""
    rotation_deg: float = Field(180.0, ge=0.0, le=180.0)
    """Rotation about the optical axis, uniform in ±this many degrees."""
    shift: float = Field(0.08, ge=0.0, le=0.5)
    """Translation of the hand centre, uniform in ±this fraction of the crop side, per axis."""
    brightness: float = Field(0.3, ge=0.0, lt=1.0)
    """Intensity factor uniform in 1 ± this."""
    contrast: float = Field(0.3, ge=0.0, lt=1.0)
    """Contrast factor about the image's mean grey, uniform in 1 ± this."""
    saturation: float = Field(0.3, ge=0.0, le=1.0)
    """Saturation factor (0: grey), uniform in 1 ± this."""
    colour_gain: float = Field(0.1, ge=0.0, lt=1.0)
    """Per-channel gain uniform in 1 ± this (white-balance / hue shifts)."""
    interpolation: Literal["nearest", "bilinear"] = "nearest"
    """Resampling of the warp. The prepared crops have the training resolution, so the warp is close to unit
    scale: ``nearest`` moves image content by at most half a pixel (the labels stay exact) and costs about a
    fifth less CPU than ``bilinear`` in the loader (``benchmarks/bench_loader.py``)."""
    warp: Literal["loader", "device"] = "loader"
    """Where the crops are warped and coloured. ``loader``: in the DataLoader workers on the CPU (OpenCV, about
    0.1 ms per 128 px crop). ``device``: the workers only gather the stored crops and draw the augmentation (the
    labels are final); the trainer warps and colours the whole batch with ``torch.grid_sample`` on its device
    after the transfer (for GPUs whose loader CPUs are the bottleneck; it works, slowly, on the CPU too).
    Prepared caches only, not inside a ``mix``."""

    @model_validator(mode="after")
    def _check_scale(self) -> AugmentConfig:
        lo, hi = self.scale
        if not (0.0 < lo <= hi):
            raise ValueError(f"scale must be a range (lo, hi) with 0 < lo <= hi, got {self.scale}.")
        return self


__all__ = ["AugmentConfig"]
