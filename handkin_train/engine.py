"""Training and evaluation loops: devices, mixed precision, DDP, checkpoints, logging.

* **Devices.** ``runtime.device = "auto"`` takes CUDA when present. Under ``torchrun`` (``WORLD_SIZE > 1``)
  each rank joins a process group — NCCL on GPUs, gloo on the CPU — takes its ``LOCAL_RANK`` GPU, wraps the
  model in ``DistributedDataParallel`` and reads its shard through a ``DistributedSampler``.
* **Precision.** ``auto``: bf16 autocast on GPUs that support it, fp16 with a gradient scaler otherwise,
  fp32 on the CPU; ``bf16`` also works on the CPU. The camera, refiner and losses always run in float32.
* **Checkpoints** (``output.dir``): ``last.pt`` after every epoch (and every ``checkpoint_every`` steps),
  ``best.pt`` at the best validation 3D error; written to a temporary file and renamed, so a crash never
  leaves a half-written file. They hold model, optimiser, scheduler, scaler, epoch, step, the position
  inside the epoch and every RNG state: resuming replays exactly the batches that were not yet seen.
* **Safety.** A non-finite loss stops the run with :class:`TrainingDiverged` before anything is saved, so
  the last good checkpoint stays intact.
* **Logs.** TensorBoard scalars (every loss term, learning rate, validation metrics) in ``output.dir/tb``,
  tqdm progress on rank 0.
"""

from __future__ import annotations

import math
import os
import random
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, Sampler

from handkin.errors import HandkinError
from handkin.files import atomic_write

from .config import DatasetConfig, RuntimeConfig, TrainConfig
from .model import CheckpointError, HandPoseNet
from .objective import LossBreakdown, Objective

CHECKPOINT_VERSION = 1


class TrainingDiverged(HandkinError, RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint was left as it was."""


# ---------------------------------------------------------------------------------------------- runtime
@dataclass
class Runtime:
    """Where and how this process computes."""

    device: torch.device
    rank: int = 0
    world_size: int = 1
    amp_dtype: torch.dtype | None = None
    use_scaler: bool = False

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)


def setup_runtime(config: RuntimeConfig) -> Runtime:
    """Resolve the device and precision; join the process group when launched by ``torchrun``."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    name = config.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise HandkinError(f"runtime.device is {config.device!r} but CUDA is not available on this machine.")
        if world_size > 1:
            device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if world_size > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    precision = config.precision
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if device.type == "cuda" else "fp32"
    amp_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not config.deterministic
        torch.backends.cudnn.deterministic = config.deterministic
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return Runtime(device, rank, world_size, amp_dtype, use_scaler=precision == "fp16")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---------------------------------------------------------------------------------------------- data
def build_dataset(config: DatasetConfig, image_size: int, cache: Path | None = None, progress: bool = False) -> Dataset:
    """The dataset a config section describes, by ``config.kind``:

    * ``synthetic`` — rendered hands at ``image_size`` (generated, or read from ``cache``);
    * ``freihand`` / ``rhd`` / ``ho3d`` / ``interhand`` / ``folder`` — read from ``config.path`` and cropped once
      into a prepared cache under ``cache`` (reused by later runs; in memory when ``cache`` is ``None``);
    * ``prepared`` — a cache written by ``handkin-train prepare``;
    * ``mix`` — its ``parts`` built the same way and drawn by ``ratios``.

    Then ``subset`` / ``size`` select rows and ``weak_fraction`` / ``weak_count`` / ``labelled_3d`` mark 2D-only
    samples (see :class:`~handkin_train.config.DatasetConfig`).
    """
    from .data.mix import MixedHands, apply_weak

    if config.kind == "mix":
        parts = [build_dataset(part, image_size, cache, progress) for part in config.parts]
        return MixedHands(parts, config.ratios, config.size, config.seed)
    if config.kind == "synthetic":
        data = _synthetic_dataset(config, image_size, cache, progress)
        if config.subset != (0.0, 1.0):
            raise HandkinError("subset applies to datasets read from disk; give synthetic hands a size instead.")
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
    from .data.synthetic import SyntheticConfig, SyntheticHands

    size = config.synthetic_size
    path = None
    if cache is not None:
        name = f"synthetic_{image_size}px_{size}_seed{config.seed}_weak{config.weak_fraction:g}.npz"
        path = Path(cache) / name
        if path.exists():
            return SyntheticHands.load(path)
    data = SyntheticHands(
        size,
        seed=config.seed,
        config=SyntheticConfig(image_size=image_size),
        weak_fraction=config.weak_fraction,
        progress=progress,
    )
    if path is not None:
        data.save(path)
    return data


def _prepared_dataset(config: DatasetConfig, image_size: int, cache: Path | None, progress: bool):
    """A ``PreparedHands`` for a ``prepared`` config, or for a dataset read from disk (prepared on first use)."""
    from .data.cache import PreparedHands, cache_name, prepare_dataset

    augment = config.augment_config
    if config.kind == "prepared":
        return PreparedHands(config.path, image_size=image_size, augment=augment, seed=config.seed)
    options = {"split": config.split, "images": config.images, "versions": config.versions}
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in options.items() if v is not None}
    if config.kind == "freihand" and "versions" in options:
        options["versions"] = ",".join(options["versions"])
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


