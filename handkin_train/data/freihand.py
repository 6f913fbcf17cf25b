"""FreiHAND (Zimmermann et al., ICCV 2019): reader and the submission file (the paper's scores:
:func:`handkin_train.evaluation.paper_scores`).

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
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from handkin.errors import NonFiniteError, ShapeError, UnitsError
from handkin.files import atomic_write

from ..errors import DatasetError
from .files import check_images_exist, load_json, require_dir
from .records import HandRecords, build_records
from .registry import ReaderOptions, register_reader

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


class FreihandOptions(ReaderOptions):
    """The options of :func:`read_freihand`."""

    split: str | None = None
    """``training`` (default) or ``evaluation``."""
    versions: list[str] | str | None = None
    """Colour versions of the training images: names from ``gs``, ``hom``, ``sample``, ``auto`` (a list, or
    comma-separated); default all four."""

    def as_kwargs(self) -> dict[str, Any]:
        kwargs = super().as_kwargs()
        if isinstance(kwargs.get("versions"), list):  # one spelling for the reader, the cache name and manifest
            kwargs["versions"] = ",".join(kwargs["versions"])
        return kwargs


register_reader("freihand", read_freihand, FreihandOptions, description="FreiHAND (FreiHAND_pub_v2/)")


def __getattr__(name: str) -> Any:
    if name == "paper_scores":  # moved to handkin_train.evaluation; kept importable from here
        from ..evaluation import paper_scores

        return paper_scores
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------------------------------- submission
def scale_to_reference(joints: np.ndarray, reference_length: np.ndarray, bone: tuple[int, int] = SCALE_BONE):
    """Joints ``(N, 21, 3)`` in any unit rescaled so that ``bone`` (default FreiHAND's middle MCP→PIP) has
    ``reference_length (N,)`` — e.g. predictions in wrist→middle_mcp lengths and ``evaluation_scale.json``
    give metres (the depth follows: the whole camera-space hand is scaled about the camera centre)."""
    j = np.asarray(joints, dtype=np.float64)
    length = np.linalg.norm(j[:, bone[1]] - j[:, bone[0]], axis=-1)
    if np.any(length <= 0):
        raise DatasetError("scale_to_reference: a predicted reference bone has length 0; cannot rescale it.")
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
        raise ShapeError(f"write_submission: xyz must have shape (N, 21, 3), got {xyz.shape}.")
    if expected is not None and len(xyz) != expected:
        raise DatasetError(
            f"FreiHAND's evaluation set has {expected} samples; got {len(xyz)} predictions (expected=None skips this)."
        )
    if not np.all(np.isfinite(xyz)):
        raise NonFiniteError("write_submission: xyz holds NaN or infinite values.")
    factor = {"mm": 1e-3, "m": 1.0}.get(units)
    if factor is None:
        raise UnitsError(f"write_submission: units must be 'mm' or 'm', got {units!r}.")
    if verts is None:
        verts = np.zeros((len(xyz), 778, 3))
    verts = np.asarray(verts, dtype=np.float64)
    if verts.shape != (len(xyz), 778, 3):
        raise ShapeError(f"write_submission: verts must have shape ({len(xyz)}, 778, 3), got {verts.shape}.")
    text = json.dumps([(xyz * factor).tolist(), verts.tolist()])
    path = Path(path)
    with atomic_write(path) as f:
        if path.suffix == ".zip":
            with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr("pred.json", text)
        else:
            f.write(text.encode())
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
    "FreihandOptions",
    "IMAGE_SIZE",
    "SCALE_BONE",
    "TRAINING_SIZE",
    "VERSIONS",
    "paper_scores",  # noqa: F822 - provided by __getattr__ (it moved to handkin_train.evaluation)
    "read_freihand",
    "read_submission",
    "scale_to_reference",
    "write_submission",
]
