"""FreiHAND (Zimmermann et al., ICCV 2019): reader, the paper's scores, and the submission file.

Layout (``FreiHAND_pub_v2/``, as published)::

    training_xyz.json      32,560 × (21, 3) joints, metres, camera frame (OpenCV), MP21 order
    training_K.json        32,560 × (3, 3) intrinsics
    training_scale.json    32,560 × length of the reference bone (middle MCP→PIP), metres   [optional]
    training/rgb/%08d.jpg  130,240 images of 224 × 224: sample i in colour version v is image i + 32,560·v,
                           versions gs (green screen), hom, sample, auto
    evaluation_K.json, evaluation_scale.json, evaluation/rgb/%08d.jpg   3,960 samples
    evaluation_xyz.json    the evaluation labels (released with the v2 evaluation set; optional)

All hands are right hands. The 2D labels are the 3D joints projected with K. The four colour versions of a
training sample share one group (weak labelling and subsets take or leave them together).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from handkin import metrics

from .readers import DatasetError, HandRecords, build_records, check_images_exist, load_json, require_dir

#: Unique training samples; image ``i + TRAINING_SIZE * v`` is sample ``i`` in colour version ``v``.
TRAINING_SIZE = 32560
EVALUATION_SIZE = 3960
#: The colour versions of the training images, in their order on disk.
VERSIONS = ("gs", "hom", "sample", "auto")
IMAGE_SIZE = 224
#: FreiHAND's reference bone (``*_scale.json``): middle MCP → PIP, joints 9 → 10.
SCALE_BONE = (9, 10)


def _list(path: Path, n: int | None, shape: tuple[int, ...], what: str) -> np.ndarray:
    data = load_json(path)
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a JSON list of {what}, got {type(data).__name__}.")
    if n is not None and len(data) != n:
        raise DatasetError(f"{path}: holds {len(data)} entries, but the other annotation files hold {n}.")
    try:
        arr = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.shape[1:] != shape:
        for i, item in enumerate(data):  # name the first bad entry
            a = np.asarray(item, dtype=object)
            if a.shape != shape:
                raise DatasetError(f"{path}: entry {i} has shape {a.shape}, expected {shape} ({what}).")
        raise DatasetError(f"{path}: entries are not numbers of shape {shape} ({what}).")
    return arr


def read_freihand(
    root: str | os.PathLike,
    split: str = "training",
    versions: str | Sequence[str] = "all",
    check_images: bool = True,
) -> HandRecords:
    """FreiHAND from its published folder ``root``.

    ``split``: ``"training"`` (32,560 samples × the chosen colour ``versions``: ``"all"`` or names from
    :data:`VERSIONS`) or ``"evaluation"`` (3,960 samples; 2D and 3D labels when ``evaluation_xyz.json`` is
    there, otherwise none — then the crop is the whole image). Rows are ordered version by version, and
    ``key`` is the sample index (0 … 32,559), ``group`` the same index.
    """
    root = require_dir(root, "FreiHAND folder")
    if split not in ("training", "evaluation"):
        raise DatasetError(f"FreiHAND split must be 'training' or 'evaluation', got {split!r}.")
    if isinstance(versions, str):
        versions = VERSIONS if versions == "all" else tuple(v.strip() for v in versions.split(","))
    unknown = [v for v in versions if v not in VERSIONS]
    if unknown or not versions:
        raise DatasetError(f"unknown FreiHAND colour version(s) {unknown or versions}; choose from {VERSIONS}.")
    if split == "evaluation" and tuple(versions) not in (VERSIONS, ("gs",)):
        raise DatasetError("the FreiHAND evaluation split has one version only (its images are not colour versions).")
    K_path = root / f"{split}_K.json"
    K = _list(K_path, None, (3, 3), "3 × 3 intrinsics")
    n = len(K)
    xyz_path = root / f"{split}_xyz.json"
    has_labels = split == "training" or xyz_path.is_file()
    xyz = _list(xyz_path, n, (21, 3), "21 × 3 joints in metres") if has_labels else None
    scale_path = root / f"{split}_scale.json"
    extra: dict[str, np.ndarray] = {}
    if scale_path.is_file():
        scale = np.asarray(load_json(scale_path), dtype=object)
        if scale.shape != (n,):
            raise DatasetError(f"{scale_path}: expected {n} numbers (one per sample), got shape {scale.shape}.")
        extra["scale_m"] = scale.astype(np.float64)
    rgb = require_dir(root / split / "rgb", "FreiHAND image folder")
    version_list = list(versions) if split == "training" else ["gs"]
    stride = TRAINING_SIZE if split == "training" else 0
    index = np.arange(n)
    images, rows = [], []
    for v in version_list:
        offset = stride * VERSIONS.index(v)
        images += [str(rgb / f"{i + offset:08d}.jpg") for i in index]
        rows.append(index)
    rows = np.concatenate(rows)
    if check_images:
        check_images_exist(images, str(rgb), every=max(1, len(images) // 64))
    full_image = np.array([0.0, 0.0, IMAGE_SIZE - 1.0, IMAGE_SIZE - 1.0])
    return build_records(
        "freihand",
        xyz_path if has_labels else K_path,
        images,
        K[rows],
        joints_mm=None if xyz is None else xyz[rows] * 1000.0,
        bbox=np.broadcast_to(full_image, (len(rows), 4)),
        group=rows,
        key=[str(i) for i in rows],
        extra={k: v[rows] for k, v in extra.items()},
    )


# ------------------------------------------------------------------------------------------- scores
def paper_scores(
    pred_mm: np.ndarray,
    gt_mm: np.ndarray,
    K: np.ndarray | None = None,
    *,
    visible: np.ndarray | None = None,
    reflection: bool = True,
    thresholds: tuple[float, float, int] = metrics.PCK_THRESHOLDS_MM,
) -> dict[str, float]:
    """The numbers the paper reports, from predicted and true camera-space joints ``(N, 21, 3)`` mm:

    * ``uv_px`` — mean 2D error of the projections, pixels (needs ``K (N, 3, 3)``), Tab. 2's "2D";
    * ``z_mm`` — mean absolute depth error ``|Z − Ẑ|`` (needs ``K``), and ``z_rel_mm`` the same root-relative;
    * ``epe_mm`` / ``auc`` — unaligned 3D mean EPE and AUC of the PCK over ``thresholds`` (0–50 mm, 100 steps);
    * ``epe_root_mm`` / ``auc_root`` — root-relative (the ablations' "3D", §5.4);
    * ``epe_aligned_mm`` / ``auc_aligned`` — after Procrustes alignment (FreiHAND's "aligned"; its script allows
      reflections, hence ``reflection=True``).

    Means follow FreiHAND's evaluation (per keypoint over samples, then over keypoints);
    :func:`handkin.metrics.evaluate` does the work.
    """
    pred, gt = np.asarray(pred_mm, dtype=np.float64), np.asarray(gt_mm, dtype=np.float64)
    ev = metrics.evaluate(
        pred,
        gt,
        units="mm",
        alignments=("none", "root", "procrustes"),
        K=K,
        visible=visible,
        thresholds=thresholds,
        reflection=reflection,
    )
    out = {
        "epe_mm": ev["none"].epe_mean,
        "auc": ev["none"].auc,
        "epe_root_mm": ev["root"].epe_mean,
        "auc_root": ev["root"].auc,
        "epe_aligned_mm": ev["procrustes"].epe_mean,
        "auc_aligned": ev["procrustes"].auc,
    }
    if K is not None:
        vis = np.ones(pred.shape[:2], bool) if visible is None else np.asarray(visible, bool)
        rel = (pred[..., 2] - pred[..., :1, 2]) - (gt[..., 2] - gt[..., :1, 2])
        out = {"uv_px": ev.error_2d_px, "z_mm": ev.error_z_mm, "z_rel_mm": float(np.abs(rel)[vis].mean()), **out}
    return out


# ------------------------------------------------------------------------------------------- submission
def scale_to_reference(joints: np.ndarray, reference_length: np.ndarray, bone: tuple[int, int] = SCALE_BONE):
    """Joints ``(N, 21, 3)`` in any unit rescaled so that ``bone`` (default FreiHAND's middle MCP→PIP) has
    ``reference_length (N,)`` — e.g. predictions in wrist→middle_mcp lengths and ``evaluation_scale.json``
    give metres (the depth follows: the whole camera-space hand is scaled about the camera centre)."""
    j = np.asarray(joints, dtype=np.float64)
    length = np.linalg.norm(j[:, bone[1]] - j[:, bone[0]], axis=-1)
    if np.any(length <= 0):
        raise ValueError("a predicted reference bone has length 0; cannot rescale.")
    return j * (np.asarray(reference_length, dtype=np.float64) / length)[:, None, None]


def write_submission(
    path: str | os.PathLike,
    xyz: np.ndarray,
    units: str = "mm",
    verts: np.ndarray | None = None,
    expected: int | None = EVALUATION_SIZE,
) -> Path:
    """Write predictions in FreiHAND's submission layout: ``pred.json`` = ``[xyz_list, verts_list]`` (metres,
    camera frame, MP21 order, evaluation-set order), zipped when ``path`` ends in ``.zip`` (the codalab upload).

    ``xyz (N, 21, 3)`` in ``units`` (``"mm"`` or ``"m"``); ``verts (N, 778, 3)`` metres or ``None`` (zeros, as
    FreiHAND's template writes when no mesh is predicted: the keypoint scores are unaffected). ``expected``:
    the number of rows required (3,960 for the evaluation set; ``None`` to skip the check). Written atomically.
    """
    xyz = np.asarray(xyz, dtype=np.float64)
    if xyz.ndim != 3 or xyz.shape[1:] != (21, 3):
        raise ValueError(f"xyz must have shape (N, 21, 3), got {xyz.shape}.")
    if expected is not None and len(xyz) != expected:
        raise ValueError(f"FreiHAND's evaluation set has {expected} samples; got {len(xyz)} predictions.")
    if not np.all(np.isfinite(xyz)):
        raise ValueError("xyz holds NaN or infinite values.")
    factor = {"mm": 1e-3, "m": 1.0}.get(units)
    if factor is None:
        raise ValueError(f"units must be 'mm' or 'm', got {units!r}.")
    if verts is None:
        verts = np.zeros((len(xyz), 778, 3))
    verts = np.asarray(verts, dtype=np.float64)
    if verts.shape != (len(xyz), 778, 3):
        raise ValueError(f"verts must have shape ({len(xyz)}, 778, 3), got {verts.shape}.")
    text = json.dumps([(xyz * factor).tolist(), verts.tolist()])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if path.suffix == ".zip":
                with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
                    z.writestr("pred.json", text)
            else:
                f.write(text.encode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_submission(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """``(xyz (N, 21, 3), verts (N, 778, 3))`` in metres from a file written by :func:`write_submission`."""
    path = Path(path)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            data: Any = json.loads(z.read("pred.json"))
    else:
        data = json.loads(path.read_text())
    if not (isinstance(data, list) and len(data) == 2):
        raise DatasetError(f"{path}: not a FreiHAND prediction file ([xyz_list, verts_list]).")
    return np.asarray(data[0], dtype=np.float64), np.asarray(data[1], dtype=np.float64)


__all__ = [
    "EVALUATION_SIZE",
    "IMAGE_SIZE",
    "SCALE_BONE",
    "TRAINING_SIZE",
    "VERSIONS",
    "paper_scores",
    "read_freihand",
    "read_submission",
    "scale_to_reference",
    "write_submission",
]
