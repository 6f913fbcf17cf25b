"""The quick CPU run (issue 18): the mean-pose baseline, the per-epoch table, a finished run's rerun, the quick
config and its documentation, the narrowed synthetic views and the optimiser choice."""

import re
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from handkin.errors import ShapeError  # noqa: E402
from handkin_train import TrainConfig, Trainer  # noqa: E402
from handkin_train.cli import main as cli_main  # noqa: E402
from handkin_train.datasets import build_dataset  # noqa: E402
from handkin_train.errors import CheckpointError, ConfigError  # noqa: E402
from handkin_train.evaluation import evaluate_model, mean_pose_baseline, root_relative_ref  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "examples" / "configs" / "tiny_cpu.yaml"


def tiny(tmp_path, **sections) -> TrainConfig:
    base = {
        "model": {"backbone": "resnet18", "image_size": 32},
        "data": {"train": {"size": 8, "seed": 0}, "val": {"size": 4, "seed": 1}, "batch_size": 4, "num_workers": 0},
        "optim": {"epochs": 1, "lr": 0.01},
        "runtime": {"device": "cpu", "seed": 0},
        "output": {"dir": str(tmp_path / "run"), "progress": False},
    }
    for name, fields in sections.items():
        base[name] = {**base.get(name, {}), **fields}
    return TrainConfig.from_dict(base)


def brute_force_baseline(mean_ref, gt, scale):
    """Per keypoint over hands, then over keypoints, of |(gt_j − gt_wrist) − (mean_j − mean_wrist) · s|, in
    plain loops."""
    n = len(gt)
    per_joint = []
    for j in range(21):
        errors = []
        for i in range(n):
            d = (gt[i, j] - gt[i, 0]) - (mean_ref[j] - mean_ref[0]) * scale[i]
            errors.append(float(np.sqrt((d**2).sum())))
        per_joint.append(sum(errors) / n)
    return sum(per_joint) / 21


def test_mean_pose_baseline_matches_brute_force():
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 40, (7, 21, 3)) + np.array([0, 0, 500.0])
    scale = rng.uniform(75, 105, 7)
    mean = root_relative_ref(gt, scale).mean(axis=0)
    assert mean.shape == (21, 3) and np.allclose(mean[0], 0)
    np.testing.assert_allclose(mean_pose_baseline(mean, gt, scale), brute_force_baseline(mean, gt, scale), rtol=1e-12)
    other = rng.normal(0, 1, (21, 3))
    np.testing.assert_allclose(mean_pose_baseline(other, gt, scale), brute_force_baseline(other, gt, scale), rtol=1e-12)
    # the hands' own mean is the best constant in the L2 sense, not worse than another pose on them
    assert mean_pose_baseline(mean, gt, scale) < mean_pose_baseline(other, gt, scale)
    with pytest.raises(ShapeError, match="scale_mm"):
        mean_pose_baseline(mean, gt, scale[:3])
    with pytest.raises(ShapeError, match="mean_ref"):
        mean_pose_baseline(mean[:20], gt, scale)


def test_evaluate_model_reports_the_baseline_on_the_same_hands(tmp_path):
    from handkin_train.loader import EpochSampler, make_loader
    from handkin_train.model import HandPoseNet
    from handkin_train.runtime import setup_runtime

    c = tiny(tmp_path)
    data = build_dataset(c.data.val, 32)
    data.mark_2d_only([3])
    runtime = setup_runtime(c.runtime)
    loader = make_loader(data, EpochSampler(4, 0, 0, 1, shuffle=False), 3, 0, runtime.device, False)
    torch.manual_seed(0)
    model = HandPoseNet(c.model)
    mean = np.full((21, 3), 0.5)
    s = evaluate_model(model, loader, runtime, mean_pose=mean)
    keep = data.has_3d
    expected = brute_force_baseline(mean, data.joints[keep], data.scale[keep].astype(np.float64))
    np.testing.assert_allclose(s["baseline_epe_root_mm"], expected, rtol=1e-5)
    assert "baseline_epe_root_mm" not in evaluate_model(model, loader, runtime)  # only when asked for