class EpochSampler(Sampler[int]):
    """This rank's indices for one epoch — a seeded permutation split across ranks (as DistributedSampler) —
    starting after the first ``skip`` of them (to resume mid-epoch)."""

    def __init__(self, size: int, seed: int, rank: int, world_size: int, shuffle: bool = True) -> None:
        self.size, self.seed, self.rank, self.world_size, self.shuffle = size, seed, rank, world_size, shuffle
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip

    def indices(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.size, generator=g).tolist()
        else:
            order = list(range(self.size))
        per_rank = math.ceil(self.size / self.world_size)
        order += order[: per_rank * self.world_size - self.size]  # pad so every rank has as many
        return order[self.rank :: self.world_size]

    def __iter__(self):
        return iter(self.indices()[self.skip :])

    def __len__(self) -> int:
        return len(self.indices()) - self.skip


class EpochBatch(list):
    """A batch of dataset indices that also carries the epoch it belongs to (``epoch``; ``None``: unknown).

    The DataLoader hands the object its batch sampler yields to ``dataset.__getitems__`` — in the worker
    processes too, pickled with the indices — so the epoch reaches persistent workers with every batch."""

    def __init__(self, indices: Any = (), epoch: int | None = None) -> None:
        super().__init__(indices)
        self.epoch = epoch

    def __reduce__(self):
        return (EpochBatch, (list(self), self.epoch))


class EpochBatchSampler(BatchSampler):
    """Batches of ``sampler``'s indices as :class:`EpochBatch` stamped with the sampler's ``epoch`` attribute
    at the start of each pass (``EpochSampler`` and ``DistributedSampler`` have one)."""

    def __iter__(self):
        epoch = getattr(self.sampler, "epoch", None)
        for batch in super().__iter__():
            yield EpochBatch(batch, epoch)


