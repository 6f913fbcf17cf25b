"""The prepared cache served to training: :class:`PreparedHands` reads a cache folder written by
:func:`~.prepare.prepare` (its layout is documented there) without decoding a single JPEG: a batch is gathered
from the memory map and warped in one go (scale, rotation about the optical axis, translation, colour —
:mod:`.crops`), with labels and ``K`` transformed to match. Items have exactly the keys of
:class:`~handkin_train.data.SyntheticHands` plus ``uv_visible``.

The writing side (``prepare``, ``prepare_dataset``, ``read_manifest``, …) lives in :mod:`.prepare` and is
re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from torch.utils.data._utils.collate import collate, default_collate_fn_map

from handkin import camera
from handkin.errors import ShapeError

from ..errors import DatasetError
from .augment import AugmentConfig
from .crops import (
    N_UNIFORMS,
    crop_geometry,
    identity_colour,
    keyed_uniforms,
    sample_augmentation,
    warp_batch,
    warp_torch,
)
from .prepare import (
    CACHE_VERSION,
    FORMAT,
    LABELS,
    MANIFEST,
    cache_name,
    check_arrays,
    crop_records,
    load_arrays,
    margin_for,
    prepare,
    prepare_dataset,
    read_manifest,
    save_prepared,
)


class PreparedHands(Dataset):
    """Training items from a prepared cache (a folder, or the arrays :func:`prepare` returns with ``out=None``).

    ``image_size``: output side (default: the cache's). ``augment``: an :class:`AugmentConfig`, ``True`` for its
    defaults, or ``False``/``None`` for the plain centred crop. Augmentation draws are keyed by
    ``(seed, epoch, sample)`` (:func:`~.crops.keyed_uniforms`): call :meth:`set_epoch` each epoch for runs that
    replay exactly; without it each batch draws a fresh key from torch's RNG (seeded per DataLoader worker).
    ``rows``: a view of some of the cache's rows. Items: see :meth:`batch`.

    The DataLoader fetches whole batches through ``__getitems__``: one gather from the memory map, the OpenCV warp
    and colour map (:func:`~.crops.warp_batch`, C++) and vectorised labels — no per-sample Python beyond that.
    """

    def __init__(
        self,
        source: str | os.PathLike | dict[str, Any],
        image_size: int | None = None,
        augment: AugmentConfig | bool | None = None,
        seed: int = 0,
        rows: np.ndarray | None = None,
    ) -> None:
        if isinstance(source, dict):
            self.path = None
            manifest = source["manifest"]
            arrays = source
        else:
            self.path = Path(source)
            manifest = read_manifest(self.path)
            arrays = load_arrays(self.path, manifest)
        self.manifest = manifest
        self._arrays = {k: v for k, v in arrays.items() if k != "manifest"}
        check_arrays(self._arrays, manifest, self.path)
        n = int(manifest["count"])
        self.prepared_size = int(manifest["image_size"])
        self.stored_size = int(manifest["stored_size"])
        self.image_size = int(image_size or self.prepared_size)
        if self.image_size != self.prepared_size:
            import warnings

            warnings.warn(
                f"{self.path or 'the cache'} was prepared at {self.prepared_size} px and is served at "
                f"{self.image_size} px: every batch is resampled (prepare it at the training size).",
                stacklevel=2,
            )
        if isinstance(augment, bool) or augment is None:
            augment = AugmentConfig(enabled=bool(augment))
        self.augment = augment
        self.seed = int(seed)
        self.rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
        if self.rows.size and (self.rows.min() < 0 or self.rows.max() >= n):
            raise IndexError(f"rows out of range for a cache of {n} hands.")
        self.has_3d = np.asarray(self._arrays["has_3d"])[self.rows].copy()
        self._epoch: int | None = None
        self._depth_labels()

    # -- labels that augmentation does not change
    def _depth_labels(self) -> None:
        a = self._arrays
        joints = np.asarray(a["joints"])
        pose = camera.to_25d(joints, np.asarray(a["K"]))
        s = np.asarray(pose.scale)
        ok = s > 0
        self._scale = np.where(ok, s, 0.0).astype(np.float32)
        self._z_rel = np.where(ok[:, None], pose.z_rel, 0.0).astype(np.float32)
        self._z_root = np.where(ok, pose.z_root / np.where(ok, s, 1.0), 0.0).astype(np.float32)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self.path is not None:  # reopen the memory map in the worker instead of copying it
            state["_arrays"] = {k: v for k, v in self._arrays.items() if k != "images"}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "images" not in self._arrays:
            self._arrays["images"] = np.load(self.path / "images.npy", mmap_mode="r", allow_pickle=False)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        where = str(self.path) if self.path is not None else "in memory"
        return (
            f"PreparedHands({len(self)} hands, {self.image_size}px, {where}, augment={self.augment.enabled}, "
            f"2D-only={int((~self.has_3d).sum())})"
        )

    @property
    def group(self) -> np.ndarray:
        """(len,) int64 annotation groups of the rows in this view."""
        return np.asarray(self._arrays["group"])[self.rows]

    @property
    def key(self) -> np.ndarray:
        return np.asarray(self._arrays["key"])[self.rows]

    def array(self, name: str) -> np.ndarray:
        """A stored label array (``"T"``, ``"mirrored"``, ``"source"`` …) for the rows of this view."""
        return np.asarray(self._arrays[name])[self.rows]

    @property
    def _interpolation(self) -> str:
        # augmentation: as configured; a plain resize to another size: bilinear
        return self.augment.interpolation if self.augment.enabled else "bilinear"

    def set_epoch(self, epoch: int) -> None:
        """Key the augmentation draws by ``epoch`` (exactly reproducible runs, also across resumes)."""
        self._epoch = int(epoch)

    def subset(self, rows: Any) -> PreparedHands:
        """A view of some of this view's rows (sharing the arrays; weak marks are kept)."""
        idx = np.asarray(rows, dtype=np.int64)
        view = object.__new__(PreparedHands)
        view.__dict__.update(self.__dict__)
        view.rows = self.rows[idx]
        view.has_3d = self.has_3d[idx].copy()
        return view

    def mark_2d_only(self, indices_or_mask: Any) -> None:
        """Mark rows of this view 2D-only (``has_3d`` False): integer indices or a boolean mask."""
        sel = np.asarray(indices_or_mask)
        if sel.dtype == bool and sel.shape != self.has_3d.shape:
            raise ShapeError(f"mark_2d_only: a mask must have shape {self.has_3d.shape}, got {sel.shape}.")
        self.has_3d[sel] = False

    # -- batches
    def geometry(self, indices: Any, salt: int | None = None):
        """The output crops' :class:`~.crops.CropGeometry` (stored crop → output) and colour maps ``(B, 3, 4)``
        of view rows ``indices``; the identity augmentation when augmentation is off."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        rows = self.rows[idx]
        a = self._arrays
        b = len(rows)
        c = (self.stored_size - 1) / 2.0
        centre = np.full((b, 2), c)
        side = np.full(b, float(self.prepared_size))
        K, uv, joints = (np.asarray(a[k])[rows] for k in ("K", "uv", "joints"))
        if self.augment.enabled:
            salt = self._epoch if salt is None else salt
            u = keyed_uniforms(self.seed, 0 if salt is None else salt, rows, N_UNIFORMS)
            aug = sample_augmentation(self.augment, u, np.asarray(a["mean_rgb"])[rows])
            geom = crop_geometry(
                K, uv, joints, centre, side, self.image_size, angle=aug.angle, scale=aug.scale, shift=aug.shift
            )
            return geom, aug.colour
        return crop_geometry(K, uv, joints, centre, side, self.image_size), None

    def batch(self, indices: Any, salt: int | None = None, device: Any = None) -> dict[str, torch.Tensor]:
        """A batch of view rows ``indices`` as tensors: ``image`` uint8 (B, 3, H, W); ``uv`` float32 (B, 21, 2)
        crop px; ``z_rel`` float32 (B, 21); ``z_root`` float32 (B,) Z_root/s; ``scale`` float32 (B,) s mm
        (wrist→middle_mcp); ``K`` float32 (B, 3, 3); ``joints`` float32 (B, 21, 3) camera mm; ``has_2d``,
        ``has_3d`` bool (B,); ``uv_visible`` bool (B, 21). Right hands only (left ones were mirrored).

        ``salt`` keys the augmentation (default: the epoch set by :meth:`set_epoch`, else a draw from torch's
        RNG). ``device``: warp with ``torch.grid_sample`` on that device (e.g. ``"cuda"``; the tensors are
        returned there) instead of OpenCV on the CPU.

        With ``augment.warp = "device"`` (and no ``device``) the batch holds the stored crops instead, ``image``
        uint8 (B, 3, S, S), and what :func:`warp_on_device` needs to finish it wherever it is moved:
        ``warp_T`` float32 (B, 3, 3) (stored px → crop px), ``warp_colour`` float32 (B, 3, 4), ``warp_spec`` int32
        (B, 2) (crop side, 1 for nearest). The labels are those of the finished crops already.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"index out of range for {len(self)} samples.")
        idx %= max(len(self), 1)
        rows = self.rows[idx]
        if self.augment.enabled and salt is None and self._epoch is None:
            salt = int(torch.randint(0, 2**62, ()).item())
        geom, colour = self.geometry(idx, salt)
        images = self._arrays["images"]
        m = (self.stored_size - self.image_size) // 2
        plain = colour is None and self.image_size == self.prepared_size and self.stored_size - self.image_size == 2 * m
        shared = device is None and torch.utils.data.get_worker_info() is not None  # hand over without a copy
        later = device is None and colour is not None and self.augment.warp == "device"
        if later:  # the stored crops as they are; the trainer warps them on its device (warp_on_device)
            size = self.stored_size
            dev = None
            image = _empty((len(rows), size, size, 3), torch.uint8, shared)
            image.numpy()[:] = images[rows]
            image = image.permute(0, 3, 1, 2)
        elif device is not None:
            dev = torch.device(device)
            src = torch.from_numpy(np.ascontiguousarray(images[rows])).to(dev)
            if colour is None:
                colour = identity_colour(len(rows))
            image = warp_torch(src, geom.T, self.image_size, self._interpolation, colour)
        else:
            dev = None
            size = self.image_size
            image = _empty((len(rows), size, size, 3), torch.uint8, shared)
            crops = image.numpy()
            if plain:
                crops[:] = images[rows, m : m + size, m : m + size]
            else:
                warp_batch(images[rows], geom.T, size, self._interpolation, colour, out=crops)
            image = image.permute(0, 3, 1, 2)
        a = self._arrays
        b = len(rows)
        floats = _empty((b, _FLOATS), torch.float32, shared)  # all float labels in one buffer
        bools = _empty((b, _BOOLS), torch.bool, shared)
        f, t = floats.numpy(), bools.numpy()
        f[:, 0:42] = geom.uv.reshape(b, 42)
        f[:, 42:63] = self._z_rel[rows]
        f[:, 63] = self._z_root[rows]
        f[:, 64] = self._scale[rows]
        f[:, 65:74] = geom.K.reshape(b, 9)
        f[:, 74:137] = geom.joints.reshape(b, 63)
        t[:, 0] = np.asarray(a["has_2d"])[rows]
        t[:, 1] = self.has_3d[idx]
        t[:, 2:23] = np.asarray(a["uv_visible"])[rows]
        out = {
            "image": image,
            "uv": floats[:, 0:42].view(b, 21, 2),
            "z_rel": floats[:, 42:63],
            "z_root": floats[:, 63],
            "scale": floats[:, 64],
            "K": floats[:, 65:74].view(b, 3, 3),
            "joints": floats[:, 74:137].view(b, 21, 3),
            "has_2d": bools[:, 0],
            "has_3d": bools[:, 1],
            "uv_visible": bools[:, 2:23],
        }
        if later:
            warp = _empty((b, 21), torch.float32, shared)
            spec = _empty((b, 2), torch.int32, shared)
            warp.numpy()[:, :9] = geom.T.reshape(b, 9)
            warp.numpy()[:, 9:] = colour.reshape(b, 12)
            spec.numpy()[:] = (self.image_size, self._interpolation == "nearest")
            out.update(warp_T=warp[:, :9].view(b, 3, 3), warp_colour=warp[:, 9:].view(b, 3, 4), warp_spec=spec)
        if dev is not None:
            out = {k: v.to(dev, non_blocking=True) for k, v in out.items()}
        return out

    def __getitems__(self, indices: Sequence[int]) -> list[BatchRow]:
        """The DataLoader's batched fetch: :meth:`batch` as per-sample rows (read-only mappings of views).

        The default collate hands back the batch itself when it gets all rows of one batch in order (no
        unbinding and re-stacking); mixed with other items, the rows collate like dicts.
        """
        b = self.batch(indices)
        return [BatchRow(b, i) for i in range(len(indices))]

    def __getitem__(self, i: Any) -> dict[str, torch.Tensor]:
        return dict(self.__getitems__([int(i)])[0])


