"""Reading and writing hand sequences: NPY/NPZ, JSON, CSV and (with ``ezc3d``) C3D.

:func:`load` picks the reader from the file's suffix, :func:`save` the writer. Every reader returns
a :class:`~handkin.io.HandSequence` in canonical MP21 order; bad frames (NaN, missing cells) are
masked and reported, bad files raise :class:`~handkin.errors.FileFormatError` naming the file and the
key, column or marker at fault, and implausible sizes for the stated units raise
:class:`~handkin.errors.UnitsError`.

Layouts written by :func:`save` (and read back exactly):

* **NPZ** — ``joints`` ``(T, 21, 3)``, ``fps``, ``units``, ``side``, ``times``.
* **NPY** — the bare ``(T, 21, 3)`` array (fps, units and side must be given when loading).
* **JSON** — ``{"format": "handkin.sequence", "version": 1, "units", "side", "fps", "order",
  "times", "joints": [[[x, y, z] × 21] × T]}`` with ``null`` for missing values.
* **CSV** — ``# key: value`` comment lines for ``units``, ``side``, ``fps``; a header ``frame, time,
  wrist_x, wrist_y, wrist_z, thumb_cmc_x, …, little_tip_z``; one row per frame; empty cells for
  missing values. Column names are the MP21 joint names (``pinky`` is accepted for ``little``),
  in any column order.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import anatomy
from ..anatomy import BONE_PARENT_INDEX, NUM_JOINTS, Joint
from ..errors import FileFormatError, HandkinError
from ..files import atomic_write
from ..sides import describe, side_evidence
from ..units import units as parse_units
from . import _read, _time
from .sequence import HandSequence

JSON_FORMAT = "handkin.sequence"
JSON_VERSION = 1
AXES = ("x", "y", "z")

#: File suffixes :func:`load` and :func:`save` know.
FORMATS = (".npz", ".npy", ".json", ".csv", ".c3d")

#: Unit suffixes recognised in NPZ array names, e.g. ``xyz_wrist_frame_mm`` or ``world_landmarks_m``.
_KEY_UNITS = {"_mm": "mm", "_cm": "cm", "_m": "m", "_ref": "ref"}


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise FileFormatError(
            f"cannot tell the format of {path}: use one of {', '.join(FORMATS)}, or a video (.mp4 …) with a "
            "detector model."
        )
    return suffix


_MEDIAPIPE_OPTIONS = {"kind", "mirrored", "image_size", "handedness"}
_VIDEO_OPTIONS = {"kind", "mirrored", "start", "duration", "max_frames", "progress", "landmarker", "save_landmarks"}


def load(
    path: str | os.PathLike,
    *,
    units: Any = None,
    fps: float | None = None,
    side: Any = None,
    order: Any = None,
    key: str | None = None,
    markers: Mapping[str, str] | str | os.PathLike | None = None,
    time_unit: str | None = None,
    detector_model: str | os.PathLike | None = None,
    **options: Any,
) -> HandSequence:
    """Read a hand sequence from ``path`` (format from its suffix). Arguments given here override what
    the file states; what neither gives is an error (units) or a default (side right, fps unknown).

    ``order`` is the joint order of the file's arrays (NPY/NPZ/JSON); ``None``: the order the file states
    (NPZ/JSON), else MP21. ``key`` picks one array of an NPZ.
    ``markers`` maps joints to C3D marker labels, or names a mapping file (:func:`read_c3d`, :func:`read_markers`).
    ``time_unit`` (``s``/``ms``/``us``) is the unit of a CSV/JSON time column (default: from its name, else guessed).
    MediaPipe dumps (the JSON of :mod:`handkin.io.mediapipe`, MediaPipe results as JSON objects, or an NPZ with
    ``world_landmarks_m``) are recognised and read with :func:`handkin.io.mediapipe.load_mediapipe`; ``options``
    ``kind``, ``mirrored``, ``image_size``, ``handedness`` go to that reader and are ignored for other files.
    Videos (:data:`handkin.io.video.VIDEO_SUFFIXES`) need ``detector_model`` and are read with
    :func:`handkin.io.video.sequence_from_video` (``side`` = the hand to follow; ``options`` ``kind``,
    ``mirrored``, ``start``, ``duration``, ``max_frames``, ``progress``, ``landmarker``, ``save_landmarks``).
    """
    path = Path(path)
    unknown = set(options) - _MEDIAPIPE_OPTIONS - _VIDEO_OPTIONS
    if unknown:
        raise TypeError(f"load() got unexpected keyword argument(s) {', '.join(sorted(unknown))}.")
    from . import video as _video

    if _video.is_video(path):
        video_options = {k: v for k, v in options.items() if k in _VIDEO_OPTIONS}
        return _video.sequence_from_video(path, detector_model, fps=fps, side=side or "auto", **video_options)
    mediapipe_options = {k: v for k, v in options.items() if k in _MEDIAPIPE_OPTIONS}
    suffix = _suffix(path)
    if not path.exists():
        raise FileFormatError(f"no such file: {path}.")
    from . import mediapipe as _mp

    if _mp.is_mediapipe_file(path) and key is None:
        seq = _mp.load_mediapipe(path, fps=fps, time_unit=time_unit, **mediapipe_options)
        return seq if side is None else seq.with_side(side)
    if suffix == ".npz":
        return read_npz(path, units=units, fps=fps, side=side, order=order, key=key)
    if suffix == ".npy":
        return read_npy(path, units=units, fps=fps, side=side, order=order)
    if suffix == ".json":
        return read_json(path, units=units, fps=fps, side=side, order=order, time_unit=time_unit)
    if suffix == ".csv":
        return read_csv(path, units=units, fps=fps, side=side, time_unit=time_unit)
    return read_c3d(path, markers=markers, units=units, fps=fps, side=side)


def save(sequence: HandSequence, path: str | os.PathLike, *, order: Any = "mp21") -> Path:
    """Write ``sequence`` to ``path`` (format from the suffix; C3D is read-only). Returns the path.

    Times are written when they are seconds; a sequence whose times are frame numbers (no fps, no times) is
    written without them, so that it reads back as one (not as times in seconds)."""
    path = Path(path)
    times = sequence.times if sequence.time_unit == "s" else None
    suffix = _suffix(path)
    if suffix == ".npz":
        with atomic_write(path) as f:
            np.savez(
                f,
                joints=sequence.to_order(order),
                fps=np.nan if sequence.fps is None else sequence.fps,
                units=sequence.units.value,
                side=sequence.sides if sequence.mixed_sides else sequence.side.value,
                order=str(order),
                **({} if times is None else {"times": times}),
            )
    elif suffix == ".npy":
        with atomic_write(path) as f:
            np.save(f, sequence.to_order(order))
    elif suffix == ".json":
        joints = sequence.to_order(order)
        data = {
            "format": JSON_FORMAT,
            "version": JSON_VERSION,
            "units": sequence.units.value,
            "side": sequence.sides.tolist() if sequence.mixed_sides else sequence.side.value,
            "fps": sequence.fps,
            "order": str(order),
            "times": None if times is None else times.tolist(),
            "joints": np.where(np.isfinite(joints), joints, None).tolist(),
        }
        with atomic_write(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(data))
    elif suffix == ".csv":
        with atomic_write(path, "w", encoding="utf-8") as f:
            f.write(to_csv(sequence))
    else:
        raise FileFormatError(f"cannot write {path}: C3D files are read-only in handkin; save as .npz or .csv.")
    return path


# ---------------------------------------------------------------------------------------------- NPY / NPZ


def _joints_array(arr: np.ndarray, path: Path, what: str) -> np.ndarray:
    if arr.ndim == 2 and arr.shape == (NUM_JOINTS, 3):
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3):
        raise FileFormatError(f"{what} in {path} has shape {arr.shape}; a hand sequence needs (T, 21, 3).")
    if arr.dtype.kind not in "biuf":  # complex would lose its imaginary part silently
        raise FileFormatError(f"{what} in {path} is not real numbers (dtype {arr.dtype}).")
    return arr.astype(np.float64)


def read_npy(path: str | os.PathLike, *, units: Any, fps: float | None = None, side: Any = None, order: Any = None):
    """A bare ``(T, 21, 3)`` array; ``units`` must be given."""
    path = Path(path)
    arr = _read.read_npy(path)
    return _build(_joints_array(arr, path, "the array"), path, units, fps, side or "right", order or "mp21")


def read_npz(
    path: str | os.PathLike,
    *,
    units: Any = None,
    fps: float | None = None,
    side: Any = None,
    order: Any = None,
    key: str | None = None,
) -> HandSequence:
    """An NPZ: the array ``key``, else ``joints``, else its only ``(T, 21, 3)`` array; ``fps``, ``units``,
    ``side``, ``order``, ``times`` from the archive when present, units also from a name suffix (``_mm``)."""
    path = Path(path)
    data = _read.read_npz(path)
    notes: tuple[str, ...] = ()
    if key is None:
        if "joints" in data:
            key = "joints"
        else:
            candidates = [k for k, v in data.items() if v.ndim in (2, 3) and v.shape[-2:] == (NUM_JOINTS, 3)]
            if len(candidates) > 1 and _same_hands(*(data[k] for k in candidates)):
                notes = (
                    f"{path}: {', '.join(candidates)} hold the same hands in different frames (equal bone lengths "
                    f"and handedness), so their angles agree; {candidates[0]!r} is used (pick another with key=).",
                )
                candidates = candidates[:1]
            if len(candidates) != 1:
                raise FileFormatError(
                    f"{path} holds {'no' if not candidates else 'several'} (T, 21, 3) arrays "
                    f"({', '.join(candidates) or 'arrays: ' + ', '.join(data)}); pick one with key=."
                )
            key = candidates[0]
    if key not in data:
        raise FileFormatError(f"{path} has no array {key!r}; it holds {', '.join(data)}.")
    arr = _joints_array(data[key], path, f"array {key!r}")
    if units is None:
        units = _read.text(data.get("units"), path, "'units'")
    if units is None:
        units = next((u for s, u in _KEY_UNITS.items() if key.endswith(s)), None)
    if units is None:
        raise FileFormatError(
            f"{path} does not say its length unit (no 'units' entry, no unit suffix on {key!r}): pass units=."
        )
    if fps is None:
        fps = _read.fps(data.get("fps"), path)
    side = _side(side, data.get("side"), path, len(arr) if arr.ndim == 3 else 1)
    if order is None:
        order = _read.text(data.get("order"), path, "'order'") or "mp21"
    times = data.get("times")
    if times is not None:
        times = _read.numbers(times, path, "'times'")
    return _build(arr, path, units, fps, side, order, times=times, notes=notes)


def _same_hands(*arrays: np.ndarray) -> bool:
    """Whether joint arrays ``(T, 21, 3)`` are the same hands moved rigidly (e.g. world and camera coordinates):
    equal shapes, bone lengths within 0.01 % and the same handedness evidence sign per frame."""
    first = arrays[0]
    if any(a.shape != first.shape or a.dtype.kind not in "fiu" for a in arrays):
        return False
    parents = BONE_PARENT_INDEX
    with np.errstate(invalid="ignore"):
        lengths = [np.linalg.norm(a[..., 1:, :] - a[..., parents, :], axis=-1) for a in arrays]
        signs = [np.sign(side_evidence(a.reshape(-1, NUM_JOINTS, 3))) for a in arrays]
    return all(
        np.allclose(n, lengths[0], rtol=1e-4, atol=1e-9, equal_nan=True) and np.array_equal(s, signs[0])
        for n, s in zip(lengths[1:], signs[1:], strict=True)
    )


def _side(given: Any, stated: Any, path: Path, frames: int) -> Any:
    """The side argument (if given) over the file's ``side`` field (a name or one per frame), else right."""
    if given is not None:
        return given
    stated = _read.sides(stated, path)
    if isinstance(stated, np.ndarray) and stated.shape != (frames,):
        raise FileFormatError(
            f"'side' in {path} holds {stated.size} names for {frames} frames; give one side or one per frame."
        )
    return "right" if stated is None else stated


