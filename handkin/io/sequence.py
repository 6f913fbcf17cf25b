"""``HandSequence``: a recording of one hand over time — joints ``(T, 21, 3)`` + a time axis + validity mask.

Unlike a :class:`~handkin.HandSkeleton`, a sequence may hold bad frames (a joint missing, NaN or
infinite values, as tracked data do). They are never used silently: every such frame is marked
invalid in :attr:`HandSequence.valid`, listed by :meth:`HandSequence.problems`, and left out of
:meth:`HandSequence.skeleton` and of every analysis (:mod:`handkin.analysis`), which report them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .. import sides as _sides
from .. import tidy
from ..anatomy import NUM_JOINTS, AngleJoint, Joint, Side
from ..backend import is_torch, to_numpy
from ..errors import FileFormatError, ShapeError, SideError, UnitsError
from ..orders import MP21, get_order
from ..progress import progress as progress_bar
from ..skeleton import HandSkeleton
from ..units import Units, plausible_reference_range, scale_factor
from ..units import units as parse_units

#: Default longest gap :meth:`HandSequence.fill_gaps` bridges: 0.1 s of missing data (3 frames at 30 fps) …
MAX_GAP_S = 0.1
#: … or, for sequences whose times are frame numbers, 3 missing frames.
MAX_GAP_FRAMES = 3


@dataclass(frozen=True, eq=False)
class HandSequence:
    """One hand over T frames, in canonical MP21 order.

    ``joints`` ``(T, 21, 3)`` float64 in ``units`` (NaN where a joint is missing); ``fps`` frames per
    second (``None`` if unknown); ``times`` ``(T,)`` seconds (default ``arange(T) / fps``; frame indices
    ``arange(T)`` when neither fps nor times are given); ``time_unit`` what ``times`` count: ``"s"`` when fps or
    times are given, ``"frame"`` when neither is (or when ``time_unit="frame"`` is passed with frame-numbered
    times, which then cannot come with an fps); speeds are per :attr:`time_unit`; ``side`` the handedness: one
    side, one per frame (an array ``(T,)`` of ``"right"``/``"left"``, e.g. a file of several people's hands;
    stored as one :class:`Side` when all frames agree) or ``"auto"`` (each valid frame's side from its geometry, :mod:`handkin.sides`; others right);
    ``source`` where it came from; ``notes`` anything a loader noticed (e.g. frames whose reported handedness
    disagrees).
    """

    joints: np.ndarray
    units: Units
    fps: float | None = None
    side: Any = Side.right
    times: np.ndarray | None = None
    source: str = ""
    notes: tuple[str, ...] = field(default=())
    time_unit: str | None = None

    def __post_init__(self) -> None:
        where = f" ({self.source})" if self.source else ""
        j = _float_array(self.joints, "joints", where)
        if j.ndim == 2 and j.shape == (NUM_JOINTS, 3):
            j = j[None]
        if j.ndim != 3 or j.shape[1:] != (NUM_JOINTS, 3):
            raise ShapeError(f"a hand sequence needs joints of shape (T, 21, 3), got {j.shape}{where}.")
        j = np.where(np.isfinite(j), j, np.nan)  # ±inf is as missing as NaN
        object.__setattr__(self, "joints", j)
        object.__setattr__(self, "units", parse_units(self.units))
        object.__setattr__(self, "side", self._parse_side(self.side, j, where))
        if self.fps is not None:
            object.__setattr__(self, "fps", _positive(self.fps, "fps", where, ShapeError))
        object.__setattr__(self, "time_unit", self._parse_time_unit(where))
        if self.times is None:
            t = np.arange(len(j), dtype=np.float64)
            times = t / self.fps if self.fps else t
        else:
            times = _float_array(self.times, "times", where).reshape(-1)
            if times.shape != (len(j),):
                raise ShapeError(f"times must hold one value per frame ({len(j)}), got shape {times.shape}{where}.")
            if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
                raise ShapeError(f"times must be finite and strictly increasing{where}.")
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "notes", tuple(self.notes))
        self._check_scale()

    def _parse_time_unit(self, where: str) -> str:
        """``"s"`` or ``"frame"`` (see the class docstring); ``UnitsError`` for anything else or a contradiction."""
        unit = self.time_unit
        if unit is None:
            return "s" if self.fps is not None or self.times is not None else "frame"
        aliases = {"s": "s", "sec": "s", "second": "s", "seconds": "s", "frame": "frame", "frames": "frame"}
        parsed = aliases.get(str(unit).strip().lower()) if isinstance(unit, str) else None
        if parsed is None:
            raise UnitsError(f"time_unit must be 's' (seconds) or 'frame', got {unit!r}{where}.")
        if parsed == "frame" and self.fps is not None:
            raise UnitsError(
                f"times counted in frames cannot come with fps={self.fps:g}{where}: give the times in seconds "
                "(time_unit='s') or drop the fps."
            )
        return parsed

    @staticmethod
    def _parse_side(side: Any, joints: np.ndarray, where: str) -> Side | np.ndarray:
        try:
            parsed = _sides.parse(side, (len(joints),))
        except SideError as exc:
            raise SideError(f"{exc}{where}") from None
        if isinstance(parsed, str) and not isinstance(parsed, Side):  # "auto": the valid frames' geometry decides
            ok = np.isfinite(joints).all(axis=(1, 2))
            names = np.full(len(joints), "right", dtype="<U5")
            names[ok] = _sides.full(_sides.detect(joints[ok]), (int(ok.sum()),))
            parsed = _sides.normalize(names)
        return parsed

    @property
    def mixed_sides(self) -> bool:
        """Whether the frames hold hands of both sides (:attr:`side` is then an array ``(T,)``)."""
        return isinstance(self.side, np.ndarray)

    @property
    def sides(self) -> np.ndarray:
        """The side of every frame, ``(T,)`` names."""
        return _sides.full(self.side, (len(self),))

    def _frame_sides(self, idx: Any) -> Side | np.ndarray:
        return _sides.normalize(self.side[idx]) if self.mixed_sides else self.side

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_array(
        cls,
        joints: Any,
        *,
        units: Any,
        fps: float | None = None,
        side: Any = "right",
        order: Any = "mp21",
        times: Any = None,
        source: str = "",
        notes: tuple[str, ...] = (),
        time_unit: str | None = None,
    ) -> HandSequence:
        """A sequence from an array ``(T, 21, 3)`` (or one hand ``(21, 3)``) in any registered ``order``."""
        if units is None:
            raise UnitsError(
                f"say which unit the joints are in{' (' + source + ')' if source else ''}: units='m', 'cm', 'mm' or 'ref'."
            )
        arr = _float_array(joints, "joints", f" ({source})" if source else "")
        if arr.ndim >= 2 and arr.shape[-2] == 2 * NUM_JOINTS:
            raise ShapeError(
                f"joints have shape {arr.shape}: 42 joints are two hands{' (' + source + ')' if source else ''}. "
                "Split them first (HandSkeleton.from_two_hands) and load each hand as its own sequence."
            )
        o = get_order(order)
        if arr.ndim >= 2 and o is not MP21:
            arr = o.to_canonical(arr)
        return cls(arr, parse_units(units), fps, side, times, source, tuple(notes), time_unit)

    @classmethod
    def from_skeleton(cls, skeleton: HandSkeleton, fps: float | None = None, **kwargs: Any) -> HandSequence:
        """A sequence from a batched ``HandSkeleton`` ``(T, 21, 3)``."""
        j = np.asarray(skeleton.numpy().joints).reshape(-1, NUM_JOINTS, 3)
        side = skeleton.sides.reshape(-1) if isinstance(skeleton.side, np.ndarray) else skeleton.side
        return cls(j, skeleton.units, fps, side, **kwargs)

    # ------------------------------------------------------------------ validity
    def _check_scale(self) -> None:
        """Catch wrong units from the median wrist→middle_mcp length of the valid frames."""
        ok = self.valid
        if not ok.any():
            return
        with np.errstate(over="ignore", invalid="ignore"):  # absurd values (1e300) give inf: a UnitsError below
            ref = np.linalg.norm(self.joints[ok, Joint.middle_mcp] - self.joints[ok, Joint.wrist], axis=-1)
        ref = ref[ref > 0]
        if ref.size == 0:
            return
        median = float(np.median(ref))
        lo, hi = plausible_reference_range(self.units)
        if lo <= median <= hi:
            return
        hint = ""
        for guess in (Units.m, Units.cm, Units.mm):
            g_lo, g_hi = plausible_reference_range(guess)
            if guess != self.units and self.units != Units.ref and g_lo <= median <= g_hi:
                hint = f" The numbers look like {guess.value!r}: pass units={guess.value!r}."
                break
        where = f" in {self.source}" if self.source else ""
        raise UnitsError(
            f"the wrist→middle_mcp bone{where} is {median:.4g} {self.units.value} long (median over the valid "
            f"frames), outside the plausible {lo:.4g}–{hi:.4g} {self.units.value} for a hand.{hint}"
        )

    @property
    def valid(self) -> np.ndarray:
        """``(T,)`` True for frames whose 21 joints are all finite."""
        return np.isfinite(self.joints).all(axis=(1, 2))

    @property
    def missing(self) -> np.ndarray:
        """``(T, 21)`` True where a joint is missing (NaN)."""
        return ~np.isfinite(self.joints).all(axis=-1)

    def problems(self) -> list[str]:
        """Human-readable list of what is wrong with the data (invalid frames, which joints), plus loader notes."""
        out = list(self.notes)
        bad = np.flatnonzero(~self.valid)
        if bad.size:
            per_joint = self.missing.sum(axis=0)
            worst = ", ".join(
                f"{Joint(int(j)).name} ({int(per_joint[j])})" for j in np.argsort(-per_joint)[:3] if per_joint[j]
            )
            shown = ", ".join(str(int(i)) for i in bad[:10]) + (" …" if bad.size > 10 else "")
            out.append(
                f"{bad.size} of {len(self)} frame(s) have missing or non-finite joints and are masked "
                f"(frames {shown}; most often missing: {worst})."
            )
        return out

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return int(self.joints.shape[0])

    def __getitem__(self, key: Any) -> HandSequence:
        """A sub-sequence: ``seq[10:100]``, ``seq[mask]`` (times follow)."""
        idx = np.arange(len(self))[key]
        idx = np.atleast_1d(idx)
        return replace(self, joints=self.joints[idx], times=self.times[idx], side=self._frame_sides(idx))

    @property
    def duration(self) -> float:
        """Time from the first to the last frame, in :attr:`time_unit` (seconds, or frames when neither fps nor
        times are known)."""
        return float(self.times[-1] - self.times[0]) if len(self) else 0.0

    @property
    def speed_unit(self) -> str:
        """The unit of angular speeds of this sequence: ``"deg/s"``, or ``"deg/frame"`` when its times are frames."""
        return f"deg/{self.time_unit}"

    # ------------------------------------------------------------------ time axis
    def joint_angles(self, *, progress: bool = False, chunk: int = 4096) -> np.ndarray:
        """(flexion, abduction) of the 15 angle joints per frame, ``(T, 15, 2)`` radians; NaN on invalid frames
        (measured ``chunk`` frames at a time, with a progress bar when ``progress``)."""
        out = np.full((len(self), 15, 2), np.nan)
        ok = np.flatnonzero(self.valid)
        chunks = [ok[i : i + chunk] for i in range(0, len(ok), chunk)]
        for idx in progress_bar(chunks, total=len(chunks), desc="measuring", unit="chunk", enabled=progress):
            sk = HandSkeleton.unchecked(self.joints[idx], units=self.units, side=self._frame_sides(idx))
            out[idx] = np.asarray(sk.joint_angles)
        return out

    def fill_gaps(self, max_gap: float | None = None, *, max_frames: int | None = None) -> HandSequence:
        """The sequence with short gaps filled by linear interpolation in joint space; longer gaps stay missing.

        A gap is a run of frames where a joint is missing (NaN) between two frames where it is present; each
        joint is filled on its own, so the joints a partial frame has are kept as they are. A gap is filled
        when it lasts at most ``max_gap`` seconds — the time without data, ``t_after − t_before`` minus one
        (median) frame step, i.e. n/fps for n missing frames at a steady rate — default :data:`MAX_GAP_S`
        (0.1 s: 3 frames at 30 fps); or, with ``max_frames`` (and by default when the times are frame
        numbers), at most that many missing frames (default :data:`MAX_GAP_FRAMES`). Gaps at the start or the
        end are never filled (no extrapolation), nor gaps between frames of different sides. The returned
        sequence's :attr:`notes` say what was filled and list the gaps left missing.
        """
        where = f" ({self.source})" if self.source else ""
        if max_gap is not None and max_frames is not None:
            raise UnitsError(f"give max_gap (seconds) or max_frames, not both{where}.")
        if max_gap is not None and self.time_unit != "s":
            raise UnitsError(
                f"max_gap={max_gap!r} is in seconds, but this sequence's times are frame numbers (no fps, no "
                f"times){where}: pass max_frames=, or the fps."
            )
        by_frames = max_frames is not None or self.time_unit != "s"
        limit = _positive(
            (MAX_GAP_FRAMES if max_frames is None else max_frames)
            if by_frames
            else (MAX_GAP_S if max_gap is None else max_gap),
            "max_frames" if by_frames else "max_gap",
            where,
        )
        present = np.isfinite(self.joints).all(axis=-1)  # (T, 21)
        t = len(self)
        if t < 3 or present.all():
            return self
        prev, nxt = _neighbours(present)
        inner = ~present & (prev >= 0) & (nxt < t)
        pc, nc = np.clip(prev, 0, t - 1), np.clip(nxt, 0, t - 1)
        if by_frames:
            short = nc - pc - 1 <= limit
        else:
            step = float(np.median(np.diff(self.times)))
            short = self.times[nc] - self.times[pc] - step <= limit * (1 + 1e-9)
        fill = inner & short
        if self.mixed_sides:
            fill &= self.side[pc] == self.side[nc]
        cols = np.arange(NUM_JOINTS)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(fill, (self.times[:, None] - self.times[pc]) / (self.times[nc] - self.times[pc]), 0.0)
        blend = (1 - w)[..., None] * self.joints[pc, cols] + w[..., None] * self.joints[nc, cols]
        joints = np.where(fill[..., None], blend, self.joints)
        unit = "frame(s)" if by_frames else "s"
        was, now = self.valid, np.isfinite(joints).all(axis=(1, 2))
        notes = []
        if fill.any():
            notes.append(
                f"fill_gaps: {int(fill.sum())} missing joint position(s) interpolated linearly (gaps up to {limit:g} "
                f"{unit}); {int((now & ~was).sum())} frame(s) became complete."
            )
        left = _runs(~now)
        if left:
            shown = ", ".join(self._describe_run(a, b) for a, b in left[:5]) + (" …" if len(left) > 5 else "")
            notes.append(
                f"fill_gaps: {len(left)} gap(s) left missing (longer than {limit:g} {unit}, at the start or end, "
                f"or between sides): {shown}."
            )
        return replace(self, joints=joints, notes=(*self.notes, *notes))

    def _describe_run(self, a: int, b: int) -> str:
        """Frames ``a`` to ``b − 1`` as ``"frames 10–29 (0.667 s)"`` (the time without data), or ``"… at the start"``."""
        span = f"frame {a}" if b - a == 1 else f"frames {a}–{b - 1}"
        if a == 0 or b == len(self):
            return f"{span} at the {'start' if a == 0 else 'end'}"
        if self.time_unit != "s":
            return f"{span} ({b - a} frames)"
        step = float(np.median(np.diff(self.times)))
        return f"{span} ({self.times[b] - self.times[a - 1] - step:.3g} s)"

    def resample(self, fps: float) -> HandSequence:
        """The sequence at a fixed rate ``fps``: times ``t0 + k / fps`` up to the last frame (no extrapolation),
        joints interpolated linearly between the two nearest frames; a time next to a missing joint gets a
        missing joint (missing stays missing: fill gaps first with :meth:`fill_gaps`), and so does a time between
        frames of different sides. Needs times in seconds (fps or times known)."""
        where = f" ({self.source})" if self.source else ""
        if self.time_unit != "s":
            raise UnitsError(
                f"resampling to {fps!r} fps needs the times in seconds, but this sequence has neither fps nor "
                f"times{where}: pass its fps (or load it with its time column)."
            )
        rate = _positive(fps, "fps", where)
        t = self.times
        n = int(np.floor((t[-1] - t[0]) * rate + 1e-9)) + 1
        new_t = t[0] + np.arange(n) / rate
        i = np.clip(np.searchsorted(t, new_t, side="right") - 1, 0, len(t) - 1)
        i1 = np.minimum(i + 1, len(t) - 1)
        dt = t[i1] - t[i]
        w = np.clip(np.where(dt > 0, (new_t - t[i]) / np.where(dt > 0, dt, 1.0), 0.0), 0.0, 1.0)
        a, b = self.joints[i], self.joints[i1]
        ww = w[:, None, None]
        joints = np.where(ww == 0, a, np.where(ww == 1, b, (1 - ww) * a + ww * b))
        side: Any = self.side
        if self.mixed_sides:
            side = np.where(w < 0.5, self.side[i], self.side[i1])
            joints[(self.side[i] != self.side[i1]) & (w > 0) & (w < 1)] = np.nan
        was = (
            f"{self.fps:g} fps"
            if self.fps
            else f"times of median step {np.median(np.diff(t)):.4g} s"
            if len(t) > 1
            else "one frame"
        )
        note = f"resampled from {was} ({len(self)} frames) to {rate:g} fps ({n} frames), linear, no extrapolation."
        return replace(self, joints=joints, fps=rate, times=new_t, side=side, notes=(*self.notes, note))

    # ------------------------------------------------------------------ tables
    def _frame_columns(self) -> dict[str, np.ndarray]:
        """The per-frame columns every table starts with: frame, time, side, valid."""
        return {
            "frame": np.arange(len(self)),
            tidy.time_label(self.time_unit): self.times,
            "side": self.sides.astype(object),
            "valid": self.valid,
        }

    def to_dataframe(self, kind: str = "angles", *, form: tidy.Form = "long") -> Any:
        """A pandas DataFrame (``pip install 'handkin[tables]'``) of the raw recording.

        ``kind="angles"``: columns ``frame``, ``time_s`` (``time_frame`` when the times are frame numbers),
        ``side``, ``valid``, ``joint`` (the 15 angle joints), ``flexion_deg``, ``abduction_deg`` — one row per
        frame × angle joint (``form="long"``, tidy) or one row per frame (``form="wide"``:
        ``index_pip_flexion_deg`` …). ``kind="positions"``: one row per frame × keypoint (the 21 joints),
        ``x_mm``, ``y_mm``, ``z_mm`` (in the sequence's units). NaN where a frame is invalid or a joint missing.
        Analysis results (velocities, limits) are in :meth:`SequenceAnalysis.to_dataframe
        <handkin.timeseries.SequenceAnalysis.to_dataframe>`.
        """
        if kind == "angles":
            deg = np.degrees(self.joint_angles())
            names = [a.name for a in AngleJoint]
            return tidy.frame_table(
                self._frame_columns(), {"flexion_deg": deg[..., 0], "abduction_deg": deg[..., 1]}, names, form=form
            )
        if kind == "positions":
            u = self.units.value
            cols = {f"{a}_{u}": self.joints[..., k] for k, a in enumerate("xyz")}
            return tidy.frame_table(self._frame_columns(), cols, [j.name for j in Joint], item="keypoint", form=form)
        raise ValueError(f"kind must be 'angles' or 'positions', got {kind!r}.")

    def to_xarray(self, *, angles: bool = True) -> Any:
        """An xarray Dataset (``pip install 'handkin[tables]'``) laid out like the ``movement`` package's pose
        datasets: ``position`` ``(time, space, keypoints, individuals)`` in the sequence's units (one
        individual, ``"hand"``), ``confidence`` ``(time, keypoints, individuals)`` (NaN: not provided), and, with
        ``angles``, ``angles`` ``(time, joint, angle)`` degrees (angle = flexion, abduction); ``valid`` and
        ``side`` per frame. Coordinates: ``time`` in seconds (frame numbers when unknown), ``frame``,
        ``space`` x/y/z, ``keypoints`` the 21 joint names, ``joint`` the 15 angle joints. Attributes: ``fps``
        (absent when unknown), ``time_unit`` (``seconds`` / ``frames``), ``source_software``, ``source_file``,
        ``ds_type`` (``poses``), ``units``, ``side``.
        """
        xr = tidy.require("xarray")
        t = len(self)
        pos = np.transpose(self.joints, (0, 2, 1))[..., None]  # (T, 3, 21, 1)
        tu = tidy.movement_time_unit(self.time_unit)
        data: dict[str, Any] = {
            "position": (("time", "space", "keypoints", "individuals"), pos, {"units": self.units.value}),
            "confidence": (("time", "keypoints", "individuals"), np.full((t, NUM_JOINTS, 1), np.nan)),
            "valid": (("time",), self.valid),
            "side": (("time",), self.sides.astype(str)),
        }
        if angles:
            data["angles"] = (("time", "joint", "angle"), np.degrees(self.joint_angles()), {"units": "deg"})
        attrs = {
            "time_unit": tu,
            "source_software": "handkin",
            "source_file": self.source,
            "ds_type": "poses",
            "units": self.units.value,
            "side": _sides.describe(self.side),
        }
        if self.fps is not None:
            attrs = {"fps": self.fps, **attrs}
        if self.notes:
            attrs["notes"] = "\n".join(self.notes)
        coords = {
            "time": ("time", self.times, {"units": tu}),
            "frame": ("time", np.arange(t)),
            "space": ["x", "y", "z"],
            "keypoints": [j.name for j in Joint],
            "individuals": ["hand"],
            "joint": [a.name for a in AngleJoint],
            "angle": ["flexion", "abduction"],
        }
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def skeleton(self, valid_only: bool = True) -> HandSkeleton:
        """The valid frames (default) as a validated ``HandSkeleton`` ``(T_valid, 21, 3)``.

        With ``valid_only=False`` all frames, unchecked (NaN stays NaN: for array maths only)."""
        if not valid_only:
            return HandSkeleton.unchecked(self.joints, units=self.units, side=self.side)
        ok = self.valid
        if not ok.any():
            raise FileFormatError(f"no frame with all 21 joints{' in ' + self.source if self.source else ''}.")
        return HandSkeleton(joints=self.joints[ok], units=self.units, side=self._frame_sides(ok))

    def to_units(self, units: Any) -> HandSequence:
        """The same sequence in another physical unit, or ``"ref"`` (each frame normalised by wrist→middle_mcp)."""
        target = parse_units(units)
        if target == self.units:
            return self
        if target == Units.ref:
            ref = np.linalg.norm(self.joints[:, Joint.middle_mcp] - self.joints[:, Joint.wrist], axis=-1)
            ref = np.where(ref > 0, ref, np.nan)
            return replace(self, joints=self.joints / ref[:, None, None], units=target)
        return replace(self, joints=self.joints * scale_factor(self.units, target), units=target)

    def to_order(self, order: Any) -> np.ndarray:
        """The joints ``(T, 21, 3)`` in another registered order."""
        return get_order(order).from_canonical(self.joints)

    def mirror(self) -> HandSequence:
        """Mirrored x → −x, side swapped."""
        j = self.joints.copy()
        j[..., 0] *= -1
        return replace(self, joints=j, side=_sides.swapped(self.side))

    def as_right(self) -> HandSequence:
        """Left frames mirrored into right ones; right ones unchanged."""
        if self.mixed_sides:
            return replace(self, joints=_sides.mirror_where(self.joints, self.side == "left"), side=Side.right)
        return self if self.side == Side.right else self.mirror()

    def with_side(self, side: Any) -> HandSequence:
        """The same joints labelled with another side (no mirroring: to fix a wrong label)."""
        return replace(self, side=self._parse_side(side, self.joints, f" ({self.source})" if self.source else ""))

    def __repr__(self) -> str:
        fps = f"{self.fps:g} fps" if self.fps else "fps unknown, times in s" if self.time_unit == "s" else "fps unknown"
        bad = int((~self.valid).sum())
        return (
            f"HandSequence(frames={len(self)}, {fps}, units={self.units.value!r}, side={_sides.describe(self.side)!r}, "
            f"invalid_frames={bad}{', source=' + repr(self.source) if self.source else ''})"
        )

    __str__ = __repr__


def _positive(value: Any, name: str, where: str, error: type[Exception] = UnitsError) -> float:
    """``value`` as a positive finite float, else ``error`` naming ``name``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = float("nan")
    if isinstance(value, bool) or not np.isfinite(x) or x <= 0:
        raise error(f"{name} must be a positive number, got {value!r}{where}.")
    return x


def _neighbours(present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a mask ``(T, N)``: the index of the last present frame at or before each frame (−1 if none) and of
    the first at or after it (T if none), both ``(T, N)``."""
    t = len(present)
    idx = np.arange(t)[:, None]
    prev = np.maximum.accumulate(np.where(present, idx, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(present, idx, t)[::-1], axis=0)[::-1]
    return prev, nxt


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """The runs of True in a 1-D mask as ``(start, stop)`` pairs."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _float_array(value: Any, what: str, where: str) -> np.ndarray:
    """``value`` (numpy, torch, nested lists) as float64; ragged or non-numeric is a :class:`ShapeError`."""
    if is_torch(value):
        value = to_numpy(value)  # a meta tensor: BackendError
    try:
        arr = np.asarray(value)
        if arr.dtype.kind == "c":  # the imaginary part would be dropped silently
            raise TypeError(f"complex dtype {arr.dtype}")
        return np.asarray(arr, dtype=np.float64)  # None → NaN
    except (TypeError, ValueError, OverflowError) as exc:
        raise ShapeError(f"{what} must be an array of real numbers{where}: {exc}") from None


__all__ = ["HandSequence", "MAX_GAP_S", "MAX_GAP_FRAMES"]
