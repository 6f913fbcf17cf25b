"""Checkpoints of :class:`~handkin_train.trainer.Trainer`: written atomically, read back safely and with checks.

A checkpoint holds model, optimiser, scheduler, scaler, epoch, step, the position inside the epoch, the run's
configuration (a JSON-able dict), the training set's size, the number of processes and every RNG state.

**File format** (version :data:`CHECKPOINT_VERSION`): one header line
``HANDKIN-TRAIN-CHECKPOINT 2 sha256:<64 hex digits>`` and then the ``torch.save`` payload. The hash covers
the payload and the header must match exactly, so a flipped byte anywhere, or a truncated file, is a
:class:`~handkin_train.errors.CheckpointError` naming the file. The payload holds only tensors, numbers,
strings, lists and dicts and is read with ``torch.load(weights_only=True)``: a checkpoint cannot run code.
Read one with :func:`load_checkpoint` (plain ``torch.load`` does not know the header).

**Format 1** (plain ``torch.save`` files of earlier releases) is still read, also with ``weights_only=True``
(allowing only the numpy array type its RNG state needs); it has no hash, so corruption inside the weights
goes unnoticed — the next save writes format 2. A file that needs anything else to load is refused.

**Resume checks** (:func:`run_changes`): what the new run changed against the checkpoint's, in three kinds —
the model (never resumable), what the in-epoch position means (data, batch size, seed, processes) and the
optimiser settings stored in the optimiser/scheduler state.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from handkin.files import atomic_write

from .config import TrainConfig
from .errors import CheckpointError, ConfigError
from .model import HandPoseNet

CHECKPOINT_VERSION = 2
_MAGIC = b"HANDKIN-TRAIN-CHECKPOINT"
_HEADER = re.compile(rb"HANDKIN-TRAIN-CHECKPOINT (\d+) sha256:([0-9a-f]{64})\n")
_ZIP = b"PK\x03\x04"  # what torch.save files (format 1) start with
_BLOCKED = re.compile(r"GLOBAL:? ?([\w.]+)")  # torch's weights_only refusal names the global the file calls


def atomic_save(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` (tensors, numbers, strings, lists, dicts) as a hashed checkpoint, atomically: on any
    failure — read-only folder, disk full — :class:`CheckpointError` names ``path``, whose old content stays."""
    path = Path(path)
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    payload = buffer.getbuffer()
    header = b"%s %d sha256:%s\n" % (_MAGIC, CHECKPOINT_VERSION, hashlib.sha256(payload).hexdigest().encode())
    try:
        with atomic_write(path) as f:
            f.write(header)
            f.write(payload)
    except OSError as exc:
        kept = f"the previous {path.name} there is intact" if path.exists() else "nothing was written"
        raise CheckpointError(
            f"cannot write checkpoint {path}: {exc.strerror or exc}; {kept}. Free space or make {path.parent} "
            "writable (or choose another output.dir)."
        ) from exc
    return path


def _legacy_globals() -> list[Any]:
    """The only globals a format-1 file may name: numpy's array (the NumPy RNG state) under both module names."""
    reconstruct = np._core.multiarray._reconstruct if hasattr(np, "_core") else np.core.multiarray._reconstruct
    return [
        (reconstruct, "numpy._core.multiarray._reconstruct"),
        (reconstruct, "numpy.core.multiarray._reconstruct"),
        np.ndarray,
        np.dtype,
        type(np.dtype(np.uint32)),
    ]


def _legacy_rng(rng: dict[str, Any]) -> dict[str, Any]:
    """A format-1 RNG state (Python's and NumPy's own tuples) in the form :func:`~.runtime.set_rng_state` takes."""
    version, words, gauss = rng["python"]
    _, keys, pos, has_gauss, cached = rng["numpy"]
    numpy_state = {"keys": torch.from_numpy(np.asarray(keys, np.int64)), "pos": int(pos), "has_gauss": int(has_gauss)}
    return {
        **rng,
        "python": {"version": version, "state": torch.tensor(words, dtype=torch.int64), "gauss": gauss},
        "numpy": {**numpy_state, "gauss": float(cached)},
    }


