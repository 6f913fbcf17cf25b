"""handkin_train under DDP (gloo, CPU processes): shards padded so every rank gets as many samples, a training set
too small for one batch per rank refused on every rank before training (no rank left hanging in a collective),
a validation set smaller than the world size evaluated on rank 0 without hanging."""

import json
import os
import socket
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from handkin_train import TrainConfig, Trainer  # noqa: E402
from handkin_train.errors import DatasetError  # noqa: E402
from handkin_train.loader import EpochSampler, check_shards  # noqa: E402
from handkin_train.runtime import Runtime  # noqa: E402

HANG_TIMEOUT_S = 300.0  # a run not ended by then hangs (they take ~5 s of CPU each; generous for a loaded machine)


def _config(folder: Path, train: int, val: int, batch: int, **runtime) -> TrainConfig:
    return TrainConfig.from_dict(
        {
            "model": {"backbone": "resnet18", "image_size": 64},
            "data": {"train": {"size": train}, "val": {"size": val, "seed": 1}, "batch_size": batch, "num_workers": 0},
            "optim": {"epochs": 1, "lr": 0.01},
            "runtime": {"device": "cpu", "seed": 0, **runtime},
            "output": {"dir": str(folder / "run"), "progress": False},
        }
    )


# -- the sampler's shards


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("world", [1, 2, 4])
def test_every_rank_gets_as_many_samples(size, world):
    """Padding cycles the permutation: with fewer samples than ranks every rank still gets one (was [1, 1, 0, 0]
    for one sample over four ranks, which left two ranks waiting in DDP's collectives)."""
    shards = []
    for rank in range(world):
        sampler = EpochSampler(size, seed=3, rank=rank, world_size=world)
        sampler.set_epoch(2)
        shards.append(list(sampler))
        assert len(sampler) == len(shards[-1])
    assert {len(s) for s in shards} == {-(-size // world)}
    assert set().union(*shards) == set(range(size))


def test_check_shards_refuses_less_than_one_batch():
    single = Runtime(torch.device("cpu"))
    check_shards(4, 1, 4, single)  # one full batch: fine
    with pytest.raises(
        DatasetError, match=r"data.train\) has 3 sample.*world size of 1.*data.batch_size=4.*at least 4"
    ):
        check_shards(3, 1, 4, single)
    with pytest.raises(DatasetError, match="has 0 sample"):
        check_shards(0, 1, 2, single)
    with pytest.raises(DatasetError, match=r"data.val\) is empty"):
        check_shards(4, 0, 2, single)


def test_a_single_process_with_too_few_samples_errs_instead_of_training_nothing(tmp_path):
    """Was: ``fit`` ran its epochs without a single step (every batch incomplete, dropped)."""
    with pytest.raises(DatasetError, match=r"has 2 sample.*data.batch_size=4.*set data.batch_size to at most 2"):
        Trainer(_config(tmp_path, train=2, val=2, batch=4))


# -- gloo processes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_ranks(worker, world: int, folder: Path, *args) -> list[dict]:
    """Run ``worker(rank, world, port, folder, *args)`` in ``world`` processes; each writes ``rank{r}.json``.
    Fails (killing them) if they have not all ended within HANG_TIMEOUT_S."""
    ctx = torch.multiprocessing.spawn(worker, args=(world, _free_port(), str(folder), *args), nprocs=world, join=False)
    deadline = time.monotonic() + HANG_TIMEOUT_S
    while not ctx.join(timeout=5):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                if p.is_alive():
                    p.kill()
            pytest.fail(f"{world} DDP ranks still running after {HANG_TIMEOUT_S:.0f} s: a rank hangs in a collective")
    return [json.loads((folder / f"rank{r}.json").read_text()) for r in range(world)]


def _join_group(rank: int, world: int, port: int) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)


def _error_worker(rank: int, world: int, port: int, folder: str, train: int = 2, out: str = "run") -> None:
    """Build and fit a run (``train`` samples, batch 2, output folder ``out`` under ``folder``); record its error."""
    _join_group(rank, world, port)
    report = {}
    try:
        config = _config(Path(folder), train=train, val=1, batch=2)
        Trainer(
            config.model_copy(update={"output": config.output.model_copy(update={"dir": str(Path(folder, out))})})
        ).fit()
    except Exception as exc:  # (recorded: the test asserts its type)
        report = {"error": type(exc).__name__, "message": str(exc)}
    Path(folder, f"rank{rank}.json").write_text(json.dumps(report))
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_more_ranks_than_samples_is_one_clear_error_on_every_rank(tmp_path):
    """4 ranks, 2 training samples, batch 2: every rank raises the same DatasetError before training."""
    reports = _run_ranks(_error_worker, 4, tmp_path)
    assert all(r.get("error") == "DatasetError" for r in reports), reports
    assert len({r["message"] for r in reports}) == 1
    message = reports[0]["message"]
    for part in ("has 2 sample", "world size of 4", "1 per rank", "data.batch_size=2", "at least 5 samples"):
        assert part in message, message
    assert not (tmp_path / "run" / "last.pt").exists()


def _train_worker(rank: int, world: int, port: int, folder: str) -> None:
    _join_group(rank, world, port)
    trainer = Trainer(_config(Path(folder), train=4, val=1, batch=2))
    result = trainer.fit()  # one epoch: one step per rank, then validation on rank 0 of a set smaller than the world
    flat = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(world)]
    torch.distributed.all_gather(gathered, flat)
    report = {"losses": result.losses, "agree": all(torch.equal(gathered[0], g) for g in gathered)}
    Path(folder, f"rank{rank}.json").write_text(json.dumps(report))
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_ranks_on_four_samples_train_and_validate_a_set_smaller_than_the_world(tmp_path):
    reports = _run_ranks(_train_worker, 2, tmp_path)
    assert all(len(r["losses"]) == 1 and r["agree"] for r in reports), reports
    assert reports[0]["losses"] != reports[1]["losses"]  # each rank its own shard
    assert (tmp_path / "run" / "best.pt").exists() and (tmp_path / "run" / "last.pt").exists()


@pytest.mark.slow
def test_an_output_folder_rank_0_cannot_write_is_an_error_on_every_rank(tmp_path):
    """Was: rank 0 raised the ConfigError alone and rank 1 waited for it in the first gradient all-reduce."""
    (tmp_path / "blocker").write_text("a file where the output folder should be")
    reports = _run_ranks(_error_worker, 2, tmp_path, 4, "blocker/run")
    assert all(r.get("error") == "ConfigError" for r in reports), reports
    assert "output.dir" in reports[1]["message"] and "cannot be written" in reports[1]["message"]
