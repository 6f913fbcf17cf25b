"""Built-in synthetic training data (issue #7): plausible right hands rendered with real depth cues, exact labels.

Nothing is downloaded. One sample is made in three steps, each vectorised over a batch:

1. :func:`sample_poses` — a right hand in millimetres in its own frame (handkin's template frame): the
   template's palm and bone lengths scaled to a random hand size (optionally jittered inside the limits'
   bone intervals, the palm slightly cupped inside the palm limits), and 15 joint angles drawn inside the
   :class:`handkin.JointLimits` polygons, posed by handkin's forward kinematics
   (:meth:`handkin.HandSkeleton.from_angles`).
2. :func:`sample_cameras` — a uniformly random 3D orientation, a random focal length and a translation that
   puts the hand's 2D bounding box at 50–90 % of the crop (default), every joint in front of the camera.
3. :func:`render` — a random background (gradient, low-frequency noise, stripes, rectangles and ellipses,
   some skin-coloured as distractors) and the hand as shaded 3D primitives: tapered capsules for the finger
   bones (spheres at the joints), a rounded slab for the palm, optionally a forearm; perspective projection
   (pixel radius ``f·r/Z``), a per-pixel depth buffer (nearer parts occlude farther ones), Lambert and a
   little specular shading from a random light, a random skin tone (or a glove), sensor noise and blur.

:class:`SyntheticHands` wraps the three into a torch ``Dataset`` with the 2.5D labels of
:func:`handkin.camera.to_25d`; any sample can be marked 2D-only. Only right hands are generated: the network
predicts right hands and the dataset readers mirror left hands, so mirrored synthetic hands add nothing.

Frames and units follow ``CONVENTIONS.md``: MP21 joint order, OpenCV camera (x right, y down, z forward),
millimetres, pixel centres at integer coordinates (pixel ``[row, col]`` is at ``(u, v) = (col, row)``).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from handkin import camera
from handkin.anatomy import ANGLE_BONES, ROOT_BONES, Bone, Finger, Joint
from handkin.files import atomic_write
from handkin.handsize import REFERENCE_MM
from handkin.hull import contains
from handkin.hull import project as project_into_polygons
from handkin.limits import JointLimits
from handkin.palm import palm_angles, palm_curvature
from handkin.skeleton import HandSkeleton
from handkin.template import ADULT_BONE_LENGTHS_MM, ROOT_SPREAD_DEG
from handkin.units import Units, scale_factor

Range = tuple[float, float]

#: Samples generated (and rendered) per chunk by :class:`SyntheticHands`; part of what a seed means.
CHUNK = 256
#: Layout version of the files written by :meth:`SyntheticHands.save`.
FILE_VERSION = 1

# --------------------------------------------------------------------------------------------- configuration


class SyntheticConfig(BaseModel):
    """Everything random about a synthetic sample, as ranges ``(lo, hi)`` sampled uniformly per image."""

    model_config = ConfigDict(extra="forbid")

    image_size: int = Field(128, ge=16, le=1024)
    """Side of the square crop, pixels."""
    focal_px: Range = (150.0, 300.0)
    """Focal length of the crop camera, pixels (fx = fy). 150–300 px at 128 px is a 46°–24° field of view; when
    not given it scales with ``image_size`` (the same fields of view at every size)."""
    reference_mm: Range = (75.0, 105.0)
    """Hand size: the wrist→middle_mcp length, mm."""
    fill: Range = (0.5, 0.9)
    """Larger side of the joints' 2D bounding box as a fraction of the image side."""
    principal_jitter_px: float = Field(2.0, ge=0.0)
    """Standard deviation of the principal point around the image centre, pixels (clipped at 3σ)."""
    min_depth_mm: float = Field(100.0, gt=0.0)
    """Every joint is at least this far in front of the camera (Z), mm."""
    natural_fraction: float = Field(0.6, ge=0.0, le=1.0)
    """Fraction of poses drawn around natural finger curls (the rest uniformly inside the angle polygons)."""
    bone_jitter: float = Field(0.06, ge=0.0, lt=0.5)
    """Relative jitter of each bone length around the template's proportions (then clipped to the limits)."""
    spread_jitter_deg: float = Field(3.0, ge=0.0, le=20.0)
    """Jitter of the root bones' directions in the palm plane, degrees (kept inside the palm-angle limits)."""
    palm_cup_deg: Range = (0.0, 15.0)
    """Cupping of the palm (thumb, ring and little metacarpals tilted palm-wards), degrees."""
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
    def _check_ranges(self) -> SyntheticConfig:
        bounds = {  # name: (smallest allowed, largest allowed, lower bound strict)
            "focal_px": (0.0, math.inf, True),
            "reference_mm": (0.0, math.inf, True),
            "fill": (0.0, 1.0, True),
            "palm_cup_deg": (0.0, 45.0, False),
            "thickness": (0.0, math.inf, True),
            "skin_tone": (0.0, 1.0, False),
            "ambient": (0.0, 1.0, False),
            "specular": (0.0, 1.0, False),
            "noise_std": (0.0, math.inf, False),
            "blur": (0.0, 1.0 / 3.0, False),
        }
        for name, (lo_ok, hi_ok, strict) in bounds.items():
            lo, hi = getattr(self, name)
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
                raise ValueError(f"{name} must be a finite range (lo, hi) with lo <= hi, got ({lo}, {hi}).")
            if lo < lo_ok or (strict and lo == lo_ok) or hi > hi_ok:
                side = ">" if strict else ">="
                raise ValueError(f"{name} must lie in [{lo_ok}, {hi_ok}] (lo {side} {lo_ok}), got ({lo}, {hi}).")
        return self


def _uniform(rng: np.random.Generator, bounds: Range, size: Any) -> np.ndarray:
    return rng.uniform(bounds[0], bounds[1], size)


# --------------------------------------------------------------------------------------------- poses

_REFERENCE_MM = REFERENCE_MM
#: Template bone lengths in reference lengths, Bone order (20,).
_TEMPLATE_REF = np.array([ADULT_BONE_LENGTHS_MM[b] for b in Bone]) / _REFERENCE_MM
_ROOT = np.array([int(b) for b in ROOT_BONES])
_SPREAD = np.radians([ROOT_SPREAD_DEG[f] for f in Finger])
#: Palm-ward tilt of each root bone per degree of cupping (thumb, index, middle, ring, little).
_CUP_SHARE = np.array([1.0, 0.0, 0.0, 0.5, 1.0])


def _lengths_to_mm(bounds: np.ndarray, limits: JointLimits, norm_mm: np.ndarray, power: int = 1) -> np.ndarray:
    """Limit ``bounds (k, 2)`` in the limits' unit → ``(n, k, 2)`` in mm (``power=-1`` for curvature, 1/length)."""
    if limits.units == Units.ref:
        factor = norm_mm[:, None, None]
    else:
        factor = np.full((len(norm_mm), 1, 1), scale_factor(limits.units, "mm"))
    return bounds[None] * factor**power  # positive factors keep (min, max) in order


def _sample_reference(n: int, limits: JointLimits, rng: np.random.Generator, config: SyntheticConfig) -> np.ndarray:
    """Hand sizes ``(n,)`` mm, inside ``config.reference_mm`` and (physical limits) the middle_mcp interval."""
    lo, hi = config.reference_mm
    if limits.units != Units.ref:
        b = limits.bone_bounds[Bone.middle_mcp] * scale_factor(limits.units, "mm")
        lo, hi = max(lo, b[0]), min(hi, b[1])
        if lo > hi:
            raise ValueError(
                f"reference_mm {config.reference_mm} does not overlap the limits' middle_mcp interval {tuple(b)} mm."
            )
    return rng.uniform(lo, hi, n)


