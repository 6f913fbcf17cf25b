"""``LimitReport``: which bone, palm pair, joint or coupling of which hand violates a ``JointLimits``, and by how much.

The excess of each constraint is :mod:`handkin.bounds`'s; the report puts it in the hand's unit and in degrees.
"""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

import numpy as np

from .anatomy import AngleJoint, Bone
from .bounds import coupling_excess, interval_excess, limit_arrays, polygon_excess, to_limit_units
from .frames import measure
from .limits import PALM_PAIRS, JointLimits
from .skeleton import HandSkeleton
from .tables import format_table


class Violation(NamedTuple):
    """One violated constraint of one hand."""

    hand: tuple[int, ...]
    """Batch index of the hand (``()`` for a single hand)."""
    kind: str
    """``bone_length``, ``palm_curvature``, ``palm_angle``, ``joint_angle`` or ``coupling``."""
    name: str
    """Bone, palm pair, angle joint or finger."""
    value: float
    """The measured value (length, curvature, degrees; for joints the distance-free (flexion, abduction) is in ``detail``)."""
    amount: float
    """How far outside the limit, in ``unit``."""
    unit: str
    detail: str = ""


class LimitReport:
    """Per hand and per constraint violations (0 where satisfied), as arrays, a table and JSON.

    Arrays (batch shape of the skeleton first): ``bone_lengths (..., 20)`` in ``length_unit``,
    ``palm_curvature (..., 4)`` in 1/``length_unit``, ``palm_angles (..., 4)`` degrees,
    ``joint_angles (..., 15)`` degrees (Euclidean distance to the joint's polygon in the
    (flexion, abduction) plane), ``couplings (..., C)`` degrees; ``ok (...)`` is True for hands within
    all limits.
    """

    def __init__(
        self,
        measured: dict[str, np.ndarray],
        violations: dict[str, np.ndarray],
        length_unit: str,
        coupling_names: list[str],
        tolerance: float,
    ) -> None:
        self.measured = measured
        self.bone_lengths = violations["bone_lengths"]
        self.palm_curvature = violations["palm_curvature"]
        self.palm_angles = violations["palm_angles"]
        self.joint_angles = violations["joint_angles"]
        self.couplings = violations["couplings"]
        self.length_unit = length_unit
        self.coupling_names = coupling_names
        self.tolerance = tolerance
        batch = self.bone_lengths.shape[:-1]  # () for one hand, (0,) for an empty batch
        worst = [
            v.reshape(batch + (math.prod(v.shape[len(batch) :]),)).max(axis=-1, initial=0.0)
            for v in violations.values()
        ]
        self.ok = np.all(np.stack(worst, axis=-1) <= tolerance, axis=-1)

    @classmethod
    def build(cls, limits: JointLimits, skeleton: HandSkeleton, tolerance: float = 1e-9) -> LimitReport:
        """The report of ``skeleton`` against ``limits`` (:meth:`JointLimits.check`)."""
        sk = skeleton.numpy()
        joints, scale = to_limit_units(sk, limits)
        length_scale = np.asarray(scale)[..., None]  # limit units → the skeleton's unit
        m = measure(joints, with_frames=False)
        lengths, curvature = np.asarray(m.bone_lengths), np.asarray(m.palm_curvature)
        phi, angles = np.asarray(m.palm_angles), np.asarray(m.joint_angles)
        arrays = limit_arrays(limits)
        violations = {
            "bone_lengths": interval_excess(lengths, arrays.bones) * length_scale,
            "palm_curvature": interval_excess(curvature, arrays.curvature) / length_scale,
            "palm_angles": np.degrees(interval_excess(phi, arrays.palm_angles)),
            "joint_angles": np.degrees(np.asarray(polygon_excess(angles, arrays.polygons, "euclidean"))),
            "couplings": np.degrees(coupling_excess(angles, arrays.couplings)),
        }
        measured = {
            "bone_lengths": lengths * length_scale,
            "palm_curvature": curvature / length_scale,
            "palm_angles": np.degrees(phi),
            "joint_angles": np.degrees(angles),
        }
        return cls(measured, violations, sk.units.value, [c.finger for c in limits.couplings], tolerance)

    # ------------------------------------------------------------------ views
    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.ok.shape)

    @property
    def n_violating(self) -> int:
        """How many hands violate at least one constraint."""
        return int(np.sum(~self.ok))

    def violations(self, hand: Any = None) -> list[Violation]:
        """Every violated constraint (of one hand, given its batch index, or of all hands), worst first per hand."""
        out: list[Violation] = []
        lu = self.length_unit
        kinds = [
            ("bone_length", self.bone_lengths, [b.name for b in Bone], lu, "bone_lengths"),
            ("palm_curvature", self.palm_curvature, list(PALM_PAIRS), f"1/{lu}", "palm_curvature"),
            ("palm_angle", self.palm_angles, list(PALM_PAIRS), "deg", "palm_angles"),
            ("joint_angle", self.joint_angles, [a.name for a in AngleJoint], "deg", "joint_angles"),
            ("coupling", self.couplings, self.coupling_names, "deg", None),
        ]
        hands = [tuple(int(i) for i in idx) for idx in np.ndindex(*self.batch_shape)]
        if hand is not None:
            hands = [hand if isinstance(hand, tuple) else (int(hand),)]
        for h in hands:
            rows = []
            for kind, arr, names, unit, key in kinds:
                values = arr[h]
                for k in np.flatnonzero(values > self.tolerance):
                    measured = self.measured[key][h][k] if key else float("nan")
                    detail = ""
                    if kind == "joint_angle":
                        f, a = measured
                        f, a = round(float(f), 1) + 0.0, round(float(a), 1) + 0.0  # no "-0.0"
                        measured, detail = float("nan"), f"flexion {f:.1f}°, abduction {a:.1f}°"
                    rows.append(Violation(h, kind, names[k], float(measured), float(values[k]), unit, detail))
            out += sorted(rows, key=lambda v: -v.amount)
        return out

    def table(self, max_rows: int = 50) -> str:
        """A plain-text table of the violations (hand, constraint, measured, by how much)."""
        rows = self.violations()
        head = f"{self.n_violating} of {math.prod(self.batch_shape)} hand(s) outside the limits"
        if not rows:
            return head
        one = self.batch_shape == ()  # a single hand: no hand column
        cols = ["kind", "name", "measured", "outside by", "unit"]
        cells = []
        for v in rows[:max_rows]:
            measured = v.detail if v.detail else ("" if math.isnan(v.value) else f"{v.value:.4g}")
            hand = [] if one else [", ".join(str(i) for i in v.hand)]
            cells.append(hand + [v.kind, v.name, measured, f"{v.amount:.4g}", v.unit])
        lines = [head, format_table(cols if one else ["hand", *cols], cells, markdown=False)]
        if len(rows) > max_rows:
            lines.append(f"... and {len(rows) - max_rows} more")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: counts, and every violation."""
        return {
            "hands": math.prod(self.batch_shape),
            "violating_hands": self.n_violating,
            "length_unit": self.length_unit,
            "violations": [
                v._asdict() | {"hand": list(v.hand), "value": None if math.isnan(v.value) else v.value}
                for v in self.violations()
            ],
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def __repr__(self) -> str:
        return f"LimitReport(hands={math.prod(self.batch_shape)}, violating={self.n_violating})"


__all__ = ["LimitReport", "Violation"]
