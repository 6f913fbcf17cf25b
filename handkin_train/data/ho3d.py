"""HO-3D (Hampali et al., CVPR 2020), versions 2 and 3: reader for the published layout.

Layout (``HO3D_v2/`` or ``HO3D_v3/``)::

    train.txt, evaluation.txt               one "SEQ/frame" per line (the split's frames)
    train/<SEQ>/rgb/<frame>.png (v2) / .jpg (v3)   640 × 480
    train/<SEQ>/meta/<frame>.pkl            {"handJoints3D": (21, 3) metres, "camMat": (3, 3), …}
    evaluation/<SEQ>/meta/<frame>.pkl       {"handJoints3D": (3,) the root only, "handBoundingBox": (4,), "camMat"}

``handJoints3D`` is in MANO's joint order (handkin's ``"ho3d"`` / ``"mano21"`` order) and OpenGL's camera frame
(y up, z backwards); it is converted to MP21 and OpenCV's frame (y and z negated) on reading. All hands are
right hands. Evaluation frames carry no joint labels (they are scored by the HO-3D server): they are read with
``has_2d = has_3d = False`` and cropped around ``handBoundingBox``.
"""

from __future__ import annotations

import os

import numpy as np

from handkin.orders import convert

from ..errors import DatasetError
from .files import check_images_exist, load_pickle, require_dir
from .records import HandRecords, build_records
from .registry import ReaderOptions, register_reader

#: OpenGL → OpenCV camera frame: y and z flip.
GL_TO_CV = np.diag([1.0, -1.0, -1.0])
SPLITS = {"train": "train", "training": "train", "evaluation": "evaluation", "test": "evaluation"}


def read_ho3d(
    root: str | os.PathLike,
    split: str = "train",
    skip_unannotated: bool = False,
    check_images: bool = True,
) -> HandRecords:
    """HO-3D frames from the dataset folder ``root`` (v2 or v3, told apart by the image extension).

    The frames are those listed in ``<split>.txt`` (or every ``<split>/*/meta/*.pkl`` when the list is absent).
    ``skip_unannotated``: training frames whose meta file has no ``handJoints3D`` (``None``) are dropped
    instead of raising. ``key`` is ``"SEQ/frame"``; ``group`` numbers the frames.
    """
    root = require_dir(root, "HO-3D folder")
    folder = SPLITS.get(split)
    if folder is None:
        raise DatasetError(f"HO-3D split must be 'train' or 'evaluation', got {split!r}.")
    split_dir = require_dir(root / folder, f"HO-3D {folder} folder")
    listing = root / f"{folder}.txt"
    if listing.is_file():
        names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
        bad = [n for n in names if n.count("/") != 1]
        if bad:
            raise DatasetError(f"{listing}: lines must read 'SEQ/frame', got {bad[0]!r}.")
    else:
        names = sorted(f"{m.parent.parent.name}/{m.stem}" for m in split_dir.glob("*/meta/*.pkl"))
    if not names:
        raise DatasetError(f"HO-3D: no frames found in {listing if listing.is_file() else split_dir}.")
    evaluation = folder == "evaluation"
    K, joints, boxes, paths, keys = [], [], [], [], []
    ext = None
    for name in names:
        seq, frame = name.split("/")
        meta_path = split_dir / seq / "meta" / f"{frame}.pkl"
        meta = load_pickle(meta_path, "HO-3D meta file")
        if not isinstance(meta, dict) or "camMat" not in meta or "handJoints3D" not in meta:
            have = sorted(meta) if isinstance(meta, dict) else type(meta).__name__
            raise DatasetError(f"{meta_path}: expected a dict with 'handJoints3D' and 'camMat' (has {have}).")
        hand = meta["handJoints3D"]
        if hand is None:
            if skip_unannotated and not evaluation:
                continue
            raise DatasetError(f"{meta_path}: 'handJoints3D' is None (an unannotated frame; skip_unannotated=True).")
        cam = np.asarray(meta["camMat"], dtype=np.float64)
        if cam.shape != (3, 3):
            raise DatasetError(f"{meta_path}: 'camMat' has shape {cam.shape}, expected (3, 3).")
        hand = np.asarray(hand, dtype=np.float64)
        if evaluation:
            box = meta.get("handBoundingBox")
            box = None if box is None else np.asarray(box, dtype=np.float64).reshape(-1)
            if box is None or box.shape != (4,):
                raise DatasetError(f"{meta_path}: an evaluation frame needs 'handBoundingBox' (x0, y0, x1, y1).")
            boxes.append(box)
            joints.append(np.zeros((21, 3)))
        else:
            if hand.shape != (21, 3):
                raise DatasetError(f"{meta_path}: 'handJoints3D' has shape {hand.shape}, expected (21, 3).")
            joints.append(convert(hand @ GL_TO_CV.T, "ho3d", "mp21") * 1000.0)
            boxes.append(np.zeros(4))
        if ext is None:
            rgb = split_dir / seq / "rgb"
            ext = ".jpg" if (rgb / f"{frame}.jpg").is_file() else ".png"
        K.append(cam)
        paths.append(str(split_dir / seq / "rgb" / f"{frame}{ext}"))
        keys.append(name)
    if not paths:
        raise DatasetError(f"HO-3D: every frame listed for {folder} is unannotated.")
    if check_images:
        check_images_exist(paths, str(split_dir), every=max(1, len(paths) // 64))
    n = len(paths)
    return build_records(
        "ho3d",
        split_dir,
        paths,
        np.asarray(K),
        joints_mm=None if evaluation else np.asarray(joints),
        has_3d=np.full(n, not evaluation),
        bbox=np.asarray(boxes),
        key=keys,
    )


class Ho3dOptions(ReaderOptions):
    """The options of :func:`read_ho3d`."""

    split: str | None = None
    """``train`` (default) or ``evaluation``."""
    skip_unannotated: bool | None = None
    """Drop training frames without ``handJoints3D`` instead of raising (default: raise)."""


register_reader("ho3d", read_ho3d, Ho3dOptions, description="HO-3D v2 / v3 (HO3D_v2/, HO3D_v3/)")


__all__ = ["GL_TO_CV", "Ho3dOptions", "read_ho3d"]
