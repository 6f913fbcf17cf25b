"""The errors handkin_train raises: one class per kind of problem, all in handkin's typed hierarchy.

Every class derives from :class:`handkin.errors.HandkinError` (a ``ValueError``), so ``except HandkinError``
catches handkin's and handkin_train's errors alike (the ``handkin-train`` command does). Messages name the
field or file at fault and, where there is one, the fix.
"""

from __future__ import annotations

from handkin.errors import HandkinError


class ConfigError(HandkinError):
    """A configuration file or value is invalid (the message names the field, e.g. ``optim.lr``, and the file)."""


class DatasetError(HandkinError):
    """A dataset file is missing, laid out differently than expected or holds bad annotations, or a dataset
    cannot be built as asked. The message names the file (and the sample at fault, when there is one)."""


class CheckpointError(HandkinError):
    """A checkpoint or weights file is missing, unreadable or does not fit the model."""


class DeviceError(HandkinError):
    """``runtime.device`` names hardware this machine does not have (e.g. ``cuda`` without a GPU)."""


class TrainingDiverged(HandkinError, RuntimeError):
    """The loss or gradient became NaN or infinite; the last good checkpoint was left as it was."""


__all__ = ["CheckpointError", "ConfigError", "DatasetError", "DeviceError", "TrainingDiverged"]
