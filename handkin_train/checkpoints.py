"""Checkpoints of :class:`~handkin_train.trainer.Trainer`: written atomically, read back with checks.

A checkpoint holds model, optimiser, scheduler, scaler, epoch, step, the position inside the epoch, the run's
configuration and every RNG state (``version`` :data:`CHECKPOINT_VERSION`). A missing, corrupt or foreign file
raises :class:`~handkin_train.errors.CheckpointError` naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from handkin.files import atomic_write

from .config import TrainConfig
from .errors import CheckpointError
from .model import HandPoseNet

CHECKPOINT_VERSION = 1


def atomic_save(obj: Any, path: Path) -> Path:
    """``torch.save`` to a temporary file in the same folder, fsynced, then renamed over ``path``."""
    with atomic_write(path) as f:
        torch.save(obj, f)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :class:`Trainer`; a missing or corrupt file raises :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - truncated zip, wrong format, …
        raise CheckpointError(
            f"cannot read checkpoint {path} (corrupt or not a handkin-train checkpoint): {exc}"
        ) from exc
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION or "model" not in state:
        raise CheckpointError(f"{path} is not a handkin-train checkpoint (version {CHECKPOINT_VERSION}).")
    return state


def model_from_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[HandPoseNet, TrainConfig]:
    """The trained network (in eval mode) and its run configuration."""
    state = load_checkpoint(path)
    config = TrainConfig.from_dict(state["config"], source=str(path))
    model = HandPoseNet(config.model.model_copy(update={"weights": None}))
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path} does not fit the model of its own config: {exc}") from exc
    return model.to(device).eval(), config


__all__ = ["CHECKPOINT_VERSION", "atomic_save", "load_checkpoint", "model_from_checkpoint"]
