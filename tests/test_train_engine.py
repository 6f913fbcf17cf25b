"""handkin_train's engine on the CPU: learning, BMC with 2D-only labels, exact resume, divergence, DDP (gloo), CLI."""

import json
import socket
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from handkin_train import Objective, TrainConfig, Trainer, TrainingDiverged  # noqa: E402
from handkin_train.checkpoints import load_checkpoint, model_from_checkpoint  # noqa: E402
from handkin_train.cli import main as cli_main  # noqa: E402
from handkin_train.datasets import build_dataset  # noqa: E402
from handkin_train.errors import CheckpointError, DatasetError  # noqa: E402

SIZE = 64  # crop size of the tests (the paper's 128 works the same, four times slower)


def tiny_config(tmp_path, **sections) -> TrainConfig:
    base = {
        "model": {"backbone": "resnet18", "image_size": SIZE},
        "data": {"train": {"size": 16, "seed": 0}, "val": {"size": 8, "seed": 1}, "batch_size": 4, "num_workers": 0},
        "optim": {"epochs": 2, "lr": 0.01},
        "runtime": {"device": "cpu", "seed": 0},
        "output": {"dir": str(tmp_path / "run"), "progress": False, "log_every": 1},
    }
    for name, fields in sections.items():
        base[name] = {**base.get(name, {}), **fields}
    return TrainConfig.from_dict(base)


@pytest.fixture(scope="module")
def data16():
    """16 training and 8 validation synthetic hands (generated once for the module)."""
    c = tiny_config(Path("unused"))
    return build_dataset(c.data.train, SIZE), build_dataset(c.data.val, SIZE)


def first_batch(dataset, n: int) -> dict:
    return next(iter(torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, range(n)), batch_size=n)))


def test_overfits_a_small_batch(tmp_path, data16):
    train, val = data16
    config = tiny_config(tmp_path, optim={"lr": 0.003, "grad_clip": 1.0}, runtime={"channels_last": True})
    trainer = Trainer(config, train, val)
    batch = first_batch(train, 8)
    steps = [trainer.train_step(batch) for _ in range(100)]
    losses = np.array([[float(getattr(s, k)) for k in ("total", "uv", "z_rel")] for s in steps])
    assert np.isfinite(losses).all()
    first, last = losses[:3].mean(0), losses[-5:].mean(0)
    # the labels are learnt; the total includes the refiner's L_Zroot (slower to settle while BMC moves the
    # quadratic's inputs). Over seeds 0–3 × 1–2 threads the falls spread: 2D 3.66–4.15×, relative depth
    # 49–69×, total 2.76–7.30× (the old thresholds 4× / 3× sat inside that spread); the test asks 2.5×, 10×, 2×
    assert last[1] < first[1] / 2.5 and last[2] < first[2] / 10 and last[0] < first[0] / 2, (first, last)


def test_bmc_keeps_2d_only_predictions_plausible(tmp_path, data16):
    """With 2D labels only, nothing constrains depth except BMC: its predictions violate the limits far less.

    Two single runs are compared, so the threshold comes from their spread: 80 steps of this tiny run diverge
    with the CPU's convolution kernels and thread count. With the paper's weights the ratio none/bmc spread
    1.2–6.9 over 8 seeds × 1–2 threads (a fresh machine measured 2.1 against the old threshold 3). With the BMC
    weights ×10 it spread 2.0–54 (median 7) over the same 16 runs; the test asks for 1.5.
    """
    train, _ = data16
    batch = {**first_batch(train, 8), "has_3d": torch.zeros(8, dtype=torch.bool)}
    paper = Objective()  # scores both runs with the paper's weights
    results = {}
    strong = {"bone_length": 1.0, "root_bone": 1.0, "angle": 0.1}  # the paper's weights ×10
    for name, weights in (("bmc", strong), ("none", {"bone_length": 0.0, "root_bone": 0.0, "angle": 0.0})):
        config = tiny_config(tmp_path / name, loss=weights, optim={"lr": 0.003, "grad_clip": 1.0})
        trainer = Trainer(config, train, train)
        for _ in range(80):
            trainer.train_step(batch)
        trainer.model.eval()
        with torch.no_grad():
            joints = trainer.model(batch["image"], batch["K"]).joints
        results[name] = paper.bmc(joints).total.item()
    assert results["bmc"] < results["none"] / 1.5, results


