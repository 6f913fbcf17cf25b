"""Plausible random hand poses from :class:`~handkin.JointLimits`: right hands in millimetres, numpy only.

:func:`sample_poses` draws ``n`` right hands in handkin's template frame (wrist at the origin, fingers +y, thumb
−x, palm −z): the template's palm and bone lengths scaled to a random hand size (each bone jittered and clipped
into the limits' bone intervals, the palm slightly cupped inside the palm limits), and 15 joint angles drawn
inside the limits' angle polygons and couplings, posed by forward kinematics
(:meth:`handkin.HandSkeleton.from_angles`). :class:`SamplingConfig` holds the ranges; every draw comes from the
``numpy.random.Generator`` passed in, so a seed fixes the poses.

>>> import handkin
>>> from handkin.sampling import sample_poses
>>> sample_poses(4, handkin.JointLimits.default(), rng=0).shape
(4, 21, 3)
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .anatomy import ANGLE_BONES, ROOT_BONES, Bone, Finger
from .bounds import coupling_array, coupling_excess, limit_scale
from .errors import LimitsError
from .handsize import REFERENCE_MM
from .hull import contains
from .hull import project as project_into_polygons
from .limits import JointLimits
from .palm import palm_angles, palm_curvature
from .skeleton import HandSkeleton
from .template import ADULT_BONE_LENGTHS_MM, ROOT_SPREAD_DEG
from .units import Units

Range = tuple[float, float]
"""A closed range ``(lo, hi)``, sampled uniformly."""

# --------------------------------------------------------------------------------------------- configuration


class SamplingConfig(BaseModel):
    """The ranges of :func:`sample_poses` (each ``(lo, hi)`` range is sampled uniformly per hand)."""

    model_config = ConfigDict(extra="forbid")

    reference_mm: Range = (75.0, 105.0)
    """Hand size: the wrist→middle_mcp length, mm."""
    natural_fraction: float = Field(0.6, ge=0.0, le=1.0)
    """Fraction of poses drawn around natural finger curls (the rest uniformly inside the angle polygons)."""
    bone_jitter: float = Field(0.06, ge=0.0, lt=0.5)
    """Relative jitter of each bone length around the template's proportions (then clipped to the limits)."""
    spread_jitter_deg: float = Field(3.0, ge=0.0, le=20.0)
    """Jitter of the root bones' directions in the palm plane, degrees (kept inside the palm-angle limits)."""
    palm_cup_deg: Range = (0.0, 15.0)
    """Cupping of the palm (thumb, ring and little metacarpals tilted palm-wards), degrees."""

    @model_validator(mode="after")
    def _check_pose_ranges(self) -> SamplingConfig:
        return self._check_ranges({"reference_mm": (0.0, math.inf, True), "palm_cup_deg": (0.0, 45.0, False)})

    def _check_ranges(self, bounds: dict[str, tuple[float, float, bool]]):
        """Check range fields ``{name: (smallest allowed, largest allowed, lower bound strict)}``; returns self."""
        for name, (lo_ok, hi_ok, strict) in bounds.items():
            lo, hi = getattr(self, name)
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
                raise ValueError(f"{name} must be a finite range (lo, hi) with lo <= hi, got ({lo}, {hi}).")
            if lo < lo_ok or (strict and lo == lo_ok) or hi > hi_ok:
                side = ">" if strict else ">="
                raise ValueError(f"{name} must lie in [{lo_ok}, {hi_ok}] (lo {side} {lo_ok}), got ({lo}, {hi}).")
        return self


# --------------------------------------------------------------------------------------------- hand size and palm

#: Template bone lengths in reference lengths, Bone order (20,).
_TEMPLATE_REF = np.array([ADULT_BONE_LENGTHS_MM[b] for b in Bone]) / REFERENCE_MM
_ROOT = np.array([int(b) for b in ROOT_BONES])
_SPREAD = np.radians([ROOT_SPREAD_DEG[f] for f in Finger])
#: Palm-ward tilt of each root bone per degree of cupping (thumb, index, middle, ring, little).
_CUP_SHARE = np.array([1.0, 0.0, 0.0, 0.5, 1.0])


def _lengths_to_mm(bounds: np.ndarray, limits: JointLimits, norm_mm: np.ndarray, power: int = 1) -> np.ndarray:
    """Limit ``bounds (k, 2)`` in the limits' unit → ``(n, k, 2)`` in mm (``power=-1`` for curvature, 1/length).

    The one place where the sampler puts the limits into the hands' unit (mm): ``ref`` limits scale with each
    hand's reference bone ``norm_mm (n,)``, physical limits by a constant factor.
    """
    factor = limit_scale(limits, "mm", np.asarray(norm_mm, dtype=float))[:, None, None]
    return bounds[None] * factor**power  # positive factors keep (min, max) in order


