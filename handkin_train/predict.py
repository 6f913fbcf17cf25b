"""Predicting hands in ordinary photos: find the hand, crop it as training does, run the network, map back.

A photo becomes one crop per hand. Where the hand is comes from one of

* a **box** ``(x0, y0, x1, y1)`` in the photo's pixels (:func:`read_boxes`: one box for every image, or a JSON
  file mapping image names to boxes);
* **2D keypoints** (:func:`read_keypoints`): a MediaPipe results JSON (``landmarks_norm``, ``handedness``,
  ``world_landmarks_m`` per image, as ``handkin.io.mediapipe`` reads) or a plain JSON of per-image ``(21, 2)``
  pixel keypoints; the hand box is the keypoints' box, as for training crops;
* MediaPipe's **hand detector** (:class:`Detector`, a HandLandmarker ``.task`` bundle; the ``mediapipe``
  extra);
* nothing: the square centre crop of the image (side ``min(W, H)``; the caller warns).

A hand box becomes the crop exactly as training crops are made (:func:`~.data.crops.hand_box` with the run's
``pad``, then :func:`~.data.crops.crop_geometry` and :func:`~.data.crops.warp_image`), so the crop's
intrinsics are ``K_crop = T K`` with the photo's ``K = [[f, 0, (W−1)/2], [0, f, (H−1)/2], [0, 0, 1]]``
(pixel centres at integers; ``f`` given or :func:`nominal_focal`). Left hands are mirrored into right hands
(as training does) and mirrored back. The results are in the photo's frame: 2D keypoints in its pixels
(``T⁻¹`` of the crop's), 3D joints in its camera frame (``Qᵀ`` of the crop's; mm with ``reference_mm``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from handkin.anatomy import BONE_CHILD_INDEX, BONE_PARENT_INDEX, NUM_JOINTS, Bone
from handkin.errors import FileFormatError, ShapeError

from .data.crops import apply_affine, crop_geometry, hand_box, warp_image
from .data.files import open_image
from .data.records import bbox_from_uv
from .errors import ConfigError

SOURCES = ("bbox", "keypoints", "detector", "centre")
"""Where a crop's hand location came from."""


class HandLocation(NamedTuple):
    """One hand to crop in a photo."""

    source: str
    """``bbox``, ``keypoints``, ``detector`` or ``centre``."""
    box: np.ndarray | None
    """(4,) the hand's box ``(x0, y0, x1, y1)`` in photo pixels (before ``pad``); None for the centre crop."""
    side: str
    """``right`` or ``left`` (left hands are mirrored for the network)."""
    keypoints: np.ndarray | None = None
    """(21, 2) the 2D keypoints the box was built from (photo pixels, NaN where missing), if any."""


class HandCrop(NamedTuple):
    """A batch of ``N`` crops and their maps."""

    images: np.ndarray
    """(N, size, size, 3) uint8."""
    T: np.ndarray
    """(N, 3, 3) photo pixels → crop pixels (mirror included)."""
    Q: np.ndarray
    """(N, 3, 3) photo camera frame → crop camera frame (diag(−1, 1, 1) for left hands, else identity)."""
    K: np.ndarray
    """(N, 3, 3) the crops' intrinsics ``T K Qᵀ``."""
    crop_box: np.ndarray
    """(N, 4) the square each crop covers, photo pixels ``(x0, y0, x1, y1)``."""


# ------------------------------------------------------------------------------------------- images
def nominal_focal(width: int, height: int) -> float:
    """The photo focal length (px) assumed without ``--focal``: the longer side (a 53° field of view across it,
    about a webcam's or a phone's front camera)."""
    return float(max(width, height))


def photo_intrinsics(width: int, height: int, focal: float | None = None) -> np.ndarray:
    """``K (3, 3)`` of a photo: ``fx = fy = focal`` (default :func:`nominal_focal`), principal point at the
    image centre ``((W − 1) / 2, (H − 1) / 2)`` (pixel centres at integers), no skew."""
    from handkin import camera

    f = nominal_focal(width, height) if focal is None else float(focal)
    if not np.isfinite(f) or f <= 0:
        raise ConfigError(f"--focal must be a positive number of pixels, got {focal!r}.")
    return camera.intrinsics(f, f, (width - 1) / 2.0, (height - 1) / 2.0)


