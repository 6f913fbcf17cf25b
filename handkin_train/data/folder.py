"""Your own data: a folder of images with one annotation file, ``hands.json`` or ``hands.npz`` (format below).

``hands.json``::

    {
      "format": "handkin-hands", "version": 1,
      "order": "mp21",                  # joint order of uv / visible / xyz: any handkin order (default mp21)
      "units": "mm",                    # unit of xyz: "mm", "cm" or "m" (default mm)
      "K": [[fx, s, cx], [0, fy, cy], [0, 0, 1]],   # optional: the K of every sample without its own
      "samples": [
        {"image": "images/0001.jpg",    # relative to the annotation file's folder, or absolute
         "side": "right",               # "right" (default) or "left"
         "K": [[...], [...], [...]],    # intrinsics in pixels (required, here or at the top)
         "uv": [[u, v], … 21],          # 2D joints, pixels (optional when xyz is given: then projected)
         "visible": [1, 0, … 21],       # optional: which 2D joints are labelled (default all)
         "xyz": [[x, y, z], … 21],      # optional: 3D joints in the OpenCV camera frame (x right, y down, z fwd)
         "bbox": [x0, y0, x1, y1]}      # optional: the hand's box, for samples with neither uv nor xyz
      ]
    }

``hands.npz`` holds the same as arrays: ``image`` (N,) str; ``K`` (N, 3, 3) or (3, 3); optional ``uv``
(N, 21, 2), ``visible`` (N, 21), ``xyz`` (N, 21, 3), ``side`` (N,) str, ``bbox`` (N, 4); optional scalars
``order`` and ``units``. A row of ``xyz`` (or ``uv``) that is all NaN means "no label"; a NaN 2D joint is
unlabelled. Pixel centres are at integer coordinates (pixel ``[row, col]`` is at ``(u, v) = (col, row)``).

Where a sample has both uv and xyz they must agree: the 2D joints within ``max_reprojection_px`` of the 3D
joints projected with K — a wrong frame, unit or K shows up here instead of in training. The declared ``order``
is checked by the bone lengths it implies (:func:`handkin.orders.guess_order`, on the 3D joints, or on whole 2D
hands when there are no 3D ones and at least four 2D ones): joints in another order (uv and xyz permuted alike,
so they still agree) are an error naming the order they fit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from handkin.anatomy import side as parse_side
from handkin.errors import HandkinError
from handkin.orders import convert, get_order
from handkin.units import scale_factor

from ..errors import DatasetError
from .files import check_images_exist, load_json
from .records import HandRecords, _check_order, build_records
from .registry import ReaderOptions, register_reader

FORMAT = "handkin-hands"
VERSION = 1
FILE_NAMES = ("hands.json", "hands.npz")
ORDER_FIX = "Set 'order' to {best!r} in the file (the order of uv / visible / xyz), or fix the joints' order."


def _find(path: Path) -> Path:
    if path.is_dir():
        for name in FILE_NAMES:
            if (path / name).is_file():
                return path / name
        raise DatasetError(f"{path}: holds neither {' nor '.join(FILE_NAMES)} (the folder format's annotation file).")
    if not path.is_file():
        raise DatasetError(f"annotation file not found: {path}")
    if path.suffix not in (".json", ".npz"):
        raise DatasetError(f"{path}: the folder format's annotation file is a .json or .npz file.")
    return path


def read_folder(
    path: str | os.PathLike, max_reprojection_px: float | None = 10.0, check_images: bool = True
) -> HandRecords:
    """Hands of your own data: ``path`` is the folder (with ``hands.json`` or ``hands.npz``) or the file itself.

    ``max_reprojection_px``: largest allowed distance between given 2D joints and the projected 3D joints
    (``None``: no check). ``key`` is the sample's position in the file; ``group`` the same.
    """
    file = _find(Path(path))
    arrays = _read_npz(file) if file.suffix == ".npz" else _read_json(file)
    n = len(arrays["image"])
    if n == 0:
        raise DatasetError(f"{file}: holds no samples.")
    try:
        order = get_order(str(arrays.get("order", "mp21")))
        factor = scale_factor(str(arrays.get("units", "mm")), "mm")
    except HandkinError as exc:
        raise DatasetError(f"{file}: {exc}") from None
    K = _float(arrays["K"], file, "K")
    xyz = None if arrays.get("xyz") is None else _float(arrays["xyz"], file, "xyz", (n, 21, 3))
    uv_raw = None if arrays.get("uv") is None else _float(arrays["uv"], file, "uv", (n, 21, 2))
    _check_declared_order(xyz, uv_raw, order.name, file)
    if K.shape == (3, 3):
        K = np.broadcast_to(K, (n, 3, 3)).copy()
    joints = has_3d = None
    if xyz is not None:
        missing = np.isnan(xyz)  # NaN: no label; an infinite value is an error (build_records names it)
        has_3d = ~missing.all(axis=(1, 2))
        partial = has_3d & missing.any(axis=(1, 2))
        if partial.any():
            raise DatasetError(
                f"{file}: sample {int(np.flatnonzero(partial)[0])} has some NaN 3D joints: a 3D label is all 21 "
                "joints or none."
            )
        joints = convert(np.where(has_3d[:, None, None], xyz, 0.0), order, "mp21") * factor
    uv = has_2d = visible = None
    if uv_raw is not None:
        labelled = ~np.isnan(uv_raw).any(axis=-1)
        if arrays.get("visible") is not None:
            labelled &= _float(arrays["visible"], file, "visible", (n, 21)) > 0
        has_2d = labelled.any(axis=1)
        uv = convert(np.where(labelled[..., None], uv_raw, 0.0), order, "mp21")
        visible = convert(labelled[..., None], order, "mp21")[..., 0]
        if has_3d is not None:  # a sample with 3D but no 2D row: project it
            project = has_3d & ~has_2d
            if project.any():
                from handkin import camera

                uv[project] = np.asarray(camera.project(joints[project], K[project]))
                visible[project] = True
                has_2d = has_2d | project
    elif joints is None:
        raise DatasetError(f"{file}: the samples need 2D joints ('uv'), 3D joints ('xyz') or both.")
    side = arrays.get("side")
    try:
        left = np.array([parse_side(str(s)).value == "left" for s in side]) if side is not None else None
    except HandkinError as exc:
        raise DatasetError(f"{file}: {exc}") from None
    base = file.parent
    paths = [str(p if os.path.isabs(p) else base / p) for p in (str(x) for x in arrays["image"])]
    if check_images:
        check_images_exist(paths, str(file))
    bbox = arrays.get("bbox")
    return build_records(
        "folder",
        file,
        paths,
        K,
        joints_mm=joints,
        uv=uv,
        uv_visible=visible,
        left=left,
        has_2d=has_2d,
        has_3d=has_3d,
        bbox=None if bbox is None else _float(bbox, file, "bbox", (n, 4)),
        max_reprojection_px=max_reprojection_px,
    )


def _check_declared_order(xyz: np.ndarray | None, uv: np.ndarray | None, order: str, file: Path) -> None:
    """The file's joints ``xyz (N, 21, 3)`` / ``uv (N, 21, 2)`` (its own order and unit, NaN where unlabelled)
    have the bone lengths of the declared ``order``: the whole 3D hands, or the whole 2D hands when there are no
    3D ones (uv and xyz are in the same order, so one of them tells). Run before the other checks: a wrong order
    also makes bones too long, and this names the cause."""
    for points in (xyz, uv):
        if points is not None:
            whole = np.isfinite(points).all(axis=(1, 2))
            if whole.any():
                _check_order(points, whole, order, str(file), None, ORDER_FIX)
                return


def _float(value: Any, file: Path, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DatasetError(f"{file}: {name!r} is not an array of numbers (missing entries must be NaN/null).") from None
    if shape is not None and arr.shape != shape:
        raise DatasetError(f"{file}: {name!r} has shape {arr.shape}, expected {shape}.")
    return arr


def _read_npz(file: Path) -> dict[str, Any]:
    try:
        with np.load(file, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{file}: not a readable .npz without pickles ({exc}).") from None
    for k in ("image", "K"):
        if k not in arrays:
            raise DatasetError(f"{file}: lacks the array {k!r} (has {sorted(arrays)}).")
    for k in ("order", "units"):
        if k in arrays:
            arrays[k] = str(arrays[k])
    return arrays


def _nan_if_none(value: Any, shape: tuple[int, ...]) -> Any:
    """JSON nulls (a missing label, or a missing joint inside one) as NaN."""
    if value is None:
        return np.full(shape, np.nan)
    if not isinstance(value, list):
        return value
    width = shape[-1]
    return [
        [np.nan] * width if row is None else [np.nan if v is None else v for v in row] if isinstance(row, list) else row
        for row in value
    ]


def _read_json(file: Path) -> dict[str, Any]:
    data = load_json(file)
    if not isinstance(data, dict) or not isinstance(data.get("samples"), list):
        raise DatasetError(f"{file}: expected an object with a 'samples' list (format {FORMAT!r}).")
    version = data.get("version", VERSION)
    whole = isinstance(version, int) or (isinstance(version, float) and version.is_integer())
    if isinstance(version, bool) or not whole:
        raise DatasetError(
            f"{file}: 'version' must be a whole number (this reads version <= {VERSION}), got {version!r}."
        )
    if data.get("format", FORMAT) != FORMAT or version > VERSION:
        raise DatasetError(
            f"{file}: format {data.get('format')!r} version {data.get('version')!r}; this reads {FORMAT!r} "
            f"version <= {VERSION}."
        )
    samples = data["samples"]
    default_k = data.get("K")
    out: dict[str, Any] = {"order": data.get("order", "mp21"), "units": data.get("units", "mm")}
    image, K, uv, vis, xyz, side, bbox = [], [], [], [], [], [], []
    any_uv = any(isinstance(s, dict) and s.get("uv") is not None for s in samples)
    any_xyz = any(isinstance(s, dict) and s.get("xyz") is not None for s in samples)
    any_box = any(isinstance(s, dict) and s.get("bbox") is not None for s in samples)
    for i, s in enumerate(samples):
        if not isinstance(s, dict) or "image" not in s:
            raise DatasetError(f"{file}: sample {i} is not an object with an 'image'.")
        k = s.get("K", default_k)
        if k is None:
            raise DatasetError(f"{file}: sample {i} has no 'K' (and there is no top-level 'K').")
        image.append(str(s["image"]))
        K.append(_float(k, file, f"samples[{i}].K", (3, 3)))
        side.append(s.get("side", "right"))
        if any_uv:
            uv.append(_float(_nan_if_none(s.get("uv"), (21, 2)), file, f"samples[{i}].uv", (21, 2)))
            v = s.get("visible")
            vis.append(np.ones(21) if v is None else _float(v, file, f"samples[{i}].visible", (21,)))
        if any_xyz:
            xyz.append(_float(_nan_if_none(s.get("xyz"), (21, 3)), file, f"samples[{i}].xyz", (21, 3)))
        if any_box:
            b = s.get("bbox")
            bbox.append(np.zeros(4) if b is None else _float(b, file, f"samples[{i}].bbox", (4,)))
    out.update(image=np.asarray(image), K=np.asarray(K), side=np.asarray(side))
    if any_uv:
        out.update(uv=np.asarray(uv), visible=np.asarray(vis))
    if any_xyz:
        out["xyz"] = np.asarray(xyz)
    if any_box:
        out["bbox"] = np.asarray(bbox)
    return out


def write_folder_annotations(
    path: str | os.PathLike,
    image: list[str],
    K: np.ndarray,
    uv: np.ndarray | None = None,
    xyz_mm: np.ndarray | None = None,
    side: list[str] | None = None,
    visible: np.ndarray | None = None,
) -> Path:
    """Write a ``hands.json`` (MP21, mm) — a convenience for converting your own data into the folder format."""
    import json

    n = len(image)
    K = np.broadcast_to(np.asarray(K, dtype=float), (n, 3, 3))
    samples = []
    for i in range(n):
        s: dict[str, Any] = {"image": image[i], "side": side[i] if side is not None else "right", "K": K[i].tolist()}
        if uv is not None:
            s["uv"] = np.asarray(uv[i]).tolist()
        if visible is not None:
            s["visible"] = [int(v) for v in visible[i]]
        if xyz_mm is not None:
            s["xyz"] = np.asarray(xyz_mm[i]).tolist()
        samples.append(s)
    path = Path(path)
    path.write_text(
        json.dumps({"format": FORMAT, "version": VERSION, "order": "mp21", "units": "mm", "samples": samples})
    )
    return path


class FolderOptions(ReaderOptions):
    """The options of :func:`read_folder`."""

    max_reprojection_px: float | None = None
    """Largest allowed distance between given 2D joints and the projected 3D joints (default 10 px)."""


register_reader("folder", read_folder, FolderOptions, description="your own images with hands.json / hands.npz")


__all__ = ["FORMAT", "VERSION", "FolderOptions", "read_folder", "write_folder_annotations"]
