"""Per-user limits: a person's joint limits fitted from calibration recordings and merged into a base,
and two sets of limits compared joint by joint (ranges, polygon areas, overlap).

>>> from handkin import personal
>>> mine = personal.fit_user_limits(calibration_seq, user="ana")          # doctest: +SKIP
>>> print(personal.compare_limits(JointLimits.default(), mine).table())    # doctest: +SKIP

Also importable from :mod:`handkin.analysis`. The limits themselves: :class:`~handkin.JointLimits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .anatomy import AngleJoint, Bone
from .errors import ShapeError, UnitsError
from .hull import clip_convex, polygon_area
from .io.sequence import HandSequence
from .limits import JointLimits, Provenance
from .tables import format_table


def fit_user_limits(
    calibration: HandSequence | Sequence[HandSequence],
    base: JointLimits | Literal["default"] | None = "default",
    *,
    units: Any = "ref",
    percentiles: tuple[float, float] | None = (0.5, 99.5),
    margin: float = 0.0,
    angle_margin: float = 0.0,
    rule: Literal["union", "replace"] = "union",
    user: str | None = None,
    hull_points: int = 10,
) -> JointLimits:
    """A person's limits from calibration recordings (their valid frames; left hands mirrored), merged into
    ``base`` (default :meth:`JointLimits.default`; ``None`` for the fitted limits alone).

    ``percentiles`` drop tracking outliers (``None``: the full min/max); ``rule="union"`` can only widen the
    base (a flexible person), ``"replace"`` uses the person's range where fitted (e.g. a stiff joint).
    ``units="ref"`` (scale-free) matches the defaults; a physical unit keeps the person's bone lengths.
    """
    seqs = [calibration] if isinstance(calibration, HandSequence) else list(calibration)
    if not seqs:
        raise ShapeError("fit_user_limits needs at least one calibration sequence.")
    skeletons = [s.as_right().skeleton() for s in seqs]
    units_set = {s.units for s in skeletons}
    if len(units_set) > 1:
        skeletons = [s.to_units("ref") for s in skeletons]
    n = sum(len(s) for s in skeletons)
    source = ", ".join(s.source or "array" for s in seqs)
    provenance = Provenance(source="fit", user=user, dataset=source, notes=f"calibration: {n} valid frames")
    fitted = JointLimits.fit(
        skeletons,
        hull_points,
        units=units,
        percentiles=percentiles,
        margin=margin,
        angle_margin=angle_margin,
        provenance=provenance,
    )
    if base is None:
        return fitted
    base_limits = JointLimits.default(units="ref") if isinstance(base, str) and base == "default" else base
    if base_limits.units != fitted.units and "ref" in (base_limits.units.value, fitted.units.value):
        ref = float(np.median(np.asarray(skeletons[0].to_units(fitted.units).reference_length())))
        base_limits = base_limits.to_units(fitted.units, reference_length=ref)
    merged = base_limits.merge(fitted, rule=rule, hull_points=hull_points)
    return merged.model_copy(update={"provenance": merged.provenance.model_copy(update={"user": user})})


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
