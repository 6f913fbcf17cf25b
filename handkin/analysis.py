"""Analysis of hand sequences in one namespace: joint angles over time, angular velocities, smoothing, range of
motion, bone-length consistency, frames outside the limits, reports — and per-user limits.

The code lives in one module per concept; this module gathers their public names:

- :mod:`handkin.timeseries` — statistics of a :class:`~handkin.io.HandSequence` over time and
  :func:`analyze`, which measures them all into a :class:`SequenceAnalysis`;
- :mod:`handkin.sequence_report` — :func:`write_report` (Markdown/HTML, ``analysis.json``, pictures);
- :mod:`handkin.personal` — :func:`fit_user_limits` and :func:`compare_limits`.

>>> from handkin import analysis, io as hio
>>> seq = hio.load("recording.npz")                                   # doctest: +SKIP
>>> result = analysis.analyze(seq)                                    # default limits
>>> print(result.rom.table())                                         # doctest: +SKIP
>>> analysis.write_report(result, "report/")                          # doctest: +SKIP
>>> mine = analysis.fit_user_limits(calibration_seq, user="ana")      # doctest: +SKIP
"""

from __future__ import annotations

from .io.sequence import HandSequence
from .personal import LimitsComparison, compare_limits, fit_user_limits
from .sequence_report import plot_angles_over_time, plot_bone_consistency, write_report
from .timeseries import (
    ANGLE_NAMES,  # noqa: F401  (these four: importable here, not in __all__, as before the split)
    BONE_NAMES,  # noqa: F401
    CHUNK,  # noqa: F401
    BoneConsistency,
    FrameViolations,
    RangeOfMotion,
    SequenceAnalysis,
    SmoothMethod,  # noqa: F401
    analyze,
    angular_velocity,
    bone_length_consistency,
    bone_lengths,
    infer_side,
    joint_angles,
    limit_violations,
    range_of_motion,
    smooth,
)

__all__ = [
    "HandSequence",
    "joint_angles",
    "bone_lengths",
    "angular_velocity",
    "smooth",
    "infer_side",
    "range_of_motion",
    "RangeOfMotion",
    "bone_length_consistency",
    "BoneConsistency",
    "limit_violations",
    "FrameViolations",
    "analyze",
    "SequenceAnalysis",
    "fit_user_limits",
    "compare_limits",
    "LimitsComparison",
    "write_report",
    "plot_angles_over_time",
    "plot_bone_consistency",
]
