"""Training data of handkin_train: built-in synthetic hands (:mod:`.synthetic`, issue #7) and datasets from disk
(issue #8): readers (one module per dataset, registered in :mod:`.registry`; records in :mod:`.records`, file
helpers in :mod:`.files`, all gathered by :mod:`.readers`), hand-centred crops and augmentation (:mod:`.crops`,
settings in :mod:`.augment`), the prepared memory-mapped cache (:mod:`.cache`), weak labels and mixtures
(:mod:`.mix`). The paper's scores moved to :mod:`handkin_train.evaluation` (``paper_scores`` still imports from
here)."""

from typing import Any

# The built-in readers register first, in the order of DATASETS.
# isort: off
from .readers import DATASETS, DatasetError, HandRecords, concat, read_dataset

# isort: on
from .cache import PreparedHands
from .crops import CropGeometry, crop_geometry, warp_pil, warp_torch
from .folder import read_folder, write_folder_annotations
from .freihand import read_freihand, scale_to_reference, write_submission
from .ho3d import read_ho3d
from .interhand import read_interhand
from .mix import MixedHands, apply_weak, weak_mask
from .prepare import prepare, prepare_dataset, read_manifest
from .registry import ReaderOptions, register_reader
from .rhd import read_rhd
from .synthetic import (
    CHUNK,
    HandPrimitives,
    Raster,
    SyntheticConfig,
    SyntheticHands,
    hand_primitives,
    rasterize,
    render,
    sample_cameras,
    sample_poses,
)


def __getattr__(name: str) -> Any:
    if name == "paper_scores":  # lives in handkin_train.evaluation (it needs torch's loader); kept importable here
        from ..evaluation import paper_scores

        return paper_scores
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CHUNK",
    "DATASETS",
    "CropGeometry",
    "DatasetError",
    "HandPrimitives",
    "HandRecords",
    "MixedHands",
    "PreparedHands",
    "ReaderOptions",
    "Raster",
    "SyntheticConfig",
    "SyntheticHands",
    "apply_weak",
    "concat",
    "crop_geometry",
    "hand_primitives",
    "paper_scores",
    "prepare",
    "prepare_dataset",
    "rasterize",
    "read_dataset",
    "read_folder",
    "read_freihand",
    "read_ho3d",
    "read_interhand",
    "read_manifest",
    "read_rhd",
    "register_reader",
    "render",
    "sample_cameras",
    "sample_poses",
    "scale_to_reference",
    "warp_pil",
    "warp_torch",
    "weak_mask",
    "write_folder_annotations",
    "write_submission",
]
