"""What is random about a synthetic sample (:class:`SyntheticConfig`), and the chunk sizes that, with the seed,
fix the generated data."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import ConfigDict, Field, model_validator

from handkin.sampling import Range, SamplingConfig

#: Samples generated per chunk by :class:`~handkin_train.data.synthetic.SyntheticHands`, each chunk from its own
#: generator spawned from the seed (bounds the working memory). Part of what a seed means: changing it changes
#: the data.
CHUNK = 256
#: Images rendered per chunk by :func:`~handkin_train.data.synthetic.render` (all random numbers of a chunk are
#: drawn at once). Part of what a seed means, like :data:`CHUNK`.
RENDER_CHUNK = 16


class SyntheticConfig(SamplingConfig):
    """Everything random about a synthetic sample, as ranges ``(lo, hi)`` sampled uniformly per image.

    The pose fields (``reference_mm``, ``natural_fraction``, ``bone_jitter``, ``spread_jitter_deg``,
    ``palm_cup_deg``) are those of :class:`handkin.sampling.SamplingConfig`; the rest place the camera and
    render the image.
    """

    model_config = ConfigDict(extra="forbid")

    image_size: int = Field(128, ge=16, le=1024)
    """Side of the square crop, pixels."""
    focal_px: Range = (150.0, 300.0)
    """Focal length of the crop camera, pixels (fx = fy). 150–300 px at 128 px is a 46°–24° field of view; when
    not given it scales with ``image_size`` (the same fields of view at every size)."""
    tilt_deg: float | None = Field(None, gt=0.0, le=180.0)
    """``None``: a uniformly random 3D orientation (Haar measure). A number: the palm faces the camera, fingers
    up, tilted out of the image plane by an angle uniform in ``[0, tilt_deg]`` about a random in-plane axis,
    then turned by a uniform angle about the camera axis — a narrower set of views for quick runs."""
    fill: Range = (0.5, 0.9)
    """Larger side of the joints' 2D bounding box as a fraction of the image side."""
    principal_jitter_px: float = Field(2.0, ge=0.0)
    """Standard deviation of the principal point around the image centre, pixels (clipped at 3σ)."""
    min_depth_mm: float = Field(100.0, gt=0.0)
    """Every joint is at least this far in front of the camera (Z), mm."""
    thickness: Range = (0.9, 1.15)
    """Factor on the finger and palm radii."""
    skin_tone: Range = (0.0, 1.0)
    """Position in a light→dark palette of skin tones."""
    glove_probability: float = Field(0.1, ge=0.0, le=1.0)
    """Probability that a hand is a uniformly coloured glove instead of skin."""
    arm_probability: float = Field(0.8, ge=0.0, le=1.0)
    """Probability of drawing a forearm (bare or in a random sleeve)."""
    ambient: Range = (0.25, 0.55)
    """Ambient share of the lighting (the rest is Lambertian)."""
    specular: Range = (0.0, 0.15)
    """Strength of a Blinn-Phong highlight."""
    max_shapes: int = Field(5, ge=0, le=32)
    """At most this many random rectangles / ellipses on the background."""
    noise_std: Range = (0.0, 5.0)
    """Standard deviation of the per-pixel sensor noise (uniformly distributed), 8-bit intensity units."""
    blur: Range = (0.0, 0.25)
    """Weight ``a`` of the separable blur kernel ``[a, 1 − 2a, a]`` (0 = sharp)."""

    @model_validator(mode="before")
    @classmethod
    def _scale_focal(cls, data: Any) -> Any:
        if isinstance(data, dict) and "focal_px" not in data and "image_size" in data:
            factor = float(data["image_size"]) / 128.0
            data = {**data, "focal_px": (150.0 * factor, 300.0 * factor)}
        return data

    @model_validator(mode="after")
    def _check_image_ranges(self) -> SyntheticConfig:
        return self._check_ranges(
            {  # name: (smallest allowed, largest allowed, lower bound strict)
                "focal_px": (0.0, math.inf, True),
                "fill": (0.0, 1.0, True),
                "thickness": (0.0, math.inf, True),
                "skin_tone": (0.0, 1.0, False),
                "ambient": (0.0, 1.0, False),
                "specular": (0.0, 1.0, False),
                "noise_std": (0.0, math.inf, False),
                "blur": (0.0, 1.0 / 3.0, False),
            }
        )


def uniform(rng: np.random.Generator, bounds: Range, size: Any) -> np.ndarray:
    """Draws uniform in ``bounds = (lo, hi)`` of shape ``size``."""
    return rng.uniform(bounds[0], bounds[1], size)


__all__ = ["CHUNK", "RENDER_CHUNK", "SyntheticConfig", "uniform"]
