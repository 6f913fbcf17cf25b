"""Training data of handkin_train: built-in synthetic hands (:mod:`.synthetic`, issue #7) and datasets from disk
(issue #8): readers (:mod:`.readers` and one module per dataset), hand-centred crops and augmentation
(:mod:`.crops`), the prepared memory-mapped cache (:mod:`.cache`), weak labels and mixtures (:mod:`.mix`)."""

from .cache import PreparedHands, prepare, prepare_dataset, read_manifest
from .crops import CropGeometry, crop_geometry, warp_pil, warp_torch
from .folder import read_folder, write_folder_annotations
from .freihand import paper_scores, read_freihand, scale_to_reference, write_submission
from .ho3d import read_ho3d
from .interhand import read_interhand
from .mix import MixedHands, apply_weak, weak_mask
from .readers import DATASETS, DatasetError, HandRecords, concat, read_dataset
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

__all__ = [
    "CHUNK",
    "DATASETS",
    "CropGeometry",
    "DatasetError",
    "HandPrimitives",
    "HandRecords",
    "MixedHands",
    "PreparedHands",
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
