"""The training loop: ``Trainer(config).fit()`` trains, validates each epoch, checkpoints and resumes.

* **DDP.** Under ``torchrun`` the model is wrapped in ``DistributedDataParallel`` and each rank reads its shard
  (:mod:`.runtime`, :mod:`.loader`).
* **Precision.** Autocast as :mod:`.runtime` resolves it; the camera, refiner and losses always run in float32.
* **Checkpoints** (``output.dir``): ``last.pt`` after every epoch (and every ``checkpoint_every`` steps),
  ``best.pt`` at the best validation 3D error, written atomically and hashed (:mod:`.checkpoints`); resuming
  replays exactly the batches that were not yet seen. A resume first checks that the run is the checkpoint's
  (:func:`~.checkpoints.run_changes`): another model is refused; changed data, batch size, seed, number of
  processes or optimiser settings are refused unless ``fit(resume_anyway=True)``, which keeps the weights and
  optimiser state, applies the new optimiser settings and restarts the current epoch from its first batch.
* **Safety.** A non-finite loss or gradient stops the run with :class:`~handkin_train.errors.TrainingDiverged`
  before anything is saved, so the last good checkpoint stays intact.
* **Logs.** TensorBoard scalars (every loss term, learning rate, validation metrics) in ``output.dir/tb``,
  a progress bar on rank 0, and one row per epoch printed by rank 0 (:data:`EPOCH_COLUMNS`): the epoch's mean
  loss terms, the validation scores beside the mean-pose baseline
  (:func:`~handkin_train.evaluation.mean_pose_baseline`, from the mean of the 3D-labelled training batches
  seen so far, kept in the checkpoint), and the training speed.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from handkin.files import atomic_write
from handkin.progress import progress
from handkin.tables import format_table

from .checkpoints import CHECKPOINT_VERSION, atomic_save, load_checkpoint, run_changes
from .config import TrainConfig
from .datasets import build_dataset
from .errors import CheckpointError, ConfigError, TrainingDiverged
from .evaluation import evaluate_model, root_relative_ref
from .loader import EpochSampler, check_shards, make_loader, to_device
from .model import HandPoseNet
from .objective import LossBreakdown, Objective
from .runtime import rng_state, seed_everything, set_rng_state, setup_runtime


@dataclass
class FitResult:
    """Where a :meth:`Trainer.fit` call stopped."""

    epoch: int
    step: int
    losses: list[float]
    """The total loss of every step taken in this call."""
    best_metric: float
    """Best validation 3D EPE (mm) so far."""
    checkpoint: Path | None
    scores: dict[str, float] | None = None
    """The last validation's scores (:func:`~handkin_train.evaluation.evaluate_model`, with
    ``baseline_epe_root_mm``), also when this call trained nothing (read from the checkpoint)."""

    @property
    def last_loss(self) -> float:
        return self.losses[-1] if self.losses else math.nan


#: The columns of the per-epoch table :meth:`Trainer.fit` prints: the epoch's mean loss (``loss``: Eq. 10's
#: weighted total; ``L_2D``, ``L_zrel``, ``L_Zroot`` its L1 terms; ``L_BMC``: the three BMC terms, unweighted),
#: the validation's root-relative 3D EPE and the mean-pose baseline's (mm), its unaligned 3D EPE (mm), the
#: network's 2D error (px), the Z_root error (mm), and optimiser steps per second in the epoch.
EPOCH_COLUMNS = (
    "epoch",
    "loss",
    "L_2D",
    "L_zrel",
    "L_Zroot",
    "L_BMC",
    "EPE_root_mm",
    "baseline_mm",
    "EPE_mm",
    "2D_px",
    "Z_root_mm",
    "steps/s",
)


def _epoch_row(epoch: str, means: dict[str, float], scores: dict[str, float], steps_per_s: float) -> list[str]:
    """One row of the per-epoch table, each cell right-aligned to its column's header width (rows printed one
    at a time stay aligned)."""
    bmc = means.get("bone_length", math.nan) + means.get("root_bone", math.nan) + means.get("angle", math.nan)
    values = [
        means.get("total", math.nan),
        means.get("uv", math.nan),
        means.get("z_rel", math.nan),
        means.get("z_root", math.nan),
        bmc,
        scores.get("epe_root_mm", math.nan),
        scores.get("baseline_epe_root_mm", math.nan),
        scores.get("epe_mm", math.nan),
        scores.get("uv_px_all", math.nan),
        scores.get("z_root_mm", math.nan),
        steps_per_s,
    ]
    cells = [epoch] + [f"{v:.4g}" if i < 5 else f"{v:.1f}" if i < 10 else f"{v:.2f}" for i, v in enumerate(values)]
    return cells


class Trainer:
    """``Trainer(config).fit()``: trains, validates each epoch, checkpoints, resumes from ``output.dir/last.pt``."""

    def __init__(self, config: TrainConfig, train_set: Dataset | None = None, val_set: Dataset | None = None) -> None:
        self.config = config
        self.runtime = setup_runtime(config.runtime)
        seed_everything(config.runtime.seed + self.runtime.rank)
        rt, c = self.runtime, config
        self.out = Path(c.output.dir)
        show = c.output.progress and rt.is_main
        size = c.model.image_size
        self.train_set = train_set if train_set is not None else build_dataset(c.data.train, size, c.data.cache, show)
        self.val_set = val_set if val_set is not None else build_dataset(c.data.val, size, c.data.cache, show)
        check_shards(len(self.train_set), len(self.val_set), c.data.batch_size, rt)  # on every rank, before DDP
        self.model = HandPoseNet(c.model).to(rt.device)
        if c.runtime.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.objective = Objective(c.loss, image_size=c.model.image_size).to(rt.device)
        o = c.optim
        if o.optimizer == "adam":
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=o.lr, weight_decay=o.weight_decay)
        else:
            self.optimizer = torch.optim.SGD(
                self.model.parameters(), lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay
            )
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, c.optim.step_epochs, c.optim.gamma)
        self.scaler = torch.amp.GradScaler(rt.device.type, enabled=rt.use_scaler)
        self.net: nn.Module = self.model
        if rt.distributed:
            ids = [rt.device.index] if rt.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.loss_fn: nn.Module = self.objective
        if c.runtime.compile:  # the BMC loss is ~3,600 small kernels eager: compiling fuses them too
            self.net = torch.compile(self.net)
            self.loss_fn = torch.compile(self.objective)
        self.sampler = EpochSampler(len(self.train_set), c.runtime.seed, rt.rank, rt.world_size)
        self.epoch, self.step, self.step_in_epoch = 0, 0, 0
        self.best_metric = math.inf
        self.pose_sum, self.pose_count = np.zeros((21, 3)), 0  # root-relative training poses (ref lengths) seen
        self.last_scores: dict[str, float] = {}
        self.writer = None
        self._loaders: dict[str, DataLoader] = {}

    # -- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The checkpoint: tensors, numbers, strings, lists and dicts only (read back with weights_only=True)."""
        return {
            "version": CHECKPOINT_VERSION,
            "config": self.config.model_dump(mode="json"),
            "train_size": len(self.train_set),
            "world_size": self.runtime.world_size,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "step_in_epoch": self.step_in_epoch,
            "best_metric": self.best_metric,
            "pose_sum": torch.from_numpy(self.pose_sum),
            "pose_count": self.pose_count,
            "scores": dict(self.last_scores),
            "rng": rng_state(),
        }

    def save(self, name: str = "last.pt") -> Path | None:
        if not self.runtime.is_main:
            return None
        return atomic_save(self.state_dict(), self.out / name)

    def resume(self, path: str | Path, resume_anyway: bool = False) -> None:
        """Continue from checkpoint ``path`` after checking it is this run's (see the module docstring); a
        mismatch is one :class:`CheckpointError` listing every changed field as ``old → new``."""
        path = Path(path)
        state = load_checkpoint(path)
        changes = run_changes(state, self.config, len(self.train_set), self.runtime.world_size)
        if changes.model:
            raise CheckpointError(
                f"cannot resume from {path}: it holds another model ({'; '.join(changes.model)}), whose weights do "
                "not fit this run's network. Start afresh with --restart (Trainer.fit(resume=False)), which "
                f"overwrites {path.name}, or choose another output.dir."
            )
        kind = ((state.get("config") or {}).get("optim") or {}).get("optimizer", "sgd")
        if kind != self.config.optim.optimizer:
            raise CheckpointError(
                f"cannot resume from {path}: it was trained with optim.optimizer {kind!r}, this run uses "
                f"{self.config.optim.optimizer!r} (their states differ). Set optim.optimizer back to {kind!r}, or "
                "start afresh with --restart or another output.dir."
            )
        epoch, in_epoch = state["epoch"], state["step_in_epoch"]
        if (changes.position or changes.optim) and not resume_anyway:
            effects = ["keeps the weights and optimiser state"]
            if changes.optim:
                effects.append("applies the new optimiser settings")
            if changes.position and in_epoch:
                effects.append(f"restarts epoch {epoch + 1} from its first batch")
            why = (
                f"; the position inside epoch {epoch + 1} (after {in_epoch} batches) would point at other samples"
                if changes.position and in_epoch
                else ""
            )
            raise CheckpointError(
                f"cannot resume from {path}: the run changed since it was written: "
                f"{'; '.join(changes.position + changes.optim)}{why}. To continue anyway use "
                f"`handkin-train fit --resume-anyway` (Trainer.fit(resume_anyway=True)), which {', '.join(effects)}; "
                "to start afresh use --restart or another output.dir."
            )
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            if state["scaler"]:  # (a run without the fp16 scaler saved none: this one starts afresh)
                self.scaler.load_state_dict(state["scaler"])
            self.step, self.best_metric = state["step"], state["best_metric"]
            if "pose_sum" in state:  # (not in checkpoints written before the mean-pose baseline)
                self.pose_sum = state["pose_sum"].double().numpy().reshape(21, 3).copy()
                self.pose_count = int(state["pose_count"])
            self.last_scores = {k: float(v) for k, v in state.get("scores", {}).items()}
            set_rng_state(state["rng"])
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path} does not fit this run: {type(exc).__name__}: {exc}") from None
        self.epoch, self.step_in_epoch = epoch, in_epoch
        if changes.optim:
            self._apply_optim_settings()
        if changes.position and in_epoch:
            self.step_in_epoch = 0
            warnings.warn(
                f"resumed anyway from {path}: {'; '.join(changes.position)}; epoch {epoch + 1} restarts from its "
                "first batch.",
                stacklevel=2,
            )

    def _apply_optim_settings(self) -> None:
        """Put this config's optimiser settings into the loaded optimiser and scheduler (a resume-anyway),
        with the learning rate the step schedule gives at the current epoch."""
        o, sched = self.config.optim, self.scheduler
        sched.step_size, sched.gamma = o.step_epochs, o.gamma
        sched.base_lrs = [o.lr] * len(self.optimizer.param_groups)
        lr = o.lr * o.gamma ** (sched.last_epoch // o.step_epochs)
        for group in self.optimizer.param_groups:
            group.update(lr=lr, initial_lr=o.lr, weight_decay=o.weight_decay)
            if o.optimizer == "sgd":
                group["momentum"] = o.momentum
        sched._last_lr = [lr] * len(self.optimizer.param_groups)

    # -- one step
    def train_step(self, batch: dict[str, torch.Tensor]) -> LossBreakdown:
        rt, c = self.runtime, self.config
        b = to_device(batch, rt.device, c.runtime.channels_last)
        with rt.autocast():
            pred = self.net(b["image"], b["K"])
        terms = self.loss_fn(pred, b)
        if not torch.isfinite(terms.total):
            raise TrainingDiverged(
                f"the loss became {terms.total.item()} at epoch {self.epoch}, step {self.step} "
                f"({', '.join(f'{k}={v.item():.4g}' for k, v in terms._asdict().items())}); the last good "
                f"checkpoint in {self.out} is intact. Lower optim.lr or set optim.grad_clip."
            )
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(terms.total).backward()
        self.scaler.unscale_(self.optimizer)
        norm = nn.utils.clip_grad_norm_(self.model.parameters(), c.optim.grad_clip or math.inf)
        if not rt.use_scaler and not torch.isfinite(norm):  # (the fp16 scaler skips such steps by itself)
            raise TrainingDiverged(
                f"the gradient became {norm.item()} at epoch {self.epoch}, step {self.step}; the last good checkpoint "
                f"in {self.out} is intact. Lower optim.lr or set optim.grad_clip."
            )
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return terms

    def _log(self, tag: str, values: dict[str, float]) -> None:
        if self.writer is None and self.runtime.is_main:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.out / "tb"))
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(f"{tag}/{k}", v, self.step)

    def _loader(self, name: str) -> DataLoader:
        """The ``train`` or ``val`` loader of this :meth:`fit` call (built once: its workers persist)."""
        if name not in self._loaders:
            c, rt = self.config, self.runtime
            if name == "train":
                data, sampler, drop_last = self.train_set, self.sampler, True
            else:
                data, sampler, drop_last = self.val_set, EpochSampler(len(self.val_set), 0, 0, 1, shuffle=False), False
            self._loaders[name] = make_loader(
                data, sampler, c.data.batch_size, c.data.num_workers, rt.device, drop_last
            )
        return self._loaders[name]

    @property
    def mean_pose(self) -> np.ndarray | None:
        """The mean root-relative pose ``(21, 3)`` (reference lengths) of the 3D-labelled training samples this
        run has trained on (rank 0's batches), ``None`` before any; the baseline of the validation."""
        return self.pose_sum / self.pose_count if self.pose_count else None

    def _count_pose(self, batch: dict[str, torch.Tensor]) -> None:
        has_3d = batch["has_3d"].numpy().astype(bool)
        if has_3d.any():
            rel = root_relative_ref(batch["joints"].numpy()[has_3d], batch["scale"].numpy()[has_3d])
            self.pose_sum += rel.sum(axis=0)
            self.pose_count += int(has_3d.sum())

    def validate(self) -> dict[str, float]:
        """:func:`~handkin_train.evaluation.evaluate_model` on the validation set, with the mean-pose baseline."""
        return evaluate_model(
            self.model, self._loader("val"), self.runtime, self.config.runtime.channels_last, mean_pose=self.mean_pose
        )

    def fit(self, resume: bool = True, max_steps: int | None = None, resume_anyway: bool = False) -> FitResult:
        """Train until ``optim.epochs`` (or ``max_steps`` optimiser steps in this call, to stop early);
        resumes from ``output.dir/last.pt`` when it exists and ``resume`` is set (``resume_anyway``: also when
        the data or optimiser settings changed, see :meth:`resume`). The loaders' workers live for the whole
        call (they persist across epochs) and end with it."""
        try:
            return self._fit(resume, max_steps, resume_anyway)
        finally:
            self._loaders.clear()  # the workers exit with their loaders

    def _write_config(self) -> str | None:
        """Write ``config.yaml`` into the output folder; the problem as a message when it cannot be written."""
        try:
            with atomic_write(self.out / "config.yaml", "w", encoding="utf-8") as f:
                f.write(self.config.to_yaml())
        except OSError as exc:
            return (
                f"output.dir {self.out} cannot be written ({exc.strerror or exc}): choose a writable folder "
                "(output.dir, or --out)."
            )
        return None

    def _fit(self, resume: bool, max_steps: int | None, resume_anyway: bool) -> FitResult:
        c, rt = self.config, self.runtime
        last = self.out / "last.pt"
        if resume and last.exists():
            self.resume(last, resume_anyway)
        problem = self._write_config() if rt.is_main else None
        problem = rt.gather(problem)[0]  # every rank raises, so none waits in a collective for rank 0
        if problem is not None:
            raise ConfigError(problem)
        losses: list[float] = []
        self.model.train()
        header = True
        while self.epoch < c.optim.epochs:
            sums, steps, start = dict.fromkeys(LossBreakdown._fields, 0.0), 0, time.perf_counter()
            # the epoch reaches the dataset with each batch (per-epoch augmentation draws; resumes replay them)
            self.sampler.set_epoch(self.epoch, skip=self.step_in_epoch * c.data.batch_size)
            bar = progress(
                self._loader("train"),
                desc=f"epoch {self.epoch + 1}/{c.optim.epochs}",
                enabled=c.output.progress and rt.is_main,
            )
            stop = False
            for batch in bar:
                if max_steps is not None and len(losses) >= max_steps:
                    stop = True
                    break
                terms = self.train_step(batch)
                self.step += 1
                self.step_in_epoch += 1
                self._count_pose(batch)
                for k, v in terms._asdict().items():
                    sums[k] += v.item()
                steps += 1
                losses.append(terms.total.item())
                if self.step % c.output.log_every == 0 or len(losses) == 1:
                    values = {k: v.item() for k, v in terms._asdict().items()}
                    values["lr"] = self.optimizer.param_groups[0]["lr"]
                    self._log("train", values)
                    bar.set_postfix(loss=f"{values['total']:.4g}")
                if c.output.checkpoint_every and self.step % c.output.checkpoint_every == 0:
                    self.save()
            bar.close()
            if stop:
                self.save()
                return self._result(losses, last)
            speed = steps / max(time.perf_counter() - start, 1e-9)
            self.epoch += 1
            self.step_in_epoch = 0
            self.scheduler.step()
            if rt.is_main:
                scores = self.validate()
                self.last_scores = scores
                self._log("val", scores)
                row = _epoch_row(f"{self.epoch}/{c.optim.epochs}", {k: v / max(steps, 1) for k, v in sums.items()},
                                 scores, speed)
                lines = format_table(EPOCH_COLUMNS, [row], markdown=False, align=">", min_width=7).splitlines()
                print("\n".join(lines if header else lines[1:]), flush=True)
                header = False
                if scores["epe_mm"] < self.best_metric:
                    self.best_metric = scores["epe_mm"]
                    self.save("best.pt")
                self.save()
            if rt.distributed:
                torch.distributed.barrier()
        if self.writer is not None:
            self.writer.flush()
        return self._result(losses, last)

    def _result(self, losses: list[float], last: Path) -> FitResult:
        main = self.runtime.is_main
        scores = dict(self.last_scores) if self.last_scores else None
        return FitResult(self.epoch, self.step, losses, self.best_metric, last if main else None, scores)


__all__ = ["FitResult", "Trainer"]