# ------------------------------------------------------------------------------------------- boxes
def _number_list(text: str) -> list[float] | None:
    parts = text.replace(" ", "").split(",")
    try:
        return [float(p) for p in parts] if len(parts) == 4 else None
    except ValueError:
        return None


def read_boxes(spec: str) -> np.ndarray | dict[str, np.ndarray]:
    """``--bbox``: ``"x0,y0,x1,y1"`` (one box for every image, photo pixels) → ``(4,)``; otherwise a JSON file
    mapping image names to a box ``[x0, y0, x1, y1]`` or a list of boxes (one hand each) → ``{name: (H, 4)}``."""
    numbers = _number_list(spec)
    if numbers is not None:
        return np.array(numbers, dtype=np.float64)
    data = _read_json(Path(spec), "--bbox takes x0,y0,x1,y1 or a JSON file mapping image names to boxes")
    out = {}
    for name, value in data.items():
        try:
            boxes = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            boxes = np.empty(0)
        boxes = boxes.reshape(1, -1) if boxes.ndim == 1 else boxes
        if boxes.ndim != 2 or boxes.shape[-1] != 4:
            raise FileFormatError(
                f"{spec}: the box of {name!r} must be [x0, y0, x1, y1] or a list of them, got {value!r}."
            )
        out[str(name)] = boxes
    return out


def check_box(box: np.ndarray, width: int, height: int, where: str, min_inside: float = 0.5) -> np.ndarray:
    """A hand box ``(4,)`` in photo pixels, checked: finite, ``x1 > x0``, ``y1 > y0``, at least 2 px across and
    at least ``min_inside`` of its area (0: some of it) inside the ``width × height`` image; else a
    :class:`ShapeError` naming ``where``."""
    box = np.asarray(box, dtype=np.float64).reshape(4)
    x0, y0, x1, y1 = box
    if not np.all(np.isfinite(box)) or x1 <= x0 or y1 <= y0:
        raise ShapeError(f"{where}: a box is x0,y0,x1,y1 with x1 > x0 and y1 > y0 (photo pixels), got {box.tolist()}.")
    if max(x1 - x0, y1 - y0) < 2:
        raise ShapeError(
            f"{where}: the box {box.tolist()} is under 2 pixels across; boxes are in the photo's pixels, "
            "not normalised to [0, 1]."
        )
    inside = max(0.0, min(x1, width) - max(x0, 0.0)) * max(0.0, min(y1, height) - max(y0, 0.0))
    if inside <= 0 or inside < min_inside * (x1 - x0) * (y1 - y0):
        raise ShapeError(
            f"{where}: the box {box.tolist()} lies {'outside' if min_inside == 0 else 'mostly outside'} the "
            f"{width}×{height} image; give it in this image's pixels (x0,y0,x1,y1, origin top left)."
        )
    return box


# ------------------------------------------------------------------------------------------- keypoints
class _Keypoints(NamedTuple):
    """One hand of a keypoints file, before the image size is known."""

    uv: np.ndarray
    """(21, 2) pixels, or normalised to the image size when ``normalised``."""
    normalised: bool
    world: np.ndarray | None
    """(21, 3) MediaPipe world landmarks (metres), if given: their geometry tells the side."""
    label: str
    """MediaPipe's handedness label, or a side given in a plain file, or ''."""


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file ({what}).") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"{path}: not a readable JSON file ({what}): {exc}") from None
    if not isinstance(data, dict):
        raise FileFormatError(f"{path}: expected a JSON object mapping image names to entries ({what}).")
    return data


