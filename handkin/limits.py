"""``JointLimits``: what a hand can do (paper §3.1, supplementary §1), typed, validated and persisted.

A ``JointLimits`` holds, in one length unit (``m``, ``cm``, ``mm`` or ``ref``):

* per bone (named after its child joint) a length interval;
* per palm pair (thumb_index, index_middle, middle_ring, ring_little) an interval for the
  curvature c_i (Eq. 1, units 1/length) and one for the angular distance φ_i (Eq. 3, radians);
* per angle joint (thumb_cmc … little_dip) a convex polygon of N (default 10) (flexion,
  abduction) points in counter-clockwise order, radians (supplementary §1), at most
  :data:`MAX_POLYGON_VERTICES` of them;
* optional couplings beyond the paper (DIP flexion within a band around a ratio of PIP flexion);
* provenance (source, dataset, citation, user, date, schema version).

A constraint that is not given is not checked (e.g. limits imported from Hand-BMC-pytorch have no
angle polygons). Make limits with :meth:`JointLimits.fit` (from data), :meth:`JointLimits.default`
(literature, the tables of :mod:`handkin.defaults`), :meth:`JointLimits.from_hand_bmc`, personalise them
with :meth:`scaled`, :meth:`with_joint` and :meth:`merge`, check poses with :meth:`check`, and
:meth:`save` / :meth:`load` them as JSON.

This module is the data model only. The bounds math (limit arrays, units, the excess of each kind of
constraint) is :mod:`handkin.bounds`, fitting :mod:`handkin.limits_fit`, the literature defaults and the
Hand-BMC import :mod:`handkin.limits_sources`, the loss :mod:`handkin.losses`, the report
:mod:`handkin.report`. :meth:`~JointLimits.fit`, :meth:`~JointLimits.default`,
:meth:`~JointLimits.from_hand_bmc`, :meth:`~JointLimits.check` and :meth:`~JointLimits.loss` are thin
delegates to them, imported when called (they build on this module).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from . import anatomy
from .anatomy import AngleJoint, Bone, Finger
from .backend import to_numpy
from .errors import HandkinError, LimitsError, ShapeError, UnitsError
from .files import atomic_write
from .handsize import ADULT_REFERENCE_MM, HAND_LENGTH_PER_REFERENCE
from .hull import box_polygon, contains, fit_polygon, validate_polygon
from .skeleton import HandSkeleton
from .units import DEFAULT_REFERENCE_BONE, Units, scale_factor
from .units import units as parse_units
from .validation import HandkinModel

#: Version of the JSON layout written by :meth:`JointLimits.save`.
SCHEMA_VERSION = 1

#: Most vertices a joint polygon may have. Every polygon is padded to the largest one for the loss and the
#: report, whose cost grows with it (per hand and joint, one term per vertex); a fitted polygon has 10. A larger
#: polygon (e.g. a raw convex hull in a hand-edited file) is a :class:`~handkin.errors.LimitsError` naming the
#: joint: simplify it with :func:`handkin.hull.fit_polygon`.
MAX_POLYGON_VERTICES = 4096

#: The four neighbouring root-bone pairs of the palm, in the order of Eq. 1–3.
PALM_PAIRS: tuple[str, ...] = ("thumb_index", "index_middle", "middle_ring", "ring_little")


class Interval(HandkinModel):
    """A closed interval ``[min, max]`` of finite numbers."""

    min: float
    max: float

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, data: Any) -> Any:
        if isinstance(data, (tuple, list, np.ndarray)):
            if len(data) != 2:
                raise LimitsError(f"an interval needs two numbers (min, max), got {list(data)!r}.")
            return {"min": float(data[0]), "max": float(data[1])}
        return data

    @model_validator(mode="after")
    def _check(self) -> Interval:
        if not (math.isfinite(self.min) and math.isfinite(self.max)):
            raise LimitsError(f"interval bounds must be finite, got [{self.min}, {self.max}].")
        if self.min > self.max:
            raise LimitsError(f"interval has min > max: [{self.min}, {self.max}].")
        return self

    def __iter__(self):  # type: ignore[override]
        yield self.min
        yield self.max


class AnglePolygon(HandkinModel):
    """A convex polygon of (flexion, abduction) points, radians, counter-clockwise: one joint's range of motion."""

    points: tuple[tuple[float, float], ...]

    @model_validator(mode="before")
    @classmethod
    def _from_points(cls, data: Any) -> Any:
        return {"points": data} if isinstance(data, (list, tuple, np.ndarray)) else data

    @field_validator("points", mode="before")
    @classmethod
    def _as_pairs(cls, value: Any) -> Any:
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            raise LimitsError(f"a joint polygon must be a list of (flexion, abduction) numbers: {exc}") from None
        if arr.ndim == 2 and len(arr) > MAX_POLYGON_VERTICES:
            raise LimitsError(
                f"a joint polygon has {len(arr)} vertices, more than MAX_POLYGON_VERTICES = {MAX_POLYGON_VERTICES}; "
                "simplify it, e.g. handkin.hull.fit_polygon(points, 10)."
            )
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise LimitsError(f"a joint polygon must be a list of (flexion, abduction) points, got shape {arr.shape}.")
        validate_polygon(arr)
        return tuple((float(f), float(a)) for f, a in arr)

    @property
    def array(self) -> np.ndarray:
        """The vertices ``(N, 2)``, radians."""
        return np.asarray(self.points, dtype=float)

    @classmethod
    def box(cls, flexion: Sequence[float], abduction: Sequence[float], n_points: int = 10, degrees: bool = False):
        """The independent min/max box (supplementary Fig. 1) as a polygon of ``n_points`` vertices."""
        f, a = np.asarray(flexion, float), np.asarray(abduction, float)
        if degrees:
            f, a = np.radians(f), np.radians(a)
        return cls(points=box_polygon(f[0], f[1], a[0], a[1], n_points))


