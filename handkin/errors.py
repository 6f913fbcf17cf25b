"""The errors handkin raises: one class per kind of bad input, all of them ``ValueError``s.

Every message names the problem and, where there is one, the fix. Catch ``HandkinError`` to
catch them all.
"""

from __future__ import annotations


class HandkinError(ValueError):
    """Base class of every error handkin raises about its input."""


class ShapeError(HandkinError):
    """An array does not have the shape a hand needs, e.g. ``(..., 21, 3)``."""


class NonFiniteError(HandkinError):
    """An array holds NaN or infinite values."""


class OrderError(HandkinError):
    """An unknown joint order, or an array in a two-hand layout passed as one hand."""


class UnitsError(HandkinError):
    """An unknown length unit, or a conversion that needs a scale it was not given."""


class SideError(HandkinError):
    """An unknown hand side (handedness); use ``"right"`` or ``"left"``."""


class UnknownNameError(HandkinError):
    """An unknown joint, finger, bone or angle-joint name."""


class LimitsError(HandkinError):
    """Joint limits are invalid (e.g. a clockwise or non-convex polygon, min > max) or a limits file is unreadable."""


class CameraError(HandkinError):
    """Camera intrinsics are not a valid pinhole matrix (non-finite, non-positive focal length, wrong layout)."""


class FileFormatError(HandkinError):
    """A data file cannot be read as hands: unknown format, missing column/key/joint, no usable frame."""


class BackendError(HandkinError):
    """Arrays from different backends (NumPy and torch) or devices were mixed, or a backend is missing."""


class HandednessWarning(UserWarning):
    """A declared hand side (``side=``) that the hands' geometry contradicts (their flexion signs come out mirrored)."""


__all__ = [
    "HandkinError",
    "ShapeError",
    "NonFiniteError",
    "OrderError",
    "UnitsError",
    "SideError",
    "UnknownNameError",
    "LimitsError",
    "BackendError",
    "CameraError",
    "FileFormatError",
    "HandednessWarning",
]