def _sample_reference(n: int, limits: JointLimits, rng: np.random.Generator, config: SamplingConfig) -> np.ndarray:
    """Hand sizes ``(n,)`` mm, inside ``config.reference_mm`` and (physical limits) the middle_mcp interval."""
    lo, hi = config.reference_mm
    if limits.units != Units.ref:
        b = _lengths_to_mm(limits.bone_bounds[[int(Bone.middle_mcp)]], limits, np.ones(1))[0, 0]
        lo, hi = max(lo, b[0]), min(hi, b[1])
        if lo > hi:
            raise LimitsError(
                f"reference_mm {config.reference_mm} does not overlap the limits' middle_mcp interval {tuple(b)} mm."
            )
    return rng.uniform(lo, hi, n)


def _sample_bone_lengths(
    size_mm: np.ndarray, limits: JointLimits, rng: np.random.Generator, config: SamplingConfig
) -> np.ndarray:
    """Bone lengths ``(n, 20)`` mm: template × size × jitter, clipped to the limits (the reference bones exact)."""
    n = len(size_mm)
    fixed = {int(Bone.middle_mcp), int(Bone[limits.reference_bone])}
    jitter = 1.0 + rng.uniform(-config.bone_jitter, config.bone_jitter, (n, 20))
    jitter[:, sorted(fixed)] = 1.0
    lengths = _TEMPLATE_REF * size_mm[:, None] * jitter
    norm = lengths[:, int(Bone[limits.reference_bone])]
    bounds = _lengths_to_mm(limits.bone_bounds, limits, norm)
    free = [b for b in range(20) if b not in fixed]
    lengths[:, free] = np.clip(lengths[:, free], bounds[:, free, 0], bounds[:, free, 1])
    return lengths


def _root_directions(spread: np.ndarray, cup: np.ndarray) -> np.ndarray:
    """Unit root-bone directions ``(n, 5, 3)`` in the template frame (fingers +y, thumb −x, palm −z)."""
    tilt = np.tan(np.radians(cup))
    d = np.stack([-np.sin(spread), np.cos(spread), -tilt], axis=-1)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def _sample_palm(
    lengths: np.ndarray, limits: JointLimits, rng: np.random.Generator, config: SamplingConfig, rounds: int = 8
) -> np.ndarray:
    """Palm joints ``(n, 6, 3)`` mm (wrist, thumb_cmc, index_mcp, middle_mcp, ring_mcp, little_mcp).

    The template's fan of root bones, jittered in spread and cupped, redrawn until its curvature and palm
    angles lie inside the limits (after ``rounds`` tries a hand keeps the flat template palm).
    """
    n = len(lengths)
    roots = lengths[:, _ROOT]
    norm = lengths[:, int(Bone[limits.reference_bone])]
    curvature_mm = _lengths_to_mm(limits.curvature_bounds, limits, norm, power=-1)
    phi_bounds = limits.palm_angle_bounds
    directions = _root_directions(np.broadcast_to(_SPREAD, (n, 5)), np.zeros((n, 5)))
    pending = np.ones(n, dtype=bool)
    for _ in range(rounds):
        idx = np.flatnonzero(pending)
        if idx.size == 0:
            break
        m = idx.size
        spread = _SPREAD + np.radians(rng.uniform(-config.spread_jitter_deg, config.spread_jitter_deg, (m, 5)))
        cup = rng.uniform(config.palm_cup_deg[0], config.palm_cup_deg[1], (m, 1)) * _CUP_SHARE
        d = _root_directions(spread, cup)
        bones = d * roots[idx, :, None]
        c, phi = palm_curvature(bones), palm_angles(bones)
        ok = np.all((c >= curvature_mm[idx, :, 0]) & (c <= curvature_mm[idx, :, 1]), axis=-1)
        ok &= np.all((phi >= phi_bounds[:, 0]) & (phi <= phi_bounds[:, 1]), axis=-1)
        directions[idx[ok]] = d[ok]
        pending[idx[ok]] = False
    palm = np.zeros((n, 6, 3))
    palm[:, 1:] = directions * roots[..., None]
    return palm


# --------------------------------------------------------------------------------------------- joint angles


