"""Videos → hand sequences: MediaPipe's HandLandmarker (Tasks API, VIDEO mode) on every frame.

>>> from handkin.io.video import sequence_from_video
>>> seq = sequence_from_video("clip.mp4", "hand_landmarker.task", duration=2.0)   # doctest: +SKIP

Needs ``pip install handkin[mediapipe]`` (mediapipe, which brings OpenCV; frames are read with OpenCV's
``cv2.VideoCapture``). The model bundle (``hand_landmarker.task``) is given by the caller: nothing is downloaded.

Per frame the landmarker gets the RGB image and the frame's timestamp in milliseconds (frame index / the video's
fps). Every detected hand is kept: world landmarks (metres) and image landmarks (normalised → pixels: x·W, y·H,
z·W). Each hand's side comes from its geometry (:func:`handkin.io.mediapipe.geometry_sides`) where that is clear,
else from MediaPipe's label read the way the geometry of the other frames says it is meant (MediaPipe assumes
mirrored input; the same video gives "Left" in one version and "Right" in another). The sequence follows one
hand: the side asked for, or the side seen most; per frame its most confident detection.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..anatomy import NUM_JOINTS
from ..errors import FileFormatError, HandkinError
from ..files import atomic_write
from ..progress import progress as _progress
from .mediapipe import _read_labels_by_geometry, _to_sequence, geometry_sides, hands_from_result
from .sequence import HandSequence

#: File suffixes read as videos.
VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")

MEDIAPIPE_HINT = "pip install handkin[mediapipe]"


def is_video(path: str | os.PathLike) -> bool:
    """Whether ``path`` has a video suffix (:data:`VIDEO_SUFFIXES`)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


class _Landmarker:
    """MediaPipe's HandLandmarker behind ``detect_for_video(rgb (H, W, 3) uint8, timestamp_ms) → result``."""

    def __init__(self, mp: Any, landmarker: Any) -> None:
        self._mp, self._landmarker = mp, landmarker

    def detect_for_video(self, rgb: np.ndarray, timestamp_ms: int) -> Any:
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        return self._landmarker.detect_for_video(image, int(timestamp_ms))

    def close(self) -> None:
        self._landmarker.close()


def make_landmarker(detector_model: str | os.PathLike, *, num_hands: int = 2, min_confidence: float = 0.5) -> Any:
    """The hand detector: MediaPipe's HandLandmarker (VIDEO running mode, CPU) from the bundle ``detector_model``.

    The one place it is built (tests replace it with an object that has the same ``detect_for_video``)."""
    model = Path(detector_model)
    if not model.is_file():
        raise FileFormatError(
            f"no hand detector model at {model}: pass --detector-model (detector_model=) the path of a MediaPipe "
            "hand_landmarker.task bundle; handkin never downloads models."
        )
    try:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision
    except ImportError as exc:
        raise ImportError(f"running the hand detector on a video needs mediapipe: {MEDIAPIPE_HINT}.") from exc
    options = vision.HandLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model)),
        running_mode=vision.RunningMode.VIDEO,
        num_hands=num_hands,
        min_hand_detection_confidence=min_confidence,
        min_hand_presence_confidence=min_confidence,
        min_tracking_confidence=min_confidence,
    )
    try:
        landmarker = vision.HandLandmarker.create_from_options(options)
    except (RuntimeError, ValueError) as exc:
        raise FileFormatError(f"cannot load {model} as a MediaPipe hand landmarker bundle: {exc}") from exc
    return _Landmarker(mp, landmarker)


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as exc:
        raise ImportError(
            f"reading video frames needs OpenCV (cv2), which mediapipe brings: {MEDIAPIPE_HINT}."
        ) from exc
    return cv2


@dataclass(frozen=True)
class VideoInfo:
    """What a video file says of itself."""

    fps: float
    width: int
    height: int
    frames: int
    """The frame count the container states (may be approximate)."""


def video_info(path: str | os.PathLike) -> VideoInfo:
    """The frame rate, frame size and frame count of a video."""
    cv2 = _cv2()
    cap = _open(cv2, Path(path))
    try:
        return _info(cv2, cap, Path(path), None)
    finally:
        cap.release()


def _open(cv2: Any, path: Path) -> Any:
    if not path.exists():
        raise FileFormatError(f"no such file: {path}.")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise FileFormatError(f"cannot open {path} as a video (OpenCV could not decode it).")
    return cap


def _info(cv2: Any, cap: Any, path: Path, fps: float | None) -> VideoInfo:
    """The video's frame rate (``fps`` when given, else the file's), size and frame count."""
    fps = float(fps or cap.get(cv2.CAP_PROP_FPS) or 0.0)
    if not np.isfinite(fps) or fps <= 0:
        raise FileFormatError(f"{path} does not state its frame rate: pass fps=.")
    size = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    return VideoInfo(fps, size[0], size[1], max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT))))