def test_resume_replays_the_next_steps_exactly(tmp_path, data16):
    train, val = data16
    straight = Trainer(tiny_config(tmp_path / "a"), train, val).fit(max_steps=7).losses  # crosses an epoch (4 steps)
    first = Trainer(tiny_config(tmp_path / "b"), train, val).fit(max_steps=3)
    assert first.losses == straight[:3]
    resumed = Trainer(tiny_config(tmp_path / "b"), train, val)
    assert resumed.step == 0  # state arrives with fit()
    rest = resumed.fit(max_steps=4).losses
    assert rest == straight[3:7]
    assert resumed.step == 7 and resumed.epoch == 1
    assert list((tmp_path / "b" / "run" / "tb").glob("events.out.tfevents.*"))


class Poisoned(torch.utils.data.Dataset):
    """A dataset whose sample ``bad_index`` carries a NaN label (a broken annotation)."""

    def __init__(self, base, bad_index: int) -> None:
        self.base, self.bad_index = base, bad_index

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        item = dict(self.base[i])
        if i == self.bad_index:
            item["uv"] = torch.full_like(item["uv"], float("nan"))
        return item


def test_divergence_stops_with_the_last_checkpoint_intact(tmp_path, data16):
    train, val = data16
    Trainer(tiny_config(tmp_path), train, val).fit(max_steps=4)  # one epoch, checkpoint written
    before = load_checkpoint(tmp_path / "run" / "last.pt")
    poisoned = Poisoned(train, bad_index=3)  # every epoch visits every sample
    with pytest.raises(TrainingDiverged, match="last good checkpoint"):
        Trainer(tiny_config(tmp_path), poisoned, val).fit()
    after = load_checkpoint(tmp_path / "run" / "last.pt")
    assert after["step"] == before["step"] == 4
    assert all(torch.equal(after["model"][k], before["model"][k]) for k in before["model"])