def _hands_array(value: Any, columns: tuple[int, ...], where: str) -> np.ndarray:
    """``(H, 21, c)`` from one hand ``(21, c)`` or a list of hands (JSON null → NaN)."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        arr = np.empty(0)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.size == 0 and isinstance(value, list):
        return np.empty((0, NUM_JOINTS, columns[0]))
    if arr.ndim != 3 or arr.shape[1] != NUM_JOINTS or arr.shape[2] not in columns:
        raise FileFormatError(
            f"{where}: expected 21 keypoints of {' or '.join(map(str, columns))} numbers per hand (one hand or a "
            f"list of hands), got an array of shape {arr.shape}."
        )
    return arr


def _labels(value: Any, n: int) -> list[str]:
    """MediaPipe handedness (``[[label, score], …]``, ``[label, …]`` or ``[{category_name}, …]``) → n labels."""
    out = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, list | tuple) and item:
            item = item[0]
        if isinstance(item, dict):
            item = item.get("category_name") or item.get("label") or ""
        out.append(str(item) if isinstance(item, str) else "")
    return (out + [""] * n)[:n]


def read_keypoints(path: str | os.PathLike) -> dict[str, list[_Keypoints]]:
    """A keypoints file → ``{image name: hands}``. Entries are one of

    * MediaPipe results: ``{"landmarks_norm": [hands × 21 × 3], "handedness": [[label, score], …],
      "world_landmarks_m": …}`` (``landmarks`` / ``world_landmarks`` also accepted; x, y normalised to the
      image's width and height);
    * plain pixel keypoints: ``[[u, v] × 21]`` or a list of such hands, or ``{"keypoints": …, "side": …}``
      (``null`` for a missing keypoint).
    """
    path = Path(path)
    data = _read_json(path, "--keypoints")
    out: dict[str, list[_Keypoints]] = {}
    for name, entry in data.items():
        where = f"{path}: entry {name!r}"
        if isinstance(entry, dict) and ("landmarks_norm" in entry or "landmarks" in entry):
            lm = _hands_array(entry.get("landmarks_norm", entry.get("landmarks")), (2, 3), where)
            world = entry.get("world_landmarks_m", entry.get("world_landmarks"))
            world = _hands_array(world, (3,), where) if world is not None else None
            if world is not None and len(world) != len(lm):
                world = None
            labels = _labels(entry.get("handedness"), len(lm))
            hands = [
                _Keypoints(lm[h, :, :2], True, None if world is None else world[h], labels[h]) for h in range(len(lm))
            ]
        elif isinstance(entry, dict) and "keypoints" in entry:
            uv = _hands_array(entry["keypoints"], (2,), where)
            sides = entry.get("sides", entry.get("side", ""))
            labels = _labels(sides if isinstance(sides, list) else [sides] * len(uv), len(uv))
            wrong = [x for x in labels if x.strip().lower() not in ("", "left", "right")]
            if wrong:
                raise FileFormatError(f"{where}: a side is 'left' or 'right', got {wrong[0]!r}.")
            hands = [_Keypoints(uv[h], False, None, labels[h]) for h in range(len(uv))]
        elif isinstance(entry, list):
            uv = _hands_array(entry, (2,), where)
            hands = [_Keypoints(uv[h], False, None, "") for h in range(len(uv))]
        else:
            raise FileFormatError(
                f"{where}: expected MediaPipe results (landmarks_norm, handedness) or pixel keypoints "
                "([[u, v] × 21], a list of hands, or {'keypoints': …})."
            )
        out[str(name)] = hands
    return out


def entry_for(mapping: Mapping[str, Any], image: str | os.PathLike, source: str) -> Any:
    """The entry of ``mapping`` for ``image``: the key equal to its path, else the key sharing the most
    trailing path parts with it (at least the file name; ``raw/call/x.jpg`` matches ``photos/call/x.jpg``).
    Missing or ambiguous → :class:`FileFormatError` naming ``source``."""
    image = str(image)
    if image in mapping:
        return mapping[image]
    parts = Path(image).parts
    best, score = [], 0
    for key in mapping:
        kp = Path(key).parts
        n = 0
        while n < min(len(kp), len(parts)) and kp[-1 - n] == parts[-1 - n]:
            n += 1
        if n > score:
            best, score = [key], n
        elif n == score and n > 0:
            best.append(key)
    if not best:
        examples = ", ".join(repr(k) for k in list(mapping)[:3])
        raise FileFormatError(
            f"{source} has no entry for image {image} (entries are matched by file name and the folders above it; "
            f"its keys look like {examples})."
        )
    if len(best) > 1:
        raise FileFormatError(
            f"{source}: image {image} matches several entries ({', '.join(map(repr, best[:4]))}); give the "
            "image's path as it is written in the file."
        )
    return mapping[best[0]]


def _side(label: str, world: np.ndarray | None, mediapipe: bool) -> str:
    """A hand's side: from the geometry of MediaPipe world landmarks where it is clear, else from the label
    (MediaPipe's swapped for an un-mirrored photo, see ``handkin.io.mediapipe``), else right."""
    from handkin.io.mediapipe import actual_side, geometry_sides

    if world is not None and np.isfinite(world).all():
        side = str(geometry_sides(world)[0])
        if side != "unknown":
            return side
    side = actual_side(label) if mediapipe else (label.strip().lower() if label else "unknown")
    return side if side in ("left", "right") else "right"


def keypoint_locations(
    hands: Sequence[_Keypoints], width: int, height: int, where: str, source: str = "keypoints"
) -> list[HandLocation]:
    """The hand locations of one image's keypoints: the box of the finite keypoints (as training's
    :func:`~.data.records.bbox_from_uv`), MediaPipe's normalised ones turned into pixels first
    (``x·W − 0.5, y·H − 0.5``: MediaPipe's pixel edges at integers, handkin's pixel centres)."""
    out = []
    for h, hand in enumerate(hands):
        uv = hand.uv * np.array([width, height]) - 0.5 if hand.normalised else hand.uv.copy()
        visible = np.isfinite(uv).all(axis=-1)
        if visible.sum() < 2:
            raise ShapeError(f"{where}, hand {h}: fewer than 2 finite keypoints, no hand box can be built from them.")
        # a hand at the image's edge has keypoints beyond it (MediaPipe places them): only some of the box
        # must be inside
        box = check_box(bbox_from_uv(uv[None], visible[None])[0], width, height, f"{where}, hand {h}", 0.0)
        side = _side(hand.label, hand.world, hand.normalised or hand.world is not None)
        out.append(HandLocation(source, box, side, np.where(visible[:, None], uv, np.nan)))
    return out


# ------------------------------------------------------------------------------------------- detector
class Detector:
    """MediaPipe's HandLandmarker (Tasks API) on photos: ``Detector(task_path)(image) → [_Keypoints]``.

    Needs the ``mediapipe`` package (``pip install 'handkin[mediapipe]'``) and a local ``.task`` bundle (never
    downloaded here). Use as a context manager, or call :meth:`close`."""

    def __init__(self, model_path: str | os.PathLike, num_hands: int = 2) -> None:
        try:
            import mediapipe as mp
            from mediapipe.tasks.python import vision
            from mediapipe.tasks.python.core.base_options import BaseOptions
        except ImportError as exc:
            raise ConfigError(
                f"--detector-model needs MediaPipe, which is not importable here ({exc}): pip install "
                "'handkin[mediapipe]' (or give the hand's location with --bbox or --keypoints)."
            ) from None
        path = Path(model_path)
        if not path.is_file():
            raise ConfigError(
                f"--detector-model {path}: no such file; give a local HandLandmarker .task bundle (it is never "
                "downloaded at run time)."
            )
        options = vision.HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.IMAGE,
            num_hands=num_hands,
        )
        try:
            self._landmarker = vision.HandLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            raise ConfigError(f"--detector-model {path}: MediaPipe cannot load it as a HandLandmarker: {exc}") from None
        self._mp = mp

    def __call__(self, image) -> list[_Keypoints]:
        """The hands MediaPipe finds in a PIL RGB image (normalised landmarks, world landmarks, labels)."""
        from handkin.io.mediapipe import hands_from_result

        array = np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
        result = self._landmarker.detect(self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=array))
        image_hands = hands_from_result(result, "image")
        world_hands = hands_from_result(result, "world")
        return [
            _Keypoints(i.joints[:, :2], True, w.joints if len(world_hands) == len(image_hands) else None, i.label)
            for i, w in zip(image_hands, world_hands or image_hands, strict=False)
        ]

    def close(self) -> None:
        self._landmarker.close()

    def __enter__(self) -> Detector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------------------- locate