def test_fit_prints_one_table_row_per_epoch_and_a_rerun_says_already_trained(tmp_path, capsys):
    config = tiny(tmp_path, optim={"epochs": 1})
    path = tmp_path / "run.yaml"
    path.write_text(config.to_yaml())
    assert cli_main(["fit", str(path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.split()[:2] == ["epoch", "loss"])
    assert lines[head].split() == [
        "epoch", "loss", "L_2D", "L_zrel", "L_Zroot", "L_BMC", "EPE_root_mm", "baseline_mm", "EPE_mm", "2D_px",
        "Z_root_mm", "steps/s",
    ]  # fmt: skip
    row = lines[head + 1].split()
    assert row[0] == "1/1" and len(row) == 12 and all(np.isfinite(float(x)) for x in row[1:])
    assert len(lines[head]) == len(lines[head + 1])  # aligned
    assert "mean-pose baseline" in lines[-1] and "nan" not in lines[-1].lower()

    assert cli_main(["fit", str(path)]) == 0  # a finished run: no step, no nan
    again = capsys.readouterr().out
    assert "already trained" in again and "--epochs" in again and "nan" not in again.lower()
    assert "mean-pose baseline" in again  # the last validation, read back from the checkpoint

    assert cli_main(["fit", str(path), "--epochs", "2"]) == 0  # resumes into one more epoch
    more = capsys.readouterr().out.splitlines()
    assert any(line.split()[:1] == ["2/2"] for line in more) and more[-1].startswith("epoch 2, step 4")


def test_quick_config_parses_and_matches_the_docs():
    config = TrainConfig.load(QUICK)
    train, val = config.data.train, config.data.val
    assert config.model.backbone == "resnet18" and config.runtime.device == "cpu"
    assert train.kind == val.kind == "synthetic" and train.synthetic == val.synthetic  # same views held out
    assert train.seed != val.seed
    docs = (ROOT / "docs" / "training.md").read_text()
    quick = docs[docs.index("## Quick run") :]
    quick = " ".join(quick[: quick.index("\n## ", 3)].split())  # line breaks as spaces
    facts = (
        f"{train.synthetic_size} rendered hands",
        f"{val.synthetic_size} held-out hands",
        f"{config.optim.epochs} epochs",
        f"{config.model.image_size} px",
    )
    for fact in facts:
        assert fact in quick, fact
    readme = (ROOT / "README.md").read_text()
    line = next(x for x in readme.splitlines() if "tiny_cpu.yaml" in x)
    assert re.search(r"measured on a 2-core machine: \d+ min", line), line


def test_tilted_views_stay_within_the_tilt():
    from handkin_train.data.synthetic import SyntheticConfig, SyntheticHands
    from handkin_train.data.synthetic.cameras import _PALM_TO_CAMERA, _tilted_rotations

    rot = _tilted_rotations(500, np.random.default_rng(0), 30.0)
    np.testing.assert_allclose(rot @ rot.transpose(0, 2, 1), np.broadcast_to(np.eye(3), rot.shape), atol=1e-12)
    tilt = np.degrees(np.arccos(np.clip((rot @ _PALM_TO_CAMERA.T)[:, 2, 2], -1, 1)))
    assert tilt.max() <= 30.0 + 1e-9 and tilt.max() > 25.0
    hands = SyntheticHands(4, seed=0, config=SyntheticConfig(image_size=32, tilt_deg=20))
    assert (hands.joints[..., 2] >= 100.0).all()  # in front of the camera, as every rendered hand

    c = TrainConfig.from_dict({"data": {"train": {"synthetic": {"tilt_deg": 20, "fill": [0.7, 0.9]}}}})
    assert c.data.train.synthetic == {"tilt_deg": 20, "fill": [0.7, 0.9]}
    for bad, match in (
        ({"tilt": 20}, "synthetic.tilt"),
        ({"tilt_deg": 200}, "synthetic.tilt_deg"),
        ({"image_size": 64}, "model.image_size"),
    ):
        with pytest.raises(ConfigError, match=match):
            TrainConfig.from_dict({"data": {"train": {"synthetic": bad}}})
    with pytest.raises(ConfigError, match="kind 'synthetic' only"):
        TrainConfig.from_dict({"data": {"train": {"kind": "prepared", "path": "x", "synthetic": {"tilt_deg": 5}}}})


def test_adam_is_a_choice_and_sgd_stays_the_default(tmp_path):
    assert TrainConfig().optim.optimizer == "sgd"
    adam = tiny(tmp_path, optim={"optimizer": "adam", "lr": 1e-3})
    trainer = Trainer(adam)
    assert isinstance(trainer.optimizer, torch.optim.Adam)
    trainer.fit()
    sgd = tiny(tmp_path, optim={"optimizer": "sgd", "lr": 1e-3, "epochs": 2})
    with pytest.raises(CheckpointError, match="optim.optimizer 'adam'"):
        Trainer(sgd).fit()
