"""The run configuration: a pydantic model loadable from YAML, with the paper's schedule as defaults.

Every section rejects unknown keys (a dataset section accepts its reader's options, checked against the reader's
options model in :mod:`handkin_train.data.registry`) and non-finite numbers (``.inf``, ``.nan``), and a bad value
raises :class:`ConfigError` naming the field (``optim.lr: Input should be greater than 0``) and the file. :class:`AugmentConfig` lives with the augmentation
(:mod:`handkin_train.data.augment`) and is re-exported here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from handkin.losses import DEFAULT_WEIGHTS as PAPER_WEIGHTS

from .data.augment import AugmentConfig
from .data.registry import RESERVED_KINDS, ReaderOptions, available_readers, dataset_kinds, get_reader
from .errors import ConfigError, DatasetError
from .schema import Section, describe


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
    """One dataset: the built-in synthetic hands, a dataset read from disk, a prepared cache, or a mix.

    * ``synthetic`` — ``size`` rendered hands (``seed``); nothing is read.
    * a registered reader (``freihand`` / ``rhd`` / ``ho3d`` / ``interhand`` / ``folder``, or one added with
      :func:`~handkin_train.data.registry.register_reader`) — read from ``path`` with the reader's options given
      beside the other fields (``split``, ``images``, ``versions``, … as the reader's options model declares
      them; see docs/datasets.md), cropped once into a cache under ``data.cache`` (in memory when it is unset)
      and read from there.
    * ``prepared`` — a cache written by ``handkin-train prepare`` at ``path``.
    * ``mix`` — the datasets in ``parts``, drawn in proportion to ``ratios`` into an epoch of ``size`` samples
      (default: all parts' samples).

    Weak labels (2D-only samples) on any kind: ``weak_fraction`` (a fraction), ``weak_count`` (a number) or
    ``labelled_3d`` (keep exactly this many with 3D, paper §5.6), chosen by ``seed``; groups of rows that share
    an annotation (FreiHAND's colour versions) are chosen together.
    """

    model_config = ConfigDict(extra="allow", frozen=True)  # the extra keys are the reader's options, checked below

    kind: str = "synthetic"
    """``synthetic``, a reader's name (:data:`~handkin_train.data.DATASETS`), ``prepared`` or ``mix``."""
    size: int | None = Field(None, ge=1)
    """synthetic: number of hands (default 2048); mix: samples per epoch; other kinds: a seeded random subset."""
    seed: int = Field(0, ge=0)
    weak_fraction: float = Field(0.0, ge=0.0, le=1.0)
    """Fraction of the 3D-labelled samples marked 2D-only (their relative depth and Z_root labels are not used)."""
    weak_count: int | None = Field(None, ge=0)
    """Number of 3D-labelled samples (groups) marked 2D-only."""
    labelled_3d: int | None = Field(None, ge=0)
    """Keep exactly this many samples (groups) with 3D labels, all others 2D-only (paper §5.6: 1 … 29,305)."""
    path: Path | None = None
    """Dataset root or annotation file (see docs/datasets.md), or the prepared cache folder."""
    subset: tuple[float, float] = (0.0, 1.0)
    """Keep the groups in this fraction range of the dataset, in its order (e.g. ``[0, 0.9]`` to train and
    ``[0.9, 1]`` to validate on one split, as the paper does with FreiHAND)."""
    augment: AugmentConfig | bool = False
    """Augmentation (``true`` for the defaults, or the fields of :class:`AugmentConfig`); off by default."""
    pad: float = Field(1.4, ge=1.0, le=4.0)
    """Crop side = the hand box's larger side × ``pad`` (1.4: the hand fills about 70 % of the crop)."""
    context: float = Field(1.25, ge=1.0, le=3.0)
    """The prepared crops keep this much more around the crop, for rotations and zooming out."""
    synthetic: dict[str, Any] = {}
    """synthetic: fields of :class:`~handkin_train.data.synthetic.SyntheticConfig` to narrow or widen what is
    random about the rendered hands (e.g. ``{tilt_deg: 30, fill: [0.7, 0.9]}``); its ``image_size`` is
    ``model.image_size``."""
    parts: list[DatasetConfig] = []
    """mix: the datasets mixed."""
    ratios: list[float] | None = None
    """mix: relative share of each part per epoch (default: in proportion to their sizes)."""

    @field_validator("augment", mode="before")
    @classmethod
    def _augment_mapping(cls, augment: Any) -> Any:
        """A mapping is validated as an :class:`AugmentConfig` first, so its errors name ``augment.<field>`` alone
        (not each branch of the ``AugmentConfig | bool`` union)."""
        return AugmentConfig.model_validate(augment) if isinstance(augment, dict) else augment

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in dataset_kinds():
            raise ValueError(f"unknown dataset kind {kind!r}; choose from {', '.join(dataset_kinds())}.")
        return kind

    @model_validator(mode="after")
    def _check_reader_options(self) -> DatasetConfig:
        """The extra keys must be options of the kind's reader (``None``: unset, as configs saved before the
        registry wrote ``split: null`` for every kind); they are kept validated (e.g. ``images`` as a Path)."""
        given = {k: v for k, v in (self.model_extra or {}).items() if v is not None}
        if self.kind in RESERVED_KINDS:
            if given:
                raise ValueError(
                    f"unknown field(s) {', '.join(sorted(given))} for kind {self.kind!r}; reader options belong to "
                    f"the datasets read from disk ({', '.join(available_readers())})."
                )
            options = {}
        else:
            try:
                options = get_reader(self.kind).parse_options(given).model_dump(exclude_none=True)
            except DatasetError as exc:
                raise ValueError(str(exc)) from None
        object.__setattr__(self, "__pydantic_extra__", options)
        return self

    @model_validator(mode="after")
    def _check_kind(self) -> DatasetConfig:
        if self.kind not in ("synthetic", "mix") and self.path is None:
            raise ValueError(f"a {self.kind!r} dataset needs path (its folder or annotation file).")
        if self.kind == "mix":
            if not self.parts:
                raise ValueError("a 'mix' dataset needs parts (a list of datasets).")
            if self.ratios is not None and (len(self.ratios) != len(self.parts) or min(self.ratios) < 0):
                raise ValueError(f"ratios must be {len(self.parts)} non-negative numbers, one per part.")
            if self.ratios is not None and sum(self.ratios) <= 0:
                raise ValueError("ratios must not all be 0.")
            if self.weak_fraction > 0 or self.weak_count is not None or self.labelled_3d is not None:
                raise ValueError("set weak labels on the parts of a mix, not on the mix.")
            if any(p.augment_config.enabled and p.augment_config.warp == "device" for p in self.parts):
                raise ValueError("augment.warp 'device' does not work inside a mix (its parts' crops differ in size).")
        elif self.parts or self.ratios is not None:
            raise ValueError("parts and ratios belong to kind 'mix'.")
        if self.kind == "synthetic" and self.augment_config.enabled:
            raise ValueError("synthetic hands are rendered with random poses and cameras already: no augment.")
        if self.synthetic and self.kind != "synthetic":
            raise ValueError("synthetic (the rendering options) applies to kind 'synthetic' only.")
        if self.synthetic:
            from .data.synthetic import SyntheticConfig

            if "image_size" in self.synthetic:
                raise ValueError("synthetic.image_size is model.image_size: set that instead.")
            try:
                SyntheticConfig(image_size=128, **self.synthetic)
            except ValidationError as exc:
                raise ValueError(describe(exc, "synthetic")) from None
        if self.kind == "synthetic" and self.subset != (0.0, 1.0):
            raise ValueError("subset applies to datasets read from disk; give synthetic hands a size instead.")
        if sum(x is not None for x in (self.weak_count, self.labelled_3d)) + (self.weak_fraction > 0) > 1:
            raise ValueError("give one of weak_fraction, weak_count and labelled_3d.")
        lo, hi = self.subset
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"subset must be a range 0 <= lo < hi <= 1, got {self.subset}.")
        return self

    @property
    def reader_options(self) -> ReaderOptions | None:
        """The options of the kind's reader (``None`` for ``synthetic``, ``prepared`` and ``mix``)."""
        if self.kind in RESERVED_KINDS:
            return None
        return get_reader(self.kind).options.model_validate(self.model_extra or {})

    @property
    def augment_config(self) -> AugmentConfig:
        """:attr:`augment` as an :class:`AugmentConfig` (``False`` → disabled)."""
        if isinstance(self.augment, AugmentConfig):
            return self.augment
        return AugmentConfig(enabled=bool(self.augment))

    @property
    def synthetic_size(self) -> int:
        """The number of synthetic hands (``size``, default 2048)."""
        return 2048 if self.size is None else self.size


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
    bone_length: float = Field(PAPER_WEIGHTS["bone_length"], ge=0)
    root_bone: float = Field(PAPER_WEIGHTS["root_bone"], ge=0)
    angle: float = Field(PAPER_WEIGHTS["angle"], ge=0)
    limits: Path | None = None
    """A ``JointLimits`` JSON file (``handkin`` units ``ref`` or physical); ``None``: handkin's literature defaults."""
    uv_scale: float | None = Field(None, gt=0)
    """2D errors are divided by this many pixels before the L1; ``None``: the crop size (2D errors in crop units,
    commensurate with the relative depths; plain pixels would make the 2D gradient 128 times larger)."""
    bmc_root: Literal["quadratic", "refined"] = "quadratic"
    """Which Ẑ_root the joints scored by BMC use. ``quadratic``: the quadratic's, recomputed *with* its gradient
    from the predicted (u, v, z_rel) — the reference bone then has length 1 by construction, and BMC sees how
    moving the reference joint moves Ẑ_root. ``refined``: the prediction's joints (refined Ẑ_root, no gradient),
    with which L_RB can feed back through the reference bone's depth and collapse Ẑ_root
    (docs/weak_supervision.md)."""


class OptimConfig(Section):
    """SGD with step decay: lr 5e-3, ×0.1 every 30 epochs, 70 epochs (paper §4)."""

    optimizer: Literal["sgd", "adam"] = "sgd"
    """``sgd`` (with ``momentum``; the paper's) or ``adam`` (``momentum`` unused; learns faster in short runs)."""
    lr: float = Field(5e-3, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    epochs: int = Field(70, ge=1)
    step_epochs: int = Field(30, ge=1)
    gamma: float = Field(0.1, gt=0, le=1)
    grad_clip: float | None = Field(None, gt=0)


#: The values ``runtime.device`` accepts (whether the hardware is there is checked when the run starts).
DEVICE_CHOICES = "auto, cpu, cuda, cuda:N (N: the GPU's index) or mps"
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


class RuntimeConfig(Section):
    device: str = "auto"
    """``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:1``…, ``mps``; under torchrun each rank takes its
    local GPU."""
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    """``auto``: bf16 autocast on GPUs that support it, fp16 with a gradient scaler on older GPUs, fp32 on the CPU."""
    channels_last: bool = True
    compile: bool = False
    """``torch.compile`` the model (slow to start; worth it for long GPU runs)."""
    seed: int = Field(0, ge=0)
    deterministic: bool = False
    """cuDNN determinism (slower)."""

    @field_validator("device")
    @classmethod
    def _known_device(cls, device: str) -> str:
        if not _DEVICE.fullmatch(device):
            raise ValueError(f"unknown device {device!r}; choose {DEVICE_CHOICES}.")
        return device


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

    @model_validator(mode="after")
    def _check_batch_norm(self) -> TrainConfig:
        if self.data.batch_size < 2 and self.model.refine_root and self.model.refiner_batchnorm:
            raise ValueError(
                f"data.batch_size is {self.data.batch_size} but the Z_root refiner's BatchNorm needs at least 2 "
                "samples per batch in training: set data.batch_size to 2 or more, or model.refiner_batchnorm to false."
            )
        return self

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
            raise ConfigError(f"{source}: {describe(exc)}") from None

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def with_overrides(self, **sections: dict[str, Any]) -> TrainConfig:
        """A copy with some fields replaced, e.g. ``with_overrides(optim={"epochs": 2})`` (validated)."""
        data = self.model_dump()
        for name, fields in sections.items():
            if name not in data:
                raise ConfigError(f"unknown config section {name!r}; the sections are {', '.join(data)}.")
            data[name] = {**data[name], **fields}
        return self.from_dict(data, source="overrides")


__all__ = [
    "ConfigError",
    "TrainConfig",
    "ModelConfig",
    "DataConfig",
    "DatasetConfig",
    "AugmentConfig",
    "LossConfig",
    "OptimConfig",
    "RuntimeConfig",
    "OutputConfig",
]
