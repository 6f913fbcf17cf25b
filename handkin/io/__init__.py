"""Hand sequences in and out: :class:`HandSequence`, :func:`load` / :func:`save` (NPY/NPZ, JSON, CSV, C3D),
and MediaPipe results and dumps (:mod:`handkin.io.mediapipe`).

>>> from handkin import io as hio
>>> seq = hio.load("recording.csv")                          # doctest: +SKIP
>>> seq = hio.load("hand.npz", units="mm", fps=120)          # doctest: +SKIP
>>> hio.save(seq, "recording.json")                          # doctest: +SKIP
"""

from __future__ import annotations

from .formats import (
    DEFAULT_C3D_MARKERS,
    FORMATS,
    csv_columns,
    load,
    read_c3d,
    read_csv,
    read_json,
    read_markers,
    read_npy,
    read_npz,
    save,
    to_csv,
)
from .mediapipe import hands_from_result, load_mediapipe, sequence_from_results
from .sequence import HandSequence

__all__ = [
    "HandSequence",
    "load",
    "save",
    "read_npy",
    "read_npz",
    "read_json",
    "read_csv",
    "read_c3d",
    "read_markers",
    "to_csv",
    "csv_columns",
    "DEFAULT_C3D_MARKERS",
    "FORMATS",
    "hands_from_result",
    "sequence_from_results",
    "load_mediapipe",
]
