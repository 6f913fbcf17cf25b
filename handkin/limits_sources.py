"""``JointLimits`` from published sources: handkin's literature defaults and the Hand-BMC-pytorch limits.

:func:`default_limits` builds the defaults from the tables of :mod:`handkin.defaults` (data only);
:func:`read_hand_bmc` imports the ``.npy`` limits of the public reimplementation of the paper. Both are also
reachable as :meth:`JointLimits.default` and :meth:`JointLimits.from_hand_bmc`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .anatomy import Bone
from .defaults import BONE_LENGTHS_REF, CURVATURE_REF, JOINT_RANGES_DEG, PALM_ANGLES_DEG
from .errors import LimitsError
from .hull import pad_polygon
from .limits import PALM_PAIRS, AnglePolygon, Coupling, Interval, JointLimits, Provenance


def joint_polygon(
    flexion: tuple[float, float],
    abduction: tuple[float, float],
    abduction_at_max_flexion: tuple[float, float] | None = None,
    n_points: int = 10,
) -> AnglePolygon:
    """A box in degrees, or a trapezoid narrowing to ``abduction_at_max_flexion`` at maximal flexion."""
    if abduction_at_max_flexion is None:
        return AnglePolygon.box(flexion, abduction, n_points=n_points, degrees=True)
    (f0, f1), (a0, a1), (b0, b1) = flexion, abduction, abduction_at_max_flexion
    corners = np.radians([(f0, a0), (f1, b0), (f1, b1), (f0, a1)])
    return AnglePolygon(points=pad_polygon(corners, n_points))


def default_limits(couplings: bool = False) -> JointLimits:
    """The literature defaults (tables of :mod:`handkin.defaults`) in ``ref`` units; ``couplings`` adds
    DIP ≈ ⅔·PIP per finger."""
    return JointLimits(
        units="ref",
        bone_lengths={k: Interval(min=a, max=b) for k, (a, b) in BONE_LENGTHS_REF.items()},
        palm_curvature={k: Interval(min=a, max=b) for k, (a, b) in CURVATURE_REF.items()},
        palm_angles={k: Interval(min=math.radians(a), max=math.radians(b)) for k, (a, b) in PALM_ANGLES_DEG.items()},
        joint_angles={k: joint_polygon(f, a, b) for k, (f, a, b, _) in JOINT_RANGES_DEG.items()},
        couplings=tuple(Coupling(finger=f) for f in ("index", "middle", "ring", "little")) if couplings else (),
        provenance=Provenance(
            source="literature",
            citation="AAOS 1965/1994; Eaton; Chen et al. 2013 (J. Robotics); Lee & Kunii 1995; Bain et al. 2015; "
            "Hayashi & Shimizu 2013; Kapandji; Cooney et al. 1981; Buryanov & Kotiuk 2010; Spurr et al. 2020",
            dataset="widened to accept InterHand2.6M, RHD and MediaPipe captures (see docs/limits.md)",
            notes="handkin default adult right-hand limits",
        ),
    )


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


__all__ = ["default_limits", "joint_polygon", "read_hand_bmc"]
