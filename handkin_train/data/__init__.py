"""Training data of handkin_train: the built-in synthetic hands (:mod:`.synthetic`, issue #7)."""

from .synthetic import (
    CHUNK,
    HandPrimitives,
    Raster,
    SyntheticConfig,
    SyntheticHands,
    hand_primitives,
    rasterize,
    render,
    sample_cameras,
    sample_poses,
)

__all__ = [
    "CHUNK",
    "HandPrimitives",
    "Raster",
    "SyntheticConfig",
    "SyntheticHands",
    "hand_primitives",
    "rasterize",
    "render",
    "sample_cameras",
    "sample_poses",
]
