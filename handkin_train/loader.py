"""The epoch-aware data loader of training and evaluation.

Batches are fetched whole (``__getitems__``) by worker processes that persist across epochs; each batch carries
its epoch (:class:`EpochBatch`), so per-epoch augmentation and mixture draws reach the workers and replay exactly
when a run resumes mid-epoch (:class:`EpochSampler` skips the batches already seen). Under DDP each rank reads
its shard of the same seeded permutation, padded so that every rank gets as many samples; :func:`check_shards`
refuses, on every rank alike, a training set too small to give each rank one full batch.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, Sampler

from .data.cache import warp_on_device
from .errors import DatasetError
from .runtime import Runtime


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
        total = _per_rank(self.size, self.world_size) * self.world_size
        if order:  # pad by cycling the permutation (as often as needed: there may be fewer samples than ranks)
            order = (order * math.ceil(total / len(order)))[:total]
        return order[self.rank :: self.world_size]

    def __iter__(self):
        return iter(self.indices()[self.skip :])

    def __len__(self) -> int:
        return len(self.indices()) - self.skip


def _per_rank(size: int, world_size: int) -> int:
    """Samples each rank gets per epoch from :class:`EpochSampler` (the padded shard)."""
    return math.ceil(size / world_size)


def check_shards(train_size: int, val_size: int, batch_size: int, runtime: Runtime) -> None:
    """Pre-flight check of the data before training, on every rank: each rank must get at least one full batch of
    the training set per epoch (incomplete batches are dropped, so a rank with none would take no step — and under
    DDP leave the others waiting in a collective), all ranks must hold sets of the same sizes, and the validation
    set (evaluated on rank 0 alone, so it may be smaller than the world size) must not be empty.

    The sizes are gathered from all ranks first, so every rank raises the same
    :class:`~handkin_train.errors.DatasetError` (naming the sizes, the world size, the batch size and the fix)."""
    sizes = runtime.gather((train_size, val_size))
    if len(set(sizes)) > 1:
        raise DatasetError(
            f"the ranks built different datasets: (data.train, data.val) sizes per rank {sizes}; every rank must "
            "build the same training and validation sets (same config, same files on every node)."
        )
    world = runtime.world_size
    per_rank = _per_rank(train_size, world)
    if per_rank < batch_size:
        need = world * (batch_size - 1) + 1
        fix = f"set data.batch_size to at most {per_rank}, " if per_rank > 1 else ""  # (BatchNorm needs 2)
        raise DatasetError(
            f"the training set (data.train) has {train_size} sample(s); split over a world size of {world} that is "
            f"{per_rank} per rank and epoch, fewer than one batch of data.batch_size={batch_size} (incomplete batches "
            f"are dropped), so no rank would take a step. Give data.train at least {need} samples, {fix}or launch "
            "fewer processes."
        )
    if val_size == 0:
        raise DatasetError("the validation set (data.val) is empty: give it at least one sample.")


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
    out = {k: v if k == "warp_spec" else v.to(device, non_blocking=True) for k, v in batch.items()}
    out = warp_on_device(out)  # (reads warp_spec on the host: no device sync)
    if channels_last:
        out["image"] = out["image"].contiguous(memory_format=torch.channels_last)
    return out


__all__ = ["EpochAware", "EpochBatch", "EpochBatchSampler", "EpochSampler", "check_shards", "make_loader", "to_device"]
