"""Per-user limits: a person's joint limits fitted from calibration recordings and merged into a base,
and two sets of limits compared joint by joint (ranges, polygon areas, overlap).

>>> from handkin import personal
>>> mine = personal.fit_user_limits(calibration_seq, user="ana")          # doctest: +SKIP
>>> print(personal.compare_limits(JointLimits.default(), mine).table())    # doctest: +SKIP

Also importable from :mod:`handkin.analysis`. The limits themselves: :class:`~handkin.JointLimits`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .anatomy import AngleJoint, Bone
from .defaults import (  # fit_user_limits' defaults, kept with the others (the CLI reads them without this module)
    USER_ANGLE_MARGIN,
    USER_BONE_TOLERANCE,
    USER_CURVATURE_TOLERANCE,
    USER_MARGIN,
    USER_PERCENTILES,
)
from .errors import ShapeError, UnitsError
from .hull import clip_convex, polygon_area
from .io.sequence import HandSequence
from .limits import JointLimits, Provenance
from .tables import format_table
from .units import Units
from .units import units as parse_units


def fit_user_limits(
    calibration: HandSequence | Sequence[HandSequence],
    base: JointLimits | Literal["default"] | None = "default",
    *,
    units: Any = "ref",
    percentiles: tuple[float, float] | None = USER_PERCENTILES,
    margin: float = USER_MARGIN,
    angle_margin: float = USER_ANGLE_MARGIN,
    bone_tolerance: float = USER_BONE_TOLERANCE,
    curvature_tolerance: float = USER_CURVATURE_TOLERANCE,
    rule: Literal["union", "replace"] = "union",
    user: str | None = None,
    hull_points: int = 10,
) -> JointLimits:
    """A person's limits from calibration recordings (their valid frames; left hands mirrored), merged into
    ``base`` (default :meth:`JointLimits.default`; ``None`` for the fitted limits alone).

    The fit (:meth:`JointLimits.fit`) takes the ``percentiles`` of each quantity (``None``: the full min/max) and
    widens them so that the rest of the person's motion passes, not only the calibration frames: every interval by
    ``margin`` × its width, bone lengths by at least ``bone_tolerance`` × the bound, palm curvature by at least
    ``curvature_tolerance`` per reference length, palm angles and angle polygons by ``angle_margin`` (radians).
    Set them all to 0 (and ``percentiles=None``) for limits that hold exactly the calibration.

    ``rule="union"`` can only widen the base (a flexible person): when the calibration lies inside the base on
    every constraint the result equals the base, and a :class:`UserWarning` says so; ``"replace"`` uses the
    person's range where fitted (e.g. a stiff joint). ``units="ref"`` (scale-free) matches the defaults; a
    physical unit keeps the person's bone lengths; conversions between the base's unit and the fit's use the
    person's median reference-bone length.
    """
    seqs = [calibration] if isinstance(calibration, HandSequence) else list(calibration)
    if not seqs:
        raise ShapeError("fit_user_limits needs at least one calibration sequence.")
    skeletons = [s.as_right().skeleton() for s in seqs]
    units_set = {s.units for s in skeletons}
    if len(units_set) > 1:  # one unit for all: the first physical one (else ref)
        common = next((s.units for s in skeletons if s.units != Units.ref), Units.ref)
        skeletons = [s.to_units(common) if s.units != Units.ref else s for s in skeletons]
        if any(s.units != common for s in skeletons):
            skeletons = [s.to_units("ref") for s in skeletons]
    target = parse_units(units)
    n = sum(len(s) for s in skeletons)
    source = ", ".join(s.source or "array" for s in seqs)
    provenance = Provenance(source="fit", user=user, dataset=source, notes=f"calibration: {n} valid frames")
    curvature = curvature_tolerance
    if target != Units.ref and curvature:
        curvature = curvature_tolerance / _reference_length(skeletons, target)
    fitted = JointLimits.fit(
        skeletons,
        hull_points,
        units=units,
        percentiles=percentiles,
        margin=margin,
        angle_margin=angle_margin,
        bone_tolerance=bone_tolerance,
        curvature_tolerance=curvature,
        provenance=provenance,
    )
    if base is None:
        return fitted
    base_limits = JointLimits.default(units="ref") if isinstance(base, str) and base == "default" else base
    if base_limits.units != fitted.units and Units.ref in (base_limits.units, fitted.units):
        physical = fitted.units if base_limits.units == Units.ref else base_limits.units
        ref = _reference_length(skeletons, physical)  # the person's reference bone, in the physical unit involved
        base_limits = base_limits.to_units(fitted.units, reference_length=ref)
    with warnings.catch_warnings(record=True) as caught:  # re-raised below, pointing at the caller
        warnings.simplefilter("always")
        merged = base_limits.merge(fitted, rule=rule, hull_points=hull_points)
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=2)
    return merged.model_copy(update={"provenance": merged.provenance.model_copy(update={"user": user})})


def _reference_length(skeletons: Sequence[Any], unit: Units) -> float:
    """The median reference-bone length of the calibration ``skeletons`` in the physical ``unit``."""
    if any(s.units == Units.ref for s in skeletons):
        raise UnitsError(
            "the calibration is in 'ref' units (no physical size), so limits in a physical unit cannot be related to "
            "it; give the recording in m, cm or mm, or fit with units='ref' and a 'ref' base."
        )
    lengths = [np.asarray(s.to_units(unit).numpy().reference_length(), float).ravel() for s in skeletons]
    return float(np.median(np.concatenate(lengths)))


@dataclass(frozen=True, eq=False)
class LimitsComparison:
    """Two sets of limits side by side (``b`` converted to ``a``'s units).

    ``joints``: per angle joint both polygons' areas (deg²), their overlap (intersection over union) and
    flexion / abduction ranges (degrees); ``bones``: per bone both intervals. Missing constraints are None.
    """

    names: tuple[str, str]
    joints: list[dict[str, Any]]
    bones: list[dict[str, Any]]
    units: str

    def table(self, markdown: bool = True) -> str:
        a, b = self.names
        head = ["joint", f"flex {a}", f"flex {b}", f"abd {a}", f"abd {b}", f"area {a}", f"area {b}", "IoU"]

        def rng(r):
            return "—" if r is None else f"{round(r[0]):d}…{round(r[1]):d}"

        rows = [
            [
                j["joint"],
                rng(j["flexion_a"]),
                rng(j["flexion_b"]),
                rng(j["abduction_a"]),
                rng(j["abduction_b"]),
                "—" if j["area_a"] is None else f"{round(j['area_a']):d}",
                "—" if j["area_b"] is None else f"{round(j['area_b']):d}",
                "—" if j["iou"] is None else f"{j['iou']:.2f}",
            ]
            for j in self.joints
        ]
        return format_table(head, rows, markdown)

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "units": self.units, "joints": self.joints, "bones": self.bones}


def compare_limits(a: JointLimits, b: JointLimits, names: tuple[str, str] = ("a", "b")) -> LimitsComparison:
    """Compare two people's (or sources') limits joint by joint: ranges, areas and overlap (see :class:`LimitsComparison`)."""
    if b.units != a.units:
        try:
            b = b.to_units(a.units)
        except UnitsError as exc:
            raise UnitsError(f"cannot compare limits in {a.units.value!r} and {b.units.value!r}: {exc}") from None
    joints = []
    for j in (a.name for a in AngleJoint):
        pa, pb = a.joint_angles.get(j), b.joint_angles.get(j)
        row: dict[str, Any] = {"joint": j}
        for tag, p in (("a", pa), ("b", pb)):
            d = None if p is None else np.degrees(p.array)
            row[f"flexion_{tag}"] = None if d is None else (float(d[:, 0].min()), float(d[:, 0].max()))
            row[f"abduction_{tag}"] = None if d is None else (float(d[:, 1].min()), float(d[:, 1].max()))
            row[f"area_{tag}"] = None if d is None else float(polygon_area(d))
        row["iou"] = None
        if pa is not None and pb is not None:
            da, db = np.degrees(pa.array), np.degrees(pb.array)
            inter = clip_convex(da, db)
            ia = float(polygon_area(inter)) if len(inter) >= 3 else 0.0
            union = row["area_a"] + row["area_b"] - ia
            row["iou"] = ia / union if union > 0 else None
        joints.append(row)
    bones = []
    for name in (b.name for b in Bone):
        ia, ib = a.bone_lengths.get(name), b.bone_lengths.get(name)
        bones.append(
            {"bone": name, "a": None if ia is None else (ia.min, ia.max), "b": None if ib is None else (ib.min, ib.max)}
        )
    return LimitsComparison(tuple(names), joints, bones, a.units.value)


__all__ = ["fit_user_limits", "compare_limits", "LimitsComparison"]