def _read(path: Path) -> tuple[int, Any]:
    """(format, the unpickled payload) of ``path``, hash checked; any problem is a CheckpointError."""
    with open(path, "rb") as f:
        head = f.read(len(_ZIP))
        if head == _ZIP:
            f.seek(0)
            version, buffer = 1, f
        elif head == _MAGIC[: len(_ZIP)]:
            match = _HEADER.fullmatch(head + f.readline(200))
            if match is None:
                raise CheckpointError(f"{path}: the checkpoint's header is corrupt (or not of this handkin-train).")
            version, digest = int(match[1]), match[2].decode()
            if version != CHECKPOINT_VERSION:
                raise CheckpointError(
                    f"{path} is a format-{version} checkpoint; this handkin-train reads formats 1 and "
                    f"{CHECKPOINT_VERSION} (a newer release wrote it?)."
                )
            payload = f.read()
            if hashlib.sha256(payload).hexdigest() != digest:
                raise CheckpointError(
                    f"{path} is corrupt: its content does not match the hash it was written with (damaged on "
                    "disk or in transfer, or edited); use another copy or an earlier checkpoint."
                )
            buffer = io.BytesIO(payload)
        else:
            raise CheckpointError(f"{path} is not a handkin-train checkpoint (or it is corrupt).")
        try:
            if version == 1:
                with torch.serialization.safe_globals(_legacy_globals()):
                    return 1, torch.load(buffer, map_location="cpu", weights_only=True)
            return version, torch.load(buffer, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - truncated zip, a forbidden global (code in the file), …
            text = str(exc)
            blocked = _BLOCKED.search(text)
            if blocked:
                raise CheckpointError(
                    f"refused checkpoint {path}: loading it would run code from the file (it calls "
                    f"{blocked[1]}); it was not loaded. handkin-train checkpoints hold only tensors and plain data: "
                    "this file is corrupt or hostile."
                ) from None
            first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
            raise CheckpointError(
                f"cannot read checkpoint {path} (corrupt or not a handkin-train checkpoint): {first}"
            ) from None


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :class:`Trainer` (format 1 or 2) without running code from it; a missing,
    corrupt, tampered or foreign file raises :class:`CheckpointError` naming it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        version, state = _read(path)
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from exc
    if not isinstance(state, dict) or state.get("version") != version or "model" not in state:
        raise CheckpointError(f"{path} is not a handkin-train checkpoint (format {CHECKPOINT_VERSION}).")
    if version == 1 and isinstance(state.get("rng"), dict):
        try:
            state["rng"] = _legacy_rng(state["rng"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: its RNG state is not that of a handkin-train checkpoint ({exc}).") from None
    return state


def checkpoint_config(state: dict[str, Any], path: str | Path) -> TrainConfig:
    """The run configuration stored in a checkpoint; one that this release cannot read is a CheckpointError."""
    try:
        return TrainConfig.from_dict(state["config"], source=str(path))
    except (ConfigError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: the run configuration stored in it is not valid here: {exc}") from None


def model_from_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> tuple[HandPoseNet, TrainConfig]:
    """The trained network (in eval mode) and its run configuration."""
    state = load_checkpoint(path)
    config = checkpoint_config(state, path)
    model = HandPoseNet(config.model.model_copy(update={"weights": None}))
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{path} does not fit the model of its own config: {exc}") from None
    return model.to(device).eval(), config


# -- what a resumed run changed

#: Fields whose change makes the checkpoint's weights unusable (such a checkpoint is never resumed).
MODEL_FIELDS = ("model.backbone", "model.refine_root", "model.refiner_batchnorm")
#: Fields that decide which samples the position inside an epoch points at.
POSITION_FIELDS = ("model.image_size", "data.train", "data.batch_size", "runtime.seed")
#: Settings the optimiser and scheduler states carry (their stored values would silently win on resume).
OPTIM_FIELDS = ("optim.lr", "optim.momentum", "optim.weight_decay", "optim.step_epochs", "optim.gamma")


class RunChanges(NamedTuple):
    """What a run changed against a checkpoint's, as ``field old → new`` lines, by kind."""

    model: list[str]
    position: list[str]
    optim: list[str]


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``; lists of sections by index (``data.train.parts.0.path``)."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, v in items:
        out.update(_flatten(v, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _normal(config: dict[str, Any]) -> dict[str, Any]:
    """A stored config with this release's defaults filled in (as stored when it no longer validates)."""
    try:
        return TrainConfig.from_dict(config).model_dump(mode="json")
    except (ConfigError, TypeError):
        return config


def run_changes(state: dict[str, Any], config: TrainConfig, train_size: int, world_size: int) -> RunChanges:
    """Compare the run of checkpoint ``state`` with ``config`` training on ``train_size`` samples in
    ``world_size`` processes (the two last are not in format-1 checkpoints and then not compared)."""
    old = _flatten(_normal(state.get("config") or {}), "")
    new = _flatten(config.model_dump(mode="json"), "")

    def show(values: dict[str, Any], key: str) -> str:
        return repr(values[key]) if key in values else "(unset)"

    def changed(fields: tuple[str, ...]) -> list[str]:
        keys = sorted(k for k in old.keys() | new.keys() if any(k == f or k.startswith(f + ".") for f in fields))
        return [f"{k} {show(old, k)} → {show(new, k)}" for k in keys if show(old, k) != show(new, k)]

    position = changed(POSITION_FIELDS)
    for key, label, now in (("train_size", "training samples", train_size), ("world_size", "processes", world_size)):
        if key in state and state[key] != now:
            position.append(f"{label} {state[key]} → {now}")
    return RunChanges(changed(MODEL_FIELDS), position, changed(OPTIM_FIELDS))


__all__ = [
    "CHECKPOINT_VERSION",
    "MODEL_FIELDS",
    "OPTIM_FIELDS",
    "POSITION_FIELDS",
    "RunChanges",
    "atomic_save",
    "checkpoint_config",
    "load_checkpoint",
    "model_from_checkpoint",
    "run_changes",
]
