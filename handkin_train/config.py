"""The run configuration: a pydantic model loadable from YAML, with the paper's schedule as defaults.

Every section rejects unknown keys, and a bad value raises :class:`ConfigError` naming the field
(``optim.lr: Input should be greater than 0``) and the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handkin.errors import HandkinError


class ConfigError(HandkinError):
    """A configuration file or value is invalid (the message names the field)."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(Section):
    backbone: Literal["resnet18", "resnet34", "resnet50"] = "resnet50"
    """torchvision ResNet; the paper uses ResNet-50 (the lighter ones are for CPU demos)."""
    weights: Path | None = None
    """A local file with ImageNet weights for the backbone (a torchvision state dict); nothing is downloaded."""
    image_size: int = Field(128, ge=32, le=1024)
    refine_root: bool = True
    """The Z_root refinement MLP of Eq. 8."""
    refiner_batchnorm: bool = True
    """BatchNorm in the refiner (supplementary Tab. 6); the paper found it better off for cross-dataset use."""


class DatasetConfig(Section):
    kind: Literal["synthetic"] = "synthetic"
    size: int = Field(2048, ge=1)
    seed: int = 0
    weak_fraction: float = Field(0.0, ge=0.0, le=1.0)
    """Fraction of samples marked 2D-only (their relative depth and Z_root labels are not used)."""


class DataConfig(Section):
    train: DatasetConfig = DatasetConfig()
    val: DatasetConfig = DatasetConfig(size=256, seed=1)
    batch_size: int = Field(32, ge=1)
    """Per process (per GPU)."""
    num_workers: int = Field(2, ge=0)
    cache: Path | None = None
    """Where generated synthetic sets are kept between runs (``None``: regenerate each run)."""


class LossConfig(Section):
    """Weights of Eq. 10 (paper values) and the limits of the BMC loss."""

    uv: float = Field(1.0, ge=0)
    z_rel: float = Field(5.0, ge=0)
    z_root: float = Field(1.0, ge=0)
    bone_length: float = Field(0.1, ge=0)
    root_bone: float = Field(0.1, ge=0)
    angle: float = Field(0.01, ge=0)
    limits: Path | None = None
    """A ``JointLimits`` JSON file (``handkin`` units ``ref`` or physical); ``None``: handkin's literature defaults."""
    uv_scale: float | None = Field(None, gt=0)
    """2D errors are divided by this many pixels before the L1; ``None``: the crop size (2D errors in crop units,
    commensurate with the relative depths; plain pixels would make the 2D gradient 128 times larger)."""


class OptimConfig(Section):
    """SGD with step decay: lr 5e-3, ×0.1 every 30 epochs, 70 epochs (paper §4)."""

    lr: float = Field(5e-3, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    epochs: int = Field(70, ge=1)
    step_epochs: int = Field(30, ge=1)
    gamma: float = Field(0.1, gt=0, le=1)
    grad_clip: float | None = Field(None, gt=0)


class RuntimeConfig(Section):
    device: str = "auto"
    """``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:1``…; under torchrun each rank takes its local GPU."""
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    """``auto``: bf16 autocast on GPUs that support it, fp16 with a gradient scaler on older GPUs, fp32 on the CPU."""
    channels_last: bool = True
    compile: bool = False
    """``torch.compile`` the model (slow to start; worth it for long GPU runs)."""
    seed: int = 0
    deterministic: bool = False
    """cuDNN determinism (slower)."""


class OutputConfig(Section):
    dir: Path = Path("runs/handkin")
    log_every: int = Field(10, ge=1)
    """Steps between TensorBoard scalars."""
    checkpoint_every: int = Field(0, ge=0)
    """Steps between mid-epoch checkpoints (0: at the end of each epoch only)."""
    progress: bool = True
    """tqdm progress bars (rank 0 only)."""


class TrainConfig(Section):
    """One training run."""

    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    output: OutputConfig = OutputConfig()

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a YAML (or JSON) file; errors name the file and the field."""
        import yaml

        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{path} must hold a mapping of sections (model, data, loss, optim, runtime, output).")
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainConfig:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"{source}: {problems}") from None

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def with_overrides(self, **sections: dict[str, Any]) -> TrainConfig:
        """A copy with some fields replaced, e.g. ``with_overrides(optim={"epochs": 2})`` (validated)."""
        data = self.model_dump()
        for name, fields in sections.items():
            if name not in data:
                raise ConfigError(f"unknown config section {name!r}.")
            data[name] = {**data[name], **fields}
        return self.from_dict(data, source="overrides")


__all__ = [
    "ConfigError",
    "TrainConfig",
    "ModelConfig",
    "DataConfig",
    "DatasetConfig",
    "LossConfig",
    "OptimConfig",
    "RuntimeConfig",
    "OutputConfig",
]
