"""Weak supervision and mixtures: which samples keep their 3D labels, and datasets drawn together by ratios.

* :func:`weak_mask` — choose the samples that become 2D-only: a fraction, a count, or "keep exactly k with 3D"
  (the paper's §5.6 series: 1 … 29,305 3D-labelled FreiHAND samples). Choices are made per *group* (rows that
  share one annotation, e.g. FreiHAND's four colour versions of a sample), from one seeded permutation of the
  groups: the same seed gives the same choice, and the 3D-labelled set for k samples is contained in the one
  for k + 1.
* :func:`apply_weak` — the same on a dataset that has ``has_3d`` and ``mark_2d_only`` (prepared caches,
  synthetic hands).
* :class:`MixedHands` — several datasets in one epoch, each contributing a share set by ``ratios``
  (over- or under-sampled as needed: every sample of a part is used once before any is used twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from handkin.errors import ShapeError

from ..errors import ConfigError, DatasetError

#: Spawn key of the weak-labelling permutation (kept apart from other uses of a dataset's seed).
_WEAK_STREAM = 0x3D2D
_MIX_STREAM = 0x313


def weak_mask(
    has_3d: np.ndarray,
    group: np.ndarray | None = None,
    *,
    fraction: float = 0.0,
    count: int | None = None,
    labelled_3d: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """``(N,)`` bool: the rows to make 2D-only.

    Among the groups with 3D labels (``has_3d (N,)``, ``group (N,)`` — default one group per row), ``fraction``
    (rounded) or ``count`` of them become 2D-only, or all but ``labelled_3d`` of them. Rows already without 3D
    stay so (they are not counted). Deterministic for a ``seed``.
    """
    has_3d = np.asarray(has_3d, dtype=bool).reshape(-1)
    n = len(has_3d)
    group = np.arange(n) if group is None else np.asarray(group).reshape(-1)
    if len(group) != n:
        raise ShapeError(f"weak_mask: group has {len(group)} rows, has_3d {n}; give one group per row.")
    if sum(x is not None for x in (count, labelled_3d)) + (fraction > 0) > 1:
        raise ConfigError("weak labels: give one of fraction (weak_fraction), count (weak_count) and labelled_3d.")
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"weak labels: fraction (weak_fraction) must lie in [0, 1], got {fraction}.")
    eligible = np.unique(group[has_3d])
    g = len(eligible)
    if labelled_3d is not None:
        if labelled_3d > g:
            raise DatasetError(
                f"labelled_3d={labelled_3d} but only {g} samples (groups) have 3D labels: ask for at most {g}."
            )
        n_weak = g - labelled_3d
    elif count is not None:
        if count > g:
            raise DatasetError(f"weak_count={count} but only {g} samples (groups) have 3D labels: ask for at most {g}.")
        n_weak = count
    else:
        n_weak = int(round(fraction * g))
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_WEAK_STREAM,)))
    order = eligible[rng.permutation(g)]
    weak_groups = order[g - n_weak :]  # the 3D-labelled groups are a prefix of one permutation
    return np.isin(group, weak_groups) & has_3d


def apply_weak(
    dataset: Any,
    *,
    fraction: float = 0.0,
    count: int | None = None,
    labelled_3d: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Mark ``dataset``'s chosen rows 2D-only (:func:`weak_mask`); returns the mask. The dataset needs
    ``has_3d`` and ``mark_2d_only`` (and may have ``group``)."""
    group = getattr(dataset, "group", None)
    mask = weak_mask(dataset.has_3d, group, fraction=fraction, count=count, labelled_3d=labelled_3d, seed=seed)
    if mask.any():
        dataset.mark_2d_only(mask)
    return mask