#: Float labels per sample in a batch buffer: uv 42, z_rel 21, z_root 1, scale 1, K 9, joints 63.
_FLOATS = 137
#: Bool labels per sample: has_2d, has_3d, uv_visible 21.
_BOOLS = 23


def _empty(shape: tuple[int, ...], dtype: torch.dtype, shared: bool) -> torch.Tensor:
    """An uninitialised CPU tensor; in shared memory when ``shared`` (allocated there directly, as torch's
    default collate does in DataLoader workers, so handing it to the main process copies nothing)."""
    if not shared:
        return torch.empty(shape, dtype=dtype)
    proto = torch.empty(0, dtype=dtype)
    storage = proto._typed_storage()._new_shared(int(np.prod(shape)), device="cpu")
    return proto.new(storage).view(shape)


#: Keys of a batch still to be warped on the device (``AugmentConfig.warp = "device"``).
WARP_KEYS = ("warp_T", "warp_colour", "warp_spec")


def warp_on_device(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Finish a batch fetched with ``augment.warp = "device"`` where its tensors are (e.g. on the GPU after the
    transfer): the stored crops warped and coloured by :func:`~.crops.warp_torch` in one ``grid_sample``; the
    warp keys removed. Batches without them are returned as they are."""
    if "warp_T" not in batch:
        return batch
    spec = batch["warp_spec"]
    if spec.ndim != 2 or not bool((spec == spec[:1]).all()):
        raise DatasetError(
            "a batch to warp on the device must come from one dataset (one crop size, one resampling): "
            "augment.warp 'device' works on prepared datasets, not inside a mix."
        )
    size, nearest = (int(v) for v in spec[0].tolist())
    images = batch["image"].permute(0, 2, 3, 1)  # (B, S, S, 3)
    image = warp_torch(images, batch["warp_T"], size, "nearest" if nearest else "bilinear", batch["warp_colour"])
    out = {k: v for k, v in batch.items() if k not in WARP_KEYS}
    out["image"] = image
    return out


class BatchRow(Mapping):
    """Sample ``index`` of a batch dict (``key → batch[key][index]``, views): what ``__getitems__`` returns."""

    __slots__ = ("batch", "index")

    def __init__(self, batch: dict[str, torch.Tensor], index: int) -> None:
        self.batch, self.index = batch, index

    def __getitem__(self, key: str) -> torch.Tensor:
        return self.batch[key][self.index]

    def __iter__(self):
        return iter(self.batch)

    def __len__(self) -> int:
        return len(self.batch)


def _collate_rows(rows: Sequence[Any], *, collate_fn_map: dict | None = None) -> dict[str, Any]:
    """Collate for :class:`BatchRow`: the whole batch of one :meth:`PreparedHands.batch` call in order is
    returned as it is; any other list (subsets, mixtures with other datasets' dicts) is stacked key by key."""
    first = rows[0].batch
    size = len(first["image"])
    if len(rows) == size and all(type(r) is BatchRow and r.batch is first and r.index == i for i, r in enumerate(rows)):
        return dict(first)
    return {key: collate([r[key] for r in rows], collate_fn_map=collate_fn_map) for key in first}


default_collate_fn_map[BatchRow] = _collate_rows  # the documented way to extend torch's default_collate


__all__ = [
    "BatchRow",
    "CACHE_VERSION",
    "FORMAT",
    "LABELS",
    "MANIFEST",
    "PreparedHands",
    "WARP_KEYS",
    "cache_name",
    "crop_records",
    "margin_for",
    "prepare",
    "prepare_dataset",
    "read_manifest",
    "save_prepared",
    "warp_on_device",
]