def _sample_bone_lengths(
    size_mm: np.ndarray, limits: JointLimits, rng: np.random.Generator, config: SyntheticConfig
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
    lengths: np.ndarray, limits: JointLimits, rng: np.random.Generator, config: SyntheticConfig, rounds: int = 8
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
        cup = _uniform(rng, config.palm_cup_deg, (m, 1)) * _CUP_SHARE
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
    raise ValueError("could not sample joint angles inside the limits' polygons (are they degenerate?).")


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


def _sample_angles(n: int, limits: JointLimits, rng: np.random.Generator, config: SyntheticConfig) -> np.ndarray:
    """``(n, 15, 2)`` (flexion, abduction) radians inside the polygons and the DIP–PIP couplings of ``limits``."""
    polygons = limits.polygon_array
    angles = _uniform_angles(rng, polygons, n)
    natural = rng.random(n) < config.natural_fraction
    if natural.any():
        angles[natural] = _natural_angles(rng, polygons, int(natural.sum()))
    for coupling in limits.couplings:
        pip, dip = (int(j) for j in coupling.joints)
        for _ in range(200):
            residual = angles[:, dip, 0] - coupling.ratio * angles[:, pip, 0] - coupling.offset
            bad = np.flatnonzero(np.abs(residual) > coupling.band)
            if bad.size == 0:
                break
            redraw = _uniform_angles(rng, polygons, bad.size)
            angles[bad, pip], angles[bad, dip] = redraw[:, pip], redraw[:, dip]
        else:
            raise ValueError(f"could not sample angles within the {coupling.finger} DIP–PIP coupling.")
    return angles


def sample_poses(n: int, limits: JointLimits, rng: np.random.Generator, config: SyntheticConfig) -> np.ndarray:
    """``(n, 21, 3)`` float64 right hands in mm, in the template's hand frame (wrist at the origin).

    Hand size (wrist→middle_mcp) uniform in ``config.reference_mm``; the other bones keep the template's
    proportions up to ``config.bone_jitter`` and are clipped into the limits' bone intervals; the palm is the
    template's, jittered and cupped inside the palm limits; the 15 joint angles lie inside the limits'
    polygons (and couplings): a ``config.natural_fraction`` share around natural finger curls, the rest
    uniform in the polygons (vectorised rejection sampling). Posed by :meth:`HandSkeleton.from_angles`.
    """
    size_mm = _sample_reference(n, limits, rng, config)
    lengths = _sample_bone_lengths(size_mm, limits, rng, config)
    palm = _sample_palm(lengths, limits, rng, config)
    angles = _sample_angles(n, limits, rng, config)
    finger_lengths = lengths[:, [int(b) for b in ANGLE_BONES]]
    hands = HandSkeleton.from_angles(angles, finger_lengths, palm, units="mm", side="right")
    return np.asarray(hands.joints, dtype=np.float64)


# --------------------------------------------------------------------------------------------- cameras


def _random_rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    """``(n, 3, 3)`` rotation matrices uniform on SO(3) (normalised Gaussian quaternions)."""
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=1,
    )