def apportion(total: int, weights: Sequence[float]) -> np.ndarray:
    """``total`` split into integers proportional to ``weights`` (largest remainders; sums exactly to ``total``)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or len(w) == 0 or np.any(w < 0) or w.sum() <= 0:
        raise ConfigError(f"mix ratios must be non-negative and not all 0, got {list(weights)}.")
    exact = total * w / w.sum()
    counts = np.floor(exact).astype(np.int64)
    rest = total - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:rest]] += 1
    return counts


class MixedHands(Dataset):
    """Datasets drawn together: ``size`` samples per epoch (default: all of them once), part ``d`` contributing
    ``size · ratios[d] / Σ ratios`` (default ratios: the parts' sizes). A part with fewer samples than its share
    repeats them (each once before any twice); a larger part contributes a seeded subset, redrawn by
    :meth:`set_epoch`. The engine's sampler shuffles the epoch.

    Items are the parts' items; ``uv_visible`` is added (all True) where a part does not give it, so batches
    from different parts collate. Batched fetches (``__getitems__``) are passed on to the parts.
    """

    def __init__(
        self, parts: Sequence[Dataset], ratios: Sequence[float] | None = None, size: int | None = None, seed: int = 0
    ) -> None:
        self.parts = list(parts)
        if not self.parts:
            raise DatasetError("MixedHands needs at least one dataset (the parts of a mix).")
        lengths = np.array([len(p) for p in self.parts])
        if np.any(lengths == 0):
            raise DatasetError(f"every part of a mix needs samples; their sizes are {lengths.tolist()}.")
        weights = lengths if ratios is None else np.asarray(ratios, dtype=np.float64)
        if len(weights) != len(self.parts):
            raise ConfigError(f"{len(weights)} mix ratios for {len(self.parts)} parts: give one ratio per part.")
        self.size = int(lengths.sum() if size is None else size)
        self.counts = apportion(self.size, weights)
        self.seed = int(seed)
        self._draw(0)

    def _draw(self, epoch: int) -> None:
        part, local = [], []
        for d, (p, c) in enumerate(zip(self.parts, self.counts, strict=True)):
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(_MIX_STREAM, d, epoch)))
            n = len(p)
            reps = -(-int(c) // n) if c else 0
            idx = np.concatenate([rng.permutation(n) for _ in range(reps)])[:c] if reps else np.zeros(0, np.int64)
            part.append(np.full(len(idx), d, dtype=np.int64))
            local.append(idx.astype(np.int64))
        self.part, self.local = np.concatenate(part), np.concatenate(local)

    def set_epoch(self, epoch: int) -> None:
        """Redraw the parts' subsets for ``epoch`` (and pass the epoch on to parts that take it)."""
        self._draw(int(epoch))
        for p in self.parts:
            if hasattr(p, "set_epoch"):
                p.set_epoch(epoch)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        shares = ", ".join(f"{type(p).__name__}×{c}" for p, c in zip(self.parts, self.counts, strict=True))
        return f"MixedHands({self.size} per epoch: {shares})"

    @staticmethod
    def _complete(item: Any) -> Any:
        if "uv_visible" not in item:
            item = {**item, "uv_visible": torch.ones(item["uv"].shape[0], dtype=torch.bool)}
        return item

    def __getitem__(self, i: Any) -> dict[str, torch.Tensor]:
        i = int(i)
        if not -self.size <= i < self.size:
            raise IndexError(f"index {i} out of range for {self.size} samples.")
        i %= self.size
        return dict(self._complete(self.parts[self.part[i]][int(self.local[i])]))

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, torch.Tensor]]:
        idx = np.asarray(indices, dtype=np.int64)
        out: list[Any] = [None] * len(idx)
        parts = self.part[idx]
        for d in np.unique(parts):
            where = np.flatnonzero(parts == d)
            local = self.local[idx[where]].tolist()
            p = self.parts[d]
            items = p.__getitems__(local) if hasattr(p, "__getitems__") else [p[j] for j in local]
            for w, item in zip(where, items, strict=True):
                out[w] = self._complete(item)
        return out


__all__ = ["MixedHands", "apply_weak", "apportion", "weak_mask"]