def _build(arr, path: Path, units, fps, side, order, times=None, notes=()) -> HandSequence:
    try:
        return HandSequence.from_array(
            arr, units=units, fps=fps, side=side, order=order, times=times, source=str(path), notes=notes
        )
    except HandkinError as exc:
        if str(path) in str(exc):
            raise
        raise type(exc)(f"{path}: {exc}") from None


# ---------------------------------------------------------------------------------------------- JSON


def read_json(
    path: str | os.PathLike,
    *,
    units: Any = None,
    fps: float | None = None,
    side: Any = None,
    order: Any = None,
    time_unit: str | None = None,
) -> HandSequence:
    """A JSON sequence as written by :func:`save` (``null`` = missing). Its ``times`` are seconds; another time
    field (``time_ms``, ``timestamp`` …, one value per frame) is read as in :func:`read_csv` (``time_unit``)."""
    path = Path(path)
    data = _read.read_json(path)
    if not isinstance(data, Mapping) or "joints" not in data:
        raise FileFormatError(
            f"{path} is not a handkin sequence: expected a JSON object with 'joints' (and 'units', 'fps', 'side')."
        )
    version = data.get("version", JSON_VERSION)
    if data.get("format", JSON_FORMAT) != JSON_FORMAT or isinstance(version, bool) or version != JSON_VERSION:
        raise FileFormatError(
            f"{path} has format {data.get('format')!r} version {data.get('version')!r}; "
            f"this handkin reads {JSON_FORMAT!r} version {JSON_VERSION}."
        )
    arr = _joints_array(_read.numbers(data["joints"], path, "'joints'"), path, "'joints'")  # None → nan
    units = units if units is not None else _read.text(data.get("units"), path, "'units'")
    if units is None:
        raise FileFormatError(f"{path} does not say its length unit ('units'): pass units=.")
    fps = fps if fps is not None else _read.fps(data.get("fps"), path)
    side = _side(side, data.get("side"), path, len(arr) if arr.ndim == 3 else 1)
    order = order or _read.text(data.get("order"), path, "'order'") or "mp21"
    times, fps, notes = _json_times(data, path, fps, time_unit)
    return _build(arr, path, units, fps, side, order, times, notes=tuple(notes))