def sample_cameras(
    joints: np.ndarray, rng: np.random.Generator, config: SyntheticConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Place hands ``(n, 21, 3)`` mm in front of random crop cameras: ``(joints_cam (n, 21, 3) mm, K (n, 3, 3))``.

    A uniformly random 3D rotation about the hand's bounding-box centre, ``f`` uniform in ``config.focal_px``
    (fx = fy, no skew), the principal point near the image centre, and a translation found by a few fixed-point
    steps so that the larger side of the joints' 2D bounding box is a ``config.fill`` share of the image and
    the box sits at a random place inside the image. Every joint ends up with ``Z >= config.min_depth_mm`` and
    its projection at least 2 px inside the image.
    """
    joints = np.asarray(joints, dtype=np.float64)
    n, size = len(joints), config.image_size
    rot = _random_rotations(rng, n)
    centre = 0.5 * (joints.max(axis=1) + joints.min(axis=1))
    local = np.einsum("nij,nkj->nki", rot, joints - centre[:, None])
    f = _uniform(rng, config.focal_px, n)
    jitter = np.clip(rng.normal(0.0, 1.0, (n, 2)), -3.0, 3.0) * config.principal_jitter_px
    principal = (size - 1) / 2.0 + jitter
    K = np.zeros((n, 3, 3))
    K[:, 0, 0] = K[:, 1, 1] = f
    K[:, :2, 2] = principal
    K[:, 2, 2] = 1.0
    span = _uniform(rng, config.fill, n) * (size - 1)
    slack = np.maximum(size - 1 - span, 0.0) / 2.0
    target = (size - 1) / 2.0 + (rng.random((n, 2)) * 2.0 - 1.0) * (0.8 * slack)[:, None]

    extent = (local[..., :2].max(axis=1) - local[..., :2].min(axis=1)).max(axis=1)
    near = config.min_depth_mm - local[..., 2].min(axis=1)  # the smallest root translation keeping Z >= min
    t = np.zeros((n, 3))
    t[:, 2] = np.maximum(f * extent / span, near)
    for _ in range(8):  # fixed-point steps: depth for the span, then x, y for the box centre
        uv = camera.project(local + t[:, None], K)
        current = (uv.max(axis=1) - uv.min(axis=1)).max(axis=1)
        t[:, 2] = np.maximum(t[:, 2] * current / span, near)
        uv = camera.project(local + t[:, None], K)
        middle = 0.5 * (uv.max(axis=1) + uv.min(axis=1))
        t[:, :2] += (target - middle) * t[:, 2:] / f[:, None]
    margin = 2.0
    for _ in range(100):  # safety net: push hands that still poke out of the image further away
        cam = local + t[:, None]
        uv = camera.project(cam, K)
        bad = np.any((uv < margin) | (uv > size - 1 - margin), axis=(1, 2)) | np.any(
            cam[..., 2] < config.min_depth_mm, axis=1
        )
        if not bad.any():
            break
        t[bad, 2] *= 1.1
        middle = 0.5 * (uv.max(axis=1) + uv.min(axis=1))
        t[bad, :2] += ((principal - middle) * t[:, 2:] / f[:, None])[bad]
    else:  # pragma: no cover - the loop above converges geometrically
        raise RuntimeError("could not fit every hand inside the image.")
    return local + t[:, None], K


# --------------------------------------------------------------------------------------------- rasterisation


class Raster(NamedTuple):
    """What :func:`rasterize` sees at every pixel."""

    depth: np.ndarray
    """``(B, H, W)`` float32 depth Z of the nearest surface, mm; ``inf`` where nothing is drawn."""
    part: np.ndarray
    """``(B, H, W)`` int16 part id of the nearest primitive; −1 where nothing is drawn."""
    normal: np.ndarray
    """``(B, H, W, 3)`` float32 unit surface normal in the camera frame (facing the camera); 0 where empty."""


def _pixel_pairs(
    x0: np.ndarray, x1: np.ndarray, y0: np.ndarray, y1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (primitive, pixel) pairs of the inclusive pixel boxes ``[x0, x1] × [y0, y1]`` (one per primitive,
    empty when ``x1 < x0``), primitive-major: the pair count per primitive ``(P,)`` (so per-primitive values
    are spread over the pairs with ``np.repeat(values, count)``, much faster than gathering) and the pairs'
    columns and rows ``(M,)`` float32 (exact integers)."""
    w = np.maximum(x1 - x0 + 1, 0)
    h = np.maximum(y1 - y0 + 1, 0)
    count = w.astype(np.int64) * h
    total = int(count.sum())
    local_dtype = np.float32 if total < 2**24 else np.float64
    start = np.cumsum(count) - count
    local = np.arange(total, dtype=local_dtype) - np.repeat(start.astype(local_dtype), count)
    wf = np.repeat(w.astype(local_dtype), count)
    row = np.floor((local + 0.5) / wf)  # exact: the quotient is at least 0.5 / w away from an integer
    col = local - row * wf
    return count, col + np.repeat(x0.astype(local_dtype), count), row + np.repeat(y0.astype(local_dtype), count)


def _pixel_box(lo_u, hi_u, lo_v, hi_v, width: int, height: int):
    """Inclusive pixel index boxes of the float boxes, clipped to the image (empty where invalid)."""
    x0 = np.clip(np.ceil(lo_u), 0, width).astype(np.int32)
    x1 = np.clip(np.floor(hi_u), -1, width - 1).astype(np.int32)
    y0 = np.clip(np.ceil(lo_v), 0, height).astype(np.int32)
    y1 = np.clip(np.floor(hi_v), -1, height - 1).astype(np.int32)
    return x0, x1, y0, y1


def _slot_major(a: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(B, S, ...)`` primitives → ``(S·B, ...)`` in slot-major order, and the matching ``K (S·B, 3, 3)``."""
    B, S = a.shape[:2]
    flat = np.ascontiguousarray(np.swapaxes(a, 0, 1)).reshape(S * B, *a.shape[2:])
    return flat, np.broadcast_to(K[None], (S, B, 3, 3)).reshape(S * B, 3, 3)


def _fragment_pixels(count: np.ndarray, hit: np.ndarray, px, py, B: int, size: tuple[int, int]):
    """Slot ids ``(M,)`` int32 and flat pixel indices ``(b·H + v)·W + u`` ``(M,)`` int64 of the hit pairs of
    slot-major primitives (``count`` pairs each); ``px``, ``py`` are the hit pairs' float32 columns and rows."""
    height, width = size
    prim = np.arange(len(count))
    slot = np.repeat((prim // B).astype(np.int32), count)[hit]
    base = np.repeat((prim % B) * (height * width), count)[hit]
    return slot, base + (py * width + px).astype(np.int64)  # exact in float32 below 2**24 pixels per image


def _capsule_fragments(capsules, radii, K, size):
    """Fragments of tapered capsules: (slot, pixel index, depth, normal (M, 3)) of the covered pixels."""
    B = capsules.shape[0]
    height, width = size
    ends, k = _slot_major(capsules, K)  # slot-major: each slot's fragments are contiguous
    r, _ = _slot_major(radii, K)
    z = ends[..., 2]
    valid = np.all(z > 1e-3, axis=1) & np.any(r > 0, axis=1)
    zs = np.where(valid[:, None], z, 1.0)
    uv = camera.project(np.where(valid[:, None, None], ends, np.array([0.0, 0.0, 1.0])), k)  # (CB, 2, 2)
    rho = np.sqrt(k[:, 0, 0] * k[:, 1, 1])[:, None] * r / zs
    lo, hi = (uv - rho[..., None]).min(axis=1), (uv + rho[..., None]).max(axis=1)
    x0, x1, y0, y1 = _pixel_box(lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1], width, height)
    count, px, py = _pixel_pairs(x0, np.where(valid, x1, -1), y0, y1)

    def spread(values: np.ndarray) -> np.ndarray:
        return np.repeat(values.astype(np.float32), count)

    e = uv[:, 1] - uv[:, 0]
    ee = np.sum(e * e, axis=-1)
    ax, ay = px - spread(uv[:, 0, 0]), py - spread(uv[:, 0, 1])
    eu, ev = spread(e[:, 0]), spread(e[:, 1])
    t = np.clip((ax * eu + ay * ev) * spread(np.where(ee > 1e-12, 1.0 / np.maximum(ee, 1e-12), 0.0)), 0.0, 1.0)
    dx, dy = ax - t * eu, ay - t * ev
    d2 = dx * dx + dy * dy
    rho_t = spread(rho[:, 0]) + t * spread(rho[:, 1] - rho[:, 0])
    hit = np.flatnonzero(d2 < rho_t * rho_t)
    t, dx, dy, d2, rho_t = (a[hit] for a in (t, dx, dy, d2, rho_t))

    iz0, iz1 = spread(1.0 / zs[:, 0])[hit], spread(1.0 / zs[:, 1])[hit]
    inv_z = iz0 + t * (iz1 - iz0)  # 1/Z is linear in the image: perspective-correct
    t3 = t * iz1 / inv_z  # the parameter along the 3D axis
    radius = spread(r[:, 0])[hit] + t3 * spread(r[:, 1] - r[:, 0])[hit]
    inv_rho = 1.0 / rho_t
    across = np.sqrt(np.maximum(1.0 - d2 * inv_rho * inv_rho, 0.0))
    depth = 1.0 / inv_z - radius * across
    normal = np.stack([dx * inv_rho, dy * inv_rho, -across], axis=-1)  # unit: d²/ρ² + across² = 1
    slot, pixel = _fragment_pixels(count, hit, px[hit], py[hit], B, size)
    return slot, pixel, depth, normal


def _triangle_fragments(triangles, vertex_normals, K, size):
    """Fragments of one-sided triangles (back faces culled): (slot, pixel index, depth, normal (M, 3))."""
    B = triangles.shape[0]
    height, width = size
    tri, k = _slot_major(triangles, K)
    nrm, _ = _slot_major(vertex_normals, K)
    z = tri[..., 2]
    face = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    front = np.einsum("ij,ij->i", face, tri[:, 0]) < 0  # the camera sits on the outer side
    valid = np.all(z > 1e-3, axis=1) & front
    zs = np.where(valid[:, None], z, 1.0)
    uv = camera.project(np.where(valid[:, None, None], tri, np.array([0.0, 0.0, 1.0])), k)  # (TB, 3, 2)
    e1, e2 = uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    valid &= np.abs(area) > 1e-9
    lo, hi = uv.min(axis=1), uv.max(axis=1)
    x0, x1, y0, y1 = _pixel_box(lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1], width, height)
    count, px, py = _pixel_pairs(x0, np.where(valid, x1, -1), y0, y1)

    def spread(values: np.ndarray) -> np.ndarray:
        return np.repeat(values.astype(np.float32), count)

    inv_area = np.where(valid, 1.0 / np.where(valid, area, 1.0), 0.0)
    ax, ay = px - spread(uv[:, 0, 0]), py - spread(uv[:, 0, 1])
    l1 = ax * spread(e2[:, 1] * inv_area) - ay * spread(e2[:, 0] * inv_area)
    l2 = ay * spread(e1[:, 0] * inv_area) - ax * spread(e1[:, 1] * inv_area)
    tol = -1e-4  # closes cracks between neighbouring triangles
    hit = np.flatnonzero((l1 >= tol) & (l2 >= tol) & (l1 + l2 <= 1.0 - tol))
    l1, l2 = l1[hit], l2[hit]

    slot, pixel = _fragment_pixels(count, hit, px[hit], py[hit], B, size)
    prim = slot * B + pixel // (height * width)
    w = np.stack([1.0 - l1 - l2, l1, l2], axis=-1) * (1.0 / zs).astype(np.float32)[prim]
    inv_z = w.sum(axis=-1)
    depth = 1.0 / inv_z
    n = nrm.astype(np.float32)[prim]
    normal = w[:, 0:1] * n[:, 0] + w[:, 1:2] * n[:, 1] + w[:, 2:3] * n[:, 2]
    # face the camera: interpolated normals may point away from the viewing ray at grazing angles
    kb = k.astype(np.float32)[prim]
    ray_x = (px[hit] - kb[:, 0, 2]) / kb[:, 0, 0]
    ray_y = (py[hit] - kb[:, 1, 2]) / kb[:, 1, 1]
    away = normal[:, 0] * ray_x + normal[:, 1] * ray_y + normal[:, 2] > 0
    normal[away] *= -1.0
    normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-12)
    return slot, pixel, depth, normal


class _Covered(NamedTuple):
    """The visible fragment of every covered pixel, sorted by pixel."""

    pixel: np.ndarray  # (M,) int64 flat index (b·H + v)·W + u
    depth: np.ndarray  # (M,) float32 mm
    part: np.ndarray  # (M,) int64
    normal: np.ndarray  # (M, 3) float32


def _rasterize_sparse(
    K, size, capsules=None, radii=None, capsule_part=None, triangles=None, vertex_normals=None, triangle_part=None
) -> _Covered:
    """:func:`rasterize`, returning only the covered pixels."""
    K = np.asarray(K, dtype=np.float64)
    B = K.shape[0]
    height, width = size
    slots, pixels, depths, normals, parts = [], [], [], [], []
    n_caps = 0
    if capsules is not None:
        capsules = np.asarray(capsules, dtype=np.float64)
        n_caps = capsules.shape[1]
        if radii is None or np.shape(radii) != capsules.shape[:3]:
            raise ValueError(f"radii must have shape {capsules.shape[:3]} (B, C, 2), got {np.shape(radii)}.")
        part = np.arange(n_caps) if capsule_part is None else np.broadcast_to(np.asarray(capsule_part), (n_caps,))
        s, p, d, n = _capsule_fragments(capsules, np.asarray(radii, dtype=np.float64), K, size)
        slots.append(s)
        pixels.append(p)
        depths.append(d)
        normals.append(n)
        parts.append(part[s])
    if triangles is not None:
        triangles = np.asarray(triangles, dtype=np.float64)
        n_tri = triangles.shape[1]
        if vertex_normals is None:
            face = np.cross(triangles[:, :, 1] - triangles[:, :, 0], triangles[:, :, 2] - triangles[:, :, 0])
            face /= np.maximum(np.linalg.norm(face, axis=-1, keepdims=True), 1e-12)
            vertex_normals = np.repeat(face[:, :, None], 3, axis=2)
        part = (
            n_caps + np.arange(n_tri) if triangle_part is None else np.broadcast_to(np.asarray(triangle_part), (n_tri,))
        )
        s, p, d, n = _triangle_fragments(triangles, np.asarray(vertex_normals, dtype=np.float64), K, size)
        slots.append(s + n_caps)
        pixels.append(p)
        depths.append(d)
        normals.append(n)
        parts.append(part[s])
    if not slots:
        return _Covered(np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int64), np.zeros((0, 3)))
    slot, pixel, depth = np.concatenate(slots), np.concatenate(pixels), np.concatenate(depths)

    # depth test, one primitive slot at a time over all images: fragments are slot-major and a slot covers each
    # pixel of an image at most once, so a slot's pixels are unique and a gather-compare-scatter is exact
    zbuf = np.full(B * height * width, np.inf, dtype=np.float32)
    winner = np.full(B * height * width, -1, dtype=np.int64)
    bounds = np.searchsorted(slot, np.arange(int(slot[-1]) + 2)) if len(slot) else np.zeros(1, np.int64)
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if a == b:
            continue
        p, d = pixel[a:b], depth[a:b]
        nearer = np.flatnonzero(d < zbuf[p])
        p = p[nearer]
        zbuf[p] = d[nearer]
        winner[p] = a + nearer
    covered = np.flatnonzero(winner >= 0)
    chosen = winner[covered]
    return _Covered(covered, zbuf[covered], np.concatenate(parts)[chosen], np.concatenate(normals)[chosen])