def _polygon_boxes(polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounding boxes ``lo, hi (15, 2)`` of the angle polygons, clipped to the angles' ranges."""
    lo, hi = polygons.min(axis=1), polygons.max(axis=1)
    limit = np.array([math.pi, math.pi / 2])
    return np.maximum(lo, -limit), np.minimum(hi, limit)


def _uniform_angles(rng: np.random.Generator, polygons: np.ndarray, n: int, max_rounds: int = 200) -> np.ndarray:
    """``(n, 15, 2)`` angles uniform inside each joint's polygon: rejection sampling in the bounding boxes."""
    lo, hi = _polygon_boxes(polygons)
    out = np.empty((n, 15, 2))
    pending = np.ones((n, 15), dtype=bool)
    for _ in range(max_rounds):
        rows = np.flatnonzero(pending.any(axis=1))
        if rows.size == 0:
            return out
        candidates = lo + rng.random((rows.size, 15, 2)) * (hi - lo)
        accept = contains(candidates, polygons) & pending[rows]
        r, j = np.nonzero(accept)
        out[rows[r], j] = candidates[r, j]
        pending[rows[r], j] = False
    raise LimitsError("could not sample joint angles inside the limits' polygons (are they degenerate?).")


def _natural_angles(rng: np.random.Generator, polygons: np.ndarray, n: int) -> np.ndarray:
    """``(n, 15, 2)`` angles around natural poses: one curl per finger (correlated across fingers), flexion spread
    along each joint's range by the curl, small abduction; points outside a polygon are pulled just inside it."""
    lo, hi = _polygon_boxes(polygons)
    overall = rng.random((n, 1))
    curl = np.clip(overall + rng.normal(0.0, 0.25, (n, 5)), 0.0, 1.0)
    curl[:, 0] = rng.random(n)  # the thumb moves on its own
    curl_per_joint = np.repeat(curl, 3, axis=1)  # finger-major: 3 angle joints per finger
    rest = np.maximum(lo[:, 0], -0.2)
    flexion = rest + curl_per_joint * (0.95 * hi[:, 0] - rest) + rng.normal(0.0, 0.12, (n, 15))
    level = np.arange(15) % 3  # 0: first joint of the finger (MCP / thumb CMC), 1, 2: hinges
    abduction_sd = np.where(level == 0, 0.2, 0.06)
    abduction = rng.normal(0.0, 1.0, (n, 15)) * abduction_sd * np.where(level == 0, 1.0 - 0.6 * curl_per_joint, 1.0)
    abduction[:, :3] = lo[:3, 1] + rng.random((n, 3)) * (hi[:3, 1] - lo[:3, 1])  # thumb: anywhere
    angles = np.stack([flexion, abduction], axis=-1)
    inside = contains(angles, polygons)
    if not inside.all():
        projected = project_into_polygons(angles, polygons)
        centre = polygons.mean(axis=1)  # a convex combination of vertices: inside a convex polygon
        pulled = projected + 0.02 * (centre - projected)
        angles = np.where(inside[..., None], angles, pulled)
    return angles


def _sample_angles(n: int, limits: JointLimits, rng: np.random.Generator, config: SamplingConfig) -> np.ndarray:
    """``(n, 15, 2)`` (flexion, abduction) radians inside the polygons and the DIP–PIP couplings of ``limits``."""
    polygons = limits.polygon_array
    angles = _uniform_angles(rng, polygons, n)
    natural = rng.random(n) < config.natural_fraction
    if natural.any():
        angles[natural] = _natural_angles(rng, polygons, int(natural.sum()))
    for coupling in limits.couplings:
        pip, dip = (int(j) for j in coupling.joints)
        row = coupling_array([coupling])
        for _ in range(200):
            bad = np.flatnonzero(coupling_excess(angles, row)[:, 0] > 0)
            if bad.size == 0:
                break
            redraw = _uniform_angles(rng, polygons, bad.size)
            angles[bad, pip], angles[bad, dip] = redraw[:, pip], redraw[:, dip]
        else:
            raise LimitsError(f"could not sample angles within the {coupling.finger} DIP–PIP coupling.")
    return angles


# --------------------------------------------------------------------------------------------- poses


def sample_poses(
    n: int,
    limits: JointLimits | None = None,
    rng: np.random.Generator | int | None = None,
    config: SamplingConfig | None = None,
) -> np.ndarray:
    """``(n, 21, 3)`` float64 right hands in mm, in the template's hand frame (wrist at the origin).

    Hand size (wrist→middle_mcp) uniform in ``config.reference_mm``; the other bones keep the template's
    proportions up to ``config.bone_jitter`` and are clipped into the limits' bone intervals; the palm is the
    template's, jittered and cupped inside the palm limits; the 15 joint angles lie inside the limits'
    polygons (and couplings): a ``config.natural_fraction`` share around natural finger curls, the rest
    uniform in the polygons (vectorised rejection sampling). Posed by :meth:`HandSkeleton.from_angles`.

    ``limits`` defaults to :meth:`JointLimits.default` (any unit; they need angle polygons), ``config`` to
    :class:`SamplingConfig` defaults (any subclass works, e.g. ``handkin_train``'s ``SyntheticConfig``); ``rng``
    is a ``numpy.random.Generator`` (advanced in place) or a seed for ``numpy.random.default_rng``.
    """
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}.")
    n = int(n)
    limits = limits if limits is not None else JointLimits.default()
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    config = config if config is not None else SamplingConfig()
    size_mm = _sample_reference(n, limits, rng, config)
    lengths = _sample_bone_lengths(size_mm, limits, rng, config)
    palm = _sample_palm(lengths, limits, rng, config)
    angles = _sample_angles(n, limits, rng, config)
    finger_lengths = lengths[:, [int(b) for b in ANGLE_BONES]]
    hands = HandSkeleton.from_angles(angles, finger_lengths, palm, units="mm", side="right")
    return np.asarray(hands.joints, dtype=np.float64)


__all__ = ["SamplingConfig", "sample_poses"]