def _json_times(data: Mapping, path: Path, fps: float | None, time_unit: str | None):
    """``(times s, fps, notes)`` of a JSON sequence: ``times`` (seconds; frame numbers when no fps is known, as
    :func:`save` writes them) or one other time field (:mod:`handkin.io._time`)."""
    names = [k for k in data if isinstance(k, str) and k not in ("joints", "format", "version")]
    found = _time.find(names, path)
    if found is None or data.get(names[found[0]]) is None:
        return None, fps, []
    name, stated = names[found[0]], found[1]
    values = _read.numbers(data[name], path, repr(name)).reshape(-1)
    if name == "times":
        if fps is None and time_unit is None and np.array_equal(values, np.arange(len(values))):
            return None, None, []
        stated = "s"
    return _time.seconds(values, name, stated, _time.time_unit(time_unit), fps, path)


# ---------------------------------------------------------------------------------------------- CSV


def csv_columns() -> list[str]:
    """The 63 coordinate columns, ``wrist_x, wrist_y, wrist_z, thumb_cmc_x, …, little_tip_z``."""
    return [f"{j.name}_{a}" for j in Joint for a in AXES]


def to_csv(sequence: HandSequence) -> str:
    """The sequence as CSV text (exact: 17 significant digits; empty cells for missing values)."""
    if sequence.mixed_sides:
        raise FileFormatError(
            f"a CSV file states one side, but this sequence has {describe(sequence.side)} frames: save it as .npz "
            "or .json (one side per frame), or mirror it into one side first (sequence.as_right())."
        )
    buf = io.StringIO()
    buf.write(f"# units: {sequence.units.value}\n# side: {sequence.side.value}\n")
    if sequence.fps is not None:
        buf.write(f"# fps: {sequence.fps!r}\n")
    writer = csv.writer(buf, lineterminator="\n")
    timed = sequence.time_unit == "s"  # frame numbers are not written as a time column (it would read as seconds)
    writer.writerow(["frame", *(["time"] if timed else []), *csv_columns()])
    flat = sequence.joints.reshape(len(sequence), -1)
    for i, (t, row) in enumerate(zip(sequence.times, flat, strict=True)):
        cells = ("" if not np.isfinite(v) else repr(float(v)) for v in row)
        writer.writerow([i, *([repr(float(t))] if timed else []), *cells])
    return buf.getvalue()