def locate_hands(
    image_path: str | os.PathLike,
    image,
    *,
    boxes: np.ndarray | Mapping[str, np.ndarray] | None = None,
    keypoints: Mapping[str, Sequence[_Keypoints]] | None = None,
    detector: Detector | None = None,
    side: str = "auto",
    sources: Mapping[str, str] | None = None,
) -> list[HandLocation]:
    """The hands to crop in one photo (a PIL image read from ``image_path``): from ``boxes`` (one ``(4,)`` box
    or ``{name: (H, 4)}``), ``keypoints`` (:func:`read_keypoints`), ``detector``, else the centre crop.
    ``side``: ``auto`` (keypoints: geometry/label, others: right), ``right`` or ``left`` for every hand.
    ``sources`` names the files in error messages (``{"bbox": …, "keypoints": …}``)."""
    sources = sources or {}
    w, h = image.size
    where = f"image {image_path}"
    if boxes is not None:
        given = boxes if isinstance(boxes, np.ndarray) else entry_for(boxes, image_path, sources.get("bbox", "--bbox"))
        given = np.asarray(given, dtype=np.float64).reshape(-1, 4)
        found = [HandLocation("bbox", check_box(b, w, h, f"--bbox for {where}"), "right") for b in given]
    elif keypoints is not None:
        hands = entry_for(keypoints, image_path, sources.get("keypoints", "--keypoints"))
        found = keypoint_locations(hands, w, h, f"{sources.get('keypoints', '--keypoints')} for {where}")
    elif detector is not None:
        found = keypoint_locations(detector(image), w, h, f"the detector on {where}", "detector")
    else:
        found = [HandLocation("centre", None, "right")]
    if side in ("left", "right"):
        found = [f._replace(side=side) for f in found]
    elif side != "auto":
        raise ConfigError(f"--side must be auto, right or left, got {side!r}.")
    return found


