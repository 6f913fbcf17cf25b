"""handkin_train — trains the BMC paper's 2.5D ResNet-50 with Z_root refinement using handkin's losses.

Spurr et al., "Weakly Supervised 3D Hand Pose Estimation via Biomechanical Constraints" (ECCV
2020), §3.2–3.3, §4 and supplementary §8. Requires torch and torchvision
(``pip install 'handkin[train]'``).

* :mod:`~handkin_train.config` — the run configuration (YAML), paper schedule by default;
* :mod:`~handkin_train.model` — ResNet → 2.5D pose → Z_root (quadratic + refinement MLP) → 3D joints;
* :mod:`~handkin_train.objective` — Eq. 10: masked L1 terms + handkin's BMC loss;
* :mod:`~handkin_train.data` — built-in synthetic hands; FreiHAND/RHD/HO-3D/InterHand/folder readers, crops,
  augmentation, the prepared cache, weak labels and mixing;
* :mod:`~handkin_train.runtime` — devices, precision, DDP process group, RNG states;
* :mod:`~handkin_train.datasets` — datasets from a config section (:func:`~handkin_train.datasets.build_dataset`);
* :mod:`~handkin_train.loader` — the epoch-aware loader (persistent workers, exact resume);
* :mod:`~handkin_train.evaluation` — the paper's scores of a model;
* :mod:`~handkin_train.checkpoints` — atomic checkpoints, :func:`model_from_checkpoint`;
* :mod:`~handkin_train.trainer` — the training loop (:class:`Trainer`); :mod:`~handkin_train.engine` re-exports
  all of these;
* :mod:`~handkin_train.errors` — the typed errors (all :class:`handkin.errors.HandkinError`);
* :mod:`~handkin_train.cli` — ``handkin-train fit | evaluate | predict | prepare``.
"""

from .checkpoints import model_from_checkpoint
from .config import TrainConfig
from .errors import CheckpointError, ConfigError, DatasetError, DeviceError, TrainingDiverged
from .model import HandPoseNet, Prediction, RootRefiner
from .objective import LossBreakdown, Objective
from .trainer import Trainer

__version__ = "0.1.0"

__all__ = [
    "TrainConfig",
    "ConfigError",
    "HandPoseNet",
    "RootRefiner",
    "Prediction",
    "CheckpointError",
    "DatasetError",
    "DeviceError",
    "Objective",
    "LossBreakdown",
    "Trainer",
    "TrainingDiverged",
    "model_from_checkpoint",
]
