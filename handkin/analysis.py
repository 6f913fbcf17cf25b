"""Analysis of hand sequences: joint angles over time, angular velocities, smoothing, range of motion,
bone-length consistency, frames outside the limits — and per-user limits.

Everything works on a :class:`~handkin.io.HandSequence` (``(T, 21, 3)`` + times); invalid frames (a
missing or non-finite joint) are left out of every statistic and come back as NaN in per-frame
arrays, never silently used. Left hands are measured mirrored (conventions), so angles and limits
mean the same for both sides. All maths is vectorised over frames.

>>> from handkin import analysis, io as hio
>>> seq = hio.load("recording.npz")                                   # doctest: +SKIP
>>> result = analysis.analyze(seq)                                    # default limits
>>> print(result.rom.table())                                         # doctest: +SKIP
>>> analysis.write_report(result, "report/")                          # doctest: +SKIP
>>> mine = analysis.fit_user_limits(calibration_seq, user="ana")      # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .anatomy import AngleJoint, Bone
from .errors import FileFormatError, ShapeError, UnitsError
from .hull import polygon_area
from .io.sequence import HandSequence
from .limits import PALM_PAIRS, JointLimits, Provenance
from .report import LimitReport
from .skeleton import HandSkeleton

ANGLE_NAMES = tuple(a.name for a in AngleJoint)
BONE_NAMES = tuple(b.name for b in Bone)

#: Frames measured per call (and per progress-bar step) in :func:`joint_angles`.
CHUNK = 4096


def _progress(iterable: Iterable, total: int, desc: str, enabled: bool) -> Iterable:
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:  # progress bars are a nicety
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit="chunk", leave=False)


# ---------------------------------------------------------------------------------------------- per frame


def joint_angles(sequence: HandSequence, *, progress: bool = False) -> np.ndarray:
    """(flexion, abduction) of the 15 angle joints per frame, ``(T, 15, 2)`` radians; NaN on invalid frames."""
    out = np.full((len(sequence), 15, 2), np.nan)
    ok = np.flatnonzero(sequence.valid)
    chunks = [ok[i : i + CHUNK] for i in range(0, len(ok), CHUNK)]
    for idx in _progress(chunks, len(chunks), "measuring", progress):
        sk = HandSkeleton.unchecked(sequence.joints[idx], units=sequence.units, side=sequence.side)
        out[idx] = np.asarray(sk.joint_angles)
    return out


def bone_lengths(sequence: HandSequence) -> np.ndarray:
    """The 20 bone lengths per frame ``(T, 20)`` in the sequence's units; NaN on invalid frames."""
    sk = sequence.skeleton(valid_only=False)
    lengths = np.linalg.norm(np.asarray(sk.bones), axis=-1)
    lengths[~sequence.valid] = np.nan
    return lengths