# ------------------------------------------------------------------------------------------- crop, run, map back
def crop_hands(image, hands: Sequence[HandLocation], K: np.ndarray, size: int, pad: float) -> HandCrop:
    """The crops of ``hands`` in one photo (PIL image, intrinsics ``K (3, 3)``) as training makes them: the hand
    box's larger side × ``pad`` becomes the ``size`` px crop around the box centre, left hands mirrored. The
    centre crop is the central ``min(W, H)`` square."""
    w, h = image.size
    n = len(hands)
    centre = np.empty((n, 2))
    side = np.empty(n)
    for i, hand in enumerate(hands):
        if hand.box is None:
            centre[i], side[i] = ((w - 1) / 2.0, (h - 1) / 2.0), float(min(w, h))
        else:
            c, s = hand_box(hand.box[None], pad)
            centre[i], side[i] = c[0], s[0]
    mirror = np.array([hand.side == "left" for hand in hands])
    Ks = np.broadcast_to(np.asarray(K, dtype=np.float64), (n, 3, 3))
    geom = crop_geometry(
        Ks, np.zeros((n, NUM_JOINTS, 2)), np.zeros((n, NUM_JOINTS, 3)), centre, side, size, mirror=mirror
    )
    images = (
        np.stack([warp_image(image, geom.T[i], size) for i in range(n)])
        if n
        else np.empty((0, size, size, 3), np.uint8)
    )
    box = np.concatenate([centre - side[:, None] / 2, centre + side[:, None] / 2], axis=1)
    return HandCrop(images, geom.T, geom.Q, geom.K, box)


