"""Datasets built from a configuration section (:class:`~handkin_train.config.DatasetConfig`): rendered
synthetic hands, datasets read from disk through the reader registry and prepared once, prepared caches, mixes;
then the rows selected (``subset``, ``size``) and the weak labels marked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from torch.utils.data import Dataset

from .config import DatasetConfig
from .data.cache import PreparedHands
from .data.mix import MixedHands, apply_weak
from .data.prepare import MANIFEST, cache_name, prepare_dataset
from .data.registry import available_readers
from .data.synthetic import SyntheticConfig, SyntheticHands
from .errors import DatasetError


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


def dataset_from_spec(
    spec: str,
    options: Mapping[str, Any] | None = None,
    *,
    like: DatasetConfig | None = None,
    size: int | None = None,
    seed: int | None = None,
) -> DatasetConfig:
    """The dataset section a ``handkin-train evaluate --data`` argument names (build it with :func:`build_dataset`):

    * ``KIND:PATH`` — a registered reader (``rhd:…/test_rhd.json``, ``interhand:…_data.json``, ``folder:DIR`` …)
      with its ``options`` (strings are converted by the reader's options model), or ``prepared:CACHE``;
    * ``PATH`` — a prepared cache (a folder with ``manifest.json``) or else a folder-format dataset.

    ``like``: the section whose crop geometry (``pad``, ``context``) is used — the run's validation set, so the
    crops match those the model was validated on. ``size`` / ``seed``: a seeded random subset of ``size`` hands.
    An unknown kind, a missing path or a bad option is a :class:`DatasetError` naming ``spec``.
    """
    spec = str(spec)
    kinds = [*available_readers(), "prepared"]
    prefix, sep, rest = spec.partition(":")
    if sep and prefix.lower() in kinds:
        kind, path = prefix.lower(), Path(rest)
    elif sep and re.fullmatch(r"[A-Za-z][\w-]+", prefix) and not Path(spec).exists():
        raise DatasetError(
            f"{spec}: unknown dataset kind {prefix!r}; give KIND:PATH with KIND one of {', '.join(kinds)}, or the "
            "PATH of a prepared cache or a folder dataset."
        )
    else:
        kind, path = None, Path(spec)
    if not str(path) or not path.exists():
        raise DatasetError(f"{spec}: {path} does not exist (give the dataset's folder or annotation file).")
    if kind is None:
        kind = "prepared" if (path / MANIFEST).is_file() else "folder"
    fields: dict[str, Any] = {"kind": kind, "path": path, **(options or {})}
    if like is not None and like.kind not in ("synthetic", "mix"):
        fields.update(pad=like.pad, context=like.context)
    fields.update({k: v for k, v in (("size", size), ("seed", seed)) if v is not None})
    try:
        return DatasetConfig.model_validate(fields)
    except ValidationError as exc:
        problems = [
            (".".join(map(str, e["loc"])) + ": " if e["loc"] else "") + e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        ]
        raise DatasetError(f"{spec}: {'; '.join(problems)}") from None


__all__ = ["build_dataset", "dataset_from_spec"]
