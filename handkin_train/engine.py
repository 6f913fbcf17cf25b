"""Training and evaluation, gathered: this module re-exports the rooms they live in.

* :mod:`handkin_train.runtime` — devices, precision, process group, RNG states (:class:`Runtime`,
  :func:`setup_runtime`);
* :mod:`handkin_train.datasets` — datasets from a config section (:func:`build_dataset`);
* :mod:`handkin_train.loader` — the epoch-aware loader (:class:`EpochSampler`, :func:`make_loader`, :func:`to_device`);
* :mod:`handkin_train.evaluation` — the paper's scores (:func:`evaluate_model`, :func:`paper_scores`);
* :mod:`handkin_train.checkpoints` — :func:`atomic_save`, :func:`load_checkpoint`, :func:`model_from_checkpoint`;
* :mod:`handkin_train.trainer` — :class:`Trainer` and :class:`FitResult`;
* :mod:`handkin_train.errors` — :class:`TrainingDiverged` and the other errors.
"""

from __future__ import annotations

from .checkpoints import CHECKPOINT_VERSION, atomic_save, load_checkpoint, model_from_checkpoint
from .datasets import build_dataset
from .errors import TrainingDiverged
from .evaluation import SCORE_ORDER, SCORES_3D, evaluate_model, paper_scores
from .loader import EpochAware, EpochBatch, EpochBatchSampler, EpochSampler, make_loader, to_device
from .runtime import Runtime, rng_state, seed_everything, set_rng_state, setup_runtime
from .trainer import FitResult, Trainer

__all__ = [
    "Trainer",
    "FitResult",
    "Runtime",
    "TrainingDiverged",
    "setup_runtime",
    "build_dataset",
    "EpochAware",
    "EpochBatch",
    "EpochBatchSampler",
    "EpochSampler",
    "evaluate_model",
    "make_loader",
    "SCORES_3D",
    "load_checkpoint",
    "model_from_checkpoint",
    "atomic_save",
    "CHECKPOINT_VERSION",
    "SCORE_ORDER",
    "paper_scores",
    "rng_state",
    "seed_everything",
    "set_rng_state",
    "to_device",
]