def to_photo(
    T: np.ndarray, Q: np.ndarray, uv_crop: np.ndarray, joints_crop: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Crop results back in the photo: ``uv (N, 21, 2)`` photo pixels (``T⁻¹``) and ``joints (N, 21, 3)`` in
    the photo's camera frame (``Qᵀ``; same unit), from ``uv_crop (N, 21, 2)`` and ``joints_crop (N, 21, 3)``."""
    uv = apply_affine(np.linalg.inv(np.asarray(T, dtype=np.float64)), np.asarray(uv_crop, dtype=np.float64))
    joints = np.asarray(joints_crop, dtype=np.float64) @ np.asarray(Q, dtype=np.float64)  # (Q x)ᵀ Q = xᵀ
    return uv, joints


def run_model(model, crops: HandCrop, device: Any = "cpu", batch_size: int = 16) -> dict[str, np.ndarray]:
    """The network on the crops: ``uv_crop (N, 21, 2)`` px, ``z_rel (N, 21)``, ``z_root (N,)``, ``joints_ref
    (N, 21, 3)`` (crop camera frame, reference lengths), ``valid (N,)``."""
    import torch

    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("uv_crop", "z_rel", "z_root", "joints_ref", "valid")}
    for s in range(0, len(crops.images), batch_size):
        images = torch.from_numpy(np.ascontiguousarray(crops.images[s : s + batch_size].transpose(0, 3, 1, 2)))
        K = torch.from_numpy(crops.K[s : s + batch_size]).float()
        with torch.no_grad():
            pred = model(images.to(device), K.to(device))
        for key, value in zip(parts, (pred.uv, pred.z_rel, pred.z_root, pred.joints, pred.valid), strict=True):
            parts[key].append(value.cpu().numpy())
    empty = {"uv_crop": (0, 21, 2), "z_rel": (0, 21), "z_root": (0,), "joints_ref": (0, 21, 3), "valid": (0,)}
    return {k: np.concatenate(v) if v else np.zeros(empty[k]) for k, v in parts.items()}


