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
from ..anatomy import NUM_JOINTS, Joint, Side
from ..backend import is_torch, to_numpy
from ..errors import FileFormatError, ShapeError, SideError, UnitsError
from ..orders import MP21, get_order
from ..skeleton import HandSkeleton
from ..units import Units, plausible_reference_range, scale_factor
from ..units import units as parse_units


@dataclass(frozen=True, eq=False)
class HandSequence:
    """One hand over T frames, in canonical MP21 order.

    ``joints`` ``(T, 21, 3)`` float64 in ``units`` (NaN where a joint is missing); ``fps`` frames per
    second (``None`` if unknown: times are then frame indices); ``times`` ``(T,)`` seconds (default
    ``arange(T) / fps``); ``side`` the handedness: one side, one per frame (an array ``(T,)`` of
    ``"right"``/``"left"``, e.g. a file of several people's hands; stored as one :class:`Side` when all frames
    agree) or ``"auto"`` (each valid frame's side from its geometry, :mod:`handkin.sides`; others right);
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
            try:
                fps = float(self.fps)
            except (TypeError, ValueError):
                fps = float("nan")
            if isinstance(self.fps, bool) or not np.isfinite(fps) or fps <= 0:
                raise ShapeError(f"fps must be a positive number, got {self.fps!r}{where}.")
            object.__setattr__(self, "fps", fps)
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
        return cls(arr, parse_units(units), fps, side, times, source, tuple(notes))

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
        """Time from the first to the last frame (seconds, or frames when fps is unknown)."""
        return float(self.times[-1] - self.times[0]) if len(self) else 0.0

    @property
    def time_unit(self) -> str:
        """``"s"`` when fps is known, else ``"frame"``."""
        return "s" if self.fps else "frame"

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
        fps = f"{self.fps:g} fps" if self.fps else "fps unknown"
        bad = int((~self.valid).sum())
        return (
            f"HandSequence(frames={len(self)}, {fps}, units={self.units.value!r}, side={_sides.describe(self.side)!r}, "
            f"invalid_frames={bad}{', source=' + repr(self.source) if self.source else ''})"
        )

    __str__ = __repr__


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


__all__ = ["HandSequence"]
