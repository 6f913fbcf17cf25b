"""``JointLimits`` from published sources: handkin's literature defaults and the Hand-BMC-pytorch limits.

:func:`default_limits` builds the defaults from the tables of :mod:`handkin.defaults` (data only),
:func:`calibrated_limits` runs the recipe that made them on any real capture sets;
:func:`read_hand_bmc` imports the ``.npy`` limits of the public reimplementation of the paper. Both are also
reachable as :meth:`JointLimits.default` and :meth:`JointLimits.from_hand_bmc`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .anatomy import AngleJoint, Bone
from .backend import to_numpy
from .defaults import (
    BONE_LENGTHS_REF,
    CALIBRATION,
    CALIBRATION_SOURCES,
    CURVATURE_REF,
    JOINT_POLYGONS_DEG,
    JOINT_RANGES_DEG,
    PALM_ANGLES_DEG,
    PRIOR_EXTRA_POINTS_DEG,
)
from .errors import LimitsError, ShapeError
from .hull import convex_hull, fit_polygon, pad_polygon
from .limits import PALM_PAIRS, AnglePolygon, Coupling, Interval, JointLimits, Provenance
from .limits_fit import grow_polygon, robust_range
from .skeleton import HandSkeleton


def joint_polygon(
    flexion: tuple[float, float],
    abduction: tuple[float, float],
    abduction_at_max_flexion: tuple[float, float] | None = None,
    n_points: int = 10,
) -> AnglePolygon:
    """A box in degrees, or a trapezoid whose abduction range changes linearly to ``abduction_at_max_flexion``
    at maximal flexion (narrowing for an MCP, widening for a hinge)."""
    if abduction_at_max_flexion is None:
        return AnglePolygon.box(flexion, abduction, n_points=n_points, degrees=True)
    (f0, f1), (a0, a1), (b0, b1) = flexion, abduction, abduction_at_max_flexion
    corners = np.radians([(f0, a0), (f1, b0), (f1, b1), (f0, a1)])
    return AnglePolygon(points=pad_polygon(corners, n_points))


def prior_polygon(joint: str) -> np.ndarray:
    """The literature prior of one angle joint ``(N, 2)``, radians, CCW: the hull of its
    :data:`~handkin.defaults.JOINT_RANGES_DEG` trapezoid and :data:`~handkin.defaults.PRIOR_EXTRA_POINTS_DEG`."""
    flexion, abduction, at_max, _ = JOINT_RANGES_DEG[joint]
    corners = joint_polygon(flexion, abduction, at_max, n_points=4).array
    extra = np.radians(np.asarray(PRIOR_EXTRA_POINTS_DEG.get(joint, ()), float).reshape(-1, 2))
    return convex_hull(np.concatenate([corners, extra]))


def calibrated_polygons(
    sources: Mapping[str, Any],
    *,
    margin_deg: float | None = None,
    percentiles: tuple[float, float] | None = None,
    prior: bool = True,
    hull_points: int | None = None,
) -> dict[str, np.ndarray]:
    """Per angle joint, the defaults' recipe (:data:`~handkin.defaults.CALIBRATION`) on ``sources``:
    name → ``HandSkeleton`` (any unit; left hands are measured mirrored) or joint angles ``(n, 15, 2)``
    radians. Returns joint name → polygon ``(hull_points, 2)`` radians, CCW.

    Per source, the points within ``percentiles`` of both angles (sources with fewer than
    ``trim_min_hands`` hands keep all); united over sources and with the literature prior
    (:func:`prior_polygon`, unless ``prior=False``); fitted by the paper's procedure
    (:func:`handkin.hull.fit_polygon`); grown by ``margin_deg``. Each source weighs the same whatever its size.
    """
    c = CALIBRATION
    margin = math.radians(c["margin_deg"] if margin_deg is None else margin_deg)
    pct = (c["percentiles_lo"], c["percentiles_hi"]) if percentiles is None else percentiles
    n_points = int(c["hull_points"] if hull_points is None else hull_points)
    per_source = [_source_angles(name, value) for name, value in sources.items()]
    if not per_source and not prior:
        raise LimitsError("calibrated_polygons needs at least one source (or prior=True).")
    out = {}
    for joint in AngleJoint:
        parts = [prior_polygon(joint.name)] if prior else []
        for angles in per_source:
            pts = angles[:, joint]
            if len(pts) >= c["trim_min_hands"]:
                lo, hi = robust_range(pts, pct)
                pts = pts[np.all((pts >= lo) & (pts <= hi), axis=1)]
            parts.append(pts)
        polygon = fit_polygon(np.concatenate(parts), n_points)
        polygon = grow_polygon(polygon, margin) if margin > 0 else polygon
        out[joint.name] = pad_polygon(convex_hull(polygon), n_points)  # padding vertices back on the grown edges
    return out


def calibrated_limits(sources: Mapping[str, Any], *, bone_lengths: bool = True, **recipe: Any) -> JointLimits:
    """``JointLimits`` made by the defaults' recipe from real capture ``sources`` (see :func:`calibrated_polygons`,
    whose keyword arguments ``recipe`` takes): the joint polygons fitted to the sources and the prior, the
    bone-length envelope (unless ``bone_lengths=False``) and the palm intervals of :mod:`handkin.defaults`.
    ``calibrated_limits(real_sets)`` on the sets of :data:`~handkin.defaults.CALIBRATION_SOURCES` gives
    :meth:`JointLimits.default`; the plausibility benchmark calls it leave-one-source-out."""
    polygons = calibrated_polygons(sources, **recipe)
    names = ", ".join(f"{k} ({_count(v)})" for k, v in sources.items())
    return _limits(polygons, bone_lengths, couplings=False, dataset=f"prior + {names or 'no sources'}")


def default_limits(couplings: bool = False, bone_lengths: bool = True) -> JointLimits:
    """The shipped defaults in ``ref`` units: the polygons of :data:`~handkin.defaults.JOINT_POLYGONS_DEG`,
    the bone-length envelope (unless ``bone_lengths=False``) and the palm intervals; ``couplings`` adds
    DIP ≈ ⅔·PIP per finger."""
    n_points = int(CALIBRATION["hull_points"])
    polygons = {k: pad_polygon(convex_hull(np.radians(v)), n_points) for k, v in JOINT_POLYGONS_DEG.items()}
    sources = ", ".join(f"{k} ({n})" for k, n in CALIBRATION_SOURCES.items())
    return _limits(polygons, bone_lengths, couplings, dataset=f"literature prior + {sources}")


def _limits(polygons: Mapping[str, np.ndarray], bone_lengths: bool, couplings: bool, dataset: str) -> JointLimits:
    return JointLimits(
        units="ref",
        bone_lengths={k: Interval(min=a, max=b) for k, (a, b) in BONE_LENGTHS_REF.items()} if bone_lengths else {},
        palm_curvature={k: Interval(min=a, max=b) for k, (a, b) in CURVATURE_REF.items()},
        palm_angles={k: Interval(min=math.radians(a), max=math.radians(b)) for k, (a, b) in PALM_ANGLES_DEG.items()},
        joint_angles={k: AnglePolygon(points=v) for k, v in polygons.items()},
        couplings=tuple(Coupling(finger=f) for f in ("index", "middle", "ring", "little")) if couplings else (),
        provenance=Provenance(
            source="literature",
            citation="AAOS 1965/1994; Eaton; Chen et al. 2013 (J. Robotics); Lee & Kunii 1995; Bain et al. 2015; "
            "Hayashi & Shimizu 2013; Kapandji; Cooney et al. 1981; Buryanov & Kotiuk 2010; Spurr et al. 2020",
            dataset=dataset,
            notes="handkin default adult right-hand limits (docs/limits.md)",
        ),
    )


def _source_angles(name: str, value: Any) -> np.ndarray:
    """Joint angles ``(n, 15, 2)`` radians of one calibration source (a ``HandSkeleton`` or the angles)."""
    if isinstance(value, HandSkeleton):
        angles = np.asarray(value.numpy().as_right().measure(frames=False).joint_angles, float)
    else:
        angles = np.asarray(to_numpy(value), float)
    if angles.ndim < 2 or angles.shape[-2:] != (15, 2):
        raise ShapeError(
            f"calibration source {name!r} must be a HandSkeleton or joint angles (n, 15, 2), got {angles.shape}."
        )
    angles = angles.reshape(-1, 15, 2)
    finite = np.isfinite(angles).all(axis=(1, 2))
    if not finite.any():
        raise LimitsError(f"calibration source {name!r} has no hand with finite angles.")
    return angles[finite]


def _count(value: Any) -> int:
    return int(np.prod(value.batch_shape)) if isinstance(value, HandSkeleton) else int(np.prod(np.shape(value)[:-2]))


def read_hand_bmc(folder: str | os.PathLike) -> JointLimits:
    """:meth:`JointLimits.from_hand_bmc` (see there): the ``.npy`` limits of Hand-BMC-pytorch in ``folder``."""
    folder = Path(folder)

    def load(name: str, size: int) -> np.ndarray:
        path = folder / f"{name}.npy"
        try:
            arr = np.load(path, allow_pickle=False).astype(float).ravel()
        except (OSError, ValueError) as exc:
            raise LimitsError(f"cannot read Hand-BMC limits file {path}: {exc}") from exc
        if arr.shape != (size,) or not np.all(np.isfinite(arr)):
            raise LimitsError(f"Hand-BMC limits file {path} must hold {size} finite numbers, got shape {arr.shape}.")
        return arr

    pairs = [
        (load("bone_len_min", 20), load("bone_len_max", 20)),
        (load("curvatures_min", 4), load("curvatures_max", 4)),
        (load("PHI_min", 4), load("PHI_max", 4)),
    ]
    names = ([b.name for b in Bone], PALM_PAIRS, PALM_PAIRS)
    dicts = [
        {n: Interval(min=a, max=b) for n, a, b in zip(ns, lo, hi, strict=True)}
        for ns, (lo, hi) in zip(names, pairs, strict=True)
    ]
    return JointLimits(
        units="ref",
        bone_lengths=dicts[0],
        palm_curvature=dicts[1],
        palm_angles=dicts[2],
        provenance=Provenance(
            source="hand_bmc",
            dataset="RHD + GANerated (synthetic), right hands",
            citation="Hand-BMC-pytorch (public reimplementation of Spurr et al., ECCV 2020), MIT licence",
            notes=f"imported from {folder}; no joint-angle polygons in that layout",
        ),
    )


__all__ = [
    "default_limits",
    "calibrated_limits",
    "calibrated_polygons",
    "prior_polygon",
    "joint_polygon",
    "read_hand_bmc",
]