def rasterize(
    K: np.ndarray,
    size: tuple[int, int],
    capsules: np.ndarray | None = None,
    radii: np.ndarray | None = None,
    capsule_part: Any = None,
    triangles: np.ndarray | None = None,
    vertex_normals: np.ndarray | None = None,
    triangle_part: Any = None,
) -> Raster:
    """Depth-buffered rasterisation of tapered capsules and triangles seen through pinhole cameras ``K (B, 3, 3)``.

    ``capsules (B, C, 2, 3)`` are segment end points in the camera frame (mm) with ``radii (B, C, 2)`` mm at the
    two ends (a cone-sphere: the silhouette's pixel radius is interpolated between ``f·r/Z`` at the two ends,
    the surface a sphere across the axis); ``triangles (B, T, 3, 3)`` are one-sided, outward by the right-hand
    rule ((v1 − v0) × (v2 − v0)); faces seen from behind are culled. ``vertex_normals (B, T, 3, 3)`` are
    interpolated (perspective-correct) for smooth shading; without them the face normal is used.
    ``capsule_part`` / ``triangle_part`` ((C,) / (T,) ints, default the primitive index and C + index) label the
    primitives in :attr:`Raster.part`. ``size = (H, W)``. Primitives with a zero radius or a vertex at Z <= 0 are
    skipped. Vectorised over pixels × primitives × images; the depth test loops over the primitive slots.
    """
    K = np.asarray(K, dtype=np.float64)
    B = K.shape[0]
    height, width = size
    hits = _rasterize_sparse(K, size, capsules, radii, capsule_part, triangles, vertex_normals, triangle_part)
    total = B * height * width
    depth = np.full(total, np.inf, dtype=np.float32)
    part = np.full(total, -1, dtype=np.int16)
    normal = np.zeros((total, 3), dtype=np.float32)
    depth[hits.pixel], part[hits.pixel], normal[hits.pixel] = hits.depth, hits.part, hits.normal
    return Raster(depth.reshape(B, height, width), part.reshape(B, height, width), normal.reshape(B, height, width, 3))


# --------------------------------------------------------------------------------------------- the hand model

#: Radii of the joints (spheres) in reference lengths (× hand size), MP21 order.
JOINT_RADII_REF = np.array(
    [0.16, 0.16, 0.135, 0.12, 0.1]  # wrist, thumb cmc, mcp, ip, tip
    + [0.125, 0.112, 0.098, 0.088]  # index mcp, pip, dip, tip
    + [0.13, 0.116, 0.1, 0.09]  # middle
    + [0.122, 0.11, 0.095, 0.086]  # ring
    + [0.11, 0.098, 0.086, 0.078]  # little
)
#: Half thickness of the palm slab in reference lengths.
PALM_HALF_THICKNESS_REF = 0.14
#: Part ids of :func:`hand_primitives`: 0..19 the finger bones (:class:`~handkin.Bone` order; root bones unused),
#: then the back of the palm with its rim, the palm's inner face and the forearm.
PART_PALM, PART_PALM_INNER, PART_ARM = 20, 21, 22
NUM_PARTS = 23
_FINGER_BONES = np.array([int(b) for b in ANGLE_BONES])  # the 15 bones drawn as capsules
_TIP_BONES = np.array([int(Bone[f"{f.name}_tip"]) for f in Finger])