class Coupling(HandkinModel):
    """DIP flexion within ``band`` of ``ratio`` × PIP flexion + ``offset`` (radians) for one finger.

    Beyond the paper; the classic rule of thumb θ_DIP ≈ ⅔ θ_PIP (e.g. Rijpkema & Girard 1991;
    Lee & Kunii 1995). Off unless added (``JointLimits.default(couplings=True)`` adds one per finger).
    """

    finger: str
    ratio: float = 2.0 / 3.0
    offset: float = 0.0
    band: float = math.radians(45.0)

    @field_validator("finger")
    @classmethod
    def _finger(cls, value: str) -> str:
        f = anatomy.finger(value)
        if f == Finger.thumb:
            raise LimitsError("a DIP–PIP coupling needs a finger with a PIP and a DIP joint, not the thumb.")
        return f.name

    @model_validator(mode="after")
    def _check(self) -> Coupling:
        if not all(math.isfinite(v) for v in (self.ratio, self.offset, self.band)) or self.band < 0:
            raise LimitsError(f"coupling of {self.finger}: ratio, offset and band must be finite and band >= 0.")
        return self

    @property
    def joints(self) -> tuple[AngleJoint, AngleJoint]:
        """(PIP, DIP) angle joints of the finger."""
        return AngleJoint[f"{self.finger}_pip"], AngleJoint[f"{self.finger}_dip"]


class Provenance(HandkinModel):
    """Where limits come from."""

    source: Literal["fit", "literature", "hand_bmc", "user", "merged"] = "user"
    dataset: str | None = None
    citation: str | None = None
    user: str | None = None
    created: str = Field(default_factory=lambda: _dt.date.today().isoformat())
    notes: str | None = None
    schema_version: int = SCHEMA_VERSION


def _canonical_keys(mapping: Mapping[Any, Any], lookup, what: str) -> dict[str, Any]:
    if not isinstance(mapping, Mapping):
        raise LimitsError(
            f"the {what} limits must be a mapping from {what} name to limit, got {type(mapping).__name__}."
        )
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        try:
            name = lookup(key)
        except HandkinError as exc:
            raise LimitsError(f"unknown {what} {key!r} in joint limits: {exc}") from None
        if name in out:
            raise LimitsError(f"{what} {name!r} is given twice in joint limits.")
        out[name] = value
    return out


