"""Statistics of a hand sequence over time: joint angles, bone lengths, angular velocities, smoothing,
handedness, range of motion, bone-length consistency, frames outside the limits — and :func:`analyze`, which
measures them all in one pass into a :class:`SequenceAnalysis`.

Everything works on a :class:`~handkin.io.HandSequence` (``(T, 21, 3)`` + times); invalid frames (a
missing or non-finite joint) are left out of every statistic and come back as NaN in per-frame
arrays, never silently used. Left hands are measured mirrored (conventions), so angles and limits
mean the same for both sides. All maths is vectorised over frames. Reports of the result:
:mod:`handkin.sequence_report`; everything is also importable from :mod:`handkin.analysis`.

>>> from handkin import io as hio, timeseries
>>> seq = hio.load("recording.npz")                                   # doctest: +SKIP
>>> result = timeseries.analyze(seq)                                  # default limits
>>> print(result.rom.table())                                         # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from .anatomy import AngleJoint, Bone
from .errors import FileFormatError, ShapeError, UnitsError
from .io.sequence import HandSequence
from .limits import PALM_PAIRS, JointLimits
from .report import LimitReport
from .sides import describe, require_uniform
from .tables import format_table
from .tidy import Form, frame_table, speed_label, write_table

ANGLE_NAMES = tuple(a.name for a in AngleJoint)
BONE_NAMES = tuple(b.name for b in Bone)

#: Frames measured per call (and per progress-bar step) in :func:`joint_angles`.
CHUNK = 4096


# ---------------------------------------------------------------------------------------------- per frame


def joint_angles(sequence: HandSequence, *, progress: bool = False) -> np.ndarray:
    """(flexion, abduction) of the 15 angle joints per frame, ``(T, 15, 2)`` radians; NaN on invalid frames
    (:meth:`HandSequence.joint_angles <handkin.io.HandSequence.joint_angles>`, :data:`CHUNK` frames at a time)."""
    return sequence.joint_angles(progress=progress, chunk=CHUNK)


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
    own = require_uniform(sequence.side, "infer_side").value
    angles = joint_angles(sequence)
    pip_dip = [int(AngleJoint[f"{f}_{j}"]) for f in ("index", "middle", "ring", "little") for j in ("pip", "dip")]
    flex = np.degrees(angles[sequence.valid][:, pip_dip, 0])
    if flex.size == 0:
        return "unknown"
    median = float(np.median(flex))
    other = "left" if own == "right" else "right"
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
        return format_table(head, rows, markdown)


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
        return format_table(head, rows, markdown)


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
        return format_table(["constraint", "frames outside", "max excess"], rows[:max_rows], markdown)


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
    """Everything :func:`analyze` measures. Angles radians, velocities radians per :attr:`time_unit` (seconds, or
    frames when the sequence has neither fps nor times: :attr:`speed_unit` says which)."""

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
        """``"s"``, or ``"frame"`` when the sequence's times are frame numbers."""
        return self.sequence.time_unit

    @property
    def speed_unit(self) -> str:
        """``"deg/s"`` or ``"deg/frame"``: the unit of the angular speeds reported (summary, tables)."""
        return self.sequence.speed_unit

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
            "speed_unit": s.speed_unit,
            "units": s.units.value,
            "side": describe(s.side),
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

    def _per_joint_columns(self) -> dict[str, np.ndarray]:
        """The per-frame × joint columns of the tables, ``(T, 15)`` each."""
        deg, vel = np.degrees(self.angles), np.degrees(self.velocities)
        sp = speed_label(self.time_unit)
        excess = self.violations.joint_angles
        return {
            "flexion_deg": deg[..., 0],
            "abduction_deg": deg[..., 1],
            f"flexion_velocity_{sp}": vel[..., 0],
            f"abduction_velocity_{sp}": vel[..., 1],
            "excess_deg": excess,
            "in_limits": np.where(self.sequence.valid[:, None], excess <= self.violations.report.tolerance, False),
        }

    def to_dataframe(self, *, form: Form = "long") -> Any:
        """The per-frame results as a pandas DataFrame (``pip install 'handkin[tables]'``).

        ``form="long"`` (tidy): one row per frame × angle joint, columns ``frame``, ``time_s`` (``time_frame``
        when the times are frame numbers), ``side``, ``valid``, ``frame_in_limits`` (the whole frame, bones and
        palm included), ``joint``, ``flexion_deg``, ``abduction_deg``, ``flexion_velocity_deg_s``,
        ``abduction_velocity_deg_s`` (``…_deg_frame`` without times), ``excess_deg`` (degrees outside the
        joint's limit polygon, 0 inside) and ``in_limits`` (the joint within its polygon). ``form="wide"``: one
        row per frame, the joint columns spread (``index_pip_flexion_deg`` …). Invalid frames: NaN numbers,
        ``in_limits`` and ``frame_in_limits`` False, ``valid`` False.
        """
        per_frame = self.sequence._frame_columns()
        per_frame["frame_in_limits"] = self.violations.ok
        return frame_table(per_frame, self._per_joint_columns(), ANGLE_NAMES, form=form)

    def to_xarray(self) -> Any:
        """The sequence's Dataset (:meth:`HandSequence.to_xarray <handkin.io.HandSequence.to_xarray>`: positions
        in the ``movement`` layout, ``angles`` ``(time, joint, angle)`` degrees) plus ``angular_velocity``
        ``(time, joint, angle)`` in deg/s (deg/frame without times: its ``units`` attribute says), ``excess``
        ``(time, joint)`` degrees outside each joint's polygon, ``in_limits`` ``(time, joint)``,
        ``frame_in_limits`` ``(time,)`` and ``bone_length`` ``(time, bone)``; attributes ``limits``,
        ``smoothing``, ``speed_unit`` besides the sequence's."""
        ds = self.sequence.to_xarray(angles=False)
        cols = self._per_joint_columns()
        ds["angles"] = (("time", "joint", "angle"), np.degrees(self.angles), {"units": "deg"})
        ds["angular_velocity"] = (("time", "joint", "angle"), np.degrees(self.velocities), {"units": self.speed_unit})
        ds["excess"] = (("time", "joint"), cols["excess_deg"], {"units": "deg"})
        ds["in_limits"] = (("time", "joint"), cols["in_limits"])
        ds["frame_in_limits"] = (("time",), self.violations.ok)
        ds["bone_length"] = (("time", "bone"), self.bones.lengths, {"units": self.bones.units})
        ds = ds.assign_coords(bone=list(BONE_NAMES))
        ds.attrs.update(
            limits=self.limits.provenance.source, smoothing=self.smoothing or "none", speed_unit=self.speed_unit
        )
        return ds

    def write_table(self, path: str | Any) -> Any:
        """Write the per-frame results to ``path``: ``.csv`` / ``.parquet`` the long :meth:`to_dataframe`,
        ``.nc`` the :meth:`to_xarray` Dataset (netCDF); atomically. Returns the path."""
        return write_table(self.to_dataframe, self.to_xarray, path)

    def summary_table(self, markdown: bool = True) -> str:
        """The :meth:`summary` as a two-column table (quantity, value)."""
        rows = []
        for k, v in self.summary().items():
            if k == "problems":
                continue
            rows.append([k.replace("_", " "), f"{v:.4g}" if isinstance(v, float) else str(v)])
        return format_table(["quantity", "value"], rows, markdown)


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


__all__ = [
    "ANGLE_NAMES",
    "BONE_NAMES",
    "CHUNK",
    "SmoothMethod",
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
]