def test_bad_checkpoints_give_one_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "broken.pt").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="corrupt"):
        model_from_checkpoint(tmp_path / "broken.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a handkin-train checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, folder: str) -> None:
    import os

    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    config = tiny_config(Path(folder), data={"train": {"size": 16, "seed": 0}, "val": {"size": 4, "seed": 1}})
    trainer = Trainer(config)
    result = trainer.fit(max_steps=3)
    flat = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
    gathered = [torch.zeros_like(flat) for _ in range(world)]
    torch.distributed.all_gather(gathered, flat)
    agree = all(torch.equal(gathered[0], g) for g in gathered)
    Path(folder, f"rank{rank}.json").write_text(
        json.dumps({"agree": agree, "losses": result.losses, "world": trainer.runtime.world_size})
    )
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_ddp_gloo_two_processes_agree(tmp_path):
    torch.multiprocessing.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert all(r["agree"] and r["world"] == 2 and len(r["losses"]) == 3 for r in reports)
    assert reports[0]["losses"] != reports[1]["losses"]  # each rank saw its own shard
    assert (tmp_path / "run" / "last.pt").exists()  # written by rank 0


def test_cli_fit_evaluate_predict(tmp_path, capsys):
    config = tiny_config(
        tmp_path, data={"train": {"size": 8, "seed": 3}, "val": {"size": 4, "seed": 4}}, optim={"epochs": 1}
    )
    path = tmp_path / "run.yaml"
    path.write_text(config.to_yaml())
    assert cli_main(["fit", str(path)]) == 0
    assert "best validation EPE" in capsys.readouterr().out
    ckpt = tmp_path / "run" / "best.pt"
    assert ckpt.exists() and (tmp_path / "run" / "last.pt").exists()
    assert cli_main(["evaluate", str(ckpt), "--size", "4", "-o", str(tmp_path / "scores.json")]) == 0
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert {"epe_mm", "epe_aligned_mm", "auc_aligned", "uv_px", "z_mm"} <= set(scores)
    from PIL import Image

    data = build_dataset(config.data.val, SIZE)
    images = []
    for i in range(2):
        images.append(tmp_path / f"hand{i}.png")
        Image.fromarray(data[i]["image"].numpy().transpose(1, 2, 0)).save(images[-1])
    out = tmp_path / "pred" / "out.json"
    assert cli_main(["predict", str(ckpt), *map(str, images), "-o", str(out)]) == 0
    result = json.loads(out.read_text())
    assert len(result["predictions"]) == 2
    first = result["predictions"][0]
    assert np.array(first["joints_mm"]).shape == (21, 3) and np.array(first["uv_image_px"]).shape == (21, 2)
    assert np.isfinite(first["joints_mm"]).all() and result["order"] == "mp21"
    # bad inputs: one clear message, exit code 2
    (tmp_path / "not_an_image.png").write_text("text")
    assert cli_main(["predict", str(ckpt), str(tmp_path / "not_an_image.png"), "-o", str(out)]) == 2
    assert "cannot read image" in capsys.readouterr().err
    assert cli_main(["evaluate", str(tmp_path / "nope.pt")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_evaluate_scores_3d_only_on_hands_with_3d_labels(tmp_path):
    """evaluate_model: the paper's 3D scores over the 3D-labelled hands only (checked against handkin.metrics on
    the same predictions), the 2D error over all hands; NaN 3D scores when no hand has 3D labels."""
    from handkin import metrics
    from handkin_train.evaluation import SCORES_3D, evaluate_model
    from handkin_train.loader import EpochSampler, make_loader
    from handkin_train.model import HandPoseNet
    from handkin_train.runtime import setup_runtime

    c = tiny_config(tmp_path)
    data = build_dataset(c.data.val, SIZE)  # 8 hands
    data.mark_2d_only(np.arange(8) % 2 == 1)
    torch.manual_seed(0)
    model = HandPoseNet(c.model).eval()
    batch = first_batch(data, 8)
    with torch.no_grad():
        p = model(batch["image"], batch["K"])
    pred = (p.joints * batch["scale"][:, None, None]).double().numpy()
    gt, keep = batch["joints"].double().numpy(), batch["has_3d"].numpy()
    ref = metrics.evaluate(pred[keep], gt[keep], units="mm", alignments=("none", "procrustes"), reflection=True)
    every = metrics.evaluate(pred, gt, units="mm", alignments=("none",))
    assert "uv_visible" not in batch  # synthetic hands: every joint visible
    uv_all = float((p.uv - batch["uv"]).norm(dim=-1)[batch["has_2d"]].mean())

    runtime = setup_runtime(c.runtime)
    loader = make_loader(data, EpochSampler(8, 0, 0, 1, shuffle=False), 3, 0, runtime.device, False)
    s = evaluate_model(model, loader, runtime)
    assert s["n"] == 8 and s["n_3d"] == 4 and keep.sum() == 4
    np.testing.assert_allclose(s["epe_mm"], ref["none"].epe_mean, rtol=1e-5)
    np.testing.assert_allclose(s["epe_aligned_mm"], ref["procrustes"].epe_mean, rtol=1e-5)
    np.testing.assert_allclose(s["uv_px_all"], uv_all, rtol=1e-5)
    assert abs(s["epe_mm"] - every["none"].epe_mean) > 1e-3  # the 2D-only hands were left out
    assert {"auc", "auc_root", "epe_root_mm", "z_rel_mm", "z_root_mm"} <= set(s)

    data.mark_2d_only(np.ones(8, bool))
    s = evaluate_model(model, loader, runtime)
    assert s["n_3d"] == 0 and all(np.isnan(s[k]) for k in SCORES_3D) and np.isfinite(s["uv_px_all"])

    empty = make_loader(data, EpochSampler(0, 0, 0, 1, shuffle=False), 3, 0, runtime.device, False)
    with pytest.raises(DatasetError, match="evaluation set is empty"):  # was torch.cat's RuntimeError
        evaluate_model(model, empty, runtime)
