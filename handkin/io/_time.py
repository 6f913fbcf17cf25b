"""Time columns of data files (``time``, ``t``, ``timestamp``, ``time_s``, ``time_ms``, ``timestamp_us`` …): which
column is one, its unit (from the name, the caller, or a stated guess), the times in seconds and the frame rate
they imply. Shared by the CSV and JSON readers; every failure is one :class:`~handkin.errors.FileFormatError`."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import FileFormatError

#: Seconds per unit of a time column.
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}

_UNIT_WORDS = {
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "ms": "ms", "msec": "ms", "millis": "ms", "milliseconds": "ms",
    "us": "us", "usec": "us", "micros": "us", "microseconds": "us", "µs": "us",
    "ns": "ns", "nsec": "ns", "nanos": "ns", "nanoseconds": "ns",
}  # fmt: skip
_STEMS = ("time", "t", "timestamp", "timestamps", "times", "elapsed")
#: A frame-rate mismatch beyond this share between a stated fps and the timestamps is reported.
FPS_TOLERANCE = 0.01
#: Plausible recording rates when the unit of a bare ``time`` column is guessed from its steps.
_PLAUSIBLE_FPS = (5.0, 2000.0)


def time_unit(value: str | None, where: str = "--time-unit") -> str | None:
    """A time unit name (``s``, ``ms``, ``us``, ``ns`` and spellings like ``msec``) as its short form."""
    if value is None:
        return None
    unit = _UNIT_WORDS.get(str(value).strip().lower())
    if unit is None:
        raise FileFormatError(f"{where} is {value!r}; use one of s, ms, us.")
    return unit


def column(name: str) -> tuple[bool, str | None]:
    """Whether ``name`` is a time column, and the unit its name states (``None`` for a bare ``time``)."""
    key = re.sub(r"[\s.\-]+", "_", name.strip().lower())
    key = re.sub(r"[\[(](\w+)[\])]$", r"_\1", key).strip("_")  # "time (ms)", "time[s]"
    stem, _, unit = key.rpartition("_")
    if key in _STEMS:
        return True, None
    if stem in _STEMS and unit in _UNIT_WORDS:
        return True, _UNIT_WORDS[unit]
    return (True, _UNIT_WORDS[key]) if key in ("s", "ms", "us", "seconds", "milliseconds") else (False, None)


def find(names: list[str], path: Path | str) -> tuple[int, str | None] | None:
    """The index and stated unit of the one time column among ``names`` (``None`` if there is none)."""
    hits = [(i, unit) for i, (is_time, unit) in enumerate(map(column, names)) if is_time]
    if len(hits) > 1:
        raise FileFormatError(
            f"{path} has several time columns ({', '.join(repr(names[i]) for i, _ in hits)}); keep one."
        )
    return hits[0] if hits else None


def _guess(step: float, fps: float | None) -> str:
    """The unit that makes the median ``step`` a plausible frame period (or, given ``fps``, the closest one)."""
    if fps:
        return min(TIME_UNITS, key=lambda u: abs(np.log(1.0 / (step * TIME_UNITS[u]) / fps)))
    for unit in ("s", "ms", "us", "ns"):
        if _PLAUSIBLE_FPS[0] <= 1.0 / (step * TIME_UNITS[unit]) <= _PLAUSIBLE_FPS[1]:
            return unit
    return "s"


def seconds(
    values: np.ndarray, name: str, stated: str | None, unit: str | None, fps: float | None, path: Path | str
) -> tuple[np.ndarray | None, float | None, list[str]]:
    """A time column ``values`` ``(T,)`` as ``(times in s, fps, notes)``.

    The unit is ``unit`` (the caller's), else ``stated`` (the column name's), else guessed from the median step
    (with a note). ``fps`` (given or stated in the file) is checked against the median step: beyond
    :data:`FPS_TOLERANCE` a note says so and the timestamps win; without ``fps`` it is derived from the median step.
    A bare ``time`` column holding 0, 1, …, T−1 with no fps known is frame numbers (returns ``None`` times)."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise FileFormatError(f"{path}: time column {name!r} has no value in data row {bad + 1}.")
    steps = np.diff(values)
    if np.any(steps <= 0):
        bad = int(np.flatnonzero(steps <= 0)[0])
        raise FileFormatError(
            f"{path}: time column {name!r} does not increase at data row {bad + 2} "
            f"({values[bad]!r} → {values[bad + 1]!r}); times must be strictly increasing."
        )
    notes: list[str] = []
    if len(values) < 2:
        return (values * TIME_UNITS[unit or stated or "s"], fps, notes)
    if unit is None and stated is None and fps is None and np.array_equal(values, np.arange(len(values))):
        return None, None, notes  # frame numbers, as handkin writes 'time' when the rate is unknown
    step = float(np.median(steps))
    chosen = unit or stated or _guess(step, fps)
    derived = 1.0 / (step * TIME_UNITS[chosen])
    agrees = fps is not None and abs(derived - fps) <= FPS_TOLERANCE * fps
    if (unit or stated) is None and not agrees:  # a guess the stated fps does not confirm
        notes.append(
            f"{path}: the time column {name!r} does not state its unit: read as {chosen} (median step "
            f"{step:g} → {derived:.4g} fps); pass --time-unit (time_unit=) s, ms or us if that is wrong."
        )
    elif not _PLAUSIBLE_FPS[0] <= derived <= _PLAUSIBLE_FPS[1]:
        notes.append(
            f"{path}: the time column {name!r} read in {chosen} steps at {derived:.4g} fps (median), an unusual "
            "rate: check --time-unit (time_unit=)."
        )
    times = values * TIME_UNITS[chosen]
    if fps is not None and not agrees:
        notes.append(
            f"{path}: fps {fps:g} was given but the time column {name!r} steps at {derived:.4g} fps (median): "
            "the timestamps are used and the fps is taken from them."
        )
        fps = None
    return times, (derived if fps is None else fps), notes


__all__: list[str] = []