# ------------------------------------------------------------------------------------------- overlay
def draw_overlay(
    image, uv: np.ndarray, crop_box: np.ndarray, path: str | os.PathLike, sources: Iterable[str] = ()
) -> Path:
    """Write ``image`` (PIL) with each hand's skeleton ``uv (N, 21, 2)`` (photo pixels; bones coloured by finger)
    and its crop square ``crop_box (N, 4)`` drawn on it, as PNG at ``path`` (the photo's size)."""
    from PIL import ImageDraw

    from handkin.files import atomic_write
    from handkin.viz.colors import FINGER_COLOURS, WRIST_COLOUR

    canvas = image.copy()
    draw = ImageDraw.Draw(canvas)
    width = max(1, round(max(canvas.size) / 250))
    r = width + 1
    sources = list(sources)
    for i, hand in enumerate(np.asarray(uv, dtype=np.float64)):
        x0, y0, x1, y1 = (float(v) for v in crop_box[i])
        draw.rectangle((x0, y0, x1, y1), outline="#ffffff", width=max(1, width // 2))
        if i < len(sources):
            draw.text((x0 + 2, y0 + 2), sources[i], fill="#ffffff")
        for b in Bone:
            p, c = hand[BONE_PARENT_INDEX[b]], hand[BONE_CHILD_INDEX[b]]
            if np.isfinite(p).all() and np.isfinite(c).all():
                draw.line((*p, *c), fill=FINGER_COLOURS[b.finger], width=width)
        for j, (u, v) in enumerate(hand):
            if np.isfinite(u) and np.isfinite(v):
                draw.ellipse((u - r, v - r, u + r, v + r), fill=WRIST_COLOUR if j == 0 else "#ffffff")
    path = Path(path)
    with atomic_write(path, "wb") as f:
        canvas.save(f, format="PNG")
    return path


def overlay_paths(images: Sequence[str | os.PathLike], folder: str | os.PathLike) -> list[Path]:
    """One PNG name per image in ``folder``: the image's stem, with ``_2``, ``_3``, … for repeated stems."""
    seen: dict[str, int] = {}
    out = []
    for image in images:
        stem = Path(image).stem
        seen[stem] = seen.get(stem, 0) + 1
        out.append(Path(folder) / (f"{stem}.png" if seen[stem] == 1 else f"{stem}_{seen[stem]}.png"))
    return out


# ------------------------------------------------------------------------------------------- all together
def _hand_dict(
    path, size_wh, hand: HandLocation, i: int, K, crops: HandCrop, j: int, out, uv, joints, reference_mm, overlay
):
    return {
        "image": str(path),
        "image_size": list(size_wh),
        "hand": i,
        "source": hand.source,
        "side": hand.side,
        "hand_box": None if hand.box is None else np.round(hand.box, 2).tolist(),
        "crop_box": np.round(crops.crop_box[j], 2).tolist(),
        "focal_px": float(K[0, 0]),
        "K_crop": np.round(crops.K[j], 4).tolist(),
        "uv_image_px": uv[j].round(2).tolist(),
        "uv_crop_px": out["uv_crop"][j].round(3).tolist(),
        "z_rel": out["z_rel"][j].round(4).tolist(),
        "z_root_ref": float(out["z_root"][j]),
        "joints_ref": joints[j].round(4).tolist(),
        "joints_mm": (joints[j] * reference_mm).round(2).tolist(),
        "valid": bool(out["valid"][j]),
        "overlay": None if overlay is None else str(overlay),
    }


def predict_photos(
    model,
    paths: Sequence[str | os.PathLike],
    hands_of,
    *,
    size: int,
    pad: float,
    focal: float | None = None,
    reference_mm: float,
    device: Any = "cpu",
    batch_size: int = 16,
    overlays: Sequence[str | os.PathLike] | None = None,
) -> list[dict[str, Any]]:
    """Every hand of the photos ``paths``, as JSON-ready dicts (fields in docs/training.md, "Predict on
    photos"), ``batch_size`` images per network call. ``hands_of``: ``(path, image) → [HandLocation]`` (e.g.
    :func:`locate_hands` with its sources bound); ``overlays``: one PNG path per photo (or None)."""
    results: list[dict[str, Any]] = []
    for start in range(0, len(paths), max(1, batch_size)):
        chunk = paths[start : start + max(1, batch_size)]
        photos = []
        for path in chunk:
            image = open_image(path)
            K = photo_intrinsics(*image.size, focal)
            hands = hands_of(path, image)
            photos.append((path, image, K, hands, crop_hands(image, hands, K, size, pad)))
        crops = HandCrop(*(np.concatenate([p[4][k] for p in photos]) for k in range(len(HandCrop._fields))))
        out = run_model(model, crops, device, max(1, len(crops.images)))
        uv, joints = to_photo(crops.T, crops.Q, out["uv_crop"], out["joints_ref"])
        j = 0
        for n, (path, image, K, hands, _) in enumerate(photos):
            overlay = None if overlays is None else overlays[start + n]
            rows = slice(j, j + len(hands))
            if overlay is not None:
                labels = [f"{h.source} ({h.side})" for h in hands]
                draw_overlay(image, uv[rows], crops.crop_box[rows], overlay, labels)
            for i, hand in enumerate(hands):
                results.append(
                    _hand_dict(path, image.size, hand, i, K, crops, j + i, out, uv, joints, reference_mm, overlay)
                )
            j += len(hands)
    return results


def training_pad(config) -> float:
    """The ``pad`` of a run's training crops (``data.train.pad``; a mix: its first part's)."""
    train = config.data.train
    while train.kind == "mix" and train.parts:
        train = train.parts[0]
    return float(train.pad)


__all__ = [
    "Detector",
    "HandCrop",
    "HandLocation",
    "SOURCES",
    "check_box",
    "crop_hands",
    "draw_overlay",
    "entry_for",
    "keypoint_locations",
    "locate_hands",
    "nominal_focal",
    "open_image",
    "overlay_paths",
    "photo_intrinsics",
    "predict_photos",
    "read_boxes",
    "read_keypoints",
    "run_model",
    "to_photo",
    "training_pad",
]
