"""Rendered Hand Pose (RHD; Zimmermann & Brox, ICCV 2017): reader for its published layout and for mmpose's JSON.

Published layout (``RHD_published_v2/``)::

    training/anno_training.pickle       {sample id: {"xyz": (42, 3) metres, "uv_vis": (42, 3), "K": (3, 3)}}
    training/color/%05d.png             320 × 320 renders
    evaluation/anno_evaluation.pickle, evaluation/color/%05d.png

Each sample holds two hands in RHD's order (per hand: wrist, then each finger tip→base): the **left** hand at
0–20 and the **right** at 21–41; ``uv_vis[:, 2]`` says whether a keypoint is visible (not occluded). By default
one hand per image is taken — the one with more visible keypoints (ties: the larger 2D box), as the paper's
predecessors did; ``hands="both"`` takes every hand with at least ``min_visible`` visible keypoints. The 2D
labels of occluded joints are exact projections of the render, so every joint keeps its 2D label
(``extra["visible"]`` keeps the flags).

mmpose's COCO-style ``rhd_*.json`` (``images[].cam_param``, ``annotations[].keypoints`` / ``joint_cam`` mm /
``hand_type``, one hand per annotation) is read too when ``path`` is such a JSON file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from handkin.orders import convert

from ..errors import DatasetError
from .files import check_images_exist, load_json, load_pickle, require_dir, require_file
from .records import HandRecords, build_records
from .registry import ReaderOptions, register_reader

IMAGE_SIZE = 320
#: RHD's rendered 2D labels agree with the projected 3D joints far better than this (px).
REPROJECTION_TOLERANCE_PX = 2.0


def read_rhd(
    path: str | os.PathLike,
    split: str = "training",
    hands: str = "visible",
    min_visible: int = 1,
    images: str | os.PathLike | None = None,
    check_images: bool = True,
) -> HandRecords:
    """RHD hands from the published folder (``path`` = ``RHD_published_v2`` or its ``training`` /
    ``evaluation`` folder, or the ``anno_*.pickle`` itself), or from mmpose's COCO-style JSON file.

    ``hands``: ``"visible"`` (one per image, see the module docs) or ``"both"``; hands with fewer than
    ``min_visible`` visible keypoints are dropped. ``images``: the image folder when it is not the standard
    ``color/`` beside the pickle (or, for the JSON, the JSON's folder). ``key`` is the RHD sample id, ``group``
    the image, so both hands of an image are weak-labelled together.
    """
    if hands not in ("visible", "both"):
        raise DatasetError(f"RHD hands must be 'visible' or 'both', got {hands!r}.")
    p = Path(path)
    if not p.exists():
        raise DatasetError(
            f"RHD data not found: {p} (give RHD_published_v2/, its training or evaluation folder, an anno_*.pickle, "
            "or mmpose's RHD JSON)."
        )
    if p.suffix == ".json":
        return _read_mmpose_json(p, images, check_images)
    if p.is_dir():
        if (p / split).is_dir():
            p = p / split
        p = p / f"anno_{p.name}.pickle" if p.name in ("training", "evaluation") else p / f"anno_{split}.pickle"
    anno = load_pickle(p, "RHD annotation pickle")
    if not isinstance(anno, dict) or not anno:
        raise DatasetError(f"{p}: expected a dict {{sample id: {{'xyz', 'uv_vis', 'K'}}}}, got {type(anno).__name__}.")
    image_dir = require_dir(images if images is not None else p.parent / "color", "RHD image folder")
    ids = sorted(anno)
    xyz = np.empty((len(ids), 42, 3))
    uv_vis = np.empty((len(ids), 42, 3))
    K = np.empty((len(ids), 3, 3))
    for row, sid in enumerate(ids):
        a = anno[sid]
        if not isinstance(a, dict) or not {"xyz", "uv_vis", "K"} <= set(a):
            have = sorted(a) if isinstance(a, dict) else type(a).__name__
            raise DatasetError(f"{p}: sample {sid!r} lacks 'xyz', 'uv_vis' or 'K' (has {have}).")
        for name, target, shape in (("xyz", xyz, (42, 3)), ("uv_vis", uv_vis, (42, 3)), ("K", K, (3, 3))):
            value = np.asarray(a[name], dtype=np.float64)
            if value.shape != shape:
                raise DatasetError(f"{p}: sample {sid!r}: {name!r} has shape {value.shape}, expected {shape}.")
            target[row] = value
    visible = uv_vis[..., 2] > 0.5
    counts = np.stack([visible[:, :21].sum(1), visible[:, 21:].sum(1)], axis=1)  # (n, 2): left, right
    if hands == "visible":
        span = np.stack([_box_area(uv_vis[:, :21, :2]), _box_area(uv_vis[:, 21:, :2])], axis=1)
        pick_right = (counts[:, 1] > counts[:, 0]) | ((counts[:, 1] == counts[:, 0]) & (span[:, 1] > span[:, 0]))
        take = np.stack([~pick_right, pick_right], axis=1)
    else:
        take = np.ones((len(ids), 2), bool)
    take &= counts >= min_visible
    rows, halves = np.nonzero(take)  # halves: 0 = left (joints 0–20), 1 = right (21–41)
    if rows.size == 0:
        raise DatasetError(f"{p}: no hand has {min_visible} or more visible keypoints.")
    sel = np.stack([np.arange(21) + 21 * h for h in halves])  # (m, 21) joint rows of the chosen hands
    pick = rows[:, None]
    joints = convert(xyz[pick, sel] * 1000.0, "rhd", "mp21")
    uv = convert(uv_vis[pick, sel, :2], "rhd", "mp21")
    vis = convert(visible[pick, sel][..., None], "rhd", "mp21")[..., 0]
    paths = [str(image_dir / f"{int(ids[r]):05d}.png") for r in rows]
    if check_images:
        check_images_exist(paths, str(image_dir), every=max(1, len(paths) // 64))
    return build_records(
        "rhd",
        p,
        paths,
        K[rows],
        joints_mm=joints,
        uv=uv,
        left=halves == 0,
        group=rows,
        key=[str(ids[r]) for r in rows],
        extra={"visible": vis},
        max_reprojection_px=REPROJECTION_TOLERANCE_PX,
    )


def _box_area(uv: np.ndarray) -> np.ndarray:
    span = uv.max(axis=1) - uv.min(axis=1)
    return span[:, 0] * span[:, 1]


def _read_mmpose_json(path: Path, images: str | os.PathLike | None, check_images: bool) -> HandRecords:
    """mmpose's COCO-style RHD JSON: one hand per annotation, keypoints in RHD's single-hand order."""
    data = load_json(require_file(path, "RHD JSON"))
    if not isinstance(data, dict) or not {"images", "annotations"} <= set(data):
        raise DatasetError(f"{path}: expected COCO-style JSON with 'images' and 'annotations'.")
    image_dir = Path(images) if images is not None else path.parent
    by_id = {img.get("id"): img for img in data["images"] if isinstance(img, dict)}
    paths, K, joints, uv, vis, left, keys = [], [], [], [], [], [], []
    for ann in data["annotations"]:
        aid = ann.get("id") if isinstance(ann, dict) else None
        try:
            img = by_id[_as_id(ann["image_id"], by_id)]
            cam = img["cam_param"]
            fx, fy = (float(v) for v in _parse(cam["focal"]))
            cx, cy = (float(v) for v in _parse(cam["princpt"]))
            kp = np.asarray(_parse(ann["keypoints"]), dtype=np.float64).reshape(21, 3)
            jc = np.asarray(_parse(ann["joint_cam"]), dtype=np.float64).reshape(21, 3)
            side = str(ann["hand_type"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{path}: annotation {aid!r} is malformed ({type(exc).__name__}: {exc}).") from None
        if side not in ("left", "right"):
            raise DatasetError(f"{path}: annotation {aid!r} has hand_type {side!r}, expected 'left' or 'right'.")
        paths.append(str(image_dir / img["file_name"]))
        K.append([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        joints.append(convert(jc, "rhd", "mp21"))
        uv.append(convert(kp[:, :2], "rhd", "mp21"))
        vis.append(convert(kp[:, 2:] > 0, "rhd", "mp21")[:, 0])
        left.append(side == "left")
        keys.append(str(aid))
    if not paths:
        raise DatasetError(f"{path}: holds no annotations.")
    if check_images:
        check_images_exist(paths, str(path))
    return build_records(
        "rhd",
        path,
        paths,
        np.asarray(K),
        joints_mm=np.asarray(joints),
        uv=np.asarray(uv),
        left=np.asarray(left),
        key=keys,
        extra={"visible": np.asarray(vis)},
        max_reprojection_px=REPROJECTION_TOLERANCE_PX,
    )


def _parse(value):
    """mmpose's RHD JSON stores some arrays as strings ("[[1.0, 2.0], …]")."""
    if isinstance(value, str):
        import json

        return json.loads(value)
    return value


def _as_id(value, by_id: dict):
    if value in by_id:
        return value
    for cast in (int, str):
        try:
            if cast(value) in by_id:
                return cast(value)
        except (TypeError, ValueError):
            pass
    raise KeyError(f"image_id {value!r} is not among the images")


class RhdOptions(ReaderOptions):
    """The options of :func:`read_rhd`."""

    split: str | None = None
    """``training`` (default) or ``evaluation``."""
    hands: str | None = None
    """``visible`` (default: one hand per image, the more visible one) or ``both``."""
    min_visible: int | None = None
    """Hands with fewer visible keypoints are dropped (default 1)."""
    images: Path | None = None
    """The image folder, when it is not the standard ``color/`` beside the pickle (or the JSON's folder)."""


register_reader("rhd", read_rhd, RhdOptions, description="Rendered Hand Pose (RHD_published_v2/, or mmpose's JSON)")


__all__ = ["IMAGE_SIZE", "RhdOptions", "read_rhd"]