class HandPrimitives(NamedTuple):
    """Geometry of :func:`hand_primitives`, ready for :func:`rasterize` (camera frame, mm)."""

    capsules: np.ndarray
    """(B, 23, 2, 3): 15 finger bones, 7 palm-rim segments, the forearm."""
    radii: np.ndarray
    """(B, 23, 2)."""
    capsule_part: np.ndarray
    """(23,) part ids."""
    triangles: np.ndarray
    """(B, 14, 3, 3): the palm's back and inner faces, 7 triangles each (fans)."""
    vertex_normals: np.ndarray
    """(B, 14, 3, 3)."""
    triangle_part: np.ndarray
    """(14,) part ids."""


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def hand_primitives(
    joints_cam: np.ndarray,
    thickness: Any = 1.0,
    arm_length: Any = 0.0,
    min_depth_mm: float = 10.0,
) -> HandPrimitives:
    """Capsules and triangles of right hands ``joints_cam (B, 21, 3)`` mm in the camera frame.

    Finger bones are tapered capsules between joint spheres (:data:`JOINT_RADII_REF` × hand size ×
    ``thickness``); the last one ends a little short of the tip so the rounded end reaches about the tip. The
    palm is a slab (half thickness :data:`PALM_HALF_THICKNESS_REF`) over the outline wrist (ulnar) → little,
    ring, middle, index MCP → thumb CMC → wrist (radial), with a rounded rim. A forearm of ``arm_length``
    reference lengths ((B,) or scalar; 0 = none) leaves the wrist opposite the middle finger's root bone, tilted
    (a bent wrist) so it rises at most 30° towards the camera and shortened so it stays ``min_depth_mm`` in front.
    """
    J = np.asarray(joints_cam, dtype=np.float64)
    B = len(J)
    size = np.linalg.norm(J[:, Joint.middle_mcp] - J[:, Joint.wrist], axis=-1)
    scale = size * np.broadcast_to(np.asarray(thickness, dtype=np.float64), (B,))
    radius = JOINT_RADII_REF[None] * scale[:, None]  # (B, 21)
    parent = np.array([int(Bone(b).parent) for b in _FINGER_BONES])
    child = _FINGER_BONES + 1
    start, end = J[:, parent], J[:, child].copy()
    tip = np.isin(_FINGER_BONES, _TIP_BONES)
    direction = _unit(end[:, tip] - start[:, tip])
    end[:, tip] -= 0.7 * radius[:, child[tip], None] * direction
    caps = [np.stack([start, end], axis=2)]
    rad = [np.stack([radius[:, parent], radius[:, child]], axis=-1)]
    parts = [_FINGER_BONES]

    wrist = J[:, Joint.wrist]
    axis = _unit(J[:, Joint.middle_mcp] - wrist)
    across = J[:, Joint.little_mcp] - J[:, Joint.index_mcp]
    across = _unit(across - np.sum(across * axis, -1, keepdims=True) * axis)  # towards the little finger
    half = PALM_HALF_THICKNESS_REF * scale
    outline = np.stack(
        [
            wrist + (0.30 * size)[:, None] * across,
            J[:, Joint.little_mcp],
            J[:, Joint.ring_mcp],
            J[:, Joint.middle_mcp],
            J[:, Joint.index_mcp],
            J[:, Joint.thumb_cmc],
            wrist - (0.22 * size)[:, None] * across,
        ],
        axis=1,
    )  # (B, 7, 3), a loop
    nxt = np.roll(outline, -1, axis=1)
    caps.append(np.stack([outline, nxt], axis=2))
    rad.append(np.repeat(half[:, None, None], 7, axis=1).repeat(2, axis=2))
    parts.append(np.full(7, PART_PALM))

    # forearm: along the middle root bone backwards, but (a bent wrist) rising at most 30° towards the camera,
    # so that a camera right behind the arm does not see a disc instead of the hand
    direction = -axis
    lateral = np.linalg.norm(direction[:, :2], axis=-1, keepdims=True)
    flat = np.where(lateral > 1e-6, direction[:, :2] / np.maximum(lateral, 1e-6), np.array([0.0, 1.0]))
    rise = math.sin(math.radians(30.0))
    steep = direction[:, 2] < -rise
    direction[steep] = np.concatenate([flat[steep] * math.cos(math.radians(30.0)), np.full((steep.sum(), 1), -rise)], 1)
    length = np.broadcast_to(np.asarray(arm_length, dtype=np.float64), (B,)) * size
    approach = np.maximum(-direction[:, 2], 1e-9)  # the arm's Z falls by length · approach
    length = np.minimum(length, np.maximum(wrist[:, 2] - min_depth_mm, 0.0) / approach)
    arm_r = np.stack([0.2 * scale, (0.2 + 0.03 * length / np.maximum(size, 1e-9)) * scale], -1)
    arm_r = np.where((length > 0)[:, None], arm_r, 0.0)
    caps.append(np.stack([wrist, wrist + length[:, None] * direction], axis=1)[:, None])
    rad.append(arm_r[:, None])
    parts.append(np.array([PART_ARM]))

    # palm faces: fans from the outline's centroid, offset ± half thickness along the palm normal
    normal = _unit(np.cross(J[:, Joint.index_mcp] - wrist, J[:, Joint.little_mcp] - wrist))  # palm side
    centre = outline.mean(axis=1, keepdims=True)
    outward = _unit(outline - centre)
    triangles, normals = [], []
    for side in (-1.0, 1.0):  # back of the hand, then the palm's inner face
        offset = side * half[:, None, None] * normal[:, None]
        c = np.repeat(centre + offset, 7, axis=1)
        a, b = outline + offset, nxt + offset
        tri = np.stack([c, a, b], axis=2)  # (B, 7, 3, 3)
        face = np.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0])
        flip = np.sum(face * normal[:, None], -1) * side < 0  # wind outwards (along side × normal)
        tri[flip] = tri[flip][:, [0, 2, 1]]
        vn_c = np.repeat((side * normal)[:, None], 7, axis=1)
        vn_a = _unit(side * normal[:, None] + 0.15 * outward)  # nearly flat: the rim does the rounding
        vn_b = np.roll(vn_a, -1, axis=1)
        vn = np.stack([vn_c, vn_a, vn_b], axis=2)
        vn[flip] = vn[flip][:, [0, 2, 1]]
        triangles.append(tri)
        normals.append(vn)
    return HandPrimitives(
        capsules=np.concatenate(caps, axis=1),
        radii=np.concatenate(rad, axis=1),
        capsule_part=np.concatenate(parts),
        triangles=np.concatenate(triangles, axis=1),
        vertex_normals=np.concatenate(normals, axis=1),
        triangle_part=np.repeat([PART_PALM, PART_PALM_INNER], 7),
    )


# --------------------------------------------------------------------------------------------- colours and images

#: Skin tones from light to dark (sRGB), interpolated by ``SyntheticConfig.skin_tone``.
SKIN_PALETTE = np.array(
    [[255, 224, 200], [241, 194, 167], [224, 172, 136], [198, 140, 102], [160, 106, 72], [115, 72, 48], [74, 46, 32]],
    dtype=np.float64,
)
_RENDER_CHUNK = 16