_NAME_SPLIT = re.compile(r"[\s_.\-]+")
#: Words of MediaPipe's landmark names that MP21's leave out (``INDEX_FINGER_MCP`` is ``index_mcp``).
_DROPPED_WORDS = ("finger",)


def _column_joint(name: str) -> tuple[int, int] | None:
    """A coordinate column's (joint index, axis), or None for other columns. Accepts MP21 names
    (``index_tip_x``), MediaPipe's landmark names (``INDEX_FINGER_TIP_x``, ``PINKY_MCP_y``), any case, the axis
    after or before the name (``WRIST.x``, ``x_WRIST``) and landmark numbers (``8_x``: MP21 = MediaPipe order)."""
    words = [w for w in _NAME_SPLIT.split(name.strip().lower()) if w]
    if len(words) < 2:
        return None
    if words[-1] in AXES:
        axis, stem = words[-1], words[:-1]
    elif words[0] in AXES:
        axis, stem = words[0], words[1:]
    else:
        return None
    stem = [w for w in stem if w not in _DROPPED_WORDS]
    key: Any = "_".join(stem)
    if key.isdigit():
        key = int(key)
    try:
        return int(anatomy.joint(key)), AXES.index(axis)
    except HandkinError:
        return None


def _delimiter(header: str) -> str:
    """The separator of a CSV from its header line: the most frequent of ``,`` ``;`` and tab."""
    return max((",", ";", "\t"), key=header.count)