def angular_velocity(angles: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Time derivative of angles ``(T, ...)`` (radians) over ``times`` ``(T,)``: radians per time unit.

    Central differences (``np.gradient``, uneven times allowed) over the finite frames only, after
    unwrapping across ±π; NaN frames stay NaN and their neighbours are differenced across the gap.
    Fewer than two finite frames give all NaN.
    """
    angles = np.asarray(angles, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if angles.shape[:1] != times.shape:
        raise ShapeError(f"angles {angles.shape} and times {times.shape} must have the same number of frames.")
    out = np.full_like(angles, np.nan)
    ok = np.isfinite(angles.reshape(len(angles), -1)).all(axis=1)
    if ok.sum() < 2:
        return out
    a = np.unwrap(angles[ok], axis=0)
    out[ok] = np.gradient(a, times[ok], axis=0)
    return out


SmoothMethod = Literal["savgol", "gaussian", "median", "butterworth"]


def smooth(
    sequence: HandSequence,
    method: SmoothMethod = "savgol",
    *,
    window: int = 9,
    polyorder: int = 2,
    sigma: float = 2.0,
    cutoff: float = 6.0,
    order: int = 4,
) -> HandSequence:
    """The joint positions filtered along time (scipy), over the valid frames (gaps are bridged; invalid
    frames stay NaN).

    ``savgol``: Savitzky–Golay, ``window`` frames (odd), ``polyorder``; ``gaussian``: σ = ``sigma`` frames;
    ``median``: ``window`` frames; ``butterworth``: zero-phase low-pass at ``cutoff`` Hz of ``order`` (needs fps).
    """
    from scipy import ndimage, signal

    ok = sequence.valid
    x = sequence.joints[ok]
    n = len(x)
    if n < 3:
        return sequence
    if method == "savgol":
        w = min(window, n if n % 2 else n - 1)
        if w <= polyorder:
            return sequence
        y = signal.savgol_filter(x, w, polyorder, axis=0, mode="interp")
    elif method == "gaussian":
        y = ndimage.gaussian_filter1d(x, sigma, axis=0, mode="nearest")
    elif method == "median":
        y = ndimage.median_filter(x, size=(window, 1, 1), mode="nearest")
    elif method == "butterworth":
        if not sequence.fps:
            raise UnitsError("a Butterworth filter needs the sequence's fps (cutoff is in Hz).")
        if not 0 < cutoff < sequence.fps / 2:
            raise ValueError(f"cutoff must lie in (0, fps/2 = {sequence.fps / 2:g}) Hz, got {cutoff}.")
        b, a = signal.butter(order, cutoff, fs=sequence.fps)
        padlen = min(3 * max(len(a), len(b)), n - 1)
        y = signal.filtfilt(b, a, x, axis=0, padlen=padlen)
    else:
        raise ValueError(f"unknown smoothing method {method!r}; use savgol, gaussian, median or butterworth.")
    joints = sequence.joints.copy()
    joints[ok] = y
    return replace(sequence, joints=joints)


def infer_side(sequence: HandSequence, threshold_deg: float = 5.0) -> str:
    """Handedness from the geometry: ``"right"``, ``"left"`` or ``"unknown"``.

    Fingers flex towards the palm, and the PIP and DIP joints hardly bend backwards; measured as a hand of the
    wrong side, a hand's flexions come out mirrored (negative). The median PIP + DIP flexion of the four
    fingers over the valid frames, measured with the sequence's side, decides: above ``threshold_deg`` the side
    is kept, below −``threshold_deg`` it is the other one, in between (a flat hand) it cannot be told. Use it
    to check a tracker's handedness label (MediaPipe's depends on whether the image was mirrored).
    """
    angles = joint_angles(sequence)
    pip_dip = [int(AngleJoint[f"{f}_{j}"]) for f in ("index", "middle", "ring", "little") for j in ("pip", "dip")]
    flex = np.degrees(angles[sequence.valid][:, pip_dip, 0])
    if flex.size == 0:
        return "unknown"
    median = float(np.median(flex))
    own, other = sequence.side.value, "left" if sequence.side.value == "right" else "right"
    return own if median > threshold_deg else other if median < -threshold_deg else "unknown"


# ---------------------------------------------------------------------------------------------- summaries


@dataclass(frozen=True, eq=False)
class RangeOfMotion:
    """Per angle joint and angle (flexion, abduction): min, max, low/high percentile, mean — ``(15, 2)`` radians."""

    min: np.ndarray
    max: np.ndarray
    low: np.ndarray
    high: np.ndarray
    mean: np.ndarray
    percentiles: tuple[float, float]
    frames: int

    @property
    def span(self) -> np.ndarray:
        """max − min ``(15, 2)`` radians."""
        return self.max - self.min

    def to_dict(self) -> dict[str, Any]:
        """``{joint: {"flexion": {"min": deg, ...}, "abduction": {...}}}`` in degrees."""
        lo, hi = (f"p{p:g}" for p in self.percentiles)
        out = {}
        for a in AngleJoint:
            out[a.name] = {
                axis: {
                    "min": float(np.degrees(self.min[a, k])),
                    lo: float(np.degrees(self.low[a, k])),
                    "mean": float(np.degrees(self.mean[a, k])),
                    hi: float(np.degrees(self.high[a, k])),
                    "max": float(np.degrees(self.max[a, k])),
                }
                for k, axis in enumerate(("flexion", "abduction"))
            }
        return out

    def table(self, markdown: bool = True) -> str:
        """Degrees: per joint, flexion min/p_lo/p_hi/max and abduction min/max."""
        lo, hi = (f"p{p:g}" for p in self.percentiles)
        head = ["joint", "flex min", f"flex {lo}", f"flex {hi}", "flex max", "abd min", "abd max"]
        d = np.round(np.degrees(np.stack([self.min, self.low, self.high, self.max])), 1) + 0.0
        rows = [
            [a.name, *(f"{d[s, a, 0]:.1f}" for s in range(4)), f"{d[0, a, 1]:.1f}", f"{d[3, a, 1]:.1f}"]
            for a in AngleJoint
        ]
        return _table(head, rows, markdown)


def range_of_motion(angles: np.ndarray, percentiles: tuple[float, float] = (5.0, 95.0)) -> RangeOfMotion:
    """ROM of angles ``(T, 15, 2)`` radians over their finite frames."""
    angles = np.asarray(angles, dtype=np.float64)
    if angles.ndim != 3 or angles.shape[1:] != (15, 2):
        raise ShapeError(f"angles must have shape (T, 15, 2), got {angles.shape}.")
    ok = np.isfinite(angles).all(axis=(1, 2))
    if not ok.any():
        raise ShapeError("no frame with finite angles: nothing to measure a range of motion on.")
    a = angles[ok]
    lo, hi = np.percentile(a, percentiles, axis=0)
    return RangeOfMotion(a.min(0), a.max(0), lo, hi, a.mean(0), tuple(float(p) for p in percentiles), int(ok.sum()))


@dataclass(frozen=True, eq=False)
class BoneConsistency:
    """How constant the bone lengths stay over time — a tracking-quality signal (real bones do not stretch).

    ``lengths`` ``(T, 20)`` (NaN on invalid frames); ``median``, ``std`` ``(20,)`` in ``units``; ``cv`` ``(20,)``
    = std / median; ``deviation`` ``(T,)`` per frame the largest relative deviation of a bone from its median
    (0.1 = some bone is 10 % off).
    """

    lengths: np.ndarray
    median: np.ndarray
    std: np.ndarray
    cv: np.ndarray
    deviation: np.ndarray
    units: str

    def worst_bones(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` bones with the largest coefficient of variation."""
        order = np.argsort(-np.nan_to_num(self.cv, nan=-1.0))[:n]
        return [(BONE_NAMES[i], float(self.cv[i])) for i in order]

    def table(self, markdown: bool = True) -> str:
        head = ["bone", f"median ({self.units})", f"std ({self.units})", "cv %"]
        rows = [
            [BONE_NAMES[i], f"{self.median[i]:.4g}", f"{self.std[i]:.3g}", f"{100 * self.cv[i]:.1f}"] for i in range(20)
        ]
        return _table(head, rows, markdown)