def _skin(rng: np.random.Generator, tone: np.ndarray) -> np.ndarray:
    """``(n, 3)`` skin colours at palette positions ``tone`` in [0, 1], jittered per channel."""
    x = tone * (len(SKIN_PALETTE) - 1)
    i = np.clip(np.floor(x).astype(int), 0, len(SKIN_PALETTE) - 2)
    w = (x - i)[:, None]
    base = SKIN_PALETTE[i] * (1 - w) + SKIN_PALETTE[i + 1] * w
    return np.clip(base * rng.uniform(0.92, 1.08, (len(tone), 3)), 0, 255)


def _upsample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` linear-interpolation weights from a coarse grid spanning the image."""
    pos = np.linspace(0, n_in - 1, n_out)
    i = np.clip(np.floor(pos).astype(int), 0, n_in - 2)
    w = pos - i
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), i] = 1 - w
    m[np.arange(n_out), i + 1] = w
    return m


class _Draws(NamedTuple):
    """Every random number of one chunk of :func:`render`, drawn before anything is drawn on the images."""

    c0: np.ndarray
    c1: np.ndarray
    gradient_angle: np.ndarray
    coarse: np.ndarray
    stripes: np.ndarray
    stripe_params: np.ndarray
    stripe_colour: np.ndarray
    n_shapes: np.ndarray
    shape_params: np.ndarray
    shape_colour: np.ndarray
    albedo: np.ndarray
    thickness: np.ndarray
    arm_length: np.ndarray
    light: np.ndarray
    ambient: np.ndarray
    specular: np.ndarray
    shininess: np.ndarray
    tint: np.ndarray
    noise_std: np.ndarray
    blur: np.ndarray
    noise: np.ndarray


def _draw(rng: np.random.Generator, n: int, config: SyntheticConfig) -> _Draws:
    size, m = config.image_size, config.max_shapes
    c0, c1 = rng.uniform(0, 255, (n, 3)), rng.uniform(0, 255, (n, 3))
    gradient_angle = rng.uniform(0, 2 * math.pi, n)
    coarse = rng.normal(0, 1, (n, 5, 5, 3)) * rng.uniform(0, 45, (n, 1, 1, 1))
    stripes = rng.random(n) < 0.2
    stripe_params = np.stack(  # cycles per image, direction, phase, strength
        [rng.uniform(2, 12, n), rng.uniform(0, math.pi, n), rng.uniform(0, 2 * math.pi, n), rng.uniform(0.2, 0.6, n)],
        -1,
    )
    stripe_colour = rng.uniform(0, 255, (n, 3))
    n_shapes = rng.integers(0, m + 1, n)
    shape_params = np.stack(  # centre u, v, half axes a, b, rotation, rectangle?, opacity
        [
            rng.uniform(-0.1, 1.1, (n, m)) * size,
            rng.uniform(-0.1, 1.1, (n, m)) * size,
            rng.uniform(0.03, 0.35, (n, m)) * size,
            rng.uniform(0.03, 0.35, (n, m)) * size,
            rng.uniform(0, math.pi, (n, m)),
            rng.random((n, m)) < 0.5,
            rng.uniform(0.5, 1.0, (n, m)),
        ],
        -1,
    )
    distractor = rng.random((n, m)) < 0.25  # skin-coloured shapes: skin is not a shortcut to the hand
    shape_colour = np.where(
        distractor[..., None],
        _skin(rng, rng.random(n * m)).reshape(n, m, 3) if m else np.zeros((n, 0, 3)),
        rng.uniform(0, 255, (n, m, 3)),
    )

    skin = _skin(rng, _uniform(rng, config.skin_tone, n))
    glove = rng.random(n) < config.glove_probability
    glove_colour = rng.uniform(0, 255, (n, 3))
    hand = np.where(glove[:, None], glove_colour, skin)
    albedo = np.repeat(hand[:, None], NUM_PARTS, axis=1)
    finger = rng.uniform(0.95, 1.05, (n, 5))
    albedo[:, :20] *= np.repeat(finger, 4, axis=1)[..., None]
    inner = np.where(glove[:, None], hand, hand + 0.25 * (np.array([236.0, 190.0, 170.0]) - hand))  # lighter palm
    albedo[:, PART_PALM_INNER] = inner
    sleeve = rng.random(n) < 0.5
    albedo[:, PART_ARM] = np.where(sleeve[:, None], rng.uniform(0, 255, (n, 3)), hand)
    thickness = _uniform(rng, config.thickness, n)
    arm = rng.random(n) < config.arm_probability
    arm_length = np.where(arm, rng.uniform(1.2, 2.5, n), 0.0)

    light = rng.normal(0, 1, (n, 3))
    light = _unit(_unit(light) + np.array([0.0, 0.0, -1.3]))  # mostly from the camera's side
    ambient = _uniform(rng, config.ambient, n)
    specular = _uniform(rng, config.specular, n)
    shininess = rng.uniform(8, 40, n)
    tint = rng.uniform(0.9, 1.1, (n, 3))
    noise_std = _uniform(rng, config.noise_std, n)
    blur = _uniform(rng, config.blur, n)
    noise = rng.random((n, 3, size, size), dtype=np.float32)  # uniform on [0, 1): scaled to the std when used
    noise -= np.float32(0.5)
    return _Draws(
        c0,
        c1,
        gradient_angle,
        coarse,
        stripes,
        stripe_params,
        stripe_colour,
        n_shapes,
        shape_params,
        shape_colour,
        albedo,
        thickness,
        arm_length,
        light,
        ambient,
        specular,
        shininess,
        tint,
        noise_std,
        blur,
        noise,
    )


def _draw_shapes(img: np.ndarray, d: _Draws) -> None:
    """Blend the random rectangles and ellipses into ``img (n, 3, H, W)`` in place: per shape slot, the pixels of
    its bounding box in every image at once (a slot's pixels are unique, so gather-blend-scatter is exact)."""
    n, size, f32 = img.shape[0], img.shape[-1], np.float32
    n_slots = d.shape_params.shape[1]
    if n_slots == 0:
        return
    active = (np.arange(n_slots)[None] < d.n_shapes[:, None]).T.ravel()  # slot-major
    p = np.swapaxes(d.shape_params, 0, 1).reshape(n_slots * n, 7)
    colour = np.swapaxes(d.shape_colour, 0, 1).reshape(n_slots * n, 3).astype(f32)
    reach = np.hypot(p[:, 2], p[:, 3])
    x0, x1, y0, y1 = _pixel_box(p[:, 0] - reach, p[:, 0] + reach, p[:, 1] - reach, p[:, 1] + reach, size, size)
    count, px, py = _pixel_pairs(x0, np.where(active, x1, -1), y0, y1)
    cos, sin = np.cos(p[:, 4]), np.sin(p[:, 4])
    per_shape = np.stack([p[:, 0], p[:, 1], cos / p[:, 2], sin / p[:, 2], cos / p[:, 3], sin / p[:, 3]], -1)
    q = [np.repeat(a, count) for a in per_shape.astype(f32).T]
    du, dv = px - q[0], py - q[1]
    a, b = du * q[2] + dv * q[3], dv * q[4] - du * q[5]
    rect = np.repeat(p[:, 5] > 0.5, count)
    inside = np.flatnonzero(np.where(rect, np.maximum(np.abs(a), np.abs(b)), a * a + b * b) <= 1.0)
    plane = size * size
    shape = np.arange(len(count))

    def spread(values: np.ndarray) -> np.ndarray:  # per-shape values at the pixels inside
        return np.repeat(values, count)[inside]

    index = spread(shape % n * (3 * plane)) + (py[inside] * size + px[inside]).astype(np.int64)
    alpha = spread(p[:, 6].astype(f32))
    colours = [spread(colour[:, ch] * p[:, 6].astype(f32)) for ch in range(3)]
    flat = img.reshape(-1)
    bounds = np.searchsorted(spread(shape // n), np.arange(n_slots + 1))
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        keep = 1 - alpha[lo:hi]
        for ch in range(3):
            sel = index[lo:hi] + ch * plane
            flat[sel] = flat[sel] * keep + colours[ch][lo:hi]


def _background(d: _Draws, size: int) -> np.ndarray:
    """``(n, 3, H, W)`` float32 backgrounds (channel-first): gradient + low-frequency colour noise + stripes +
    rectangles and ellipses."""
    f32 = np.float32
    # the gradient is linear in (u, v), so adding it at the coarse grid's nodes before the (bilinear) upsampling
    # reproduces it exactly: one pair of small matrix products makes the whole smooth base
    nodes = np.linspace(0.0, 1.0, d.coarse.shape[1])
    gradient = 0.5 + np.cos(d.gradient_angle)[:, None, None] * (nodes[None, None, :] - 0.5)
    gradient = gradient + np.sin(d.gradient_angle)[:, None, None] * (nodes[None, :, None] - 0.5)  # (n, rows, cols)
    base = d.c0[:, :, None, None] + (d.c1 - d.c0)[:, :, None, None] * gradient[:, None]
    base = (base + d.coarse.transpose(0, 3, 1, 2)).astype(f32)  # (n, 3, g, g)
    m = _upsample_matrix(d.coarse.shape[1], size).astype(f32)
    img = np.matmul(np.matmul(m, base), m.T)
    v, u = np.mgrid[0:size, 0:size].astype(f32) / f32(size - 1)
    for i in np.flatnonzero(d.stripes):
        cycles, angle, phase, strength = d.stripe_params[i]
        wave = 0.5 + 0.5 * np.sin(2 * math.pi * cycles * (u * math.cos(angle) + v * math.sin(angle)) + phase)
        w = f32(strength) * wave
        img[i] = img[i] * (1 - w) + d.stripe_colour[i].astype(f32)[:, None, None] * w

    _draw_shapes(img, d)
    return img


def _shade(hits: _Covered, d: _Draws, plane: int) -> np.ndarray:
    """Colours ``(M, 3)`` float32 of the covered pixels (``plane`` = H·W pixels per image)."""
    f32 = np.float32
    b = hits.pixel // plane
    per_image = np.bincount(b, minlength=len(d.light))  # pixels are sorted by image: spread with np.repeat

    def spread(values: np.ndarray) -> np.ndarray:
        return np.repeat(values.astype(f32), per_image, axis=0)

    n = hits.normal
    light, half = spread(d.light), spread(_unit(d.light + np.array([0.0, 0.0, -1.0])))
    lam = np.maximum(n[:, 0] * light[:, 0] + n[:, 1] * light[:, 1] + n[:, 2] * light[:, 2], 0.0)
    spec = np.maximum(n[:, 0] * half[:, 0] + n[:, 1] * half[:, 1] + n[:, 2] * half[:, 2], f32(1e-6))
    spec = np.exp(spread(d.shininess) * np.log(spec))
    amb = spread(d.ambient)
    albedo = d.albedo.astype(f32).reshape(-1, 3)[b * NUM_PARTS + hits.part]
    colour = albedo * ((amb + (1 - amb) * lam)[:, None] * spread(d.tint))
    colour += (f32(255) * spread(d.specular) * spec)[:, None]
    return colour


def _blur(img: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Separable ``[a, 1 − 2a, a]`` blur of ``(n, 3, H, W)`` in place, one ``a`` per image (edges replicated)."""
    w = a.astype(np.float32)[:, None, None, None]
    step = np.empty_like(img)  # a · (previous + next − 2 · self), without temporaries
    for axis in (2, 3):

        def cut(part: slice, axis: int = axis) -> tuple[slice, ...]:
            return (slice(None),) * axis + (part,)

        np.add(img[cut(slice(None, -2))], img[cut(slice(2, None))], out=step[cut(slice(1, -1))])
        np.add(img[cut(slice(0, 1))], img[cut(slice(1, 2))], out=step[cut(slice(0, 1))])
        np.add(img[cut(slice(-1, None))], img[cut(slice(-2, -1))], out=step[cut(slice(-1, None))])
        step -= img
        step -= img
        step *= w
        img += step
    return img


def render(
    joints_cam: np.ndarray, K: np.ndarray, rng: np.random.Generator, config: SyntheticConfig, draw_hand: bool = True
) -> np.ndarray:
    """``(n, H, W, 3)`` uint8 RGB images of right hands ``joints_cam (n, 21, 3)`` mm seen through ``K (n, 3, 3)``.

    A random background, then (``draw_hand``) the hand of :func:`hand_primitives` rasterised with a depth
    buffer (:func:`rasterize`) and shaded: albedo (skin tone or glove; slightly varying per finger; a lighter
    inner palm) × (ambient + Lambert from a random light mostly on the camera's side) + a Blinn-Phong
    highlight; then a slight blur and sensor noise. The random numbers drawn do not depend on
    ``draw_hand``, so the same ``rng`` state gives the same background with and without the hand. Works in
    chunks of 16 images.
    """
    joints_cam = np.asarray(joints_cam, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    n, size = len(joints_cam), config.image_size
    if joints_cam.shape != (n, 21, 3) or K.shape != (n, 3, 3):
        raise ValueError(f"render needs joints_cam (n, 21, 3) and K (n, 3, 3), got {joints_cam.shape}, {K.shape}.")
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for lo in range(0, n, _RENDER_CHUNK):
        hi = min(lo + _RENDER_CHUNK, n)
        d = _draw(rng, hi - lo, config)
        img = _background(d, size)
        if draw_hand:
            prims = hand_primitives(joints_cam[lo:hi], d.thickness, d.arm_length, 0.5 * config.min_depth_mm)
            hits = _rasterize_sparse(K[lo:hi], (size, size), *prims)
            plane = size * size
            colour = _shade(hits, d, plane)
            image, pixel = np.divmod(hits.pixel, plane)
            flat = img.reshape(-1)
            for ch in range(3):
                flat[image * (3 * plane) + ch * plane + pixel] = colour[:, ch]
        img = _blur(img, d.blur)
        sigma = (math.sqrt(12.0) * d.noise_std).astype(np.float32)[:, None, None, None]
        noise = d.noise
        noise *= sigma
        noise += np.float32(0.5)  # the cast to uint8 truncates: + 0.5 rounds to nearest
        img += noise
        np.clip(img, 0.0, 255.0, out=img)
        out[lo:hi] = img.astype(np.uint8).transpose(0, 2, 3, 1)
    return out


# --------------------------------------------------------------------------------------------- the dataset


class SyntheticHands(torch.utils.data.Dataset):
    """``size`` synthetic right hands with exact 2D/3D labels, generated up front (deterministic per seed).

    Bulk arrays: :attr:`images` ``(N, H, W, 3)`` uint8, :attr:`joints` ``(N, 21, 3)`` float64 camera-space mm,
    :attr:`K` ``(N, 3, 3)`` float64, the 2.5D labels of :func:`handkin.camera.to_25d` — :attr:`uv` ``(N, 21, 2)``
    px, :attr:`z_rel` ``(N, 21)`` and :attr:`z_root` ``(N,)`` in reference lengths, :attr:`scale` ``(N,)`` mm
    (float32) — and :attr:`has_3d` ``(N,)`` bool. ``weak_fraction`` of the samples (exactly
    ``round(weak_fraction · size)``, chosen from the seed) are marked 2D-only; :meth:`mark_2d_only` marks more.
    Generation runs in chunks of :data:`CHUNK` samples, each with its own generator spawned from ``seed`` (the
    working memory is bounded by the chunk; the stored set takes H·W·3 bytes per sample, 48 KiB at 128 px);
    ``progress`` shows a tqdm bar. :meth:`save` / :meth:`load` keep a generated set in an ``.npz`` file. Only
    right hands are generated (the dataset readers mirror left hands). Items: see :meth:`__getitem__`.
    """

    def __init__(
        self,
        size: int,
        seed: int = 0,
        config: SyntheticConfig | None = None,
        limits: JointLimits | None = None,
        weak_fraction: float = 0.0,
        progress: bool = False,
    ) -> None:
        if int(size) != size or size < 0:
            raise ValueError(f"size must be a non-negative integer, got {size!r}.")
        if not 0.0 <= weak_fraction <= 1.0:
            raise ValueError(f"weak_fraction must lie in [0, 1], got {weak_fraction}.")
        size = int(size)
        self.config = config if config is not None else SyntheticConfig()
        self.limits = limits if limits is not None else JointLimits.default()
        self.seed = int(seed)
        side = self.config.image_size
        images = np.empty((size, side, side, 3), dtype=np.uint8)
        joints = np.empty((size, 21, 3))
        K = np.empty((size, 3, 3))
        starts = range(0, size, CHUNK)
        bar = _progress(len(starts), progress)
        for chunk, lo in enumerate(starts):
            hi = min(lo + CHUNK, size)
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0, chunk)))
            hands = sample_poses(hi - lo, self.limits, rng, self.config)
            joints[lo:hi], K[lo:hi] = sample_cameras(hands, rng, self.config)
            images[lo:hi] = render(joints[lo:hi], K[lo:hi], rng, self.config)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        has_3d = np.ones(size, dtype=bool)
        weak_rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(1,)))
        has_3d[weak_rng.permutation(size)[: int(round(weak_fraction * size))]] = False
        self._set(images, joints, K, has_3d)

    def _set(self, images: np.ndarray, joints: np.ndarray, K: np.ndarray, has_3d: np.ndarray) -> None:
        self.images, self.joints, self.K, self.has_3d = images, joints, K, has_3d
        pose = camera.to_25d(joints, K)
        self.uv = np.asarray(pose.uv, dtype=np.float32)
        self.z_rel = np.asarray(pose.z_rel, dtype=np.float32)
        self.scale = np.asarray(pose.scale, dtype=np.float32)
        self.z_root = np.asarray(pose.z_root / pose.scale, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: Any) -> dict[str, torch.Tensor]:
        """One sample: ``image`` uint8 (3, H, W); ``uv`` float32 (21, 2) px; ``z_rel`` float32 (21,) (Z − Z_root)/s;
        ``z_root`` float32 () Z_root/s; ``scale`` float32 () s mm (wrist→middle_mcp); ``K`` float32 (3, 3);
        ``joints`` float32 (21, 3) camera-space mm; ``has_2d`` bool () (always True); ``has_3d`` bool ()."""
        n = len(self)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for {n} samples.")
        i %= n
        return {
            "image": torch.from_numpy(np.ascontiguousarray(self.images[i].transpose(2, 0, 1))),
            "uv": torch.from_numpy(self.uv[i].copy()),
            "z_rel": torch.from_numpy(self.z_rel[i].copy()),
            "z_root": torch.tensor(self.z_root[i], dtype=torch.float32),
            "scale": torch.tensor(self.scale[i], dtype=torch.float32),
            "K": torch.from_numpy(self.K[i].astype(np.float32)),
            "joints": torch.from_numpy(self.joints[i].astype(np.float32)),
            "has_2d": torch.tensor(True),
            "has_3d": torch.tensor(bool(self.has_3d[i])),
        }

    def mark_2d_only(self, indices_or_mask: Any) -> None:
        """Mark samples 2D-only (``has_3d`` False): integer indices, or a boolean mask ``(N,)`` (numpy, torch, list)."""
        sel = indices_or_mask
        if isinstance(sel, torch.Tensor):
            sel = sel.detach().cpu().numpy()
        sel = np.asarray(sel)
        if sel.dtype == bool:
            if sel.shape != self.has_3d.shape:
                raise ValueError(f"a mask must have shape {self.has_3d.shape}, got {sel.shape}.")
        elif sel.size and not np.issubdtype(sel.dtype, np.integer):
            raise TypeError(f"mark_2d_only needs integer indices or a boolean mask, got dtype {sel.dtype}.")
        elif sel.size and (sel.min() < -len(self) or sel.max() >= len(self)):
            raise IndexError(f"indices out of range for {len(self)} samples.")
        self.has_3d[sel.astype(bool) if sel.dtype == bool else sel.astype(np.int64)] = False

    def save(self, path: str | os.PathLike) -> Path:
        """Write the set to an uncompressed ``.npz`` (atomically: a temporary file in the same folder, renamed)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "version": FILE_VERSION,
            "seed": self.seed,
            "config": self.config.model_dump(mode="json"),
            "limits": json.loads(self.limits.model_dump_json()),
        }
        with atomic_write(path) as f:
            np.savez(
                f,
                images=self.images,
                joints=self.joints,
                K=self.K,
                has_3d=self.has_3d,
                meta=np.array(json.dumps(meta)),
            )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> SyntheticHands:
        """Read a set written by :meth:`save` (labels are recomputed from the stored joints and K)."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in ("images", "joints", "K", "has_3d", "meta")}
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{path} is not a SyntheticHands file: {exc}") from exc
        meta = json.loads(str(arrays["meta"]))
        if meta.get("version") != FILE_VERSION:
            raise ValueError(f"{path} has file version {meta.get('version')}; this code reads {FILE_VERSION}.")
        n = len(arrays["images"])
        config = SyntheticConfig(**meta["config"])
        side = config.image_size
        shapes = {"images": (n, side, side, 3), "joints": (n, 21, 3), "K": (n, 3, 3), "has_3d": (n,)}
        for key, shape in shapes.items():
            if arrays[key].shape != shape:
                raise ValueError(f"{path}: {key} has shape {arrays[key].shape}, expected {shape}.")
        obj = cls.__new__(cls)
        obj.config = config
        obj.limits = JointLimits(**meta["limits"])
        obj.seed = int(meta["seed"])
        obj._set(
            arrays["images"].astype(np.uint8, copy=False),
            arrays["joints"].astype(np.float64, copy=False),
            arrays["K"].astype(np.float64, copy=False),
            arrays["has_3d"].astype(bool).copy(),
        )
        return obj

    def __repr__(self) -> str:
        return (
            f"SyntheticHands({len(self)} samples, {self.config.image_size}px, seed={self.seed}, "
            f"2D-only={int((~self.has_3d).sum())})"
        )


def _progress(total: int, enabled: bool):
    """A tqdm bar over ``total`` chunks, or None (disabled or tqdm not installed)."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is part of the train extra
        return None
    return tqdm(total=total, desc="synthetic hands", unit="chunk")


__all__ = [
    "SyntheticConfig",
    "SyntheticHands",
    "sample_poses",
    "sample_cameras",
    "render",
    "rasterize",
    "hand_primitives",
    "Raster",
    "HandPrimitives",
    "JOINT_RADII_REF",
    "SKIN_PALETTE",
    "CHUNK",
]
