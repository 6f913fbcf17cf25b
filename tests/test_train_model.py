"""handkin_train: the network, the refinement MLP, the objective (Eq. 10) and the configuration."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

import handkin  # noqa: E402
from handkin import camera  # noqa: E402
from handkin_train import CheckpointError, ConfigError, HandPoseNet, Objective, RootRefiner, TrainConfig  # noqa: E402
from handkin_train.config import LossConfig, ModelConfig  # noqa: E402
from handkin_train.objective import training_limits  # noqa: E402

K = torch.tensor([[220.0, 0.0, 64.0], [0.0, 220.0, 64.0], [0.0, 0.0, 1.0]])


def images(n: int, size: int = 128) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def test_resnet50_output_shapes():
    model = HandPoseNet(ModelConfig(backbone="resnet50")).eval()
    assert model.backbone.fc.in_features == 2048 and model.backbone.fc.out_features == 63
    with torch.no_grad():
        pred = model(images(2), K.expand(2, 3, 3))
    shapes = {k: tuple(v.shape) for k, v in pred._asdict().items()}
    assert shapes == {
        "uv": (2, 21, 2),
        "z_rel": (2, 21),
        "z_root_computed": (2,),
        "z_root": (2,),
        "joints": (2, 21, 3),
        "valid": (2,),
    }
    assert all(v.dtype == torch.float32 for k, v in pred._asdict().items() if k != "valid")


def test_refiner_layers_follow_supplementary_table_6():
    layers = list(RootRefiner(batchnorm=True).layers)
    kinds = [type(m).__name__ for m in layers]
    assert kinds == ["Linear", "LeakyReLU", "BatchNorm1d", "Linear", "LeakyReLU", "BatchNorm1d", "Linear"]
    assert [(m.in_features, m.out_features) for m in layers if isinstance(m, torch.nn.Linear)] == [
        (85, 128),
        (128, 128),
        (128, 1),
    ]
    assert all(m.negative_slope == 0.01 for m in layers if isinstance(m, torch.nn.LeakyReLU))
    assert all(m.num_features == 128 for m in layers if isinstance(m, torch.nn.BatchNorm1d))
    plain = [type(m).__name__ for m in RootRefiner(batchnorm=False).layers]
    assert "BatchNorm1d" not in plain and plain.count("Linear") == 3


def test_prediction_is_the_camera_model_of_its_2p5d_output():
    model = HandPoseNet(ModelConfig(backbone="resnet18")).eval()
    with torch.no_grad():
        pred = model(images(3), K.expand(3, 3, 3))
    root = camera.solve_root_depth(pred.uv, pred.z_rel, K)
    assert torch.allclose(pred.z_root_computed, root.z_root)
    assert torch.allclose(pred.z_root, pred.z_root_computed)  # the refiner starts as the identity
    assert torch.allclose(pred.joints, camera.from_25d(pred.uv, pred.z_rel, K, pred.z_root), atol=1e-5)


def test_head_starts_at_the_mean_pose():
    """A flat right hand, palm to the camera (thumb on the image's right), fingers up, 60 % of the crop."""
    from handkin_train.model import mean_pose_bias

    pose = mean_pose_bias().view(21, 3)
    uv = (pose[:, :2] + 0.5) * 128
    j = handkin.Joint
    assert uv[j.thumb_tip, 0] > uv[j.wrist, 0] > uv[j.little_tip, 0]  # palm view of a right hand
    assert (uv[[j.index_tip, j.middle_tip, j.ring_tip, j.little_tip], 1] < uv[j.wrist, 1]).all()  # fingers up
    extent = uv.max(0).values - uv.min(0).values
    assert extent.max().item() == pytest.approx(0.6 * 128)
    assert torch.allclose((uv.max(0).values + uv.min(0).values) / 2, torch.tensor([64.0, 64.0]))
    assert (pose[:, 2] == 0).all()
    model = HandPoseNet(ModelConfig(backbone="resnet18"))
    assert torch.equal(model.backbone.fc.bias, mean_pose_bias())


def test_bf16_autocast_on_cpu_keeps_float32_outputs():
    model = HandPoseNet(ModelConfig(backbone="resnet18"))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        pred = model(images(2), K.expand(2, 3, 3))
    assert pred.joints.dtype == torch.float32 and torch.isfinite(pred.joints).all()
    Objective()(pred, labels(2)).total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_backbone_weights_from_a_local_file(tmp_path):
    import torchvision

    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18_imagenet.pth"
    torch.save(reference.state_dict(), path)
    model = HandPoseNet(ModelConfig(backbone="resnet18", weights=path))
    assert torch.equal(model.backbone.conv1.weight, reference.conv1.weight)
    assert model.backbone.fc.out_features == 63
    with pytest.raises(CheckpointError, match="not found"):
        HandPoseNet(ModelConfig(backbone="resnet18", weights=tmp_path / "missing.pth"))
    (tmp_path / "bad.pth").write_bytes(b"not a state dict")
    with pytest.raises(CheckpointError, match="cannot read"):
        HandPoseNet(ModelConfig(backbone="resnet18", weights=tmp_path / "bad.pth"))
    with pytest.raises(CheckpointError, match="does not fit"):
        HandPoseNet(ModelConfig(backbone="resnet34", weights=path))


def labels(n: int, has_3d=None) -> dict[str, torch.Tensor]:
    """Exact labels of posed hands 40 cm in front of the crop camera."""
    rng = np.random.default_rng(n)
    angles = np.stack([rng.uniform(0, 1.0, (n, 15)), rng.uniform(-0.2, 0.2, (n, 15))], -1)
    joints = np.asarray(handkin.posed_hand(angles).joints) * np.array([1.0, -1.0, -1.0]) + [0.0, 40.0, 400.0]
    pose = camera.to_25d(joints, K.double().numpy())
    t = {
        "uv": pose.uv,
        "z_rel": pose.z_rel,
        "z_root": pose.z_root / pose.scale,
        "scale": pose.scale,
        "joints": joints,
    }
    out = {k: torch.tensor(v, dtype=torch.float32) for k, v in t.items()}
    out["K"] = K.expand(n, 3, 3)
    out["has_2d"] = torch.ones(n, dtype=torch.bool)
    out["has_3d"] = torch.ones(n, dtype=torch.bool) if has_3d is None else torch.tensor(has_3d)
    return out


class FixedPrediction:
    """A prediction built from labels plus known offsets (to check the L1 terms by hand)."""

    @staticmethod
    def make(batch, d_uv=0.0, d_z=0.0, d_root=0.0):
        from handkin_train.model import Prediction

        uv = (batch["uv"] + d_uv).requires_grad_(True)
        z_rel = (batch["z_rel"] + d_z).requires_grad_(True)
        z_root = batch["z_root"] + d_root
        joints = camera.from_25d(uv, z_rel, batch["K"], z_root)
        return Prediction(uv, z_rel, z_root, z_root, joints, torch.ones(len(z_root), dtype=torch.bool))


def test_objective_l1_terms_by_hand():
    batch = labels(4, has_3d=[True, False, True, False])
    pred = FixedPrediction.make(batch, d_uv=3.0, d_z=0.2, d_root=-0.5)
    terms = Objective(LossConfig(uv_scale=1.0))(pred, batch)
    assert terms.uv.item() == pytest.approx(6.0)  # |Δu| + |Δv| per joint, in pixels
    assert Objective(image_size=128)(pred, batch).uv.item() == pytest.approx(6.0 / 128)  # default: crop units
    assert terms.z_rel.item() == pytest.approx(0.2, rel=1e-5)
    assert terms.z_root.item() == pytest.approx(0.5, rel=1e-5)
    c = LossConfig()
    bmc = terms.bone_length * c.bone_length + terms.root_bone * c.root_bone + terms.angle * c.angle
    assert terms.total.item() == pytest.approx((c.uv * 6.0 + c.z_rel * 0.2 + c.z_root * 0.5 + bmc).item(), rel=1e-5)
    # BMC scores the joints rebuilt with the quadratic's Ẑ_root (the default bmc_root) …
    root = camera.solve_root_depth(pred.uv.detach(), pred.z_rel.detach(), batch["K"]).z_root
    rebuilt = camera.from_25d(pred.uv.detach(), pred.z_rel.detach(), batch["K"], root)
    reference = handkin.BMCLoss(training_limits(c), return_terms=True)(rebuilt)
    assert terms.angle.item() == pytest.approx(reference.angle.item(), rel=1e-5)
    assert terms.root_bone.item() == pytest.approx(reference.root_bone.item(), rel=1e-5, abs=1e-7)
    # … or the prediction's own joints
    refined = Objective(LossConfig(bmc_root="refined"))(pred, batch)
    own = handkin.BMCLoss(training_limits(c), return_terms=True)(pred.joints.detach())
    assert refined.angle.item() == pytest.approx(own.angle.item(), rel=1e-5)


def test_bmc_joints_from_the_quadratic_have_unit_reference_bone_and_pass_its_gradient():
    """With bmc_root = 'quadratic' the reference bone of the scored joints is 1 by construction, and the BMC
    gradient includes Ẑ_root's response to the predicted 2.5D: it matches a finite difference of the loss."""
    batch = labels(3)
    pred = FixedPrediction.make(batch, d_z=0.05)
    objective = Objective(LossConfig(bone_length=1.0, root_bone=1.0, angle=1.0)).double()
    as64 = {k: (v.double() if v.is_floating_point() else v) for k, v in batch.items()}
    uv = pred.uv.detach().double().requires_grad_(True)
    z_rel = pred.z_rel.detach().double()
    z_rel[:, 9] += 0.3  # a middle_mcp pushed out of plane: the root bones bend
    z_rel.requires_grad_(True)

    def bmc(z):
        p = pred._replace(uv=uv, z_rel=z)
        joints = objective.bmc_joints(p, as64)
        return joints, objective.bmc(joints).total

    joints, value = bmc(z_rel)
    ref = torch.linalg.norm(joints[:, 9] - joints[:, 0], dim=-1)
    assert torch.allclose(ref, torch.ones(3, dtype=ref.dtype), atol=1e-9)
    (grad,) = torch.autograd.grad(value, z_rel)
    step = torch.zeros_like(z_rel)
    step[:, 9] = 1e-6
    numeric = (bmc(z_rel + step)[1] - bmc(z_rel - step)[1]) / 2e-6
    assert value.item() > 0 and grad[:, 9].sum().item() == pytest.approx(numeric.item(), rel=1e-4)


def test_objective_2d_only_samples_train_only_2d_and_bmc():
    batch = labels(4, has_3d=[True, False, True, False])
    pred = FixedPrediction.make(batch, d_uv=1.0, d_z=0.3)
    no_bmc = Objective(LossConfig(bone_length=0, root_bone=0, angle=0))
    no_bmc(pred, batch).total.backward()
    assert (pred.z_rel.grad[[1, 3]] == 0).all() and (pred.z_rel.grad[[0, 2]] != 0).any()
    assert (pred.uv.grad != 0).all(dim=-1).any()
    changed = {k: v.clone() for k, v in batch.items()}
    changed["z_rel"][[1, 3]] += 5.0  # labels a 2D-only sample does not have
    assert no_bmc(pred, changed).total.item() == pytest.approx(no_bmc(pred, batch).total.item())
    none = {**batch, "has_2d": torch.zeros(4, dtype=torch.bool), "has_3d": torch.zeros(4, dtype=torch.bool)}
    assert no_bmc(pred, none).total.item() == 0.0


def test_objective_uses_joint_visibility():
    batch = labels(2)
    pred = FixedPrediction.make(batch)
    with torch.no_grad():
        pred.uv[:, 0] += 10.0  # only the wrist is off …
    visible = torch.ones(2, 21, dtype=torch.bool)
    visible[:, 0] = False  # … and not visible
    assert Objective()(pred, {**batch, "uv_visible": visible}).uv.item() == 0.0


def test_physical_limits_are_converted_to_reference_units(tmp_path):
    path = handkin.JointLimits.default(units="mm").save(tmp_path / "limits.json")
    limits = training_limits(LossConfig(limits=path))
    assert limits.units.value == "ref"
    mm = handkin.JointLimits.default(units="mm").bone_bounds[int(handkin.Bone.index_mcp)]
    assert limits.bone_bounds[int(handkin.Bone.index_mcp)] == pytest.approx([mm[0] / 115.0, mm[1] / 75.0])


def test_config_errors_name_the_field(tmp_path):
    with pytest.raises(ConfigError, match=r"optim\.lr"):
        TrainConfig.from_dict({"optim": {"lr": -1}})
    with pytest.raises(ConfigError, match=r"model\.backbon"):
        TrainConfig.from_dict({"model": {"backbon": "resnet50"}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed")
    with pytest.raises(ConfigError, match="bad.yaml"):
        TrainConfig.load(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        TrainConfig.load(tmp_path / "missing.yaml")
    good = tmp_path / "good.yaml"
    good.write_text(TrainConfig().with_overrides(optim={"epochs": 3}).to_yaml())
    config = TrainConfig.load(good)
    assert config.optim.epochs == 3 and config.optim.lr == 5e-3 and config.optim.step_epochs == 30
    assert (config.loss.uv, config.loss.z_rel, config.loss.z_root) == (1.0, 5.0, 1.0)
    assert (config.loss.bone_length, config.loss.root_bone, config.loss.angle) == (0.1, 0.1, 0.01)


@pytest.mark.parametrize("name", ["paper.yaml", "tiny_cpu.yaml"])
def test_example_configs_load(name):
    from pathlib import Path

    config = TrainConfig.load(Path(__file__).resolve().parents[1] / "examples" / "configs" / name)
    assert config.loss.z_rel == 5.0 and config.optim.momentum == 0.9
