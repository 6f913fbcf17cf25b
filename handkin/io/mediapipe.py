"""MediaPipe hand landmarks into handkin: live results and saved dumps.

MediaPipe's 21 hand landmarks are in MP21 order already. Two kinds:

* **world** landmarks — metres, origin near the hand's centre: real 3D, used by default;
* **image** landmarks — x, y normalised by the image width and height, z a relative depth on the
  scale of x. They become pixels with the image size (x·W, y·H, z·W) and are then normalised per
  frame to ``ref`` units (wrist→middle_mcp = 1), since their scale is not a length.

**Handedness caveat.** MediaPipe assumes a mirrored (selfie) image: on an ordinary, un-mirrored
photo or video, a right hand is reported as ``"Left"``. The readers here take ``mirrored`` — whether
the image fed to MediaPipe was mirrored — and default to ``False`` (ordinary camera images), so the
reported label is **swapped**; pass ``mirrored=True`` for selfie-view input. The label is not reliable
across pipelines (the same video gives "Left" in one and "Right" in another), so by default
(``handedness="auto"``) each frame's side is taken from its **geometry** where that is clear — fingers
flex towards the palm, so measured as the wrong side the PIP/DIP flexions come out negative — and from
the label only for flat hands; a note reports every disagreement. ``handedness="label"`` uses the label
only. The landmark geometry itself is never changed, except that in a collection with both sides the
minority side's frames are mirrored (x → −x) into the majority side, with a note.

Readers:

* :func:`hands_from_result` — a live result, Tasks API (``HandLandmarkerResult``: ``hand_landmarks``,
  ``hand_world_landmarks``, ``handedness``) or legacy ``mp.solutions.hands`` (``multi_hand_landmarks``,
  ``multi_hand_world_landmarks``, ``multi_handedness``);
* :func:`sequence_from_results` — one result per video frame → :class:`~handkin.io.HandSequence`
  (frames without a hand are masked);
* :func:`load_mediapipe` — saved dumps: an NPZ with ``world_landmarks_m`` / ``landmarks_norm`` /
  ``handedness`` / ``image_size`` (one hand per frame), or a JSON object mapping names to
  ``{"landmarks", "world_landmarks", "handedness"}`` or ``{"landmarks_norm", "world_landmarks_m",
  "handedness", "image_size"}`` (one entry per image, the first hand of each).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal, NamedTuple

import numpy as np

from ..anatomy import NUM_JOINTS
from ..errors import FileFormatError, HandkinError, ShapeError
from . import _read
from .sequence import HandSequence

Kind = Literal["world", "image"]


class DetectedHand(NamedTuple):
    """One hand of a MediaPipe result."""

    joints: np.ndarray
    """``(21, 3)``: metres (world) or pixels (image, when the image size is known; else normalised)."""
    side: str
    """The actual side (``"right"``/``"left"``) after the mirroring rule, or ``"unknown"``."""
    label: str
    """MediaPipe's own label (``"Left"``/``"Right"``), as reported."""
    score: float
    """MediaPipe's handedness score (nan if absent)."""


def actual_side(label: str | None, mirrored: bool = False) -> str:
    """MediaPipe's handedness ``label`` as the real side: swapped unless the input image was ``mirrored``."""
    if not label:
        return "unknown"
    s = str(label).strip().lower()
    if s not in ("left", "right"):
        return "unknown"
    if mirrored:
        return s
    return "left" if s == "right" else "right"


def _xyz(point: Any) -> tuple[Any, Any, Any]:
    """One landmark: an object with ``x``/``y``/``z`` (Tasks, legacy), a mapping (``dataclasses.asdict``, JSON) or
    three numbers."""
    if isinstance(point, Mapping):
        return point.get("x"), point.get("y"), point.get("z")
    if hasattr(point, "x"):
        return point.x, point.y, point.z
    return tuple(point)  # type: ignore[return-value]


