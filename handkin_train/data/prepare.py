"""Writing a prepared cache — hand crops at training resolution in one uint8 array, labels beside it — and
reading its files back (the format; :class:`~.cache.PreparedHands` serves it to training).

:func:`prepare` reads every image once, crops the hand (left hands mirrored into right hands) with some
context around it, and writes a folder::

    manifest.json       format, version, sizes, crop settings, sources, array shapes and dtypes
    images.npy          (N, S, S, 3) uint8, S = image_size + 2·margin (the context), hand box centred
    K.npy               (N, 3, 3) float64   the stored crop's intrinsics
    uv.npy              (N, 21, 2) float64  2D joints, stored-crop pixels
    uv_visible.npy      (N, 21) bool
    joints.npy          (N, 21, 3) float64  3D joints, mm, camera frame of the crop (mirrored for left hands)
    has_2d.npy, has_3d.npy, mirrored.npy    (N,) bool
    group.npy (N,) int64, source.npy (N,) int16, key.npy (N,) str   provenance
    T.npy               (N, 3, 3) float64   original image pixels → stored-crop pixels (to map results back)
    mean_rgb.npy        (N, 3) float32      each crop's mean colour (the contrast augmentation pivots on it)

It is written into a temporary folder beside the target and renamed into place, so an interrupted run never
leaves a half-written cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from handkin.files import temporary_folder
from handkin.progress import progress as progress_bar

from ..errors import DatasetError
from .crops import crop_geometry, hand_box, warp_image
from .files import open_image
from .records import HandRecords, _check_3d, _check_finite, _check_intrinsics, _check_order, concat
from .registry import read_dataset

FORMAT = "handkin-prepared"
CACHE_VERSION = 1
MANIFEST = "manifest.json"
LABELS = {
    "K": np.float64,
    "uv": np.float64,
    "uv_visible": bool,
    "joints": np.float64,
    "has_2d": bool,
    "has_3d": bool,
    "mirrored": bool,
    "group": np.int64,
    "source": np.int16,
    "key": str,
    "T": np.float64,
    "mean_rgb": np.float32,
}


def margin_for(image_size: int, context: float) -> int:
    """Pixels kept on each side of the ``image_size`` crop for a ``context`` factor (stored side = size + 2·margin)."""
    return int(round(image_size * (context - 1.0) / 2.0))


# ------------------------------------------------------------------------------------------- prepare
def crop_records(
    records: HandRecords, image_size: int = 128, pad: float = 1.4, context: float = 1.25
) -> tuple[Any, int]:
    """The stored crops' geometry (:class:`~.crops.CropGeometry`, N rows) and the stored side ``S``: the hand
    box × ``pad`` becomes the central ``image_size`` pixels, ``margin`` more on each side; left hands mirrored."""
    m = margin_for(image_size, context)
    stored = image_size + 2 * m
    centre, side = hand_box(records.bbox, pad)
    geom = crop_geometry(
        records.K,
        records.uv,
        records.joints,
        centre,
        side * stored / image_size,
        stored,
        mirror=records.left,
    )
    return geom, stored


def _fill(images_path: str, paths: Sequence[str], T: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray:
    """Crop the images ``paths`` by ``T (len, 3, 3)`` into rows ``rows`` of the memory-mapped ``images_path``;
    returns their mean colours ``(len, 3)``."""
    images = np.load(images_path, mmap_mode="r+")
    means = np.empty((len(rows), 3), dtype=np.float32)
    last, img = None, None
    for j, r in enumerate(rows):
        if paths[j] != last:  # both hands of an image: open it once
            img, last = open_image(paths[j]), paths[j]
        crop = warp_image(img, T[j], size)
        images[r] = crop
        means[j] = crop.reshape(-1, 3).mean(axis=0)
    images.flush()
    del images
    return means


def _fill_star(args):
    return _fill(*args)


def prepare(
    records: HandRecords | Sequence[HandRecords],
    out: str | os.PathLike | None,
    image_size: int = 128,
    pad: float = 1.4,
    context: float = 1.25,
    *,
    if_exists: str = "error",
    workers: int = 0,
    progress: bool = False,
    sources: Sequence[dict[str, Any]] | None = None,
) -> Path | dict[str, np.ndarray]:
    """Crop every hand of ``records`` once into a cache folder ``out`` (see the module docs) and return its path.

    ``image_size``: training resolution; ``pad``: crop side over the hand box's larger side; ``context``: the
    stored crops are this much larger (room for rotation and zooming out). ``if_exists``: ``"error"``,
    ``"overwrite"`` or ``"keep"`` (leave an existing cache alone and return it). ``workers``: processes
    decoding images (0: this one). ``sources``: provenance written into the manifest. ``out=None`` builds the
    cache in memory and returns its arrays (for small sets; :class:`PreparedHands` takes them).
    A missing or unreadable image raises :class:`DatasetError` naming it; nothing is left behind.
    """
    if if_exists not in ("error", "overwrite", "keep"):
        raise DatasetError(f"prepare: if_exists must be 'error', 'overwrite' or 'keep', got {if_exists!r}.")
    parts = [records] if isinstance(records, HandRecords) else list(records)
    source = np.concatenate([np.full(len(r), i, dtype=np.int16) for i, r in enumerate(parts)])
    recs = parts[0] if len(parts) == 1 else concat(parts)
    n = len(recs)
    if n == 0:
        raise DatasetError("prepare: the records hold no hands.")
    target = None if out is None else Path(out)
    if target is not None and target.exists():
        if if_exists == "keep" and (target / MANIFEST).is_file():
            return target
        if if_exists == "error":
            raise DatasetError(f"{target} exists already; remove it or prepare with overwrite.")
    geom, stored = crop_records(recs, image_size, pad, context)
    labels = {
        "K": geom.K,
        "uv": geom.uv,
        "uv_visible": recs.uv_visible,
        "joints": geom.joints,
        "has_2d": recs.has_2d,
        "has_3d": recs.has_3d,
        "mirrored": recs.left,
        "group": recs.group,
        "source": source,
        "key": recs.key,
        "T": geom.T,
    }
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": CACHE_VERSION,
        "count": n,
        "image_size": int(image_size),
        "stored_size": int(stored),
        "margin": margin_for(image_size, context),
        "pad": float(pad),
        "context": float(context),
        "layout": "NHWC",
        "sources": list(sources) if sources is not None else [{"name": r.name} for r in parts],
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if target is None:
        images = np.empty((n, stored, stored, 3), dtype=np.uint8)
        means = np.empty((n, 3), dtype=np.float32)
        for r in range(n):
            crop = warp_image(open_image(recs.image[r]), geom.T[r], stored)
            images[r], means[r] = crop, crop.reshape(-1, 3).mean(axis=0)
        labels["mean_rgb"] = means
        return {
            "manifest": manifest,
            "images": images,
            **{k: np.asarray(v, dtype=LABELS[k]) for k, v in labels.items()},
        }
    with temporary_folder(target) as tmp:
        images_path = tmp / "images.npy"
        np.lib.format.open_memmap(images_path, mode="w+", dtype=np.uint8, shape=(n, stored, stored, 3)).flush()
        chunks = [np.arange(i, min(i + 256, n)) for i in range(0, n, 256)]
        jobs = [(str(images_path), recs.image[rows].tolist(), geom.T[rows], rows, stored) for rows in chunks]
        means = np.empty((n, 3), dtype=np.float32)
        with progress_bar(total=n, desc="prepare", unit="hand", enabled=progress) as bar:
            if workers > 0:
                import multiprocessing

                with multiprocessing.get_context("fork").Pool(workers) as pool:
                    for rows, m in zip(chunks, pool.imap(_fill_star, jobs), strict=True):
                        means[rows] = m
                        bar.update(len(rows))
            else:
                for rows, job in zip(chunks, jobs, strict=True):
                    means[rows] = _fill(*job)
                    bar.update(len(rows))
        labels["mean_rgb"] = means
        _write_arrays(tmp, manifest, labels)
        _move_into_place(tmp, target, if_exists)
    return target


def save_prepared(arrays: dict[str, Any], out: str | os.PathLike, if_exists: str = "error") -> Path:
    """Write a cache held in memory (what :func:`prepare` returns with ``out=None``) to the folder ``out``,
    atomically (a temporary folder beside it, renamed into place)."""
    target = Path(out)
    if target.exists() and if_exists == "error":
        raise DatasetError(f"{target} exists already; remove it or prepare with overwrite.")
    if target.exists() and if_exists == "keep" and (target / MANIFEST).is_file():
        return target
    with temporary_folder(target) as tmp:
        _write_arrays(tmp, dict(arrays["manifest"]), {k: v for k, v in arrays.items() if k != "manifest"})
        _move_into_place(tmp, target, if_exists)
    return target


def _write_arrays(folder: Path, manifest: dict[str, Any], arrays: dict[str, Any]) -> None:
    """Save ``arrays`` (``images`` already on disk when absent) and the manifest into ``folder``, fsynced."""
    specs = {}
    if "images" in arrays:
        np.save(folder / "images.npy", np.asarray(arrays["images"], dtype=np.uint8), allow_pickle=False)
    images = np.load(folder / "images.npy", mmap_mode="r")
    specs["images"] = {"dtype": "uint8", "shape": list(images.shape)}
    del images
    for name, dtype in LABELS.items():
        value = np.asarray(arrays[name], dtype=dtype)
        np.save(folder / f"{name}.npy", value, allow_pickle=False)
        specs[name] = {"dtype": str(value.dtype), "shape": list(value.shape)}
    manifest["arrays"] = specs
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
    for f in folder.iterdir():
        with f.open("rb") as fh:
            os.fsync(fh.fileno())


def _move_into_place(tmp: Path, target: Path, if_exists: str) -> None:
    if not target.exists():
        try:
            os.replace(tmp, target)
            return
        except OSError:
            if not target.exists():
                raise
    # the target appeared (another process prepared it too) or is to be overwritten
    if if_exists == "keep" and (target / MANIFEST).is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        return
    if if_exists == "error":
        raise DatasetError(f"{target} exists already; remove it or prepare with overwrite.")
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a prepared cache folder (checked: format, version, arrays present with their shapes)."""
    folder = Path(path)
    file = folder / MANIFEST
    if not file.is_file():
        raise DatasetError(f"{folder} is not a prepared cache: {file} not found (run handkin-train prepare).")
    try:
        manifest = json.loads(file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{file} is not a readable manifest: {exc}") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != CACHE_VERSION:
        raise DatasetError(
            f"{file}: format {manifest.get('format')!r} version {manifest.get('version')!r}; this code reads "
            f"{FORMAT!r} version {CACHE_VERSION} (prepare the cache again)."
        )
    return manifest


def load_arrays(folder: Path, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    """The arrays of a cache folder (``images`` memory-mapped), checked against the manifest's dtypes and shapes."""
    arrays: dict[str, np.ndarray] = {}
    for name, spec in manifest.get("arrays", {}).items():
        file = folder / f"{name}.npy"
        if not file.is_file():
            raise DatasetError(f"prepared cache {folder}: {file.name} is missing.")
        try:
            arrays[name] = np.load(file, mmap_mode="r" if name == "images" else None, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DatasetError(f"prepared cache {folder}: cannot read {file.name}: {exc}") from None
        if list(arrays[name].shape) != list(spec["shape"]) or str(arrays[name].dtype) != spec["dtype"]:
            raise DatasetError(
                f"prepared cache {folder}: {file.name} is {arrays[name].dtype} {arrays[name].shape}, the manifest "
                f"says {spec['dtype']} {tuple(spec['shape'])} (an interrupted copy?)."
            )
    missing = {"images", *LABELS} - set(arrays)
    if missing:
        raise DatasetError(f"prepared cache {folder}: manifest lists no {', '.join(sorted(missing))}.")
    return arrays


#: Float label arrays of a cache that must be finite in every row (rows without a label hold zeros).
FINITE_LABELS = {
    "K": "intrinsics K",
    "T": "crop transforms T",
    "uv": "2D joints (uv)",
    "joints": "3D joints",
    "mean_rgb": "mean colours",
}


def check_arrays(arrays: dict[str, np.ndarray], manifest: dict[str, Any], folder: Path | None = None) -> None:
    """Check a cache's arrays (from ``folder``, or in memory) as it is opened, vectorised over all rows: as many
    rows as the manifest's ``count``; finite labels in every row; valid intrinsics ``K`` (finite, positive focal
    lengths, last row 0 0 1, hence invertible); 3D labels in front of the camera, hand-sized and in MP21 order by
    their bone lengths. A :class:`DatasetError` names the file, the first bad sample (row) and how many are bad."""

    def where(name: str) -> str:
        return str(folder / f"{name}.npy") if folder is not None else f"the prepared arrays ({name})"

    source = str(folder / MANIFEST) if folder is not None else "the prepared arrays' manifest"
    count = manifest.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise DatasetError(f"{source}: 'count' must be the number of hands, a whole number >= 0; got {count!r}.")
    missing = {"images", *LABELS} - set(arrays)
    if missing:
        raise DatasetError(f"{source}: the cache lacks {', '.join(sorted(missing))}.")
    for name in ("images", *LABELS):
        rows = len(arrays[name]) if np.ndim(arrays[name]) else 0
        if rows != count:
            raise DatasetError(
                f"{source}: 'count' is {count} but {name}.npy holds {rows} rows (an interrupted or mixed copy?): "
                "prepare the cache again."
            )
    again = " (a prepared cache holds zeros where a label is missing): prepare the cache again"
    floats = {name: np.asarray(arrays[name], dtype=np.float64) for name in FINITE_LABELS}
    for name, value in floats.items():
        _check_finite(value, None, where(name), None, FINITE_LABELS[name], again)
    _check_intrinsics(floats["K"], where("K"), None)
    has_3d = np.asarray(arrays["has_3d"], dtype=bool)
    _check_3d(floats["joints"], has_3d, where("joints"), None)
    _check_order(
        floats["joints"], has_3d, "mp21", where("joints"), None, "A cache holds MP21 joints: prepare it again."
    )


# ------------------------------------------------------------------------------------------- from a config
def cache_name(kind: str, options: dict[str, Any], image_size: int, pad: float, context: float) -> str:
    """A folder name for a dataset's prepared cache: readable prefix + a hash of everything that shapes it."""
    key = json.dumps(
        {"kind": kind, "options": options, "size": image_size, "pad": pad, "context": context, "v": CACHE_VERSION},
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    split = options.get("split") or "default"
    return f"{kind}_{split}_{image_size}px_{digest}"


def prepare_dataset(
    kind: str,
    path: str | os.PathLike,
    out: str | os.PathLike | None,
    image_size: int = 128,
    pad: float = 1.4,
    context: float = 1.25,
    *,
    if_exists: str = "error",
    workers: int = 0,
    progress: bool = False,
    **reader_options: Any,
) -> Path | dict[str, np.ndarray]:
    """Read dataset ``kind`` at ``path`` (:func:`~.registry.read_dataset` with ``reader_options``) and
    :func:`prepare` it into ``out`` (the manifest records the source)."""
    options = {k: v for k, v in reader_options.items() if v is not None}
    if out is not None and if_exists == "keep" and (Path(out) / MANIFEST).is_file():
        return Path(out)
    records = read_dataset(kind, path, **options)
    source = {"name": kind, "path": str(Path(path).resolve()), "count": len(records)}
    source.update({k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in options.items()})
    return prepare(
        records,
        out,
        image_size,
        pad,
        context,
        if_exists=if_exists,
        workers=workers,
        progress=progress,
        sources=[source],
    )


__all__ = [
    "CACHE_VERSION",
    "FORMAT",
    "LABELS",
    "MANIFEST",
    "cache_name",
    "check_arrays",
    "crop_records",
    "load_arrays",
    "margin_for",
    "prepare",
    "prepare_dataset",
    "read_manifest",
    "save_prepared",
]
