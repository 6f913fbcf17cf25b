"""Dataset readers (issue #8): every reader returns :class:`HandRecords` — one row per hand, in the original image.

The shared parts have their own modules: the records and their checks (:mod:`.records`), the file helpers
(:mod:`.files`), the registry of readers (:mod:`.registry`) and the errors (:mod:`handkin_train.errors`); this
module gathers them with the built-in readers, one module each, each registered there:

* :func:`~.freihand.read_freihand` — FreiHAND (``training_xyz.json``, ``training_K.json``, ``training/rgb``
  with its four colour versions; the evaluation split);
* :func:`~.rhd.read_rhd` — Rendered Hand Pose (``anno_training.pickle`` / ``anno_evaluation.pickle``,
  ``color/%05d.png``), or mmpose's COCO-style RHD JSON;
* :func:`~.ho3d.read_ho3d` — HO-3D v2 / v3 (``meta/*.pkl`` in MANO order and OpenGL's frame);
* :func:`~.interhand.read_interhand` — InterHand2.6M (``*_data.json``, ``*_camera.json``, ``*_joint_3d.json``);
* :func:`~.folder.read_folder` — a folder of your own images with a ``hands.json`` or ``hands.npz``.

:func:`read_dataset` dispatches on a name (:func:`~.registry.register_reader` adds one). Anything missing or
malformed raises one :class:`DatasetError` whose message names the file (and the sample, where one is at fault).
"""

from __future__ import annotations

from ..errors import DatasetError
from .files import check_images_exist, load_json, load_pickle, require_dir, require_file
from .records import NUM_JOINTS, REFERENCE_RANGE_MM, HandRecords, bbox_from_uv, build_records, concat
from .registry import DATASETS, ReaderOptions, get_reader, read_dataset, register_reader

# Importing a reader's module registers it: this order is the order of DATASETS.
# isort: off
from .freihand import read_freihand
from .rhd import read_rhd
from .ho3d import read_ho3d
from .interhand import read_interhand
from .folder import read_folder

# isort: on

__all__ = [
    "DATASETS",
    "DatasetError",
    "HandRecords",
    "NUM_JOINTS",
    "REFERENCE_RANGE_MM",
    "ReaderOptions",
    "bbox_from_uv",
    "build_records",
    "check_images_exist",
    "concat",
    "get_reader",
    "load_json",
    "load_pickle",
    "read_dataset",
    "read_folder",
    "read_freihand",
    "read_ho3d",
    "read_interhand",
    "read_rhd",
    "register_reader",
    "require_dir",
    "require_file",
]