def _points(landmarks: Any) -> np.ndarray:
    items = getattr(landmarks, "landmark", landmarks)  # legacy LandmarkList has .landmark
    if isinstance(items, Mapping):
        items = items.get("landmark", items.get("landmarks", []))
    try:
        arr = np.array([_xyz(p) for p in items], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FileFormatError(f"a MediaPipe landmark must have numeric x, y, z: {exc}.") from None
    if arr.shape != (NUM_JOINTS, 3):
        raise FileFormatError(f"a MediaPipe hand has 21 landmarks of (x, y, z), got shape {arr.shape}.")
    return arr


def _label(handedness: Any) -> tuple[str, float]:
    if handedness is None:
        return "", float("nan")
    if isinstance(handedness, Mapping):
        handedness = handedness.get("classification", [handedness])
    if hasattr(handedness, "classification"):  # legacy ClassificationList
        handedness = handedness.classification
    first = handedness[0] if isinstance(handedness, Sequence) or hasattr(handedness, "__getitem__") else handedness
    if isinstance(first, Mapping):  # a Category as a dict (asdict / JSON)
        name = first.get("category_name") or first.get("label") or first.get("display_name") or ""
        return str(name), float(first.get("score", float("nan")) or float("nan"))
    if isinstance(first, str):
        return first, float("nan")
    name = getattr(first, "category_name", None) or getattr(first, "label", None) or getattr(first, "display_name", "")
    return str(name), float(getattr(first, "score", float("nan")))


#: The fields of a MediaPipe hands result, Tasks API and legacy ``solutions.hands``.
RESULT_KEYS = ("hand_landmarks", "hand_world_landmarks", "multi_hand_landmarks", "multi_hand_world_landmarks")


def _result_fields(result: Mapping) -> SimpleNamespace:
    """A result given as a mapping (``result.__dict__``, ``dataclasses.asdict(result)``, a JSON dump) as an
    object with the result's attributes; absent lists are empty."""
    keys = (*RESULT_KEYS, "handedness", "multi_handedness")
    if not any(k in result for k in RESULT_KEYS):
        shown = ", ".join(map(repr, list(result)[:6]))
        raise FileFormatError(
            f"not a MediaPipe hands result: a mapping with the keys {shown or '(none)'} has neither 'hand_landmarks' "
            "/ 'hand_world_landmarks' (Tasks API) nor 'multi_hand_landmarks' (solutions.hands)."
        )
    return SimpleNamespace(**{k: result[k] or [] for k in keys if k in result})


def _is_result(value: Any) -> bool:
    return isinstance(value, Mapping) and any(k in value for k in RESULT_KEYS)


def _result_frames(data: Any) -> tuple[list[tuple[str, Mapping]], Mapping] | None:
    """The results of a JSON dump of MediaPipe results as ``([(name, result), …], top-level fields)``: one result
    object, a list of them (one per frame), ``{"frames": [...]}`` / ``{"results": [...]}``, or names → results.
    ``None`` for other documents."""
    if _is_result(data):
        return [("0", data)], {}
    top: Mapping = {}
    if isinstance(data, Mapping):
        for key in ("frames", "results"):
            if isinstance(data.get(key), list):
                top, data = data, data[key]
                break
    if isinstance(data, list) and data and all(_is_result(v) for v in data):
        return [(str(i), v) for i, v in enumerate(data)], top
    if isinstance(data, Mapping) and data and all(_is_result(v) for v in data.values()):
        return [(str(k), v) for k, v in data.items()], top
    return None


def _image_size(value: Any, where: str = "image_size", error: type[HandkinError] = ShapeError) -> tuple[float, float]:
    """``(W, H)`` as two positive finite numbers, else ``error`` naming ``where``."""
    try:
        size = np.asarray(value)
        size = size.astype(np.float64) if size.dtype.kind in "biuf" else np.empty(0)
    except (TypeError, ValueError, OverflowError):  # ragged
        size = np.empty(0)
    if size.shape != (2,) or not np.all(np.isfinite(size)) or np.any(size <= 0):
        raise error(f"{where} must be the image's (width, height) in pixels, two positive numbers; got {value!r}.")
    return float(size[0]), float(size[1])


def image_to_pixels(landmarks: np.ndarray, image_size: Sequence[int]) -> np.ndarray:
    """Normalised image landmarks ``(..., 21, 3)`` → pixels: (x·W, y·H, z·W); ``image_size`` = (W, H)."""
    w, h = _image_size(image_size)
    return np.asarray(landmarks, dtype=np.float64) * np.array([w, h, w])


def hands_from_result(
    result: Any, kind: Kind = "world", *, image_size: Sequence[int] | None = None, mirrored: bool = False
) -> list[DetectedHand]:
    """Every hand of one MediaPipe result (Tasks ``HandLandmarkerResult`` or legacy ``solutions.hands``)."""
    if kind not in ("world", "image"):
        raise ValueError(f"kind must be 'world' or 'image', got {kind!r}.")
    if image_size is not None:
        image_size = _image_size(image_size)
    if isinstance(result, Mapping):
        result = _result_fields(result)
    if hasattr(result, "hand_landmarks") or hasattr(result, "hand_world_landmarks"):  # Tasks API
        lists = getattr(result, "hand_world_landmarks" if kind == "world" else "hand_landmarks", None)
        handedness = list(getattr(result, "handedness", None) or [])
    elif hasattr(result, "multi_hand_landmarks") or hasattr(result, "multi_hand_world_landmarks"):  # solutions.hands
        lists = getattr(result, "multi_hand_world_landmarks" if kind == "world" else "multi_hand_landmarks", None)
        handedness = list(getattr(result, "multi_handedness", None) or [])
    else:
        raise FileFormatError(
            f"not a MediaPipe hands result: {type(result).__name__} has neither hand_landmarks (Tasks API) "
            "nor multi_hand_landmarks (solutions.hands)."
        )
    out = []
    for i, lm in enumerate(lists or []):
        pts = _points(lm)
        if kind == "image" and image_size is not None:
            pts = image_to_pixels(pts, image_size)
        label, score = _label(handedness[i] if i < len(handedness) else None)
        out.append(DetectedHand(pts, actual_side(label, mirrored), label, score))
    return out


def _majority_side(sides: Sequence[str], source: str) -> tuple[str, list[str]]:
    known = [s for s in sides if s in ("left", "right")]
    if not known:
        return "right", [f"{source}: no handedness reported; assumed a right hand."]
    counts = Counter(known)
    side = counts.most_common(1)[0][0]
    notes = []
    if len(counts) > 1:
        other = [i for i, s in enumerate(sides) if s in ("left", "right") and s != side]
        notes.append(
            f"{source}: handedness is {side} in most frames but the other side in {len(other)} frame(s) "
            f"(first: {other[:5]}); those frames are mirrored (x → −x) into {side} hands."
        )
    return side, notes


#: Median PIP/DIP flexion (degrees) beyond which a frame's geometry decides its side (see :func:`geometry_sides`).
GEOMETRY_THRESHOLD_DEG = 5.0


def geometry_sides(joints: np.ndarray, threshold_deg: float = GEOMETRY_THRESHOLD_DEG) -> np.ndarray:
    """Per frame ``(T,)`` the side the geometry says: ``"right"``, ``"left"`` or ``"unknown"``.

    Measured as a right hand, a right hand's PIP and DIP joints flex forwards (positive); a left hand's come
    out mirrored (negative). A frame whose median PIP/DIP flexion lies within ±``threshold_deg`` (a flat
    hand), or that has missing joints, is ``"unknown"``.
    """
    from ..anatomy import AngleJoint
    from ..skeleton import HandSkeleton

    joints = np.asarray(joints, dtype=np.float64).reshape(-1, NUM_JOINTS, 3)
    out = np.full(len(joints), "unknown", dtype=object)
    ok = np.isfinite(joints).all(axis=(1, 2))
    if not ok.any():
        return out
    angles = np.asarray(HandSkeleton.unchecked(joints[ok], units="ref").joint_angles)
    cols = [int(AngleJoint[f"{f}_{j}"]) for f in ("index", "middle", "ring", "little") for j in ("pip", "dip")]
    median = np.degrees(np.median(angles[:, cols, 0], axis=1))
    out[ok] = np.where(median > threshold_deg, "right", np.where(median < -threshold_deg, "left", "unknown"))
    return out


def _read_labels_by_geometry(
    geometry: Sequence[str], sides: Sequence[str], who: str, what: str, notes: list[str]
) -> list[str]:
    """``sides`` (from handedness labels) swapped when most entries with both a clear ``geometry`` side
    (:func:`geometry_sides`) and a label contradict it, with a note (``who`` disagrees … in k of n ``what``)."""
    known = [(g, s) for g, s in zip(geometry, sides, strict=True) if g != "unknown" and s != "unknown"]
    flipped = sum(g != s for g, s in known)
    if not known or flipped <= len(known) / 2:
        return list(sides)
    notes.append(
        f"{who} disagrees with the geometry (fingers flexing forwards) in {flipped} of {len(known)} {what}: the "
        "labels are read the other way round."
    )
    swap = {"left": "right", "right": "left"}
    return [swap.get(s, s) for s in sides]


def _to_sequence(
    joints: np.ndarray,
    sides: Sequence[str],
    kind: Kind,
    fps: float | None,
    source: str,
    pixels: bool,
    notes=(),
    handedness: str = "auto",
    times: np.ndarray | None = None,
) -> HandSequence:
    sides = list(sides)
    notes = list(notes)
    if handedness == "auto":  # the geometry decides which way the labels are meant
        geometry = geometry_sides(joints)
        sides = _read_labels_by_geometry(geometry, sides, f"{source}: the reported handedness", "frame(s)", notes)
        unlabelled = [i for i, s in enumerate(sides) if s == "unknown" and geometry[i] != "unknown"]
        for i in unlabelled:  # no label: the geometry where it is clear
            sides[i] = geometry[i]
    side, side_notes = _majority_side(sides, source)
    notes += side_notes
    other = np.array([s in ("left", "right") and s != side for s in sides], dtype=bool)
    if other.any():  # a hand of the other side, mirrored so that every frame is a `side` hand
        joints = joints.copy()
        joints[other, :, 0] *= -1
    units = "m"
    if kind == "image":
        if not pixels:
            raise FileFormatError(
                f"{source}: image landmarks are normalised by the image width and height; pass image_size=(W, H) "
                "to undo that (angles would be distorted by the aspect ratio otherwise), or use kind='world'."
            )
        units = "ref"
        ref = np.linalg.norm(joints[:, 9] - joints[:, 0], axis=-1)
        joints = joints / np.where(ref > 0, ref, np.nan)[:, None, None]
    return HandSequence.from_array(
        joints, units=units, fps=fps, side=side, times=times, source=source, notes=tuple(notes)
    )


def sequence_from_results(
    results: Sequence[Any],
    fps: float | None = None,
    kind: Kind = "world",
    *,
    image_size: Sequence[int] | None = None,
    mirrored: bool = False,
    handedness: Literal["auto", "label"] = "auto",
    source: str = "mediapipe",
) -> HandSequence:
    """One MediaPipe result per frame → a sequence of the first detected hand; frames without a hand are masked.

    ``handedness="auto"``: each frame's side from its geometry where clear (:func:`geometry_sides`), else from
    MediaPipe's label (swapped unless ``mirrored``); ``"label"``: from the label only."""
    joints = np.full((len(results), NUM_JOINTS, 3), np.nan)
    sides = []
    for t, res in enumerate(results):
        hands = hands_from_result(res, kind, image_size=image_size, mirrored=mirrored)
        if hands:
            joints[t] = hands[0].joints
            sides.append(hands[0].side)
        else:
            sides.append("unknown")
    return _to_sequence(joints, sides, kind, fps, source, pixels=image_size is not None, handedness=handedness)


def is_mediapipe_file(path: str | os.PathLike) -> bool:
    """True for the MediaPipe dumps :func:`load_mediapipe` reads."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npz":
            data = _read.read_npz(path)
            return "world_landmarks_m" in data or "landmarks_norm" in data
        if path.suffix.lower() == ".json":
            data = _read.read_json(path)
            return _result_frames(data) is not None or (
                isinstance(data, dict)
                and "joints" not in data
                and bool(data)
                and all(isinstance(v, dict) and ("landmarks" in v or "landmarks_norm" in v) for v in data.values())
            )
    except FileFormatError:  # unreadable: the format's own reader says why
        return False
    return False


def _entry_label(value: Any, where: str) -> str:
    """MediaPipe's label from a dump's ``handedness`` field: ``"Right"``, ``["Right"]``, ``[["Right", 0.98]]`` or
    ``[{"category_name": "Right", …}]`` (the first hand's); ``""`` when absent."""
    first = value
    while isinstance(first, (list, tuple)):
        first = first[0] if first else None
    if isinstance(first, Mapping):
        first = first.get("category_name") or first.get("label")
    if first is None:
        return ""
    if not isinstance(first, str):
        raise FileFormatError(
            f'{where}: \'handedness\' is {value!r}; expected MediaPipe\'s label, e.g. [["Right", 0.98]] or ["Right"].'
        )
    return first


def load_mediapipe(
    path: str | os.PathLike,
    kind: Kind = "world",
    *,
    fps: float | None = None,
    image_size: Sequence[int] | None = None,
    mirrored: bool = False,
    handedness: Literal["auto", "label"] = "auto",
    time_unit: str | None = None,
) -> HandSequence:
    """A saved MediaPipe dump (see the module docs) as a sequence; entries without the requested landmarks
    are masked and reported. A JSON dump may also hold MediaPipe results as mappings (``result.__dict__``,
    ``dataclasses.asdict(result)``): one, a list (one per frame; a time field per frame such as ``timestamp_ms``
    gives the times, see :func:`handkin.io.read_csv`), or names → results. ``mirrored``: whether MediaPipe saw mirrored images (default no: labels swapped);
    ``handedness``: as in :func:`sequence_from_results`."""
    path = Path(path)
    if kind not in ("world", "image"):
        raise ValueError(f"kind must be 'world' or 'image', got {kind!r}.")
    source = str(path)
    if image_size is not None:
        image_size = _image_size(image_size)
    if path.suffix.lower() == ".npz":
        data = _read.read_npz(path)
        key = "world_landmarks_m" if kind == "world" else "landmarks_norm"
        if key not in data:
            raise FileFormatError(f"{path} has no {key!r} array (it holds {', '.join(data)}).")
        joints = _read.numbers(data[key], path, repr(key))
        if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3):
            raise FileFormatError(f"{key!r} in {path} has shape {joints.shape}; expected (T, 21, 3).")
        labels = [""] * len(joints)
        if "handedness" in data:
            raw = data["handedness"]
            if raw.shape != (len(joints),):
                raise FileFormatError(
                    f"'handedness' in {path} has shape {raw.shape}; expected one label per frame ({len(joints)},)."
                )
            labels = [v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in raw.tolist()]
        if image_size is None and "image_size" in data:
            image_size = _image_size(data["image_size"], f"'image_size' in {path}", FileFormatError)
        if fps is None:
            fps = _read.fps(data.get("fps"), path)
        if kind == "image" and image_size is not None:
            joints = image_to_pixels(joints, image_size)
        times = _read.numbers(data["times"], path, "'times'") if "times" in data else None
        if "sides" in data:  # the sides a detection run already decided (handkin.io.video): kept as they are
            sides, handedness = [str(v) for v in data["sides"].tolist()], "label"
        else:
            sides = [actual_side(lab, mirrored) for lab in labels]
        return _to_sequence(
            joints, sides, kind, fps, source, pixels=image_size is not None, handedness=handedness, times=times
        )
    data = _read.read_json(path)
    frames = _result_frames(data)
    if frames is not None:
        return _from_result_dicts(frames, path, kind, fps, image_size, mirrored, handedness, time_unit)
    if not isinstance(data, dict) or not data:
        raise FileFormatError(f"{path} is not a MediaPipe dump (a JSON object of named results).")
    names = list(data)
    joints = np.full((len(names), NUM_JOINTS, 3), np.nan)
    sides, absent = [], []
    pixels = True
    keys = ("world_landmarks_m", "world_landmarks") if kind == "world" else ("landmarks_norm", "landmarks")
    for t, name in enumerate(names):
        entry = data[name]
        where = f"{path}, entry {name!r}"
        if not isinstance(entry, dict):
            raise FileFormatError(f"{where} is {type(entry).__name__}, not an object with {keys[0]!r} / {keys[1]!r}.")
        key = next((k for k in keys if entry.get(k) is not None), None)
        arr = np.empty((0, 3)) if key is None else _read.numbers(entry[key], path, f"{key!r} of entry {name!r}")
        if arr.ndim == 3:  # several hands per image: the first
            arr = arr[0] if len(arr) else np.empty((0, 3))
        label = _entry_label(entry.get("handedness"), where)
        if arr.shape != (NUM_JOINTS, 3):
            absent.append(name)
            sides.append("unknown")
            continue
        if kind == "image":
            size = image_size
            if entry.get("image_size") is not None:
                size = _image_size(entry["image_size"], f"{where}: 'image_size'", FileFormatError)
            if size is None:
                pixels = False
            else:
                arr = image_to_pixels(arr, size)
        joints[t] = arr
        sides.append(actual_side(label, mirrored))
    notes: list[str] = []
    if absent:
        notes.append(f"{path}: {len(absent)} entr(y/ies) without {kind} landmarks masked: {', '.join(absent)}.")
    return _to_sequence(joints, sides, kind, fps, source, pixels=pixels, notes=notes, handedness=handedness)


def _from_result_dicts(frames, path: Path, kind, fps, image_size, mirrored, handedness, time_unit) -> HandSequence:
    """A sequence from ``[(name, result mapping), …]`` (:func:`_result_frames`): the first hand of each."""
    from . import _time

    entries, top = frames
    if image_size is None and top.get("image_size") is not None:
        image_size = _image_size(top["image_size"], f"'image_size' in {path}", FileFormatError)
    if fps is None:
        fps = _read.fps(top.get("fps"), path)
    joints = np.full((len(entries), NUM_JOINTS, 3), np.nan)
    sides = []
    for t, (name, result) in enumerate(entries):
        try:
            hands = hands_from_result(result, kind, image_size=image_size, mirrored=mirrored)
        except HandkinError as exc:
            raise FileFormatError(f"{path}, result {name!r}: {exc}") from None
        joints[t] = hands[0].joints if hands else np.nan
        sides.append(hands[0].side if hands else "unknown")
    keys = [k for k in entries[0][1] if k not in (*RESULT_KEYS, "handedness", "multi_handedness")]
    found = _time.find(keys, path)
    times, notes = None, []
    if found is not None:
        name = keys[found[0]]
        missing = [n for n, r in entries if r.get(name) is None]
        if missing:
            raise FileFormatError(f"{path}: result(s) {', '.join(missing[:5])} have no {name!r} (the first has).")
        values = _read.numbers([r[name] for _, r in entries], path, repr(name))
        times, fps, notes = _time.seconds(values, name, found[1], _time.time_unit(time_unit), fps, path)
    return _to_sequence(joints, sides, kind, fps, str(path), image_size is not None, notes, handedness, times=times)


__all__ = [
    "DetectedHand",
    "actual_side",
    "hands_from_result",
    "sequence_from_results",
    "load_mediapipe",
    "is_mediapipe_file",
    "image_to_pixels",
    "geometry_sides",
]