def bone_length_consistency(sequence: HandSequence) -> BoneConsistency:
    """Bone-length statistics of the valid frames (see :class:`BoneConsistency`)."""
    lengths = bone_lengths(sequence)
    ok = sequence.valid
    if not ok.any():
        raise FileFormatError(f"no valid frame{' in ' + sequence.source if sequence.source else ''}.")
    med = np.median(lengths[ok], axis=0)
    std = lengths[ok].std(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = np.where(med > 0, std / med, np.nan)
        rel = np.abs(lengths - med) / np.where(med > 0, med, np.nan)
    deviation = np.full(len(sequence), np.nan)
    deviation[ok] = np.nanmax(rel[ok], axis=1)
    return BoneConsistency(lengths, med, std, cv, deviation, sequence.units.value)


@dataclass(frozen=True, eq=False)
class FrameViolations:
    """Where and by how much a sequence leaves its limits.

    ``joint_angles`` ``(T, 15)`` degrees outside each joint's polygon, ``bone_lengths`` ``(T, 20)`` in the
    sequence's units, ``palm_angles`` ``(T, 4)`` degrees, ``palm_curvature`` ``(T, 4)`` 1/units — NaN on invalid
    frames; ``ok`` ``(T,)`` (False also for invalid frames); ``report`` the :class:`~handkin.LimitReport` of the
    valid frames (its hand indices count valid frames only).
    """

    joint_angles: np.ndarray
    bone_lengths: np.ndarray
    palm_angles: np.ndarray
    palm_curvature: np.ndarray
    ok: np.ndarray
    valid: np.ndarray
    report: LimitReport

    @property
    def frames(self) -> np.ndarray:
        """Indices of the valid frames outside the limits."""
        return np.flatnonzero(self.valid & ~self.ok)

    @property
    def worst_angle(self) -> np.ndarray:
        """``(T,)`` the largest joint-angle excess of each frame, degrees."""
        out = np.full(len(self.ok), np.nan)
        out[self.valid] = self.joint_angles[self.valid].max(axis=1)
        return out

    def per_joint(self) -> list[dict[str, Any]]:
        """Per angle joint: frames outside its polygon and the largest excess (degrees), worst first."""
        a = self.joint_angles[self.valid]
        rows = [
            {
                "joint": ANGLE_NAMES[k],
                "frames": int((a[:, k] > self.report.tolerance).sum()),
                "max_deg": float(a[:, k].max(initial=0.0)),
            }
            for k in range(15)
        ]
        return sorted((r for r in rows if r["frames"]), key=lambda r: -r["max_deg"])

    def table(self, markdown: bool = True, max_rows: int = 15) -> str:
        """The per-joint table, plus bones / palm when they are violated."""
        rows = [[r["joint"], str(r["frames"]), f"{r['max_deg']:.1f}°"] for r in self.per_joint()]
        v = self.valid
        for name, arr, names, unit in (
            ("bone", self.bone_lengths, BONE_NAMES, self.report.length_unit),
            ("palm angle", self.palm_angles, PALM_PAIRS, "°"),
            ("palm curvature", self.palm_curvature, PALM_PAIRS, f"1/{self.report.length_unit}"),
        ):
            x = arr[v]
            for k in np.flatnonzero((x > self.report.tolerance).any(axis=0)):
                rows.append(
                    [
                        f"{name} {names[k]}",
                        str(int((x[:, k] > self.report.tolerance).sum())),
                        f"{x[:, k].max():.3g} {unit}",
                    ]
                )
        if not rows:
            return "No frame is outside the limits."
        return _table(["constraint", "frames outside", "max excess"], rows[:max_rows], markdown)


def limit_violations(sequence: HandSequence, limits: JointLimits | None = None) -> FrameViolations:
    """Check every valid frame against ``limits`` (default :meth:`JointLimits.default`)."""
    limits = JointLimits.default() if limits is None else limits
    ok = sequence.valid
    rep = limits.check(sequence.skeleton())
    t = len(sequence)

    def full(values: np.ndarray) -> np.ndarray:
        out = np.full((t, values.shape[-1]), np.nan)
        out[ok] = values
        return out

    frame_ok = np.zeros(t, dtype=bool)
    frame_ok[ok] = rep.ok
    return FrameViolations(
        full(rep.joint_angles),
        full(rep.bone_lengths),
        full(rep.palm_angles),
        full(rep.palm_curvature),
        frame_ok,
        ok,
        rep,
    )


# ---------------------------------------------------------------------------------------------- analyse


@dataclass(frozen=True, eq=False)
class SequenceAnalysis:
    """Everything :func:`analyze` measures. Angles radians, velocities radians per :attr:`time_unit`."""

    sequence: HandSequence
    angles: np.ndarray
    velocities: np.ndarray
    rom: RangeOfMotion
    bones: BoneConsistency
    violations: FrameViolations
    limits: JointLimits
    smoothing: str | None = None
    problems: tuple[str, ...] = field(default=())

    @property
    def times(self) -> np.ndarray:
        return self.sequence.times

    @property
    def time_unit(self) -> str:
        return self.sequence.time_unit

    def summary(self) -> dict[str, Any]:
        """Headline numbers (JSON-ready)."""
        s = self.sequence
        valid = int(s.valid.sum())
        speed = np.abs(np.degrees(self.velocities[..., 0]))
        return {
            "source": s.source,
            "frames": len(s),
            "valid_frames": valid,
            "fps": s.fps,
            "duration": s.duration,
            "time_unit": s.time_unit,
            "units": s.units.value,
            "side": s.side.value,
            "smoothing": self.smoothing,
            "frames_outside_limits": len(self.violations.frames),
            "worst_joint_excess_deg": float(np.nanmax(self.violations.worst_angle, initial=0.0)),
            "bone_length_cv_median_pct": float(100 * np.nanmedian(self.bones.cv)),
            "bone_length_deviation_p95_pct": float(100 * np.nanpercentile(self.bones.deviation, 95)),
            "peak_flexion_speed_deg_per_" + s.time_unit: float(np.nanmax(speed)) if np.isfinite(speed).any() else None,
            "limits": self.limits.provenance.source,
            "problems": list(self.problems),
        }

    def to_dict(self) -> dict[str, Any]:
        """Summary, ROM (degrees), bone statistics and per-joint violations (JSON-ready)."""
        return {
            "summary": self.summary(),
            "range_of_motion_deg": self.rom.to_dict(),
            "bone_lengths": {
                BONE_NAMES[i]: {"median": float(self.bones.median[i]), "cv": float(self.bones.cv[i])} for i in range(20)
            },
            "violations_per_joint": self.violations.per_joint(),
            "frames_outside_limits": self.violations.frames.tolist(),
        }

    def summary_table(self, markdown: bool = True) -> str:
        rows = []
        for k, v in self.summary().items():
            if k == "problems":
                continue
            rows.append([k.replace("_", " "), f"{v:.4g}" if isinstance(v, float) else str(v)])
        return _table(["quantity", "value"], rows, markdown)


def analyze(
    sequence: HandSequence,
    limits: JointLimits | None = None,
    *,
    smoothing: SmoothMethod | None = None,
    percentiles: tuple[float, float] = (5.0, 95.0),
    progress: bool = False,
    **smooth_kwargs: Any,
) -> SequenceAnalysis:
    """Angles, velocities, ROM, bone-length consistency and limit violations of a sequence in one pass.

    ``limits`` default to :meth:`JointLimits.default`; ``smoothing`` applies :func:`smooth` first (with
    ``smooth_kwargs``). Raises when no frame is valid; invalid frames are listed in ``problems``.
    """
    if not sequence.valid.any():
        raise FileFormatError(
            f"no frame with all 21 finite joints{' in ' + sequence.source if sequence.source else ''}: nothing to analyse."
        )
    limits = JointLimits.default() if limits is None else limits
    seq = smooth(sequence, smoothing, **smooth_kwargs) if smoothing else sequence
    angles = joint_angles(seq, progress=progress)
    return SequenceAnalysis(
        sequence=seq,
        angles=angles,
        velocities=angular_velocity(angles, seq.times),
        rom=range_of_motion(angles, percentiles),
        bones=bone_length_consistency(seq),
        violations=limit_violations(seq, limits),
        limits=limits,
        smoothing=smoothing,
        problems=tuple(sequence.problems()),
    )


# ---------------------------------------------------------------------------------------------- per-user limits


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


def _clip_convex(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Sutherland–Hodgman: the intersection of convex CCW polygons ``(N, 2)`` and ``(M, 2)``."""
    out = subject
    for i in range(len(clip)):
        if len(out) == 0:
            break
        a, b = clip[i], clip[(i + 1) % len(clip)]
        edge = b - a
        side = edge[0] * (out[:, 1] - a[1]) - edge[1] * (out[:, 0] - a[0])  # >= 0: inside (left of a CCW edge)
        new = []
        for k in range(len(out)):
            p, q = out[k], out[(k + 1) % len(out)]
            sp, sq = side[k], side[(k + 1) % len(out)]
            if sp >= 0:
                new.append(p)
            if (sp >= 0) != (sq >= 0):
                new.append(p + (q - p) * (sp / (sp - sq)))
        out = np.asarray(new).reshape(-1, 2)
    return out


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
        return _table(head, rows, markdown)

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
    for j in ANGLE_NAMES:
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
            inter = _clip_convex(da, db)
            ia = float(polygon_area(inter)) if len(inter) >= 3 else 0.0
            union = row["area_a"] + row["area_b"] - ia
            row["iou"] = ia / union if union > 0 else None
        joints.append(row)
    bones = []
    for name in BONE_NAMES:
        ia, ib = a.bone_lengths.get(name), b.bone_lengths.get(name)
        bones.append(
            {"bone": name, "a": None if ia is None else (ia.min, ia.max), "b": None if ib is None else (ib.min, ib.max)}
        )
    return LimitsComparison(tuple(names), joints, bones, a.units.value)


# ---------------------------------------------------------------------------------------------- report


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = True) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*(str(c) for c in r)) for r in [head, *rows])


def plot_angles_over_time(result: SequenceAnalysis, path: str | os.PathLike) -> Path:
    """Flexion (solid) and abduction (dashed) of every joint over time, one panel per finger (matplotlib, PNG)."""
    from .viz._common import require

    require("matplotlib", "angle time-series plots")
    from matplotlib.figure import Figure  # no pyplot: the user's backend is left alone

    deg = np.degrees(result.angles)
    t = result.times
    fig = Figure(figsize=(10, 11))
    axes = fig.subplots(5, 1, sharex=True)
    fingers = ("thumb", "index", "middle", "ring", "little")
    bad = result.violations.frames
    for f, ax in enumerate(axes):
        for k in range(3):
            a = 3 * f + k
            (line,) = ax.plot(t, deg[:, a, 0], lw=1.2, label=f"{ANGLE_NAMES[a]} flexion")
            ax.plot(t, deg[:, a, 1], lw=0.8, ls="--", color=line.get_color(), label=f"{ANGLE_NAMES[a]} abduction")
        if len(bad):
            ax.plot(t[bad], np.full(len(bad), ax.get_ylim()[1]), "|", color="#d62728", ms=6, label="outside limits")
        ax.set_ylabel(f"{fingers[f]} (°)")
        ax.legend(fontsize=7, ncol=3, loc="upper left", frameon=False)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel(f"time ({result.time_unit})")
    fig.suptitle("Joint angles over time")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    return path


def plot_bone_consistency(result: SequenceAnalysis, path: str | os.PathLike) -> Path:
    """The per-frame largest relative bone-length deviation (%), a tracking-quality signal (PNG)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3))
    ax = fig.subplots()
    ax.plot(result.times, 100 * result.bones.deviation, lw=1, color="#1f77b4")
    ax.set_xlabel(f"time ({result.time_unit})")
    ax.set_ylabel("max bone-length deviation (%)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=90)
    return path


def write_report(
    result: SequenceAnalysis,
    out_dir: str | os.PathLike,
    *,
    format: Literal["md", "html"] = "md",
    pictures: bool = True,
    snapshot: bool = True,
    title: str = "Hand sequence analysis",
) -> Path:
    """Write ``report.md`` (or ``report.html``), ``analysis.json`` and pictures into ``out_dir``; returns the report.

    Pictures (matplotlib, pyvista for the 3D snapshot; skipped with a note when not installed):
    ``angles_over_time.png``, ``angle_planes.png`` (data and limits per joint), ``bone_lengths.png``,
    ``snapshot.png`` (the frame with the largest limit violation, or the middle frame, coloured by violation).
    """
    if format not in ("md", "html"):
        raise ValueError(f"report format must be 'md' or 'html', got {format!r}.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "analysis.json").write_text(json.dumps(result.to_dict(), indent=2, default=_json_default), encoding="utf-8")
    images: list[tuple[str, str]] = []
    notes: list[str] = []
    if pictures:
        try:
            images.append(("Joint angles over time", plot_angles_over_time(result, out / "angles_over_time.png").name))
            images.append(("Bone-length consistency", plot_bone_consistency(result, out / "bone_lengths.png").name))
            from .viz import plot_angle_planes

            ok = result.sequence.valid
            fig = plot_angle_planes(result.limits, data=result.angles[ok], title="Joint angles and limits")
            fig.savefig(out / "angle_planes.png", dpi=80)
            import matplotlib.pyplot as plt

            plt.close(fig)
            images.append(("Angle planes (data, limit polygon, min/max box)", "angle_planes.png"))
        except ImportError as exc:
            notes.append(f"plots skipped: {exc}")
        if snapshot:
            try:
                from .viz import render

                worst = result.violations.worst_angle
                valid = np.flatnonzero(result.sequence.valid)
                if np.nanmax(worst, initial=0) > 0:
                    frame, style = int(np.nanargmax(worst)), {"color": "violations", "limits": result.limits}
                    caption = f"3D snapshot of frame {frame}, the furthest outside the limits (coloured by violation)"
                else:  # nothing violated: the most bent frame
                    bent = np.nansum(np.abs(result.angles[:, :, 0]), axis=1)
                    frame, style = int(valid[np.argmax(bent[valid])]), {"color": "fingers"}
                    caption = f"3D snapshot of frame {frame}, the most flexed"
                hand = result.sequence[frame : frame + 1].skeleton()[0]
                render(hand, out / "snapshot.png", window_size=(480, 360), **style)
                images.append((caption, "snapshot.png"))
            except ImportError as exc:
                notes.append(f"3D snapshot skipped: {exc}")
            except Exception as exc:  # pragma: no cover - rendering back-ends vary (no OpenGL, …)
                notes.append(f"3D snapshot skipped: {type(exc).__name__}: {exc}")
    sections = [
        ("Summary", result.summary_table()),
        ("Data problems", "\n".join(f"- {p}" for p in result.problems) or "None: every frame is complete."),
        (f"Range of motion (degrees, {result.rom.frames} valid frames)", result.rom.table()),
        ("Frames outside the limits", result.violations.table()),
        ("Bone lengths (tracking quality)", result.bones.table()),
    ]
    if format == "md":
        parts = [f"# {title}", ""]
        for head, body in sections:
            parts += [f"## {head}", "", body, ""]
        if images:
            parts += ["## Pictures", ""]
            parts += [f"### {cap}\n\n![{cap}]({name})\n" for cap, name in images]
        parts += [f"- {n}" for n in notes]
        path = out / "report.md"
        path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    else:
        body = [f"<h1>{html.escape(title)}</h1>"]
        for head, text in sections:
            body.append(f"<h2>{html.escape(head)}</h2>{_md_table_to_html(text)}")
        if images:
            body.append("<h2>Pictures</h2>")
            body += [
                f"<figure><img src='{n}' alt='{html.escape(c)}'><figcaption>{html.escape(c)}</figcaption></figure>"
                for c, n in images
            ]
        body += [f"<p>{html.escape(n)}</p>" for n in notes]
        style = "body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}img{max-width:100%}"
        path = out / "report.html"
        path.write_text(
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{style}</style></head><body>"
            + "\n".join(body)
            + "</body></html>\n",
            encoding="utf-8",
        )
    return path


def _md_table_to_html(text: str) -> str:
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("|"):
        return "".join(f"<p>{html.escape(line.lstrip('- '))}</p>" for line in lines)
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines if not line.startswith("|---")]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cells[0])
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in cells[1:])
    return f"<table><tr>{head}</tr>{rows}</table>"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


__all__ = [
    "HandSequence",
    "joint_angles",
    "bone_lengths",
    "angular_velocity",
    "smooth",
    "infer_side",
    "range_of_motion",
    "RangeOfMotion",
    "bone_length_consistency",
    "BoneConsistency",
    "limit_violations",
    "FrameViolations",
    "analyze",
    "SequenceAnalysis",
    "fit_user_limits",
    "compare_limits",
    "LimitsComparison",
    "write_report",
    "plot_angles_over_time",
    "plot_bone_consistency",
]