def _pair_name(key: Any) -> str:
    if isinstance(key, (int, np.integer)) and 0 <= int(key) < 4:
        return PALM_PAIRS[int(key)]
    s = str(key).strip().lower().replace("-", "_").replace("–", "_").replace("pinky", "little")
    if s not in PALM_PAIRS:
        raise LimitsError(f"unknown palm pair {key!r}; use one of {', '.join(PALM_PAIRS)}.")
    return s


class JointLimits(HandkinModel):
    """Bone-length, palm and joint-angle limits of a (right) hand, in one length unit. See the module docs."""

    units: Units
    reference_bone: str = DEFAULT_REFERENCE_BONE
    bone_lengths: dict[str, Interval] = Field(default_factory=dict)
    palm_curvature: dict[str, Interval] = Field(default_factory=dict)
    palm_angles: dict[str, Interval] = Field(default_factory=dict)
    joint_angles: dict[str, AnglePolygon] = Field(default_factory=dict)
    couplings: tuple[Coupling, ...] = ()
    provenance: Provenance = Field(default_factory=Provenance)

    @field_validator("units", mode="before")
    @classmethod
    def _units(cls, value: Any) -> Units:
        return parse_units(value)

    @field_validator("reference_bone", mode="before")
    @classmethod
    def _reference(cls, value: Any) -> str:
        return anatomy.bone(value).name

    @field_validator("bone_lengths", mode="before")
    @classmethod
    def _bones(cls, value: Any) -> Any:
        return _canonical_keys(value, lambda k: anatomy.bone(k).name, "bone")

    @field_validator("palm_curvature", "palm_angles", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        return _canonical_keys(value, _pair_name, "palm pair")

    @field_validator("joint_angles", mode="before")
    @classmethod
    def _joints(cls, value: Any) -> Any:
        polygons = _canonical_keys(value, lambda k: anatomy.angle_joint(k).name, "angle joint")
        return {name: _polygon(name, p) for name, p in polygons.items()}

    @field_validator("palm_angles")
    @classmethod
    def _angles_in_range(cls, value: dict[str, Interval]) -> dict[str, Interval]:
        for name, iv in value.items():
            if iv.min < 0 or iv.max > math.pi:
                raise LimitsError(f"palm angle interval {name!r} must lie in [0, π] radians, got [{iv.min}, {iv.max}].")
        return value

    @field_validator("bone_lengths")
    @classmethod
    def _lengths_positive(cls, value: dict[str, Interval]) -> dict[str, Interval]:
        for name, iv in value.items():
            if iv.min < 0:
                raise LimitsError(f"bone length interval {name!r} has a negative minimum ({iv.min}).")
        return value

    # ------------------------------------------------------------------ arrays for vectorised evaluation
    @property
    def bone_bounds(self) -> np.ndarray:
        """``(20, 2)`` [min, max] per bone in :class:`~handkin.Bone` order; ±inf where unset."""
        return _bounds(self.bone_lengths, [b.name for b in Bone])

    @property
    def curvature_bounds(self) -> np.ndarray:
        """``(4, 2)`` per palm pair; ±inf where unset."""
        return _bounds(self.palm_curvature, PALM_PAIRS)

    @property
    def palm_angle_bounds(self) -> np.ndarray:
        """``(4, 2)`` per palm pair, radians; ±inf where unset."""
        return _bounds(self.palm_angles, PALM_PAIRS)

    @property
    def polygon_array(self) -> np.ndarray:
        """``(15, N, 2)`` polygons in angle-joint order, padded to the largest N by repeating the last
        vertex; a joint without a polygon gets a huge box (always inside). Built once per set of polygons
        (the model is frozen and so are its polygons); each access returns a fresh copy."""
        key = tuple(self.joint_angles.items())
        cached = self.__dict__.get("_polygon_array")  # not a field: model_dump and == ignore it
        if cached is None or not _same_polygons(cached[0], key):  # model_copy(update=...) copies the entry too
            cached = (key, _polygon_array(self.joint_angles))
            self.__dict__["_polygon_array"] = cached
        return cached[1].copy()

    # ------------------------------------------------------------------ construction
    @classmethod
    def fit(
        cls,
        skeletons: HandSkeleton | Iterable[HandSkeleton],
        hull_points: int = 10,
        *,
        units: Any = None,
        percentiles: tuple[float, float] | None = None,
        margin: float = 0.0,
        angle_margin: float = 0.0,
        bone_tolerance: float = 0.0,
        curvature_tolerance: float = 0.0,
        rdp_epsilon: float | None = None,
        base: JointLimits | None = None,
        merge: Literal["union", "replace"] = "union",
        provenance: Provenance | Mapping[str, Any] | None = None,
    ) -> JointLimits:
        """Limits that contain the given hands (left hands are measured mirrored).

        Intervals are the data's min/max, or the ``percentiles`` (lo, hi) for robustness, widened by
        ``margin`` × their width on both sides and at least by a tolerance: bone lengths by ``bone_tolerance`` ×
        the bound (relative; a source with fixed bone lengths still accepts its own hand), curvature by
        ``curvature_tolerance`` (in 1/the fit's unit), palm angles by ``angle_margin`` (radians). Angle polygons
        are fitted per joint (:func:`handkin.hull.fit_polygon`: convex hull → greedy removal to ``hull_points``
        vertices, supplementary §1, keeping crowded boundaries), from the points within the percentiles of both
        angles (widened by ``margin`` as the intervals) when ``percentiles`` is given, then grown outwards by
        ``angle_margin`` radians. A joint whose points span no area (one pose, or collinear angles) gets a
        box around them ± max(``angle_margin``, :data:`handkin.limits_fit.MIN_POLYGON_HALF_WIDTH`). ``units`` defaults to the skeletons' (``"ref"`` normalises them first).
        With ``base`` the result is merged into it (:meth:`merge`, rule ``merge``).
        """
        from .limits_fit import fit_limits

        if isinstance(skeletons, HandSkeleton):  # per-hand sides: the mirrored batch is one side
            skeletons = skeletons.as_right()
        return fit_limits(
            skeletons,
            hull_points,
            units=units,
            percentiles=percentiles,
            margin=margin,
            angle_margin=angle_margin,
            bone_tolerance=bone_tolerance,
            curvature_tolerance=curvature_tolerance,
            rdp_epsilon=rdp_epsilon,
            base=base,
            merge=merge,
            provenance=provenance,
        )

    @classmethod
    def default(
        cls, units: Any = "ref", *, reference_length: Any = None, couplings: bool = False, bone_lengths: bool = True
    ) -> JointLimits:
        """Adult right-hand limits: literature priors calibrated on real captures (see :mod:`handkin.defaults`).

        In ``ref`` units (scale-free) by default; pass ``units="mm"`` (or ``"cm"``, ``"m"``) and optionally a
        ``reference_length`` in that unit (a person's wrist→middle_mcp length, or a (min, max) population range;
        default the adult range :data:`handkin.handsize.ADULT_REFERENCE_MM`, converted) for physical units.
        The bone-length intervals are a wide sanity envelope (keypoint conventions differ by dataset);
        ``bone_lengths=False`` leaves bone lengths unchecked.
        """
        from .limits_sources import default_limits

        limits = default_limits(couplings=couplings, bone_lengths=bone_lengths)
        target = parse_units(units)
        if target == Units.ref:
            return limits
        if reference_length is None:
            f = scale_factor(Units.mm, target)
            reference_length = (ADULT_REFERENCE_MM[0] * f, ADULT_REFERENCE_MM[1] * f)
        return limits.to_units(target, reference_length=reference_length)

    @classmethod
    def from_hand_bmc(cls, folder: str | os.PathLike) -> JointLimits:
        """Import the ``.npy`` limits of the public Hand-BMC-pytorch reimplementation.

        Reads ``bone_len_{min,max}.npy`` (20 bones in MP21 bone order, normalised by wrist→middle_mcp),
        ``curvatures_{min,max}.npy`` (4, same normalised units) and ``PHI_{min,max}.npy`` (4, radians), and
        ``CONVEX_HULLS.npy`` when present: 15 (K, 2) polygons of (flexion, abduction) in radians (the paper's angle
        definition, the same signs as handkin's) in Hand-BMC's **level-major** order — thumb_cmc, index_mcp,
        middle_mcp, ring_mcp, little_mcp, then thumb_mcp, index_pip, …, little_pip, then thumb_ip, index_dip, …,
        little_dip (:data:`handkin.limits_sources.HAND_BMC_JOINT_ORDER`); a ragged (object-array) file is read by a
        loader that builds numpy arrays only. Without that file the joint angles stay unconstrained until set
        (e.g. merged with :meth:`default` or fitted).
        """
        from .limits_sources import read_hand_bmc

        return read_hand_bmc(folder)

    # ------------------------------------------------------------------ personalisation
    def to_units(self, units: Any, *, reference_length: Any = None) -> JointLimits:
        """The same limits in another unit. Lengths scale with the unit and curvature with its inverse; to or
        from ``ref`` needs ``reference_length`` (the reference bone's length, a number or a (min, max) range, in
        the physical unit involved)."""
        target = parse_units(units)
        if target == self.units:
            return self
        if Units.ref in (target, self.units):
            if reference_length is None:
                raise UnitsError(
                    f"converting limits between {self.units.value!r} and {target.value!r} needs reference_length= "
                    f"(the {self.reference_bone} bone's length)."
                )
            lo, hi = _as_range(reference_length)
            if self.units == Units.ref:  # ref → physical: lengths × L, curvature / L
                lengths = _scale(self.bone_lengths, lo, hi)
                curvature = _scale(self.palm_curvature, 1.0 / hi, 1.0 / lo)
            else:  # physical → ref: lengths / L, curvature × L
                lengths = _scale(self.bone_lengths, 1.0 / hi, 1.0 / lo)
                curvature = _scale(self.palm_curvature, lo, hi)
        else:
            f = scale_factor(self.units, target)
            lengths, curvature = _scale(self.bone_lengths, f, f), _scale(self.palm_curvature, 1.0 / f, 1.0 / f)
        return self.model_copy(update={"units": target, "bone_lengths": lengths, "palm_curvature": curvature})

    def scaled(
        self,
        *,
        reference_length: float | None = None,
        hand_length: float | None = None,
        bone_lengths: Any = None,
        tolerance: float = 0.05,
        units: Any = "mm",
    ) -> JointLimits:
        """Limits for one person's hand size, in physical ``units``.

        Give the reference bone's length, or the hand length (wrist to middle fingertip, converted with the
        adult template's proportion, :data:`handkin.defaults.HAND_LENGTH_PER_REFERENCE`), or measured bone
        lengths ``(20,)`` (or a mapping by bone name; the reference bone is then taken from them): each measured
        bone's interval becomes its length ± ``tolerance`` (relative).
        """
        target = parse_units(units)
        measured: dict[str, float] = {}
        if bone_lengths is not None:
            if isinstance(bone_lengths, Mapping):
                measured = {anatomy.bone(k).name: float(v) for k, v in bone_lengths.items()}
            else:
                arr = np.asarray(to_numpy(bone_lengths), float).ravel()
                if arr.shape != (20,):
                    raise ShapeError(f"bone_lengths must hold the 20 bone lengths, got shape {arr.shape}.")
                measured = {b.name: float(v) for b, v in zip(Bone, arr, strict=True)}
            if reference_length is None and self.reference_bone in measured:
                reference_length = measured[self.reference_bone]
        if reference_length is None and hand_length is not None:
            reference_length = float(hand_length) / HAND_LENGTH_PER_REFERENCE
        if reference_length is None:
            raise UnitsError(
                "scaled() needs reference_length=, hand_length= or bone_lengths= (with the reference bone)."
            )
        base = self.to_units(Units.ref, reference_length=reference_length) if self.units != Units.ref else self
        out = base.to_units(target, reference_length=reference_length)
        if measured:
            lengths = dict(out.bone_lengths)
            for name, value in measured.items():
                lengths[name] = Interval(min=value * (1 - tolerance), max=value * (1 + tolerance))
            out = out.model_copy(update={"bone_lengths": lengths})
        return out

    def with_joint(
        self,
        name: Any,
        polygon: Any = None,
        *,
        flexion: Sequence[float] | None = None,
        abduction: Sequence[float] | None = None,
        degrees: bool = False,
    ) -> JointLimits:
        """A copy with one joint's range replaced: a polygon ``(N, 2)``, or a box from ``flexion`` and
        ``abduction`` (min, max) — e.g. a patient's stiff PIP: ``with_joint("index_pip", flexion=(0, 30),
        abduction=(-5, 5), degrees=True)``. ``polygon=None`` and no box removes the joint's limit."""
        joint = anatomy.angle_joint(name).name
        polygons = dict(self.joint_angles)
        if polygon is not None:
            arr = np.asarray(polygon, float)
            polygons[joint] = _polygon(joint, np.radians(arr) if degrees else arr)
        elif flexion is not None and abduction is not None:
            polygons[joint] = AnglePolygon.box(flexion, abduction, degrees=degrees)
        elif flexion is not None or abduction is not None:
            raise LimitsError("with_joint needs both flexion=(min, max) and abduction=(min, max) for a box.")
        else:
            polygons.pop(joint, None)
        return self.model_copy(update={"joint_angles": polygons})

    def merge(
        self, other: JointLimits, rule: Literal["union", "replace"] = "union", hull_points: int = 10
    ) -> JointLimits:
        """Combine with ``other`` (converted to these units first; ``ref`` ↔ physical is not guessed).

        ``union``: every interval is the smallest one covering both, every polygon is fitted (to
        ``hull_points`` vertices) around both polygons' vertices — a person's calibration can only widen the
        base; when ``other`` lies inside these limits on every constraint the result equals them, and a
        :class:`UserWarning` says so. ``replace``: ``other``'s constraints replace these where ``other`` has them
        (for patients whose range is smaller than the base). Constraints only one side has are kept.
        """
        if other.units != self.units:
            other = other.to_units(self.units)
        if rule not in ("union", "replace"):
            raise LimitsError(f"unknown merge rule {rule!r}; use 'union' or 'replace'.")
        if rule == "union" and not outside_of(other, self):
            warnings.warn(UNION_EQUALS_BASE, UserWarning, stacklevel=2)

        def intervals(a: dict[str, Interval], b: dict[str, Interval]) -> dict[str, Interval]:
            out = dict(a)
            for k, v in b.items():
                if rule == "union" and k in out:
                    out[k] = Interval(min=min(out[k].min, v.min), max=max(out[k].max, v.max))
                else:
                    out[k] = v
            return out

        polygons = dict(self.joint_angles)
        for k, v in other.joint_angles.items():
            if rule == "union" and k in polygons:
                pts = np.concatenate([polygons[k].array, v.array])
                polygons[k] = AnglePolygon(points=fit_polygon(pts, hull_points))
            else:
                polygons[k] = v
        couplings = {c.finger: c for c in self.couplings}
        couplings.update({c.finger: c for c in other.couplings})
        return self.model_copy(
            update={
                "bone_lengths": intervals(self.bone_lengths, other.bone_lengths),
                "palm_curvature": intervals(self.palm_curvature, other.palm_curvature),
                "palm_angles": intervals(self.palm_angles, other.palm_angles),
                "joint_angles": polygons,
                "couplings": tuple(couplings.values()),
                "provenance": Provenance(
                    source="merged",
                    notes=f"{rule} of [{self.provenance.source}: {self.provenance.notes or ''}] and "
                    f"[{other.provenance.source}: {other.provenance.notes or ''}]",
                    dataset=other.provenance.dataset or self.provenance.dataset,
                    user=other.provenance.user or self.provenance.user,
                ),
            }
        )

    def with_couplings(self, couplings: Iterable[Coupling | Mapping[str, Any]]) -> JointLimits:
        """A copy with these DIP–PIP couplings (replacing any present)."""
        return self.model_copy(
            update={
                "couplings": tuple(Coupling.model_validate(c) if not isinstance(c, Coupling) else c for c in couplings)
            }
        )

    # ------------------------------------------------------------------ checking
    def check(self, skeleton: HandSkeleton, tolerance: float = 1e-9) -> LimitReport:  # noqa: F821 (report imports limits)
        """Per hand and per constraint, by how much ``skeleton`` violates these limits (0 = satisfied).

        Lengths are reported in the skeleton's unit (or ``ref``), curvature in 1/that unit, angles in degrees.
        """
        from .report import LimitReport

        return LimitReport.build(self, skeleton, tolerance)

    # ------------------------------------------------------------------ losses
    def loss(
        self,
        joints: Any,
        reduction: Literal["none", "mean", "sum"] = "mean",
        weights: Mapping[str, float] | None = None,
    ) -> LossTerms:  # noqa: F821 (losses import limits)
        """The BMC loss terms (``bone_length``, ``root_bone``, ``angle``, ``coupling``, weighted ``total``) of
        ``joints`` — a ``HandSkeleton`` (converted to these limits' unit, left hands mirrored) or right-hand
        joints ``(..., 21, 3)`` in this unit; numpy or torch (differentiable). Paper weights by default."""
        from .losses import limits_loss

        return limits_loss(self, joints, reduction, weights)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write as JSON (atomically: a temporary file renamed into place). Returns the path."""
        text = self.model_dump_json(indent=2)
        with atomic_write(path, "w", encoding="utf-8") as f:
            f.write(text)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> JointLimits:
        """Read limits written by :meth:`save`; a missing, corrupt or incompatible file raises :class:`LimitsError`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise LimitsError(f"cannot read joint limits file {path}: {exc.strerror or exc}") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise LimitsError(f"joint limits file {path} is not valid JSON: {exc}") from exc
        except RecursionError:
            raise LimitsError(f"joint limits file {path} is nested too deeply to be a limits file.") from None
        if not isinstance(data, dict):
            raise LimitsError(f"joint limits file {path} must hold a JSON object, not {type(data).__name__}.")
        provenance = data.get("provenance") or {}
        if not isinstance(provenance, dict):
            raise LimitsError(
                f"joint limits file {path} has a provenance of type {type(provenance).__name__}, not an object "
                "with schema_version; is it a handkin limits file?"
            )
        version = provenance.get("schema_version", None)
        if version is None:
            raise LimitsError(
                f"joint limits file {path} has no provenance.schema_version; is it a handkin limits file?"
            )
        if version != SCHEMA_VERSION:
            raise LimitsError(
                f"joint limits file {path} has schema version {version}; this handkin reads version {SCHEMA_VERSION}."
            )
        try:
            return cls(**data)
        except HandkinError as exc:
            raise LimitsError(f"joint limits file {path} is invalid: {exc}") from exc
        except (TypeError, ValueError) as exc:
            raise LimitsError(f"joint limits file {path} is invalid: {exc}") from exc

    def __repr__(self) -> str:
        return (
            f"JointLimits(units={self.units.value!r}, bones={len(self.bone_lengths)}, palm_pairs="
            f"{len(self.palm_curvature)}/{len(self.palm_angles)}, joints={len(self.joint_angles)}, couplings="
            f"{len(self.couplings)}, source={self.provenance.source!r})"
        )

    __str__ = __repr__


# ---------------------------------------------------------------------------------------------- helpers

#: The warning of :meth:`JointLimits.merge` (``rule="union"``) when the result equals the base.
UNION_EQUALS_BASE = (
    "the calibration lies inside the base limits on all constraints; the union equals the base (nothing of the "
    "person's own range is kept) — use rule='replace' (or no base) for a person's own range."
)


def outside_of(inner: JointLimits, outer: JointLimits) -> list[str]:
    """The constraints of ``inner`` that ``outer`` lacks or does not contain (``inner`` converted to ``outer``'s
    units first), e.g. ``["bone_lengths.index_pip", "joint_angles.index_mcp"]``: where a union of the two would
    differ from ``outer``. Intervals within intervals (to 1e-12 relative), polygon vertices inside polygons (to
    1e-9 rad), couplings equal. Empty: ``outer.merge(inner, "union")`` equals ``outer``."""
    if inner.units != outer.units:
        inner = inner.to_units(outer.units)
    out = []
    for field in ("bone_lengths", "palm_curvature", "palm_angles"):
        mine, theirs = getattr(inner, field), getattr(outer, field)
        for k, v in mine.items():
            iv = theirs.get(k)
            tol = 0.0 if iv is None else 1e-12 * max(1.0, abs(iv.min), abs(iv.max))
            if iv is None or v.min < iv.min - tol or v.max > iv.max + tol:
                out.append(f"{field}.{k}")
    for k, poly in inner.joint_angles.items():
        if k not in outer.joint_angles or not bool(np.all(contains(poly.array, outer.joint_angles[k].array, 1e-9))):
            out.append(f"joint_angles.{k}")
    out += [f"couplings.{c.finger}" for c in inner.couplings if c not in outer.couplings]
    return out


def _polygon(joint: str, value: Any) -> AnglePolygon:
    """``value`` (an ``AnglePolygon``, its points or its fields) as the polygon of ``joint``; errors name the joint."""
    if isinstance(value, AnglePolygon):
        return value
    try:
        if isinstance(value, Mapping):
            return AnglePolygon(**{str(k): v for k, v in value.items()})
        return AnglePolygon(points=value)
    except HandkinError as exc:
        raise LimitsError(f"joint {joint!r}: {exc}") from None


def _same_polygons(a: tuple[tuple[str, AnglePolygon], ...], b: tuple[tuple[str, AnglePolygon], ...]) -> bool:
    """Whether two ``joint_angles`` item tuples hold the same (frozen) polygon objects under the same names."""
    return len(a) == len(b) and all(na == nb and pa is pb for (na, pa), (nb, pb) in zip(a, b, strict=True))


def _polygon_array(polygons: Mapping[str, AnglePolygon]) -> np.ndarray:
    """:attr:`JointLimits.polygon_array` of ``polygons`` (built anew)."""
    n = max([len(p.points) for p in polygons.values()], default=4)
    big = box_polygon(-1e6, 1e6, -1e6, 1e6, n)
    out = np.empty((15, n, 2))
    for a in AngleJoint:
        poly = polygons.get(a.name)
        pts = big if poly is None else poly.array
        out[a, : len(pts)] = pts
        out[a, len(pts) :] = pts[-1]
    return out


def _bounds(intervals: Mapping[str, Interval], names: Sequence[str]) -> np.ndarray:
    out = np.tile(np.array([-np.inf, np.inf]), (len(names), 1))
    for i, name in enumerate(names):
        if name in intervals:
            out[i] = (intervals[name].min, intervals[name].max)
    return out


def _as_range(value: Any) -> tuple[float, float]:
    arr = np.asarray(value, dtype=float).ravel()
    if arr.size == 1:
        arr = np.array([arr[0], arr[0]])
    if arr.size != 2 or not np.all(np.isfinite(arr)) or arr[0] <= 0 or arr[0] > arr[1]:
        raise UnitsError(f"reference_length must be a positive number or a (min, max) range, got {value!r}.")
    return float(arr[0]), float(arr[1])


def _scale(intervals: Mapping[str, Interval], lo: float, hi: float) -> dict[str, Interval]:
    """Each interval multiplied by the positive factor range [lo, hi] (interval arithmetic)."""
    out = {}
    for name, iv in intervals.items():
        products = [iv.min * lo, iv.min * hi, iv.max * lo, iv.max * hi]
        out[name] = Interval(min=min(products), max=max(products))
    return out


__all__ = [
    "JointLimits",
    "Interval",
    "AnglePolygon",
    "Coupling",
    "Provenance",
    "PALM_PAIRS",
    "SCHEMA_VERSION",
    "MAX_POLYGON_VERTICES",
    "UNION_EQUALS_BASE",
    "outside_of",
]