def _frames(cv2: Any, cap: Any, first: int, stop: int | None) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, RGB frame)`` from frame ``first`` up to (excluding) ``stop``."""
    if first:
        cap.set(cv2.CAP_PROP_POS_FRAMES, first)
    index = first
    while stop is None or index < stop:
        ok, bgr = cap.read()
        if not ok:
            return
        yield index, bgr[:, :, ::-1]
        index += 1


@dataclass(frozen=True, eq=False)
class VideoLandmarks:
    """Every frame's chosen hand from a video.

    ``world_m`` ``(T, 21, 3)`` metres and ``image_px`` ``(T, 21, 3)`` pixels (x·W, y·H, z·W), NaN where no hand of
    the followed side was found; ``times`` ``(T,)`` seconds in the video; ``hands`` ``(T,)`` hands detected per
    frame; ``labels``/``scores`` MediaPipe's handedness of the chosen hand; ``sides`` its side; ``side`` the side
    followed; ``notes`` what was noticed (labels read the other way, frames without that side's hand)."""

    world_m: np.ndarray
    image_px: np.ndarray
    times: np.ndarray
    hands: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    sides: np.ndarray
    side: str
    fps: float
    image_size: tuple[int, int]
    source: str
    notes: tuple[str, ...] = ()

    def sequence(self, kind: Literal["world", "image"] = "world") -> HandSequence:
        """The followed hand as a :class:`HandSequence` (world: metres; image: pixels normalised to ``ref``)."""
        joints = self.world_m if kind == "world" else self.image_px
        sides = [s if ok else "unknown" for s, ok in zip(self.sides, self.hands > 0, strict=True)]
        return _to_sequence(
            joints, sides, kind, self.fps, self.source, True, self.notes, handedness="label", times=self.times
        )

    def save(self, path: str | os.PathLike) -> Path:
        """An NPZ in the MediaPipe dump layout (:func:`handkin.io.load` reads it back without the detector):
        ``world_landmarks_m``, ``landmarks_norm``, ``handedness`` (labels), ``image_size``, ``fps``, ``times``,
        ``hands``, ``sides``."""
        path = Path(path)
        w, h = self.image_size
        with atomic_write(path) as f:
            np.savez(
                f,
                world_landmarks_m=self.world_m,
                landmarks_norm=self.image_px / np.array([w, h, w]),
                handedness=self.labels.astype(str),
                image_size=np.array([w, h]),
                fps=self.fps,
                times=self.times,
                hands=self.hands,
                sides=self.sides.astype(str),
            )
        return path


def detect_video(
    path: str | os.PathLike,
    detector_model: str | os.PathLike | None = None,
    *,
    landmarker: Any = None,
    side: str = "auto",
    fps: float | None = None,
    start: float = 0.0,
    duration: float | None = None,
    max_frames: int | None = None,
    mirrored: bool = False,
    progress: bool = False,
) -> VideoLandmarks:
    """Run the hand landmarker on the frames of ``path`` from ``start`` s for ``duration`` s (or ``max_frames``).

    ``landmarker``: an object with ``detect_for_video(rgb, timestamp_ms)`` (default :func:`make_landmarker` of
    ``detector_model``); ``side``: the hand to follow (``"right"``/``"left"``, default the side seen most);
    ``fps``: overrides the video's own; ``mirrored``: whether the video is mirrored (selfie view)."""
    path = Path(path)
    if landmarker is None and detector_model is None:
        raise FileFormatError(
            f"{path} is a video: pass --detector-model PATH (detector_model=), a MediaPipe hand_landmarker.task "
            "bundle, to detect the hands in it (handkin never downloads models)."
        )
    if side not in ("auto", "right", "left"):
        raise FileFormatError(f"side must be 'auto', 'right' or 'left' for a video, got {side!r}.")
    for name, value in (("start", start), ("duration", duration), ("max_frames", max_frames)):
        if value is not None and (not np.isfinite(value) or value < 0 or (name != "start" and value == 0)):
            raise FileFormatError(f"{name} must be a positive number (start may be 0), got {value!r}.")
    cv2 = _cv2()
    owned = landmarker is None
    if owned:
        landmarker = make_landmarker(detector_model)
    cap = None
    try:
        cap = _open(cv2, path)
        info = _info(cv2, cap, path, fps)
        rate = info.fps
        first = int(round(start * rate))
        count = None if duration is None else max(1, int(round(duration * rate)))
        if max_frames is not None:
            count = int(max_frames) if count is None else min(count, int(max_frames))
        total = count
        if total is None and info.frames:
            total = max(0, info.frames - first)
        size = (info.width, info.height)
        found: list[list[tuple[np.ndarray, np.ndarray, str, float]]] = []
        index: list[int] = []
        with _progress(total=total, desc=f"hands in {path.name}", unit="frame", enabled=progress) as bar:
            for i, rgb in _frames(cv2, cap, first, None if count is None else first + count):
                result = landmarker.detect_for_video(rgb, int(round(i * 1000.0 / rate)))
                world = hands_from_result(result, "world", mirrored=mirrored)
                image = hands_from_result(result, "image", image_size=size, mirrored=mirrored)
                found.append([(w.joints, m.joints, w.label, w.score) for w, m in zip(world, image, strict=False)])
                index.append(i)
                bar.update(1)
    finally:
        if cap is not None:
            cap.release()
        if owned and hasattr(landmarker, "close"):
            landmarker.close()
    if not found:
        raise FileFormatError(f"{path}: no frame read from {start:g} s on (the video has {info.frames} frames).")
    return _choose(found, np.asarray(index), rate, size, str(path), side, mirrored)


def _choose(found, index: np.ndarray, fps: float, size, source: str, side: str, mirrored: bool) -> VideoLandmarks:
    """Side per detected hand (geometry where clear, else the label read the way the geometry says) and the one
    hand per frame to follow."""
    from .mediapipe import actual_side

    flat = [(t, h) for t, hands in enumerate(found) for h in hands]
    T = len(found)
    world = np.full((T, NUM_JOINTS, 3), np.nan)
    image = np.full((T, NUM_JOINTS, 3), np.nan)
    labels = np.full(T, "", dtype=object)
    scores = np.full(T, np.nan)
    sides = np.full(T, "unknown", dtype=object)
    hands = np.array([len(h) for h in found])
    notes: list[str] = []
    if flat:
        geometry = geometry_sides(np.stack([h[0] for _, h in flat]))
        read = [actual_side(h[2], mirrored) for _, h in flat]
        read = _read_labels_by_geometry(geometry, read, f"{source}: MediaPipe's handedness", "detections", notes)
        label_sides = np.array(read, dtype=object)
        hand_sides = np.where(geometry != "unknown", geometry, label_sides)
        known = [s for s in hand_sides if s != "unknown"]
        target = side if side != "auto" else (Counter(known).most_common(1)[0][0] if known else "right")
        best: dict[int, int] = {}
        for k, (t, h) in enumerate(flat):
            if hand_sides[k] in (target, "unknown") and (
                t not in best
                or _rank(hand_sides[k], h[3], target) > _rank(hand_sides[best[t]], flat[best[t]][1][3], target)
            ):
                best[t] = k
        for t, k in best.items():
            w, m, label, score = flat[k][1]
            world[t], image[t], labels[t], scores[t], sides[t] = w, m, label, score, target
        others = sorted(set(t for t, _ in flat) - set(best))
        if others:
            notes.append(
                f"{source}: {len(others)} frame(s) show only a {'left' if target == 'right' else 'right'} hand "
                f"(first: {[int(index[t]) for t in others[:5]]}); the sequence follows the {target} hand and masks them."
            )
    else:
        target = side if side != "auto" else "right"
    empty = int((hands == 0).sum())
    if empty:
        notes.append(f"{source}: no hand detected in {empty} of {T} frame(s).")
    chosen = np.where(np.isfinite(world).all(axis=(1, 2)), sides, "unknown")
    return VideoLandmarks(
        world, image, index / fps, hands, labels.astype(str), scores, chosen.astype(str), target, fps,
        (int(size[0]), int(size[1])), source, tuple(notes),
    )  # fmt: skip


def _rank(hand_side: str, score: float, target: str) -> tuple[bool, float]:
    """A detection known to be of the ``target`` side beats an unknown one; then the higher score."""
    return hand_side == target, float(np.nan_to_num(score, nan=0.0))


def sequence_from_video(
    path: str | os.PathLike,
    detector_model: str | os.PathLike | None = None,
    *,
    kind: Literal["world", "image"] = "world",
    save_landmarks: str | os.PathLike | None = None,
    **options: Any,
) -> HandSequence:
    """A video's hand as a :class:`HandSequence`: :func:`detect_video` (``options``: ``landmarker``, ``side``,
    ``fps``, ``start``, ``duration``, ``max_frames``, ``mirrored``, ``progress``), world landmarks in metres by
    default (``kind="image"``: pixels normalised to ``ref``), times in seconds, fps the video's.
    ``save_landmarks``: also write the detections as an NPZ (:meth:`VideoLandmarks.save`)."""
    try:
        found = detect_video(path, detector_model, **options)
    except HandkinError as exc:
        if str(path) in str(exc):
            raise
        raise type(exc)(f"{path}: {exc}") from None
    if save_landmarks is not None:
        found.save(save_landmarks)
    return found.sequence(kind)


__all__ = [
    "VIDEO_SUFFIXES",
    "VideoInfo",
    "VideoLandmarks",
    "is_video",
    "video_info",
    "make_landmarker",
    "detect_video",
    "sequence_from_video",
]
