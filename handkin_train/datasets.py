"""Datasets built from a configuration section (:class:`~handkin_train.config.DatasetConfig`): rendered
synthetic hands, datasets read from disk through the reader registry and prepared once, prepared caches, mixes;
then the rows selected (``subset``, ``size``) and the weak labels marked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from .config import DatasetConfig
from .data.cache import PreparedHands
from .data.mix import MixedHands, apply_weak
from .data.prepare import cache_name, prepare_dataset
from .data.synthetic import SyntheticConfig, SyntheticHands


def build_dataset(config: DatasetConfig, image_size: int, cache: Path | None = None, progress: bool = False) -> Dataset:
    """The dataset a config section describes, by ``config.kind``:

    * ``synthetic`` — rendered hands at ``image_size`` (generated, or read from ``cache``);
    * a registered reader (``freihand`` / ``rhd`` / ``ho3d`` / ``interhand`` / ``folder`` …) — read from
      ``config.path`` with the reader's options and cropped once into a prepared cache under ``cache`` (reused
      by later runs; in memory when ``cache`` is ``None``);
    * ``prepared`` — a cache written by ``handkin-train prepare``;
    * ``mix`` — its ``parts`` built the same way and drawn by ``ratios``.

    Then ``subset`` / ``size`` select rows and ``weak_fraction`` / ``weak_count`` / ``labelled_3d`` mark 2D-only
    samples (see :class:`~handkin_train.config.DatasetConfig`).
    """
    if config.kind == "mix":
        parts = [build_dataset(part, image_size, cache, progress) for part in config.parts]
        return MixedHands(parts, config.ratios, config.size, config.seed)
    if config.kind == "synthetic":
        data = _synthetic_dataset(config, image_size, cache, progress)
        if config.weak_count is not None or config.labelled_3d is not None:
            apply_weak(data, count=config.weak_count, labelled_3d=config.labelled_3d, seed=config.seed)
        return data
    data = _prepared_dataset(config, image_size, cache, progress)
    rows = _select_rows(data.group, config)
    if len(rows) != len(data):
        data = data.subset(rows)
    apply_weak(
        data, fraction=config.weak_fraction, count=config.weak_count, labelled_3d=config.labelled_3d, seed=config.seed
    )
    return data


def _synthetic_dataset(config: DatasetConfig, image_size: int, cache: Path | None, progress: bool) -> Dataset:
    size = config.synthetic_size
    path = None
    if cache is not None:
        name = f"synthetic_{image_size}px_{size}_seed{config.seed}_weak{config.weak_fraction:g}{_options_key(config)}.npz"
        path = Path(cache) / name
        if path.exists():
            return SyntheticHands.load(path)
    data = SyntheticHands(
        size,
        seed=config.seed,
        config=SyntheticConfig(image_size=image_size, **config.synthetic),
        weak_fraction=config.weak_fraction,
        progress=progress,
    )
    if path is not None:
        data.save(path)
    return data


def _options_key(config: DatasetConfig) -> str:
    """``""`` for the default rendering, else ``_`` + a short hash of ``config.synthetic`` (the cache file's name)."""
    if not config.synthetic:
        return ""
    import hashlib
    import json

    text = json.dumps(config.synthetic, sort_keys=True, default=str)
    return "_" + hashlib.sha256(text.encode()).hexdigest()[:10]


def _prepared_dataset(config: DatasetConfig, image_size: int, cache: Path | None, progress: bool):
    """A ``PreparedHands`` for a ``prepared`` config, or for a dataset read from disk (prepared on first use)."""
    augment = config.augment_config
    if config.kind == "prepared":
        return PreparedHands(config.path, image_size=image_size, augment=augment, seed=config.seed)
    options = config.reader_options.as_kwargs()  # the reader's own spelling (also the cache key)
    out = None
    if cache is not None:
        key = {"path": str(Path(config.path).resolve()), **options}
        out = Path(cache) / cache_name(config.kind, key, image_size, config.pad, config.context)
    prepared = prepare_dataset(
        config.kind,
        config.path,
        out,
        image_size,
        config.pad,
        config.context,
        if_exists="keep",
        progress=progress,
        **options,
    )
    return PreparedHands(prepared, image_size=image_size, augment=augment, seed=config.seed)


def _select_rows(group: np.ndarray, config: DatasetConfig) -> np.ndarray:
    """Rows kept by ``subset`` (a fraction range of the groups, in order of first appearance) and ``size``
    (a seeded random subset of those rows, in their order)."""
    rows = np.arange(len(group))
    lo, hi = config.subset
    if (lo, hi) != (0.0, 1.0):
        _, first = np.unique(group, return_index=True)
        ordered = group[np.sort(first)]  # groups in order of first appearance
        g = len(ordered)
        keep = ordered[int(round(lo * g)) : int(round(hi * g))]
        rows = rows[np.isin(group, keep)]
    if config.size is not None and config.size < len(rows):
        rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(0x5E1,)))
        rows = np.sort(rng.choice(rows, config.size, replace=False))
    return rows


__all__ = ["build_dataset"]
