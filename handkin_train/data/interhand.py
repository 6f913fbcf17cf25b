"""InterHand2.6M (Moon et al., ECCV 2020): reader for its JSON layout (as published and as in mmpose's tests).

Files (``annotations/<split>/InterHand2.6M_<split>_*.json``, or mmpose's ``test_interhand2.6m_*.json``)::

    *_data.json       COCO-style: images[] {id, file_name, width, height, capture, camera, frame_idx, …},
                      annotations[] {image_id, bbox, joint_valid (42 × 1), hand_type, hand_type_valid}
    *_camera.json     {capture: {"campos": {cam: (3,)}, "camrot": {cam: (3, 3)}, "focal": {cam: (2,)},
                                 "princpt": {cam: (2,)}}}
    *_joint_3d.json   {capture: {frame_idx: {"world_coord": (42, 3) mm, "joint_valid": (42, 1), "hand_type"}}}

Joints are world coordinates in mm in InterHand's order (per hand: each finger tip→base, wrist last; the
**right** hand at 0–20, the **left** at 21–41); the camera frame is ``R · (X − campos)`` with ``camrot`` R, the
intrinsics come from ``focal`` and ``princpt``. Each annotated hand becomes one row: a "right" or "left" image
gives one, an "interacting" image two (each cropped around its own hand). A hand needs ``min_valid``
valid joints; its 3D label is used only when all 21 are valid (the valid ones keep their 2D labels).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from handkin import camera
from handkin.orders import convert

from ..errors import DatasetError
from .files import check_images_exist, load_json, require_file
from .records import HandRecords, build_records
from .registry import ReaderOptions, register_reader


def _companions(data_json: Path) -> tuple[Path, Path]:
    name = data_json.name
    if not name.endswith("_data.json"):
        raise DatasetError(f"{data_json}: an InterHand annotation file is named '*_data.json'.")
    stem = name[: -len("_data.json")]
    return data_json.with_name(f"{stem}_camera.json"), data_json.with_name(f"{stem}_joint_3d.json")


def read_interhand(
    path: str | os.PathLike,
    images: str | os.PathLike | None = None,
    min_valid: int = 10,
    check_images: bool = True,
) -> HandRecords:
    """InterHand2.6M hands from ``path`` = the ``*_data.json`` file (its ``*_camera.json`` and
    ``*_joint_3d.json`` beside it). ``images``: the folder the ``file_name`` entries are relative to (for the
    published set ``images/<split>``; default: the JSON's folder). ``key`` is ``"<image id>/<side>"``;
    ``group`` the image, so both hands of an image are weak-labelled together.
    """
    data_json = require_file(path, "InterHand2.6M data file")
    cam_json, joint_json = _companions(data_json)
    data = load_json(data_json)
    cams = load_json(cam_json, "InterHand2.6M camera file")
    joints3d = load_json(joint_json, "InterHand2.6M joint file")
    if not isinstance(data, dict) or not {"images", "annotations"} <= set(data):
        raise DatasetError(f"{data_json}: expected COCO-style JSON with 'images' and 'annotations'.")
    image_root = Path(images) if images is not None else data_json.parent
    by_id = {img["id"]: img for img in data["images"] if isinstance(img, dict) and "id" in img}
    paths, K, joints, uv, vis, left, has_3d, groups, keys = [], [], [], [], [], [], [], [], []
    for n_img, ann in enumerate(data["annotations"]):
        aid = ann.get("image_id") if isinstance(ann, dict) else None
        img = by_id.get(aid)
        if img is None:
            raise DatasetError(f"{data_json}: annotation of image {aid!r} has no entry in 'images'.")
        capture, cam_id, frame = str(img.get("capture")), str(img.get("camera")), str(img.get("frame_idx"))
        try:
            c = cams[capture]
            R = np.asarray(c["camrot"][cam_id], dtype=np.float64).reshape(3, 3)
            t = np.asarray(c["campos"][cam_id], dtype=np.float64).reshape(3)
            fx, fy = (float(v) for v in c["focal"][cam_id])
            cx, cy = (float(v) for v in c["princpt"][cam_id])
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(
                f"{cam_json}: no usable camera {cam_id!r} of capture {capture!r} (image {aid!r}): "
                f"{type(exc).__name__}: {exc}"
            ) from None
        try:
            entry = joints3d[capture][frame]
            world = np.asarray(entry["world_coord"], dtype=np.float64).reshape(42, 3)
            valid3d = np.asarray(entry.get("joint_valid", np.ones(42)), dtype=bool).reshape(42)
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(
                f"{joint_json}: no usable joints of capture {capture!r}, frame {frame!r} (image {aid!r}): "
                f"{type(exc).__name__}: {exc}"
            ) from None
        try:
            valid = np.asarray(ann["joint_valid"], dtype=bool).reshape(42) & valid3d
            hand_type = str(ann["hand_type"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{data_json}: annotation of image {aid!r} is malformed: {exc}") from None
        sides = {"right": ("right",), "left": ("left",), "interacting": ("right", "left")}.get(hand_type)
        if sides is None:
            raise DatasetError(f"{data_json}: image {aid!r} has hand_type {hand_type!r}.")
        cam_xyz = (world - t) @ R.T
        k = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
        for side in sides:
            half = slice(0, 21) if side == "right" else slice(21, 42)
            ok = convert(valid[half, None], "interhand", "mp21")[:, 0]
            if ok.sum() < min_valid:
                continue
            j = convert(cam_xyz[half], "interhand", "mp21")
            if (j[ok, 2] <= 0).any():
                raise DatasetError(f"{data_json}: image {aid!r}: {side} hand behind camera {cam_id!r}.")
            paths.append(str(image_root / img["file_name"]))
            K.append(k)
            joints.append(np.where(ok[:, None], j, 0.0))
            uv.append(np.where(ok[:, None], np.asarray(camera.project(np.where(ok[:, None], j, 1.0), k)), 0.0))
            vis.append(ok)
            left.append(side == "left")
            has_3d.append(bool(ok.all()))
            groups.append(n_img)
            keys.append(f"{aid}/{side}")
    if not paths:
        raise DatasetError(f"{data_json}: no hand has {min_valid} or more valid joints.")
    if check_images:
        check_images_exist(paths, str(data_json), every=max(1, len(paths) // 64))
    return build_records(
        "interhand",
        data_json,
        paths,
        np.asarray(K),
        joints_mm=np.asarray(joints),
        uv=np.asarray(uv),
        uv_visible=np.asarray(vis),
        left=np.asarray(left),
        has_3d=np.asarray(has_3d),
        group=np.asarray(groups),
        key=keys,
    )


class InterhandOptions(ReaderOptions):
    """The options of :func:`read_interhand`."""

    images: Path | None = None
    """The folder the ``file_name`` entries are relative to (published set: ``images/<split>``; default: the
    JSON's folder)."""
    min_valid: int | None = None
    """Hands with fewer valid joints are dropped (default 10)."""


register_reader("interhand", read_interhand, InterhandOptions, description="InterHand2.6M (*_data.json)")


__all__ = ["InterhandOptions", "read_interhand"]
