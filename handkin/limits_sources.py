"""``JointLimits`` from published sources: handkin's literature defaults and the Hand-BMC-pytorch limits.

:func:`default_limits` builds the defaults from the tables of :mod:`handkin.defaults` (data only);
:func:`read_hand_bmc` imports the ``.npy`` limits of the public reimplementation of the paper. Both are also
reachable as :meth:`JointLimits.default` and :meth:`JointLimits.from_hand_bmc`.
"""

from __future__ import annotations

import importlib
import math
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from .anatomy import AngleJoint, Bone
from .defaults import BONE_LENGTHS_REF, CURVATURE_REF, JOINT_RANGES_DEG, PALM_ANGLES_DEG
from .errors import LimitsError
from .hull import fit_polygon, pad_polygon, polygon_area
from .limits import MAX_POLYGON_VERTICES, PALM_PAIRS, AnglePolygon, Coupling, Interval, JointLimits, Provenance


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


class _NumbersUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays (``numpy.ndarray``, ``dtype`` and the ``multiarray._reconstruct`` / ``scalar``
    helpers of numpy 1 and 2) and builtin values; any other global is a :class:`LimitsError`."""

    _NUMPY = {"_reconstruct", "scalar"}

    def __init__(self, file: Any, path: Path) -> None:
        super().__init__(file)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in self._NUMPY:
            for package in ("numpy._core.multiarray", "numpy.core.multiarray"):
                try:
                    return getattr(importlib.import_module(package), name)
                except (ImportError, AttributeError):
                    continue
        raise LimitsError(
            f"refused to read Hand-BMC limits file {self._path}: its pickle names {module}.{name}, and a polygon "
            "file may hold only numpy arrays (loading it would run that code). Nothing of it was run."
        )


__all__ = ["default_limits", "joint_polygon", "read_hand_bmc", "HAND_BMC_JOINT_ORDER"]
