"""The run configuration refuses bad values with one ConfigError naming the file and the field: unknown devices,
non-finite or out-of-range numbers, negative seeds, a batch too small for the refiner's BatchNorm; hardware that
is not there is a DeviceError when the run starts."""

import math
import re

import pytest

torch = pytest.importorskip("torch")

from handkin_train import TrainConfig  # noqa: E402
from handkin_train.errors import ConfigError, DeviceError  # noqa: E402
from handkin_train.runtime import setup_runtime  # noqa: E402


def _load(tmp_path, text: str) -> TrainConfig:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return TrainConfig.load(path)


@pytest.mark.parametrize("device", ["banana", "cuda:x", "cuda:-1", "gpu", "CPU", "cuda:0 "])
def test_unknown_device_is_a_config_error_naming_the_choices(tmp_path, device):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, f"runtime: {{device: {device!r}}}\n")
    message = str(info.value)
    assert "run.yaml" in message and "runtime.device" in message and repr(device) in message
    assert all(choice in message for choice in ("auto", "cpu", "cuda", "cuda:N", "mps"))


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "cuda:12", "mps"])
def test_known_devices_are_accepted(device):
    assert TrainConfig.from_dict({"runtime": {"device": device}}).runtime.device == device


def test_absent_hardware_is_a_device_error():
    if not torch.backends.mps.is_available():
        with pytest.raises(DeviceError, match="'mps'.*not available.*'cpu'"):
            setup_runtime(TrainConfig.from_dict({"runtime": {"device": "mps"}}).runtime)
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="'cuda:3'.*not available"):
            setup_runtime(TrainConfig.from_dict({"runtime": {"device": "cuda:3"}}).runtime)
    else:
        n = torch.cuda.device_count()
        with pytest.raises(DeviceError, match=f"has {n} GPU"):
            setup_runtime(TrainConfig.from_dict({"runtime": {"device": f"cuda:{n}"}}).runtime)


@pytest.mark.parametrize("value", [".inf", ".nan", "-.inf", "-1", "0"])
def test_lr_must_be_finite_and_positive(tmp_path, value):
    with pytest.raises(ConfigError, match=r"run.yaml: optim.lr: Input should be (a finite number|greater than 0)"):
        _load(tmp_path, f"optim: {{lr: {value}}}\n")


#: Every numeric field of the configuration (one per kind of section), as a path and a dataset kind it belongs to.
NUMERIC_FIELDS = [
    ("optim.lr", None),
    ("optim.momentum", None),
    ("optim.weight_decay", None),
    ("optim.gamma", None),
    ("optim.grad_clip", None),
    ("optim.epochs", None),
    ("optim.step_epochs", None),
    ("loss.uv", None),
    ("loss.z_rel", None),
    ("loss.z_root", None),
    ("loss.bone_length", None),
    ("loss.root_bone", None),
    ("loss.angle", None),
    ("loss.uv_scale", None),
    ("model.image_size", None),
    ("data.batch_size", None),
    ("data.num_workers", None),
    ("data.train.size", None),
    ("data.train.weak_fraction", None),
    ("data.train.pad", "prepared"),
    ("data.train.context", "prepared"),
    ("data.train.augment.rotation_deg", "prepared"),
    ("data.train.augment.shift", "prepared"),
    ("data.train.augment.brightness", "prepared"),
    ("output.log_every", None),
    ("output.checkpoint_every", None),
]


def _with(path: str, value, kind: str | None) -> dict:
    data: dict = {}
    if kind:
        data["data"] = {"train": {"kind": kind, "path": "somewhere"}}
    node = data
    *parents, leaf = path.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    return data


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize(("field", "kind"), NUMERIC_FIELDS)
def test_non_finite_numbers_are_refused_everywhere(field, kind, value):
    """Was: ``inf`` passed every ``gt``/``ge`` bound (``lr: .inf`` trained to NaN), ``nan`` some of them."""
    with pytest.raises(ConfigError, match=f"run.yaml: {re.escape(field)}: Input should be"):
        TrainConfig.from_dict(_with(field, value, kind), source="run.yaml")


@pytest.mark.parametrize("value", [[0.9, math.inf], [math.nan, 1.0]])
def test_non_finite_pairs_and_lists_are_refused(value):
    with pytest.raises(ConfigError, match=r"data\.train\.augment.*scale.*finite number"):
        TrainConfig.from_dict(_with("data.train.augment.scale", value, "prepared"))
    mix = {"kind": "mix", "parts": [{"size": 2}, {"size": 2}], "ratios": value}
    with pytest.raises(ConfigError, match=r"data\.train\.ratios\.\d: Input should be a finite number"):
        TrainConfig.from_dict({"data": {"train": mix}})


@pytest.mark.parametrize("field", ["runtime.seed", "data.train.seed", "data.val.seed"])
def test_seeds_are_not_negative(field):
    """Was: a negative dataset seed raised NumPy's ValueError from inside the synthetic renderer."""
    with pytest.raises(ConfigError, match=rf"{field}: Input should be greater than or equal to 0"):
        TrainConfig.from_dict(_with(field, -1, None))


def test_batch_of_one_with_the_refiners_batchnorm_is_a_config_error():
    """Was: BatchNorm's raw ValueError at the first training step."""
    with pytest.raises(ConfigError, match="data.batch_size is 1.*BatchNorm.*refiner_batchnorm to false"):
        TrainConfig.from_dict({"data": {"batch_size": 1}})
    TrainConfig.from_dict({"data": {"batch_size": 1}, "model": {"refiner_batchnorm": False}})
    TrainConfig.from_dict({"data": {"batch_size": 1}, "model": {"refine_root": False}})
