"""The synthetic training set (:class:`SyntheticHands`): poses, cameras and images generated up front in chunks
from a seed, the 2.5D labels of :func:`handkin.camera.to_25d`, 2D-only marks, and ``.npz`` files
(:data:`FILE_VERSION`) to keep a generated set."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from handkin import camera
from handkin.files import atomic_write
from handkin.limits import JointLimits
from handkin.progress import progress as progress_bar
from handkin.sampling import sample_poses

from .cameras import sample_cameras
from .config import CHUNK, SyntheticConfig
from .render import render

#: Layout version of the files written by :meth:`SyntheticHands.save`.
FILE_VERSION = 1


class SyntheticHands(torch.utils.data.Dataset):
    """``size`` synthetic right hands with exact 2D/3D labels, generated up front (deterministic per seed).

    Bulk arrays: :attr:`images` ``(N, H, W, 3)`` uint8, :attr:`joints` ``(N, 21, 3)`` float64 camera-space mm,
    :attr:`K` ``(N, 3, 3)`` float64, the 2.5D labels of :func:`handkin.camera.to_25d` — :attr:`uv` ``(N, 21, 2)``
    px, :attr:`z_rel` ``(N, 21)`` and :attr:`z_root` ``(N,)`` in reference lengths, :attr:`scale` ``(N,)`` mm
    (float32) — and :attr:`has_3d` ``(N,)`` bool. ``weak_fraction`` of the samples (exactly
    ``round(weak_fraction · size)``, chosen from the seed) are marked 2D-only; :meth:`mark_2d_only` marks more.
    Generation runs in chunks of :data:`CHUNK` samples, each with its own generator spawned from ``seed`` (the
    working memory is bounded by the chunk; the stored set takes H·W·3 bytes per sample, 48 KiB at 128 px);
    ``progress`` shows a tqdm bar. :meth:`save` / :meth:`load` keep a generated set in an ``.npz`` file. Only
    right hands are generated (the dataset readers mirror left hands). Items: see :meth:`__getitem__`.
    """

    def __init__(
        self,
        size: int,
        seed: int = 0,
        config: SyntheticConfig | None = None,
        limits: JointLimits | None = None,
        weak_fraction: float = 0.0,
        progress: bool = False,
    ) -> None:
        if int(size) != size or size < 0:
            raise ValueError(f"size must be a non-negative integer, got {size!r}.")
        if not 0.0 <= weak_fraction <= 1.0:
            raise ValueError(f"weak_fraction must lie in [0, 1], got {weak_fraction}.")
        size = int(size)
        self.config = config if config is not None else SyntheticConfig()
        self.limits = limits if limits is not None else JointLimits.default()
        self.seed = int(seed)
        side = self.config.image_size
        images = np.empty((size, side, side, 3), dtype=np.uint8)
        joints = np.empty((size, 21, 3))
        K = np.empty((size, 3, 3))
        starts = range(0, size, CHUNK)
        with progress_bar(total=len(starts), desc="synthetic hands", unit="chunk", enabled=progress) as bar:
            for chunk, lo in enumerate(starts):
                hi = min(lo + CHUNK, size)
                rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0, chunk)))
                hands = sample_poses(hi - lo, self.limits, rng, self.config)
                joints[lo:hi], K[lo:hi] = sample_cameras(hands, rng, self.config)
                images[lo:hi] = render(joints[lo:hi], K[lo:hi], rng, self.config)
                bar.update(1)
        has_3d = np.ones(size, dtype=bool)
        weak_rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(1,)))
        has_3d[weak_rng.permutation(size)[: int(round(weak_fraction * size))]] = False
        self._set(images, joints, K, has_3d)

    def _set(self, images: np.ndarray, joints: np.ndarray, K: np.ndarray, has_3d: np.ndarray) -> None:
        self.images, self.joints, self.K, self.has_3d = images, joints, K, has_3d
        pose = camera.to_25d(joints, K)
        self.uv = np.asarray(pose.uv, dtype=np.float32)
        self.z_rel = np.asarray(pose.z_rel, dtype=np.float32)
        self.scale = np.asarray(pose.scale, dtype=np.float32)
        self.z_root = np.asarray(pose.z_root / pose.scale, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: Any) -> dict[str, torch.Tensor]:
        """One sample: ``image`` uint8 (3, H, W); ``uv`` float32 (21, 2) px; ``z_rel`` float32 (21,) (Z − Z_root)/s;
        ``z_root`` float32 () Z_root/s; ``scale`` float32 () s mm (wrist→middle_mcp); ``K`` float32 (3, 3);
        ``joints`` float32 (21, 3) camera-space mm; ``has_2d`` bool () (always True); ``has_3d`` bool ()."""
        n = len(self)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for {n} samples.")
        i %= n
        return {
            "image": torch.from_numpy(np.ascontiguousarray(self.images[i].transpose(2, 0, 1))),
            "uv": torch.from_numpy(self.uv[i].copy()),
            "z_rel": torch.from_numpy(self.z_rel[i].copy()),
            "z_root": torch.tensor(self.z_root[i], dtype=torch.float32),
            "scale": torch.tensor(self.scale[i], dtype=torch.float32),
            "K": torch.from_numpy(self.K[i].astype(np.float32)),
            "joints": torch.from_numpy(self.joints[i].astype(np.float32)),
            "has_2d": torch.tensor(True),
            "has_3d": torch.tensor(bool(self.has_3d[i])),
        }

    def mark_2d_only(self, indices_or_mask: Any) -> None:
        """Mark samples 2D-only (``has_3d`` False): integer indices, or a boolean mask ``(N,)`` (numpy, torch, list)."""
        sel = indices_or_mask
        if isinstance(sel, torch.Tensor):
            sel = sel.detach().cpu().numpy()
        sel = np.asarray(sel)
        if sel.dtype == bool:
            if sel.shape != self.has_3d.shape:
                raise ValueError(f"a mask must have shape {self.has_3d.shape}, got {sel.shape}.")
        elif sel.size and not np.issubdtype(sel.dtype, np.integer):
            raise TypeError(f"mark_2d_only needs integer indices or a boolean mask, got dtype {sel.dtype}.")
        elif sel.size and (sel.min() < -len(self) or sel.max() >= len(self)):
            raise IndexError(f"indices out of range for {len(self)} samples.")
        self.has_3d[sel.astype(bool) if sel.dtype == bool else sel.astype(np.int64)] = False

    def save(self, path: str | os.PathLike) -> Path:
        """Write the set to an uncompressed ``.npz`` (atomically: a temporary file in the same folder, renamed)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "version": FILE_VERSION,
            "seed": self.seed,
            "config": self.config.model_dump(mode="json"),
            "limits": json.loads(self.limits.model_dump_json()),
        }
        with atomic_write(path) as f:
            np.savez(
                f,
                images=self.images,
                joints=self.joints,
                K=self.K,
                has_3d=self.has_3d,
                meta=np.array(json.dumps(meta)),
            )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> SyntheticHands:
        """Read a set written by :meth:`save` (labels are recomputed from the stored joints and K)."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in ("images", "joints", "K", "has_3d", "meta")}
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{path} is not a SyntheticHands file: {exc}") from exc
        meta = json.loads(str(arrays["meta"]))
        if meta.get("version") != FILE_VERSION:
            raise ValueError(f"{path} has file version {meta.get('version')}; this code reads {FILE_VERSION}.")
        n = len(arrays["images"])
        config = SyntheticConfig(**meta["config"])
        side = config.image_size
        shapes = {"images": (n, side, side, 3), "joints": (n, 21, 3), "K": (n, 3, 3), "has_3d": (n,)}
        for key, shape in shapes.items():
            if arrays[key].shape != shape:
                raise ValueError(f"{path}: {key} has shape {arrays[key].shape}, expected {shape}.")
        obj = cls.__new__(cls)
        obj.config = config
        obj.limits = JointLimits(**meta["limits"])
        obj.seed = int(meta["seed"])
        obj._set(
            arrays["images"].astype(np.uint8, copy=False),
            arrays["joints"].astype(np.float64, copy=False),
            arrays["K"].astype(np.float64, copy=False),
            arrays["has_3d"].astype(bool).copy(),
        )
        return obj

    def __repr__(self) -> str:
        return (
            f"SyntheticHands({len(self)} samples, {self.config.image_size}px, seed={self.seed}, "
            f"2D-only={int((~self.has_3d).sum())})"
        )


__all__ = ["SyntheticHands", "FILE_VERSION"]
