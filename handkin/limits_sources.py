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
from .files import RestrictedUnpickler
from .hull import convex_hull, fit_polygon, pad_polygon, polygon_area
from .limits import MAX_POLYGON_VERTICES, PALM_PAIRS, AnglePolygon, Coupling, Interval, JointLimits, Provenance
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


#: Hand-BMC-pytorch's joint order in ``CONVEX_HULLS.npy`` (level-major: the five first-level joints thumb…little,
#: then the five second-level, then the third-level ones) as handkin angle joints: entry k is handkin's
#: ``AngleJoint(HAND_BMC_JOINT_ORDER[k])``.
HAND_BMC_JOINT_ORDER: tuple[int, ...] = tuple(3 * finger + level for level in range(3) for finger in range(5))


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
    hulls = folder / "CONVEX_HULLS.npy"
    polygons = _read_hand_bmc_hulls(hulls) if hulls.is_file() else {}
    found = f"joint-angle polygons from {hulls.name}" if polygons else "no CONVEX_HULLS.npy: no joint-angle polygons"
    return JointLimits(
        units="ref",
        bone_lengths=dicts[0],
        palm_curvature=dicts[1],
        palm_angles=dicts[2],
        joint_angles=polygons,
        provenance=Provenance(
            source="hand_bmc",
            dataset="RHD + GANerated (synthetic), right hands",
            citation="Hand-BMC-pytorch (public reimplementation of Spurr et al., ECCV 2020), MIT licence",
            notes=f"imported from {folder}; {found}",
        ),
    )


__all__ = [
    "default_limits",
    "calibrated_limits",
    "calibrated_polygons",
    "prior_polygon",
    "joint_polygon",
    "read_hand_bmc",
    "HAND_BMC_JOINT_ORDER",
]


def _read_hand_bmc_hulls(path: Path) -> dict[str, AnglePolygon]:
    """The 15 joint polygons of Hand-BMC-pytorch's ``CONVEX_HULLS.npy`` by handkin joint name.

    The file holds, in :data:`HAND_BMC_JOINT_ORDER` (level-major), one (K, 2) array of (flexion, abduction)
    vertices in radians per joint: a float array (15, K, 2) when all K agree, else an object array of 15 arrays
    (a pickle, read by a loader that builds numpy arrays only). Its angles are the paper's (the same frames and
    signs as handkin's), its polygons counter-clockwise subsets of the convex hull; clockwise ones are reversed,
    a repeated closing vertex dropped, and polygons of more than ``MAX_POLYGON_VERTICES`` simplified to 10.
    """
    raw = _load_npy_numbers(path)
    items = list(raw) if raw.dtype == object else [raw[i] for i in range(len(raw))] if raw.ndim == 3 else None
    if items is None or len(items) != 15:
        shape = raw.shape if items is None else (len(items),)
        raise LimitsError(
            f"Hand-BMC limits file {path} must hold 15 joint polygons (15, K, 2) or 15 (K, 2) arrays, got shape {shape}."
        )
    polygons = {}
    for k, item in enumerate(items):
        joint = AngleJoint(HAND_BMC_JOINT_ORDER[k]).name
        try:
            poly = np.asarray(item, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise LimitsError(f"Hand-BMC limits file {path}: polygon {k} ({joint}) is not numeric: {exc}") from None
        if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3 or not np.all(np.isfinite(poly)):
            raise LimitsError(
                f"Hand-BMC limits file {path}: polygon {k} ({joint}) must be >= 3 finite (flexion, abduction) "
                f"vertices, got shape {poly.shape}."
            )
        if len(poly) > 3 and np.array_equal(poly[0], poly[-1]):
            poly = poly[:-1]
        if polygon_area(poly) < 0:
            poly = poly[::-1]
        if len(poly) > MAX_POLYGON_VERTICES:
            poly = fit_polygon(poly, 10)
        try:
            polygons[joint] = AnglePolygon(points=poly)
        except LimitsError as exc:
            raise LimitsError(f"Hand-BMC limits file {path}: polygon {k} ({joint}): {exc}") from None
    return polygons


def _load_npy_numbers(path: Path) -> np.ndarray:
    """An ``.npy`` file as an array; an object array (a pickle) is read by :class:`_NumbersUnpickler`, which builds
    numpy arrays, dtypes and builtin numbers/containers only and refuses anything else before running it."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            _, _, dtype = header(f)
            if not dtype.hasobject:
                return np.load(path, allow_pickle=False)
            return np.asarray(_NumbersUnpickler(f, path).load(), dtype=object)
    except LimitsError:
        raise
    except OSError as exc:
        raise LimitsError(f"cannot read Hand-BMC limits file {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # noqa: BLE001 - truncated or foreign files raise many types
        raise LimitsError(f"cannot read Hand-BMC limits file {path}: {type(exc).__name__}: {exc}") from None


class _NumbersUnpickler(RestrictedUnpickler):
    """:class:`handkin.files.RestrictedUnpickler` whose refusals are :class:`LimitsError` naming the file."""

    def __init__(self, file: Any, path: Path) -> None:
        super().__init__(file)
        self._path = path

    def refuse(self, module: str, name: str) -> Exception:
        return LimitsError(
            f"refused to read Hand-BMC limits file {self._path}: its pickle names {module}.{name}, and a polygon "
            "file may hold only numpy arrays (loading it would run that code). Nothing of it was run."
        )