def _cell(text: str, decimal_comma: bool) -> float:
    text = text.strip()
    if not text:
        return np.nan
    return float(text.replace(",", ".") if decimal_comma else text)


def read_csv(
    path: str | os.PathLike,
    *,
    units: Any = None,
    fps: float | None = None,
    side: Any = None,
    time_unit: str | None = None,
):
    """One row per frame with named coordinate columns, optional ``frame`` and a time column; ``# units: mm`` /
    ``# fps: 30`` / ``# side: left`` comment lines. Empty or ``nan`` cells are masked.

    Columns: MP21 names (``index_tip_x``) or MediaPipe's (``INDEX_FINGER_TIP_x``, ``x_WRIST``, ``WRIST.x``), in any
    order and case; separators ``,``, ``;`` or tab (with ``;`` or tab, decimal commas are read too). A time column
    (``time``, ``t``, ``timestamp``, ``time_s``, ``time_ms``, ``time_us`` …) gives the frame times in seconds: its
    unit from ``time_unit`` (``s``/``ms``/``us``), else its name, else guessed from its steps (with a note); the
    fps is derived from the median step unless given, and a given fps that disagrees by more than 1 % yields to the
    timestamps (with a note)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read {path} as CSV text: {exc}") from exc
    meta = {}
    body = []
    for line in lines:
        if line.startswith("#"):
            k, sep, v = line[1:].partition(":")
            if sep:
                meta[k.strip().lower()] = v.strip()
        elif line.strip():
            body.append(line)
    if not body:
        raise FileFormatError(f"{path} has no header row.")
    delimiter = _delimiter(body[0])
    rows = list(csv.reader(body, delimiter=delimiter))
    header = [h.strip() for h in rows[0]]
    columns: dict[tuple[int, int], int] = {}
    for c, name in enumerate(header):
        ja = _column_joint(name)
        if ja is not None:
            if ja in columns:
                raise FileFormatError(f"{path}: column {name!r} repeats joint coordinate {header[columns[ja]]!r}.")
            columns[ja] = c
    missing = [f"{Joint(j).name}_{AXES[a]}" for j in range(NUM_JOINTS) for a in range(3) if (j, a) not in columns]
    if missing:
        sep_name = {",": "','", ";": "';'", "\t": "tab"}[delimiter]
        raise FileFormatError(
            f"{path} lacks the column(s) {', '.join(missing[:6])}{' …' if len(missing) > 6 else ''} "
            f"({len(missing)} of 63 joint coordinates missing; read with {sep_name} as separator, header starts "
            f"{', '.join(map(repr, header[:3]))}); expected names like 'index_tip_x' (MP21) or 'INDEX_FINGER_TIP_x' "
            "(MediaPipe)."
        )
    data = rows[1:]
    decimal_comma = delimiter != ","
    arr = np.full((len(data), NUM_JOINTS, 3), np.nan)
    tcol = _time.find(header, path)
    raw_times = np.full(len(data), np.nan) if tcol is not None else None
    for r, row in enumerate(data):
        if len(row) != len(header):
            raise FileFormatError(f"{path}, data row {r + 1}: {len(row)} cells, the header has {len(header)}.")
        for (j, a), c in list(columns.items()) + ([((-1, -1), tcol[0])] if tcol is not None else []):
            try:
                value = _cell(row[c], decimal_comma)
            except ValueError:
                raise FileFormatError(
                    f"{path}, data row {r + 1}, column {header[c]!r}: {row[c]!r} is not a number."
                ) from None
            if j < 0:
                raw_times[r] = value
            else:
                arr[r, j, a] = value
    units = units if units is not None else meta.get("units")
    if units is None:
        raise FileFormatError(f"{path} does not say its length unit (no '# units: mm' line): pass units=.")
    if fps is None:
        fps = _read.fps(meta.get("fps"), path, "'# fps:'")
    times, notes = None, []
    if tcol is not None:
        times, fps, notes = _time.seconds(raw_times, header[tcol[0]], tcol[1], _time.time_unit(time_unit), fps, path)
    side = side or meta.get("side", "right")
    return _build(arr, path, parse_units(units), fps, side, "mp21", times=times, notes=tuple(notes))


# ---------------------------------------------------------------------------------------------- C3D

#: Default C3D marker label for each joint: the joint's own name (case and separators ignored).
#: Pass ``markers={"wrist": "RWRA", "index_tip": "RIF3", …}`` for a lab's marker set.
DEFAULT_C3D_MARKERS: dict[str, str] = {j.name: j.name for j in Joint}

_C3D_UNITS = {"mm": "mm", "cm": "cm", "m": "m"}


def _norm_label(label: str) -> str:
    return "".join(ch for ch in label.lower() if ch.isalnum())


def _marker_joint(name: Any) -> Joint | None:
    try:
        return anatomy.joint(str(name).strip())
    except HandkinError:
        return None


def read_markers(path: str | os.PathLike) -> dict[str, str]:
    """A joint → C3D marker label mapping from a file, for :func:`read_c3d` (``handkin analyze x.c3d --markers``).

    JSON: an object ``{"wrist": "RWRA", "index_tip": "RIF3", …}`` (label → joint is accepted too); CSV: two
    columns ``joint, label`` (``,``, ``;`` or tab; an optional header row; ``#`` comments). Joint names are MP21's
    or MediaPipe's (``INDEX_FINGER_TIP``). Joints left out keep their default label (their own name). An unknown
    joint, a repeated joint or a label used for two joints is a :class:`FileFormatError` naming the entry."""
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"no such marker mapping file: {path}.")
    if path.suffix.lower() == ".json":
        data = _read.read_json(path)
        if not isinstance(data, Mapping) or not all(isinstance(v, str) for v in data.values()):
            raise FileFormatError(
                f"{path} is not a marker mapping: expected a JSON object of joint → label strings, e.g. "
                '{"wrist": "RWRA", "index_tip": "RIF3"}.'
            )
        pairs = list(data.items())
        if pairs and all(_marker_joint(_mp_name(k)) is None for k, _ in pairs):  # label → joint
            pairs = [(v, k) for k, v in pairs]
    else:
        try:
            lines = [ln for ln in path.read_text(encoding="utf-8-sig").splitlines() if ln.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise FileFormatError(f"cannot read {path} as a marker mapping (CSV text): {exc}") from exc
        lines = [ln for ln in lines if not ln.lstrip().startswith("#")]
        rows = list(csv.reader(lines, delimiter=_delimiter(lines[0]) if lines else ","))
        if (
            len(rows) > 1
            and _marker_joint(_mp_name(rows[0][0])) is None
            and _marker_joint(_mp_name(rows[1][0])) is not None
        ):
            rows = rows[1:]  # a header row such as "joint,label"
        bad = next((i for i, r in enumerate(rows) if len([c for c in r if c.strip()]) != 2), None)
        if bad is not None:
            raise FileFormatError(f"{path}, row {bad + 1}: {rows[bad]!r}; a marker mapping row is 'joint, label'.")
        pairs = [(r[0].strip(), r[1].strip()) for r in rows]
    if not pairs:
        raise FileFormatError(f"{path} maps no joint to a marker.")
    mapping: dict[str, str] = {}
    for name, label in pairs:
        joint = _marker_joint(_mp_name(name))
        if joint is None:
            raise FileFormatError(
                f"{path}: {name!r} is not a joint name (MP21 names such as 'index_tip', or MediaPipe's "
                "'INDEX_FINGER_TIP'); a marker mapping goes joint → label."
            )
        if joint.name in mapping:
            raise FileFormatError(f"{path}: joint {joint.name!r} is mapped twice ({mapping[joint.name]!r}, {label!r}).")
        mapping[joint.name] = label
    labels = [_norm_label(v) for v in mapping.values()]
    twice = sorted({v for v in mapping.values() if labels.count(_norm_label(v)) > 1})
    if twice:
        raise FileFormatError(f"{path}: the marker(s) {', '.join(map(repr, twice))} are mapped to several joints.")
    return mapping


def _mp_name(name: Any) -> str:
    """A joint name with MediaPipe's ``_FINGER`` word dropped (``INDEX_FINGER_TIP`` → ``index_tip``)."""
    words = [w for w in _NAME_SPLIT.split(str(name).strip().lower()) if w and w not in _DROPPED_WORDS]
    return "_".join(words)


def read_c3d(
    path: str | os.PathLike,
    *,
    markers: Mapping[str, str] | str | os.PathLike | None = None,
    units: Any = None,
    fps: float | None = None,
    side: Any = None,
) -> HandSequence:
    """Marker trajectories from a C3D file (needs ``pip install ezc3d``).

    ``markers`` maps each of the 21 joint names to a marker label (default :data:`DEFAULT_C3D_MARKERS`:
    a marker named like the joint; labels compare case- and separator-insensitively, so ``"Index-Tip"``
    matches ``index_tip``); or a mapping file (:func:`read_markers`). Units come from ``POINT:UNITS``, fps from
    ``POINT:RATE``. Gaps (zero or NaN residuals / coordinates) are masked. A marker that is not in the file raises,
    naming it.
    """
    if markers is not None and not isinstance(markers, Mapping):
        markers = read_markers(markers)
    try:
        import ezc3d
    except ImportError as exc:
        raise ImportError(
            f"reading C3D files ({path}) needs the ezc3d package: pip install ezc3d (or 'handkin[c3d]')."
        ) from exc
    path = Path(path)
    try:
        c3d = ezc3d.c3d(str(path))
    except Exception as exc:  # ezc3d raises plain RuntimeErrors
        raise FileFormatError(f"cannot read {path} as C3D: {exc}") from exc
    params = c3d["parameters"]["POINT"]
    labels = list(params["LABELS"]["value"])
    lookup = {_norm_label(lab): i for i, lab in enumerate(labels)}
    mapping = dict(DEFAULT_C3D_MARKERS)
    for joint_name, label in (markers or {}).items():
        mapping[anatomy.joint(joint_name).name] = label
    points = np.asarray(c3d["data"]["points"], dtype=np.float64)  # (4, n_markers, T)
    arr = np.empty((points.shape[2], NUM_JOINTS, 3))
    absent = []
    for j in Joint:
        label = mapping[j.name]
        i = lookup.get(_norm_label(label))
        if i is None:
            absent.append(f"{j.name} → {label!r}")
            continue
        arr[:, j] = points[:3, i].T
    if absent:
        raise FileFormatError(
            f"{path} has no marker for {', '.join(absent)}; its markers are {', '.join(labels)}. "
            "Pass markers={joint: label, …} to map them."
        )
    residuals = c3d["data"].get("meta_points", {}).get("residuals")
    if residuals is not None:
        res = np.asarray(residuals, dtype=np.float64)[0]  # (n_markers, T); < 0 marks a gap
        idx = [lookup[_norm_label(mapping[j.name])] for j in Joint]
        arr[(res[idx].T < 0)] = np.nan
    if units is None:
        raw = params.get("UNITS", {}).get("value", ["mm"])
        units = _C3D_UNITS.get(str(raw[0]).strip().lower() if len(raw) else "mm")
        if units is None:
            raise FileFormatError(f"{path} has POINT:UNITS {raw!r}; pass units=.")
    if fps is None:
        fps = float(np.asarray(params["RATE"]["value"]).ravel()[0])
    return _build(arr, path, units, fps, side or "right", "mp21")


__all__ = [
    "load",
    "save",
    "read_npy",
    "read_npz",
    "read_json",
    "read_csv",
    "read_c3d",
    "read_markers",
    "to_csv",
    "csv_columns",
    "DEFAULT_C3D_MARKERS",
    "FORMATS",
]