class EpochAware(Dataset):
    """``dataset`` seen through batches that carry their epoch: before a batch of a new epoch is fetched,
    ``dataset.set_epoch(epoch)`` is called in the process that fetches it (a DataLoader worker, or this one).

    This is how per-epoch augmentation draws and mixture draws reach persistent workers, whose copy of the
    dataset the main process cannot reach; they stay keyed by ``(seed, epoch, sample)``, so a resumed run
    replays them exactly."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.epoch: int | None = None

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def _sync(self, indices: Any) -> None:
        epoch = getattr(indices, "epoch", None)
        if epoch is not None and epoch != self.epoch and hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
            self.epoch = epoch

    def __getitems__(self, indices: Any) -> list[Any]:
        self._sync(indices)
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(list(indices))
        return [self.dataset[i] for i in indices]

    def __getitem__(self, i: Any) -> Any:
        return self.dataset[i]


def make_loader(
    dataset: Dataset,
    sampler: Sampler,
    batch_size: int,
    workers: int,
    device: torch.device,
    drop_last: bool,
    prefetch_factor: int = 4,
) -> DataLoader:
    """The DataLoader of training and evaluation: batches of ``sampler``'s indices fetched whole (the
    dataset's ``__getitems__``), ``workers`` processes that persist across epochs, each keeping up to
    ``prefetch_factor`` batches ready, pinned memory on CUDA.

    Iterate the same loader once per epoch after ``sampler.set_epoch(epoch, skip)``: each batch carries the
    sampler's epoch (:class:`EpochBatch`) and the dataset's ``set_epoch`` is called where it is fetched
    (:class:`EpochAware`), so augmentation differs per epoch and replays exactly on resume, with workers or
    without. Delete the loader to end its workers."""
    persistent = workers > 0
    return DataLoader(
        EpochAware(dataset),
        batch_sampler=EpochBatchSampler(sampler, batch_size, drop_last),
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=persistent,
        prefetch_factor=prefetch_factor if persistent else None,
    )


def to_device(batch: dict[str, torch.Tensor], device: torch.device, channels_last: bool) -> dict[str, torch.Tensor]:
    """The batch on ``device``; crops fetched with ``augment.warp = "device"`` are warped there (one
    ``grid_sample`` for the batch, :func:`~handkin_train.data.cache.warp_on_device`)."""
    from .data.cache import warp_on_device

    out = {k: v if k == "warp_spec" else v.to(device, non_blocking=True) for k, v in batch.items()}
    out = warp_on_device(out)  # (reads warp_spec on the host: no device sync)
    if channels_last:
        out["image"] = out["image"].contiguous(memory_format=torch.channels_last)
    return out


# ---------------------------------------------------------------------------------------------- checkpoints
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


# ---------------------------------------------------------------------------------------------- evaluation
#: The 3D scores of :func:`evaluate_model` (NaN when no evaluated hand has 3D labels).
SCORES_3D = (
    "epe_mm",
    "auc",
    "epe_root_mm",
    "auc_root",
    "epe_aligned_mm",
    "auc_aligned",
    "z_mm",
    "z_rel_mm",
    "z_root_mm",
)
#: The keys of :func:`evaluate_model`'s result, in order.
SCORE_ORDER = (*SCORES_3D, "uv_px", "uv_px_all", "n", "n_3d")


@torch.no_grad()
def evaluate_model(
    model: nn.Module, loader: DataLoader, runtime: Runtime, channels_last: bool = False
) -> dict[str, float]:
    """The paper's scores (:func:`~handkin_train.data.paper_scores`) of ``model`` on ``loader``'s hands.

    3D scores — ``z_mm``, ``z_rel_mm``, ``epe_mm``/``auc`` (unaligned), ``epe_root_mm``/``auc_root``,
    ``epe_aligned_mm``/``auc_aligned`` (Procrustes), ``z_root_mm`` — over the hands with 3D labels only
    (``has_3d``), the predicted joints scaled to mm by each hand's true reference-bone length; NaN when there
    are none. ``uv_px``: the 2D error over those same hands (paper_scores' projection error); ``uv_px_all``:
    the 2D error of the predicted keypoints over every hand with 2D labels (visible joints), the 2D-only ones
    included. ``n`` / ``n_3d``: the numbers of hands evaluated and of those with 3D labels.
    """
    from .data.freihand import paper_scores

    model.eval()
    keep: dict[str, list[torch.Tensor]] = {k: [] for k in ("pred", "gt", "K", "z_root", "has_3d")}
    uv_sum, uv_count = 0.0, 0
    for batch in loader:
        b = to_device(batch, runtime.device, channels_last)
        with runtime.autocast():
            p = model(b["image"], b["K"])
        scale = b["scale"][:, None, None]
        keep["pred"].append((p.joints.float() * scale).double().cpu())
        keep["gt"].append(b["joints"].double().cpu())
        keep["K"].append(b["K"].double().cpu())
        keep["z_root"].append(((p.z_root.float() - b["z_root"]) * b["scale"]).abs().double().cpu())
        keep["has_3d"].append(b["has_3d"].cpu())
        visible = b["uv_visible"] if "uv_visible" in b else torch.ones(p.uv.shape[:2], dtype=torch.bool)
        visible = visible.to(p.uv.device) & b["has_2d"].to(p.uv.device)[:, None]
        err = (p.uv.float() - b["uv"]).norm(dim=-1)
        uv_sum += float(err[visible].sum())
        uv_count += int(visible.sum())
    model.train()
    arrays = {k: torch.cat(v).numpy() for k, v in keep.items()}
    has_3d = arrays["has_3d"].astype(bool)
    n, n3 = len(has_3d), int(has_3d.sum())
    if n3:
        scores = paper_scores(arrays["pred"][has_3d], arrays["gt"][has_3d], arrays["K"][has_3d])
        scores["z_root_mm"] = float(arrays["z_root"][has_3d].mean())
    else:
        scores = {"uv_px": math.nan, **dict.fromkeys(SCORES_3D, math.nan)}
    scores["uv_px_all"] = uv_sum / uv_count if uv_count else math.nan
    scores["n"], scores["n_3d"] = float(n), float(n3)
    return {k: scores[k] for k in SCORE_ORDER}


# ---------------------------------------------------------------------------------------------- training
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

    @property
    def last_loss(self) -> float:
        return self.losses[-1] if self.losses else math.nan


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
        self.model = HandPoseNet(c.model).to(rt.device)
        if c.runtime.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.objective = Objective(c.loss, image_size=c.model.image_size).to(rt.device)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=c.optim.lr, momentum=c.optim.momentum, weight_decay=c.optim.weight_decay
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
        self.writer = None
        self._loaders: dict[str, DataLoader] = {}

    # -- checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {
            "version": CHECKPOINT_VERSION,
            "config": self.config.model_dump(mode="json"),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "step_in_epoch": self.step_in_epoch,
            "best_metric": self.best_metric,
            "rng": rng_state(),
        }

    def save(self, name: str = "last.pt") -> Path | None:
        if not self.runtime.is_main:
            return None
        return atomic_save(self.state_dict(), self.out / name)

    def resume(self, path: str | Path) -> None:
        state = load_checkpoint(path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.step, self.step_in_epoch = state["epoch"], state["step"], state["step_in_epoch"]
        self.best_metric = state["best_metric"]
        set_rng_state(state["rng"])

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

    def validate(self) -> dict[str, float]:
        return evaluate_model(self.model, self._loader("val"), self.runtime, self.config.runtime.channels_last)

    def fit(self, resume: bool = True, max_steps: int | None = None) -> FitResult:
        """Train until ``optim.epochs`` (or ``max_steps`` optimiser steps in this call, to stop early);
        resumes from ``output.dir/last.pt`` when it exists and ``resume`` is set. The loaders' workers live
        for the whole call (they persist across epochs) and end with it."""
        try:
            return self._fit(resume, max_steps)
        finally:
            self._loaders.clear()  # the workers exit with their loaders

    def _fit(self, resume: bool, max_steps: int | None) -> FitResult:
        from tqdm.auto import tqdm

        c, rt = self.config, self.runtime
        last = self.out / "last.pt"
        if resume and last.exists():
            self.resume(last)
        if rt.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.yaml").write_text(c.to_yaml())
        losses: list[float] = []
        self.model.train()
        while self.epoch < c.optim.epochs:
            # the epoch reaches the dataset with each batch (per-epoch augmentation draws; resumes replay them)
            self.sampler.set_epoch(self.epoch, skip=self.step_in_epoch * c.data.batch_size)
            bar = tqdm(
                self._loader("train"),
                desc=f"epoch {self.epoch + 1}/{c.optim.epochs}",
                disable=not (c.output.progress and rt.is_main),
                leave=False,
            )
            stop = False
            for batch in bar:
                if max_steps is not None and len(losses) >= max_steps:
                    stop = True
                    break
                terms = self.train_step(batch)
                self.step += 1
                self.step_in_epoch += 1
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
                return FitResult(self.epoch, self.step, losses, self.best_metric, last if rt.is_main else None)
            self.epoch += 1
            self.step_in_epoch = 0
            self.scheduler.step()
            if rt.is_main:
                scores = self.validate()
                self._log("val", scores)
                if scores["epe_mm"] < self.best_metric:
                    self.best_metric = scores["epe_mm"]
                    self.save("best.pt")
                self.save()
            if rt.distributed:
                torch.distributed.barrier()
        if self.writer is not None:
            self.writer.flush()
        return FitResult(self.epoch, self.step, losses, self.best_metric, last if rt.is_main else None)


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
]
